"""Loss along lines and Bezier curves, barriers, and a trained connecting curve."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import gdjax.optim as optim
from gdjax import diagnostics, losses, models

A_MAT = np.array([[2.0, 0.5, 0.0], [0.5, -1.0, 0.3], [0.0, 0.3, 1.5]])  # indefinite
C_VEC = np.array([0.2, -0.1, 0.4])
A = {"w": jnp.array([0.5, -1.0]), "b": jnp.array(0.3)}
B = {"w": jnp.array([-0.2, 1.0]), "b": jnp.array(-0.7)}


def flat(p):
    return jnp.concatenate([p["w"], p["b"][None]])


def quadratic(params, batch):
    a, c = batch
    x = flat(params)
    return 0.5 * x @ a @ x + c @ x


def grid(n=11):
    return np.linspace(0.0, 1.0, n)


def test_interpolation_and_bezier_points():
    t = 0.25
    line = diagnostics.interpolate(A, B, t)
    np.testing.assert_allclose(flat(line), 0.75 * flat(A) + 0.25 * flat(B), rtol=1e-6)
    m = {"w": jnp.array([3.0, 3.0]), "b": jnp.array(1.0)}
    curve = diagnostics.bezier(A, m, B, t)
    np.testing.assert_allclose(flat(curve), 0.5625 * flat(A) + 0.375 * flat(m) + 0.0625 * flat(B), rtol=1e-6)
    np.testing.assert_allclose(flat(diagnostics.bezier(A, m, B, 0.0)), flat(A))
    np.testing.assert_allclose(flat(diagnostics.bezier(A, m, B, 1.0)), flat(B))


def test_line_loss_on_a_quadratic_is_the_parabola():
    ts = np.array([-0.5, 0.0, 0.1, 0.5, 0.9, 1.0, 1.5])
    d = np.asarray(flat(B) - flat(A))
    xa = np.asarray(flat(A))
    la = 0.5 * xa @ A_MAT @ xa + C_VEC @ xa
    slope = (A_MAT @ xa + C_VEC) @ d
    expected = la + ts * slope + 0.5 * ts**2 * (d @ A_MAT @ d)
    got = diagnostics.loss_along_line(quadratic, A, B, (A_MAT, C_VEC), ts)
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)
    assert got.shape == (7,) and got.dtype == jnp.float32
    # The Bezier curve with m = (a + b)/2 is the straight line.
    mid = diagnostics.interpolate(A, B, 0.5)
    np.testing.assert_allclose(
        diagnostics.loss_along_bezier(quadratic, A, mid, B, (A_MAT, C_VEC), ts), expected, rtol=1e-5, atol=1e-6
    )


def test_barrier_of_a_quadratic_along_negative_curvature_is_kappa_over_8():
    # L(θ(t)) - chord = -½ t(1-t) dᵀAd: with dᵀAd = -κ < 0 the barrier is κ/8 at t = 1/2.
    a = {"w": jnp.array([0.0, -1.0]), "b": jnp.array(0.0)}
    b = {"w": jnp.array([0.0, 1.0]), "b": jnp.array(0.0)}
    d = np.array([0.0, 2.0, 0.0])
    kappa = -(d @ A_MAT @ d)
    assert kappa > 0
    result = diagnostics.path_barrier(quadratic, a, b, (A_MAT, C_VEC), ts=21)
    np.testing.assert_allclose(result.barrier, kappa / 8, rtol=1e-5)
    np.testing.assert_allclose(result.t, 0.5)
    assert result.losses.shape == (21,)
    # Frankle et al.'s reference, the mean of the end losses: max_t L(θ(t)) - (L(a) + L(b))/2.
    la, lb = (float(quadratic(p, (A_MAT, C_VEC))) for p in (a, b))
    losses_ = np.asarray(result.losses)
    mean_ref = diagnostics.path_barrier(quadratic, a, b, (A_MAT, C_VEC), ts=21, reference="mean")
    np.testing.assert_allclose(mean_ref.barrier, losses_.max() - 0.5 * (la + lb), rtol=1e-5)
    assert la != lb
    np.testing.assert_allclose(diagnostics.barrier_from_losses(result.ts, result.losses, la, lb), kappa / 8, rtol=1e-5)


def test_barrier_of_a_convex_loss_is_not_positive():
    net = models.logistic_regression(2)
    x = jax.random.normal(jax.random.key(0), (30, 2))
    y = (x[:, 0] > 0.3).astype(jnp.float32)

    def loss(p, batch):
        return losses.sigmoid_binary_cross_entropy(net.logits(p, batch[0]), batch[1])

    a, b = net.init(jax.random.key(1)), jax.tree.map(lambda p: p + 2.0, net.init(jax.random.key(2)))
    result = diagnostics.path_barrier(loss, a, b, (x, y), ts=grid(41))
    assert float(result.barrier) <= 1e-6
    la, lb = result.end_losses
    chord = (1 - result.ts) * la + result.ts * lb
    assert np.all(np.asarray(result.losses - chord)[1:-1] < 0)


def ring(params, batch):
    """Two minima a, b on the circle |θ| = 1 joined by a curved valley; the chord cuts through a hill."""
    a, b = batch
    r2 = jnp.sum(params**2)
    return (r2 - 1.0) ** 2 + 0.05 * jnp.sum((params - a) ** 2) * jnp.sum((params - b) ** 2)


RING_A = jnp.array([-1.0, 0.0])
RING_B = jnp.array([0.5, np.sqrt(3) / 2])


def test_a_trained_bezier_midpoint_lowers_the_barrier():
    batch = (RING_A, RING_B)
    line = diagnostics.path_barrier(ring, RING_A, RING_B, batch, ts=41)
    assert float(line.barrier) > 0.5
    fitted = diagnostics.fit_bezier_midpoint(
        ring, RING_A, RING_B, batch, key=jax.random.key(0), steps=400, learning_rate=0.05, samples_per_step=4
    )
    assert fitted.losses.shape == (400,) and fitted.midpoint.shape == (2,)
    curve = diagnostics.path_barrier(ring, RING_A, RING_B, batch, midpoint=fitted.midpoint, ts=41)
    assert float(curve.barrier) < 0.15 * float(line.barrier)
    # The trained objective: far below the straight line's mean loss.
    line_mean = float(jnp.mean(diagnostics.loss_along_line(ring, RING_A, RING_B, batch, 201)))
    curve_mean = float(jnp.mean(diagnostics.loss_along_bezier(ring, RING_A, fitted.midpoint, RING_B, batch, 201)))
    assert curve_mean < 0.1 * line_mean
    # The same key gives the same curve; the whole training is one program.
    again = diagnostics.fit_bezier_midpoint(
        ring, RING_A, RING_B, batch, key=jax.random.key(0), steps=400, learning_rate=0.05, samples_per_step=4
    )
    np.testing.assert_array_equal(again.midpoint, fitted.midpoint)


def test_float64_paths():
    with jax.enable_x64(True):
        a = jax.tree.map(lambda p: p.astype(jnp.float64), A)
        b = jax.tree.map(lambda p: p.astype(jnp.float64), B)
        losses_ = diagnostics.loss_along_line(quadratic, a, b, (A_MAT, C_VEC), 5)
        assert losses_.dtype == jnp.float64
        assert diagnostics.interpolate(a, b, 0.3)["w"].dtype == jnp.float64
        fitted = diagnostics.fit_bezier_midpoint(
            ring, RING_A.astype(jnp.float64), RING_B.astype(jnp.float64), (RING_A, RING_B), key=0, steps=5
        )
        assert fitted.midpoint.dtype == jnp.float64
    xa, xb = np.asarray(flat(A), np.float64), np.asarray(flat(B), np.float64)
    x = 0.5 * xa + 0.5 * xb
    np.testing.assert_allclose(losses_[2], 0.5 * x @ A_MAT @ x + C_VEC @ x, rtol=1e-13)


def test_vmap_over_pairs_of_ends():
    ends_a = jnp.stack([RING_A, -RING_A])
    ends_b = jnp.stack([RING_B, -RING_B])
    barriers = jax.vmap(lambda a, b: diagnostics.path_barrier(ring, a, b, (a, b), ts=21).barrier)(ends_a, ends_b)
    one = diagnostics.path_barrier(ring, RING_A, RING_B, (RING_A, RING_B), ts=21).barrier
    np.testing.assert_allclose(barriers, [one, one], rtol=1e-5)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: diagnostics.interpolate(A, {"w": jnp.ones(3), "b": jnp.array(0.0)}, 0.5), r"b\['w'\] must have shape"),
        (lambda: diagnostics.interpolate(A, {"w": jnp.ones(2)}, 0.5), "b must have the pytree structure of a"),
        (lambda: diagnostics.loss_along_line(quadratic, A, B, (A_MAT, C_VEC), 1), "ts must be >= 2; got 1"),
        (lambda: diagnostics.loss_along_line(quadratic, A, B, (A_MAT, C_VEC), np.ones((2, 2))), "ts must be a 1-D"),
        (lambda: diagnostics.path_barrier(quadratic, A, B, (A_MAT, C_VEC), reference="max"), "reference must be one"),
        (
            lambda: diagnostics.fit_bezier_midpoint(ring, RING_A, RING_B, (RING_A, RING_B), key=0, steps=0),
            "steps must be >= 1; got 0",
        ),
        (
            lambda: diagnostics.fit_bezier_midpoint(ring, RING_A, RING_B, (RING_A, RING_B), key=0, learning_rate=-1.0),
            "learning_rate must be > 0.0; got -1.0",
        ),
    ],
)
def test_bad_arguments_are_named(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_a_given_optimizer_trains_the_midpoint():
    batch = (RING_A, RING_B)
    fitted = diagnostics.fit_bezier_midpoint(
        ring, RING_A, RING_B, batch, key=1, steps=300, samples_per_step=4, optimizer=optim.sgd(0.05, 0.9)
    )
    line = diagnostics.path_barrier(ring, RING_A, RING_B, batch, ts=41)
    curve = diagnostics.path_barrier(ring, RING_A, RING_B, batch, midpoint=fitted.midpoint, ts=41)
    assert float(curve.barrier) < 0.3 * float(line.barrier)

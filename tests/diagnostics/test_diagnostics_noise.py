"""The gradient noise scale against a problem whose gradient covariance is known exactly."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.flatten_util import ravel_pytree

from gdjax import diagnostics, losses, models

N = 64
G = np.array([0.8, -0.4, 0.2, 0.6, 0.0])  # the mean gradient
SIGMA = np.array([1.0, 0.5, 2.0, 0.3, 1.5])  # per-coordinate noise scales: Σ = diag(SIGMA²)
B_SIMPLE = np.sum(SIGMA**2) / np.sum(G**2)


def synthetic(dtype=np.float32):
    """Per-example gradients g_i = G + ε_i whose empirical mean is exactly G and covariance exactly diag(SIGMA²)."""
    z = np.random.default_rng(0).normal(size=(N, len(G)))
    q, _ = np.linalg.qr(z - z.mean(axis=0))  # orthonormal columns, each orthogonal to the ones vector
    return (G + np.sqrt(N) * q * SIGMA).astype(dtype)


def linear_loss(params, batch):
    """mean_i g_iᵀθ over θ = {"u": (2,), "v": (3,)}: example i's gradient is g_i, whatever θ."""
    return jnp.mean(batch[:, :2] @ params["u"]) + jnp.mean(batch[:, 2:] @ params["v"])


PARAMS = {"u": jnp.array([0.1, 0.2]), "v": jnp.array([-0.3, 0.0, 1.0])}


def test_per_example_gradients_are_the_rows():
    c = synthetic()
    grads = diagnostics.per_example_gradients(linear_loss, PARAMS, c)
    np.testing.assert_allclose(np.concatenate([grads["u"], grads["v"]], axis=1), c, rtol=1e-6)


def test_noise_scale_from_per_example_gradients_is_the_closed_form():
    c = synthetic()
    result = diagnostics.gradient_noise_scale(linear_loss, PARAMS, c)
    np.testing.assert_allclose(result.grad_norm_sq, np.sum(G**2), rtol=1e-5)
    np.testing.assert_allclose(result.trace_sigma, np.sum(SIGMA**2), rtol=1e-5)
    np.testing.assert_allclose(result.b_simple, B_SIMPLE, rtol=1e-5)
    assert result.b_simple.dtype == jnp.float32


def test_noise_scale_of_an_mlp_matches_a_loop_over_examples():
    net = models.mlp([3, 4, 1])
    params = net.init(jax.random.key(0))
    x = jax.random.normal(jax.random.key(1), (12, 3))
    y = (x[:, 1] > 0).astype(jnp.float32)

    def loss(p, batch):
        return losses.sigmoid_binary_cross_entropy(net.logits(p, batch[0]), batch[1])

    grad = jax.jit(jax.grad(loss))
    g = np.stack([ravel_pytree(grad(params, (x[i : i + 1], y[i : i + 1])))[0] for i in range(12)]).astype(np.float64)
    mean = g.mean(axis=0)
    trace = np.trace(np.cov(g.T, bias=True))
    result = diagnostics.gradient_noise_scale(loss, params, (x, y))
    np.testing.assert_allclose(result.grad_norm_sq, mean @ mean, rtol=1e-5)
    np.testing.assert_allclose(result.trace_sigma, trace, rtol=1e-5)
    np.testing.assert_allclose(result.b_simple, trace / (mean @ mean), rtol=1e-5)


def test_two_batch_formulas_invert_the_expected_norms():
    # E|G_B|² = |G|² + tr(Σ)/B exactly, so the expectations give back |G|² and tr(Σ).
    g2, trace = np.sum(G**2), np.sum(SIGMA**2)
    small, big = 4, 32
    result = diagnostics.noise_scale_from_norms(g2 + trace / small, g2 + trace / big, small, big)
    np.testing.assert_allclose(result.grad_norm_sq, g2, rtol=1e-6)
    np.testing.assert_allclose(result.trace_sigma, trace, rtol=1e-6)
    np.testing.assert_allclose(result.b_simple, B_SIMPLE, rtol=1e-6)


def test_two_batch_estimator_is_unbiased_over_many_draws():
    """Means over 20,000 draws within 4 standard errors of tr(Σ) and |G|² (each SE is under 2% of the value)."""
    c = synthetic()
    draws = 20_000
    keys = jax.random.split(jax.random.key(5), draws)
    estimate = jax.jit(
        jax.vmap(
            lambda k: diagnostics.two_batch_noise_scale(linear_loss, PARAMS, c, key=k, small_batch=4, big_batch=32)
        )
    )(keys)
    for values, exact in ((estimate.trace_sigma, np.sum(SIGMA**2)), (estimate.grad_norm_sq, np.sum(G**2))):
        values = np.asarray(values, np.float64)
        se = values.std() / np.sqrt(draws)
        assert se < 0.02 * exact
        assert abs(values.mean() - exact) < 4 * se
    # The ratio of the averaged parts estimates B_simple (the average of per-draw ratios would not).
    ratio = np.mean(estimate.trace_sigma) / np.mean(estimate.grad_norm_sq)
    np.testing.assert_allclose(ratio, B_SIMPLE, rtol=0.1)


def test_float64_noise_scale():
    with jax.enable_x64(True):
        c = synthetic(np.float64)
        params = jax.tree.map(lambda p: p.astype(jnp.float64), PARAMS)
        result = diagnostics.gradient_noise_scale(linear_loss, params, c)
        pair = diagnostics.two_batch_noise_scale(linear_loss, params, c, key=0, small_batch=2, big_batch=8)
        assert result.b_simple.dtype == jnp.float64 and pair.trace_sigma.dtype == jnp.float64
    np.testing.assert_allclose(result.b_simple, B_SIMPLE, rtol=1e-12)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"small_batch": 8, "big_batch": 8}, "small_batch must be < big_batch; got 8 and 8"),
        ({"small_batch": 0, "big_batch": 8}, "small_batch must be >= 1; got 0"),
        ({"small_batch": 2, "big_batch": 8.0}, "big_batch must be an integer"),
    ],
)
def test_bad_batch_sizes_are_named(kwargs, message):
    with pytest.raises(ValueError, match=message):
        diagnostics.two_batch_noise_scale(linear_loss, PARAMS, synthetic(), key=0, **kwargs)
    with pytest.raises(ValueError, match="small_batch must be < big_batch"):
        diagnostics.noise_scale_from_norms(1.0, 0.5, 16, 4)


def test_data_without_an_example_axis_is_refused():
    with pytest.raises(ValueError, match="batch must have a leading example axis; got a scalar"):
        diagnostics.gradient_noise_scale(lambda p, b: jnp.sum(p["u"]) * b, PARAMS, jnp.array(1.0))

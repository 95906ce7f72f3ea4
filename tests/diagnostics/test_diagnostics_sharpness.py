"""Sharpness by power iteration against full Hessians and closed forms."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.flatten_util import ravel_pytree

from gdjax import diagnostics, losses, models

NET = models.mlp([3, 4, 1], hidden="tanh", output="sigmoid")
X = jax.random.normal(jax.random.key(1), (20, 3))
Y = (X[:, 0] + 0.5 * X[:, 1] > 0).astype(jnp.float32)


def mlp_loss(params, batch):
    x, y = batch
    return losses.sigmoid_binary_cross_entropy(NET.logits(params, x), y)


def full_hessian(loss, params, batch):
    flat, unravel = ravel_pytree(params)
    return np.asarray(jax.jit(jax.hessian(lambda f: loss(unravel(f), batch)))(flat))


def quadratic(params, a):
    """0.5 xᵀ A x over the pytree {"u": (2,), "v": (2,)} seen as x = (u, v)."""
    x = jnp.concatenate([params["u"], params["v"]])
    return 0.5 * x @ a @ x


def with_spectrum(spectrum, seed=0):
    q, _ = np.linalg.qr(np.random.default_rng(seed).normal(size=(len(spectrum), len(spectrum))))
    return (q * np.asarray(spectrum)) @ q.T


QUAD_PARAMS = {"u": jnp.array([0.3, -1.0]), "v": jnp.array([2.0, 0.5])}


def test_mlp_sharpness_is_the_largest_magnitude_eigenvalue_of_the_full_hessian():
    params = NET.init(jax.random.key(0))
    eigenvalues = np.linalg.eigvalsh(full_hessian(mlp_loss, params, (X, Y)))
    dominant = eigenvalues[np.argmax(np.abs(eigenvalues))]
    result = diagnostics.sharpness(mlp_loss, params, (X, Y), key=0, num_iterations=500, tol=1e-7)
    assert bool(result.converged) and int(result.iterations) < 500
    np.testing.assert_allclose(result.eigenvalue, dominant, rtol=1e-4)
    assert result.eigenvalue.dtype == jnp.float32
    # The eigenvector: a unit pytree like params with H v = λ v.
    assert jax.tree.structure(result.eigenvector) == jax.tree.structure(params)
    v = ravel_pytree(result.eigenvector)[0]
    np.testing.assert_allclose(np.linalg.norm(v), 1.0, rtol=1e-5)
    hv = ravel_pytree(diagnostics.hessian_vector_product(mlp_loss, params, (X, Y), result.eigenvector))[0]
    np.testing.assert_allclose(hv, result.eigenvalue * v, atol=2e-3 * abs(dominant))


def test_hessian_vector_product_is_the_full_hessian_times_v():
    params = NET.init(jax.random.key(3))
    v = jax.tree.map(lambda p: jnp.cos(jnp.arange(p.size, dtype=p.dtype)).reshape(p.shape), params)
    hv = diagnostics.hessian_vector_product(mlp_loss, params, (X, Y), v)
    expected = full_hessian(mlp_loss, params, (X, Y)) @ np.asarray(ravel_pytree(v)[0])
    np.testing.assert_allclose(ravel_pytree(hv)[0], expected, rtol=1e-4, atol=1e-6)


def test_quadratic_with_known_spectrum_gives_its_top_eigenvalue():
    a = with_spectrum([5.0, 2.0, 1.0, -0.5])
    result = diagnostics.sharpness(quadratic, QUAD_PARAMS, a, key=jax.random.key(7), num_iterations=200, tol=1e-6)
    np.testing.assert_allclose(result.eigenvalue, 5.0, rtol=1e-5)
    top = np.linalg.eigh(a)[1][:, -1]
    v = np.asarray(ravel_pytree(result.eigenvector)[0])
    np.testing.assert_allclose(abs(v @ top), 1.0, rtol=1e-5)


def test_every_iterate_matches_the_closed_form_rayleigh_quotient():
    # Diagonal A and the start vector 1: after k products λ_k = Σ a^(2k-1) / Σ a^(2k-2).
    spectrum = np.array([3.0, 2.0, 1.0, 0.5])
    ones = {"u": jnp.ones(2), "v": jnp.ones(2)}
    for k in (1, 2, 3, 6):
        result = diagnostics.sharpness(quadratic, QUAD_PARAMS, np.diag(spectrum), init=ones, num_iterations=k, tol=None)
        expected = np.sum(spectrum ** (2 * k - 1)) / np.sum(spectrum ** (2 * k - 2))
        np.testing.assert_allclose(result.eigenvalue, expected, rtol=1e-6)
        assert int(result.iterations) == k and not bool(result.converged)
        v = spectrum**k / np.linalg.norm(spectrum**k)
        np.testing.assert_allclose(ravel_pytree(result.eigenvector)[0], v, rtol=1e-5)


def test_tolerance_stops_at_the_first_small_relative_change():
    spectrum = np.array([3.0, 2.0, 1.0, 0.5])
    ones = {"u": jnp.ones(2), "v": jnp.ones(2)}
    tol = 1e-2
    lam = [np.sum(spectrum ** (2 * k - 1)) / np.sum(spectrum ** (2 * k - 2)) for k in range(1, 40)]
    first = next(k for k in range(2, 40) if abs(lam[k - 1] - lam[k - 2]) <= tol * abs(lam[k - 1]))
    result = diagnostics.sharpness(quadratic, QUAD_PARAMS, np.diag(spectrum), init=ones, num_iterations=50, tol=tol)
    assert int(result.iterations) == first and bool(result.converged)
    np.testing.assert_allclose(result.eigenvalue, lam[first - 1], rtol=1e-6)


def test_tol_none_runs_every_iteration_and_tol_zero_stops_on_a_repeat():
    # From an exact eigenvector the estimate repeats at once: tol=0 stops after 2 products, None runs all.
    e1 = {"u": jnp.array([1.0, 0.0]), "v": jnp.zeros(2)}
    a = np.diag([3.0, 2.0, 1.0, 0.5])
    stopped = diagnostics.sharpness(quadratic, QUAD_PARAMS, a, init=e1, num_iterations=10, tol=0.0)
    assert int(stopped.iterations) == 2 and bool(stopped.converged) and float(stopped.eigenvalue) == 3.0
    every = diagnostics.sharpness(quadratic, QUAD_PARAMS, a, init=e1, num_iterations=10, tol=None)
    assert int(every.iterations) == 10 and not bool(every.converged) and float(every.eigenvalue) == 3.0


def test_a_dominant_negative_eigenvalue_and_the_algebraic_maximum():
    a = with_spectrum([-6.0, 3.0, 1.0, 0.2], seed=1)
    kwargs = {"key": 0, "num_iterations": 300, "tol": 1e-7}
    plain = diagnostics.sharpness(quadratic, QUAD_PARAMS, a, **kwargs)
    np.testing.assert_allclose(plain.eigenvalue, -6.0, rtol=1e-5)
    shifted = diagnostics.sharpness(quadratic, QUAD_PARAMS, a, shift=-6.0, **kwargs)
    np.testing.assert_allclose(shifted.eigenvalue, 3.0, rtol=1e-5)
    algebraic = diagnostics.sharpness(quadratic, QUAD_PARAMS, a, algebraic=True, **kwargs)
    np.testing.assert_allclose(algebraic.eigenvalue, 3.0, rtol=1e-5)
    assert int(algebraic.iterations) > int(plain.iterations)
    # A positive dominant eigenvalue is already the algebraic maximum: one run only.
    b = with_spectrum([6.0, -3.0, 1.0, 0.2], seed=1)
    positive = diagnostics.sharpness(quadratic, QUAD_PARAMS, b, algebraic=True, **kwargs)
    np.testing.assert_allclose(positive.eigenvalue, 6.0, rtol=1e-5)
    assert int(positive.iterations) == int(diagnostics.sharpness(quadratic, QUAD_PARAMS, b, **kwargs).iterations)


def test_jit_and_vmap_over_problems_and_keys():
    spectra = np.array([[4.0, 1.0, 0.5, 0.1], [2.0, -1.0, 0.3, 0.0], [7.0, 6.0, -1.0, 2.0]])
    a = np.stack([with_spectrum(s, seed=i) for i, s in enumerate(spectra)])

    def top(batch, key):
        return diagnostics.sharpness(quadratic, QUAD_PARAMS, batch, key=key, num_iterations=400, tol=1e-7)

    keys = jax.random.split(jax.random.key(2), 3)
    result = jax.jit(jax.vmap(top))(a, keys)
    np.testing.assert_allclose(result.eigenvalue, [4.0, 2.0, 7.0], rtol=1e-4)
    assert result.iterations.shape == (3,) and result.eigenvector["u"].shape == (3, 2)
    eager = top(a[0], keys[0])
    np.testing.assert_allclose(result.eigenvalue[0], eager.eigenvalue, rtol=1e-6)


def test_float64_matches_eigvalsh_tightly():
    with jax.enable_x64(True):
        params = jax.tree.map(lambda p: p.astype(jnp.float64), NET.init(jax.random.key(0)))
        batch = (X.astype(jnp.float64), Y.astype(jnp.float64))
        eigenvalues = np.linalg.eigvalsh(full_hessian(mlp_loss, params, batch))
        result = diagnostics.sharpness(mlp_loss, params, batch, key=0, num_iterations=2000, tol=1e-13)
        assert result.eigenvalue.dtype == jnp.float64
        assert result.eigenvector[0]["w"].dtype == jnp.float64
    dominant = eigenvalues[np.argmax(np.abs(eigenvalues))]
    np.testing.assert_allclose(result.eigenvalue, dominant, rtol=1e-10)


def test_zero_hessian_gives_zero_and_converges():
    result = diagnostics.sharpness(lambda p, b: jnp.sum(p["u"]) + b, QUAD_PARAMS, 1.0, key=0)
    assert float(result.eigenvalue) == 0.0 and bool(result.converged)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"key": 0, "num_iterations": 0}, "num_iterations must be >= 1; got 0"),
        ({"key": 0, "num_iterations": 2.5}, "num_iterations must be an integer"),
        ({"key": 0, "tol": -1.0}, "tol must be >= 0.0; got -1.0"),
        ({}, "give exactly one of key"),
        ({"key": 0, "init": QUAD_PARAMS}, "give exactly one of key"),
        ({"key": "seed"}, "key must be a PRNG key"),
        ({"init": {"u": jnp.zeros(2), "v": jnp.zeros(2)}}, "init must be a non-zero vector"),
        ({"init": {"u": jnp.ones(3), "v": jnp.ones(2)}}, r"init\['u'\] must have shape \(2,\)"),
        ({"key": 0, "algebraic": 1}, "algebraic must be a bool"),
        ({"key": 0, "algebraic": True, "shift": 1.0}, "shift must be 0; got 1.0"),
        ({"key": 0, "shift": np.ones(2)}, r"shift must be a scalar; got shape \(2,\)"),
    ],
)
def test_bad_arguments_are_named(kwargs, message):
    with pytest.raises(ValueError, match=message):
        diagnostics.sharpness(quadratic, QUAD_PARAMS, np.eye(4), **kwargs)


def test_a_loss_that_is_not_a_scalar_is_refused():
    with pytest.raises(ValueError, match=r"loss\(params, batch\) must return a scalar; got \(2,\)"):
        diagnostics.sharpness(lambda p, b: p["u"] ** 2, QUAD_PARAMS, None, key=0)
    with pytest.raises(ValueError, match=r"v\['v'\] must have shape \(2,\)"):
        diagnostics.hessian_vector_product(quadratic, QUAD_PARAMS, np.eye(4), {"u": jnp.ones(2), "v": jnp.ones(1)})


def test_an_unhashable_loss_still_works():
    class Quadratic:
        __hash__ = None

        def __call__(self, params, a):
            return quadratic(params, a)

    result = diagnostics.sharpness(Quadratic(), QUAD_PARAMS, np.diag([2.0, 1.0, 0.5, 0.1]), key=0, tol=1e-7)
    np.testing.assert_allclose(result.eigenvalue, 2.0, rtol=1e-5)

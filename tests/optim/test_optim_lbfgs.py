"""L-BFGS and the strong-Wolfe (zoom) line search: Optax's trajectories, closed forms, jit and vmap."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import gdjax.optim as optim


def rosenbrock(x):
    return jnp.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


def run(opt, apply_updates, x0, fn=rosenbrock, steps=60):
    def step(carry, _):
        x, state = carry
        value, grad = jax.value_and_grad(fn)(x)
        updates, state = opt.update(grad, state, x, value=value, grad=grad, value_fn=fn)
        return (apply_updates(x, updates), state), value

    (x, state), values = jax.lax.scan(step, (x0, opt.init(x0)), None, length=steps)
    return x, state, values


STARTS = np.array([[-1.2, 1.0, -0.5, 0.8], [0.5, -0.3, 1.5, 2.0], [2.0, 2.0, -1.0, 0.0]])


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_rosenbrock_matches_optax_under_vmap_over_starting_points(dtype):
    with jax.enable_x64(dtype == "float64"):
        x0 = jnp.asarray(STARTS, dtype)
        ours = jax.jit(jax.vmap(lambda x: run(optim.lbfgs(), optim.apply_updates, x)))(x0)
        theirs = jax.jit(jax.vmap(lambda x: run(optax.lbfgs(), optax.apply_updates, x)))(x0)
        tolerance = 1e-6 if dtype == "float32" else 1e-12
        np.testing.assert_allclose(ours[0], theirs[0], rtol=tolerance, atol=tolerance)
        np.testing.assert_allclose(ours[2], theirs[2], rtol=tolerance, atol=tolerance)
        # They all reach the minimum (1, ..., 1).
        np.testing.assert_allclose(ours[0], np.ones_like(STARTS), atol=1e-3)
        # Every line search satisfied the sufficient decrease: the values never rise.
        assert np.all(np.diff(np.asarray(ours[2]), axis=1) <= 1e-6 * np.asarray(ours[2])[:, :-1])
        info = ours[1][2].info
        assert np.all(np.asarray(info.num_linesearch_steps) >= 1)


def test_quadratic_converges_in_n_steps_with_exact_line_searches():
    # f(x) = x^T A x / 2 - b^T x, A symmetric positive definite: BFGS with exact line searches is conjugate
    # gradients, the minimum A^{-1} b in at most n steps. On a quadratic the zoom's quadratic interpolation is exact:
    # a curvature tolerance of 1e-10 makes each search exact.
    n = 6
    rng = np.random.default_rng(0)
    q, _ = np.linalg.qr(rng.normal(size=(n, n)))
    a = q @ np.diag(np.linspace(1.0, 30.0, n)) @ q.T
    b = rng.normal(size=n)
    with jax.enable_x64(True):
        A, B = jnp.asarray(a), jnp.asarray(b)
        quadratic = lambda x: 0.5 * x @ A @ x - B @ x
        exact = optim.scale_by_zoom_linesearch(max_linesearch_steps=40, curv_rtol=1e-10, initial_guess_strategy="one")
        opt = optim.lbfgs(memory_size=n, linesearch=exact)
        x, _, values = jax.jit(lambda x: run(opt, optim.apply_updates, x, quadratic, steps=n + 1))(jnp.zeros(n))
        minimum = np.linalg.solve(a, b)
        np.testing.assert_allclose(x, minimum, rtol=1e-8, atol=1e-10)
        # Already at step n: the n-th value is the minimum.
        np.testing.assert_allclose(values[n], quadratic(jnp.asarray(minimum)), rtol=1e-12)


def test_first_step_and_line_search_closed_forms():
    # The first direction is g min(1, 1/|g|); on f(x) = |x|^2 / 2 the exact step along -g is 1 (from x, -x).
    with jax.enable_x64(True):
        fn = lambda x: 0.5 * jnp.sum(x**2)
        x0 = jnp.array([3.0, -4.0])  # |g| = 5: the direction is -g / 5, the exact step 5
        opt = optim.lbfgs(linesearch=optim.scale_by_zoom_linesearch(30, curv_rtol=1e-10))
        value, grad = jax.value_and_grad(fn)(x0)
        updates, state = jax.jit(lambda: opt.update(grad, opt.init(x0), x0, value=value, grad=grad, value_fn=fn))()
        np.testing.assert_allclose(updates, -x0, rtol=1e-10)
        assert float(state[2].learning_rate) == pytest.approx(5.0, rel=1e-10)
        assert float(state[2].value) == pytest.approx(0.0, abs=1e-20)  # f at the new point, for the next step
        np.testing.assert_allclose(state[2].grad, 0.0, atol=1e-10)


def test_value_fn_arguments_come_from_the_extra_args_and_the_rest_is_ignored():
    target = jnp.array([1.0, -2.0, 0.5])

    def fn(x, batch):
        return jnp.sum((x - batch) ** 2) + 0.1 * jnp.sum(x**4)

    opt = optim.chain(optim.clip_by_global_norm(100.0), optim.lbfgs())

    @jax.jit
    def step(x, state):
        value, grad = jax.value_and_grad(fn)(x, target)
        updates, state = opt.update(
            grad, state, x, value=value, grad=grad, value_fn=fn, batch=target, something_else=1.0
        )
        return optim.apply_updates(x, updates), state

    x, state = jnp.zeros(3), opt.init(jnp.zeros(3))
    for _ in range(15):
        x, state = step(x, state)
    np.testing.assert_allclose(jax.grad(fn)(x, target), 0.0, atol=1e-4)
    grad = jax.grad(fn)(x, target)
    with pytest.raises(TypeError):
        opt.update(grad, state, x)  # the line search needs value, grad and value_fn


def test_lbfgs_checks_and_recipe():
    with pytest.raises(ValueError, match="memory_size"):
        optim.lbfgs(memory_size=0)
    with pytest.raises(ValueError, match="max_linesearch_steps"):
        optim.scale_by_zoom_linesearch(0)
    with pytest.raises(ValueError, match="initial_guess_strategy"):
        optim.scale_by_zoom_linesearch(10, initial_guess_strategy="best")
    first, second = optim.lbfgs(memory_size=5), optim.lbfgs(memory_size=5, learning_rate=0.5)
    assert optim.split(first)[1] != optim.split(second)[1]
    assert optim.split(optim.lbfgs(memory_size=5))[1] == optim.split(first)[1]
    assert optim.split(optim.lbfgs(memory_size=4))[1] != optim.split(first)[1]  # memory_size is structure

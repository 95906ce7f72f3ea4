"""minimize on the course's 1-D and 2-D examples, against closed forms.

Gradient descent with rate ``lr`` on ``f(x) = x^2`` maps ``x`` to
``(1 - 2 lr) x``: from ``x_0 = 3`` with ``lr = 0.1``, ``x_t = 3 * 0.8^t``,
``f(x_t) = 9 * 0.64^t`` and ``|f'(x_t)| = 6 * 0.8^t``.
"""

import math

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import gdjax.optim as optim
from gdjax.train import CONVERGED, DIVERGED, MAX_STEPS, STATUS_NAMES, minimize

SGD = optax.sgd(0.1)


def square(x):
    return x**2


def first_t(condition):
    return next(t for t in range(10_000) if condition(t))


def test_gradient_descent_on_a_parabola_follows_the_closed_form():
    result = minimize(square, 3.0, SGD, max_steps=100, tol=1e-6)
    steps = first_t(lambda t: 6 * 0.8**t <= 1e-6)
    assert steps == 70
    assert int(result.num_steps) == steps
    assert int(result.status) == CONVERGED and result.reason == "converged"
    t = np.arange(steps + 1)
    np.testing.assert_allclose(result.trajectory[: steps + 1], 3 * 0.8**t, rtol=1e-5)
    np.testing.assert_allclose(result.values[: steps + 1], 9 * 0.64**t, rtol=1e-5)
    # Padding after the stop repeats the final point and value.
    np.testing.assert_array_equal(result.trajectory[steps:], np.full(101 - steps, result.x))
    np.testing.assert_array_equal(result.values[steps:], np.full(101 - steps, result.value))
    np.testing.assert_allclose(result.grad_norm, 6 * 0.8**steps, rtol=1e-5)
    assert result.trajectory.shape == (101,)


def test_the_step_budget_stops_a_slow_descent():
    result = minimize(square, 3.0, optax.sgd(0.001), max_steps=10)
    assert (int(result.num_steps), int(result.status), result.reason) == (10, MAX_STEPS, "max_steps")
    np.testing.assert_allclose(result.trajectory, 3 * 0.998 ** np.arange(11), rtol=1e-6)


def test_overflow_is_diverged_and_the_last_finite_point_is_kept():
    # lr = 1.5: x_t = 3 (-2)^t and f = 9 * 4^t overflows float32 first at t = 63.
    result = minimize(square, 3.0, optax.sgd(1.5), max_steps=200)
    assert result.reason == "diverged" and int(result.status) == DIVERGED
    assert int(result.num_steps) == first_t(lambda t: 9 * 4.0**t > float(np.finfo(np.float32).max)) - 1 == 62
    np.testing.assert_array_equal(result.x, np.float32(3 * 2.0**62))
    assert np.all(np.isfinite(result.trajectory)) and np.all(np.isfinite(result.values))


def test_max_norm_flags_a_run_away_that_would_not_overflow():
    # lr = 1.1: x_t = 3 (-1.2)^t grows slowly; it leaves the ball of radius 100 at t = 20.
    result = minimize(square, 3.0, optax.sgd(1.1), max_steps=200, max_norm=100.0)
    t = first_t(lambda t: 3 * 1.2**t > 100)
    assert t == 20
    assert (int(result.num_steps), result.reason) == (t, "diverged")
    np.testing.assert_allclose(result.x, 3 * (-1.2) ** t, rtol=1e-5)
    without = minimize(square, 3.0, optax.sgd(1.1), max_steps=50)
    assert without.reason == "max_steps"


def test_step_and_value_tolerances():
    # |x_{t+1} - x_t| = 0.6 * 0.8^t and |f_{t+1} - f_t| = 3.24 * 0.64^t.
    by_step = minimize(square, 3.0, SGD, max_steps=100, tol=0.0, xtol=1e-3)
    assert int(by_step.num_steps) == first_t(lambda t: 0.6 * 0.8**t <= 1e-3) + 1 == 30
    by_value = minimize(square, 3.0, SGD, max_steps=100, tol=0.0, ftol=1e-4)
    assert int(by_value.num_steps) == first_t(lambda t: 3.24 * 0.64**t <= 1e-4) + 1
    assert by_step.reason == by_value.reason == "converged"


def test_a_starting_point_at_the_minimum_converges_in_zero_steps():
    result = minimize(square, 0.0, SGD, max_steps=5)
    assert (int(result.num_steps), result.reason) == (0, "converged")
    np.testing.assert_array_equal(result.trajectory, np.zeros(6))


def test_vmap_over_starting_points_matches_single_runs():
    starts = jnp.array([3.0, -1.0, 0.5, 0.0, 1e-8])
    batch = jax.vmap(lambda x0: minimize(square, x0, SGD, max_steps=100))(starts)
    for i, x0 in enumerate(starts):
        one = minimize(square, x0, SGD, max_steps=100)
        assert int(batch.num_steps[i]) == int(one.num_steps)
        np.testing.assert_allclose(batch.trajectory[i], one.trajectory, rtol=1e-6)
        expected = 0 if 2 * abs(float(x0)) <= 1e-6 else first_t(lambda t: 2 * abs(float(x0)) * 0.8**t <= 1e-6)
        assert int(one.num_steps) == expected
    assert list(batch.reason) == ["converged"] * 5


def test_vmap_over_a_traced_learning_rate_and_tolerance():
    rates = jnp.array([0.1, 0.25, 0.5])
    batch = jax.vmap(
        lambda lr, tol: minimize(square, 3.0, lambda h: optim.sgd(h), max_steps=100, tol=tol, hyperparams=lr)
    )(rates, jnp.full(3, 1e-6))
    # Factors 0.8, 0.5 and 0 per step.
    expected = [
        first_t(lambda t: 6 * 0.8**t <= 1e-6),
        first_t(lambda t: 6 * 0.5**t <= 1e-6),
        1,
    ]
    assert [int(n) for n in batch.num_steps] == expected


def test_pytree_points_in_two_dimensions():
    # f(a, b) = 0.5 (a^2 + 10 b^2): with lr = 0.1, a shrinks by 0.9 per step, b is 0 after one.
    def bowl(p):
        return 0.5 * (p["a"] ** 2 + 10 * jnp.sum(p["b"] ** 2))

    result = minimize(bowl, {"a": 2.0, "b": jnp.array([1.0])}, SGD, max_steps=300, tol=1e-4)
    steps = first_t(lambda t: t >= 1 and 2 * 0.9**t <= 1e-4)
    assert int(result.num_steps) == steps
    np.testing.assert_allclose(result.trajectory["a"][: steps + 1], 2 * 0.9 ** np.arange(steps + 1), rtol=1e-5)
    np.testing.assert_allclose(result.trajectory["b"][1 : steps + 1], 0.0, atol=1e-7)
    assert result.trajectory["b"].shape == (301, 1)


def test_adam_finds_the_rosenbrock_minimum():
    def rosenbrock(p):
        return (1 - p[0]) ** 2 + 100 * (p[1] - p[0] ** 2) ** 2

    result = minimize(rosenbrock, jnp.array([-1.0, 1.0]), optax.adam(0.02), max_steps=5000, tol=1e-3)
    assert result.reason == "converged"
    np.testing.assert_allclose(result.x, [1.0, 1.0], atol=1e-2)
    assert np.all(np.diff(result.values[: int(result.num_steps) + 1]) < 1.0)


def test_compiled_once_per_function_optimizer_and_budget():
    traces = []

    def counted(x):
        traces.append(1)
        return x**2

    minimize(counted, 3.0, SGD, max_steps=20)
    count = len(traces)
    minimize(counted, -2.0, SGD, max_steps=20, tol=1e-3)
    assert len(traces) == count


def test_integer_starting_points_become_floats_and_dtypes_are_kept():
    assert minimize(square, 3, SGD, max_steps=5).trajectory.dtype == jnp.float32
    with jax.enable_x64(True):
        result = minimize(square, np.float64(3.0), optax.sgd(0.1), max_steps=200, tol=1e-12)
        assert result.trajectory.dtype == np.float64
        assert int(result.num_steps) == first_t(lambda t: 6 * 0.8**t <= 1e-12)


def test_status_names():
    assert STATUS_NAMES[CONVERGED] == "converged" and STATUS_NAMES[DIVERGED] == "diverged"
    result = minimize(lambda x: x**2, 3.0, optim.sgd(0.1), max_steps=5)
    batch = result._replace(status=np.array([DIVERGED, MAX_STEPS]))
    assert result.reason == "max_steps" and list(batch.reason) == ["diverged", "max_steps"]


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        (dict(max_steps=0), "max_steps must be >= 1"),
        (dict(tol=-1.0), "tol must be >= 0"),
        (dict(xtol=-1.0), "xtol must be >= 0"),
        (dict(max_norm=0.0), "max_norm must be > 0"),
        (dict(x0=math.nan), "x0 must be finite"),
        (dict(fun=lambda x: jnp.stack([x, x])), r"fun must return a scalar; got an array of shape \(2,\)"),
        (dict(optimizer=0.1), "optimizer must be a gradient transformation"),
    ],
)
def test_bad_arguments(changes, message):
    arguments = dict(fun=square, x0=1.0, optimizer=SGD, max_steps=5)
    arguments.update(changes)
    with pytest.raises(ValueError, match=message):
        minimize(**arguments)

"""The test functions: known minima and minimisers, stationarity, and that the minimum is global."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from gdjax.functions import FUNCTIONS, get_function, grid_values

NAMES = list(FUNCTIONS)

EXPECTED_MINIMA = {  # from the literature (Jamil & Yang 2013; Surjanovic & Bingham)
    "course_quartic": -1675 / 256,
    "six_hump_camel": -1.0316284535,
    "himmelblau": 0.0,
    "rastrigin": 0.0,
    "ackley": 0.0,
    "styblinski_tang": -39.16616570 * 2,
    "rosenbrock": 0.0,
    "beale": 0.0,
    "saddle": -0.25,
    "ill_conditioned": 0.0,
}


def test_every_function_is_listed_with_the_issue_names():
    assert set(NAMES) == set(EXPECTED_MINIMA) | {"double_well"}
    for name, value in EXPECTED_MINIMA.items():
        assert FUNCTIONS[name].minimum == pytest.approx(value, abs=1e-7), name


@pytest.mark.parametrize("name", NAMES)
def test_minimum_value_and_zero_gradient_at_every_minimiser(name):
    f = FUNCTIONS[name]
    with jax.enable_x64(True):
        value, grad, hessian = jax.jit(jax.vmap(lambda x: (f.fn(x), jax.grad(f.fn)(x), jax.hessian(f.fn)(x))))(
            jnp.asarray(f.minimizers, jnp.float64)
        )
        assert grad.shape == f.minimizers.shape
        np.testing.assert_allclose(value, f.minimum, atol=1e-12)
        np.testing.assert_allclose(grad, 0.0, atol=1e-10)
        assert np.linalg.eigvalsh(np.asarray(hessian)).min() >= -1e-9  # minima, not saddles


@pytest.mark.parametrize("name", NAMES)
def test_the_minimum_is_global_on_a_grid_of_the_domain(name):
    f = FUNCTIONS[name]
    *_, values = grid_values(f, 301)
    assert values.min() >= f.minimum - 1e-4 * max(1.0, abs(f.minimum))
    # and the grid comes close to it (the minimiser lies inside the drawn domain)
    assert values.min() <= f.minimum + 0.05 * max(1.0, np.ptp(values) * 0.01)
    for point in f.minimizers:
        for (low, high), coordinate in zip(f.domain, point):
            assert low < coordinate < high


@pytest.mark.parametrize("name", [n for n in NAMES if len(FUNCTIONS[n].local_minimizers)])
def test_marked_local_points_are_stationary(name):
    f = FUNCTIONS[name]
    with jax.enable_x64(True):
        value, grad = jax.vmap(jax.value_and_grad(f.fn))(jnp.asarray(f.local_minimizers, jnp.float64))
        np.testing.assert_allclose(grad, 0.0, atol=1e-10)
        assert (np.asarray(value) > f.minimum).all()


def test_course_quartic_has_an_inflection_plateau_at_zero():
    f = get_function("course_quartic")
    d1 = jax.grad(lambda w: f(jnp.array([w])))
    d2, d3 = jax.grad(d1), jax.grad(jax.grad(d1))
    # L'(w) = 4w^3 - 9w^2 = w^2 (4w - 9): a double root at 0, so no sign change (not a minimum)
    assert float(d1(0.0)) == 0.0 and float(d2(0.0)) == 0.0 and float(d3(0.0)) == -18.0
    assert float(d1(-0.1)) < 0 and float(d1(0.1)) < 0 and float(d1(3.0)) > 0
    assert float(d1(9 / 4)) == 0.0


def test_double_well_has_a_deeper_left_well():
    f = get_function("double_well")
    (left,), (right,) = f.minimizers[0], f.local_minimizers[0]
    assert left < -1 < 0 < right < 1
    assert float(f(jnp.array([left]))) < float(f(jnp.array([right])))


def test_ackley_gradient_is_finite_everywhere_and_zero_at_the_origin():
    f = get_function("ackley")
    np.testing.assert_array_equal(jax.grad(f.fn)(jnp.zeros(2)), 0.0)
    assert np.isfinite(np.asarray(jax.grad(f.fn)(jnp.array([1e-20, 0.0])))).all()


def test_functions_vmap_and_jit_and_draw_starts_in_the_domain():
    f = get_function("himmelblau")
    starts = f.uniform_starts(jax.random.key(0), 8)
    assert starts.shape == (8, 2) and starts.dtype == jnp.float32
    assert (np.asarray(starts) >= -5).all() and (np.asarray(starts) <= 5).all()
    values = jax.jit(jax.vmap(f.fn))(starts)
    np.testing.assert_allclose(values, [float(f(s)) for s in starts], rtol=1e-5)
    np.testing.assert_allclose(f.distance_to_minimizer(f.minimizers), 0.0, atol=1e-12)


def test_unknown_function_names_the_choices():
    with pytest.raises(ValueError, match="unknown test function 'nope'; choose from: course_quartic"):
        get_function("nope")

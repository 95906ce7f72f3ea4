"""The course's worked examples, to the digits the course gives."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import gdjax
from gdjax.activations import sigmoid, sigmoid_derivative
from gdjax.losses import binary_cross_entropy, half_mse
from gdjax.models import linear_regression, mlp, perceptron, perceptron_step


def gradient_descent(fun, w0, learning_rate, steps):
    """Plain ``w <- w - lr * grad(fun)(w)`` for a fixed number of steps."""
    grad = jax.grad(fun)

    def body(_, w):
        return jax.tree_util.tree_map(lambda p, g: p - learning_rate * g, w, grad(w))

    return jax.lax.fori_loop(0, steps, body, w0)


def test_quartic_gradient_and_one_step():
    loss = lambda w: w**4 - 3 * w**3 + 2
    assert float(jax.grad(loss)(-1.5)) == pytest.approx(-33.75, abs=1e-6)
    assert float(gradient_descent(loss, jnp.float32(-1.5), 0.001, 1)) == pytest.approx(-1.46625, abs=1e-6)


def test_g_converges_to_its_minimum_from_2_5():
    g = lambda w: (w**4 + w**2 + 10 * w) / 50
    for w in (-2.0, 0.0, 1.0, 2.5):
        assert float(jax.grad(g)(w)) == pytest.approx(2 / 25 * w**3 + w / 25 + 1 / 5, rel=1e-6)
    w_star = gradient_descent(g, jnp.float32(2.5), 1.0, 500)
    assert float(w_star) == pytest.approx(-1.234773, abs=1e-4)
    assert float(jax.grad(g)(w_star)) == pytest.approx(0.0, abs=1e-5)


def test_bowl_gradient():
    g = lambda w: w[0] ** 2 + w[1] ** 2 + 2
    np.testing.assert_allclose(jax.grad(g)(jnp.array([1.5, -2.0])), [3.0, -4.0])


def test_cross_entropy_examples():
    p = jnp.array([0.8, 0.7, 0.1])
    assert float(binary_cross_entropy(p, jnp.array([1, 1, 0]), reduction="sum")) == pytest.approx(0.6852, abs=1e-4)
    assert float(binary_cross_entropy(p, jnp.array([0, 0, 1]), reduction="sum")) == pytest.approx(5.1160, abs=1e-4)


def test_perceptron_trick_on_the_course_line():
    line = {"w": jnp.array([3.0, 4.0]), "b": jnp.array(-10.0)}
    moved = perceptron_step(line, jnp.array([4.0, 5.0]), 0, 0.1)
    np.testing.assert_allclose(moved["w"], [2.6, 3.5], rtol=1e-6)
    assert float(moved["b"]) == pytest.approx(-10.1)
    moved = perceptron_step(line, jnp.array([1.0, 1.0]), 1, 0.1)
    np.testing.assert_allclose(moved["w"], [3.1, 4.1], rtol=1e-6)
    assert float(moved["b"]) == pytest.approx(-9.9)

    model, point, steps = perceptron(2), jnp.array([[1.0, 1.0]]), 0
    params = line
    while model.apply(params, point)[0] != 1:
        params = perceptron_step(params, point[0], 1, 0.1)
        steps += 1
    assert steps == 10


def test_sigmoid_derivative_matches_autodiff():
    x = jnp.linspace(-8, 8, 33)
    np.testing.assert_allclose(jax.vmap(jax.grad(sigmoid))(x), sigmoid_derivative(x), rtol=1e-6, atol=1e-7)


def test_heart_network_has_497_parameters():
    params = mlp([29, 16, 1]).init(jax.random.key(0))
    assert gdjax.count_params(params) == 497


def test_and_or_perceptrons_and_xor():
    table = jnp.array([[0, 0], [0, 1], [1, 0], [1, 1]], jnp.float32)
    model = perceptron(2)
    and_params = {"w": jnp.array([1.0, 1.0]), "b": jnp.array(-1.5)}
    or_params = {"w": jnp.array([1.0, 1.0]), "b": jnp.array(-0.5)}
    np.testing.assert_array_equal(model.apply(and_params, table), [0, 0, 0, 1])
    np.testing.assert_array_equal(model.apply(or_params, table), [0, 1, 1, 1])

    # XOR is not linearly separable: no line through a fine grid of (w1, w2, b) separates it.
    grid = jnp.linspace(-2, 2, 21)
    w1, w2, b = (g.ravel() for g in jnp.meshgrid(grid, grid, grid))
    predictions = (table @ jnp.stack([w1, w2]) + b >= 0).T
    assert not jnp.any(jnp.all(predictions == jnp.array([0, 1, 1, 0], bool), axis=1))

    # ...but a 2-4-1 tanh network trained by gradient descent solves it.
    xor_y = jnp.array([0.0, 1.0, 1.0, 0.0])
    net = mlp([2, 4, 1], hidden="tanh", output="sigmoid")
    loss = lambda p: gdjax.losses.sigmoid_binary_cross_entropy(net.logits(p, table), xor_y)
    params = gradient_descent(loss, net.init(jax.random.key(3)), 1.0, 2000)
    np.testing.assert_array_equal(net.apply(params, table) >= 0.5, [False, True, True, False])


@pytest.mark.parametrize(
    "slope,intercept", [(2.0, 0.0), (3.0, 0.0), (0.5, -2.5), (3.0, 2.0)], ids=["2x", "3x", "0.5x-2.5", "3x+2"]
)
def test_gradient_descent_recovers_course_tables(slope, intercept):
    x = jnp.arange(2.0, 7.0)
    y = slope * x + intercept
    model = linear_regression(1)
    loss = lambda p: half_mse(model.apply(p, x), y)
    params = gradient_descent(loss, {"w": jnp.zeros(1), "b": jnp.zeros(())}, 0.05, 20000)
    assert float(params["w"][0]) == pytest.approx(slope, abs=1e-3)
    assert float(params["b"]) == pytest.approx(intercept, abs=1e-3)

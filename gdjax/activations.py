"""Activation functions of the course, by name.

Each is a pure, element-wise function of a JAX array. The names are the ones
model factories accept (``hidden=...``, ``output=...``).

- ``sigmoid(x) = 1 / (1 + e^{-x})``, with ``sigmoid'(x) = sigmoid(x) (1 - sigmoid(x))``
- ``tanh(x)``, with ``tanh'(x) = 1 - tanh(x)^2``
- ``relu(x) = max(x, 0)``
- ``identity(x) = x``
- ``step(x) = 1 if x >= 0 else 0`` (the perceptron's activation; its gradient is 0)
- ``softmax(z)_i = e^{z_i} / sum_j e^{z_j}`` over the last axis
"""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp

from gdjax._checks import check_choice

Activation = Callable[[jax.Array], jax.Array]


def sigmoid(x: jax.Array) -> jax.Array:
    """``1 / (1 + exp(-x))``, computed without overflow for large ``|x|``."""
    return jax.nn.sigmoid(x)


def sigmoid_derivative(x: jax.Array) -> jax.Array:
    """The closed form ``sigmoid(x) * (1 - sigmoid(x))``."""
    s = jax.nn.sigmoid(x)
    return s * (1 - s)


def tanh(x: jax.Array) -> jax.Array:
    return jnp.tanh(x)


def relu(x: jax.Array) -> jax.Array:
    return jnp.maximum(x, 0)


def identity(x: jax.Array) -> jax.Array:
    return x


def step(x: jax.Array) -> jax.Array:
    """Heaviside step with ``step(0) = 1``: a point on the line counts as positive."""
    return jnp.where(x >= 0, 1, 0).astype(jnp.result_type(x, jnp.float32))


def softmax(z: jax.Array) -> jax.Array:
    """Softmax over the last axis (shifted by the maximum for stability)."""
    return jax.nn.softmax(z, axis=-1)


HIDDEN_ACTIVATIONS: dict[str, Activation] = {
    "sigmoid": sigmoid,
    "tanh": tanh,
    "relu": relu,
    "identity": identity,
}
OUTPUT_ACTIVATIONS: dict[str, Activation] = {
    "sigmoid": sigmoid,
    "softmax": softmax,
    "identity": identity,
}


def hidden_activation(name: str) -> Activation:
    return HIDDEN_ACTIVATIONS[check_choice("hidden", name, HIDDEN_ACTIVATIONS)]


def output_activation(name: str) -> Activation:
    return OUTPUT_ACTIVATIONS[check_choice("output", name, OUTPUT_ACTIVATIONS)]

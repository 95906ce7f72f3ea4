"""Linear models: linear, logistic and softmax regression.

All three compute a score ``z = x W + b`` and differ in the output map:
identity (regression), sigmoid (binary probability ``P(y=1 | x)``) or softmax
(class probabilities).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from gdjax._checks import check_int
from gdjax.activations import sigmoid, softmax
from gdjax.models._model import Model, as_features, glorot_uniform


def _vector_model(num_features: int, output, dtype) -> Model:
    """``z = w^T x + b`` with ``w`` of shape ``(d,)`` and a scalar ``b``."""
    num_features = check_int("num_features", num_features, minimum=1)

    def init(key: jax.Array):
        w = glorot_uniform(key, num_features, 1, (num_features,), dtype)
        return {"w": w, "b": jnp.zeros((), dtype)}

    def logits(params, x, *, key=None):
        del key  # no randomness in a linear model
        x = as_features("x", x, num_features)
        return x @ params["w"] + params["b"]

    def apply(params, x, *, key=None):
        return output(logits(params, x, key=key))

    return Model(init, apply, logits)


def linear_regression(num_features: int = 1, *, dtype=jnp.float32) -> Model:
    """Linear regression ``y_hat = w^T x + b`` (the course's ``y = w0 + w1 x`` for one feature).

    Params ``{"w": (d,), "b": ()}``; output shape ``(n,)``.
    """
    return _vector_model(num_features, lambda z: z, dtype)


def logistic_regression(num_features: int, *, dtype=jnp.float32) -> Model:
    """Logistic regression ``P(y=1 | x) = sigmoid(w^T x + b)``.

    Params ``{"w": (d,), "b": ()}``; ``apply`` gives probabilities of shape
    ``(n,)``, ``logits`` the scores ``w^T x + b``.
    """
    return _vector_model(num_features, sigmoid, dtype)


def softmax_regression(num_features: int, num_classes: int, *, dtype=jnp.float32) -> Model:
    """Multinomial logistic regression ``P(y=k | x) = softmax(x W + b)_k``.

    Params ``{"w": (d, K), "b": (K,)}``; output shape ``(n, K)``.
    """
    num_features = check_int("num_features", num_features, minimum=1)
    num_classes = check_int("num_classes", num_classes, minimum=2)

    def init(key: jax.Array):
        w = glorot_uniform(key, num_features, num_classes, (num_features, num_classes), dtype)
        return {"w": w, "b": jnp.zeros((num_classes,), dtype)}

    def logits(params, x, *, key=None):
        del key
        x = as_features("x", x, num_features)
        return x @ params["w"] + params["b"]

    def apply(params, x, *, key=None):
        return softmax(logits(params, x, key=key))

    return Model(init, apply, logits)

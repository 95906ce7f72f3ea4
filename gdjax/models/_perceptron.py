"""The perceptron and the perceptron trick.

A perceptron predicts ``y_hat = step(w^T x + b)`` with ``step(z) = 1`` for
``z >= 0`` and 0 otherwise: the line (hyperplane) ``w^T x + b = 0`` splits the
plane into a positive and a negative side.

The perceptron trick moves that line towards a misclassified point:

    w <- w + lr * (y - y_hat) * x
    b <- b + lr * (y - y_hat)

``y - y_hat`` is ``+1`` for a positive point on the negative side, ``-1`` for a
negative point on the positive side and 0 for a correctly classified point, so
one formula covers all three cases without branching.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from gdjax._checks import check_int, check_positive
from gdjax.activations import step
from gdjax.models._model import Model, as_features, glorot_uniform


def perceptron(num_features: int, *, dtype=jnp.float32) -> Model:
    """A single perceptron. Params ``{"w": (d,), "b": ()}``; outputs 0/1 of shape ``(n,)``.

    ``logits`` returns the score ``w^T x + b`` (train on it with
    :func:`gdjax.losses.perceptron_loss`; the step itself has zero gradient).
    """
    num_features = check_int("num_features", num_features, minimum=1)

    def init(key: jax.Array):
        w = glorot_uniform(key, num_features, 1, (num_features,), dtype)
        return {"w": w, "b": jnp.zeros((), dtype)}

    def logits(params, x, *, key=None):
        del key
        x = as_features("x", x, num_features)
        return x @ params["w"] + params["b"]

    def apply(params, x, *, key=None):
        return step(logits(params, x, key=key))

    return Model(init, apply, logits)


def perceptron_step(params, x: jax.Array, y: jax.Array, learning_rate) -> dict[str, jax.Array]:
    """One perceptron-trick update on a single point ``x`` (shape ``(d,)``) with label ``y`` in {0, 1}.

    Returns the new params; a correctly classified point leaves them unchanged.
    """
    learning_rate = check_positive("learning_rate", learning_rate)
    x = jnp.asarray(x)
    if x.ndim != 1 or x.shape != params["w"].shape:
        raise ValueError(f"x must be one point of shape {params['w'].shape}; got shape {x.shape}.")
    if jnp.ndim(y) != 0:
        raise ValueError(f"y must be a scalar label in {{0, 1}}; got shape {jnp.shape(y)}.")
    y_hat = step(x @ params["w"] + params["b"])
    error = (y - y_hat).astype(params["w"].dtype)
    return {"w": params["w"] + learning_rate * error * x, "b": params["b"] + learning_rate * error}


def perceptron_epoch(params, x: jax.Array, y: jax.Array, learning_rate) -> tuple[dict[str, jax.Array], jax.Array]:
    """One pass of the perceptron trick over the points in order (a ``lax.scan``).

    Returns the new params and the number of points that were misclassified
    when visited (0 means the data is separated).
    """
    learning_rate = check_positive("learning_rate", learning_rate)
    x = jnp.asarray(x)
    if x.ndim != 2 or x.shape[1] != params["w"].shape[0]:
        raise ValueError(f"x must have shape (n, {params['w'].shape[0]}); got shape {x.shape}.")
    y = jnp.asarray(y)
    if y.shape != x.shape[:1]:
        raise ValueError(f"y must have shape ({x.shape[0]},) to match x; got shape {y.shape}.")

    def visit(p, point):
        xi, yi = point
        mistake = step(xi @ p["w"] + p["b"]) != yi
        return perceptron_step(p, xi, yi, learning_rate), mistake

    params, mistakes = jax.lax.scan(visit, params, (x, y))
    return params, jnp.sum(mistakes)

"""Regression losses: mean squared, mean absolute and general Lp errors.

With ``m`` examples, predictions ``y_hat`` and targets ``y``:

- ``mse      = (1/m)  sum (y_hat - y)^2``
- ``half_mse = (1/2m) sum (y_hat - y)^2`` (the course's form: its gradient
  ``(1/m) sum (y_hat - y) dy_hat/dw`` has no factor 2)
- ``mae      = (1/m)  sum |y_hat - y|``
- ``lp_loss  = (1/m)  sum |y_hat - y|^p``

Each error is summed over any trailing axes (several outputs per example)
before the reduction over examples.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from gdjax._checks import check_range
from gdjax.losses._reduce import Reduction, reduce, same_shape


def _per_example(errors: jax.Array) -> jax.Array:
    return jnp.sum(errors.reshape(errors.shape[0], -1), axis=1) if errors.ndim > 1 else errors


def lp_loss(predictions, targets, p: float = 2.0, *, reduction: Reduction = "mean") -> jax.Array:
    """``(1/m) sum |y_hat - y|^p`` for ``p >= 1``."""
    check_range("p", p, low=1.0)
    predictions, targets = same_shape("predictions", predictions, "targets", targets)
    return reduce(_per_example(jnp.abs(predictions - targets) ** p), reduction)


def mse(predictions, targets, *, reduction: Reduction = "mean") -> jax.Array:
    """Mean squared error ``(1/m) sum (y_hat - y)^2``."""
    predictions, targets = same_shape("predictions", predictions, "targets", targets)
    return reduce(_per_example(jnp.square(predictions - targets)), reduction)


def half_mse(predictions, targets, *, reduction: Reduction = "mean") -> jax.Array:
    """The course's ``(1/2m) sum (y_hat - y)^2``."""
    return 0.5 * mse(predictions, targets, reduction=reduction)


def mae(predictions, targets, *, reduction: Reduction = "mean") -> jax.Array:
    """Mean absolute error ``(1/m) sum |y_hat - y|``."""
    predictions, targets = same_shape("predictions", predictions, "targets", targets)
    return reduce(_per_example(jnp.abs(predictions - targets)), reduction)

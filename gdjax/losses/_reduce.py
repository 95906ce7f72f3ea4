"""Shape checks and reductions shared by the losses."""

from __future__ import annotations

from typing import Literal

import jax
import jax.numpy as jnp

from gdjax._checks import check_choice

Reduction = Literal["mean", "sum", "none"]


def same_shape(pred_name: str, pred, target_name: str, target) -> tuple[jax.Array, jax.Array]:
    """Both as arrays, refusing any shape mismatch (no silent ``(n,)`` vs ``(n, 1)`` broadcasting)."""
    pred, target = jnp.asarray(pred), jnp.asarray(target)
    if pred.shape != target.shape:
        raise ValueError(f"{target_name} must have the same shape as {pred_name}, {pred.shape}; got {target.shape}.")
    return pred, target


def reduce(values: jax.Array, reduction: Reduction) -> jax.Array:
    """Per-example values reduced by ``"mean"`` (over examples), ``"sum"`` or ``"none"``."""
    check_choice("reduction", reduction, ("mean", "sum", "none"))
    if reduction == "mean":
        return jnp.mean(values)
    if reduction == "sum":
        return jnp.sum(values)
    return values

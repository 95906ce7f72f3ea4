"""Small pytree helpers of the training loop: the select of a step, its divergence guard."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp


def select(pred: jax.Array, on_true: Any, on_false: Any) -> Any:
    """``jnp.where(pred, a, b)`` over two pytrees of the same structure (``pred`` a scalar)."""
    return jax.tree.map(lambda a, b: jnp.where(pred, a, b), on_true, on_false)


def step_guard(new_params: Any, grads: Any) -> jax.Array:
    """One number that says both whether a step is finite and whether its gradient was zero.

    ``sum(new_params * 0 + (grads != 0))``: NaN when a new parameter is not
    finite (``inf * 0`` and ``nan * 0`` are NaN), else the count of non-zero
    gradient elements, 0 when the gradient vanished. One fused reduction over
    the parameters per step, instead of one per question and leaf.
    """
    total = jnp.zeros((), jnp.float32)
    for p, g in zip(jax.tree.leaves(new_params), jax.tree.leaves(grads), strict=True):
        if jnp.issubdtype(jnp.result_type(p), jnp.inexact):
            term = jnp.real(p) * 0 + (g != 0).astype(jnp.real(p).dtype)
            total = total + jnp.sum(term).astype(jnp.float32)
    return total

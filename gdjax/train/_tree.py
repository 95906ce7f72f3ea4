"""Small pytree helpers of the training loop."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp


def all_finite(tree: Any) -> jax.Array:
    """A scalar bool: every element of every inexact leaf is finite (True for no leaves)."""
    flags = [
        jnp.all(jnp.isfinite(leaf))
        for leaf in jax.tree.leaves(tree)
        if jnp.issubdtype(jnp.result_type(leaf), jnp.inexact)
    ]
    if not flags:
        return jnp.array(True)
    return jnp.stack(flags).all()


def select(pred: jax.Array, on_true: Any, on_false: Any) -> Any:
    """``jnp.where(pred, a, b)`` over two pytrees of the same structure (``pred`` a scalar)."""
    return jax.tree.map(lambda a, b: jnp.where(pred, a, b), on_true, on_false)

"""Small pytree helpers of the training loop."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp


def select(pred: jax.Array, on_true: Any, on_false: Any) -> Any:
    """``jnp.where(pred, a, b)`` over two pytrees of the same structure (``pred`` a scalar)."""
    return jax.tree.map(lambda a, b: jnp.where(pred, a, b), on_true, on_false)

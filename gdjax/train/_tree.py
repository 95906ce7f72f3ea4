"""Small pytree helpers shared by the training engine."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp


def apply_updates(params: Any, updates: Any) -> Any:
    """``params + updates`` leaf by leaf, each result cast back to its param's dtype.

    Written here rather than borrowed from a library so that any gradient
    transformation following the ``init``/``update`` protocol (gdjax's or
    Optax's) can be used; the cast keeps e.g. a float32 leaf float32 when an
    update comes back in a wider dtype.
    """
    return jax.tree.map(lambda p, u: jnp.asarray(p + u).astype(jnp.result_type(p)), params, updates)


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


def global_norm(tree: Any) -> jax.Array:
    """``sqrt(sum_leaves sum x^2)``, the Euclidean norm of a pytree seen as one vector."""
    leaves = jax.tree.leaves(tree)
    if not leaves:
        return jnp.zeros(())
    return jnp.sqrt(sum(jnp.sum(jnp.square(jnp.abs(leaf))) for leaf in leaves))


def num_examples(name: str, data: Any) -> int:
    """The common leading-axis length of every leaf of ``data`` (static).

    Raises ``ValueError`` naming the offending leaves when the data has no
    leaves, a scalar leaf, or leaves of different lengths.
    """
    leaves = jax.tree_util.tree_leaves_with_path(data)
    if not leaves:
        raise ValueError(f"{name} must be a pytree of arrays with a leading example axis; got no arrays.")
    lengths = {}
    for path, leaf in leaves:
        shape = jnp.shape(leaf)
        if len(shape) == 0:
            raise ValueError(f"{name}{jax.tree_util.keystr(path)} must have a leading example axis; got a scalar.")
        lengths[jax.tree_util.keystr(path)] = shape[0]
    distinct = sorted(set(lengths.values()))
    if len(distinct) > 1:
        shown = ", ".join(f"{name}{path} has {n}" for path, n in lengths.items())
        raise ValueError(f"every array in {name} must have the same number of examples (rows); got {shown}.")
    return int(distinct[0])

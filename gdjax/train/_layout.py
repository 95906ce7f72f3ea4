"""The flat layout: a training's parameters and optimizer state as one vector per quantity.

An optimizer that treats every element alike (:func:`gdjax.optim.is_elementwise`:
SGD, momentum, Adagrad, RMSProp, Adam, ...) computes the same updates on the
parameters concatenated into one vector as on the tree, in a few large fused
operations instead of a few small ones per leaf. The training loop therefore
runs such optimizers on the flat vector ``theta = concat(ravel(leaf) for leaf)``
and converts at its edges: the loss still sees the tree (``unravel(theta)``, a
free slicing for XLA), and the state a user receives is in the tree's layout.

Conversion of an optimizer state between the layouts relies on the state of the
flat parameters having the structure of the tree's state with every
parameter-shaped subtree (a moment, a momentum buffer) replaced by one vector;
:func:`flat_layout` checks that and declines (returns None) otherwise.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np


class FlatLayout(NamedTuple):
    """How a parameter tree maps onto one vector (static: shapes and structure only)."""

    treedef: Any
    shapes: tuple[tuple[int, ...], ...]
    dtype: Any
    size: int

    def ravel(self, tree: Any) -> jax.Array:
        """The leaves of a tree shaped like the parameters, concatenated into one vector."""
        leaves = jax.tree.leaves(tree)
        return jnp.concatenate([jnp.ravel(leaf) for leaf in leaves])

    def unravel(self, flat: jax.Array) -> Any:
        """The tree whose leaves are consecutive pieces of ``flat``.

        One ``split`` rather than a slice per leaf: the gradient of a split is
        one concatenation, that of slices a padded copy per leaf, summed.
        """
        sizes = [int(np.prod(shape, dtype=int)) for shape in self.shapes]
        pieces = jnp.split(flat, np.cumsum(sizes)[:-1].tolist())
        leaves = [piece.reshape(shape) for piece, shape in zip(pieces, self.shapes, strict=True)]
        return jax.tree.unflatten(self.treedef, leaves)


def flat_layout(params: Any, transformation: Any, is_elementwise: Callable[[Any], bool]) -> FlatLayout | None:
    """The flat layout of ``params`` for ``transformation``, or None where the tree layout must stay.

    Flat when the transformation is elementwise, the parameters have more than
    one leaf (otherwise nothing is gained) and share one real floating dtype,
    and the transformation's state converts between the layouts.
    """
    leaves, treedef = jax.tree.flatten(params)
    if len(leaves) < 2 or not is_elementwise(transformation):
        return None
    dtypes = {jnp.result_type(leaf) for leaf in leaves}
    if len(dtypes) != 1 or not jnp.issubdtype(next(iter(dtypes)), jnp.floating):
        return None
    shapes = tuple(tuple(jnp.shape(leaf)) for leaf in leaves)
    layout = FlatLayout(treedef, shapes, next(iter(dtypes)), sum(int(np.prod(s, dtype=int)) for s in shapes))
    return None if _kinds(layout, transformation) is None else layout


def _state_parts(layout: FlatLayout, tree_state: Any, flat_state: Any) -> list[bool] | None:
    """For each leaf of the flat state: whether it stands for a parameter-shaped subtree (None: no match)."""
    flat_leaves, flat_def = jax.tree.flatten(flat_state)
    try:
        parts = flat_def.flatten_up_to(tree_state)
    except (ValueError, TypeError):
        return None
    kinds = []
    for flat, part in zip(flat_leaves, parts, strict=True):
        if jax.tree.structure(part) == layout.treedef and np.shape(flat) == (layout.size,):
            kinds.append(True)
        elif jax.tree.structure(part).num_leaves == 1 and np.shape(part) == np.shape(flat):
            kinds.append(False)
        else:
            return None
    return kinds


def state_kinds(layout: FlatLayout, transformation: Any) -> list[bool]:
    """For each leaf of a flat-layout state: True where it is a parameter-shaped vector (a moment), False else."""
    kinds = _kinds(layout, transformation)
    if kinds is None:  # flat_layout checked this when it chose the layout
        raise ValueError("the optimizer's state no longer converts between the tree and flat layouts.")
    return kinds


def _kinds(layout: FlatLayout, transformation: Any) -> list[bool] | None:
    """:func:`_state_parts` of the transformation's states for the layout's tree and vector (None: no match)."""
    params = jax.tree.unflatten(layout.treedef, [jax.ShapeDtypeStruct(shape, layout.dtype) for shape in layout.shapes])
    tree_state = jax.eval_shape(transformation.init, params)
    flat_state = jax.eval_shape(transformation.init, jax.ShapeDtypeStruct((layout.size,), layout.dtype))
    return _state_parts(layout, tree_state, flat_state)


def state_to_flat(layout: FlatLayout, transformation: Any, state: Any) -> Any:
    """An optimizer state of the tree layout in the flat layout."""
    flat_def = jax.tree.structure(
        jax.eval_shape(transformation.init, jax.ShapeDtypeStruct((layout.size,), layout.dtype))
    )
    parts = flat_def.flatten_up_to(state)
    return jax.tree.unflatten(flat_def, [_ravel_part(layout, part) for part in parts])


def state_to_tree(layout: FlatLayout, transformation: Any, state: Any, params: Any) -> Any:
    """An optimizer state of the flat layout in the tree layout (``params`` gives the tree's shapes)."""
    tree_state = jax.eval_shape(transformation.init, params)
    flat_leaves, flat_def = jax.tree.flatten(state)
    parts = flat_def.flatten_up_to(tree_state)
    out = []
    for flat, part in zip(flat_leaves, parts, strict=True):
        if jax.tree.structure(part) == layout.treedef and np.shape(flat) == (layout.size,):
            out.append(layout.unravel(flat))
        else:
            out.append(flat)
    # ``parts`` sits where the flat state's leaves are: rebuild with the tree's subtrees in their place.
    return jax.tree.unflatten(flat_def, out)


def _ravel_part(layout: FlatLayout, part: Any) -> Any:
    if jax.tree.structure(part) == layout.treedef:
        leaves = jax.tree.leaves(part)
        return jnp.concatenate([jnp.ravel(leaf) for leaf in leaves])
    return part

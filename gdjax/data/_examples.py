"""Data sets as pytrees of arrays with a leading example axis: counting and checking the examples."""

from __future__ import annotations

from typing import Any

import jax
import numpy as np

from gdjax._checks import all_finite, check_finite_array


def num_examples(name: str, data: Any) -> int:
    """The common leading-axis length of every leaf of ``data`` (static).

    Raises ``ValueError`` naming the offending leaves when the data has no
    leaves, a scalar leaf, or leaves of different lengths.
    """
    shapes = [np.shape(leaf) for leaf in jax.tree_util.tree_leaves(data)]
    if shapes and all(shapes) and len({shape[0] for shape in shapes}) == 1:  # the usual case, without naming leaves
        return int(shapes[0][0])
    leaves = jax.tree_util.tree_leaves_with_path(data)
    if not leaves:
        raise ValueError(f"{name} must be a pytree of arrays with a leading example axis; got no arrays.")
    lengths = {}
    for path, leaf in leaves:
        shape = jax.numpy.shape(leaf)
        if len(shape) == 0:
            raise ValueError(f"{name}{jax.tree_util.keystr(path)} must have a leading example axis; got a scalar.")
        lengths[jax.tree_util.keystr(path)] = shape[0]
    distinct = sorted(set(lengths.values()))
    if len(distinct) > 1:
        shown = ", ".join(f"{name}{path} has {n}" for path, n in lengths.items())
        raise ValueError(f"every array in {name} must have the same number of examples (rows); got {shown}.")
    return int(distinct[0])


def check_data(name: str, data: Any) -> int:
    """The number of examples of a data set that holds at least one, all of them finite.

    Raises ``ValueError`` naming the leaf: inconsistent lengths (see
    :func:`num_examples`), no examples at all, or a NaN or infinity (its index).
    """
    n = num_examples(name, data)
    if n == 0:
        raise ValueError(f"{name} must hold at least one example; got 0 rows.")
    if all_finite(data):  # the usual case, without naming every leaf
        return n
    for path, leaf in jax.tree_util.tree_leaves_with_path(data):
        check_finite_array(f"{name}{jax.tree_util.keystr(path)}", leaf)
    return n

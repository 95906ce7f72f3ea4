"""L1 and L2 penalties over a parameter pytree.

- ``l1_penalty(params) = sum_i |w_i|``   (lasso; drives weights to exactly zero)
- ``l2_penalty(params) = sum_i w_i^2``   (ridge / weight decay; shrinks weights)

The penalty weight ``lambda`` multiplies the result outside: the training loss
is ``loss + lambda * penalty``. Biases are left out by default (they set a
unit's offset, not its sensitivity to the inputs): a bias is any leaf whose
dict key is ``"b"`` or ``"bias"``.
"""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp

BIAS_NAMES = frozenset({"b", "bias"})


def is_bias(path) -> bool:
    """True for a leaf whose innermost dict key names a bias."""
    return bool(path) and isinstance(path[-1], jax.tree_util.DictKey) and path[-1].key in BIAS_NAMES


def _penalty(params, include_bias: bool, term: Callable[[jax.Array], jax.Array]) -> jax.Array:
    leaves = [
        jnp.sum(term(leaf))
        for path, leaf in jax.tree_util.tree_leaves_with_path(params)
        if include_bias or not is_bias(path)
    ]
    if not leaves:
        return jnp.zeros(())
    return sum(leaves[1:], leaves[0])


def l1_penalty(params, *, include_bias: bool = False) -> jax.Array:
    """``sum |w|`` over every weight leaf (biases too if ``include_bias``)."""
    return _penalty(params, include_bias, jnp.abs)


def l2_penalty(params, *, include_bias: bool = False) -> jax.Array:
    """``sum w^2`` over every weight leaf (biases too if ``include_bias``)."""
    return _penalty(params, include_bias, jnp.square)

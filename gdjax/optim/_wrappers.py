"""Wrappers around a transformation: masking part of the tree, skipping non-finite steps."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from gdjax import _checks
from gdjax.optim._base import GradientTransformation, PyTree, call_update, safe_increment, zero_count
from gdjax.optim._recipe import hyperparameters


class MaskedNode(NamedTuple):
    """Stands for a masked-out leaf or subtree: an empty pytree node, so ``tree.map`` skips it."""


class MaskedState(NamedTuple):
    """State of :func:`masked`: the inner state, built on the unmasked leaves only."""

    inner_state: Any


def _resolve_mask(mask: Any, tree: PyTree) -> PyTree:
    mask_tree = mask(tree) if callable(mask) else mask
    for leaf in jax.tree.leaves(mask_tree):
        if not isinstance(leaf, (bool, np.bool_)):
            raise ValueError(
                f"mask leaves must be Python booleans (the mask is static, known before compiling); got {leaf!r}."
            )
    return mask_tree


def _mask_tree(tree: PyTree, mask_tree: PyTree) -> PyTree:
    # mask_tree is a prefix of tree: each boolean keeps or masks a whole subtree.
    return jax.tree.map(lambda m, sub: sub if m else MaskedNode(), mask_tree, tree)


@hyperparameters
def masked(inner: GradientTransformation, mask: PyTree | Callable[[PyTree], PyTree]) -> GradientTransformation:
    """Applies ``inner`` to the leaves where ``mask`` is True; the others pass through unchanged.

    Args:
      inner: the transformation to apply to the selected leaves. Its state is
        built on the selected leaves only.
      mask: a pytree of Python booleans with the structure of the parameters
        (or a prefix of it: one boolean selects a whole subtree), or a function
        ``params -> mask``, e.g. ``lambda p: jax.tree.map(lambda x: x.ndim > 1, p)``
        to skip weight decay on biases.
    """

    def init_fn(params):
        mask_tree = _resolve_mask(mask, params)
        return MaskedState(inner.init(_mask_tree(params, mask_tree)))

    def update_fn(updates, state, params=None, **extra_args):
        mask_tree = _resolve_mask(mask, updates)
        masked_params = None if params is None else _mask_tree(params, mask_tree)
        new_updates, inner_state = call_update(
            inner.update, _mask_tree(updates, mask_tree), state.inner_state, masked_params, extra_args
        )
        updates = jax.tree.map(lambda m, new, old: new if m else old, mask_tree, new_updates, updates)
        return updates, MaskedState(inner_state)

    return GradientTransformation(init_fn, update_fn)


class ApplyIfFiniteState(NamedTuple):
    """State of :func:`apply_if_finite`.

    Attributes:
      notfinite_count: int32 number of consecutive updates that held a NaN or
        infinity (reset to 0 by a finite one).
      last_finite: bool, whether the last update was finite.
      total_notfinite: int32 number of non-finite updates since ``init``.
      inner_state: the state of the wrapped transformation.
    """

    notfinite_count: jax.Array
    last_finite: jax.Array
    total_notfinite: jax.Array
    inner_state: Any


def _all_finite(tree: PyTree) -> jax.Array:
    finite = [jnp.all(jnp.isfinite(leaf)) for leaf in jax.tree.leaves(tree)]
    return functools.reduce(jnp.logical_and, finite, jnp.array(True))


@hyperparameters(elementwise=True)
def apply_if_finite(inner: GradientTransformation, max_consecutive_errors: int) -> GradientTransformation:
    """Skips updates holding a NaN or an infinity, and counts them.

    When the incoming updates hold a non-finite value, the step is rejected:
    the updates become zeros and the inner state is left as it was. After more
    than ``max_consecutive_errors`` consecutive rejections the wrapper gives up
    and applies the (non-finite) update, so that a run that has truly diverged
    shows it instead of silently freezing.

    Args:
      inner: the transformation to protect.
      max_consecutive_errors: how many consecutive non-finite updates to skip
        (an integer >= 0; may be traced).
    """
    if not _checks.is_traced(max_consecutive_errors):
        _checks.check_int("max_consecutive_errors", max_consecutive_errors, minimum=0)

    def init_fn(params):
        return ApplyIfFiniteState(
            notfinite_count=zero_count(),
            last_finite=jnp.array(True),
            total_notfinite=zero_count(),
            inner_state=inner.init(params),
        )

    def update_fn(updates, state, params=None, **extra_args):
        finite = _all_finite(updates)
        notfinite_count = jnp.where(finite, zero_count(), safe_increment(state.notfinite_count))

        def accept(operand):
            u, s = operand
            return call_update(inner.update, u, s, params, extra_args)

        def reject(operand):
            u, s = operand
            return jax.tree.map(jnp.zeros_like, u), s

        updates, inner_state = jax.lax.cond(
            jnp.logical_or(finite, notfinite_count > max_consecutive_errors),
            accept,
            reject,
            (updates, state.inner_state),
        )
        return updates, ApplyIfFiniteState(
            notfinite_count=notfinite_count,
            last_finite=finite,
            total_notfinite=jnp.where(finite, state.total_notfinite, safe_increment(state.total_notfinite)),
            inner_state=inner_state,
        )

    return GradientTransformation(init_fn, update_fn)

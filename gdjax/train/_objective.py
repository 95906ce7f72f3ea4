"""The training objective: a user loss on a mini-batch, plus an optional weighted penalty.

The loss is a pure function ``loss_fn(params, batch) -> scalar`` (or
``loss_fn(params, batch, key)`` for stochastic models such as dropout, the key
being None at evaluation time), ``batch`` having the structure of the data
with a leading axis of ``batch_size`` examples. The objective minimised at
each step is

    J(params; batch) = loss_fn(params, batch) + lambda * penalty(params)

so an L1/L2 penalty is added without rewriting the loss (``lambda`` may be a
traced hyperparameter).

Padded batches (``remainder="pad"``) hold slots that are not real examples.
Their loss is ``masked_mean_i loss_fn(params, batch_i)`` over single-example
batches ``batch_i`` (evaluated with ``vmap``), which equals the loss of the
real examples alone for any loss that is a mean over examples.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp

from gdjax.data import masked_mean


def loss_takes_key(loss_fn: Callable[..., Any]) -> bool:
    """Whether ``loss_fn`` accepts a third positional argument (a PRNG key).

    Functions whose signature cannot be read are assumed to take
    ``(params, batch)`` only; pass ``loss_takes_key=`` explicitly to override.
    The answer is cached per function (reading a signature is slow next to a
    compiled training's dispatch).
    """
    try:
        return _loss_takes_key(loss_fn)
    except TypeError:  # an unhashable callable
        return _loss_takes_key.__wrapped__(loss_fn)


@functools.lru_cache(maxsize=256)
def _loss_takes_key(loss_fn: Callable[..., Any]) -> bool:
    try:
        signature = inspect.signature(loss_fn)
    except (TypeError, ValueError):
        return False
    positional = 0
    for parameter in signature.parameters.values():
        if parameter.kind == inspect.Parameter.VAR_POSITIONAL:
            return True
        if parameter.kind in (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD):
            positional += 1
    return positional >= 3


def data_loss(loss_fn: Callable[..., Any], takes_key: bool, params: Any, batch: Any, key: Any) -> jax.Array:
    """``loss_fn(params, batch[, key])``."""
    return loss_fn(params, batch, key) if takes_key else loss_fn(params, batch)


def masked_data_loss(
    loss_fn: Callable[..., Any], takes_key: bool, params: Any, batch: Any, mask: jax.Array, key: Any
) -> jax.Array:
    """Mean of ``loss_fn`` over the single-example batches where ``mask`` is True.

    Each example gets its own key (split from ``key``) so that dropout masks
    are independent across examples, as they are in a full batch.
    """
    size = mask.shape[0]

    def one(example, example_key):
        single = jax.tree.map(lambda leaf: leaf[None], example)
        return data_loss(loss_fn, takes_key, params, single, example_key)

    keys = jax.random.split(key, size) if (takes_key and key is not None) else None
    per_example = jax.vmap(one, in_axes=(0, None if keys is None else 0))(batch, keys)
    return masked_mean(per_example, mask)


def check_scalar_output(name: str, value: Any) -> jax.Array:
    """A user function's result as an array, refused (at trace time, before any gradient) unless a scalar."""
    value = jnp.asarray(value)
    if value.shape != ():
        raise ValueError(f"{name} must return a scalar; got an array of shape {value.shape}.")
    return value


def penalty_term(
    penalty: Callable[[Any], Any] | None,
    penalty_weight: float | Callable[[Any], Any],
    params: Any,
    hyperparams: Any,
    dtype: Any,
) -> jax.Array:
    """``lambda * penalty(params)``, 0 without a penalty; ``lambda`` may be ``f(hyperparams)``."""
    if penalty is None:
        return jnp.zeros((), dtype)
    weight = penalty_weight(hyperparams) if callable(penalty_weight) else penalty_weight
    weight = check_scalar_output("penalty_weight", weight)
    return (weight * check_scalar_output("penalty", penalty(params))).astype(dtype)

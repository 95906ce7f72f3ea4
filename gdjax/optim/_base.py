"""The gradient-transformation protocol, ``chain`` and ``apply_updates``.

A *gradient transformation* is a pair of pure functions::

    init(params) -> state
    update(updates, state, params=None) -> (updates, state)

held in a :class:`GradientTransformation` NamedTuple. The shape is Optax's on
purpose (Optax's ``GradientTransformation`` is the same NamedTuple of two
functions), so a gdjax transform can sit inside ``optax.chain`` and an Optax
transform inside :func:`chain`, both ways.

States are NamedTuples (pytrees) of arrays; step counters are ``int32`` scalars
that saturate at ``2**31 - 1`` (:func:`safe_increment`) instead of wrapping to a
negative count.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple, Protocol

import jax
import jax.numpy as jnp

from gdjax.optim._recipe import hyperparameters

PyTree = Any
Params = Any  # a pytree of arrays
Updates = Any  # a pytree with the structure of Params
OptState = Any  # a pytree of arrays (NamedTuples, tuples, dicts)
Schedule = Callable[[jax.typing.ArrayLike], jax.typing.ArrayLike]
ScalarOrSchedule = float | jax.Array | Schedule

NO_PARAMS_MSG = "This transformation needs the current parameters: call update(updates, state, params)."


class TransformInitFn(Protocol):
    def __call__(self, params: Params) -> OptState: ...


class TransformUpdateFn(Protocol):
    def __call__(self, updates: Updates, state: OptState, params: Params | None = None) -> tuple[Updates, OptState]: ...


class GradientTransformation(NamedTuple):
    """A pair of pure functions ``(init, update)``.

    Attributes:
      init: ``init(params) -> state`` builds the initial state from an example
        of the parameters (only their structure, shapes and dtypes matter for
        the built-in transforms; some, e.g. weight decay, read values later).
      update: ``update(updates, state, params=None) -> (updates, state)`` maps
        a pytree of candidate updates (usually gradients) and the state to the
        transformed updates and the next state. ``params`` is needed only by
        transforms that read the parameters (weight decay).
    """

    init: TransformInitFn
    update: TransformUpdateFn


class EmptyState(NamedTuple):
    """The state of a stateless transformation."""


def init_empty_state(params: Params) -> EmptyState:
    del params
    return EmptyState()


@hyperparameters(elementwise=True)
def identity() -> GradientTransformation:
    """Leaves updates unchanged: ``u = g``."""

    def update_fn(updates, state, params=None):
        del params
        return updates, state

    return GradientTransformation(init_empty_state, update_fn)


@hyperparameters(elementwise=True)
def set_to_zero() -> GradientTransformation:
    """Maps every update to zero: ``u = 0`` (freezes parameters, e.g. in a partition)."""

    def update_fn(updates, state, params=None):
        del params
        return jax.tree.map(jnp.zeros_like, updates), state

    return GradientTransformation(init_empty_state, update_fn)


@hyperparameters(elementwise=True)
def chain(*transforms: GradientTransformation) -> GradientTransformation:
    """Applies transformations in order; the state is the tuple of their states.

    ``chain(a, b).update(g, (sa, sb), p)`` computes ``u, sa' = a.update(g, sa, p)``
    then ``u, sb' = b.update(u, sb, p)``. Any object with ``init`` and ``update``
    of the protocol works, Optax transformations included.
    """
    for i, t in enumerate(transforms):
        if not (callable(getattr(t, "init", None)) and callable(getattr(t, "update", None))):
            raise ValueError(f"chain argument {i} must be a gradient transformation with init and update; got {t!r}.")
    init_fns = tuple(t.init for t in transforms)
    update_fns = tuple(t.update for t in transforms)

    def init_fn(params):
        return tuple(fn(params) for fn in init_fns)

    def update_fn(updates, state, params=None):
        if len(state) != len(update_fns):
            raise ValueError(
                f"chain of {len(update_fns)} transformations got a state of length {len(state)}; "
                "was it built by this chain's init?"
            )
        new_state = []
        for fn, s in zip(update_fns, state):
            updates, s = fn(updates, s, params)
            new_state.append(s)
        return updates, tuple(new_state)

    return GradientTransformation(init_fn, update_fn)


def apply_updates(params: Params, updates: Updates) -> Params:
    """Returns ``params + updates`` leaf by leaf, keeping each parameter's dtype.

    ``None`` leaves in ``params`` (e.g. absent parameters) pass through.
    """
    return jax.tree.map(
        lambda p, u: None if p is None else jnp.asarray(p + u).astype(jnp.asarray(p).dtype),
        params,
        updates,
        is_leaf=lambda x: x is None,
    )


def safe_increment(count: jax.typing.ArrayLike) -> jax.Array:
    """``count + 1``, saturating at the largest value of the count's dtype."""
    count = jnp.asarray(count)
    if jnp.issubdtype(count.dtype, jnp.integer):
        top = jnp.iinfo(count.dtype).max
    elif jnp.issubdtype(count.dtype, jnp.floating):
        top = jnp.finfo(count.dtype).max
    else:
        raise ValueError(f"count must be an integer or float array; got dtype {count.dtype}.")
    top = jnp.asarray(top, count.dtype)
    return jnp.where(count < top, count + jnp.asarray(1, count.dtype), top)


def zero_count() -> jax.Array:
    """The initial value of every step counter: an ``int32`` zero."""
    return jnp.zeros([], jnp.int32)

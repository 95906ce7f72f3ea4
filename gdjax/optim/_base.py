"""The gradient-transformation protocol, ``chain`` and ``apply_updates``.

A *gradient transformation* is a pair of pure functions::

    init(params) -> state
    update(updates, state, params=None, **extra_args) -> (updates, state)

held in a :class:`GradientTransformation` NamedTuple. The shape is Optax's on
purpose (Optax's ``GradientTransformation`` is the same NamedTuple of two
functions), so a gdjax transform can sit inside ``optax.chain`` and an Optax
transform inside :func:`chain`, both ways.

Extra arguments (Optax's ``GradientTransformationExtraArgs`` convention):
every gdjax ``update`` accepts keyword arguments beyond ``params`` and ignores
those it does not use; a transformation that needs some (L-BFGS's ``value``,
``grad`` and ``value_fn``) declares them keyword-only. :func:`chain` and the
wrappers pass them on to every member, and to an Optax member only those its
``update`` accepts (all of them to one with ``**extra_args``, none to a plain
Optax ``GradientTransformation``), as Optax's own ``chain`` does. Inside
``optax.chain`` a gdjax transformation receives none (Optax passes extra
arguments only to instances of its own ``GradientTransformationExtraArgs``
class); put a transformation that needs them in a gdjax :func:`chain`.

States are NamedTuples (pytrees) of arrays; step counters are ``int32`` scalars
that saturate at ``2**31 - 1`` (:func:`safe_increment`) instead of wrapping to a
negative count.
"""

from __future__ import annotations

import functools
import inspect
import weakref
from collections.abc import Callable
from typing import Any, NamedTuple, Protocol

import jax
import jax.numpy as jnp

from gdjax._typing import Params, PyTree
from gdjax.optim._recipe import hyperparameters

Updates = Any  # a pytree with the structure of Params
OptState = Any  # a pytree of arrays (NamedTuples, tuples, dicts)
Schedule = Callable[[jax.typing.ArrayLike], jax.typing.ArrayLike]
ScalarOrSchedule = float | jax.Array | Schedule

NO_PARAMS_MSG = "This transformation needs the current parameters: call update(updates, state, params)."


class TransformInitFn(Protocol):
    def __call__(self, params: Params) -> OptState: ...


class TransformUpdateFn(Protocol):
    def __call__(
        self, updates: Updates, state: OptState, params: Params | None = None, **extra_args: Any
    ) -> tuple[Updates, OptState]: ...


class GradientTransformation(NamedTuple):
    """A pair of pure functions ``(init, update)``.

    Attributes:
      init: ``init(params) -> state`` builds the initial state from an example
        of the parameters (only their structure, shapes and dtypes matter for
        the built-in transforms; some, e.g. weight decay, read values later).
      update: ``update(updates, state, params=None, **extra_args) -> (updates, state)``
        maps a pytree of candidate updates (usually gradients) and the state to
        the transformed updates and the next state. ``params`` is needed only
        by transforms that read the parameters (weight decay); extra keyword
        arguments (e.g. ``value=loss``) are ignored by the transforms that do
        not use them (see the module docstring).
    """

    init: TransformInitFn
    update: TransformUpdateFn


#: Optax's name for a transformation whose ``update`` takes extra keyword
#: arguments: every gdjax transformation does, so the two are one class here.
GradientTransformationExtraArgs = GradientTransformation


_ACCEPTED: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _accepted_extra_args(update_fn: Callable[..., Any]) -> frozenset[str] | None:
    """The extra keyword arguments ``update_fn`` accepts: None for all (``**kwargs``)."""
    try:
        return _ACCEPTED[update_fn]
    except (KeyError, TypeError):
        pass
    try:
        parameters = list(inspect.signature(update_fn).parameters.values())
    except (TypeError, ValueError):  # a builtin or an odd callable: pass nothing
        accepted = frozenset()
    else:
        if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters):
            accepted = None
        else:
            named = [
                p.name
                for p in parameters
                if p.kind in (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
            ]
            accepted = frozenset(named[3:])  # after updates, state, params
    try:
        _ACCEPTED[update_fn] = accepted
    except TypeError:
        pass
    return accepted


def call_update(
    update_fn: Callable[..., Any], updates: Updates, state: OptState, params: Params | None, extra_args: dict
) -> tuple[Updates, OptState]:
    """``update_fn(updates, state, params, **extra_args)``, passing only the extra arguments it accepts.

    Every gdjax update accepts them all; a plain Optax ``GradientTransformation``
    gets none, an Optax ``GradientTransformationExtraArgs`` all (as in
    ``optax.chain``).
    """
    if not extra_args:
        return update_fn(updates, state, params)
    accepted = _accepted_extra_args(update_fn)
    if accepted is not None:
        extra_args = {k: v for k, v in extra_args.items() if k in accepted}
    return update_fn(updates, state, params, **extra_args)


def with_extra_args_support(tx: GradientTransformation) -> GradientTransformation:
    """``tx`` with an ``update`` that accepts (and forwards what it can of) extra keyword arguments."""
    if not (callable(getattr(tx, "init", None)) and callable(getattr(tx, "update", None))):
        raise ValueError(f"tx must be a gradient transformation with init and update; got {tx!r}.")

    def update_fn(updates, state, params=None, **extra_args):
        return call_update(tx.update, updates, state, params, extra_args)

    return GradientTransformation(tx.init, update_fn)


class EmptyState(NamedTuple):
    """The state of a stateless transformation."""


def init_empty_state(params: Params) -> EmptyState:
    del params
    return EmptyState()


@hyperparameters(elementwise=True)
def identity() -> GradientTransformation:
    """Leaves updates unchanged: ``u = g``."""

    def update_fn(updates, state, params=None, **extra_args):
        del params, extra_args
        return updates, state

    return GradientTransformation(init_empty_state, update_fn)


@hyperparameters(elementwise=True)
def set_to_zero() -> GradientTransformation:
    """Maps every update to zero: ``u = 0`` (freezes parameters, e.g. in a partition)."""

    def update_fn(updates, state, params=None, **extra_args):
        del params, extra_args
        return jax.tree.map(jnp.zeros_like, updates), state

    return GradientTransformation(init_empty_state, update_fn)


@hyperparameters(elementwise=True)
def chain(*transforms: GradientTransformation) -> GradientTransformation:
    """Applies transformations in order; the state is the tuple of their states.

    ``chain(a, b).update(g, (sa, sb), p)`` computes ``u, sa' = a.update(g, sa, p)``
    then ``u, sb' = b.update(u, sb, p)``. Any object with ``init`` and ``update``
    of the protocol works, Optax transformations included. Extra keyword
    arguments of ``update`` go to every member that accepts them.
    """
    for i, t in enumerate(transforms):
        if not (callable(getattr(t, "init", None)) and callable(getattr(t, "update", None))):
            raise ValueError(f"chain argument {i} must be a gradient transformation with init and update; got {t!r}.")
    init_fns = tuple(t.init for t in transforms)
    update_fns = tuple(t.update for t in transforms)

    def init_fn(params):
        return tuple(fn(params) for fn in init_fns)

    def update_fn(updates, state, params=None, **extra_args):
        if len(state) != len(update_fns):
            raise ValueError(
                f"chain of {len(update_fns)} transformations got a state of length {len(state)}; "
                "was it built by this chain's init?"
            )
        new_state = []
        for fn, s in zip(update_fns, state):
            updates, s = call_update(fn, updates, s, params, extra_args)
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


def all_finite(tree: PyTree) -> jax.Array:
    """A scalar bool: every element of every inexact leaf of ``tree`` is finite (True for no leaves)."""
    flags = [
        jnp.all(jnp.isfinite(leaf))
        for leaf in jax.tree.leaves(tree)
        if jnp.issubdtype(jnp.result_type(leaf), jnp.inexact)
    ]
    return functools.reduce(jnp.logical_and, flags, jnp.array(True))

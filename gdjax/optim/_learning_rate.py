"""Scaling by the learning rate, and reading the rate in force from a state.

:func:`scale_by_learning_rate` records the learning rate *in its state*: the
state is ``ScaleByLearningRateState(count, learning_rate)`` where ``count`` is
the number of updates applied so far (kept for a schedule, ``None`` for a
constant) and ``learning_rate`` is the rate the *next* update applies, i.e.
``schedule(count)`` for a schedule, or the constant. So the rate in force can be read from any optimizer state, without
the optimizer or its schedule, by :func:`current_learning_rate`; under
``vmap`` over learning rates it is read per member. The training engine
records it per epoch: read it from the state at the start of an epoch to get
the rate that epoch's first step uses.

The record is never an input of the update: the update applies the rate the
transformation was built with (the constant, or ``schedule(count)``). So an
optimizer rebuilt inside a jitted step with a new (traced) learning rate
applies that rate to an old state, with no recompilation, and the record
follows after the step.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp

from gdjax.optim import _hyper
from gdjax.optim._base import GradientTransformation, OptState, ScalarOrSchedule, identity, safe_increment, zero_count
from gdjax.optim._recipe import hyperparameters


class ScaleByLearningRateState(NamedTuple):
    """State of :func:`scale_by_learning_rate`.

    Attributes:
      count: int32 number of updates applied so far (saturating), for a
        schedule; ``None`` for a constant rate, which needs no count.
      learning_rate: the (positive) learning rate the next update applies.
    """

    count: jax.Array | None
    learning_rate: jax.Array


@hyperparameters(elementwise=True)
def scale_by_learning_rate(learning_rate: ScalarOrSchedule | None, *, flip_sign: bool = True) -> GradientTransformation:
    r"""Scales updates by the learning rate: :math:`u = -\eta_t\, g` (or :math:`+\eta_t g`).

    Args:
      learning_rate: a number or scalar array :math:`\eta` (finite, > 0 when
        concrete; may be traced), or a schedule ``count -> eta_t`` evaluated at
        the number of updates already applied (0 on the first update). ``None``
        means no scaling (the identity), as in Optax.
      flip_sign: multiply by :math:`-\eta_t` (gradient *descent*, the default)
        rather than :math:`+\eta_t`.

    The state carries the rate of the next update; see the module docstring and
    :func:`current_learning_rate`.
    """
    flip_sign = _hyper.check_bool("flip_sign", flip_sign)
    if learning_rate is None:
        return identity()
    _hyper.check_scalar_or_schedule("learning_rate", learning_rate, "positive")
    schedule = learning_rate if callable(learning_rate) else None

    def init_fn(params):
        del params
        count = zero_count() if schedule is not None else None
        rate = _hyper.scheduled("learning_rate", schedule, count) if schedule is not None else learning_rate
        return ScaleByLearningRateState(count, jnp.asarray(rate, _hyper.value_dtype(rate)))

    def update_fn(updates, state, params=None, **extra_args):
        del params, extra_args
        if schedule is None:
            rate, count, record = learning_rate, None, learning_rate
        else:
            rate = _hyper.scheduled("learning_rate", schedule, state.count)
            count = safe_increment(state.count)
            record = schedule(count)
        step = -rate if flip_sign else rate
        updates = jax.tree.map(lambda g: _hyper.cast_like(step, g) * g, updates)
        # Keep the record's dtype (a scan carry must not change type).
        record = jnp.asarray(record, state.learning_rate.dtype)
        return updates, ScaleByLearningRateState(count, record)

    return GradientTransformation(init_fn, update_fn)


def _rates(state: OptState) -> list[jax.Array]:
    """The effective learning rates held in ``state``: one per rate found, scaled by enclosing plateaus."""
    from gdjax.optim._plateau import ReduceOnPlateauState
    from gdjax.optim._switch import SwitchState

    special = (ScaleByLearningRateState, ReduceOnPlateauState, SwitchState)
    is_special = lambda x: isinstance(x, special)
    found = []
    for node in jax.tree.leaves(state, is_leaf=is_special):
        if isinstance(node, ScaleByLearningRateState):
            found.append(node.learning_rate)
        elif isinstance(node, ReduceOnPlateauState):
            found.extend(
                rate * node.scale.astype(jnp.result_type(rate, node.scale)) for rate in _rates(node.inner_state)
            )
        elif isinstance(node, SwitchState):
            per_branch = [_rates(branch) for branch in node.branch_states]
            if per_branch and all(len(r) == 1 for r in per_branch):
                rates = [r[0] for r in per_branch]
                dtype = jnp.result_type(*rates)
                found.append(jnp.choose(node.index, [jnp.asarray(r, dtype) for r in rates], mode="clip"))
            else:
                found.extend(r for rates in per_branch for r in rates)
    return found


def single_learning_rate(state: OptState) -> jax.Array | None:
    """The one effective learning rate in ``state``, or None if it holds none or several."""
    found = _rates(state)
    return found[0] if len(found) == 1 else None


def current_learning_rate(state: OptState) -> jax.Array:
    """The learning rate the next update will apply, read from an optimizer state.

    Works on the state of any optimizer built with :func:`scale_by_learning_rate`
    (all the aliases: ``sgd``, ``adam``, ...), however deeply nested (chains,
    masks, ``apply_if_finite``, ``optax.chain``). Under ``vmap`` it returns the
    batch of rates. For a schedule it equals ``schedule(k)`` after ``k`` updates.
    It is the *effective* rate: inside :func:`reduce_on_plateau` the inner rate
    times the plateau's scale; for :func:`switch`, the chosen branch's rate
    (every branch must hold one).

    Raises:
      ValueError: if the state holds no learning rate, or several (e.g. a
        :func:`partition` with one optimizer per group: read each group's
        state, ``current_learning_rate(state.inner_states[label])``).
    """
    found = _rates(state)
    if len(found) != 1:
        what = "no learning rate" if not found else f"{len(found)} learning rates"
        raise ValueError(
            f"state must hold exactly one learning rate (from scale_by_learning_rate); it holds {what}. "
            "For a partition, read each group's state: state.inner_states[label]."
        )
    return found[0]

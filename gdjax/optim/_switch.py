"""The optimizer as a hyperparameter: one of several transformations, chosen by a (traced) integer."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from gdjax import _checks
from gdjax.optim._base import GradientTransformation, call_update
from gdjax.optim._recipe import hyperparameters


class SwitchState(NamedTuple):
    """State of :func:`switch`.

    Attributes:
      index: int32, the branch in force.
      branch_states: the state of every branch, in order (only the chosen
        one moves).
    """

    index: jax.Array
    branch_states: tuple[Any, ...]


def _as_index(index: Any, n: int) -> jax.Array:
    return jnp.clip(jnp.round(jnp.asarray(index)).astype(jnp.int32), 0, n - 1)


@hyperparameters(elementwise=True)
def switch(transforms: Sequence[GradientTransformation], index: jax.typing.ArrayLike) -> GradientTransformation:
    """``transforms[index]``, with ``index`` a hyperparameter that may be traced (so the optimizer is a sweep axis).

    ``update`` runs ``jax.lax.switch(index, ...)``: the chosen branch's update
    and state move, every other branch's state stays as it was. So::

        opt = switch([adam(lr), sgd(lr, momentum=0.9), rmsprop(lr)], index)

    behaves as ``adam(lr)`` for ``index = 0`` and so on, and
    ``jax.vmap`` over ``index`` (and ``lr``) trains every optimizer in one
    program, e.g. ``gdjax.sweep(grid={"optimizer": [0, 1, 2], "lr": [...]},
    optimizer=lambda h: switch([adam(h["lr"]), sgd(h["lr"]), rmsprop(h["lr"])], h["optimizer"]))``.

    Cost: the state holds every branch's state, so its memory is the union
    (the sum) of the branches' states. Alone, one branch runs per step; under
    ``vmap`` over ``index`` XLA runs every branch and selects, so a step costs
    the sum of the branches. :func:`current_learning_rate` reads the chosen
    branch's rate (every branch must hold one).

    Args:
      transforms: the branches (gdjax or Optax transformations; their updates
        must have the same dtypes, and their states keep their types).
      index: which branch, an integer in ``[0, len(transforms))`` (a float
        array holding an integer is accepted, as sweeps pass numbers as
        floats; traced values are rounded and clipped into range).
    """
    transforms = tuple(transforms)
    if not transforms:
        raise ValueError("transforms must hold at least one transformation; got none.")
    for i, t in enumerate(transforms):
        if not (callable(getattr(t, "init", None)) and callable(getattr(t, "update", None))):
            raise ValueError(f"transforms[{i}] must be a gradient transformation with init and update; got {t!r}.")
    n = len(transforms)
    if not _checks.is_traced(index):
        shape = np.shape(index)
        if shape != () or isinstance(index, (bool, np.bool_)):
            raise ValueError(f"index must be a scalar integer; got {index!r}.")
        value = float(np.asarray(index))
        if not value.is_integer() or not 0 <= value < n:
            raise ValueError(f"index must be an integer in [0, {n}) (one of the {n} transforms); got {index!r}.")

    def init_fn(params):
        return SwitchState(_as_index(index, n), tuple(t.init(params) for t in transforms))

    def update_fn(updates, state, params=None, **extra_args):
        if len(state.branch_states) != n:
            raise ValueError(f"switch of {n} transformations got a state of {len(state.branch_states)} branches.")

        def branch(k):
            def run(updates, states, params):
                new_updates, new_state = call_update(transforms[k].update, updates, states[k], params, extra_args)
                states = tuple(new_state if j == k else s for j, s in enumerate(states))
                return new_updates, states

            return run

        chosen = _as_index(index, n)
        if n == 1:
            updates, states = branch(0)(updates, state.branch_states, params)
        else:
            updates, states = jax.lax.switch(
                chosen, [branch(k) for k in range(n)], updates, state.branch_states, params
            )
        return updates, SwitchState(chosen, states)

    return GradientTransformation(init_fn, update_fn)

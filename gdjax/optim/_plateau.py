r"""Reduce the learning rate on a plateau of an epoch-level value, inside the compiled program.

:func:`reduce_on_plateau` wraps any transformation and multiplies its updates
by a scale :math:`s` held in its state (:class:`ReduceOnPlateauState`). The
``update`` never changes the scale: it is changed once per epoch by the pure
function :func:`end_of_epoch`, which the training engine calls with the
epoch's values (``{"loss": ..., "val_loss": ..., "val_accuracy": ...}``)::

    opt = optim.reduce_on_plateau(optim.adam(1e-3), monitor="val_loss", factor=0.5, patience=5)
    state = opt.init(params)
    ...                                        # the epoch's updates: opt.update(grads, state, params)
    state = optim.end_of_epoch(state, {"val_loss": val_loss})
    optim.current_learning_rate(state)         # 1e-3 times the scale

Everything is ``jnp.where`` on arrays: it jits, and under ``vmap`` every run
keeps its own counters. Since :func:`end_of_epoch` sees only the state, the
state carries the plateau's settings too: the numeric ones as arrays (they may
be traced, e.g. swept), the monitor name and the modes as structure.

The semantics are PyTorch's ``ReduceLROnPlateau`` (``step(value)`` once per
epoch), with the rate read as the inner optimizer's rate times the scale.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from gdjax import _checks
from gdjax.optim import _hyper
from gdjax.optim._base import GradientTransformation, OptState, call_update
from gdjax.optim._recipe import hyperparameters


class PlateauOptions:
    """The structural settings of a plateau (a pytree node without leaves): monitor, mode, threshold mode."""

    __slots__ = ("mode", "monitor", "threshold_mode")

    def __init__(self, monitor: str, mode: str, threshold_mode: str):
        self.monitor = monitor
        self.mode = mode
        self.threshold_mode = threshold_mode

    def _key(self) -> tuple[str, str, str]:
        return (self.monitor, self.mode, self.threshold_mode)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, PlateauOptions) and self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        return f"PlateauOptions(monitor={self.monitor!r}, mode={self.mode!r}, threshold_mode={self.threshold_mode!r})"


jax.tree_util.register_pytree_node(PlateauOptions, lambda o: ((), o), lambda o, _: o)


class PlateauHyperparams(NamedTuple):
    """The numeric settings of a plateau, as scalar arrays (see :func:`reduce_on_plateau`)."""

    factor: jax.Array
    patience: jax.Array
    threshold: jax.Array
    cooldown: jax.Array
    min_lr: jax.Array
    eps: jax.Array


class ReduceOnPlateauState(NamedTuple):
    """State of :func:`reduce_on_plateau`.

    Attributes:
      scale: the factor applied to the inner updates (1 until a reduction).
      best: the best monitored value so far (``inf`` for ``"min"``, ``-inf``
        for ``"max"`` before the first epoch).
      num_bad_epochs: int32 epochs since the last improvement (PyTorch's
        ``num_bad_epochs``).
      cooldown_counter: int32 epochs of cooldown left.
      num_reductions: int32 reductions so far.
      hyperparams: the numeric settings (:class:`PlateauHyperparams`).
      options: the structural settings (:class:`PlateauOptions`, no leaves).
      inner_state: the wrapped transformation's state.
    """

    scale: jax.Array
    best: jax.Array
    num_bad_epochs: jax.Array
    cooldown_counter: jax.Array
    num_reductions: jax.Array
    hyperparams: PlateauHyperparams
    options: PlateauOptions
    inner_state: Any


def _check_count(name: str, value: Any) -> None:
    if _checks.is_traced(value):
        return
    if isinstance(value, (jax.Array, np.ndarray)) and np.ndim(value) == 0 and np.issubdtype(value.dtype, np.integer):
        value = int(value)
    _checks.check_int(name, value, minimum=0)


@hyperparameters(elementwise=True)
def reduce_on_plateau(
    inner: GradientTransformation,
    *,
    monitor: str = "val_loss",
    mode: str = "min",
    factor: jax.typing.ArrayLike = 0.1,
    patience: jax.typing.ArrayLike = 10,
    threshold: jax.typing.ArrayLike = 1e-4,
    threshold_mode: str = "rel",
    cooldown: jax.typing.ArrayLike = 0,
    min_lr: jax.typing.ArrayLike = 0.0,
    eps: jax.typing.ArrayLike = 1e-8,
) -> GradientTransformation:
    r"""Multiplies ``inner``'s updates by a scale that :func:`end_of_epoch` reduces on plateaus.

    ``update`` computes :math:`u = s \cdot \text{inner}(g)` and leaves the
    plateau counters alone. After each epoch, :func:`end_of_epoch` reads the
    monitored value :math:`a` and, as ``torch.optim.lr_scheduler.ReduceLROnPlateau.step(a)``:

    .. math::

        \text{better} = \begin{cases}
            a < b - \tau |b| & \text{min, rel} \qquad a < b - \tau \quad \text{min, abs} \\
            a > b + \tau |b| & \text{max, rel} \qquad a > b + \tau \quad \text{max, abs}
        \end{cases}

    (:math:`b` the best value so far, :math:`\tau` = ``threshold``); a better
    value becomes :math:`b` and resets the count of bad epochs, any other adds
    one; during a cooldown the counter of cooldown epochs falls by one and the
    bad epochs are forgotten; when the bad epochs exceed ``patience``, the
    effective rate :math:`r = \eta\, s` (:math:`\eta` the inner rate in force,
    :func:`current_learning_rate`) becomes :math:`\max(f r, r_{\min})` if that
    lowers it by more than ``eps``, and a cooldown of ``cooldown`` epochs starts.

    The relative margin is :math:`\tau |b|`: PyTorch writes it
    :math:`b (1 \mp \tau)`, the same for :math:`b \ge 0`, but for negative
    values (a log-likelihood, an ELBO) that puts the threshold on the wrong
    side of :math:`b`, so that every epoch counts as an improvement and the
    rate is never reduced (pytorch/pytorch#38622; Optax's ``reduce_on_plateau``
    has the same fault). With :math:`b \ge 0` throughout, the two agree step
    for step.

    The scale multiplies whatever the inner rate is, so the plateau composes
    with any schedule (the schedule's rate times the scale). When the inner
    state holds no single learning rate (an Optax optimizer, a partition),
    ``min_lr`` and ``eps`` apply to the scale itself.

    Args:
      inner: the transformation whose updates are scaled (any optimizer).
      monitor: the name of the epoch value to watch, a key of the mapping given
        to :func:`end_of_epoch` (the engine's: ``"loss"``, ``"val_loss"``, a
        metric ``"<name>"`` or ``"val_<name>"``). See :func:`epoch_monitors`.
      mode: ``"min"`` (a loss) or ``"max"`` (an accuracy).
      factor: :math:`f \in (0, 1)`.
      patience: bad epochs tolerated before a reduction (an integer >= 0).
      threshold: :math:`\tau \ge 0`.
      threshold_mode: ``"rel"`` or ``"abs"``.
      cooldown: epochs without reductions after one (an integer >= 0).
      min_lr: :math:`r_{\min} \ge 0`, the floor of the effective rate.
      eps: :math:`\ge 0`, the smallest change of the rate worth making.

    The numeric settings may be traced (swept); they live in the state, where
    :func:`end_of_epoch` finds them.
    """
    if not (callable(getattr(inner, "init", None)) and callable(getattr(inner, "update", None))):
        raise ValueError(f"inner must be a gradient transformation with init and update; got {inner!r}.")
    if not isinstance(monitor, str) or not monitor:
        raise ValueError(f"monitor must be the name of an epoch value (a non-empty string); got {monitor!r}.")
    _checks.check_choice("mode", mode, ("min", "max"))
    _checks.check_choice("threshold_mode", threshold_mode, ("rel", "abs"))
    _checks.check_range(
        "factor", _hyper.check_scalar("factor", factor), low=0.0, high=1.0, low_inclusive=False, high_inclusive=False
    )
    _check_count("patience", patience)
    _hyper.check_scalar("threshold", threshold, "nonnegative")
    _check_count("cooldown", cooldown)
    _hyper.check_scalar("min_lr", min_lr, "nonnegative")
    _hyper.check_scalar("eps", eps, "nonnegative")
    options = PlateauOptions(monitor, mode, threshold_mode)

    def init_fn(params):
        dtype = _hyper.value_dtype(factor)
        as_float = lambda v: jnp.asarray(v, dtype)
        as_int = lambda v: jnp.asarray(v).astype(jnp.int32)
        hyper = PlateauHyperparams(
            as_float(factor), as_int(patience), as_float(threshold), as_int(cooldown), as_float(min_lr), as_float(eps)
        )
        worst = jnp.inf if mode == "min" else -jnp.inf
        zero = jnp.zeros([], jnp.int32)
        return ReduceOnPlateauState(
            as_float(1.0), as_float(worst), zero, zero, zero, hyper, options, inner.init(params)
        )

    def update_fn(updates, state, params=None, **extra_args):
        updates, inner_state = call_update(inner.update, updates, state.inner_state, params, extra_args)
        updates = jax.tree.map(lambda u: u * _hyper.cast_like(state.scale, u), updates)
        return updates, state._replace(inner_state=inner_state)

    return GradientTransformation(init_fn, update_fn)


def _is_plateau(node: Any) -> bool:
    return isinstance(node, ReduceOnPlateauState)


def _plateau_step(state: ReduceOnPlateauState, values: Mapping[str, Any]) -> ReduceOnPlateauState:
    from gdjax.optim._learning_rate import single_learning_rate

    options, hyper = state.options, state.hyperparams
    inner_state = end_of_epoch(state.inner_state, values)
    if options.monitor not in values:
        raise ValueError(
            f"reduce_on_plateau monitors {options.monitor!r}, which the epoch values do not hold "
            f"(they hold {sorted(values)}); pass it to end_of_epoch or monitor another value."
        )
    value = jnp.asarray(values[options.monitor])
    if value.shape != ():
        raise ValueError(
            f"the epoch value {options.monitor!r} must be a scalar (one per run); got an array of shape {value.shape}."
        )
    best = state.best
    value = value.astype(best.dtype)
    finite = jnp.isfinite(best)
    if options.threshold_mode == "rel":
        margin = jnp.where(finite, hyper.threshold * jnp.abs(jnp.where(finite, best, 0)), 0)
    else:
        margin = hyper.threshold
    better = value < best - margin if options.mode == "min" else value > best + margin
    best = jnp.where(better, value, best)
    bad = jnp.where(better, 0, state.num_bad_epochs + 1)
    in_cooldown = state.cooldown_counter > 0
    cooldown_counter = jnp.where(in_cooldown, state.cooldown_counter - 1, state.cooldown_counter)
    bad = jnp.where(in_cooldown, 0, bad)
    reduce = bad > hyper.patience
    inner_rate = single_learning_rate(inner_state)
    rate = state.scale if inner_rate is None else jnp.asarray(inner_rate, state.scale.dtype) * state.scale
    new_rate = jnp.maximum(rate * hyper.factor, hyper.min_lr)
    changed = reduce & (rate - new_rate > hyper.eps)
    new_scale = new_rate if inner_rate is None else new_rate / jnp.asarray(inner_rate, state.scale.dtype)
    # A reduction to exactly factor * scale keeps the scale a product of factors (no rounding through the rate).
    new_scale = jnp.where(new_rate == rate * hyper.factor, state.scale * hyper.factor, new_scale)
    return state._replace(
        scale=jnp.where(changed, new_scale, state.scale).astype(state.scale.dtype),
        best=best,
        num_bad_epochs=jnp.where(reduce, 0, bad).astype(jnp.int32),
        cooldown_counter=jnp.where(reduce, hyper.cooldown, cooldown_counter).astype(jnp.int32),
        num_reductions=(state.num_reductions + changed.astype(jnp.int32)).astype(jnp.int32),
        inner_state=inner_state,
    )


def end_of_epoch(state: OptState, values: Mapping[str, Any]) -> OptState:
    """Updates every :class:`ReduceOnPlateauState` in ``state`` from the epoch's ``values``; a pure function.

    Args:
      state: any optimizer state (the plateau states may be nested anywhere:
        in chains, masks, partitions, switches, other wrappers, Optax's).
      values: ``{name: scalar}``, the epoch's values (e.g. ``{"loss": ...,
        "val_loss": ..., "accuracy": ..., "val_accuracy": ...}``); each plateau
        reads ``values[monitor]``. Under ``vmap`` each run passes its own.

    Returns:
      The state with every plateau stepped once (PyTorch's ``scheduler.step(value)``);
      a state without plateaus is returned as it is.

    Raises:
      ValueError: if a plateau's monitor is not in ``values`` (check the names
        beforehand with :func:`epoch_monitors`), or its value is not a scalar.
    """
    if not isinstance(values, Mapping):
        raise ValueError(f"values must be a mapping from names to scalars; got {type(values).__name__}.")
    return jax.tree.map(
        lambda node: _plateau_step(node, values) if _is_plateau(node) else node, state, is_leaf=_is_plateau
    )


def epoch_monitors(state: OptState) -> set[str]:
    """The names of the epoch values the plateaus in ``state`` monitor (empty without plateaus)."""
    names: set[str] = set()
    for node in jax.tree.leaves(state, is_leaf=_is_plateau):
        if _is_plateau(node):
            names.add(node.options.monitor)
            names |= epoch_monitors(node.inner_state)
    return names

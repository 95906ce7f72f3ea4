"""Early stopping on a monitored quantity, as a pure state update.

After every epoch the monitored value ``v`` (validation loss by default) is
compared with the best so far: with ``mode="min"`` it improves when
``v < best - min_delta`` (``v > best + min_delta`` with ``mode="max"``). The
mode follows from the monitor's name unless given (see :func:`infer_mode`):
losses are minimised, scores such as accuracy maximised, and a name that says
neither needs an explicit mode. An
improving epoch becomes the best one (its parameters are kept when
``restore_best``) and resets the count of epochs without improvement; training
stops once that count reaches ``patience``, i.e. ``patience`` epochs after the
best one. NaN never improves. This is Keras' ``EarlyStopping`` rule (Prechelt,
"Early Stopping - But When?", 1998); unlike Keras, with ``restore_best`` the
parameters of the best epoch are returned whenever training ends (stopped
early, ran all its epochs, or diverged), so the result is always the best
model seen.
"""

from __future__ import annotations

from typing import Any, Literal, NamedTuple

import jax
import jax.numpy as jnp

from gdjax._checks import check_int, check_nonnegative
from gdjax.train._tree import select

Mode = Literal["min", "max"]

MAXIMISED = frozenset(
    {
        "accuracy",
        "acc",
        "binary_accuracy",
        "categorical_accuracy",
        "precision",
        "recall",
        "f1",
        "f1_score",
        "f1score",
        "fscore",
        "r2",
        "r2_score",
        "r_squared",
        "rsquared",
        "auc",
        "roc_auc",
        "auroc",
    }
)
"""Monitor names (after a leading ``val_``, case-insensitive) that are maximised."""


def infer_mode(monitor: str) -> Mode:
    """Whether ``monitor`` is minimised or maximised, from its name.

    A leading ``val_`` is stripped and the rest compared case-insensitively:
    ``loss`` and any name ending in ``loss`` give ``"min"``; the scores in
    :data:`MAXIMISED` (``accuracy``/``acc``, ``precision``, ``recall``,
    ``f1``/``f1_score``, ``r2``/``r2_score``/``r_squared``, ``auc``, ...) give
    ``"max"``.

    Raises:
      ValueError: naming the monitor, for any other name (say ``mode="min"``
        or ``mode="max"`` explicitly).
    """
    if not isinstance(monitor, str):
        raise ValueError(f"early_stopping.monitor must be a string; got {monitor!r}.")
    name = monitor.lower().removeprefix("val_")
    if name.endswith("loss"):
        return "min"
    if name in MAXIMISED:
        return "max"
    raise ValueError(
        f"early_stopping.monitor={monitor!r} does not say whether smaller or larger is better "
        "(only losses and the usual scores such as accuracy, f1 or r2 are inferred); "
        "pass mode='min' or mode='max'."
    )


def _mode(config: EarlyStopping) -> Mode:
    """The mode of ``config``: the explicit one, or the one inferred from its monitor."""
    if config.mode is None:
        return infer_mode(config.monitor)
    if config.mode not in ("min", "max"):
        raise ValueError(f"early_stopping.mode must be one of None, 'min', 'max'; got {config.mode!r}.")
    return config.mode


class EarlyStopping(NamedTuple):
    """Configuration of early stopping (static: part of the compiled program).

    Attributes:
      patience: epochs without improvement before stopping (``>= 0``).
      min_delta: smallest change that counts as an improvement (``>= 0``).
      monitor: ``"val_loss"`` (default), ``"loss"`` (training loss), a metric
        name, or ``"val_" + metric name``.
      mode: ``"min"`` (smaller is better), ``"max"`` (larger is better), or
        None (default): inferred from ``monitor`` by :func:`infer_mode`, so
        ``"val_loss"`` is minimised and ``"val_accuracy"`` maximised; a monitor
        whose name says neither (``"val_closeness"``) must be given a mode, else
        :meth:`validated` raises a ``ValueError`` naming it.
      restore_best: return the parameters of the best epoch when training ends.
    """

    patience: int = 10
    min_delta: float = 0.0
    monitor: str = "val_loss"
    mode: Mode | None = None
    restore_best: bool = True

    def validated(self) -> EarlyStopping:
        """This configuration checked, with its mode filled in (never None).

        Checks every field, raising ``ValueError`` naming the bad one, and
        returns a copy whose ``mode`` is the explicit one or the one
        :func:`infer_mode` gives for ``monitor``.
        """
        check_int("early_stopping.patience", self.patience, minimum=0)
        check_nonnegative("early_stopping.min_delta", self.min_delta)
        if not isinstance(self.monitor, str):
            raise ValueError(f"early_stopping.monitor must be a string; got {self.monitor!r}.")
        if not isinstance(self.restore_best, bool):
            raise ValueError(f"early_stopping.restore_best must be a bool; got {self.restore_best!r}.")
        return self._replace(mode=_mode(self))


class EarlyStoppingState(NamedTuple):
    """Progress of early stopping inside the training state.

    Attributes:
      best_value: best monitored value so far (``+inf``/``-inf`` before any).
      best_epoch: 0-based epoch of the best value, ``-1`` before any.
      wait: epochs since the best one.
      best_params: parameters at the end of the best epoch (None unless
        ``restore_best``).
    """

    best_value: jax.Array
    best_epoch: jax.Array
    wait: jax.Array
    best_params: Any


def init_early_stopping(config: EarlyStopping, params: Any, dtype: Any) -> EarlyStoppingState:
    """The state before the first epoch; a None ``config.mode`` is inferred (see :func:`infer_mode`)."""
    worst = jnp.inf if _mode(config) == "min" else -jnp.inf
    return EarlyStoppingState(
        best_value=jnp.asarray(worst, dtype),
        best_epoch=jnp.asarray(-1, jnp.int32),
        wait=jnp.asarray(0, jnp.int32),
        best_params=params if config.restore_best else None,
    )


def update_early_stopping(
    config: EarlyStopping,
    state: EarlyStoppingState,
    value: jax.Array,
    epoch: jax.Array,
    params: Any,
) -> tuple[EarlyStoppingState, jax.Array]:
    """The state after an epoch that ended with ``value`` and ``params``, and whether to stop.

    A None ``config.mode`` is inferred from the monitor, as in :meth:`EarlyStopping.validated`.
    """
    value = jnp.asarray(value, state.best_value.dtype)
    if _mode(config) == "min":
        improved = value < state.best_value - config.min_delta
    else:
        improved = value > state.best_value + config.min_delta
    wait = jnp.where(improved, 0, state.wait + 1).astype(jnp.int32)
    new = EarlyStoppingState(
        best_value=jnp.where(improved, value, state.best_value),
        best_epoch=jnp.where(improved, epoch, state.best_epoch).astype(jnp.int32),
        wait=wait,
        best_params=None if state.best_params is None else select(improved, params, state.best_params),
    )
    return new, wait >= config.patience

"""Early stopping on a monitored quantity, as a pure state update.

After every epoch the monitored value ``v`` (validation loss by default) is
compared with the best so far: with ``mode="min"`` it improves when
``v < best - min_delta`` (``v > best + min_delta`` with ``mode="max"``). An
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

from gdjax._checks import check_choice, check_int, check_nonnegative
from gdjax.train._tree import select


class EarlyStopping(NamedTuple):
    """Configuration of early stopping (static: part of the compiled program).

    Attributes:
      patience: epochs without improvement before stopping (``>= 0``).
      min_delta: smallest change that counts as an improvement (``>= 0``).
      monitor: ``"val_loss"`` (default), ``"loss"`` (training loss), a metric
        name, or ``"val_" + metric name``.
      mode: ``"min"`` for losses, ``"max"`` for scores such as accuracy.
      restore_best: return the parameters of the best epoch when training ends.
    """

    patience: int = 10
    min_delta: float = 0.0
    monitor: str = "val_loss"
    mode: Literal["min", "max"] = "min"
    restore_best: bool = True

    def validated(self) -> EarlyStopping:
        """Checks every field, raising ``ValueError`` naming the bad one."""
        check_int("early_stopping.patience", self.patience, minimum=0)
        check_nonnegative("early_stopping.min_delta", self.min_delta)
        check_choice("early_stopping.mode", self.mode, ("min", "max"))
        if not isinstance(self.monitor, str):
            raise ValueError(f"early_stopping.monitor must be a string; got {self.monitor!r}.")
        if not isinstance(self.restore_best, bool):
            raise ValueError(f"early_stopping.restore_best must be a bool; got {self.restore_best!r}.")
        return self


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
    worst = jnp.inf if config.mode == "min" else -jnp.inf
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
    """The state after an epoch that ended with ``value`` and ``params``, and whether to stop."""
    value = jnp.asarray(value, state.best_value.dtype)
    if config.mode == "min":
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

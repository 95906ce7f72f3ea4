"""The per-epoch record of a training: losses, metrics, learning rate, step losses.

Three types share the same fields, one for each role:

- :class:`History`, what a user receives: NumPy arrays, one entry per epoch
  run (Keras' ``History.history``);
- :class:`HistoryBuffer`, the record inside the compiled program: device
  arrays with room for every epoch of the configuration, NaN where an epoch
  has not run;
- :class:`EpochRecord`, one epoch's values, written into the buffer at the end
  of the epoch.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np


class History(NamedTuple):
    """What a training recorded, one entry per epoch run (NumPy arrays).

    Attributes:
      train_loss: ``[epochs]`` mean of the mini-batch objectives (loss plus
        penalty) seen during each epoch, weighted by the number of real
        examples in each batch: the running loss Keras reports as ``loss``.
      val_loss: ``[epochs]`` objective on the whole validation set with the
        parameters at the end of each epoch, or None without validation data.
      metrics: ``{name: [epochs]}`` each metric on the whole training set at
        the end of each epoch.
      val_metrics: ``{name: [epochs]}`` the same on the validation set (empty
        without validation data).
      learning_rate: ``[epochs]`` learning rate in force at the start of each
        epoch (that of its first step), or None when it is not known.
      step_loss: ``[epochs * steps_per_epoch]`` the objective of every
        mini-batch step (iteration), or None unless asked for. Steps not run
        (after a divergence) hold NaN.

    For a batch of trainings (:func:`gdjax.restarts.restarts`) every array has
    the batch's leading axes and room for every epoch of the configuration
    (NaN past the epochs a run ran).
    """

    train_loss: Any
    val_loss: Any
    metrics: dict[str, Any]
    val_metrics: dict[str, Any]
    learning_rate: Any
    step_loss: Any

    @property
    def num_epochs(self) -> int:
        """Length of the epoch axis."""
        return int(np.shape(self.train_loss)[-1])

    def as_dict(self) -> dict[str, np.ndarray]:
        """Flat Keras-style names: ``loss``, ``val_loss``, ``accuracy``, ``val_accuracy``, ``learning_rate``.

        Entries that were not recorded are left out; ``step_loss`` is not
        per-epoch and is left out too.
        """
        out: dict[str, np.ndarray] = {"loss": np.asarray(self.train_loss)}
        if self.val_loss is not None:
            out["val_loss"] = np.asarray(self.val_loss)
        for name, values in self.metrics.items():
            out[name] = np.asarray(values)
        for name, values in self.val_metrics.items():
            out[f"val_{name}"] = np.asarray(values)
        if self.learning_rate is not None:
            out["learning_rate"] = np.asarray(self.learning_rate)
        return out


class EpochRecord(NamedTuple):
    """One epoch's values (scalars; ``step_loss`` the epoch's ``[steps_per_epoch]`` block or None)."""

    train_loss: Any
    val_loss: Any
    metrics: dict[str, Any]
    val_metrics: dict[str, Any]
    learning_rate: Any
    step_loss: Any


class HistoryBuffer(NamedTuple):
    """The record inside the compiled program: room for every epoch (and step), NaN where not run."""

    train_loss: Any
    val_loss: Any
    metrics: dict[str, Any]
    val_metrics: dict[str, Any]
    learning_rate: Any
    step_loss: Any

    @classmethod
    def empty(
        cls,
        num_epochs: int,
        steps_per_epoch: int,
        *,
        loss_dtype: Any,
        has_validation: bool,
        metric_dtypes: dict[str, Any],
        lr_dtype: Any | None,
        record_step_loss: bool,
    ) -> HistoryBuffer:
        """A buffer of NaNs with room for every epoch (and step), to fill in place."""
        nans = lambda size, dtype: jnp.full((size,), jnp.nan, dtype=dtype)
        return cls(
            train_loss=nans(num_epochs, loss_dtype),
            val_loss=nans(num_epochs, loss_dtype) if has_validation else None,
            metrics={name: nans(num_epochs, dtype) for name, dtype in metric_dtypes.items()},
            val_metrics=(
                {name: nans(num_epochs, dtype) for name, dtype in metric_dtypes.items()} if has_validation else {}
            ),
            learning_rate=None if lr_dtype is None else nans(num_epochs, lr_dtype),
            step_loss=nans(num_epochs * steps_per_epoch, loss_dtype) if record_step_loss else None,
        )

    def record(self, epoch: jax.Array, values: EpochRecord) -> HistoryBuffer:
        """The buffer with row ``epoch`` of each per-epoch field set from ``values``."""
        put = lambda buf, v: None if buf is None else buf.at[epoch].set(jnp.asarray(v, buf.dtype))
        step_loss = self.step_loss
        if step_loss is not None:
            block = jnp.asarray(values.step_loss, step_loss.dtype)
            step_loss = jax.lax.dynamic_update_slice(step_loss, block, (epoch * block.shape[0],))
        return HistoryBuffer(
            train_loss=put(self.train_loss, values.train_loss),
            val_loss=put(self.val_loss, values.val_loss),
            metrics={k: put(v, values.metrics[k]) for k, v in self.metrics.items()},
            val_metrics={k: put(v, values.val_metrics[k]) for k, v in self.val_metrics.items()},
            learning_rate=put(self.learning_rate, values.learning_rate),
            step_loss=step_loss,
        )

    def to_history(self, epochs: int | None = None, steps: int | None = None) -> History:
        """As NumPy arrays: the first ``epochs`` entries (and ``steps`` step losses), or all of them."""
        cut = lambda a: None if a is None else np.asarray(a)[..., :epochs]
        step_loss = None if self.step_loss is None else np.asarray(self.step_loss)[..., :steps]
        return History(
            train_loss=cut(self.train_loss),
            val_loss=cut(self.val_loss),
            metrics={k: cut(v) for k, v in self.metrics.items()},
            val_metrics={k: cut(v) for k, v in self.val_metrics.items()},
            learning_rate=cut(self.learning_rate),
            step_loss=step_loss,
        )

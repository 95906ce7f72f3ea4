"""The result of a restart study or sweep: every run's final numbers, stacked, and their statistics."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

import jax
import numpy as np

from gdjax.restarts._stats import SuccessRate, ValueSummary, best_of_k, success_rate, summarize_values
from gdjax.train import History


class RestartsResult(NamedTuple):
    """Every training of a restart study or sweep, stacked (NumPy arrays).

    The leading axes are ``batch_shape``: ``(N,)`` for :func:`restarts`,
    ``(*grid_shape, N)`` for :func:`sweep`.

    Attributes:
      params: final parameters of every run (the best epoch's with early stopping).
      final_loss: the loss on the whole training set at the final parameters
        (no penalty; NaN for a run that diverged).
      final_val_loss: the same on the validation set (None without one).
      final_metrics: ``{name: value}`` on the training set at the final parameters.
      final_val_metrics: the same on the validation set (empty without one).
      history: per-epoch records, each array of shape ``batch_shape + (epochs,)``.
      epochs: epochs run by each training.
      diverged: a non-finite loss or update stopped this run (its values are
        reported, not used in the statistics of the others).
      diverged_step: step of the divergence, -1 if none.
      stopped_early: early stopping ended the run.
      grid: ``{name: values along its axis}`` for a sweep, else empty.
    """

    params: Any
    final_loss: np.ndarray
    final_val_loss: np.ndarray | None
    final_metrics: dict[str, np.ndarray]
    final_val_metrics: dict[str, np.ndarray]
    history: History
    epochs: np.ndarray
    diverged: np.ndarray
    diverged_step: np.ndarray
    stopped_early: np.ndarray
    grid: dict[str, np.ndarray]

    @property
    def batch_shape(self) -> tuple[int, ...]:
        return self.final_loss.shape

    @property
    def num_restarts(self) -> int:
        return self.final_loss.shape[-1]

    def _score(self) -> np.ndarray:
        score = self.final_loss if self.final_val_loss is None else self.final_val_loss
        return np.where(self.diverged | ~np.isfinite(score), np.inf, score)

    @property
    def best_index(self) -> tuple[int, ...]:
        """Index (into ``batch_shape``) of the run with the lowest validation loss (else training loss)."""
        return tuple(int(i) for i in np.unravel_index(np.argmin(self._score()), self.batch_shape))

    def params_at(self, index: int | tuple[int, ...]) -> Any:
        """The final parameters of one run."""
        return jax.tree.map(lambda leaf: leaf[index], self.params)

    @property
    def best_params(self) -> Any:
        return self.params_at(self.best_index)

    def loss_summary(self, *, validation: bool = False) -> ValueSummary:
        """Distribution of final (validation) losses over the runs that did not diverge."""
        values = self.final_val_loss if validation else self.final_loss
        if values is None:
            raise ValueError("validation=True needs validation data; these runs had none.")
        return summarize_values(values, self.diverged)

    def success(self, threshold: float, *, validation: bool = False) -> SuccessRate:
        """Share of runs whose final (validation) loss is ``<= threshold``, with its interval."""
        values = self.final_val_loss if validation else self.final_loss
        if values is None:
            raise ValueError("validation=True needs validation data; these runs had none.")
        return success_rate(np.where(self.diverged, False, values <= threshold))


def best_of_k_table(successes: Any, ks: Sequence[int] | None = None) -> dict[str, list[float]]:
    """:func:`best_of_k` at k = 1, 2, 4, ... up to the number of runs (or the given ``ks``)."""
    n = int(np.size(successes))
    if ks is None:
        ks = [k for k in (2**i for i in range(32)) if k <= n]
    return best_of_k(successes, ks)

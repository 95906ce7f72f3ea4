"""Hand-built RestartsResult objects for the statistics tests (no training runs)."""

import numpy as np

from gdjax.restarts import RestartsResult
from gdjax.train import History


def fake_result(
    final_loss,
    *,
    grid=None,
    val_loss=None,
    metrics=None,
    val_metrics=None,
    diverged=None,
    diverged_step=None,
    epochs=None,
    stopped_early=None,
):
    """A RestartsResult of ``batch_shape == np.shape(final_loss)`` with the given final numbers."""
    final_loss = np.asarray(final_loss, np.float64)
    shape = final_loss.shape
    diverged = np.zeros(shape, bool) if diverged is None else np.asarray(diverged, bool)
    if diverged_step is None:
        diverged_step = np.where(diverged, 0, -1)
    history = History(
        train_loss=np.zeros(shape + (3,)),
        val_loss=None if val_loss is None else np.zeros(shape + (3,)),
        metrics={},
        val_metrics={},
        learning_rate=None,
        step_loss=None,
    )
    return RestartsResult(
        params={"w": np.zeros(shape + (2,))},
        final_loss=final_loss,
        final_val_loss=None if val_loss is None else np.asarray(val_loss, np.float64),
        final_metrics={k: np.asarray(v, np.float64) for k, v in (metrics or {}).items()},
        final_val_metrics={k: np.asarray(v, np.float64) for k, v in (val_metrics or {}).items()},
        history=history,
        epochs=np.full(shape, 3) if epochs is None else np.asarray(epochs),
        diverged=diverged,
        diverged_step=np.asarray(diverged_step),
        stopped_early=np.zeros(shape, bool) if stopped_early is None else np.asarray(stopped_early, bool),
        grid={} if grid is None else {k: np.asarray(v) for k, v in grid.items()},
    )

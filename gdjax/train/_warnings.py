"""Warnings of a training that ran but did not go well (filter them by class)."""

from __future__ import annotations

import warnings
from typing import Any


class TrainingWarning(UserWarning):
    """Base class of gdjax's training warnings: ``warnings.simplefilter("ignore", TrainingWarning)``."""


class DivergenceWarning(TrainingWarning):
    """A training diverged: a step gave a non-finite loss or update, and was not applied."""


class StalledWarning(TrainingWarning):
    """Every gradient of an epoch was exactly zero: the loss was flat where the parameters were."""


def warn_diverged(
    step: int, epoch: int | None, *, runs: str = "the training", steps: Any = None, stacklevel: int = 2
) -> None:
    """Warns that ``runs`` diverged at ``step`` (of ``epoch``; or, for several runs, at ``steps``)."""
    where = f"step {step}" if epoch is None or epoch < 0 else f"step {step} (epoch {epoch})"
    if steps is not None and len(steps) > 1:
        shown = ", ".join(str(int(s)) for s in steps[:8]) + (", ..." if len(steps) > 8 else "")
        where = f"steps {shown}"
    warnings.warn(
        DivergenceWarning(
            f"{runs} diverged at {where}: a non-finite loss or update; the parameters are those before that "
            "step. Lower the learning rate, or clip the gradients."
        ),
        stacklevel=stacklevel + 1,
    )


def warn_stalled(epoch: int, *, runs: str = "the training", stacklevel: int = 2) -> None:
    """Warns that every gradient of ``runs`` was exactly zero from ``epoch`` on."""
    warnings.warn(
        StalledWarning(
            f"{runs} stalled in epoch {epoch}: every gradient was exactly zero, so the parameters could only "
            "drift on momentum. Saturated units, or probabilities clipped by binary_cross_entropy (use "
            "sigmoid_binary_cross_entropy on logits), flatten the loss like this; often after too large a step."
        ),
        stacklevel=stacklevel + 1,
    )

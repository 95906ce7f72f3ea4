"""Training engine: whole trainings and minimisations as single compiled programs.

- :func:`fit` trains any pure loss over any parameter pytree with any
  gradient transformation (gdjax's or Optax's): batch, stochastic or
  mini-batch gradient descent, reshuffled every epoch, with validation,
  metrics, penalties, early stopping, divergence detection, progress bars and
  bit-identical checkpoint/resume, every epoch running inside one XLA program.
- :func:`make_trainer` is the pure core behind it: ``init``/``run``/``train``
  functions with no side effects, to ``jit``, ``vmap`` over keys or
  hyperparameters, and shard.
- :func:`minimize` runs an optimizer on a plain function of a few variables
  and returns its whole trajectory and why it stopped.
- :func:`save_checkpoint` and
  :func:`load_checkpoint` store pytrees without pickle.
"""

from gdjax.train._checkpoint import load_checkpoint, read_checkpoint_metadata, save_checkpoint
from gdjax.train._early_stopping import EarlyStopping, EarlyStoppingState
from gdjax.train._fit import FitResult, enable_compilation_cache, fit
from gdjax.train._history import History, HistoryBuffer
from gdjax.train._loop import TrainState, learning_rate_from_state
from gdjax.train._lr_range import LRRangeResult, lr_range_test
from gdjax.train._minimize import (
    CONVERGED,
    DIVERGED,
    MAX_STEPS,
    STATUS_NAMES,
    Minimizer,
    MinimizeResult,
    as_starting_point,
    check_tolerances,
    make_minimizer,
    minimize,
)
from gdjax.train._model_loss import ModelLoss, model_loss
from gdjax.train._trainer import Trainer, make_trainer
from gdjax.train._transformations import is_transformation
from gdjax.train._warnings import DivergenceWarning, StalledWarning, TrainingWarning, warn_diverged, warn_stalled

__all__ = [
    "CONVERGED",
    "DIVERGED",
    "MAX_STEPS",
    "STATUS_NAMES",
    "DivergenceWarning",
    "EarlyStopping",
    "EarlyStoppingState",
    "FitResult",
    "History",
    "HistoryBuffer",
    "LRRangeResult",
    "MinimizeResult",
    "Minimizer",
    "ModelLoss",
    "StalledWarning",
    "TrainState",
    "Trainer",
    "TrainingWarning",
    "as_starting_point",
    "check_tolerances",
    "enable_compilation_cache",
    "fit",
    "is_transformation",
    "learning_rate_from_state",
    "load_checkpoint",
    "lr_range_test",
    "make_minimizer",
    "make_trainer",
    "minimize",
    "model_loss",
    "read_checkpoint_metadata",
    "save_checkpoint",
    "warn_diverged",
    "warn_stalled",
]

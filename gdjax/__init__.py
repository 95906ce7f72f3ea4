"""gdjax: a JAX functional optimisation toolkit.

Models and losses are pure functions over parameter pytrees; ``gdjax.optim`` is
our own library of gradient transformations; ``gdjax.fit`` runs a whole
training as one compiled program; ``gdjax.restarts`` runs thousands of them at
once, sharded over every device.

One concept a module: ``gdjax.models``, ``gdjax.activations``,
``gdjax.losses``, ``gdjax.metrics``, ``gdjax.data``, ``gdjax.optim``,
``gdjax.train``, ``gdjax.restarts``, ``gdjax.studies``.
"""

from gdjax import activations, data, diagnostics, functions, losses, metrics, models, optim, restarts, train
from gdjax.gradcheck import gradient_error
from gdjax.models import Model, count_params
from gdjax.restarts import minimize_restarts, sweep
from gdjax.train import EarlyStopping, fit, make_trainer, minimize, model_loss

__version__ = "0.1.0"


def __getattr__(name: str):
    # gdjax.plot imports matplotlib: loaded on first use, so ``import gdjax`` stays light.
    if name == "plot":
        import importlib

        return importlib.import_module("gdjax.plot")
    raise AttributeError(f"module 'gdjax' has no attribute {name!r}")


__all__ = [
    "EarlyStopping",
    "Model",
    "activations",
    "count_params",
    "data",
    "diagnostics",
    "fit",
    "functions",
    "gradient_error",
    "losses",
    "make_trainer",
    "metrics",
    "minimize",
    "minimize_restarts",
    "model_loss",
    "models",
    "optim",
    "restarts",
    "sweep",
    "train",
]

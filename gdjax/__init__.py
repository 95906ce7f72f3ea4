"""gdjax: a JAX functional optimisation toolkit.

Models and losses are pure functions over parameter pytrees; ``gdjax.optim`` is
our own library of gradient transformations; ``gdjax.fit`` runs a whole
training as one compiled program.

The subpackages ``gdjax.models``, ``gdjax.losses``, ``gdjax.metrics``,
``gdjax.activations`` hold the course's formulas, one concept a module.
"""

from gdjax import activations, data, losses, metrics, models
from gdjax.gradcheck import gradient_error
from gdjax.models import Model, count_params

__version__ = "0.1.0"

__all__ = [
    "Model",
    "activations",
    "count_params",
    "data",
    "gradient_error",
    "losses",
    "metrics",
    "models",
]

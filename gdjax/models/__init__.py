"""Models as pure ``init``/``apply`` function pairs over parameter pytrees."""

from gdjax.models._linear import linear_regression, logistic_regression, softmax_regression
from gdjax.models._mlp import mlp
from gdjax.models._model import Model, Params, WideForm, count_params, dense_init, glorot_uniform, he_normal
from gdjax.models._perceptron import perceptron, perceptron_epoch, perceptron_step

__all__ = [
    "Model",
    "Params",
    "WideForm",
    "count_params",
    "dense_init",
    "glorot_uniform",
    "he_normal",
    "linear_regression",
    "logistic_regression",
    "mlp",
    "perceptron",
    "perceptron_epoch",
    "perceptron_step",
    "softmax_regression",
]

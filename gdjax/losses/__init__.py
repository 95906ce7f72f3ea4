"""Losses (what we train on) and penalties. Metrics live in :mod:`gdjax.metrics`."""

from gdjax.losses._classification import (
    binary_cross_entropy,
    categorical_cross_entropy,
    hinge_loss,
    perceptron_loss,
    sigmoid_binary_cross_entropy,
    softmax_cross_entropy,
)
from gdjax.losses._penalties import is_bias, l1_penalty, l2_penalty
from gdjax.losses._regression import half_mse, lp_loss, mae, mse

__all__ = [
    "binary_cross_entropy",
    "categorical_cross_entropy",
    "half_mse",
    "hinge_loss",
    "is_bias",
    "l1_penalty",
    "l2_penalty",
    "lp_loss",
    "mae",
    "mse",
    "perceptron_loss",
    "sigmoid_binary_cross_entropy",
    "softmax_cross_entropy",
]

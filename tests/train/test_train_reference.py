"""Today's engine against the one it replaced: the same trainings of the heart network, to float rounding.

``data/heart_reference_v1.npz`` holds what the engine before the rewrite (commit b63a65f: a while loop
over epochs, hyperparameters compiled in as constants) computed for three optimizers and a restart
study; ``data/make_heart_reference.py`` wrote it and says how to write it again.
"""

from pathlib import Path

import jax
import numpy as np
import pytest

import gdjax
from gdjax import optim

REFERENCE = np.load(Path(__file__).with_name("data") / "heart_reference_v1.npz")
DATA = gdjax.data.load_heart_split(0)
NET = gdjax.models.mlp([29, 16, 1])


def loss(p, b):
    return gdjax.losses.sigmoid_binary_cross_entropy(NET.logits(p, b[0]), b[1])


def accuracy(p, b):
    return gdjax.metrics.accuracy(NET.apply(p, b[0]), b[1])


# SGD reproduces the old engine bit for bit. Adam's 1/sqrt(v) amplifies the last-bit differences of
# XLA folding its constants differently (~1e-6 after 30 epochs); RMSProp's does the same with the
# CPU's own: bit for bit on the machine that wrote the file, 3e-8 (5e-6 relative) on another x86-64.
TOLERANCE = {
    "adam": dict(rtol=1e-4, atol=1e-5),
    "sgd_momentum": dict(rtol=0, atol=0),
    "rmsprop": dict(rtol=1e-5, atol=1e-7),
}
OPTIMIZERS = {"adam": optim.adam(1e-3), "sgd_momentum": optim.sgd(0.05, 0.9), "rmsprop": optim.rmsprop(1e-3)}


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_fit_reproduces_the_previous_engine(name):
    result = gdjax.fit(
        loss,
        NET.init(jax.random.key(1)),
        (DATA.x_train, DATA.y_train),
        optimizer=OPTIMIZERS[name],
        epochs=30,
        batch_size=32,
        key=2,
        validation_data=(DATA.x_test, DATA.y_test),
        metrics={"accuracy": accuracy},
    )
    for i, leaf in enumerate(jax.tree.leaves(result.params)):
        np.testing.assert_allclose(leaf, REFERENCE[f"{name}_param{i}"], **TOLERANCE[name])
    np.testing.assert_allclose(result.history.train_loss, REFERENCE[f"{name}_loss"], **TOLERANCE[name])
    np.testing.assert_allclose(result.history.val_loss, REFERENCE[f"{name}_val_loss"], **TOLERANCE[name])
    np.testing.assert_array_equal(result.history.val_metrics["accuracy"], REFERENCE[f"{name}_val_accuracy"])


def test_restarts_reproduce_the_previous_engine():
    runs = gdjax.restarts.restarts(
        loss,
        NET.init,
        (DATA.x_train, DATA.y_train),
        optimizer=optim.adam(1e-2),
        epochs=10,
        batch_size=32,
        key=3,
        num_restarts=8,
        validation_data=(DATA.x_test, DATA.y_test),
    )
    np.testing.assert_allclose(runs.final_loss, REFERENCE["restarts_final_loss"], rtol=1e-4)
    np.testing.assert_allclose(runs.final_val_loss, REFERENCE["restarts_final_val_loss"], rtol=1e-4)
    np.testing.assert_allclose(jax.tree.leaves(runs.params)[1], REFERENCE["restarts_w0"], atol=1e-3)

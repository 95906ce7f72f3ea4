"""Writes heart_reference_v1.npz: trainings of the heart network by a given version of gdjax.

The committed file was written by the engine before the rewrite (commit b63a65f):
``git worktree add /tmp/old b63a65f && PYTHONPATH=/tmp/old python tests/train/data/make_heart_reference.py OUT.npz``.
tests/train/test_train_reference.py checks that today's engine gives the same trainings.
"""

import sys

import jax
import numpy as np

import gdjax
from gdjax import optim

out = sys.argv[1]
data = gdjax.data.load_heart_split(0)
net = gdjax.models.mlp([29, 16, 1])


def loss(p, b):
    return gdjax.losses.sigmoid_binary_cross_entropy(net.logits(p, b[0]), b[1])


def acc(p, b):
    return gdjax.metrics.accuracy(net.apply(p, b[0]), b[1])


res = {}
for name, opt in [("adam", optim.adam(1e-3)), ("sgd_momentum", optim.sgd(0.05, 0.9)), ("rmsprop", optim.rmsprop(1e-3))]:
    r = gdjax.fit(
        loss,
        net.init(jax.random.key(1)),
        (data.x_train, data.y_train),
        optimizer=opt,
        epochs=30,
        batch_size=32,
        key=2,
        validation_data=(data.x_test, data.y_test),
        metrics={"accuracy": acc},
    )
    for i, leaf in enumerate(jax.tree.leaves(r.params)):
        res[f"{name}_param{i}"] = np.asarray(leaf)
    res[f"{name}_loss"] = np.asarray(r.history.train_loss)
    res[f"{name}_val_loss"] = np.asarray(r.history.val_loss)
    res[f"{name}_val_accuracy"] = np.asarray(r.history.val_metrics["accuracy"])
rs = gdjax.restarts.restarts(
    loss,
    net.init,
    (data.x_train, data.y_train),
    optimizer=optim.adam(1e-2),
    epochs=10,
    batch_size=32,
    key=3,
    num_restarts=8,
    validation_data=(data.x_test, data.y_test),
)
res["restarts_final_loss"] = rs.final_loss
res["restarts_final_val_loss"] = rs.final_val_loss
res["restarts_w0"] = np.asarray(jax.tree.leaves(rs.params)[1])
np.savez(out, **res)
print("saved", len(res))

"""Runs a small restart study and sweep on emulated CPU devices, optionally as one of several processes.

Usage: python sharded_worker.py OUT.npz DEVICES [PROCESS_ID NUM_PROCESSES PORT]
"""

import sys

import jax

out, devices = sys.argv[1], int(sys.argv[2])
jax.config.update("jax_num_cpu_devices", devices)
if len(sys.argv) > 3:
    process_id, num_processes, port = int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
    jax.config.update("jax_cpu_collectives_implementation", "gloo")
    jax.distributed.initialize(f"127.0.0.1:{port}", num_processes=num_processes, process_id=process_id)

import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402

import gdjax  # noqa: E402
from gdjax import optim  # noqa: E402
from gdjax.restarts import minimize_restarts, restarts, sweep  # noqa: E402

X = jax.random.normal(jax.random.key(0), (40, 3))
Y = (X @ jnp.array([1.0, -2.0, 0.5]) > 0).astype(jnp.float32)
NET = gdjax.models.mlp([3, 4, 1], hidden="tanh")


def loss(params, batch):
    return gdjax.losses.sigmoid_binary_cross_entropy(NET.logits(params, batch[0]), batch[1])


def make(h):
    return optim.adam(h["learning_rate"])


grid = {"learning_rate": [0.01, 0.05]}
runs = sweep(
    loss, NET.init, (X, Y), optimizer=make, grid=grid, key=1, num_restarts=6, epochs=3, batch_size=8, tile_size=2
)
chunked = sweep(
    loss,
    NET.init,
    (X, Y),
    optimizer=make,
    grid=grid,
    key=1,
    num_restarts=6,
    epochs=3,
    batch_size=8,
    tile_size=2,
    chunk_size=2 * jax.device_count(),
)
# The same network's restarts side by side (the wide layout).
wide_options = {"optimizer": optim.adam(0.05), "key": 3, "num_restarts": 8, "epochs": 3, "batch_size": 8}
wide_options["tile_size"] = 2
model_loss = gdjax.model_loss(NET, gdjax.losses.sigmoid_binary_cross_entropy)
wide = restarts(model_loss, NET.init, (X, Y), **wide_options)
himmelblau = lambda x: (x[0] ** 2 + x[1] - 11) ** 2 + (x[0] + x[1] ** 2 - 7) ** 2
starts = jax.random.uniform(jax.random.key(2), (24, 2), minval=-5, maxval=5)
minima = minimize_restarts(himmelblau, starts, optim.sgd(0.01), max_steps=300, tile_size=3)
np.savez(
    out,
    device_count=jax.device_count(),
    process_count=jax.process_count(),
    final_loss=runs.final_loss,
    chunked_final_loss=chunked.final_loss,
    w=runs.params[0]["w"],
    chunked_w=chunked.params[0]["w"],
    x=minima.x,
    wide_w=wide.params[0]["w"],
)

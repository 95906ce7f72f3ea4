"""Ablation: where gdjax.restarts loses to a hand-written jit(vmap(train)), one construct removed at a time.

The heart network (29-16-1, Adam 1e-3, batch 32, 10 epochs = 70 steps) trained
from N = 1024 initialisations with one shared batch order, in one process,
every variant compiled first and then timed in interleaved rounds (median):

- ``restarts``: ``gdjax.restarts.restarts`` as shipped, with the loss written
  by hand and as a ``gdjax.model_loss`` (the wide layout,
  ``gdjax.train._wide``); ``engine, model_loss``: the latter's engine vmapped
  by hand, without the restarts' tiling and final evaluation;
- ``engine``: the engine's pure training (``Trainer.train``) vmapped by hand,
  in the flat layout (the default) and in the tree layout, with the per-step
  selects of every step (an unnamed vmap), and with the axis named as
  ``restarts`` names it (clean epochs skip the selects);
- ``no guard`` / ``no selects`` / ``neither``: the tree-layout engine with the
  per-step divergence guard replaced by a constant, with the selects that
  keep a non-finite step from being applied removed, and with both (these
  patch ``gdjax.train._loop`` while tracing: diagnosis only, the results of a
  diverging run would be wrong);
- ``optax vmap``: ``jax.jit(jax.vmap(train))`` with Optax's Adam over
  pre-gathered batches (bench_restarts' (b));
- ``wide form``: the same training written by hand on the model's own wide
  form (``MODEL.wide``: every copy's ``[W^T | b]`` stacked into one matrix,
  padded to whole vector registers; one product per step), with Optax's and
  with gdjax's Adam, compiled with the restarts' CPU options: what the
  engine's wide layout runs, without the engine's bookkeeping;
- ``wide, x @ [W_1 | ... | W_N]``: the earlier layout written by hand, all
  restarts' first-layer weights as one ``[29, N*16]`` matrix, checked
  against ``optax vmap``.

Usage::

    python experiments/ablate_restarts.py
"""

from __future__ import annotations

import statistics
import time

import jax
import jax.numpy as jnp
import optax

import gdjax
from gdjax.train import _loop

N, EPOCHS, BATCH, LR, ROUNDS = 1024, 10, 32, 1e-3, 7
MODEL = gdjax.models.mlp([29, 16, 1], hidden="relu", output="sigmoid")
BCE = gdjax.losses.sigmoid_binary_cross_entropy
#: YNNPACK for lone products only, XLA's loops for the rest: what restarts compiles its programs with on a CPU.
RESTARTS_CPU_OPTIONS = {"xla_cpu_experimental_ynn_fusion_type": "LIBRARY_FUSION_TYPE_INDIVIDUAL_DOT"}


def loss(params, batch):
    return BCE(MODEL.logits(params, batch[0]), batch[1])


MODEL_LOSS = gdjax.model_loss(MODEL, BCE)  # the same, the model in view


def engine(train, keys, patches=None, layout="auto", named=False, loss_fn=loss):
    """The engine's training vmapped over init keys, traced with ``patches`` applied to ``_loop``.

    ``named``: the vmap axis is named and the engine told (as ``restarts``
    does), so clean epochs skip the per-step selects.
    """
    patches = patches or {}
    saved = {name: getattr(_loop, name) for name in patches}
    for name, value in patches.items():
        setattr(_loop, name, value)
    try:
        trainer = gdjax.make_trainer(loss_fn, gdjax.optim.adam(LR), epochs=EPOCHS, batch_size=BATCH, layout=layout)
        axis = "trainings" if named else None

        def one(k):
            return trainer.train(MODEL.init(k), jax.random.key(1), train, None, None, vmap_axis=axis).params

        run = jax.jit(jax.vmap(one, axis_name=axis))
        jax.block_until_ready(run(keys))  # trace and compile while patched
    finally:
        for name, value in saved.items():
            setattr(_loop, name, value)
    return lambda: run(keys)


def hand_written(train, keys):
    """bench_restarts' (b) and the wide layouts by hand, over the same pre-gathered batches: ({name: call}, W1 gap)."""
    x, y = train
    steps = x.shape[0] // BATCH
    order_key = jax.random.key(2)
    orders = jnp.concatenate(
        [
            jax.random.permutation(jax.random.fold_in(order_key, e), x.shape[0])[: steps * BATCH].reshape(steps, BATCH)
            for e in range(EPOCHS)
        ]
    )
    xs, ys = x[orders], y[orders]
    adam = optax.adam(LR)

    def scan(fn_loss, params):
        def step(carry, batch):
            p, s = carry
            updates, s = adam.update(jax.grad(fn_loss)(p, batch), s, p)
            return (optax.apply_updates(p, updates), s), None

        return jax.lax.scan(step, (params, adam.init(params)), (xs, ys))[0][0]

    vmapped = jax.jit(jax.vmap(lambda k: scan(loss, MODEL.init(k))))
    ours = gdjax.optim.adam(LR)

    def scan_ours(fn_loss, params):  # the same with gdjax's Adam
        def step(carry, batch):
            p, s = carry
            updates, s = ours.update(jax.grad(fn_loss)(p, batch), s, p)
            return (gdjax.optim.apply_updates(p, updates), s), None

        return jax.lax.scan(step, (params, ours.init(params)), (xs, ys))[0][0]

    def wide_loss(w, batch):
        xb, yb = batch
        h = jax.nn.relu(xb @ w["w1"] + w["b1"]).reshape(xb.shape[0], N, 16)  # [B, N*16]: one product
        z = jnp.einsum("bnh,nh->bn", h, w["w2"]) + w["b2"]
        per_example = jnp.maximum(z, 0) - z * yb[:, None] + jnp.log1p(jnp.exp(-jnp.abs(z)))
        return jnp.sum(jnp.mean(per_example, axis=0))  # the restarts are independent: the sum's gradient is each's

    def to_wide(p):
        return {
            "w1": jnp.transpose(p[0]["w"], (1, 0, 2)).reshape(29, N * 16),
            "b1": p[0]["b"].reshape(N * 16),
            "w2": p[1]["w"][:, :, 0],
            "b2": p[1]["b"][:, 0],
        }

    def form_loss(w, batch):  # the model's wide form: every copy's loss, summed
        per_copy = jax.vmap(lambda z: BCE(z, batch[1]))(MODEL.wide.logits(w, batch[0]))
        return jnp.sum(per_copy)

    start = to_wide(jax.vmap(MODEL.init)(keys))
    old = jax.jit(lambda w: scan(wide_loss, w))
    gap = float(jnp.max(jnp.abs(to_wide(vmapped(keys))["w1"] - old(start)["w1"])))
    stacked = MODEL.wide.stack(jax.vmap(MODEL.init)(keys))
    # compiled as restarts compiles on a CPU (gdjax/restarts/_batched.py), so the row is the ceiling of its wide layout
    form = jax.jit(lambda w: scan(form_loss, w), compiler_options=RESTARTS_CPU_OPTIONS)
    form_ours = jax.jit(lambda w: scan_ours(form_loss, w), compiler_options=RESTARTS_CPU_OPTIONS)
    return {
        "optax vmap": lambda: vmapped(keys),
        "wide form": lambda: form(stacked),
        "wide form, gdjax Adam": lambda: form_ours(stacked),
        "wide, x @ [W_1 | ... | W_N]": lambda: old(start),
    }, gap


def main() -> None:
    data = gdjax.data.load_heart_split(0)
    train = (data.x_train, data.y_train)
    keys = jax.random.split(jax.random.key(0), N)
    opt = gdjax.optim.adam(LR)
    one = jnp.ones((), jnp.float32)
    by_hand, gap = hand_written(train, keys)

    def run_restarts(loss_fn):
        options = {"optimizer": opt, "epochs": EPOCHS, "batch_size": BATCH, "key": 0, "num_restarts": N}
        return lambda: gdjax.restarts.restarts(loss_fn, MODEL.init, train, **options).params

    variants = {
        "restarts": run_restarts(loss),
        "restarts, model_loss": run_restarts(MODEL_LOSS),
        "engine, model_loss": engine(train, keys, named=True, loss_fn=MODEL_LOSS),
        "engine (flat), named axis": engine(train, keys, named=True),
        "engine (flat)": engine(train, keys),
        "engine (tree)": engine(train, keys, layout="tree"),
        "engine (tree), no guard": engine(train, keys, {"_guard": lambda p, g: one}, layout="tree"),
        "engine (tree), no selects": engine(train, keys, {"select": lambda c, a, b: a}, layout="tree"),
        "engine (tree), neither": engine(
            train, keys, {"_guard": lambda p, g: one, "select": lambda c, a, b: a}, layout="tree"
        ),
    } | by_hand
    for fn in variants.values():
        jax.block_until_ready(fn())
    times = {name: [] for name in variants}
    for _ in range(ROUNDS):
        for name, fn in variants.items():
            start = time.perf_counter()
            jax.block_until_ready(fn())
            times[name].append(time.perf_counter() - start)
    work = N * EPOCHS * (train[0].shape[0] // BATCH)
    base = statistics.median(times["optax vmap"])
    print(f"# N = {N}, {EPOCHS} epochs, median of {ROUNDS} interleaved rounds; wide vs vmap max |W1 gap| {gap:.1e}")
    for name, t in times.items():
        m = statistics.median(t)
        print(f"{name:30s} {work / m:10.3e} restart-steps/s   {base / m:5.2f}x optax vmap")
    r = {name: base / statistics.median(t) for name, t in times.items()}
    print(
        f"restarts {r['restarts']:.2f}x, with model_loss {r['restarts, model_loss']:.2f}x, engine without guard "
        f"and selects {r['engine (tree), neither']:.2f}x, the wide form by hand {r['wide form']:.2f}x "
        f"(gdjax Adam {r['wide form, gdjax Adam']:.2f}x) of jit(vmap(train))"
    )


if __name__ == "__main__":
    main()

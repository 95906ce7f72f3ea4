"""Benchmark: one training of the heart network, ``gdjax.fit`` against what a JAX or PyTorch user writes.

The course's heart disease network (29-16-1, ReLU hidden layer, binary
cross-entropy on logits, Adam 1e-3, batch 32) on the bundled data (242
training rows), 100 epochs of 7 mini-batches (the last partial batch of 18
rows dropped in every variant, so every variant takes the same 700 steps on
the same kind of data order: a fresh permutation each epoch):

(a) ``gdjax.fit``, end to end: validation of the inputs, the whole training
    as one compiled program, the result back on the host;
(b) the usual Optax loop: a jitted step called from Python for every batch,
    shuffling on the host with NumPy;
(c) the best hand-written fused program a JAX expert writes for the same
    work: parameters raveled into one vector (``ravel_pytree``), every
    epoch's permutation drawn up front by ``jax.random.permutation`` from
    gdjax's keys (the permutations (a) draws, so it trains exactly the same
    model as (a): the script checks the two agree), one ``lax.scan`` over
    all 700 steps with ``jnp.take`` batches, Optax's Adam, data passed as
    arguments like (a)'s;
(c') the same program with ``gdjax.data.permutation`` (the same
    permutations, drawn from integer sorts: faster on a CPU), which is what
    (a) uses: (a) against (c') is the engine alone against the hand-written
    loop;
(d) PyTorch eager, 1 thread and torch's default threads (when installed).

Compile time of (a), and of (c) the same way, is the first call of a fresh
program (JAX's caches cleared) minus a steady-state call, median of three,
measured after the process has compiled once (a process's first compile
also pays one-off set-up, whatever the program); "a new optimizer" is a second ``fit``
with a new ``adam`` object of the same structure (new values too; median of
three), minus a steady run of the same object (what it costs before running:
no recompilation; within noise of 0). Run times are medians of
``--repeats`` interleaved runs; steps/s = 700 / median. Other processes share
the machine, so absolute numbers are noisy; the last line's ratios compare
variants measured in the same run.

Usage::

    python experiments/bench_fit.py            # 9 repeats
    python experiments/bench_fit.py --quick    # 3 repeats
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time

import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax.flatten_util import ravel_pytree

import gdjax
import gdjax.optim as optim
from gdjax.data import load_heart_split, permutation

try:  # optional peer
    import torch
except ImportError:  # pragma: no cover - depends on the environment
    torch = None

EPOCHS = 100
BATCH = 32
LR = 1e-3
MODEL = gdjax.models.mlp([29, 16, 1], hidden="relu")


def loss(params, batch):
    x, y = batch
    return gdjax.losses.sigmoid_binary_cross_entropy(MODEL.logits(params, x), y)


def seconds(fn):
    start = time.perf_counter()
    jax.block_until_ready(fn())
    return time.perf_counter() - start


# --------------------------------------------------------------------------- (a)


def run_fit(params, data, optimizer, key):
    return gdjax.fit(loss, params, data, optimizer=optimizer, epochs=EPOCHS, batch_size=BATCH, key=key).params


def compile_seconds(call):
    """A fresh program's first call (JAX's caches cleared) minus a steady call: its trace, lowering and compile."""
    jax.clear_caches()
    first = seconds(call)
    return first - statistics.median(seconds(call) for _ in range(3))


def new_optimizer_seconds(params, data):
    """``fit`` with a new ``adam`` object of the same structure (new values too) each time, and the same one again."""
    optimizer = optim.adam(LR)
    run_fit(params, data, optimizer, 0)
    steady = statistics.median(seconds(lambda: run_fit(params, data, optimizer, 0)) for _ in range(3))
    fresh = statistics.median(seconds(lambda: run_fit(params, data, optim.adam((3 + i) * LR), 0)) for i in range(3))
    return fresh, steady


# --------------------------------------------------------------------------- (b)


def optax_loop(x, y):
    n = len(x)
    tx = optax.adam(LR)

    @jax.jit
    def step(params, state, xb, yb):
        grads = jax.grad(loss)(params, (xb, yb))
        updates, state = tx.update(grads, state, params)
        return optax.apply_updates(params, updates), state

    def train(params, seed):
        rng = np.random.default_rng(seed)
        state = tx.init(params)
        for _ in range(EPOCHS):
            order = rng.permutation(n)
            for b in range(n // BATCH):
                idx = order[b * BATCH : (b + 1) * BATCH]
                params, state = step(params, state, x[idx], y[idx])
        return params

    return train


# --------------------------------------------------------------------------- (c)


def fused_program(n, fast_shuffle=False):
    """The best hand-written program for the same work (see the module docs).

    Its epochs' permutations are ``jax.random.permutation``'s, or with
    ``fast_shuffle`` the same ones from ``gdjax.data.permutation``, drawn in one batch as (a) draws them.
    """
    if fast_shuffle:
        permutations = lambda keys: permutation(keys, n)
    else:
        permutations = jax.vmap(lambda k: jax.random.permutation(k, n))
    tx = optax.adam(LR)
    steps = n // BATCH

    @jax.jit
    def train(params, key, x, y):
        flat, unravel = ravel_pytree(params)

        # gdjax's data order: epoch e permutes with the first key of split(fold_in(key, e)), as (a) does.
        shuffle_keys = jax.vmap(lambda e: jax.random.split(jax.random.fold_in(key, e))[0])(jnp.arange(EPOCHS))
        indices = permutations(shuffle_keys)[:, : steps * BATCH].reshape(EPOCHS * steps, BATCH)

        def step(carry, idx):
            flat, state = carry
            grads = jax.grad(lambda f: loss(unravel(f), (jnp.take(x, idx, axis=0), jnp.take(y, idx, axis=0))))(flat)
            updates, state = tx.update(grads, state, flat)
            return (flat + updates, state), None

        (flat, _), _ = jax.lax.scan(step, (flat, tx.init(flat)), indices)
        return unravel(flat)

    return train


# --------------------------------------------------------------------------- (d)


def torch_loop(x, y, threads):
    torch.set_num_threads(threads)
    xt, yt = torch.from_numpy(np.array(x)), torch.from_numpy(np.array(y))
    n = len(xt)

    def train(seed):
        torch.manual_seed(seed)
        model = torch.nn.Sequential(torch.nn.Linear(29, 16), torch.nn.ReLU(), torch.nn.Linear(16, 1))
        optimizer = torch.optim.Adam(model.parameters(), lr=LR)
        loss_fn = torch.nn.BCEWithLogitsLoss()
        for _ in range(EPOCHS):
            order = torch.randperm(n)
            for b in range(n // BATCH):
                idx = order[b * BATCH : (b + 1) * BATCH]
                optimizer.zero_grad()
                loss_fn(model(xt[idx]).squeeze(1), yt[idx]).backward()
                optimizer.step()
        return model

    return train


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="3 repeats instead of 9")
    parser.add_argument("--repeats", type=int, default=None)
    args = parser.parse_args()
    repeats = args.repeats or (3 if args.quick else 9)
    data = load_heart_split(0)
    x, y = np.asarray(data.x_train), np.asarray(data.y_train)
    n = len(x)
    steps = EPOCHS * (n // BATCH)
    params = MODEL.init(jax.random.key(1))
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(
        f"# heart 29-16-1, Adam {LR}, batch {BATCH}, {EPOCHS} epochs = {steps} steps; median of {repeats} runs\n"
        f"# {platform.processor() or platform.machine()}, {os.cpu_count()} cores, load average {load:.2f}, "
        f"jax {jax.__version__} on {jax.devices()[0].platform}"
        + (f", torch {torch.__version__}" if torch is not None else ", torch not installed")
    )

    key = jax.random.key(2)
    adam = optim.adam(LR)
    loop = optax_loop(x, y)
    fused = fused_program(n)
    fused_gdjax = fused_program(n, fast_shuffle=True)
    # (a) and (c) train the same model on the same data order: equal to float rounding.
    a_params = run_fit(params, (x, y), adam, key)
    c_params = (fused(params, key, x, y), fused_gdjax(params, key, x, y))
    agreement = max(
        float(jnp.max(jnp.abs(p - q)))
        for other in c_params
        for p, q in zip(jax.tree.leaves(a_params), jax.tree.leaves(other))
    )
    variants = {
        "(a) gdjax.fit": lambda: run_fit(params, (x, y), adam, key),
        "(b) optax loop, jitted step": lambda: loop(params, 0),
        "(c) fused hand-written program": lambda: fused(params, key, x, y),
        "(c') (c) with gdjax's permutation": lambda: fused_gdjax(params, key, x, y),
    }
    torch_threads = []
    if torch is not None:
        torch_threads = sorted({1, torch.get_num_threads()})
        for threads in torch_threads:
            train = torch_loop(x, y, threads)
            variants[f"(d) torch eager, {threads} thread{'s' if threads > 1 else ''}"] = (
                lambda train=train, threads=threads: (torch.set_num_threads(threads), train(0))[1]
            )
    for fn in variants.values():  # warm up the process: its first compile also pays one-off set-up
        fn()
    # Compile times of (a) and (c) alike, alternated; median of three.
    compiles = [
        (compile_seconds(variants["(a) gdjax.fit"]), compile_seconds(lambda: fused(params, key, x, y)))
        for _ in range(3)
    ]
    compile_a, compile_c = (statistics.median(c) for c in zip(*compiles))
    fresh, steady = new_optimizer_seconds(params, (x, y))
    new_optimizer = fresh - steady
    for fn in variants.values():  # compile again outside the timed runs
        fn()
    times = {name: [] for name in variants}
    for _ in range(repeats):  # interleaved, so load changes hit every variant alike
        for name, fn in variants.items():
            times[name].append(seconds(fn))
    median = {name: statistics.median(ts) for name, ts in times.items()}
    for name, t in median.items():
        print(f"{name:34s} {steps / t:12,.0f} steps/s   ({t * 1e3:8.2f} ms)")
    print(
        f"(a) compile {compile_a:.2f} s, (c) compile {compile_c:.2f} s; "
        "a fit with a new adam object of the same structure takes "
        f"{fresh * 1e3:.1f} ms against {steady * 1e3:.1f} ms for the same object again (no recompilation)"
    )
    print(f"(a), (c) and (c') final parameters agree to {agreement:.1e}")
    a, b, c = (median[k] for k in ("(a) gdjax.fit", "(b) optax loop, jitted step", "(c) fused hand-written program"))
    c_own = median["(c') (c) with gdjax's permutation"]
    line = f"fit/optax-loop {b / a:.2f}x, fit/fused {c / a:.2f}x (engine alone {c_own / a:.2f}x), "
    line += f"compile {compile_a:.2f} s (fused {compile_c:.2f} s), "
    line += f"new optimizer {new_optimizer * 1e3:.0f} ms"
    for threads in torch_threads:
        name = f"(d) torch eager, {threads} thread{'s' if threads > 1 else ''}"
        line += f", fit/torch-{threads}t {median[name] / a:.1f}x"
    print(line)


if __name__ == "__main__":
    main()

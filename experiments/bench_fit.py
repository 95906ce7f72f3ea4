"""Benchmark: gdjax.fit against a hand-written Optax loop and a PyTorch eager loop.

The course's heart disease network (29-16-1, ReLU hidden layer, sigmoid
output, binary cross-entropy, Adam 1e-3, batch size 32) on the bundled data
(242 training rows, 61 held out), 100 epochs of 7 mini-batches each (the last
partial batch of 18 rows dropped in every variant, so every variant takes the
same 700 steps):

(a) ``gdjax.fit``: the whole training, shuffling included, one compiled program;
(a') the same with validation loss and accuracy on the held-out set every epoch;
(b) the usual Optax loop: a jitted step called from Python for every batch,
    shuffling on the host with NumPy;
(c) a PyTorch eager loop (when torch is importable), with 1 thread and with
    torch's default number of threads.

Compile time is measured separately: for (a) as the first call of a fresh
configuration (caches cleared) minus a steady-state call, for (b) as the
lowering and compilation of the step. Run times are medians of ``--repeats``
runs (at least 5 unless ``--quick``); steps/s = 700 / median run time. Other
processes share the machine, so absolute numbers are noisy; the ratios of the
last line compare variants measured in the same run, interleaved.

Usage::

    python experiments/bench_fit.py            # full: 7 repeats
    python experiments/bench_fit.py --quick    # 3 repeats, for a smoke run
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time

import jax
import numpy as np
import optax

import gdjax
import gdjax.optim as optim
from gdjax.data import load_heart_split
from gdjax.train import fit

try:  # optional peer
    import torch
except ImportError:  # pragma: no cover - depends on the environment
    torch = None

EPOCHS = 100
BATCH = 32
LR = 1e-3
MODEL = gdjax.models.mlp([29, 16, 1], hidden="relu", output="sigmoid")


def bce(params, batch):
    x, y = batch
    return gdjax.losses.binary_cross_entropy(MODEL.apply(params, x), y)


def accuracy(params, batch):
    x, y = batch
    return gdjax.metrics.accuracy(MODEL.apply(params, x), y)


def timed(fn):
    start = time.perf_counter()
    out = fn()
    jax.block_until_ready(out)
    return time.perf_counter() - start, out


# --------------------------------------------------------------------------- (a)


def gdjax_fit(data, repeats, with_validation):
    """Compile times (fresh configurations) and steady run times of gdjax.fit."""
    train = (data.x_train, data.y_train)
    extra = {}
    if with_validation:
        extra = dict(validation_data=(data.x_test, data.y_test), metrics={"accuracy": accuracy})

    def run(optimizer, seed):
        k1, k2 = jax.random.split(jax.random.key(seed))
        result = fit(bce, MODEL.init(k1), train, optimizer=optimizer, epochs=EPOCHS, batch_size=BATCH, key=k2, **extra)
        return result.params

    compiles, runs = [], []
    for r in range(repeats):
        jax.clear_caches()
        optimizer = optim.adam(LR)  # a new object: a new configuration, compiled afresh
        first, _ = timed(lambda: run(optimizer, r))
        steady, params = timed(lambda: run(optimizer, r))
        compiles.append(first - steady)
        runs.append(steady)
    return compiles, runs, params


# --------------------------------------------------------------------------- (b)


def optax_loop(data, repeats):
    x, y = np.asarray(data.x_train), np.asarray(data.y_train)
    n = len(x)
    optimizer = optax.adam(LR)

    def step(params, state, xb, yb):
        loss, grads = jax.value_and_grad(bce)(params, (xb, yb))
        updates, state = optimizer.update(grads, state, params)
        return optax.apply_updates(params, updates), state, loss

    params0 = MODEL.init(jax.random.key(0))
    state0 = optimizer.init(params0)
    compiles = []
    for _ in range(repeats):
        jax.clear_caches()
        t, _ = timed(lambda: jax.jit(step).lower(params0, state0, x[:BATCH], y[:BATCH]).compile())
        compiles.append(t)
    jitted = jax.jit(step)
    jitted(params0, state0, x[:BATCH], y[:BATCH])  # compile outside the timed runs

    def train(seed):
        rng = np.random.default_rng(seed)
        params = MODEL.init(jax.random.key(seed))
        state = optimizer.init(params)
        for _ in range(EPOCHS):
            order = rng.permutation(n)
            for b in range(n // BATCH):
                idx = order[b * BATCH : (b + 1) * BATCH]
                params, state, _ = jitted(params, state, x[idx], y[idx])
        return params

    runs = []
    for r in range(repeats):
        t, params = timed(lambda: train(r))
        runs.append(t)
    return compiles, runs, params


# --------------------------------------------------------------------------- (c)


def torch_loop(data, repeats, threads):
    torch.set_num_threads(threads)
    x = torch.from_numpy(np.array(data.x_train))  # writable copies for torch
    y = torch.from_numpy(np.array(data.y_train))
    n = len(x)

    def train(seed):
        torch.manual_seed(seed)
        model = torch.nn.Sequential(
            torch.nn.Linear(29, 16), torch.nn.ReLU(), torch.nn.Linear(16, 1), torch.nn.Sigmoid()
        )
        optimizer = torch.optim.Adam(model.parameters(), lr=LR)
        loss_fn = torch.nn.BCELoss()
        for _ in range(EPOCHS):
            order = torch.randperm(n)
            for b in range(n // BATCH):
                idx = order[b * BATCH : (b + 1) * BATCH]
                optimizer.zero_grad()
                loss = loss_fn(model(x[idx]).squeeze(1), y[idx])
                loss.backward()
                optimizer.step()
        return model

    runs = []
    for r in range(repeats):
        start = time.perf_counter()
        model = train(r)
        runs.append(time.perf_counter() - start)
    with torch.no_grad():
        probs = model(torch.from_numpy(np.array(data.x_test))).squeeze(1).numpy()
    held_out = float(np.mean((probs >= 0.5) == (np.asarray(data.y_test) > 0.5)))
    return runs, held_out


# ---------------------------------------------------------------------------


def held_out_accuracy(params, data):
    return float(accuracy(params, (data.x_test, data.y_test)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="3 repeats instead of 7")
    parser.add_argument("--repeats", type=int, default=None, help="repeats per variant (default 7, or 3 with --quick)")
    args = parser.parse_args()
    repeats = args.repeats or (3 if args.quick else 7)
    steps = EPOCHS * (242 // BATCH)

    data = load_heart_split(0)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(
        f"# heart 29-16-1, Adam {LR}, batch {BATCH}, {EPOCHS} epochs = {steps} steps; median of {repeats} runs\n"
        f"# {platform.processor() or platform.machine()}, {os.cpu_count()} cores, load average {load:.2f}, "
        f"jax {jax.__version__} on {jax.devices()[0].platform}"
        + (f", torch {torch.__version__}" if torch is not None else ", torch not installed")
    )

    rows = []
    fit_compile, fit_runs, fit_params = gdjax_fit(data, repeats, with_validation=False)
    rows.append(
        (
            "(a) gdjax.fit",
            statistics.median(fit_compile),
            statistics.median(fit_runs),
            held_out_accuracy(fit_params, data),
        )
    )
    val_compile, val_runs, val_params = gdjax_fit(data, repeats, with_validation=True)
    rows.append(
        (
            "(a') gdjax.fit + validation/accuracy",
            statistics.median(val_compile),
            statistics.median(val_runs),
            held_out_accuracy(val_params, data),
        )
    )
    loop_compile, loop_runs, loop_params = optax_loop(data, repeats)
    rows.append(
        (
            "(b) optax loop, jitted step",
            statistics.median(loop_compile),
            statistics.median(loop_runs),
            held_out_accuracy(loop_params, data),
        )
    )
    torch_rows = []
    if torch is not None:
        default_threads = torch.get_num_threads()
        for threads in (1, default_threads):
            runs, acc = torch_loop(data, repeats, threads)
            torch_rows.append((threads, statistics.median(runs)))
            rows.append(
                (f"(c) torch eager, {threads} thread{'s' if threads > 1 else ''}", None, statistics.median(runs), acc)
            )
        torch.set_num_threads(default_threads)

    print(f"{'variant':40s} {'compile s':>10s} {'run s':>9s} {'steps/s':>10s} {'test acc':>9s}")
    for name, compile_s, run_s, acc in rows:
        shown = "-" if compile_s is None else f"{compile_s:.3f}"
        print(f"{name:40s} {shown:>10s} {run_s:9.4f} {steps / run_s:10.0f} {acc:9.3f}")

    fit_run = statistics.median(fit_runs)
    ratios = [f"fit/optax-loop {statistics.median(loop_runs) / fit_run:.1f}x"]
    for threads, run_s in torch_rows:
        ratios.append(f"fit/torch-{threads}t {run_s / fit_run:.1f}x")
    ratios.append(f"fit compile {statistics.median(fit_compile):.2f} s")
    print("speed-up (steps/s): " + ", ".join(ratios))


if __name__ == "__main__":
    main()

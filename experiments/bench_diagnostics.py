"""Benchmark: the cost of recording the sharpness every epoch of a gdjax.fit.

The course's heart disease network (29-16-1, ReLU hidden layer, logits into
``sigmoid_binary_cross_entropy``, Adam 1e-3, batch size 32, 100 epochs of 7
steps, validation on the 61 held-out rows every epoch), trained by
``gdjax.fit``:

(a) without extra metrics;
(b) with ``metrics={"sharpness": diagnostics.sharpness_metric(loss)}``: at most
    20 power iterations, stopping at relative change 1e-3 (the defaults), on
    the whole training set and the whole validation set after every epoch;
(c) the same with ``tol=None``: always 20 Hessian-vector products per set;
(d) for reference, a naive metric of the same semantics as (c): a fresh
    ``jax.jvp`` of ``jax.grad`` for every product (no linearisation, the
    primal pass in the loop for XLA to hoist) and the start vector drawn from
    the key at every evaluation.

Every variant is compiled once before timing; run times are medians of
``--repeats`` runs, the variants interleaved round by round in one process
(other processes share the machine: ratios are steadier than absolute times).
The last line gives the ratios to (a); the goal is (b)/(a) <= 3.

Usage::

    python experiments/bench_diagnostics.py             # 9 rounds
    python experiments/bench_diagnostics.py --quick     # 3 rounds
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

import gdjax
from gdjax import diagnostics
from gdjax.data import load_heart_split

EPOCHS = 100
BATCH = 32
LR = 1e-3
ITERATIONS = 20
MODEL = gdjax.models.mlp([29, 16, 1], hidden="relu", output="sigmoid")


def loss(params, batch):
    x, y = batch
    return gdjax.losses.sigmoid_binary_cross_entropy(MODEL.logits(params, x), y)


def naive_sharpness_metric(loss_fn, num_iterations, key):
    """Power iteration with ``hessian_vector_product`` (a jvp of grad) at every step; the reference of (d)."""

    def metric(params, data):
        flat, unravel = jax.flatten_util.ravel_pytree(params)
        v = jax.random.normal(key, flat.shape, flat.dtype)
        v = v / jnp.linalg.norm(v)

        def body(_, carry):
            v, _ = carry
            w = jax.flatten_util.ravel_pytree(diagnostics.hessian_vector_product(loss_fn, params, data, unravel(v)))[0]
            return w / jnp.linalg.norm(w), jnp.vdot(v, w)

        return jax.lax.fori_loop(0, num_iterations, body, (v, jnp.zeros((), flat.dtype)))[1]

    return metric


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="3 rounds instead of 9")
    parser.add_argument("--repeats", type=int, default=None, help="rounds (default 9, or 3 with --quick)")
    args = parser.parse_args()
    repeats = args.repeats or (3 if args.quick else 9)

    data = load_heart_split(0)
    train, val = (data.x_train, data.y_train), (data.x_test, data.y_test)
    optimizer = gdjax.optim.adam(LR)
    params0 = MODEL.init(jax.random.key(1))
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(
        f"# heart 29-16-1, Adam {LR}, batch {BATCH}, {EPOCHS} epochs, validation every epoch; "
        f"sharpness at <= {ITERATIONS} power iterations on train (242 rows) and validation (61 rows)\n"
        f"# {platform.processor() or platform.machine()}, {os.cpu_count()} cores, load average {load:.2f}, "
        f"jax {jax.__version__} on {jax.devices()[0].platform}; median of {repeats} interleaved rounds"
    )

    variants = {
        "(a) fit": None,
        "(b) + sharpness (tol 1e-3)": {"sharpness": diagnostics.sharpness_metric(loss, num_iterations=ITERATIONS)},
        "(c) + sharpness (all 20)": {
            "sharpness": diagnostics.sharpness_metric(loss, num_iterations=ITERATIONS, tol=None)
        },
        "(d) + naive sharpness": {"sharpness": naive_sharpness_metric(loss, ITERATIONS, jax.random.key(0))},
    }

    def run(metrics):
        result = gdjax.fit(
            loss,
            params0,
            train,
            optimizer=optimizer,
            epochs=EPOCHS,
            batch_size=BATCH,
            key=2,
            validation_data=val,
            metrics=metrics,
        )
        jax.block_until_ready(result.params)
        return result

    compile_s, results = {}, {}
    for name, metrics in variants.items():
        start = time.perf_counter()
        results[name] = run(metrics)
        compile_s[name] = time.perf_counter() - start
    times = {name: [] for name in variants}
    for _ in range(repeats):
        for name, metrics in variants.items():
            start = time.perf_counter()
            run(metrics)
            times[name].append(time.perf_counter() - start)

    # The iterations the tolerance leaves, at the first and the last epoch's parameters.
    final = results["(b) + sharpness (tol 1e-3)"]
    used = [
        int(diagnostics.sharpness(loss, p, d, key=0, num_iterations=ITERATIONS).iterations)
        for p in (params0, final.params)
        for d in (train, val)
    ]
    base = statistics.median(times["(a) fit"])
    print("| variant | first call s | run s (median) | ratio to (a) | last train sharpness | last val sharpness |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for name in variants:
        history = results[name].history
        s_train = history.metrics.get("sharpness", np.array([np.nan]))[-1]
        s_val = history.val_metrics.get("sharpness", np.array([np.nan]))[-1]
        median = statistics.median(times[name])
        print(f"| {name} | {compile_s[name]:.2f} | {median:.4f} | {median / base:.2f} | {s_train:.4f} | {s_val:.4f} |")
    print(
        f"# power iterations used at tol 1e-3 (train, val) at the start: {used[0]}, {used[1]}; "
        f"after training: {used[2]}, {used[3]}"
    )
    ratio = {name: statistics.median(t) / base for name, t in times.items()}
    print(
        f"with sharpness/without: {ratio['(b) + sharpness (tol 1e-3)']:.2f}x (tol 1e-3), "
        f"{ratio['(c) + sharpness (all 20)']:.2f}x (all {ITERATIONS}), "
        f"{ratio['(d) + naive sharpness']:.2f}x (naive); goal <= 3x"
    )


if __name__ == "__main__":
    main()

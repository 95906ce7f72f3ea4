"""Benchmark: random restarts of the heart network against hand-written JAX, and 65,536 2-D starts.

Issue 12's benchmark, like for like, in one process. The workload is the
course's heart disease network (29-16-1, ReLU, sigmoid output, binary
cross-entropy on logits), Adam 1e-3, batch 32 with the remainder dropped
(242 training rows of ``load_heart_split(0)``: 7 steps an epoch), float32,
trained N times from independent initialisations, N in {256, 1024, 4096}:

(a) ``gdjax.restarts.restarts`` with its default shared batch order;
(b) the best ``jax.jit(jax.vmap(train))`` a JAX user writes with Optax Adam and
    the same shared order: every epoch's order drawn from one key
    (``permutation(fold_in(key, epoch))``) outside the vmap, the batches
    gathered up front, one ``lax.scan`` over the steps, vmap over the
    initialisation keys only;
(c) the same with each restart its own key for shuffling: orders drawn and
    batches gathered inside the vmap, one epoch at a time.

Restart-steps/s = N * epochs * 7 / median run time over the repeats (5, or 3
with ``--quick``); the first call compiles and is timed apart (compile =
first call - median). The repeats are interleaved: each round runs (a), (b),
(c) and a jitted float32 2048^3 matrix product (1024^3 with ``--quick``)
once in turn, so a shared machine's slow minutes weigh on all of them alike;
% of peak is (a)'s achieved GFLOP/s over that product's median GFLOP/s of
the same rounds. The run also prints the machine at its start: the matmul
peak alone and the memory bandwidth (a jitted in-place ``x + 1`` on 2^26
float32 with its input donated, counting the bytes read and written). (a)'s
achieved GFLOP/s counts the network's matrix products only: forward
2*B*(29*16 + 16) flops a restart-step, backward twice that.

The scaling table runs (a) once per point in a fresh process (``--point N
EPOCHS ROWS``) and reports its time and peak memory, the increase of the
process's peak RSS (VmHWM on Linux, where a child's ``ru_maxrss`` starts at
its parent's peak; ``ru_maxrss`` elsewhere) over its value with the data
loaded (compilation included), against N (1 .. 16,384), epochs (10, 100 at N = 256)
and rows (242 .. 242,000 by tiling the training set, N = 64, 2 epochs; the
steps an epoch grow with the rows). A point estimated to take too long from
the rates measured above is skipped with a note.

Last, 65,536 starts of Himmelblau and the six-hump camel (uniform in
[-2, 2]^2) with plain gradient descent (lr 0.005, 1000 steps, ``tol=0``:
only a start at an exactly zero gradient stops, and the vmapped loop runs
until the last start's 1000th step): ``gdjax.minimize_restarts`` (default
``check_every``) against a bare ``jax.jit(jax.vmap(lax.scan))`` of the same
1000 steps.

The last line gives issue 12's ratios at N = 1024 and its goals beside.

Usage::

    python experiments/bench_restarts.py            # 100 epochs (~10 minutes on 2 quiet cores)
    python experiments/bench_restarts.py --quick    # 10 epochs, N up to 1024 (~3 minutes)
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time

import jax
import jax.numpy as jnp
import numpy as np
import optax

import gdjax
import gdjax.optim as optim
from gdjax.data import load_heart_split
from gdjax.functions import himmelblau, six_hump_camel
from gdjax.restarts import minimize_restarts, restarts

BATCH = 32
LR = 1e-3
MODEL = gdjax.models.mlp([29, 16, 1], hidden="relu", output="sigmoid")
FLOPS_PER_RESTART_STEP = 3 * 2 * BATCH * (29 * 16 + 16 * 1)
STARTS = 65_536
DESCENT_STEPS = 1000
DESCENT_LR = 0.005
GOALS = "(a)/(b) >= 1.5, (a)/(c) >= 9, >= 28% of peak, 4096 within 10% of 1024, minimize_restarts >= 0.7"


#: ``sigmoid_binary_cross_entropy(MODEL.logits(params, x), y)``, the model in view of gdjax's engine (the
#: wide layout of its restarts); (b) and (c) differentiate the very same function.
loss = gdjax.model_loss(MODEL, gdjax.losses.sigmoid_binary_cross_entropy)


def timed(fn, repeats):
    """(compile seconds, median run seconds): the first call compiles, ``repeats`` more are timed."""
    start = time.perf_counter()
    jax.block_until_ready(fn())
    first = time.perf_counter() - start
    runs = []
    for _ in range(repeats):
        start = time.perf_counter()
        jax.block_until_ready(fn())
        runs.append(time.perf_counter() - start)
    median = statistics.median(runs)
    return max(first - median, 0.0), median


def interleaved(fns, repeats):
    """``[(compile seconds, median run seconds)]`` of each of ``fns``, measured in the same minutes.

    Each first call compiles; then ``repeats`` rounds call every function once
    in turn, so a slow minute of a shared machine weighs on every contender
    alike instead of on whichever was being timed (one contender after the
    other, the machine's drift between them reads as a ratio).
    """
    firsts = []
    for fn in fns:
        start = time.perf_counter()
        jax.block_until_ready(fn())
        firsts.append(time.perf_counter() - start)
    runs = [[] for _ in fns]
    for _ in range(repeats):
        for fn, times in zip(fns, runs):
            start = time.perf_counter()
            jax.block_until_ready(fn())
            times.append(time.perf_counter() - start)
    medians = [statistics.median(times) for times in runs]
    return [(max(first - median, 0.0), median) for first, median in zip(firsts, medians)]


def load_average() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


# ---------------------------------------------------------------- the machine


def machine_line() -> str:
    device = jax.devices()[0]
    return (
        f"machine: {platform.platform()}, {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs; "
        f"jax {jax.__version__}; {device.device_kind} x{jax.device_count()} ({jax.default_backend()}); "
        f"load average (1, 5, 15 min) at start: {load_average()}"
    )


def matmul_product(size):
    """A jitted float32 size^3 matrix product (a call), and its flops."""
    a = jax.random.normal(jax.random.key(0), (size, size), jnp.float32)
    product = jax.jit(lambda u, v: u @ v)
    return (lambda: product(a, a)), 2 * size**3


def matmul_peak(size, repeats=7):
    """Median float32 FLOP/s of a jitted size^3 matrix product."""
    call, flops = matmul_product(size)
    _, seconds = timed(call, repeats)
    return flops / seconds


def memory_bandwidth(repeats=7, size=2**26):
    """Bytes/s of a jitted in-place ``x + 1`` on ``size`` float32 (read + write; input donated, no allocation)."""
    add_one = jax.jit(lambda a: a + 1, donate_argnums=0)
    x = jax.block_until_ready(add_one(jnp.zeros(size, jnp.float32)))
    runs = []
    for _ in range(repeats):
        start = time.perf_counter()
        x = jax.block_until_ready(add_one(x))
        runs.append(time.perf_counter() - start)
    return 2 * 4 * size / statistics.median(runs)


# --------------------------------------------------------------- contenders


def gdjax_restarts(train, epochs, num_restarts, optimizer):
    """(a): one call of ``gdjax.restarts.restarts``, default shared order."""

    def run():
        options = {"epochs": epochs, "batch_size": BATCH, "key": 0, "num_restarts": num_restarts}
        return restarts(loss, MODEL.init, train, optimizer=optimizer, **options).final_loss

    return run


def optax_step(tx):
    def step(carry, batch):
        params, state = carry
        grads = jax.grad(loss)(params, batch)
        updates, state = tx.update(grads, state, params)
        return (optax.apply_updates(params, updates), state), None

    return step


def epoch_order(key, epoch, rows):
    """One epoch's batches of row indices, shape (rows // BATCH, BATCH), the remainder dropped."""
    steps = rows // BATCH
    return jax.random.permutation(jax.random.fold_in(key, epoch), rows)[: steps * BATCH].reshape(steps, BATCH)


def shared_order_vmap(x, y, epochs):
    """(b): ``jit(vmap(train))`` over init keys; one order for all, its batches gathered up front."""
    tx = optax.adam(LR)
    step = optax_step(tx)

    def train(init_key, batches):
        params = MODEL.init(init_key)
        return jax.lax.scan(step, (params, tx.init(params)), batches)[0][0]

    @jax.jit
    def run(init_keys, order_key):
        orders = jax.vmap(lambda e: epoch_order(order_key, e, x.shape[0]))(jnp.arange(epochs))
        orders = orders.reshape(-1, BATCH)
        return jax.vmap(train, in_axes=(0, None))(init_keys, (x[orders], y[orders]))

    return run


def per_restart_vmap(x, y, epochs):
    """(c): ``jit(vmap(train))`` over keys; each restart shuffles with its own key, gathering every epoch."""
    tx = optax.adam(LR)
    step = optax_step(tx)

    def train(key):
        init_key, order_key = jax.random.split(key)
        params = MODEL.init(init_key)

        def epoch(carry, e):
            order = epoch_order(order_key, e, x.shape[0])
            return jax.lax.scan(step, carry, (x[order], y[order]))[0], None

        return jax.lax.scan(epoch, (params, tx.init(params)), jnp.arange(epochs))[0][0]

    return jax.jit(jax.vmap(train))


def compare_restarts(train, epochs, sizes, repeats, peak_size):
    """Print (a), (b), (c) at each N, interleaved with the peak; return {N: (rates a, b, c, a's FLOP/s, peak)}."""
    x, y = train
    steps = epochs * (x.shape[0] // BATCH)
    optimizer = optim.adam(LR)  # one object: a new one would miss gdjax's compile cache
    shared, per_restart = shared_order_vmap(x, y, epochs), per_restart_vmap(x, y, epochs)
    product, product_flops = matmul_product(peak_size)
    print(
        f"heart network, Adam {LR:g}, batch {BATCH}, {epochs} epochs = {steps} steps a restart; median of {repeats} "
        f"rounds, each running (a), (b), (c) and the {peak_size}^3 matmul (the peak of % peak) once in turn"
    )
    print(
        f"{'N':>5} | {'(a) gdjax restarts':>18} | {'(b) vmap, shared':>16} | {'(c) vmap, own':>16} "
        f"| {'a/b':>5} | {'a/c':>5} | {'a GFLOP/s':>9} | {'peak':>6} | {'% peak':>6} | compile a, b, c s"
    )
    rows = {}
    for n in sizes:
        keys = jax.random.split(jax.random.key(1), n)
        contenders = [gdjax_restarts(train, epochs, n, optimizer), lambda: shared(keys, jax.random.key(2))]
        contenders += [lambda: per_restart(keys), product]
        (compile_a, a), (compile_b, b), (compile_c, c), (_, p) = interleaved(contenders, repeats)
        rate_a, rate_b, rate_c = (n * steps / seconds for seconds in (a, b, c))
        flops, peak = rate_a * FLOPS_PER_RESTART_STEP, product_flops / p
        rows[n] = (rate_a, rate_b, rate_c, flops, peak)
        print(
            f"{n:5d} | {rate_a:12.4g} st/s | {rate_b:10.4g} st/s | {rate_c:10.4g} st/s | {rate_a / rate_b:5.2f} "
            f"| {rate_a / rate_c:5.2f} | {flops / 1e9:9.2f} | {peak / 1e9:6.1f} | {100 * flops / peak:5.1f}% "
            f"| {compile_a:.2f}, {compile_b:.2f}, {compile_c:.2f}"
        )
    return rows


# ------------------------------------------------------------ 2-D minimisers


def bare_descent(fun):
    """``jit(vmap(scan))`` of DESCENT_STEPS plain gradient steps, nothing else."""

    def descend(x0):
        step = lambda x, _: (x - DESCENT_LR * jax.grad(fun)(x), None)
        return jax.lax.scan(step, x0, None, length=DESCENT_STEPS)[0]

    return jax.jit(jax.vmap(descend))


def compare_minimizers(repeats):
    """Print minimize_restarts against the bare program per function; return {name: ratio of rates}."""
    print(
        f"\n2-D test functions, {STARTS:,} starts uniform in [-2, 2]^2, gradient descent lr {DESCENT_LR}, "
        f"{DESCENT_STEPS} steps (tol=0: only a zero gradient stops a start); median of {repeats}"
    )
    starts = jax.random.uniform(jax.random.key(3), (STARTS, 2), jnp.float32, -2.0, 2.0)
    sgd = optim.sgd(DESCENT_LR)
    ratios = {}
    for name, fun in (("himmelblau", himmelblau), ("camel", six_hump_camel)):
        run = lambda fun=fun: minimize_restarts(fun, starts, sgd, max_steps=DESCENT_STEPS, tol=0.0)
        bare = bare_descent(fun)
        (compile_m, m), (compile_b, b) = interleaved([lambda run=run: run().x, lambda bare=bare: bare(starts)], repeats)
        result = run()
        full = 100 * float(np.mean(np.asarray(result.num_steps) == DESCENT_STEPS))
        gap = float(np.nanmax(np.abs(np.asarray(result.x) - np.asarray(bare(starts)))))
        ratios[name] = b / m
        print(
            f"{name:>10}: minimize_restarts {STARTS * DESCENT_STEPS / m:9.3g} start-steps/s | bare "
            f"{STARTS * DESCENT_STEPS / b:9.3g} start-steps/s | ratio {b / m:.3f} | compile {compile_m:.2f}, "
            f"{compile_b:.2f} s | {full:.1f}% of starts took all {DESCENT_STEPS} steps | max |x gap| {gap:.1e}"
        )
    return ratios


# ------------------------------------------------------------- scaling table


def tiled_train(rows):
    data = load_heart_split(0)
    tiles = -(-rows // data.x_train.shape[0])
    x = jnp.tile(data.x_train, (tiles, 1))[:rows]
    y = jnp.tile(data.y_train, (tiles,))[:rows]
    return jax.block_until_ready((x, y))


def peak_rss_bytes():
    """This process's peak RSS: Linux's VmHWM, else ``ru_maxrss``.

    On Linux a child's ``ru_maxrss`` starts at its parent's peak (it survives
    fork and exec), which would hide every point's memory behind the parent's;
    VmHWM belongs to the child's own address space.
    """
    try:
        with open("/proc/self/status") as status:
            return next(int(line.split()[1]) * 1024 for line in status if line.startswith("VmHWM:"))
    except (OSError, StopIteration):
        scale = 1 if sys.platform == "darwin" else 1024  # ru_maxrss: bytes on macOS, KiB on Linux
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale


def run_point(n, epochs, rows, repeats):
    """One scaling point in this (fresh) process: print its figures as one JSON line."""
    train = tiled_train(rows)
    baseline = peak_rss_bytes()
    compile_s, run_s = timed(gdjax_restarts(train, epochs, n, optim.adam(LR)), repeats)
    steps = n * epochs * (rows // BATCH)
    figures = {"compile_s": compile_s, "run_s": run_s, "rate": steps / run_s, "rss": peak_rss_bytes() - baseline}
    print(json.dumps(figures))


def scaling_point(n, epochs, rows, repeats, rate_guess, budget_s):
    """Run one point in a subprocess, or return the reason it was skipped (a string)."""
    steps = n * epochs * (rows // BATCH)
    estimate = (repeats + 1) * steps / rate_guess
    if estimate > budget_s:
        return f"skipped: ~{estimate:.0f} s estimated from the rates above (budget {budget_s} s)"
    command = [sys.executable, __file__, "--point", str(n), str(epochs), str(rows), "--repeats", str(repeats)]
    timeout = 3 * budget_s + 60
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=True)
    except subprocess.TimeoutExpired:
        return f"skipped: no answer within {timeout} s"
    except subprocess.CalledProcessError as error:
        return f"failed: {error.stderr.strip().splitlines()[-1] if error.stderr.strip() else error}"
    return json.loads(done.stdout.strip().splitlines()[-1])


def scaling_table(epochs, quick, rates, repeats):
    """(a)'s time and peak memory against N, epochs and rows, one fresh process a point."""
    heart_rows = load_heart_split(0).x_train.shape[0]
    sizes = [1, 16, 256, 1024] if quick else [1, 16, 256, 1024, 4096, 16384]
    groups = [
        (f"against N ({epochs} epochs)", [(n, epochs, heart_rows) for n in sizes]),
        ("against epochs (N = 256)", [(256, e, heart_rows) for e in (10, 100)]),
        ("against rows (N = 64, 2 epochs)", [(64, 2, heart_rows * t) for t in (1, 10, 100, 1000)]),
    ]
    budget_s = 60 if quick else 180
    print(
        f"\nscaling of (a), one fresh process a point, median of {repeats}; peak memory = increase of the peak RSS "
        "(VmHWM) over the process with its data loaded (compilation included)"
    )
    print(
        f"{'N':>6} | {'epochs':>6} | {'rows':>6} | {'steps/ep':>8} | {'run s':>8} | {'restart-steps/s':>15} "
        f"| {'compile s':>9} | {'peak MB':>7}"
    )
    done = {}
    for title, points in groups:
        print(f"  {title}")
        for n, e, rows in points:
            if (n, e, rows) not in done:
                guess = rates[min(rates, key=lambda m: abs(np.log(m / n)))]
                done[(n, e, rows)] = scaling_point(n, e, rows, repeats, guess, budget_s)
            point = done[(n, e, rows)]
            head = f"{n:6d} | {e:6d} | {rows:6d} | {rows // BATCH:8d}"
            if isinstance(point, str):
                print(f"{head} | {point}")
                continue
            print(
                f"{head} | {point['run_s']:8.3f} | {point['rate']:15.4g} | {point['compile_s']:9.2f} "
                f"| {point['rss'] / 2**20:7.0f}"
            )


# ---------------------------------------------------------------------- main


def summary(rows, ratios) -> str:
    rate_a, rate_b, rate_c, flops, peak = rows[1024]
    if 4096 in rows:
        growth = f"{rows[4096][0] / rate_a:.2f}"
    else:
        growth = "n/a (N up to 1024 here)"
    return (
        f"at N = 1024: (a)/(b) = {rate_a / rate_b:.2f}x, (a)/(c) = {rate_a / rate_c:.2f}x, (a) at "
        f"{100 * flops / peak:.1f}% of matmul peak ({flops / 1e9:.1f} of {peak / 1e9:.1f} GFLOP/s); "
        f"4096/1024 rate = {growth}; minimize_restarts/bare = {ratios['himmelblau']:.2f} (himmelblau), "
        f"{ratios['camel']:.2f} (camel)  [goals: {GOALS}]"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10 epochs, N up to 1024, 3 repeats")
    parser.add_argument("--repeats", type=int, default=None, help="timed runs after the compiling one")
    parser.add_argument("--point", type=int, nargs=3, metavar=("N", "EPOCHS", "ROWS"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.point:
        run_point(*args.point, repeats=args.repeats or 3)
        return
    epochs = 10 if args.quick else 100
    repeats = args.repeats or (3 if args.quick else 5)
    sizes = [256, 1024] if args.quick else [256, 1024, 4096]

    print(machine_line())
    peak_size = 1024 if args.quick else 2048
    peak = matmul_peak(peak_size)
    print(f"float32 matmul peak ({peak_size}^3, median of 7): {peak / 1e9:.1f} GFLOP/s")
    print(f"memory bandwidth (in-place x + 1 on 2^26 float32, read + write): {memory_bandwidth() / 1e9:.1f} GB/s\n")

    data = load_heart_split(0)
    assert data.x_train.dtype == jnp.float32 and data.x_train.shape[0] // BATCH == 7
    rows = compare_restarts((data.x_train, data.y_train), epochs, sizes, repeats, peak_size)
    ratios = compare_minimizers(repeats)
    scaling_table(epochs, args.quick, {n: rate for n, (rate, *_) in rows.items()}, 2 if args.quick else 3)

    print(f"\nload average (1, 5, 15 min) at end: {load_average()}")
    print(summary(rows, ratios))


if __name__ == "__main__":
    main()

"""Benchmark: random restarts of the heart network, and 65,536 starts of 2-D test functions.

The course's heart disease network (29-16-1, ReLU, sigmoid output, binary
cross-entropy on logits, Adam 1e-3, batch 32, 7 steps an epoch) trained N
times from independent initialisations, for N in {1, 16, 256, 1024, 4096}:

(a) ``gdjax.restarts.restarts`` (shared data order, the default): one compiled
    program over all N trainings;
(b) a Python loop of N calls of the compiled single ``gdjax.fit`` (timed on
    ``min(N, 16)`` calls and scaled linearly to N: the per-call cost is flat);
(c) the idiomatic ``jax.jit(jax.vmap(train))`` a user writes with Optax: each
    restart its own key for initialisation and shuffling.

Restart-steps/s = N * epochs * 7 / median run time (compilation excluded; the
first call compiles and is timed apart). Achieved FLOP/s counts the network's
matrix products only (forward 2*B*(29*16 + 16) flops per restart-step,
backward twice that) against the machine's float32 matrix-multiply peak,
measured in the same run as the median rate of a 2048^3 product.

Then N = 65,536 starts of Himmelblau and the six-hump camel with gradient
descent, ``gdjax.minimize_restarts`` against ``jax.jit(jax.vmap(optax loop))``.

Usage::

    python experiments/bench_restarts.py            # 100 epochs (several minutes on 2 cores)
    python experiments/bench_restarts.py --quick    # 10 epochs, N up to 1024
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time

import jax
import jax.numpy as jnp
import optax

import gdjax
import gdjax.optim as optim
from gdjax.data import load_heart_split
from gdjax.restarts import minimize_restarts, restarts

BATCH = 32
LR = 1e-3
MODEL = gdjax.models.mlp([29, 16, 1], hidden="relu", output="sigmoid")
FLOPS_PER_RESTART_STEP = 3 * 2 * BATCH * (29 * 16 + 16 * 1)


def loss(params, batch):
    return gdjax.losses.sigmoid_binary_cross_entropy(MODEL.logits(params, batch[0]), batch[1])


def timed(fn, repeats):
    start = time.perf_counter()
    jax.block_until_ready(fn())
    first = time.perf_counter() - start
    runs = []
    for _ in range(repeats):
        start = time.perf_counter()
        jax.block_until_ready(fn())
        runs.append(time.perf_counter() - start)
    return first, statistics.median(runs)


def matmul_peak(repeats=7, size=2048):
    a = jnp.ones((size, size), jnp.float32)
    product = jax.jit(lambda u, v: u @ v)
    _, seconds = timed(lambda: product(a, a), repeats)
    return 2 * size**3 / seconds


def user_vmap_train(x, y, epochs, tx):
    """What a user writes: init, Optax, per-restart shuffling, scans; then jit(vmap(.))."""
    n = x.shape[0]
    steps = n // BATCH

    def train(key):
        init_key, order_key = jax.random.split(key)
        params = MODEL.init(init_key)
        state = tx.init(params)

        def epoch(carry, e):
            order = jax.random.permutation(jax.random.fold_in(order_key, e), n)[: steps * BATCH]

            def step(carry, idx):
                params, state = carry
                grads = jax.grad(loss)(params, (x[idx], y[idx]))
                updates, state = tx.update(grads, state, params)
                return (optax.apply_updates(params, updates), state), None

            return jax.lax.scan(step, carry, order.reshape(steps, BATCH))[0], None

        return jax.lax.scan(epoch, (params, state), jnp.arange(epochs))[0][0]

    return jax.jit(jax.vmap(train))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10 epochs, N up to 1024, 3 repeats")
    parser.add_argument("--epochs", type=int, default=None)
    parser.add_argument("--repeats", type=int, default=None)
    args = parser.parse_args()
    epochs = args.epochs or (10 if args.quick else 100)
    repeats = args.repeats or (3 if args.quick else 5)
    sizes = [1, 16, 256, 1024] if args.quick else [1, 16, 256, 1024, 4096]

    data = load_heart_split(0)
    train = (data.x_train, data.y_train)
    steps = (data.x_train.shape[0] // BATCH) * epochs
    adam = optim.adam(LR)
    optax_adam = optax.adam(LR)
    user = user_vmap_train(data.x_train, data.y_train, epochs, optax_adam)

    print(
        f"device: {jax.devices()[0].device_kind} x{jax.device_count()} ({jax.default_backend()}), "
        f"{platform.processor() or platform.machine()}; jax {jax.__version__}"
    )
    peak = matmul_peak()
    print(f"float32 matmul peak (2048^3, median of 7): {peak / 1e9:.1f} GFLOP/s")
    print(f"heart network, Adam, batch {BATCH}, {epochs} epochs = {steps} steps per restart; median of {repeats}\n")
    print(
        f"{'N':>5} | {'(a) gdjax restarts':>22} | {'(b) loop of fit':>18} | {'(c) jit(vmap) optax':>20} "
        f"| {'a/b':>6} | {'a/c':>6} | {'a GFLOP/s':>9} | {'% peak':>6} | {'a compile s':>11}"
    )
    rows = {}
    for n in sizes:
        run_a = lambda n=n: (
            restarts(
                loss, MODEL.init, train, optimizer=adam, epochs=epochs, key=0, num_restarts=n, batch_size=BATCH
            ).final_loss
        )
        first_a, a = timed(run_a, repeats)
        calls = min(n, 16)
        keys = jax.random.split(jax.random.key(1), calls)

        def run_b():
            out = None
            for k in keys:
                out = gdjax.fit(
                    loss, MODEL.init(k), train, optimizer=adam, epochs=epochs, key=k, batch_size=BATCH
                ).params
            return out

        _, b = timed(run_b, max(1, repeats // 2 if n > 16 else repeats))
        b *= n / calls
        user_keys = jax.random.split(jax.random.key(2), n)
        _, c = timed(lambda: user(user_keys), repeats if n <= 1024 else max(2, repeats // 2))
        rate = lambda seconds: n * steps / seconds
        flops = rate(a) * FLOPS_PER_RESTART_STEP
        rows[n] = (a, b, c, flops)
        print(
            f"{n:5d} | {rate(a):13.0f} steps/s | {rate(b):11.0f} st/s | {rate(c):13.0f} st/s "
            f"| {b / a:6.1f} | {c / a:6.1f} | {flops / 1e9:9.2f} | {100 * flops / peak:5.1f}% | {first_a - a:11.2f}"
        )

    print("\n2-D test functions, 65,536 starts, gradient descent (lr 0.005, 1000 steps at most)")
    functions = {
        "himmelblau": lambda p: (p[0] ** 2 + p[1] - 11) ** 2 + (p[0] + p[1] ** 2 - 7) ** 2,
        "six-hump camel": lambda p: (
            (4 - 2.1 * p[0] ** 2 + p[0] ** 4 / 3) * p[0] ** 2 + p[0] * p[1] + (-4 + 4 * p[1] ** 2) * p[1] ** 2
        ),
    }
    starts = jax.random.uniform(jax.random.key(3), (65_536, 2), minval=-2, maxval=2)
    sgd = optim.sgd(0.005)
    for name, f in functions.items():
        _, a = timed(lambda f=f: minimize_restarts(f, starts, sgd, max_steps=1000, tol=0.0).x, repeats)

        def descend(x0, f=f):
            tx = optax.sgd(0.005)

            def step(carry, _):
                x, s = carry
                u, s = tx.update(jax.grad(f)(x), s, x)
                return (optax.apply_updates(x, u), s), None

            return jax.lax.scan(step, (x0, tx.init(x0)), None, length=1000)[0][0]

        user_min = jax.jit(jax.vmap(descend))
        _, c = timed(lambda: user_min(starts), repeats)
        print(
            f"{name:>15}: gdjax {65_536 * 1000 / a:12.0f} start-steps/s | jit(vmap(optax)) "
            f"{65_536 * 1000 / c:12.0f} start-steps/s | ratio {c / a:.2f}"
        )

    key_n = 1024 if 1024 in rows else max(rows)
    a, b, c, flops = rows[key_n]
    print(
        f"\nat N = {key_n}: (a)/(b) = {b / a:.1f}x, (a)/(c) = {c / a:.1f}x, (a) at {100 * flops / peak:.1f}% "
        f"of the measured matmul peak ({flops / 1e9:.1f} of {peak / 1e9:.1f} GFLOP/s)"
    )


if __name__ == "__main__":
    main()

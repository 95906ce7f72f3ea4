"""Per-step time of each gdjax optimizer against its Optax counterpart.

Each optimizer runs ``steps`` training steps inside a jitted ``lax.scan``; the
gdjax run and the Optax run use the identical harness (same loss, data, start,
scan length), so the only difference is the optimizer. Two problems:

* ``mlp``: a small MLP (10 -> 64 -> 64 -> 1, ~5k parameters) on a fixed batch
  of 256, where the forward and backward passes dominate;
* ``1M``: a pytree of ~1M parameters in 8 leaves with a cheap gradient
  (that of ``0.5 |p - 1|^2``), where the optimizer's own arithmetic dominates.

Each timed run is one call of the compiled scan, after a compile-and-warm-up
call. gdjax and Optax runs are taken in back-to-back pairs (alternating which
goes first) so that load from other processes hits both alike; the table gives
the median microseconds per step of each over ``--repeats`` pairs and the
median of the pairs' ratios gdjax / Optax. A control row per problem times
Optax's Adam against itself: its distance from 1 is the noise of the machine
(on a shared CPU it is several percent). The last line is the worst gdjax
ratio. Goal: every ratio <= 1.05.

L-BFGS's steps include its line search (the objective is evaluated as often
as the search asks, the same number of times for both libraries since their
trajectories agree); ``reduce_on_plateau`` is timed against Optax's Adam
followed by a constant scale (the plateau's scale moves only at
``end_of_epoch``, outside the step).

Run:  python experiments/bench_optim.py [--repeats 7] [--quick]
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import time
from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np
import optax

import gdjax.optim as optim

OPTIMIZERS: dict[str, tuple[Callable[[], object], Callable[[], object]]] = {
    "sgd": (lambda: optim.sgd(0.01), lambda: optax.sgd(0.01)),
    "sgd momentum": (lambda: optim.sgd(0.01, momentum=0.9), lambda: optax.sgd(0.01, momentum=0.9)),
    "sgd nesterov": (
        lambda: optim.sgd(0.01, momentum=0.9, nesterov=True),
        lambda: optax.sgd(0.01, momentum=0.9, nesterov=True),
    ),
    "adagrad": (lambda: optim.adagrad(0.01), lambda: optax.adagrad(0.01)),
    "rmsprop": (lambda: optim.rmsprop(0.001), lambda: optax.rmsprop(0.001)),
    "rmsprop centered+mom": (
        lambda: optim.rmsprop(0.001, centered=True, momentum=0.9),
        lambda: optax.rmsprop(0.001, centered=True, momentum=0.9),
    ),
    "adam": (lambda: optim.adam(0.001), lambda: optax.adam(0.001)),
    "nadam": (lambda: optim.nadam(0.001), lambda: optax.nadam(0.001)),
    "adamw": (lambda: optim.adamw(0.001, weight_decay=0.01), lambda: optax.adamw(0.001, weight_decay=0.01)),
    "adam cosine+clip": (
        lambda: optim.chain(optim.clip_by_global_norm(1.0), optim.adam(optim.cosine_decay_schedule(1e-3, 1000))),
        lambda: optax.chain(optax.clip_by_global_norm(1.0), optax.adam(optax.cosine_decay_schedule(1e-3, 1000))),
    ),
    "amsgrad": (lambda: optim.amsgrad(0.001), lambda: optax.amsgrad(0.001)),
    "adamax": (lambda: optim.adamax(0.001), lambda: optax.adamax(0.001)),
    "adamaxw": (lambda: optim.adamaxw(0.001), lambda: optax.adamaxw(0.001)),
    "radam": (lambda: optim.radam(0.001), lambda: optax.radam(0.001)),
    "adadelta": (lambda: optim.adadelta(1.0), lambda: optax.adadelta(1.0)),
    "lion": (lambda: optim.lion(1e-4), lambda: optax.lion(1e-4)),
    "lamb": (lambda: optim.lamb(0.001), lambda: optax.lamb(0.001)),
    "lars": (lambda: optim.lars(0.01), lambda: optax.lars(0.01)),
    "adafactor": (lambda: optim.adafactor(0.01), lambda: optax.adafactor(0.01)),
    "sign_sgd": (lambda: optim.sign_sgd(0.001), lambda: optax.sign_sgd(0.001)),
    "signum": (lambda: optim.signum(0.001), lambda: optax.signum(0.001)),
    "adam multi_steps k=4": (
        lambda: optim.multi_steps(optim.adam(0.001), 4),
        lambda: optax.MultiSteps(optax.adam(0.001), 4).gradient_transformation(),
    ),
    # Optax's contrib.reduce_on_plateau reads a value at every update: here both get value=loss-free
    # constant scales (gdjax's moves only at end_of_epoch, never inside the step).
    "adam reduce_on_plateau": (
        lambda: optim.reduce_on_plateau(optim.adam(0.001)),
        lambda: optax.chain(optax.adam(0.001), optax.scale(1.0)),
    ),
}

# Updates that need the objective: timed with the line search's extra arguments.
NEEDS_VALUE = {"lbfgs": (lambda: optim.lbfgs(), lambda: optax.lbfgs())}
OPTIMIZERS.update(NEEDS_VALUE)


# Noise floor: Optax's Adam against itself (two separately compiled, identical programs).
CONTROL = "control: optax adam x2"


def mlp_problem():
    rng = np.random.default_rng(0)
    x = jnp.asarray(rng.normal(size=(256, 10)), jnp.float32)
    y = jnp.asarray(rng.normal(size=(256, 1)), jnp.float32)
    sizes = [10, 64, 64, 1]
    params = [
        {"w": jnp.asarray(rng.normal(size=(a, b)) / np.sqrt(a), jnp.float32), "b": jnp.zeros(b, jnp.float32)}
        for a, b in itertools.pairwise(sizes)
    ]

    def loss(params):
        h = x
        for layer in params[:-1]:
            h = jnp.tanh(h @ layer["w"] + layer["b"])
        out = h @ params[-1]["w"] + params[-1]["b"]
        return jnp.mean((out - y) ** 2)

    return params, jax.grad(loss), loss


def big_problem():
    rng = np.random.default_rng(1)
    shapes = [(512, 256), (256,), (256, 1024), (1024,), (1024, 512), (512,), (512, 256), (256,)]
    params = {f"leaf{i}": jnp.asarray(rng.normal(size=s), jnp.float32) for i, s in enumerate(shapes)}
    loss = lambda p: 0.5 * sum(jnp.sum((x - 1.0) ** 2) for x in jax.tree.leaves(p))
    return params, jax.grad(loss), loss


def make_run(opt, grad_fn, apply_updates, steps, value_fn=None):
    @jax.jit
    def run(params):
        def step(carry, _):
            p, s = carry
            if value_fn is None:
                updates, s = opt.update(grad_fn(p), s, p)
            else:
                value, grad = jax.value_and_grad(value_fn)(p)
                updates, s = opt.update(grad, s, p, value=value, grad=grad, value_fn=value_fn)
            return (apply_updates(p, updates), s), None

        (params, state), _ = jax.lax.scan(step, (params, opt.init(params)), None, length=steps)
        return params, state

    return run


def timed(run, params) -> float:
    start = time.perf_counter()
    jax.block_until_ready(run(params))
    return time.perf_counter() - start


def bench(problem, steps, repeats, names):
    params, grad_fn, loss_fn = problem()
    rows = []
    for name in names:
        if name == CONTROL:
            ours_factory = optax_factory = OPTIMIZERS["adam"][1]
        else:
            ours_factory, optax_factory = OPTIMIZERS[name]
        value_fn = loss_fn if name in NEEDS_VALUE else None
        ours = make_run(ours_factory(), grad_fn, optim.apply_updates, steps, value_fn)
        theirs = make_run(optax_factory(), grad_fn, optax.apply_updates, steps, value_fn)
        timed(ours, params), timed(theirs, params)  # compile and warm up
        t_ours, t_theirs = [], []
        for r in range(repeats):
            # Back-to-back pairs, alternating which goes first, so that load from
            # other processes hits both alike; the ratio is the median of the pairs'.
            if r % 2 == 0:
                t_ours.append(timed(ours, params))
                t_theirs.append(timed(theirs, params))
            else:
                t_theirs.append(timed(theirs, params))
                t_ours.append(timed(ours, params))
        ratio = statistics.median(a / b for a, b in zip(t_ours, t_theirs))
        us = 1e6 / steps
        rows.append((name, statistics.median(t_ours) * us, statistics.median(t_theirs) * us, ratio))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=11, help="timed pairs of runs per optimizer (>= 5)")
    parser.add_argument("--quick", action="store_true", help="three optimizers, fewer steps (a smoke run)")
    parser.add_argument("--only", nargs="+", choices=sorted(OPTIMIZERS), metavar="NAME", help="these optimizers only")
    parser.add_argument("--problem", choices=["mlp", "1M"], help="this problem only")
    args = parser.parse_args()
    if args.repeats < 5:
        parser.error(f"--repeats must be >= 5; got {args.repeats}")
    names = args.only or (["sgd momentum", "rmsprop", "adam"] if args.quick else list(OPTIMIZERS))
    names = [*names, CONTROL]
    problems = [("mlp", mlp_problem, 100 if args.quick else 400), ("1M", big_problem, 10 if args.quick else 100)]
    problems = [p for p in problems if args.problem in (None, p[0])]

    print(
        f"jax {jax.__version__}, optax {optax.__version__}, backend {jax.default_backend()}, "
        f"{jax.device_count()} device(s); medians of {args.repeats} pairs of runs"
    )
    header = f"{'problem':<8} {'optimizer':<22} {'gdjax us/step':>14} {'optax us/step':>14} {'ratio':>7}"
    print(header)
    print("-" * len(header))
    worst = ("", "", 0.0)
    for label, problem, steps in problems:
        for name, ours, theirs, ratio in bench(problem, steps, args.repeats, names):
            print(f"{label:<8} {name:<22} {ours:>14.1f} {theirs:>14.1f} {ratio:>7.3f}")
            if name != CONTROL and ratio > worst[2]:
                worst = (label, name, ratio)
    print(f"worst ratio gdjax/optax: {worst[2]:.3f} ({worst[0]}, {worst[1]}; goal <= 1.05)")


if __name__ == "__main__":
    main()

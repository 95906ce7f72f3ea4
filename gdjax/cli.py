"""The ``gdjax`` command."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence


def _demo(args: argparse.Namespace) -> int:
    """Gradient descent on the course's ``g(w) = (w^4 + w^2 + 10 w) / 50`` from ``w = 2.5``."""
    import jax
    import jax.numpy as jnp

    g = lambda w: (w**4 + w**2 + 10 * w) / 50
    grad = jax.jit(jax.grad(g))
    w = jnp.float32(args.start)
    print(f"gradient descent on g(w) = (w^4 + w^2 + 10w)/50, learning rate {args.learning_rate}")
    print(f"{'step':>5} {'w':>12} {'g(w)':>12} {'g_prime(w)':>12}")
    for step in range(args.steps + 1):
        if step % args.every == 0 or step == args.steps:
            print(f"{step:5d} {float(w):12.6f} {float(g(w)):12.6f} {float(grad(w)):12.6f}")
        w = w - args.learning_rate * grad(w)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="gdjax", description="Gradient-descent studies in JAX.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    demo = commands.add_parser("demo", help="gradient descent on the course's g(w), printing the iterates")
    demo.add_argument("--start", type=float, default=2.5, help="starting point w0 (default 2.5)")
    demo.add_argument("--learning-rate", type=float, default=1.0, help="step size (default 1.0)")
    demo.add_argument("--steps", type=int, default=60, help="number of steps (default 60)")
    demo.add_argument("--every", type=int, default=5, help="print every k-th iterate (default 5)")
    demo.set_defaults(handler=_demo)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.handler(args)


if __name__ == "__main__":
    sys.exit(main())

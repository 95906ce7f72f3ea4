"""The ``gdjax`` command: list, run and report the course's studies.

gdjax list                                  the studies and their questions
gdjax run STUDY [STUDY ...] [--quick] [--out DIR] [--seed N]
gdjax run all | headline                    every study, or the three headline ones
gdjax report [--out DIR]                    OUT/REPORT.md from the studies' sections
gdjax demo                                  gradient descent on the course's g(w)
"""

from __future__ import annotations

import argparse
import difflib
import math
import os
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from gdjax.studies import HEADLINE, get_study, run_study, study_names, write_report
from gdjax.train import enable_compilation_cache

DEFAULT_OUT = "out"


def _list(args: argparse.Namespace) -> int:
    names = study_names()
    width = max((len(n) for n in names), default=0)
    for name in names:
        mark = "*" if name in HEADLINE else " "
        print(f"{mark} {name:<{width}}  {get_study(name).question}")
    print("\n* headline studies (`gdjax run headline`)")
    return 0


def _expand(parser: argparse.ArgumentParser, names: Sequence[str]) -> list[str]:
    chosen: list[str] = []
    for name in names:
        group = study_names() if name == "all" else list(HEADLINE) if name == "headline" else [name]
        for study in group:
            if study not in study_names():
                choices = ["all", "headline", *study_names()]
                close = difflib.get_close_matches(study, choices, n=1)
                hint = f"did you mean {close[0]!r}? " if close else ""
                parser.error(f"unknown study {study!r}; {hint}choose from: {', '.join(choices)}")
            if study not in chosen:
                chosen.append(study)
    return chosen


def _unwritable(out: Path) -> str | None:
    """Why ``out`` cannot take the studies' files (the OS's reason, lower-cased), or None when it can.

    Creates the folder (and its parents) as the studies would, then creates and
    removes a temporary file in it.
    """
    try:
        if out.exists() and not out.is_dir():
            return "not a directory"
        out.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=out):
            pass
    except OSError as error:
        reason = error.strerror or str(error)
        return reason[:1].lower() + reason[1:]
    return None


def _run(args: argparse.Namespace) -> int:
    names = _expand(args.parser, args.studies)
    out = Path(args.out)
    reason = _unwritable(out)
    if reason is not None:
        print(f"cannot write to {os.fspath(out)}: {reason}", file=sys.stderr)
        return 2
    if not args.no_cache:
        enable_compilation_cache()
    failed = []
    for name in names:
        mode = "quick" if args.quick else "full"
        print(f"[{name}] running ({mode}, seed {args.seed}) -> {out / name}", flush=True)
        start = time.perf_counter()
        record = run_study(get_study(name), out, quick=args.quick, seed=args.seed, progress=not args.no_progress)
        seconds = time.perf_counter() - start
        if record["status"] == "failed":
            failed.append(name)
            print(f"[{name}] FAILED after {seconds:.1f} s: {record['error']}", flush=True)
            continue
        print(f"[{name}] done in {seconds:.1f} s", flush=True)
        for expected in record.get("expected", []):
            print(f"[{name}]   expected: {expected}", flush=True)
        for failure in record.get("failures", []):
            print(f"[{name}]   diverged/failed: {failure}", flush=True)
    if failed:
        print(f"{len(failed)} of {len(names)} studies failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


def _report(args: argparse.Namespace) -> int:
    try:
        path, names = write_report(Path(args.out), study_names())
    except FileNotFoundError as error:
        print(f"gdjax report: {error}", file=sys.stderr)
        return 1
    print(f"wrote {path} ({len(names)} studies: {', '.join(names)})")
    return 0


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


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer; got {text!r}")
    return value


def _nonnegative_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be a non-negative integer; got {text!r}")
    return value


def _seed(text: str) -> int:
    # Studies derive many keys from the seed (1000 * seed + i and the like): keep them far from int64's end.
    try:
        value = int(text)
    except ValueError:
        value = -1
    if not 0 <= value < 2**32:
        raise argparse.ArgumentTypeError(f"must be an integer in [0, 2**32); got {text!r}")
    return value


def _finite_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"must be a finite number; got {text!r}")
    return value


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"must be a finite positive number; got {text!r}")
    return value


def _add_run_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--quick", action="store_true", help="small sizes: at most a minute a study on 2 CPU cores")
    parser.add_argument("--out", default=DEFAULT_OUT, help=f"output folder (default ./{DEFAULT_OUT})")
    parser.add_argument("--seed", type=_seed, default=0, help="seed of every PRNG key, in [0, 2**32) (default 0)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    parser.add_argument(
        "--no-cache",
        action="store_true",
        help="do not keep compiled programs on disk (default: JAX's persistent compilation cache in "
        "$GDJAX_CACHE or ~/.cache/gdjax/jax, so a second run skips most compilation)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="gdjax", description="Gradient-descent studies in JAX.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    listing = commands.add_parser("list", help="list the studies with the question each answers")
    listing.set_defaults(handler=_list)

    run = commands.add_parser("run", help="run studies: names, 'headline' or 'all'")
    run.add_argument("studies", nargs="+", metavar="STUDY", help="a study name, 'headline' or 'all'")
    _add_run_options(run)
    run.set_defaults(handler=_run, parser=run)

    report = commands.add_parser("report", help="assemble OUT/REPORT.md from the studies run")
    report.add_argument("--out", default=DEFAULT_OUT, help=f"output folder (default ./{DEFAULT_OUT})")
    report.set_defaults(handler=_report)

    demo = commands.add_parser("demo", help="gradient descent on the course's g(w), printing the iterates")
    demo.add_argument("--start", type=_finite_float, default=2.5, help="starting point w0 (default 2.5)")
    demo.add_argument("--learning-rate", type=_positive_float, default=1.0, help="step size > 0 (default 1.0)")
    demo.add_argument("--steps", type=_nonnegative_int, default=60, help="number of steps >= 0 (default 60)")
    demo.add_argument("--every", type=_positive_int, default=5, help="print every k-th iterate, k >= 1 (default 5)")
    demo.set_defaults(handler=_demo)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.handler(args)


def study_script(name: str, argv: Sequence[str] | None = None) -> int:
    """Entry point of ``experiments/NAME.py``: the same code as ``gdjax run NAME``."""
    parser = argparse.ArgumentParser(prog=f"experiments/{name}.py", description=get_study(name).question)
    _add_run_options(parser)
    args = parser.parse_args(argv)
    args.studies, args.parser = [name], parser
    return _run(args)


if __name__ == "__main__":
    sys.exit(main())

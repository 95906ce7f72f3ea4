"""Helpers of ``experiments/colab.ipynb``: sizes per backend, device report, figures.

The notebook runs the same code on a CPU, a GPU or a TPU (one chip or a
slice): the only thing that changes is the size of each experiment, chosen
here from the backend JAX found (``SCALE = "auto"``) or named explicitly. The
heavy lifting is :mod:`gdjax.restarts`, which shards its runs over every
device; :func:`device_tile` picks a tile size so that each device gets whole
tiles and nothing is padded when the work divides evenly.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from gdjax._checks import check_choice, check_int


class Sizes(NamedTuple):
    """How big each experiment of the notebook runs.

    Attributes:
      starts: random starts per 2-D test function.
      max_steps: step budget of one 2-D minimisation.
      heart_restarts: trainings of the heart disease network.
      heart_epochs: epochs of each of those trainings.
      sweep_rates: learning rates in the momentum sweep (log-spaced).
      sweep_momenta: momenta in the momentum sweep (and in the escape curve).
      sweep_starts: starting points per grid point of the sweep.
      escape_starts: starts per momentum and function in the escape curve.
      tile_cap: at most this many runs vectorised together on one device.
      studies_quick: run the ``gdjax`` studies in quick mode.
    """

    starts: int
    max_steps: int
    heart_restarts: int
    heart_epochs: int
    sweep_rates: int
    sweep_momenta: int
    sweep_starts: int
    escape_starts: int
    tile_cap: int
    studies_quick: bool


#: Named scales. ``accelerator`` is what a Colab TPU v5e chip or one GPU runs
#: in a few minutes; ``cpu`` a few minutes on a laptop; ``tiny`` is the test's.
SCALES: dict[str, Sizes] = {
    "accelerator": Sizes(65_536, 2000, 4096, 60, 48, 48, 128, 8192, 8192, False),
    "cpu": Sizes(4096, 1000, 256, 40, 16, 16, 32, 512, 1024, True),
    "tiny": Sizes(256, 1000, 8, 3, 4, 4, 4, 32, 256, True),
}
ACCELERATORS = ("tpu", "gpu", "cuda", "rocm")


def notebook_sizes(scale: str = "auto", backend: str | None = None, **overrides: Any) -> Sizes:
    """The sizes of ``scale``: ``"auto"`` is ``"accelerator"`` on a TPU or GPU and ``"cpu"`` otherwise.

    Args:
      scale: ``"auto"`` or a name in :data:`SCALES`.
      backend: the JAX backend (default ``jax.default_backend()``), for ``"auto"``.
      overrides: fields of :class:`Sizes` to change, e.g. ``starts=1_000_000``.
    """
    check_choice("scale", scale, ("auto", *SCALES))
    if scale == "auto":
        if backend is None:
            import jax

            backend = jax.default_backend()
        scale = "accelerator" if backend.lower() in ACCELERATORS else "cpu"
    unknown = set(overrides) - set(Sizes._fields)
    if unknown:
        raise ValueError(f"overrides must name fields of Sizes ({', '.join(Sizes._fields)}); got {sorted(unknown)}.")
    for name, value in overrides.items():
        if name != "studies_quick":
            check_int(name, value, minimum=1)
    return SCALES[scale]._replace(**overrides)


def device_report() -> dict[str, Any]:
    """``{"backend", "device_count", "devices"}`` as JAX sees them (every process's devices)."""
    import jax

    return {
        "backend": jax.default_backend(),
        "device_count": jax.device_count(),
        "devices": [f"{d.platform}:{d.id} {getattr(d, 'device_kind', '')}".strip() for d in jax.devices()],
    }


def device_tile(num_runs: int, cap: int, num_devices: int | None = None) -> int:
    """A tile size for ``num_runs`` runs over the devices: at most ``cap``, and one tile per device when they fit.

    :func:`gdjax.restarts.map_batched` pads the runs up to a multiple of
    ``tile x devices``; ``ceil(num_runs / devices)`` (capped) keeps that
    padding below one tile per device.
    """
    num_runs = check_int("num_runs", num_runs, minimum=1)
    cap = check_int("cap", cap, minimum=1)
    if num_devices is None:
        import jax

        num_devices = jax.device_count()
    return max(1, min(cap, -(-num_runs // num_devices)))


def uniform_starts(key: Any, num: int, bounds: Sequence[float]) -> np.ndarray:
    """``num`` points drawn uniformly in the box ``(x_lo, x_hi, y_lo, y_hi)``, shape ``(num, 2)``."""
    import jax

    x_lo, x_hi, y_lo, y_hi = (float(b) for b in bounds)
    low, high = np.array([x_lo, y_lo], np.float32), np.array([x_hi, y_hi], np.float32)
    return np.asarray(jax.random.uniform(key, (check_int("num", num, minimum=1), 2), minval=low, maxval=high))


def run_studies(names: Sequence[str], out: str | Path, *, quick: bool, seed: int = 0) -> list[dict[str, Any]]:
    """Runs the named ``gdjax`` studies into ``out`` and shows each section with its figures.

    A name that is no study is reported and skipped; a study that fails is
    reported with its error (``gdjax.studies.run_study`` records it).
    Returns the summary of each study that ran.
    """
    from gdjax.studies import get_study, run_study, study_names

    records = []
    for name in names:
        if name not in study_names():
            print(f"[{name}] is not a study; choose from: {', '.join(study_names())}")
            continue
        study = get_study(name)
        print(f"[{name}] running ({'quick' if quick else 'full'}, seed {seed}) -> {Path(out) / name}", flush=True)
        record = run_study(study, Path(out), quick=quick, seed=seed)
        if record["status"] == "failed":
            print(f"[{name}] FAILED: {record['error']}")
        else:
            print(f"[{name}] done in {record['seconds']:.1f} s")
            _show_section(Path(out) / name)
        records.append(record)
    return records


def _show_section(folder: Path) -> None:
    """Displays a study's ``section.md`` with its images inline (in IPython; prints elsewhere)."""
    text = (folder / "section.md").read_text()
    try:
        from IPython.display import Image, Markdown, display
    except ImportError:
        print(text)
        return
    for line in text.splitlines():
        if line.startswith("![") and "](" in line:
            image = folder / line[line.index("](") + 2 : line.rindex(")")]
            if image.exists():
                display(Image(filename=str(image)))
    display(Markdown(text))


# ---------------------------------------------------------------- figures


def _grid(fun: Callable[[Any], Any], bounds: Sequence[float], resolution: int):
    import jax
    import jax.numpy as jnp

    x_lo, x_hi, y_lo, y_hi = bounds
    xs, ys = np.linspace(x_lo, x_hi, resolution), np.linspace(y_lo, y_hi, resolution)
    xx, yy = np.meshgrid(xs, ys)
    points = jnp.asarray(np.stack([xx.ravel(), yy.ravel()], axis=1), jnp.float32)
    zz = np.asarray(jax.vmap(fun)(points)).reshape(xx.shape)
    return xx, yy, zz


def plot_restarts(
    problems: Mapping[str, Any],
    results: Mapping[str, Any],
    successes: Mapping[str, np.ndarray],
    *,
    max_points: int = 4000,
):
    """Per function: its contours with the final points (found the global minimum or not); then best-of-k.

    ``problems[name]`` has ``fun`` and ``bounds``; ``results[name]`` is a
    :class:`gdjax.train.MinimizeResult` of many starts; ``successes[name]``
    says which of them reached the global minimum.
    """
    import matplotlib.pyplot as plt

    from gdjax.restarts import best_of_k_table, success_rate

    n = len(problems)
    fig, axes = plt.subplots(1, n + 1, figsize=(4.2 * (n + 1), 4.0), constrained_layout=True)
    for ax, (name, problem) in zip(axes, problems.items()):
        xx, yy, zz = _grid(problem.fun, problem.bounds, 160)
        levels = np.quantile(zz, np.linspace(0, 1, 25))
        ax.contour(xx, yy, zz, levels=np.unique(levels), cmap="Greys", linewidths=0.6)
        x, ok = np.asarray(results[name].x), np.asarray(successes[name], bool)
        show = np.arange(x.shape[0])[:max_points]
        ax.scatter(*x[show][~ok[show]].T, s=6, c="tab:red", alpha=0.5, label="local minimum")
        ax.scatter(*x[show][ok[show]].T, s=6, c="tab:green", alpha=0.7, label="global minimum")
        rate = success_rate(ok)
        ax.set_title(f"{name}: p = {rate.p:.3f} [{rate.low:.3f}, {rate.high:.3f}]", fontsize=10)
        ax.set_xlabel("x")
        ax.set_ylabel("y")
        ax.set_xlim(problem.bounds[0], problem.bounds[1])
        ax.set_ylim(problem.bounds[2], problem.bounds[3])
    axes[0].legend(loc="upper right", fontsize=8, markerscale=2)
    ax = axes[-1]
    for name in problems:
        table = best_of_k_table(successes[name])
        ax.plot(table["k"], table["measured"], "o-", ms=3, label=f"{name} measured")
        ax.plot(table["k"], table["theory"], "--", color=ax.lines[-1].get_color(), alpha=0.6)
    ax.set_xscale("log", base=2)
    ax.set_ylim(-0.02, 1.02)
    ax.set_xlabel("number of random starts k")
    ax.set_ylabel("P(at least one finds the global minimum)")
    ax.set_title("best of k (dashed: 1 - (1 - p)^k)", fontsize=10)
    ax.legend(fontsize=8)
    return fig


def sweep_steps(result: Any) -> np.ndarray:
    """Median steps to converge at each grid point of a minimisation sweep (NaN where most runs did not)."""
    from gdjax.train import CONVERGED

    steps = np.where(np.asarray(result.status) == CONVERGED, np.asarray(result.num_steps, float), np.nan)
    converged = np.mean(np.isfinite(steps), axis=-1)
    with np.errstate(all="ignore"):
        median = np.nanmedian(np.where(np.isfinite(steps), steps, np.inf), axis=-1)
    return np.where(converged >= 0.5, median, np.nan)


def plot_momentum_sweep(
    rates: np.ndarray,
    momenta: np.ndarray,
    steps: np.ndarray,
    *,
    best: tuple[float, float] | None = None,
    title: str = "",
):
    """Heat map of the steps to converge over (learning rate, momentum); blank where it did not converge."""
    import matplotlib.pyplot as plt
    from matplotlib.colors import LogNorm

    fig, ax = plt.subplots(figsize=(6.4, 4.8), constrained_layout=True)
    finite = steps[np.isfinite(steps)]
    norm = LogNorm(vmin=max(1.0, finite.min()), vmax=max(2.0, finite.max())) if finite.size else None
    mesh = ax.pcolormesh(momenta, rates, np.ma.masked_invalid(steps), shading="nearest", cmap="viridis_r", norm=norm)
    fig.colorbar(mesh, ax=ax, label="median steps to converge (blank: did not)")
    if best is not None:
        ax.plot(best[1], best[0], "r*", ms=14, label="theory's optimum")
        ax.legend(loc="lower left", fontsize=8)
    ax.set_yscale("log")
    ax.set_xlabel("momentum μ")
    ax.set_ylabel("learning rate η")
    ax.set_title(title, fontsize=10)
    return fig


def plot_escape(momenta: np.ndarray, rates: Mapping[str, Sequence[Any]]):
    """Share of starts reaching the global minimum against the momentum, with Wilson 95% bands."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 4.2), constrained_layout=True)
    for name, per_momentum in rates.items():
        p = np.array([r.p for r in per_momentum])
        low, high = np.array([r.low for r in per_momentum]), np.array([r.high for r in per_momentum])
        ax.plot(momenta, p, "o-", ms=3, label=name)
        ax.fill_between(momenta, low, high, alpha=0.2, color=ax.lines[-1].get_color())
    ax.set_xlabel("momentum μ")
    ax.set_ylabel("P(one start finds the global minimum)")
    ax.set_ylim(-0.02, 1.02)
    ax.set_title("does momentum escape local minima?", fontsize=10)
    ax.legend(fontsize=8)
    return fig


def plot_heart_restarts(result: Any, num_held_out: int, *, metric: str = "accuracy"):
    """Held-out accuracy (of ``num_held_out`` examples) of every restart (histogram) and the validation loss curves of a few."""
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.0), constrained_layout=True)
    ok = ~np.asarray(result.diverged)
    accuracy = np.asarray(result.final_val_metrics[metric])[ok]
    # one bar per attainable value k / m (m held-out examples), centred on it
    m = check_int("num_held_out", num_held_out, minimum=1)
    counts = np.round(accuracy * m)
    left.hist(accuracy, bins=(np.arange(counts.min(), counts.max() + 2) - 0.5) / m, color="tab:blue", edgecolor="white")
    left.set_xlabel(f"held-out {metric} ({m} examples)")
    left.set_ylabel("restarts")
    left.set_title(f"{int(ok.sum())} restarts, median {np.median(accuracy):.3f}", fontsize=10)
    val_loss = np.asarray(result.history.val_loss)[ok]
    epochs = np.arange(1, val_loss.shape[-1] + 1)
    for curve in val_loss[: min(50, len(val_loss))]:
        right.plot(epochs, curve, color="tab:blue", alpha=0.15, lw=0.8)
    right.plot(epochs, np.median(val_loss, axis=0), color="black", lw=2, label="median over restarts")
    right.set_xlabel("epoch")
    right.set_ylabel("validation loss")
    right.set_title("validation loss of the first 50 restarts", fontsize=10)
    right.legend(fontsize=8)
    return fig

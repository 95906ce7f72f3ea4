"""What only ``experiments/colab.ipynb`` needs: its sizes per backend, tiles per device, its figures, the studies shown.

The notebook runs the same code on a CPU, a GPU or a TPU (one chip or a
slice): the only thing that changes is the size of each experiment, chosen
here from the backend JAX found (``SCALE = "auto"``) or named explicitly. The
heavy lifting is :mod:`gdjax.restarts`, which shards its runs over every
device; :func:`device_tile` picks a tile size so that each device gets whole
tiles. Everything else comes from gdjax itself: the test functions and their
starts (:mod:`gdjax.functions`), the landscapes and best-of-k panels
(:mod:`gdjax.plot`), the studies and their registry (:mod:`gdjax.studies`).

The notebook imports this file from the ``experiments`` folder of the gdjax
checkout it runs from (the repository cloned on Colab, or this one under the
tests).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from gdjax import plot
from gdjax.functions import TestFunction
from gdjax.restarts import SuccessRate, best_of_k_table, success_rate


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


def _positive_int(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be an integer >= 1; got {value!r}.")
    return int(value)


def notebook_sizes(scale: str = "auto", backend: str | None = None, **overrides: Any) -> Sizes:
    """The sizes of ``scale``: ``"auto"`` is ``"accelerator"`` on a TPU or GPU and ``"cpu"`` otherwise.

    Args:
      scale: ``"auto"`` or a name in :data:`SCALES`.
      backend: the JAX backend (default ``jax.default_backend()``), for ``"auto"``.
      overrides: fields of :class:`Sizes` to change, e.g. ``starts=1_000_000``.
    """
    if scale not in ("auto", *SCALES):
        raise ValueError(f"scale must be one of {', '.join(map(repr, ('auto', *SCALES)))}; got {scale!r}.")
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
            _positive_int(name, value)
    return SCALES[scale]._replace(**overrides)


def device_tile(num_runs: int, cap: int, num_devices: int | None = None) -> int:
    """A tile size for ``num_runs`` runs over the devices: at most ``cap``, and one tile per device when they fit.

    :func:`gdjax.restarts.map_batched` pads the runs up to a multiple of
    ``tile x devices``; ``ceil(num_runs / devices)`` (capped) keeps that
    padding below one tile per device.
    """
    num_runs, cap = _positive_int("num_runs", num_runs), _positive_int("cap", cap)
    if num_devices is None:
        import jax

        num_devices = jax.device_count()
    return max(1, min(cap, -(-num_runs // num_devices)))


def sweep_steps(result: Any) -> np.ndarray:
    """Median steps to converge at each grid point of a minimisation sweep (NaN where most runs did not)."""
    from gdjax.train import CONVERGED

    steps = np.where(np.asarray(result.status) == CONVERGED, np.asarray(result.num_steps, float), np.nan)
    converged = np.mean(np.isfinite(steps), axis=-1)
    with np.errstate(all="ignore"):
        median = np.nanmedian(np.where(np.isfinite(steps), steps, np.inf), axis=-1)
    return np.where(converged >= 0.5, median, np.nan)


# ---------------------------------------------------------------- the studies


def run_studies(names: Sequence[str], out: str | Path, *, quick: bool, seed: int = 0) -> list[dict[str, Any]]:
    """Runs the named ``gdjax`` studies into ``out`` and shows each section with its figures.

    A name that is no study is reported (with the registry's suggestion) and
    skipped; a study that fails is reported with its error
    (:func:`gdjax.studies.run_study` records it). Returns the summary of each
    study that ran.
    """
    from gdjax.studies import get_study, run_study

    records = []
    for name in names:
        try:
            study = get_study(name)
        except ValueError as error:  # the registry's message: unknown, the closest name, the choices
            print(f"[{name}] skipped: {error}")
            continue
        print(f"[{name}] running ({'quick' if quick else 'full'}, seed {seed}) -> {Path(out) / name}", flush=True)
        record = run_study(study, Path(out), quick=quick, seed=seed)
        if record["status"] == "failed":
            print(f"[{name}] FAILED: {record['error']}")
        else:
            print(f"[{name}] done in {record['seconds']:.1f} s")
            show_section(Path(out) / name)
        records.append(record)
    return records


def show_section(folder: Path) -> None:
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


def plot_restarts(
    functions: Mapping[str, TestFunction],
    starts: Mapping[str, np.ndarray],
    successes: Mapping[str, np.ndarray],
    *,
    max_points: int = 4000,
):
    """Per function: its landscape with the starts coloured by where they end (a global minimum or not); then
    best-of-k, measured against theory.

    ``starts[name]`` are the starting points of the runs on ``functions[name]``
    and ``successes[name]`` says which ended at the global minimum: the colours
    map the basin of the global minimum. Best-of-k is measured on disjoint
    groups of runs (:func:`gdjax.restarts.best_of_k_table`, drawn by
    :func:`gdjax.plot.best_of_k`).
    """
    fig, axes = plot.figure(1, len(functions) + 1, width=4.2, height=4.0)
    axes = axes[0]
    for ax, (name, function) in zip(axes, functions.items()):
        plot.landscape(ax, function)
        x, ok = np.asarray(starts[name])[:max_points], np.asarray(successes[name], bool)[:max_points]
        ax.scatter(*x[~ok].T, s=4, color=plot.COLORS[3], alpha=0.7, lw=0, zorder=4, label="ends in a local minimum")
        ax.scatter(*x[ok].T, s=4, color="white", alpha=0.9, lw=0, zorder=4, label="ends in a global minimum")
        rate = success_rate(successes[name])
        ax.set_title(f"{function.title}: p = {rate.p:.3f} [{rate.low:.3f}, {rate.high:.3f}]", fontsize=10)
    shown = [(h, label) for h, label in zip(*axes[0].get_legend_handles_labels()) if label.startswith("ends")]
    handles, labels = zip(*shown)
    fig.legend(
        handles,
        labels,
        loc="outside lower center",
        ncol=len(labels),
        fontsize=8,
        markerscale=3,
        facecolor="0.85",
        title="starts, coloured by where gradient descent takes them (star: a global minimum)",
        title_fontsize=8,
    )
    plot.best_of_k(axes[-1], {functions[name].title: best_of_k_table(ok) for name, ok in successes.items()})
    axes[-1].legend(fontsize=8, loc="lower right")
    axes[-1].set_title("best of k (disjoint groups of k starts)", fontsize=10)
    return fig


def plot_momentum_sweep(rates: np.ndarray, momenta: np.ndarray, steps: np.ndarray, *, best=None, title: str = ""):
    """Heat map of the steps to converge over (learning rate, momentum); blank where most runs did not converge."""
    from matplotlib.colors import LogNorm

    fig, axes = plot.figure(1, 1, width=6.4, height=4.8)
    ax = axes[0, 0]
    finite = steps[np.isfinite(steps)]
    norm = LogNorm(vmin=max(1.0, finite.min()), vmax=max(2.0, finite.max())) if finite.size else None
    mesh = ax.pcolormesh(momenta, rates, np.ma.masked_invalid(steps), shading="nearest", cmap="viridis_r", norm=norm)
    fig.colorbar(mesh, ax=ax, label="median steps to converge (blank: did not)")
    if best is not None:
        ax.plot(best[1], best[0], "r*", ms=14, label="theory's optimum")
        ax.legend(loc="upper left", bbox_to_anchor=(0.0, -0.12), fontsize=8, frameon=False)
    ax.set(yscale="log", xlabel="momentum μ", ylabel="learning rate η")
    ax.set_title(title, fontsize=10)
    return fig


def plot_escape(momenta: np.ndarray, rates: Mapping[str, Sequence[SuccessRate]]):
    """Share of starts reaching the global minimum against the momentum, with Wilson 95% bands."""
    fig, axes = plot.figure(1, 1, width=6.4, height=4.2)
    ax = axes[0, 0]
    for i, (name, per_momentum) in enumerate(rates.items()):
        p = np.array([r.p for r in per_momentum])
        low, high = np.array([r.low for r in per_momentum]), np.array([r.high for r in per_momentum])
        ax.plot(momenta, p, "o-", ms=3, color=plot.COLORS[i], label=name)
        ax.fill_between(momenta, low, high, alpha=0.2, color=plot.COLORS[i], lw=0)
    ax.set(xlabel="momentum μ", ylabel="P(one start finds the global minimum)", ylim=(-0.02, 1.02))
    ax.set_title("does momentum escape local minima?", fontsize=10)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    ax.grid(alpha=0.3)
    return fig


def plot_heart_restarts(result: Any, test_accuracy: np.ndarray, num_test: int, *, majority: float):
    """The test accuracy of every restart (one bar per attainable value) beside the majority class, and the
    validation loss of the restarts (median and 10-90% band)."""
    fig, axes = plot.figure(1, 2, width=5.4, height=4.0)
    left, right = axes[0]
    accuracy = np.asarray(test_accuracy)
    counts = np.round(accuracy * num_test)
    bins = (np.arange(counts.min(), counts.max() + 2) - 0.5) / num_test
    left.hist(accuracy, bins=bins, color=plot.COLORS[0], edgecolor="white")
    left.axvline(majority, color="0.3", ls="--", lw=1.2, label=f"majority class ({majority:.3f})")
    left.set(xlabel=f"test accuracy ({num_test} patients)", ylabel="restarts")
    left.yaxis.get_major_locator().set_params(integer=True)
    left.set_title(f"{accuracy.size} restarts, median {np.median(accuracy):.3f}", fontsize=10)
    left.legend(fontsize=8, loc="upper left")
    val_loss = np.asarray(result.history.val_loss)[~np.asarray(result.diverged)]
    epochs = np.arange(1, val_loss.shape[-1] + 1)
    plot.median_band(right, epochs, val_loss, color=plot.COLORS[0], label="median over restarts (10-90%)")
    right.set(xlabel="epoch", ylabel="validation loss")
    right.set_title("validation loss of the restarts", fontsize=10)
    right.legend(fontsize=8)
    right.grid(alpha=0.3)
    return fig

"""Plots: learning curves, loss landscapes with trajectories, basins, best-of-k curves, spreads over restarts.

The one home of gdjax's plotting (``gdjax.train`` and ``gdjax.restarts`` draw
nothing themselves). Figures are plain ``matplotlib.figure.Figure`` objects,
never pyplot's: no global state and no GUI backend, so they work on headless
machines and in tests, and nothing is shown unless the caller does so. The
``plot_*`` functions make a whole figure (``path=`` also saves it); the
others draw on a given ``Axes``:

- :func:`plot_history`, :func:`plot_step_loss`: a training's learning curves;
- :func:`plot_lr_range`: a learning-rate range test (:func:`gdjax.train.lr_range_test`);
- :func:`plot_trajectory`: a :func:`gdjax.minimize` path over its function;
- :func:`figure`: a figure and a 2-D array of axes;
- :func:`landscape`, :func:`trajectory`: a test function of :mod:`gdjax.functions` and paths on it;
- :func:`basins`, :func:`cluster_endpoints`, :func:`basin_colors`: where restarts end;
- :func:`best_of_k`: best-of-k success, measured against ``1 - (1 - p)^k``;
- :func:`median_band`: the median over runs with a 10-90% band.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import matplotlib
import numpy as np
from matplotlib.colors import LogNorm
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from gdjax.functions import TestFunction, grid_values
from gdjax.train import History, LRRangeResult, MinimizeResult

#: Colours of the optimizers, basins and series: matplotlib's tab10, readable in print.
COLORS = matplotlib.colormaps["tab10"].colors
OTHER = "0.6"  # grey: everything past the first colours (other basins, diverged runs)


def _figure(**kwargs: Any) -> Figure:
    return Figure(layout="constrained", **kwargs)


def _save(figure: Figure, path: str | os.PathLike[str] | None) -> Figure:
    if path is not None:
        figure.savefig(path, dpi=100, bbox_inches="tight")
    return figure


def plot_history(
    history: History,
    *,
    metrics: Sequence[str] | None = None,
    learning_rate: bool = True,
    log_loss: bool = False,
    title: str | None = None,
    path: str | os.PathLike[str] | None = None,
) -> Figure:
    """Learning curves: one panel for the losses, one per metric, one for the learning rate.

    Training curves are solid, validation curves dashed, against the 1-based
    epoch (as Keras counts them). Non-finite entries (a diverged epoch) are
    left as gaps.

    Args:
      history: a :class:`History` (e.g. ``fit(...).history``).
      metrics: names of the metrics to plot (default: all recorded).
      learning_rate: add a panel for the learning rate when it was recorded.
      log_loss: logarithmic loss axis.
      title: figure title.
      path: if given, the figure is also saved there (PNG, PDF, SVG, ...).

    Returns:
      The matplotlib ``Figure``.
    """
    names = list(history.metrics) if metrics is None else list(metrics)
    for name in names:
        if name not in history.metrics:
            raise ValueError(f"metric {name!r} was not recorded; recorded: {sorted(history.metrics)}.")
    show_rate = learning_rate and history.learning_rate is not None
    panels = 1 + len(names) + int(show_rate)
    figure = _figure(figsize=(4.5 * panels, 3.5))
    axes = figure.subplots(1, panels, squeeze=False)[0]
    epochs = np.arange(1, history.num_epochs + 1)

    ax = axes[0]
    ax.plot(epochs, history.train_loss, label="training")
    if history.val_loss is not None:
        ax.plot(epochs, history.val_loss, "--", label="validation")
    ax.set(xlabel="epoch", ylabel="loss", title="loss")
    if log_loss:
        ax.set_yscale("log")
    ax.legend()
    for ax, name in zip(axes[1 : 1 + len(names)], names, strict=True):
        ax.plot(epochs, history.metrics[name], label="training")
        if name in history.val_metrics:
            ax.plot(epochs, history.val_metrics[name], "--", label="validation")
        ax.set(xlabel="epoch", ylabel=name, title=name)
        ax.legend()
    if show_rate:
        ax = axes[-1]
        ax.plot(epochs, history.learning_rate)
        ax.set(xlabel="epoch", ylabel="learning rate", title="learning rate")
    for ax in axes:
        ax.grid(alpha=0.3)
    if title is not None:
        figure.suptitle(title)
    return _save(figure, path)


def plot_step_loss(
    history: History,
    *,
    steps_per_epoch: int | None = None,
    log_loss: bool = False,
    title: str | None = None,
    path: str | os.PathLike[str] | None = None,
) -> Figure:
    """The objective at every step (iteration), optionally with epoch boundaries.

    Needs ``record_step_loss=True``. Stochastic and mini-batch gradient
    descent show the noisy descent the course contrasts with batch gradient
    descent.
    """
    if history.step_loss is None:
        raise ValueError("history has no step losses; train with record_step_loss=True.")
    figure = _figure(figsize=(6, 3.5))
    ax = figure.subplots()
    ax.plot(np.arange(len(history.step_loss)), history.step_loss, lw=0.8)
    if steps_per_epoch:
        for boundary in range(steps_per_epoch, len(history.step_loss), steps_per_epoch):
            ax.axvline(boundary - 0.5, color="0.85", lw=0.5, zorder=0)
    ax.set(xlabel="iteration", ylabel="loss", title=title or "loss per iteration")
    if log_loss:
        ax.set_yscale("log")
    ax.grid(alpha=0.3)
    return _save(figure, path)


def plot_lr_range(
    result: LRRangeResult,
    ax: Any = None,
    *,
    title: str | None = None,
    path: str | os.PathLike[str] | None = None,
) -> Figure:
    """A learning-rate range test: the loss against the rate (log scale), smoothed, with the suggestions marked.

    Args:
      result: an :class:`gdjax.train.LRRangeResult`.
      ax: a matplotlib ``Axes`` to draw on (default: a new figure).
      title: the axes' title.
      path: if given, the figure is also saved there.

    Returns:
      The ``Figure`` drawn on.
    """
    if ax is None:
        figure = _figure(figsize=(6, 3.5))
        ax = figure.subplots()
    else:
        figure = ax.figure
    rates = np.asarray(result.learning_rates)
    ax.plot(rates, np.asarray(result.losses), color=OTHER, lw=0.8, label="loss per step")
    ax.plot(rates, np.asarray(result.smoothed_losses), color=COLORS[0], lw=1.6, label="smoothed")
    for rate, name, color in (
        (result.steepest_lr, "steepest descent", COLORS[1]),
        (result.min_loss_lr / 10.0, "minimum / 10", COLORS[2]),
    ):
        ax.axvline(rate, color=color, lw=1.0, ls="--", label=f"{name}: {rate:.2g}")
    ax.set_xscale("log")
    finite = np.asarray(result.smoothed_losses)[np.isfinite(result.smoothed_losses)]
    if finite.size:
        low, high = float(finite.min()), float(finite.max())
        ax.set_ylim(low - 0.05 * (high - low + 1e-12), min(high, low + 4 * (finite[0] - low + 1e-12)) * 1.05)
    ax.set(
        xlabel="learning rate",
        ylabel="loss",
        title=title or f"learning-rate range test (suggested {result.suggested_lr:.2g})",
    )
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8)
    return _save(figure, path)


def plot_trajectory(
    fun: Callable[[Any], Any],
    result: MinimizeResult,
    *,
    bounds: Sequence[float] | None = None,
    resolution: int = 200,
    levels: int = 30,
    title: str | None = None,
    path: str | os.PathLike[str] | None = None,
) -> Figure:
    """The path of :func:`minimize` over the graph (1-D) or contours (2-D) of ``fun``.

    Args:
      fun: the minimised function, of a scalar (or shape ``(1,)``) or a
        2-vector; evaluated with NumPy-compatible JAX calls on a grid.
      result: a single (unbatched) :class:`MinimizeResult`.
      bounds: ``(lo, hi)`` in 1-D or ``(x_lo, x_hi, y_lo, y_hi)`` in 2-D;
        default: the trajectory's range with a margin.
      resolution: grid points per axis.
      levels: contour levels (2-D).
      title: axes title (default: the stop reason and step count).
      path: if given, the figure is also saved there.
    """
    points = np.asarray(result.trajectory)[: int(result.num_steps) + 1]
    title = title or f"{result.reason} after {int(result.num_steps)} steps"
    figure = _figure(figsize=(5, 4))
    ax = figure.subplots()
    flat = points.reshape(points.shape[0], -1)
    if flat.shape[1] == 1:
        lo, hi = _bounds(flat[:, 0], bounds, 2)
        grid = np.linspace(lo, hi, resolution, dtype=flat.dtype)
        shaped = grid.reshape((-1,) + points.shape[1:])
        curve = np.asarray(jax.vmap(fun)(shaped))
        ax.plot(grid, curve, color="0.4")
        ax.plot(flat[:, 0], np.asarray(result.values)[: len(flat)], "o-", ms=3, color="C3")
        ax.set(xlabel="x", ylabel="f(x)")
    elif flat.shape[1] == 2:
        x_lo, x_hi = _bounds(flat[:, 0], None if bounds is None else bounds[:2], 4)
        y_lo, y_hi = _bounds(flat[:, 1], None if bounds is None else bounds[2:], 4)
        xs = np.linspace(x_lo, x_hi, resolution, dtype=flat.dtype)
        ys = np.linspace(y_lo, y_hi, resolution, dtype=flat.dtype)
        gx, gy = np.meshgrid(xs, ys)
        grid = np.stack([gx.ravel(), gy.ravel()], axis=1).reshape((-1,) + points.shape[1:])
        surface = np.asarray(jax.vmap(fun)(grid)).reshape(gx.shape)
        ax.contour(gx, gy, surface, levels=levels, cmap="viridis", linewidths=0.7)
        ax.plot(flat[:, 0], flat[:, 1], "o-", ms=3, color="C3")
        ax.plot(flat[-1, 0], flat[-1, 1], "*", ms=12, color="C3")
        ax.set(xlabel="$x_1$", ylabel="$x_2$")
    else:
        raise ValueError(f"plot_trajectory draws 1-D or 2-D problems; got {flat.shape[1]} variables.")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    return _save(figure, path)


def _bounds(values: np.ndarray, given: Sequence[float] | None, expected: int) -> tuple[float, float]:
    if given is not None:
        if len(given) != 2 or not given[0] < given[1]:
            raise ValueError(f"bounds must be {expected} increasing numbers (lo, hi per axis); got {given!r}.")
        return float(given[0]), float(given[1])
    lo, hi = float(np.min(values)), float(np.max(values))
    margin = 0.2 * (hi - lo) or 1.0
    return lo - margin, hi + margin


# ------------------------------------------------------- axes-level helpers


def figure(nrows: int = 1, ncols: int = 1, *, width: float = 4.2, height: float = 3.4, **kw):
    """``(figure, axes)``: ``nrows x ncols`` panels of about ``width x height`` inches each (constrained layout).

    ``axes`` is always 2-D. The figure is a plain ``matplotlib.figure.Figure``
    (no pyplot state): save it with ``figure.savefig``.
    """
    fig = Figure(figsize=(width * ncols, height * nrows), layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False, **kw)
    return fig, axes


def landscape(
    ax,
    function: TestFunction,
    *,
    resolution: int = 200,
    levels: int = 30,
    log: bool | None = None,
    colorbar: bool = False,
    cmap: str = "viridis",
):
    """Draws ``function`` over its domain: a curve (1-D) or filled contours (2-D), marking global minima.

    ``log`` draws the 2-D contours of ``f - min + 1e-3`` on a log scale
    (default: when the values span more than three decades); ``cmap`` is the
    contours' colour map (a grey one, ``"Greys"``, lets coloured paths stand out).
    """
    if function.dim == 1:
        w, values = grid_values(function, resolution)
        ax.plot(w, values, color="black", lw=1.2)
        ax.plot(
            function.minimizers[:, 0],
            [function.minimum] * len(function.minimizers),
            "*",
            color="gold",
            mec="black",
            ms=14,
            label="global minimum",
            zorder=5,
        )
        ax.set_xlabel("w")
        ax.set_ylabel("L(w)")
        ax.set_title(function.title)
        return None
    x, y, values = grid_values(function, resolution)
    shifted = values - function.minimum + 1e-3
    if log is None:
        log = shifted.max() / max(np.median(shifted), 1e-12) > 30
    if log:
        bounds = np.geomspace(max(shifted.min(), 1e-3), shifted.max(), levels)
        filled = ax.contourf(x, y, shifted, levels=bounds, norm=LogNorm(), cmap=cmap)
        ax.contour(x, y, shifted, levels=bounds[::3], colors="white", linewidths=0.3, alpha=0.5)
    else:
        filled = ax.contourf(x, y, values, levels=levels, cmap=cmap)
        ax.contour(x, y, values, levels=levels, colors="white", linewidths=0.3, alpha=0.5)
    ax.plot(
        function.minimizers[:, 0],
        function.minimizers[:, 1],
        "*",
        color="gold",
        mec="black",
        ms=14,
        label="global minimum",
        zorder=5,
    )
    ax.set_xlabel("x")
    ax.set_ylabel("y")
    ax.set_title(function.title)
    ax.set_xlim(*function.domain[0])
    ax.set_ylim(*function.domain[1])
    if colorbar:
        bar = ax.figure.colorbar(filled, ax=ax, shrink=0.85)
        bar.set_label("f - min (log scale)" if log else "f")
    return filled


def cluster_endpoints(points: np.ndarray, radius: float) -> np.ndarray:
    """Labels endpoints that lie within ``radius`` of a cluster's first member (greedy, in order).

    Returns an int array of cluster ids ``0, 1, ...`` in order of first appearance.
    """
    points = np.asarray(points, np.float64).reshape(len(points), -1)
    centres: list[np.ndarray] = []
    labels = np.empty(len(points), int)
    for i, p in enumerate(points):
        if not np.isfinite(p).all():
            labels[i] = -1
            continue
        if centres:
            d = np.sqrt(((np.asarray(centres) - p) ** 2).sum(1))
            j = int(np.argmin(d))
            if d[j] <= radius:
                labels[i] = j
                continue
        centres.append(p)
        labels[i] = len(centres) - 1
    return labels


def basin_colors(labels: np.ndarray, final_values: np.ndarray, *, max_colors: int = 9):
    """Colours for basin labels: the ``max_colors`` deepest basins get tab10 colours, others grey.

    Returns ``(colors per point, [(basin value, colour, count)] for the legend)``.
    """
    found = [lab for lab in np.unique(labels) if lab >= 0]
    depth = {lab: float(np.median(final_values[labels == lab])) for lab in found}
    ordered = sorted(found, key=lambda lab: depth[lab])
    palette = {lab: COLORS[i] for i, lab in enumerate(ordered[:max_colors])}
    colors = [palette.get(lab, OTHER) for lab in labels]
    legend = [(depth[lab], palette[lab], int((labels == lab).sum())) for lab in ordered[:max_colors]]
    rest = int(sum((labels == lab).sum() for lab in ordered[max_colors:])) + int((labels < 0).sum())
    if rest:
        legend.append((float("nan"), OTHER, rest))
    return colors, legend


def basins(
    ax,
    function: TestFunction,
    starts: np.ndarray,
    finals: np.ndarray,
    final_values: np.ndarray,
    *,
    radius: float = 0.05,
    max_legend: int = 4,
    marker_size: float = 6,
):
    """The landscape with each start coloured by the basin (cluster of endpoints) it ends in."""
    labels = cluster_endpoints(finals, radius)
    colors, legend = basin_colors(labels, final_values)
    landscape(ax, function)
    if function.dim == 1:
        ys = _values_1d(function, starts)
        ax.scatter(starts[:, 0], ys, c=colors, s=marker_size * 2, zorder=4, edgecolors="none")
    else:
        ax.scatter(starts[:, 0], starts[:, 1], c=colors, s=marker_size, zorder=4, edgecolors="none")
    handles = [
        Line2D(
            [],
            [],
            ls="",
            marker="o",
            color=color,
            label=("other" if np.isnan(value) else f"ends at f={value:.3g}") + f" ({count})",
        )
        for value, color, count in legend[:max_legend]
    ]
    ax.legend(
        handles=handles,
        fontsize=7,
        loc="upper center",
        bbox_to_anchor=(0.5, -0.2),
        ncol=2,
        frameon=False,
        title="starts coloured by where they end (count)",
        title_fontsize=7,
    )
    return labels


def _values_1d(function: TestFunction, points: np.ndarray) -> np.ndarray:
    return np.asarray(jax.vmap(function.fn)(jnp.asarray(points, jnp.float32)))


def best_of_k(ax, tables: Mapping[str, Mapping[str, Sequence[float]]]):
    """Measured best-of-k success (markers) against ``1 - (1 - p)^k`` (lines), one colour per series."""
    for i, (name, table) in enumerate(tables.items()):
        color = COLORS[i % len(COLORS)]
        ax.plot(table["k"], table["theory"], "-", color=color, lw=1.2)
        ax.plot(table["k"], table["measured"], "o", color=color, ms=4, label=name)
    ax.set_xscale("log", base=2)
    ax.set_xlabel("number of restarts k")
    ax.set_ylabel("P(best of k reaches the global minimum)")
    ax.set_ylim(-0.02, 1.02)
    ax.grid(alpha=0.3)
    ax.plot([], [], "-", color="black", label=r"theory $1-(1-p)^k$")
    ax.plot([], [], "o", color="black", ms=4, label="measured")


def trajectory(ax, path: np.ndarray, *, color, label: str | None = None, upto: int | None = None, lw: float = 1.4):
    """A 2-D path ``(T, 2)`` (cut at ``upto``) with its start and current point marked."""
    path = np.asarray(path)
    if upto is not None:
        path = path[: upto + 1]
    finite = np.isfinite(path).all(1)
    path = path[finite]
    if len(path) == 0:
        return
    ax.plot(path[:, 0], path[:, 1], "-", color=color, lw=lw, label=label, alpha=0.9)
    ax.plot(path[-1, 0], path[-1, 1], "o", color=color, ms=5, mec="black", mew=0.5)


def median_band(ax, x: np.ndarray, runs: np.ndarray, *, color, label: str, **line: Any):
    """The median over runs (axis 0) with the band between the 10th and 90th percentiles.

    ``line`` goes to the median's ``ax.plot`` (``ls="--"``, ``lw=2.5``, ...); returns that line.
    """
    runs = np.asarray(runs, np.float64)
    with np.errstate(all="ignore"):
        low, mid, high = np.nanpercentile(runs, [10, 50, 90], axis=0)
    (median,) = ax.plot(x, mid, color=color, label=label, **{"lw": 1.6, **line})
    ax.fill_between(x, low, high, color=color, alpha=0.2, lw=0)
    return median

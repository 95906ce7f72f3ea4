"""Plotting helpers shared by the studies: landscapes, basins, trajectories, best-of-k curves.

Every helper draws on a given matplotlib ``Axes`` (the object API, no global
state) and labels what it draws; the studies save figures with
``ctx.save_figure``. Import this module only inside a study run: it selects
the non-interactive Agg backend.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.colors import LogNorm

from gdjax.studies._functions import TestFunction, grid_values

#: Colours of the optimizers, basins and series: matplotlib's tab10, readable in print.
COLORS = plt.get_cmap("tab10").colors
OTHER = "0.6"  # grey: everything past the first colours (other basins, diverged runs)


def figure(nrows: int = 1, ncols: int = 1, *, width: float = 4.2, height: float = 3.4, **kw):
    """A figure of ``nrows x ncols`` panels of about ``width x height`` inches each (constrained layout)."""
    fig, axes = plt.subplots(
        nrows, ncols, figsize=(width * ncols, height * nrows), layout="constrained", squeeze=False, **kw
    )
    return fig, axes


def landscape(
    ax,
    function: TestFunction,
    *,
    resolution: int = 200,
    levels: int = 30,
    log: bool | None = None,
    colorbar: bool = False,
):
    """Draws ``function`` over its domain: a curve (1-D) or filled contours (2-D), marking global minima.

    ``log`` draws the 2-D contours of ``f - min + 1e-3`` on a log scale
    (default: when the values span more than three decades).
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
        filled = ax.contourf(x, y, shifted, levels=bounds, norm=LogNorm(), cmap="viridis")
        ax.contour(x, y, shifted, levels=bounds[::3], colors="white", linewidths=0.3, alpha=0.5)
    else:
        filled = ax.contourf(x, y, values, levels=levels, cmap="viridis")
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
        matplotlib.lines.Line2D(
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
    import jax.numpy as jnp

    from gdjax.studies._functions import _vmapped

    return np.asarray(_vmapped(function.fn)(jnp.asarray(points, jnp.float32)))


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


def median_band(ax, x: np.ndarray, runs: np.ndarray, *, color, label: str):
    """The median over runs (axis 0) with the band between the 10th and 90th percentiles."""
    runs = np.asarray(runs, np.float64)
    with np.errstate(all="ignore"):
        low, mid, high = np.nanpercentile(runs, [10, 50, 90], axis=0)
    ax.plot(x, mid, color=color, lw=1.6, label=label)
    ax.fill_between(x, low, high, color=color, alpha=0.2, lw=0)

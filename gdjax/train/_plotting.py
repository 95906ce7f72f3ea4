"""Learning curves and optimisation paths with matplotlib.

The figures are built with ``matplotlib.figure.Figure`` directly, never with
``pyplot``: no global state, no GUI backend needed (safe on headless machines
and in tests), and nothing is shown unless the caller does so. Save with
``figure.savefig(path)`` or pass ``path=`` (the format follows the suffix).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import jax
import numpy as np

from gdjax.train._history import History
from gdjax.train._minimize import MinimizeResult

if TYPE_CHECKING:
    from matplotlib.figure import Figure


def _figure(**kwargs: Any) -> Figure:
    # Imported on first use: ``import gdjax`` stays fast without matplotlib.
    from matplotlib.figure import Figure

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

"""The loss landscape around trained heart-disease networks: slices, planes, lines and curves between solutions.

- Slices through the trained network along random filter-normalised
  directions, and planes (two random directions; the trajectory's two
  principal directions), Li et al. 2018.
- The straight line from the initialisation to the trained network (Goodfellow,
  Vinyals & Saxe 2015): does the loss fall monotonically along it?
- Between the solutions of two restarts: the barrier of the straight line
  against that of a quadratic Bezier curve trained to run through low loss
  (Draxler et al. 2018; Garipov et al. 2018, mode connectivity),
  :func:`gdjax.diagnostics.path_barrier` and
  :func:`gdjax.diagnostics.fit_bezier_midpoint`.

The networks train on the 181 training rows of the stratified split; the
validation rows stand in for unseen data along the slices; the test rows give
one number, the trained network's accuracy, beside the majority class and
logistic regression.
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax.flatten_util import ravel_pytree

import gdjax
from gdjax import plot
from gdjax.diagnostics import (
    barrier_from_losses,
    fit_bezier_midpoint,
    loss_along_bezier,
    loss_along_line,
    path_barrier,
)
from gdjax.optim import adam
from gdjax.restarts import mean_interval
from gdjax.studies._heart_common import (
    logistic_baseline,
    majority_baseline,
    model_task,
    scores_of,
    split_seed,
    stratified_split,
)
from gdjax.studies._study import FigureWriter, Study, StudyContext, Text

NAME = "landscape"
TITLE = "Loss landscape"
QUESTION = "What does the loss surface around a trained heart-disease network look like?"

LEARNING_RATE = 1e-2
BATCH_SIZE = 32
_ADAM = adam(LEARNING_RATE)
LINE_POINTS = 41  # points of t in [0, 1] along every line and curve
MONOTONE_TOLERANCE = 1e-6  # a rise smaller than this along the line counts as none (float32 rounding)
CONNECTED_TOLERANCE = 0.05  # a barrier below this counts as connected (in nats, against a loss of ~0.1-0.7)
BEZIER_RATE = 1e-2


def filter_normalized_direction(key: jax.Array, params):
    """A random direction scaled per neuron like ``params`` (Li et al., 2018, "filter normalisation").

    Every weight matrix ``w`` of shape ``(n_in, n_out)`` gets a Gaussian
    direction ``d`` whose column ``j`` (the incoming weights of neuron ``j``,
    the dense layer's "filter") is rescaled to ``||d_j|| = ||w_j||``; bias
    directions are zero. Scale-invariant directions: a step ``alpha d`` moves
    every neuron by the same fraction ``alpha`` of its own weight norm, so
    slices of differently scaled networks compare.
    """
    leaves, treedef = jax.tree_util.tree_flatten_with_path(params)
    keys = jax.random.split(key, len(leaves))
    out = []
    for k, (path, leaf) in zip(keys, leaves):
        if gdjax.losses.is_bias(path) or leaf.ndim < 2:
            out.append(jnp.zeros_like(leaf))
            continue
        d = jax.random.normal(k, leaf.shape, leaf.dtype)
        norm_w = jnp.linalg.norm(leaf, axis=0, keepdims=True)
        norm_d = jnp.linalg.norm(d, axis=0, keepdims=True)
        out.append(d * norm_w / jnp.where(norm_d > 0, norm_d, 1))
    return jax.tree_util.tree_unflatten(treedef, out)


@functools.partial(jax.jit, static_argnames=("loss",))
def _plane_losses(loss, center, d1, d2, alphas, betas, data):
    """``loss(center + a d1 + b d2)`` on the grid ``alphas x betas`` (flat parameter vectors)."""

    def at(a, b):
        return loss(center + a * d1 + b * d2, data)

    return jax.vmap(lambda b: jax.vmap(lambda a: at(a, b))(alphas))(betas)


# ---------------------------------------------------------------- results


class Plane(NamedTuple):
    """A 2-D slice of the training loss and the trajectory's coordinates on it."""

    axis: list[float]  # the grid along both directions
    loss: list[list[float]]  # [b][a]
    path: list[list[float]]  # [2][snapshots]: the trajectory's coordinates (least squares / PCA)
    captured: float  # share of the trajectory's squared length the plane holds


class Interpolation(NamedTuple):
    """Training loss along the straight line from each restart's initialisation to its trained network."""

    ts: list[float]
    losses: list[list[float]]  # [restart][t]
    largest_rise: list[float]  # max over t of L(t) - min_{s <= t} L(s): 0 for a monotone fall
    monotone: list[bool]


class Connectivity(NamedTuple):
    """Between the trained networks of disjoint pairs of restarts: the straight line against a trained curve.

    Barriers are the height above the chord between the end losses
    (:func:`gdjax.diagnostics.path_barrier`, ``reference="linear"``), on the
    training loss the curve is trained on; ``line_losses`` / ``curve_losses``
    are pair 0's training losses along both, ``line_val`` / ``curve_val`` its
    validation losses.
    """

    pairs: list[list[int]]
    steps: int
    ts: list[float]
    line_losses: list[float]
    curve_losses: list[float]
    line_val: list[float]
    curve_val: list[float]
    distance: list[float]  # |theta_a - theta_b| of each pair
    barrier_linear_val: list[float]  # the same barriers on the validation loss
    barrier_curve_val: list[float]
    difference: float  # barrier_linear - barrier_curve, mean over pairs
    difference_low: float
    difference_high: float


class Results(NamedTuple):
    n_params: int
    n_train: int
    n_val: int
    n_test: int
    epochs: int
    restarts: int
    snapshot_every_epochs: int
    num_snapshots: int
    final_train_loss: float
    final_val_loss: float
    test_accuracy: float  # restart 0's trained network, the one number from the test rows
    majority_test_accuracy: float
    logistic_test_accuracy: float
    logistic_ridge: float
    diverged: int
    num_directions_1d: int
    slice_1d_alphas: list[float]
    slice_1d_train: list[list[float]]
    slice_1d_val: list[list[float]]
    mean_rise_at_half_step: float
    slice_1d_min_at_center: bool
    random_plane: Plane
    pca_plane: Plane
    random_plane_fraction_below_center: float
    pca_explained_variance: list[float]
    interpolation: Interpolation
    connectivity: Connectivity
    barrier_linear: list[float]  # one per pair of restarts
    barrier_curve: list[float]


# ---------------------------------------------------------------- compute


def _train(task, data, params, key, epochs: int, every: int):
    """One training with a snapshot of the parameters every ``every`` epochs (the initialisation included)."""
    snapshots = [params]
    result = gdjax.fit(
        task.loss,
        params,
        (data.x_train, data.y_train),
        optimizer=_ADAM,
        epochs=epochs,
        key=key,
        batch_size=BATCH_SIZE,
        validation_data=(data.x_val, data.y_val),
        chunk_epochs=every,
        callback=lambda r: snapshots.append(r.params),
    )
    return result, snapshots


def _largest_rise(losses: np.ndarray) -> float:
    return float(np.max(losses - np.minimum.accumulate(losses)))


def compute(ctx: StudyContext) -> Results:
    task = model_task()
    data = stratified_split(split_seed(ctx.seed, 0))
    train, val = (data.x_train, data.y_train), (data.x_val, data.y_val)
    epochs = ctx.size(40, 150)
    every = ctx.size(2, 3)
    restarts = ctx.size(6, 12)
    fits, paths = [], []
    for r in range(restarts):
        result, snapshots = _train(
            task, data, task.model.init(jax.random.fold_in(ctx.key(0), r)), ctx.key(1), epochs, every
        )
        fits.append(result)
        paths.append(snapshots)
    trained = fits[0].params
    center, unravel = ravel_pytree(trained)
    trajectory = np.stack([np.asarray(ravel_pytree(p)[0]) for p in paths[0]])  # (T, 497)

    def flat_loss(theta, batch):
        return task.loss(unravel(theta), batch)

    # The one test number, beside the majority class and logistic regression (its L2 chosen on validation).
    probs = np.asarray(task.model.apply(trained, data.x_test))
    test_accuracy = float(scores_of(probs, data.y_test).accuracy)
    majority = majority_baseline(data.y_train, data.y_test)
    logistic = logistic_baseline(data)

    # 1-D slices along random filter-normalised directions.
    num_dirs = ctx.size(3, 5)
    alphas = jnp.linspace(-1.0, 1.0, ctx.size(41, 81))
    directions, slices = [], {"train": [], "val": []}
    for i in range(num_dirs):
        d = ravel_pytree(filter_normalized_direction(ctx.key(10 + i), trained))[0]
        directions.append(d)
        # theta* + a d for a in [-1, 1]: the line from theta* - d (t = 0) to theta* + d (t = 1).
        ends = unravel(center - d), unravel(center + d)
        for part, batch in (("train", train), ("val", val)):
            slices[part].append(np.asarray(loss_along_line(task.loss, *ends, batch, (alphas + 1) / 2)))
    train_slices, val_slices = np.array(slices["train"]), np.array(slices["val"])
    mid = len(alphas) // 2
    half = int(np.argmin(np.abs(np.asarray(alphas) - 0.5)))
    rise_half = float(np.mean([(s[half] + s[len(s) - 1 - half]) / 2 - s[mid] for s in train_slices]))

    # 2-D: the plane of two random directions (the trajectory projected on it), and the trajectory's PCA plane.
    n_grid = ctx.size(25, 61)
    grid = jnp.linspace(-1.0, 1.0, n_grid)
    d1, d2 = directions[0], directions[1]
    random_loss = np.asarray(_plane_losses(flat_loss, center, d1, d2, grid, grid, train))
    basis = np.stack([np.asarray(d1), np.asarray(d2)], 1)
    offsets = trajectory - np.asarray(center)
    coef_random, *_ = np.linalg.lstsq(basis, offsets.T, rcond=None)
    captured_random = float(np.linalg.norm(basis @ coef_random) ** 2 / np.linalg.norm(offsets) ** 2)
    _, singular, vt = np.linalg.svd(offsets - offsets.mean(0), full_matrices=False)
    explained = singular**2 / np.sum(singular**2)
    coef_pca = np.stack([offsets @ vt[0], offsets @ vt[1]])
    captured_pca = float(np.linalg.norm(coef_pca) ** 2 / np.linalg.norm(offsets) ** 2)
    span = 1.2 * float(np.max(np.abs(coef_pca)))
    pca_axis = jnp.linspace(-span, span, n_grid)
    p1, p2 = (jnp.asarray(v, center.dtype) for v in vt[:2])
    pca_loss = np.asarray(_plane_losses(flat_loss, center, p1, p2, pca_axis, pca_axis, train))
    final_loss = float(flat_loss(center, train))

    # The straight line from each initialisation to its trained network (Goodfellow et al. 2015).
    ts = jnp.linspace(0.0, 1.0, LINE_POINTS)
    lines = np.stack(
        [np.asarray(loss_along_line(task.loss, paths[r][0], fits[r].params, train, ts)) for r in range(restarts)]
    )
    rises = [_largest_rise(curve) for curve in lines]

    # Between two restarts' solutions: the line against a trained Bezier curve (mode connectivity).
    steps = ctx.size(300, 1000)
    pairs = [[2 * i, 2 * i + 1] for i in range(restarts // 2)]
    barrier_line, barrier_curve, distance, pair0 = [], [], [], None
    val_line, val_curve = [], []
    for i, (a, b) in enumerate(pairs):
        pa, pb = fits[a].params, fits[b].params
        bezier = fit_bezier_midpoint(
            task.loss,
            pa,
            pb,
            train,
            key=jax.random.fold_in(ctx.key(20), i),
            steps=steps,
            learning_rate=BEZIER_RATE,
            samples_per_step=4,
        )
        line = path_barrier(task.loss, pa, pb, train, ts=ts)
        curve = path_barrier(task.loss, pa, pb, train, midpoint=bezier.midpoint, ts=ts)
        barrier_line.append(float(line.barrier))
        barrier_curve.append(float(curve.barrier))
        distance.append(float(jnp.linalg.norm(ravel_pytree(pa)[0] - ravel_pytree(pb)[0])))
        # On the validation rows (the programs of the slices and of the curve's losses, no new barrier program).
        line_v = np.asarray(loss_along_line(task.loss, pa, pb, val, ts), np.float64)
        curve_v = np.asarray(loss_along_bezier(task.loss, pa, bezier.midpoint, pb, val, ts), np.float64)
        for losses, out in ((line_v, val_line), (curve_v, val_curve)):
            out.append(float(barrier_from_losses(ts, losses, losses[0], losses[-1])))
        if i == 0:
            pair0 = [np.asarray(r).tolist() for r in (line.losses, curve.losses, line_v, curve_v)]
    t = mean_interval(np.asarray(barrier_line) - np.asarray(barrier_curve))

    return Results(
        n_params=task.n_params,
        n_train=int(data.x_train.shape[0]),
        n_val=int(data.x_val.shape[0]),
        n_test=int(data.x_test.shape[0]),
        epochs=epochs,
        restarts=restarts,
        snapshot_every_epochs=every,
        num_snapshots=len(paths[0]),
        final_train_loss=final_loss,
        final_val_loss=float(flat_loss(center, val)),
        test_accuracy=test_accuracy,
        majority_test_accuracy=majority.accuracy,
        logistic_test_accuracy=logistic.test_accuracy,
        logistic_ridge=logistic.ridge,
        diverged=sum(bool(f.diverged) for f in fits),
        num_directions_1d=num_dirs,
        slice_1d_alphas=np.asarray(alphas).tolist(),
        slice_1d_train=train_slices.tolist(),
        slice_1d_val=val_slices.tolist(),
        mean_rise_at_half_step=rise_half,
        slice_1d_min_at_center=bool(np.all(np.argmin(train_slices, 1) == mid)),
        random_plane=Plane(np.asarray(grid).tolist(), random_loss.tolist(), coef_random.tolist(), captured_random),
        pca_plane=Plane(np.asarray(pca_axis).tolist(), pca_loss.tolist(), coef_pca.tolist(), captured_pca),
        random_plane_fraction_below_center=float(np.mean(random_loss < final_loss - 1e-6)),
        pca_explained_variance=explained[:2].tolist(),
        interpolation=Interpolation(
            np.asarray(ts).tolist(), lines.tolist(), rises, [r <= MONOTONE_TOLERANCE for r in rises]
        ),
        connectivity=Connectivity(
            pairs=pairs,
            steps=steps,
            ts=np.asarray(ts).tolist(),
            line_losses=pair0[0],
            curve_losses=pair0[1],
            line_val=pair0[2],
            curve_val=pair0[3],
            distance=distance,
            barrier_linear_val=val_line,
            barrier_curve_val=val_curve,
            difference=t.mean,
            difference_low=t.low,
            difference_high=t.high,
        ),
        barrier_linear=barrier_line,
        barrier_curve=barrier_curve,
    )


# ---------------------------------------------------------------- figures


def figures(results: Results, out: FigureWriter) -> None:
    fig, axes = plot.figure(1, 2, width=4.8, height=3.8, sharey=True)
    alphas = np.asarray(results.slice_1d_alphas)
    for ax, slices, part in (
        (axes[0, 0], results.slice_1d_train, "training"),
        (axes[0, 1], results.slice_1d_val, "validation"),
    ):
        for i, curve in enumerate(slices):
            ax.plot(alphas, curve, color=plot.COLORS[i], label=f"direction {i + 1}")
        ax.axvline(0, color="0.5", lw=0.8)
        ax.set(xlabel="step a along the filter-normalised direction", title=f"{part} loss")
        ax.grid(alpha=0.3)
    axes[0, 0].set_ylabel("binary cross-entropy")
    handles, labels = axes[0, 0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncol=len(labels), fontsize=8, frameon=False)
    out.save_figure(
        fig,
        "slices_1d.png",
        f"Training (left) and validation (right) loss along {results.num_directions_1d} random filter-normalised "
        "directions through the trained network (a = 0).",
    )

    fig, axes = plot.figure(1, 2, width=5.6, height=5.0)
    pca = results.pca_explained_variance
    for ax, plane, title, xlabel, ylabel in (
        (axes[0, 0], results.random_plane, "Random filter-normalised directions", "a (direction 1)", "b (direction 2)"),
        (
            axes[0, 1],
            results.pca_plane,
            "Principal directions of the trajectory",
            f"PC 1 ({100 * pca[0]:.0f}% of the variance)",
            f"PC 2 ({100 * pca[1]:.0f}%)",
        ),
    ):
        g, loss, coef = np.asarray(plane.axis), np.asarray(plane.loss), np.asarray(plane.path)
        levels = np.unique(np.quantile(loss, np.linspace(0, 1, 25)))
        filled = ax.contourf(g, g, loss, levels=levels, cmap="viridis")
        ax.contour(g, g, loss, levels=levels, colors="white", linewidths=0.4)
        fig.colorbar(filled, ax=ax, label="training loss", shrink=0.8)
        ax.plot(coef[0], coef[1], "o-", color=plot.COLORS[3], ms=3, lw=1.2, label="training trajectory (projected)")
        ax.plot(coef[0][0], coef[1][0], "s", color="white", mec="black", ms=7, label="initialisation")
        ax.plot(0, 0, "*", color="yellow", mec="black", ms=14, label="trained network")
        ax.set(xlabel=xlabel, ylabel=ylabel, title=title, xlim=(g[0], g[-1]), ylim=(g[0], g[-1]))
        ax.text(
            0.02,
            0.02,
            f"plane holds {100 * plane.captured:.1f}% of the path",
            transform=ax.transAxes,
            color="white",
            fontsize=8,
        )
    handles, labels = axes[0, 0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncol=3, fontsize=8, frameon=False)
    out.save_figure(
        fig,
        "surface_2d.png",
        "2-D slices of the training loss around the trained network: along two random filter-normalised "
        "directions (left, the trajectory projected onto that plane by least squares; points outside the "
        "window are clipped) and along the trajectory's two principal directions (right). Contour levels "
        "are quantiles of each slice.",
    )

    interp, conn = results.interpolation, results.connectivity
    fig, axes = plot.figure(1, 2, width=5.0, height=3.8)
    ax, right = axes[0]
    ts = np.asarray(interp.ts)
    plot.median_band(ax, ts, np.asarray(interp.losses), color=plot.COLORS[0], label=f"median of {results.restarts}")
    ax.plot(ts, interp.losses[0], color=plot.COLORS[1], lw=1, label="restart 0")
    ax.set(
        xlabel="t: (1 - t) initialisation + t trained",
        ylabel="training loss",
        title="From the initialisation to the solution",
    )
    ax.legend(fontsize=8, loc="upper right")
    ax.grid(alpha=0.3)
    cts = np.asarray(conn.ts)
    a, b = conn.pairs[0]
    right.plot(cts, conn.line_losses, color=plot.COLORS[3], label="straight line, training")
    right.plot(cts, conn.curve_losses, color=plot.COLORS[2], label="trained Bezier curve, training")
    right.plot(cts, conn.line_val, color=plot.COLORS[3], ls="--", lw=1, label="straight line, validation")
    right.plot(cts, conn.curve_val, color=plot.COLORS[2], ls="--", lw=1, label="Bezier curve, validation")
    right.set(xlabel=f"t: from restart {a}'s solution to restart {b}'s", ylabel="loss", title="Between two solutions")
    right.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    right.grid(alpha=0.3)
    out.save_figure(
        fig,
        "interpolation.png",
        "Left: the training loss along the straight line from each restart's initialisation to its trained network "
        f"(median and 10-90% band over {results.restarts} restarts, and restart 0). Right: between the trained "
        f"networks of restarts {a} and {b}, along the straight line and along a quadratic Bezier curve whose "
        f"midpoint was trained for {conn.steps} steps to lower the training loss along it (solid: training, "
        "dashed: validation).",
    )


# ---------------------------------------------------------------- text


def _barrier(value: float) -> str:
    """A barrier to three decimals; rounding noise around zero (the ends lie on the chord) shown as 0.000."""
    return f"{0.0 if abs(value) < 5e-4 else value:.3f}"


def _interval(low: float, high: float) -> str:
    return f"[{low:.3f}, {high:.3f}]"


def curve_lower(results: Results) -> bool:
    """The trained curve's barrier is lower than the line's, restart pair by pair (interval above zero)."""
    return results.connectivity.difference_low > 0


def text(results: Results) -> Text:
    interp, conn = results.interpolation, results.connectivity
    pca = results.pca_explained_variance
    method = f"""
The course's 29-16-1 network ({results.n_params} parameters) trained on the {results.n_train} training rows of the
stratified heart split with Adam ({LEARNING_RATE}), batches of {BATCH_SIZE}, {results.epochs} epochs, from
{results.restarts} initialisations (one shared data order), keeping restart 0's parameters every
{results.snapshot_every_epochs} epochs ({results.num_snapshots} points of its trajectory, the initialisation
included). The {results.n_val} validation rows stand in for unseen patients along the slices; the {results.n_test}
test rows are used once, for restart 0's accuracy, beside the majority class and logistic regression (its L2 strength
chosen on validation). Around restart 0's trained parameters `theta*` the training loss is evaluated along random
directions with **filter normalisation** (Li et al., *Visualizing the Loss Landscape of Neural Nets*, NeurIPS 2018): a
Gaussian direction whose per-neuron slice (each column of a weight matrix: the incoming weights of one unit) is
rescaled to the norm of the matching weights of `theta*`, **bias directions zero**. 1-D slices `L(theta* + a d)` for
{results.num_directions_1d} directions, a in [-1, 1]; a 2-D slice on the plane of two of them, with the trajectory
projected onto it (least squares), and one along the trajectory's two principal directions (PCA of
`theta_t - theta*`, Li et al. sec. 7). **Linear interpolation** (Goodfellow, Vinyals & Saxe, ICLR 2015): the training
loss at {LINE_POINTS} points of the straight line from each restart's initialisation to its trained network; the line
is *monotone* when no point rises more than {MONOTONE_TOLERANCE:g} above an earlier one. **Mode connectivity**
(Draxler et al. 2018; Garipov et al. 2018): for {len(conn.pairs)} disjoint pairs of restarts, the **barrier** (the
largest height of the training loss above the chord between the two end losses, `gdjax.diagnostics.path_barrier`)
of the straight line between their solutions, and of a quadratic Bezier curve between them whose midpoint is trained
by Adam ({BEZIER_RATE}, {conn.steps} steps, 4 random points t per step; `fit_bezier_midpoint`); the pairs are
compared one by one (mean difference with its 95% t interval).
"""
    monotone = sum(interp.monotone)
    worst = int(np.argmax(interp.largest_rise))
    if monotone == len(interp.monotone):
        interp_text = (
            f"the training loss falls monotonically along the straight line from the initialisation to the solution "
            f"for all {len(interp.monotone)} restarts, as Goodfellow et al. found for their networks: no barrier "
            "stands between the start and the end"
        )
    elif monotone == 0:
        interp_text = (
            f"the training loss rises somewhere along the straight line from the initialisation for every one of the "
            f"{len(interp.monotone)} restarts (largest rise {max(interp.largest_rise):.3f}, restart {worst})"
        )
    else:
        interp_text = (
            f"the training loss falls monotonically along the straight line from the initialisation for {monotone} of "
            f"{len(interp.monotone)} restarts; the others rise by up to {max(interp.largest_rise):.3f} (restart "
            f"{worst})"
        )
    median_line, median_curve = float(np.median(results.barrier_linear)), float(np.median(results.barrier_curve))
    connected = max(results.barrier_curve) < CONNECTED_TOLERANCE
    findings = (
        f"Restart 0's trained network scores **{results.test_accuracy:.3f} accuracy on the {results.n_test} test "
        f"patients**, against {results.majority_test_accuracy:.3f} for the majority class (no disease for everyone) "
        f"and {results.logistic_test_accuracy:.3f} for logistic regression. "
        + (
            "It sits in a basin: along every random filter-normalised direction the training loss is lowest at a = 0 "
            f"(all {results.num_directions_1d} directions)"
            if results.slice_1d_min_at_center
            else "Along some random filter-normalised directions the training loss is lower away from a = 0 (it "
            f"is lowest at the centre for fewer than all {results.num_directions_1d}): a valley, not a basin"
        )
        + f", and it rises by {results.mean_rise_at_half_step:.3f} on average half a step away (a = +-0.5, every "
        f"neuron's weights moved by half their norm), from {results.final_train_loss:.3f}; the validation loss along "
        f"the same lines sits higher ({results.final_val_loss:.3f} at the centre), the "
        f"generalisation gap. On the random plane {100 * results.random_plane_fraction_below_center:.1f}% of the grid "
        f"lies below the centre. The random plane holds only {100 * results.random_plane.captured:.1f}% of the "
        f"trajectory's squared length: in {results.n_params} dimensions two random directions are nearly orthogonal to "
        f"the path. The trajectory's own two principal directions explain {100 * pca[0]:.1f}% and {100 * pca[1]:.1f}% "
        f"of its variance and hold {100 * results.pca_plane.captured:.1f}% of its squared length."
        + "\n\n"
        + f"**Linear interpolation.** {interp_text[0].upper() + interp_text[1:]}.\n\n"
        + f"**Mode connectivity.** Between the solutions of two restarts (at distance {_distance(conn)} in parameter "
        "space) the straight line "
        f"rises {median_line:.3f} above the chord between the end losses (median over {len(conn.pairs)} pairs: "
        + ", ".join(_barrier(b) for b in results.barrier_linear)
        + f"); the trained Bezier curve's barrier is {_barrier(median_curve)} ("
        + ", ".join(_barrier(b) for b in results.barrier_curve)
        + f"). Pair by pair the line's barrier exceeds the curve's by {conn.difference:.3f} "
        f"{_interval(conn.difference_low, conn.difference_high)}"
        + (
            ": the two solutions are not linearly connected, yet a simple curve joins them"
            + (f" without a barrier (every curve's below {CONNECTED_TOLERANCE})" if connected else "")
            + ", as Garipov et al. and Draxler et al. found for deep networks."
            if curve_lower(results)
            else ": the interval reaches zero, so this study cannot tell the curve from the line."
        )
        + " "
        + _validation_text(conn)
    )
    failures = [f"{results.diverged} of {results.restarts} trainings diverged"] if results.diverged else []
    return Text(method, findings, expected=[], failures=failures)


def _validation_text(conn: Connectivity) -> str:
    line, curve = float(np.median(conn.barrier_linear_val)), float(np.median(conn.barrier_curve_val))
    numbers = f"median validation barrier {curve:.3f} along the curve against {line:.3f} along the line"
    lowest, ends = min(conn.curve_losses), min(conn.curve_losses[0], conn.curve_losses[-1])
    if curve > line and lowest < ends:
        return (
            f"On the validation rows the order reverses ({numbers}): trained on the training loss, the curve runs "
            f"below both ends on it (down to {lowest:.3f} against {ends:.3f} for pair 0), fitting the training rows "
            "harder than either solution, not staying among solutions that serve unseen patients."
        )
    if curve > line:
        return f"On the validation rows the order reverses ({numbers})."
    return f"On the validation rows the curve stays lower too ({numbers})."


def _distance(conn: Connectivity) -> str:
    low, high = min(conn.distance), max(conn.distance)
    return f"{low:.1f}-{high:.1f}" if high - low >= 0.05 else f"{low:.1f}"


STUDY = Study(NAME, TITLE, QUESTION, compute=compute, figures=figures, text=text)

"""The loss landscape around a trained heart-disease network (Li et al., 2018)."""

from __future__ import annotations

import functools

import matplotlib

matplotlib.use("Agg")
import jax
import jax.numpy as jnp
import matplotlib.pyplot as plt
import numpy as np
from jax.flatten_util import ravel_pytree

import gdjax
from gdjax.optim import adam
from gdjax.studies._heart_common import heart_task
from gdjax.studies._study import Findings, Study, StudyContext

NAME = "landscape"
LEARNING_RATE = 1e-2
BATCH_SIZE = 32
_ADAM = adam(LEARNING_RATE)


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


def run(ctx: StudyContext) -> Findings:
    task = heart_task(ctx.seed)
    epochs = ctx.size(40, 150)
    every = ctx.size(2, 3)
    params0 = task.model.init(ctx.key(0))
    snapshots = [params0]
    fit = gdjax.fit(
        task.loss,
        params0,
        task.train,
        optimizer=_ADAM,
        epochs=epochs,
        key=ctx.key(1),
        batch_size=BATCH_SIZE,
        validation_data=task.test,
        metrics=task.metrics,
        chunk_epochs=every,
        callback=lambda r: snapshots.append(r.params),
    )
    center, unravel = ravel_pytree(fit.params)
    trajectory = np.stack([np.asarray(ravel_pytree(p)[0]) for p in snapshots])  # (T, 497)

    def flat_loss(theta, data):
        return task.loss(unravel(theta), data)

    # 1-D slices along several random filter-normalised directions.
    num_dirs = ctx.size(3, 6)
    alphas_1d = jnp.linspace(-1.0, 1.0, ctx.size(41, 81))
    zero = jnp.zeros(1)
    slices = {"train": [], "test": []}
    directions = []
    for i in range(num_dirs):
        d = ravel_pytree(filter_normalized_direction(ctx.key(10 + i), fit.params))[0]
        directions.append(d)
        for part, data in (("train", task.train), ("test", task.test)):
            slices[part].append(np.asarray(_plane_losses(flat_loss, center, d, d * 0, alphas_1d, zero, data))[0])

    # 2-D slice on the plane of two random directions; the trajectory projected onto it by least squares.
    n_grid = ctx.size(25, 61)
    grid = jnp.linspace(-1.0, 1.0, n_grid)
    d1, d2 = directions[0], directions[1]
    random_plane = np.asarray(_plane_losses(flat_loss, center, d1, d2, grid, grid, task.train))
    basis = np.stack([np.asarray(d1), np.asarray(d2)], 1)  # (497, 2)
    offsets = trajectory - np.asarray(center)
    coef_random, *_ = np.linalg.lstsq(basis, offsets.T, rcond=None)
    captured_random = float(np.linalg.norm(basis @ coef_random) ** 2 / np.linalg.norm(offsets) ** 2)

    # The plane of the trajectory's two principal directions (Li et al. sec. 7), where the path actually lies.
    _, singular, vt = np.linalg.svd(offsets - offsets.mean(0), full_matrices=False)
    explained = singular**2 / np.sum(singular**2)
    p1, p2 = vt[0], vt[1]
    coef_pca = np.stack([offsets @ p1, offsets @ p2])
    captured_pca = float(np.linalg.norm(coef_pca) ** 2 / np.linalg.norm(offsets) ** 2)
    span = 1.2 * float(np.max(np.abs(coef_pca)))
    pca_grid = jnp.linspace(-span, span, n_grid)
    pca_plane = np.asarray(
        _plane_losses(
            flat_loss,
            center,
            jnp.asarray(p1, center.dtype),
            jnp.asarray(p2, center.dtype),
            pca_grid,
            pca_grid,
            task.train,
        )
    )

    final_loss = float(flat_loss(center, task.train))
    test_loss = float(flat_loss(center, task.test))
    train_slices, test_slices = np.array(slices["train"]), np.array(slices["test"])
    mid = len(alphas_1d) // 2
    half = int(np.argmin(np.abs(np.asarray(alphas_1d) - 0.5)))
    rise_half = float(np.mean([(s[half] + s[len(s) - 1 - half]) / 2 - s[mid] for s in train_slices]))
    lower = float(np.mean(random_plane < final_loss - 1e-6))
    failures = [f"training diverged at epoch {fit.diverged_epoch}"] if fit.diverged else []

    _figure_1d(ctx, alphas_1d, train_slices, test_slices)
    _figure_2d(ctx, grid, random_plane, coef_random, pca_grid, pca_plane, coef_pca, explained, captured_random)

    summary = {
        "n_params": task.n_params,
        "epochs": epochs,
        "snapshot_every_epochs": every,
        "num_snapshots": len(snapshots),
        "final_train_loss": final_loss,
        "final_test_loss": test_loss,
        "test_accuracy": float(fit.history.val_metrics["accuracy"][-1]),
        "num_directions_1d": num_dirs,
        "grid_points": n_grid,
        "slice_1d_train": train_slices.tolist(),
        "slice_1d_test": test_slices.tolist(),
        "slice_1d_alphas": np.asarray(alphas_1d).tolist(),
        "mean_rise_at_half_step": rise_half,
        "slice_1d_min_at_center": bool(np.all(np.argmin(train_slices, 1) == mid)),
        "random_plane_fraction_below_center": lower,
        "random_plane_min": float(random_plane.min()),
        "random_plane_max": float(random_plane.max()),
        "trajectory_captured_by_random_plane": captured_random,
        "trajectory_captured_by_pca_plane": captured_pca,
        "pca_explained_variance": explained[:2].tolist(),
        "pca_plane_min": float(pca_plane.min()),
    }
    method = f"""
The course's 29-16-1 network ({task.n_params} parameters) trained on the heart data with Adam ({LEARNING_RATE}),
batches of {BATCH_SIZE}, {epochs} epochs, keeping the parameters every {every} epochs ({len(snapshots)} points of the
trajectory, the initialisation included). Around the trained parameters `theta*` we evaluate the training loss along
random directions with **filter normalisation** (Li et al., *Visualizing the Loss Landscape of Neural Nets*, NeurIPS
2018): a Gaussian direction whose per-neuron slice (each column of a weight matrix: the incoming weights of one unit)
is rescaled to the norm of the matching weights of `theta*`, **bias directions zero**. 1-D slices `L(theta* + a d)` for
{num_dirs} directions, a in [-1, 1] (training and test loss); a 2-D slice `L(theta* + a d1 + b d2)` on a
{n_grid}x{n_grid} grid (one vmapped evaluation). The trajectory is shown two ways: **projected onto the plane of the two
random directions** (least-squares coordinates), and on a second 2-D slice along the **two principal directions of the
trajectory itself** (PCA of `theta_t - theta*`, Li et al. sec. 7, not filter-normalised), where the path actually lies.
"""
    findings = (
        f"""
The trained network sits in a basin: along every random filter-normalised direction the training loss is lowest at
a = 0 ({"true for all" if summary["slice_1d_min_at_center"] else "not true for all"} {num_dirs} directions) and rises
by {rise_half:.3f} on average half a step away (a = +-0.5, i.e. every neuron's weights moved by half their norm), from
{final_loss:.3f}; the test loss along the same lines sits higher ({test_loss:.3f} at the centre), the generalisation
gap. On the random plane {100 * lower:.1f}% of the grid lies below the centre. The random plane captures only
{100 * captured_random:.1f}% of the trajectory's squared length: in {task.n_params} dimensions two random directions are
nearly orthogonal to the path, so its projection huddles near the centre. The trajectory's own two principal
directions explain {100 * explained[0]:.1f}% and {100 * explained[1]:.1f}% of its variance and capture
{100 * captured_pca:.1f}% of its squared length: on that plane the path runs down across the loss contours to the
trained point"""
        + (
            f", and the valley goes on past it (the lowest loss on that plane, {float(pca_plane.min()):.3f}, lies beyond "
            "the end of the path: more training would keep going that way)."
            if float(pca_plane.min()) < final_loss - 1e-4
            else ", the lowest point of that plane."
        )
        + """
"""
    )
    return Findings(summary=summary, method=method, findings=findings, figures=ctx.figures, failures=failures)


def _figure_1d(ctx, alphas, train_slices, test_slices) -> None:
    fig, ax = plt.subplots(figsize=(7.5, 4.4))
    colours = plt.cm.tab10(np.arange(len(train_slices)))
    for i, (tr, te) in enumerate(zip(train_slices, test_slices)):
        ax.plot(alphas, tr, color=colours[i], label=f"direction {i + 1}, train")
        ax.plot(alphas, te, "--", color=colours[i], lw=1, label=f"direction {i + 1}, test")
    ax.axvline(0, color="gray", lw=0.8)
    ax.set(
        xlabel="step a along the filter-normalised direction",
        ylabel="binary cross-entropy",
        title="1-D slices through the trained network",
    )
    ax.legend(fontsize=7, ncol=2)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    ctx.save_figure(
        fig,
        "slices_1d.png",
        "Training (solid) and test (dashed) loss along random filter-normalised directions through the "
        "trained network (a = 0).",
    )


def _figure_2d(ctx, grid, random_plane, coef_random, pca_grid, pca_plane, coef_pca, explained, captured) -> None:
    fig, axes = plt.subplots(1, 2, figsize=(13, 5.4))
    for ax, g, plane, coef, title, xlabel, ylabel in (
        (
            axes[0],
            grid,
            random_plane,
            coef_random,
            "Random filter-normalised directions",
            "a (direction 1)",
            "b (direction 2)",
        ),
        (
            axes[1],
            pca_grid,
            pca_plane,
            coef_pca,
            "Principal directions of the trajectory",
            f"PC 1 ({100 * explained[0]:.0f}% of the variance)",
            f"PC 2 ({100 * explained[1]:.0f}%)",
        ),
    ):
        g = np.asarray(g)
        levels = np.quantile(plane, np.linspace(0, 1, 25))
        levels = np.unique(levels)
        filled = ax.contourf(g, g, plane, levels=levels, cmap="viridis")
        ax.contour(g, g, plane, levels=levels, colors="white", linewidths=0.4)
        fig.colorbar(filled, ax=ax, label="training loss")
        ax.plot(coef[0], coef[1], "o-", color="tab:red", ms=3, lw=1.2, label="training trajectory (projected)")
        ax.plot(coef[0][0], coef[1][0], "s", color="white", mec="black", ms=7, label="initialisation")
        ax.plot(0, 0, "*", color="yellow", mec="black", ms=14, label="trained network")
        ax.set(xlabel=xlabel, ylabel=ylabel, title=title, xlim=(g[0], g[-1]), ylim=(g[0], g[-1]))
        ax.legend(fontsize=7, loc="upper right")
    axes[0].annotate(
        f"random plane captures {100 * captured:.1f}% of the path",
        (0.02, 0.02),
        xycoords="axes fraction",
        color="white",
        fontsize=8,
    )
    fig.tight_layout()
    ctx.save_figure(
        fig,
        "surface_2d.png",
        "2-D slices of the training loss around the trained network: along two random filter-normalised "
        "directions (left, the trajectory projected onto that plane by least squares; points outside the "
        "window are clipped) and along the trajectory's two principal directions (right). Contour levels "
        "are quantiles of each slice.",
    )


QUESTION = "What does the loss surface around a trained heart-disease network look like?"
STUDY = Study(NAME, "Loss landscape", QUESTION, run=run)

"""Overfitting and regularisation: a network too large for the heart data."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import jax
import jax.numpy as jnp
import matplotlib.pyplot as plt
import numpy as np

import gdjax
from gdjax.losses import is_bias, l2_penalty
from gdjax.optim import EmptyState, GradientTransformation, adam, chain
from gdjax.studies._heart_common import heart_task, spread
from gdjax.studies._study import Findings, Study, StudyContext

NAME = "overfitting"
LEARNING_RATE = 1e-3
BATCH_SIZE = 32
L1_WEIGHT = 1e-3
L2_WEIGHT = 3e-3
DROPOUT = 0.5
PATIENCE = 10
NEAR_ZERO = 1e-3  # |w| below this counts as (numerically) zero


def add_penalty_gradients(l1, l2) -> GradientTransformation:
    """Adds the gradient of ``l1 * sum|w| + l2 * sum w^2`` over the weights (not the biases).

    The same update as training on ``loss + penalty`` (the subgradient
    ``sign(w)`` for L1), placed before the optimizer; ``l1`` and ``l2`` may be
    traced, so one program sweeps them. The recorded training loss is then the
    data loss alone, comparable across penalties.
    """

    def init(params):
        del params
        return EmptyState()

    def update(updates, state, params=None):
        def add(path, g, w):
            if is_bias(path):
                return g
            return g + (l1 * jnp.sign(w) + 2 * l2 * w).astype(g.dtype)

        return jax.tree_util.tree_map_with_path(add, updates, params), state

    return GradientTransformation(init, update)


def _optimizer(h):
    return chain(add_penalty_gradients(h["l1"], h["l2"]), adam(LEARNING_RATE))


def _weight_norm(params, data):
    del data
    return jnp.sqrt(l2_penalty(params))


def _early_stop(val_loss: np.ndarray, patience: int) -> tuple[int, int]:
    """Keras' rule on a recorded curve: (epoch it stops at, best epoch), 0-based."""
    best, best_epoch, wait = np.inf, 0, 0
    for epoch, value in enumerate(val_loss):
        if value < best:
            best, best_epoch, wait = value, epoch, 0
        else:
            wait += 1
            if wait >= patience:
                return epoch, best_epoch
    return len(val_loss) - 1, best_epoch


def run(ctx: StudyContext) -> Findings:
    width = ctx.size(64, 256)
    sizes = (29, width, width, 1)
    epochs = ctx.size(60, 300)
    num_restarts = ctx.size(2, 4)
    task = heart_task(ctx.seed, sizes)
    dropped = heart_task(ctx.seed, sizes, dropout=DROPOUT)
    model = task.model

    def confidence(params, data):  # mean max(p, 1 - p): 0.5 undecided, 1 certain
        p = model.apply(params, data[0])
        return jnp.mean(jnp.maximum(p, 1 - p))

    metrics = {"accuracy": task.metrics["accuracy"], "weight_norm": _weight_norm, "confidence": confidence}
    common = dict(
        epochs=epochs,
        num_restarts=num_restarts,
        batch_size=BATCH_SIZE,
        validation_data=task.test,
        metrics=metrics,
        progress=ctx.progress,
    )
    grid = gdjax.sweep(
        task.loss,
        model.init,
        task.train,
        optimizer=_optimizer,
        grid={"l1": [0.0, L1_WEIGHT], "l2": [0.0, L2_WEIGHT]},
        key=ctx.key(1),
        **common,
    )
    drop = gdjax.restarts.restarts(
        dropped.loss,
        dropped.model.init,
        dropped.train,
        optimizer=_optimizer,
        hyperparams={"l1": 0.0, "l2": 0.0},
        key=ctx.key(1),
        **common,
    )
    variants = {
        "none": (grid, (0, 0)),
        "L2": (grid, (0, 1)),
        "L1": (grid, (1, 0)),
        "L1 + L2": (grid, (1, 1)),
        f"dropout {DROPOUT}": (drop, ()),
    }

    def pick(tree, index):
        return jax.tree.map(lambda a: np.asarray(a)[index], tree)

    failures, summary_variants = [], {}
    for name, (result, index) in variants.items():
        diverged = np.asarray(result.diverged)[index]
        failures += [f"{name}, restart {r}: diverged" for r in np.flatnonzero(diverged)]
        history = pick(result.history, index)
        val = np.asarray(history.val_loss)
        train = np.asarray(history.train_loss)
        first = pick(result.params, index)[0]["w"]
        summary_variants[name] = {
            "final_train_loss": spread(pick(result.final_loss, index)),
            "final_test_loss": spread(pick(result.final_val_loss, index)),
            "min_test_loss": spread(np.nanmin(val, axis=-1)),
            "epoch_of_min_test_loss": [int(e) for e in np.nanargmin(val, axis=-1)],
            "final_test_accuracy": spread(pick(result.final_val_metrics["accuracy"], index)),
            "final_weight_norm": spread(np.asarray(history.metrics["weight_norm"])[:, -1]),
            "final_test_confidence": spread(np.asarray(history.val_metrics["confidence"])[:, -1]),
            "first_layer_near_zero_fraction": float(np.mean(np.abs(first) < NEAR_ZERO)),
            "train_loss_curve_restart0": train[0].tolist(),
            "test_loss_curve_restart0": val[0].tolist(),
        }
    plain_val = np.asarray(pick(grid.history, (0, 0)).val_loss)
    stops = [_early_stop(v, PATIENCE) for v in plain_val]
    plain = summary_variants["none"]
    summary = {
        "sizes": list(sizes),
        "n_params": task.n_params,
        "n_train": int(task.train[0].shape[0]),
        "epochs": epochs,
        "num_restarts": num_restarts,
        "learning_rate": LEARNING_RATE,
        "l1_weight": L1_WEIGHT,
        "l2_weight": L2_WEIGHT,
        "dropout": DROPOUT,
        "patience": PATIENCE,
        "near_zero": NEAR_ZERO,
        "early_stopping_epoch": [s for s, _ in stops],
        "early_stopping_best_epoch": [b for _, b in stops],
        "early_stopping_test_loss": spread([v[b] for v, (_, b) in zip(plain_val, stops)]),
        "variants": summary_variants,
        "overfit_rise": float(plain["final_test_loss"]["median"] - plain["min_test_loss"]["median"]),
    }

    _figure_curves(ctx, variants, pick, stops, epochs)
    _figure_histograms(ctx, grid, pick)
    _figure_confidence(ctx, grid, pick, model, task)

    v = summary_variants
    method = f"""
A network far too large for {summary["n_train"]} patients: `mlp({list(sizes)})`, **{task.n_params} parameters**
(the course's network has 497), trained with Adam ({LEARNING_RATE}), batches of {BATCH_SIZE}, {epochs} epochs,
{num_restarts} restarts, on the heart data, watching the loss on the 61 test patients. Regularisers: an L2 penalty
`{L2_WEIGHT} sum w^2`, an L1 penalty `{L1_WEIGHT} sum |w|` (weights only, not biases; their gradients, the subgradient
`sign(w)` for L1, are added before Adam, which is the same update as training on loss + penalty), both together, and
dropout {DROPOUT} on the hidden units. The four penalty settings run as one vmapped sweep over (l1, l2), from the same
initialisations and batches as the dropout runs. Early stopping: Keras' rule (stop {PATIENCE} epochs after the best
test loss) applied to the unregularised run's recorded test-loss curve. The training loss shown is the data loss
alone (no penalty). "Confidence" is the mean of max(p, 1 - p) over the test patients.
"""
    findings = (
        f"""
Without regularisation the training loss falls to {v["none"]["final_train_loss"]["median"]:.3g} while the test loss
reaches its minimum {v["none"]["min_test_loss"]["median"]:.3f} at epoch {int(np.median(v["none"]["epoch_of_min_test_loss"])) + 1}
and then climbs to {v["none"]["final_test_loss"]["median"]:.3f} (+{summary["overfit_rise"]:.3f}): the network memorises
the training patients. Early stopping would have stopped at epoch {int(np.median(summary["early_stopping_epoch"])) + 1}
keeping the weights of epoch {int(np.median(summary["early_stopping_best_epoch"])) + 1} (test loss
{summary["early_stopping_test_loss"]["median"]:.3f}). Final test losses: """
        + ", ".join(f"{name} {val['final_test_loss']['median']:.3f}" for name, val in v.items())
        + """; final test accuracies: """
        + ", ".join(f"{name} {val['final_test_accuracy']['median']:.3f}" for name, val in v.items())
        + f""".

L1 drives weights to zero: {100 * v["L1"]["first_layer_near_zero_fraction"]:.0f}% of the first layer's weights end
below {NEAR_ZERO} in magnitude, against {100 * v["L2"]["first_layer_near_zero_fraction"]:.0f}% with L2 (which shrinks
every weight in proportion to its size, so small weights feel almost no pull) and {100 * v["none"]["first_layer_near_zero_fraction"]:.0f}% without a penalty.
Plain (sub)gradient steps leave them hovering near zero rather than exactly at it; a proximal step would zero them.

Over-confidence: without a penalty the weight norm grows to {v["none"]["final_weight_norm"]["median"]:.1f} (L2:
{v["L2"]["final_weight_norm"]["median"]:.1f}) and the mean test confidence to
{v["none"]["final_test_confidence"]["median"]:.3f} (L2: {v["L2"]["final_test_confidence"]["median"]:.3f}). Large
weights make large logits, the sigmoid saturates at 0 or 1, and every confident mistake costs a large
cross-entropy: that, not the accuracy, is what drives the test loss up.
"""
    )
    return Findings(summary=summary, method=method, findings=findings, figures=ctx.figures, failures=failures)


def _figure_curves(ctx, variants, pick, stops, epochs) -> None:
    colours = dict(zip(variants, ("tab:red", "tab:blue", "tab:green", "tab:purple", "tab:orange")))
    fig, axes = plt.subplots(1, 2, figsize=(13, 4.4))
    x = np.arange(1, epochs + 1)
    for name, (result, index) in variants.items():
        history = pick(result.history, index)
        axes[0].plot(x, np.nanmedian(np.asarray(history.train_loss), 0), color=colours[name], label=f"{name}, train")
        axes[0].plot(x, np.nanmedian(np.asarray(history.val_loss), 0), "--", color=colours[name], label=f"{name}, test")
        axes[1].plot(x, np.nanmedian(np.asarray(history.val_loss), 0), color=colours[name], label=name)
    stop, best = stops[0]
    for ax in axes:
        ax.axvline(best + 1, color="black", ls=":", lw=1)
        ax.axvline(stop + 1, color="gray", ls=":", lw=1)
        ax.grid(alpha=0.3)
    axes[1].annotate("best epoch", (best + 1, axes[1].get_ylim()[1]), rotation=90, va="top", ha="right", fontsize=8)
    axes[1].annotate("early stop", (stop + 1, axes[1].get_ylim()[1]), rotation=90, va="top", ha="right", fontsize=8)
    axes[0].set(
        xlabel="epoch",
        ylabel="binary cross-entropy (data loss)",
        yscale="log",
        title="Training (solid) and test (dashed) loss, median over restarts",
    )
    axes[1].set(xlabel="epoch", ylabel="test loss", title="Test loss by regulariser")
    axes[0].legend(fontsize=7, ncol=2)
    axes[1].legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    ctx.save_figure(
        fig,
        "train_vs_test.png",
        "Training and test loss of the over-large network with each regulariser; dotted lines: the best "
        "epoch of the unregularised run (restart 0) and where early stopping would stop it.",
    )


def _figure_histograms(ctx, grid, pick) -> None:
    fig, axes = plt.subplots(1, 2, figsize=(12, 4))
    bins = np.linspace(-0.8, 0.8, 81)
    log_bins = np.geomspace(1e-6, 2, 61)
    for name, index, colour in (("none", (0, 0), "tab:red"), ("L2", (0, 1), "tab:blue"), ("L1", (1, 0), "tab:green")):
        w = np.asarray(pick(grid.params, index)[0]["w"]).ravel()
        axes[0].hist(w, bins=bins, histtype="step", lw=1.5, color=colour, label=name)
        axes[1].hist(np.abs(w) + 1e-12, bins=log_bins, histtype="step", lw=1.5, color=colour, label=name)
    axes[0].set(xlabel="first-layer weight", ylabel="count", yscale="log", title="First-layer weights (all restarts)")
    axes[1].set(xlabel="|weight| (log scale)", ylabel="count", xscale="log", title="Their magnitudes")
    axes[1].axvline(NEAR_ZERO, color="gray", ls=":", label=f"|w| = {NEAR_ZERO}")
    for ax in axes:
        ax.legend(fontsize=8)
        ax.grid(alpha=0.3)
    fig.tight_layout()
    ctx.save_figure(
        fig,
        "weight_histograms.png",
        "First-layer weights after training: L1 piles them up at (nearly) zero, L2 shrinks them all "
        "towards zero without zeroing any.",
    )


def _figure_confidence(ctx, grid, pick, model, task) -> None:
    fig, axes = plt.subplots(1, 3, figsize=(15, 4))
    x_test, y_test = (np.asarray(a) for a in task.test)
    for name, index, colour in (("none", (0, 0), "tab:red"), ("L2", (0, 1), "tab:blue")):
        history = pick(grid.history, index)
        epochs = np.arange(1, np.asarray(history.train_loss).shape[-1] + 1)
        axes[0].plot(epochs, np.asarray(history.metrics["weight_norm"])[0], color=colour, label=name)
        axes[1].plot(epochs, np.asarray(history.val_metrics["confidence"])[0], color=colour, label=name)
        p = np.asarray(model.apply(pick(grid.params, index + (0,)), x_test))
        wrong = (p >= 0.5) != (y_test > 0.5)
        bins = np.linspace(0, 1, 21)
        axes[2].hist(p[~wrong], bins=bins, histtype="step", lw=1.5, color=colour, label=f"{name}: right")
        axes[2].hist(p[wrong], bins=bins, histtype="step", lw=1.5, ls="--", color=colour, label=f"{name}: wrong")
    axes[0].set(xlabel="epoch", ylabel="||w|| (weights, no biases)", title="Weight norm (restart 0)")
    axes[1].set(xlabel="epoch", ylabel="mean max(p, 1-p) on test", title="Test confidence (restart 0)")
    axes[2].set(
        xlabel="predicted probability of disease (test)",
        ylabel="patients",
        yscale="log",
        title="Test predictions at the end",
    )
    for ax in axes:
        ax.legend(fontsize=8)
        ax.grid(alpha=0.3)
    fig.tight_layout()
    ctx.save_figure(
        fig,
        "overconfidence.png",
        "Without a penalty the weights grow and the sigmoid's outputs crowd at 0 and 1, wrong ones "
        "included; L2 keeps the weights and the confidence in check.",
    )


QUESTION = "When does a network too large for its data overfit, and what do early stopping, L1, L2 and dropout do?"
STUDY = Study(NAME, "Overfitting and regularisation", QUESTION, run=run)

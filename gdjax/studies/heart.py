"""Heart disease: the course's 29-16-1 network against logistic regression and the majority class.

The protocol: many seeded, stratified 181/61/61 train/validation/test splits;
on each, restarts of the network and of logistic regression, every one
early-stopped on its validation loss inside the compiled program
(:class:`gdjax.EarlyStopping`, the best epoch's parameters restored). The
test rows of a split are touched once, by the final models, for the reported
scores (accuracy, F1, ROC-AUC), set beside the majority-class baseline. The
spread over splits x restarts is separated into the split's part and the
seed's part; the network and logistic regression are compared per split
(both trained on the same rows with the same mini-batch order) with a t
interval over the splits.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

import gdjax
from gdjax import plot
from gdjax.studies._heart_common import (
    Baseline,
    Scores,
    interval_verdict,
    majority_baseline,
    mean_difference,
    model_task,
    predict_stacked,
    scores_of,
    split_seed,
    stratified_split,
    variance_components,
)
from gdjax.studies._study import FigureWriter, Study, StudyContext, Text

NAME = "heart"
QUESTION = (
    "How well does the course's 29-16-1 network predict heart disease, against logistic regression and "
    "the majority class, and how much of the spread is the split's and how much the seed's?"
)
LEARNING_RATE = 1e-3
LOGISTIC_LEARNING_RATE = 1e-2
BATCH_SIZE = 32
PATIENCE = 20
KERAS_RANGE = (0.80, 0.85)  # the course's Keras reference, on one random 20% split
# One optimizer and one early-stopping rule per module: new ones would recompile the training.
_ADAM = gdjax.optim.adam(LEARNING_RATE)
_ADAM_LOGISTIC = gdjax.optim.adam(LOGISTIC_LEARNING_RATE)
_EARLY_STOPPING = gdjax.EarlyStopping(patience=PATIENCE, monitor="val_loss", restore_best=True)


class ModelRuns(NamedTuple):
    """One model over splits x restarts: every array is ``[splits, restarts]`` (curves ``[..., epochs]``)."""

    test: Scores  # on each split's test rows, once, at the early-stopped parameters
    val_loss: np.ndarray  # the best validation loss (the restored epoch's)
    val_accuracy: np.ndarray
    train_loss: np.ndarray  # on the training rows at the restored parameters
    epochs_run: np.ndarray
    best_epoch: np.ndarray  # 1-based epoch whose parameters were kept
    stopped_early: np.ndarray
    diverged: np.ndarray
    train_curve: np.ndarray  # split 0 only: [restarts, epochs], the epoch's mean batch loss, NaN after the stop
    val_curve: np.ndarray


class Results(NamedTuple):
    n_params: int
    n_params_logistic: int
    n_train: int
    n_val: int
    n_test: int
    test_positives: int
    n_splits: int
    num_restarts: int
    max_epochs: int
    patience: int
    batch_size: int
    learning_rate: float
    logistic_learning_rate: float
    majority_baseline: float  # test accuracy of "no disease" for everyone (the same on every stratified split)
    majority: Baseline
    test_accuracy: float  # the network's median over splits x restarts
    test_f1: float
    test_roc_auc: float
    logistic_test_accuracy: float
    logistic_test_f1: float
    logistic_test_roc_auc: float
    split_std: float  # the network's test accuracy: the split's part of its spread
    seed_std: float  # ... and the initialisation's (within a split)
    total_std: float
    logistic_split_std: float
    logistic_seed_std: float
    split_means: np.ndarray  # the network's mean test accuracy on each split
    logistic_split_means: np.ndarray
    difference_accuracy: dict[str, float]  # network - logistic, per split (mean over restarts), t over splits
    difference_roc_auc: dict[str, float]
    per_split_difference: np.ndarray
    keras_range: tuple[float, float]
    keras_share: float  # share of (split, restart) runs whose test accuracy lies in the Keras range
    network: ModelRuns
    logistic: ModelRuns


def _train(task, optimizer, split, *, epochs: int, num_restarts: int, key, progress: bool):
    return gdjax.restarts.restarts(
        task.loss,
        task.model.init,
        (split.x_train, split.y_train),
        optimizer=optimizer,
        epochs=epochs,
        key=key,
        num_restarts=num_restarts,
        batch_size=BATCH_SIZE,
        validation_data=(split.x_val, split.y_val),
        metrics={"accuracy": task.accuracy},
        early_stopping=_EARLY_STOPPING,
        progress=progress,
    )


def _best_epoch(result) -> np.ndarray:
    """1-based epoch of each run's lowest validation loss: the one early stopping restored."""
    val = np.where(np.isfinite(result.history.val_loss), result.history.val_loss, np.inf)
    return np.argmin(val, axis=-1) + 1


def _collect(results: list, task, splits: list) -> ModelRuns:
    tests = [
        scores_of(predict_stacked(task.model, r.params, split.x_test), split.y_test)
        for r, split in zip(results, splits)
    ]
    stack = lambda get: np.stack([np.asarray(get(r)) for r in results])
    first = results[0].history
    return ModelRuns(
        test=Scores(*(np.stack(field) for field in zip(*tests))),
        val_loss=stack(lambda r: r.final_val_loss),
        val_accuracy=stack(lambda r: r.final_val_metrics["accuracy"]),
        train_loss=stack(lambda r: r.final_loss),
        epochs_run=stack(lambda r: r.epochs),
        best_epoch=stack(_best_epoch),
        stopped_early=stack(lambda r: r.stopped_early),
        diverged=stack(lambda r: r.diverged),
        train_curve=np.asarray(first.train_loss),
        val_curve=np.asarray(first.val_loss),
    )


def compute(ctx: StudyContext) -> Results:
    n_splits = ctx.size(10, 40)
    num_restarts = ctx.size(4, 16)
    epochs = ctx.size(200, 400)
    net, logistic = model_task(), model_task(None)
    splits = [stratified_split(split_seed(ctx.seed, s)) for s in range(n_splits)]
    runs: dict[str, list] = {"network": [], "logistic": []}
    for s, split in enumerate(splits):
        key = ctx.key(100 + s)  # the same key: the same mini-batch order for both models on this split
        for name, task, optimizer in (("network", net, _ADAM), ("logistic", logistic, _ADAM_LOGISTIC)):
            runs[name].append(
                _train(task, optimizer, split, epochs=epochs, num_restarts=num_restarts, key=key, progress=ctx.progress)
            )
    network = _collect(runs["network"], net, splits)
    logistic_runs = _collect(runs["logistic"], logistic, splits)

    majority = majority_baseline(splits[0].y_train, splits[0].y_test)
    for split in splits[1:]:  # stratified: every split's test part has the same class counts
        if majority_baseline(split.y_train, split.y_test) != majority:
            raise AssertionError("the stratified splits' majority baselines differ")
    parts = variance_components(network.test.accuracy)
    logistic_parts = variance_components(logistic_runs.test.accuracy)
    per_split = np.nanmean(network.test.accuracy, axis=1) - np.nanmean(logistic_runs.test.accuracy, axis=1)
    per_split_auc = np.nanmean(network.test.roc_auc, axis=1) - np.nanmean(logistic_runs.test.roc_auc, axis=1)
    accuracy = network.test.accuracy
    low, high = KERAS_RANGE
    return Results(
        n_params=net.n_params,
        n_params_logistic=logistic.n_params,
        n_train=int(splits[0].x_train.shape[0]),
        n_val=int(splits[0].x_val.shape[0]),
        n_test=int(splits[0].x_test.shape[0]),
        test_positives=int(np.sum(np.asarray(splits[0].y_test))),
        n_splits=n_splits,
        num_restarts=num_restarts,
        max_epochs=epochs,
        patience=PATIENCE,
        batch_size=BATCH_SIZE,
        learning_rate=LEARNING_RATE,
        logistic_learning_rate=LOGISTIC_LEARNING_RATE,
        majority_baseline=majority.accuracy,
        majority=majority,
        test_accuracy=float(np.nanmedian(accuracy)),
        test_f1=float(np.nanmedian(network.test.f1)),
        test_roc_auc=float(np.nanmedian(network.test.roc_auc)),
        logistic_test_accuracy=float(np.nanmedian(logistic_runs.test.accuracy)),
        logistic_test_f1=float(np.nanmedian(logistic_runs.test.f1)),
        logistic_test_roc_auc=float(np.nanmedian(logistic_runs.test.roc_auc)),
        split_std=parts.split_std,
        seed_std=parts.seed_std,
        total_std=parts.total_std,
        logistic_split_std=logistic_parts.split_std,
        logistic_seed_std=logistic_parts.seed_std,
        split_means=parts.split_means,
        logistic_split_means=logistic_parts.split_means,
        difference_accuracy=mean_difference(per_split),
        difference_roc_auc=mean_difference(per_split_auc),
        per_split_difference=per_split,
        keras_range=KERAS_RANGE,
        keras_share=float(np.mean((accuracy >= low - 1e-9) & (accuracy <= high + 1e-9))),
        network=network,
        logistic=logistic_runs,
    )


# ---------------------------------------------------------------- text


def keras_position(r: Results) -> str:
    """Where the network's median test accuracy falls against the Keras range: below, within or above."""
    low, high = r.keras_range
    if r.test_accuracy < low - 1e-9:
        return "below"
    if r.test_accuracy > high + 1e-9:
        return "above"
    return "within"


def _side(value: float, baseline: float) -> str:
    """``above``, ``at`` or ``below`` a baseline (to 1e-9)."""
    if value > baseline + 1e-9:
        return "above"
    return "at" if abs(value - baseline) <= 1e-9 else "below"


def logistic_train_loss_range(r: Results) -> float:
    """Median over the splits of the range (max - min) of logistic regression's training loss over its restarts."""
    loss = r.logistic.train_loss
    return float(np.median(np.nanmax(loss, axis=1) - np.nanmin(loss, axis=1)))


def claims(r: Results) -> dict[str, str]:
    """The findings' sentences, each computed from the results (the quick test checks every one)."""
    n_runs = r.n_splits * r.num_restarts
    majority = r.majority_baseline
    net_side, log_side = _side(r.test_accuracy, majority), _side(r.logistic_test_accuracy, majority)
    both = (
        "both above the majority baseline"
        if net_side == log_side == "above"
        else f"the network {net_side} and logistic regression {log_side} the majority baseline"
    )
    out = {
        "accuracy": (
            f"**Test accuracy** (median over {r.n_splits} splits x {r.num_restarts} restarts): network "
            f"**{r.test_accuracy:.3f}**, logistic regression **{r.logistic_test_accuracy:.3f}**, majority baseline "
            f"**{majority:.3f}** ({r.n_test - r.test_positives} of {r.n_test} test patients healthy): {both}. "
            f"One test patient is {100 / r.n_test:.1f} points of accuracy."
        ),
        "f1_auc": (
            f"F1: network {r.test_f1:.3f}, logistic regression {r.logistic_test_f1:.3f}, majority "
            f"{r.majority.f1:.3f} (it never predicts disease). ROC-AUC: network {r.test_roc_auc:.3f}, logistic "
            f"regression {r.logistic_test_roc_auc:.3f}, majority {r.majority.roc_auc:.3f} (a constant score)."
        ),
    }
    ahead = {
        "positive": "the network is ahead",
        "negative": "logistic regression is ahead",
        "difference": "network minus logistic",
    }
    wins = int(np.sum(r.per_split_difference > 1e-9))
    losses = int(np.sum(r.per_split_difference < -1e-9))
    out["difference"] = (
        f"**Network against logistic regression**, paired per split. Test accuracy: "
        f"{interval_verdict(r.difference_accuracy, **ahead)}; the network is ahead on {wins} of {r.n_splits} "
        f"splits and behind on {losses}. ROC-AUC: {interval_verdict(r.difference_roc_auc, **ahead)}."
    )
    dominant = (
        "the split moves it more than the seed"
        if r.split_std > r.seed_std
        else "the seed moves it at least as much as the split"
    )
    out["variance"] = (
        f"**Split against seed.** The network's test accuracy has a standard deviation of {r.total_std:.3f} over "
        f"all {n_runs} runs: {r.split_std:.3f} from the split and {r.seed_std:.3f} from the initialisation within a "
        f"split, so {dominant}."
    )
    if r.logistic_seed_std < 0.5 * r.seed_std:
        why = "its loss is convex, so its restarts nearly agree."
    else:
        kept = r.logistic.best_epoch
        why = (
            "its loss is convex, yet its restarts differ about as much as the network's: each is stopped early, at "
            f"an epoch that depends on its start (kept epochs {int(kept.min())}-{int(kept.max())}), before the "
            "restarts reach their common minimum (their training losses on one split differ by "
            f"{logistic_train_loss_range(r):.3f}, median over the splits)."
        )
    out["logistic_variance"] = (
        f"Logistic regression: {r.logistic_split_std:.3f} from the split, {r.logistic_seed_std:.3f} from the "
        f"seed; {why}"
    )
    low, high = r.keras_range
    split_low, split_high = float(np.min(r.split_means)), float(np.max(r.split_means))
    covers = "covers" if split_low <= low and split_high >= high else "does not cover"
    out["keras"] = (
        f"**Against the course's Keras reference** ({low:.2f}-{high:.2f} on one random 20% split): gdjax's median "
        f"{r.test_accuracy:.3f} is {keras_position(r)} that range, and {100 * r.keras_share:.0f}% of the {n_runs} "
        f"runs score inside it. One split's number is one draw from the spread above: the network's mean test "
        f"accuracy per split spans {split_low:.3f}-{split_high:.3f}, which {covers} the whole Keras range, and one "
        f"seed adds a standard deviation of {r.seed_std:.3f}. The Keras reference also reports the accuracy on the one "
        f"split it holds out, with no separate test part, and trains on 242 patients where ours train on "
        f"{r.n_train} (the other {r.n_val} choose the epoch)."
    )
    net, lr = r.network, r.logistic
    limit = int(np.sum(~net.stopped_early))
    out["epochs"] = (
        f"Early stopping kept epoch {int(np.median(net.best_epoch))} of the network (median over its runs; "
        f"{limit} of {n_runs} reached the {r.max_epochs}-epoch limit before their patience ran out) and epoch "
        f"{int(np.median(lr.best_epoch))} of logistic regression."
    )
    return out


def text(r: Results) -> Text:
    n_runs = r.n_splits * r.num_restarts
    method = f"""
The bundled Cleveland heart data (303 patients, 29 inputs after one-hot encoding) is split **{r.n_splits} times**,
each a seeded **stratified** split into {r.n_train} training, {r.n_val} validation and {r.n_test} test patients
({r.test_positives} of {r.n_test} with disease in every test part, the share of the whole data); the numeric columns
are standardised with the training rows' statistics. On each split the course's network `mlp([29, 16, 1])` (ReLU,
sigmoid output, **{r.n_params} parameters**, Adam {r.learning_rate:g}, mini-batches of {r.batch_size}) and logistic
regression ({r.n_params_logistic} parameters, Adam {r.logistic_learning_rate:g}) train from **{r.num_restarts} random
initialisations** each ({n_runs} runs per model), at most {r.max_epochs} epochs, **early-stopped on the validation
loss inside the compiled program** (`gdjax.EarlyStopping(patience={r.patience})`, the best epoch's parameters
restored). The validation rows choose the epoch; the test rows are touched once, by the final models, for the
numbers below. Baseline: the majority class of the training rows ("no disease") predicted for everyone. The spread of
test accuracy over splits x restarts is separated into the split's part and the seed's part (one-way random
effects, ANOVA estimates). Network against logistic regression: on each split both models train on the same rows with
the same mini-batch order; their difference in mean test accuracy over the restarts is one paired value per split,
with a Student t interval over the {r.n_splits} splits (the split is the independent unit).
"""
    c = claims(r)
    findings = "\n\n".join(
        [
            f"{c['accuracy']} {c['f1_auc']}",
            c["difference"],
            f"{c['variance']} {c['logistic_variance']}",
            f"{c['keras']} {c['epochs']}",
        ]
    )
    failures = []
    for name, runs in (("network", r.network), ("logistic regression", r.logistic)):
        for s, restart in zip(*np.nonzero(runs.diverged)):
            failures.append(f"{name}, split {int(s)}, restart {int(restart)} diverged")
    return Text(method=method, findings=findings, failures=failures)


# ---------------------------------------------------------------- figures

_COLORS = {"network": plot.COLORS[0], "logistic": plot.COLORS[1], "majority": "0.3"}


def _figure_early_stopping(r: Results, out: FigureWriter) -> None:
    fig, axes = plot.figure(1, 2, width=5.4, height=3.8)
    ax = axes[0, 0]
    net = r.network
    shown = min(2, r.num_restarts)
    for i in range(shown):
        color = plot.COLORS[2 * i]
        epochs = np.arange(1, net.val_curve.shape[-1] + 1)
        ax.plot(epochs, net.train_curve[i], "-", color=color, lw=1.2, label=f"restart {i}, training (epoch mean)")
        ax.plot(epochs, net.val_curve[i], "--", color=color, lw=1.2, label=f"restart {i}, validation")
        best = int(net.best_epoch[0, i])
        ax.plot(best, net.val_curve[i, best - 1], "v", color=color, mec="black", ms=8, zorder=5)
    ax.plot([], [], "v", color="white", mec="black", ms=8, label="kept epoch (lowest validation loss)")
    ax.set(xlabel="epoch", ylabel="binary cross-entropy", title="Network, split 0: early stopping on validation")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="upper right")
    ax = axes[0, 1]
    bins = np.linspace(0, r.max_epochs, 21)
    for name, runs, label in (("network", net, "network"), ("logistic", r.logistic, "logistic regression")):
        ax.hist(runs.best_epoch.ravel(), bins=bins, histtype="step", lw=1.6, color=_COLORS[name], label=label)
    ax.set(xlabel="kept epoch", ylabel="runs (splits x restarts)", title="Epoch chosen on validation")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    out.save_figure(
        fig,
        "early_stopping.png",
        f"Left: training (solid) and validation (dashed) loss of two restarts of the network on split 0, stopped "
        f"{r.patience} epochs after their lowest validation loss (triangles: the epochs kept). Right: the kept epoch "
        f"of every run of both models.",
    )


def _figure_scores(r: Results, out: FigureWriter) -> None:
    fig, axes = plot.figure(1, 3, width=3.4, height=3.6)
    for ax, field, label in zip(axes[0], ("accuracy", "f1", "roc_auc"), ("accuracy", "F1", "ROC-AUC")):
        data = [getattr(runs.test, field).ravel() for runs in (r.network, r.logistic)]
        parts = ax.boxplot(data, positions=[0, 1], widths=0.55, patch_artist=True, medianprops={"color": "black"})
        for box, name in zip(parts["boxes"], ("network", "logistic")):
            box.set_facecolor(_COLORS[name])
            box.set_alpha(0.6)
        baseline = getattr(r.majority, field)
        ax.axhline(baseline, color=_COLORS["majority"], ls="--", lw=1.2, label=f"majority class: {baseline:.3f}")
        if field == "accuracy":
            ax.axhspan(*r.keras_range, color="tab:green", alpha=0.12, label="Keras reference 0.80-0.85")
        ax.set_xticks([0, 1], ["network", "logistic"])
        ax.set_title(f"test {label}")
        ax.grid(alpha=0.3, axis="y")
        ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.1), frameon=False)
        values = np.concatenate([v[np.isfinite(v)] for v in data] + [[baseline]])
        ax.set_ylim(max(-0.03, values.min() - 0.04), min(1.02, values.max() + 0.04))
    out.save_figure(
        fig,
        "test_scores.png",
        f"Test accuracy, F1 and ROC-AUC of every run ({r.n_splits} splits x {r.num_restarts} restarts per model; "
        "boxes: quartiles, whiskers: 1.5 IQR), against the majority-class baseline (dashed).",
    )


def _split_ticks(ax, order: np.ndarray) -> None:
    """Each split's number under it when there are few; none when they would overlap."""
    if len(order) <= 16:
        ax.set_xticks(np.arange(len(order)), [str(int(i)) for i in order], fontsize=7)
    else:
        ax.set_xticks([])


def _figure_splits(r: Results, out: FigureWriter) -> None:
    fig, axes = plot.figure(1, 2, width=5.4, height=3.8)
    ax = axes[0, 0]
    order = np.argsort(r.split_means)
    x = np.arange(r.n_splits)
    jitter = np.linspace(-0.15, 0.15, r.num_restarts)
    for name, runs, marker, shift, label in (
        ("network", r.network, "o", -0.2, "network (one dot per restart)"),
        ("logistic", r.logistic, "x", 0.2, "logistic regression"),
    ):
        values = runs.test.accuracy[order]
        ax.scatter(
            (x[:, None] + shift + 0.3 * jitter[None, :]).ravel(),
            values.ravel(),
            s=12,
            marker=marker,
            color=_COLORS[name],
            label=label,
        )
    ax.axhline(r.majority_baseline, color=_COLORS["majority"], ls="--", lw=1.2, label="majority class")
    ax.axhspan(*r.keras_range, color="tab:green", alpha=0.12, label="Keras reference")
    _split_ticks(ax, order)
    ax.set(xlabel="split (ordered by the network's mean)", ylabel="test accuracy", title="Spread: split against seed")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=2, frameon=False)
    ax = axes[0, 1]
    d = r.difference_accuracy
    ax.plot(x, r.per_split_difference[order], "o", color="black", ms=4, label="per split (mean over restarts)")
    ax.axhspan(d["low"], d["high"], color=_COLORS["network"], alpha=0.2, label="95% interval of the mean")
    ax.axhline(d["mean"], color=_COLORS["network"], lw=1.4, label=f"mean {d['mean']:+.3f}")
    ax.axhline(0, color="black", lw=0.8, ls=":")
    _split_ticks(ax, order)
    ax.set(
        xlabel="split (same order)", ylabel="network - logistic (test accuracy)", title="Paired difference per split"
    )
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=2, frameon=False)
    apart = (
        f"the splits differ more than the restarts on one split (split std {r.split_std:.3f}, seed std "
        f"{r.seed_std:.3f})"
        if r.split_std > r.seed_std
        else f"the restarts on one split differ as much as the splits (seed std {r.seed_std:.3f}, split std "
        f"{r.split_std:.3f})"
    )
    out.save_figure(
        fig,
        "splits.png",
        f"Left: test accuracy of every restart on each split (dots: network, crosses: logistic regression): {apart}. "
        "Right: network minus logistic regression per split, with the mean and its 95% t interval over the splits.",
    )


def figures(r: Results, out: FigureWriter) -> None:
    _figure_early_stopping(r, out)
    _figure_scores(r, out)
    _figure_splits(r, out)


STUDY = Study(NAME, "Heart disease: the course's network", QUESTION, compute=compute, figures=figures, text=text)

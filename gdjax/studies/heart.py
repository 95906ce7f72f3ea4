"""Heart disease: the course's 29-16-1 network against logistic regression, over restarts."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

import gdjax
from gdjax.studies._heart_common import band, classification_report, heart_task, predict_stacked, spread
from gdjax.studies._study import Findings, Study, StudyContext

NAME = "heart"
LEARNING_RATE = 1e-3
BATCH_SIZE = 32
# One optimizer object per module: a new one would recompile the training.
_ADAM = gdjax.optim.adam(LEARNING_RATE)
_ADAM_LOGISTIC = gdjax.optim.adam(1e-2)


def _train(ctx: StudyContext, task, optimizer, *, epochs: int, num_restarts: int, stream: int):
    return gdjax.restarts.restarts(
        task.loss,
        task.model.init,
        task.train,
        optimizer=optimizer,
        epochs=epochs,
        key=ctx.key(stream),
        num_restarts=num_restarts,
        batch_size=BATCH_SIZE,
        validation_data=task.test,
        metrics=task.metrics,
        progress=ctx.progress,
    )


def run(ctx: StudyContext) -> Findings:
    epochs = ctx.size(60, 200)
    num_restarts = ctx.size(8, 32)
    net = heart_task(ctx.seed)
    logistic = heart_task(ctx.seed, None)
    runs = {
        "mlp": _train(ctx, net, _ADAM, epochs=epochs, num_restarts=num_restarts, stream=1),
        "logistic": _train(ctx, logistic, _ADAM_LOGISTIC, epochs=epochs, num_restarts=num_restarts, stream=2),
    }
    labels = {"mlp": "29-16-1 network", "logistic": "logistic regression"}
    x_test, y_test = net.test
    reports = {}
    failures = []
    for name, result in runs.items():
        task = net if name == "mlp" else logistic
        ok = ~result.diverged
        for i in np.flatnonzero(result.diverged):
            failures.append(f"{labels[name]} restart {i} diverged at step {int(result.diverged_step[i])}")
        reports[name] = classification_report(predict_stacked(task.model, result.params, x_test), y_test)
        reports[name]["ok"] = ok

    summary = {
        "n_params": net.n_params,
        "n_params_logistic": logistic.n_params,
        "n_train": int(net.train[0].shape[0]),
        "n_test": int(x_test.shape[0]),
        "test_positive_rate": float(np.mean(np.asarray(y_test))),
        "epochs": epochs,
        "num_restarts": num_restarts,
        "batch_size": BATCH_SIZE,
        "learning_rate": {"mlp": LEARNING_RATE, "logistic": 1e-2},
    }
    for name, report in reports.items():
        ok = report["ok"]
        prefix = "" if name == "mlp" else "logistic_"
        for metric in ("accuracy", "precision", "recall", "f1"):
            summary[f"{prefix}test_{metric}"] = spread(report[metric][ok])["median"]
            summary[f"{prefix}test_{metric}_spread"] = spread(report[metric][ok])
        summary[f"{prefix}train_loss"] = spread(runs[name].final_loss)
        summary[f"{prefix}test_loss"] = spread(runs[name].final_val_loss)
        summary[f"{prefix}train_accuracy"] = spread(runs[name].final_metrics["accuracy"])
        summary[f"{prefix}confusion_restart0"] = report["confusion"][0].tolist()
        summary[f"{prefix}diverged"] = int(np.sum(~ok))

    _figure_curves(ctx, runs, labels)
    _figure_metrics(ctx, reports, labels)
    _figure_confusion(ctx, reports, labels)

    gap = summary["test_accuracy"] - summary["logistic_test_accuracy"]
    fits_better = summary["train_loss"]["median"] < summary["logistic_train_loss"]["median"]
    apart = abs(gap) * summary["n_test"] >= 3  # three patients or more
    verdict = (
        f"the {'network' if gap > 0 else 'logistic regression'} is ahead by {abs(gap) * summary['n_test']:.1f} patients"
        if apart
        else "the two models are not clearly apart (fewer than three patients between their medians)"
    )
    method = f"""
The bundled Cleveland heart data (303 patients, 29 inputs after one-hot encoding, numeric columns
standardised on the training rows) split {summary["n_train"]}/{summary["n_test"]} with seed {ctx.seed}.
The course's network `mlp([29, 16, 1])` (ReLU, sigmoid output, **{net.n_params} parameters**) is
trained with Adam (learning rate {LEARNING_RATE}) on the binary cross-entropy, mini-batches of
{BATCH_SIZE}, {epochs} epochs, from **{num_restarts} random initialisations** (one vmapped program,
`gdjax.restarts.restarts`, the same mini-batch order for every restart). The baseline is logistic
regression ({logistic.n_params} parameters, Adam 0.01, same batches and epochs). The 61 test patients
are only evaluated, never used to pick a restart or an epoch; the confusion matrix shown is restart 0's
(an arbitrary one, not the best). Spreads are over restarts (median, 10th-90th percentile band).
"""
    findings = f"""
Test accuracy of the network: median **{summary["test_accuracy"]:.3f}** over {num_restarts} restarts
(range {summary["test_accuracy_spread"]["min"]:.3f}-{summary["test_accuracy_spread"]["max"]:.3f});
logistic regression: median **{summary["logistic_test_accuracy"]:.3f}**
(range {summary["logistic_test_accuracy_spread"]["min"]:.3f}-{summary["logistic_test_accuracy_spread"]["max"]:.3f}),
a difference of {gap:+.3f}, i.e. {gap * summary["n_test"]:+.1f} of {summary["n_test"]} patients. Network F1
{summary["test_f1"]:.3f} (precision {summary["test_precision"]:.3f}, recall {summary["test_recall"]:.3f}); logistic
F1 {summary["logistic_test_f1"]:.3f}. The network fits the training set {"better" if fits_better else "no better"} (median
training loss {summary["train_loss"]["median"]:.3f} against {summary["logistic_train_loss"]["median"]:.3f}), but on
{summary["n_test"]} test patients one patient is {100 / summary["n_test"]:.1f} points of accuracy: {verdict}.
The spread of test accuracy over restarts is {summary["test_accuracy_spread"]["std"]:.3f} (standard deviation) for the
network against {summary["logistic_test_accuracy_spread"]["std"]:.3f} for the convex logistic regression, whose
restarts all reach nearly the same model; the test loss curves show where each starts to overfit.
"""
    return Findings(summary=summary, method=method, findings=findings, figures=ctx.figures, failures=failures)


def _figure_curves(ctx, runs, labels) -> None:
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    colours = {"mlp": "tab:blue", "logistic": "tab:orange"}
    for name, result in runs.items():
        history = result.history
        epochs = np.arange(1, history.train_loss.shape[-1] + 1)
        for ax, train, val in (
            (axes[0], history.train_loss, history.val_loss),
            (axes[1], history.metrics["accuracy"], history.val_metrics["accuracy"]),
        ):
            for values, style, part in ((train, "-", "train"), (val, "--", "test")):
                mid, low, high = band(values)
                ax.plot(epochs, mid, style, color=colours[name], label=f"{labels[name]}, {part}")
                ax.fill_between(epochs, low, high, color=colours[name], alpha=0.15)
    axes[0].set(xlabel="epoch", ylabel="binary cross-entropy", title="Loss (median, 10-90% band over restarts)")
    axes[1].set(xlabel="epoch", ylabel="accuracy", title="Accuracy")
    axes[0].legend(fontsize=8)
    for ax in axes:
        ax.grid(alpha=0.3)
    fig.tight_layout()
    ctx.save_figure(
        fig,
        "learning_curves.png",
        "Learning curves of the 29-16-1 network and logistic regression: training (solid) and test (dashed) "
        "loss and accuracy, median over restarts with a 10-90% band.",
    )


def _figure_metrics(ctx, reports, labels) -> None:
    metrics = ("accuracy", "precision", "recall", "f1")
    fig, ax = plt.subplots(figsize=(8, 4))
    width = 0.38
    for k, (name, colour) in enumerate((("mlp", "tab:blue"), ("logistic", "tab:orange"))):
        report = reports[name]
        data = [report[m][report["ok"]] for m in metrics]
        positions = np.arange(len(metrics)) + (k - 0.5) * width
        parts = ax.boxplot(
            data,
            positions=positions,
            widths=width * 0.8,
            patch_artist=True,
            showfliers=True,
            medianprops={"color": "black"},
        )
        for box in parts["boxes"]:
            box.set_facecolor(colour)
            box.set_alpha(0.6)
        ax.plot([], [], "s", color=colour, alpha=0.6, label=labels[name])
    ax.set_xticks(np.arange(len(metrics)), [m if m != "f1" else "F1" for m in metrics])
    ax.set(ylabel="on the 61 test patients", title="Test metrics over restarts")
    ax.legend(loc="lower left")
    ax.grid(alpha=0.3, axis="y")
    fig.tight_layout()
    ctx.save_figure(
        fig,
        "test_metrics.png",
        "Test accuracy, precision, recall and F1 of every restart (boxes: quartiles; whiskers: 1.5 IQR).",
    )


def _figure_confusion(ctx, reports, labels) -> None:
    fig, axes = plt.subplots(1, 2, figsize=(8, 3.6))
    for ax, name in zip(axes, ("mlp", "logistic")):
        matrix = reports[name]["confusion"][0]
        ax.imshow(matrix, cmap="Blues", vmin=0)
        for i in range(2):
            for j in range(2):
                ax.text(
                    j,
                    i,
                    str(int(matrix[i, j])),
                    ha="center",
                    va="center",
                    fontsize=14,
                    color="white" if matrix[i, j] > matrix.max() / 2 else "black",
                )
        ax.set_xticks([0, 1], ["no disease", "disease"])
        ax.set_yticks([0, 1], ["no disease", "disease"])
        ax.set(xlabel="predicted", ylabel="true", title=f"{labels[name]} (restart 0)")
    fig.tight_layout()
    ctx.save_figure(
        fig, "confusion.png", "Confusion matrices on the test set (restart 0 of each model, threshold 0.5)."
    )


QUESTION = "How well does the course's 29-16-1 network predict heart disease, against logistic regression?"
STUDY = Study(NAME, "Heart disease: the course's network", QUESTION, run=run)

"""Perceptron and logistic regression on student admissions; where a line stops being enough."""

from __future__ import annotations

import functools

import matplotlib

matplotlib.use("Agg")
import jax
import jax.numpy as jnp
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

import gdjax
from gdjax.data import ADMISSIONS_BIAS, ADMISSIONS_WEIGHTS
from gdjax.losses import sigmoid_binary_cross_entropy
from gdjax.models import logistic_regression, mlp, perceptron, perceptron_step
from gdjax.optim import adam, sgd
from gdjax.studies._study import Findings, Study, StudyContext

NAME = "perceptron"
TRICK_RATE = 0.1
LOGISTIC_RATE = 0.5
MLP_SIZES = (2, 16, 16, 1)
_SGD = sgd(LOGISTIC_RATE)
_ADAM = adam(0.02)


@functools.partial(jax.jit, static_argnames=("epochs",))
def perceptron_path(params, x, y, learning_rate, *, epochs: int):
    """The perceptron trick over ``epochs`` passes in order, recording the params after every visit.

    Returns ``(path, mistakes)``: ``path`` holds ``epochs * n`` parameter sets
    (leading axis), ``mistakes[t]`` whether visit ``t`` found its point misclassified.
    """

    def visit(p, point):
        xi, yi = point
        mistake = (xi @ p["w"] + p["b"] >= 0).astype(yi.dtype) != yi
        new = perceptron_step(p, xi, yi, learning_rate)
        return new, (new, mistake)

    points = (jnp.tile(x, (epochs, 1)), jnp.tile(y, epochs))
    _, (path, mistakes) = jax.lax.scan(visit, params, points)
    return path, mistakes


def _line(ax, w, b, lim, **kwargs):
    """Draws ``w0 x + w1 y + b = 0`` inside the square ``[lim0, lim1]^2``."""
    xs = np.linspace(*lim, 2)
    if abs(w[1]) > 1e-9:
        ax.plot(xs, -(w[0] * xs + b) / w[1], **kwargs)
    else:
        ax.axvline(-b / w[0], **kwargs)


def _scatter(ax, x, y):
    ax.scatter(x[y == 1, 0], x[y == 1, 1], c="tab:blue", s=18, marker="o", label="admitted")
    ax.scatter(x[y == 0, 0], x[y == 0, 1], c="tab:red", s=18, marker="x", label="rejected")


def _bce_loss(model):
    def loss(params, batch):
        return sigmoid_binary_cross_entropy(model.logits(params, batch[0]), batch[1])

    return loss


def _accuracy(model):
    def accuracy(params, data):
        return gdjax.metrics.accuracy(model.apply(params, data[0]), data[1])

    return accuracy


def run(ctx: StudyContext) -> Findings:
    n = ctx.size(60, 100)
    data = gdjax.data.admissions(ctx.key(0), n)
    x, y = np.asarray(data.x), np.asarray(data.y)
    lim = (0.0, 10.0)

    # 1. The perceptron trick, from a deliberately poor line.
    start = {"w": jnp.array([1.0, -1.0]), "b": jnp.array(0.0)}
    epochs = ctx.size(30, 60)
    path, mistakes = perceptron_path(start, data.x, data.y, TRICK_RATE, epochs=epochs)
    w_path, b_path, mistakes = np.asarray(path["w"]), np.asarray(path["b"]), np.asarray(mistakes)
    per_epoch = mistakes.reshape(epochs, n).sum(1)
    separated_epoch = int(np.argmax(per_epoch == 0)) if (per_epoch == 0).any() else None
    final_p = {"w": jnp.asarray(w_path[-1]), "b": jnp.asarray(b_path[-1])}
    model = perceptron(2)
    final_accuracy = float(gdjax.metrics.accuracy(model.apply(final_p, data.x), data.y))
    updates = np.flatnonzero(mistakes)
    failures = (
        []
        if separated_epoch is not None
        else [f"perceptron: still {int(per_epoch[-1])} mistakes in its last epoch of {epochs}"]
    )

    frames_wanted = ctx.size(12, 40)
    chosen = updates[np.unique(np.linspace(0, updates.size - 1, min(frames_wanted, updates.size)).astype(int))]
    frames = []
    for t in chosen:
        fig = Figure(figsize=(5, 5))  # not tracked by pyplot: dozens of frames may be open at once
        ax = fig.add_subplot()
        _scatter(ax, x, y)
        before_w = w_path[t - 1] if t > 0 else np.asarray(start["w"])
        before_b = b_path[t - 1] if t > 0 else float(start["b"])
        _line(ax, before_w, before_b, lim, color="gray", ls="--", lw=1, label="before")
        _line(ax, w_path[t], b_path[t], lim, color="black", lw=2, label="after")
        point = x[t % n]
        ax.scatter([point[0]], [point[1]], s=160, facecolors="none", edgecolors="orange", lw=2, label="misclassified")
        ax.set(
            xlim=lim,
            ylim=lim,
            xlabel="test score",
            ylabel="grades",
            title=f"update {int(np.searchsorted(updates, t)) + 1} of {updates.size} (epoch {t // n + 1})",
        )
        ax.legend(loc="upper right", fontsize=7)
        frames.append(fig)
    ctx.save_gif(
        frames,
        "perceptron_trick.gif",
        f"The perceptron trick (rate {TRICK_RATE}): each frame one update, the line moving towards the "
        f"misclassified point (circled); {len(chosen)} of its {updates.size} updates shown.",
    )

    fig, axes = plt.subplots(1, 2, figsize=(11, 4.5))
    _scatter(axes[0], x, y)
    for t in chosen[:: max(len(chosen) // 6, 1)]:
        _line(axes[0], w_path[t], b_path[t], lim, color="gray", lw=0.8, alpha=0.6)
    _line(axes[0], w_path[-1], b_path[-1], lim, color="black", lw=2, label="final perceptron line")
    _line(
        axes[0],
        np.array(ADMISSIONS_WEIGHTS),
        ADMISSIONS_BIAS,
        lim,
        color="tab:green",
        ls="--",
        label="true rule 2x1 + x2 = 18",
    )
    axes[0].set(xlim=lim, ylim=lim, xlabel="test score", ylabel="grades", title="Lines along the way (gray) and final")
    axes[0].legend(fontsize=8, loc="upper right")
    axes[1].bar(np.arange(1, epochs + 1), per_epoch, color="tab:orange")
    axes[1].set(xlabel="epoch", ylabel="misclassified points visited", title="Mistakes per pass")
    axes[1].grid(alpha=0.3)
    fig.tight_layout()
    ctx.save_figure(
        fig,
        "perceptron_lines.png",
        "The perceptron's line over its updates and the mistakes it makes in each pass over the data.",
    )

    # 2. Logistic regression by gradient descent on noisy admissions, features standardised.
    noisy = gdjax.data.admissions(ctx.key(1), n, label_noise=0.1)
    mean, scale = np.asarray(noisy.x).mean(0), np.asarray(noisy.x).std(0)
    xs = (np.asarray(noisy.x) - mean) / scale
    logistic = logistic_regression(2)
    steps = ctx.size(300, 1000)
    lr_fit = gdjax.fit(
        _bce_loss(logistic),
        logistic.init(ctx.key(2)),
        (jnp.asarray(xs), noisy.y),
        optimizer=_SGD,
        epochs=steps,
        key=ctx.key(3),
        metrics={"accuracy": _accuracy(logistic)},
    )
    w_std, b_std = np.asarray(lr_fit.params["w"]), float(lr_fit.params["b"])
    w_raw = w_std / scale  # the boundary in the original units
    b_raw = b_std - float(np.sum(w_std * mean / scale))
    grid = np.linspace(*lim, 200)
    gx, gy = np.meshgrid(grid, grid)
    probs = np.asarray(
        logistic.apply(
            {"w": jnp.asarray(w_raw), "b": jnp.asarray(b_raw)},
            jnp.asarray(np.stack([gx.ravel(), gy.ravel()], 1), jnp.float32),
        )
    ).reshape(gx.shape)
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.5))
    filled = axes[0].contourf(gx, gy, probs, levels=np.linspace(0, 1, 11), cmap="RdBu", alpha=0.6)
    contours = axes[0].contour(gx, gy, probs, levels=[0.1, 0.5, 0.9], colors="black", linewidths=[0.8, 2, 0.8])
    axes[0].clabel(contours, fmt="p=%.1f", fontsize=8)
    _scatter(axes[0], np.asarray(noisy.x), np.asarray(noisy.y))
    fig.colorbar(filled, ax=axes[0], label="P(admitted)")
    axes[0].set(
        xlim=lim, ylim=lim, xlabel="test score", ylabel="grades", title="Logistic regression: probability contours"
    )
    axes[0].legend(fontsize=8, loc="upper right")
    history = lr_fit.history
    axes[1].plot(np.arange(1, steps + 1), history.train_loss, label="cross-entropy")
    axes[1].plot(np.arange(1, steps + 1), history.metrics["accuracy"], label="accuracy")
    axes[1].set(xlabel="gradient-descent step (full batch)", ylabel="value", title=f"Training (rate {LOGISTIC_RATE})")
    axes[1].legend()
    axes[1].grid(alpha=0.3)
    fig.tight_layout()
    ctx.save_figure(
        fig,
        "logistic_contours.png",
        "Logistic regression trained by full-batch gradient descent on admissions with 10% of the labels "
        "flipped: contours of P(admitted) (0.1, 0.5, 0.9) and its learning curve.",
    )
    logistic_accuracy = float(history.metrics["accuracy"][-1])
    angle = float(
        np.degrees(
            np.arccos(np.dot(w_raw, ADMISSIONS_WEIGHTS) / (np.linalg.norm(w_raw) * np.linalg.norm(ADMISSIONS_WEIGHTS)))
        )
    )

    # 3. Circles: a line cannot separate them, a small MLP can.
    circles = gdjax.data.circles(ctx.key(4), ctx.size(200, 400), noise=0.08, factor=0.5)
    cdata = (circles.x, circles.y)
    net = mlp(MLP_SIZES, hidden="relu", output="sigmoid")
    fits = {
        "logistic regression": (
            logistic,
            gdjax.fit(
                _bce_loss(logistic),
                logistic.init(ctx.key(5)),
                cdata,
                optimizer=_ADAM,
                epochs=ctx.size(300, 600),
                key=ctx.key(6),
            ),
        ),
        f"MLP {'-'.join(map(str, MLP_SIZES))}": (
            net,
            gdjax.fit(
                _bce_loss(net), net.init(ctx.key(5)), cdata, optimizer=_ADAM, epochs=ctx.size(300, 600), key=ctx.key(6)
            ),
        ),
    }
    box = np.linspace(-1.5, 1.5, 150)
    bx, by = np.meshgrid(box, box)
    points = jnp.asarray(np.stack([bx.ravel(), by.ravel()], 1), jnp.float32)
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.8))
    circle_accuracy = {}
    cx, cy = np.asarray(circles.x), np.asarray(circles.y)
    for ax, (name, (m, result)) in zip(axes, fits.items()):
        acc = float(gdjax.metrics.accuracy(m.apply(result.params, circles.x), circles.y))
        circle_accuracy[name] = acc
        p = np.asarray(m.apply(result.params, points)).reshape(bx.shape)
        ax.contourf(bx, by, p, levels=np.linspace(0, 1, 11), cmap="RdBu", alpha=0.6)
        ax.contour(bx, by, p, levels=[0.5], colors="black", linewidths=2)
        ax.scatter(cx[cy == 1, 0], cx[cy == 1, 1], c="tab:blue", s=12, label="class 1 (inner)")
        ax.scatter(cx[cy == 0, 0], cx[cy == 0, 1], c="tab:red", s=12, marker="x", label="class 0 (outer)")
        ax.set(xlabel="x1", ylabel="x2", title=f"{name}: training accuracy {acc:.2f}", aspect="equal")
        ax.legend(fontsize=8, loc="upper right")
    fig.tight_layout()
    ctx.save_figure(
        fig,
        "nonlinear_boundary.png",
        "Two concentric circles: the best line (logistic regression) is no better than guessing; an MLP "
        "bends its boundary around the inner class.",
    )

    summary = {
        "n": n,
        "trick_rate": TRICK_RATE,
        "trick_epochs": epochs,
        "trick_updates": int(updates.size),
        "trick_mistakes_per_epoch": per_epoch.tolist(),
        "trick_separated_after_epochs": separated_epoch,
        "trick_final_accuracy": final_accuracy,
        "trick_final_w": w_path[-1].tolist(),
        "trick_final_b": float(b_path[-1]),
        "gif_frames": len(chosen),
        "logistic_rate": LOGISTIC_RATE,
        "logistic_steps": steps,
        "logistic_label_noise": 0.1,
        "logistic_accuracy": logistic_accuracy,
        "logistic_final_loss": float(history.train_loss[-1]),
        "logistic_w": w_raw.tolist(),
        "logistic_b": b_raw,
        "logistic_angle_to_true_rule_deg": angle,
        "circles_accuracy": circle_accuracy,
    }
    line_name, net_name = list(circle_accuracy)
    method = f"""
Student admissions ({n} students, test score and grades uniform on [0, 10], admitted when `2 x1 + x2 >= 18`).
The perceptron trick (`w <- w + {TRICK_RATE} (y - y_hat) x`, `b <- b + {TRICK_RATE} (y - y_hat)`) visits the points
in order for up to {epochs} passes, from the poor line `x1 - x2 = 0`, as one `lax.scan` recording every update.
Logistic regression is trained by full-batch gradient descent (rate {LOGISTIC_RATE}, {steps} steps, standardised
features, the boundary mapped back to the original units) on admissions with 10% of the labels flipped, so the classes
overlap and the probabilities mean something. Last, two concentric circles ({circles.x.shape[0]} points): logistic
regression against an MLP {"-".join(map(str, MLP_SIZES))} (ReLU), both with Adam (0.02).
"""
    findings = (
        f"""
The perceptron made {updates.size} updates; """
        + (
            f"its line separates the data after {separated_epoch} passes (a pass with no mistake), as the perceptron "
            "convergence theorem promises for separable data"
            if separated_epoch is not None
            else f"it had not separated the data after {epochs} passes"
        )
        + f"""
(training accuracy {final_accuracy:.3f}). The separating line it stops at is *a* separating line, not the best one:
the trick stops moving as soon as nothing is misclassified. Logistic regression reaches training accuracy
{logistic_accuracy:.3f} on the noisy data (about 0.9 is the best possible with 10% flipped labels); its boundary is
{angle:.1f} degrees off the true rule's, and its contours show the probability rising smoothly across it. On the
circles the best line reaches {circle_accuracy[line_name]:.2f} training accuracy (no better than guessing the larger
class), while the MLP reaches {circle_accuracy[net_name]:.2f}: where no line separates the classes, a hidden layer is needed.
"""
    )
    return Findings(summary=summary, method=method, findings=findings, figures=ctx.figures, failures=failures)


QUESTION = "How does the perceptron trick move the boundary, and where does a line stop being enough?"
STUDY = Study(NAME, "Perceptron and logistic regression", QUESTION, run=run)

"""Perceptron and logistic regression on student admissions; Novikoff's bound; where a line stops being enough.

Four parts:

1. the perceptron trick from a deliberately poor line, one update at a time;
2. Novikoff's bound (Novikoff 1962; Block 1962): on data separated with
   margin ``γ`` by a unit vector, with every point within radius ``R``, the
   perceptron started at zero makes at most ``(R / γ)²`` mistakes, whatever
   the order of the points: measured over random orders and over data sets of
   shrinking margin;
3. logistic regression on admissions with flipped labels, against the true
   rule and the majority class, on held-out students;
4. two concentric circles: logistic regression (the baseline) against an MLP,
   restart by restart, on held-out points.
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from matplotlib.figure import Figure

import gdjax
from gdjax import plot
from gdjax.data import ADMISSIONS_BIAS, ADMISSIONS_WEIGHTS
from gdjax.losses import sigmoid_binary_cross_entropy
from gdjax.models import logistic_regression, mlp, perceptron, perceptron_step
from gdjax.optim import adam, sgd
from gdjax.restarts import mean_interval
from gdjax.studies._study import FigureWriter, Study, StudyContext, Text

NAME = "perceptron"
TITLE = "Perceptron and logistic regression"
QUESTION = "How does the perceptron trick move the boundary, and where does a line stop being enough?"

TRICK_RATE = 0.1
LOGISTIC_RATE = 0.5
LABEL_NOISE = 0.1
MLP_SIZES = (2, 16, 16, 1)
CIRCLES_RATE = 0.02
_SGD = sgd(LOGISTIC_RATE)
_ADAM = adam(CIRCLES_RATE)
LIMITS = (0.0, 10.0)  # the admissions square
CENTRE = 5.0  # Novikoff's bound depends on the origin: the perceptron of part 2 runs on x - 5
TRUE_RULE = "true rule 2 x1 + x2 = 18"  # ADMISSIONS_WEIGHTS, ADMISSIONS_BIAS


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


@functools.partial(jax.jit, static_argnames=("max_epochs",))
def perceptron_mistakes(x, y, keys, learning_rate, *, max_epochs: int):
    """The perceptron from zero, each epoch in a fresh random order, until an epoch without a mistake.

    ``x`` is ``(sets, n, d)`` and ``y`` ``(sets, n)`` (several data sets of
    one size), ``keys`` one key per restart (its visiting orders). Returns
    ``(mistakes, epochs, separated)``, each ``(sets, restarts)``: the updates
    made, the epochs run (the last one clean when ``separated``).
    """

    def one(xs, ys, key):
        n, d = xs.shape

        def epoch(carry):
            params, count, e, _ = carry
            order = jnp.argsort(jax.random.uniform(jax.random.fold_in(key, e), (n,)))

            def visit(p, i):
                mistake = (xs[i] @ p["w"] + p["b"] >= 0).astype(ys.dtype) != ys[i]
                return perceptron_step(p, xs[i], ys[i], learning_rate), mistake

            params, mistakes = jax.lax.scan(visit, params, order)
            made = jnp.sum(mistakes)
            return params, count + made, e + 1, made

        def running(carry):
            _, _, e, made = carry
            return (made > 0) & (e < max_epochs)

        zero = {"w": jnp.zeros(d, xs.dtype), "b": jnp.zeros((), xs.dtype)}
        start = (zero, jnp.int32(0), jnp.int32(0), jnp.int32(1))
        _, count, e, made = jax.lax.while_loop(running, epoch, start)
        return count, e, made == 0

    over_restarts = jax.vmap(one, (None, None, 0))
    return jax.vmap(over_restarts, (0, 0, None))(x, y, keys)


# ---------------------------------------------------------------- results


class Frame(NamedTuple):
    """One update of the perceptron trick: the line before and after, and the point that moved it."""

    update: int  # 1-based among all updates
    epoch: int  # 1-based
    w_before: list[float]
    b_before: float
    w_after: list[float]
    b_after: float
    point: list[float]


class Trick(NamedTuple):
    n: int
    rate: float
    epochs: int
    x: list[list[float]]
    y: list[float]
    start_w: list[float]
    start_b: float
    updates: int
    mistakes_per_epoch: list[int]
    separated_after_epochs: int | None  # the passes before the first pass without a mistake
    final_accuracy: float
    final_w: list[float]
    final_b: float
    frames: list[Frame]  # the GIF's frames; every few of them are the gray lines of the figure


class Novikoff(NamedTuple):
    """Mistakes of the perceptron (from zero, random orders) against ``(R / γ)²``, per data set of margin ``δ``.

    ``deltas`` are the distances to the true line below which points were
    rejected when the data set was drawn; ``gamma_true`` the margin of the
    true rule's unit vector in the perceptron's space (``x - 5``, with the
    bias's constant 1), ``gamma`` the largest margin a search over unit
    vectors found (each a valid ``γ``: the bound holds for any separating
    unit vector; the search's is the tightest); ``radius`` ``R`` of each set;
    ``bound = (R / γ)²``. ``mistakes[s][r]`` is restart ``r``'s count on set ``s``.
    """

    n: int
    restarts: int
    deltas: list[float]
    radius: list[float]
    gamma_true: list[float]
    gamma: list[float]
    bound: list[float]
    bound_true: list[float]
    mistakes: list[list[int]]
    epochs: list[list[int]]
    separated: list[list[bool]]
    median_mistakes: list[float]
    worst_ratio: float  # the largest mistakes / bound over every run


class Logistic(NamedTuple):
    rate: float
    steps: int
    label_noise: float
    n_train: int
    n_test: int
    x: list[list[float]]  # the noisy training set
    y: list[float]
    train_accuracy: float
    test_accuracy: float
    majority_train: float
    majority_test: float
    majority_admitted: bool  # the training set's majority class: admitted (True) or rejected
    true_rule_train: float  # the noise-free rule on the noisy labels: the ceiling
    true_rule_test: float
    final_loss: float
    loss_curve: list[float]
    accuracy_curve: list[float]
    w: list[float]  # the boundary in the original units
    b: float
    angle_to_true_rule_deg: float


class Circles(NamedTuple):
    n: int
    restarts: int
    epochs: int
    names: list[str]  # [logistic regression, MLP]
    train_accuracy: dict[str, list[float]]
    test_accuracy: dict[str, list[float]]
    majority_test: float
    difference: float  # MLP minus logistic regression, test accuracy, mean over restarts
    difference_low: float
    difference_high: float
    x: list[list[float]]
    y: list[float]
    grid: list[float]  # the axis of the decision grids
    probs: dict[str, list[list[float]]]  # restart 0's P(class 1) on the grid


class Results(NamedTuple):
    trick: Trick
    novikoff: Novikoff
    logistic: Logistic
    circles: Circles


# ---------------------------------------------------------------- the parts


def _bce_loss(model):
    def loss(params, batch):
        return sigmoid_binary_cross_entropy(model.logits(params, batch[0]), batch[1])

    return loss


def _accuracy(model):
    def accuracy(params, data):
        return gdjax.metrics.accuracy(model.apply(params, data[0]), data[1])

    return accuracy


def _majority(y_train, y) -> float:
    """Accuracy on ``y`` of predicting the training set's majority class for everyone."""
    majority = float(np.mean(np.asarray(y_train)) >= 0.5)
    return float(np.mean(np.asarray(y) == majority))


def _true_rule_accuracy(x, y) -> float:
    x = np.asarray(x, np.float64)
    predicted = (x @ np.asarray(ADMISSIONS_WEIGHTS) + ADMISSIONS_BIAS >= 0).astype(float)
    return float(np.mean(predicted == np.asarray(y)))


def _trick(ctx: StudyContext) -> Trick:
    n = ctx.size(60, 100)
    data = gdjax.data.admissions(ctx.key(0), n)
    x, y = np.asarray(data.x), np.asarray(data.y)
    start = {"w": jnp.array([1.0, -1.0]), "b": jnp.array(0.0)}
    epochs = ctx.size(30, 60)
    path, mistakes = perceptron_path(start, data.x, data.y, TRICK_RATE, epochs=epochs)
    w_path, b_path, mistakes = np.asarray(path["w"]), np.asarray(path["b"]), np.asarray(mistakes)
    per_epoch = mistakes.reshape(epochs, n).sum(1)
    separated = int(np.argmax(per_epoch == 0)) if (per_epoch == 0).any() else None
    final = {"w": jnp.asarray(w_path[-1]), "b": jnp.asarray(b_path[-1])}
    accuracy = float(gdjax.metrics.accuracy(perceptron(2).apply(final, data.x), data.y))
    updates = np.flatnonzero(mistakes)
    chosen = updates[np.unique(np.linspace(0, updates.size - 1, min(ctx.size(12, 40), updates.size)).astype(int))]
    frames = []
    for t in chosen:
        before_w = w_path[t - 1] if t > 0 else np.asarray(start["w"])
        before_b = float(b_path[t - 1]) if t > 0 else float(start["b"])
        frames.append(
            Frame(
                int(np.searchsorted(updates, t)) + 1,
                int(t // n) + 1,
                before_w.tolist(),
                before_b,
                w_path[t].tolist(),
                float(b_path[t]),
                x[t % n].tolist(),
            )
        )
    return Trick(
        n=n,
        rate=TRICK_RATE,
        epochs=epochs,
        x=x.tolist(),
        y=y.tolist(),
        start_w=np.asarray(start["w"]).tolist(),
        start_b=float(start["b"]),
        updates=int(updates.size),
        mistakes_per_epoch=per_epoch.tolist(),
        separated_after_epochs=separated,
        final_accuracy=accuracy,
        final_w=w_path[-1].tolist(),
        final_b=float(b_path[-1]),
        frames=frames,
    )


PINNED = 4  # students placed exactly delta from the true line on each side, spread along it


def _margin_data(key: jax.Array, n: int, delta: float) -> tuple[np.ndarray, np.ndarray]:
    """``n`` admissions students, centred (``x - 5``): ``2 PINNED`` of them exactly ``delta`` from the true line.

    The pinned students sit on both sides of the line (admitted and
    rejected), spread along the part of it inside the square, so the true rule
    separates the set with margin exactly ``delta`` (in the plane of the
    scores) and no other line can do much better.
    """
    w, b = np.asarray(ADMISSIONS_WEIGHTS), ADMISSIONS_BIAS
    unit = w / np.linalg.norm(w)
    kept_x, kept_y, draw = [], [], 0
    while sum(len(k) for k in kept_x) < n - 2 * PINNED:
        data = gdjax.data.admissions(jax.random.fold_in(key, draw), n)  # one size for every draw: one program
        x, y = np.asarray(data.x, np.float64), np.asarray(data.y)
        keep = np.abs(x @ w + b) / np.linalg.norm(w) >= delta
        kept_x.append(x[keep])
        kept_y.append(y[keep])
        draw += 1
    # Points on the line 2 x1 + x2 = 18 inside the square (x1 in [4, 9]), one in each of PINNED equal stretches
    # per side, pushed delta off it.
    jitter = np.asarray(jax.random.uniform(jax.random.fold_in(key, 2**20), (2, PINNED)))
    along = 4.0 + 5.0 * (np.arange(PINNED) + jitter) / PINNED
    on_line = np.stack([along, -(w[0] * along + b) / w[1]], axis=-1)  # (2, PINNED, 2)
    edge = (on_line + np.array([1.0, -1.0])[:, None, None] * delta * unit).reshape(-1, 2)
    x = np.concatenate([edge, *kept_x])[:n]
    y = np.concatenate([np.repeat([1.0, 0.0], PINNED), *kept_y])[:n]
    return x - CENTRE, y


def _unit_margin(u: np.ndarray, xa: np.ndarray, signs: np.ndarray) -> np.ndarray:
    """``min_i s_i u·x̃_i / |u|`` for each row of ``u``."""
    u = u / np.linalg.norm(u, axis=-1, keepdims=True)
    return np.min((u @ xa.T) * signs, axis=-1)


def _best_margin(xa: np.ndarray, signs: np.ndarray, start: np.ndarray) -> float:
    """The largest margin over unit vectors found by a shrinking grid search around ``start``.

    Every vector tried is a unit vector, so the result is the margin of one
    separating unit vector (a valid ``γ`` for the bound), at least ``start``'s.
    """
    best = start / np.linalg.norm(start)
    best_margin = float(_unit_margin(best[None], xa, signs)[0])
    # an orthonormal frame around the current best; perturb along the two other directions
    for width in (0.5, 0.2, 0.08, 0.03, 0.01, 0.004, 0.0015):
        a = np.linalg.svd(best[None])[2][1:]  # two unit vectors orthogonal to best
        steps = np.linspace(-width, width, 41)
        s1, s2 = np.meshgrid(steps, steps)
        candidates = best + s1.reshape(-1, 1) * a[0] + s2.reshape(-1, 1) * a[1]
        margins = _unit_margin(candidates, xa, signs)
        i = int(np.argmax(margins))
        if margins[i] > best_margin:
            best_margin = float(margins[i])
            best = candidates[i] / np.linalg.norm(candidates[i])
    return best_margin


def _novikoff(ctx: StudyContext) -> Novikoff:
    n = ctx.size(60, 100)
    deltas = [2.0, 0.5, 0.125, 0.03125] if ctx.quick else [2.0, 1.0, 0.5, 0.25, 0.125, 0.0625, 0.03125]
    restarts = ctx.size(16, 64)
    sets = [_margin_data(jax.random.fold_in(ctx.key(10), i), n, d) for i, d in enumerate(deltas)]
    x = jnp.asarray(np.stack([s[0] for s in sets]), jnp.float32)
    y = jnp.asarray(np.stack([s[1] for s in sets]), jnp.float32)
    keys = jax.random.split(ctx.key(11), restarts)
    mistakes, epochs, separated = (np.asarray(a) for a in perceptron_mistakes(x, y, keys, TRICK_RATE, max_epochs=2000))
    # The true rule in the perceptron's space: 2 (x1 - 5) + (x2 - 5) + (2 * 5 + 5 - 18) >= 0.
    true = np.array([*ADMISSIONS_WEIGHTS, sum(ADMISSIONS_WEIGHTS) * CENTRE + ADMISSIONS_BIAS])
    radius, gamma_true, gamma = [], [], []
    for xs, ys in sets:
        xa = np.concatenate([xs, np.ones((n, 1))], axis=1)
        signs = 2 * ys - 1
        radius.append(float(np.max(np.linalg.norm(xa, axis=1))))
        gamma_true.append(float(_unit_margin(true[None], xa, signs)[0]))
        gamma.append(_best_margin(xa, signs, true))
    bound = [(r / g) ** 2 for r, g in zip(radius, gamma)]
    bound_true = [(r / g) ** 2 for r, g in zip(radius, gamma_true)]
    return Novikoff(
        n=n,
        restarts=restarts,
        deltas=deltas,
        radius=radius,
        gamma_true=gamma_true,
        gamma=gamma,
        bound=bound,
        bound_true=bound_true,
        mistakes=mistakes.tolist(),
        epochs=epochs.tolist(),
        separated=separated.tolist(),
        median_mistakes=np.median(mistakes, axis=1).tolist(),
        worst_ratio=float(np.max(mistakes / np.asarray(bound)[:, None])),
    )


def _logistic(ctx: StudyContext) -> Logistic:
    n = ctx.size(60, 100)
    parts = ctx.size(5, 10)  # the held-out students: this many draws of the training set's size (one program)
    n_test = parts * n
    noisy = gdjax.data.admissions(ctx.key(1), n, label_noise=LABEL_NOISE)
    draws = [gdjax.data.admissions(jax.random.fold_in(ctx.key(7), i), n, label_noise=LABEL_NOISE) for i in range(parts)]
    test = gdjax.data.Dataset(jnp.concatenate([d.x for d in draws]), jnp.concatenate([d.y for d in draws]))
    mean, scale = np.asarray(noisy.x).mean(0), np.asarray(noisy.x).std(0)
    standardise = lambda x: jnp.asarray((np.asarray(x) - mean) / scale, jnp.float32)
    model = logistic_regression(2)
    steps = ctx.size(300, 1000)
    fit = gdjax.fit(
        _bce_loss(model),
        model.init(ctx.key(2)),
        (standardise(noisy.x), noisy.y),
        optimizer=_SGD,
        epochs=steps,
        key=ctx.key(3),
        metrics={"accuracy": _accuracy(model)},
    )
    w_std, b_std = np.asarray(fit.params["w"], np.float64), float(fit.params["b"])
    w_raw = w_std / scale  # the boundary in the original units
    b_raw = b_std - float(np.sum(w_std * mean / scale))
    cosine = np.dot(w_raw, ADMISSIONS_WEIGHTS) / (np.linalg.norm(w_raw) * np.linalg.norm(ADMISSIONS_WEIGHTS))
    test_accuracy = float(gdjax.metrics.accuracy(model.apply(fit.params, standardise(test.x)), test.y))
    return Logistic(
        rate=LOGISTIC_RATE,
        steps=steps,
        label_noise=LABEL_NOISE,
        n_train=n,
        n_test=n_test,
        x=np.asarray(noisy.x).tolist(),
        y=np.asarray(noisy.y).tolist(),
        train_accuracy=float(fit.history.metrics["accuracy"][-1]),
        test_accuracy=test_accuracy,
        majority_train=_majority(noisy.y, noisy.y),
        majority_test=_majority(noisy.y, test.y),
        majority_admitted=bool(np.mean(np.asarray(noisy.y)) >= 0.5),
        true_rule_train=_true_rule_accuracy(noisy.x, noisy.y),
        true_rule_test=_true_rule_accuracy(test.x, test.y),
        final_loss=float(fit.history.train_loss[-1]),
        loss_curve=np.asarray(fit.history.train_loss).tolist(),
        accuracy_curve=np.asarray(fit.history.metrics["accuracy"]).tolist(),
        w=w_raw.tolist(),
        b=b_raw,
        angle_to_true_rule_deg=float(np.degrees(np.arccos(np.clip(cosine, -1, 1)))),
    )


def _circles(ctx: StudyContext) -> Circles:
    n = ctx.size(200, 400)
    restarts = ctx.size(4, 8)
    epochs = ctx.size(300, 600)
    train = gdjax.data.circles(ctx.key(4), n, noise=0.08, factor=0.5)
    test = gdjax.data.circles(ctx.key(8), n, noise=0.08, factor=0.5)
    models = {
        "logistic regression": logistic_regression(2),
        f"MLP {'-'.join(map(str, MLP_SIZES))}": mlp(MLP_SIZES, hidden="relu", output="sigmoid"),
    }
    axis = np.linspace(-1.5, 1.5, 61)
    gx, gy = np.meshgrid(axis, axis)
    points = jnp.asarray(np.stack([gx.ravel(), gy.ravel()], 1), jnp.float32)
    train_acc, test_acc, probs = {}, {}, {}
    for name, model in models.items():
        loss, train_acc[name], test_acc[name] = _bce_loss(model), [], []
        for r in range(restarts):
            # Restart r: its own initialisation, the data order shared by both models.
            result = gdjax.fit(
                loss,
                model.init(jax.random.fold_in(ctx.key(5), r)),
                (train.x, train.y),
                optimizer=_ADAM,
                epochs=epochs,
                key=ctx.key(6),
            )
            train_acc[name].append(float(gdjax.metrics.accuracy(model.apply(result.params, train.x), train.y)))
            test_acc[name].append(float(gdjax.metrics.accuracy(model.apply(result.params, test.x), test.y)))
            if r == 0:
                probs[name] = np.asarray(model.apply(result.params, points)).reshape(gx.shape).tolist()
    line, net = models
    t = mean_interval(np.asarray(test_acc[net]) - np.asarray(test_acc[line]))
    return Circles(
        n=n,
        restarts=restarts,
        epochs=epochs,
        names=[line, net],
        train_accuracy=train_acc,
        test_accuracy=test_acc,
        majority_test=_majority(train.y, test.y),
        difference=t.mean,
        difference_low=t.low,
        difference_high=t.high,
        x=np.asarray(train.x).tolist(),
        y=np.asarray(train.y).tolist(),
        grid=axis.tolist(),
        probs=probs,
    )


def compute(ctx: StudyContext) -> Results:
    return Results(trick=_trick(ctx), novikoff=_novikoff(ctx), logistic=_logistic(ctx), circles=_circles(ctx))


# ---------------------------------------------------------------- figures


def _line(ax, w, b, lim, **kwargs):
    """Draws ``w0 x + w1 y + b = 0`` inside the square ``[lim0, lim1]^2``."""
    xs = np.linspace(*lim, 2)
    if abs(w[1]) > 1e-9:
        ax.plot(xs, -(w[0] * xs + b) / w[1], **kwargs)
    else:
        ax.axvline(-b / w[0], **kwargs)


def _scatter(ax, x, y, size: float = 18):
    x, y = np.asarray(x), np.asarray(y)
    ax.scatter(x[y == 1, 0], x[y == 1, 1], color=plot.COLORS[0], s=size, marker="o", label="admitted")
    ax.scatter(x[y == 0, 0], x[y == 0, 1], color=plot.COLORS[3], s=size, marker="x", label="rejected")


def _legend_right(ax, **kwargs):
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.02, 1.0), frameon=False, **kwargs)


def _trick_frames(trick: Trick):
    for frame in trick.frames:
        fig = Figure(figsize=(6.6, 4.8), layout="constrained")  # not tracked by pyplot
        ax = fig.add_subplot()
        _scatter(ax, trick.x, trick.y)
        _line(ax, frame.w_before, frame.b_before, LIMITS, color="0.5", ls="--", lw=1, label="before")
        _line(ax, frame.w_after, frame.b_after, LIMITS, color="black", lw=2, label="after")
        ax.scatter(*frame.point, s=160, facecolors="none", edgecolors="orange", lw=2, label="misclassified")
        ax.set(
            xlim=LIMITS,
            ylim=LIMITS,
            aspect="equal",
            xlabel="test score",
            ylabel="grades",
            title=f"update {frame.update} of {trick.updates} (epoch {frame.epoch})",
        )
        _legend_right(ax)
        yield fig


def figures(results: Results, out: FigureWriter) -> None:
    trick, nov, logistic, circles = results
    out.save_gif(
        _trick_frames(trick),
        "perceptron_trick.gif",
        f"The perceptron trick (rate {TRICK_RATE}): each frame one update, the line moving towards the "
        f"misclassified point (circled); {len(trick.frames)} of its {trick.updates} updates shown.",
    )

    fig, axes = plot.figure(1, 2, width=5.4, height=4.2)
    ax, bars = axes[0]
    _scatter(ax, trick.x, trick.y)
    for frame in trick.frames[:: max(len(trick.frames) // 6, 1)]:
        _line(ax, frame.w_after, frame.b_after, LIMITS, color="0.6", lw=0.8)
    ax.plot([], [], color="0.6", lw=0.8, label="lines along the way")
    _line(ax, trick.final_w, trick.final_b, LIMITS, color="black", lw=2, label="final perceptron line")
    _line(ax, ADMISSIONS_WEIGHTS, ADMISSIONS_BIAS, LIMITS, color=plot.COLORS[2], ls="--", label=TRUE_RULE)
    ax.set(xlim=LIMITS, ylim=LIMITS, aspect="equal", xlabel="test score", ylabel="grades", title="The trick's lines")
    ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.15), ncol=2, frameon=False)
    bars.bar(np.arange(1, trick.epochs + 1), trick.mistakes_per_epoch, color=plot.COLORS[1])
    bars.set(xlabel="epoch (pass over the data, in order)", ylabel="misclassified points visited", title="Mistakes")
    bars.grid(alpha=0.3)
    out.save_figure(
        fig,
        "perceptron_lines.png",
        "The perceptron's line over its updates (gray: every few of them; black: the last) beside the true rule "
        "(dashed), and the mistakes it makes in each pass over the data.",
    )

    fig, axes = plot.figure(1, 1, width=6.8, height=4.4)
    ax = axes[0, 0]
    bound = np.asarray(nov.bound)
    margins = np.asarray(nov.gamma) / np.asarray(nov.radius)
    mistakes = np.asarray(nov.mistakes, float)
    for s in range(len(nov.deltas)):
        jitter = margins[s] * np.exp(np.linspace(-0.04, 0.04, nov.restarts))
        ax.scatter(jitter, mistakes[s], s=8, color=plot.COLORS[0], alpha=0.5, lw=0)
    ax.plot(margins, nov.median_mistakes, "o-", color=plot.COLORS[0], label="measured (each order; median)")
    ax.plot(margins, bound, "s--", color=plot.COLORS[3], label="Novikoff's bound (R / γ)²")
    ax.set(
        xscale="log",
        yscale="log",
        xlabel="margin relative to the radius, γ / R",
        ylabel="mistakes until the data are separated",
        title="The perceptron from zero against Novikoff's bound",
    )
    ax.invert_xaxis()
    ax.grid(alpha=0.3, which="both")
    _legend_right(ax)
    out.save_figure(
        fig,
        "novikoff_bound.png",
        f"Mistakes of the perceptron started at zero on {len(nov.deltas)} data sets of {nov.n} students whose "
        f"margin shrinks (left to right), each over {nov.restarts} random visiting orders (dots; line: the "
        "median), against Novikoff's bound (R / γ)² with the best margin γ found.",
    )

    fig, axes = plot.figure(1, 2, width=5.4, height=4.2)
    ax, curve = axes[0]
    grid = np.linspace(*LIMITS, 200)
    gx, gy = np.meshgrid(grid, grid)
    probs = 1 / (1 + np.exp(-(logistic.w[0] * gx + logistic.w[1] * gy + logistic.b)))
    filled = ax.contourf(gx, gy, probs, levels=np.linspace(0, 1, 11), cmap="RdBu", alpha=0.6)
    contours = ax.contour(gx, gy, probs, levels=[0.1, 0.5, 0.9], colors="black", linewidths=[0.8, 2, 0.8])
    ax.clabel(contours, fmt="p=%.1f", fontsize=8)
    _scatter(ax, logistic.x, logistic.y)
    _line(ax, ADMISSIONS_WEIGHTS, ADMISSIONS_BIAS, LIMITS, color=plot.COLORS[2], ls="--", lw=2, label=TRUE_RULE)
    fig.colorbar(filled, ax=ax, label="P(admitted)")
    ax.set(xlim=LIMITS, ylim=LIMITS, aspect="equal", xlabel="test score", ylabel="grades", title="P(admitted)")
    ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.15), ncol=3, frameon=False)
    steps = np.arange(1, logistic.steps + 1)
    curve.plot(steps, logistic.loss_curve, color=plot.COLORS[0], label="cross-entropy")
    curve.plot(steps, logistic.accuracy_curve, color=plot.COLORS[1], label="training accuracy")
    curve.axhline(logistic.true_rule_train, color=plot.COLORS[2], ls="--", lw=1, label="true rule's accuracy")
    curve.set(xlabel="gradient-descent step (full batch)", ylabel="value", title=f"Training (rate {LOGISTIC_RATE})")
    curve.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.15), ncol=3, frameon=False)
    curve.grid(alpha=0.3)
    out.save_figure(
        fig,
        "logistic_contours.png",
        f"Logistic regression trained by full-batch gradient descent on admissions with {LABEL_NOISE:.0%} of the "
        "labels flipped: contours of P(admitted) (0.1, 0.5, 0.9) beside the true rule (dashed), and its learning "
        "curve.",
    )

    fig, axes = plot.figure(1, 2, width=4.6, height=4.4)
    axis = np.asarray(circles.grid)
    cx, cy = np.asarray(circles.x), np.asarray(circles.y)
    for ax, name in zip(axes[0], circles.names):
        p = np.asarray(circles.probs[name])
        ax.contourf(axis, axis, p, levels=np.linspace(0, 1, 11), cmap="RdBu", alpha=0.6)
        ax.contour(axis, axis, p, levels=[0.5], colors="black", linewidths=2)
        ax.scatter(cx[cy == 1, 0], cx[cy == 1, 1], color=plot.COLORS[0], s=10, label="class 1 (inner)")
        ax.scatter(cx[cy == 0, 0], cx[cy == 0, 1], color=plot.COLORS[3], s=10, marker="x", label="class 0 (outer)")
        accuracy = float(np.median(circles.test_accuracy[name]))
        ax.set(xlabel="x1", ylabel="x2", title=f"{name}\nheld-out accuracy {accuracy:.2f} (median)", aspect="equal")
    axes[0, 0].legend(fontsize=8, loc="upper center", bbox_to_anchor=(1.1, -0.15), ncol=2, frameon=False)
    out.save_figure(
        fig,
        "nonlinear_boundary.png",
        "Two concentric circles: the boundary (black, P = 0.5) of the best line (logistic regression) and of an "
        f"MLP, restart 0 of {circles.restarts}, over the training points; titles give the held-out accuracy.",
    )


# ---------------------------------------------------------------- text


def _interval(low: float, high: float) -> str:
    return f"[{low:.3f}, {high:.3f}]"


def all_within_bound(nov: Novikoff) -> bool:
    """Every run separated its data and made at most ``(R / γ)²`` mistakes."""
    mistakes = np.asarray(nov.mistakes)
    return bool(np.all(nov.separated) and np.all(mistakes <= np.asarray(nov.bound)[:, None]))


def text(results: Results) -> Text:
    trick, nov, logistic, circles = results
    line, net = circles.names
    method = f"""
**The trick.** Student admissions ({trick.n} students, test score and grades uniform on [0, 10], admitted when
`2 x1 + x2 >= 18`). The perceptron trick (`w <- w + {TRICK_RATE} (y - y_hat) x`, `b <- b + {TRICK_RATE} (y - y_hat)`)
visits the points in order for up to {trick.epochs} passes, from the poor line `x1 - x2 = 0`, as one `lax.scan`
recording every update. **Novikoff's bound** (Novikoff 1962): if a unit vector `u` separates the data with margin
`γ = min_i y_i u·(x_i, 1)` (labels ±1) and every `|(x_i, 1)| <= R`, the perceptron started at zero makes at most
`(R / γ)²` mistakes, in any order. {len(nov.deltas)} data sets of {nov.n} students: {2 * PINNED} placed
exactly δ = {", ".join(f"{d:g}" for d in nov.deltas)} from the true line ({PINNED} on each side, spread along it), the
others drawn at random at least as far, features centred (`x - 5`: the bound depends on the origin); on each, the
perceptron from zero runs epochs in {nov.restarts} random orders until an epoch without a mistake. γ is the largest
margin a search over unit vectors found, starting from the true rule's (any separating unit vector gives a valid
bound; the largest margin the tightest). **Logistic regression** by full-batch gradient descent (rate
{LOGISTIC_RATE}, {logistic.steps} steps, standardised features, the boundary mapped back to the original units) on
{logistic.n_train} students with {logistic.label_noise:.0%} of the labels flipped, scored once on
{logistic.n_test} fresh students drawn the same way (no choice is made on them), beside the majority class and the
true rule itself. **Circles:** {circles.n} points on two concentric circles; logistic regression (the baseline) and
an MLP {"-".join(map(str, MLP_SIZES))} (ReLU), each with Adam ({CIRCLES_RATE}) for {circles.epochs} epochs from
{circles.restarts} initialisations, one shared data order; scored on {circles.n} fresh points and compared restart by
restart (the per-restart difference of held-out accuracy with its 95% t interval).
"""
    if trick.separated_after_epochs is not None:
        trick_text = (
            f"its line separates the data after {trick.separated_after_epochs} passes (the next pass makes no "
            "mistake), as the perceptron convergence theorem promises for separable data"
        )
    else:
        trick_text = f"it had not separated the data after {trick.epochs} passes"
    worst = int(np.argmax(np.max(np.asarray(nov.mistakes) / np.asarray(nov.bound)[:, None], axis=1)))
    if all_within_bound(nov):
        bound_text = (
            f"every one of the {len(nov.deltas) * nov.restarts} runs separated its data within its bound: at most "
            f"{100 * nov.worst_ratio:.1f}% of (R / γ)² (δ = {nov.deltas[worst]:g})"
        )
    else:
        over = int(np.sum(np.asarray(nov.mistakes) > np.asarray(nov.bound)[:, None]))
        bound_text = f"{over} runs made more mistakes than (R / γ)², which the theorem rules out: a bug"
    grows = all(a <= b for a, b in zip(nov.median_mistakes[:-1], nov.median_mistakes[1:]))
    ceiling = logistic.true_rule_test
    findings = (
        f"The perceptron made {trick.updates} updates; {trick_text} (training accuracy {trick.final_accuracy:.3f}). "
        "The separating line it stops at is *a* separating line, not the best one: the trick stops moving as soon as "
        "nothing is misclassified.\n\n"
        f"**Novikoff's bound.** As the margin shrinks (δ = {nov.deltas[0]:g} to {nov.deltas[-1]:g}, γ/R = "
        f"{nov.gamma[0] / nov.radius[0]:.3f} to {nov.gamma[-1] / nov.radius[-1]:.4f}) the bound grows from "
        f"{nov.bound[0]:.0f} to {nov.bound[-1]:.0f} mistakes and the median mistakes "
        + ("grow: " if grows else "change: ")
        + ", ".join(f"{m:.0f}" for m in nov.median_mistakes)
        + f"; {bound_text}. The bound is a worst case over orders and starts. With the true rule's own margin the "
        f"bounds are {', '.join(f'{b:.0f}' for b in nov.bound_true)}, never below the search's.\n\n"
        f"**Logistic regression** reaches training accuracy {logistic.train_accuracy:.3f} on the noisy labels and "
        f"**{logistic.test_accuracy:.3f} on the {logistic.n_test} held-out students**, against "
        f"{logistic.majority_test:.3f} for the majority class (everyone "
        + ("admitted" if logistic.majority_admitted else "rejected")
        + f") and {ceiling:.3f} for the true rule itself (the ceiling: with {logistic.label_noise:.0%} of the labels "
        f"flipped no classifier can expect more than {1 - logistic.label_noise:.2f}); its boundary is "
        f"{logistic.angle_to_true_rule_deg:.1f} degrees off the true rule's, and its contours show the probability "
        "rising smoothly across it.\n\n"
        f"**Circles.** Held-out accuracy (median over {circles.restarts} restarts): "
        f"{np.median(circles.test_accuracy[line]):.3f} for the best line, {np.median(circles.test_accuracy[net]):.3f} "
        f"for the MLP, {circles.majority_test:.3f} for the majority class; restart by restart the MLP is "
        f"{circles.difference:+.3f} {_interval(circles.difference_low, circles.difference_high)} ahead"
        + (
            ": where no line separates the classes, a line does no better than guessing and a hidden layer is needed."
            if circles.difference_low > 0 and np.median(circles.test_accuracy[line]) < circles.majority_test + 0.1
            else "."
        )
    )
    failures = []
    if trick.separated_after_epochs is None:
        failures.append(
            f"perceptron: still {trick.mistakes_per_epoch[-1]} mistakes in its last epoch of {trick.epochs}"
        )
    if not all_within_bound(nov):
        failures.append(bound_text)
    return Text(method, findings, expected=[], failures=failures)


STUDY = Study(NAME, TITLE, QUESTION, compute=compute, figures=figures, text=text)

"""Random restarts: how often one start finds the global minimum, and how many starts are needed.

For each test function, ``N`` starting points drawn uniformly over its domain
run plain gradient descent in one compiled program
(:func:`gdjax.restarts.minimize_restarts`). A start *succeeds* when it ends
within ``SUCCESS_RADIUS`` of a global minimiser within the step budget. The
single-start probability ``p`` has a Wilson interval; the best-of-k curve is
measured on disjoint groups of k runs (the share of groups holding a success,
:func:`gdjax.restarts.best_of_k_table`) and set against ``1 - (1 - p)^k``,
which tests whether restarts behave as independent trials; the restarts
needed for 99% come from :func:`gdjax.restarts.k_for`. For the two networks
(XOR, heart disease) the restarts are whole trainings
(:func:`gdjax.restarts.restarts`); on the heart data success is judged on the
validation rows, the best restart is chosen there and scored once on the test
rows.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

import gdjax
import gdjax.optim as optim
from gdjax import plot
from gdjax.functions import FUNCTIONS, grid_values
from gdjax.restarts import SuccessRate, ValueSummary, best_of_k_table, k_for, minimize_restarts, success_rate
from gdjax.restarts import summarize_values as _summarize_values
from gdjax.studies._heart_common import (
    LogisticBaseline,
    logistic_baseline,
    majority_baseline,
    model_task,
    predict_stacked,
    probability_log_loss,
    scores_of,
    split_seed,
    stratified_split,
)
from gdjax.studies._study import FigureWriter, Study, StudyContext, Text

NAME = "restarts"
QUESTION = "How often does one random start find the global minimum, and how many starts do we need?"

#: The functions and gradient descent's step size on each (stable over the whole domain).
LEARNING_RATES: dict[str, float] = {
    "course_quartic": 0.01,
    "double_well": 0.02,
    "six_hump_camel": 0.02,
    "himmelblau": 0.005,
    "rastrigin": 0.002,
    "ackley": 0.005,
    "styblinski_tang": 0.01,
}
#: Success probabilities known in closed form: the course's quartic stalls left of its plateau at 0, so
#: p = 3.5/5 on [-1.5, 3.5]; Styblinski-Tang needs both coordinates left of the 1-D barrier at 0.157.
THEORY: dict[str, float] = {"course_quartic": 3.5 / 5, "styblinski_tang": ((5 + 0.157) / 10) ** 2}
SUCCESS_RADIUS = 0.05
TARGET = 0.99  # the chance of at least one success that "restarts needed" aims at
TOL = 1e-4  # gradient norm that ends a run early (float32 rounding floors it near 1e-5)
HISTOGRAM_BINS = 40
MIN_GROUPS = 8  # best of k is measured for k up to N / MIN_GROUPS: fewer groups say little
PLOT_LIMIT = 1024  # starts drawn per basin panel (the statistics use all of them)
# One optimizer object per function: a new one would recompile.
_OPTIMIZERS = {name: optim.sgd(lr) for name, lr in LEARNING_RATES.items()}

XOR_LR = 1.0
_XOR_MODEL = gdjax.models.mlp([2, 2, 1], hidden="sigmoid", output="sigmoid")
_XOR_OPT = optim.sgd(XOR_LR)
HEART_LR = 1e-3
HEART_SUCCESS = 0.80  # validation accuracy that counts as a success (the course's Keras level)
_HEART_OPT = optim.adam(HEART_LR)


def _xor_loss(params, batch):
    return gdjax.losses.sigmoid_binary_cross_entropy(_XOR_MODEL.logits(params, batch[0]), batch[1])


def _xor_accuracy(params, batch):
    return gdjax.metrics.accuracy(_XOR_MODEL.apply(params, batch[0]), batch[1])


class Needed(NamedTuple):
    """Restarts needed for a ``TARGET`` chance of at least one success (``gdjax.restarts.k_for``).

    ``k`` at the estimate of p, ``pessimistic`` and ``optimistic`` at its
    Wilson bounds; all None when no restart succeeded (no number reaches the
    target at p = 0; ``optimistic`` is then the count at the interval's high
    bound).
    """

    k: int | None
    pessimistic: int | None
    optimistic: int | None


def restarts_needed(rate: SuccessRate, target: float = TARGET) -> Needed:
    if rate.successes == 0:
        return Needed(None, None, k_for(rate.high, target) if rate.high > 0 else None)
    needed = k_for(rate, target)
    return Needed(needed.k, needed.pessimistic, needed.optimistic)


class Histogram(NamedTuple):
    """Final gaps ``f(x) - f*`` binned: the successes and the other runs counted apart, on the same edges.

    The range is at least ``floor`` wide (a fiftieth of the function's spread
    over its domain), so runs that all reach the minimum fill one bar at 0
    instead of spreading float rounding (1e-10) over the whole axis.
    """

    edges: np.ndarray
    success_counts: np.ndarray
    other_counts: np.ndarray
    floor: float
    max_gap: float


def _histogram(gap: np.ndarray, success: np.ndarray, spread: float) -> Histogram:
    floor = spread / 50
    top = max(float(np.max(gap)) if gap.size else 0.0, floor)
    edges = np.linspace(0.0, top * (1 + 1e-9), HISTOGRAM_BINS + 1)
    clipped = np.clip(gap, 0.0, None)  # float rounding can put a run a hair below the minimum
    return Histogram(
        edges,
        np.histogram(clipped[success], edges)[0],
        np.histogram(clipped[~success], edges)[0],
        floor,
        float(np.max(gap)) if gap.size else float("nan"),
    )


class FunctionRuns(NamedTuple):
    """Gradient descent from ``n`` uniform starts on one test function."""

    title: str
    learning_rate: float
    minimum: float
    domain: list[list[float]]
    n_restarts: int
    rate: SuccessRate  # p with its 95% Wilson interval
    best_of_k: dict[str, list[Any]]  # measured on disjoint groups, against 1 - (1 - p)^k
    needed: Needed
    theory: float | None  # p in closed form, where known
    diverged: int
    hit_step_budget: int
    final_values: ValueSummary
    histogram: Histogram
    plot_starts: np.ndarray  # the first PLOT_LIMIT starts, their end points and final values, for the basins panel
    plot_finals: np.ndarray
    plot_values: np.ndarray  # within a millionth of the spread of f*: f* itself


class NetworkRuns(NamedTuple):
    """Restarts of a network: the success rate and the restarts needed."""

    network: str
    success: str
    epochs: int
    learning_rate: float
    n_restarts: int
    rate: SuccessRate
    best_of_k: dict[str, list[Any]]
    needed: Needed
    diverged: int
    final_loss: ValueSummary


class HeartChoice(NamedTuple):
    """The heart restarts judged on validation; the one chosen there, scored once on the test rows."""

    val_accuracy: np.ndarray  # every restart
    val_loss: np.ndarray
    train_loss: np.ndarray
    chosen: int  # lowest validation loss
    chosen_val_loss: float
    chosen_val_accuracy: float
    chosen_test_loss: float
    chosen_test_accuracy: float
    chosen_test_roc_auc: float
    majority_baseline: float
    logistic: LogisticBaseline
    n_train: int
    n_val: int
    n_test: int


class Results(NamedTuple):
    success_radius: float
    max_steps: int
    target: float
    functions: dict[str, FunctionRuns]
    xor: NetworkRuns
    heart: NetworkRuns
    heart_choice: HeartChoice


def best_of_k(outcomes: np.ndarray) -> dict[str, list[Any]]:
    """:func:`gdjax.restarts.best_of_k_table` at k = 1, 2, 4, ... while at least MIN_GROUPS disjoint groups remain."""
    n = int(np.size(outcomes))
    ks = [2**i for i in range(32) if 2**i * MIN_GROUPS <= n] or [1]
    return best_of_k_table(outcomes, ks)


def _network(runs, outcomes: np.ndarray, **fields) -> NetworkRuns:
    rate = success_rate(outcomes)
    return NetworkRuns(
        **fields,
        n_restarts=int(outcomes.size),
        rate=rate,
        best_of_k=best_of_k(outcomes),
        needed=restarts_needed(rate),
        diverged=int(np.sum(runs.diverged)),
        final_loss=_summarize_values(runs.final_loss, runs.diverged),
    )


def _functions(ctx: StudyContext, n: int, max_steps: int) -> dict[str, FunctionRuns]:
    out = {}
    for i, name in enumerate(LEARNING_RATES):
        f = FUNCTIONS[name]
        starts = np.asarray(f.uniform_starts(ctx.key(100 + i), n))
        r = minimize_restarts(f.fn, starts, _OPTIMIZERS[name], max_steps=max_steps, tol=TOL)
        x, value = np.asarray(r.x), np.asarray(r.value, np.float64)
        diverged = np.asarray(r.status) == gdjax.train.DIVERGED
        success = (f.distance_to_minimizer(x) <= SUCCESS_RADIUS) & ~diverged
        rate = success_rate(success)
        landscape = np.asarray(grid_values(f)[-1], np.float64)  # the resolution the figures draw: one compile
        spread = float(np.quantile(landscape, 0.95) - f.minimum)
        ok = ~diverged & np.isfinite(value)
        out[name] = FunctionRuns(
            title=f.title,
            learning_rate=LEARNING_RATES[name],
            minimum=float(f.minimum),
            domain=[list(d) for d in f.domain],
            n_restarts=n,
            rate=rate,
            best_of_k=best_of_k(success),
            needed=restarts_needed(rate),
            theory=THEORY.get(name),
            diverged=int(np.sum(diverged)),
            hit_step_budget=int(np.sum(np.asarray(r.num_steps) >= max_steps)),
            final_values=_summarize_values(value, diverged),
            histogram=_histogram(value[ok] - f.minimum, success[ok], spread),
            plot_starts=starts[:PLOT_LIMIT],
            plot_finals=x[:PLOT_LIMIT],
            # Values within a millionth of the spread of f* are f* (float rounding), so the basins' legend says 0.
            plot_values=np.where(np.abs(value - f.minimum) <= 1e-6 * spread, f.minimum, value)[:PLOT_LIMIT],
        )
    return out


def compute(ctx: StudyContext) -> Results:
    n = ctx.size(256, 4096)
    max_steps = ctx.size(1000, 3000)
    n_xor, n_heart = ctx.size(128, 1024), ctx.size(64, 1024)
    xor_epochs, heart_epochs = ctx.size(600, 2000), ctx.size(15, 40)
    functions = _functions(ctx, n, max_steps)

    xor = gdjax.data.truth_table("xor")
    xor_runs = gdjax.restarts.restarts(
        _xor_loss,
        _XOR_MODEL.init,
        (xor.x, xor.y),
        optimizer=_XOR_OPT,
        epochs=xor_epochs,
        key=ctx.key(1),
        num_restarts=n_xor,
        metrics={"accuracy": _xor_accuracy},
        progress=ctx.progress,
    )
    xor_ok = (xor_runs.final_metrics["accuracy"] == 1.0) & ~xor_runs.diverged

    split = stratified_split(split_seed(ctx.seed, 0))
    task = model_task()
    heart_runs = gdjax.restarts.restarts(
        task.loss,
        task.model.init,
        (split.x_train, split.y_train),
        optimizer=_HEART_OPT,
        epochs=heart_epochs,
        key=ctx.key(2),
        num_restarts=n_heart,
        batch_size=32,
        validation_data=(split.x_val, split.y_val),
        metrics={"accuracy": task.accuracy},
        progress=ctx.progress,
    )
    val_accuracy = np.asarray(heart_runs.final_val_metrics["accuracy"], np.float64)
    heart_ok = (val_accuracy >= HEART_SUCCESS - 1e-9) & ~heart_runs.diverged
    chosen = heart_runs.best_index[0]  # the lowest validation loss; diverged runs are never chosen
    probs = predict_stacked(task.model, heart_runs.params_at(slice(chosen, chosen + 1)), split.x_test)
    test = scores_of(probs, split.y_test)
    choice = HeartChoice(
        val_accuracy=val_accuracy,
        val_loss=np.asarray(heart_runs.final_val_loss),
        train_loss=np.asarray(heart_runs.final_loss),
        chosen=int(chosen),
        chosen_val_loss=float(heart_runs.final_val_loss[chosen]),
        chosen_val_accuracy=float(val_accuracy[chosen]),
        chosen_test_loss=probability_log_loss(probs[0], split.y_test),
        chosen_test_accuracy=float(test.accuracy[0]),
        chosen_test_roc_auc=float(test.roc_auc[0]),
        majority_baseline=majority_baseline(split.y_train, split.y_test).accuracy,
        logistic=logistic_baseline(split),
        n_train=int(split.x_train.shape[0]),
        n_val=int(split.x_val.shape[0]),
        n_test=int(split.x_test.shape[0]),
    )
    return Results(
        success_radius=SUCCESS_RADIUS,
        max_steps=max_steps,
        target=TARGET,
        functions=functions,
        xor=_network(
            xor_runs,
            np.asarray(xor_ok),
            network="2-2-1 sigmoid, gradient descent",
            success="all four rows classified right",
            epochs=xor_epochs,
            learning_rate=XOR_LR,
        ),
        heart=_network(
            heart_runs,
            np.asarray(heart_ok),
            network="29-16-1 relu/sigmoid, Adam, batch 32",
            success=f"validation accuracy >= {HEART_SUCCESS:.2f}",
            epochs=heart_epochs,
            learning_rate=HEART_LR,
        ),
        heart_choice=choice,
    )


# ---------------------------------------------------------------- text


def _needed_text(needed: Needed) -> str:
    if needed.k is None:
        return "none succeeded" if needed.optimistic is None else f"none succeeded (>= {needed.optimistic})"
    if needed.pessimistic == needed.optimistic:
        return f"{needed.k}"
    return f"{needed.k} ({needed.optimistic}-{needed.pessimistic})"


def _interval(rate: SuccessRate) -> str:
    return f"{rate.p:.3f} [{rate.low:.3f}, {rate.high:.3f}]"


def independence(r: Results) -> tuple[int, int, list[str]]:
    """Measured best-of-k points (k >= 2, the groups with both outcomes possible) whose Wilson interval holds
    the theory ``1 - (1 - p)^k``: ``(inside, total, the series and k of those outside)``."""
    inside, total, outside = 0, 0, []
    series = {f.title: f.best_of_k for f in r.functions.values()}
    series |= {"XOR network": r.xor.best_of_k, "heart network": r.heart.best_of_k}
    for name, table in series.items():
        for k, low, high, theory in zip(table["k"], table["low"], table["high"], table["theory"]):
            if k < 2 or table["groups"][table["k"].index(k)] < 2:
                continue
            total += 1
            if low - 1e-12 <= theory <= high + 1e-12:
                inside += 1
            else:
                outside.append(f"{name} at k = {k}")
    return inside, total, outside


def claims(r: Results) -> dict[str, str]:
    """The findings' sentences, each computed from the results (the quick test checks every one)."""
    f = r.functions
    out = {}
    for name in ("course_quartic", "styblinski_tang"):
        runs = f[name]
        inside = runs.rate.low <= runs.theory <= runs.rate.high
        out[name] = (
            f"{runs.title}: p = {_interval(runs.rate)} against {runs.theory:.3f} in theory, "
            f"{'inside' if inside else 'outside'} the interval."
        )
    out["course_quartic"] += (
        " $L(w) = w^4 - 3w^3 + 2$ has a single minimum, $w = 9/4$; $w = 0$ is a stationary inflection point "
        "($L'(w) = w^2(4w - 9)$ has a double root there), so gradient descent started left of 0 creeps toward the "
        "plateau and stalls, and p is the share of the domain right of 0."
    )
    out["styblinski_tang"] += " Both coordinates must start left of the one-dimensional barrier at 0.157."
    him = f["himmelblau"]
    if him.rate.successes == him.n_restarts:
        out["himmelblau"] = (
            f"Himmelblau's four minima are all global, and every one of the {him.n_restarts} starts reaches one of "
            f"them (largest final value {him.final_values.max:.1g}, float rounding of 0)."
        )
    else:
        out["himmelblau"] = (
            f"Himmelblau's four minima are all global, yet only {him.rate.successes} of {him.n_restarts} starts end "
            f"within {r.success_radius} of one."
        )
    trapped = []
    for name in ("rastrigin", "ackley"):
        runs = f[name]
        trapped.append(f"{runs.title} p = {_interval(runs.rate)}, {_needed_text(runs.needed)} restarts for 99%")
    out["ripples"] = (
        "On Rastrigin's and Ackley's grids of ripples almost every start ends in a local minimum: "
        + "; ".join(trapped)
        + "."
    )
    inside, total, outside = independence(r)
    if not outside:
        out["independence"] = (
            f"Best of k, measured on disjoint groups of k restarts: all {total} measured points (k >= 2) hold "
            f"1 - (1 - p)^k within their 95% intervals, as independent trials would."
        )
    else:
        out["independence"] = (
            f"Best of k, measured on disjoint groups of k restarts: {inside} of {total} measured points (k >= 2) "
            f"hold 1 - (1 - p)^k within their 95% intervals (about 95% would for independent trials); outside: "
            + ", ".join(outside)
            + "."
        )
    xor = r.xor
    out["xor"] = (
        f"XOR: {100 * xor.rate.p:.1f}% of the 2-2-1 restarts classify all four rows right (95% interval "
        f"{100 * xor.rate.low:.1f}-{100 * xor.rate.high:.1f}%); {_needed_text(xor.needed)} restarts give 99%."
    )
    h, c = r.heart, r.heart_choice
    gap = c.chosen_test_loss - c.chosen_val_loss
    curse = (
        f"its test loss {c.chosen_test_loss:.3f} is {gap:.3f} above its validation loss {c.chosen_val_loss:.3f}: "
        "the lowest of many validation scores flatters its owner"
        if gap > 0
        else f"its test loss {c.chosen_test_loss:.3f} is no higher than its validation loss {c.chosen_val_loss:.3f}"
    )
    side = "above" if c.chosen_test_accuracy > c.majority_baseline + 1e-9 else "not above"
    out["heart"] = (
        f"Heart: {100 * h.rate.p:.1f}% of the {h.n_restarts} restarts reach validation accuracy {HEART_SUCCESS:.2f} "
        f"after {h.epochs} epochs (validation accuracy {np.min(c.val_accuracy):.3f}-{np.max(c.val_accuracy):.3f}). "
        f"The restart with the lowest validation loss, number {c.chosen}, scores **{c.chosen_test_accuracy:.3f}** on "
        f"the {c.n_test} test patients (ROC-AUC {c.chosen_test_roc_auc:.3f}), {side} the majority baseline "
        f"{c.majority_baseline:.3f}; logistic regression, its L2 strength chosen on the same validation rows, scores "
        f"{c.logistic.test_accuracy:.3f}. {curse[0].upper() + curse[1:]}."
    )
    return out


def text(r: Results) -> Text:
    names = list(r.functions)
    n = r.functions[names[0]].n_restarts
    rows = ["| function | lr | p (95% CI) | restarts for 99% (interval) | diverged |", "|---|---|---|---|---|"]
    for runs in r.functions.values():
        rows.append(
            f"| {runs.title} | {runs.learning_rate:g} | {_interval(runs.rate)} | {_needed_text(runs.needed)} | "
            f"{runs.diverged} |"
        )
    for label, net in (("XOR 2-2-1", r.xor), ("heart 29-16-1", r.heart)):
        rows.append(
            f"| {label} ({net.success}) | {net.learning_rate:g} | {_interval(net.rate)} | "
            f"{_needed_text(net.needed)} | {net.diverged} |"
        )
    c = r.heart_choice
    method = (
        f"Gradient descent (a fixed step per function, chosen stable over the whole domain) from {n} starting "
        f"points drawn uniformly over each function's domain, for at most {r.max_steps} steps (stopping early once "
        f"the gradient norm is below {TOL:g}), all starts of a function in one compiled program "
        "(`gdjax.restarts.minimize_restarts`). A start succeeds when it ends within "
        f"{r.success_radius} of a global minimiser within the step budget. p is the share of successes with its "
        "95% Wilson interval; the measured best-of-k is the share of the floor(N/k) disjoint groups of k runs that "
        f"hold a success (`gdjax.restarts.best_of_k_table`, k = 1, 2, 4, ... while at least {MIN_GROUPS} groups "
        "remain), with its own Wilson interval over the groups, set against 1 - (1 - p)^k: a dependence between "
        "restarts would show as measured points off that curve. "
        f"Restarts needed for {100 * r.target:.0f}%: `gdjax.restarts.k_for` at p and at its interval's bounds. "
        f"Networks: {r.xor.n_restarts} restarts of a 2-2-1 sigmoid network on XOR (full-batch gradient descent, lr "
        f"{r.xor.learning_rate:g}, {r.xor.epochs} epochs) and {r.heart.n_restarts} of the course's 29-16-1 heart "
        f"network (Adam {r.heart.learning_rate:g}, batch 32, {r.heart.epochs} epochs) on a seeded stratified "
        f"{c.n_train}/{c.n_val}/{c.n_test} train/validation/test split: success and the choice of restart use the "
        "validation rows; the chosen restart alone is scored on the test rows, beside the majority class and "
        "logistic regression."
    )
    cl = claims(r)
    findings = (
        "Success probability of one start and restarts needed for 99%:\n\n"
        + "\n".join(rows)
        + "\n\n"
        + "\n".join(
            f"- {cl[key]}"
            for key in ("course_quartic", "himmelblau", "ripples", "styblinski_tang", "independence", "xor", "heart")
        )
    )
    expected = []
    for name in ("course_quartic", "rastrigin", "ackley"):
        runs = r.functions[name]
        failed = runs.n_restarts - runs.rate.successes
        where = "stall on the plateau at w = 0" if name == "course_quartic" else "end in a local minimum"
        expected.append(f"{failed} of {runs.n_restarts} {runs.title} starts {where}")
    failed = r.xor.n_restarts - r.xor.rate.successes
    expected.append(f"{failed} of {r.xor.n_restarts} XOR restarts stall short of classifying all four rows")
    failures = [
        f"{runs.title}: {runs.diverged} of {runs.n_restarts} starts diverged"
        for runs in r.functions.values()
        if runs.diverged
    ]
    for label, net in (("XOR", r.xor), ("heart", r.heart)):
        if net.diverged:
            failures.append(f"{label}: {net.diverged} of {net.n_restarts} restarts diverged")
    return Text(method=method, findings=findings, expected=expected, failures=failures)


# ---------------------------------------------------------------- figures


def _figure_basins(r: Results, out: FigureWriter) -> None:
    names = list(r.functions)
    fig, axes = plot.figure(2, 4, width=4.0, height=3.9)
    for ax, name in zip(axes.flat, names):
        runs = r.functions[name]
        plot.basins(ax, FUNCTIONS[name], runs.plot_starts, runs.plot_finals, runs.plot_values, radius=0.1)
        ax.set_title(f"{runs.title}: p = {runs.rate.p:.2f}")
    ax = axes.flat[len(names)]
    series = [(r.functions[k].title, r.functions[k].rate) for k in names]
    series += [("XOR network", r.xor.rate), ("heart network", r.heart.rate)]
    y = np.arange(len(series))
    ps = np.array([rate.p for _, rate in series])
    errors = np.array([[rate.p - rate.low for _, rate in series], [rate.high - rate.p for _, rate in series]])
    ax.errorbar(ps, y, xerr=np.clip(errors, 0, None), fmt="o", color="black", capsize=3)
    ax.set_yticks(y, [label for label, _ in series], fontsize=8)
    ax.invert_yaxis()
    ax.set_xlim(-0.02, 1.02)
    ax.set_xlabel("p, one start (95% Wilson interval)")
    ax.grid(alpha=0.3)
    ax.set_title("success of one random start")
    shown = min(PLOT_LIMIT, r.functions[names[0]].n_restarts)
    out.save_figure(
        fig,
        "basins.png",
        f"Each of {shown} starting points coloured by the basin gradient descent ends in (legend: the deepest basins "
        "and how many starts reach them; stars: global minima). Last panel: the success probability of one start.",
    )


def _best_of_k_panel(ax, tables: dict[str, dict[str, list[Any]]], title: str) -> None:
    plot.best_of_k(ax, tables)
    for i, table in enumerate(tables.values()):
        k, measured = np.asarray(table["k"]), np.asarray(table["measured"])
        errors = np.clip([measured - np.asarray(table["low"]), np.asarray(table["high"]) - measured], 0, None)
        ax.errorbar(k, measured, yerr=errors, fmt="none", ecolor=plot.COLORS[i % len(plot.COLORS)], capsize=2, lw=0.8)
    ax.set_title(title)
    ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.18), ncol=2, frameon=False)


def _figure_best_of_k(r: Results, out: FigureWriter) -> None:
    fig, axes = plot.figure(1, 3, width=4.3, height=4.2)
    groups = (
        ("smooth functions", ("course_quartic", "double_well", "six_hump_camel", "himmelblau")),
        ("rugged functions", ("rastrigin", "ackley", "styblinski_tang")),
    )
    for ax, (title, names) in zip(axes[0], groups):
        _best_of_k_panel(ax, {r.functions[k].title: r.functions[k].best_of_k for k in names}, title)
    _best_of_k_panel(axes[0, 2], {"XOR network": r.xor.best_of_k, "heart network": r.heart.best_of_k}, "networks")
    out.save_figure(
        fig,
        "best_of_k.png",
        "Chance that the best of k restarts succeeds: measured on disjoint groups of k runs (markers, with 95% "
        "Wilson intervals over the groups) against 1 - (1 - p)^k for independent restarts (lines).",
    )


def _figure_final_values(r: Results, out: FigureWriter) -> None:
    names = list(r.functions)
    fig, axes = plot.figure(2, 4, width=3.6, height=2.9)
    for ax, name in zip(axes.flat, names):
        runs = r.functions[name]
        h = runs.histogram
        total = np.asarray(h.success_counts) + np.asarray(h.other_counts)
        ax.stairs(total, h.edges, fill=True, color=plot.OTHER, label="elsewhere")  # stacked: the others on top
        ax.stairs(h.success_counts, h.edges, fill=True, color=plot.COLORS[2], label="reached f*")
        ax.set_xlim(h.edges[0] - 0.02 * h.edges[-1], h.edges[-1])
        ax.set_xlabel("final f(x) - f*")
        ax.set_ylabel("starts")
        if runs.rate.successes == runs.n_restarts:
            ax.set_title(f"{runs.title}: all {runs.n_restarts} reach f*", fontsize=9)
        else:
            ax.set_title(f"{runs.title}: {runs.rate.successes} of {runs.n_restarts} reach f*", fontsize=9)
        ax.legend(fontsize=7, loc="upper right")
    ax = axes.flat[len(names)]
    losses = r.xor.final_loss
    ax.set_axis_off()
    ax.text(
        0.05,
        0.5,
        f"XOR network, {r.xor.n_restarts} restarts:\n"
        f"{r.xor.rate.successes} classify all four rows\n"
        f"final loss median {losses.median:.3g},\nrange {losses.min:.3g}-{losses.max:.3g}",
        fontsize=9,
        va="center",
    )
    out.save_figure(
        fig,
        "final_values.png",
        "Where gradient descent ends: histograms of the final gap to the global minimum, f(x) - f*, for the starts "
        f"that reached a global minimiser (within {r.success_radius}) and the others, stacked; each bar is at least "
        "a fiftieth of the function's spread wide, so starts that all reach the minimum fill one bar at 0.",
    )


def _figure_heart(r: Results, out: FigureWriter) -> None:
    c = r.heart_choice
    fig, axes = plot.figure(1, 3, width=3.9, height=3.4)
    ax = axes[0, 0]
    step = 1 / c.n_val
    bins = np.arange(np.min(c.val_accuracy) - step / 2, np.max(c.val_accuracy) + step, step)
    ax.hist(c.val_accuracy, bins=bins, color=plot.COLORS[0])
    ax.axvline(HEART_SUCCESS, color="black", ls="--", lw=1.2, label=f"success: {HEART_SUCCESS:.2f}")
    ax.set(xlabel=f"validation accuracy ({c.n_val} patients)", ylabel="restarts", title="Success on validation")
    ax.legend(fontsize=7)
    ax = axes[0, 1]
    ax.scatter(c.train_loss, c.val_loss, s=6, color=plot.COLORS[0], label="restarts")
    ax.scatter(
        [c.train_loss[c.chosen]],
        [c.val_loss[c.chosen]],
        s=60,
        marker="*",
        color=plot.COLORS[3],
        label="chosen: lowest validation loss",
    )
    ax.set(xlabel="training loss", ylabel="validation loss", title="Choosing a restart")
    ax.legend(fontsize=7)
    ax = axes[0, 2]
    labels = ["chosen network", "logistic regression", "majority class"]
    values = [c.chosen_test_accuracy, c.logistic.test_accuracy, c.majority_baseline]
    ax.bar(range(3), values, color=[plot.COLORS[3], plot.COLORS[1], plot.OTHER])
    for i, value in enumerate(values):
        ax.text(i, value + 0.01, f"{value:.3f}", ha="center", fontsize=8)
    ax.set_xticks(range(3), labels, fontsize=8, rotation=15)
    ax.set(ylabel=f"test accuracy ({c.n_test} patients)", ylim=(0.5, 1.0), title="Scored once on test")
    for ax in axes[0]:
        ax.grid(alpha=0.3)
    out.save_figure(
        fig,
        "heart.png",
        f"The heart network over {r.heart.n_restarts} restarts: validation accuracy (success at "
        f"{HEART_SUCCESS:.2f}), validation against training loss with the restart chosen on validation (star), and "
        "that one restart's test accuracy beside logistic regression and the majority class.",
    )


def figures(r: Results, out: FigureWriter) -> None:
    _figure_basins(r, out)
    _figure_best_of_k(r, out)
    _figure_final_values(r, out)
    _figure_heart(r, out)


STUDY = Study(NAME, "Random restarts", QUESTION, compute=compute, figures=figures, text=text)

"""Learning rate: too small, right, too big, divergent; a sweep on the heart network; schedules."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import jax.numpy as jnp
import matplotlib.pyplot as plt
import numpy as np

import gdjax
from gdjax.optim import (
    cosine_decay_schedule,
    inverse_time_decay,
    linear_warmup,
    natural_exp_decay,
    per_epoch,
    sgd,
    step_decay_schedule,
)
from gdjax.studies._heart_common import band, heart_task
from gdjax.studies._study import Findings, Study, StudyContext
from gdjax.train import STATUS_NAMES

NAME = "learning_rate"
W0 = 2.5
BATCH_SIZE = 32
# The four regimes on g from w0 = 2.5 (the edge of divergence from there lies between 3.3 and 3.4).
REGIMES = {"too small": 0.05, "good": 1.0, "too big (oscillating)": 3.3, "divergent": 3.5}


def g(w):
    """The course's ``g(w) = (w^4 + w^2 + 10 w) / 50``; one minimum, at ``w* ~ -1.2348``."""
    return (w**4 + w**2 + 10 * w) / 50


def _g_minimum() -> float:
    roots = np.roots([4.0, 0.0, 2.0, 10.0])  # g'(w) = (4 w^3 + 2 w + 10) / 50
    return float(roots[np.abs(roots.imag) < 1e-9].real[0])


def _sgd_of(h):
    return sgd(h["learning_rate"])


def _run_curve(ctx: StudyContext) -> tuple[dict, list[str]]:
    steps = ctx.size(60, 100)
    w_star = _g_minimum()
    curvature = (12 * w_star**2 + 2) / 50  # g''(w*)
    fine = np.geomspace(0.01, 4.0, ctx.size(40, 120))
    rates = np.concatenate([np.asarray(list(REGIMES.values())), fine])
    result = gdjax.minimize_restarts(
        g,
        np.array([W0]),
        _sgd_of,
        grid={"learning_rate": rates},
        max_steps=steps,
        tol=1e-6,
        max_norm=1e3,
        keep_trajectory=True,
    )
    status = np.asarray(result.status)[:, 0]
    num_steps = np.asarray(result.num_steps)[:, 0]
    final = np.asarray(result.x)[:, 0]
    names = [STATUS_NAMES[int(s)] for s in status]
    converged = (np.array(names) == "converged") & (np.abs(final - w_star) < 1e-3)
    diverged = np.array(names) == "diverged"
    k = len(REGIMES)
    failures = [
        f"g(w) from w0={W0}, learning rate {lr:g}: diverged after {int(n)} steps (|w| > 1000)"
        for lr, n, d in zip(rates[:k], num_steps[:k], diverged[:k])
        if d
    ]
    fine_rates, fine_conv, fine_div, fine_steps = rates[k:], converged[k:], diverged[k:], num_steps[k:]
    edge = float(fine_rates[np.argmax(fine_div)]) if fine_div.any() else float("nan")
    fastest = float(fine_rates[np.argmin(np.where(fine_conv, fine_steps, np.inf))])

    fig, axes = plt.subplots(1, 2, figsize=(12, 4.4))
    grid_w = np.linspace(-3.2, 3.0, 300)
    axes[0].plot(grid_w, g(grid_w), color="black", lw=1.2, label="g(w)")
    colours = ["tab:gray", "tab:green", "tab:orange", "tab:red"]
    summary_regimes = {}
    for i, ((label, lr), colour) in enumerate(zip(REGIMES.items(), colours)):
        n = int(num_steps[i])
        path = np.asarray(result.trajectory)[i, 0, : n + 1]
        values = np.asarray(result.values)[i, 0, : n + 1]
        shown = np.abs(path) < 3.2
        axes[0].plot(
            path[shown], g(path[shown]), "o-", ms=3.5, lw=0.8, color=colour, alpha=0.85, label=f"{label}: rate {lr:g}"
        )
        axes[1].semilogy(
            np.arange(n + 1),
            values - g(w_star) + 1e-12,
            "o-",
            ms=2.5,
            color=colour,
            label=f"{label}: rate {lr:g} ({names[i]} after {n} steps)",
        )
        summary_regimes[label] = {
            "learning_rate": lr,
            "status": names[i],
            "steps": n,
            "final_w": float(final[i]),
            "final_gap": float(values[-1] - g(w_star)),
        }
    axes[0].plot([w_star], [g(w_star)], "k*", ms=12, label=f"minimum w* = {w_star:.4f}")
    axes[0].set(
        xlabel="w",
        ylabel="g(w)",
        ylim=(-0.4, 2.6),
        xlim=(-3.2, 3.0),
        title=f"Gradient descent on g(w) = (w^4 + w^2 + 10w)/50 from w0 = {W0}",
    )
    axes[0].legend(fontsize=8, loc="upper center")
    axes[1].set(xlabel="step", ylabel="g(w) - g(w*)  (log scale)", ylim=(1e-12, 1e6), title="Loss against step")
    axes[1].legend(fontsize=8)
    for ax in axes:
        ax.grid(alpha=0.3)
    fig.tight_layout()
    ctx.save_figure(
        fig,
        "g_regimes.png",
        "Four learning rates on g from w0 = 2.5: too small (still far after all its steps), good, too big "
        "(jumping across the valley before settling) and divergent (points off the plot left out).",
    )

    fig, ax = plt.subplots(figsize=(7.5, 4))
    ax.semilogx(fine_rates[fine_conv], fine_steps[fine_conv], "o-", ms=3, color="tab:green", label="converged")
    ax.semilogx(
        fine_rates[~fine_conv & ~fine_div],
        fine_steps[~fine_conv & ~fine_div],
        "s",
        ms=4,
        color="tab:gray",
        label=f"not converged in {steps} steps",
    )
    ax.semilogx(fine_rates[fine_div], np.full(fine_div.sum(), steps), "x", color="tab:red", label="diverged")
    ax.axvline(1 / curvature, ls=":", color="tab:green", label=f"1/g''(w*) = {1 / curvature:.2f}")
    ax.axvline(2 / curvature, ls=":", color="tab:red", label=f"2/g''(w*) = {2 / curvature:.2f} (local stability limit)")
    ax.set(
        xlabel="learning rate",
        ylabel="steps to |g'(w)| <= 1e-6",
        title=f"{fine_rates.size} learning rates in one vmapped program",
    )
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    ctx.save_figure(
        fig,
        "g_steps_vs_rate.png",
        "Steps to converge on g against the learning rate (log-spaced grid, one compiled program). Divergence "
        "starts below the local limit 2/g''(w*) because the start w0 = 2.5 is where g is most curved.",
    )
    summary = {
        "g_minimum": w_star,
        "g_curvature_at_minimum": curvature,
        "g_regimes": summary_regimes,
        "g_rates": fine_rates.tolist(),
        "g_steps": fine_steps.tolist(),
        "g_status": [names[k + i] for i in range(fine_rates.size)],
        "g_divergence_edge": edge,
        "g_fastest_rate": fastest,
        "g_fastest_steps": int(fine_steps[np.argmin(np.where(fine_conv, fine_steps, np.inf))]),
    }
    return summary, failures


SCHEDULE_NAMES = (
    "constant",
    "halve every E/5 epochs",
    "exponential a0 e^(-kt)",
    "inverse time a0/(1+kt)",
    "cosine",
    "warmup then constant",
)


def _schedules(a0, epochs: int, steps_per_epoch: int):
    """The six schedules compared, as functions of the step count (decay measured in epochs); ``a0`` may be traced."""
    total = epochs * steps_per_epoch
    return (
        lambda t: a0 + 0.0 * t,
        per_epoch(step_decay_schedule(a0, max(epochs // 5, 1), 0.5), steps_per_epoch),
        natural_exp_decay(a0, 3.0 / epochs, transition_steps=steps_per_epoch),  # a0 e^-3 at the end
        inverse_time_decay(a0, 9.0 / epochs, transition_steps=steps_per_epoch),  # a0 / 10 at the end
        cosine_decay_schedule(a0, total),
        linear_warmup(a0, max(total // 10, 1)),  # 0 -> a0 over the first tenth
    )


def _heart_sweep(ctx: StudyContext):
    """Every (schedule, base rate, restart) of the heart network in one vmapped program."""
    task = heart_task(ctx.seed)
    epochs = ctx.size(20, 100)
    rates = np.geomspace(1e-3, 100.0, ctx.size(11, 21))
    num_restarts = ctx.size(2, 4)
    steps_per_epoch = int(task.train[0].shape[0]) // BATCH_SIZE

    def optimizer(h):
        # The schedule index and the base rate are traced grid values: one program for the whole grid.
        schedules = _schedules(h["learning_rate"], epochs, steps_per_epoch)
        return sgd(lambda t: jnp.stack([jnp.asarray(f(t), jnp.float32) for f in schedules])[h["schedule"]])

    result = gdjax.sweep(
        task.loss,
        task.model.init,
        task.train,
        optimizer=optimizer,
        grid={"schedule": np.arange(len(SCHEDULE_NAMES)), "learning_rate": rates},
        epochs=epochs,
        key=ctx.key(1),
        num_restarts=num_restarts,
        batch_size=BATCH_SIZE,
        validation_data=task.test,
        progress=ctx.progress,
    )
    p = float(np.mean(np.asarray(task.train[1])))
    constant_loss = -(p * np.log(p) + (1 - p) * np.log(1 - p))  # best loss of a constant prediction
    return task, result, rates, epochs, num_restarts, constant_loss


def _outcomes(result, constant_loss):
    final = result.final_loss  # (schedule, rate, restart), NaN where diverged
    diverged = result.diverged
    no_better = ~diverged & (final >= constant_loss)
    with np.errstate(all="ignore"):
        median = np.where(
            np.isfinite(final).any(-1), np.nanmedian(np.where(np.isfinite(final), final, np.inf), -1), np.nan
        )
    median = np.where(np.isinf(median), np.nan, median)
    return final, diverged, no_better, median


def _run_sweep(ctx: StudyContext, sweep) -> tuple[dict, list[str]]:
    _, result, rates, epochs, num_restarts, constant_loss = sweep
    final, diverged, no_better, median = _outcomes(result, constant_loss)
    final, diverged, no_better, median = final[0], diverged[0], no_better[0], median[0]  # constant rate
    best = int(np.nanargmin(median))
    # Unstable: above the best rate, a restart diverged or ended no better than a constant.
    unstable = (np.arange(rates.size) > best) & (diverged | no_better).any(axis=1)
    failures = []
    for i, lr in enumerate(rates):
        for r in range(num_restarts):
            if diverged[i, r]:
                failures.append(
                    f"heart network, SGD rate {lr:.3g}, restart {r}: diverged at step "
                    f"{int(result.diverged_step[0, i, r])}"
                )
            elif no_better[i, r]:
                failures.append(
                    f"heart network, SGD rate {lr:.3g}, restart {r}: final loss {final[i, r]:.3f} is no "
                    f"better than a constant prediction ({constant_loss:.3f})"
                )

    fig, ax = plt.subplots(figsize=(7.5, 4.2))
    for r in range(num_restarts):
        ax.loglog(rates, final[:, r], "o", ms=3, color="tab:blue", alpha=0.4, label="restarts" if r == 0 else None)
    ax.loglog(rates, median, "-", color="tab:blue", label="median")
    if unstable.any():
        ax.axvspan(
            rates[unstable].min(),
            rates.max() * 1.3,
            color="tab:red",
            alpha=0.12,
            label="unstable: a restart diverged or\nended no better than a constant",
        )
    top = np.nanmax(final) if np.isfinite(final).any() else 1.0
    for i in np.flatnonzero(diverged.any(axis=1)):
        ax.plot([rates[i]], [top], "x", color="tab:red", ms=8)
        ax.annotate(
            f"{int(diverged[i].sum())} diverged",
            (rates[i], top),
            fontsize=7,
            color="tab:red",
            xytext=(0, 6),
            textcoords="offset points",
            ha="center",
        )
    ax.axhline(constant_loss, ls="--", color="gray", label=f"constant prediction ({constant_loss:.3f})")
    ax.axvline(rates[best], ls=":", color="tab:green", label=f"best median: rate {rates[best]:.3g}")
    ax.set(
        xlabel="SGD learning rate (constant)",
        ylabel=f"training loss after {epochs} epochs",
        title=f"Heart network: {rates.size} rates x {num_restarts} restarts, one vmapped sweep",
    )
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3, which="both")
    fig.tight_layout()
    ctx.save_figure(
        fig,
        "heart_rate_sweep.png",
        "Final training loss of the 29-16-1 network against a constant SGD learning rate; diverged runs "
        "(non-finite loss, red crosses) have no point; the red band marks the unstable rates.",
    )
    summary = {
        "sweep_rates": rates.tolist(),
        "sweep_final_loss_median": median.tolist(),
        "sweep_diverged": diverged.sum(axis=1).tolist(),
        "sweep_no_better_than_constant": no_better.sum(axis=1).tolist(),
        "sweep_best_rate": float(rates[best]),
        "sweep_best_loss": float(median[best]),
        "sweep_smallest_diverging_rate": float(rates[diverged.any(axis=1)].min()) if diverged.any() else None,
        "sweep_smallest_unstable_rate": float(rates[unstable].min()) if unstable.any() else None,
        "sweep_constant_loss": float(constant_loss),
        "sweep_epochs": epochs,
        "sweep_restarts": num_restarts,
    }
    return summary, failures


def _run_schedules(ctx: StudyContext, sweep, edge: float) -> tuple[dict, list[str]]:
    _, result, rates, epochs, num_restarts, constant_loss = sweep
    _final, diverged, no_better, median = _outcomes(result, constant_loss)
    # The base rate shown over epochs: the grid rate nearest an eighth of the first unstable one (fast, noisy).
    j = int(np.argmin(np.abs(np.log(rates) - np.log(edge / 8))))
    a0 = float(rates[j])
    failures = [
        f"schedule {SCHEDULE_NAMES[i]}, rate {rates[k]:.3g}, restart {r}: diverged at step "
        f"{int(result.diverged_step[i, k, r])}"
        for i, k, r in zip(*np.nonzero(diverged))
        if i > 0
    ]
    colours = plt.cm.tab10(np.arange(len(SCHEDULE_NAMES)))

    fig, axes = plt.subplots(1, 3, figsize=(15, 4.2))
    x = np.arange(1, epochs + 1)
    for i, (name, colour) in enumerate(zip(SCHEDULE_NAMES, colours)):
        axes[0].plot(x, np.asarray(result.history.learning_rate)[i, j, 0], color=colour, label=name)
        for ax, values in ((axes[1], result.history.train_loss[i, j]), (axes[2], result.history.val_loss[i, j])):
            mid, low, high = band(values)
            ax.plot(x, mid, color=colour, label=name)
            ax.fill_between(x, low, high, color=colour, alpha=0.12)
    axes[0].set(xlabel="epoch", ylabel="learning rate (at the epoch's first step)", title=f"Schedules, a0 = {a0:.3g}")
    axes[1].set(
        xlabel="epoch", ylabel="mean mini-batch loss", yscale="log", title="Training loss (median over restarts)"
    )
    axes[2].set(xlabel="epoch", ylabel="test loss", title="Test loss (median over restarts)")
    axes[0].legend(fontsize=8)
    for ax in axes:
        ax.grid(alpha=0.3)
    fig.tight_layout()
    ctx.save_figure(
        fig,
        "schedules.png",
        f"Six learning-rate schedules on the heart network from a0 = {a0:.3g} (SGD, batch {BATCH_SIZE}, same "
        "initialisations and batches): the rate, the training loss and the test loss; bands are the range "
        "over restarts.",
    )

    fig, ax = plt.subplots(figsize=(7.5, 4.2))
    for i, (name, colour) in enumerate(zip(SCHEDULE_NAMES, colours)):
        ax.loglog(rates, median[i], "o-", ms=3, color=colour, label=name)
    ax.axhline(constant_loss, ls="--", color="gray", label="constant prediction")
    ax.set(
        xlabel="base learning rate a0",
        ylabel=f"median training loss after {epochs} epochs",
        title="Every schedule at every base rate (same sweep)",
    )
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3, which="both")
    fig.tight_layout()
    ctx.save_figure(
        fig,
        "schedules_vs_rate.png",
        "Final training loss of each schedule against its base rate: decaying schedules and warmup stay "
        "stable at larger base rates than the constant rate; missing points diverged.",
    )

    names = list(SCHEDULE_NAMES)
    at_a0 = {name: float(median[i, j]) for i, name in enumerate(names)}
    test_at_a0 = {name: float(np.nanmedian(result.final_val_loss[i, j])) for i, name in enumerate(names)}
    stable = {}
    for i, name in enumerate(names):
        ok = ~(diverged[i] | no_better[i]).any(-1)
        best = int(np.nanargmin(median[i]))
        bad_above = np.flatnonzero(~ok & (np.arange(rates.size) > best))
        stable[name] = float(rates[bad_above.min() - 1]) if bad_above.size else float(rates[-1])
    summary = {
        "schedule_base_rate": a0,
        "schedule_epochs": epochs,
        "schedule_restarts": num_restarts,
        "schedule_final_train_loss": at_a0,
        "schedule_final_test_loss": test_at_a0,
        "schedule_best_train": min(at_a0, key=at_a0.get),
        "schedule_best_test": min(test_at_a0, key=test_at_a0.get),
        "schedule_final_rate": {
            name: float(np.asarray(result.history.learning_rate)[i, j, 0, -1]) for i, name in enumerate(names)
        },
        "schedule_largest_stable_rate": stable,
        "schedule_best_loss_any_rate": {name: float(np.nanmin(median[i])) for i, name in enumerate(names)},
    }
    return summary, failures


def _fmt(rate) -> str:
    return "none in the grid" if rate is None else f"{rate:.3g}"


def run(ctx: StudyContext) -> Findings:
    curve, failures_curve = _run_curve(ctx)
    sweep = _heart_sweep(ctx)
    sweep_summary, failures_sweep = _run_sweep(ctx, sweep)
    edge = sweep_summary["sweep_smallest_unstable_rate"] or max(sweep_summary["sweep_rates"])
    sched, failures_sched = _run_schedules(ctx, sweep, edge)
    a0 = sched["schedule_base_rate"]
    summary = {**curve, **sweep_summary, **sched}
    r = curve["g_regimes"]
    method = f"""
**g(w).** Plain gradient descent `w <- w - a g'(w)` on the course's `g(w) = (w^4 + w^2 + 10w)/50` from `w0 = {W0}`
(minimum `w* = {curve["g_minimum"]:.4f}`, curvature `g''(w*) = {curve["g_curvature_at_minimum"]:.3f}`), stopping when
`|g'(w)| <= 1e-6` or `|w| > 1000` (diverged); four rates are drawn and {len(curve["g_rates"])} log-spaced rates from
0.01 to 4 run in one compiled `gdjax.minimize_restarts` grid.
**Heart network.** The 29-16-1 network trained with plain SGD (batch {BATCH_SIZE}, {sweep_summary["sweep_epochs"]} epochs)
at {len(sweep_summary["sweep_rates"])} log-spaced rates from 1e-3 to 100, {sweep_summary["sweep_restarts"]} restarts each,
in one vmapped `gdjax.sweep`. A run *diverged* when a loss or update became non-finite (the trainer stops it); a finite
run whose final loss is no better than predicting the training base rate ({sweep_summary["sweep_constant_loss"]:.3f}) is
reported as not having learnt.
**Schedules.** Six schedules from the same base rate a0 = {a0:.3g} (the grid rate nearest one eighth of the first unstable
constant rate): constant; halving every {max(sched["schedule_epochs"] // 5, 1)} epochs; `a0 e^(-kt)` with k = 3/E per
epoch; `a0/(1 + kt)` with k = 9/E; cosine to 0; linear warmup over the first tenth then constant. Every schedule runs at every
base rate of the grid in the *same* vmapped sweep as the constant rate (the schedule index and the base rate are traced
grid values: one compiled program), from the same {sched["schedule_restarts"]} initialisations and mini-batch order.
"""
    findings = (
        f"""
On g, rate {r["too small"]["learning_rate"]} is too small ({r["too small"]["status"]} after {r["too small"]["steps"]}
steps, still at w = {r["too small"]["final_w"]:.3f}); rate {r["good"]["learning_rate"]} converges in
{r["good"]["steps"]} steps; rate {r["too big (oscillating)"]["learning_rate"]} jumps across the valley
({r["too big (oscillating)"]["status"]} after {r["too big (oscillating)"]["steps"]} steps) and rate
{r["divergent"]["learning_rate"]} is {r["divergent"]["status"]}. Over the grid the fastest rate is
{curve["g_fastest_rate"]:.3g} ({curve["g_fastest_steps"]} steps), close to `1/g''(w*) = {1 / curve["g_curvature_at_minimum"]:.2f}`
(Newton's step), and divergence starts at {curve["g_divergence_edge"]:.3g}, below the local limit
`2/g''(w*) = {2 / curve["g_curvature_at_minimum"]:.2f}`: the start w0 = 2.5 is more curved than the minimum.

On the heart network the final loss falls with the rate up to {sweep_summary["sweep_best_rate"]:.3g} (median loss
{sweep_summary["sweep_best_loss"]:.3f}); above it training becomes unstable from rate
{_fmt(sweep_summary["sweep_smallest_unstable_rate"])} (a restart diverged or ended no better than a constant) and
diverges outright (non-finite loss) from rate {_fmt(sweep_summary["sweep_smallest_diverging_rate"])}. The
cross-entropy computed from logits stays finite for very large weights, so many runs at too large a rate do not
overflow: their ReLU units die or their output saturates and the loss stalls at or above a constant prediction's.
{sum(sweep_summary["sweep_diverged"])} runs diverged and {sum(sweep_summary["sweep_no_better_than_constant"])} finished
no better than a constant (listed below).

Schedules: lowest final training loss with **{sched["schedule_best_train"]}**, lowest test loss with
**{sched["schedule_best_test"]}**. Final training losses: """
        + ", ".join(f"{name} {value:.3f}" for name, value in sched["schedule_final_train_loss"].items())
        + """. Largest base rate
before instability: """
        + ", ".join(f"{name} {value:.3g}" for name, value in sched["schedule_largest_stable_rate"].items())
        + """.
Schedules that stay stable at a larger base rate than the constant one: """
        + (
            ", ".join(
                name
                for name, value in sched["schedule_largest_stable_rate"].items()
                if value > sched["schedule_largest_stable_rate"]["constant"]
            )
            or "none"
        )
        + """ (a rate that falls quickly
leaves the dangerous large steps behind before they do damage). The test-loss panel shows the other side: at this rate the network overfits the 242 patients
whatever the schedule, and the schedule that trains furthest is not the one with the lowest test loss.
"""
    )
    return Findings(
        summary=summary,
        method=method,
        findings=findings,
        figures=ctx.figures,
        failures=failures_curve + failures_sweep + failures_sched,
    )


QUESTION = "What happens when the learning rate is too small, right, too big or divergent, and do schedules help?"
STUDY = Study(NAME, "Learning rate", QUESTION, run=run)

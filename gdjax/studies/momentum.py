r"""Momentum: its speed-up on ill-conditioned quadratics, escaping a plateau, and on the heart network.

Quadratics ``f(w) = 1/2 (w_1^2 + kappa w_2^2)`` (``l_min = 1``,
``l_max = kappa``), from ``w_0 = (1, 1)``, in float64. Counted: iterations until
``||w_t - w*|| <= 1e-6 ||w_0 - w*||`` (Goh, *Why Momentum Really Works*,
Distill 2017). The rates per iteration are

- gradient descent at ``alpha = 2/(l_min + l_max)``: ``(kappa - 1)/(kappa + 1)``;
- heavy ball (Polyak 1964) at ``alpha = (2/(sqrt(l_min) + sqrt(l_max)))^2``,
  ``beta = ((sqrt(kappa) - 1)/(sqrt(kappa) + 1))^2``: ``(sqrt(kappa) - 1)/(sqrt(kappa) + 1)``;
- Nesterov at ``alpha = 1/l_max``, ``beta = (sqrt(kappa) - 1)/(sqrt(kappa) + 1)``
  (Nesterov 2004, the constant-momentum scheme for strongly convex functions),
  whose rate is ``1 - 1/sqrt(kappa)``.

The theoretical iteration count for rate ``r`` is ``ceil(ln(1e-6)/ln r)``.
"""

from __future__ import annotations

import functools
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from matplotlib.colors import LogNorm

import gdjax
import gdjax.optim as optim
from gdjax.functions import FUNCTIONS
from gdjax.optim import GradientTransformation
from gdjax.restarts import minimize_restarts, success_rate
from gdjax.studies._heart_common import heart_task
from gdjax.studies._study import Findings, Study, StudyContext

NAME = "momentum"
KAPPAS = (10, 100, 1000)
SHRINK = 1e-6
DIM = 2  # eigenvalues (1, kappa): GD then shrinks exactly at its rate
MAX_ITERS = 20_000
HEATMAP_KAPPA = 100
HEATMAP_MAX_ITERS = 2_000


# ------------------------------------------------------------------ quadratics


def parameters(kappa: float) -> dict[str, tuple[float, float]]:
    """``{method: (alpha, beta)}`` at ``l_min = 1``, ``l_max = kappa``."""
    s = np.sqrt(kappa)
    return {
        "gd": (2 / (1 + kappa), 0.0),
        "momentum": ((2 / (1 + s)) ** 2, ((s - 1) / (s + 1)) ** 2),
        "nesterov": (1 / kappa, (s - 1) / (s + 1)),
    }


def theory_iters(rate: float, shrink: float = SHRINK) -> int:
    """Iterations for ``rate^t <= shrink``."""
    return int(np.ceil(np.log(shrink) / np.log(rate)))


def _eigenvalues(kappa):
    return jnp.linspace(1.0, kappa, DIM, dtype=jnp.float64)


@functools.partial(jax.jit, static_argnames=("nesterov", "max_iters"))
def shrink_iterations(kappa, alpha, beta, *, nesterov: bool, max_iters: int):
    """Iterations of ``gdjax.optim.sgd(alpha, beta, nesterov)`` until ``||w_t|| <= 1e-6 ||w_0||``.

    Returns ``max_iters + 1`` when it does not get there (or diverges). Call
    inside ``jax.enable_x64(True)``: float64 keeps the 1e-6 shrink exact.
    """
    lam = _eigenvalues(kappa)
    opt = optim.sgd(alpha, momentum=beta, nesterov=nesterov)
    w0 = jnp.ones(DIM, jnp.float64)
    target = SHRINK * jnp.linalg.norm(w0)

    def running(carry):
        t, w, _ = carry
        norm = jnp.linalg.norm(w)
        return (t <= max_iters) & (norm > target) & jnp.isfinite(norm)

    def step(carry):
        t, w, state = carry
        updates, state = opt.update(lam * w, state, w)
        return t + 1, optim.apply_updates(w, updates), state

    t, w, _ = jax.lax.while_loop(running, step, (jnp.int32(0), w0, opt.init(w0)))
    return jnp.where(jnp.linalg.norm(w) <= target, t, max_iters + 1)


@functools.partial(jax.jit, static_argnames=("nesterov", "steps"))
def shrink_curve(kappa, alpha, beta, *, nesterov: bool, steps: int):
    """``||w_t|| / ||w_0||`` for ``t = 0 .. steps``."""
    lam = _eigenvalues(kappa)
    opt = optim.sgd(alpha, momentum=beta, nesterov=nesterov)
    w0 = jnp.ones(DIM, jnp.float64)

    def step(carry, _):
        w, state = carry
        updates, state = opt.update(lam * w, state, w)
        w = optim.apply_updates(w, updates)
        return (w, state), jnp.linalg.norm(w)

    _, norms = jax.lax.scan(step, (w0, opt.init(w0)), None, length=steps)
    return jnp.concatenate([jnp.ones(1), norms / jnp.linalg.norm(w0)])


def quadratic_table() -> list[dict[str, Any]]:
    """The table of the issue: measured and theoretical iterations per kappa (exact float64 math)."""
    records = []
    with jax.enable_x64(True):
        for kappa in KAPPAS:
            params = parameters(kappa)
            measured = {
                name: int(shrink_iterations(float(kappa), a, b, nesterov=name == "nesterov", max_iters=MAX_ITERS))
                for name, (a, b) in params.items()
            }
            s = np.sqrt(kappa)
            records.append(
                {
                    "kappa": kappa,
                    "gd_iters": measured["gd"],
                    "momentum_iters": measured["momentum"],
                    "nesterov_iters": measured["nesterov"],
                    "gd_theory_iters": theory_iters((kappa - 1) / (kappa + 1)),
                    "momentum_theory_iters": theory_iters((s - 1) / (s + 1)),
                    "nesterov_theory_iters": theory_iters(1 - 1 / s),
                    "gd_rate": (kappa - 1) / (kappa + 1),
                    "momentum_rate": (s - 1) / (s + 1),
                    "alpha_beta": {name: list(ab) for name, ab in params.items()},
                }
            )
    return records


def heat_map(alphas: np.ndarray, betas: np.ndarray) -> np.ndarray:
    """Heavy-ball iterations over the grid ``(beta, alpha)`` at kappa = 100: one vmapped call."""
    with jax.enable_x64(True):
        a, b = jnp.meshgrid(jnp.asarray(alphas, jnp.float64), jnp.asarray(betas, jnp.float64))
        run = jax.vmap(
            lambda a, b: shrink_iterations(float(HEATMAP_KAPPA), a, b, nesterov=False, max_iters=HEATMAP_MAX_ITERS)
        )
        return np.asarray(run(a.ravel(), b.ravel())).reshape(a.shape)


# ------------------------------------------------------------------- escaping

ESCAPE_LR = 0.01


def _escape_optimizer(h):
    return optim.sgd(ESCAPE_LR, momentum=h["beta"])


def escape(ctx: StudyContext, betas: np.ndarray, n: int, max_steps: int) -> dict[str, Any]:
    """Share of starts in a non-global basin that reach the global minimum, per beta."""
    out = {}
    cases = {
        "course_quartic": (FUNCTIONS["course_quartic"], np.array([[-1.5, -0.05]])),
        "styblinski_tang": (FUNCTIONS["styblinski_tang"], np.array([[0.5, 4.5], [0.5, 4.5]])),
    }
    for i, (name, (f, box)) in enumerate(cases.items()):
        key = ctx.key(200 + i)
        starts = jax.random.uniform(key, (n, f.dim), jnp.float32, box[:, 0], box[:, 1])
        r = minimize_restarts(f.fn, starts, _escape_optimizer, grid={"beta": betas}, max_steps=max_steps, tol=0.0)
        diverged = r.status == 2
        reached = (f.distance_to_minimizer(r.x) <= 0.05) & ~diverged
        rates = [success_rate(reached[j]) for j in range(len(betas))]
        out[name] = {
            "betas": [float(b) for b in betas],
            "share": [r.p for r in rates],
            "low": [r.low for r in rates],
            "high": [r.high for r in rates],
            "diverged": [int(d.sum()) for d in diverged],
            "n_starts": n,
            "start_box": box.tolist(),
            "learning_rate": ESCAPE_LR,
            "max_steps": max_steps,
        }
    return out


# ----------------------------------------------------------------------- heart

HEART_LR = 0.01
MU_MAX = 0.99
#: The six runs on the heart network: (label, momentum, nesterov, Sutskever schedule).
VARIANTS = (
    ("beta = 0 (plain SGD)", 0.0, False, False),
    ("beta = 0.5", 0.5, False, False),
    ("beta = 0.9", 0.9, False, False),
    ("beta = 0.99", 0.99, False, False),
    ("Nesterov, beta = 0.9", 0.9, True, False),
    (f"Sutskever schedule, mu_max = {MU_MAX}", 0.0, False, True),
)


def sutskever_schedule(mu_max: float = MU_MAX):
    """``mu_t = min(1 - 2^(-1 - log2(floor(t/250) + 1)), mu_max)`` (Sutskever et al., ICML 2013)."""

    def schedule(count):
        return jnp.minimum(1 - 2.0 ** (-1 - jnp.log2(jnp.floor(count / 250) + 1)), mu_max)

    return schedule


_SCHEDULE = sutskever_schedule()


def variant_optimizer(h) -> GradientTransformation:
    """SGD at ``HEART_LR`` with the momentum of ``VARIANTS[h["variant"]]``: all six in one traced program.

    Equal to ``sgd(lr, beta)``, ``sgd(lr, 0.9, nesterov=True)`` or
    ``sgd(lr, momentum=sutskever_schedule())`` for the matching variant.
    """
    v = jnp.asarray(h["variant"], jnp.int32)
    beta = jnp.asarray([m for _, m, _, _ in VARIANTS])[v]
    nesterov = jnp.asarray([n for _, _, n, _ in VARIANTS])[v]
    scheduled = jnp.asarray([s for _, _, _, s in VARIANTS])[v]

    def mu(count):
        return jnp.where(scheduled, _SCHEDULE(count), beta)

    heavy = optim.trace(mu)

    def update(grads, state, params=None):
        buffer, new_state = heavy.update(grads, state)
        m = mu(state.count)
        look_ahead = jax.tree.map(lambda g, b: g + m.astype(g.dtype) * b, grads, buffer)
        return jax.tree.map(lambda a, b: jnp.where(nesterov, a, b), look_ahead, buffer), new_state

    return optim.chain(GradientTransformation(heavy.init, update), optim.scale_by_learning_rate(HEART_LR))


def heart(ctx: StudyContext, epochs: int, num_restarts: int):
    task = heart_task(ctx.seed)
    return gdjax.sweep(
        task.loss,
        task.model.init,
        task.train,
        optimizer=variant_optimizer,
        grid={"variant": np.arange(len(VARIANTS))},
        epochs=epochs,
        key=ctx.key(3),
        num_restarts=num_restarts,
        batch_size=32,
        validation_data=task.test,
        metrics=task.metrics,
        progress=ctx.progress,
    )


# ------------------------------------------------------------------------- run


def run(ctx: StudyContext) -> Findings:
    from gdjax import plot as _plots

    table = quadratic_table()
    n_grid = ctx.size(32, 64)
    alphas = np.linspace(0.0005, 0.04, n_grid)
    betas_grid = np.linspace(0.0, 0.98, n_grid)
    iters = heat_map(alphas, betas_grid)
    escape_betas = np.array([0.0, 0.2, 0.4, 0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.95, 0.99])
    esc = escape(ctx, escape_betas, ctx.size(64, 512), ctx.size(1500, 3000))
    epochs, restarts_per = ctx.size(15, 100), ctx.size(2, 8)
    runs = heart(ctx, epochs, restarts_per)

    failures = []
    for name, e in esc.items():
        for b, d in zip(e["betas"], e["diverged"]):
            if d:
                failures.append(f"escape on {name}: {d} of {e['n_starts']} starts diverged at beta = {b}")
    for v, (label, *_rest) in enumerate(VARIANTS):
        for r in np.flatnonzero(runs.diverged[v]):
            failures.append(f"heart, {label}: restart {r} diverged at step {int(runs.diverged_step[v, r])}")

    opt_alpha, opt_beta = parameters(HEATMAP_KAPPA)["momentum"]
    best = np.unravel_index(np.argmin(iters), iters.shape)
    train_loss = runs.history.train_loss  # (variants, restarts, epochs)
    summary = {
        "quadratic": table,
        "shrink": SHRINK,
        "dimension": DIM,
        "heatmap": {
            "kappa": HEATMAP_KAPPA,
            "alphas": alphas.tolist(),
            "betas": betas_grid.tolist(),
            "iterations": iters.tolist(),
            "max_iters": HEATMAP_MAX_ITERS,
            "best": {
                "alpha": float(alphas[best[1]]),
                "beta": float(betas_grid[best[0]]),
                "iterations": int(iters[best]),
            },
            "optimal": {"alpha": opt_alpha, "beta": opt_beta},
            "converged_share": float(np.mean(iters <= HEATMAP_MAX_ITERS)),
        },
        "escape": esc,
        "heart": {
            "learning_rate": HEART_LR,
            "epochs": epochs,
            "restarts": restarts_per,
            "batch_size": 32,
            "steps": int(epochs * (heart_task(ctx.seed).train[0].shape[0] // 32)),
            "variants": [
                {
                    "label": label,
                    "momentum": m,
                    "nesterov": n,
                    "schedule": s,
                    "final_train_loss_median": float(np.nanmedian(runs.final_loss[v])),
                    "final_test_loss_median": float(np.nanmedian(runs.final_val_loss[v])),
                    "final_test_accuracy_median": float(np.nanmedian(runs.final_val_metrics["accuracy"][v])),
                    "diverged": int(runs.diverged[v].sum()),
                }
                for v, (label, m, n, s) in enumerate(VARIANTS)
            ],
        },
    }
    k100 = next(r for r in table if r["kappa"] == 100)
    summary["speedup_at_kappa_100"] = k100["gd_iters"] / k100["momentum_iters"]

    # ---- figures
    fig, axes = _plots.figure(1, 2, width=5.0, height=3.8)
    ax = axes[0, 0]
    steps = 800
    with jax.enable_x64(True):
        for i, (name, label) in enumerate(
            (("gd", "gradient descent"), ("momentum", "heavy ball"), ("nesterov", "Nesterov"))
        ):
            a, b = parameters(100)[name]
            curve = np.asarray(shrink_curve(100.0, a, b, nesterov=name == "nesterov", steps=steps))
            ax.semilogy(curve, color=_plots.COLORS[i], label=label)
    t = np.arange(steps + 1)
    ax.semilogy(t, k100["gd_rate"] ** t, "--", color=_plots.COLORS[0], lw=0.8, label=r"$((\kappa-1)/(\kappa+1))^t$")
    ax.semilogy(
        t,
        k100["momentum_rate"] ** t,
        "--",
        color=_plots.COLORS[1],
        lw=0.8,
        label=r"$((\sqrt{\kappa}-1)/(\sqrt{\kappa}+1))^t$",
    )
    ax.axhline(SHRINK, color="black", lw=0.6, ls=":")
    ax.set_ylim(1e-9, 3)
    ax.set_xlabel("iteration t")
    ax.set_ylabel(r"$\|w_t - w^*\| / \|w_0 - w^*\|$")
    ax.set_title(r"quadratic, $\kappa$ = 100")
    ax.legend(fontsize=7)
    ax = axes[0, 1]
    ks = [r["kappa"] for r in table]
    for i, (key, label) in enumerate(
        (("gd", "gradient descent"), ("momentum", "heavy ball"), ("nesterov", "Nesterov"))
    ):
        ax.loglog(ks, [r[f"{key}_iters"] for r in table], "o-", color=_plots.COLORS[i], label=f"{label} (measured)")
    ax.loglog(ks, [r["gd_theory_iters"] for r in table], "x--", color=_plots.COLORS[0], label="GD theory")
    ax.loglog(ks, [r["momentum_theory_iters"] for r in table], "x--", color=_plots.COLORS[1], label="heavy-ball theory")
    ax.set_xlabel(r"condition number $\kappa$")
    ax.set_ylabel("iterations to shrink the error by 1e-6")
    ax.set_title(r"GD grows like $\kappa$, momentum like $\sqrt{\kappa}$")
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3, which="both")
    ctx.save_figure(
        fig,
        "quadratic.png",
        "Left: distance to the minimiser on a quadratic with condition number 100 "
        "(solid) against the theoretical rates (dashed). Right: iterations to shrink it by 1e-6 "
        "against the condition number.",
    )

    fig, axes = _plots.figure(1, 1, width=6.0, height=4.6)
    ax = axes[0, 0]
    shown = np.where(iters <= HEATMAP_MAX_ITERS, iters, np.nan).astype(float)
    mesh = ax.pcolormesh(alphas, betas_grid, shown, norm=LogNorm(), cmap="viridis_r", shading="nearest")
    ax.set_facecolor("0.85")
    bar = fig.colorbar(mesh, ax=ax)
    bar.set_label("iterations to shrink the error by 1e-6 (grey: not within %d)" % HEATMAP_MAX_ITERS)
    ax.plot(opt_alpha, opt_beta, "*", color="red", ms=14, mec="white", label="optimal (alpha, beta) of the theory")
    ax.plot(
        alphas,
        np.clip(alphas * HEATMAP_KAPPA / 2 - 1, 0, 1),
        color="white",
        lw=1,
        ls="--",
        label=r"stability edge $\alpha = 2(1+\beta)/l_{max}$",
    )
    ax.set_xlabel(r"step size $\alpha$")
    ax.set_ylabel(r"momentum $\beta$")
    ax.set_ylim(betas_grid[0], betas_grid[-1])
    ax.set_title(r"heavy ball on a quadratic, $\kappa$ = 100 (one vmapped sweep)")
    ax.legend(fontsize=7, loc="lower left")
    ctx.save_figure(
        fig,
        "heatmap.png",
        "Iterations over a grid of step size and momentum for heavy ball at "
        "condition number 100; the star is the theory's optimum.",
    )

    fig, axes = _plots.figure(1, 2, width=4.6, height=3.5)
    ax = axes[0, 0]
    titles = {
        "course_quartic": "w^4 - 3w^3 + 2, starts in [-1.5, -0.05]",
        "styblinski_tang": "Styblinski-Tang, starts in [0.5, 4.5]^2",
    }
    for i, (name, e) in enumerate(esc.items()):
        err = np.clip([np.subtract(e["share"], e["low"]), np.subtract(e["high"], e["share"])], 0, None)
        ax.errorbar(e["betas"], e["share"], yerr=err, fmt="o-", color=_plots.COLORS[i], capsize=2, label=titles[name])
    ax.set_xlabel(rf"momentum $\beta$ (step size {ESCAPE_LR:g})")
    ax.set_ylabel("share reaching the global minimum")
    ax.set_ylim(-0.03, 1.03)
    ax.set_title("escaping with momentum")
    ax.legend(fontsize=7, loc="upper left")
    ax.grid(alpha=0.3)
    ax = axes[0, 1]
    f = FUNCTIONS["course_quartic"]
    x0 = jnp.asarray([-1.0])
    for i, beta in enumerate((0.0, 0.5, 0.9)):
        path = gdjax.minimize(f.fn, x0, _escape_optimizer, hyperparams={"beta": beta}, max_steps=600, tol=0.0)
        ax.plot(np.asarray(path.trajectory)[:, 0], color=_plots.COLORS[i + 2], label=rf"$\beta$ = {beta}")
    ax.axhline(0, color="black", lw=0.6, ls=":", label="plateau w = 0")
    ax.axhline(9 / 4, color="red", lw=0.6, ls="--", label="minimum w = 9/4")
    ax.set_xlabel("step")
    ax.set_ylabel("w")
    ax.set_title("w^4 - 3w^3 + 2 from w = -1")
    ax.legend(fontsize=7)
    ctx.save_figure(
        fig,
        "escape.png",
        "Left: share of starts outside the global basin that reach the global "
        "minimum, against the momentum (95% intervals). Right: gradient descent stalls on the plateau "
        "at w = 0; momentum carries through it.",
    )

    fig, axes = _plots.figure(1, 2, width=4.8, height=3.6)
    x = np.arange(1, epochs + 1)
    for v, (label, *_rest) in enumerate(VARIANTS):
        _plots.median_band(axes[0, 0], x, train_loss[v], color=_plots.COLORS[v], label=label)
        _plots.median_band(axes[0, 1], x, runs.history.val_loss[v], color=_plots.COLORS[v], label=label)
    for ax, what in zip(axes[0], ("training loss (running, per epoch)", "held-out loss")):
        ax.set_xlabel("epoch")
        ax.set_ylabel(what)
        ax.set_yscale("log")
        ax.grid(alpha=0.3)
    axes[0, 0].legend(fontsize=7)
    axes[0, 0].set_title(f"heart network, SGD lr {HEART_LR}, batch 32")
    axes[0, 1].set_title(f"median and 10-90% band over {restarts_per} restarts")
    ctx.save_figure(
        fig,
        "heart_momentum.png",
        "Momentum on the heart network: loss curves per momentum, Nesterov "
        "and the increasing schedule of Sutskever et al. (2013).",
    )

    # ---- text
    rows = [
        "| kappa | GD | GD theory | heavy ball | heavy-ball theory | Nesterov | Nesterov theory (1 - 1/sqrt(kappa)) |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in table:
        rows.append(
            f"| {r['kappa']} | {r['gd_iters']} | {r['gd_theory_iters']} | {r['momentum_iters']} | "
            f"{r['momentum_theory_iters']} | {r['nesterov_iters']} | {r['nesterov_theory_iters']} |"
        )
    cq, st = esc["course_quartic"], esc["styblinski_tang"]
    hv = summary["heart"]["variants"]
    heart_rows = [
        "| run | final training loss | held-out loss | held-out accuracy | diverged |",
        "|---|---|---|---|---|",
    ]
    heart_rows += [
        f"| {v['label']} | {v['final_train_loss_median']:.3f} | {v['final_test_loss_median']:.3f} | "
        f"{v['final_test_accuracy_median']:.3f} | {v['diverged']} |"
        for v in hv
    ]
    last_mu = float(_SCHEDULE(summary["heart"]["steps"] - 1))
    method = (
        "Quadratics $f(w) = \\frac12(w_1^2 + \\kappa w_2^2)$ (eigenvalues $l_{min} = 1$, $l_{max} = \\kappa$), from $w_0 = (1, 1)$, in float64, with `gdjax.optim.sgd(alpha, momentum=beta, "
        "nesterov=...)`. Counted: iterations until $\\|w_t - w^*\\|$ has shrunk by 1e-6 (Goh, Distill 2017). "
        "Gradient descent at $\\alpha = 2/(l_{min} + l_{max})$; heavy ball at $\\alpha = (2/(\\sqrt{l_{min}} + "
        "\\sqrt{l_{max}}))^2$, $\\beta = ((\\sqrt\\kappa - 1)/(\\sqrt\\kappa + 1))^2$; Nesterov at "
        "$\\alpha = 1/l_{max}$, $\\beta = (\\sqrt\\kappa - 1)/(\\sqrt\\kappa + 1)$ (the standard constant-momentum "
        "choice for strongly convex functions, rate $1 - 1/\\sqrt\\kappa$). Theory: "
        "$\\lceil \\ln 10^{-6} / \\ln r \\rceil$. The heat map is one `vmap` over a "
        f"{n_grid}x{n_grid} grid of $(\\alpha, \\beta)$. Escaping: {cq['n_starts']} starts outside the global "
        f"basin, SGD at step {ESCAPE_LR} for {cq['max_steps']} steps, every momentum in one compiled program "
        "(`minimize_restarts(..., grid=...)`); success = ending within 0.05 of the global minimiser. Heart: the "
        f"29-16-1 network, SGD at {HEART_LR}, batch 32, {epochs} epochs, {restarts_per} restarts per run, the six "
        f"runs one sweep; the schedule $\\mu_t = \\min(1 - 2^{{-1 - \\log_2(\\lfloor t/250 \\rfloor + 1)}}, {MU_MAX})$ "
        f"reaches {last_mu:.3f} at the last of the {summary['heart']['steps']} steps."
    )
    findings = (
        "Iterations until the distance to the minimiser has shrunk by 1e-6:\n\n"
        + "\n".join(rows)
        + "\n\n"
        + (
            f"- At $\\kappa = 100$ heavy ball needs {k100['momentum_iters']} iterations against gradient descent's "
            f"{k100['gd_iters']} ({summary['speedup_at_kappa_100']:.1f}x fewer). Gradient descent matches its theory "
            "to the iteration; heavy ball takes somewhat more than $\\ln 10^{-6}/\\ln r$ because at the optimal "
            "parameters its iteration matrix has a repeated eigenvalue, which adds a factor growing like $t$ to "
            "$r^t$. Iterations grow like $\\kappa$ for gradient descent and like $\\sqrt\\kappa$ with momentum.\n"
            f"- Heat map: the fastest cell ({summary['heatmap']['best']['iterations']} iterations at "
            f"$\\alpha$ = {summary['heatmap']['best']['alpha']:.4f}, $\\beta$ = {summary['heatmap']['best']['beta']:.3f}) "
            f"lies next to the theory's optimum, which needs {k100['momentum_iters']}: the optimum minimises the "
            "asymptotic rate, not the count to 1e-6, so a neighbour with a slightly smaller $\\beta$ can finish a "
            "little sooner. Step sizes past $2(1 + \\beta)/l_{max}$ diverge.\n"
            f"- $w^4 - 3w^3 + 2$ has no second minimum: $w = 0$ is a flat inflection point. From its left, gradient "
            f"descent stalls on it (share reaching $9/4$ at $\\beta = 0$: {cq['share'][0]:.2f}); with momentum "
            f"{max(cq['share']):.2f} at best ($\\beta$ = {cq['betas'][int(np.argmax(cq['share']))]}). Styblinski-Tang "
            f"from the opposite quadrant: {st['share'][0]:.2f} at $\\beta = 0$, {max(st['share']):.2f} at best "
            f"($\\beta$ = {st['betas'][int(np.argmax(st['share']))]}). Momentum helps only when it is large enough to "
            "carry the iterate over the barrier, and too much can overshoot the global basin too.\n"
            "- Heart network:\n\n" + "\n".join(heart_rows)
        )
    )
    return Findings(summary=summary, method=method, findings=findings, figures=ctx.figures, failures=failures)


QUESTION = "How much faster is momentum on ill-conditioned problems, and does it escape local minima?"
STUDY = Study(NAME, "Momentum", QUESTION, run=run)

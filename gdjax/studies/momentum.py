r"""Momentum: its speed-up on ill-conditioned quadratics, its (step size, momentum) map, escaping a plateau,
and on the heart network (with a validation split).

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
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from matplotlib.colors import LogNorm

import gdjax
import gdjax.optim as optim
from gdjax.functions import FUNCTIONS
from gdjax.optim import GradientTransformation
from gdjax.restarts import minimize_restarts, success_rate
from gdjax.studies._baselines import LogisticBaseline, logistic_baseline
from gdjax.studies._study import FigureWriter, Study, StudyContext, Text

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


BATCH_SIZE = 32


@functools.lru_cache(maxsize=2)
def _models():
    net = gdjax.models.mlp((29, 16, 1), hidden="relu", output="sigmoid")

    def net_loss(params, batch):
        return gdjax.losses.sigmoid_binary_cross_entropy(net.logits(params, batch[0]), batch[1])

    return net, net_loss


def _accuracy(probs: np.ndarray, y: Any) -> np.ndarray:
    return np.mean((np.asarray(probs) >= 0.5) == (np.asarray(y)[None] > 0.5), axis=-1)


def _bce(logits: np.ndarray, y: Any) -> np.ndarray:
    z, y = np.asarray(logits, np.float64), np.asarray(y, np.float64)[None]
    return np.mean(np.maximum(z, 0) - z * y + np.log1p(np.exp(-np.abs(z))), axis=-1)


def spectral_radius(alpha: float, beta: float, eigenvalues=(1.0, float(HEATMAP_KAPPA))) -> float:
    """The asymptotic rate of heavy ball on a quadratic: max |z| over the roots of ``z^2 - (1 + b - a l) z + b``."""
    return float(max(np.abs(np.roots([1.0, -(1 + beta - alpha * lam), beta])).max() for lam in eigenvalues))


class Variant(NamedTuple):
    label: str
    momentum: float
    nesterov: bool
    schedule: bool
    best_epoch: int  # the epoch of the lowest median validation loss
    min_val_loss: float  # the median validation loss there
    final_val_loss: float  # the median validation loss at the last epoch
    final_train_loss: float  # the median training loss at the last epoch
    val_loss_restored: np.ndarray  # per restart: the validation loss of its best epoch (restored parameters)
    diverged: int


class Paired(NamedTuple):
    """Per restart (same initialisations), a's best validation loss minus b's, with a 95% t interval."""

    a: str
    b: str
    mean: float
    low: float
    high: float
    pairs: int


class HeartResults(NamedTuple):
    learning_rate: float
    epochs: int
    restarts: int
    batch_size: int
    steps: int
    n_train: int
    n_val: int
    n_test: int
    variants: list[Variant]
    train_curves: np.ndarray  # [variant, restart, epoch]
    val_curves: np.ndarray
    heavy_vs_nesterov_max_gap: float  # the largest |median difference| of their training-loss curves
    paired: list[Paired]
    chosen: str  # the variant with the lowest median restored validation loss
    test_accuracy: float  # the chosen variant, restored parameters, median over restarts (test rows touched once)
    test_loss: float
    majority_accuracy: float
    logistic: LogisticBaseline  # its rate and steps chosen on the validation rows
    last_mu: float


def heart(ctx: StudyContext, epochs: int, num_restarts: int) -> HeartResults:
    split = gdjax.data.load_heart_stratified_split(ctx.seed)
    train, val = (split.x_train, split.y_train), (split.x_val, split.y_val)
    net, net_loss = _models()
    # Patience as long as the training: every epoch runs, and the best epoch's parameters come back.
    keep_best = gdjax.EarlyStopping(patience=epochs, monitor="val_loss", restore_best=True)
    common = dict(epochs=epochs, num_restarts=num_restarts, batch_size=BATCH_SIZE, validation_data=val)
    runs = gdjax.sweep(
        net_loss,
        net.init,
        train,
        optimizer=variant_optimizer,
        grid={"variant": np.arange(len(VARIANTS))},
        key=ctx.key(3),
        early_stopping=keep_best,
        progress=ctx.progress,
        **common,
    )
    train_curves = np.asarray(runs.history.train_loss, np.float64)
    val_curves = np.asarray(runs.history.val_loss, np.float64)
    restored = np.where(runs.diverged, np.nan, runs.final_val_loss)
    with np.errstate(all="ignore"):
        med_val = np.nanmedian(val_curves, axis=1)
        med_train = np.nanmedian(train_curves, axis=1)
    variants = []
    for v, (label, m, n, sched) in enumerate(VARIANTS):
        best = int(np.nanargmin(med_val[v]))
        variants.append(
            Variant(
                label,
                m,
                n,
                sched,
                best + 1,
                float(med_val[v, best]),
                float(med_val[v, -1]),
                float(med_train[v, -1]),
                restored[v],
                int(runs.diverged[v].sum()),
            )
        )

    def paired(a: int, b: int) -> Paired:
        d = restored[a] - restored[b]
        t = gdjax.restarts.mean_interval(d[np.isfinite(d)])
        return Paired(VARIANTS[a][0], VARIANTS[b][0], t.mean, t.low, t.high, t.count)

    # Each momentum against plain SGD, and Nesterov against heavy ball at the same beta.
    pairs = [paired(v, 0) for v in range(1, len(VARIANTS))] + [paired(4, 2)]
    chosen = int(np.nanargmin([np.nanmedian(x.val_loss_restored) for x in variants]))
    params = jax.tree.map(lambda a: a[chosen], runs.params)
    logits = np.asarray(jax.vmap(lambda p: net.logits(p, split.x_test))(params))
    y_test = np.asarray(split.y_test)

    baseline = logistic_baseline(split)
    steps_per_epoch = int(split.x_train.shape[0]) // BATCH_SIZE
    with np.errstate(all="ignore"):
        gap = np.nanmax(np.abs(np.nanmedian(train_curves[2], 0) - np.nanmedian(train_curves[4], 0)))
    p_train = float(np.mean(np.asarray(split.y_train)))
    return HeartResults(
        learning_rate=HEART_LR,
        epochs=epochs,
        restarts=num_restarts,
        batch_size=BATCH_SIZE,
        steps=epochs * steps_per_epoch,
        n_train=int(split.x_train.shape[0]),
        n_val=int(split.x_val.shape[0]),
        n_test=int(split.x_test.shape[0]),
        variants=variants,
        train_curves=np.round(train_curves, 5),
        val_curves=np.round(val_curves, 5),
        heavy_vs_nesterov_max_gap=float(gap),
        paired=pairs,
        chosen=VARIANTS[chosen][0],
        test_accuracy=float(np.median(_accuracy(1 / (1 + np.exp(-logits)), y_test))),
        test_loss=float(np.median(_bce(logits, y_test))),
        majority_accuracy=float(np.mean(y_test == float(p_train > 0.5))),
        logistic=baseline,
        last_mu=float(_SCHEDULE(epochs * steps_per_epoch - 1)),
    )


# ------------------------------------------------------------------------------------ the study


class HeatMap(NamedTuple):
    kappa: int
    alphas: np.ndarray
    betas: np.ndarray
    iterations: np.ndarray  # [beta, alpha]; max_iters + 1 where it did not get there (or diverged)
    max_iters: int
    best_alpha: float
    best_beta: float
    best_iterations: int
    optimal_alpha: float
    optimal_beta: float
    optimal_iterations: int  # measured at the exact optimum (the quadratic table's heavy ball at kappa 100)
    alpha_step: float  # the grid's spacing
    beta_step: float
    best_rate: float  # spectral radius at the fastest cell
    optimal_rate: float  # at the optimum: (sqrt(kappa) - 1)/(sqrt(kappa) + 1)
    optimal_edge_margin: float  # (2(1 + beta*)/l_max - alpha*) / alpha*: how far inside the edge the optimum sits
    converged_share: float
    unstable_converged: int  # cells past the edge alpha > 2(1 + beta)/l_max that converged (the theory: none)


class Results(NamedTuple):
    quadratic: list[dict[str, Any]]
    shrink: float
    dimension: int
    speedup_at_kappa_100: float
    heatmap: HeatMap
    escape: dict[str, Any]
    heart: HeartResults


def compute(ctx: StudyContext) -> Results:
    table = quadratic_table()
    n_grid = ctx.size(32, 64)
    alphas = np.linspace(0.0005, 0.04, n_grid)
    betas = np.linspace(0.0, 0.98, n_grid)
    iters = heat_map(alphas, betas)
    k100 = next(r for r in table if r["kappa"] == HEATMAP_KAPPA)
    opt_alpha, opt_beta = parameters(HEATMAP_KAPPA)["momentum"]
    bi = np.unravel_index(np.argmin(iters), iters.shape)
    a_grid, b_grid = np.meshgrid(alphas, betas)
    past_edge = a_grid > 2 * (1 + b_grid) / HEATMAP_KAPPA
    heat = HeatMap(
        kappa=HEATMAP_KAPPA,
        alphas=alphas,
        betas=betas,
        iterations=iters,
        max_iters=HEATMAP_MAX_ITERS,
        best_alpha=float(alphas[bi[1]]),
        best_beta=float(betas[bi[0]]),
        best_iterations=int(iters[bi]),
        optimal_alpha=opt_alpha,
        optimal_beta=opt_beta,
        optimal_iterations=int(k100["momentum_iters"]),
        alpha_step=float(alphas[1] - alphas[0]),
        beta_step=float(betas[1] - betas[0]),
        best_rate=spectral_radius(float(alphas[bi[1]]), float(betas[bi[0]])),
        optimal_rate=float(k100["momentum_rate"]),
        optimal_edge_margin=float((2 * (1 + opt_beta) / HEATMAP_KAPPA - opt_alpha) / opt_alpha),
        converged_share=float(np.mean(iters <= HEATMAP_MAX_ITERS)),
        unstable_converged=int(np.sum(past_edge & (iters <= HEATMAP_MAX_ITERS))),
    )
    escape_betas = np.array([0.0, 0.2, 0.4, 0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.95, 0.99])
    esc = escape(ctx, escape_betas, ctx.size(64, 512), ctx.size(1500, 3000))
    return Results(
        quadratic=table,
        shrink=SHRINK,
        dimension=DIM,
        speedup_at_kappa_100=k100["gd_iters"] / k100["momentum_iters"],
        heatmap=heat,
        escape=esc,
        heart=heart(ctx, ctx.size(40, 100), ctx.size(4, 12)),
    )


# ------------------------------------------------------------------------------------ figures


def figures(r: Results, out: FigureWriter) -> None:
    from gdjax import plot

    table = r.quadratic
    k100 = next(x for x in table if x["kappa"] == HEATMAP_KAPPA)
    fig, axes = plot.figure(1, 2, width=5.0, height=3.8)
    ax = axes[0, 0]
    steps = 800
    names = (("gd", "gradient descent"), ("momentum", "heavy ball"), ("nesterov", "Nesterov"))
    with jax.enable_x64(True):
        for i, (name, label) in enumerate(names):
            a, b = parameters(100)[name]
            curve = np.asarray(shrink_curve(100.0, a, b, nesterov=name == "nesterov", steps=steps))
            ax.semilogy(curve, color=plot.COLORS[i], label=label)
    t = np.arange(steps + 1)
    ax.semilogy(t, k100["gd_rate"] ** t, "--", color=plot.COLORS[0], lw=0.8, label=r"$((\kappa-1)/(\kappa+1))^t$")
    ax.semilogy(
        t,
        k100["momentum_rate"] ** t,
        "--",
        color=plot.COLORS[1],
        lw=0.8,
        label=r"$((\sqrt{\kappa}-1)/(\sqrt{\kappa}+1))^t$",
    )
    ax.axhline(r.shrink, color="black", lw=0.6, ls=":")
    ax.set(
        ylim=(1e-9, 3),
        xlabel="iteration t",
        ylabel=r"$\|w_t - w^*\| / \|w_0 - w^*\|$",
        title=r"quadratic, $\kappa$ = 100",
    )
    ax.legend(fontsize=7)
    ax = axes[0, 1]
    ks = [x["kappa"] for x in table]
    for i, (key, label) in enumerate(names):
        ax.loglog(ks, [x[f"{key}_iters"] for x in table], "o-", color=plot.COLORS[i], label=f"{label} (measured)")
    ax.loglog(ks, [x["gd_theory_iters"] for x in table], "x--", color=plot.COLORS[0], label="GD theory")
    ax.loglog(ks, [x["momentum_theory_iters"] for x in table], "x--", color=plot.COLORS[1], label="heavy-ball theory")
    ax.set(xlabel=r"condition number $\kappa$", ylabel="iterations to shrink the error by 1e-6")
    ax.set_title(r"GD grows like $\kappa$, momentum like $\sqrt{\kappa}$")
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3, which="both")
    out.save_figure(
        fig,
        "quadratic.png",
        "Left: distance to the minimiser on a quadratic with condition number 100 (solid) against the theoretical "
        "rates (dashed). Right: iterations to shrink it by 1e-6 against the condition number.",
    )

    h = r.heatmap
    fig, axes = plot.figure(1, 1, width=6.4, height=4.8)
    ax = axes[0, 0]
    iters = np.asarray(h.iterations, float)
    shown = np.where(iters <= h.max_iters, iters, np.nan)
    mesh = ax.pcolormesh(h.alphas, h.betas, shown, norm=LogNorm(), cmap="viridis_r", shading="nearest")
    ax.set_facecolor("0.88")
    bar = fig.colorbar(mesh, ax=ax)
    bar.set_label(f"iterations to shrink the error by 1e-6 (grey: not within {h.max_iters})")
    edge_b = np.linspace(0, 1, 200)
    ax.plot(
        2 * (1 + edge_b) / h.kappa,
        edge_b,
        color="tab:red",
        lw=2.0,
        ls="--",
        label=r"stability edge $\alpha = 2(1+\beta)/l_{max}$: diverges to its right",
    )
    ax.plot(
        h.optimal_alpha,
        h.optimal_beta,
        "*",
        color="red",
        ms=15,
        mec="white",
        label=f"theory's optimum ({h.optimal_iterations} iterations)",
    )
    ax.plot(
        h.best_alpha,
        h.best_beta,
        "o",
        color="white",
        mec="black",
        ms=8,
        label=f"fastest grid cell ({h.best_iterations} iterations)",
    )
    ax.set(
        xlabel=r"step size $\alpha$",
        ylabel=r"momentum $\beta$",
        xlim=(0, h.alphas[-1] * 1.02),
        ylim=(h.betas[0], h.betas[-1]),
    )
    ax.set_title(rf"heavy ball on a quadratic, $\kappa$ = {h.kappa} (one vmapped sweep)")
    fig.legend(*ax.get_legend_handles_labels(), loc="outside lower center", ncol=2, fontsize=7, frameon=False)
    out.save_figure(
        fig,
        "heatmap.png",
        "Iterations over a grid of step size and momentum for heavy ball at condition number 100: the dashed red "
        "line is the stability edge (every cell to its right diverges, grey), the star the theory's optimum, the "
        "white dot the fastest grid cell.",
    )

    esc = r.escape
    fig, axes = plot.figure(1, 2, width=4.6, height=3.5)
    ax = axes[0, 0]
    titles = {
        "course_quartic": "w^4 - 3w^3 + 2, starts in [-1.5, -0.05]",
        "styblinski_tang": "Styblinski-Tang, starts in [0.5, 4.5]^2",
    }
    for i, (name, e) in enumerate(esc.items()):
        err = np.clip([np.subtract(e["share"], e["low"]), np.subtract(e["high"], e["share"])], 0, None)
        ax.errorbar(e["betas"], e["share"], yerr=err, fmt="o-", color=plot.COLORS[i], capsize=2, label=titles[name])
    ax.set(
        xlabel=rf"momentum $\beta$ (step size {ESCAPE_LR:g})",
        ylabel="share reaching the global minimum",
        ylim=(-0.03, 1.03),
        title="escaping with momentum",
    )
    ax.legend(fontsize=7, loc="upper left")
    ax.grid(alpha=0.3)
    ax = axes[0, 1]
    f = FUNCTIONS["course_quartic"]
    x0 = jnp.asarray([-1.0])
    for i, beta in enumerate((0.0, 0.5, 0.9)):
        path = gdjax.minimize(f.fn, x0, _escape_optimizer, hyperparams={"beta": beta}, max_steps=600, tol=0.0)
        ax.plot(np.asarray(path.trajectory)[:, 0], color=plot.COLORS[i + 2], label=rf"$\beta$ = {beta}")
    ax.axhline(0, color="black", lw=0.6, ls=":", label="plateau w = 0")
    ax.axhline(9 / 4, color="red", lw=0.6, ls="--", label="minimum w = 9/4")
    ax.set(xlabel="step", ylabel="w", title="w^4 - 3w^3 + 2 from w = -1")
    ax.legend(fontsize=7)
    out.save_figure(
        fig,
        "escape.png",
        "Left: share of starts outside the global basin that reach the global minimum, against the momentum (95% "
        "intervals). Right: gradient descent stalls on the plateau at w = 0; momentum carries through it.",
    )

    hr = r.heart
    fig, axes = plot.figure(2, 2, width=4.8, height=3.3, sharex=True)
    x = np.arange(1, hr.epochs + 1)
    rows = ((0, 1, 2, 3), (2, 4, 5))  # the momentum values; then beta = 0.9 heavy ball, Nesterov, the schedule
    styles = {2: "-", 4: "--", 5: "-."}
    for row, members in enumerate(rows):
        for v in members:
            label = VARIANTS[v][0]
            for col, curves in enumerate((hr.train_curves, hr.val_curves)):
                ax = axes[row, col]
                plot.median_band(ax, x, np.asarray(curves[v], float), color=plot.COLORS[v], label=label)
                line = ax.get_lines()[-1]
                line.set_linestyle(styles.get(v, "-") if row == 1 else "-")
                line.set_linewidth(2.4 if (row == 1 and v == 2) else 1.5)
                if col == 1:
                    best = hr.variants[v].best_epoch
                    ax.plot(best, hr.variants[v].min_val_loss, "v", color=plot.COLORS[v], mec="black", ms=6)
        axes[row, 0].set(ylabel="training loss (per epoch)", yscale="log")
        axes[row, 1].set(ylabel="validation loss")
        axes[row, 0].legend(fontsize=7, loc="lower left")
    axes[0, 0].set_title(f"training, SGD lr {hr.learning_rate}, batch {hr.batch_size}")
    axes[0, 1].set_title(f"validation ({hr.n_val} rows); triangles: the lowest median")
    for ax in axes.flat:
        ax.grid(alpha=0.3)
    for ax in axes[1]:
        ax.set_xlabel("epoch")
    out.save_figure(
        fig,
        "heart_momentum.png",
        f"Momentum on the heart network: median and 10-90% band over {hr.restarts} restarts (same initialisations "
        "for every run). Top: beta = 0, 0.5, 0.9, 0.99; bottom: beta = 0.9 heavy ball (thick solid), Nesterov at "
        "0.9 (dashed, on top of it) and the increasing schedule of Sutskever et al. (2013).",
    )


# ------------------------------------------------------------------------------------ text


def claims(r: Results) -> dict[str, str]:
    """Every headline sentence, each computed from the results (the quick test checks each against them)."""
    out = {}
    table = {x["kappa"]: x for x in r.quadratic}
    k = table[HEATMAP_KAPPA]
    exact = all(x["gd_iters"] == x["gd_theory_iters"] for x in r.quadratic)
    out["speedup"] = (
        f"At kappa = {HEATMAP_KAPPA} heavy ball needs {k['momentum_iters']} iterations against gradient descent's "
        f"{k['gd_iters']} ({r.speedup_at_kappa_100:.1f}x fewer). Gradient descent "
        + ("matches its theory to the iteration" if exact else "does not match its theory exactly")
        + "; heavy ball takes "
        + ", ".join(f"{x['momentum_iters'] / x['momentum_theory_iters']:.2f}" for x in r.quadratic)
        + " times its theory's count at kappa = "
        + ", ".join(str(x["kappa"]) for x in r.quadratic)
        + ", because at the optimal parameters its iteration matrix has a repeated eigenvalue, which multiplies "
        "r^t by a factor growing like t."
    )
    first, last = r.quadratic[0], r.quadratic[-1]
    gd_growth = last["gd_iters"] / first["gd_iters"]
    hb_growth = last["momentum_iters"] / first["momentum_iters"]
    kappa_growth = last["kappa"] / first["kappa"]
    out["growth"] = (
        f"From kappa = {first['kappa']} to {last['kappa']} gradient descent's count grows {gd_growth:.0f}-fold and "
        f"heavy ball's {hb_growth:.1f}-fold (kappa grows {kappa_growth:.0f}-fold, its square root "
        f"{np.sqrt(kappa_growth):.1f}-fold)."
    )
    h = r.heatmap
    da, db = h.best_alpha - h.optimal_alpha, h.best_beta - h.optimal_beta
    faster = h.best_iterations < h.optimal_iterations
    direction = " and ".join(
        word for word, on in (("above" if db > 0 else "below", db != 0), ("left" if da < 0 else "right", da != 0)) if on
    )
    out["heatmap"] = (
        f"Heat map: the fastest grid cell (alpha = {h.best_alpha:.4f}, beta = {h.best_beta:.3f}) needs "
        f"{h.best_iterations} iterations, the theory's optimum (alpha = {h.optimal_alpha:.4f}, beta = "
        f"{h.optimal_beta:.3f}) {h.optimal_iterations}; the cell lies {da:+.4f} in alpha ({abs(da) / h.alpha_step:.1f} "
        f"grid steps) and {db:+.3f} in beta ({abs(db) / h.beta_step:.1f} grid steps) from it. "
        + (
            f"It is faster although its asymptotic rate is worse (spectral radius {h.best_rate:.4f} against the "
            f"optimum's {h.optimal_rate:.4f}): the optimum minimises the rate per iteration in the limit, and "
            "there both eigen-directions are critically damped, with a repeated eigenvalue that multiplies r^t by "
            "a factor growing like t; a cell slightly off it has distinct eigenvalues, no such factor, and "
            "reaches the finite target 1e-6 sooner. "
            f"The optimum also sits only {h.optimal_edge_margin:.1%} inside the stability edge: the fastest cell "
            f"lies {direction} of it, on the side away from the diverging cells."
            if faster and h.best_rate >= h.optimal_rate
            else f"Its spectral radius is {h.best_rate:.4f} against the optimum's {h.optimal_rate:.4f}."
        )
    )
    out["edge"] = (
        "No cell past the stability edge alpha = 2(1 + beta)/l_max converges, as the theory says."
        if h.unstable_converged == 0
        else f"{h.unstable_converged} cells past the stability edge alpha = 2(1 + beta)/l_max converge."
    )
    cq, st = r.escape["course_quartic"], r.escape["styblinski_tang"]
    out["escape"] = (
        f"w^4 - 3w^3 + 2 has no second minimum: w = 0 is a flat inflection point. From its left, gradient descent "
        f"stalls on it (share reaching 9/4 at beta = 0: {cq['share'][0]:.2f}); with momentum {max(cq['share']):.2f} "
        f"at best (beta = {cq['betas'][int(np.argmax(cq['share']))]}). Styblinski-Tang from the opposite quadrant: "
        f"{st['share'][0]:.2f} at beta = 0, {max(st['share']):.2f} at best (beta = "
        f"{st['betas'][int(np.argmax(st['share']))]})."
    )
    hr = r.heart
    byname = {v.label: v for v in hr.variants}
    plain, high = byname["beta = 0 (plain SGD)"], byname["beta = 0.99"]
    rise = high.final_val_loss - high.min_val_loss
    out["overfit"] = (
        f"beta = 0.99 reaches its lowest median validation loss, {high.min_val_loss:.3f}, at epoch "
        f"{high.best_epoch} of {hr.epochs}; by the last epoch it is {high.final_val_loss:.3f} ("
        + (f"up {rise:.3f}" if rise > 0 else "no higher")
        + f") while its training loss has fallen to {high.final_train_loss:.3f}"
        + (
            ": it overfits the 181 training rows"
            if rise > 0.01 and high.final_train_loss < plain.final_train_loss
            else ""
        )
        + f". Plain SGD's lowest validation loss comes at epoch {plain.best_epoch} ({plain.min_val_loss:.3f}), its "
        f"last is {plain.final_val_loss:.3f}: at step {hr.learning_rate}, momentum beta multiplies the effective "
        f"step by 1/(1 - beta), {1 / (1 - high.momentum):.0f} at beta = {high.momentum}, so it runs through the same "
        "fit that much faster and past it. The parameters kept are each run's best validation epoch (early "
        "stopping restores them)."
    )
    parts = []
    for p in hr.paired:
        if p.pairs < 2:
            parts.append(f"{p.a} vs {p.b}: fewer than two pairs")
            continue
        interval = f"95% interval {p.low:+.3f} to {p.high:+.3f}"
        if p.high < 0:
            parts.append(f"{p.a} vs {p.b}: lower by {-p.mean:.3f} ({interval})")
        elif p.low > 0:
            parts.append(f"{p.a} vs {p.b}: higher by {p.mean:.3f} ({interval})")
        else:
            parts.append(f"{p.a} vs {p.b}: no different ({p.mean:+.3f}, {interval})")
    out["paired"] = (
        f"Best-epoch validation loss, per restart ({hr.restarts} shared initialisations): " + "; ".join(parts) + "."
    )
    out["nesterov"] = (
        f"Heavy ball and Nesterov at beta = 0.9 train almost alike at this step (their median training-loss curves "
        f"differ by at most {hr.heavy_vs_nesterov_max_gap:.4f}): Nesterov's look-ahead changes each step by "
        f"lr x beta x (change of the gradient), tiny at lr {hr.learning_rate}."
    )
    beats = hr.test_accuracy > hr.majority_accuracy
    out["test"] = (
        f"The run with the lowest validation loss, {hr.chosen}, scores on the {hr.n_test} test rows (touched once) "
        f"accuracy {hr.test_accuracy:.3f}, "
        + ("above" if beats else "not above")
        + f" the majority class's {hr.majority_accuracy:.3f}; logistic regression (full-batch gradient descent, rate "
        f"{hr.logistic.rate:g} and {hr.logistic.steps} steps chosen on the validation rows) scores "
        f"{hr.logistic.test_accuracy:.3f} (test loss {hr.test_loss:.3f} against {hr.logistic.test_loss:.3f})."
    )
    return out


def text(r: Results) -> Text:
    c = claims(r)
    hr, h = r.heart, r.heatmap
    cq = r.escape["course_quartic"]
    method = (
        "Quadratics $f(w) = \\frac12(w_1^2 + \\kappa w_2^2)$ (eigenvalues $l_{min} = 1$, $l_{max} = \\kappa$), from "
        "$w_0 = (1, 1)$, in float64, with `gdjax.optim.sgd(alpha, momentum=beta, nesterov=...)`. Counted: iterations "
        "until $\\|w_t - w^*\\|$ has shrunk by 1e-6 (Goh, Distill 2017). Gradient descent at $\\alpha = 2/(l_{min} + "
        "l_{max})$; heavy ball at $\\alpha = (2/(\\sqrt{l_{min}} + \\sqrt{l_{max}}))^2$, $\\beta = ((\\sqrt\\kappa - "
        "1)/(\\sqrt\\kappa + 1))^2$; Nesterov at $\\alpha = 1/l_{max}$, $\\beta = (\\sqrt\\kappa - 1)/(\\sqrt\\kappa + "
        "1)$ (rate $1 - 1/\\sqrt\\kappa$). Theory: $\\lceil \\ln 10^{-6} / \\ln r \\rceil$. The heat map is one `vmap` "
        f"over a {len(h.alphas)}x{len(h.betas)} grid of $(\\alpha, \\beta)$ at $\\kappa = {h.kappa}$, at most "
        f"{h.max_iters} iterations. Escaping: {cq['n_starts']} starts outside the global basin, SGD at step "
        f"{ESCAPE_LR} for {cq['max_steps']} steps, every momentum in one compiled program; success = ending within "
        f"0.05 of the global minimiser. Heart: the 29-16-1 network on the stratified {hr.n_train}/{hr.n_val}/"
        f"{hr.n_test} split, SGD at {hr.learning_rate}, batch {hr.batch_size}, {hr.epochs} epochs, {hr.restarts} "
        "restarts per run from the same initialisations and batches, the six runs one sweep; each run keeps its best "
        "validation epoch's parameters; the test rows are used once, for the run with the lowest validation loss, "
        "beside the majority class and logistic regression (full-batch gradient descent from zero, its rate and "
        "step count chosen on the validation rows). The schedule $\\mu_t = \\min(1 - 2^{-1 - "
        f"\\log_2(\\lfloor t/250 \\rfloor + 1)}}, {MU_MAX})$ reaches {hr.last_mu:.3f} at the last of the "
        f"{hr.steps} steps."
    )
    rows = [
        "| kappa | GD | GD theory | heavy ball | heavy-ball theory | Nesterov | Nesterov theory (1 - 1/sqrt(kappa)) |",
        "|---|---|---|---|---|---|---|",
    ]
    rows += [
        f"| {x['kappa']} | {x['gd_iters']} | {x['gd_theory_iters']} | {x['momentum_iters']} | "
        f"{x['momentum_theory_iters']} | {x['nesterov_iters']} | {x['nesterov_theory_iters']} |"
        for x in r.quadratic
    ]
    heart_rows = [
        "| run | lowest validation loss (epoch) | last validation loss | last training loss | diverged |",
        "|---|---|---|---|---|",
    ]
    heart_rows += [
        f"| {v.label} | {v.min_val_loss:.3f} ({v.best_epoch}) | {v.final_val_loss:.3f} | {v.final_train_loss:.3f} | "
        f"{v.diverged} |"
        for v in hr.variants
    ]
    findings = (
        "Iterations until the distance to the minimiser has shrunk by 1e-6:\n\n"
        + "\n".join(rows)
        + "\n\n"
        + f"- {c['speedup']} {c['growth']}\n"
        + f"- {c['heatmap']} {c['edge']}\n"
        + f"- {c['escape']} Momentum helps only when it is large enough to carry the iterate over the barrier, and "
        "too much can overshoot the global basin too.\n"
        + "- Heart network (medians over restarts):\n\n"
        + "\n".join(heart_rows)
        + f"\n\n{c['overfit']} {c['paired']} {c['nesterov']} {c['test']}"
    )
    failures = [f"heart, {v.label}: {v.diverged} of {hr.restarts} restarts diverged" for v in hr.variants if v.diverged]
    for name, e in r.escape.items():
        for b, d in zip(e["betas"], e["diverged"]):
            if d:
                failures.append(f"escape on {name}: {d} of {e['n_starts']} starts diverged at beta = {b}")
    return Text(method, findings, failures=failures)


QUESTION = (
    "How much faster is momentum on ill-conditioned problems, where in (step size, momentum) does it work, does it "
    "escape plateaus, and what does it do to the heart network?"
)
STUDY = Study(NAME, "Momentum", QUESTION, compute=compute, figures=figures, text=text)

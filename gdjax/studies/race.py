r"""The optimizer race: six optimizers, each tuned on each of five 2-D landscapes, and Adam against AMSGrad.

Protocol. Every optimizer is tuned on every landscape by one learning-rate
sweep: a log grid of :data:`RATES_PER_DECADE` rates per decade from 1e-5 to
1e2, each rate run from the same :func:`num_starts` starting points (drawn in
a small box around the landscape's classic start), all
(landscape x optimizer x rate x start) runs in ONE compiled, vmapped program
(the optimizer is a traced index into :func:`gdjax.optim.switch`, the
landscape one into ``lax.switch``). A run's score is its number of steps to
``f(x) - f* <= TOLERANCE``, checked at every step (exact counts); a rate's
score is the median over the starts (infinite when fewer than half get
there). The tuned rate is the fastest; the *converging range* is the
contiguous stretch of grid rates around it whose median is finite, i.e. how
forgiving the optimizer is. Optimizers are compared at their tuned rates
from the same starts (common random numbers): per-start differences of the
step counts with a Student t interval.

The fifth landscape is the ill-conditioned quadratic turned by 45 degrees, run
from the same starts turned likewise: the same problem in other coordinates.

The Reddi, Kale and Kumar (2018) section runs their synthetic online problem
``f_t(x) = 1010 x`` for ``t mod 101 = 1`` and ``-10 x`` otherwise on
``x in [-1, 1]`` (the optimum is ``x = -1``) with beta1 = 0.9, beta2 = 0.99 and
step ``alpha / sqrt(t)``.
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

import gdjax.optim as optim
from gdjax.functions import FUNCTIONS, TestFunction, grid_values
from gdjax.restarts import mean_interval
from gdjax.studies._study import FigureWriter, Study, StudyContext, Text

NAME = "race"
QUESTION = (
    "SGD, momentum, Nesterov, AdaGrad, RMSProp and Adam, each at its own tuned learning rate: who gets there "
    "first, how forgiving is each about its rate, and does Adam always converge?"
)
TOLERANCE = 1e-4  # reached when f(x) - f* <= TOLERANCE
ESCAPE_NORM = 1e3  # diverged when ||x|| exceeds this (or a value is not finite)
MOMENTUM = 0.9
OPTIMIZERS = ("SGD", "momentum", "Nesterov", "AdaGrad", "RMSProp", "Adam")
#: The two families drawn in separate rows (three paths per panel).
FAMILIES = (("SGD", "momentum", "Nesterov"), ("AdaGrad", "RMSProp", "Adam"))
RATES_PER_DECADE = 8
RATE_EXPONENTS = (-5, 2)  # the grid runs from 10^-5 to 10^2
#: Adam's stability limit of the preconditioned sharpness, (2 + 2 beta1) / (1 - beta1) (Cohen et al. 2022).
ADAM_LIMIT = (2 + 2 * 0.9) / (1 - 0.9)

_C = float(np.sqrt(0.5))
ROTATION = np.array([[_C, -_C], [_C, _C]])  # 45 degrees


def _rotated_ill_conditioned(x):
    # The axis-aligned quadratic evaluated in coordinates turned by 45 degrees: f_rot(x) = f(R^T x).
    u = _C * x[0] + _C * x[1]
    v = -_C * x[0] + _C * x[1]
    return FUNCTIONS["ill_conditioned"].fn(jnp.stack([u, v]))


ROTATED = TestFunction(
    "rotated_ill_conditioned",
    "rotated ill-conditioned quadratic",
    r"$\frac{1}{2}(u^2 + 50v^2)$, $(u, v)$ the coordinates turned by 45 degrees",
    _rotated_ill_conditioned,
    2,
    ((-2.0, 2.0), (-2.0, 2.0)),
    np.zeros((1, 2)),
    0.0,
    note="the same quadratic, condition number 50, with its axes at 45 degrees to the coordinates",
)

LANDSCAPES = ("rosenbrock", "beale", "saddle", "ill_conditioned", "rotated_ill_conditioned")
#: Where the starts are drawn: centre (the classic start) and half-widths of a box.
START_BOXES: dict[str, tuple[tuple[float, float], tuple[float, float]]] = {
    "rosenbrock": ((-1.2, 1.0), (0.1, 0.1)),
    "beale": ((1.0, 1.4), (0.1, 0.1)),
    "saddle": ((1.5, 5.5e-3), (0.3, 4.5e-3)),  # just off the saddle's stable line y = 0, on the y > 0 side
    "ill_conditioned": ((-1.8, 0.8), (0.1, 0.1)),
}


def landscape(name: str) -> TestFunction:
    return ROTATED if name == ROTATED.name else FUNCTIONS[name]


def learning_rates() -> np.ndarray:
    lo, hi = RATE_EXPONENTS
    return 10.0 ** (np.arange(lo * RATES_PER_DECADE, hi * RATES_PER_DECADE + 1) / RATES_PER_DECADE)


def num_starts(quick: bool) -> int:
    return 16 if quick else 32


def draw_starts(key, n: int) -> np.ndarray:
    """Starts ``[landscape, n, 2]``: uniform in each box; the rotated quadratic's are the quadratic's, turned."""
    out = []
    for i, name in enumerate(LANDSCAPES[:4]):
        (cx, cy), (hx, hy) = START_BOXES[name]
        u = np.asarray(jax.random.uniform(jax.random.fold_in(key, i), (n, 2), jnp.float32, -1.0, 1.0))
        out.append(np.stack([cx + hx * u[:, 0], cy + hy * u[:, 1]], axis=1))
    out.append(out[3] @ ROTATION.T)
    return np.asarray(out, np.float32)


def centres() -> np.ndarray:
    points = [START_BOXES[name][0] for name in LANDSCAPES[:4]]
    points.append(tuple(ROTATION @ np.asarray(points[3])))
    return np.asarray(points, np.float32)


def _branches(lr) -> list:
    return [
        optim.sgd(lr),
        optim.sgd(lr, momentum=MOMENTUM),
        optim.sgd(lr, momentum=MOMENTUM, nesterov=True),
        optim.adagrad(lr),
        optim.rmsprop(lr),
        optim.adam(lr),
    ]


def race_optimizer(index, lr) -> optim.GradientTransformation:
    """``OPTIMIZERS[index]`` at rate ``lr``, both may be traced: the optimizer is a sweep axis."""
    return optim.switch(_branches(lr), index)


_FNS = tuple(landscape(name).fn for name in LANDSCAPES)
_MINIMA = np.asarray([landscape(name).minimum for name in LANDSCAPES], np.float32)


def _value_and_grad(fn_index, x):
    return jax.value_and_grad(lambda y: jax.lax.switch(fn_index, _FNS, y))(x)


@functools.lru_cache(maxsize=4)
def _sweep_program(max_steps: int):
    def one(fn_index, opt_index, lr, x0):
        opt = race_optimizer(opt_index, lr)
        minimum = jnp.asarray(_MINIMA)[fn_index]

        def step(carry, t):
            x, state, last_above, broken_at = carry
            value, grad = _value_and_grad(fn_index, x)
            broken = ~jnp.isfinite(value) | ~jnp.all(jnp.isfinite(grad)) | (jnp.linalg.norm(x) > ESCAPE_NORM)
            broken_at = jnp.where((broken_at < 0) & broken, t, broken_at)
            last_above = jnp.where(broken | (value - minimum > TOLERANCE), t, last_above)
            updates, new_state = opt.update(grad, state, x)
            keep = broken_at >= 0  # a diverged run is frozen where it broke
            x = jnp.where(keep, x, optim.apply_updates(x, updates))
            state = jax.tree.map(lambda a, b: jnp.where(keep, a, b), state, new_state)
            return (x, state, last_above, broken_at), None

        init = (x0, opt.init(x0), jnp.int32(-1), jnp.int32(-1))
        (_, _, last_above, broken_at), _ = jax.lax.scan(step, init, jnp.arange(max_steps + 1, dtype=jnp.int32))
        settled = jnp.where((broken_at < 0) & (last_above < max_steps), last_above + 1, -1)
        return settled, broken_at

    return jax.jit(jax.vmap(one))


def sweep_steps(starts: np.ndarray, rates: np.ndarray, max_steps: int) -> tuple[np.ndarray, np.ndarray]:
    """Steps to settle within the tolerance (-1: not within ``max_steps``) and divergence steps (-1: none).

    A run *settles* at step ``T`` when ``f(x_t) - f* <= TOLERANCE`` for every
    ``t`` from ``T`` to ``max_steps`` (checked at every step: the counts are
    exact). Both arrays are ``[landscape, optimizer, rate, start]``, from one
    compiled program.
    """
    n_l, n_s = starts.shape[:2]
    grids = np.meshgrid(
        np.arange(n_l), np.arange(len(OPTIMIZERS)), np.arange(rates.size), np.arange(n_s), indexing="ij"
    )
    f, o, r, s = (a.ravel() for a in grids)
    hit, bad = _sweep_program(max_steps)(
        jnp.asarray(f, jnp.int32),
        jnp.asarray(o, jnp.int32),
        jnp.asarray(rates[r], jnp.float32),
        jnp.asarray(starts[f, s]),
    )
    shape = (n_l, len(OPTIMIZERS), rates.size, n_s)
    return np.asarray(hit).reshape(shape), np.asarray(bad).reshape(shape)


@functools.lru_cache(maxsize=4)
def _path_program(steps: int):
    def one(fn_index, opt_index, lr, x0):
        opt = race_optimizer(opt_index, lr)

        def step(carry, _):
            x, state = carry
            value, grad = _value_and_grad(fn_index, x)
            updates, state = opt.update(grad, state, x)
            return (optim.apply_updates(x, updates), state), (x, value)

        (x, _), (xs, values) = jax.lax.scan(step, (x0, opt.init(x0)), None, length=steps)
        last = jax.lax.switch(fn_index, _FNS, x)
        return jnp.concatenate([xs, x[None]]), jnp.concatenate([values, last[None]])

    return jax.jit(jax.vmap(one))


RELAPSE_RATE = 0.05  # the rate the old race gave Adam on Rosenbrock
RELAPSE_STEPS = 5000


@functools.partial(jax.jit, static_argnums=(1,))
def _adam_run(lr, steps: int):
    """Adam on Rosenbrock: f - f* and the preconditioned sharpness ``lambda_max(diag(eta/(sqrt(v_hat)+eps)) H)``."""
    fn = FUNCTIONS["rosenbrock"].fn
    opt = optim.adam(lr)
    x0 = jnp.asarray(START_BOXES["rosenbrock"][0], jnp.float32)

    def step(carry, _):
        x, state = carry
        value, grad = jax.value_and_grad(fn)(x)
        adam = state[0]  # ScaleByAdamState(count, mu, nu): the preconditioner in force for this step's update
        nu_hat = adam.nu / (1 - 0.999 ** jnp.maximum(adam.count, 1).astype(jnp.float32))
        scale = jnp.sqrt(lr / (jnp.sqrt(nu_hat) + 1e-8))
        sharp = jnp.linalg.eigvalsh(scale[:, None] * jax.hessian(fn)(x) * scale[None, :])[-1]
        updates, state = opt.update(grad, state, x)
        return (optim.apply_updates(x, updates), state), (value, sharp)

    _, (values, sharp) = jax.lax.scan(step, (x0, opt.init(x0)), None, length=steps)
    return values, sharp


class AdamRelapse(NamedTuple):
    """Adam at a constant rate on Rosenbrock leaves the minimum again; its preconditioned sharpness says why."""

    learning_rate: float
    steps: int
    limit: float  # (2 + 2 beta1) / (1 - beta1)
    first_hit: int | None  # first step with f - f* <= TOLERANCE
    lowest_gap: float | None  # the smallest f - f* before the relapse
    relapse_step: int | None  # first step after first_hit with f - f* > TOLERANCE again
    peak_gap: float | None  # the largest f - f* after first_hit
    relapses: int  # separate excursions above the tolerance after first_hit
    limit_crossed_step: int | None  # first step after first_hit with preconditioned sharpness > limit
    sharpness_at_first_hit: float | None
    bin_steps: np.ndarray  # bins of 10 steps: log10 of the largest f - f*, and the largest preconditioned sharpness
    log10_gap_max: np.ndarray
    sharpness_max: np.ndarray


def adam_relapse(lr: float = RELAPSE_RATE, steps: int = RELAPSE_STEPS) -> AdamRelapse:
    values, sharp = (np.asarray(a, np.float64) for a in _adam_run(jnp.float32(lr), steps))
    gap = values - FUNCTIONS["rosenbrock"].minimum
    hits = np.flatnonzero(gap <= TOLERANCE)
    first = int(hits[0]) if hits.size else None
    relapse = cross = peak = lowest = at_hit = None
    count = 0
    if first is not None:
        above = gap[first:] > TOLERANCE
        peak = float(gap[first:].max())
        at_hit = float(sharp[first])
        count = int(np.sum(above[1:] & ~above[:-1]))
        if above.any():
            relapse = int(first + np.argmax(above))
            lowest = float(gap[first:relapse].min())
            crossed = np.flatnonzero(sharp[first:relapse] > ADAM_LIMIT)
            cross = int(first + crossed[0]) if crossed.size else None
    bins = np.arange(0, steps, 10)
    with np.errstate(divide="ignore"):
        log_gap = np.round(np.log10(np.maximum.reduceat(gap, bins)), 2)
    return AdamRelapse(
        lr,
        steps,
        ADAM_LIMIT,
        first,
        lowest,
        relapse,
        peak,
        count,
        cross,
        at_hit,
        bins,
        np.where(np.isfinite(log_gap), log_gap, -np.inf),
        np.round(np.maximum.reduceat(sharp, bins), 2),
    )


# ------------------------------------------------------------------------------------ Reddi et al.

REDDI_PERIOD = 101  # f_t = 1010 x when t mod 101 = 1, else -10 x
REDDI_ALPHA = 0.25
REDDI_BETAS = (0.9, 0.99)


def reddi_gradient(t):
    return jnp.where(t % REDDI_PERIOD == 1, 1010.0, -10.0)


def reddi_optimizers() -> dict[str, optim.GradientTransformation]:
    """Adam (PyTorch's, bias-corrected) and AMSGrad as in the paper's Algorithm 2 (no bias correction)."""

    def rate(count):
        return REDDI_ALPHA / jnp.sqrt(count + 1.0)  # alpha / sqrt(t) at step t = count + 1

    b1, b2 = REDDI_BETAS
    return {
        "Adam": optim.adam(rate, b1, b2),
        "AMSGrad": optim.amsgrad(rate, b1, b2, bias_correction_mu=False, bias_correction_nu=False),
    }


@functools.partial(jax.jit, static_argnums=(0, 1))
def _reddi_run(opt, steps: int):
    x0 = jnp.zeros(1)

    def step(carry, t):
        x, state, regret = carry
        g = reddi_gradient(t)
        regret = regret + g * (x[0] + 1.0)  # f_t(x_t) - f_t(-1)
        updates, state = opt.update(g * jnp.ones(1), state, x)
        x = jnp.clip(optim.apply_updates(x, updates), -1.0, 1.0)  # projection onto [-1, 1]
        return (x, state, regret), (x[0], regret / t)

    _, (xs, average_regret) = jax.lax.scan(step, (x0, opt.init(x0), 0.0), jnp.arange(1, steps + 1))
    return xs, average_regret


class Reddi(NamedTuple):
    steps: int
    alpha: float
    betas: tuple[float, float]
    period: int
    final_x: dict[str, float]  # x_T of each optimizer
    mean_x_last_tenth: dict[str, float]
    final_average_regret: dict[str, float]  # R_T / T
    t: np.ndarray  # log-spaced steps at which the curves are kept
    x: dict[str, np.ndarray]
    average_regret: dict[str, np.ndarray]


def reddi(steps: int) -> Reddi:
    t = np.unique(np.geomspace(1, steps, 300).astype(int))
    final, tail, regret, xs, ars = {}, {}, {}, {}, {}
    for name, opt in reddi_optimizers().items():
        x, ar = (np.asarray(a, np.float64) for a in _reddi_run(opt, steps))
        final[name], tail[name], regret[name] = float(x[-1]), float(x[-steps // 10 :].mean()), float(ar[-1])
        xs[name], ars[name] = np.round(x[t - 1], 4), np.round(ar[t - 1], 4)
    return Reddi(steps, REDDI_ALPHA, REDDI_BETAS, REDDI_PERIOD, final, tail, regret, t, xs, ars)


# ------------------------------------------------------------------------------------ results


class Tuned(NamedTuple):
    """One optimizer on one landscape, at its tuned rate."""

    tuned_learning_rate: float | None  # None when no grid rate gets half the starts there
    median_steps: float | None
    converging_range: tuple[float, float] | None  # contiguous grid rates around the tuned one with a finite median
    range_decades: float
    at_grid_edge: bool  # the converging range touches the grid's end: the optimizer may forgive even more
    converged_share: float  # share of starts reaching the tolerance at the tuned rate
    diverged_rates: int  # grid rates at which some start diverged


class Comparison(NamedTuple):
    """The winner against another optimizer at their tuned rates, start by start (common starts)."""

    other: str
    mean: float  # mean over starts of (other's steps - winner's steps), where both got there
    low: float
    high: float
    pairs: int


class CanonicalRun(NamedTuple):
    """The tuned rate from the box's centre for the whole budget: what the figures draw."""

    path: np.ndarray  # thinned points up to the settling step (or the whole budget), rounded
    path_steps: np.ndarray  # the step of each kept point
    first_hit: int | None  # first step with f - f* <= TOLERANCE
    settled: int | None  # the step from which f - f* stays <= TOLERANCE to the end of the budget
    log10_gap_max: np.ndarray  # per bin of steps: log10 of the largest f - f* (-inf, null in JSON, where it is 0)


class Results(NamedTuple):
    tolerance: float
    max_steps: int
    num_starts: int
    momentum: float
    landscapes: tuple[str, ...]
    optimizers: tuple[str, ...]
    learning_rates: np.ndarray
    rates_per_decade: int
    starts: np.ndarray  # [landscape, start, 2]
    median_steps: np.ndarray  # [landscape, optimizer, rate], inf (-> null) when fewer than half get there
    converged_share: np.ndarray  # [landscape, optimizer, rate]
    diverged_share: np.ndarray  # [landscape, optimizer, rate]
    tuned: dict[str, dict[str, Tuned]]
    steps_at_tuned: dict[str, dict[str, list]]  # per start, None where not reached
    winners: dict[str, str | None]
    comparisons: dict[str, list[Comparison]]
    most_forgiving: dict[str, str | None]
    canonical: dict[str, dict[str, CanonicalRun]]
    gap_bin_edges: np.ndarray
    adam_relapse: AdamRelapse
    reddi: Reddi


def _tuned(median: np.ndarray, share: np.ndarray, diverged: np.ndarray, rates: np.ndarray) -> Tuned:
    finite = np.isfinite(median)
    n_div = int(diverged.any(-1).sum()) if diverged.ndim > 1 else int(diverged.sum())
    if not finite.any():
        return Tuned(None, None, None, 0.0, False, 0.0, n_div)
    best = int(np.lexsort((rates, -share, median))[0])
    lo = hi = best
    while lo > 0 and finite[lo - 1]:
        lo -= 1
    while hi < rates.size - 1 and finite[hi + 1]:
        hi += 1
    return Tuned(
        float(rates[best]),
        float(median[best]),
        (float(rates[lo]), float(rates[hi])),
        float(np.log10(rates[hi] / rates[lo])),
        lo == 0 or hi == rates.size - 1,
        float(share[best]),
        n_div,
    )


def _thin(n: int, full: int = 250, rest: int = 250) -> np.ndarray:
    return np.unique(np.concatenate([np.arange(min(n, full)), np.linspace(0, n - 1, rest).astype(int)]))


def _canonical(path: np.ndarray, values: np.ndarray, minimum: float, edges: np.ndarray) -> CanonicalRun:
    gap = values.astype(np.float64) - minimum
    above = np.flatnonzero(~(gap <= TOLERANCE))
    hits = np.flatnonzero(gap <= TOLERANCE)
    if above.size == 0:
        settled = 0
    elif above[-1] < len(gap) - 1:
        settled = int(above[-1] + 1)
    else:
        settled = None
    end = len(gap) if settled is None else settled + 1
    keep = _thin(end)
    with np.errstate(divide="ignore"):
        binned = np.maximum.reduceat(gap, edges[:-1])
        log_gap = np.round(np.log10(binned), 2)
    return CanonicalRun(
        np.round(path[:end][keep].astype(np.float64), 4),
        keep,
        int(hits[0]) if hits.size else None,
        settled,
        np.where(np.isfinite(log_gap), log_gap, -np.inf),
    )


def compute(ctx: StudyContext) -> Results:
    steps = ctx.size(1500, 5000)
    n = num_starts(ctx.quick)
    rates = learning_rates()
    starts = draw_starts(ctx.key(1), n)
    hit, bad = sweep_steps(starts, rates, steps)
    reached = hit >= 0
    counts = np.where(reached, hit, np.inf).astype(np.float64)
    median = np.median(counts, axis=-1)  # inf when fewer than half reach the tolerance
    share = reached.mean(-1)
    diverged = bad >= 0

    tuned, at_tuned, winners, comparisons, forgiving = {}, {}, {}, {}, {}
    for i, f in enumerate(LANDSCAPES):
        tuned[f] = {o: _tuned(median[i, j], share[i, j], diverged[i, j], rates) for j, o in enumerate(OPTIMIZERS)}
        per_start = {}
        for j, o in enumerate(OPTIMIZERS):
            t = tuned[f][o]
            if t.tuned_learning_rate is None:
                per_start[o] = np.full(n, np.inf)
            else:
                per_start[o] = counts[i, j, int(np.argmin(np.abs(rates - t.tuned_learning_rate)))]
        at_tuned[f] = {o: [None if not np.isfinite(v) else int(v) for v in per_start[o]] for o in OPTIMIZERS}
        scored = {o: t.median_steps for o, t in tuned[f].items() if t.median_steps is not None}
        if scored:
            winner = min(scored, key=lambda o: (scored[o], float(np.mean(np.minimum(per_start[o], 1e9)))))
            winners[f] = winner
            rows = []
            for o in sorted(scored, key=scored.get):
                if o == winner:
                    continue
                both = np.isfinite(per_start[o]) & np.isfinite(per_start[winner])
                interval = mean_interval(per_start[o][both] - per_start[winner][both])
                rows.append(Comparison(o, interval.mean, interval.low, interval.high, int(both.sum())))
            comparisons[f] = rows
            forgiving[f] = max(
                (o for o in scored), key=lambda o: (tuned[f][o].range_decades, -tuned[f][o].median_steps)
            )
        else:
            winners[f], comparisons[f], forgiving[f] = None, [], None

    # The tuned runs from each box's centre, for the whole budget (the figures, and Adam's relapses).
    pairs = [(i, j) for i in range(len(LANDSCAPES)) for j in range(len(OPTIMIZERS))]
    lr_of = [tuned[LANDSCAPES[i]][OPTIMIZERS[j]].tuned_learning_rate or float(rates[0]) for i, j in pairs]
    centre = centres()
    paths, values = _path_program(steps)(
        jnp.asarray([i for i, _ in pairs], jnp.int32),
        jnp.asarray([j for _, j in pairs], jnp.int32),
        jnp.asarray(lr_of, jnp.float32),
        jnp.asarray(centre[[i for i, _ in pairs]]),
    )
    paths, values = np.asarray(paths), np.asarray(values)
    edges = np.unique(np.linspace(0, steps + 1, 301).astype(int))
    canonical = {f: {} for f in LANDSCAPES}
    for k, (i, j) in enumerate(pairs):
        canonical[LANDSCAPES[i]][OPTIMIZERS[j]] = _canonical(paths[k], values[k], float(_MINIMA[i]), edges)

    return Results(
        tolerance=TOLERANCE,
        max_steps=steps,
        num_starts=n,
        momentum=MOMENTUM,
        landscapes=LANDSCAPES,
        optimizers=OPTIMIZERS,
        learning_rates=rates,
        rates_per_decade=RATES_PER_DECADE,
        starts=np.round(starts.astype(np.float64), 5),
        median_steps=median,
        converged_share=share,
        diverged_share=diverged.mean(-1),
        tuned=tuned,
        steps_at_tuned=at_tuned,
        winners=winners,
        comparisons=comparisons,
        most_forgiving=forgiving,
        canonical=canonical,
        gap_bin_edges=edges,
        adam_relapse=adam_relapse(),
        reddi=reddi(ctx.size(50_000, 400_000)),
    )


# ------------------------------------------------------------------------------------ figures

_STYLES = ("-", "--", "-.")
_FLOOR = -13.0


def _light_landscape(ax, function: TestFunction, resolution: int = 120) -> None:
    """Filled contours of log10(f - f* + 1e-3) in light greys (log colour scale), so coloured paths stand out."""
    x, y, values = grid_values(function, resolution)
    shifted = np.log10(np.maximum(values - function.minimum, 0) + 1e-3)
    ax.contourf(x, y, shifted, levels=18, cmap="Greys", alpha=0.55)
    ax.contour(x, y, shifted, levels=18, colors="0.45", linewidths=0.3)
    ax.plot(*function.minimizers.T, "*", color="gold", mec="black", ms=12, zorder=5, label="global minimum")
    ax.set_xlim(*function.domain[0])
    ax.set_ylim(*function.domain[1])
    ax.set_xlabel("x")
    ax.set_ylabel("y")


def _floored(log_gap) -> np.ndarray:
    return np.array([_FLOOR if v is None or v < _FLOOR else v for v in np.asarray(log_gap, dtype=object)], float)


def _gap_axes(ax, tolerance: float, last: int) -> None:
    ax.axhline(np.log10(tolerance), color="black", ls=":", lw=0.8)
    ax.axhline(_FLOOR, color="0.5", lw=1.0)
    ax.text(last, _FLOOR + 0.3, "f - f* = 0 in float32", fontsize=6.5, color="0.3", ha="right", va="bottom")
    ax.set_ylim(_FLOOR - 0.7, 3)
    ax.set_xlabel("step")
    ax.grid(alpha=0.3)


def _title(f: str) -> str:
    return landscape(f).title


def figures(r: Results, out: FigureWriter) -> None:
    from gdjax import plot

    # Paths at the tuned rates, one row per family (three paths a panel).
    fig, axes = plot.figure(2, len(r.landscapes), width=3.6, height=3.5)
    for row, family in enumerate(FAMILIES):
        for col, f in enumerate(r.landscapes):
            ax = axes[row, col]
            _light_landscape(ax, landscape(f))
            for k, o in enumerate(family):
                run = r.canonical[f][o]
                t = r.tuned[f][o]
                color = plot.COLORS[OPTIMIZERS.index(o)]
                if t.tuned_learning_rate is None:
                    ax.plot([], [], _STYLES[k], color=color, label=f"{o}: no rate settles half the starts")
                    continue
                ax.plot(
                    run.path[:, 0],
                    run.path[:, 1],
                    _STYLES[k],
                    color=color,
                    lw=1.6,
                    label=f"{o} (lr {t.tuned_learning_rate:.3g})",
                )
                ax.plot(*run.path[-1], "o", color=color, mec="black", mew=0.6, ms=5, zorder=6)
            ax.plot(*centres()[col], "s", color="white", mec="black", ms=6, zorder=7, label="start")
            ax.set_title(f"{_title(f)}" if row == 0 else "")
            ax.legend(fontsize=6.5, loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=1, frameon=False)
    out.save_figure(
        fig,
        "race_paths.png",
        "Each optimizer at its tuned learning rate from the centre of the start box (white square), until it "
        f"settled within f - f* <= {r.tolerance:g} (dot) or to the end of the {r.max_steps}-step budget; top: SGD "
        "and momentum, bottom: the adaptive methods. Grey levels: log10(f - f* + 0.001), a log colour scale.",
    )

    # Steps against the learning rate: the tuned rate and the converging range.
    fig, axes = plot.figure(2, len(r.landscapes), width=3.4, height=2.9, sharey=True)
    rates = np.asarray(r.learning_rates)
    for row, family in enumerate(FAMILIES):
        for col, f in enumerate(r.landscapes):
            ax = axes[row, col]
            for k, o in enumerate(family):
                j = OPTIMIZERS.index(o)
                med = np.asarray(r.median_steps[col][j], dtype=float)
                med[~np.isfinite(med)] = np.nan
                color = plot.COLORS[j]
                ax.loglog(rates, med, _STYLES[k], color=color, lw=1.4, label=o)
                t = r.tuned[f][o]
                if t.tuned_learning_rate is not None:
                    ax.plot(t.tuned_learning_rate, t.median_steps, "o", color=color, mec="black", ms=5)
            ax.set_title(_title(f) if row == 0 else "", fontsize=9)
            ax.set_xlabel("learning rate")
            ax.grid(alpha=0.3, which="major")
            ax.legend(fontsize=6.5, loc="upper right")
        axes[row, 0].set_ylabel(f"median steps to f - f* <= {r.tolerance:g}")
    out.save_figure(
        fig,
        "race_rates.png",
        f"Median steps over {r.num_starts} starts against the learning rate ({r.rates_per_decade} rates a decade, "
        "all in one compiled sweep); a gap in a curve: fewer than half the starts settled within the tolerance in "
        f"{r.max_steps} steps (or they diverged). Dots: the tuned rates.",
    )

    # f - f* along the canonical runs, for the whole budget.
    fig, axes = plot.figure(2, len(r.landscapes), width=3.4, height=2.8, sharey=True)
    edges = np.asarray(r.gap_bin_edges)
    for row, family in enumerate(FAMILIES):
        for col, f in enumerate(r.landscapes):
            ax = axes[row, col]
            for k, o in enumerate(family):
                log_gap = _floored(r.canonical[f][o].log10_gap_max)
                ax.plot(edges[:-1], log_gap, _STYLES[k], color=plot.COLORS[OPTIMIZERS.index(o)], lw=1.3, label=o)
            _gap_axes(ax, r.tolerance, edges[-1])
            ax.set_title(_title(f) if row == 0 else "", fontsize=9)
            ax.legend(fontsize=6.5, loc="upper right")
        axes[row, 0].set_ylabel("log10 (f - f*), largest per bin")
    out.save_figure(
        fig,
        "race_gap.png",
        "log10 of f - f* along the tuned runs of the paths figure, for the whole budget (the largest value in "
        f"each bin of {int(edges[1] - edges[0])} steps, so spikes show); dotted: the tolerance. The grey floor at "
        f"1e{_FLOOR:g} stands for f - f* = 0 or below it, and a flat tail above it is float32's rounding error of "
        "f at the minimum: float32 cannot resolve f further.",
    )

    a = r.adam_relapse
    fig, axes = plot.figure(2, 1, width=7.0, height=2.4, sharex=True)
    steps = np.asarray(a.bin_steps)
    sharp = np.asarray(a.sharpness_max, float)
    sharp[0] = np.nan  # step 0: no second moment yet (v = 0)
    axes[0, 0].plot(steps, _floored(a.log10_gap_max), color=plot.COLORS[5], lw=1.2, label="Adam, f - f*")
    _gap_axes(axes[0, 0], TOLERANCE, a.steps)
    axes[0, 0].set_ylabel("log10 (f - f*)")
    axes[0, 0].set_title(f"Adam at rate {a.learning_rate:g} on Rosenbrock (largest value per 10 steps)")
    axes[1, 0].semilogy(steps, sharp, color=plot.COLORS[5], lw=1.2, label="preconditioned sharpness")
    axes[1, 0].axhline(
        a.limit, color="black", ls="--", lw=0.9, label=f"stability limit (2+2 beta1)/(1-beta1) = {a.limit:.0f}"
    )
    axes[1, 0].set_ylabel("lambda_max(P H)")
    axes[1, 0].set_ylim(0.3, 300)
    axes[1, 0].set_xlabel("step")
    for ax in axes[:, 0]:
        if a.relapse_step is not None:
            ax.axvline(a.relapse_step, color="tab:red", lw=0.8, ls=":", label=f"first relapse, step {a.relapse_step}")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, loc="upper left")
    out.save_figure(
        fig,
        "adam_relapse.png",
        "Why Adam leaves the minimum: top, f - f* (grey floor: 0 in float32); bottom, the largest eigenvalue of "
        "the preconditioned Hessian diag(eta/(sqrt(v_hat)+eps)) H, against Adam's stability limit 38.",
    )

    # Reddi et al.
    red = r.reddi
    fig, axes = plot.figure(1, 2, width=4.6, height=3.3)
    t = np.asarray(red.t)
    for k, name in enumerate(red.x):
        color = plot.COLORS[5] if name == "Adam" else plot.COLORS[6]
        axes[0, 0].semilogx(t, red.x[name], _STYLES[k], color=color, lw=1.5, label=name)
        axes[0, 1].semilogx(t, red.average_regret[name], _STYLES[k], color=color, lw=1.5, label=name)
    axes[0, 0].axhline(-1, color="black", ls=":", lw=0.8, label="optimum x = -1")
    axes[0, 0].set(xlabel="step t", ylabel="x_t", ylim=(-1.08, 1.08), title="the iterate")
    axes[0, 1].axhline(0, color="black", ls=":", lw=0.8)
    axes[0, 1].set_yscale("symlog", linthresh=0.01)
    axes[0, 1].set(xlabel="step t", ylabel="average regret R_t / t (symlog)", title="average regret")
    for ax in axes[0]:
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, loc="center left")
    out.save_figure(
        fig,
        "reddi.png",
        f"Reddi, Kale and Kumar's online problem: f_t(x) = 1010x when t mod {red.period} = 1, else -10x, on "
        f"[-1, 1]; beta1 = {red.betas[0]}, beta2 = {red.betas[1]}, step {red.alpha}/sqrt(t). Adam's iterate "
        "goes to the worst point, AMSGrad's towards the optimum.",
    )


# ------------------------------------------------------------------------------------ text


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")


def _steps(value: float | None) -> str:
    return "none" if value is None else f"{value:g}"


def claims(r: Results) -> dict[str, str]:
    """Every headline sentence, each computed from the results (the quick test checks each against them)."""
    out = {}
    for f in r.landscapes:
        w = r.winners[f]
        if w is None:
            out[f"winner_{f}"] = f"{_title(f)}: no optimizer settles from half its starts at any grid rate."
            continue
        t = r.tuned[f][w]
        sentence = (
            f"{_title(f)}: **{w}** is fastest at its tuned rate {t.tuned_learning_rate:.3g} "
            f"(median {t.median_steps:g} steps)"
        )
        rows = r.comparisons[f]
        if not rows:
            sentence += "; no other optimizer settles from half its starts"
        else:
            c = rows[0]
            if c.pairs >= 2 and c.low > 0:
                sentence += (
                    f"; the runner-up {c.other} needs {c.mean:.1f} more steps per start "
                    f"(95% interval {c.low:.1f} to {c.high:.1f}, {c.pairs} common starts)"
                )
            elif c.pairs >= 2 and c.high < 0:
                sentence += (
                    f"; yet start by start the runner-up {c.other} is faster, by {-c.mean:.1f} steps on average (95% "
                    f"interval {c.low:+.1f} to {c.high:+.1f}, {c.pairs} common starts): the medians and the paired "
                    "means disagree, so neither wins outright"
                )
            elif c.pairs >= 2:
                sentence += (
                    f"; the runner-up {c.other} cannot be told apart from it (per-start difference {c.mean:+.1f} "
                    f"steps, 95% interval {c.low:+.1f} to {c.high:+.1f}, {c.pairs} common starts)"
                )
            else:
                sentence += f"; the runner-up {c.other} shares fewer than two settled starts with it"
        out[f"winner_{f}"] = sentence + "."
        g = r.most_forgiving[f]
        tg = r.tuned[f][g]
        lo, hi = tg.converging_range
        edge = " (to the grid's edge)" if tg.at_grid_edge else ""
        out[f"forgiving_{f}"] = (
            f"{_title(f)}: the most forgiving is {g}, settling at every grid rate from {lo:.3g} to {hi:.3g}{edge}, "
            f"{tg.range_decades:.2f} decades."
        )
    # Rotation: the same quadratic in turned coordinates.
    plain, turned = r.tuned["ill_conditioned"], r.tuned["rotated_ill_conditioned"]
    same = [
        o for o in OPTIMIZERS if plain[o].median_steps is not None and plain[o].median_steps == turned[o].median_steps
    ]
    changed = [
        f"{o} {_steps(plain[o].median_steps)} -> {_steps(turned[o].median_steps)}" for o in OPTIMIZERS if o not in same
    ]
    out["rotation"] = (
        "Turning the quadratic by 45 degrees leaves the median steps of "
        + (", ".join(same) if same else "no optimizer")
        + " unchanged"
        + ("; it changes " + ", ".join(changed) + " (median steps, axis-aligned -> turned)" if changed else "")
        + "."
    )
    a = r.adam_relapse
    if a.relapse_step is None:
        out["adam_relapse"] = (
            f"Adam at the old race's rate {a.learning_rate:g} on Rosenbrock "
            + ("never reached" if a.first_hit is None else f"reached the tolerance at step {a.first_hit} and stayed")
            + f" within {a.steps} steps."
        )
    else:
        sentence = (
            f"Adam at a constant rate does not stay at the minimum: at the old race's rate {a.learning_rate:g} on "
            f"Rosenbrock it reached the tolerance at step {a.first_hit}, came down to f - f* = {a.lowest_gap:.1e}, "
            f"and left the tolerance again at step {a.relapse_step} (f - f* up to {a.peak_gap:.2g}; "
            f"{_count(a.relapses, 'such excursion')} in {a.steps} steps)"
        )
        if a.limit_crossed_step is not None:
            sentence += (
                f". Its preconditioned sharpness lambda_max(diag(eta/(sqrt(v)+eps)) H), {a.sharpness_at_first_hit:.3g} "
                f"when it arrived, grew past Adam's stability limit (2 + 2 beta1)/(1 - beta1) = {a.limit:.0f} at step "
                f"{a.limit_crossed_step}, before the relapse: near the minimum the gradients shrink, so does the "
                "second-moment average v, and the effective step eta/(sqrt(v)+eps) grows until the iterate is "
                "unstable along the valley's steep direction (Cohen et al. 2022, 'Adaptive gradient methods at the "
                "edge of stability'); the oscillation grows until the large gradients refill v, and it settles again"
            )
        out["adam_relapse"] = sentence + "."
    relapsing = [
        f"{o} on {_title(f)}"
        for f in r.landscapes
        for o in r.optimizers
        if r.tuned[f][o].tuned_learning_rate is not None and r.canonical[f][o].settled is None
    ]
    out["canonical"] = (
        "Every tuned run from the centre of its start box settles within the budget."
        if not relapsing
        else "From the centre of its start box, the tuned run of " + ", ".join(relapsing) + " does not settle within "
        "the budget (the tuning scores the median start, not this one)."
    )
    red = r.reddi
    xa, xm = red.final_x["Adam"], red.final_x["AMSGrad"]
    out["reddi"] = (
        f"After {red.steps} steps Adam's iterate is at x = {xa:.3f} and AMSGrad's at x = {xm:.3f} "
        f"(average regret {red.final_average_regret['Adam']:.3f} against {red.final_average_regret['AMSGrad']:.3f}). "
        + (
            "Adam drifts to the worst point of [-1, 1] and AMSGrad towards the optimum, as the paper shows."
            if xa > 0.9 and xm < -0.9
            else "The paper's outcome (Adam at +1, AMSGrad at -1) is not reproduced here."
        )
    )
    return out


def _expected(r: Results) -> list[str]:
    rates = np.asarray(r.learning_rates)
    out = []
    for i, f in enumerate(r.landscapes):
        parts = []
        for j, o in enumerate(r.optimizers):
            diverging = np.flatnonzero(np.asarray(r.diverged_share[i][j], float) > 0)
            if diverging.size:
                parts.append(f"{o} from rate {rates[diverging[0]]:.3g}")
        if parts:
            out.append(
                f"on {_title(f)} some starts diverge at the grid's large rates ({'; '.join(parts)}): "
                "the sweep looks for each optimizer's edge on purpose"
            )
    return out


def text(r: Results) -> Text:
    c = claims(r)
    rates = np.asarray(r.learning_rates)
    method = (
        f"Six optimizers (SGD; heavy-ball momentum and Nesterov at beta = {r.momentum}; AdaGrad, RMSProp and Adam "
        "with their usual defaults otherwise) on Rosenbrock, Beale, a saddle ($x^2 + y^4/4 - y^2/2$, minima at "
        "$(0, \\pm 1)$), an ill-conditioned quadratic ($\\frac12(x^2 + 50y^2)$) and the same quadratic turned by "
        f"45 degrees (starts turned likewise). Each optimizer is tuned on each landscape by one sweep over "
        f"{rates.size} learning rates ({r.rates_per_decade} a decade, {rates[0]:.0e} to {rates[-1]:.0e}) from "
        f"{r.num_starts} starts drawn in a small box around the classic start, every run of every landscape and "
        "optimizer in one compiled vmapped program (the optimizer is a traced index of `gdjax.optim.switch`). "
        f"Counted: the step from which $f(x) - f^* \\le {r.tolerance:g}$ holds to the end of the {r.max_steps}-step "
        "budget (checked at every step, so a run that only passes through the tolerance does not count); a "
        "rate's score is the median over the starts (none when fewer than half settle); the tuned rate is the "
        "fastest and the converging range the contiguous grid rates around it with a score. The optimizers are "
        "compared at their tuned rates start by start (the same starts: common random numbers), with a 95% "
        "Student t interval of the per-start difference. Reddi et al.'s problem: $f_t(x) = 1010x$ for "
        f"$t \\bmod {r.reddi.period} = 1$, $-10x$ otherwise, $x \\in [-1, 1]$ (projected), from $x = 0$, "
        f"beta1 = {r.reddi.betas[0]}, beta2 = {r.reddi.betas[1]}, step $\\alpha_t = {r.reddi.alpha}/\\sqrt t$; Adam is "
        "PyTorch's (bias-corrected), AMSGrad the paper's Algorithm 2 (`gdjax.optim.amsgrad` without bias "
        "corrections)."
    )
    rows = ["| optimizer | " + " | ".join(_title(f) for f in r.landscapes) + " |", "|---|" + "---|" * len(r.landscapes)]
    for o in r.optimizers:
        cells = []
        for f in r.landscapes:
            t = r.tuned[f][o]
            if t.tuned_learning_rate is None:
                cells.append("none")
            else:
                lo, hi = t.converging_range
                cells.append(f"{t.median_steps:g} (lr {t.tuned_learning_rate:.3g}; {lo:.2g}-{hi:.2g})")
        rows.append(f"| {o} | " + " | ".join(cells) + " |")
    findings = (
        f"Median steps to settle within $f - f^* \\le {r.tolerance:g}$ at the tuned rate (the tuned rate; the "
        "converging range; none: no grid rate settles half the starts):\n\n"
        + "\n".join(rows)
        + "\n\n"
        + "\n".join(f"- {c[f'winner_{f}']}" for f in r.landscapes)
        + "\n"
        + "\n".join(f"- {c[f'forgiving_{f}']}" for f in r.landscapes if f"forgiving_{f}" in c)
        + f"\n- {c['rotation']} SGD, momentum and Nesterov only ever add gradients, which turn with the "
        "coordinates; AdaGrad, RMSProp and Adam divide each coordinate by its own gradient history, which "
        "favours problems whose steep directions are the coordinate axes.\n"
        f"- {c['canonical']}\n"
        f"- {c['adam_relapse']}\n\n"
        f"**Adam does not converge; AMSGrad does.** {c['reddi']} Adam's second-moment average has a memory of "
        "about 1/(1 - beta2) = 100 steps, so it has mostly forgotten the rare gradient 1010 by the time the next "
        "one comes: the large gradient's step is capped at about one step size, while the hundred gradients -10 "
        "in between, divided by a shrinking average, add up to more, and x drifts to the right. AMSGrad divides "
        "by the largest second-moment average seen, so the small gradients' steps stay small and the large one "
        "wins."
    )
    return Text(method, findings, expected=_expected(r))


STUDY = Study(NAME, "Optimizer race", QUESTION, compute=compute, figures=figures, text=text)

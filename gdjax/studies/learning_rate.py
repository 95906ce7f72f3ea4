r"""Learning rate: the regimes the theory of g predicts, a rate sweep and schedules on the heart network,
the edge of stability, and the course's insurance table.

- **g.** Gradient descent ``w <- w - a g'(w)`` on the course's
  ``g(w) = (w^4 + w^2 + 10 w)/50``. Near its minimum ``w*`` the error obeys
  ``e_{t+1} ~ (1 - a g''(w*)) e_t``: the rate ``1/g''(w*)`` (Newton's step) is
  the fastest, rates between ``1/g''`` and ``2/g''`` overshoot and converge
  while oscillating, and above ``2/g''`` the minimum repels. The four regimes
  are rates chosen from that theory, run from :data:`W0`.
- **Heart network.** The 29-16-1 network with plain SGD on the stratified
  181/61/61 split: every (schedule, base rate, restart) in one vmapped sweep,
  from the same initialisations and mini-batch order (common random numbers).
  Rates and schedules are chosen on the validation rows; the test rows give
  the one reported number, beside the majority class and logistic regression.
- **Edge of stability** (Cohen et al., ICLR 2021). Full-batch gradient descent
  on the square loss of the logits: the sharpness (top Hessian eigenvalue)
  rises until it hovers at ``2/eta`` while the loss keeps falling, not
  monotonically.
- **Insurance table.** The course's logistic regression from ``w1 = w2 = 1,
  b = 0``: raw ages (19-65) against standardised inputs.
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax.flatten_util import ravel_pytree

import gdjax
from gdjax import losses
from gdjax.diagnostics import sharpness
from gdjax.optim import (
    cosine_decay_schedule,
    inverse_time_decay,
    linear_warmup,
    natural_exp_decay,
    per_epoch,
    sgd,
    step_decay_schedule,
)
from gdjax.restarts import mean_interval
from gdjax.studies._baselines import LogisticBaseline, logistic_baseline
from gdjax.studies._study import FigureWriter, Study, StudyContext, Text
from gdjax.train import STATUS_NAMES

NAME = "learning_rate"
QUESTION = (
    "Which learning rates are too small, right, oscillating or too big, and why; do schedules beat a tuned "
    "constant rate; where does full-batch gradient descent settle; and why does a feature's scale set the "
    "usable rate?"
)

# ------------------------------------------------------------------------------------------- g

W0 = -2.0  # on the steep left wall of g: the first steps are where the quartic is most curved
G_STEPS = 100
#: The four regimes as multiples of Newton's step 1/g''(w*).
REGIMES = (("too small", 0.02), ("good", 1.0), ("oscillating", 1.6), ("too big", 2.8))
ESCAPE = 1e3  # diverged when |w| > ESCAPE


def g(w):
    """The course's ``g(w) = (w^4 + w^2 + 10 w) / 50``; one minimum, at ``w* ~ -1.2348``."""
    return (w**4 + w**2 + 10 * w) / 50


def g_minimum() -> float:
    roots = np.roots([4.0, 0.0, 2.0, 10.0])  # g'(w) = (4 w^3 + 2 w + 10) / 50
    w = float(roots[np.abs(roots.imag) < 1e-9].real[0])
    for _ in range(3):  # Newton polish in float64
        w -= (4 * w**3 + 2 * w + 10) / (12 * w**2 + 2)
    return w


def g_curvature(w: float) -> float:
    return (12 * w**2 + 2) / 50


class Regime(NamedTuple):
    name: str
    rate: float
    multiple: float  # rate * g''(w*)
    steps: int | None  # steps to |g'(w)| <= 1e-6; None where not converged
    converged: bool
    diverged: bool  # |w| > ESCAPE or a non-finite value
    sign_changes: int  # times w - w* changed sign before stopping (oscillation)
    final_w: float | None  # None when diverged
    path: np.ndarray  # w_0 .. w_T


class GResults(NamedTuple):
    start: float
    minimum: float
    curvature: float  # g''(w*)
    newton_rate: float  # 1/g''(w*)
    stability_limit: float  # 2/g''(w*)
    budget: int
    regimes: list[Regime]
    rates: np.ndarray  # the grid
    steps: list  # per grid rate: steps to converge, None where not
    status: list  # "converged", "max_steps" (never settles, stays bounded) or "diverged"
    fastest_rate: float
    fastest_steps: int
    converged_above_limit: int  # grid rates above 2/g'' that converge (the theory: none)
    first_escape: float | None  # the smallest grid rate that escapes to |w| > ESCAPE


def _sgd_of(h):
    return sgd(h["learning_rate"])


def _sign_changes(path: np.ndarray, w_star: float) -> int:
    s = np.sign(path - w_star)
    s = s[s != 0]
    return int(np.sum(s[1:] != s[:-1]))


def compute_g(quick: bool) -> GResults:
    w_star = g_minimum()
    c = g_curvature(w_star)
    regime_rates = np.array([m / c for _, m in REGIMES])
    grid = np.geomspace(0.02, 10.0, 60 if quick else 160)
    rates = np.concatenate([regime_rates, grid])
    result = gdjax.minimize_restarts(
        lambda w: g(w[0]),
        np.array([[W0]], np.float32),
        _sgd_of,
        grid={"learning_rate": rates.astype(np.float32)},
        max_steps=G_STEPS,
        tol=1e-6,
        max_norm=ESCAPE,
        keep_trajectory=True,
        check_every=1,
    )
    status = [STATUS_NAMES[int(s)] for s in np.asarray(result.status)[:, 0]]
    num_steps = np.asarray(result.num_steps)[:, 0]
    final = np.asarray(result.x)[:, 0, 0].astype(np.float64)
    paths = np.asarray(result.trajectory)[:, 0, :, 0].astype(np.float64)
    converged = np.array([s == "converged" for s in status]) & (np.abs(final - w_star) < 1e-3)
    diverged = np.array([s == "diverged" for s in status])
    regimes = []
    for i, (name, multiple) in enumerate(REGIMES):
        n = int(num_steps[i])
        path = paths[i, : n + 1]
        regimes.append(
            Regime(
                name,
                float(rates[i]),
                multiple,
                n if converged[i] else None,
                bool(converged[i]),
                bool(diverged[i]),
                _sign_changes(path[np.abs(path) < ESCAPE], w_star),
                None if diverged[i] else float(final[i]),
                np.round(path, 6),
            )
        )
    k = len(REGIMES)
    g_conv, g_div, g_steps = converged[k:], diverged[k:], num_steps[k:]
    fastest = int(np.argmin(np.where(g_conv, g_steps, np.iinfo(np.int32).max)))
    labels = ["converged" if cv else ("diverged" if dv else "max_steps") for cv, dv in zip(g_conv, g_div)]
    return GResults(
        start=W0,
        minimum=w_star,
        curvature=c,
        newton_rate=1 / c,
        stability_limit=2 / c,
        budget=G_STEPS,
        regimes=regimes,
        rates=grid,
        steps=[int(s) if cv else None for s, cv in zip(g_steps, g_conv)],
        status=labels,
        fastest_rate=float(grid[fastest]),
        fastest_steps=int(g_steps[fastest]),
        converged_above_limit=int(np.sum(g_conv & (grid > 2 / c))),
        first_escape=float(grid[np.argmax(g_div)]) if g_div.any() else None,
    )


# ------------------------------------------------------------------------------ heart network

BATCH_SIZE = 32
#: A run *learnt* when its final training loss is at most (1 - MARGIN) times the constant predictor's.
MARGIN = 0.2
SCHEDULE_NAMES = (
    "constant",
    "halve every E/5 epochs",
    "exponential a0 e^(-kt)",
    "inverse time a0/(1+kt)",
    "cosine",
    "warmup then constant",
)


def schedules(a0, epochs: int, steps_per_epoch: int):
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


@functools.lru_cache(maxsize=4)
def _heart_models():
    net = gdjax.models.mlp((29, 16, 1), hidden="relu", output="sigmoid")

    def net_loss(params, batch):
        return losses.sigmoid_binary_cross_entropy(net.logits(params, batch[0]), batch[1])

    return net, net_loss


def _constant_loss(p: float, y: np.ndarray) -> float:
    """Cross-entropy of predicting probability ``p`` for every row of ``y``."""
    y = np.asarray(y, np.float64)
    return float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))


def _accuracy(probs: np.ndarray, y: np.ndarray) -> np.ndarray:
    return np.mean((probs >= 0.5) == (np.asarray(y)[None] > 0.5), axis=-1)


class Interval(NamedTuple):
    """Mean of per-restart differences (a - b, same initialisations) with its 95% t interval."""

    mean: float
    low: float
    high: float
    pairs: int


def _paired(a: np.ndarray, b: np.ndarray) -> Interval:
    d = np.asarray(a, np.float64) - np.asarray(b, np.float64)
    d = d[np.isfinite(d)]
    t = mean_interval(d)
    return Interval(t.mean, t.low, t.high, t.count)


class ScheduleResult(NamedTuple):
    name: str
    tuned_rate: float  # the base rate with the lowest median validation loss
    val_loss: float  # its median final validation loss
    train_loss: float
    final_rate: float  # the rate at the last step, at the tuned base rate
    stable_rates: tuple[float, float] | None  # contiguous base rates around the tuned one where every restart learnt
    versus_constant: Interval | None  # val loss minus the tuned constant's, per restart (None for the constant)


class HeartResults(NamedTuple):
    n_train: int
    n_val: int
    n_test: int
    epochs: int
    steps: int  # the step budget, the same for every run
    restarts: int
    batch_size: int
    rates: np.ndarray
    margin: float
    constant_train_loss: float  # the constant predictor's (the training base rate) training loss
    learnt_threshold: float  # (1 - margin) * constant_train_loss
    median_train_loss: np.ndarray  # [schedule, rate], median over restarts (NaN where all diverged)
    median_val_loss: np.ndarray
    val_loss: np.ndarray  # [schedule, rate, restart]: final validation loss (NaN where diverged)
    diverged: np.ndarray  # [schedule, rate]: restarts that diverged
    not_learnt: np.ndarray  # [schedule, rate]: finite restarts whose training loss missed the threshold
    schedules: list[ScheduleResult]
    lr_curves: np.ndarray  # [schedule, epoch] at each schedule's tuned base rate
    train_curves: np.ndarray  # [schedule, restart, epoch]
    val_curves: np.ndarray
    chosen: str  # the schedule (and base rate) with the lowest validation loss over the whole sweep
    chosen_rate: float
    test_loss: float  # the chosen configuration on the test rows: median over restarts
    test_accuracy: float
    majority_accuracy: float  # "no disease" for every test row
    constant_test_loss: float  # the training base rate predicted for every test row
    logistic: LogisticBaseline  # logistic regression, its rate and steps chosen on the validation rows


def compute_heart(ctx: StudyContext) -> HeartResults:
    split = gdjax.data.load_heart_stratified_split(ctx.seed)
    train, val = (split.x_train, split.y_train), (split.x_val, split.y_val)
    net, net_loss = _heart_models()
    epochs = ctx.size(20, 100)
    rates = np.geomspace(1e-3, 100.0, ctx.size(11, 21))
    num_restarts = ctx.size(3, 8)
    steps_per_epoch = int(split.x_train.shape[0]) // BATCH_SIZE

    def optimizer(h):
        # The schedule index and the base rate are traced grid values: one program for the whole grid.
        fs = schedules(h["learning_rate"], epochs, steps_per_epoch)
        return sgd(lambda t: jnp.stack([jnp.asarray(f(t), jnp.float32) for f in fs])[h["schedule"]])

    common = dict(epochs=epochs, num_restarts=num_restarts, batch_size=BATCH_SIZE, validation_data=val)
    result = gdjax.sweep(
        net_loss,
        net.init,
        train,
        optimizer=optimizer,
        grid={"schedule": np.arange(len(SCHEDULE_NAMES)), "learning_rate": rates},
        key=ctx.key(1),
        progress=ctx.progress,
        **common,
    )
    p_train = float(np.mean(np.asarray(split.y_train)))
    constant = _constant_loss(p_train, split.y_train)
    threshold = (1 - MARGIN) * constant
    train_loss = np.where(result.diverged, np.nan, result.final_loss)
    val_loss = np.where(result.diverged, np.nan, result.final_val_loss)
    with np.errstate(all="ignore"), _quiet():
        med_train = np.nanmedian(train_loss, -1)
        med_val = np.nanmedian(val_loss, -1)
    diverged = result.diverged.sum(-1)
    not_learnt = (~result.diverged & ~(result.final_loss <= threshold)).sum(-1)
    ok = (diverged == 0) & (not_learnt == 0)

    def best(i):
        return int(np.nanargmin(np.where(np.isfinite(med_val[i]), med_val[i], np.nan)))

    tuned = [best(i) for i in range(len(SCHEDULE_NAMES))]
    rows = []
    for i, name in enumerate(SCHEDULE_NAMES):
        j = tuned[i]
        stable = None
        if ok[i, j]:
            lo = hi = j
            while lo > 0 and ok[i, lo - 1]:
                lo -= 1
            while hi < rates.size - 1 and ok[i, hi + 1]:
                hi += 1
            stable = (float(rates[lo]), float(rates[hi]))
        rows.append(
            ScheduleResult(
                name,
                float(rates[j]),
                float(med_val[i, j]),
                float(med_train[i, j]),
                float(np.asarray(result.history.learning_rate)[i, j, 0, -1]),
                stable,
                None if i == 0 else _paired(val_loss[i, j], val_loss[0, tuned[0]]),
            )
        )
    ci = int(np.argmin([r.val_loss for r in rows]))
    cj = tuned[ci]
    params = jax.tree.map(lambda a: a[ci, cj], result.params)
    probs = np.asarray(jax.vmap(lambda p: net.apply(p, split.x_test))(params))
    logits = np.asarray(jax.vmap(lambda p: net.logits(p, split.x_test))(params))
    test_losses = [float(net_loss_value(z, split.y_test)) for z in logits]

    baseline = logistic_baseline(split)
    y_test = np.asarray(split.y_test)
    return HeartResults(
        n_train=int(split.x_train.shape[0]),
        n_val=int(split.x_val.shape[0]),
        n_test=int(split.x_test.shape[0]),
        epochs=epochs,
        steps=epochs * steps_per_epoch,
        restarts=num_restarts,
        batch_size=BATCH_SIZE,
        rates=rates,
        margin=MARGIN,
        constant_train_loss=constant,
        learnt_threshold=threshold,
        median_train_loss=med_train,
        median_val_loss=med_val,
        val_loss=val_loss,
        diverged=diverged,
        not_learnt=not_learnt,
        schedules=rows,
        lr_curves=np.stack([np.asarray(result.history.learning_rate)[i, tuned[i], 0] for i in range(len(rows))]),
        train_curves=np.stack([np.asarray(result.history.train_loss)[i, tuned[i]] for i in range(len(rows))]),
        val_curves=np.stack([np.asarray(result.history.val_loss)[i, tuned[i]] for i in range(len(rows))]),
        chosen=SCHEDULE_NAMES[ci],
        chosen_rate=float(rates[cj]),
        test_loss=float(np.median(test_losses)),
        test_accuracy=float(np.median(_accuracy(probs, y_test))),
        majority_accuracy=float(np.mean(y_test == float(p_train > 0.5))),
        constant_test_loss=_constant_loss(p_train, y_test),
        logistic=baseline,
    )


def net_loss_value(logits, y) -> float:
    return float(losses.sigmoid_binary_cross_entropy(jnp.asarray(logits), jnp.asarray(y, jnp.float32)))


class _quiet:
    """Silences NumPy's all-NaN warnings (a grid point where every restart diverged)."""

    def __enter__(self):
        import warnings

        self._catch = warnings.catch_warnings()
        self._catch.__enter__()
        warnings.simplefilter("ignore", RuntimeWarning)

    def __exit__(self, *exc):
        self._catch.__exit__(*exc)


# ------------------------------------------------------------------------------ edge of stability

EOS_ETAS = (0.12, 0.14, 0.16)
EOS_EVERY = 10  # sharpness measured every EOS_EVERY steps
EOS_NETWORKS = (("heart network 29-16-1 ReLU", "relu", (29, 16, 1)), ("tanh MLP 29-8-1", "tanh", (29, 8, 1)))


@functools.lru_cache(maxsize=8)
def _eos_program(hidden: str, sizes: tuple[int, ...], steps: int):
    net = gdjax.models.mlp(sizes, hidden=hidden, output="sigmoid")

    def loss(params, batch):
        return losses.mse(net.logits(params, batch[0]), batch[1])  # the square loss on the logits

    def one(eta, params, data, v0):
        def block(carry, _):
            p, v = carry

            def step(p, _):
                value, grad = jax.value_and_grad(loss)(p, data)
                return jax.tree.map(lambda a, b: a - eta * b, p, grad), value

            p, values = jax.lax.scan(step, p, None, length=EOS_EVERY)
            s = sharpness(loss, p, data, init=v, num_iterations=8, tol=None)
            return (p, s.eigenvector), (s.eigenvalue, values)

        start = sharpness(loss, params, data, init=v0, num_iterations=30, tol=None)
        _, (sharp, values) = jax.lax.scan(block, (params, start.eigenvector), None, length=steps // EOS_EVERY)
        return start.eigenvalue, sharp, values.reshape(-1)

    return net, jax.jit(jax.vmap(one, in_axes=(0, None, None, None)))


class EdgeRun(NamedTuple):
    network: str
    eta: float
    limit: float  # 2 / eta
    initial_sharpness: float
    ratio: float  # median sharpness over the last quarter / (2 / eta)
    ratio_low: float  # its 10th and 90th percentiles
    ratio_high: float
    first_at_edge: int | None  # first step with sharpness >= 0.9 * 2/eta
    rising_share: float  # share of last-quarter steps where the loss went up
    loss_half: float  # loss at the half-way step
    loss_final: float
    sharpness: np.ndarray  # every EOS_EVERY steps
    loss: np.ndarray  # every EOS_EVERY steps


class EdgeResults(NamedTuple):
    steps: int
    every: int
    etas: tuple[float, ...]
    runs: list[EdgeRun]


def compute_eos(ctx: StudyContext) -> EdgeResults:
    split = gdjax.data.load_heart_stratified_split(ctx.seed)
    data = (split.x_train, split.y_train)
    steps = ctx.size(4000, 8000)
    runs = []
    networks = EOS_NETWORKS[:1] if ctx.quick else EOS_NETWORKS  # quick: the heart network only (one compile)
    for k, (label, hidden, sizes) in enumerate(networks):
        net, program = _eos_program(hidden, sizes, steps)
        params = net.init(ctx.key(10 + k))
        flat, unravel = ravel_pytree(params)
        v0 = unravel(jax.random.normal(ctx.key(20 + k), flat.shape))
        start, sharp, values = (np.asarray(a, np.float64) for a in program(jnp.asarray(EOS_ETAS), params, data, v0))
        for i, eta in enumerate(EOS_ETAS):
            limit = 2 / eta
            q = sharp[i, -sharp.shape[1] // 4 :] / limit
            at = np.flatnonzero(sharp[i] >= 0.9 * limit)
            last = values[i, -steps // 4 :]
            runs.append(
                EdgeRun(
                    label,
                    eta,
                    limit,
                    float(start[i]),
                    float(np.median(q)),
                    float(np.percentile(q, 10)),
                    float(np.percentile(q, 90)),
                    int((at[0] + 1) * EOS_EVERY) if at.size else None,
                    float(np.mean(np.diff(last) > 0)),
                    float(values[i, steps // 2]),
                    float(values[i, -1]),
                    np.round(sharp[i], 3),
                    values[i, EOS_EVERY - 1 :: EOS_EVERY],
                )
            )
    return EdgeResults(steps, EOS_EVERY, EOS_ETAS, runs)


# ------------------------------------------------------------------------------ insurance table

INSURANCE_RATE = 0.01  # the slides' "normally 0.01"
INSURANCE_STEPS = 1000


def _insurance_loss(params, data):
    x, y = data
    return losses.sigmoid_binary_cross_entropy(x @ params["w"] + params["b"], y)


@functools.partial(jax.jit, static_argnums=(2,))
def _insurance_runs(x, y, steps: int, rates):
    def one(rate):
        params = {"w": jnp.ones(2, x.dtype), "b": jnp.zeros((), x.dtype)}  # the course's start

        def step(p, _):
            value, grad = jax.value_and_grad(_insurance_loss)(p, (x, y))
            return jax.tree.map(lambda a, b: a - rate * b, p, grad), value

        p, values = jax.lax.scan(step, params, None, length=steps)
        return values, p

    return jax.vmap(one)(rates)


class InsuranceInputs(NamedTuple):
    name: str
    curvature_bound: float  # L = lambda_max(X~^T X~ / n) / 4 (the logistic loss's Hessian is at most this)
    rate_bound: float  # 2 / L: every rate below it decreases the loss
    loss_curve: np.ndarray  # at the course's rate 0.01
    rising_share: float  # share of steps at 0.01 where the loss went up
    final_loss: float  # after INSURANCE_STEPS steps at 0.01
    final_band: tuple[float, float]  # the lowest and highest loss over the last 20 steps at 0.01
    final_weights: tuple[float, float, float]  # w1, w2, b
    accuracy: float  # training accuracy after INSURANCE_STEPS steps at 0.01
    sweep_final_loss: np.ndarray  # per rate of the sweep
    sweep_monotone: np.ndarray  # per rate: the loss never rose
    largest_monotone_rate: float


class InsuranceResults(NamedTuple):
    rows: int
    positives: int
    age_range: tuple[float, float]
    rate: float
    steps: int
    start: tuple[float, float, float]
    constant_loss: float  # predicting the base rate 5/11 for everyone
    majority_accuracy: float
    best_loss: float  # the lowest loss any run reached (the optimum of the table, to the sweep's accuracy)
    rates: np.ndarray
    inputs: list[InsuranceInputs]


def compute_insurance() -> InsuranceResults:
    with jax.enable_x64(True):
        table = gdjax.data.load_insurance(dtype=jnp.float64)
        x_raw, y = np.asarray(table.x), np.asarray(table.y)
        scaled = (x_raw - x_raw.mean(0)) / x_raw.std(0)
        rates = np.geomspace(1e-4, 30.0, 45)
        out = []
        for name, x in (("raw ages", x_raw), ("standardised", scaled)):
            xt = np.c_[x, np.ones(len(y))]
            bound = 0.25 * float(np.linalg.eigvalsh(xt.T @ xt / len(y))[-1])
            values, params = _insurance_runs(
                jnp.asarray(x), jnp.asarray(y), INSURANCE_STEPS, jnp.asarray(np.r_[INSURANCE_RATE, rates])
            )
            values = np.asarray(values)
            curve = values[0]
            w, b = np.asarray(params["w"])[0], float(np.asarray(params["b"])[0])
            probs = 1 / (1 + np.exp(-(x @ w + b)))
            monotone = np.all(np.diff(values[1:], axis=1) <= 1e-12, axis=1)
            final = np.where(np.isfinite(values[1:, -1]), values[1:, -1], np.nan)
            out.append(
                InsuranceInputs(
                    name,
                    bound,
                    2 / bound,
                    curve,
                    float(np.mean(np.diff(curve) > 0)),
                    float(curve[-1]),
                    (float(curve[-20:].min()), float(curve[-20:].max())),
                    (float(w[0]), float(w[1]), b),
                    float(np.mean((probs >= 0.5) == (y > 0.5))),
                    final,
                    monotone,
                    float(rates[monotone].max()),
                )
            )
        p = float(y.mean())
        best = float(np.nanmin([np.nanmin(i.sweep_final_loss) for i in out]))
        return InsuranceResults(
            rows=len(y),
            positives=int(y.sum()),
            age_range=(float(x_raw[:, 0].min()), float(x_raw[:, 0].max())),
            rate=INSURANCE_RATE,
            steps=INSURANCE_STEPS,
            start=(1.0, 1.0, 0.0),
            constant_loss=_constant_loss(p, y),
            majority_accuracy=float(max(p, 1 - p)),
            best_loss=best,
            rates=rates,
            inputs=out,
        )


# ------------------------------------------------------------------------------------ the study


class Results(NamedTuple):
    g: GResults
    regimes: list[dict]  # {name, rate, steps, converged, diverged}: the summary of g
    heart: HeartResults
    eos: list[dict]  # per (network, eta): {network, eta, ratio}: median last-quarter sharpness / (2/eta)
    edge: EdgeResults
    insurance: InsuranceResults


def compute(ctx: StudyContext) -> Results:
    gr = compute_g(ctx.quick)
    heart = compute_heart(ctx)
    edge = compute_eos(ctx)
    return Results(
        g=gr,
        regimes=[
            {"name": r.name, "rate": r.rate, "steps": r.steps, "converged": r.converged, "diverged": r.diverged}
            for r in gr.regimes
        ],
        heart=heart,
        eos=[{"network": e.network, "eta": e.eta, "ratio": e.ratio} for e in edge.runs],
        edge=edge,
        insurance=compute_insurance(),
    )


# ------------------------------------------------------------------------------------ figures

_REGIME_COLORS = ("tab:gray", "tab:green", "tab:orange", "tab:red")


def figures(r: Results, out: FigureWriter) -> None:
    from gdjax import plot

    gr = r.g
    fig, axes = plot.figure(1, 2, width=5.6, height=4.0)
    ax = axes[0, 0]
    w = np.linspace(-3.0, 1.5, 300)
    ax.plot(w, g(w), color="black", lw=1.2, label="g(w)")
    for regime, colour in zip(gr.regimes, _REGIME_COLORS):
        path = np.asarray(regime.path, float)
        shown = path[np.abs(path) <= 3.0]
        ax.plot(
            shown,
            g(shown),
            "o-",
            ms=3.5,
            lw=0.8,
            color=colour,
            alpha=0.85,
            label=f"{regime.name}: rate {regime.rate:.3g}",
        )
    ax.plot([gr.minimum], [g(gr.minimum)], "k*", ms=12, label=f"minimum w* = {gr.minimum:.4f}")
    ax.set(
        xlabel="w",
        ylabel="g(w)",
        xlim=(-3.0, 1.5),
        ylim=(-0.45, 1.5),
        title=f"gradient descent on g from w0 = {gr.start}",
    )
    ax.legend(fontsize=7, loc="upper right")
    ax = axes[0, 1]
    for regime, colour in zip(gr.regimes, _REGIME_COLORS):
        path = np.asarray(regime.path, float)
        err = np.abs(path - gr.minimum)
        verdict = (
            f"converged in {regime.steps}" if regime.converged else ("diverged" if regime.diverged else "not converged")
        )
        ax.semilogy(
            np.arange(len(err)), np.maximum(err, 1e-9), "o-", ms=2.5, color=colour, label=f"{regime.name} ({verdict})"
        )
    ax.set(xlabel="step", ylabel="|w - w*| (log scale)", ylim=(1e-9, 1e4), title="distance to the minimum")
    ax.legend(fontsize=7, loc="upper right")
    for a in axes[0]:
        a.grid(alpha=0.3)
    out.save_figure(
        fig,
        "g_regimes.png",
        f"The four regimes on g from w0 = {gr.start}, at rates chosen from g''(w*) = {gr.curvature:.3f}: "
        f"0.02/g'' (too small), 1/g'' (good), 1.6/g'' (oscillating) and 2.8/g'' (too big); points past |w| = 3 "
        "are off the left panel.",
    )

    fig, axes = plot.figure(1, 1, width=7.0, height=3.8)
    ax = axes[0, 0]
    rates = np.asarray(gr.rates)
    steps = np.array([np.nan if s is None else s for s in gr.steps], float)
    status = np.asarray(gr.status)
    ax.semilogx(rates, steps, "o-", ms=3, color="tab:green", label="converged (steps)")
    bounded = status == "max_steps"
    ax.semilogx(
        rates[bounded],
        np.full(bounded.sum(), gr.budget),
        "s",
        ms=3.5,
        color="tab:gray",
        label=f"not converged in {gr.budget} steps, |w| stays below {ESCAPE:g}",
    )
    escaped = status == "diverged"
    ax.semilogx(
        rates[escaped], np.full(escaped.sum(), gr.budget), "x", color="tab:red", label=f"diverged (|w| > {ESCAPE:g})"
    )
    ax.axvline(gr.newton_rate, ls=":", color="tab:green", label=f"1/g''(w*) = {gr.newton_rate:.2f}")
    ax.axvline(gr.stability_limit, ls="--", color="tab:red", label=f"2/g''(w*) = {gr.stability_limit:.2f}")
    ax.set(
        xlabel="learning rate",
        ylabel="steps to |g'(w)| <= 1e-6",
        yscale="log",
        title=f"{rates.size} rates from w0 = {gr.start}, one vmapped program",
    )
    ax.legend(fontsize=7, loc="lower left")
    ax.grid(alpha=0.3, which="both")
    out.save_figure(
        fig,
        "g_steps_vs_rate.png",
        "Steps to converge on g against the rate: fastest near Newton's step 1/g''(w*); no rate above 2/g''(w*) "
        "converges. Just above it the iterate is caught in a bounded cycle around w* (grey squares); larger rates "
        "throw it out (red crosses).",
    )

    h = r.heart
    fig, axes = plot.figure(1, 2, width=5.0, height=3.8)
    names = [s.name for s in h.schedules]
    rates = np.asarray(h.rates)
    for k, (which, values) in enumerate((("training", h.median_train_loss), ("validation", h.median_val_loss))):
        ax = axes[0, k]
        for i in (0, 1, 4, 5):  # five lines at most: constant, step, cosine, warmup (the rest in the summary)
            ax.loglog(rates, np.asarray(values[i], float), "o-", ms=3, lw=1.2, color=plot.COLORS[i], label=names[i])
        ax.axhline(
            h.constant_train_loss,
            ls="--",
            color="0.4",
            lw=0.9,
            label=f"constant predictor ({h.constant_train_loss:.3f})",
        )
        if which == "training":
            ax.axhline(h.learnt_threshold, ls=":", color="0.4", lw=0.9, label=f"learnt: <= {h.learnt_threshold:.3f}")
        ax.set(
            xlabel="base learning rate a0",
            ylabel=f"median {which} loss after {h.epochs} epochs",
            title=f"{which} loss ({h.restarts} restarts each)",
        )
        ax.grid(alpha=0.3, which="both")
        if which == "validation":
            ax.set_ylim(0.2, 5.0)  # the diverging rates' losses run far off the top
    handles, labels = axes[0, 0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncol=3, fontsize=7, frameon=False)
    out.save_figure(
        fig,
        "heart_rate_sweep.png",
        f"The heart network with SGD (batch {h.batch_size}, {h.steps} steps for every run) against the base rate, "
        "for four of the six schedules (all six are in the summary); the validation panel is cut at 5. Same "
        "initialisations and batches at every point.",
    )

    fig, axes = plot.figure(1, 3, width=4.4, height=3.5)
    x = np.arange(1, h.epochs + 1)
    for i, style in zip((0, 1, 4, 5), ("-", "--", "-.", ":")):
        s = h.schedules[i]
        colour = plot.COLORS[i]
        axes[0, 0].plot(x, h.lr_curves[i], style, color=colour, lw=1.8, label=f"{s.name} (a0 {s.tuned_rate:.3g})")
        for ax, curves in ((axes[0, 1], h.train_curves[i]), (axes[0, 2], h.val_curves[i])):
            plot.median_band(ax, x, curves, color=colour, label=s.name)
            ax.get_lines()[-1].set_linestyle(style)
    axes[0, 0].set(xlabel="epoch", ylabel="learning rate (epoch's first step)", title="schedules at their tuned a0")
    axes[0, 1].set(xlabel="epoch", ylabel="mean mini-batch loss", yscale="log", title="training loss")
    axes[0, 2].set(xlabel="epoch", ylabel="validation loss", title="validation loss")
    axes[0, 0].legend(fontsize=7, loc="upper right")
    for ax in axes[0]:
        ax.grid(alpha=0.3)
    out.save_figure(
        fig,
        "schedules.png",
        "Four schedules, each at the base rate tuned on the validation rows: the rate, the training loss and the "
        "validation loss (median and 10-90% band over the restarts).",
    )

    e = r.edge
    labels = list(dict.fromkeys(run.network for run in e.runs))
    fig, axes = plot.figure(len(labels), 2, width=4.8, height=3.0, sharex=True)
    for row, label in enumerate(labels):
        runs = [run for run in e.runs if run.network == label]
        t = np.arange(1, len(runs[0].sharpness) + 1) * e.every
        for k, run in enumerate(runs):
            colour = plot.COLORS[k]
            axes[row, 0].plot(t, run.sharpness, color=colour, lw=1.1, label=f"eta = {run.eta:g}")
            axes[row, 0].axhline(run.limit, color=colour, ls=":", lw=1.0)
            axes[row, 1].semilogy(t, run.loss, color=colour, lw=1.0, label=f"eta = {run.eta:g}")
        axes[row, 0].set(ylabel="sharpness (top Hessian eigenvalue)", title=f"{label}: sharpness; dotted 2/eta")
        axes[row, 1].set(ylabel="training loss (square loss)", title=f"{label}: loss")
        for ax in axes[row]:
            ax.grid(alpha=0.3)
            ax.legend(fontsize=7, loc="lower right" if ax is axes[row, 0] else "upper right")
    for ax in axes[-1]:
        ax.set_xlabel("step")
    out.save_figure(
        fig,
        "edge_of_stability.png",
        f"Full-batch gradient descent on the {r.heart.n_train} training rows: the sharpness (power iteration every "
        f"{e.every} steps) rises until it hovers at 2/eta (dotted), while the loss keeps falling, with spikes.",
    )

    ins = r.insurance
    fig, axes = plot.figure(1, 2, width=4.8, height=3.5)
    steps = np.arange(ins.steps)
    for k, inputs in enumerate(ins.inputs):
        axes[0, 0].semilogy(steps, inputs.loss_curve, color=plot.COLORS[k], lw=1.1, label=inputs.name)
        final = np.asarray(inputs.sweep_final_loss, float)
        axes[0, 1].loglog(np.asarray(ins.rates), final, "o-", ms=3, color=plot.COLORS[k], label=inputs.name)
        axes[0, 1].axvline(
            inputs.rate_bound,
            color=plot.COLORS[k],
            ls=":",
            lw=1.0,
            label=f"2/L, {inputs.name}: {inputs.rate_bound:.3g}",
        )
    for ax in axes[0]:
        ax.axhline(
            ins.constant_loss, color="0.4", ls="--", lw=0.9, label=f"constant predictor ({ins.constant_loss:.3f})"
        )
        ax.grid(alpha=0.3, which="both")
    axes[0, 0].set(
        xlabel="step", ylabel="training loss (log scale)", title=f"learning rate {ins.rate}, from w1 = w2 = 1, b = 0"
    )
    axes[0, 1].axvline(ins.rate, color="black", lw=0.8, label=f"the course's rate {ins.rate}")
    axes[0, 1].set(xlabel="learning rate", ylabel=f"loss after {ins.steps} steps", title="every rate, both inputs")
    axes[0, 0].legend(fontsize=7, loc="upper right")
    axes[0, 1].legend(fontsize=6.5, loc="upper left")
    out.save_figure(
        fig,
        "insurance.png",
        f"The course's insurance table ({ins.rows} rows): logistic regression on raw ages ({ins.age_range[0]:g}-"
        f"{ins.age_range[1]:g}) and on standardised inputs. Left: the loss at rate {ins.rate} (on raw ages it jumps up "
        f"and down on alternate steps: the blue band); right: the loss after "
        f"{ins.steps} steps at every rate, with the bound 2/L below which the loss must fall.",
    )


# ------------------------------------------------------------------------------------ text


def claims(r: Results) -> dict[str, str]:
    """Every headline sentence, each computed from the results (the quick test checks each against them)."""
    out = {}
    gr = r.g
    reg = {x.name: x for x in gr.regimes}
    small, good, osc, big = reg["too small"], reg["good"], reg["oscillating"], reg["too big"]
    out["g_small"] = f"Too small: rate {small.rate:.3g} ({small.multiple:g}/g'') " + (
        f"has not converged after {gr.budget} steps (still at w = {small.final_w:.3f})."
        if not small.converged
        else f"converges in {small.steps} steps."
    )
    if good.converged and osc.converged and osc.steps > good.steps:
        out["g_good_osc"] = (
            f"Good: Newton's step {good.rate:.3g} = 1/g''(w*) converges in {good.steps} steps; oscillating: rate "
            f"{osc.rate:.3g} ({osc.multiple:g}/g'') overshoots the minimum {osc.sign_changes} times and needs "
            f"{osc.steps} steps, converging more slowly."
        )
    else:

        def verdict(x: Regime) -> str:
            return f"converges in {x.steps} steps" if x.converged else "does not converge"

        out["g_good_osc"] = (
            f"Good: rate {good.rate:.3g} {verdict(good)}; oscillating: rate {osc.rate:.3g} {verdict(osc)}."
        )
    out["g_big"] = f"Too big: rate {big.rate:.3g} ({big.multiple:g}/g'' > 2/g'' = {gr.stability_limit:.2f}) " + (
        "diverges." if big.diverged else ("converges." if big.converged else "never converges.")
    )
    out["g_grid"] = (
        f"Over {len(gr.rates)} rates the fastest is {gr.fastest_rate:.3g} ({gr.fastest_steps} steps), "
        f"{gr.fastest_rate / gr.newton_rate:.2f} times Newton's step; "
        + (
            f"no rate above 2/g''(w*) = {gr.stability_limit:.2f} converges"
            if gr.converged_above_limit == 0
            else f"{gr.converged_above_limit} rates above 2/g''(w*) = {gr.stability_limit:.2f} converge"
        )
        + (
            f"; up to {gr.first_escape:.3g} the iterate stays bounded, caught in a cycle around w* by the quartic's "
            f"walls, and from {gr.first_escape:.3g} on it escapes."
            if gr.first_escape is not None
            else "; none escapes."
        )
    )
    h = r.heart
    const = h.schedules[0]
    out["heart_constant"] = (
        f"Constant rate: the validation loss is lowest at rate {const.tuned_rate:.3g} (median {const.val_loss:.3f}, "
        f"training loss {const.train_loss:.3f}; the constant predictor's training loss is {h.constant_train_loss:.3f})."
    )
    stable = {s.name: s.stable_rates for s in h.schedules}
    c_hi = stable["constant"][1] if stable["constant"] else None
    wider = [n for n, v in stable.items() if n != "constant" and v is not None and c_hi is not None and v[1] > c_hi]
    out["heart_stable"] = (
        f"Stable (every restart finite and its training loss at most {h.learnt_threshold:.3f}, {h.margin:.0%} below "
        "the constant predictor's): "
        + "; ".join(
            f"{n} {'from ' + format(v[0], '.3g') + ' to ' + format(v[1], '.3g') if v else 'not at its tuned rate'}"
            for n, v in stable.items()
        )
        + "."
        + (
            f" Schedules stable at larger base rates than the constant's {c_hi:.3g}: {', '.join(wider)}."
            if wider
            else (
                f" No schedule is stable at a larger base rate than the constant's {c_hi:.3g}."
                if c_hi is not None
                else ""
            )
        )
    )
    parts = []
    for s in h.schedules[1:]:
        d = s.versus_constant
        if d.pairs < 2:
            parts.append(f"{s.name}: fewer than two paired restarts")
        elif d.high < 0:
            parts.append(f"{s.name} lower by {-d.mean:.3f} (95% interval {d.low:+.3f} to {d.high:+.3f})")
        elif d.low > 0:
            parts.append(f"{s.name} higher by {d.mean:.3f} (95% interval {d.low:+.3f} to {d.high:+.3f})")
        else:
            parts.append(f"{s.name} no different ({d.mean:+.3f}, 95% interval {d.low:+.3f} to {d.high:+.3f})")
    out["heart_schedules"] = (
        f"Each schedule at its tuned base rate against the tuned constant rate, same {h.steps}-step budget, "
        f"validation loss per restart (schedule minus constant, {h.restarts} paired restarts): "
        + "; ".join(parts)
        + "."
    )
    beats = h.test_accuracy > h.majority_accuracy
    out["heart_test"] = (
        f"The configuration with the lowest validation loss, {h.chosen} at base rate {h.chosen_rate:.3g}, scores on "
        f"the {h.n_test} test rows (touched once): accuracy {h.test_accuracy:.3f}, "
        + ("above" if beats else "not above")
        + f" the majority class's {h.majority_accuracy:.3f}; logistic regression (full-batch gradient descent, rate "
        f"{h.logistic.rate:g} and {h.logistic.steps} steps chosen on the validation rows) scores "
        f"{h.logistic.test_accuracy:.3f}; test loss {h.test_loss:.3f} against {h.logistic.test_loss:.3f} for "
        f"logistic regression and {h.constant_test_loss:.3f} for the constant predictor."
    )
    e = r.edge
    lines = []
    for label in dict.fromkeys(x.network for x in e.runs):
        runs = [x for x in e.runs if x.network == label]
        lines.append(f"{label}: " + ", ".join(f"{x.ratio:.2f} x 2/eta at eta = {x.eta:g}" for x in runs))
    out["eos_ratio"] = "Sharpness settles at (median over the last quarter of training) " + "; ".join(lines) + "."
    falling = sum(x.loss_final < x.loss_half for x in e.runs)
    monotone = sum(x.rising_share == 0 for x in e.runs)
    out["eos_loss"] = (
        f"Meanwhile the loss falls from the half-way step to the last in {falling} of the {len(e.runs)} runs ("
        + ", ".join(f"{x.loss_half:.3g} -> {x.loss_final:.3g}" for x in e.runs)
        + "); it rises on "
        + ", ".join(f"{x.rising_share:.0%}" for x in e.runs)
        + " of the last quarter's steps"
        + (
            ": it does not fall monotonically."
            if monotone == 0
            else f"; {monotone} of the runs fall monotonically again by then, the sharpness held at 2/eta."
        )
    )
    ins = r.insurance
    raw, std = ins.inputs
    std_words = "fall on every step" if std.rising_share == 0 else f"rise on {std.rising_share:.0%} of the steps"
    ratio = std.largest_monotone_rate / raw.largest_monotone_rate
    out["insurance"] = (
        f"At the course's rate {ins.rate}, raw ages give a loss that rises on {raw.rising_share:.0%} of the steps "
        f"and still jumps between {raw.final_band[0]:.3f} and {raw.final_band[1]:.3f} over the last 20 of "
        f"{ins.steps} steps; standardised inputs {std_words} and end at "
        f"{std.final_loss:.3f} (the best any run reaches: {ins.best_loss:.4f}; the constant predictor: "
        f"{ins.constant_loss:.3f}). The loss falls on every step up to rate {raw.largest_monotone_rate:.3g} on raw "
        f"ages and up to {std.largest_monotone_rate:.3g} standardised, {ratio:.0f} times larger; the bound 2/L "
        f"gives {raw.rate_bound:.3g} and {std.rate_bound:.3g}."
    )
    return out


def _expected(r: Results) -> list[str]:
    gr = r.g
    big = next(x for x in gr.regimes if x.name == "too big")
    out = []
    if big.diverged:
        out.append(
            f"rate {big.rate:.3g} > 2/g''(w*) = {gr.stability_limit:.2f} diverges (|w| > {ESCAPE:g} after "
            f"{len(big.path) - 1} steps)"
        )
    n_div = sum(1 for s in gr.status if s == "diverged")
    if n_div:
        out.append(f"on g, {n_div} grid rates from {gr.first_escape:.3g} on diverge")
    h = r.heart
    total = int(np.sum(h.diverged))
    if total:
        first = float(np.asarray(h.rates)[np.flatnonzero(np.asarray(h.diverged).sum(0) > 0)[0]])
        out.append(
            f"on the heart network {total} runs of the sweep diverge, at base rates from {first:.3g} on: the "
            "sweep looks for the unstable edge on purpose"
        )
    missed = int(np.sum(h.not_learnt))
    if missed:
        out.append(
            f"{missed} finite runs of the sweep end above the {h.learnt_threshold:.3f} training-loss mark "
            "(too small or too large a rate)"
        )
    return out


def _failures(r: Results) -> list[str]:
    out = []
    gr = r.g
    reg = {x.name: x for x in gr.regimes}
    if not reg["good"].converged:
        out.append(f"g: the good rate {reg['good'].rate:.3g} did not converge")
    if not reg["oscillating"].converged:
        out.append(f"g: the oscillating rate {reg['oscillating'].rate:.3g} did not converge")
    for x in r.edge.runs:
        if not np.isfinite(x.loss_final):
            out.append(f"edge of stability, {x.network}, eta {x.eta:g}: the loss is not finite")
    return out


def text(r: Results) -> Text:
    c = claims(r)
    gr, h, e, ins = r.g, r.heart, r.edge, r.insurance
    method = (
        "**g.** Gradient descent $w \\leftarrow w - a\\,g'(w)$ on $g(w) = (w^4 + w^2 + 10w)/50$ from "
        f"$w_0 = {gr.start}$ (minimum $w^* = {gr.minimum:.4f}$, $g''(w^*) = {gr.curvature:.3f}$), stopping when "
        "$|g'(w)| \\le 10^{-6}$ "
        f"(checked every step), $|w| > {ESCAPE:g}$ (diverged) or after {gr.budget} steps, in one "
        "`gdjax.minimize_restarts` grid. Near $w^*$ the error is multiplied by $1 - a\\,g''(w^*)$ each step: "
        "the four regimes are the rates $0.02/g''$, $1/g''$ (Newton's step), $1.6/g''$ and $2.8/g''$. "
        f"**Heart network.** The 29-16-1 network with plain SGD (batch {h.batch_size}, {h.epochs} epochs: "
        f"{h.steps} steps for every run) on the stratified {h.n_train}/{h.n_val}/{h.n_test} split, "
        f"{len(h.rates)} base rates from {h.rates[0]:.0e} to {h.rates[-1]:.0e} times six schedules times "
        f"{h.restarts} restarts in one vmapped `gdjax.sweep` (the schedule index and the base rate are traced), "
        "every grid point from the same initialisations and mini-batch order. Schedules: constant; halving every "
        "E/5 epochs; $a_0 e^{-kt}$ with $k = 3/E$ per epoch; $a_0/(1+kt)$ with $k = 9/E$; cosine to 0; linear "
        "warmup over the first tenth. Each schedule's base rate is tuned on the validation loss; the test rows are "
        "used once, for the configuration with the lowest validation loss, beside the majority class and logistic "
        "regression (full-batch gradient descent from zero, its rate and step count chosen on the validation rows). "
        "**Edge of stability.** Full-batch gradient descent ("
        + " and ".join(dict.fromkeys(x.network for x in e.runs))
        + f") on the {h.n_train} training rows with the square loss "
        f"of the logits (Cohen et al. 2021 use the square loss too: cross-entropy drives the loss, and with it the "
        f"sharpness, to zero on data a network can separate), {e.steps} steps at eta = "
        + ", ".join(f"{x:g}" for x in e.etas)
        + f"; the sharpness is the top Hessian eigenvalue by power iteration (`gdjax.diagnostics.sharpness`, warm-"
        f"started) every {e.every} steps. **Insurance table.** The course's "
        "$\\hat y = \\sigma(w_1\\,age + w_2\\,car + b)$ with binary cross-entropy, full batch, from "
        f"$w_1 = w_2 = 1$, $b = 0$, {ins.steps} steps, in float64, on raw "
        f"ages and on standardised inputs; $L = \\lambda_{{max}}(\\tilde X^T \\tilde X/n)/4$ bounds the loss's "
        "curvature, so every rate below $2/L$ decreases it."
    )
    schedule_rows = ["| schedule | tuned a0 | validation loss | training loss | final rate |", "|---|---|---|---|---|"]
    schedule_rows += [
        f"| {s.name} | {s.tuned_rate:.3g} | {s.val_loss:.3f} | {s.train_loss:.3f} | {s.final_rate:.3g} |"
        for s in h.schedules
    ]
    findings = (
        f"**g.** {c['g_small']} {c['g_good_osc']} {c['g_big']} {c['g_grid']}\n\n"
        f"**Heart network.** {c['heart_constant']} {c['heart_stable']}\n\n"
        + "\n".join(schedule_rows)
        + f"\n\n{c['heart_schedules']} {c['heart_test']}\n\n"
        f"**Edge of stability.** {c['eos_ratio']} {c['eos_loss']} Gradient descent cannot stay where the sharpness "
        "exceeds 2/eta (along the top eigenvector each step multiplies the error by |1 - eta lambda| > 1), yet "
        "training sharpens the landscape as it goes; the two balance at the edge, where the loss still falls on "
        "average while oscillating along the sharpest direction.\n\n"
        f"**Insurance table.** {c['insurance']} The ages are {ins.age_range[0]:g} to {ins.age_range[1]:g} times "
        "the size of the binary input, so the loss is far more curved along w1 than along w2 or b: a rate small "
        "enough for the age direction crawls along the others. Standardising makes every direction alike."
    )
    return Text(method, findings, expected=_expected(r), failures=_failures(r))


STUDY = Study(NAME, "Learning rate", QUESTION, compute=compute, figures=figures, text=text)

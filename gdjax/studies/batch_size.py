"""Batch size: batch, stochastic and mini-batch gradient descent on the heart data, and the critical batch size.

Four parts, all on the training loss of the course's 29-16-1 network (the
objective SGD minimises; no held-out rows are used, so none are touched):

1. the same rate for every batch size, over ``R`` restarts that share their
   initialisations and data order (common random numbers): the loss per
   epoch, per update and per second, compared pair by pair;
2. the noise of the mini-batch gradient against the sampling formula;
3. the linear scaling rule (rate proportional to the batch size);
4. the critical batch size (McCandlish et al. 2018, "An Empirical Model of
   Large-Batch Training"; Shallue et al. 2019): the steps to reach a target
   loss at each batch size, with the rate tuned per batch size, fitted by
   ``S(B) = S_min (1 + B_crit / B)``, next to the simple noise scale
   ``B_simple = tr(Σ) / |G|²`` measured along training
   (:func:`gdjax.diagnostics.gradient_noise_scale`).
"""

from __future__ import annotations

import functools
import itertools
import time
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

import gdjax
from gdjax import plot
from gdjax.diagnostics import gradient_noise_scale, per_example_gradients
from gdjax.losses import sigmoid_binary_cross_entropy
from gdjax.optim import sgd
from gdjax.restarts import mean_interval
from gdjax.studies._heart_common import heart_task
from gdjax.studies._study import FigureWriter, Study, StudyContext, Text

NAME = "batch_size"
TITLE = "Batch size"
QUESTION = "Batch, stochastic or mini-batch: how does the batch size trade noise for speed?"

LEARNING_RATE = 0.05  # the same plain-SGD rate for every batch size in the first comparison
BASE_BATCH = 8  # the linear scaling rule's reference batch ...
BASE_RATE = 0.1  # ... and its rate there
SCALING_TOLERANCE = 0.1  # "the curves stay close": largest gap to the base curve over the epochs
#: The critical batch size: the training loss to reach, the rates tried at every batch size (factors of 2).
TARGET_LOSS = 0.2
RATE_GRID: tuple[float, ...] = tuple(0.05 * 2**k for k in range(9))  # 0.05 ... 12.8
REFERENCE_STEPS = 80  # steps of the full-batch reference training along which B_simple is measured
MAX_STEPS = 4000


def _sgd_of(h):
    return sgd(h["learning_rate"])


def _label(b: int, n: int) -> str:
    return f"batch (B = {n})" if b == n else ("SGD (B = 1)" if b == 1 else f"B = {b}")


def _rate(value: float) -> str:
    return f"{value:.3g}"


# ---------------------------------------------------------------- results


class Paired(NamedTuple):
    """Per-restart differences ``a - b`` of one quantity: mean and 95% t interval over the restarts."""

    a: int
    b: int
    mean: float
    low: float
    high: float
    pairs: int


class NoiseCheck(NamedTuple):
    """Mean squared distance of mini-batch gradients from the full gradient, measured and predicted."""

    sizes: list[int]
    measured: list[float]
    predicted: list[float]
    full_grad_norm2: float
    per_example_variance: float


class NoiseScaleCurve(NamedTuple):
    """``B_simple`` along the reference training (full-batch gradient descent), before every step and after the last.

    ``b_simple`` and ``loss`` are medians over the restarts (entry 0: the
    initialisation), ``low``/``high`` the 10th and 90th percentiles;
    ``hit_step[r]`` is restart ``r``'s first step at or below the target
    (None if never), ``path_mean[r]`` its mean ``B_simple`` over the points
    where the steps up to that one were taken, ``at_target[r]``
    the value there and ``at_init[r]`` at the initialisation.
    """

    batch_size: int
    rate: float
    steps: list[int]
    loss: list[float]
    b_simple: list[float]
    low: list[float]
    high: list[float]
    hit_step: list[int | None]
    path_mean: list[float | None]
    at_target: list[float | None]
    at_init: list[float]


class CriticalBatch(NamedTuple):
    """Steps to the target loss over batch sizes, the rate tuned per batch size, and the fitted model.

    ``steps[B][r]`` is the fewest steps over the rate grid for restart ``r``
    (None if no rate reached the target in ``max_steps``), ``best_rate[B][r]``
    the rate that took them; ``s_min`` and ``b_crit`` fit ``S(B) = S_min (1 +
    B_crit / B)`` to the medians over the restarts (least squares on relative
    errors); ``b_crit_restarts`` is the same fit per restart and
    ``b_crit_interval`` the t interval of their mean; ``model_error`` the
    largest relative gap between the fit and the medians; ``speedup[i]`` the
    measured ``S(B_i) / S(B_{i+1})`` of consecutive sizes and
    ``model_speedup[i]`` the fit's; ``diverged_rates[B]`` the rates at which
    every restart diverged.
    """

    target: float
    rates: list[float]
    batch_sizes: list[int]
    max_steps: int
    steps: dict[int, list[int | None]]
    best_rate: dict[int, list[float | None]]
    s_min: float
    b_crit: float
    b_crit_restarts: list[float]
    b_crit_interval: tuple[float, float]
    model_error: float
    speedup: list[float]
    model_speedup: list[float]
    diverged_rates: dict[int, list[float]]
    # B_simple along the reference training against B_crit, restart by restart (same initialisation)
    ratio_path_mean: list[float]
    ratio_interval: tuple[float, float, float]  # geometric mean of B_simple(path mean) / B_crit and its interval
    b_crit_between_init_and_target: list[bool]


class Results(NamedTuple):
    n_train: int
    restarts: int
    epochs: int
    learning_rate: float
    batch_sizes: list[int]
    baseline_loss: float
    initial_loss: float
    steps_per_epoch: dict[int, int]
    curves: dict[int, list[float]]  # median full-set training loss per epoch (entry 0: initialisation)
    final_loss: dict[int, list[float]]  # per restart
    paired_final: list[Paired]  # consecutive batch sizes, same rate
    seconds_per_run: dict[int, float]
    seconds_per_update: dict[int, float]
    timed_runs: int
    target_loss: float
    updates_to_target: dict[int, int | None]
    seconds_to_target: dict[int, float | None]
    noise_at_init: NoiseCheck
    noise_after_training: NoiseCheck
    scaling_base_batch: int
    scaling_base_rate: float
    scaling_curves: dict[int, list[float]]
    scaling_final_loss: dict[int, float]
    scaling_gap_to_base: dict[int, float]  # median over restarts of the largest gap to the base curve
    diverged: dict[str, list[int]]  # {"same rate": [B...], "scaled rate": [B...]}: batch sizes with a diverged run
    noise_scale: NoiseScaleCurve
    steps_to_target: dict[int, float | None]  # median over restarts
    critical: CriticalBatch


# ---------------------------------------------------------------- the trainings


class _Run(NamedTuple):
    curve: np.ndarray  # full-set training loss per epoch, entry 0 the initialisation
    params: Any
    steps_per_epoch: int
    diverged: bool
    seconds: float


def _train(task, metrics, params, key, b: int, n: int, lr: float, epochs: int, initial: float) -> _Run:
    """One training; its wall-clock time is measured around the compiled run (the first call compiles)."""
    start = time.perf_counter()
    result = gdjax.fit(
        task.loss,
        params,
        task.train,
        optimizer=_sgd_of,
        hyperparams={"learning_rate": jnp.float32(lr)},
        epochs=epochs,
        key=key,
        batch_size=None if b == n else b,
        metrics=metrics,
    )
    jax.block_until_ready(result.params)
    seconds = time.perf_counter() - start
    curve = np.concatenate([[initial], np.asarray(result.history.metrics["full_loss"], np.float64)])
    return _Run(curve, result.params, result.steps_per_epoch, bool(result.diverged), seconds)


def _init_keys(key: jax.Array, restarts: int) -> jax.Array:
    """The initialisation keys of :func:`gdjax.restarts.restarts` with this key: the same starts."""
    return jax.random.split(jax.random.fold_in(key, 0), restarts)


def _flat_per_example(task, params) -> np.ndarray:
    grads = per_example_gradients(task.loss, params, task.train)
    leaves = jax.tree.leaves(grads)
    return np.concatenate([np.asarray(g, np.float64).reshape(g.shape[0], -1) for g in leaves], axis=1)


def _gradient_noise(task, params, key, sizes, draws: int) -> NoiseCheck:
    """Mean squared distance of mini-batch gradients from the full gradient, measured and predicted.

    With per-example gradients ``g_i`` (mean ``g``, population variance
    ``s^2 = mean ||g_i - g||^2``), a batch of ``B`` drawn without replacement
    from ``N`` has ``E ||g_B - g||^2 = s^2 / B * (N - B) / (N - 1)``.
    """
    per_example = _flat_per_example(task, params)
    n = per_example.shape[0]
    full = per_example.mean(0)
    s2 = float(np.mean(np.sum((per_example - full) ** 2, axis=1)))
    rng = np.random.default_rng(np.asarray(jax.random.key_data(key)).ravel()[-1])
    measured, predicted = [], []
    for b in sizes:
        idx = np.stack([rng.choice(n, b, replace=False) for _ in range(draws)])
        batch_grads = per_example[idx].mean(1)
        measured.append(float(np.mean(np.sum((batch_grads - full) ** 2, axis=1))))
        predicted.append(s2 / b * (n - b) / (n - 1))
    return NoiseCheck(list(sizes), measured, predicted, float(np.sum(full**2)), s2)


@functools.partial(jax.jit, static_argnames=("logits", "width", "max_steps"))
def _steps_to_target(logits, data, inits, sizes, rates, keys, target, *, width: int, max_steps: int):
    """Steps of plain SGD until the full-set loss is ``<= target``, for every (size, restart, rate) at once.

    Each step draws ``width`` examples uniformly *with replacement* and
    weighs the first ``B`` of them by ``1 / B`` (the others by 0): the
    gradient of a batch of ``B`` draws, whose noise is exactly ``tr(Σ) / B``
    (the model of McCandlish et al.), for every ``B <= width`` in one
    program. After the step the loss is evaluated on the whole training set.
    The loop ends once every (size, restart) has reached the target at one
    of the rates, or at ``max_steps``: only the fewest steps over the rates
    are needed. Returns the ``(sizes, restarts, rates)`` step counts (-1
    where the target was not reached) and whether each run stayed finite.
    """
    x, y = data
    n = x.shape[0]
    shape = (sizes.shape[0], keys.shape[0], rates.shape[0])
    params = jax.tree.map(lambda a: jnp.broadcast_to(a[None, :, None], shape + a.shape[1:]), inits)
    lr = jnp.broadcast_to(rates[None, None], shape)
    size = jnp.broadcast_to(sizes[:, None, None], shape)
    state = jax.vmap(jax.vmap(jax.vmap(lambda p, r: sgd(r).init(p))))(params, lr)

    def loss(p, xs, ys, weights=None):
        values = sigmoid_binary_cross_entropy(logits(p, xs), ys, reduction="none")
        return jnp.mean(values) if weights is None else jnp.sum(weights * values)

    def one(p, s, r, b, idx):
        weights = (jnp.arange(width) < b) / b.astype(x.dtype)
        updates, s = sgd(r).update(jax.grad(loss)(p, x[idx], y[idx], weights), s, p)
        p = jax.tree.map(lambda a, u: a + u, p, updates)
        value = loss(p, x, y)
        return p, s, jnp.where(jnp.isfinite(value), value, jnp.inf)

    # Axes: sizes, restarts, rates; the draws are one per restart and step, shared by its sizes and rates.
    step_all = jax.vmap(jax.vmap(jax.vmap(one, (0, 0, 0, 0, None)), (0, 0, 0, 0, 0)), (0, 0, 0, 0, None))

    def running(carry):
        step, _, _, hit, _ = carry
        return (step < max_steps) & ~jnp.all(jnp.any(hit >= 0, axis=-1))

    def body(carry):
        step, p, s, hit, finite = carry
        draws = jax.vmap(lambda k: jax.random.randint(jax.random.fold_in(k, step), (width,), 0, n))(keys)
        p, s, value = step_all(p, s, lr, size, draws)
        hit = jnp.where((hit < 0) & (value <= target), step + 1, hit)
        return step + 1, p, s, hit, finite & jnp.isfinite(value)

    start = (0, params, state, jnp.full(shape, -1), jnp.ones(shape, bool))
    _, _, _, hit, finite = jax.lax.while_loop(running, body, start)
    return hit, finite


#: Batch sizes up to this one share a program of this width; larger ones one of the training set's.
SMALL_WIDTH = 16


def _fit_model(batch_sizes: np.ndarray, steps: np.ndarray) -> tuple[float, float]:
    """``(S_min, B_crit)`` of ``S(B) = S_min + S_min B_crit / B`` by least squares on relative errors."""
    design = np.stack([np.ones_like(batch_sizes, np.float64), 1.0 / batch_sizes], axis=1) / steps[:, None]
    a, c = np.linalg.lstsq(design, np.ones(len(batch_sizes)), rcond=None)[0]
    return float(a), float(c / a)


def _critical_batch(ctx: StudyContext, task, inits, sizes: list[int], restarts: int):
    """Steps to the target at each batch size (rate tuned per size) from the restarts' (stacked) initialisations."""
    keys = jax.random.split(ctx.key(5), restarts)
    rates = jnp.asarray(RATE_GRID, jnp.float32)
    steps, best_rate, diverged_rates = {}, {}, {}
    n = int(task.train[0].shape[0])
    for width in (SMALL_WIDTH, n):
        group = [b for b in sizes if (b <= SMALL_WIDTH) == (width == SMALL_WIDTH)]
        if not group:
            continue
        hit, finite = _steps_to_target(
            task.model.logits,
            task.train,
            inits,
            jnp.asarray(group, jnp.int32),
            rates,
            keys,
            TARGET_LOSS,
            width=width,
            max_steps=MAX_STEPS,
        )
        for g, b in enumerate(group):
            h, f = np.asarray(hit[g]), np.asarray(finite[g])
            counts = np.where(h >= 0, h, np.iinfo(np.int32).max)
            best = counts.argmin(1)
            reached = h[np.arange(restarts), best] >= 0
            steps[b] = [int(counts[r, best[r]]) if reached[r] else None for r in range(restarts)]
            best_rate[b] = [RATE_GRID[best[r]] if reached[r] else None for r in range(restarts)]
            diverged_rates[b] = [RATE_GRID[j] for j in range(len(RATE_GRID)) if not f[:, j].any()]
    return steps, best_rate, diverged_rates


@functools.partial(jax.jit, static_argnames=("loss", "steps"))
def _reference_path(loss, inits, data, rate, *, steps: int):
    """Full-batch gradient descent from each (stacked) start: the loss and ``B_simple`` at every point of the path.

    ``B_simple`` is :func:`gdjax.diagnostics.gradient_noise_scale` on the whole
    training set. Returns two ``(restarts, steps + 1)`` arrays.
    """
    optimizer = sgd(rate)

    def one(params):
        def step(carry, _):
            p, s = carry
            value, grads = jax.value_and_grad(loss)(p, data)
            noise = gradient_noise_scale(loss, p, data).b_simple
            updates, s = optimizer.update(grads, s, p)
            return (jax.tree.map(lambda a, u: a + u, p, updates), s), (value, noise)

        (last, _), (values, noises) = jax.lax.scan(step, (params, optimizer.init(params)), None, length=steps)
        end = (loss(last, data), gradient_noise_scale(loss, last, data).b_simple)
        return jnp.append(values, end[0]), jnp.append(noises, end[1])

    return jax.vmap(one)(inits)


def _noise_along_training(task, inits, rate: float, steps: int) -> NoiseScaleCurve:
    """``B_simple`` along full-batch gradient descent at ``rate`` from each restart's (stacked) start."""
    n = int(task.train[0].shape[0])
    losses, scales = _reference_path(task.loss, inits, task.train, jnp.float32(rate), steps=steps)
    losses, scales = np.asarray(losses, np.float64), np.asarray(scales, np.float64)
    hit_step, path_mean, at_target = [], [], []
    for r in range(losses.shape[0]):
        below = np.flatnonzero(losses[r] <= TARGET_LOSS)
        if below.size:
            e = int(below[0])
            hit_step.append(e)
            path_mean.append(float(np.mean(scales[r, :e])) if e > 0 else float(scales[r, 0]))
            at_target.append(float(scales[r, e]))
        else:
            hit_step.append(None)
            path_mean.append(None)
            at_target.append(None)
    with np.errstate(all="ignore"):
        low, mid, high = np.nanpercentile(scales, [10, 50, 90], axis=0)
    return NoiseScaleCurve(
        batch_size=n,
        rate=rate,
        steps=list(range(steps + 1)),
        loss=np.median(losses, 0).tolist(),
        b_simple=mid.tolist(),
        low=low.tolist(),
        high=high.tolist(),
        hit_step=hit_step,
        path_mean=path_mean,
        at_target=at_target,
        at_init=scales[:, 0].tolist(),
    )


def _critical_summary(sizes, steps, best_rate, diverged_rates, noise: NoiseScaleCurve) -> CriticalBatch:
    """The model ``S(B) = S_min (1 + B_crit / B)`` fitted to the steps, and ``B_simple`` set against ``B_crit``."""
    bs = np.asarray(sizes, np.float64)
    restarts = len(steps[sizes[0]])
    nan = float("nan")
    medians = [None if any(s is None for s in steps[b]) else float(np.median(steps[b])) for b in sizes]
    s_min = b_crit = model_error = nan
    speedup, model_speedup = [], []
    if all(m is not None for m in medians):
        s_med = np.asarray(medians)
        s_min, b_crit = _fit_model(bs, s_med)
        model = s_min * (1 + b_crit / bs)
        model_error = float(np.max(np.abs(model - s_med) / s_med))
        speedup = (s_med[:-1] / s_med[1:]).tolist()
        model_speedup = (model[:-1] / model[1:]).tolist()
    # Restart by restart: the same initialisation started the steps-to-target runs and the reference training.
    per_restart, ratios, between = [], [], []
    for r in range(restarts):
        if any(steps[b][r] is None for b in sizes):
            continue
        fitted = _fit_model(bs, np.asarray([steps[b][r] for b in sizes], np.float64))[1]
        per_restart.append(fitted)
        if noise.path_mean[r] is not None:
            ratios.append(noise.path_mean[r] / fitted)
            between.append(bool(noise.at_init[r] <= fitted <= noise.at_target[r]))
    interval = mean_interval(per_restart) if len(per_restart) >= 2 else None
    log_ratio = mean_interval(np.log10(ratios)) if len(ratios) >= 2 else None
    return CriticalBatch(
        target=TARGET_LOSS,
        rates=list(RATE_GRID),
        batch_sizes=list(sizes),
        max_steps=MAX_STEPS,
        steps=steps,
        best_rate=best_rate,
        s_min=s_min,
        b_crit=b_crit,
        b_crit_restarts=per_restart,
        b_crit_interval=(nan, nan) if interval is None else (interval.low, interval.high),
        model_error=model_error,
        speedup=speedup,
        model_speedup=model_speedup,
        diverged_rates=diverged_rates,
        ratio_path_mean=ratios,
        ratio_interval=(nan, nan, nan)
        if log_ratio is None
        else (10**log_ratio.mean, 10**log_ratio.low, 10**log_ratio.high),
        b_crit_between_init_and_target=between,
    )


def compute(ctx: StudyContext) -> Results:
    task = heart_task(ctx.seed)
    n = int(task.train[0].shape[0])
    sizes = [1, BASE_BATCH, n] if ctx.quick else [1, BASE_BATCH, 32, 128, n]
    crit_sizes = [1, 4, 16, 64, n] if ctx.quick else [1, 2, 4, 8, 16, 32, 64, 128, n]
    epochs = ctx.size(40, 60)
    restarts = ctx.size(4, 8)
    key = ctx.key(1)  # the data order, shared by every restart and batch size
    init_keys = _init_keys(ctx.key(0), restarts)
    inits = [task.model.init(k) for k in init_keys]
    # One metrics dict for every call: the same object lets the calls of one batch size share their program.
    metrics = {"full_loss": lambda p, d: task.loss(p, d)}
    y = np.asarray(task.train[1], np.float64)
    base_rate = float(y.mean())
    baseline = float(-(base_rate * np.log(base_rate) + (1 - base_rate) * np.log(1 - base_rate)))
    initial = [float(task.loss(p, task.train)) for p in inits]

    # 4. The critical batch size first: its tuned rate at the largest batch is the reference training's.
    crit_inits = jax.tree.map(lambda *leaves: jnp.stack(leaves), *inits)
    steps, best_rate, diverged_rates = _critical_batch(ctx, task, crit_inits, crit_sizes, restarts)
    largest = [r for r in best_rate[crit_sizes[-1]] if r is not None]
    reference_rate = float(np.median(largest)) if largest else RATE_GRID[0]
    reference_rate = min(RATE_GRID, key=lambda r: abs(np.log(r / reference_rate)))

    # 1 and 3. The same rate for every batch size, and the linear scaling rule, from the same starts.
    same, scaled, seconds, steps_per_epoch = {}, {}, {}, {}
    diverged = {"same rate": [], "scaled rate": []}
    after = None
    for b in sizes:
        times = []
        same[b], scaled[b] = [], []
        for r, params in enumerate(inits):
            for rate, runs, name in (
                (LEARNING_RATE, same[b], "same rate"),
                (BASE_RATE * b / BASE_BATCH, scaled[b], "scaled rate"),
            ):
                run = _train(task, metrics, params, key, b, n, rate, epochs, initial[r])
                runs.append(run.curve)
                times.append(run.seconds)
                if run.diverged and b not in diverged[name]:
                    diverged[name].append(b)
                if b == BASE_BATCH and r == 0 and name == "same rate":
                    after = run.params
        steps_per_epoch[b] = run.steps_per_epoch
        seconds[b] = float(np.median(times[1:]))  # the first call compiled the program
        same[b], scaled[b] = np.asarray(same[b]), np.asarray(scaled[b])
    noise = _noise_along_training(task, crit_inits, reference_rate, REFERENCE_STEPS)

    curves = {b: np.median(same[b], 0) for b in sizes}
    final = {b: same[b][:, -1] for b in sizes}
    paired = []
    for a, b in itertools.pairwise(sizes):
        t = mean_interval(final[a] - final[b])
        paired.append(Paired(a, b, t.mean, t.low, t.high, t.count))
    # A loss every mini-batch size reaches within the epochs: the worst final (median) loss short of the full batch.
    target = float(max(curves[b][-1] for b in sizes[:-1]))

    def first_epoch(curve):
        hit = np.flatnonzero(curve <= target)
        return int(hit[0]) if hit.size else None

    updates_to = {
        b: None if first_epoch(curves[b]) is None else first_epoch(curves[b]) * steps_per_epoch[b] for b in sizes
    }
    seconds_to = {
        b: None if first_epoch(curves[b]) is None else first_epoch(curves[b]) * seconds[b] / epochs for b in sizes
    }

    # 2. The noise of the mini-batch gradient, at the first start and after its B = 8 training.
    noise_sizes = [1, 2, 4, 8, 16, 32, 64, 128, n]
    draws = ctx.size(256, 1024)
    noise_init = _gradient_noise(task, inits[0], ctx.key(2), noise_sizes, draws)
    noise_final = _gradient_noise(task, after, ctx.key(3), noise_sizes, draws)

    scaling_curves = {b: np.median(scaled[b], 0) for b in sizes}
    gaps = {b: float(np.median(np.max(np.abs(scaled[b] - scaled[BASE_BATCH]), axis=1))) for b in sizes}

    critical = _critical_summary(crit_sizes, steps, best_rate, diverged_rates, noise)

    return Results(
        n_train=n,
        restarts=restarts,
        epochs=epochs,
        learning_rate=LEARNING_RATE,
        batch_sizes=sizes,
        baseline_loss=baseline,
        initial_loss=float(np.median(initial)),
        steps_per_epoch=steps_per_epoch,
        curves={b: c.tolist() for b, c in curves.items()},
        final_loss={b: f.tolist() for b, f in final.items()},
        paired_final=paired,
        seconds_per_run=seconds,
        seconds_per_update={b: seconds[b] / (epochs * steps_per_epoch[b]) for b in sizes},
        timed_runs=2 * restarts - 1,
        target_loss=target,
        updates_to_target=updates_to,
        seconds_to_target=seconds_to,
        noise_at_init=noise_init,
        noise_after_training=noise_final,
        scaling_base_batch=BASE_BATCH,
        scaling_base_rate=BASE_RATE,
        scaling_curves={b: c.tolist() for b, c in scaling_curves.items()},
        scaling_final_loss={b: float(c[-1]) for b, c in scaling_curves.items()},
        scaling_gap_to_base=gaps,
        diverged=diverged,
        noise_scale=noise,
        steps_to_target={b: (None if None in s else float(np.median(s))) for b, s in steps.items()},
        critical=critical,
    )


# ---------------------------------------------------------------- figures


def _legend_below(fig, axes, ncol: int) -> None:
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncol=ncol, fontsize=8, frameon=False)


def figures(results: Results, out: FigureWriter) -> None:
    n, sizes, epochs = results.n_train, results.batch_sizes, results.epochs
    colours = {b: plot.COLORS[i] for i, b in enumerate(sizes)}
    e = np.arange(epochs + 1)

    fig, axes = plot.figure(1, 3, width=4.6, height=3.6)
    axes = axes[0]
    for b in sizes:
        curve = np.asarray(results.curves[b])
        label = _label(b, n)
        axes[0].plot(e, curve, color=colours[b], label=label)
        axes[1].plot(np.maximum(e * results.steps_per_epoch[b], 1), curve, color=colours[b], label=label)
        axes[2].plot(e * results.seconds_per_run[b] / epochs * 1000, curve, color=colours[b], label=label)
    for ax in axes:
        ax.axhline(results.baseline_loss, color="0.5", ls=":", lw=1, label="constant predictor")
        ax.grid(alpha=0.3)
    axes[0].set(xlabel="epoch", ylabel="training loss (whole set)", title=f"Per epoch (SGD, rate {LEARNING_RATE})")
    axes[1].set(xlabel="parameter updates", xscale="log", ylabel="training loss", title="Per update")
    axes[2].set(xlabel="wall-clock ms (compiled run, compile excluded)", ylabel="training loss", title="Per second")
    _legend_below(fig, axes, len(sizes) + 1)
    out.save_figure(
        fig,
        "loss_vs_epochs_updates_time.png",
        f"Training loss of the heart network for each batch size at rate {LEARNING_RATE} (median of "
        f"{results.restarts} restarts sharing their initialisations and data order), against epochs, parameter "
        f"updates and measured wall-clock time (median of {results.timed_runs} compiled runs, compilation "
        "excluded; the time axis spreads each run's total evenly over its epochs). Dotted: the constant predictor "
        "(the training base rate for everyone).",
    )

    fig, axes = plot.figure(1, 1, width=6.5, height=4.0)
    ax = axes[0, 0]
    for i, (noise, marker, label) in enumerate(
        (
            (results.noise_at_init, "o", "at initialisation"),
            (results.noise_after_training, "s", f"after training (B = {BASE_BATCH})"),
        )
    ):
        ax.loglog(noise.sizes[:-1], noise.measured[:-1], marker, color=plot.COLORS[i], label=f"measured, {label}")
        ax.loglog(noise.sizes[:-1], noise.predicted[:-1], "-", color=plot.COLORS[i], lw=1, alpha=0.7)
    ax.plot([], [], "-", color="0.3", lw=1, label="s²/B (N-B)/(N-1)")
    ax.set(
        xlabel="batch size B",
        ylabel="E ||g_B - g||²",
        title=f"Noise of the mini-batch gradient (B = {n}: exactly 0, not shown)",
    )
    ax.legend(fontsize=8, loc="lower left")
    ax.grid(alpha=0.3, which="both")
    out.save_figure(
        fig,
        "gradient_noise.png",
        "Mean squared distance between mini-batch gradients and the full gradient (markers: random batches drawn "
        "without replacement), against the exact prediction s²/B (N-B)/(N-1) (lines).",
    )

    fig, axes = plot.figure(1, 1, width=6.5, height=4.0)
    ax = axes[0, 0]
    for b in sizes:
        rate = BASE_RATE * b / BASE_BATCH
        ax.plot(e, results.scaling_curves[b], color=colours[b], label=f"{_label(b, n)}, rate {_rate(rate)}")
    ax.axhline(results.baseline_loss, color="0.5", ls=":", lw=1, label="constant predictor")
    ax.set(
        xlabel="epoch",
        ylabel="training loss (whole set)",
        yscale="log",
        title=f"Linear scaling rule: rate = {BASE_RATE} x B / {BASE_BATCH}",
    )
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    ax.grid(alpha=0.3)
    out.save_figure(
        fig,
        "linear_scaling.png",
        f"Batch size and learning rate scaled together (median of {results.restarts} restarts): the per-epoch curves "
        f"of the batch sizes whose largest gap to the B = {BASE_BATCH} curve stays below {SCALING_TOLERANCE} follow "
        "it; the others separate.",
    )
    _critical_figure(results, out)


def _critical_figure(results: Results, out: FigureWriter) -> None:
    c, noise = results.critical, results.noise_scale
    bs = np.asarray(c.batch_sizes, np.float64)
    fig, axes = plot.figure(1, 2, width=5.2, height=4.0)
    ax, right = axes[0]
    for r in range(results.restarts):
        points = [(b, c.steps[b][r]) for b in c.batch_sizes if c.steps[b][r] is not None]
        ax.plot(*zip(*points), "o", color="0.65", ms=3, label="each restart" if r == 0 else None)
    medians = [results.steps_to_target[b] for b in c.batch_sizes]
    ax.plot(bs, medians, "o", color=plot.COLORS[0], ms=7, label="median")
    if np.isfinite(c.b_crit):
        fine = np.geomspace(bs[0], bs[-1], 100)
        ax.plot(fine, c.s_min * (1 + c.b_crit / fine), "-", color=plot.COLORS[0], lw=1.2, label="S_min (1 + B_crit/B)")
        ax.plot(fine, c.s_min * (1 + c.b_crit) / fine, "--", color="0.4", lw=1, label="perfect scaling (steps ∝ 1/B)")
        ax.axhline(c.s_min, color="0.4", ls=":", lw=1, label=f"S_min = {c.s_min:.0f}")
        ax.axvline(c.b_crit, color=plot.COLORS[1], lw=1.5, label=f"B_crit = {c.b_crit:.0f}")
    ax.set(
        xscale="log",
        yscale="log",
        xlabel="batch size B (drawn with replacement)",
        ylabel=f"steps to training loss {c.target}",
        title="Steps to the target, rate tuned per batch size",
    )
    ax.legend(fontsize=7, loc="upper right")
    ax.grid(alpha=0.3, which="both")

    steps = np.asarray(noise.steps)
    right.fill_between(steps, noise.low, noise.high, color=plot.COLORS[2], alpha=0.2, lw=0)
    right.plot(steps, noise.b_simple, color=plot.COLORS[2], lw=1.6, label="B_simple (median, 10-90%)")
    if np.isfinite(c.b_crit):
        right.axhline(c.b_crit, color=plot.COLORS[1], lw=1.5, label=f"B_crit = {c.b_crit:.0f}")
    hits = [h for h in noise.hit_step if h is not None]
    if hits:
        right.axvline(float(np.median(hits)), color="0.4", ls="--", lw=1, label=f"loss reaches {c.target} (median)")
    right.set(
        yscale="log",
        xlabel=f"step of full-batch gradient descent (rate {_rate(noise.rate)})",
        ylabel="B_simple = tr(Σ) / |G|²",
        title="The simple noise scale along training",
    )
    right.legend(fontsize=7, loc="lower right")
    right.grid(alpha=0.3, which="both")
    out.save_figure(
        fig,
        "critical_batch.png",
        f"Left: steps of SGD to reach training loss {c.target} at each batch size, the rate chosen per batch size "
        f"and restart from {len(c.rates)} rates ({_rate(c.rates[0])} to {_rate(c.rates[-1])}), with the fit "
        "S_min (1 + B_crit / B) of McCandlish et al. (2018). Right: the simple noise scale along full-batch "
        f"gradient descent from the same {results.restarts} initialisations (median and 10-90% band), against "
        "the fitted B_crit.",
    )


# ---------------------------------------------------------------- text


def _list(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _interval(low: float, high: float, digits: int = 3) -> str:
    return f"[{low:.{digits}f}, {high:.{digits}f}]"


def _ms(seconds: float | None) -> str:
    return "never" if seconds is None else f"{1000 * seconds:.1f} ms"


def _scaling_break(results: Results, b: int) -> str:
    rate = _rate(BASE_RATE * b / BASE_BATCH)
    return f"{_label(b, results.n_train)} (gap {results.scaling_gap_to_base[b]:.3f}, rate {rate})"


def scaling_holds(results: Results) -> list[int]:
    """The batch sizes whose scaled-rate curve stays within the tolerance of the base curve."""
    return [b for b in results.batch_sizes if results.scaling_gap_to_base[b] < SCALING_TOLERANCE]


def smaller_always_lower(results: Results) -> bool:
    """Every consecutive pair: the smaller batch ends lower, the whole 95% interval below zero."""
    return all(p.high < 0 for p in results.paired_final)


def saturates(c: CriticalBatch) -> bool:
    """The two regimes: the first step in batch size gains at least 70% of its factor, the last at most half."""
    first, last = c.batch_sizes[1] / c.batch_sizes[0], c.batch_sizes[-1] / c.batch_sizes[-2]
    return bool(c.speedup) and c.speedup[0] >= 0.7 * first and c.speedup[-1] <= 1 + 0.5 * (last - 1)


RATIO_BAND = 4.0  # "near": within this factor, the band the text states and the test asserts


def ratio_within(results: Results, factor: float = RATIO_BAND) -> bool:
    """The geometric mean of B_simple (path mean) / B_crit lies within ``factor`` of 1."""
    ratio = results.critical.ratio_interval[0]
    return bool(np.isfinite(ratio) and 1 / factor <= ratio <= factor)


def text(results: Results) -> Text:
    n, sizes, c, noise = results.n_train, results.batch_sizes, results.critical, results.noise_scale
    label = lambda b: _label(b, n)
    method = f"""
The 29-16-1 network on the {n} heart training patients; every number is a training loss (the objective SGD
minimises) on the whole training set, so no held-out patient is used. Beside it: the **constant predictor** that
gives every patient the training base rate scores {results.baseline_loss:.3f}. **Same rate:** plain SGD at rate
{LEARNING_RATE}, {results.epochs} epochs, batch sizes {_list([label(b) for b in sizes])}, each from {results.restarts}
initialisations shared by every batch size, with one shared data order (common random numbers); each epoch is
reshuffled and its last partial batch dropped, so B makes floor({n}/B) updates per epoch. Batch sizes are compared
restart by restart: the per-restart difference of final losses with its 95% t interval. **Wall-clock:** each
training is one compiled program (`gdjax.fit`); the first call compiles it and the median of the other
{results.timed_runs} calls of the same batch size is the time of a run, so **compilation is excluded**; the time axis
spreads a run's time evenly over its epochs. Timings are on this machine's CPU, shared with other work, so they are
noisy. **Gradient noise:** exact per-example gradients, then random batches of each size drawn without replacement,
at the first initialisation and after its B = {BASE_BATCH} training. **Linear scaling rule:** rate = {BASE_RATE} x B /
{BASE_BATCH}, the same starts and epochs; the gap is the largest distance between a restart's curve and its B =
{BASE_BATCH} curve over the epochs (median over restarts). **Critical batch size** (McCandlish et al. 2018, *An
Empirical Model of Large-Batch Training*; Shallue et al. 2019): from the same {results.restarts} initialisations, SGD
with batches of B examples drawn uniformly with replacement (so the gradient's noise is exactly tr(Σ)/B, the paper's
model; B = {n} is then {n} draws, not the whole set) until the whole-set training loss reaches **{c.target}**, at every
rate of {_list([_rate(r) for r in c.rates])}; a restart's steps at B are the fewest over the rates (the rate tuned per
batch size, as both papers do). The medians are fitted by `S(B) = S_min (1 + B_crit / B)` (least squares on relative
errors), and so is each restart. Beside it, the **simple noise scale** `B_simple = tr(Σ)/|G|²`
(`gdjax.diagnostics.gradient_noise_scale`, per-example gradients on the whole training set) at every step of
full-batch gradient descent at rate {_rate(noise.rate)} (the tuned rate of the largest batch) from the same
initialisations; its mean over the steps from the initialisation to the target is compared with B_crit restart by
restart (geometric mean of the ratio, t interval on its logarithm).
"""

    final = {b: float(np.median(results.final_loss[b])) for b in sizes}
    pairs = "; ".join(
        f"{label(p.a)} minus {label(p.b)}: {p.mean:+.3f} {_interval(p.low, p.high)}" for p in results.paired_final
    )
    if smaller_always_lower(results):
        per_epoch = (
            "each smaller batch ends lower than the next larger one, restart by restart (per-restart differences, "
            f"95% intervals all below zero: {pairs})"
        )
    else:
        lower = [f"{label(p.a)} below {label(p.b)}" for p in results.paired_final if p.high < 0]
        higher = [f"{label(p.b)} below {label(p.a)}" for p in results.paired_final if p.low > 0]
        unclear = [f"{label(p.a)} and {label(p.b)}" for p in results.paired_final if p.low <= 0 <= p.high]
        parts = [f"{_list(lower)} (interval below zero)"] if lower else []
        parts += [f"{_list(higher)} (interval above zero: the larger batch ends lower)"] if higher else []
        parts += [f"{_list(unclear)} cannot be told apart (interval reaches zero)"] if unclear else []
        per_epoch = f"the per-restart differences are {pairs}: {'; '.join(parts)}"
    updates = results.updates_to_target
    reached = [b for b in sizes if updates[b] is not None]
    fewest = min(reached, key=lambda b: updates[b])
    to_target = results.seconds_to_target
    fastest = min(reached, key=lambda b: to_target[b])
    costs = [results.seconds_per_update[b] for b in sizes]
    cost_grows = all(a < b for a, b in itertools.pairwise(costs))
    ratio = [m / p for m, p in zip(results.noise_at_init.measured[:-1], results.noise_at_init.predicted[:-1])]
    close = scaling_holds(results)
    broken = [b for b in sizes if b not in close]

    lines = [
        f"Per epoch, at the same rate, after {results.epochs} epochs the median training loss is "
        + ", ".join(f"{final[b]:.3f} ({label(b)})" for b in sizes)
        + f" (constant predictor {results.baseline_loss:.3f}, initialisation {results.initial_loss:.3f}): "
        + per_epoch
        + f". SGD makes {results.steps_per_epoch[1]} updates per epoch where batch gradient descent makes 1.",
        f"Per update, to reach the loss {results.target_loss:.3f} (the worst final loss of the mini-batch runs; "
        "counted at epoch ends): "
        + ", ".join(f"{'never' if updates[b] is None else updates[b]} at {label(b)}" for b in sizes)
        + f"; the fewest at **{label(fewest)}**.",
        "Per second (measured, compile excluded) an update costs "
        + ", ".join(f"{1e6 * results.seconds_per_update[b]:.0f} us at {label(b)}" for b in sizes)
        + " (the per-epoch evaluation of the whole-set loss included); time to reach "
        + f"{results.target_loss:.3f}: "
        + ", ".join(f"{label(b)} {_ms(to_target[b])}" for b in sizes)
        + f"; the fastest here is **{label(fastest)}**."
        + (
            " On this CPU the cost of an update grows with B; on an accelerator a large batch costs little more "
            "than a small one and the balance moves to larger batches."
            if cost_grows
            else ""
        ),
        "",
        "The gradient noise falls as 1/B with the finite-population correction: measured/predicted ratios at "
        f"initialisation {min(ratio):.2f}-{max(ratio):.2f}; it is exactly zero for the full batch. The linear scaling "
        f"rule keeps the per-epoch curves within {SCALING_TOLERANCE} of the B = {BASE_BATCH} curve for "
        f"{_list([label(b) for b in close])}"
        + (
            "; it held for every batch size tried."
            if not broken
            else f"; it breaks at {_list([_scaling_break(results, b) for b in broken])}: a few large steps per "
            "epoch cannot follow the path of many small ones."
        ),
        "",
    ]
    if np.isfinite(c.b_crit):
        tuned = {b: float(np.median([r for r in c.best_rate[b] if r is not None])) for b in c.batch_sizes}
        speed = ", ".join(
            f"{label(a)} to {label(b)} (x{b / a:.0f}) divides them by {s:.2f} (model {m:.2f})"
            for a, b, s, m in zip(c.batch_sizes[:-1], c.batch_sizes[1:], c.speedup, c.model_speedup)
        )
        low_i, high_i = c.b_crit_interval
        geo, geo_low, geo_high = c.ratio_interval
        at_init = float(np.median(noise.at_init))
        at_target = float(np.median([v for v in noise.at_target if v is not None]))
        inside = sum(c.b_crit_between_init_and_target)
        values = [tuned[b] for b in c.batch_sizes]
        grows = all(a <= b for a, b in itertools.pairwise(values)) and values[-1] > values[0]
        first, last = c.batch_sizes[1] / c.batch_sizes[0], c.batch_sizes[-1] / c.batch_sizes[-2]
        if saturates(c):
            shape = "below B_crit a larger batch divides the steps by nearly its factor, above it they stay near S_min"
        else:
            shape = f"the gain of the first step (x{c.speedup[0]:.2f} for x{first:.0f}) and of the last "
            shape += f"(x{c.speedup[-1]:.2f} for x{last:.0f}) do not show the two regimes clearly"
        rises = at_target > at_init
        if ratio_within(results, RATIO_BAND):
            relation = (
                f"within the factor of {RATIO_BAND:.0f} this study calls *near*: the batch size where a larger batch "
                "stops dividing the steps sits near B_simple, as McCandlish et al. predict; B_simple equals their "
                "B_noise only for a Hessian proportional to the identity, so a factor of a few is within the model."
            )
        else:
            relation = (
                f"outside the factor of {RATIO_BAND:.0f} this study calls *near*: here B_simple is no close guide to "
                "the batch size where a larger batch stops dividing the steps."
            )
        lines += [
            f"**Critical batch size.** The median steps to reach the training loss {c.target} are "
            + ", ".join(f"{results.steps_to_target[b]:.0f} at {label(b)}" for b in c.batch_sizes)
            + ("; the tuned rate grows with the batch, " if grows else "; the tuned rates are ")
            + ", ".join(f"{_rate(tuned[b])} at {label(b)}" for b in c.batch_sizes)
            + f". The model `S_min (1 + B_crit / B)` fits the medians within {100 * c.model_error:.0f}% with "
            f"S_min = {c.s_min:.1f} steps and **B_crit = {c.b_crit:.0f}** (per-restart fits: mean "
            f"{np.mean(c.b_crit_restarts):.0f}, 95% interval {_interval(low_i, high_i, 0)}). Going from {speed}: "
            f"{shape}. The simple noise scale along full-batch training "
            + ("rises" if rises else "goes")
            + f" from {at_init:.0f} at initialisation to {at_target:.0f} where the loss reaches {c.target} (medians); "
            f"B_crit lies between the two for {inside} of {len(c.b_crit_between_init_and_target)} restarts. Over that "
            f"path B_simple averages **{geo:.1f} times B_crit** (geometric mean over restarts, 95% interval "
            f"{_interval(geo_low, geo_high, 1)}), {relation}",
        ]
    else:
        lines.append(
            f"**Critical batch size.** Not every batch size reached the loss {c.target} within {c.max_steps} steps "
            "at any rate, so no model was fitted."
        )
    findings = "\n".join(lines)

    expected, failures = [], []
    for b in broken:
        expected.append(
            f"the linear scaling rule breaks at {label(b)} (rate {_rate(BASE_RATE * b / BASE_BATCH)}, gap "
            f"{results.scaling_gap_to_base[b]:.3f}): the rule holds only while the scaled rate is small"
        )
    for b in results.diverged["scaled rate"]:
        expected.append(f"{label(b)} at the scaled rate {_rate(BASE_RATE * b / BASE_BATCH)} diverged")
    for b, rates in c.diverged_rates.items():
        if rates:
            expected.append(
                f"at {label(b)} the rate{'s' if len(rates) > 1 else ''} {_list([_rate(r) for r in rates])} "
                "diverged; the grid reaches past the stable rates so that the tuned rate lies inside it"
            )
    for b in results.diverged["same rate"]:
        failures.append(f"{label(b)} at rate {LEARNING_RATE} diverged")
    for b in c.batch_sizes:
        missed = sum(s is None for s in c.steps[b])
        if missed:
            failures.append(f"{label(b)}: {missed} restart(s) did not reach {c.target} within {c.max_steps} steps")
    missed = sum(h is None for h in noise.hit_step)
    if missed:
        failures.append(f"full-batch reference: {missed} restart(s) did not reach {c.target}")
    return Text(method, findings, expected=expected, failures=failures)


STUDY = Study(NAME, TITLE, QUESTION, compute=compute, figures=figures, text=text)

r"""Schedules: jittable functions ``count -> value``.

A schedule maps the number of updates already applied, :math:`t = 0, 1, \dots`
(an int32 array inside an optimizer), to a value, typically the learning rate.
Every constant may be a Python number, an array or a tracer (so a sweep can
``vmap`` over the initial rate or the decay); concrete constants are validated
when the schedule is built. Counts may also be floats (fractional epochs, see
:func:`per_epoch`).

The names and signatures of the schedules Optax also has are Optax's, and they
return the same values.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import jax
import jax.numpy as jnp

from gdjax import _checks
from gdjax.optim._base import ScalarOrSchedule, Schedule
from gdjax.optim._hyper import check_bool, check_scalar
from gdjax.optim._recipe import hyperparameters


def _value(name, value):
    return check_scalar(name, value, "nonnegative")


def _steps(name, value):
    return check_scalar(name, value, "positive")


def _float(count):
    """A step count as a float of the default precision (int32 / int would stay float32 with float64 enabled)."""
    if isinstance(count, (int, float)) and not isinstance(count, bool):
        return float(count)
    count = jnp.asarray(count)
    if jnp.issubdtype(count.dtype, jnp.integer):
        return count.astype(jnp.asarray(0.0).dtype)
    return count


def _periods(count, transition_steps, staircase: bool):
    """``t / T``, or whole periods ``floor(t / T)`` with ``staircase``."""
    periods = count / transition_steps
    return jnp.floor(periods) if staircase else periods


@hyperparameters(elementwise=True)
def constant_schedule(value: jax.typing.ArrayLike) -> Schedule:
    """:math:`v(t) = v`."""
    _value("value", value)
    return lambda count: value


@hyperparameters(elementwise=True)
def piecewise_constant_schedule(
    init_value: jax.typing.ArrayLike,
    boundaries_and_scales: dict[int, jax.typing.ArrayLike] | None = None,
) -> Schedule:
    r"""Piecewise constant: :math:`v(t) = v_0 \prod_{i:\, t \ge b_i} s_i`.

    Args:
      init_value: :math:`v_0 \ge 0`.
      boundaries_and_scales: ``{b_i: s_i}``, step boundaries (integers >= 0)
        to the factor (>= 0) applied from that step on. E.g.
        ``{30: 0.1, 60: 0.1}`` divides the rate by 10 at steps 30 and 60.
    """
    _value("init_value", init_value)
    items = sorted((boundaries_and_scales or {}).items())
    for boundary, factor in items:
        _checks.check_int("boundaries_and_scales key", boundary, minimum=0)
        check_scalar(f"boundaries_and_scales[{boundary}]", factor, "nonnegative")

    def schedule(count):
        value = init_value
        for boundary, factor in items:
            value = jnp.where(count < boundary, value, value * factor)
        return value

    return schedule


@hyperparameters(elementwise=True)
def exponential_decay(
    init_value: jax.typing.ArrayLike,
    transition_steps: jax.typing.ArrayLike,
    decay_rate: jax.typing.ArrayLike,
    transition_begin: jax.typing.ArrayLike = 0,
    staircase: bool = False,
    end_value: jax.typing.ArrayLike | None = None,
) -> Schedule:
    r"""Exponential decay by a factor per period: :math:`v(t) = v_0\, r^{\tau}`.

    With :math:`\tau = (t - B)/T` (or :math:`\lfloor (t - B)/T \rfloor` with
    ``staircase``), :math:`v(t) = v_0` for :math:`t \le B`. Written with a rate
    :math:`k`, :math:`v_0 e^{-k t}` is ``decay_rate = exp(-k)``,
    ``transition_steps = 1`` (or see :func:`natural_exp_decay`).

    Args:
      init_value: :math:`v_0 \ge 0`.
      transition_steps: the period :math:`T > 0`.
      decay_rate: the factor :math:`r > 0` per period (< 1 decays).
      transition_begin: :math:`B \ge 0`, steps held at :math:`v_0`.
      staircase: decay in whole periods.
      end_value: optional bound: a floor when :math:`r < 1`, else a ceiling.
    """
    _value("init_value", init_value)
    _steps("transition_steps", transition_steps)
    check_scalar("decay_rate", decay_rate, "positive")
    check_scalar("transition_begin", transition_begin, "nonnegative")
    staircase = check_bool("staircase", staircase)
    if end_value is not None:
        _value("end_value", end_value)

    def schedule(count):
        elapsed = _float(count) - transition_begin
        periods = elapsed / transition_steps
        if staircase:
            periods = jnp.floor(periods)
        value = jnp.where(elapsed <= 0, init_value, init_value * jnp.power(decay_rate, periods))
        if end_value is not None:
            value = jnp.where(decay_rate < 1, jnp.maximum(value, end_value), jnp.minimum(value, end_value))
        return value

    return schedule


@hyperparameters(elementwise=True)
def step_decay_schedule(
    init_value: jax.typing.ArrayLike,
    transition_steps: jax.typing.ArrayLike,
    decay_rate: jax.typing.ArrayLike = 0.5,
) -> Schedule:
    r"""Step decay: :math:`v(t) = v_0\, r^{\lfloor t / T \rfloor}`.

    "Halve the learning rate every :math:`T` steps" is the default
    ``decay_rate=0.5``; every :math:`x` epochs is
    ``per_epoch(step_decay_schedule(v0, x), steps_per_epoch)`` (PyTorch's
    ``StepLR``).
    """
    return exponential_decay(init_value, transition_steps, decay_rate, staircase=True)


@hyperparameters(elementwise=True)
def natural_exp_decay(
    init_value: jax.typing.ArrayLike,
    decay_rate: jax.typing.ArrayLike,
    transition_steps: jax.typing.ArrayLike = 1,
    staircase: bool = False,
) -> Schedule:
    r"""Exponential decay with a rate: :math:`v(t) = v_0\, e^{-k \tau}`.

    :math:`\tau = t / T`, or :math:`\lfloor t / T \rfloor` with ``staircase``
    (TF1's ``natural_exp_decay``). With the default :math:`T = 1`,
    :math:`v(t) = v_0 e^{-k t}`.

    Args:
      init_value: :math:`v_0 \ge 0`.
      decay_rate: the rate :math:`k \ge 0` per period.
      transition_steps: the period :math:`T > 0`.
      staircase: decay in whole periods.
    """
    _value("init_value", init_value)
    check_scalar("decay_rate", decay_rate, "nonnegative")
    _steps("transition_steps", transition_steps)
    staircase = check_bool("staircase", staircase)

    def schedule(count):
        return init_value * jnp.exp(-decay_rate * _periods(_float(count), transition_steps, staircase))

    return schedule


@hyperparameters(elementwise=True)
def inverse_time_decay(
    init_value: jax.typing.ArrayLike,
    decay_rate: jax.typing.ArrayLike,
    transition_steps: jax.typing.ArrayLike = 1,
    staircase: bool = False,
) -> Schedule:
    r"""Inverse-time decay: :math:`v(t) = v_0 / (1 + k \tau)`.

    :math:`\tau = t / T`, or :math:`\lfloor t / T \rfloor` with ``staircase``
    (TF1's ``inverse_time_decay``; the classical Robbins-Monro
    :math:`\eta_t \propto 1/t` rate).

    Args:
      init_value: :math:`v_0 \ge 0`.
      decay_rate: :math:`k \ge 0`.
      transition_steps: the period :math:`T > 0`.
      staircase: decay in whole periods.
    """
    _value("init_value", init_value)
    check_scalar("decay_rate", decay_rate, "nonnegative")
    _steps("transition_steps", transition_steps)
    staircase = check_bool("staircase", staircase)

    def schedule(count):
        return init_value / (1 + decay_rate * _periods(_float(count), transition_steps, staircase))

    return schedule


@hyperparameters(static=("power",), elementwise=True)  # integer powers stay exact
def polynomial_schedule(
    init_value: jax.typing.ArrayLike,
    end_value: jax.typing.ArrayLike,
    power: jax.typing.ArrayLike,
    transition_steps: jax.typing.ArrayLike,
    transition_begin: jax.typing.ArrayLike = 0,
) -> Schedule:
    r"""Polynomial decay from :math:`v_0` to :math:`v_1` over :math:`T` steps after :math:`B`.

    .. math::  v(t) = (v_0 - v_1) \left(1 - \frac{\min(\max(t - B, 0), T)}{T}\right)^p + v_1

    Args:
      init_value: :math:`v_0 \ge 0`.
      end_value: :math:`v_1 \ge 0`.
      power: :math:`p > 0` (1 is linear).
      transition_steps: :math:`T > 0`.
      transition_begin: :math:`B \ge 0`.
    """
    _value("init_value", init_value)
    _value("end_value", end_value)
    check_scalar("power", power, "positive")
    _steps("transition_steps", transition_steps)
    check_scalar("transition_begin", transition_begin, "nonnegative")

    def schedule(count):
        elapsed = jnp.clip(_float(count) - transition_begin, 0, transition_steps)
        # XLA turns t / T into t * (1 / T), which can exceed 1 at t = T: a fractional power of the
        # negative rest would be NaN for ever after the end (as it is in Optax).
        frac = jnp.maximum(1 - elapsed / transition_steps, 0)
        return (init_value - end_value) * (frac**power) + end_value

    return schedule


@hyperparameters(elementwise=True)
def linear_schedule(
    init_value: jax.typing.ArrayLike,
    end_value: jax.typing.ArrayLike,
    transition_steps: jax.typing.ArrayLike,
    transition_begin: jax.typing.ArrayLike = 0,
) -> Schedule:
    r"""Linear interpolation from :math:`v_0` to :math:`v_1` over steps :math:`[B, B + T]`.

    .. math::  v(t) = v_0 + \frac{\min(\max(t - B, 0), T)}{T} (v_1 - v_0)
    """
    return polynomial_schedule(init_value, end_value, 1, transition_steps, transition_begin)


@hyperparameters(static=("exponent",), elementwise=True)  # integer powers stay exact
def cosine_decay_schedule(
    init_value: jax.typing.ArrayLike,
    decay_steps: jax.typing.ArrayLike,
    alpha: jax.typing.ArrayLike = 0.0,
    exponent: jax.typing.ArrayLike = 1.0,
) -> Schedule:
    r"""Cosine decay from :math:`v_0` to :math:`\alpha v_0` over :math:`T` steps.

    .. math::

        v(t) = v_0 \left[(1 - \alpha) \left(\tfrac12 \left(1 + \cos \frac{\pi \min(t, T)}{T}\right)\right)^p
        + \alpha\right]

    Args:
      init_value: :math:`v_0 \ge 0`.
      decay_steps: :math:`T > 0`.
      alpha: the final fraction :math:`\alpha \in [0, 1]`.
      exponent: :math:`p > 0`.

    References:
      Loshchilov & Hutter, *SGDR: Stochastic Gradient Descent with Warm
      Restarts*, ICLR 2017.
    """
    _value("init_value", init_value)
    _steps("decay_steps", decay_steps)
    check_scalar("alpha", alpha, "closed_unit")
    check_scalar("exponent", exponent, "positive")
    return _cosine(init_value, decay_steps, alpha, exponent)


def _cosine(init_value, decay_steps, alpha, exponent):
    # A float period avoids int32 overflow in pi * t for long runs.
    period = float(decay_steps) if isinstance(decay_steps, int) else decay_steps

    def schedule(count):
        count = jnp.minimum(_float(count), period)
        cosine = 0.5 * (1 + jnp.cos(jnp.pi * count / period))
        return init_value * ((1 - alpha) * cosine**exponent + alpha)

    return schedule


@hyperparameters(elementwise=True)
def join_schedules(schedules: Sequence[Schedule], boundaries: Sequence[jax.typing.ArrayLike]) -> Schedule:
    r"""Runs ``schedules[i]`` from ``boundaries[i-1]`` on, each restarted at count 0.

    :math:`v(t) = s_i(t - b_{i-1})` for :math:`b_{i-1} \le t < b_i`
    (with :math:`b_{-1} = 0`).

    Args:
      schedules: ``n`` schedules.
      boundaries: ``n - 1`` non-decreasing step counts (checked when concrete;
        a later schedule would otherwise never run, or run out of order).
    """
    schedules = list(schedules)
    boundaries = list(boundaries)
    if not schedules or not all(callable(s) for s in schedules):
        raise ValueError(f"schedules must be a non-empty sequence of schedules; got {schedules!r}.")
    if len(boundaries) != len(schedules) - 1:
        raise ValueError(
            f"boundaries must have one entry fewer than schedules ({len(schedules) - 1}); got {len(boundaries)}."
        )
    for i, b in enumerate(boundaries):
        check_scalar(f"boundaries[{i}]", b, "nonnegative")
    concrete = [b for b in boundaries if not _checks.is_traced(b)]
    if len(concrete) == len(boundaries):
        for i in range(1, len(boundaries)):
            if float(boundaries[i]) < float(boundaries[i - 1]):
                raise ValueError(
                    f"boundaries must be non-decreasing; got boundaries[{i - 1}] = {boundaries[i - 1]} "
                    f"> boundaries[{i}] = {boundaries[i]}."
                )

    def schedule(count):
        value = schedules[0](count)
        for boundary, later in zip(boundaries, schedules[1:]):
            value = jnp.where(count < boundary, value, later(count - boundary))
        return value

    return schedule


@hyperparameters(elementwise=True)
def warmup_constant_schedule(
    init_value: jax.typing.ArrayLike,
    peak_value: jax.typing.ArrayLike,
    warmup_steps: jax.typing.ArrayLike,
) -> Schedule:
    r"""Linear warmup from :math:`v_0` to :math:`v_p` over :math:`W` steps, then constant."""
    return linear_schedule(init_value, peak_value, warmup_steps)


@hyperparameters(static=("exponent",), elementwise=True)  # integer powers stay exact
def warmup_cosine_decay_schedule(
    init_value: jax.typing.ArrayLike,
    peak_value: jax.typing.ArrayLike,
    warmup_steps: jax.typing.ArrayLike,
    decay_steps: jax.typing.ArrayLike,
    end_value: jax.typing.ArrayLike = 0.0,
    exponent: jax.typing.ArrayLike = 1.0,
) -> Schedule:
    r"""Linear warmup to :math:`v_p` over :math:`W` steps, then cosine decay to :math:`v_1`.

    .. math::

        v(t) = \begin{cases} v_0 + \frac{t}{W}(v_p - v_0) & t < W \\
        v_1 + (v_p - v_1) \left(\tfrac12\left(1 + \cos \frac{\pi \min(t - W, D - W)}{D - W}\right)\right)^p
        & t \ge W \end{cases}

    ``decay_steps`` :math:`D > W` is the total length, warmup included: the
    cosine runs over :math:`D - W` steps (Optax's convention).
    """
    _value("init_value", init_value)
    _value("peak_value", peak_value)
    _value("end_value", end_value)
    _steps("warmup_steps", warmup_steps)
    _steps("decay_steps", decay_steps)
    check_scalar("exponent", exponent, "positive")
    if not (_checks.is_traced(decay_steps) or _checks.is_traced(warmup_steps)) and decay_steps <= warmup_steps:
        raise ValueError(
            f"decay_steps must be > warmup_steps ({warmup_steps}), it includes the warmup; got {decay_steps}."
        )
    if isinstance(peak_value, (int, float)) and isinstance(end_value, (int, float)):
        alpha = 0.0 if peak_value == 0 else end_value / peak_value
    else:
        alpha = jnp.where(peak_value == 0, 0.0, end_value / jnp.where(peak_value == 0, 1, peak_value))
    return join_schedules(
        [
            linear_schedule(init_value, peak_value, warmup_steps),
            _cosine(peak_value, decay_steps - warmup_steps, alpha, exponent),
        ],
        [warmup_steps],
    )


@hyperparameters(elementwise=True)
def linear_warmup(
    schedule: ScalarOrSchedule,
    warmup_steps: jax.typing.ArrayLike,
    init_value: jax.typing.ArrayLike = 0.0,
) -> Schedule:
    r"""Prefixes a schedule (or a constant) with a linear warmup.

    :math:`v(t) = v_0 + \frac{t}{W}(s(0) - v_0)` for :math:`t < W`, then
    :math:`s(t - W)`: the wrapped schedule starts after the warmup (Goyal et
    al., 2017, warm up the large-batch rate over the first epochs).
    """
    _steps("warmup_steps", warmup_steps)
    _value("init_value", init_value)
    after = schedule if callable(schedule) else constant_schedule(schedule)
    peak = after(0)
    return join_schedules([linear_schedule(init_value, peak, warmup_steps), after], [warmup_steps])


@hyperparameters(elementwise=True)
def per_epoch(schedule: Schedule, steps_per_epoch: jax.typing.ArrayLike, *, fractional: bool = False) -> Schedule:
    r"""Turns a schedule over epochs into one over steps.

    :math:`v(t) = s(\lfloor t / N \rfloor)` (constant within an epoch, like a
    PyTorch scheduler stepped once per epoch) or, with ``fractional``,
    :math:`s(t / N)`, with :math:`N` = ``steps_per_epoch``.
    """
    if not callable(schedule):
        raise ValueError(f"schedule must be a callable count -> value; got {schedule!r}.")
    if not _checks.is_traced(steps_per_epoch):
        _checks.check_int("steps_per_epoch", steps_per_epoch, minimum=1)
    fractional = check_bool("fractional", fractional)

    def stepped(count):
        count = jnp.asarray(count)
        if fractional:
            return schedule(count / steps_per_epoch)
        return schedule(count // steps_per_epoch)

    return stepped


@hyperparameters(elementwise=True)
def linear_scaling_rule(
    base_learning_rate: ScalarOrSchedule,
    batch_size: jax.typing.ArrayLike,
    base_batch_size: jax.typing.ArrayLike = 256,
) -> ScalarOrSchedule:
    r"""The linear scaling rule: :math:`\eta = \eta_0 \cdot B / B_0`.

    When the batch size is multiplied by :math:`k`, multiply the learning rate
    by :math:`k` (Goyal et al., *Accurate, Large Minibatch SGD: Training
    ImageNet in 1 Hour*, 2017; best combined with :func:`linear_warmup`).

    Args:
      base_learning_rate: :math:`\eta_0` (> 0), tuned at batch size
        :math:`B_0`, or a schedule (then the scaled schedule is returned).
      batch_size: the batch size :math:`B` in use (integer >= 1).
      base_batch_size: :math:`B_0` (integer >= 1).
    """
    if not callable(base_learning_rate):
        check_scalar("base_learning_rate", base_learning_rate, "positive")
    for name, size in (("batch_size", batch_size), ("base_batch_size", base_batch_size)):
        if not _checks.is_traced(size):
            _checks.check_int(name, size, minimum=1)
    factor = batch_size / base_batch_size
    if callable(base_learning_rate):
        return lambda count: base_learning_rate(count) * factor
    return base_learning_rate * factor


# ------------------------------------------------- PyTorch's cyclical schedules


def _half_cosine(rest):
    r"""``(1 + cos(pi (1 - rest))) / 2`` written as ``sin(pi rest / 2)^2``: accurate near 0 in float32 too."""
    return jnp.sin(jnp.pi / 2 * rest) ** 2


def _anneal(strategy: str, start, end, pct, rest):
    """From ``start`` (pct 0) to ``end`` (pct 1; ``rest = 1 - pct``): half a cosine or a line (PyTorch's)."""
    if strategy == "cos":
        return end + (start - end) * _half_cosine(rest)
    return start * rest + end * pct  # PyTorch's (end - start) pct + start, without its cancellation near end


def _one_cycle_ends(total_steps, pct_start, three_phase):
    """The last step of each phase (floats, PyTorch's ``end_step``)."""
    if three_phase:
        return [pct_start * total_steps - 1, 2 * pct_start * total_steps - 2, total_steps - 1]
    return [pct_start * total_steps - 1, total_steps - 1]


def _one_cycle(count, total_steps, pct_start, strategy, three_phase, values):
    """PyTorch's ``OneCycleLR.get_lr`` at ``last_epoch = count``; ``values`` are the phases' (start, end)."""
    ends = _one_cycle_ends(total_steps, pct_start, three_phase)
    step = jnp.minimum(_float(count), total_steps - 1)
    result = None
    start_step = 0.0
    for i in reversed(range(len(ends))):
        start_step = 0.0 if i == 0 else ends[i - 1]
        start, end = values[i]
        length = ends[i] - start_step
        value = _anneal(strategy, start, end, (step - start_step) / length, (ends[i] - step) / length)
        result = value if result is None else jnp.where(step <= ends[i], value, result)
    return result


def _check_one_cycle(total_steps, pct_start, anneal_strategy, three_phase):
    _steps("total_steps", total_steps)
    check_scalar("pct_start", pct_start, "closed_unit")
    _checks.check_choice("anneal_strategy", anneal_strategy, ("cos", "linear"))
    three_phase = check_bool("three_phase", three_phase)
    if not (_checks.is_traced(total_steps) or _checks.is_traced(pct_start)):
        ends = [float(e) for e in _one_cycle_ends(total_steps, pct_start, three_phase)]
        starts = [0.0, *ends[:-1]]
        if any(e <= s for s, e in zip(starts, ends)):
            raise ValueError(
                f"pct_start = {pct_start} with total_steps = {total_steps} leaves a phase of no steps "
                f"(the phases end at steps {ends}); take more steps or another pct_start."
            )
    return three_phase


@hyperparameters(elementwise=True)
def one_cycle_schedule(
    total_steps: jax.typing.ArrayLike,
    max_lr: jax.typing.ArrayLike,
    pct_start: jax.typing.ArrayLike = 0.3,
    anneal_strategy: str = "cos",
    div_factor: jax.typing.ArrayLike = 25.0,
    final_div_factor: jax.typing.ArrayLike = 1e4,
    three_phase: bool = False,
) -> Schedule:
    r"""The 1cycle policy: up from :math:`\eta_{\max}/d` to :math:`\eta_{\max}`, then down far below (``OneCycleLR``).

    With :math:`T` = ``total_steps``, :math:`p` = ``pct_start``,
    :math:`\eta_0 = \eta_{\max} / d` (``div_factor``) and
    :math:`\eta_{\min} = \eta_0 / f` (``final_div_factor``), the phases end at
    steps :math:`e_1 = pT - 1` and :math:`e_2 = T - 1` (three phases:
    :math:`e_1 = pT - 1`, :math:`e_2 = 2pT - 2`, :math:`e_3 = T - 1`) and

    .. math::

        v(t) = A\left(a_i, b_i, \frac{t - e_{i-1}}{e_i - e_{i-1}}\right) \quad (e_{i-1} < t \le e_i,\ e_0 = 0),
        \qquad A(a, b, x) = b + \frac{a - b}{2}(1 + \cos \pi x) \ \text{or}\ a + (b - a) x

    (``"cos"`` or ``"linear"``), from :math:`\eta_0` to :math:`\eta_{\max}` then to
    :math:`\eta_{\min}` (three phases: :math:`\eta_0 \to \eta_{\max} \to \eta_0 \to \eta_{\min}`).
    These are ``torch.optim.lr_scheduler.OneCycleLR``'s values with
    ``last_epoch`` = :math:`t`, the rate of the :math:`(t+1)`-th step; after
    :math:`T - 1` the value stays :math:`\eta_{\min}` (PyTorch refuses to step
    further). The momentum PyTorch cycles with it is
    :func:`one_cycle_momentum_schedule` (e.g. ``sgd(one_cycle_schedule(...),
    momentum=one_cycle_momentum_schedule(...))``).

    Args:
      total_steps: :math:`T > 0` (``epochs * steps_per_epoch``).
      max_lr: :math:`\eta_{\max} > 0`.
      pct_start: :math:`p \in [0, 1]`, the fraction of the steps spent rising.
      anneal_strategy: ``"cos"`` or ``"linear"``.
      div_factor: :math:`d > 0`.
      final_div_factor: :math:`f > 0`.
      three_phase: PyTorch's three-phase variant (fast.ai's original).

    References:
      Smith & Topin, *Super-Convergence: Very Fast Training of Neural Networks
      Using Large Learning Rates*, 2017.
    """
    three_phase = _check_one_cycle(total_steps, pct_start, anneal_strategy, three_phase)
    check_scalar("max_lr", max_lr, "positive")
    check_scalar("div_factor", div_factor, "positive")
    check_scalar("final_div_factor", final_div_factor, "positive")
    initial = max_lr / div_factor
    final = initial / final_div_factor
    if three_phase:
        values = [(initial, max_lr), (max_lr, initial), (initial, final)]
    else:
        values = [(initial, max_lr), (max_lr, final)]
    return lambda count: _one_cycle(count, total_steps, pct_start, anneal_strategy, three_phase, values)


@hyperparameters(elementwise=True)
def one_cycle_momentum_schedule(
    total_steps: jax.typing.ArrayLike,
    base_momentum: jax.typing.ArrayLike = 0.85,
    max_momentum: jax.typing.ArrayLike = 0.95,
    pct_start: jax.typing.ArrayLike = 0.3,
    anneal_strategy: str = "cos",
    three_phase: bool = False,
) -> Schedule:
    r"""The momentum of the 1cycle policy: from ``max_momentum`` down to ``base_momentum`` and back.

    Same phases as :func:`one_cycle_schedule`; the momentum goes
    :math:`\mu_{\max} \to \mu_{\min} \to \mu_{\max}` (three phases:
    :math:`\mu_{\max} \to \mu_{\min} \to \mu_{\max} \to \mu_{\max}`), PyTorch's
    ``OneCycleLR(cycle_momentum=True)`` momentum (or ``beta1``).
    """
    three_phase = _check_one_cycle(total_steps, pct_start, anneal_strategy, three_phase)
    check_scalar("base_momentum", base_momentum, "unit")
    check_scalar("max_momentum", max_momentum, "unit")
    low, high = base_momentum, max_momentum
    values = [(high, low), (low, high), (high, high)] if three_phase else [(high, low), (low, high)]
    return lambda count: _one_cycle(count, total_steps, pct_start, anneal_strategy, three_phase, values)


@hyperparameters(elementwise=True)
def cyclic_schedule(
    base_lr: jax.typing.ArrayLike,
    max_lr: jax.typing.ArrayLike,
    step_size_up: jax.typing.ArrayLike = 2000,
    step_size_down: jax.typing.ArrayLike | None = None,
    mode: str = "triangular",
    gamma: jax.typing.ArrayLike = 1.0,
) -> Schedule:
    r"""Cyclical learning rates between ``base_lr`` and ``max_lr`` (PyTorch's ``CyclicLR``).

    With a cycle of :math:`U + D` steps (up, down), :math:`c = \lfloor t / (U + D) \rfloor + 1`
    the cycle and :math:`r = t - (c - 1)(U + D)` the step within it,

    .. math::

        v(t) = \eta_0 + (\eta_1 - \eta_0)\, h(r)\, s, \qquad
        h(r) = \begin{cases} r / U & r \le U \\ (U + D - r) / D & r > U \end{cases}

    with :math:`s = 1` (``"triangular"``), :math:`s = 2^{1 - c}` (``"triangular2"``:
    the amplitude halves every cycle) or :math:`s = \gamma^t` (``"exp_range"``).
    These are ``torch.optim.lr_scheduler.CyclicLR``'s values with ``last_epoch``
    = :math:`t` (PyTorch steps it once per batch).

    Args:
      base_lr: :math:`\eta_0 \ge 0`.
      max_lr: :math:`\eta_1 \ge 0`.
      step_size_up: :math:`U > 0` steps rising.
      step_size_down: :math:`D > 0` steps falling (default :math:`U`).
      mode: ``"triangular"``, ``"triangular2"`` or ``"exp_range"``.
      gamma: :math:`\gamma > 0` of ``"exp_range"``.

    References:
      Smith, *Cyclical Learning Rates for Training Neural Networks*, WACV 2017.
    """
    _value("base_lr", base_lr)
    _value("max_lr", max_lr)
    _steps("step_size_up", step_size_up)
    if step_size_down is not None:
        _steps("step_size_down", step_size_down)
    _checks.check_choice("mode", mode, ("triangular", "triangular2", "exp_range"))
    check_scalar("gamma", gamma, "positive")
    up = step_size_up
    down = up if step_size_down is None else step_size_down

    def schedule(count):
        t = _float(count)
        total = up + down
        cycle = jnp.floor(t / total) + 1
        r = t - (cycle - 1) * total
        height = jnp.where(r <= up, r / up, (total - r) / down)
        if mode == "triangular":
            factor = 1.0
        elif mode == "triangular2":
            factor = 1 / (2.0 ** (cycle - 1))
        elif isinstance(gamma, (int, float)):
            factor = jnp.exp(t * math.log(gamma))  # log(gamma) in double precision: gamma**t to ~1e-7 in float32
        else:
            factor = gamma**t
        return base_lr + (max_lr - base_lr) * height * factor

    return schedule


@hyperparameters(static=("T_mult",), elementwise=True)
def cosine_warm_restarts_schedule(
    init_value: jax.typing.ArrayLike,
    T_0: jax.typing.ArrayLike,
    T_mult: int = 1,
    eta_min: jax.typing.ArrayLike = 0.0,
) -> Schedule:
    r"""Cosine annealing with warm restarts (SGDR; PyTorch's ``CosineAnnealingWarmRestarts``).

    Cycle :math:`i = 0, 1, \dots` lasts :math:`T_i = T_0 T_{\text{mult}}^i` steps
    and starts at :math:`S_i = T_0 (T_{\text{mult}}^i - 1) / (T_{\text{mult}} - 1)`
    (:math:`i T_0` when :math:`T_{\text{mult}} = 1`); within it, at
    :math:`T_{\text{cur}} = t - S_i`,

    .. math::  v(t) = \eta_{\min} + \frac{\eta_0 - \eta_{\min}}{2}\left(1 + \cos \frac{\pi T_{\text{cur}}}{T_i}\right)

    PyTorch's values with ``last_epoch`` = :math:`t` (stepped once per step,
    or per epoch with :func:`per_epoch`).

    Args:
      init_value: :math:`\eta_0 \ge 0`, the rate at every restart.
      T_0: :math:`T_0 > 0`, the first cycle's length.
      T_mult: an integer :math:`\ge 1`, the growth of the cycles (structure:
        it decides the formula).
      eta_min: :math:`\eta_{\min} \ge 0`.

    References:
      Loshchilov & Hutter, *SGDR: Stochastic Gradient Descent with Warm
      Restarts*, ICLR 2017.
    """
    _value("init_value", init_value)
    _steps("T_0", T_0)
    _checks.check_int("T_mult", T_mult, minimum=1)
    _value("eta_min", eta_min)

    def schedule(count):
        t = _float(count)
        if T_mult == 1:
            start = jnp.floor(t / T_0) * T_0
            length = T_0
        else:
            start_of = lambda i: T_0 * (T_mult**i - 1) / (T_mult - 1)
            i = jnp.floor(jnp.log1p(t / T_0 * (T_mult - 1)) / jnp.log(float(T_mult)))
            # The logarithm may round across a restart: settle the cycle on exact starts.
            i = jnp.where(t < start_of(i), i - 1, jnp.where(t >= start_of(i + 1), i + 1, i))
            start = start_of(i)
            length = T_0 * T_mult**i
        return eta_min + (init_value - eta_min) * _half_cosine((start + length - t) / length)

    return schedule

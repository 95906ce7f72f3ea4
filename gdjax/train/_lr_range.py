r"""The learning-rate range test: one short training with an exponentially increasing rate.

Smith's range test (fast.ai's ``lr_find``): train from the given parameters for
``num_steps`` mini-batch steps while the rate grows geometrically from
``min_lr`` to ``max_lr``, record the loss of every step, smooth it, and read a
good rate off the curve, before the loss explodes. The whole run is one
compiled ``lax.scan``; once the smoothed loss exceeds ``diverge_factor``
times its minimum (or is not finite) the run stops updating, and the steps
after it are dropped from the result.

Uses only the public API of :mod:`gdjax.optim` and :mod:`gdjax.data`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

import gdjax.data as gdata
import gdjax.optim as optim
from gdjax import _checks


class LRRangeResult(NamedTuple):
    """The outcome of :func:`lr_range_test` (NumPy arrays over the steps run).

    Attributes:
      learning_rates: the rate of each step, :math:`\\eta_t = \\eta_{\\min} r^t`.
      losses: the mini-batch loss of each step (before its update).
      smoothed_losses: their debiased exponential moving average,
        :math:`\\bar\\ell_t = a_t / (1 - \\beta^{t+1})`, :math:`a_t = \\beta a_{t-1} + (1 - \\beta) \\ell_t`.
      suggested_lr: the rate suggested by the rule ``suggestion`` (see
        :func:`lr_range_test`).
      steepest_lr: the rate where the smoothed loss falls fastest per unit of
        :math:`\\log \\eta` (fast.ai's "steep" suggestion).
      min_loss_lr: the rate at the minimum of the smoothed loss.
      diverged: whether the run stopped because the loss exploded.
      num_steps_run: the steps kept (all of them unless the loss exploded).
    """

    learning_rates: np.ndarray
    losses: np.ndarray
    smoothed_losses: np.ndarray
    suggested_lr: float
    steepest_lr: float
    min_loss_lr: float
    diverged: bool
    num_steps_run: int


def lr_range_test(
    loss_fn: Callable[[Any, Any], Any],
    params: Any,
    train_data: Any,
    *,
    optimizer_factory: Callable[[Any], Any],
    min_lr: float = 1e-7,
    max_lr: float = 10.0,
    num_steps: int = 100,
    batch_size: int | None = None,
    key: Any = 0,
    smoothing: float = 0.98,
    diverge_factor: float = 4.0,
    suggestion: str = "steepest",
    skip_start: int = 10,
    skip_end: int = 5,
) -> LRRangeResult:
    r"""Runs the learning-rate range test and suggests a rate.

    The rate of step :math:`t = 0, \dots, T-1` is
    :math:`\eta_t = \eta_{\min} (\eta_{\max} / \eta_{\min})^{t / (T - 1)}`, given to
    ``optimizer_factory`` as a schedule (``optim.exponential_decay`` with a
    growth factor), so any optimizer is tested with its own update rule.
    Batches come from a fresh permutation of ``train_data`` every epoch.

    Suggestions (``suggestion``):

    - ``"steepest"`` (default, fast.ai's ``steep``): the rate at the steepest
      descent of the smoothed loss against :math:`\log \eta`, i.e. the minimum
      of :math:`\Delta \bar\ell / \Delta \log \eta`, ignoring the first
      ``skip_start`` and last ``skip_end`` points kept;
    - ``"minimum"`` (Smith; fast.ai's ``minimum``): one tenth of the rate at
      the minimum of the smoothed loss.

    Args:
      loss_fn: ``loss_fn(params, batch) -> scalar``, a mean over the batch.
      params: the starting parameters (the test does not change them).
      train_data: a pytree of arrays with a common leading example axis.
      optimizer_factory: ``learning_rate -> transformation``, e.g.
        ``lambda lr: optim.adam(lr)``; it receives a schedule.
      min_lr, max_lr: :math:`0 < \eta_{\min} < \eta_{\max}`.
      num_steps: :math:`T \ge 2` steps.
      batch_size: examples per step (default: the whole set).
      key: PRNG key or seed of the batch order.
      smoothing: :math:`\beta \in [0, 1)` of the moving average.
      diverge_factor: stop when the smoothed loss exceeds this multiple of its
        minimum (> 1).
      suggestion: ``"steepest"`` or ``"minimum"``.
      skip_start, skip_end: points left out of the steepest-slope search.

    Returns:
      An :class:`LRRangeResult` (:func:`gdjax.plot.plot_lr_range` draws it).

    References:
      Smith, *Cyclical Learning Rates for Training Neural Networks*, WACV 2017;
      Howard & Gugger, *fastai: A Layered API for Deep Learning*, 2020.
    """
    if not callable(loss_fn):
        raise ValueError(f"loss_fn must be a callable (params, batch) -> scalar; got {loss_fn!r}.")
    if not callable(optimizer_factory):
        raise ValueError(
            f"optimizer_factory must be a callable learning_rate -> transformation; got {optimizer_factory!r}."
        )
    _checks.check_positive("min_lr", min_lr)
    _checks.check_positive("max_lr", max_lr)
    if not max_lr > min_lr:
        raise ValueError(f"max_lr must be > min_lr ({min_lr}); got {max_lr}.")
    num_steps = _checks.check_int("num_steps", num_steps, minimum=2)
    _checks.check_unit_interval("smoothing", smoothing)
    _checks.check_range("diverge_factor", diverge_factor, low=1.0, low_inclusive=False)
    _checks.check_choice("suggestion", suggestion, ("steepest", "minimum"))
    skip_start = _checks.check_int("skip_start", skip_start, minimum=0)
    skip_end = _checks.check_int("skip_end", skip_end, minimum=0)
    gdata.check_data("train_data", train_data)
    n = gdata.num_examples("train_data", train_data)
    batch_size = n if batch_size is None else _checks.check_int("batch_size", batch_size, minimum=1, maximum=n)
    key = gdata.as_key(key)

    growth = (max_lr / min_lr) ** (1.0 / (num_steps - 1))
    schedule = optim.exponential_decay(min_lr, 1, growth)
    optimizer = optimizer_factory(schedule)
    if not (callable(getattr(optimizer, "init", None)) and callable(getattr(optimizer, "update", None))):
        raise ValueError(f"optimizer_factory must return a gradient transformation; it returned {optimizer!r}.")
    steps_per_epoch = gdata.num_batches(n, batch_size)
    epochs = math.ceil(num_steps / steps_per_epoch)

    @jax.jit
    def run(params, data, key):
        orders = jax.vmap(lambda e: gdata.epoch_batches(jax.random.fold_in(key, e), n, batch_size).indices)(
            jnp.arange(epochs)
        )
        indices = orders.reshape(epochs * steps_per_epoch, batch_size)[:num_steps]
        state = optimizer.init(params)
        zero = jnp.zeros([], jnp.result_type(float))

        def step(carry, xs):
            params, state, average, best, stopped = carry
            t, idx = xs
            batch = jax.tree.map(lambda leaf: leaf[idx], data)
            loss, grads = jax.value_and_grad(loss_fn)(params, batch)
            loss = jnp.asarray(loss, zero.dtype)
            average = jnp.where(stopped, average, smoothing * average + (1 - smoothing) * loss)
            smoothed = average / (1 - smoothing ** (t + 1).astype(zero.dtype))
            exploded = ~jnp.isfinite(smoothed) | (smoothed > diverge_factor * best)
            stopped = stopped | exploded
            best = jnp.where(stopped, best, jnp.minimum(best, smoothed))
            updates, new_state = optimizer.update(grads, state, params)
            new_params = optim.apply_updates(params, updates)
            keep = lambda new, old: jax.tree.map(lambda a, b: jnp.where(stopped, b, a), new, old)
            carry = (keep(new_params, params), keep(new_state, state), average, best, stopped)
            return carry, (loss, smoothed, stopped)

        init = (params, state, zero, jnp.asarray(jnp.inf, zero.dtype), jnp.asarray(False))
        return jax.lax.scan(step, init, (jnp.arange(num_steps), indices))[1]

    losses, smoothed, stopped = (np.asarray(a) for a in run(params, train_data, key))
    rates = np.asarray(jax.vmap(schedule)(jnp.arange(num_steps)), np.float64)
    diverged = bool(stopped.any())
    kept = int(np.argmax(stopped)) if diverged else num_steps
    kept = max(kept, 1)
    rates, losses, smoothed = rates[:kept], losses[:kept].astype(np.float64), smoothed[:kept].astype(np.float64)

    min_loss_lr = float(rates[int(np.nanargmin(smoothed))])
    window = slice(skip_start, max(kept - skip_end, skip_start))
    log_rates, curve = np.log(rates[window]), smoothed[window]
    if curve.size >= 2:
        slopes = np.diff(curve) / np.diff(log_rates)
        steepest_lr = float(np.exp(log_rates[int(np.nanargmin(slopes))]))
    else:  # too few points kept to measure a slope
        steepest_lr = min_loss_lr / 10.0
    suggested = steepest_lr if suggestion == "steepest" else min_loss_lr / 10.0
    return LRRangeResult(rates, losses, smoothed, suggested, steepest_lr, min_loss_lr, diverged, kept)

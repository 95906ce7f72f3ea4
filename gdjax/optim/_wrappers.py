"""Wrappers around a transformation: masks, skipping non-finite steps, gradient accumulation, Lookahead, averages."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from gdjax import _checks
from gdjax._typing import PyTree
from gdjax.optim import _hyper
from gdjax.optim._base import NO_PARAMS_MSG, GradientTransformation, all_finite, call_update, safe_increment, zero_count
from gdjax.optim._recipe import hyperparameters


class MaskedNode(NamedTuple):
    """Stands for a masked-out leaf or subtree: an empty pytree node, so ``tree.map`` skips it."""


class MaskedState(NamedTuple):
    """State of :func:`masked`: the inner state, built on the unmasked leaves only."""

    inner_state: Any


def _resolve_mask(mask: Any, tree: PyTree) -> PyTree:
    mask_tree = mask(tree) if callable(mask) else mask
    for leaf in jax.tree.leaves(mask_tree):
        if not isinstance(leaf, (bool, np.bool_)):
            raise ValueError(
                f"mask leaves must be Python booleans (the mask is static, known before compiling); got {leaf!r}."
            )
    return mask_tree


def _mask_tree(tree: PyTree, mask_tree: PyTree) -> PyTree:
    # mask_tree is a prefix of tree: each boolean keeps or masks a whole subtree.
    return jax.tree.map(lambda m, sub: sub if m else MaskedNode(), mask_tree, tree)


@hyperparameters
def masked(inner: GradientTransformation, mask: PyTree | Callable[[PyTree], PyTree]) -> GradientTransformation:
    """Applies ``inner`` to the leaves where ``mask`` is True; the others pass through unchanged.

    Args:
      inner: the transformation to apply to the selected leaves. Its state is
        built on the selected leaves only.
      mask: a pytree of Python booleans with the structure of the parameters
        (or a prefix of it: one boolean selects a whole subtree), or a function
        ``params -> mask``, e.g. ``lambda p: jax.tree.map(lambda x: x.ndim > 1, p)``
        to skip weight decay on biases.
    """

    def init_fn(params):
        mask_tree = _resolve_mask(mask, params)
        return MaskedState(inner.init(_mask_tree(params, mask_tree)))

    def update_fn(updates, state, params=None, **extra_args):
        mask_tree = _resolve_mask(mask, updates)
        masked_params = None if params is None else _mask_tree(params, mask_tree)
        new_updates, inner_state = call_update(
            inner.update, _mask_tree(updates, mask_tree), state.inner_state, masked_params, extra_args
        )
        updates = jax.tree.map(lambda m, new, old: new if m else old, mask_tree, new_updates, updates)
        return updates, MaskedState(inner_state)

    return GradientTransformation(init_fn, update_fn)


class ApplyIfFiniteState(NamedTuple):
    """State of :func:`apply_if_finite`.

    Attributes:
      notfinite_count: int32 number of consecutive updates that held a NaN or
        infinity (reset to 0 by a finite one).
      last_finite: bool, whether the last update was finite.
      total_notfinite: int32 number of non-finite updates since ``init``.
      inner_state: the state of the wrapped transformation.
    """

    notfinite_count: jax.Array
    last_finite: jax.Array
    total_notfinite: jax.Array
    inner_state: Any


@hyperparameters(elementwise=True)
def apply_if_finite(inner: GradientTransformation, max_consecutive_errors: int) -> GradientTransformation:
    """Skips updates holding a NaN or an infinity, and counts them.

    When the incoming updates hold a non-finite value, the step is rejected:
    the updates become zeros and the inner state is left as it was. After more
    than ``max_consecutive_errors`` consecutive rejections the wrapper gives up
    and applies the (non-finite) update, so that a run that has truly diverged
    shows it instead of silently freezing.

    Args:
      inner: the transformation to protect.
      max_consecutive_errors: how many consecutive non-finite updates to skip
        (an integer >= 0; may be traced).
    """
    if not _checks.is_traced(max_consecutive_errors):
        _checks.check_int("max_consecutive_errors", max_consecutive_errors, minimum=0)

    def init_fn(params):
        return ApplyIfFiniteState(
            notfinite_count=zero_count(),
            last_finite=jnp.array(True),
            total_notfinite=zero_count(),
            inner_state=inner.init(params),
        )

    def update_fn(updates, state, params=None, **extra_args):
        finite = all_finite(updates)
        notfinite_count = jnp.where(finite, zero_count(), safe_increment(state.notfinite_count))

        def accept(operand):
            u, s = operand
            return call_update(inner.update, u, s, params, extra_args)

        def reject(operand):
            u, s = operand
            return jax.tree.map(jnp.zeros_like, u), s

        updates, inner_state = jax.lax.cond(
            jnp.logical_or(finite, notfinite_count > max_consecutive_errors),
            accept,
            reject,
            (updates, state.inner_state),
        )
        return updates, ApplyIfFiniteState(
            notfinite_count=notfinite_count,
            last_finite=finite,
            total_notfinite=jnp.where(finite, state.total_notfinite, safe_increment(state.total_notfinite)),
            inner_state=inner_state,
        )

    return GradientTransformation(init_fn, update_fn)


# ------------------------------------------------------ gradient accumulation


class MultiStepsState(NamedTuple):
    """State of :func:`multi_steps`.

    Attributes:
      mini_step: int32 micro-batches accumulated since the last update.
      gradient_step: int32 updates applied (the count ``every_k_schedule`` reads).
      inner_opt_state: the wrapped optimizer's state (moves once per update).
      acc_grads: the running mean (or sum) of the micro-batches' gradients.
    """

    mini_step: jax.Array
    gradient_step: jax.Array
    inner_opt_state: Any
    acc_grads: PyTree


@hyperparameters(static=("use_grad_mean",), elementwise=True)
def multi_steps(
    opt: GradientTransformation,
    every_k_schedule: Any,
    use_grad_mean: bool = True,
    accumulator_dtype: Any = None,
) -> GradientTransformation:
    r"""Accumulates the gradients of :math:`k` micro-batches, then applies ``opt`` once (Optax's ``MultiSteps``).

    For micro-steps :math:`j = 1, \dots, k`:
    :math:`a_j = a_{j-1} + (g_j - a_{j-1}) / j` (the mean; or the sum
    :math:`a_j = a_{j-1} + g_j`), the update is 0 for :math:`j < k`, and at
    :math:`j = k` it is ``opt``'s update of :math:`a_k`; then :math:`a` restarts
    at 0. So :math:`k` micro-batches of size :math:`B` make one step of a batch of
    :math:`kB` (for a mean loss, with the mean). ``opt``'s state moves only on
    those steps, and its update runs only then (``lax.cond``; under ``vmap`` both
    sides run).

    Args:
      opt: the optimizer applied every :math:`k` micro-steps.
      every_k_schedule: :math:`k`, an integer >= 1 (may be traced), or a
        schedule ``gradient_step -> k`` (a growing effective batch).
      use_grad_mean: average the micro-batches' gradients (True) or sum them.
      accumulator_dtype: dtype of the accumulator (default: the gradients';
        Optax's default is float32).
    """
    if not callable(every_k_schedule) and not _checks.is_traced(every_k_schedule):
        _checks.check_int("every_k_schedule", every_k_schedule, minimum=1)
    if not isinstance(use_grad_mean, (bool, np.bool_)):
        raise ValueError(f"use_grad_mean must be True or False; got {use_grad_mean!r}.")
    accumulator_dtype = _hyper.check_dtype("accumulator_dtype", accumulator_dtype)
    k_of = every_k_schedule if callable(every_k_schedule) else (lambda step: every_k_schedule)

    def init_fn(params):
        acc = jax.tree.map(lambda p: jnp.zeros_like(p, dtype=accumulator_dtype), params)
        return MultiStepsState(zero_count(), zero_count(), opt.init(params), acc)

    def update_fn(updates, state, params=None, **extra_args):
        k = _hyper.scheduled("every_k_schedule", k_of, state.gradient_step)
        if use_grad_mean:
            n = (state.mini_step + 1).astype(jnp.result_type(float))
            acc = jax.tree.map(lambda g, a: a + (g.astype(a.dtype) - a) / n.astype(a.dtype), updates, state.acc_grads)
        else:
            acc = jax.tree.map(lambda g, a: a + g.astype(a.dtype), updates, state.acc_grads)
        emit = state.mini_step >= k - 1

        def apply(operand):
            acc, inner_state = operand
            grads = jax.tree.map(lambda a, g: a.astype(g.dtype), acc, updates)
            return call_update(opt.update, grads, inner_state, params, extra_args)

        def hold(operand):
            _, inner_state = operand
            return jax.tree.map(jnp.zeros_like, updates), inner_state

        new_updates, inner_state = jax.lax.cond(emit, apply, hold, (acc, state.inner_opt_state))
        return new_updates, MultiStepsState(
            mini_step=jnp.where(emit, 0, state.mini_step + 1).astype(jnp.int32),
            gradient_step=jnp.where(emit, safe_increment(state.gradient_step), state.gradient_step),
            inner_opt_state=inner_state,
            acc_grads=jax.tree.map(lambda a: jnp.where(emit, jnp.zeros_like(a), a), acc),
        )

    return GradientTransformation(init_fn, update_fn)


class MultiSteps:
    """Optax's ``MultiSteps`` object around :func:`multi_steps`: ``init``, ``update``, ``has_updated``."""

    def __init__(
        self,
        opt: GradientTransformation,
        every_k_schedule: Any,
        use_grad_mean: bool = True,
        accumulator_dtype: Any = None,
    ):
        self._transformation = multi_steps(opt, every_k_schedule, use_grad_mean, accumulator_dtype)
        self.inner_opt = opt

    def init(self, params: PyTree) -> MultiStepsState:
        return self._transformation.init(params)

    def update(self, updates, state, params=None, **extra_args):
        return self._transformation.update(updates, state, params, **extra_args)

    @staticmethod
    def has_updated(state: MultiStepsState) -> jax.Array:
        """Whether the last ``update`` applied the inner optimizer."""
        return jnp.logical_and(state.mini_step == 0, state.gradient_step > 0)

    def gradient_transformation(self) -> GradientTransformation:
        return self._transformation


# ----------------------------------------------------------------- lookahead


class LookaheadState(NamedTuple):
    """State of :func:`lookahead`.

    Attributes:
      fast_state: the fast optimizer's state.
      steps_since_sync: int32 fast steps since the last synchronisation.
      slow_params: the slow weights :math:`\\phi`.
    """

    fast_state: Any
    steps_since_sync: jax.Array
    slow_params: PyTree


@hyperparameters(elementwise=True)
def lookahead(
    fast_optimizer: GradientTransformation,
    sync_period: jax.typing.ArrayLike,
    slow_step_size: jax.typing.ArrayLike,
    reset_state: bool = False,
) -> GradientTransformation:
    r"""Lookahead: :math:`k` fast steps forward, one step back towards the slow weights.

    The parameters are the fast weights :math:`\theta`; the state keeps the
    slow weights :math:`\phi` (initially the parameters). Every step applies
    the fast optimizer; every :math:`k`-th step, after it,

    .. math::  \phi \leftarrow \phi + \alpha (\theta - \phi), \qquad \theta \leftarrow \phi

    (``optax.lookahead``'s ``params.fast`` step for step, with plain
    parameters instead of Optax's ``LookaheadParams`` pair).

    Args:
      fast_optimizer: the inner optimizer.
      sync_period: :math:`k`, an integer >= 1 (may be traced).
      slow_step_size: :math:`\alpha \in [0, 1]`.
      reset_state: re-initialise the fast optimizer's state at each
        synchronisation (from the fast weights before the step, as Optax).

    References:
      Zhang et al., *Lookahead Optimizer: k steps forward, 1 step back*, NeurIPS 2019.
    """
    if not _checks.is_traced(sync_period):
        _checks.check_int("sync_period", sync_period, minimum=1)
    _hyper.check_scalar("slow_step_size", slow_step_size, "closed_unit")
    reset_state = _hyper.check_bool("reset_state", reset_state)

    def init_fn(params):
        return LookaheadState(fast_optimizer.init(params), zero_count(), jax.tree.map(jnp.asarray, params))

    def update_fn(updates, state, params=None, **extra_args):
        if params is None:
            raise ValueError(NO_PARAMS_MSG)
        updates, fast_state = call_update(fast_optimizer.update, updates, state.fast_state, params, extra_args)
        sync = state.steps_since_sync == sync_period - 1
        diff = jax.tree.map(lambda p, u, s: p + u - s, params, updates, state.slow_params)
        alpha = _hyper.scalar(slow_step_size)
        slow = jax.tree.map(
            lambda s, d: jnp.where(sync, s + _hyper.cast_like(alpha, d) * d, s).astype(s.dtype), state.slow_params, diff
        )
        updates = jax.tree.map(
            lambda u, d: jnp.where(sync, u - _hyper.cast_like(1 - alpha, d) * d, u).astype(u.dtype), updates, diff
        )
        if reset_state:
            fresh = fast_optimizer.init(params)
            fast_state = jax.tree.map(lambda now, new: jnp.where(sync, new, now).astype(now.dtype), fast_state, fresh)
        steps = jnp.where(sync, 0, state.steps_since_sync + 1).astype(jnp.int32)
        return updates, LookaheadState(fast_state, steps, slow)

    return GradientTransformation(init_fn, update_fn)


# ------------------------------------------------------ averaged parameters


class AverageParamsState(NamedTuple):
    """State of :func:`average_params`.

    Attributes:
      step: int32 updates applied.
      num_averaged: int32 parameter vectors in the average so far.
      averaged: the averaged parameters (the parameters themselves until the
        averaging starts).
      inner_state: the wrapped optimizer's state.
    """

    step: jax.Array
    num_averaged: jax.Array
    averaged: PyTree
    inner_state: Any


# Not marked element-wise although it is: an engine running element-wise optimizers on the flattened
# parameters would then hold the average flattened too, and averaged_params(state) must return the tree.
@hyperparameters
def average_params(
    inner: GradientTransformation,
    decay: jax.typing.ArrayLike | None = None,
    *,
    start: jax.typing.ArrayLike = 0,
) -> GradientTransformation:
    r"""Keeps an average of the parameters the optimizer visits (Polyak-Ruppert, SWA, or an EMA).

    The updates are ``inner``'s, unchanged; the state holds the average
    :math:`\bar\theta` of the parameters after each update,
    :math:`\theta_t = \theta_{t-1} + u_t`, from update ``start`` on:

    .. math::

        \bar\theta_1 = \theta_{t_0}, \qquad
        \bar\theta_n = \bar\theta_{n-1} + \frac{\theta_t - \bar\theta_{n-1}}{n} \ (\text{decay None: the mean}),
        \quad \text{or}\quad \beta \bar\theta_{n-1} + (1 - \beta) \theta_t \ (\text{EMA})

    These are ``torch.optim.swa_utils.AveragedModel``'s averages (the default
    mean, or ``multi_avg_fn=get_ema_multi_avg_fn(decay)``) updated after every
    optimizer step. Read them with :func:`averaged_params` (the training
    engine evaluates and returns them). Needs ``params`` in ``update``.

    Args:
      inner: the optimizer.
      decay: :math:`\beta \in [0, 1)` for an exponential moving average, or
        None for the running mean of all the parameters since ``start``.
      start: the number of updates before the averaging starts (SWA's
        ``swa_start``, in steps; an integer >= 0, may be traced); until then
        the average is the current parameters.

    References:
      Polyak & Juditsky, *Acceleration of Stochastic Approximation by
      Averaging*, 1992; Izmailov et al., *Averaging Weights Leads to Wider
      Optima and Better Generalization*, UAI 2018.
    """
    if decay is not None:
        _hyper.check_scalar("decay", decay, "unit")
    if not _checks.is_traced(start):
        _checks.check_int("start", start, minimum=0)

    def init_fn(params):
        return AverageParamsState(zero_count(), zero_count(), jax.tree.map(jnp.asarray, params), inner.init(params))

    def update_fn(updates, state, params=None, **extra_args):
        if params is None:
            raise ValueError(NO_PARAMS_MSG)
        updates, inner_state = call_update(inner.update, updates, state.inner_state, params, extra_args)
        new = jax.tree.map(lambda p, u: (p + u).astype(jnp.result_type(p)), params, updates)
        step = safe_increment(state.step)
        averaging = step > start
        n = jnp.where(averaging, safe_increment(state.num_averaged), 0)
        if decay is None:
            weight = 1 / jnp.maximum(n, 1).astype(jnp.result_type(float))
        else:
            weight = jnp.where(n <= 1, 1.0, _hyper.complement(decay))

        def mix(avg, p):
            w = _hyper.cast_like(weight, p)
            return jnp.where(n <= 1, p, avg + w * (p - avg)).astype(avg.dtype)

        averaged = jax.tree.map(mix, state.averaged, new)
        return updates, AverageParamsState(step, n.astype(jnp.int32), averaged, inner_state)

    return GradientTransformation(init_fn, update_fn)


def averaged_params(state: Any) -> PyTree | None:
    """The averaged parameters of the first :func:`average_params` found in ``state`` (None if there is none)."""
    is_average = lambda x: isinstance(x, AverageParamsState)
    for node in jax.tree.leaves(state, is_leaf=is_average):
        if is_average(node):
            return node.averaged
    return None

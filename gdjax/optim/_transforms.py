r"""Gradient transformations: the building blocks of the optimizers.

Notation: :math:`g_t` is the incoming update (the gradient) at step
:math:`t = 1, 2, \dots`, :math:`u_t` the outgoing one, products and powers are
element-wise. Every numeric hyperparameter may be traced (see ``_hyper``).

Complex parameters are handled as Optax handles them: the updates are the
conjugate gradients, a square :math:`g^2` is :math:`|g|^2 = g \bar g` and the
accumulators of squares are real-valued (stored in the real dtype of the
leaf), so the scalings are real and only the directions are complex.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from gdjax._dtypes import real_dtype
from gdjax._typing import Params, PyTree
from gdjax.optim import _hyper
from gdjax.optim._base import (
    NO_PARAMS_MSG,
    EmptyState,
    GradientTransformation,
    ScalarOrSchedule,
    Schedule,
    init_empty_state,
    safe_increment,
    zero_count,
)
from gdjax.optim._recipe import hyperparameters
from gdjax.optim._wrappers import masked

cast = _hyper.cast_like


def _correction(decay: Any, count: jax.Array) -> jax.Array:
    r"""The bias correction :math:`1 - \beta^t`, in >= float32 (as Optax: ``1 - b ** count``).

    (In float32 a Python ``b = 0.999`` enters as ``float32(0.999)``, 1.3e-8 off,
    so the correction is ~1e-5 off after 30 steps, where PyTorch computes it in
    Python floats; written as ``-expm1(t log1p(-(1 - b)))`` from the exact
    complement it would be exact, but no longer Optax's bit for bit, and
    trajectories sensitive to rounding, LAMB's from zero biases, follow the
    bits.)
    """
    return 1 - _hyper.value_of(decay) ** count


def _bias_correction(moment: PyTree, decay: Any, count: jax.Array) -> PyTree:
    """``m / (1 - decay**count)``; the factor (:func:`_correction`) is cast to each leaf."""
    factor = _correction(decay, count)
    return jax.tree.map(lambda m: m / factor.astype(m.dtype), moment)


def _zeros(params: Params, dtype: Any = None) -> PyTree:
    return jax.tree.map(lambda p: jnp.zeros_like(p, dtype=dtype), params)


def _real_full(params: Params, value: Any = 0.0) -> PyTree:
    """Accumulators of squared magnitudes: real-valued, in the real dtype of each leaf (complex64 -> float32)."""
    return jax.tree.map(lambda p: jnp.full(jnp.shape(p), value, real_dtype(jnp.result_type(p))), params)


def _cast_tree(tree: PyTree, dtype: Any) -> PyTree:
    return tree if dtype is None else jax.tree.map(lambda x: x.astype(dtype), tree)


def _first_moment(updates: PyTree, moment: PyTree, decay: Any) -> PyTree:
    """``(1 - b) g + b m``, with the exact complement of a Python ``b``."""
    rho = _hyper.scalar(decay)
    return jax.tree.map(
        lambda g, m: cast(_hyper.complement(rho), g) * g + cast(rho, g) * m.astype(g.dtype), updates, moment
    )


def _second_moment(updates: PyTree, moment: PyTree, decay: Any) -> PyTree:
    """``(1 - b) |g|^2 + b v`` in the (real) dtype of the accumulator."""
    rho = _hyper.scalar(decay)
    return jax.tree.map(
        lambda g, v: cast(_hyper.complement(rho), v) * _hyper.abs_sq(g).astype(v.dtype) + cast(rho, v) * v,
        updates,
        moment,
    )


def _adam_denominator(v: jax.Array, eps: Any, eps_root: Any) -> jax.Array:
    """``sqrt(v + eps_root) + eps``."""
    return jnp.sqrt(v + cast(eps_root, v)) + cast(eps, v)


# --------------------------------------------------------------------- scaling


def _unmasked(arguments: dict) -> bool:
    """Elementwise unless a mask picks leaves by the shape of the tree."""
    return arguments["mask"] is None


@hyperparameters(elementwise=True)
def scale(step_size: jax.typing.ArrayLike) -> GradientTransformation:
    r"""Multiplies updates by a fixed scalar: :math:`u = s\, g`.

    Args:
      step_size: the scalar :math:`s` (finite; may be negative or traced).
    """
    _hyper.check_scalar("step_size", step_size, "finite")

    def update_fn(updates, state, params=None, **extra_args):
        del params, extra_args
        return jax.tree.map(lambda g: cast(step_size, g) * g, updates), state

    return GradientTransformation(init_empty_state, update_fn)


class ScaleByScheduleState(NamedTuple):
    """State of :func:`scale_by_schedule`: the int32 number of updates applied."""

    count: jax.Array


@hyperparameters(elementwise=True)
def scale_by_schedule(step_size_fn: Schedule) -> GradientTransformation:
    r"""Multiplies updates by a scheduled scalar: :math:`u_t = s(t - 1)\, g_t`.

    Args:
      step_size_fn: a schedule ``count -> s`` evaluated at the number of
        updates already applied.
    """
    if not callable(step_size_fn):
        raise ValueError(f"step_size_fn must be a schedule (a callable count -> value); got {step_size_fn!r}.")

    def init_fn(params):
        del params
        return ScaleByScheduleState(zero_count())

    def update_fn(updates, state, params=None, **extra_args):
        del params, extra_args
        step = _hyper.scheduled("step_size_fn", step_size_fn, state.count)
        updates = jax.tree.map(lambda g: cast(step, g) * g, updates)
        return updates, ScaleByScheduleState(safe_increment(state.count))

    return GradientTransformation(init_fn, update_fn)


# -------------------------------------------------------------------- momentum


class TraceState(NamedTuple):
    """State of :func:`trace`.

    Attributes:
      count: int32 number of updates applied, which tells the first step for
        dampening and the step of a scheduled decay; ``None`` when
        ``dampening`` is the number 0 and ``decay`` a constant (nothing needs
        it then).
      trace: the momentum buffer :math:`b_t`.
    """

    count: jax.Array | None
    trace: PyTree


@hyperparameters(static=("dampening",), elementwise=True)
def trace(
    decay: ScalarOrSchedule,
    nesterov: bool = False,
    accumulator_dtype: Any = None,
    *,
    dampening: jax.typing.ArrayLike | None = None,
) -> GradientTransformation:
    r"""Heavy-ball or Nesterov momentum, with PyTorch's dampening.

    .. math::

        b_1 = g_1, \qquad b_t = \mu\, b_{t-1} + (1 - d)\, g_t \quad (t > 1), \qquad
        u_t = \begin{cases} b_t & \text{heavy ball} \\
                            g_t + \mu\, b_t & \text{Nesterov} \end{cases}

    with :math:`\mu` = ``decay`` (or :math:`\mu_t` = ``decay(t - 1)`` for a
    schedule, e.g. the increasing momentum of Sutskever et al. 2013) and
    :math:`d` = ``dampening``. With
    :math:`d = 0` (the default, ``None``) this is Optax's ``trace``
    (:math:`b_t = g_t + \mu b_{t-1}`, :math:`b_0 = 0`); with :math:`d > 0` it is
    ``torch.optim.SGD``'s momentum buffer, which starts at :math:`g_1`
    undamped.

    Args:
      decay: the momentum :math:`\mu \in [0, 1)`, or a schedule
        ``count -> mu`` evaluated at the number of updates already applied
        (its values are not checked).
      nesterov: use Nesterov's look-ahead form (Sutskever et al., 2013).
      accumulator_dtype: dtype of the stored buffer (default: the updates').
      dampening: :math:`d \in [0, 1]`; ``None`` (the default) or the number 0
        is no dampening and keeps no step count, so that the state is Optax's
        (and ``optax.inject_hyperparams``, which turns numbers into arrays,
        builds the same state).

    References:
      Polyak, *Some methods of speeding up the convergence of iteration
      methods*, 1964; Sutskever et al., *On the importance of initialization
      and momentum in deep learning*, ICML 2013.
    """
    _hyper.check_scalar_or_schedule("decay", decay, "unit")
    scheduled = callable(decay)
    if dampening is not None:
        _hyper.check_scalar("dampening", dampening, "closed_unit")
    nesterov = _hyper.check_bool("nesterov", nesterov)
    accumulator_dtype = _hyper.check_dtype("accumulator_dtype", accumulator_dtype)

    # Undamped (the default None, or a Python 0): b_t = g_t + mu b_{t-1} needs no step
    # count. Any other value, traced ones included, keeps a count for the first-step
    # rule; a scheduled decay keeps one to know its step.
    undamped = dampening is None or (isinstance(dampening, (int, float)) and dampening == 0)
    counted = scheduled or not undamped

    def init_fn(params):
        return TraceState(zero_count() if counted else None, _zeros(params, accumulator_dtype))

    def update_fn(updates, state, params=None, **extra_args):
        del params, extra_args
        mu = _hyper.scheduled("decay", decay, state.count) if scheduled else decay
        if undamped:
            new_trace = jax.tree.map(lambda g, b: g + cast(mu, g) * b, updates, state.trace)
        else:
            # The first buffer is the raw gradient (PyTorch); afterwards it is damped.
            keep = jnp.where(state.count == 0, 1, 1 - _hyper.scalar(dampening))
            new_trace = jax.tree.map(lambda g, b: cast(keep, g) * g + cast(mu, g) * b, updates, state.trace)
        count = safe_increment(state.count) if counted else None
        if nesterov:
            updates = jax.tree.map(lambda g, b: g + cast(mu, g) * b, updates, new_trace)
        else:
            updates = new_trace
        return updates, TraceState(count, _cast_tree(new_trace, accumulator_dtype))

    return GradientTransformation(init_fn, update_fn)


# ----------------------------------------------------------- adaptive scalings


class ScaleByAdagradState(NamedTuple):
    """State of :func:`scale_by_adagrad`: the running sum of squared gradients."""

    sum_of_squares: PyTree


@hyperparameters(elementwise=True)
def scale_by_adagrad(
    initial_accumulator_value: jax.typing.ArrayLike = 0.1,
    eps: jax.typing.ArrayLike = 1e-7,
    eps_in_sqrt: bool = True,
) -> GradientTransformation:
    r"""Adagrad's scaling by the root of the sum of all squared gradients.

    .. math::

        s_t = s_0 + \sum_{\tau \le t} g_\tau^2, \qquad
        u_t = \frac{g_t}{\sqrt{s_t + \epsilon}} \ \text{(eps in the root)}
        \quad\text{or}\quad \frac{g_t}{\sqrt{s_t} + \epsilon}

    with :math:`s_0` = ``initial_accumulator_value``; :math:`u_t = 0` where
    :math:`s_t = 0`. Optax's defaults are :math:`s_0 = 0.1`, eps in the root;
    ``torch.optim.Adagrad`` is :math:`s_0 = 0` with eps outside the root.
    Optax calls this ``scale_by_rss``.

    Args:
      initial_accumulator_value: :math:`s_0 \ge 0`.
      eps: :math:`\epsilon \ge 0`.
      eps_in_sqrt: add :math:`\epsilon` inside (True) or outside the root.

    References:
      Duchi et al., *Adaptive Subgradient Methods for Online Learning and
      Stochastic Optimization*, JMLR 2011.
    """
    _hyper.check_scalar("initial_accumulator_value", initial_accumulator_value, "nonnegative")
    _hyper.check_scalar("eps", eps, "nonnegative")
    eps_in_sqrt = _hyper.check_bool("eps_in_sqrt", eps_in_sqrt)

    def init_fn(params):
        return ScaleByAdagradState(_real_full(params, initial_accumulator_value))

    def scaled(g, s):
        if eps_in_sqrt:
            return jnp.where(s > 0, jax.lax.rsqrt(s + cast(eps, s)), 0).astype(g.dtype) * g
        return jnp.where(s > 0, g / (jnp.sqrt(s) + cast(eps, s)).astype(g.dtype), 0)

    def update_fn(updates, state, params=None, **extra_args):
        del params, extra_args
        sums = jax.tree.map(lambda g, s: (_hyper.abs_sq(g) + s).astype(s.dtype), updates, state.sum_of_squares)
        updates = jax.tree.map(scaled, updates, sums)
        return updates, ScaleByAdagradState(sums)

    return GradientTransformation(init_fn, update_fn)


scale_by_rss = scale_by_adagrad  # Optax's name


class ScaleByRmsState(NamedTuple):
    """State of :func:`scale_by_rms`.

    Attributes:
      count: int32 number of updates applied when ``bias_correction``, else ``None``.
      nu: EMA of squared gradients.
      mu: EMA of gradients when ``centered``, else ``None``.
    """

    count: jax.Array | None
    nu: PyTree
    mu: PyTree | None


@hyperparameters(complements=("decay",), elementwise=True)
def scale_by_rms(
    decay: jax.typing.ArrayLike = 0.9,
    eps: jax.typing.ArrayLike = 1e-8,
    initial_scale: jax.typing.ArrayLike = 0.0,
    eps_in_sqrt: bool = True,
    bias_correction: bool = False,
    *,
    centered: bool = False,
) -> GradientTransformation:
    r"""RMSProp's scaling by the root of an EMA of squared gradients.

    .. math::

        v_t = \rho\, v_{t-1} + (1 - \rho)\, g_t^2, \qquad
        m_t = \rho\, m_{t-1} + (1 - \rho)\, g_t \ \text{(centered only)}, \\
        \sigma_t^2 = v_t \ \text{or, centered,}\ v_t - m_t^2, \qquad
        u_t = \frac{g_t}{\sqrt{\sigma_t^2 + \epsilon}} \ \text{(eps in the root)}
        \quad\text{or}\quad \frac{g_t}{\sqrt{\sigma_t^2} + \epsilon}

    with :math:`\rho` = ``decay``, :math:`v_0` = ``initial_scale``,
    :math:`m_0 = 0`. With ``bias_correction`` the EMAs are divided by
    :math:`1 - \rho^t` first. ``torch.optim.RMSprop`` is eps outside the root
    with :math:`v_0 = 0`.

    Args:
      decay: :math:`\rho \in [0, 1)`.
      eps: :math:`\epsilon \ge 0`.
      initial_scale: :math:`v_0 \ge 0` (PyTorch 0, TF1 1).
      eps_in_sqrt: add :math:`\epsilon` inside (True) or outside the root.
      bias_correction: divide the EMAs by :math:`1 - \rho^t`.
      centered: divide by the root of the variance estimate
        :math:`v_t - m_t^2` instead of the second moment (Graves, 2013).

    References:
      Hinton, *Neural Networks for Machine Learning*, lecture 6e, 2012;
      Graves, *Generating Sequences With Recurrent Neural Networks*, 2013.
    """
    _hyper.check_scalar("decay", decay, "unit")
    _hyper.check_scalar("eps", eps, "nonnegative")
    _hyper.check_scalar("initial_scale", initial_scale, "nonnegative")
    eps_in_sqrt = _hyper.check_bool("eps_in_sqrt", eps_in_sqrt)
    bias_correction = _hyper.check_bool("bias_correction", bias_correction)
    centered = _hyper.check_bool("centered", centered)

    def init_fn(params):
        nu = _real_full(params, initial_scale)
        count = zero_count() if bias_correction else None
        return ScaleByRmsState(count, nu, _zeros(params) if centered else None)

    def update_fn(updates, state, params=None, **extra_args):
        del params, extra_args
        rho = _hyper.scalar(decay)
        nu = jax.tree.map(
            lambda g, v: cast(_hyper.complement(rho), v) * _hyper.abs_sq(g) + cast(rho, v) * v, updates, state.nu
        )
        mu = None
        if centered:
            mu = jax.tree.map(lambda g, m: cast(_hyper.complement(rho), g) * g + cast(rho, g) * m, updates, state.mu)
        count = safe_increment(state.count) if bias_correction else None
        nu_hat = _bias_correction(nu, rho, count) if bias_correction else nu
        if centered:
            mu_hat = _bias_correction(mu, rho, count) if bias_correction else mu
            var = jax.tree.map(lambda v, m: v - _hyper.abs_sq(m), nu_hat, mu_hat)
        else:
            var = nu_hat
        if eps_in_sqrt:
            scaling = jax.tree.map(lambda v: jax.lax.rsqrt(v + cast(eps, v)), var)
        else:
            scaling = jax.tree.map(lambda v: 1 / (jnp.sqrt(v) + cast(eps, v)), var)
        updates = jax.tree.map(lambda s, g: s.astype(g.dtype) * g, scaling, updates)
        return updates, ScaleByRmsState(count, nu, mu)

    return GradientTransformation(init_fn, update_fn)


class ScaleByAdamState(NamedTuple):
    """State of :func:`scale_by_adam`.

    Attributes:
      count: int32 number of updates applied.
      mu: EMA of gradients (first moment).
      nu: EMA of squared gradients (second moment).
    """

    count: jax.Array
    mu: PyTree
    nu: PyTree


@hyperparameters(complements=("b1", "b2"), elementwise=True)
def scale_by_adam(
    b1: jax.typing.ArrayLike = 0.9,
    b2: jax.typing.ArrayLike = 0.999,
    eps: jax.typing.ArrayLike = 1e-8,
    eps_root: jax.typing.ArrayLike = 0.0,
    mu_dtype: Any = None,
    *,
    nesterov: bool = False,
) -> GradientTransformation:
    r"""Adam's scaling by bias-corrected moment estimates.

    .. math::

        m_t = \beta_1 m_{t-1} + (1 - \beta_1) g_t, \qquad
        v_t = \beta_2 v_{t-1} + (1 - \beta_2) g_t^2, \\
        \hat m_t = \frac{m_t}{1 - \beta_1^t}
        \ \text{or, Nesterov (NAdam),}\
        \frac{\beta_1 m_t}{1 - \beta_1^{t+1}} + \frac{(1 - \beta_1) g_t}{1 - \beta_1^t}, \qquad
        \hat v_t = \frac{v_t}{1 - \beta_2^t}, \\
        u_t = \frac{\hat m_t}{\sqrt{\hat v_t + \bar\epsilon} + \epsilon}

    with :math:`m_0 = v_0 = 0`, :math:`\bar\epsilon` = ``eps_root``. With
    :math:`\bar\epsilon = 0` this is ``torch.optim.Adam``'s step.

    Args:
      b1: :math:`\beta_1 \in [0, 1)`.
      b2: :math:`\beta_2 \in [0, 1)`.
      eps: :math:`\epsilon \ge 0`, outside the root.
      eps_root: :math:`\bar\epsilon \ge 0`, inside the root (keeps the
        derivative of the update finite, e.g. for meta-learning).
      mu_dtype: dtype of the stored first moment (default: the updates').
      nesterov: use Dozat's Nesterov variant (NAdam).

    References:
      Kingma & Ba, *Adam: A Method for Stochastic Optimization*, ICLR 2015;
      Dozat, *Incorporating Nesterov Momentum into Adam*, 2016.
    """
    _hyper.check_scalar("b1", b1, "unit")
    _hyper.check_scalar("b2", b2, "unit")
    _hyper.check_scalar("eps", eps, "nonnegative")
    _hyper.check_scalar("eps_root", eps_root, "nonnegative")
    mu_dtype = _hyper.check_dtype("mu_dtype", mu_dtype)
    nesterov = _hyper.check_bool("nesterov", nesterov)

    def init_fn(params):
        return ScaleByAdamState(zero_count(), _zeros(params, mu_dtype), _real_full(params))

    def update_fn(updates, state, params=None, **extra_args):
        del params, extra_args
        beta1, beta2 = _hyper.scalar(b1), _hyper.scalar(b2)
        mu = _first_moment(updates, state.mu, b1)
        nu = _second_moment(updates, state.nu, b2)
        count = safe_increment(state.count)
        if nesterov:
            mu_hat = jax.tree.map(
                lambda m, g: cast(beta1, m) * m + cast(_hyper.complement(beta1), m) * g,
                _bias_correction(mu, beta1, safe_increment(count)),
                _bias_correction(updates, beta1, count),
            )
        else:
            mu_hat = _bias_correction(mu, beta1, count)
        nu_hat = _bias_correction(nu, beta2, count)
        updates = jax.tree.map(lambda m, v: m / _adam_denominator(v, eps, eps_root).astype(m.dtype), mu_hat, nu_hat)
        mu = _cast_tree(mu, mu_dtype)
        nu = jax.tree.map(lambda v, old: v.astype(old.dtype), nu, state.nu)
        return updates, ScaleByAdamState(count, mu, nu)

    return GradientTransformation(init_fn, update_fn)


# ---------------------------------------------------------------- weight decay


class AddDecayedWeightsState(NamedTuple):
    """State of :func:`add_decayed_weights` with a scheduled decay: the int32 number of updates.

    (A constant decay is stateless: its state is an :class:`EmptyState`.)
    """

    count: jax.Array


@hyperparameters(elementwise=_unmasked)
def add_decayed_weights(
    weight_decay: ScalarOrSchedule = 0.0,
    mask: PyTree | Callable[[Params], PyTree] | None = None,
) -> GradientTransformation:
    r"""Adds decoupled weight decay: :math:`u_t = g_t + \lambda_t\, \theta_t`.

    Placed before the learning-rate scaling (as in ``adamw``), the step becomes
    :math:`\theta_{t+1} = \theta_t - \eta(\dots + \lambda \theta_t)`, i.e.
    PyTorch's ``AdamW`` (Loshchilov & Hutter, 2019); placed before a momentum
    ``trace`` it is PyTorch's coupled ``weight_decay`` of ``SGD``. Needs
    ``params`` in ``update``.

    Args:
      weight_decay: :math:`\lambda \ge 0`, or a schedule ``count -> lambda``.
      mask: optional pytree of booleans (or ``params -> booleans``) selecting
        the leaves to decay; e.g. ``lambda p: jax.tree.map(lambda x: x.ndim > 1, p)``
        spares biases and norms. See :func:`masked`.
    """
    _hyper.check_scalar_or_schedule("weight_decay", weight_decay, "nonnegative")
    schedule = weight_decay if callable(weight_decay) else None

    def init_fn(params):
        del params
        return AddDecayedWeightsState(zero_count()) if schedule is not None else EmptyState()

    def update_fn(updates, state, params=None, **extra_args):
        del extra_args
        if params is None:
            raise ValueError(NO_PARAMS_MSG)
        if schedule is None:
            decay = weight_decay
            if isinstance(decay, (int, float)) and decay == 0:
                return updates, state  # the number 0 adds nothing (as Optax); a traced 0 computes g + 0 p
        else:
            decay = _hyper.scheduled("weight_decay", schedule, state.count)
            state = AddDecayedWeightsState(safe_increment(state.count))
        updates = jax.tree.map(lambda g, p: g + cast(decay, g) * p, updates, params)
        return updates, state

    transform = GradientTransformation(init_fn, update_fn)
    return transform if mask is None else masked(transform, mask)


# -------------------------------------------------------------------- clipping


@hyperparameters(elementwise=True)
def clip(max_delta: jax.typing.ArrayLike) -> GradientTransformation:
    r"""Clips each element to :math:`[-\delta, \delta]`: :math:`u = \min(\max(g, -\delta), \delta)`.

    Args:
      max_delta: :math:`\delta > 0`.
    """
    _hyper.check_scalar("max_delta", max_delta, "positive")

    def update_fn(updates, state, params=None, **extra_args):
        del params, extra_args
        updates = jax.tree.map(lambda g: jnp.clip(g, -cast(max_delta, g), cast(max_delta, g)), updates)
        return updates, state

    return GradientTransformation(init_empty_state, update_fn)


def global_norm(tree: PyTree) -> jax.Array:
    r"""The Euclidean norm of all leaves together, :math:`\sqrt{\sum_i \lVert x_i \rVert^2}`.

    Each leaf's sum of squares is taken in at least float32; complex leaves
    contribute :math:`\sum |x|^2`.
    """
    squares = [jnp.sum(_hyper.abs_sq(x.astype(jnp.promote_types(x.dtype, jnp.float32)))) for x in jax.tree.leaves(tree)]
    return jnp.sqrt(sum(squares, jnp.zeros([], jnp.float32)))


@hyperparameters
def clip_by_global_norm(max_norm: jax.typing.ArrayLike) -> GradientTransformation:
    r"""Rescales all updates together so their global norm is at most :math:`c`.

    .. math::  u = g \ \text{if}\ \lVert g \rVert < c, \quad \text{else}\ \frac{g}{\lVert g \rVert}\, c

    where :math:`\lVert g \rVert` is :func:`global_norm` over the whole tree.

    Args:
      max_norm: :math:`c > 0`.

    References:
      Pascanu et al., *On the difficulty of training recurrent neural
      networks*, ICML 2013.
    """
    _hyper.check_scalar("max_norm", max_norm, "positive")

    def update_fn(updates, state, params=None, **extra_args):
        del params, extra_args
        norm = global_norm(updates)
        keep = norm < max_norm
        updates = jax.tree.map(lambda g: jnp.where(keep, g, (g / norm.astype(g.dtype)) * cast(max_norm, g)), updates)
        return updates, state

    return GradientTransformation(init_empty_state, update_fn)


# ------------------------------------------------- more adaptive scalings


class ScaleByAmsgradState(NamedTuple):
    """State of :func:`scale_by_amsgrad`.

    Attributes:
      count: int32 number of updates applied.
      mu: EMA of gradients.
      nu: EMA of squared gradients.
      nu_max: the running maximum of the second moments (bias-corrected ones
        by default, raw ones with ``correct_max``).
    """

    count: jax.Array
    mu: PyTree
    nu: PyTree
    nu_max: PyTree


@hyperparameters(complements=("b1", "b2"), elementwise=True)
def scale_by_amsgrad(
    b1: jax.typing.ArrayLike = 0.9,
    b2: jax.typing.ArrayLike = 0.999,
    eps: jax.typing.ArrayLike = 1e-8,
    eps_root: jax.typing.ArrayLike = 0.0,
    mu_dtype: Any = None,
    bias_correction_mu: bool = True,
    bias_correction_nu: bool = True,
    *,
    correct_max: bool = False,
) -> GradientTransformation:
    r"""AMSGrad: Adam's scaling with the running maximum of the second moments.

    .. math::

        m_t = \beta_1 m_{t-1} + (1 - \beta_1) g_t, \qquad
        v_t = \beta_2 v_{t-1} + (1 - \beta_2) g_t^2, \qquad
        \hat m_t = \frac{m_t}{1 - \beta_1^t}, \\
        \text{Optax:}\ \hat v^{\max}_t = \max(\hat v^{\max}_{t-1}, \tfrac{v_t}{1 - \beta_2^t}), \qquad
        \text{PyTorch:}\ v^{\max}_t = \max(v^{\max}_{t-1}, v_t),\ \hat v^{\max}_t = \frac{v^{\max}_t}{1 - \beta_2^t}, \\
        u_t = \frac{\hat m_t}{\sqrt{\hat v^{\max}_t + \bar\epsilon} + \epsilon}

    Optax's convention (the default) keeps the maximum of the bias-corrected
    second moments; ``correct_max=True`` is ``torch.optim.Adam(amsgrad=True)``'s,
    which keeps the maximum of the raw moments and corrects it by the current
    step's :math:`1 - \beta_2^t`. ``bias_correction_mu=False`` and
    ``bias_correction_nu=False`` give the paper's uncorrected algorithm.

    Args:
      b1: :math:`\beta_1 \in [0, 1)`.
      b2: :math:`\beta_2 \in [0, 1)`.
      eps: :math:`\epsilon \ge 0`, outside the root.
      eps_root: :math:`\bar\epsilon \ge 0`, inside the root.
      mu_dtype: dtype of the stored first moment (default: the updates').
      bias_correction_mu: divide :math:`m_t` by :math:`1 - \beta_1^t`.
      bias_correction_nu: correct the second moments (before the maximum,
        or, with ``correct_max``, after it).
      correct_max: PyTorch's convention (keyword only).

    References:
      Reddi et al., *On the Convergence of Adam and Beyond*, ICLR 2018.
    """
    for name, value in (("b1", b1), ("b2", b2)):
        _hyper.check_scalar(name, value, "unit")
    _hyper.check_scalar("eps", eps, "nonnegative")
    _hyper.check_scalar("eps_root", eps_root, "nonnegative")
    mu_dtype = _hyper.check_dtype("mu_dtype", mu_dtype)
    bias_correction_mu = _hyper.check_bool("bias_correction_mu", bias_correction_mu)
    bias_correction_nu = _hyper.check_bool("bias_correction_nu", bias_correction_nu)
    correct_max = _hyper.check_bool("correct_max", correct_max)

    def init_fn(params):
        return ScaleByAmsgradState(zero_count(), _zeros(params, mu_dtype), _real_full(params), _real_full(params))

    def update_fn(updates, state, params=None, **extra_args):
        del params, extra_args
        beta1, beta2 = _hyper.scalar(b1), _hyper.scalar(b2)
        mu = _first_moment(updates, state.mu, beta1)
        nu = _second_moment(updates, state.nu, beta2)
        count = safe_increment(state.count)
        mu_hat = _bias_correction(mu, beta1, count) if bias_correction_mu else mu
        if correct_max:
            nu_max = jax.tree.map(jnp.maximum, state.nu_max, nu)
            nu_eff = _bias_correction(nu_max, beta2, count) if bias_correction_nu else nu_max
        else:
            nu_max = jax.tree.map(
                jnp.maximum, state.nu_max, _bias_correction(nu, beta2, count) if bias_correction_nu else nu
            )
            nu_eff = nu_max
        updates = jax.tree.map(lambda m, v: m / _adam_denominator(v, eps, eps_root).astype(m.dtype), mu_hat, nu_eff)
        return updates, ScaleByAmsgradState(count, _cast_tree(mu, mu_dtype), nu, nu_max)

    return GradientTransformation(init_fn, update_fn)


@hyperparameters(complements=("b1",), elementwise=True)
def scale_by_adamax(
    b1: jax.typing.ArrayLike = 0.9,
    b2: jax.typing.ArrayLike = 0.999,
    eps: jax.typing.ArrayLike = 1e-8,
) -> GradientTransformation:
    r"""Adamax: Adam with the infinity norm in place of the root mean square.

    .. math::

        m_t = \beta_1 m_{t-1} + (1 - \beta_1) g_t, \qquad
        v_t = \max(\beta_2 v_{t-1}, |g_t| + \epsilon), \qquad
        u_t = \frac{m_t}{(1 - \beta_1^t)\, v_t}

    with :math:`m_0 = v_0 = 0` (``torch.optim.Adamax`` and ``optax.adamax``
    alike). The state is a :class:`ScaleByAdamState` (``nu`` holds :math:`v_t`).

    Args:
      b1: :math:`\beta_1 \in [0, 1)`.
      b2: :math:`\beta_2 \in [0, 1)`, the decay of the running maximum.
      eps: :math:`\epsilon \ge 0`.

    References:
      Kingma & Ba, *Adam: A Method for Stochastic Optimization*, ICLR 2015, section 7.1.
    """
    _hyper.check_scalar("b1", b1, "unit")
    _hyper.check_scalar("b2", b2, "unit")
    _hyper.check_scalar("eps", eps, "nonnegative")

    def init_fn(params):
        return ScaleByAdamState(zero_count(), _zeros(params), _real_full(params))

    def update_fn(updates, state, params=None, **extra_args):
        del params, extra_args
        count = safe_increment(state.count)
        beta1 = _hyper.scalar(b1)
        mu = _first_moment(updates, state.mu, beta1)
        nu = jax.tree.map(
            lambda g, v: jnp.maximum(jnp.abs(g).astype(v.dtype) + cast(eps, v), cast(b2, v) * v), updates, state.nu
        )
        mu_hat = _bias_correction(mu, beta1, count)
        updates = jax.tree.map(lambda m, v: m / v.astype(m.dtype), mu_hat, nu)
        return updates, ScaleByAdamState(count, mu, nu)

    return GradientTransformation(init_fn, update_fn)


@hyperparameters(complements=("b1", "b2"), elementwise=True)
def scale_by_radam(
    b1: jax.typing.ArrayLike = 0.9,
    b2: jax.typing.ArrayLike = 0.999,
    eps: jax.typing.ArrayLike = 1e-8,
    eps_root: jax.typing.ArrayLike = 0.0,
    threshold: jax.typing.ArrayLike = 5.0,
    *,
    nesterov: bool = False,
    eps_before_correction: bool = False,
) -> GradientTransformation:
    r"""Rectified Adam: Adam's scaling once the variance of its rate is tractable, momentum before.

    .. math::

        \rho_\infty = \frac{2}{1 - \beta_2} - 1, \qquad
        \rho_t = \rho_\infty - \frac{2 t \beta_2^t}{1 - \beta_2^t}, \qquad
        r_t = \sqrt{\frac{(\rho_t - 4)(\rho_t - 2)\rho_\infty}{(\rho_\infty - 4)(\rho_\infty - 2)\rho_t}}, \\
        u_t = \begin{cases} r_t\, \dfrac{\hat m_t}{\sqrt{\hat v_t + \bar\epsilon} + \epsilon} & \rho_t \ge \tau \\
                            \hat m_t & \text{otherwise} \end{cases}

    with :math:`\hat m_t, \hat v_t` Adam's bias-corrected moments and
    :math:`\tau` = ``threshold``. PyTorch's ``RAdam`` adds :math:`\epsilon`
    before the bias correction of :math:`v_t`, i.e. its denominator is
    :math:`(\sqrt{v_t} + \epsilon) / \sqrt{1 - \beta_2^t}`: that is
    ``eps_before_correction=True`` (Optax's form is the default). (PyTorch
    tests :math:`\rho_t > 5`, Optax :math:`\rho_t \ge \tau`: they differ only
    if :math:`\rho_t` equals the threshold exactly.)

    Args:
      b1, b2, eps, eps_root: as in :func:`scale_by_adam`.
      threshold: :math:`\tau`, the tractability threshold of :math:`\rho_t`.
      nesterov: Dozat's Nesterov form of :math:`\hat m_t` (as in :func:`scale_by_adam`).
      eps_before_correction: PyTorch's placement of :math:`\epsilon`.

    References:
      Liu et al., *On the Variance of the Adaptive Learning Rate and Beyond*, ICLR 2020.
    """
    _hyper.check_scalar("b1", b1, "unit")
    _hyper.check_scalar("b2", b2, "unit")
    _hyper.check_scalar("eps", eps, "nonnegative")
    _hyper.check_scalar("eps_root", eps_root, "nonnegative")
    _hyper.check_scalar("threshold", threshold, "finite")
    nesterov = _hyper.check_bool("nesterov", nesterov)
    eps_before_correction = _hyper.check_bool("eps_before_correction", eps_before_correction)

    def init_fn(params):
        return ScaleByAdamState(zero_count(), _zeros(params), _real_full(params))

    def update_fn(updates, state, params=None, **extra_args):
        del params, extra_args
        beta1, beta2 = _hyper.scalar(b1), _hyper.scalar(b2)
        mu = _first_moment(updates, state.mu, b1)
        nu = _second_moment(updates, state.nu, b2)
        count = safe_increment(state.count)
        correction2 = _correction(beta2, count)
        rho_inf = 2 / _hyper.complement(beta2) - 1
        rho = _radam_rho(count, beta2)
        rect = jnp.sqrt(jnp.maximum((rho - 4) * (rho - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho), 0))
        if nesterov:
            mu_hat = jax.tree.map(
                lambda m, g: cast(beta1, m) * m + cast(_hyper.complement(beta1), m) * g,
                _bias_correction(mu, beta1, safe_increment(count)),
                _bias_correction(updates, beta1, count),
            )
        else:
            mu_hat = _bias_correction(mu, beta1, count)
        if eps_before_correction:
            root = jnp.sqrt(correction2)
            denominator = jax.tree.map(
                lambda v: (jnp.sqrt(v + cast(eps_root, v)) + cast(eps, v)) / root.astype(v.dtype), nu
            )
        else:
            nu_hat = _bias_correction(nu, beta2, count)
            denominator = jax.tree.map(lambda v: _adam_denominator(v, eps, eps_root), nu_hat)
        tractable = rho >= threshold
        updates = jax.tree.map(
            lambda m, d: jnp.where(tractable, rect.astype(m.dtype) * m / d.astype(m.dtype), m), mu_hat, denominator
        )
        return updates, ScaleByAdamState(count, mu, nu)

    return GradientTransformation(init_fn, update_fn)


def _radam_rho(count: jax.Array, decay: Any) -> jax.Array:
    r"""RAdam's :math:`\rho_t = \rho_\infty - 2 t \beta^t / (1 - \beta^t)`, without its cancellation.

    The two terms are both about :math:`2 / (1 - \beta)` while :math:`\rho_t` is
    about :math:`t`: computed as written in float32 (as Optax does), the early
    :math:`\rho_t` lose four digits (PyTorch computes them in Python floats).
    With :math:`c = 1 - \beta`, :math:`L = -\log(1 - c)`, :math:`y = tL` and
    :math:`g(y) = y / (e^y - 1)`, :math:`\rho_t = 2/c - 1 - (2/L) g(y)`, expanded
    in powers of :math:`y` while :math:`y < 1/2` (to :math:`y^{12}`, exact in float64 too):
    :math:`\rho_t = (2/c - 2/L) - 1 + t - (2/L)(y^2/12 - y^4/720 + y^6/30240 - \dots)`.
    """
    c = _hyper.complement(decay)
    t = count.astype(jnp.asarray(0.0).dtype)
    if isinstance(c, (int, float)):
        L = -math.log1p(-c)
        if c < 0.01:
            d0 = 1 + c / 6 + c**2 / 12 + 19 * c**3 / 360 + 3 * c**4 / 80 + 863 * c**5 / 30240
        else:
            d0 = 2 / c - 2 / L
    else:
        c = jnp.asarray(c, t.dtype)
        L = -jnp.log1p(-c)
        series = 1 + c / 6 + c**2 / 12 + 19 * c**3 / 360 + 3 * c**4 / 80 + 863 * c**5 / 30240
        d0 = jnp.where(c < 0.01, series, 2 / c - 2 / L)
    y = t * L
    small = y < 0.5
    ys = jnp.where(small, y, 0.0)
    y2 = ys * ys
    tail = 1 / 1209600 - y2 * (1 / 47900160 - y2 * (691 / 1307674368000))
    expanded = d0 - 1 + t - (2 / L) * y2 * (1 / 12 - y2 * (1 / 720 - y2 * (1 / 30240 - y2 * tail)))
    yd = jnp.where(small, 1.0, y)
    direct = 2 / c - 1 - 2 * t * jnp.exp(-yd) / -jnp.expm1(-yd)
    return jnp.where(small, expanded, direct)


class ScaleByAdaDeltaState(NamedTuple):
    """State of :func:`scale_by_adadelta`: EMAs of squared gradients and of squared updates."""

    e_g: PyTree
    e_x: PyTree


@hyperparameters(complements=("rho",), elementwise=True)
def scale_by_adadelta(rho: jax.typing.ArrayLike = 0.9, eps: jax.typing.ArrayLike = 1e-6) -> GradientTransformation:
    r"""Adadelta's unit-correcting scaling.

    .. math::

        E[g^2]_t = \rho E[g^2]_{t-1} + (1 - \rho) g_t^2, \qquad
        u_t = \frac{\sqrt{E[\Delta^2]_{t-1} + \epsilon}}{\sqrt{E[g^2]_t + \epsilon}}\, g_t, \qquad
        E[\Delta^2]_t = \rho E[\Delta^2]_{t-1} + (1 - \rho) u_t^2

    with both EMAs starting at 0 (``torch.optim.Adadelta`` and
    ``optax.scale_by_adadelta`` alike).

    Args:
      rho: :math:`\rho \in [0, 1)`.
      eps: :math:`\epsilon \ge 0`.

    References:
      Zeiler, *ADADELTA: An Adaptive Learning Rate Method*, 2012.
    """
    _hyper.check_scalar("rho", rho, "unit")
    _hyper.check_scalar("eps", eps, "nonnegative")

    def init_fn(params):
        return ScaleByAdaDeltaState(_real_full(params), _real_full(params))

    def update_fn(updates, state, params=None, **extra_args):
        del params, extra_args
        e_g = _second_moment(updates, state.e_g, rho)
        updates = jax.tree.map(
            lambda g, eg, ex: (jnp.sqrt(ex + cast(eps, ex)) / jnp.sqrt(eg + cast(eps, eg))).astype(g.dtype) * g,
            updates,
            e_g,
            state.e_x,
        )
        e_x = _second_moment(updates, state.e_x, rho)
        return updates, ScaleByAdaDeltaState(e_g, e_x)

    return GradientTransformation(init_fn, update_fn)


class ScaleByLionState(NamedTuple):
    """State of :func:`scale_by_lion`: the int32 count and the momentum."""

    count: jax.Array
    mu: PyTree


@hyperparameters(complements=("b1", "b2"), elementwise=True)
def scale_by_lion(
    b1: jax.typing.ArrayLike = 0.9,
    b2: jax.typing.ArrayLike = 0.99,
    mu_dtype: Any = None,
) -> GradientTransformation:
    r"""Lion's sign of an interpolation of momentum and gradient.

    .. math::

        u_t = \operatorname{sign}(\beta_1 m_{t-1} + (1 - \beta_1) g_t), \qquad
        m_t = \beta_2 m_{t-1} + (1 - \beta_2) g_t

    with :math:`m_0 = 0`.

    Args:
      b1: :math:`\beta_1 \in [0, 1)`, the interpolation of the update.
      b2: :math:`\beta_2 \in [0, 1)`, the decay of the momentum.
      mu_dtype: dtype of the stored momentum (default: the updates').

    References:
      Chen et al., *Symbolic Discovery of Optimization Algorithms*, NeurIPS 2023.
    """
    _hyper.check_scalar("b1", b1, "unit")
    _hyper.check_scalar("b2", b2, "unit")
    mu_dtype = _hyper.check_dtype("mu_dtype", mu_dtype)

    def init_fn(params):
        return ScaleByLionState(zero_count(), _zeros(params, mu_dtype))

    def update_fn(updates, state, params=None, **extra_args):
        del params, extra_args
        directions = jax.tree.map(jnp.sign, _first_moment(updates, state.mu, b1))
        mu = _cast_tree(_first_moment(updates, state.mu, b2), mu_dtype)
        return directions, ScaleByLionState(safe_increment(state.count), mu)

    return GradientTransformation(init_fn, update_fn)


@hyperparameters(elementwise=True)
def scale_by_sign() -> GradientTransformation:
    r"""The sign of each element: :math:`u = \operatorname{sign}(g)` (:math:`g / |g|` for complex, 0 at 0).

    References:
      Bernstein et al., *signSGD: Compressed Optimisation for Non-Convex Problems*, ICML 2018.
    """

    def update_fn(updates, state, params=None, **extra_args):
        del params, extra_args
        return jax.tree.map(jnp.sign, updates), state

    return GradientTransformation(init_empty_state, update_fn)


class EmaState(NamedTuple):
    """State of :func:`ema`: the int32 count and the moving average."""

    count: jax.Array
    ema: PyTree


@hyperparameters(complements=("decay",), elementwise=True)
def ema(decay: jax.typing.ArrayLike, debias: bool = True, accumulator_dtype: Any = None) -> GradientTransformation:
    r"""An exponential moving average of the updates.

    .. math::  e_t = \beta e_{t-1} + (1 - \beta) g_t, \qquad
               u_t = e_t \ \text{or, debiased,}\ \frac{e_t}{1 - \beta^t}

    with :math:`e_0 = 0`. (:func:`trace` is :math:`b_t = \mu b_{t-1} + g_t`.)

    Args:
      decay: :math:`\beta \in [0, 1)`.
      debias: divide by :math:`1 - \beta^t`.
      accumulator_dtype: dtype of the stored average (default: the updates').
    """
    _hyper.check_scalar("decay", decay, "unit")
    debias = _hyper.check_bool("debias", debias)
    accumulator_dtype = _hyper.check_dtype("accumulator_dtype", accumulator_dtype)

    def init_fn(params):
        return EmaState(zero_count(), _zeros(params, accumulator_dtype))

    def update_fn(updates, state, params=None, **extra_args):
        del params, extra_args
        beta = _hyper.scalar(decay)
        new = _first_moment(updates, state.ema, beta)
        count = safe_increment(state.count)
        updates = _bias_correction(new, beta, count) if debias else new
        return updates, EmaState(count, _cast_tree(new, accumulator_dtype))

    return GradientTransformation(init_fn, update_fn)

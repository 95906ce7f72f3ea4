r"""Transformations that act on each leaf (each "block": a weight matrix, a bias vector) as a whole.

Their results depend on how the parameters are cut into leaves (a norm per
leaf, a factored second moment per matrix), so none is element-wise. Notation
as in ``_transforms``: :math:`g` the incoming update of one leaf,
:math:`\theta` that leaf's parameters, :math:`\lVert\cdot\rVert` the
Euclidean (Frobenius) norm of the leaf and
:math:`\operatorname{rms}(x) = \lVert x \rVert / \sqrt{\text{size}(x)}`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from gdjax import _checks
from gdjax._dtypes import real_dtype
from gdjax._typing import PyTree
from gdjax.optim import _hyper
from gdjax.optim._base import NO_PARAMS_MSG, GradientTransformation, init_empty_state, safe_increment, zero_count
from gdjax.optim._recipe import hyperparameters

cast = _hyper.cast_like


def _norm(x: jax.Array) -> jax.Array:
    return jnp.sqrt(jnp.sum(_hyper.abs_sq(x)))


def safe_norm(x: jax.Array, min_norm: Any) -> jax.Array:
    r""":math:`\max(\lVert x \rVert, n_{\min})`, with a finite derivative where :math:`\lVert x \rVert \le n_{\min}`.

    (The derivative of :math:`\lVert x \rVert` at 0 is NaN; where the norm is
    replaced by the bound, the norm is taken of ones instead.)
    """
    norm = _norm(x)
    small = norm <= min_norm
    masked = _norm(jnp.where(small, jnp.ones_like(x), x))
    return jnp.where(small, jnp.asarray(min_norm, norm.dtype), masked)


def _safe_rms(x: jax.Array, min_rms: Any) -> jax.Array:
    rms = jnp.sqrt(jnp.mean(_hyper.abs_sq(x)))
    small = rms <= min_rms
    masked = jnp.sqrt(jnp.mean(_hyper.abs_sq(jnp.where(small, jnp.ones_like(x), x))))
    return jnp.where(small, jnp.asarray(min_rms, rms.dtype), masked)


@hyperparameters
def scale_by_trust_ratio(
    min_norm: jax.typing.ArrayLike = 0.0,
    trust_coefficient: jax.typing.ArrayLike = 1.0,
    eps: jax.typing.ArrayLike = 0.0,
) -> GradientTransformation:
    r"""Scales each leaf's update by its trust ratio (LARS, LAMB).

    .. math::

        u = \frac{c\, \max(\lVert\theta\rVert, n_{\min})}{\max(\lVert g \rVert, n_{\min}) + \epsilon}\, g,
        \quad\text{or } u = g \text{ where either norm is 0}

    Args:
      min_norm: :math:`n_{\min} \ge 0`, a floor of both norms.
      trust_coefficient: :math:`c > 0`.
      eps: :math:`\epsilon \ge 0` in the denominator.

    References:
      You et al., *Large Batch Training of Convolutional Networks*, 2017;
      You et al., *Large Batch Optimization for Deep Learning: Training BERT
      in 76 minutes*, ICLR 2020.
    """
    _hyper.check_scalar("min_norm", min_norm, "nonnegative")
    _hyper.check_scalar("trust_coefficient", trust_coefficient, "positive")
    _hyper.check_scalar("eps", eps, "nonnegative")

    def update_fn(updates, state, params=None, **extra_args):
        del extra_args
        if params is None:
            raise ValueError(NO_PARAMS_MSG)

        def one(g, p):
            param_norm = safe_norm(p, min_norm)
            update_norm = safe_norm(g, min_norm)
            ratio = cast(trust_coefficient, param_norm) * param_norm / (update_norm + cast(eps, update_norm))
            ratio = jnp.where((param_norm == 0) | (update_norm == 0), jnp.ones_like(ratio), ratio)
            return g * ratio.astype(g.dtype)

        return jax.tree.map(one, updates, params), state

    return GradientTransformation(init_empty_state, update_fn)


@hyperparameters
def clip_by_block_rms(threshold: jax.typing.ArrayLike) -> GradientTransformation:
    r"""Clips each leaf's update to a root mean square of at most :math:`c`.

    .. math::  u = \frac{g}{\max(1, \operatorname{rms}(g) / c)}

    Args:
      threshold: :math:`c > 0` (Adafactor's ``clipping_threshold``, PyTorch's ``d``).

    References:
      Shazeer & Stern, *Adafactor: Adaptive Learning Rates with Sublinear
      Memory Cost*, ICML 2018.
    """
    _hyper.check_scalar("threshold", threshold, "positive")

    def update_fn(updates, state, params=None, **extra_args):
        del params, extra_args

        def one(g):
            rms = jnp.sqrt(jnp.mean(_hyper.abs_sq(g)))
            return g / jnp.maximum(1.0, rms / cast(threshold, rms)).astype(g.dtype)

        return jax.tree.map(one, updates), state

    return GradientTransformation(init_empty_state, update_fn)


@hyperparameters
def scale_by_param_block_rms(min_scale: jax.typing.ArrayLike = 1e-3) -> GradientTransformation:
    r"""Multiplies each leaf's update by the root mean square of its parameters.

    .. math::  u = \max(\operatorname{rms}(\theta), s)\, g

    Args:
      min_scale: the floor :math:`s \ge 0` (Adafactor's relative step for
        parameters near 0; PyTorch's ``eps[1]``).
    """
    _hyper.check_scalar("min_scale", min_scale, "nonnegative")

    def update_fn(updates, state, params=None, **extra_args):
        del extra_args
        if params is None:
            raise ValueError(NO_PARAMS_MSG)
        updates = jax.tree.map(lambda g, p: g * _safe_rms(p, min_scale).astype(g.dtype), updates, params)
        return updates, state

    return GradientTransformation(init_empty_state, update_fn)


@hyperparameters
def scale_by_param_block_norm(min_scale: jax.typing.ArrayLike = 1e-3) -> GradientTransformation:
    r"""Multiplies each leaf's update by the norm of its parameters: :math:`u = \max(\lVert\theta\rVert, s) g`.

    Args:
      min_scale: the floor :math:`s \ge 0`.
    """
    _hyper.check_scalar("min_scale", min_scale, "nonnegative")

    def update_fn(updates, state, params=None, **extra_args):
        del extra_args
        if params is None:
            raise ValueError(NO_PARAMS_MSG)
        updates = jax.tree.map(lambda g, p: g * safe_norm(p, min_scale).astype(g.dtype), updates, params)
        return updates, state

    return GradientTransformation(init_empty_state, update_fn)


# ------------------------------------------------------------------ Adafactor


class FactoredState(NamedTuple):
    """State of :func:`scale_by_factored_rms`.

    Attributes:
      count: int32 number of updates applied.
      v_row: per leaf, the EMA of the row means of :math:`g^2` (factored
        leaves; a placeholder of shape ``(1,)`` for the others).
      v_col: per leaf, the EMA of the column means (likewise).
      v: per leaf, the full EMA of :math:`g^2` (leaves not factored; a
        placeholder of shape ``(1,)`` for the factored ones).
    """

    count: jax.Array
    v_row: PyTree
    v_col: PyTree
    v: PyTree


def decay_rate_pow(step: jax.typing.ArrayLike, exponent: jax.typing.ArrayLike = 0.8) -> jax.Array:
    r"""Adafactor's second-moment decay :math:`\hat\beta = 1 - (t + 1)^{-c}` at ``step`` :math:`t = 0, 1, \dots`."""
    t = jnp.asarray(step, jnp.asarray(0.0).dtype) + 1
    return 1.0 - t ** (-_hyper.scalar(exponent))


def factored_dims(shape: tuple[int, ...], factored: bool, min_dim_size_to_factor: int) -> tuple[int, int] | None:
    """The two largest axes of a leaf of this shape (second largest, largest), or None to keep it whole.

    A leaf is factored when it has two or more axes and its second largest
    one has at least ``min_dim_size_to_factor`` entries.
    """
    if not factored or len(shape) < 2:
        return None
    order = np.argsort(shape)
    if shape[order[-2]] < min_dim_size_to_factor:
        return None
    return int(order[-2]), int(order[-1])


@hyperparameters(static=("min_dim_size_to_factor",))
def scale_by_factored_rms(
    factored: bool = True,
    decay_rate: jax.typing.ArrayLike = 0.8,
    step_offset: jax.typing.ArrayLike = 0,
    min_dim_size_to_factor: int = 128,
    epsilon: jax.typing.ArrayLike = 1e-30,
    decay_rate_fn: Callable[[jax.Array, Any], jax.Array] = decay_rate_pow,
) -> GradientTransformation:
    r"""Adafactor's scaling by a factored estimate of the root mean square of the gradients.

    For a leaf with two large axes (rows :math:`i`, columns :math:`j`), with
    :math:`\hat\beta_t` = ``decay_rate_fn(t - 1 - offset, decay_rate)``
    (:math:`1 - t^{-0.8}` by default):

    .. math::

        R_t = \hat\beta_t R_{t-1} + (1 - \hat\beta_t)\, \operatorname{mean}_j(g_t^2 + \epsilon), \qquad
        C_t = \hat\beta_t C_{t-1} + (1 - \hat\beta_t)\, \operatorname{mean}_i(g_t^2 + \epsilon), \\
        u_t = \frac{g_t}{\sqrt{\hat V_t}}, \qquad
        \hat V_{t,ij} = \frac{R_{t,i}\, C_{t,j}}{\operatorname{mean}_i R_{t,i}}

    (a rank-one estimate of the EMA of :math:`g^2`, stored in
    :math:`O(n + m)` instead of :math:`O(nm)`). Other leaves keep the full
    :math:`V_t = \hat\beta_t V_{t-1} + (1 - \hat\beta_t)(g_t^2 + \epsilon)`.
    The two axes factored are the two largest, when the smaller of them has at
    least ``min_dim_size_to_factor`` entries; extra axes are batch axes.

    Args:
      factored: factor the leaves that qualify (False: every leaf is full).
      decay_rate: the exponent :math:`c` of the default decay.
      step_offset: :math:`t` counts from this step (fine-tuning).
      min_dim_size_to_factor: a Python integer (it decides the state's shapes).
      epsilon: :math:`\epsilon \ge 0` added to :math:`g^2`.
      decay_rate_fn: ``(step, decay_rate) -> beta``.

    References:
      Shazeer & Stern, *Adafactor: Adaptive Learning Rates with Sublinear
      Memory Cost*, ICML 2018.
    """
    factored = _hyper.check_bool("factored", factored)
    _hyper.check_scalar("decay_rate", decay_rate, "finite")
    _hyper.check_scalar("step_offset", step_offset, "nonnegative")
    _checks.check_int("min_dim_size_to_factor", min_dim_size_to_factor, minimum=1)
    _hyper.check_scalar("epsilon", epsilon, "nonnegative")
    if not callable(decay_rate_fn):
        raise ValueError(f"decay_rate_fn must be a callable (step, decay_rate) -> beta; got {decay_rate_fn!r}.")

    def placeholder(p):
        return jnp.zeros((1,), real_dtype(p.dtype))

    def init_fn(params):
        rows, cols, full = [], [], []
        leaves, treedef = jax.tree.flatten(params)
        for p in leaves:
            p = jnp.asarray(p)
            dims = factored_dims(p.shape, factored, min_dim_size_to_factor)
            dtype = real_dtype(p.dtype)
            if dims is None:
                rows.append(placeholder(p))
                cols.append(placeholder(p))
                full.append(jnp.zeros(p.shape, dtype))
            else:
                d1, d0 = dims
                rows.append(jnp.zeros(np.delete(p.shape, d0), dtype))
                cols.append(jnp.zeros(np.delete(p.shape, d1), dtype))
                full.append(placeholder(p))
        unflat = lambda xs: jax.tree.unflatten(treedef, xs)
        return FactoredState(zero_count(), unflat(rows), unflat(cols), unflat(full))

    def update_fn(updates, state, params=None, **extra_args):
        del extra_args
        if params is None:
            raise ValueError(NO_PARAMS_MSG)
        grads, treedef = jax.tree.flatten(updates)
        flat = [treedef.flatten_up_to(tree) for tree in (state.v_row, state.v_col, state.v, params)]
        beta = decay_rate_fn(state.count - step_offset, decay_rate)
        outs, rows, cols, full = [], [], [], []
        for g, v_row, v_col, v, p in zip(grads, *flat, strict=True):
            dims = factored_dims(jnp.shape(p), factored, min_dim_size_to_factor)
            square = _hyper.abs_sq(g)
            square = square + cast(epsilon, square)
            b = cast(beta, square)
            if dims is None:
                new_v = (b * v + (1 - b) * square).astype(v.dtype)
                outs.append(g * (new_v**-0.5).astype(g.dtype))
                rows.append(v_row)
                cols.append(v_col)
                full.append(new_v)
            else:
                d1, d0 = dims
                new_row = (b * v_row + (1 - b) * jnp.mean(square, axis=d0)).astype(v_row.dtype)
                new_col = (b * v_col + (1 - b) * jnp.mean(square, axis=d1)).astype(v_col.dtype)
                reduced_d1 = d1 - 1 if d1 > d0 else d1
                row_factor = (new_row / jnp.mean(new_row, axis=reduced_d1, keepdims=True)) ** -0.5
                col_factor = new_col**-0.5
                outs.append(
                    g
                    * jnp.expand_dims(row_factor, axis=d0).astype(g.dtype)
                    * jnp.expand_dims(col_factor, axis=d1).astype(g.dtype)
                )
                rows.append(new_row)
                cols.append(new_col)
                full.append(v)
        unflat = lambda xs: jax.tree.unflatten(treedef, xs)
        new_state = FactoredState(safe_increment(state.count), unflat(rows), unflat(cols), unflat(full))
        return unflat(outs), new_state

    return GradientTransformation(init_fn, update_fn)

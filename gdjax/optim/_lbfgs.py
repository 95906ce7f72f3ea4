r"""L-BFGS and a line search satisfying the strong Wolfe conditions, as gradient transformations.

Both use Optax's extra-arguments convention: ``update(updates, state, params,
*, value, grad, value_fn, **extra_args)`` with ``value`` and ``grad`` the
objective and its gradient at ``params`` and ``value_fn(params, **kwargs)`` the
objective (``kwargs`` taken from ``extra_args`` by the names ``value_fn``
accepts; the others are ignored). Everything is fixed-size (the memory is a
ring of ``memory_size`` pairs) and the line search is a ``lax.while_loop`` of
at most ``max_linesearch_steps`` evaluations, so a step jits and ``vmap``\ s
(over starting points, or hyperparameters).

A loop::

    opt = optim.lbfgs()
    state = opt.init(params)
    for _ in range(n):
        value, grad = jax.value_and_grad(f)(params)
        updates, state = opt.update(grad, state, params, value=value, grad=grad, value_fn=f)
        params = optim.apply_updates(params, updates)

The algorithms, their defaults and their numerics are Optax's
(``optax.scale_by_lbfgs``, ``optax.scale_by_zoom_linesearch``,
``optax.lbfgs``), written anew: the trajectories agree with Optax's.
"""

from __future__ import annotations

import functools
import inspect
import operator
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from gdjax import _checks
from gdjax._typing import PyTree
from gdjax.optim import _hyper
from gdjax.optim._base import NO_PARAMS_MSG, GradientTransformation, chain, safe_increment
from gdjax.optim._learning_rate import scale_by_learning_rate
from gdjax.optim._recipe import hyperparameters
from gdjax.optim._transforms import scale

# ------------------------------------------------------------------ tree algebra


def _vdot(a: jax.Array, b: jax.Array) -> jax.Array:
    a, b = jnp.asarray(a), jnp.asarray(b)
    if jnp.iscomplexobj(a):
        a = jnp.conj(a)
    return jnp.tensordot(a, b, a.ndim, precision=jax.lax.Precision.HIGHEST)


def _tree_vdot(x: PyTree, y: PyTree) -> jax.Array:
    """:math:`\\sum_i \\langle \\bar x_i, y_i \\rangle` over the leaves, at the highest precision."""
    return functools.reduce(operator.add, jax.tree.leaves(jax.tree.map(_vdot, x, y)), 0)


def _tree_real_vdot(x: PyTree, y: PyTree) -> jax.Array:
    return jnp.real(_tree_vdot(x, y))


def _tree_sq_norm(x: PyTree) -> jax.Array:
    squares = jax.tree.map(lambda v: jnp.sum(jnp.square(jnp.real(v)) + jnp.square(jnp.imag(v))), x)
    return functools.reduce(operator.add, jax.tree.leaves(squares), 0)


def _add_scale(x: PyTree, s: Any, y: PyTree) -> PyTree:
    s = jnp.asarray(s)
    return jax.tree.map(lambda a, b: a + s * b, x, y)


def _cast_like(tree: PyTree, like: PyTree) -> PyTree:
    return jax.tree.map(lambda t, o: t.astype(o.dtype) if hasattr(o, "dtype") else t, tree, like)


def _where(condition: Any, x: PyTree, y: PyTree) -> PyTree:
    return jax.tree.map(lambda a, b: jnp.where(condition, a, b), x, y)


# ------------------------------------------------------------------------ L-BFGS


class ScaleByLBFGSState(NamedTuple):
    """State of :func:`scale_by_lbfgs`.

    Attributes:
      count: int32 updates applied.
      params: the parameters of the previous update.
      updates: the gradient of the previous update.
      diff_params_memory: the ring of :math:`s_k = w_{k+1} - w_k` (a leading axis
        of ``memory_size`` on every leaf).
      diff_updates_memory: the ring of :math:`y_k = g_{k+1} - g_k`.
      weights_memory: the ring of :math:`\\rho_k = 1 / \\langle s_k, y_k \\rangle`
        (0 for empty slots).
    """

    count: jax.Array
    params: PyTree
    updates: PyTree
    diff_params_memory: PyTree
    diff_updates_memory: PyTree
    weights_memory: jax.Array


def _two_loop(updates, diff_params, diff_updates, weights, identity_scale, memory_idx):
    """The two-loop recursion: :math:`H_k g` from the ring of pairs, oldest at ``memory_idx``."""
    memory_size = weights.shape[0]
    indices = (memory_idx + jnp.arange(memory_size)) % memory_size

    def right(vec, idx):
        s, y = jax.tree.map(lambda x: x[idx], (diff_params, diff_updates))
        alpha = weights[idx] * _tree_real_vdot(s, vec)
        return _cast_like(_add_scale(vec, -alpha, y), vec), alpha

    vec, alphas = jax.lax.scan(right, updates, indices, reverse=True)
    vec = jax.tree.map(lambda v: jnp.asarray(identity_scale) * v, vec)

    def left(vec, idx_alpha):
        idx, alpha = idx_alpha
        s, y = jax.tree.map(lambda x: x[idx], (diff_params, diff_updates))
        beta = weights[idx] * _tree_real_vdot(y, vec)
        return _cast_like(_add_scale(vec, alpha - beta, s), vec), beta

    vec, _ = jax.lax.scan(left, vec, (indices, alphas))
    return vec


@hyperparameters(static=("memory_size",))
def scale_by_lbfgs(memory_size: int = 10, scale_init_precond: bool = True) -> GradientTransformation:
    r"""The L-BFGS direction: the gradient multiplied by a limited-memory inverse-Hessian estimate.

    With the last :math:`m` pairs :math:`s_i = w_{i+1} - w_i`,
    :math:`y_i = g_{i+1} - g_i`, :math:`\rho_i = 1 / \langle s_i, y_i \rangle`,
    the direction :math:`u_k = H_k g_k` is the two-loop recursion

    .. math::

        q \leftarrow g_k;\ \text{for } i = k-1, \dots, k-m:\ \alpha_i = \rho_i \langle s_i, q \rangle,\
        q \leftarrow q - \alpha_i y_i; \\
        r \leftarrow \gamma_k q;\ \text{for } i = k-m, \dots, k-1:\ \beta_i = \rho_i \langle y_i, r \rangle,\
        r \leftarrow r + (\alpha_i - \beta_i) s_i; \qquad u_k = r

    with :math:`\gamma_k = \langle s_{k-1}, y_{k-1} \rangle / \lVert y_{k-1} \rVert^2`
    (``scale_init_precond``; at the first step :math:`\min(1, 1/\lVert g_0 \rVert)`),
    else 1. The direction is an ascent direction: follow it with a negative
    scale and a line search (:func:`lbfgs`). Needs ``params`` in ``update``.

    Args:
      memory_size: :math:`m \ge 1`, a Python integer (it sizes the state).
      scale_init_precond: scale the initial inverse Hessian by :math:`\gamma_k`.

    References:
      Nocedal & Wright, *Numerical Optimization*, 1999, Algorithms 7.4 and 7.5.
    """
    _checks.check_int("memory_size", memory_size, minimum=1)
    scale_init_precond = _hyper.check_bool("scale_init_precond", scale_init_precond)

    def init_fn(params):
        stacked = jax.tree.map(lambda p: jnp.zeros((memory_size, *jnp.shape(p)), jnp.result_type(p)), params)
        zeros = jax.tree.map(jnp.zeros_like, params)
        return ScaleByLBFGSState(jnp.asarray(0, jnp.int32), zeros, zeros, stacked, stacked, jnp.zeros(memory_size))

    def update_fn(updates, state, params=None, **extra_args):
        del extra_args
        if params is None:
            raise ValueError(NO_PARAMS_MSG)
        memory_idx = state.count % memory_size
        prev_idx = (state.count - 1) % memory_size
        diff_params = jax.tree.map(lambda a, b: a - b, params, state.params)
        diff_updates = jax.tree.map(lambda a, b: a - b, updates, state.updates)
        curvature = _tree_real_vdot(diff_updates, diff_params)
        weight = jnp.where(curvature == 0.0, 0.0, 1.0 / curvature)
        diff_params, diff_updates, weight = jax.tree.map(
            lambda x: jnp.where(state.count > 0, x, jnp.zeros_like(x)), (diff_params, diff_updates, weight)
        )
        memories = jax.tree.map(
            lambda ring, new: ring.at[prev_idx].set(new),
            (state.diff_params_memory, state.diff_updates_memory, state.weights_memory),
            (diff_params, diff_updates, weight),
        )
        if scale_init_precond:
            numerator = _tree_real_vdot(diff_updates, diff_params)
            denominator = _tree_sq_norm(diff_updates)
            gamma = jnp.where(denominator > 0.0, numerator / denominator, 1.0)
            capped = jnp.minimum(1.0, 1.0 / jnp.sqrt(_tree_sq_norm(jax.lax.stop_gradient(updates))))
            gamma = jnp.where(state.count > 0, gamma, capped)
        else:
            gamma = 1.0
        direction = _two_loop(updates, *memories, gamma, memory_idx)
        return direction, ScaleByLBFGSState(safe_increment(state.count), params, updates, *memories)

    return GradientTransformation(init_fn, update_fn)


# ------------------------------------------------------------------ line search


class ZoomLinesearchInfo(NamedTuple):
    """What the last line search did.

    Attributes:
      num_linesearch_steps: evaluations of ``value_fn`` (and its gradient).
      decrease_error: > 0 if the step found does not decrease the objective
        enough (the search failed); 0 if it does.
      curvature_error: > 0 if the step does not satisfy the curvature
        condition (less serious: e.g. a maximal rate too small).
    """

    num_linesearch_steps: jax.Array
    decrease_error: jax.Array
    curvature_error: jax.Array


class ScaleByZoomLinesearchState(NamedTuple):
    """State of :func:`scale_by_zoom_linesearch`.

    Attributes:
      learning_rate: the step size of the last search (the next search's
        first guess with ``initial_guess_strategy="keep"``).
      value: the objective at the step taken (the next step's ``value``, for
        a deterministic objective).
      grad: its gradient there.
      info: a :class:`ZoomLinesearchInfo`.
    """

    learning_rate: jax.Array
    value: jax.Array
    grad: PyTree
    info: ZoomLinesearchInfo


class _Search(NamedTuple):
    """The line search's loop state (Nocedal & Wright's interval and the safe step)."""

    count: jax.Array
    stepsize_guess: jax.Array
    stepsize: jax.Array
    value: jax.Array
    grad: PyTree
    slope: jax.Array
    value_init: jax.Array
    slope_init: jax.Array
    decrease_error: jax.Array
    curvature_error: jax.Array
    error: jax.Array
    interval_found: jax.Array
    done: jax.Array
    failed: jax.Array
    low: jax.Array
    value_low: jax.Array
    slope_low: jax.Array
    high: jax.Array
    value_high: jax.Array
    slope_high: jax.Array
    cubic_ref: jax.Array
    value_cubic_ref: jax.Array
    safe_stepsize: jax.Array
    safe_value: jax.Array
    safe_grad: PyTree


def _cubicmin(a, fa, fpa, b, fb, c, fc):
    """The critical point of the cubic through (a, fa) with slope fpa, (b, fb) and (c, fc) (NaN if none)."""
    db, dc = b - a, c - a
    denom = (db * dc) ** 2 * (db - dc)
    d1 = jnp.array([[dc**2, -(db**2)], [-(dc**3), db**3]])
    big_a, big_b = jnp.dot(d1, jnp.array([fb - fa - fpa * db, fc - fa - fpa * dc]), precision="highest") / denom
    radical = big_b * big_b - 3.0 * big_a * fpa
    return a + (-big_b + jnp.sqrt(radical)) / (3.0 * big_a)


def _quadmin(a, fa, fpa, b, fb):
    """The critical point of the parabola through (a, fa) with slope fpa and (b, fb)."""
    db = b - a
    curvature = (fb - fa - fpa * db) / (db**2)
    return a - fpa / (2.0 * curvature)


def _kwargs_for(fn: Callable[..., Any], extra_args: dict) -> dict:
    try:
        parameters = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return {}
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values()):
        return dict(extra_args)
    return {k: v for k, v in extra_args.items() if k in parameters}


@hyperparameters(static=("max_linesearch_steps",))
def scale_by_zoom_linesearch(
    max_linesearch_steps: int,
    max_learning_rate: jax.typing.ArrayLike | None = None,
    tol: jax.typing.ArrayLike = 0.0,
    increase_factor: jax.typing.ArrayLike = 2.0,
    slope_rtol: jax.typing.ArrayLike = 1e-4,
    curv_rtol: jax.typing.ArrayLike = 0.9,
    approx_dec_rtol: jax.typing.ArrayLike | None = 1e-6,
    stepsize_precision: jax.typing.ArrayLike = 1e-5,
    initial_guess_strategy: str = "keep",
) -> GradientTransformation:
    r"""Scales the updates by a step size satisfying the strong Wolfe conditions (Nocedal & Wright's zoom).

    For the direction :math:`u` at :math:`w` (with :math:`f(w)` = ``value``,
    :math:`\nabla f(w)` = ``grad``, the slope :math:`\delta = \langle u, \nabla f(w) \rangle < 0`),
    it looks for :math:`\eta` with

    .. math::

        f(w + \eta u) \le f(w) + c_1 \eta \delta \quad \text{(sufficient decrease)}, \qquad
        |\langle u, \nabla f(w + \eta u) \rangle| \le c_2 |\delta| \quad \text{(curvature)}

    (:math:`c_1` = ``slope_rtol``, :math:`c_2` = ``curv_rtol``; with
    ``approx_dec_rtol`` :math:`\epsilon`, Hager & Zhang's approximate decrease
    :math:`(2 c_1 - 1)\delta \ge \langle u, \nabla f(w + \eta u)\rangle` with
    :math:`f(w + \eta u) \le f(w) + \epsilon |f(w)|` also counts). It first
    grows a trial step (from 1, or the last step with ``"keep"``) by
    ``increase_factor`` until an interval must contain such an :math:`\eta`
    (Algorithm 3.5), then shrinks the interval by cubic, quadratic or bisection
    steps (Algorithm 3.6), in a ``lax.while_loop`` of at most
    ``max_linesearch_steps`` evaluations. If it runs out, it takes the best
    step seen that decreases :math:`f` enough, if any.
    ``torch.optim.LBFGS(line_search_fn="strong_wolfe")`` searches for the
    same conditions (with another interpolation scheme).

    ``update(updates, state, params, *, value, grad, value_fn, **extra_args)``:
    ``value_fn(params, **kwargs)`` is the objective, ``kwargs`` the extra
    arguments it accepts (e.g. a batch); the others are ignored. The state keeps
    the value and gradient at the new parameters (reusable as the next
    ``value`` and ``grad`` for a deterministic objective).

    Args:
      max_linesearch_steps: evaluations per search (a Python integer >= 1).
      max_learning_rate: the largest step, or None.
      tol: tolerance on both conditions.
      increase_factor: growth of the trial step (> 1).
      slope_rtol: :math:`c_1 \in (0, 1)`.
      curv_rtol: :math:`c_2` (> :math:`c_1`; ``inf`` drops the curvature condition).
      approx_dec_rtol: :math:`\epsilon`, or None for the plain Armijo condition.
      stepsize_precision: the interval below which a step with sufficient
        decrease is accepted.
      initial_guess_strategy: ``"one"`` (start each search at 1, for
        quasi-Newton directions) or ``"keep"`` (at the last step size).

    References:
      Nocedal & Wright, *Numerical Optimization*, 1999, Algorithms 3.5 and 3.6;
      Hager & Zhang, *Algorithm 851: CG_DESCENT*, ACM TOMS 2006.
    """
    _checks.check_int("max_linesearch_steps", max_linesearch_steps, minimum=1)
    if max_learning_rate is not None:
        _hyper.check_scalar("max_learning_rate", max_learning_rate, "positive")
    _hyper.check_scalar("tol", tol, "nonnegative")
    _hyper.check_scalar("increase_factor", increase_factor, "positive")
    _hyper.check_scalar("slope_rtol", slope_rtol, "positive")
    if not (isinstance(curv_rtol, float) and curv_rtol == float("inf")):
        _hyper.check_scalar("curv_rtol", curv_rtol, "positive")
    if approx_dec_rtol is not None:
        _hyper.check_scalar("approx_dec_rtol", approx_dec_rtol, "nonnegative")
    _hyper.check_scalar("stepsize_precision", stepsize_precision, "nonnegative")
    _checks.check_choice("initial_guess_strategy", initial_guess_strategy, ("one", "keep"))

    def decrease_error_of(stepsize, value_step, slope_step, value_init, slope_init):
        error = value_step - value_init - slope_rtol * stepsize * slope_init
        if approx_dec_rtol is not None:
            approx = slope_step - (2 * slope_rtol - 1.0) * slope_init
            delta_values = value_step - value_init - approx_dec_rtol * jnp.abs(value_init)
            error = jnp.minimum(jnp.maximum(approx, delta_values), error)
        error = jnp.maximum(error, 0.0)
        return jnp.where(jnp.isnan(error), jnp.inf, error)

    def curvature_error_of(slope_step, slope_init):
        error = jnp.maximum(jnp.abs(slope_step) - curv_rtol * jnp.abs(slope_init), 0.0)
        return jnp.where(jnp.isnan(error), jnp.inf, error)

    def search(params, updates, value, grad, prev_stepsize, value_and_grad):
        def on_line(stepsize):
            value_step, grad_step = value_and_grad(_add_scale(params, stepsize, updates))
            slope_step = _tree_real_vdot(jax.tree.map(jnp.conj, grad_step), updates)
            return value_step, grad_step, slope_step

        def interval(s: _Search) -> _Search:  # Algorithm 3.5
            new = jnp.where(s.count == 0, s.stepsize_guess, increase_factor * s.stepsize)
            if max_learning_rate is not None:
                max_reached = new >= max_learning_rate
                new = jnp.minimum(new, max_learning_rate)
            else:
                max_reached = jnp.asarray(False)
            value_new, grad_new, slope_new = on_line(new)
            dec = decrease_error_of(new, value_new, slope_new, s.value_init, s.slope_init)
            curv = curvature_error_of(slope_new, s.slope_init)
            error = jnp.maximum(dec, curv)
            safe_stepsize, safe_value, safe_grad = _where(
                dec <= tol, [new, value_new, grad_new], [s.safe_stepsize, s.safe_value, s.safe_grad]
            )
            high_is_new = (dec > 0.0) | ((value_new >= s.value) & (s.count > 0))
            low_is_new = (slope_new >= 0.0) & ~high_is_new
            low, value_low, slope_low, high, value_high, slope_high = _where(
                low_is_new,
                [new, value_new, slope_new, s.stepsize, s.value, s.slope],
                [s.stepsize, s.value, s.slope, new, value_new, slope_new],
            )
            found = high_is_new | low_is_new | (error <= tol)
            done = (error <= tol) | (max_reached & ~found)
            failed = (s.count + 1 >= max_linesearch_steps) & ~done
            return _cast_like(
                s._replace(
                    count=safe_increment(s.count),
                    stepsize=new,
                    value=value_new,
                    grad=grad_new,
                    slope=slope_new,
                    decrease_error=dec,
                    curvature_error=curv,
                    error=error,
                    interval_found=jnp.asarray(found),
                    done=jnp.asarray(done),
                    failed=jnp.asarray(failed),
                    low=low,
                    value_low=value_low,
                    slope_low=slope_low,
                    high=high,
                    value_high=value_high,
                    slope_high=slope_high,
                    cubic_ref=low,
                    value_cubic_ref=value_low,
                    safe_stepsize=safe_stepsize,
                    safe_value=safe_value,
                    safe_grad=safe_grad,
                ),
                s,
            )

        def zoom(s: _Search) -> _Search:  # Algorithm 3.6
            delta = jnp.abs(s.high - s.low)
            left, right = jnp.minimum(s.high, s.low), jnp.maximum(s.high, s.low)
            cubic = _cubicmin(s.low, s.value_low, s.slope_low, s.high, s.value_high, s.cubic_ref, s.value_cubic_ref)
            use_cubic = (cubic > left + 0.2 * delta) & (cubic < right - 0.2 * delta)
            quad = _quadmin(s.low, s.value_low, s.slope_low, s.high, s.value_high)
            use_quad = ~use_cubic & (quad > left + 0.1 * delta) & (quad < right - 0.1 * delta)
            use_bisection = ~use_cubic & ~use_quad
            middle = jnp.where(use_cubic, cubic, s.cubic_ref)
            middle = jnp.where(use_quad, quad, middle)
            middle = jnp.where(use_bisection, (s.low + s.high) / 2.0, middle)
            value_mid, grad_mid, slope_mid = on_line(middle)
            dec = decrease_error_of(middle, value_mid, slope_mid, s.value_init, s.slope_init)
            curv = curvature_error_of(slope_mid, s.slope_init)
            error = jnp.maximum(dec, curv)
            safe_stepsize, safe_value, safe_grad = _where(
                (dec <= tol) & (value_mid < s.safe_value),
                [middle, value_mid, grad_mid],
                [s.safe_stepsize, s.safe_value, s.safe_grad],
            )
            done = error <= tol
            high_is_mid = (dec > 0.0) | (value_mid >= s.value_low)
            high_is_low = (slope_mid * (s.high - s.low) >= 0.0) & ~high_is_mid
            low_is_mid = ~high_is_mid
            high, value_high, slope_high = _where(
                high_is_mid, [middle, value_mid, slope_mid], [s.high, s.value_high, s.slope_high]
            )
            high, value_high, slope_high = _where(
                high_is_low, [s.low, s.value_low, s.slope_low], [high, value_high, slope_high]
            )
            low, value_low, slope_low = _where(
                low_is_mid, [middle, value_mid, slope_mid], [s.low, s.value_low, s.slope_low]
            )
            cubic_ref, value_cubic_ref = _where(high_is_mid | high_is_low, [s.high, s.value_high], [s.low, s.value_low])
            presumably_failed = ((s.count + 1) >= max_linesearch_steps) | (
                (delta <= stepsize_precision) & (safe_stepsize > 0.0)
            )
            return _cast_like(
                s._replace(
                    count=safe_increment(s.count),
                    stepsize=middle,
                    value=value_mid,
                    grad=grad_mid,
                    slope=slope_mid,
                    decrease_error=dec,
                    curvature_error=curv,
                    error=error,
                    done=done,
                    failed=presumably_failed & ~done,
                    low=low,
                    value_low=value_low,
                    slope_low=slope_low,
                    high=high,
                    value_high=value_high,
                    slope_high=slope_high,
                    cubic_ref=cubic_ref,
                    value_cubic_ref=value_cubic_ref,
                    safe_stepsize=safe_stepsize,
                    safe_value=safe_value,
                    safe_grad=safe_grad,
                ),
                s,
            )

        def fall_back(s: _Search) -> _Search:
            # Out of evaluations: the best step with sufficient decrease, if any (or none if f was not finite).
            use_safe = (s.safe_stepsize > 0.0) | jnp.isinf(s.decrease_error)
            stepsize, value_, grad_ = _where(
                use_safe, [s.safe_stepsize, s.safe_value, s.safe_grad], [s.stepsize, s.value, s.grad]
            )
            return _cast_like(s._replace(stepsize=stepsize, value=value_, grad=grad_), s)

        def body(s: _Search) -> _Search:
            s = jax.lax.cond(s.interval_found, zoom, interval, s)
            return _cast_like(jax.lax.cond(s.failed, fall_back, lambda x: x, s), s)

        guess = jnp.asarray(1.0) if initial_guess_strategy == "one" else prev_stepsize
        real_dtype = jnp.real(jnp.empty((), jax.tree.leaves(params)[0].dtype)).dtype
        slope = _tree_real_vdot(updates, grad)
        inf = jnp.asarray(jnp.inf)
        start = _Search(
            count=jnp.asarray(0),
            stepsize_guess=guess,
            stepsize=jnp.asarray(0.0, real_dtype),
            value=jnp.array(value, dtype=real_dtype),
            grad=grad,
            slope=slope,
            value_init=value,
            slope_init=slope,
            decrease_error=inf,
            curvature_error=inf,
            error=inf,
            interval_found=jnp.asarray(False),
            done=jnp.asarray(False),
            failed=jnp.asarray(False),
            low=jnp.asarray(0.0),
            value_low=value,
            slope_low=slope,
            high=jnp.asarray(0.0),
            value_high=value,
            slope_high=slope,
            cubic_ref=jnp.asarray(0.0),
            value_cubic_ref=value,
            safe_stepsize=jnp.asarray(0.0),
            safe_value=value,
            safe_grad=grad,
        )
        return jax.lax.while_loop(lambda s: ~(s.done | s.failed), body, start)

    def init_fn(params):
        real_dtype = jnp.real(jnp.empty((), jax.tree.leaves(params)[0].dtype)).dtype
        info = ZoomLinesearchInfo(jnp.asarray(0), jnp.asarray(jnp.inf), jnp.asarray(jnp.inf))
        return ScaleByZoomLinesearchState(
            jnp.asarray(1.0, real_dtype), jnp.asarray(jnp.inf, real_dtype), jax.tree.map(jnp.zeros_like, params), info
        )

    def update_fn(updates, state, params=None, *, value, grad, value_fn, **extra_args):
        if params is None:
            raise ValueError(NO_PARAMS_MSG)
        if not callable(value_fn):
            raise ValueError(f"value_fn must be the objective, a callable params -> scalar; got {value_fn!r}.")
        kwargs = _kwargs_for(value_fn, extra_args)
        value_and_grad = jax.value_and_grad(lambda p: value_fn(p, **kwargs))
        final = search(params, updates, value, grad, state.learning_rate, value_and_grad)
        scaled = jax.tree.map(lambda u: jnp.asarray(final.stepsize) * u, updates)
        info = ZoomLinesearchInfo(final.count, final.decrease_error, final.curvature_error)
        new_state = ScaleByZoomLinesearchState(final.stepsize, final.value, final.grad, info)
        return scaled, _cast_like(new_state, state)

    return GradientTransformation(init_fn, update_fn)


@hyperparameters(static=("memory_size",))
def lbfgs(
    learning_rate: Any = None,
    memory_size: int = 10,
    scale_init_precond: bool = True,
    linesearch: GradientTransformation | None = None,
) -> GradientTransformation:
    r"""L-BFGS with a strong-Wolfe line search: :math:`w_{k+1} = w_k - \eta_k \alpha\, H_k \nabla f(w_k)`.

    The chain of :func:`scale_by_lbfgs` (the direction :math:`H_k \nabla f(w_k)`),
    the negative learning rate :math:`\alpha` (1 if None) and the line search
    (:math:`\eta_k`; by default :func:`scale_by_zoom_linesearch` with
    ``max_linesearch_steps=20`` and ``initial_guess_strategy="one"``), Optax's
    ``lbfgs``. ``update`` needs ``params`` and the extra arguments ``value``,
    ``grad`` and ``value_fn`` (see the module docstring); the state's line
    search part keeps :math:`f` and :math:`\nabla f` at the new parameters. On a
    strictly convex quadratic in :math:`n` variables, with exact steps, it
    reaches the minimum in at most :math:`n` steps (conjugate directions).
    ``torch.optim.LBFGS(line_search_fn="strong_wolfe", max_iter=1)`` is the
    same method with PyTorch's own first step and line-search interpolation.

    Args:
      learning_rate: :math:`\alpha` (> 0), a schedule, or None.
      memory_size: the pairs kept (a Python integer >= 1).
      scale_init_precond: see :func:`scale_by_lbfgs`.
      linesearch: a line search transformation (extra arguments ``value``,
        ``grad``, ``value_fn``), the default one if None; ``identity()`` for none.

    References:
      Liu & Nocedal, *On the limited memory BFGS method for large scale
      optimization*, Mathematical Programming 1989; Nocedal & Wright,
      *Numerical Optimization*, 1999.
    """
    if linesearch is None:
        linesearch = scale_by_zoom_linesearch(max_linesearch_steps=20, initial_guess_strategy="one")
    rate = scale(-1.0) if learning_rate is None else scale_by_learning_rate(learning_rate)
    return chain(scale_by_lbfgs(memory_size, scale_init_precond), rate, linesearch)

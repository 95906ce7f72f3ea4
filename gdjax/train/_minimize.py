"""``minimize``: run an optimizer on a plain function of a few variables.

For the course's 1-D and 2-D examples (``f(x) = x^2``, Rosenbrock, ...): from
``x_0`` the optimizer takes steps ``x_{t+1} = x_t + u_t`` with
``u_t = update(grad f(x_t))`` until one of

- convergence: ``||grad f(x_t)|| <= tol`` (Euclidean norm over all leaves), or
  ``||x_t - x_{t-1}|| <= xtol``, or ``|f(x_t) - f(x_{t-1})| <= ftol`` (the
  last two only when given);
- divergence: a non-finite value, gradient or point (the step that produced
  it is not taken), or ``||x_t|| > max_norm`` when given (that step is kept,
  so the trajectory shows it leaving);
- the step budget: ``t = max_steps``.

The whole loop is one ``lax.while_loop`` inside ``jit``, with the trajectory
in fixed-size buffers of ``max_steps + 1`` rows so that the function can be
``vmap``-ed over starting points, tolerances or (through a callable
``optimizer``) hyperparameters. Rows after the stop repeat the final point
and value; ``num_steps`` says how many steps were taken (rows
``0 .. num_steps`` are the real trajectory).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from gdjax._checks import check_finite_array, check_int, check_nonnegative, check_positive
from gdjax.optim import apply_updates, global_norm
from gdjax.train._trainer import is_transformation
from gdjax.train._tree import all_finite, select

CONVERGED = 0
MAX_STEPS = 1
DIVERGED = 2
#: ``STATUS_NAMES[result.status]`` is why a minimisation stopped.
STATUS_NAMES = ("converged", "max_steps", "diverged")
_RUNNING = -1


class MinimizeResult(NamedTuple):
    """Outcome of :func:`minimize` (batched along leading axes under ``vmap``).

    Attributes:
      x: final point (the structure of ``x0``).
      value: ``f(x)``.
      grad_norm: ``||grad f(x)||``.
      num_steps: steps taken (int32).
      status: why it stopped, an index into :data:`STATUS_NAMES`
        (:data:`CONVERGED`, :data:`MAX_STEPS` or :data:`DIVERGED`).
      trajectory: points ``x_0 .. x_T``, each leaf of shape
        ``(max_steps + 1, *leaf.shape)``; rows after ``num_steps`` repeat ``x``.
      values: ``f(x_0) .. f(x_T)``, shape ``(max_steps + 1,)``, padded likewise.
    """

    x: Any
    value: jax.Array
    grad_norm: jax.Array
    num_steps: jax.Array
    status: jax.Array
    trajectory: Any
    values: jax.Array

    @property
    def reason(self) -> str | np.ndarray:
        """The status as a name (an array of names for a batch of results)."""
        names = np.asarray(STATUS_NAMES)[np.asarray(self.status)]
        return str(names) if names.ndim == 0 else names


def status_name(status: int | jax.Array) -> str | np.ndarray:
    """Name(s) of status code(s): ``status_name(0) == "converged"``."""
    names = np.asarray(STATUS_NAMES)[np.asarray(status)]
    return str(names) if names.ndim == 0 else names


def minimize(
    fun: Callable[[Any], jax.Array],
    x0: Any,
    optimizer: Any,
    *,
    max_steps: int = 1000,
    tol: float = 1e-6,
    xtol: float | None = None,
    ftol: float | None = None,
    max_norm: float | None = None,
    hyperparams: Any = None,
) -> MinimizeResult:
    """Minimises ``fun`` from ``x0`` with a gradient transformation; compiled and vmappable.

    Example (gradient descent on ``f(x) = x^2`` from 3, ``x_t = 3 * 0.8^t``)::

        result = gdjax.minimize(lambda x: x**2, 3.0, optax.sgd(0.1), max_steps=100)
        result.reason, result.num_steps, result.trajectory[: result.num_steps + 1]

    Args:
      fun: ``fun(x) -> scalar``, differentiable; ``x`` has the structure of ``x0``.
      x0: starting point: a number, an array or a pytree of arrays (integers
        are converted to the default float dtype).
      optimizer: a gradient transformation (gdjax or Optax), or
        ``hyperparams -> transformation``.
      max_steps: most steps to take (``>= 1``); sets the trajectory length.
      tol: converged when the gradient norm is ``<= tol`` (``>= 0``).
      xtol: converged when a step moves ``x`` by at most ``xtol`` (None: off).
      ftol: converged when a step changes ``f`` by at most ``ftol`` (None: off).
      max_norm: diverged when ``||x|| > max_norm`` (None: only non-finite values).
      hyperparams: passed to a callable ``optimizer``; may be traced.

    Returns:
      A :class:`MinimizeResult`.

    The compiled program is cached per ``(fun, optimizer, max_steps)``: pass
    the same function and optimizer objects (not a fresh ``lambda`` each call)
    to reuse it for new starting points, tolerances and hyperparameters.
    """
    max_steps = check_minimize_options(fun, optimizer, max_steps, tol, xtol, ftol, max_norm)
    leaves = jax.tree_util.tree_leaves_with_path(x0)
    if not leaves:
        raise ValueError("x0 must be a number, an array or a pytree of arrays; got no arrays.")
    for path, leaf in leaves:
        check_finite_array(f"x0{jax.tree_util.keystr(path)}", leaf)
    x0 = jax.tree.map(_as_float, x0)
    return _jitted(fun, optimizer, max_steps)(x0, tol, xtol, ftol, max_norm, hyperparams)


def check_minimize_options(fun, optimizer, max_steps, tol, xtol, ftol, max_norm) -> int:
    """Validates the static options of a minimisation; returns ``max_steps`` as an int."""
    if not callable(fun):
        raise ValueError(f"fun must be callable fun(x) -> scalar; got {fun!r}.")
    if not (is_transformation(optimizer) or callable(optimizer)):
        raise ValueError(
            "optimizer must be a gradient transformation (with init and update) or a callable "
            f"hyperparams -> gradient transformation; got {optimizer!r}."
        )
    max_steps = check_int("max_steps", max_steps, minimum=1)
    check_nonnegative("tol", tol)
    if xtol is not None:
        check_nonnegative("xtol", xtol)
    if ftol is not None:
        check_nonnegative("ftol", ftol)
    if max_norm is not None:
        check_positive("max_norm", max_norm)
    return max_steps


def _as_float(leaf: Any) -> jax.Array:
    leaf = jnp.asarray(leaf)
    return leaf if jnp.issubdtype(leaf.dtype, jnp.inexact) else leaf.astype(jnp.result_type(float))


@functools.lru_cache(maxsize=64)
def _jitted_cached(fun: Any, optimizer: Any, max_steps: int) -> Callable[..., MinimizeResult]:
    return jax.jit(functools.partial(_minimize, fun, optimizer, max_steps))


def _jitted(fun: Any, optimizer: Any, max_steps: int) -> Callable[..., MinimizeResult]:
    """One compiled program per (function, optimizer, max_steps); new points or tolerances reuse it."""
    try:
        return _jitted_cached(fun, optimizer, max_steps)
    except TypeError:  # unhashable callables get a fresh jit
        return jax.jit(functools.partial(_minimize, fun, optimizer, max_steps))


def _minimize(
    fun, optimizer, max_steps, x0, tol, xtol, ftol, max_norm, hyperparams, record: bool = True
) -> MinimizeResult:
    """The compiled minimisation; ``record=False`` keeps no trajectory (``trajectory``/``values`` None)."""
    transformation = optimizer if is_transformation(optimizer) else optimizer(hyperparams)

    shape = jax.eval_shape(fun, x0).shape
    if shape != ():
        raise ValueError(f"fun must return a scalar; got an array of shape {shape}.")
    value_and_grad = jax.value_and_grad(fun)

    value0, grad0 = value_and_grad(x0)
    rows = max_steps + 1
    trajectory = values = None
    if record:
        trajectory = jax.tree.map(lambda a: jnp.zeros((rows,) + a.shape, a.dtype).at[0].set(a), x0)
        values = jnp.zeros((rows,), value0.dtype).at[0].set(value0)
    finite0 = jnp.isfinite(value0) & all_finite(grad0)
    status0 = jnp.where(~finite0, DIVERGED, jnp.where(global_norm(grad0) <= tol, CONVERGED, _RUNNING)).astype(jnp.int32)

    def running(carry):
        return carry[-1] == _RUNNING

    def step(carry):
        count, x, value, grad, opt_state, trajectory, values, _ = carry
        updates, new_opt_state = transformation.update(grad, opt_state, x)
        new_x = apply_updates(x, updates)
        new_value, new_grad = value_and_grad(new_x)
        finite = jnp.isfinite(new_value) & all_finite(new_grad) & all_finite(new_x)
        converged = global_norm(new_grad) <= tol
        if xtol is not None:
            converged |= global_norm(jax.tree.map(jnp.subtract, new_x, x)) <= xtol
        if ftol is not None:
            converged |= jnp.abs(new_value - value) <= ftol
        escaped = jnp.zeros((), bool) if max_norm is None else global_norm(new_x) > max_norm
        new_count = count + 1
        status = jnp.where(
            ~finite | escaped,
            DIVERGED,
            jnp.where(converged, CONVERGED, jnp.where(new_count >= max_steps, MAX_STEPS, _RUNNING)),
        ).astype(jnp.int32)
        # Written unconditionally: a rejected (non-finite) step's row lies past
        # ``count`` and is overwritten by the padding at the end.
        if record:
            trajectory = jax.tree.map(lambda buf, a: buf.at[new_count].set(a), trajectory, new_x)
            values = values.at[new_count].set(new_value)
        x, value, grad, opt_state = select(
            finite, (new_x, new_value, new_grad, new_opt_state), (x, value, grad, opt_state)
        )
        count = jnp.where(finite, new_count, count)
        return count, x, value, grad, opt_state, trajectory, values, status

    carry = (
        jnp.zeros((), jnp.int32),
        x0,
        value0,
        grad0,
        transformation.init(x0),
        trajectory,
        values,
        status0,
    )
    count, x, value, grad, _, trajectory, values, status = jax.lax.while_loop(running, step, carry)

    if record:
        valid = jnp.arange(rows) <= count
        trajectory = jax.tree.map(
            lambda buf, a: jnp.where(valid.reshape((rows,) + (1,) * a.ndim), buf, a[None]), trajectory, x
        )
        values = jnp.where(valid, values, value)
    return MinimizeResult(
        x=x,
        value=value,
        grad_norm=global_norm(grad),
        num_steps=count,
        status=status,
        trajectory=trajectory,
        values=values,
    )

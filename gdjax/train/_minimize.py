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

The whole loop is one program inside ``jit``, with the trajectory in
fixed-size buffers of ``max_steps + 1`` rows so that the function can be
``vmap``-ed over starting points, tolerances or (through a callable
``optimizer``) hyperparameters. Rows after the stop repeat the final point
and value; ``num_steps`` says how many steps were taken (rows
``0 .. num_steps`` are the real trajectory).

Stopping is checked every ``check_every`` steps: a ``lax.while_loop`` over
blocks of ``check_every`` plain steps (a ``lax.scan``), the stopping rules
applied at the end of each block. With ``check_every=1`` (the default of
:func:`minimize`) every step is checked, and the rules above hold exactly.
With ``check_every=k`` a run stops at the first block end where a rule holds:
``num_steps`` is a multiple of ``k`` (or ``max_steps``), a run that converged
inside a block takes the block's remaining steps too, and a run whose block
produced a non-finite value goes back to the point at the start of that block
(the last checked point) and is reported diverged there. Under ``vmap`` over
many starting points, per-step checks cost several times the steps
themselves; blocks of ``k`` cut that cost by ``k`` (finished runs are frozen
with a mask until every run of the batch has finished).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from gdjax import optim
from gdjax._checks import check_finite_array, check_int, check_nonnegative, check_positive
from gdjax._dtypes import as_inexact
from gdjax.optim import apply_updates
from gdjax.train._transformations import check_optimizer, is_transformation, takes_extra_args
from gdjax.train._tree import select

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


class Minimizer(NamedTuple):
    """The validated configuration of a minimisation, and its pure function :meth:`run`.

    Build it with :func:`make_minimizer`. ``run`` is jittable and vmappable
    over starting points, tolerances and hyperparameters.
    """

    fun: Callable[[Any], jax.Array]
    optimizer: Any
    max_steps: int
    check_every: int
    keep_trajectory: bool

    def run(
        self,
        x0: Any,
        tol: Any = 1e-6,
        xtol: Any = None,
        ftol: Any = None,
        max_norm: Any = None,
        hyperparams: Any = None,
    ) -> MinimizeResult:
        """The minimisation from ``x0`` (see :func:`minimize` for the arguments)."""
        return _minimize(self, x0, tol, xtol, ftol, max_norm, hyperparams)

    def transformation(self, hyperparams: Any = None) -> Any:
        return self.optimizer if is_transformation(self.optimizer) else self.optimizer(hyperparams)

    def split(self) -> tuple[Any, Minimizer]:
        """``(values, structure)``: the optimizer's hyperparameter values apart (see :meth:`Trainer.split`)."""
        values, structure = optim.split(self.optimizer)
        return values, self._replace(optimizer=structure)

    @staticmethod
    def merge(structure: Minimizer, values: Any) -> Minimizer:
        return structure._replace(optimizer=optim.merge(structure.optimizer, values))


def make_minimizer(
    fun: Callable[[Any], jax.Array],
    optimizer: Any,
    *,
    max_steps: int = 1000,
    check_every: int = 1,
    keep_trajectory: bool = True,
) -> Minimizer:
    """The validated configuration of a minimisation (see :func:`minimize` and the module docs).

    Args:
      check_every: steps between checks of the stopping rules (``>= 1``).
      keep_trajectory: keep the whole path (``max_steps + 1`` rows) in the result.
    """
    if not callable(fun):
        raise ValueError(f"fun must be callable fun(x) -> scalar; got {fun!r}.")
    check_optimizer(optimizer)
    max_steps = check_int("max_steps", max_steps, minimum=1)
    check_every = min(check_int("check_every", check_every, minimum=1), max_steps)
    if not isinstance(keep_trajectory, bool):
        raise ValueError(f"keep_trajectory must be a bool; got {keep_trajectory!r}.")
    return Minimizer(fun, optimizer, max_steps, check_every, keep_trajectory)


def check_tolerances(tol: Any, xtol: Any, ftol: Any, max_norm: Any) -> None:
    """Validates the stopping tolerances of a minimisation (concrete values only)."""
    check_nonnegative("tol", tol)
    if xtol is not None:
        check_nonnegative("xtol", xtol)
    if ftol is not None:
        check_nonnegative("ftol", ftol)
    if max_norm is not None:
        check_positive("max_norm", max_norm)


def as_starting_point(name: str, x0: Any) -> Any:
    """A starting point checked (finite, at least one array) with integer leaves made floating."""
    leaves = jax.tree_util.tree_leaves_with_path(x0)
    if not leaves:
        raise ValueError(f"{name} must be a number, an array or a pytree of arrays; got no arrays.")
    for path, leaf in leaves:
        check_finite_array(f"{name}{jax.tree_util.keystr(path)}", leaf)
    return jax.tree.map(as_inexact, x0)


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
    check_every: int = 1,
) -> MinimizeResult:
    """Minimises ``fun`` from ``x0`` with a gradient transformation; compiled and vmappable.

    Example (gradient descent on ``f(x) = x^2`` from 3, ``x_t = 3 * 0.8^t``)::

        >>> import gdjax
        >>> result = gdjax.minimize(lambda x: x**2, 3.0, gdjax.optim.sgd(0.1), max_steps=100)
        >>> result.reason, int(result.num_steps)  # first t with |2 x_t| = 6 * 0.8^t <= tol = 1e-6
        ('converged', 70)
        >>> [round(float(x), 4) for x in result.trajectory[:4]]
        [3.0, 2.4, 1.92, 1.536]

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
      check_every: steps between checks of the stopping rules; 1 (the
        default) checks every step (see the module docs).

    Returns:
      A :class:`MinimizeResult`.

    The compiled program is cached per structure: the function, the
    optimizer's structure (a gdjax optimizer's hyperparameter values are
    runtime inputs: ``sgd(0.2)`` after ``sgd(0.1)`` does not recompile) and
    ``max_steps``. Pass the same function object (not a fresh ``lambda``) to
    reuse it.
    """
    minimizer = make_minimizer(fun, optimizer, max_steps=max_steps, check_every=check_every)
    check_tolerances(tol, xtol, ftol, max_norm)
    x0 = as_starting_point("x0", x0)
    values, structure = minimizer.split()
    return _jitted(structure)(values, x0, tol, xtol, ftol, max_norm, hyperparams)


def _run_merged(structure, values, x0, tol, xtol, ftol, max_norm, hyperparams):
    return Minimizer.merge(structure, values).run(x0, tol, xtol, ftol, max_norm, hyperparams)


@functools.lru_cache(maxsize=64)
def _jitted_cached(structure: Minimizer) -> Callable[..., MinimizeResult]:
    return jax.jit(functools.partial(_run_merged, structure))


def _jitted(structure: Minimizer) -> Callable[..., MinimizeResult]:
    """One compiled program per structure; new points, tolerances and hyperparameter values reuse it."""
    try:
        return _jitted_cached(structure)
    except TypeError:  # unhashable callables get a fresh jit
        return jax.jit(functools.partial(_run_merged, structure))


def _norm(tree: Any) -> jax.Array:
    """The Euclidean norm over all leaves, scaled by the largest entry so that tiny vectors do not underflow.

    ``m * sqrt(sum (x / m)^2)`` with ``m = max |x|`` (0 for a zero vector):
    the plain ``sqrt(sum x^2)`` of a gradient of 1e-20 squares to 0 in
    float32, which a convergence test ``||g|| <= 0`` would take for a zero.
    """
    leaves = [jnp.abs(leaf) for leaf in jax.tree.leaves(tree)]
    if not leaves:
        return jnp.zeros(())
    m = functools.reduce(jnp.maximum, [jnp.max(leaf) for leaf in leaves])
    scale = jnp.where(m > 0, m, 1)
    total = sum(jnp.sum(jnp.square(leaf / scale)) for leaf in leaves)
    return jnp.where(m > 0, m * jnp.sqrt(total), 0).astype(jnp.result_type(m))


def _minimize(minimizer: Minimizer, x0, tol, xtol, ftol, max_norm, hyperparams) -> MinimizeResult:
    """The minimisation: blocks of plain steps in a while loop, the stopping rules between blocks."""
    fun, max_steps, k = minimizer.fun, minimizer.max_steps, minimizer.check_every
    transformation = minimizer.transformation(hyperparams)
    record = minimizer.keep_trajectory
    extra_args = takes_extra_args(transformation)

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
    finite0 = jnp.isfinite(value0) & optim.all_finite(grad0)
    status0 = jnp.where(~finite0, DIVERGED, jnp.where(_norm(grad0) <= tol, CONVERGED, _RUNNING)).astype(jnp.int32)

    def plain_step(inner, t):
        """One unchecked step (``t``: the 0-based index of the step, for the trajectory)."""
        x, value, grad, opt_state, trajectory, values, _, _ = inner
        if extra_args:  # Optax's protocol: L-BFGS's line search evaluates the function itself
            updates, opt_state = transformation.update(grad, opt_state, x, value=value, grad=grad, value_fn=fun)
        else:
            updates, opt_state = transformation.update(grad, opt_state, x)
        new_x = apply_updates(x, updates)
        new_value, new_grad = value_and_grad(new_x)
        if record:
            trajectory = jax.tree.map(lambda buf, a: buf.at[t + 1].set(a), trajectory, new_x)
            values = values.at[t + 1].set(new_value)
        return (new_x, new_value, new_grad, opt_state, trajectory, values, x, value), None

    def block(carry, length):
        """``length`` steps from ``carry``, then the stopping rules (an unchanged carry once stopped)."""
        count, t, x, value, grad, opt_state, trajectory, values, status = carry
        inner = (x, value, grad, opt_state, trajectory, values, x, value)
        inner, _ = jax.lax.scan(plain_step, inner, t + jnp.arange(length, dtype=jnp.int32))
        new_x, new_value, new_grad, new_opt_state, trajectory, values, last_x, last_value = inner
        finite = jnp.isfinite(new_value) & optim.all_finite(new_grad) & optim.all_finite(new_x)
        converged = _norm(new_grad) <= tol
        if xtol is not None:
            converged |= _norm(jax.tree.map(jnp.subtract, new_x, last_x)) <= xtol
        if ftol is not None:
            converged |= jnp.abs(new_value - last_value) <= ftol
        escaped = jnp.zeros((), bool) if max_norm is None else _norm(new_x) > max_norm
        new_count = count + length
        running = status == _RUNNING
        new_status = jnp.where(
            ~finite | escaped,
            DIVERGED,
            jnp.where(converged, CONVERGED, jnp.where(new_count >= max_steps, MAX_STEPS, _RUNNING)),
        ).astype(jnp.int32)
        status = jnp.where(running, new_status, status)
        accept = running & finite
        # A non-finite block goes back to its start, the last checked point.
        x, value, grad, opt_state = select(
            accept, (new_x, new_value, new_grad, new_opt_state), (x, value, grad, opt_state)
        )
        count = jnp.where(accept, new_count, count)
        return (count, t + length, x, value, grad, opt_state, trajectory, values, status)

    carry = (
        jnp.zeros((), jnp.int32),
        jnp.zeros((), jnp.int32),
        x0,
        value0,
        grad0,
        transformation.init(x0),
        trajectory,
        values,
        status0,
    )
    full, rest = divmod(max_steps, k)
    carry = jax.lax.while_loop(lambda c: (c[-1] == _RUNNING) & (c[1] < full * k), lambda c: block(c, k), carry)
    if rest:
        carry = jax.lax.cond(carry[-1] == _RUNNING, lambda c: block(c, rest), lambda c: c, carry)
    count, _, x, value, grad, _, trajectory, values, status = carry

    if record:
        valid = jnp.arange(rows) <= count
        trajectory = jax.tree.map(
            lambda buf, a: jnp.where(valid.reshape((rows,) + (1,) * a.ndim), buf, a[None]), trajectory, x
        )
        values = jnp.where(valid, values, value)
    return MinimizeResult(
        x=x,
        value=value,
        grad_norm=_norm(grad),
        num_steps=count,
        status=status,
        trajectory=trajectory,
        values=values,
    )

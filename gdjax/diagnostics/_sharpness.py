"""Hessian-vector products and the sharpness (top Hessian eigenvalue) by power iteration."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from gdjax._checks import check_int, check_nonnegative, check_range, is_traced
from gdjax._typing import Params
from gdjax.diagnostics._common import (
    as_key,
    call_jitted,
    check_callable,
    check_params,
    check_same_structure,
    ravel,
    scalar_loss,
)

Loss = Callable[[Params, Any], Any]


class SharpnessResult(NamedTuple):
    """The outcome of :func:`sharpness`.

    Attributes:
      eigenvalue: the estimate of the Hessian's dominant eigenvalue (a scalar
        in the parameters' floating dtype).
      eigenvector: the matching unit-norm eigenvector, a pytree like ``params``.
      iterations: Hessian-vector products used (int32 scalar).
      converged: True when the relative change of the estimate fell to ``tol``
        (bool scalar); always False with ``tol=None``.
    """

    eigenvalue: jax.Array
    eigenvector: Params
    iterations: jax.Array
    converged: jax.Array


def _cast_like(v: Any, params: Params) -> Any:
    return jax.tree.map(lambda t, p: jnp.asarray(t, jnp.result_type(p)), v, params)


def hessian_vector_product(loss: Loss, params: Params, batch: Any, v: Params) -> Params:
    """``H(params) v`` for ``H = ∇²_θ loss(θ, batch)``, without forming ``H``.

    Forward-over-reverse differentiation (Pearlmutter 1994, "Fast Exact
    Multiplication by the Hessian", Neural Computation 6(1)): the directional
    derivative of the gradient, ``H v = d/dε ∇loss(θ + ε v)|_{ε=0}``, is one
    ``jax.jvp`` of ``jax.grad(loss)``, at about the cost of two gradients.

    Args:
      loss: ``loss(params, batch) -> scalar``.
      params: the parameter pytree ``θ`` where the Hessian is taken.
      batch: the data passed to ``loss`` (any pytree, or None).
      v: a pytree like ``params`` (each leaf is cast to its parameter's dtype).

    Returns:
      ``H v``, a pytree like ``params``.
    """
    check_callable("loss", loss)
    check_params("params", params)
    check_same_structure("params", params, "v", v)
    scalar_loss("loss", loss, params, batch)
    return call_jitted(_hvp, loss, params, batch, _cast_like(v, params))


@functools.partial(jax.jit, static_argnums=0)
def _hvp(loss, params, batch, v):
    return jax.jvp(lambda p: jax.grad(loss)(p, batch), (params,), (v,))[1]


def sharpness(
    loss: Loss,
    params: Params,
    batch: Any,
    *,
    key: jax.Array | int | None = None,
    init: Params | None = None,
    num_iterations: int = 20,
    tol: float | None = 1e-3,
    shift: float = 0.0,
    algebraic: bool = False,
) -> SharpnessResult:
    """The dominant eigenvalue of the loss Hessian at ``params``, by power iteration.

    With ``H = ∇²_θ loss(θ, batch)`` and a unit start vector ``v_0`` (normal
    from ``key``, or ``init`` normalised), power iteration (von Mises 1929)
    repeats, on ``M = H - shift·I``::

        w_k = M v_{k-1},   λ_k = v_{k-1}ᵀ w_k + shift,   v_k = w_k / |w_k|

    stopping after ``num_iterations`` products or once the relative change
    ``|λ_k - λ_{k-1}| <= tol·|λ_k|`` (``tol=None`` runs exactly
    ``num_iterations``; ``tol=0`` stops only if the estimate repeats exactly).
    ``λ_k`` is the Rayleigh quotient; it converges to the eigenvalue of ``M``
    of **largest magnitude** (plus ``shift``): with ``μ_1, μ_2`` the two
    largest-magnitude eigenvalues of ``M``, the direction's error shrinks like
    ``|μ_2/μ_1|^k`` and the eigenvalue's like ``|μ_2/μ_1|^(2k)`` (no
    convergence when ``μ_2 = -μ_1``). The products are Hessian-vector
    products by forward-over-reverse differentiation (Pearlmutter 1994): the
    gradient is linearised once (``jax.linearize`` of ``jax.grad``) and each
    iteration applies only the cheap linear map. The loop is a
    ``lax.while_loop`` bounded by ``num_iterations``, so this is jittable and
    vmappable (over ``params``, ``batch`` or ``key``).

    The sharpness of the edge-of-stability analysis (Cohen et al. 2021,
    "Gradient Descent on Neural Networks Typically Occurs at the Edge of
    Stability", ICLR) is the largest *algebraic* eigenvalue ``λ_max``; it is
    what this returns whenever ``λ_max >= |λ_min|``, as there (the top
    eigenvalue is positive and dominant). When a negative eigenvalue dominates,
    the plain iteration returns ``λ_min``; then ``H - λ_min·I`` has spectrum in
    ``[0, λ_max - λ_min]``, so a second run with ``shift=λ_min`` returns
    ``λ_max``. ``algebraic=True`` does exactly that (the second run, from the
    same start vector, only when the first estimate is negative; its products
    are counted in ``iterations``, and ``converged`` is the second run's).

    Args:
      loss: ``loss(params, batch) -> scalar``.
      params: parameter pytree where the Hessian is taken.
      batch: the data passed to ``loss`` (any pytree, or None).
      key: PRNG key (or integer seed) of a normal start vector; give it or ``init``.
      init: start vector, a non-zero pytree like ``params``.
      num_iterations: the most Hessian-vector products, ``>= 1`` (per run).
      tol: relative-change tolerance, ``>= 0``, or None for no test.
      shift: iterate on ``H - shift·I`` (the result has ``shift`` added back).
      algebraic: return the largest algebraic eigenvalue (see above); only
        with ``shift=0``.

    Returns:
      A :class:`SharpnessResult` (eigenvalue, eigenvector, iterations, converged).
    """
    check_callable("loss", loss)
    check_params("params", params)
    num_iterations = check_int("num_iterations", num_iterations, minimum=1)
    if tol is not None:
        check_nonnegative("tol", tol)
    check_range("shift", shift)
    if jnp.ndim(shift) != 0:
        raise ValueError(f"shift must be a scalar; got shape {jnp.shape(shift)}.")
    if not isinstance(algebraic, bool):
        raise ValueError(f"algebraic must be a bool; got {algebraic!r}.")
    if algebraic and (is_traced(shift) or float(shift) != 0.0):
        raise ValueError(f"algebraic=True chooses its own shift: shift must be 0; got {shift!r}.")
    if (key is None) == (init is None):
        raise ValueError(f"give exactly one of key (a PRNG key or seed) and init (a start vector); got key={key!r}.")
    scalar_loss("loss", loss, params, batch)

    flat, _ = ravel(params)
    dtype = flat.dtype
    if init is None:
        key = as_key("key", key)
        if is_traced(key):
            v0 = jax.random.normal(key, flat.shape, dtype)
        else:
            # A known key: draw the start vector now, so that a jitted caller
            # (a per-epoch metric) embeds it as a constant instead of running
            # the random-bit generator at every call.
            with jax.ensure_compile_time_eval():
                v0 = jax.random.normal(key, flat.shape, dtype)
    else:
        check_same_structure("params", params, "init", init)
        v0 = ravel(_cast_like(init, params))[0].astype(dtype)
        if not is_traced(v0) and not bool(jnp.any(v0 != 0)):
            raise ValueError("init must be a non-zero vector; got all zeros.")
    if not is_traced(shift) and float(shift) == 0.0:
        shift = None  # nothing to subtract: one operation less per iteration
    return call_jitted(_sharpness, loss, num_iterations, algebraic, params, batch, v0, tol, shift)


@functools.partial(jax.jit, static_argnums=(0, 1, 2))
def _sharpness(loss, num_iterations, algebraic, params, batch, v0, tol, shift) -> SharpnessResult:
    flat, unravel = ravel(params)
    dtype = flat.dtype
    v0 = v0 / jnp.linalg.norm(v0)
    tol = None if tol is None else jnp.asarray(tol, dtype)

    def flat_grad(x):
        return ravel(jax.grad(loss)(unravel(x), batch))[0].astype(dtype)

    # Linearise once: the primal forward/backward pass runs here, each iteration
    # replays only the tangent (Hessian-vector) computation.
    _, hvp = jax.linearize(flat_grad, flat)
    shift = None if shift is None else jnp.asarray(shift, dtype)
    result = _power_iteration(hvp, v0, num_iterations, tol, shift)
    if algebraic:

        def shifted(first):
            again = _power_iteration(hvp, v0, num_iterations, tol, first.eigenvalue)
            return again._replace(iterations=again.iterations + first.iterations)

        result = jax.lax.cond(result.eigenvalue < 0, shifted, lambda first: first, result)
    return SharpnessResult(result.eigenvalue, unravel(result.vector), result.iterations, result.converged)


class _Power(NamedTuple):
    eigenvalue: jax.Array
    vector: jax.Array
    iterations: jax.Array
    converged: jax.Array


def _power_iteration(hvp, v0, num_iterations, tol, shift) -> _Power:
    """Power iteration on ``hvp - shift·I`` from the unit vector ``v0`` (flat arrays).

    ``tol`` None: no convergence test; ``shift`` None: no shift.
    """

    def cond(s):
        return (s.iterations < num_iterations) & ~s.converged

    def body(s):
        w = hvp(s.vector)
        if shift is not None:
            w = w - shift * s.vector
        # vᵀw and |w|² in one reduction (the loop body is a handful of small ops:
        # each one saved is measurable next to the Hessian-vector product).
        mu, norm_sq = jnp.sum(jnp.stack([s.vector * w, w * w]), axis=1)
        norm = jnp.sqrt(norm_sq)
        # A zero product (H v = shift v exactly) leaves v an eigenvector: keep it.
        vector = jnp.where(norm > 0, w / norm, s.vector)
        eigenvalue = mu if shift is None else mu + shift
        if tol is None:
            converged = s.converged
        else:
            converged = jnp.abs(eigenvalue - s.eigenvalue) <= tol * jnp.abs(eigenvalue)
        return _Power(eigenvalue, vector, s.iterations + 1, converged)

    start = _Power(jnp.asarray(jnp.inf, v0.dtype), v0, jnp.zeros((), jnp.int32), jnp.zeros((), bool))
    return jax.lax.while_loop(cond, body, start)

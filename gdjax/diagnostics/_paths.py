"""The loss along straight lines and quadratic Bezier curves between parameter pytrees.

Linear interpolation (Goodfellow, Vinyals & Saxe 2015, "Qualitatively
characterizing neural network optimization problems"), barriers (Frankle et
al. 2020; Entezari et al. 2022) and curves trained to connect two minima
(Garipov et al. 2018).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

import gdjax.optim as optim
from gdjax._checks import check_choice, check_finite_array, check_int, check_positive
from gdjax._typing import Params
from gdjax.diagnostics._common import (
    as_key,
    call_jitted,
    check_callable,
    check_params,
    check_same_structure,
    scalar_loss,
)

Loss = Callable[[Params, Any], Any]

#: Points of ``t`` in ``[0, 1]`` used when a barrier is not given its own.
DEFAULT_POINTS = 25


def _blend(terms: list[tuple[jax.Array, Params]], like: Params) -> Params:
    """``Σ_k c_k θ_k`` leaf by leaf, each leaf cast back to ``like``'s dtype."""

    def leaf(ref, *xs):
        dtype = jnp.result_type(ref)
        return sum(c.astype(dtype) * x for (c, _), x in zip(terms, xs)).astype(dtype)

    return jax.tree.map(leaf, like, *[tree for _, tree in terms])


def _t(t: Any, params: Params) -> jax.Array:
    return jnp.asarray(t, jnp.result_type(*jax.tree.leaves(params)))


def interpolate(a: Params, b: Params, t: Any) -> Params:
    """The point ``θ(t) = (1 - t) a + t b`` of the straight line from ``a`` (t=0) to ``b`` (t=1)."""
    check_params("a", a)
    check_same_structure("a", a, "b", b)
    t = _t(t, a)
    return _blend([(1 - t, a), (t, b)], a)


def bezier(a: Params, midpoint: Params, b: Params, t: Any) -> Params:
    """The quadratic Bezier curve ``θ(t) = (1-t)² a + 2t(1-t) m + t² b`` (Garipov et al. 2018).

    It runs from ``a`` (t=0) to ``b`` (t=1), pulled towards the control point
    ``m = midpoint``; ``m = (a + b)/2`` gives the straight line.
    """
    check_params("a", a)
    check_same_structure("a", a, "b", b)
    check_same_structure("a", a, "midpoint", midpoint)
    t = _t(t, a)
    return _blend([((1 - t) ** 2, a), (2 * t * (1 - t), midpoint), (t**2, b)], a)


def _ts(ts: Any, params: Params) -> jax.Array:
    """``ts`` as a 1-D array, or ``linspace(0, 1, ts)`` for an integer."""
    if isinstance(ts, (int, np.integer)) and not isinstance(ts, bool):
        ts = check_int("ts", ts, minimum=2)
        return jnp.linspace(0, 1, ts, dtype=jnp.result_type(*jax.tree.leaves(params)))
    ts = _t(ts, params)
    if ts.ndim != 1 or ts.shape[0] < 1:
        raise ValueError(f"ts must be a 1-D array of points t or an integer >= 2; got shape {ts.shape}.")
    check_finite_array("ts", ts)
    return ts


def loss_along_line(loss: Loss, a: Params, b: Params, batch: Any, ts: Any = DEFAULT_POINTS) -> jax.Array:
    """``loss(θ(t), batch)`` on the straight line ``θ(t) = (1 - t) a + t b``, vmapped over ``ts``.

    ``ts`` is a 1-D array of points (any reals; ``[0, 1]`` is the segment) or an
    integer ``n`` for ``linspace(0, 1, n)``. On a quadratic
    ``L(θ) = ½θᵀAθ + cᵀθ`` the result is the parabola
    ``L(a) + t ∇L(a)ᵀd + ½t² dᵀAd`` with ``d = b - a``.
    """
    check_callable("loss", loss)
    check_params("a", a)
    check_same_structure("a", a, "b", b)
    scalar_loss("loss", loss, a, batch)
    return call_jitted(_losses_along, loss, a, None, b, batch, _ts(ts, a))


def loss_along_bezier(
    loss: Loss, a: Params, midpoint: Params, b: Params, batch: Any, ts: Any = DEFAULT_POINTS
) -> jax.Array:
    """``loss(θ(t), batch)`` on the quadratic Bezier curve of :func:`bezier`, vmapped over ``ts``."""
    check_callable("loss", loss)
    check_params("a", a)
    check_same_structure("a", a, "b", b)
    check_same_structure("a", a, "midpoint", midpoint)
    scalar_loss("loss", loss, a, batch)
    return call_jitted(_losses_along, loss, a, midpoint, b, batch, _ts(ts, a))


@functools.partial(jax.jit, static_argnums=0)
def _losses_along(loss, a, midpoint, b, batch, ts):
    """The losses on the line (``midpoint`` None) or the Bezier curve, vmapped over ``ts``."""
    if midpoint is None:
        return jax.vmap(lambda t: loss(_blend([(1 - t, a), (t, b)], a), batch))(ts)
    return jax.vmap(lambda t: loss(_blend([((1 - t) ** 2, a), (2 * t * (1 - t), midpoint), (t**2, b)], a), batch))(ts)


class PathBarrier(NamedTuple):
    """The outcome of :func:`path_barrier`.

    Attributes:
      barrier: the barrier height (see :func:`path_barrier`).
      t: the point of ``ts`` where the maximum is reached.
      ts: the points evaluated.
      losses: ``loss(θ(t))`` at ``ts``.
      end_losses: ``(loss(a), loss(b))``.
    """

    barrier: jax.Array
    t: jax.Array
    ts: jax.Array
    losses: jax.Array
    end_losses: tuple[jax.Array, jax.Array]


def barrier_from_losses(ts: Any, losses: Any, loss_a: Any, loss_b: Any, *, reference: str = "linear") -> jax.Array:
    """The barrier of a path from its losses at ``ts`` and at its two ends (see :func:`path_barrier`)."""
    return jnp.max(_excess(jnp.asarray(ts), jnp.asarray(losses), loss_a, loss_b, reference))


def _excess(ts, losses, loss_a, loss_b, reference):
    """The path's losses above the reference: the chord between the end losses, or their mean."""
    check_choice("reference", reference, ("linear", "mean"))
    if reference == "linear":
        return losses - ((1 - ts) * loss_a + ts * loss_b)
    return losses - 0.5 * (loss_a + loss_b)


def path_barrier(
    loss: Loss,
    a: Params,
    b: Params,
    batch: Any,
    *,
    midpoint: Params | None = None,
    ts: Any = DEFAULT_POINTS,
    reference: str = "linear",
) -> PathBarrier:
    """The loss barrier of the path from ``a`` to ``b``: the straight line, or the Bezier curve through ``midpoint``.

    With ``θ(t)`` the path (``θ(0) = a``, ``θ(1) = b``) and ``L`` the loss on
    ``batch``, evaluated at the points ``ts`` (an integer ``n`` for
    ``linspace(0, 1, n)``)::

        reference="linear":  B = max_t [ L(θ(t)) - ((1 - t) L(a) + t L(b)) ]
        reference="mean":    B = max_t L(θ(t)) - (L(a) + L(b)) / 2

    The first is the height of the path above the chord between the end
    losses, the loss barrier of Entezari et al. 2022 ("The Role of
    Permutation Invariance in Linear Mode Connectivity of Neural Networks",
    ICLR); the second is the error-barrier height of Frankle et al. 2020
    ("Linear Mode Connectivity and the Lottery Ticket Hypothesis", ICML),
    relative to the mean of the end errors. The two agree when
    ``L(a) = L(b)``. For a convex ``L`` the straight line lies under the
    chord, so its ``"linear"`` barrier is ``<= 0`` (``0`` when ``ts`` holds an
    end point). ``a`` and ``b`` are *linearly mode connected* when the barrier
    of the line is about ``0``.

    Returns:
      A :class:`PathBarrier` (barrier, the maximising ``t``, ``ts``, the
      losses along the path and at the two ends).
    """
    check_choice("reference", reference, ("linear", "mean"))
    check_callable("loss", loss)
    check_params("a", a)
    check_same_structure("a", a, "b", b)
    if midpoint is not None:
        check_same_structure("a", a, "midpoint", midpoint)
    scalar_loss("loss", loss, a, batch)
    return call_jitted(_path_barrier, loss, reference, a, midpoint, b, batch, _ts(ts, a))


@functools.partial(jax.jit, static_argnums=(0, 1))
def _path_barrier(loss, reference, a, midpoint, b, batch, ts) -> PathBarrier:
    losses = _losses_along.__wrapped__(loss, a, midpoint, b, batch, ts)
    loss_a, loss_b = loss(a, batch), loss(b, batch)
    excess = _excess(ts, losses, loss_a, loss_b, reference)
    i = jnp.argmax(excess)
    return PathBarrier(excess[i], ts[i], ts, losses, (loss_a, loss_b))


class BezierFit(NamedTuple):
    """The outcome of :func:`fit_bezier_midpoint`.

    Attributes:
      midpoint: the trained control point ``m`` (a pytree like ``a``).
      losses: the objective estimate of every step (the mean loss at that
        step's sampled points ``t``), shape ``(steps,)``.
    """

    midpoint: Params
    losses: jax.Array


def fit_bezier_midpoint(
    loss: Loss,
    a: Params,
    b: Params,
    batch: Any,
    *,
    key: jax.Array | int,
    steps: int = 500,
    learning_rate: float = 1e-2,
    samples_per_step: int = 1,
    init: Params | None = None,
    optimizer: Any = None,
) -> BezierFit:
    """Trains the control point of a Bezier curve from ``a`` to ``b`` to run through low loss.

    Garipov, Izmailov, Podoprikhin, Vetrov & Wilson 2018 ("Loss Surfaces,
    Mode Connectivity, and Fast Ensembling of DNNs", NeurIPS): with the ends
    fixed, minimise the expected loss along the curve of :func:`bezier`,

        ℓ(m) = E_{t ~ U(0, 1)} L(θ_m(t)),   θ_m(t) = (1-t)² a + 2t(1-t) m + t² b,

    by stochastic gradient descent, each step drawing ``samples_per_step``
    fresh points ``t`` (the unbiased estimate of ``∇ℓ`` is
    ``mean_t 2t(1-t) ∇L(θ_m(t))``). The control point starts at ``init``
    (default ``(a + b)/2``, the straight line; start elsewhere when the
    line is a symmetry axis of ``L``, where the gradient vanishes) and is
    updated by ``optimizer`` (default ``gdjax.optim.adam(learning_rate)``).
    The whole training is one jitted ``lax.scan``; the ``t`` draws come from
    ``key``.

    Returns:
      A :class:`BezierFit` (the midpoint and the per-step objective estimates).
    """
    check_callable("loss", loss)
    check_params("a", a)
    check_same_structure("a", a, "b", b)
    steps = check_int("steps", steps, minimum=1)
    samples_per_step = check_int("samples_per_step", samples_per_step, minimum=1)
    check_positive("learning_rate", learning_rate)
    if optimizer is not None and not (hasattr(optimizer, "init") and hasattr(optimizer, "update")):
        raise ValueError(f"optimizer must be a gradient transformation with init and update; got {optimizer!r}.")
    if init is None:
        init = interpolate(a, b, 0.5)
    else:
        check_same_structure("a", a, "init", init)
    scalar_loss("loss", loss, a, batch)
    key = as_key("key", key)
    return call_jitted(
        _fit_midpoint, loss, optimizer, steps, samples_per_step, a, b, batch, init, key, learning_rate, num_static=2
    )


@functools.partial(jax.jit, static_argnums=(0, 1, 2, 3))
def _fit_midpoint(loss, optimizer, steps, samples, a, b, batch, init, key, learning_rate):
    dtype = jnp.result_type(*jax.tree.leaves(a))
    if optimizer is None:  # built here so that the (traced) rate does not recompile
        optimizer = optim.adam(learning_rate)

    def objective(m, ts):
        return jnp.mean(jax.vmap(lambda t: loss(bezier(a, m, b, t), batch))(ts))

    def step(carry, step_key):
        m, state = carry
        ts = jax.random.uniform(step_key, (samples,), dtype)
        value, grads = jax.value_and_grad(objective)(m, ts)
        updates, state = optimizer.update(grads, state, m)
        m = jax.tree.map(lambda p, u: (p + u).astype(p.dtype), m, updates)
        return (m, state), value

    (m, _), losses = jax.lax.scan(step, (init, optimizer.init(init)), jax.random.split(key, steps))
    return BezierFit(m, losses)

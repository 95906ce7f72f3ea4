"""Diagnostics as per-epoch metrics ``fn(params, data) -> scalar`` for ``gdjax.fit`` and ``sweep``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax

from gdjax._checks import check_int, check_nonnegative
from gdjax._typing import Params
from gdjax.diagnostics._common import as_key, check_callable
from gdjax.diagnostics._noise import gradient_noise_scale
from gdjax.diagnostics._sharpness import sharpness

Metric = Callable[[Params, Any], jax.Array]


def sharpness_metric(
    loss_fn: Callable[[Params, Any], Any],
    *,
    num_iterations: int = 20,
    tol: float | None = 1e-3,
    key: jax.Array | int = 0,
    algebraic: bool = False,
) -> Metric:
    """A metric ``fn(params, data) -> λ``: the :func:`sharpness` of ``loss_fn`` on ``data``.

    ``gdjax.fit(..., metrics={"sharpness": sharpness_metric(loss)})`` records
    the top Hessian eigenvalue after every epoch, on the training set
    (``history.metrics["sharpness"]``) and on the validation set
    (``history.val_metrics["sharpness"]``), each on the whole set in one go.
    A metric is stateless, so every evaluation starts power iteration from the
    same vector (normal from ``key``) and runs at most ``num_iterations``
    Hessian-vector products, stopping early at relative change ``tol``
    (``tol=None`` always runs all of them).

    Cost: a Hessian-vector product costs somewhat more than a training step
    (a forward-over-reverse pass over the whole set). On the heart network
    (100 epochs of 7 steps), recording it on the training and validation
    sets made ``fit`` 3.5x slower with the defaults (6-8 products per set)
    and 7.3x with ``tol=None`` (``experiments/bench_diagnostics.py``).

    Args:
      loss_fn: ``loss_fn(params, batch) -> scalar`` (without a key: dropout off).
      num_iterations, tol, algebraic: as in :func:`sharpness`.
      key: PRNG key or integer seed of the start vector.
    """
    check_callable("loss_fn", loss_fn)
    num_iterations = check_int("num_iterations", num_iterations, minimum=1)
    if tol is not None:
        check_nonnegative("tol", tol)
    if not isinstance(algebraic, bool):
        raise ValueError(f"algebraic must be a bool; got {algebraic!r}.")
    key = as_key("key", key)

    def metric(params: Params, data: Any) -> jax.Array:
        return sharpness(
            loss_fn, params, data, key=key, num_iterations=num_iterations, tol=tol, algebraic=algebraic
        ).eigenvalue

    return metric


def noise_scale_metric(loss_fn: Callable[[Params, Any], Any]) -> Metric:
    """A metric ``fn(params, data) -> B_simple``: the :func:`gradient_noise_scale` of ``loss_fn`` on ``data``.

    Per-example gradients of every example of ``data`` (``n × P`` numbers)
    are formed at every evaluation.
    """
    check_callable("loss_fn", loss_fn)

    def metric(params: Params, data: Any) -> jax.Array:
        return gradient_noise_scale(loss_fn, params, data).b_simple

    return metric

"""Gradient checking: ``jax.grad`` against central finite differences.

For a scalar function ``f`` of a parameter pytree flattened to a vector ``θ``,
each partial derivative is estimated by the central difference

    ∂f/∂θ_i ≈ (f(θ + ε e_i) - f(θ - ε e_i)) / (2 ε)

whose error is ``O(ε^2)`` (truncation) plus ``O(δ|f|/ε)`` (round-off, ``δ``
the float64 precision). ``ε = 1e-5`` balances the two at about 1e-11 for
functions of order one, so a relative error above ~1e-6 means the analytic
gradient is wrong (or ``f`` has a kink within ``ε`` of the point). Everything is
evaluated in float64 whatever the dtype of the inputs.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.flatten_util import ravel_pytree

from gdjax._checks import check_positive


def _to_float64(tree: Any) -> Any:
    def cast(leaf):
        leaf = jnp.asarray(leaf)
        return leaf.astype(jnp.float64) if jnp.issubdtype(leaf.dtype, jnp.floating) else leaf

    return jax.tree_util.tree_map(cast, tree)


def gradient_error(
    fun: Callable[..., Any],
    params: Any,
    *args: Any,
    eps: float = 1e-5,
    floor: float = 1e-5,
) -> float:
    """Worst relative error between ``jax.grad(fun)`` and central differences.

    ``fun(params, *args)`` must return a scalar. The relative error of the
    i-th partial derivative is ``|g_i - d_i| / max(|g_i|, |d_i|, floor)``;
    ``floor`` keeps components that are zero up to round-off from counting as
    100% wrong. Parameters and floating ``args`` are cast to float64.
    """
    check_positive("eps", eps)
    check_positive("floor", floor)
    with jax.enable_x64(True):
        params64 = _to_float64(params)
        args64 = _to_float64(args)
        theta, unravel = ravel_pytree(params64)
        if theta.size == 0:
            return 0.0

        def flat(t):
            value = jnp.asarray(fun(unravel(t), *args64))
            if value.shape != ():
                raise ValueError(f"fun must return a scalar; got shape {value.shape}.")
            return value

        analytic = np.asarray(jax.jit(jax.grad(flat))(theta))
        basis = jnp.eye(theta.size, dtype=theta.dtype) * eps
        values = jax.jit(jax.vmap(flat))
        numeric = np.asarray((values(theta + basis) - values(theta - basis)) / (2 * eps))
    scale = np.maximum(np.maximum(np.abs(analytic), np.abs(numeric)), floor)
    return float(np.max(np.abs(analytic - numeric) / scale))

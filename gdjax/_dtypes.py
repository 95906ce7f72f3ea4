"""Dtypes: the one home of the library's small dtype rules (what floats to compute and store in)."""

from __future__ import annotations

from typing import Any

import jax.numpy as jnp


def float_dtype(dtype: Any, fallback: Any = None) -> Any:
    """``dtype`` when it is a floating dtype, else ``fallback`` (default: the default float, float32 or float64)."""
    dtype = jnp.dtype(dtype)
    if jnp.issubdtype(dtype, jnp.floating):
        return dtype
    return jnp.asarray(0.0).dtype if fallback is None else jnp.dtype(fallback)


def real_dtype(dtype: Any) -> Any:
    """The real dtype of the same precision (``complex64 -> float32``); real dtypes unchanged."""
    dtype = jnp.dtype(dtype)
    if jnp.issubdtype(dtype, jnp.complexfloating):
        return jnp.finfo(dtype).dtype
    return dtype


def as_inexact(value: Any) -> Any:
    """``value`` as an array, integers and booleans converted to the default float (floats and complex kept)."""
    value = jnp.asarray(value)
    return value if jnp.issubdtype(value.dtype, jnp.inexact) else value.astype(float_dtype(value.dtype))

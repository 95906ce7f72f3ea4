"""Hyperparameters: validation when concrete, dtype handling when used.

Every numeric hyperparameter may be a Python number, a concrete array, or a
tracer (under ``jit``/``vmap``). Construction validates concrete values with
``gdjax._checks`` (a ``ValueError`` naming the argument and the value) and
passes tracers through: nothing here branches on a traced value. Shapes are
static even for tracers, so "must be a scalar" is always checked.

When used, a hyperparameter is cast to the dtype of the leaf it multiplies, so
a float64 learning rate never upcasts float32 or bfloat16 parameters. Derived
constants such as ``1 - b1`` or the bias corrections ``1 - b1**t`` are computed
before that cast: exactly in Python for Python numbers (as Optax does), and in
at least float32 for arrays, so that e.g. ``1 - 0.999`` does not round to zero
in bfloat16.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from gdjax import _checks
from gdjax._dtypes import float_dtype

_KINDS = {
    "finite": lambda name, v: _checks.check_range(name, v),
    "positive": _checks.check_positive,
    "nonnegative": _checks.check_nonnegative,
    "unit": _checks.check_unit_interval,  # [0, 1)
    "closed_unit": lambda name, v: _checks.check_range(name, v, low=0.0, high=1.0),
}


class Complemented(NamedTuple):
    """A decay rate ``b`` carried with its complement ``1 - b``, computed exactly from a Python number.

    A compiled program that takes hyperparameters as runtime inputs
    (:func:`gdjax.optim.merge`) receives ``b = 0.999`` as float32; ``1 - b``
    computed there would be ``1 - float32(0.999) = 0.00099998713``, 1.3e-5 off
    the ``float32(0.001)`` that a Python number gives. Passing the complement
    alongside keeps the traced optimizer's constants equal to the Python one's.
    """

    value: Any
    complement: Any


def complemented(value: Any) -> Any:
    """``Complemented(b, 1 - b)`` for a Python number; anything else unchanged."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return Complemented(value, 1 - value)
    return value


def value_of(value: Any) -> Any:
    """The hyperparameter itself (the value of a :class:`Complemented`)."""
    return value.value if isinstance(value, Complemented) else value


def complement(value: Any) -> Any:
    """``1 - b``: exact for Python numbers and :class:`Complemented`, in >= float32 for arrays."""
    if isinstance(value, Complemented):
        return value.complement
    return 1 - scalar(value)


def check_scalar(name: str, value: Any, kind: str = "finite") -> Any:
    """Validates a scalar hyperparameter; returns it unchanged (tracers included)."""
    if isinstance(value, Complemented):
        check_scalar(name, value.value, kind)
        return value
    if callable(value):
        raise ValueError(f"{name} must be a number or a scalar array, not a callable; got {value!r}.")
    if isinstance(value, (bool, np.bool_)) or (hasattr(value, "dtype") and jnp.issubdtype(value.dtype, jnp.bool_)):
        raise ValueError(f"{name} must be a number; got {value!r}.")
    try:
        shape = np.shape(value)
    except Exception as err:  # e.g. a string or an arbitrary object
        raise ValueError(f"{name} must be a number; got {value!r}.") from err
    if shape != ():
        raise ValueError(f"{name} must be a scalar; got an array of shape {shape}.")
    return _KINDS[kind](name, value)


def check_scalar_or_schedule(name: str, value: Any, kind: str) -> Any:
    """A scalar (validated as ``kind``) or a schedule (a callable, not checked)."""
    if callable(value):
        return value
    return check_scalar(name, value, kind)


def check_bool(name: str, value: Any) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{name} must be True or False; got {value!r}.")
    return bool(value)


def check_dtype(name: str, value: Any, *, floating: bool = True) -> Any:
    """``None`` or something ``jnp.dtype`` understands; returns the canonical dtype.

    With ``floating`` (the default, for accumulators) the dtype must be a
    floating or complex one: an integer momentum buffer would round every
    update of ``b = mu b + g`` and stay 0 for small gradients.
    """
    if value is None:
        return None
    try:
        dtype = jax.dtypes.canonicalize_dtype(jnp.dtype(value))
    except TypeError as err:
        raise ValueError(f"{name} must be a dtype or None; got {value!r}.") from err
    if floating and not jnp.issubdtype(dtype, jnp.inexact):
        raise ValueError(f"{name} must be a floating (or complex) dtype or None; got {value!r}.")
    return dtype


def scheduled(name: str, schedule: Any, count: Any) -> Any:
    """``schedule(count)``, checked to be a scalar (shapes are static, so this holds under jit too).

    A schedule returning an array of shape ``(n,)`` would silently become a
    per-element rate broadcast against the parameters.
    """
    value = schedule(count)
    shape = np.shape(value)
    if shape != ():
        raise ValueError(f"{name} schedule must return a scalar; it returned an array of shape {shape}.")
    return value


def abs_sq(x: jax.Array) -> jax.Array:
    """``|x|^2`` element-wise: ``x * conj(x)`` (real-valued) for complex ``x``, ``x * x`` otherwise."""
    if jnp.iscomplexobj(x):
        return (x * jnp.conj(x)).real
    return x * x


def scalar(value: Any) -> Any:
    """A hyperparameter ready for derived arithmetic (``1 - b1``, ``b1 ** t``).

    Python numbers stay Python numbers (exact arithmetic, weakly typed in JAX,
    as in Optax); arrays and tracers become arrays of at least float32.
    """
    if isinstance(value, (int, float, Complemented)) and not isinstance(value, bool):
        return value
    value = jnp.asarray(value)
    if not jnp.issubdtype(value.dtype, jnp.floating) or jnp.finfo(value.dtype).bits < 32:
        value = value.astype(jnp.promote_types(value.dtype, jnp.float32))
    return value


def cast_like(value: Any, leaf: jax.Array) -> jax.Array:
    """``value`` in the dtype of ``leaf``: hyperparameters never upcast leaves."""
    return jnp.asarray(value_of(value), dtype=leaf.dtype)


def value_dtype(value: Any) -> jnp.dtype:
    """The floating dtype a hyperparameter is stored in: its own, or the default float."""
    return float_dtype(jnp.asarray(value_of(value)).dtype)

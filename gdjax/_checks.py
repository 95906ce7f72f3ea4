"""Argument validation shared by the whole library.

Every public function validates what it is given *before* anything is traced or
compiled, and raises a ``ValueError`` that names the argument, what was expected
and what came. Values that are JAX tracers (inside ``jit``/``vmap``) cannot be
inspected, so the numeric checks here skip them: a traced hyperparameter is the
caller's promise, a concrete one is checked.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import jax
import numpy as np


def is_traced(value: Any) -> bool:
    """True if ``value`` (or any leaf of it) is an abstract JAX tracer."""
    return any(isinstance(leaf, jax.core.Tracer) for leaf in jax.tree_util.tree_leaves(value))


def _concrete_values(value: Any) -> np.ndarray | None:
    """The value as a NumPy array, or None when it is traced (cannot be checked)."""
    if value is None or is_traced(value):
        return None
    return np.asarray(value)


def check_choice(name: str, value: Any, choices: Iterable[str]) -> str:
    choices = tuple(choices)
    if value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, choices))}; got {value!r}.")
    return value


def check_int(name: str, value: Any, *, minimum: int | None = None, maximum: int | None = None) -> int:
    """A Python integer (bools refused) within ``[minimum, maximum]``."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise ValueError(f"{name} must be an integer; got {value!r} of type {type(value).__name__}.")
    value = int(value)
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be >= {minimum}; got {value}.")
    if maximum is not None and value > maximum:
        raise ValueError(f"{name} must be <= {maximum}; got {value}.")
    return value


def check_range(
    name: str,
    value: Any,
    *,
    low: float | None = None,
    high: float | None = None,
    low_inclusive: bool = True,
    high_inclusive: bool = True,
) -> Any:
    """Checks a concrete number (or array of numbers) is finite and in range.

    Traced values pass through unchecked. Returns ``value`` unchanged so the
    caller keeps its dtype and tracer-ness.
    """
    array = _concrete_values(value)
    if array is None:
        return value
    if not np.issubdtype(array.dtype, np.number) and array.dtype != np.bool_:
        raise ValueError(f"{name} must be a number; got {value!r}.")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} must be finite; got {_show(array)}.")
    if low is not None:
        bad = array < low if low_inclusive else array <= low
        if np.any(bad):
            op = ">=" if low_inclusive else ">"
            raise ValueError(f"{name} must be {op} {low}; got {_show(array)}.")
    if high is not None:
        bad = array > high if high_inclusive else array >= high
        if np.any(bad):
            op = "<=" if high_inclusive else "<"
            raise ValueError(f"{name} must be {op} {high}; got {_show(array)}.")
    return value


def check_positive(name: str, value: Any) -> Any:
    """Finite and strictly positive (learning rates, scales)."""
    return check_range(name, value, low=0.0, low_inclusive=False)


def check_nonnegative(name: str, value: Any) -> Any:
    return check_range(name, value, low=0.0)


def check_unit_interval(name: str, value: Any) -> Any:
    """In ``[0, 1)``: momenta and decay rates."""
    return check_range(name, value, low=0.0, high=1.0, high_inclusive=False)


def check_finite_array(name: str, value: Any) -> None:
    """Concrete data must hold no NaN or infinity."""
    array = _concrete_values(value)
    if array is None or not np.issubdtype(array.dtype, np.inexact):
        return
    bad = ~np.isfinite(array)
    if np.any(bad):
        first = tuple(int(i) for i in np.argwhere(bad)[0])
        raise ValueError(
            f"{name} must be finite; found {int(bad.sum())} non-finite value(s), the first at index {first}."
        )


def check_ndim(name: str, value: Any, ndim: int | tuple[int, ...]) -> None:
    allowed = (ndim,) if isinstance(ndim, int) else tuple(ndim)
    actual = np.ndim(value)
    if actual not in allowed:
        want = " or ".join(f"{n}-D" for n in allowed)
        raise ValueError(f"{name} must be {want}; got shape {tuple(np.shape(value))}.")


def check_same_length(name_a: str, a: Any, name_b: str, b: Any) -> None:
    len_a, len_b = np.shape(a)[0], np.shape(b)[0]
    if len_a != len_b:
        raise ValueError(f"{name_a} and {name_b} must have the same number of rows; got {len_a} and {len_b}.")


def _show(array: np.ndarray) -> str:
    if array.ndim == 0:
        return repr(array.item())
    flat = array.ravel()
    if flat.size <= 6:
        return repr(flat.tolist())
    return f"an array of shape {array.shape} with values in [{np.nanmin(flat)}, {np.nanmax(flat)}]"

"""Argument validation shared by the whole library.

Every public function validates what it is given *before* anything is traced or
compiled, and raises a ``ValueError`` that names the argument, what was expected
and what came. Values that are JAX tracers (inside ``jit``/``vmap``) cannot be
inspected, so the numeric checks here skip them: a traced hyperparameter is the
caller's promise, a concrete one is checked.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterable, Sequence
from typing import Any

import jax
import jax.numpy as jnp
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
    if type(value) is float or (type(value) is int and abs(value) < 2**53):  # the usual hyperparameter, sans NumPy
        if math.isfinite(value) and (low is None or (value >= low if low_inclusive else value > low)):
            if high is None or (value <= high if high_inclusive else value < high):
                return value
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


def _dtype(leaf: Any) -> Any:
    dtype = getattr(leaf, "dtype", None)
    return jnp.result_type(leaf) if dtype is None else dtype


@functools.lru_cache(maxsize=256)
def _is_inexact(dtype: Any) -> bool:
    """``jnp.issubdtype(dtype, jnp.inexact)``, remembered per dtype: it runs for every leaf of every check."""
    return bool(jnp.issubdtype(dtype, jnp.inexact))


@functools.lru_cache(maxsize=256)
def _is_key_dtype(dtype: Any) -> bool:
    return bool(jax.dtypes.issubdtype(dtype, jax.dtypes.prng_key))


def _finite(leaf: Any) -> bool:
    """Whether a leaf holds no NaN or infinity (traced and non-float leaves pass): the quick test before naming one."""
    if isinstance(leaf, jax.core.Tracer) or not _is_inexact(_dtype(leaf)):
        return True
    return bool(np.isfinite(np.asarray(leaf)).all())


def all_finite(tree: Any) -> bool:
    """Whether every concrete floating-point leaf of ``tree`` is finite (what :func:`check_finite_array` asks)."""
    return all(_finite(leaf) for leaf in jax.tree_util.tree_leaves(tree))


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


# ---------------------------------------------------------------- labels
#
# The label checks of the losses and the metrics. Each inspects concrete labels
# only (a traced array passes unchecked: see ``is_traced``) and names the first
# bad value and its index.


def _index(array: np.ndarray, flat: int) -> int | tuple[int, ...]:
    """The index of element ``flat`` of ``array``: an int for a 1-D array, else a tuple."""
    index = np.unravel_index(flat, array.shape)
    return int(index[0]) if array.ndim == 1 else tuple(int(i) for i in index)


def _first_bad(name: str, array: np.ndarray, bad: np.ndarray, expected: str) -> None:
    if np.any(bad):
        flat = int(np.argmax(bad.ravel()))
        value = array.ravel()[flat].item()
        raise ValueError(f"{name} must be {expected}; got {value!r} at index {_index(array, flat)}.")


def _numeric_labels(name: str, labels: Any) -> np.ndarray | None:
    """Concrete labels as a NumPy array of bools or real numbers (None when traced).

    Floats NumPy does not know natively (``bfloat16``, ``float8_*``) come back
    as float32, which holds their values exactly.
    """
    array = _concrete_values(labels)
    if array is None or array.dtype == np.bool_:
        return array
    if jnp.issubdtype(array.dtype, jnp.floating) and not np.issubdtype(array.dtype, np.floating):
        return array.astype(np.float32)
    if not (np.issubdtype(array.dtype, np.integer) or np.issubdtype(array.dtype, np.floating)):
        raise ValueError(f"{name} must be real numbers; got an array of dtype {array.dtype}.")
    return array


def _tolerance(labels: Any) -> float:
    """``sqrt(eps)`` of the labels' float dtype (bfloat16 included); 0 for integers and bools."""
    dtype = getattr(labels, "dtype", None)
    if dtype is None:
        dtype = np.asarray(labels).dtype
    return float(np.sqrt(jnp.finfo(dtype).eps)) if jnp.issubdtype(dtype, jnp.floating) else 0.0


def check_binary_labels(name: str, labels: Any, *, soft: bool = False) -> None:
    """Concrete binary labels must be 0 or 1 (``soft``: any number in ``[0, 1]``); traced ones pass."""
    array = _numeric_labels(name, labels)
    if array is None or array.dtype == np.bool_:
        return
    if soft:
        _first_bad(name, array, ~((array >= 0) & (array <= 1)), "in [0, 1] (soft labels allowed)")
    else:
        _first_bad(name, array, ~((array == 0) | (array == 1)), "0 or 1")


def check_sign_labels(name: str, labels: Any) -> None:
    """Concrete labels of a margin loss must be 0/1 or -1/+1, one convention at a time; traced ones pass."""
    array = _numeric_labels(name, labels)
    if array is None or array.dtype == np.bool_:
        return
    _first_bad(name, array, ~((array == 0) | (array == 1) | (array == -1)), "0/1 or -1/+1")
    zero, minus = array == 0, array == -1
    if np.any(zero) and np.any(minus):
        first_zero, first_minus = int(np.argmax(zero.ravel())), int(np.argmax(minus.ravel()))
        raise ValueError(
            f"{name} must be 0/1 or -1/+1, not a mix of both: found 0 at index {_index(array, first_zero)} "
            f"and -1 at index {_index(array, first_minus)}."
        )


def check_class_labels(name: str, labels: Any, num_classes: int) -> None:
    """Concrete class indices must be integers in ``[0, num_classes)``; traced ones pass."""
    array = _numeric_labels(name, labels)
    if array is None:
        return
    array = array.astype(np.int64) if array.dtype == np.bool_ else array
    integral = np.isfinite(array) & (np.round(array) == array) if np.issubdtype(array.dtype, np.inexact) else True
    _first_bad(name, array, ~(integral & (array >= 0) & (array < num_classes)), f"class indices in [0, {num_classes})")


def check_distribution_rows(name: str, labels: Any) -> None:
    """Concrete ``(n, K)`` label rows must be one-hot or, at least, non-negative and sum to 1; traced ones pass.

    The sums are compared with 1 to within ``sqrt(eps)`` of the labels' float
    dtype (exactly for integer labels).
    """
    array = _numeric_labels(name, labels)
    if array is None:
        return
    array = array.astype(np.int64) if array.dtype == np.bool_ else array
    expected = "one-hot rows or rows of non-negative class probabilities summing to 1"
    _first_bad(name, array, ~(np.isfinite(array) & (array >= 0)), f"{expected} (non-negative)")
    sums = array.sum(axis=-1, dtype=np.float64)
    tolerance = _tolerance(labels)
    bad = np.abs(sums - 1) > tolerance
    if np.any(bad):
        row = int(np.argmax(bad))
        raise ValueError(f"{name} must be {expected}; row {row} sums to {float(sums[row])!r}: {array[row].tolist()}.")


# ---------------------------------------------------------------- keys and devices

_SEED_MIN, _SEED_MAX = -(2**63), 2**63 - 1


def as_key(name: str, key: Any) -> jax.Array:
    """A PRNG key from ``key``: the one coercion of keys and seeds in the library.

    Accepted:

    - an integer seed ``s`` (a Python or NumPy integer, or a 0-d integer
      array) in the int64 range ``[-2**63, 2**63 - 1]``: returns
      ``jax.random.key(s)``. Without ``jax_enable_x64`` JAX keeps only the
      seed's low 32 bits, so seeds that differ by a multiple of ``2**32``
      give the same key;
    - a typed scalar key (``jax.random.key(s)``), returned as it is;
    - a raw ``uint32[2]`` key (``jax.random.PRNGKey(s)``), returned as a JAX
      array (still raw).

    Traced keys and traced integer seeds (inside ``jit``/``vmap``) are
    accepted on their shape and dtype alone; their values cannot be checked.

    Raises:
      ValueError: naming ``name``, for bools, floats, None, strings, seeds out
        of the int64 range, key arrays of any shape but ``()``, and raw keys
        of any shape but ``(2,)``.
    """
    expected = "a PRNG key or an integer seed (a typed key jax.random.key(seed), a raw uint32[2] key, or an int)"
    if isinstance(key, (bool, np.bool_)):
        raise ValueError(f"{name} must be {expected}; got {bool(key)!r} of type bool.")
    if isinstance(key, (int, np.integer)):
        return _key_of_seed(_seed(name, int(key)))
    dtype = getattr(key, "dtype", None)
    if dtype is None:
        shown = "None" if key is None else f"{key!r} of type {type(key).__name__}"
        raise ValueError(f"{name} must be {expected}; got {shown}.")
    shape = tuple(np.shape(key))
    if _is_key_dtype(dtype):
        if shape != ():
            raise ValueError(f"{name} must be a single PRNG key; got a key array of shape {shape}.")
        return key
    dtype = np.dtype(dtype)
    if dtype == np.uint32 and shape != ():
        if shape != (2,):
            raise ValueError(f"{name} must be a raw key of shape (2,); got a uint32 array of shape {shape}.")
        return jnp.asarray(key)
    if shape == () and np.issubdtype(dtype, np.integer):
        value = _concrete_values(key)
        if value is None:
            return jax.random.key(key)
        return jax.random.key(_seed(name, int(value)))
    raise ValueError(f"{name} must be {expected}; got an array of shape {shape} and dtype {dtype}.")


@functools.lru_cache(maxsize=1024)
def _key_of_seed(seed: int) -> jax.Array:
    """``jax.random.key(seed)``, remembered: keys are immutable, and making one dispatches a computation."""
    return jax.random.key(seed)


def _seed(name: str, seed: int) -> int:
    if not _SEED_MIN <= seed <= _SEED_MAX:
        raise ValueError(f"{name}: an integer seed must be in [-2**63, 2**63 - 1]; got {seed}.")
    return seed


def check_devices(name: str, devices: Any) -> tuple[jax.Device, ...] | None:
    """None (every device), or a non-empty sequence of distinct ``jax.Device`` objects, as a tuple.

    A 1-D NumPy array of devices (e.g. ``mesh.devices.ravel()``) counts as a
    sequence. Strings such as ``"cpu"``, device ids, empty sequences and
    repeated devices are refused with a ``ValueError`` naming ``name``.
    """
    if devices is None:
        return None
    expected = "None or a non-empty sequence of jax.Device objects (e.g. jax.devices())"
    if isinstance(devices, np.ndarray):
        if devices.ndim != 1:
            raise ValueError(f"{name} must be {expected}; got an array of shape {devices.shape}.")
        devices = devices.tolist()
    if isinstance(devices, (str, bytes)) or not isinstance(devices, Sequence):
        raise ValueError(f"{name} must be {expected}; got {devices!r}.")
    if len(devices) == 0:
        raise ValueError(f"{name} must name at least one device; got an empty sequence.")
    seen: set[jax.Device] = set()
    for i, device in enumerate(devices):
        if not isinstance(device, jax.Device):
            raise ValueError(
                f"{name}[{i}] must be a jax.Device (from jax.devices()); "
                f"got {device!r} of type {type(device).__name__}."
            )
        if device in seen:
            raise ValueError(f"{name} lists {device!r} more than once.")
        seen.add(device)
    return tuple(devices)


def check_params(name: str, params: Any) -> None:
    """Parameters to train: a pytree with at least one array, every leaf floating point and finite."""
    leaves = jax.tree_util.tree_leaves(params)
    if not leaves:
        raise ValueError(f"{name} must be a pytree with at least one array; got none.")
    inexact = all(_is_inexact(_dtype(leaf)) for leaf in leaves)
    if inexact and all(_finite(leaf) for leaf in leaves):  # the usual case, without naming every leaf
        return
    for path, leaf in jax.tree_util.tree_leaves_with_path(params):
        where = f"{name}{jax.tree_util.keystr(path)}"
        if not jnp.issubdtype(jnp.result_type(leaf), jnp.inexact):
            raise ValueError(f"{where} must be floating point to be trained; got dtype {jnp.result_type(leaf)}.")
        check_finite_array(where, leaf)

"""Seeded train/test splits and standardisation fitted on the training part.

The statistics that standardise the inputs are a property of the *training*
data: computing them on the full data set leaks information about the test
examples into the model (see Hastie, Tibshirani & Friedman, *The Elements of
Statistical Learning*, 2nd ed., sec. 7.10.2). The pair
``fit_standardizer(x_train)`` / ``Standardizer.apply(x)`` makes that the
natural thing to do.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from gdjax import _checks
from gdjax._checks import check_finite_array, check_int, check_ndim, check_range


def as_key(key_or_seed: Any) -> jax.Array:
    """A PRNG key from a key (typed or raw ``uint32[2]``, possibly traced) or an integer seed.

    The argument is called ``key`` in error messages; see
    :func:`gdjax._checks.as_key` for what is accepted and refused (seeds in the
    int64 range; a single key, never a key array).
    """
    return _checks.as_key("key", key_or_seed)


class Split(NamedTuple):
    """A train/test pair: each field has the structure of the data that was split."""

    train: Any
    test: Any


def split_sizes(num_examples: int, test_fraction: float = 0.2) -> tuple[int, int]:
    """``(n_train, n_test)`` with ``n_test = ceil(test_fraction * n)``.

    Rounding the test part up follows scikit-learn's ``train_test_split``; the
    product is computed with a tolerance so that ``0.3 * 10`` (which is
    ``3.0000000000000004`` in floating point) gives 3 and not 4. For the
    303-row heart data, ``test_fraction=0.2`` gives ``(242, 61)``. Both parts
    must be non-empty.
    """
    n = check_int("num_examples", num_examples, minimum=2)
    check_range("test_fraction", test_fraction, low=0.0, high=1.0, low_inclusive=False, high_inclusive=False)
    n_test = math.ceil(n * float(test_fraction) - 1e-9)
    if not 1 <= n_test <= n - 1:
        raise ValueError(
            f"test_fraction={test_fraction} gives {n_test} test examples out of {n}; "
            "both the training and the test part must be non-empty."
        )
    return n - n_test, n_test


def train_test_split_indices(key: Any, num_examples: int, *, test_fraction: float = 0.2, shuffle: bool = True) -> Split:
    """Index arrays of a random train/test split of ``range(num_examples)``.

    A uniformly random permutation of the examples (from ``key``; a Python int
    is taken as a seed) is cut into its first ``n_train`` and last ``n_test``
    entries (see :func:`split_sizes`). With ``shuffle=False`` the test part is
    the last ``n_test`` examples in order. The sizes are static, so ``key`` may
    be traced (e.g. ``vmap`` over seeds for repeated hold-out).

    Returns:
      ``Split(train, test)`` of int32 index arrays of shapes ``(n_train,)`` and
      ``(n_test,)``; together they hold every index exactly once.
    """
    n_train, _ = split_sizes(num_examples, test_fraction)
    if not isinstance(shuffle, bool):
        raise ValueError(f"shuffle must be a bool; got {shuffle!r}.")
    return _split_indices(as_key(key) if shuffle else None, n=int(num_examples), n_train=n_train)


@functools.partial(jax.jit, static_argnames=("n", "n_train"))
def _split_indices(key: jax.Array | None, *, n: int, n_train: int) -> Split:
    if key is None:
        order = jnp.arange(n, dtype=jnp.int32)
    else:
        order = jax.random.permutation(key, n).astype(jnp.int32)
    return Split(train=order[:n_train], test=order[n_train:])


def train_test_split(key: Any, data: Any, *, test_fraction: float = 0.2, shuffle: bool = True) -> Split:
    """Split every array of a pytree along its first axis, with the same rows.

    ``(x_train, y_train), (x_test, y_test) = train_test_split(key, (x, y))``.

    Args:
      key: PRNG key or integer seed; the same key gives the same split.
      data: an array or a pytree of arrays with a common number of rows ``n``.
      test_fraction: the test part is ``ceil(test_fraction * n)`` rows.
      shuffle: with False the test part is the last rows, in order.

    Returns:
      ``Split(train, test)``, each with the structure of ``data``.
    """
    leaves = jax.tree.leaves(data)
    if not leaves:
        raise ValueError("data must contain at least one array.")
    lengths = {np.shape(leaf)[0] if np.ndim(leaf) else None for leaf in leaves}
    if None in lengths:
        raise ValueError("every array in data must have at least one axis (the examples).")
    if len(lengths) != 1:
        raise ValueError(f"every array in data must have the same number of rows; got {sorted(lengths)}.")
    indices = train_test_split_indices(key, lengths.pop(), test_fraction=test_fraction, shuffle=shuffle)
    pick = lambda idx: jax.tree.map(lambda leaf: jnp.take(jnp.asarray(leaf), idx, axis=0), data)
    return Split(train=pick(indices.train), test=pick(indices.test))


class Standardizer(NamedTuple):
    """Per-feature affine map ``z = (x - mean) / scale`` fitted on training data.

    A NamedTuple, so it is a pytree: it can be passed through ``jit``, saved
    with the parameters, and applied to new data of any number of rows.

    Attributes:
      mean: per-feature means of the training data, shape ``(d,)``.
      scale: per-feature standard deviations (population, ``ddof=0``, as in
        scikit-learn's ``StandardScaler``); 1 for a constant feature and for
        features left unscaled, so that no division by zero can occur.
    """

    mean: jax.Array
    scale: jax.Array

    def apply(self, x: jax.Array) -> jax.Array:
        """``(x - mean) / scale``, in the dtype of the statistics."""
        return _apply(x, self.mean, self.scale)

    def invert(self, z: jax.Array) -> jax.Array:
        """``z * scale + mean``: back to the original units."""
        return _invert(z, self.mean, self.scale)


@jax.jit
def _apply(x: jax.Array, mean: jax.Array, scale: jax.Array) -> jax.Array:
    return (jnp.asarray(x, mean.dtype) - mean) / scale


@jax.jit
def _invert(z: jax.Array, mean: jax.Array, scale: jax.Array) -> jax.Array:
    return jnp.asarray(z, mean.dtype) * scale + mean


@functools.partial(jax.jit, static_argnames=("dtype",))
def _fit(x: jax.Array, chosen: jax.Array, *, dtype: Any) -> Standardizer:
    x = jnp.asarray(x, dtype)
    shifted = x - x[0]
    mean_shift = jnp.mean(shifted, axis=0)
    std = jnp.sqrt(jnp.mean((shifted - mean_shift) ** 2, axis=0))
    mean = jnp.where(chosen, x[0] + mean_shift, jnp.zeros((), dtype))
    scale = jnp.where(chosen & (std > 0), std, jnp.ones((), dtype))
    return Standardizer(mean=mean, scale=scale)


def fit_standardizer(x: Any, *, columns: Sequence[int] | None = None, dtype: Any = None) -> Standardizer:
    """Fits a :class:`Standardizer` to training inputs ``x`` of shape ``(n, d)``.

    ``mean_j = (1/n) sum_i x_ij`` and ``scale_j = sqrt((1/n) sum_i (x_ij -
    mean_j)^2)``, computed on data shifted by its first row (the shifted-data
    algorithm, Chan, Golub & LeVeque, *Am. Statistician* 37(3), 1983), which is
    accurate for large offsets and gives a standard deviation of exactly 0 for a
    constant column; such a column gets ``scale = 1`` so it maps to 0.

    Args:
      x: training inputs, ``(n, d)`` (or ``(n,)`` for a single feature).
      columns: indices of the features to standardise; the others get
        ``mean = 0, scale = 1`` and pass unchanged (e.g. one-hot columns).
        Default: every feature.
      dtype: floating dtype of the statistics (default: that of ``x`` if it is
        floating, else the default float dtype).

    Returns:
      The fitted :class:`Standardizer`.
    """
    check_ndim("x", x, (1, 2))
    check_finite_array("x", x)
    if not hasattr(x, "dtype"):
        x = np.asarray(x)
    shape = np.shape(x)
    if shape[0] < 1:
        raise ValueError("x must have at least one row.")
    if dtype is None:
        dtype = x.dtype if jnp.issubdtype(x.dtype, jnp.floating) else jnp.result_type(float)
    elif not jnp.issubdtype(dtype, jnp.floating):
        raise ValueError(f"dtype must be a floating dtype; got {dtype!r}.")
    d = 1 if len(shape) == 1 else shape[1]
    if columns is None:
        chosen = np.ones(d, dtype=bool)
    else:
        chosen = np.zeros(d, dtype=bool)
        for c in columns:
            chosen[check_int("columns entry", c, minimum=-d, maximum=d - 1)] = True
    if len(shape) == 1:
        chosen = chosen[0]
    return _fit(x, chosen, dtype=np.dtype(dtype))

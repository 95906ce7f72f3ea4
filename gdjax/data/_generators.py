"""Synthetic data sets drawn from an explicit PRNG key.

Every generator takes the key first and the number of examples second; sizes
and class counts are static Python ints (checked eagerly) while the key and the
noise levels may be traced, so a generator can run inside ``jit`` or be
``vmap``-ed over keys. The same key always gives the same data.

Each public function checks its arguments, then calls a core compiled with
``jax.jit`` whose static arguments are the sizes and the dtype: a new key or
noise level reuses the compiled program.

Labels: the binary sets (admissions, moons, circles) have float 0/1 targets of
shape ``(n,)``, like the rest of the library; the multi-class sets (spirals,
blobs) have int32 class indices. In the multi-class and two-class geometric sets
example ``i`` belongs to class ``i mod K``, so every class has ``n // K`` or
``n // K + 1`` examples and any contiguous slice is balanced.
"""

from __future__ import annotations

import functools
import math
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from gdjax._checks import check_int, check_ndim, check_nonnegative, check_positive, check_range, is_traced
from gdjax.data._tables import Dataset, _dtype

ADMISSIONS_WEIGHTS = (2.0, 1.0)
ADMISSIONS_BIAS = -18.0


def admissions(
    key: jax.Array,
    num_examples: int = 100,
    *,
    label_noise: float = 0.0,
    low: float = 0.0,
    high: float = 10.0,
    dtype: Any = None,
) -> Dataset:
    """Student admissions: test score and grades, admitted above a line.

    ``x[:, 0]`` (test score) and ``x[:, 1]`` (grades) are uniform on
    ``[low, high]``; a student is admitted (``y = 1``) when
    ``2 x1 + x2 - 18 >= 0`` (:data:`ADMISSIONS_WEIGHTS`, :data:`ADMISSIONS_BIAS`),
    the boundary of the course's perceptron example. With scores on ``[0, 10]``
    35% of the plane is admitted. Each label is then flipped independently with
    probability ``label_noise``, so the data are no longer separable.

    Returns:
      A :class:`Dataset`: ``x`` of shape ``(n, 2)``, ``y`` float 0/1 of shape ``(n,)``.
    """
    n = check_int("num_examples", num_examples, minimum=1)
    check_range("label_noise", label_noise, low=0.0, high=1.0)
    check_range("low", low)
    check_range("high", high)
    if not is_traced((low, high)) and not high > low:
        raise ValueError(f"high must be > low; got low={low} and high={high}.")
    return _admissions(key, label_noise, low, high, n=n, dtype=_static_dtype(dtype))


@functools.partial(jax.jit, static_argnames=("n", "dtype"))
def _admissions(key: jax.Array, label_noise: Any, low: Any, high: Any, *, n: int, dtype: np.dtype) -> Dataset:
    k_x, k_flip = jax.random.split(key)
    x = jax.random.uniform(k_x, (n, 2), dtype, minval=low, maxval=high)
    score = ADMISSIONS_WEIGHTS[0] * x[:, 0] + ADMISSIONS_WEIGHTS[1] * x[:, 1] + ADMISSIONS_BIAS
    admitted = score >= 0
    flip = jax.random.uniform(k_flip, (n,)) < label_noise
    return Dataset(x=x, y=jnp.logical_xor(admitted, flip).astype(dtype))


def linear_regression(
    key: jax.Array,
    num_examples: int,
    weights: Any,
    bias: float = 0.0,
    *,
    noise: float = 0.1,
    x_scale: float = 1.0,
    dtype: Any = None,
) -> Dataset:
    """Data from a known linear model: ``y = x @ weights + bias + noise * eps``.

    ``x`` has independent ``N(0, x_scale^2)`` entries and ``eps ~ N(0, 1)``, so
    the least-squares estimate converges to ``(weights, bias)`` and the residual
    standard deviation to ``noise``.

    Args:
      key: PRNG key.
      num_examples: ``n``, the number of rows.
      weights: a number (one feature) or a 1-D array of ``d`` weights.
      bias: the intercept.
      noise: standard deviation of the additive Gaussian noise (``>= 0``).
      x_scale: standard deviation of the inputs (``> 0``).
      dtype: floating dtype (default float32).

    Returns:
      A :class:`Dataset`: ``x`` of shape ``(n, d)``, ``y`` of shape ``(n,)``.
    """
    n = check_int("num_examples", num_examples, minimum=1)
    check_ndim("weights", weights, (0, 1))
    check_range("weights", weights)
    check_range("bias", bias)
    check_nonnegative("noise", noise)
    check_positive("x_scale", x_scale)
    dtype = _static_dtype(dtype)
    return _linear_regression(key, jnp.atleast_1d(jnp.asarray(weights, dtype)), bias, noise, x_scale, n=n, dtype=dtype)


@functools.partial(jax.jit, static_argnames=("n", "dtype"))
def _linear_regression(
    key: jax.Array, w: jax.Array, bias: Any, noise: Any, x_scale: Any, *, n: int, dtype: np.dtype
) -> Dataset:
    k_x, k_eps = jax.random.split(key)
    x = x_scale * jax.random.normal(k_x, (n, w.shape[0]), dtype)
    y = x @ w + bias + noise * jax.random.normal(k_eps, (n,), dtype)
    return Dataset(x=x, y=y.astype(dtype))


def _static_dtype(dtype: Any) -> np.dtype:
    """The floating dtype as a hashable ``np.dtype``, a static argument of the jitted cores."""
    return np.dtype(_dtype(dtype))


def _class_of_each_example(n: int, num_classes: int) -> jax.Array:
    return jnp.arange(n, dtype=jnp.int32) % num_classes


def two_moons(key: jax.Array, num_examples: int = 100, *, noise: float = 0.1, dtype: Any = None) -> Dataset:
    """Two interleaving half circles (as scikit-learn's ``make_moons``).

    Class 0 lies on the upper arc ``(cos t, sin t)``, class 1 on the lower arc
    ``(1 - cos t, 0.5 - sin t)``, with ``t`` uniform on ``[0, pi]``, plus
    isotropic Gaussian noise of standard deviation ``noise``.

    Returns:
      A :class:`Dataset`: ``x`` of shape ``(n, 2)``, ``y`` float 0/1.
    """
    n = check_int("num_examples", num_examples, minimum=2)
    check_nonnegative("noise", noise)
    return _two_moons(key, noise, n=n, dtype=_static_dtype(dtype))


@functools.partial(jax.jit, static_argnames=("n", "dtype"))
def _two_moons(key: jax.Array, noise: Any, *, n: int, dtype: np.dtype) -> Dataset:
    k_t, k_eps = jax.random.split(key)
    label = _class_of_each_example(n, 2)
    t = jax.random.uniform(k_t, (n,), dtype, maxval=math.pi)
    upper = jnp.stack([jnp.cos(t), jnp.sin(t)], axis=1)
    lower = jnp.stack([1.0 - jnp.cos(t), 0.5 - jnp.sin(t)], axis=1)
    x = jnp.where(label[:, None] == 0, upper, lower)
    x = x + noise * jax.random.normal(k_eps, (n, 2), dtype)
    return Dataset(x=x.astype(dtype), y=label.astype(dtype))


def circles(
    key: jax.Array, num_examples: int = 100, *, noise: float = 0.05, factor: float = 0.5, dtype: Any = None
) -> Dataset:
    """A circle inside another (as scikit-learn's ``make_circles``).

    Class 0 on the unit circle, class 1 on the circle of radius ``factor``,
    at uniform random angles, plus isotropic Gaussian noise of standard
    deviation ``noise``. Not linearly separable; separable with the feature
    ``x1^2 + x2^2``.

    Returns:
      A :class:`Dataset`: ``x`` of shape ``(n, 2)``, ``y`` float 0/1.
    """
    n = check_int("num_examples", num_examples, minimum=2)
    check_nonnegative("noise", noise)
    check_range("factor", factor, low=0.0, high=1.0, low_inclusive=False, high_inclusive=False)
    return _circles(key, noise, factor, n=n, dtype=_static_dtype(dtype))


@functools.partial(jax.jit, static_argnames=("n", "dtype"))
def _circles(key: jax.Array, noise: Any, factor: Any, *, n: int, dtype: np.dtype) -> Dataset:
    k_t, k_eps = jax.random.split(key)
    label = _class_of_each_example(n, 2)
    t = jax.random.uniform(k_t, (n,), dtype, maxval=2 * math.pi)
    radius = jnp.where(label == 0, jnp.ones((), dtype), jnp.asarray(factor, dtype))
    x = radius[:, None] * jnp.stack([jnp.cos(t), jnp.sin(t)], axis=1)
    x = x + noise * jax.random.normal(k_eps, (n, 2), dtype)
    return Dataset(x=x.astype(dtype), y=label.astype(dtype))


def spirals(
    key: jax.Array,
    num_examples: int = 100,
    *,
    num_classes: int = 2,
    turns: float = 1.0,
    noise: float = 0.02,
    dtype: Any = None,
) -> Dataset:
    """Interleaved spiral arms, one per class (the CS231n "spiral" set).

    Arm ``k`` is the Archimedean spiral ``r (cos a, sin a)`` with ``r``
    uniform on ``[0, 1]`` and ``a = 2 pi (turns * r + k / K)``: the arms start
    together at the origin, are rotated by ``2 pi / K`` from each other and wind
    ``turns`` times. Isotropic Gaussian noise of standard deviation ``noise`` is
    added to the points.

    Returns:
      A :class:`Dataset`: ``x`` of shape ``(n, 2)``, ``y`` int32 class indices
      (``y.astype(float)`` for a binary loss with two arms).
    """
    n = check_int("num_examples", num_examples, minimum=2)
    k = check_int("num_classes", num_classes, minimum=2, maximum=n)
    check_positive("turns", turns)
    check_nonnegative("noise", noise)
    return _spirals(key, turns, noise, n=n, k=k, dtype=_static_dtype(dtype))


@functools.partial(jax.jit, static_argnames=("n", "k", "dtype"))
def _spirals(key: jax.Array, turns: Any, noise: Any, *, n: int, k: int, dtype: np.dtype) -> Dataset:
    k_r, k_eps = jax.random.split(key)
    label = _class_of_each_example(n, k)
    r = jax.random.uniform(k_r, (n,), dtype)
    angle = 2 * math.pi * (turns * r + label.astype(dtype) / k)
    x = r[:, None] * jnp.stack([jnp.cos(angle), jnp.sin(angle)], axis=1)
    x = x + noise * jax.random.normal(k_eps, (n, 2), dtype)
    return Dataset(x=x.astype(dtype), y=label)


def blobs(
    key: jax.Array,
    num_examples: int = 100,
    *,
    centers: Any = 3,
    std: float = 1.0,
    num_features: int = 2,
    box: float = 10.0,
    dtype: Any = None,
) -> Dataset:
    """Isotropic Gaussian blobs, one per class (as scikit-learn's ``make_blobs``).

    Example ``i`` of class ``k = i mod K`` is ``centers[k] + std * eps`` with
    ``eps ~ N(0, I)``.

    Args:
      key: PRNG key.
      num_examples: ``n``.
      centers: the ``(K, d)`` array of centres, or a number ``K`` of centres
        drawn (from ``key``) uniformly in ``[-box, box]^num_features``.
      std: standard deviation of each blob (``>= 0``).
      num_features: ``d`` when ``centers`` is a number.
      box: half-width of the box of random centres.
      dtype: floating dtype (default float32).

    Returns:
      A :class:`Dataset`: ``x`` of shape ``(n, d)``, ``y`` int32 class indices.
    """
    n = check_int("num_examples", num_examples, minimum=1)
    check_nonnegative("std", std)
    dtype = _static_dtype(dtype)
    if isinstance(centers, (int, np.integer)) and not isinstance(centers, bool):
        count = check_int("centers", centers, minimum=1, maximum=n)
        d = check_int("num_features", num_features, minimum=1)
        check_positive("box", box)
        return _blobs(key, None, box, std, n=n, count=count, d=d, dtype=dtype)
    check_ndim("centers", centers, 2)
    check_range("centers", centers)
    count, d = np.shape(centers)
    check_int("the number of centers", count, minimum=1, maximum=n)
    return _blobs(key, jnp.asarray(centers, dtype), box, std, n=n, count=count, d=d, dtype=dtype)


@functools.partial(jax.jit, static_argnames=("n", "count", "d", "dtype"))
def _blobs(
    key: jax.Array, means: jax.Array | None, box: Any, std: Any, *, n: int, count: int, d: int, dtype: np.dtype
) -> Dataset:
    k_c, k_eps = jax.random.split(key)
    if means is None:  # static: the caller asked for random centres
        means = jax.random.uniform(k_c, (count, d), dtype, minval=-box, maxval=box)
    label = _class_of_each_example(n, count)
    x = means[label] + std * jax.random.normal(k_eps, (n, d), dtype)
    return Dataset(x=x.astype(dtype), y=label)

"""Key-driven generators: shapes, determinism, geometry, jit/vmap, validation."""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from gdjax.data import (
    Dataset,
    admissions,
    blobs,
    circles,
    linear_regression,
    spirals,
    two_moons,
)

KEY = jax.random.key(0)

# The cores are compiled per size, so the tests reuse a few sizes: N for shapes
# and geometry, BIG for statistics.
N, BIG = 300, 3000

# name, generator with its data-shape arguments bound, expected x shape, y dtype
GENERATORS = [
    ("admissions", functools.partial(admissions, num_examples=N), (N, 2), jnp.float32),
    (
        "linear_regression",
        functools.partial(linear_regression, num_examples=N, weights=[1.0, -2.0, 0.5]),
        (N, 3),
        jnp.float32,
    ),
    ("two_moons", functools.partial(two_moons, num_examples=N), (N, 2), jnp.float32),
    ("circles", functools.partial(circles, num_examples=N), (N, 2), jnp.float32),
    ("spirals", functools.partial(spirals, num_examples=N, num_classes=3), (N, 2), jnp.int32),
    ("blobs", functools.partial(blobs, num_examples=N, centers=4, num_features=3), (N, 3), jnp.int32),
]  # fmt: skip
IDS = [g[0] for g in GENERATORS]


@pytest.mark.parametrize(("name", "make", "shape", "ydtype"), GENERATORS, ids=IDS)
def test_shapes_dtypes_and_determinism(name, make, shape, ydtype):
    data = make(KEY)
    assert isinstance(data, Dataset)
    assert data.x.shape == shape and data.x.dtype == jnp.float32
    assert data.y.shape == (shape[0],) and data.y.dtype == ydtype
    assert bool(jnp.all(jnp.isfinite(data.x)))
    again = make(jax.random.key(0))
    np.testing.assert_array_equal(again.x, data.x)
    np.testing.assert_array_equal(again.y, data.y)
    other = make(jax.random.key(1))
    assert not np.array_equal(other.x, data.x)


def test_vmap_over_keys_inside_jit_with_traced_noise():
    # Inside an outer jit with vmapped keys and a traced noise level; one
    # compiled program serves every noise level.
    def some(key, noise):
        return [
            two_moons(key, N, noise=noise),
            admissions(key, N, label_noise=noise),
        ]

    compiled = jax.jit(jax.vmap(some, in_axes=(0, None)))
    keys = jax.random.split(KEY, 2)
    for noise in (0.0, 0.3):
        for got, want in zip(compiled(keys, noise), some(keys[1], noise)):
            assert got.x.shape == (2, *want.x.shape) and got.y.dtype == want.y.dtype
            np.testing.assert_allclose(got.x[1], want.x, rtol=1e-6, atol=1e-6)
            np.testing.assert_array_equal(got.y[1], want.y)
    assert compiled._cache_size() == 1


def test_new_noise_or_key_does_not_recompile():
    from gdjax.data import _generators

    before = _generators._circles._cache_size()
    for seed, noise in ((5, 0.01), (6, 0.02), (7, 0.03)):
        circles(jax.random.key(seed), N, noise=noise, factor=0.4)
    assert _generators._circles._cache_size() - before <= 1


def test_float64_when_asked():
    with jax.enable_x64(True):
        assert two_moons(KEY, N, dtype=jnp.float64).x.dtype == jnp.float64
        data = linear_regression(KEY, N, 1.0, dtype=jnp.float64)
        assert data.x.dtype == jnp.float64 and data.y.dtype == jnp.float64


# ------------------------------------------------------------- admissions


def test_admissions_labels_follow_the_boundary():
    data = admissions(KEY, BIG)
    x, y = np.asarray(data.x, np.float64), np.asarray(data.y)
    assert x.min() >= 0.0 and x.max() <= 10.0
    np.testing.assert_array_equal(y, (2 * x[:, 0] + x[:, 1] - 18 >= 0).astype(np.float32))
    assert abs(y.mean() - 0.35) < 0.04  # the admitted part of [0, 10]^2 is 35%
    assert set(np.unique(y)) == {0.0, 1.0}


def test_admissions_label_noise_flips_that_fraction():
    clean = admissions(KEY, BIG)
    noisy = admissions(KEY, BIG, label_noise=0.2)
    np.testing.assert_array_equal(noisy.x, clean.x)
    flipped = float(jnp.mean(noisy.y != clean.y))
    assert abs(flipped - 0.2) < 0.025
    np.testing.assert_array_equal(admissions(KEY, BIG, label_noise=1.0).y, 1.0 - clean.y)


def test_admissions_custom_range():
    data = admissions(KEY, N, low=5.0, high=6.0)
    assert float(data.x.min()) >= 5.0 and float(data.x.max()) <= 6.0
    # 2 x1 + x2 <= 18 on [5, 6]^2, so only the corner can be admitted.
    assert float(data.y.sum()) == 0.0


# ------------------------------------------------------- linear regression


def test_linear_regression_recovers_the_weights():
    w, b, noise = np.array([1.5, -2.0, 0.5]), 0.7, 0.1
    data = linear_regression(KEY, BIG, w, b, noise=noise)
    design = np.column_stack([np.asarray(data.x, np.float64), np.ones(BIG)])
    coef, *_ = np.linalg.lstsq(design, np.asarray(data.y, np.float64), rcond=None)
    np.testing.assert_allclose(coef, [*w, b], atol=0.01)
    residual = np.asarray(data.y, np.float64) - design @ coef
    assert abs(residual.std() - noise) < 0.01
    assert abs(np.asarray(data.x).std() - 1.0) < 0.05


def test_linear_regression_without_noise_is_exact_and_scalar_weight():
    data = linear_regression(KEY, N, 3.0, -1.0, noise=0.0, x_scale=2.0)
    assert data.x.shape == (N, 1)
    np.testing.assert_allclose(data.y, 3.0 * data.x[:, 0] - 1.0, rtol=1e-5, atol=1e-5)
    assert abs(float(data.x.std()) - 2.0) < 0.3


# ------------------------------------------------------------- geometry


def test_two_moons_points_lie_on_the_arcs():
    data = two_moons(KEY, N, noise=0.0)
    x, y = np.asarray(data.x, np.float64), np.asarray(data.y)
    np.testing.assert_array_equal(y, np.arange(N) % 2)
    upper, lower = x[y == 0], x[y == 1]
    np.testing.assert_allclose(np.hypot(*upper.T), 1.0, rtol=1e-6)
    assert upper[:, 1].min() >= -1e-7
    np.testing.assert_allclose(np.hypot(lower[:, 0] - 1.0, lower[:, 1] - 0.5), 1.0, rtol=1e-6)
    assert lower[:, 1].max() <= 0.5 + 1e-7


def test_two_moons_noise_level():
    clean, noisy = two_moons(KEY, BIG, noise=0.0), two_moons(KEY, BIG, noise=0.1)
    assert abs(float(jnp.std(noisy.x - clean.x)) - 0.1) < 0.005


def test_circles_radii_and_noise():
    data = circles(KEY, N, noise=0.0, factor=0.3)
    radius = np.hypot(*np.asarray(data.x, np.float64).T)
    np.testing.assert_allclose(radius[np.asarray(data.y) == 0], 1.0, rtol=1e-6)
    np.testing.assert_allclose(radius[np.asarray(data.y) == 1], 0.3, rtol=1e-6)
    noisy = circles(KEY, BIG, noise=0.05)
    assert abs(float(jnp.std(noisy.x - circles(KEY, BIG, noise=0.0).x)) - 0.05) < 0.003


def test_spiral_arms_follow_their_angle():
    turns, k = 1.5, 3
    data = spirals(KEY, N, num_classes=k, turns=turns, noise=0.0)
    x, y = np.asarray(data.x, np.float64), np.asarray(data.y)
    assert np.bincount(y).tolist() == [100, 100, 100]
    r = np.hypot(*x.T)
    assert r.max() <= 1.0 + 1e-6
    angle = np.arctan2(x[:, 1], x[:, 0])
    expected = 2 * np.pi * (turns * r + y / k)
    wrapped = np.angle(np.exp(1j * (angle - expected)))  # difference modulo 2 pi
    np.testing.assert_allclose(wrapped[r > 1e-3], 0.0, atol=1e-4)


def test_blobs_with_given_centres():
    centers = np.array([[0.0, 0.0], [5.0, 5.0], [-5.0, 5.0]])
    exact = blobs(KEY, N, centers=centers, std=0.0)
    np.testing.assert_array_equal(exact.y, np.arange(N) % 3)
    np.testing.assert_array_equal(exact.x, centers[np.arange(N) % 3])
    data = blobs(KEY, BIG, centers=centers, std=0.5)
    x, y = np.asarray(data.x, np.float64), np.asarray(data.y)
    for c in range(3):
        np.testing.assert_allclose(x[y == c].mean(axis=0), centers[c], atol=0.05)
        assert abs((x[y == c] - centers[c]).std() - 0.5) < 0.03


def test_blobs_random_centres_lie_in_the_box():
    data = blobs(KEY, N, centers=4, std=0.0, num_features=3, box=2.0)
    assert data.x.shape == (N, 3)
    centres = np.asarray(data.x[:4])
    assert np.abs(centres).max() <= 2.0
    np.testing.assert_array_equal(data.x[4:8], centres)
    assert np.unique(np.asarray(data.x), axis=0).shape == (4, 3)


# ------------------------------------------------------------- validation


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: admissions(KEY, 0), "num_examples must be >= 1"),
        (lambda: admissions(KEY, 10, label_noise=1.5), "label_noise must be <= 1.0"),
        (lambda: admissions(KEY, 10, low=3.0, high=3.0), "high must be > low"),
        (lambda: linear_regression(KEY, 10, [[1.0]]), "weights must be 0-D or 1-D"),
        (lambda: linear_regression(KEY, 10, [1.0, np.nan]), "weights must be finite"),
        (lambda: linear_regression(KEY, 10, 1.0, noise=-0.1), "noise must be >= 0.0"),
        (lambda: linear_regression(KEY, 10, 1.0, x_scale=0.0), "x_scale must be > 0.0"),
        (lambda: two_moons(KEY, 1), "num_examples must be >= 2"),
        (lambda: two_moons(KEY, 10.0), "num_examples must be an integer"),
        (lambda: circles(KEY, 10, factor=1.0), "factor must be < 1.0"),
        (lambda: spirals(KEY, 10, num_classes=1), "num_classes must be >= 2"),
        (lambda: spirals(KEY, 10, turns=0.0), "turns must be > 0.0"),
        (lambda: blobs(KEY, 10, centers=np.zeros(3)), "centers must be 2-D"),
        (lambda: blobs(KEY, 2, centers=3), "centers must be <= 2"),
        (lambda: blobs(KEY, 10, std=-1.0), "std must be >= 0.0"),
        (lambda: blobs(KEY, 10, dtype=jnp.int32), "dtype must be a floating dtype"),
    ],
)
def test_bad_arguments(call, message):
    with pytest.raises(ValueError, match=message):
        call()

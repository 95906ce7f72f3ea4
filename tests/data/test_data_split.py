"""Train/test splits and the training-only standardiser."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gdjax.data import (
    Split,
    Standardizer,
    fit_standardizer,
    split_sizes,
    train_test_split,
    train_test_split_indices,
)


def test_split_sizes():
    assert split_sizes(303) == (242, 61)
    assert split_sizes(303, 0.2) == (242, 61)
    assert split_sizes(10, 0.3) == (7, 3)  # 0.3 * 10 is 3.0000000000000004
    assert split_sizes(10, 0.25) == (7, 3)  # rounded up, as scikit-learn
    assert split_sizes(2, 0.5) == (1, 1)


@pytest.mark.parametrize(
    ("n", "fraction", "message"),
    [
        (1, 0.2, "num_examples must be >= 2"),
        (10, 0.0, "test_fraction must be > 0.0"),
        (10, 1.0, "test_fraction must be < 1.0"),
        (10, 0.95, "both the training and the test part must be non-empty"),
        (10, float("nan"), "test_fraction must be finite"),
    ],
)
def test_split_sizes_rejects_bad_input(n, fraction, message):
    with pytest.raises(ValueError, match=message):
        split_sizes(n, fraction)


def test_split_indices_partition_and_determinism():
    split = train_test_split_indices(jax.random.key(0), 303)
    assert split.train.shape == (242,) and split.test.shape == (61,)
    assert split.train.dtype == jnp.int32
    assert sorted(np.concatenate([split.train, split.test]).tolist()) == list(range(303))
    again = train_test_split_indices(0, 303)  # an int is a seed
    np.testing.assert_array_equal(split.test, again.test)
    other = train_test_split_indices(1, 303)
    assert not np.array_equal(split.test, other.test)


def test_split_indices_unshuffled_takes_the_last_rows():
    split = train_test_split_indices(None, 5, test_fraction=0.4, shuffle=False)
    np.testing.assert_array_equal(split.train, [0, 1, 2])
    np.testing.assert_array_equal(split.test, [3, 4])


def test_split_indices_vmaps_over_keys():
    keys = jax.random.split(jax.random.key(0), 4)
    tests = jax.vmap(lambda k: train_test_split_indices(k, 12, test_fraction=0.25).test)(keys)
    assert tests.shape == (4, 3)
    np.testing.assert_array_equal(tests[2], train_test_split_indices(keys[2], 12, test_fraction=0.25).test)


def test_split_pytree_keeps_rows_aligned():
    x = np.arange(20.0).reshape(10, 2)
    y = np.arange(10.0) * 10
    split = train_test_split(jax.random.key(3), {"x": x, "y": y}, test_fraction=0.3)
    assert isinstance(split, Split)
    assert split.train["x"].shape == (7, 2) and split.test["y"].shape == (3,)
    for part in split:
        np.testing.assert_array_equal(part["x"][:, 0] * 5, part["y"])
    (_, _), (x_test, _) = train_test_split(3, (x, y), test_fraction=0.3)
    np.testing.assert_array_equal(x_test, split.test["x"])


def test_split_rejects_ragged_data():
    with pytest.raises(ValueError, match="same number of rows; got \\[3, 4\\]"):
        train_test_split(0, (np.ones(3), np.ones(4)))
    with pytest.raises(ValueError, match="at least one axis"):
        train_test_split(0, (np.ones(3), 1.0))
    with pytest.raises(ValueError, match="key must be a PRNG key or an integer seed"):
        train_test_split(True, np.ones(3))


# ------------------------------------------------------------ standardiser


def test_standardizer_uses_training_statistics_only():
    x_train = np.array([[1.0, 10.0], [3.0, 10.0], [5.0, 40.0], [7.0, 40.0]], dtype=np.float32)
    x_test = np.array([[100.0, -50.0]], dtype=np.float32)
    stats = fit_standardizer(x_train)
    np.testing.assert_allclose(stats.mean, [4.0, 25.0])
    np.testing.assert_allclose(stats.scale, [np.sqrt(5.0), 15.0])  # population std
    z = stats.apply(x_train)
    np.testing.assert_allclose(z.mean(axis=0), 0.0, atol=1e-6)
    np.testing.assert_allclose(z.std(axis=0), 1.0, rtol=1e-6)
    # The test row is mapped with the *training* statistics, whatever it holds.
    np.testing.assert_allclose(stats.apply(x_test), [[96.0 / np.sqrt(5.0), -5.0]], rtol=1e-6)
    np.testing.assert_allclose(stats.invert(stats.apply(x_test)), x_test, rtol=1e-6)


def test_constant_column_maps_to_zero_not_nan():
    x = np.column_stack([np.full(303, 0.1, np.float32), np.arange(303, dtype=np.float32)])
    stats = fit_standardizer(x)
    assert float(stats.scale[0]) == 1.0
    np.testing.assert_array_equal(stats.apply(x)[:, 0], 0.0)


def test_standardizer_is_accurate_for_large_offsets():
    x = 1e4 + np.array([[0.0], [1.0], [2.0], [3.0]], dtype=np.float32)
    stats = fit_standardizer(x)
    np.testing.assert_allclose(stats.scale, [np.sqrt(1.25)], rtol=1e-6)


def test_standardizer_selected_columns_only():
    x = np.array([[1.0, 0.0], [3.0, 1.0]], dtype=np.float32)
    stats = fit_standardizer(x, columns=[0])
    np.testing.assert_allclose(stats.mean, [2.0, 0.0])
    np.testing.assert_allclose(stats.scale, [1.0, 1.0])
    np.testing.assert_allclose(stats.apply(x), [[-1.0, 0.0], [1.0, 1.0]])


def test_standardizer_dtypes_and_pytree():
    stats = fit_standardizer(np.array([[1, 2], [3, 4]]))
    assert stats.mean.dtype == jnp.float32
    assert isinstance(jax.tree.map(lambda a: a, stats), Standardizer)
    np.testing.assert_allclose(jax.jit(lambda s, v: s.apply(v))(stats, np.array([[2.0, 3.0]])), [[0.0, 0.0]])
    with jax.enable_x64(True):
        s64 = fit_standardizer(np.array([[1.0], [2.0]]), dtype=jnp.float64)
        assert s64.mean.dtype == jnp.float64
        assert s64.apply(np.array([[1.5]])).dtype == jnp.float64


def test_standardizer_rejects_bad_input():
    with pytest.raises(ValueError, match="x must be finite"):
        fit_standardizer(np.array([[1.0], [np.nan]]))
    with pytest.raises(ValueError, match="x must be 1-D or 2-D"):
        fit_standardizer(np.ones((2, 2, 2)))
    with pytest.raises(ValueError, match="columns entry must be <= 1"):
        fit_standardizer(np.ones((2, 2)), columns=[2])


@settings(max_examples=20, deadline=None)
@given(
    data=st.lists(st.floats(-1e3, 1e3), min_size=4, max_size=30).filter(lambda v: np.ptp(v) > 1e-2),
    offset=st.floats(-1e3, 1e3),
)
def test_standardizer_matches_numpy(data, offset):
    x = np.asarray(data, dtype=np.float64)[:, None] + offset
    stats = fit_standardizer(x.astype(np.float32))
    np.testing.assert_allclose(stats.mean, [x.mean()], rtol=1e-5, atol=1e-3)
    np.testing.assert_allclose(stats.scale, [x.std()], rtol=1e-3, atol=1e-4)

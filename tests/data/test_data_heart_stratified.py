"""The stratified train/validation/test split of the heart data."""

import jax
import numpy as np
import pytest

from gdjax.data import HeartStratifiedSplit, load_heart, load_heart_stratified_split, stratified_counts


@pytest.fixture(scope="module")
def heart():
    return load_heart()


@pytest.fixture(scope="module")
def split():
    return load_heart_stratified_split(0)


def test_sizes_partition_and_rows(split, heart):
    assert isinstance(split, HeartStratifiedSplit)
    assert split.x_train.shape == (181, 29) and split.x_val.shape == (61, 29) and split.x_test.shape == (61, 29)
    rows = np.concatenate([split.train_index, split.val_index, split.test_index])
    assert sorted(rows.tolist()) == list(range(303))  # every row in exactly one part
    for x, y, index in (
        (split.x_train, split.y_train, split.train_index),
        (split.x_val, split.y_val, split.val_index),
        (split.x_test, split.y_test, split.test_index),
    ):
        np.testing.assert_array_equal(y, heart.y[index])
        raw = np.asarray(heart.x[index])
        np.testing.assert_array_equal(np.asarray(x)[:, 6:], raw[:, 6:])  # one-hot columns untouched


def test_every_part_keeps_the_class_shares(split):
    # 83 of 303 patients have heart disease: 17 of 61 in the validation and test parts, 49 of 181 in training.
    assert float(split.y_test.sum()) == 17 and float(split.y_val.sum()) == 17 and float(split.y_train.sum()) == 49
    # So "no disease" for everyone scores 44/61 on every test split: the majority baseline.
    for seed in range(5):
        other = load_heart_stratified_split(seed)
        assert 1 - float(other.y_test.mean()) == pytest.approx(44 / 61)


def test_seeded_and_different_across_seeds(split):
    again = load_heart_stratified_split(jax.random.key(0))
    np.testing.assert_array_equal(again.test_index, split.test_index)
    np.testing.assert_array_equal(again.val_index, split.val_index)
    np.testing.assert_array_equal(again.x_test, split.x_test)
    tests = {tuple(load_heart_stratified_split(seed).test_index.tolist()) for seed in range(6)}
    assert len(tests) == 6


def test_standardised_on_training_rows_only(split, heart):
    raw_train = np.asarray(heart.x[split.train_index], dtype=np.float64)
    mean, std = raw_train[:, :6].mean(axis=0), raw_train[:, :6].std(axis=0)
    np.testing.assert_allclose(split.standardizer.mean[:6], mean, rtol=1e-5)
    np.testing.assert_allclose(split.standardizer.scale[:6], std, rtol=1e-5)
    raw_val = np.asarray(heart.x[split.val_index], dtype=np.float64)
    np.testing.assert_allclose(split.x_val[:, :6], (raw_val[:, :6] - mean) / std, rtol=1e-4, atol=1e-5)
    assert np.abs(np.asarray(split.x_test[:, :6]).mean(axis=0)).max() > 0.01  # not centred by its own mean


def test_other_fractions_and_refusals():
    split = load_heart_stratified_split(3, validation_fraction=0.1, test_fraction=0.3)
    assert (split.x_train.shape[0], split.x_val.shape[0], split.x_test.shape[0]) == (181, 31, 91)
    assert float(split.y_test.sum()) == 25 and float(split.y_val.sum()) == 8  # 91 * 83/303 = 24.9; 31 * 83/303 = 8.5
    with pytest.raises(ValueError, match="take 152 \\+ 152 of 303 rows, leaving 0 to train on"):
        load_heart_stratified_split(0, validation_fraction=0.5, test_fraction=0.5)
    with pytest.raises(ValueError, match="validation_fraction"):
        load_heart_stratified_split(0, validation_fraction=1.0)


def test_stratified_counts_largest_remainder():
    assert stratified_counts([220, 83], 61).tolist() == [44, 17]  # 44.29 and 16.71: the spare row goes to 16.71
    assert stratified_counts([5, 5], 3).tolist() == [2, 1]  # a tie goes to the lower class
    assert stratified_counts([1, 1, 1], 3).tolist() == [1, 1, 1]
    assert stratified_counts([10, 0], 4).tolist() == [4, 0]
    with pytest.raises(ValueError, match="part_size must be in"):
        stratified_counts([2, 2], 5)

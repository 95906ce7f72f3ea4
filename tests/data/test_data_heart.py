"""The bundled heart-disease data: the 29-input encoding, the split, provenance."""

import collections
import fnmatch
import tomllib
from importlib import resources
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from gdjax.data import (
    CLEVELAND_COLUMNS,
    HEART_CATEGORICAL,
    HEART_NUMERIC,
    HeartSplit,
    load_cleveland_table,
    load_csv,
    load_heart,
    load_heart_split,
    load_heart_table,
)

EXPECTED_NAMES = (
    "age", "trestbps", "chol", "thalach", "oldpeak", "slope",
    "sex=0", "sex=1",
    "cp=0", "cp=1", "cp=2", "cp=3", "cp=4",
    "fbs=0", "fbs=1",
    "restecg=0", "restecg=1", "restecg=2",
    "exang=0", "exang=1",
    "ca=0", "ca=1", "ca=2", "ca=3",
    "thal=1", "thal=2", "thal=fixed", "thal=normal", "thal=reversible",
)  # fmt: skip


@pytest.fixture(scope="module")
def heart():
    return load_heart()


def test_29_columns_names_and_order(heart):
    assert heart.feature_names == EXPECTED_NAMES
    assert len(heart.feature_names) == 29
    assert heart.x.shape == (303, 29) and heart.x.dtype == jnp.float32
    # A 29-16-1 network has 497 parameters.
    assert 29 * 16 + 16 + 16 + 1 == 497


def test_first_rows_are_encoded_exactly(heart):
    # heart.csv line 2: 63,1,1,145,233,1,2,150,0,2.3,3,0,fixed,0
    row = dict(zip(heart.feature_names, np.asarray(heart.x[0]).tolist()))
    assert [row[c] for c in HEART_NUMERIC] == pytest.approx([63, 145, 233, 150, 2.3, 3])
    ones = sorted(name for name, v in row.items() if "=" in name and v == 1.0)
    assert ones == ["ca=0", "cp=1", "exang=0", "fbs=1", "restecg=2", "sex=1", "thal=fixed"]
    # line 3: 67,1,4,160,286,0,2,108,1,1.5,2,3,normal,1
    row = dict(zip(heart.feature_names, np.asarray(heart.x[1]).tolist()))
    ones = sorted(name for name, v in row.items() if "=" in name and v == 1.0)
    assert ones == ["ca=3", "cp=4", "exang=1", "fbs=0", "restecg=2", "sex=1", "thal=normal"]
    assert float(heart.y[0]) == 0.0 and float(heart.y[1]) == 1.0


def test_one_hot_blocks_and_category_counts(heart):
    x = np.asarray(heart.x)
    names = np.array(heart.feature_names)
    counts = {"sex": 2, "cp": 5, "fbs": 2, "restecg": 3, "exang": 2, "ca": 4, "thal": 5}
    for column in HEART_CATEGORICAL:
        block = x[:, np.char.startswith(names, column + "=")]
        assert block.shape[1] == counts[column]
        np.testing.assert_array_equal(block.sum(axis=1), 1.0)
        assert set(np.unique(block)) == {0.0, 1.0}
    # Column totals match the value counts of the README.
    total = dict(zip(heart.feature_names, x.sum(axis=0)))
    assert total["cp=0"] == 4 and total["thal=1"] == 1 and total["thal=2"] == 1
    assert total["sex=1"] == 205 and total["ca=3"] == 20 and total["thal=normal"] == 168


def test_numeric_columns_and_target_match_the_raw_table(heart):
    table = heart.table
    for j, column in enumerate(HEART_NUMERIC):
        np.testing.assert_allclose(heart.x[:, j], table[column].astype(np.float32))
    np.testing.assert_array_equal(heart.y, table["target"])
    assert heart.y.shape == (303,) and heart.y.dtype == jnp.float32
    assert float(heart.y.sum()) == 83.0  # 27.4% positive


def test_raw_table():
    table = load_heart_table()
    assert tuple(table) == (
        "age", "sex", "cp", "trestbps", "chol", "fbs", "restecg",
        "thalach", "exang", "oldpeak", "slope", "ca", "thal", "target",
    )  # fmt: skip
    assert all(len(v) == 303 for v in table.values())
    assert table["age"].dtype == np.int64 and table["oldpeak"].dtype == np.float64
    assert collections.Counter(table["thal"].tolist()) == {
        "normal": 168, "reversible": 115, "fixed": 18, "1": 1, "2": 1,
    }  # fmt: skip
    assert table["chol"][2] == 229 and table["oldpeak"][3] == 3.5


def test_same_encoding_through_load_csv(heart):
    with resources.as_file(resources.files("gdjax.data") / "heart.csv") as path:
        data = load_csv(path, target="target", binary=True, categorical=HEART_CATEGORICAL,
                        features=HEART_NUMERIC + HEART_CATEGORICAL)  # fmt: skip
    assert data.feature_names == EXPECTED_NAMES
    np.testing.assert_array_equal(data.x, heart.x)
    np.testing.assert_array_equal(data.y, heart.y)


def test_float64_when_asked():
    with jax.enable_x64(True):
        data = load_heart(dtype=jnp.float64)
        assert data.x.dtype == jnp.float64 and data.y.dtype == jnp.float64
        assert float(data.x[0, 4]) == 2.3  # exact in float64


# ------------------------------------------------------------------ split


@pytest.fixture(scope="module")
def split():
    return load_heart_split(0)


def test_split_sizes_and_partition(split, heart):
    assert isinstance(split, HeartSplit)
    assert split.x_train.shape == (242, 29) and split.x_test.shape == (61, 29)
    assert split.y_train.shape == (242,) and split.y_test.shape == (61,)
    rows = np.concatenate([split.train_index, split.test_index])
    assert sorted(rows.tolist()) == list(range(303))
    np.testing.assert_array_equal(split.y_train, heart.y[split.train_index])
    np.testing.assert_array_equal(split.y_test, heart.y[split.test_index])
    assert split.feature_names == EXPECTED_NAMES


def test_split_is_seeded(split):
    again = load_heart_split(jax.random.key(0))
    np.testing.assert_array_equal(again.test_index, split.test_index)
    np.testing.assert_array_equal(again.x_test, split.x_test)
    other = load_heart_split(1)
    assert not np.array_equal(other.test_index, split.test_index)


def test_standardisation_uses_training_rows_only(split, heart):
    raw_train = np.asarray(heart.x[split.train_index], dtype=np.float64)
    raw_test = np.asarray(heart.x[split.test_index], dtype=np.float64)
    mean, std = raw_train[:, :6].mean(axis=0), raw_train[:, :6].std(axis=0)
    np.testing.assert_allclose(split.standardizer.mean[:6], mean, rtol=1e-5)
    np.testing.assert_allclose(split.standardizer.scale[:6], std, rtol=1e-5)
    np.testing.assert_allclose(split.x_train[:, :6].mean(axis=0), 0.0, atol=1e-5)
    np.testing.assert_allclose(split.x_train[:, :6].std(axis=0), 1.0, rtol=1e-5)
    np.testing.assert_allclose(split.x_test[:, :6], (raw_test[:, :6] - mean) / std, rtol=1e-4, atol=1e-5)
    # Test statistics would differ: the test part is not centred by its own mean.
    assert np.abs(np.asarray(split.x_test[:, :6]).mean(axis=0)).max() > 0.01
    # One-hot columns keep their 0/1 values.
    np.testing.assert_array_equal(split.x_train[:, 6:], raw_train[:, 6:])
    np.testing.assert_array_equal(split.x_test[:, 6:], raw_test[:, 6:])


def test_standardize_all_and_none(heart):
    every = load_heart_split(0, standardize="all")
    raw_train = np.asarray(heart.x[every.train_index], dtype=np.float64)
    np.testing.assert_allclose(every.x_train.mean(axis=0), 0.0, atol=1e-5)
    std = raw_train.std(axis=0)
    np.testing.assert_allclose(every.standardizer.scale, np.where(std > 0, std, 1.0), rtol=1e-5)
    none = load_heart_split(0, standardize=False)
    np.testing.assert_array_equal(none.x_train, heart.x[none.train_index])
    with pytest.raises(ValueError, match="standardize must be one of 'numeric', 'all'; got 'yes'"):
        load_heart_split(0, standardize="yes")


def test_other_test_fraction():
    split = load_heart_split(0, test_fraction=0.1)
    assert split.x_train.shape[0] == 272 and split.x_test.shape[0] == 31


# -------------------------------------------------------------- provenance


def test_cleveland_file_as_described():
    table = load_cleveland_table()
    assert tuple(table) == CLEVELAND_COLUMNS
    assert all(len(v) == 303 for v in table.values())
    assert collections.Counter(table["num"].tolist()) == {0: 164, 1: 55, 2: 36, 3: 35, 4: 13}
    assert (table["ca"] == "?").sum() == 4 and (table["thal"] == "?").sum() == 2


def test_heart_csv_is_the_complete_uci_rows_plus_six_recoded_duplicates():
    heart, uci = load_heart_table(), load_cleveland_table()
    thal = {"3.0": "normal", "6.0": "fixed", "7.0": "reversible"}
    numeric = CLEVELAND_COLUMNS[:11]
    complete = (uci["ca"] != "?") & (uci["thal"] != "?")
    assert complete.sum() == 297
    uci_rows = collections.Counter(
        tuple(float(uci[c][i]) for c in numeric) + (float(uci["ca"][i]), thal[uci["thal"][i]], int(uci["num"][i] >= 2))
        for i in np.flatnonzero(complete)
    )
    kept = [i for i in range(303) if not 247 <= i <= 252]
    heart_rows = collections.Counter(
        tuple(float(heart[c][i]) for c in numeric)
        + (float(heart["ca"][i]), str(heart["thal"][i]), int(heart["target"][i]))
        for i in kept
    )
    assert heart_rows == uci_rows
    # Rows 247-252 repeat the patients of rows 241-246 (same age, blood pressure, cholesterol).
    for c in ("age", "trestbps", "chol", "thalach", "oldpeak"):
        np.testing.assert_array_equal(heart[c][247:253], heart[c][241:247])


def test_data_files_are_package_data():
    package = resources.files("gdjax.data")
    for name in ("heart.csv", "processed.cleveland.data", "HEART_README.md"):
        assert package.joinpath(name).is_file()
    assert "CC BY 4.0" in package.joinpath("HEART_README.md").read_text(encoding="utf-8")
    # Every data file the loaders read must be matched by a package-data pattern,
    # or it would be missing from the wheel.
    pyproject = Path(__file__).resolve().parents[2] / "pyproject.toml"
    patterns = tomllib.loads(pyproject.read_text())["tool"]["setuptools"]["package-data"]["gdjax.data"]
    for name in ("heart.csv", "processed.cleveland.data", "HEART_README.md"):
        assert any(fnmatch.fnmatch(name, p) for p in patterns), (name, patterns)

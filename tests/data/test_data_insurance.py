"""The course's insurance table, bundled as package data."""

import hashlib
from importlib import resources

import jax.numpy as jnp
import numpy as np
import pytest

import gdjax


def test_the_table_cell_for_cell():
    table = gdjax.data.load_insurance()
    assert table.x.shape == (11, 2) and table.y.shape == (11,)
    assert table.x.dtype == jnp.float32 and table.y.dtype == jnp.float32
    ages = [21, 48, 28, 19, 56, 65, 32, 24, 43, 22, 53]
    cars = [0, 1, 0, 0, 1, 1, 1, 0, 1, 0, 1]
    insured = [0, 1, 0, 0, 1, 1, 0, 1, 0, 0, 1]
    np.testing.assert_array_equal(np.asarray(table.x), np.stack([ages, cars], axis=1))
    np.testing.assert_array_equal(np.asarray(table.y), insured)
    assert int(table.y.sum()) == 5 and (float(table.x[:, 0].min()), float(table.x[:, 0].max())) == (19.0, 65.0)
    assert gdjax.data.INSURANCE_COLUMNS == ("age", "have_car", "have_insurance")


def test_dtype_and_refusals():
    assert gdjax.data.load_insurance(dtype=jnp.float16).x.dtype == jnp.float16
    with pytest.raises(ValueError, match="dtype must be a floating dtype"):
        gdjax.data.load_insurance(dtype=jnp.int32)


def test_the_file_is_the_one_its_readme_describes():
    files = resources.files("gdjax.data")
    data = files.joinpath("insurance.csv").read_bytes()
    readme = files.joinpath("INSURANCE_README.md").read_text(encoding="utf-8")
    assert f"{len(data)} bytes, sha256 {hashlib.sha256(data).hexdigest()}" in readme
    assert "do not test against them" in readme  # the slides' intermediate numbers are illustrative
    assert data.decode().splitlines()[0] == "age,have_car,have_insurance"

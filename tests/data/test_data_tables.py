"""The course's small tables."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from gdjax.data import COURSE_LINES, Dataset, course_line_tables, line_table, truth_table


def test_course_line_tables():
    tables = course_line_tables()
    assert list(tables) == ["y = 2x", "y = 3x", "y = 0.5x - 2.5", "y = 3x + 2"]
    expected = {
        "y = 2x": [4, 6, 8, 10, 12],
        "y = 3x": [6, 9, 12, 15, 18],
        "y = 0.5x - 2.5": [-1.5, -1.0, -0.5, 0.0, 0.5],
        "y = 3x + 2": [8, 11, 14, 17, 20],
    }
    for name, table in tables.items():
        assert isinstance(table, Dataset)
        assert table.x.shape == (5, 1) and table.y.shape == (5,)
        assert table.x.dtype == jnp.float32 and table.y.dtype == jnp.float32
        np.testing.assert_array_equal(table.x[:, 0], [2, 3, 4, 5, 6])
        np.testing.assert_array_equal(table.y, expected[name])
    assert COURSE_LINES["y = 0.5x - 2.5"] == (0.5, -2.5)


def test_line_table_least_squares_recovers_the_line():
    x, y = line_table(3.0, 2.0)
    design = np.column_stack([np.asarray(x[:, 0], np.float64), np.ones(5)])
    coef, *_ = np.linalg.lstsq(design, np.asarray(y, np.float64), rcond=None)
    np.testing.assert_allclose(coef, [3.0, 2.0], atol=1e-9)


def test_line_table_custom_x_and_dtype():
    table = line_table(-1.0, 1.0, x=[0.0, 0.5])
    np.testing.assert_array_equal(table.y, [1.0, 0.5])
    with jax.enable_x64(True):
        assert line_table(2.0, dtype=jnp.float64).y.dtype == jnp.float64
    with pytest.raises(ValueError, match="x must be a non-empty sequence"):
        line_table(1.0, x=[])
    with pytest.raises(ValueError, match="slope must be finite"):
        line_table(float("inf"))
    with pytest.raises(ValueError, match="dtype must be a floating dtype"):
        line_table(1.0, dtype=jnp.int32)


@pytest.mark.parametrize(
    ("gate", "outputs"),
    [
        ("and", [0, 0, 0, 1]),
        ("or", [0, 1, 1, 1]),
        ("xor", [0, 1, 1, 0]),
        ("nand", [1, 1, 1, 0]),
        ("nor", [1, 0, 0, 0]),
        ("xnor", [1, 0, 0, 1]),
    ],
)
def test_two_input_truth_tables(gate, outputs):
    table = truth_table(gate)
    np.testing.assert_array_equal(table.x, [[0, 0], [0, 1], [1, 0], [1, 1]])
    np.testing.assert_array_equal(table.y, outputs)
    # Each row's output is the gate applied to its inputs.
    a, b = np.asarray(table.x, bool).T
    op = {"and": a & b, "or": a | b, "xor": a ^ b, "nand": ~(a & b), "nor": ~(a | b), "xnor": ~(a ^ b)}[gate]
    np.testing.assert_array_equal(table.y, op.astype(np.float32))


def test_not_table_and_case():
    table = truth_table("NOT")
    np.testing.assert_array_equal(table.x, [[0], [1]])
    np.testing.assert_array_equal(table.y, [1, 0])
    assert table.y.dtype == jnp.float32


def test_xor_is_not_linearly_separable_but_and_is():
    # The least-squares linear fit reproduces AND's labels after thresholding,
    # but predicts 0.5 for every XOR row.
    design = np.column_stack([np.asarray(truth_table("xor").x), np.ones(4)])
    for gate, separable in (("and", True), ("xor", False)):
        y = np.asarray(truth_table(gate).y, np.float64)
        coef, *_ = np.linalg.lstsq(design, y, rcond=None)
        prediction = design @ coef
        assert np.array_equal(prediction > 0.5, y > 0.5) == separable
    np.testing.assert_allclose(design @ np.linalg.lstsq(design, np.asarray(truth_table("xor").y), rcond=None)[0], 0.5)


def test_unknown_gate():
    with pytest.raises(ValueError, match="gate must be one of 'and', 'or'.*got 'implies'"):
        truth_table("implies")
    with pytest.raises(ValueError, match="gate must be one of"):
        truth_table(1)

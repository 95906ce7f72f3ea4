"""load_csv / read_csv_table: encoding, and a clear error for every bad input."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gdjax.data import MISSING_TOKENS, CSVData, load_csv, read_csv_table


def write(tmp_path, text, name="data.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


GOOD = """age,colour,size,label
30,red,1.0,1
40,blue,2,0
50,green,10,1
60,red,9,0
"""


# ------------------------------------------------------------- encoding


def test_numeric_and_one_hot_in_place(tmp_path):
    data = load_csv(write(tmp_path, GOOD), target="label", categorical=["colour", "size"], binary=True)
    assert isinstance(data, CSVData)
    # Strings sort as strings; numbers numerically ("10" after "9"), "1.0" is "1".
    assert data.feature_names == (
        "age", "colour=blue", "colour=green", "colour=red", "size=1", "size=2", "size=9", "size=10",
    )  # fmt: skip
    assert data.categories == {"colour": ("blue", "green", "red"), "size": ("1", "2", "9", "10")}
    np.testing.assert_array_equal(
        data.x,
        [
            [30, 0, 0, 1, 1, 0, 0, 0],
            [40, 1, 0, 0, 0, 1, 0, 0],
            [50, 0, 1, 0, 0, 0, 0, 1],
            [60, 0, 0, 1, 0, 0, 1, 0],
        ],
    )
    np.testing.assert_array_equal(data.y, [1.0, 0.0, 1.0, 0.0])
    assert data.x.dtype == jnp.float32 and data.y.dtype == jnp.float32
    assert data.y.shape == (4,) and data.target == "label"


def test_regression_target_and_feature_subset_in_given_order(tmp_path):
    text = "a,b,junk,y\n1,2,??,0.5\n3,4,,1.5\n"
    data = load_csv(write(tmp_path, text), target="y", features=["b", "a"])
    assert data.feature_names == ("b", "a")
    np.testing.assert_array_equal(data.x, [[2, 1], [4, 3]])
    np.testing.assert_allclose(data.y, [0.5, 1.5])  # the unread column's gaps do no harm


def test_positive_label_for_string_targets(tmp_path):
    text = "x,buys\n1,yes\n2,no\n3,yes\n"
    data = load_csv(write(tmp_path, text), target="buys", positive="yes")
    np.testing.assert_array_equal(data.y, [1.0, 0.0, 1.0])
    assert data.y.dtype == jnp.float32


def test_categorical_target_gives_class_indices(tmp_path):
    text = "x,species\n1,setosa\n2,virginica\n3,versicolor\n4,setosa\n"
    data = load_csv(write(tmp_path, text), target="species", categorical=["species"])
    assert data.y.dtype == jnp.int32
    np.testing.assert_array_equal(data.y, [0, 2, 1, 0])
    assert data.categories["species"] == ("setosa", "versicolor", "virginica")
    assert data.feature_names == ("x",)
    binary = load_csv(write(tmp_path, "x,t\n1,b\n2,a\n"), target="t", categorical=["t"], binary=True)
    np.testing.assert_array_equal(binary.y, [1.0, 0.0])
    assert binary.y.dtype == jnp.float32


def test_headerless_file_with_names_and_other_delimiter(tmp_path):
    path = write(tmp_path, "1;2.5;0\n3;4.5;1\n")
    data = load_csv(path, target="t", names=["a", "b", "t"], delimiter=";", binary=True)
    np.testing.assert_array_equal(data.x, [[1, 2.5], [3, 4.5]])
    np.testing.assert_array_equal(data.y, [0.0, 1.0])


def test_bom_whitespace_quotes_and_blank_lines(tmp_path):
    text = '\ufeffname , v ,y\n"Smith, J" , 1 ,2\n\n  \n"Doe" ,3, 4\n'
    data = load_csv(write(tmp_path, text), target="y", categorical=["name"])
    assert data.feature_names == ("name=Doe", "name=Smith, J", "v")
    np.testing.assert_array_equal(data.x, [[0, 1, 1], [1, 0, 3]])
    np.testing.assert_array_equal(data.y, [2.0, 4.0])


def test_float64_when_asked(tmp_path):
    with jax.enable_x64(True):
        data = load_csv(write(tmp_path, "a,y\n0.1,1\n"), target="y", dtype=jnp.float64)
        assert data.x.dtype == jnp.float64 and float(data.x[0, 0]) == 0.1


def test_read_csv_table_keeps_missing_values_visible(tmp_path):
    table = read_csv_table(write(tmp_path, "a,b,c,d\n1,2.5,x,?\n2,3,y,4\n"))
    assert list(table) == ["a", "b", "c", "d"]
    assert table["a"].dtype == np.int64 and table["b"].dtype == np.float64
    np.testing.assert_array_equal(table["c"], ["x", "y"])
    np.testing.assert_array_equal(table["d"], ["?", "4"])  # not NaN


@settings(max_examples=20, deadline=None)
@given(
    values=st.lists(
        st.tuples(st.floats(-1e6, 1e6, allow_nan=False), st.sampled_from(["lo", "mid", "hi", "7"])),
        min_size=1,
        max_size=12,
    )
)
def test_round_trip(tmp_path_factory, values):
    path = tmp_path_factory.mktemp("rt") / "t.csv"
    path.write_text("v,c,y\n" + "".join(f"{v!r},{c},{v!r}\n" for v, c in values))
    with jax.enable_x64(True):
        data = load_csv(path, target="y", categorical=["c"], dtype=jnp.float64)
    np.testing.assert_array_equal(data.x[:, 0], [v for v, _ in values])
    np.testing.assert_array_equal(data.y, [v for v, _ in values])
    cats = data.categories["c"]
    assert list(cats) == sorted({c for _, c in values})
    onehot = np.asarray(data.x[:, 1:])
    np.testing.assert_array_equal(onehot.sum(axis=1), 1.0)
    assert [cats[k] for k in onehot.argmax(axis=1)] == [c for _, c in values]


# ------------------------------------------------------------- bad input


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="CSV file not found: .*nope.csv"):
        load_csv(tmp_path / "nope.csv", target="y")
    with pytest.raises(ValueError, match="is not a file"):
        load_csv(tmp_path, target="y")
    with pytest.raises(ValueError, match="path must be a file path"):
        load_csv(None, target="y")


@pytest.mark.parametrize("text", ["", "\n\n", "   \n"])
def test_empty_file(tmp_path, text):
    with pytest.raises(ValueError, match="is empty: expected a header line"):
        load_csv(write(tmp_path, text), target="y")


def test_header_only(tmp_path):
    with pytest.raises(ValueError, match="has no data rows"):
        load_csv(write(tmp_path, "a,y\n"), target="y")


def test_missing_target_column(tmp_path):
    with pytest.raises(ValueError, match="target: column 'label2' is not in .*; its columns are 'age', 'colour'"):
        load_csv(write(tmp_path, GOOD), target="label2")


def test_missing_listed_columns(tmp_path):
    path = write(tmp_path, GOOD)
    with pytest.raises(ValueError, match="categorical: column 'shape' is not in"):
        load_csv(path, target="label", categorical=["colour", "shape"])
    with pytest.raises(ValueError, match="features: column 'weight' is not in"):
        load_csv(path, target="label", features=["age", "weight"])


def test_non_numeric_value_names_row_and_column(tmp_path):
    text = "a,b,y\n1,2,0\n3,4,1\n5,six,0\n"
    with pytest.raises(ValueError, match=r"line 4 \(data row 2\), column 'b': 'six' is not a number") as err:
        load_csv(write(tmp_path, text), target="y")
    assert "categorical=[...]" in str(err.value)
    with pytest.raises(ValueError, match="column 'colour': 'red' is not a number"):
        load_csv(write(tmp_path, GOOD), target="label")  # forgot categorical=
    with pytest.raises(ValueError, match=r"line 3 \(data row 1\), column 'y': 'high' is not a number"):
        load_csv(write(tmp_path, "a,y\n1,2\n3,high\n"), target="y")


@pytest.mark.parametrize("token", ["", "?", "NA", "nan", "NaN", "null", "None", "n/a"])
def test_missing_values_are_errors_not_nan(tmp_path, token):
    assert token.lower() in MISSING_TOKENS
    text = f"a,c,y\n1,u,0\n2,{token},1\n"
    with pytest.raises(ValueError, match=r"line 3 \(data row 1\), column 'c': missing value"):
        load_csv(write(tmp_path, text), target="y", categorical=["c"])
    text = f"a,y\n{token},0\n2,1\n"
    with pytest.raises(ValueError, match=r"line 2 \(data row 0\), column 'a': missing value"):
        load_csv(write(tmp_path, text), target="y")
    text = f"a,y\n1,0\n2,{token}\n"
    with pytest.raises(ValueError, match=r"line 3 \(data row 1\), column 'y': missing value"):
        load_csv(write(tmp_path, text), target="y", binary=True)


def test_infinite_values_are_errors(tmp_path):
    with pytest.raises(ValueError, match="column 'a': 'inf' is not finite"):
        load_csv(write(tmp_path, "a,y\ninf,0\n"), target="y")


def test_target_not_binary(tmp_path):
    text = "a,y\n1,0\n2,1\n3,2\n4,1\n"
    with pytest.raises(
        ValueError,
        match=r"column 'y': binary=True needs a target of 0s and 1s; found 3 distinct value\(s\): '0', '1', '2'.*"
        r"The first other value is '2' on line 4 \(data row 2\)",
    ):
        load_csv(write(tmp_path, text), target="y", binary=True)
    assert load_csv(write(tmp_path, text), target="y").y.tolist() == [0.0, 1.0, 2.0, 1.0]  # regression is fine
    with pytest.raises(ValueError, match="binary=True needs a target of 0s and 1s; found 3 distinct"):
        load_csv(write(tmp_path, "a,t\n1,x\n2,y\n3,z\n"), target="t", categorical=["t"], binary=True)


def test_positive_label_must_fit(tmp_path):
    path = write(tmp_path, "a,t\n1,yes\n2,no\n3,maybe\n")
    with pytest.raises(ValueError, match=r"positive='yes' must take 'yes' and at most one other value; found 3"):
        load_csv(path, target="t", positive="yes")
    with pytest.raises(ValueError, match=r"positive='Yes' must take 'Yes'"):
        load_csv(write(tmp_path, "a,t\n1,yes\n2,no\n"), target="t", positive="Yes")


def test_malformed_files(tmp_path):
    with pytest.raises(ValueError, match="line 3: expected 2 fields .*got 3"):
        load_csv(write(tmp_path, "a,y\n1,0\n2,1,5\n"), target="y")
    with pytest.raises(ValueError, match="column name 'a' appears more than once"):
        load_csv(write(tmp_path, "a,a,y\n1,2,0\n"), target="y")
    with pytest.raises(ValueError, match="column 2 of the header has no name"):
        load_csv(write(tmp_path, "a,,y\n1,2,0\n"), target="y")


def test_bad_arguments(tmp_path):
    path = write(tmp_path, GOOD)
    with pytest.raises(ValueError, match="features must not include the target column 'label'"):
        load_csv(path, target="label", features=["age", "label"])
    with pytest.raises(ValueError, match="categorical lists \\['colour'\\], which are not among the features"):
        load_csv(path, target="label", features=["age"], categorical=["colour"])
    with pytest.raises(ValueError, match="categorical must be a sequence of column names, not a string"):
        load_csv(path, target="label", categorical="colour")
    with pytest.raises(ValueError, match="categorical lists a column more than once"):
        load_csv(path, target="label", categorical=["colour", "colour"])
    with pytest.raises(ValueError, match="dtype must be a floating dtype"):
        load_csv(path, target="label", categorical=["colour"], dtype=jnp.int32)
    with pytest.raises(ValueError, match="delimiter must be a single character"):
        load_csv(path, target="label", delimiter=";;")
    with pytest.raises(ValueError, match="target must be a column name"):
        load_csv(path, target=3)
    with pytest.raises(ValueError, match="binary must be a bool"):
        load_csv(path, target="label", categorical=["colour"], binary="yes")


def test_error_messages_name_the_file(tmp_path):
    path = write(tmp_path, "a,y\nx,0\n", name="my_abc.csv")
    with pytest.raises(ValueError, match="my_abc.csv"):
        load_csv(path, target="y")


def test_a_field_over_the_csv_size_limit_names_the_file_and_line(tmp_path):
    import csv

    huge = "9" * (csv.field_size_limit() + 1)
    path = write(tmp_path, f"a,y\n1,0\n2,1\n{huge},0\n4,1\n", name="big.csv")
    for read in (lambda: load_csv(path, target="y"), lambda: read_csv_table(path)):
        with pytest.raises(ValueError, match=r"'.*big\.csv', line 4: a field is longer than .*131072 characters"):
            read()
    # a quoted field with newlines: the line the field starts on is reported
    quoted = write(tmp_path, 'a,y\n1,0\n"x\n' + "z" * (csv.field_size_limit() + 1) + '",1\n', name="quoted.csv")
    with pytest.raises(ValueError, match=r"quoted\.csv', line 3: a field is longer"):
        read_csv_table(quoted)


def test_a_file_that_is_not_utf8_names_the_file_and_line(tmp_path):
    path = tmp_path / "latin1.csv"
    path.write_bytes("name,y\nJos\u00e9,1\nAnn,0\n".encode("latin-1"))
    with pytest.raises(ValueError, match=r"'.*latin1\.csv', line 2: not valid UTF-8 \(byte 0xe9"):
        load_csv(path, target="y", categorical=["name"])
    with pytest.raises(ValueError, match=r"latin1\.csv', line 2: not valid UTF-8"):
        read_csv_table(path)
    # UTF-16 (a byte-order mark UTF-8 cannot start with): line 1
    utf16 = tmp_path / "utf16.csv"
    utf16.write_bytes("a,y\n1,0\n".encode("utf-16"))
    with pytest.raises(ValueError, match=r"utf16\.csv', line 1: not valid UTF-8 \(byte 0xff"):
        read_csv_table(utf16)
    # a UTF-8 byte-order mark is still skipped, and UTF-8 text still reads
    good = tmp_path / "good.csv"
    good.write_bytes("\ufeffname,y\nJos\u00e9,1\nAnn,0\n".encode())
    assert list(read_csv_table(good)["name"]) == ["Jos\u00e9", "Ann"]

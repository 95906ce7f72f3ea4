"""Loading a CSV file into a design matrix, with one-hot encoding, no pandas.

The rules are strict on purpose: bad input is an error that names the file, the
line and the column, and never becomes a silent NaN. Values are read with the
standard library's :mod:`csv` module; fields are stripped of surrounding
whitespace; the tokens in :data:`MISSING_TOKENS` (compared case-insensitively)
count as missing values.
"""

from __future__ import annotations

import codecs
import csv
import io
import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NamedTuple

import jax.numpy as jnp
import numpy as np

from gdjax._dtypes import float_dtype

MISSING_TOKENS = frozenset({"", "?", "na", "n/a", "nan", "null", "none"})
"""Field values (lower-cased) read as a missing value."""


class CSVData(NamedTuple):
    """A design matrix, its target and how the columns were encoded.

    Attributes:
      x: inputs, ``float[n, d]``: numeric features as read, each categorical
        feature expanded in place into one 0/1 column per category.
      y: target, shape ``(n,)``: float values (0/1 for a binary target), or
        int32 class indices for a categorical target.
      feature_names: the ``d`` column names of ``x``; one-hot columns are named
        ``"column=category"``.
      target: the name of the target column.
      categories: for every categorical column (the target included, if it is
        categorical), its categories in the order of the encoding.
    """

    x: Any
    y: Any
    feature_names: tuple[str, ...]
    target: str
    categories: dict[str, tuple[str, ...]]


class _Raw(NamedTuple):
    source: str
    header: tuple[str, ...]
    rows: list[list[str]]
    lines: list[int]  # line number in the file of each data row (1-based)


# ------------------------------------------------------------------ reading


def _read_text(path: str | os.PathLike[str]) -> str:
    """The file's text, decoded as UTF-8 (a byte-order mark skipped); the line of any invalid byte is named."""
    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(f"CSV file not found: {str(p)!r}.")
    if not p.is_file():
        raise ValueError(f"{str(p)!r} is not a file.")
    data = p.read_bytes()
    skipped = len(codecs.BOM_UTF8) if data.startswith(codecs.BOM_UTF8) else 0
    try:
        text = data[skipped:].decode("utf-8")
    except UnicodeDecodeError as error:
        line = _universal_newlines(data[skipped : skipped + error.start]).count(b"\n") + 1
        offset = skipped + error.start
        raise ValueError(
            f"{os.fspath(path)!r}, line {line}: not valid UTF-8 (byte 0x{data[offset]:02x} at byte offset "
            f"{offset} of the file). Save the file as UTF-8 (e.g. iconv -f latin1 -t utf-8 for Latin-1 text)."
        ) from None
    return _universal_newlines(text)  # as text mode reads it: \r\n and \r become \n


def _universal_newlines(text: Any) -> Any:
    newline, cr = ("\n", "\r") if isinstance(text, str) else (b"\n", b"\r")
    return text.replace(cr + newline, newline).replace(cr, newline)


def _parse(text: str, source: str, *, names: Sequence[str] | None, delimiter: str) -> _Raw:
    """Rows of stripped fields; checks the header and that every row has its width."""
    if not isinstance(delimiter, str) or len(delimiter) != 1:
        raise ValueError(f"delimiter must be a single character; got {delimiter!r}.")
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff")), delimiter=delimiter)
    rows: list[list[str]] = []
    lines: list[int] = []
    header: tuple[str, ...] | None = None
    header_line = 0
    if names is not None:
        header = tuple(str(n).strip() for n in names)
    for fields in _records(reader, source):
        if not fields or (all(not f.strip() for f in fields) and len(fields) == 1):
            continue  # blank line
        fields = [f.strip() for f in fields]
        if header is None:
            header, header_line = tuple(fields), reader.line_num
            continue
        rows.append(fields)
        lines.append(reader.line_num)
    if header is None:
        raise ValueError(f"{source} is empty: expected a header line and at least one data row.")
    _check_header(header, source, header_line)
    if not rows:
        raise ValueError(f"{source} has no data rows (only a header).")
    width = len(header)
    for fields, line in zip(rows, lines):
        if len(fields) != width:
            raise ValueError(
                f"{source}, line {line}: expected {width} fields (one per column of the header), got {len(fields)}."
            )
    return _Raw(source=source, header=header, rows=rows, lines=lines)


def _records(reader: Any, source: str) -> Any:
    """The reader's records; a :class:`csv.Error` becomes a ``ValueError`` naming the line the record starts on."""
    start = 1
    while True:
        try:
            fields = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            if "field larger than field limit" in str(error):
                raise ValueError(
                    f"{source}, line {start}: a field is longer than the csv module's field size limit of "
                    f"{csv.field_size_limit()} characters. If the file is right, raise the limit with "
                    "csv.field_size_limit(n) before loading it."
                ) from None
            raise ValueError(f"{source}, line {start}: not readable as CSV ({error}).") from None
        yield fields
        start = reader.line_num + 1


def _check_header(header: tuple[str, ...], source: str, line: int) -> None:
    where = f"{source}, line {line}" if line else f"names for {source}"
    for i, name in enumerate(header):
        if not name:
            raise ValueError(f"{where}: column {i + 1} of the header has no name.")
    seen: set[str] = set()
    for name in header:
        if name in seen:
            raise ValueError(f"{where}: column name {name!r} appears more than once in the header.")
        seen.add(name)


def _column(raw: _Raw, name: str) -> list[str]:
    j = raw.header.index(name)
    return [fields[j] for fields in raw.rows]


def _is_missing(value: str) -> bool:
    return value.lower() in MISSING_TOKENS


def _as_number(value: str) -> float | None:
    try:
        number = float(value)
    except ValueError:
        return None
    return number


def _check_present(raw: _Raw, name: str, values: list[str]) -> None:
    for i, value in enumerate(values):
        if _is_missing(value):
            shown = "an empty field" if value == "" else repr(value)
            raise ValueError(
                f"{raw.source}, line {raw.lines[i]} (data row {i}), column {name!r}: missing value "
                f"({shown}). Remove or fill in the rows with missing values."
            )


def _numeric(raw: _Raw, name: str, values: list[str]) -> np.ndarray:
    _check_present(raw, name, values)
    out = np.empty(len(values), dtype=np.float64)
    for i, value in enumerate(values):
        number = _as_number(value)
        if number is None:
            raise ValueError(
                f"{raw.source}, line {raw.lines[i]} (data row {i}), column {name!r}: {value!r} is not a "
                f"number. List the column in categorical=[...] to one-hot encode it."
            )
        if not math.isfinite(number):
            raise ValueError(
                f"{raw.source}, line {raw.lines[i]} (data row {i}), column {name!r}: {value!r} is not finite."
            )
        out[i] = number
    return out


def _category_label(value: str) -> str:
    """Canonical spelling of a numeric category: ``"1.0"`` and ``"1"`` are both ``"1"``."""
    number = float(value)
    return str(int(number)) if number.is_integer() else repr(number)


def _categorical(raw: _Raw, name: str, values: list[str]) -> tuple[np.ndarray, tuple[str, ...]]:
    """Category index of each row and the sorted categories.

    Categories that are all numbers sort numerically; otherwise as strings.
    """
    _check_present(raw, name, values)
    numbers = [_as_number(v) for v in values]
    if all(n is not None and math.isfinite(n) for n in numbers):
        labels = [_category_label(v) for v in values]
        categories = tuple(sorted(set(labels), key=float))
    else:
        labels = values
        categories = tuple(sorted(set(labels)))
    position = {c: k for k, c in enumerate(categories)}
    return np.array([position[label] for label in labels], dtype=np.int64), categories


def _one_hot(codes: np.ndarray, count: int) -> np.ndarray:
    return (codes[:, None] == np.arange(count)[None, :]).astype(np.float64)


# ------------------------------------------------------------------ encoding


def _check_names(raw: _Raw, argument: str, names: Sequence[str]) -> None:
    for name in names:
        if name not in raw.header:
            raise ValueError(
                f"{argument}: column {name!r} is not in {raw.source}; its columns are "
                f"{', '.join(map(repr, raw.header))}."
            )


def _as_name_list(argument: str, value: Any) -> list[str]:
    if isinstance(value, str):
        raise ValueError(f"{argument} must be a sequence of column names, not a string; got {value!r}.")
    names = list(value)
    for name in names:
        if not isinstance(name, str):
            raise ValueError(f"{argument} must hold column names (strings); got {name!r}.")
    if len(set(names)) != len(names):
        raise ValueError(f"{argument} lists a column more than once: {names!r}.")
    return names


def _float_dtype(dtype: Any) -> Any:
    """The dtype to load features in: float32 unless a floating dtype is given."""
    if dtype is None:
        return jnp.float32
    if not jnp.issubdtype(dtype, jnp.floating):
        raise ValueError(f"dtype must be a floating dtype; got {dtype!r}.")
    return float_dtype(dtype)


def _encode(
    raw: _Raw,
    *,
    target: str,
    categorical: Sequence[str],
    features: Sequence[str] | None,
    binary: bool,
    positive: str | None,
    dtype: Any,
) -> CSVData:
    if not isinstance(target, str):
        raise ValueError(f"target must be a column name (a string); got {target!r}.")
    _check_names(raw, "target", [target])
    categorical = _as_name_list("categorical", categorical)
    _check_names(raw, "categorical", categorical)
    if features is None:
        features = [name for name in raw.header if name != target]
    else:
        features = _as_name_list("features", features)
        _check_names(raw, "features", features)
    if target in features:
        raise ValueError(f"features must not include the target column {target!r}.")
    unused = [name for name in categorical if name not in features and name != target]
    if unused:
        raise ValueError(f"categorical lists {unused!r}, which are not among the features {features!r}.")
    if not isinstance(binary, bool):
        raise ValueError(f"binary must be a bool; got {binary!r}.")
    if positive is not None and target in categorical:
        raise ValueError("give either positive=... (a binary target) or list the target in categorical, not both.")
    dtype = _float_dtype(dtype)

    blocks: list[np.ndarray] = []
    names: list[str] = []
    categories: dict[str, tuple[str, ...]] = {}
    for name in features:
        values = _column(raw, name)
        if name in categorical:
            codes, cats = _categorical(raw, name, values)
            blocks.append(_one_hot(codes, len(cats)))
            names.extend(f"{name}={c}" for c in cats)
            categories[name] = cats
        else:
            blocks.append(_numeric(raw, name, values)[:, None])
            names.append(name)
    n = len(raw.rows)
    x = np.concatenate(blocks, axis=1) if blocks else np.zeros((n, 0))

    values = _column(raw, target)
    if target in categorical:
        codes, cats = _categorical(raw, target, values)
        categories[target] = cats
        if binary and len(cats) != 2:
            raise ValueError(_not_binary(raw, target, cats))
        y = jnp.asarray(codes, dtype=jnp.int32) if not binary else jnp.asarray(codes, dtype=dtype)
    elif positive is not None:
        _check_present(raw, target, values)
        distinct = sorted(set(values))
        if len(distinct) > 2 or str(positive) not in distinct:
            raise ValueError(
                f"{raw.source}, column {target!r}: a binary target with positive={positive!r} must take "
                f"{positive!r} and at most one other value; found {_show_values(distinct)}."
            )
        y = jnp.asarray(np.array([v == str(positive) for v in values], dtype=np.float64), dtype=dtype)
    else:
        numbers = _numeric(raw, target, values)
        if binary:
            bad = ~np.isin(numbers, (0.0, 1.0))
            if bad.any():
                i = int(np.argmax(bad))
                distinct = sorted(set(_category_label(v) for v in values))
                raise ValueError(
                    _not_binary(raw, target, distinct)
                    + f" The first other value is {values[i]!r} on line {raw.lines[i]} (data row {i})."
                )
        y = jnp.asarray(numbers, dtype=dtype)
    return CSVData(
        x=jnp.asarray(x, dtype=dtype),
        y=y,
        feature_names=tuple(names),
        target=target,
        categories=categories,
    )


def _show_values(values: Sequence[str], limit: int = 8) -> str:
    shown = ", ".join(map(repr, values[:limit]))
    more = f" and {len(values) - limit} more" if len(values) > limit else ""
    return f"{len(values)} distinct value(s): {shown}{more}"


def _not_binary(raw: _Raw, target: str, distinct: Sequence[str]) -> str:
    return (
        f"{raw.source}, column {target!r}: binary=True needs a target of 0s and 1s; found "
        f"{_show_values(list(distinct))}. For labels such as 'yes'/'no' pass positive='yes'."
    )


# ------------------------------------------------------------------ public


def load_csv(
    path: str | os.PathLike[str],
    *,
    target: str,
    categorical: Sequence[str] = (),
    features: Sequence[str] | None = None,
    binary: bool = False,
    positive: str | None = None,
    names: Sequence[str] | None = None,
    delimiter: str = ",",
    dtype: Any = None,
) -> CSVData:
    """Reads a CSV file into inputs ``x`` and a target ``y``.

    Numeric columns are kept as they are; the ``categorical`` ones are one-hot
    encoded in place, one column per category seen in the file (sorted:
    numerically when every category is a number, so ``"1.0"`` and ``"1"`` are
    one category named ``"1"``, else as strings), named ``"column=category"``.
    Standardise afterwards with :func:`gdjax.data.fit_standardizer` on the
    training rows only.

    Example::

        data = load_csv("heart.csv", target="target", binary=True,
                        categorical=["sex", "cp", "thal"])
        data.x.shape, data.feature_names[:3]

    Args:
      path: the CSV file (UTF-8; a byte-order mark is skipped). Fields may be
        at most ``csv.field_size_limit()`` characters long (131072 by default).
      target: name of the target column.
      categorical: names of the input columns to one-hot encode. The target may
        be listed too: ``y`` is then the int32 index of each row's class in
        ``categories[target]``.
      features: input columns, in the order wanted (default: every column but
        the target, in file order). Other columns are not read, so missing or
        malformed values there do no harm.
      binary: require a binary target: 0/1 values (``y`` float), or exactly two
        classes if the target is categorical (``y`` float, 1 for the second).
      positive: for a target of labels (e.g. ``"yes"``/``"no"``): the label
        that maps to 1; the target must have at most one other label.
      names: column names for a file without a header line (every line is then
        data).
      delimiter: the field separator.
      dtype: floating dtype of ``x`` and of a float ``y`` (default float32;
        float64 needs ``jax.enable_x64``).

    Returns:
      A :class:`CSVData` with ``x`` of shape ``(n, d)`` and ``y`` of shape ``(n,)``.

    Raises:
      FileNotFoundError: the file does not exist.
      ValueError: the file is not valid UTF-8, or a field is longer than the
        csv module's field size limit (the message names the file and the
        line); the file is empty or has no data rows; a row has the wrong
        number of fields; ``target`` or a listed column is not in the file; a
        value is missing (one of :data:`MISSING_TOKENS`); a value in a numeric
        column is not a finite number (the message names the line and the
        column); the target is not binary where ``binary``/``positive`` asks.
    """
    if not isinstance(path, (str, os.PathLike)):
        raise ValueError(f"path must be a file path; got {path!r}.")
    raw = _parse(_read_text(path), repr(os.fspath(path)), names=names, delimiter=delimiter)
    return _encode(
        raw,
        target=target,
        categorical=categorical,
        features=features,
        binary=binary,
        positive=positive,
        dtype=dtype,
    )


def _typed_column(values: list[str]) -> np.ndarray:
    """int64 if every value is an integer literal, float64 if every value is a
    finite number, else the strings as they are (so ``"?"`` stays visible)."""
    try:
        return np.array([int(v) for v in values], dtype=np.int64)
    except ValueError:
        pass
    numbers = [_as_number(v) for v in values]
    if all(n is not None and math.isfinite(n) for n in numbers):
        return np.array(numbers, dtype=np.float64)
    return np.array(values, dtype=str)


def _table(raw: _Raw) -> dict[str, np.ndarray]:
    return {name: _typed_column(_column(raw, name)) for name in raw.header}


def read_csv_table(
    path: str | os.PathLike[str], *, names: Sequence[str] | None = None, delimiter: str = ","
) -> dict[str, np.ndarray]:
    """The raw table of a CSV file: column name -> NumPy array, in file order.

    A column is int64 when every value is an integer literal, float64 when
    every value is a finite number, and otherwise an array of the strings as
    written: nothing is converted to NaN, so missing values (``"?"``, ``""``)
    stay visible. Same file checks as :func:`load_csv`.
    """
    if not isinstance(path, (str, os.PathLike)):
        raise ValueError(f"path must be a file path; got {path!r}.")
    return _table(_parse(_read_text(path), repr(os.fspath(path)), names=names, delimiter=delimiter))

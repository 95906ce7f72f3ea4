"""The Cleveland Clinic heart-disease data, shipped with the package.

``heart.csv`` is the 303-row version of the Keras/TensorFlow tutorial
"Structured data classification from scratch"; ``processed.cleveland.data`` is
the original UCI file. Both are package data read with :mod:`importlib.resources`,
so the loaders work from an installed wheel. Provenance, licence (CC BY 4.0:
credit the UCI Machine Learning Repository and Detrano et al., *Am. J.
Cardiology* 64(5), 1989) and the quirks of the files are in ``HEART_README.md``
beside them.

The course's encoding gives 29 inputs: the 6 numeric columns as they are, then a
one-hot block for each of the 7 categorical columns, one column per category
present in the file (sex 2, cp 5, fbs 2, restecg 3, exang 2, ca 4, thal 5).
"""

from __future__ import annotations

import functools
from importlib import resources
from typing import Any, Literal, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from gdjax._checks import check_choice, check_range
from gdjax.data._csv import _encode, _parse, _Raw, _table
from gdjax.data._split import Standardizer, as_key, fit_standardizer, split_sizes, train_test_split_indices

HEART_NUMERIC: tuple[str, ...] = ("age", "trestbps", "chol", "thalach", "oldpeak", "slope")
"""The heart inputs kept as numbers (``slope`` is ordinal, 1-3, and kept numeric)."""

HEART_CATEGORICAL: tuple[str, ...] = ("sex", "cp", "fbs", "restecg", "exang", "ca", "thal")
"""The heart inputs one-hot encoded, in the order of their blocks."""

HEART_TARGET = "target"

CLEVELAND_COLUMNS: tuple[str, ...] = (
    "age", "sex", "cp", "trestbps", "chol", "fbs", "restecg",
    "thalach", "exang", "oldpeak", "slope", "ca", "thal", "num",
)  # fmt: skip
"""Column names of the header-less UCI file ``processed.cleveland.data``."""


def _resource_text(name: str) -> str:
    return resources.files("gdjax.data").joinpath(name).read_text(encoding="utf-8")


@functools.lru_cache(maxsize=1)
def _heart_raw() -> _Raw:  # parsed once; never handed out, so never mutated
    return _parse(_resource_text("heart.csv"), "gdjax.data/heart.csv", names=None, delimiter=",")


class HeartData(NamedTuple):
    """The heart data with the course's 29-input encoding.

    Attributes:
      x: ``float[303, 29]`` inputs (not standardised).
      y: ``float[303]`` binary target (1: heart disease, UCI ``num >= 2``).
      feature_names: the 29 column names of ``x``: ``age, trestbps, chol,
        thalach, oldpeak, slope, sex=0, sex=1, cp=0, ..., thal=reversible``.
      table: the raw table, column name -> NumPy array, as in
        :func:`load_heart_table`.
    """

    x: jax.Array
    y: jax.Array
    feature_names: tuple[str, ...]
    table: dict[str, np.ndarray]


class HeartSplit(NamedTuple):
    """A seeded train/test split of the heart data, ready to train on.

    Attributes:
      x_train, y_train: ``float[242, 29]`` and ``float[242]`` by default.
      x_test, y_test: ``float[61, 29]`` and ``float[61]`` by default.
      feature_names: the 29 names of the columns of ``x``.
      standardizer: the statistics fitted on ``x_train`` (identity when
        ``standardize=False``), to apply to new patients.
      train_index, test_index: the rows of the raw table in each part.
    """

    x_train: jax.Array
    y_train: jax.Array
    x_test: jax.Array
    y_test: jax.Array
    feature_names: tuple[str, ...]
    standardizer: Standardizer
    train_index: jax.Array
    test_index: jax.Array


def load_heart_table() -> dict[str, np.ndarray]:
    """The raw ``heart.csv`` table: its 14 columns in file order, 303 rows.

    Integer columns are int64, ``oldpeak`` float64 and ``thal`` strings
    (``"fixed"``, ``"normal"``, ``"reversible"`` and the stray ``"1"``, ``"2"``).
    """
    return _table(_heart_raw())


def load_heart(*, dtype: Any = None) -> HeartData:
    """The heart data encoded as the course's 29 inputs and a binary target.

    Column order: the numeric :data:`HEART_NUMERIC`, then the one-hot blocks
    of :data:`HEART_CATEGORICAL`, each block's categories sorted (numerically
    for the integer codes; as strings for ``thal``, giving ``thal=1, thal=2,
    thal=fixed, thal=normal, thal=reversible``). A 29-16-1 dense network on
    these inputs has ``29*16 + 16 + 16 + 1 = 497`` parameters.

    Args:
      dtype: floating dtype of ``x`` and ``y`` (default float32; float64 needs
        ``jax.enable_x64``).
    """
    raw = _heart_raw()
    data = _encode(
        raw,
        target=HEART_TARGET,
        categorical=HEART_CATEGORICAL,
        features=HEART_NUMERIC + HEART_CATEGORICAL,
        binary=True,
        positive=None,
        dtype=dtype,
    )
    return HeartData(x=data.x, y=data.y, feature_names=data.feature_names, table=_table(raw))


class HeartStratifiedSplit(NamedTuple):
    """A seeded, stratified train/validation/test split of the heart data, ready to train on.

    Attributes:
      x_train, y_train: ``float[181, 29]`` and ``float[181]`` by default.
      x_val, y_val: ``float[61, 29]`` and ``float[61]``: for early stopping,
        choosing a restart, an epoch or a hyperparameter.
      x_test, y_test: ``float[61, 29]`` and ``float[61]``: touched once, for
        the reported number.
      feature_names: the 29 names of the columns of ``x``.
      standardizer: the statistics fitted on ``x_train`` only.
      train_index, val_index, test_index: the rows of the raw table in each
        part (sorted).
    """

    x_train: jax.Array
    y_train: jax.Array
    x_val: jax.Array
    y_val: jax.Array
    x_test: jax.Array
    y_test: jax.Array
    feature_names: tuple[str, ...]
    standardizer: Standardizer
    train_index: np.ndarray
    val_index: np.ndarray
    test_index: np.ndarray


def stratified_counts(class_counts: Any, part_size: int) -> np.ndarray:
    """How many rows of each class a part of ``part_size`` rows takes, in proportion to ``class_counts``.

    Hamilton's largest-remainder rule: class ``c`` gets ``floor(part_size
    n_c / n)`` rows, and the rows left over go one each to the classes with
    the largest fractional parts (ties to the lower class index). The counts
    add up to ``part_size`` and never exceed a class's rows.
    """
    counts = np.asarray(class_counts, dtype=np.int64)
    n = int(counts.sum())
    if not 0 <= part_size <= n:
        raise ValueError(f"part_size must be in [0, {n}] (the rows to share out); got {part_size}.")
    quotas = part_size * counts / n
    taken = np.floor(quotas + 1e-9).astype(np.int64)
    order = sorted(range(counts.size), key=lambda c: (-(quotas[c] - taken[c]), c))
    for c in order[: part_size - int(taken.sum())]:
        taken[c] += 1
    return np.minimum(taken, counts)


def _stratified_indices(key: jax.Array, labels: np.ndarray, n_val: int, n_test: int):
    """Row indices (sorted) of a stratified train/validation/test split: each part keeps the class shares."""
    classes = np.unique(labels)
    per_class = [np.flatnonzero(labels == c) for c in classes]
    sizes = np.array([rows.size for rows in per_class])
    test_counts = stratified_counts(sizes, n_test)
    # The validation part keeps the shares of the whole data too, from what the test part left.
    val_counts = np.minimum(stratified_counts(sizes, n_val), sizes - test_counts)
    train, val, test = [], [], []
    for c, rows in enumerate(per_class):
        order = rows[np.asarray(jax.random.permutation(jax.random.fold_in(key, c), rows.size))]
        test.append(order[: test_counts[c]])
        val.append(order[test_counts[c] : test_counts[c] + val_counts[c]])
        train.append(order[test_counts[c] + val_counts[c] :])
    return tuple(np.sort(np.concatenate(part)).astype(np.int32) for part in (train, val, test))


def load_heart_stratified_split(
    key: Any = 0,
    *,
    validation_fraction: float = 0.2,
    test_fraction: float = 0.2,
    standardize: bool | Literal["numeric", "all"] = True,
    dtype: Any = None,
) -> HeartStratifiedSplit:
    """The heart data split into training, validation and test parts with the same class shares.

    The test part is ``ceil(test_fraction * 303)`` rows (61 by default) and
    the validation part ``ceil(validation_fraction * 303)`` (61), each
    holding the two classes in the proportion of the whole data (83 of 303
    patients have heart disease: 17 of 61 in each part, 49 of the 181
    training rows; :func:`stratified_counts`). Within each class the rows are
    a random permutation from ``fold_in(key, class)``, so the same key gives
    the same split. Standardisation statistics come from the training rows
    only. With 44 of 61 test patients healthy, predicting "no disease" for
    everyone scores 44/61 = 0.721 on every split: the majority baseline.

    Args:
      key: PRNG key or integer seed of the split.
      validation_fraction, test_fraction: fractions of all rows, each in
        ``(0, 1)``, leaving at least two training rows.
      standardize: as in :func:`load_heart_split`.
      dtype: floating dtype of the arrays (default float32).

    Returns:
      A :class:`HeartStratifiedSplit`.
    """
    check_range(
        "validation_fraction", validation_fraction, low=0.0, high=1.0, low_inclusive=False, high_inclusive=False
    )
    if standardize is True:
        standardize = "numeric"
    elif standardize is False:
        standardize = "none"
    else:
        check_choice("standardize", standardize, ("numeric", "all"))
    data = load_heart(dtype=dtype)
    x, y = np.asarray(data.x), np.asarray(data.y)
    n = x.shape[0]
    _, n_test = split_sizes(n, test_fraction)
    _, n_val = split_sizes(n, validation_fraction)
    if n - n_test - n_val < 2:
        raise ValueError(
            f"validation_fraction={validation_fraction} and test_fraction={test_fraction} take {n_val} + {n_test} "
            f"of {n} rows, leaving {max(n - n_test - n_val, 0)} to train on; at least 2 are needed."
        )
    train, val, test = _stratified_indices(as_key(key), y, n_val, n_test)
    columns = {"numeric": range(len(HEART_NUMERIC)), "all": None, "none": ()}[standardize]
    stats = fit_standardizer(x[train], columns=columns)
    return HeartStratifiedSplit(
        x_train=stats.apply(x[train]),
        y_train=jnp.asarray(y[train]),
        x_val=stats.apply(x[val]),
        y_val=jnp.asarray(y[val]),
        x_test=stats.apply(x[test]),
        y_test=jnp.asarray(y[test]),
        feature_names=data.feature_names,
        standardizer=stats,
        train_index=train,
        val_index=val,
        test_index=test,
    )


def load_heart_split(
    key: Any = 0,
    *,
    test_fraction: float = 0.2,
    standardize: bool | Literal["numeric", "all"] = True,
    dtype: Any = None,
) -> HeartSplit:
    """The heart data split into training and test parts, standardised.

    The split is a random permutation from ``key`` (a PRNG key or an integer
    seed); the test part is ``ceil(test_fraction * 303)`` rows, 61 by default,
    leaving 242 to train on. Standardisation statistics come from the training
    rows only (:func:`gdjax.data.fit_standardizer`) and are applied to both
    parts.

    Args:
      key: PRNG key or integer seed of the split.
      test_fraction: fraction of the rows held out, in ``(0, 1)``.
      standardize: ``True`` or ``"numeric"`` standardises the 6 numeric
        columns and keeps the one-hot columns 0/1 (as in the Keras tutorial);
        ``"all"`` standardises all 29 columns; ``False`` none.
      dtype: floating dtype of the arrays (default float32).

    Returns:
      A :class:`HeartSplit`.
    """
    if standardize is True:
        standardize = "numeric"
    elif standardize is False:
        standardize = "none"
    else:
        check_choice("standardize", standardize, ("numeric", "all"))
    data = load_heart(dtype=dtype)
    split = train_test_split_indices(as_key(key), data.x.shape[0], test_fraction=test_fraction)
    # Gather on the host: 303 rows, and no per-shape compilation for eager callers.
    x, y = np.asarray(data.x), np.asarray(data.y)
    train, test = np.asarray(split.train), np.asarray(split.test)
    columns = {"numeric": range(len(HEART_NUMERIC)), "all": None, "none": ()}[standardize]
    stats = fit_standardizer(x[train], columns=columns)
    return HeartSplit(
        x_train=stats.apply(x[train]),
        y_train=jnp.asarray(y[train]),
        x_test=stats.apply(x[test]),
        y_test=jnp.asarray(y[test]),
        feature_names=data.feature_names,
        standardizer=stats,
        train_index=split.train,
        test_index=split.test,
    )


def load_cleveland_table() -> dict[str, np.ndarray]:
    """The original UCI ``processed.cleveland.data`` as a raw table.

    303 rows, the 14 columns of :data:`CLEVELAND_COLUMNS`, values as published
    (float64: the file writes ``63.0``); ``ca`` and ``thal`` hold ``"?"`` for
    missing values (4 and 2 rows), so they are string arrays; ``num`` is the
    diagnosis 0-4 (int64). ``heart.csv``'s target is ``num >= 2``.
    """
    raw = _parse(
        _resource_text("processed.cleveland.data"),
        "gdjax.data/processed.cleveland.data",
        names=CLEVELAND_COLUMNS,
        delimiter=",",
    )
    return _table(raw)

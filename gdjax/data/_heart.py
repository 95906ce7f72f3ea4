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

from gdjax._checks import check_choice
from gdjax.data._csv import _encode, _parse, _Raw, _table
from gdjax.data._split import Standardizer, as_key, fit_standardizer, train_test_split_indices

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

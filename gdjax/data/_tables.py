"""The course's small tables: straight lines, logic-gate truth tables and the insurance table.

Every table is a :class:`Dataset` with inputs ``x`` of shape ``(n, d)`` and a
target ``y`` of shape ``(n,)``, floating (float32 by default).
"""

from __future__ import annotations

from collections.abc import Sequence
from importlib import resources
from typing import Any, Literal, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from gdjax._checks import check_choice, check_range


class Dataset(NamedTuple):
    """Inputs ``x`` (``float[n, d]``) and targets ``y`` (shape ``(n,)``)."""

    x: jax.Array
    y: jax.Array


def _dtype(dtype: Any) -> Any:
    if dtype is None:
        return jnp.float32
    if not jnp.issubdtype(dtype, jnp.floating):
        raise ValueError(f"dtype must be a floating dtype; got {dtype!r}.")
    return dtype


COURSE_XS: tuple[int, ...] = (2, 3, 4, 5, 6)
"""The inputs of the course's line tables."""

COURSE_LINES: dict[str, tuple[float, float]] = {
    "y = 2x": (2.0, 0.0),
    "y = 3x": (3.0, 0.0),
    "y = 0.5x - 2.5": (0.5, -2.5),
    "y = 3x + 2": (3.0, 2.0),
}
"""The course's lines, name -> ``(slope, intercept)``."""


def line_table(slope: float, intercept: float = 0.0, *, x: Sequence[float] = COURSE_XS, dtype: Any = None) -> Dataset:
    """The table of ``y = slope * x + intercept`` at the given ``x``.

    ``line_table(2.0)`` is the course's first regression example,
    ``x = [2, 3, 4, 5, 6]``, ``y = [4, 6, 8, 10, 12]``; gradient descent on the
    mean squared error of ``y_hat = w x + b`` should find ``w = 2, b = 0``.

    Returns:
      A :class:`Dataset` with ``x`` of shape ``(n, 1)`` and ``y`` of shape ``(n,)``.
    """
    check_range("slope", slope)
    check_range("intercept", intercept)
    xs = np.asarray(x, dtype=np.float64)
    if xs.ndim != 1 or xs.size == 0:
        raise ValueError(f"x must be a non-empty sequence of numbers; got shape {xs.shape}.")
    check_range("x", xs)
    dtype = _dtype(dtype)
    ys = float(slope) * xs + float(intercept)
    return Dataset(x=jnp.asarray(xs[:, None], dtype), y=jnp.asarray(ys, dtype))


def course_line_tables(*, dtype: Any = None) -> dict[str, Dataset]:
    """The four line tables of the course, for ``x = 2..6``: name -> :class:`Dataset`.

    ``y = 2x``, ``y = 3x``, ``y = 0.5x - 2.5`` and ``y = 3x + 2``.
    """
    return {name: line_table(w, b, dtype=dtype) for name, (w, b) in COURSE_LINES.items()}


Gate = Literal["and", "or", "not", "xor", "nand", "nor", "xnor"]
_GATES: dict[str, tuple[int, ...]] = {
    # outputs for inputs (0,0), (0,1), (1,0), (1,1); NOT for 0, 1
    "and": (0, 0, 0, 1),
    "or": (0, 1, 1, 1),
    "xor": (0, 1, 1, 0),
    "nand": (1, 1, 1, 0),
    "nor": (1, 0, 0, 0),
    "xnor": (1, 0, 0, 1),
    "not": (1, 0),
}


def truth_table(gate: Gate, *, dtype: Any = None) -> Dataset:
    """The truth table of a logic gate, rows in binary counting order.

    Two-input gates give ``x = [[0, 0], [0, 1], [1, 0], [1, 1]]``; ``"not"``
    gives ``x = [[0], [1]]``, ``y = [1, 0]``. AND, OR, NAND, NOR and NOT are
    linearly separable, so a single neuron learns them; XOR and XNOR are not
    (Minsky & Papert, *Perceptrons*, 1969) and need a hidden layer.

    Args:
      gate: one of ``"and"``, ``"or"``, ``"not"``, ``"xor"``, ``"nand"``,
        ``"nor"``, ``"xnor"`` (case-insensitive).
      dtype: floating dtype of ``x`` and ``y`` (default float32).
    """
    if not isinstance(gate, str):
        raise ValueError(f"gate must be one of {', '.join(map(repr, _GATES))}; got {gate!r}.")
    gate = check_choice("gate", gate.lower(), tuple(_GATES))
    dtype = _dtype(dtype)
    outputs = _GATES[gate]
    if gate == "not":
        x = [[0], [1]]
    else:
        x = [[0, 0], [0, 1], [1, 0], [1, 1]]
    return Dataset(x=jnp.asarray(x, dtype), y=jnp.asarray(outputs, dtype))


INSURANCE_COLUMNS: tuple[str, ...] = ("age", "have_car", "have_insurance")
"""The columns of the course's insurance table, in file order (the last is the target)."""


def load_insurance(*, dtype: Any = None) -> Dataset:
    """The course's insurance table: 11 people, their age and whether they have a car, and the target.

    ``x = [[age, have_car], ...]`` (shape ``(11, 2)``, ages 19 to 65 years,
    ``have_car`` 0/1) and ``y = have_insurance`` (shape ``(11,)``, 0/1; 5
    positives). The table of the course's binary-classification slides, for
    ``y_hat = sigmoid(w1 age + w2 have_car + b)``; its provenance is in
    ``INSURANCE_README.md``. The age is unscaled, so a learning rate that
    suits the binary input is far too large for it: the case for
    standardising features.

    Args:
      dtype: floating dtype of ``x`` and ``y`` (default float32).
    """
    dtype = _dtype(dtype)
    text = resources.files("gdjax.data").joinpath("insurance.csv").read_text(encoding="utf-8")
    lines = [line for line in text.splitlines() if line.strip()]
    header = tuple(name.strip() for name in lines[0].split(","))
    if header != INSURANCE_COLUMNS:
        raise ValueError(f"insurance.csv: expected the columns {INSURANCE_COLUMNS}; got {header}.")
    rows = np.array([[float(v) for v in line.split(",")] for line in lines[1:]], dtype=np.float64)
    return Dataset(x=jnp.asarray(rows[:, :2], dtype), y=jnp.asarray(rows[:, 2], dtype))

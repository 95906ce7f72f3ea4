"""Grid points of a sweep: addressing them, per-point statistics tables, and a tidy export of every run.

A sweep's runs have ``batch_shape == (*grid_shape, N)``: grid axes in the
order of ``result.grid``, restarts last. A grid point is addressed either by
its values, ``{"lr": 0.1, "momentum": 0.9}`` (every axis named; values are
matched with a relative tolerance of 1e-6, so a float32 grid still matches
``0.1``), or by its index tuple ``(2, 1)`` (an int for a one-axis grid).

The tidy export (:func:`records`) is one dict per (grid point x restart), row
major (the last grid axis fastest, then the restart), with plain Python
values: non-finite floats (a diverged run's NaN loss) become ``None``, as in
:func:`gdjax._io.to_json`, so the records are strict JSON.
"""

from __future__ import annotations

import csv
import io
import math
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from gdjax._io import atomic_write_text
from gdjax.restarts._stats import SuccessRate, ValueSummary, success_rate, summarize_values

# ---------------------------------------------------------------- addressing grid points


def grid_shape(result: Any) -> tuple[int, ...]:
    """The grid part of ``result.batch_shape`` (checked against ``result.grid``)."""
    shape = tuple(result.batch_shape[:-1])
    sizes = tuple(int(np.size(v)) for v in result.grid.values())
    if shape != sizes:
        raise ValueError(
            f"result.grid must have one axis per leading axis of batch_shape {tuple(result.batch_shape)}, of the "
            f"same sizes; got axes {list(result.grid)} of sizes {list(sizes)}."
        )
    return shape


def _plain(value: Any) -> Any:
    """A NumPy scalar as a Python one."""
    return value.item() if isinstance(value, np.generic) else value


def _choices(grid: Mapping[str, Any]) -> str:
    return "; ".join(f"{name!r}: {np.asarray(values).tolist()}" for name, values in grid.items())


def grid_index(grid: Mapping[str, Any], point: Any, name: str = "point") -> tuple[int, ...]:
    """The index tuple of a grid point given by its values (a mapping) or by its index.

    Raises ``ValueError`` for an unknown axis or value, a missing axis, or an
    index out of range, listing the choices.
    """
    axes = {axis: np.asarray(values) for axis, values in grid.items()}
    shape = tuple(v.size for v in axes.values())
    if isinstance(point, Mapping):
        unknown = [axis for axis in point if axis not in axes]
        missing = [axis for axis in axes if axis not in point]
        if unknown or missing:
            problem = f"unknown axis {unknown[0]!r}" if unknown else f"no value for axis {missing[0]!r}"
            raise ValueError(
                f"{name} must give a value for every grid axis ({', '.join(map(repr, axes))}); got {dict(point)!r} "
                f"({problem}). Choices: {_choices(axes)}."
            )
        index = []
        for axis, values in axes.items():
            value = point[axis]
            real = isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, (bool, np.bool_))
            wanted = float(value) if real else math.nan
            hits = np.flatnonzero(np.isclose(values.astype(np.float64), wanted, rtol=1e-6, atol=0.0))
            if hits.size != 1:
                raise ValueError(f"{name}[{axis!r}] must be one of the grid's values {values.tolist()}; got {value!r}.")
            index.append(int(hits[0]))
        return tuple(index)
    if isinstance(point, (int, np.integer)) and not isinstance(point, (bool, np.bool_)):
        point = (point,)
    if (
        isinstance(point, tuple)
        and len(point) == len(shape)
        and all(isinstance(i, (int, np.integer)) and not isinstance(i, (bool, np.bool_)) for i in point)
    ):
        for i, size, axis in zip(point, shape, axes):
            if not 0 <= i < size:
                raise ValueError(f"{name} index along {axis!r} must be in [0, {size - 1}]; got {int(i)}.")
        return tuple(int(i) for i in point)
    raise ValueError(
        f"{name} must be a grid point: a dict {{axis: value}} naming every axis or an index tuple of length "
        f"{len(shape)} (grid shape {shape}); got {point!r}. Choices: {_choices(axes)}."
    )


def point_values(grid: Mapping[str, Any], index: tuple[int, ...]) -> dict[str, Any]:
    """``{axis: value}`` of the grid point at ``index`` (Python scalars)."""
    return {axis: _plain(np.asarray(values)[i]) for (axis, values), i in zip(grid.items(), index)}


def _coords(grid: Mapping[str, Any]) -> dict[str, np.ndarray]:
    values = [np.asarray(v) for v in grid.values()]
    return dict(zip(grid, np.meshgrid(*values, indexing="ij"))) if values else {}


# ---------------------------------------------------------------- per-grid-point tables


class SuccessTable(NamedTuple):
    """Success rate at every grid point of a sweep: arrays of ``grid_shape``.

    ``p[i, j] = successes[i, j] / trials[i, j]`` with the Wilson interval
    ``[low[i, j], high[i, j]]`` (see :func:`gdjax.restarts.success_rate`),
    over the restarts of grid point ``(i, j)``; ``grid`` holds each axis'
    values, :attr:`coords` each point's coordinates.
    """

    grid: dict[str, np.ndarray]
    p: np.ndarray
    low: np.ndarray
    high: np.ndarray
    successes: np.ndarray
    trials: np.ndarray
    confidence: float

    @property
    def shape(self) -> tuple[int, ...]:
        return self.p.shape

    @property
    def coords(self) -> dict[str, np.ndarray]:
        """``{axis: array of grid_shape}``: each grid point's value on each axis."""
        return _coords(self.grid)

    def at(self, point: Any) -> SuccessRate:
        """The :class:`SuccessRate` of one grid point (``{axis: value}`` or an index tuple)."""
        i = grid_index(self.grid, point)
        return SuccessRate(
            float(self.p[i]),
            float(self.low[i]),
            float(self.high[i]),
            int(self.successes[i]),
            int(self.trials[i]),
            self.confidence,
        )

    def to_records(self) -> list[dict[str, Any]]:
        """One dict per grid point (row major): the axis values, then the :class:`SuccessRate` fields."""
        return [point_values(self.grid, i) | self.at(i)._asdict() for i in np.ndindex(self.shape)]


class SummaryTable(NamedTuple):
    """:class:`ValueSummary` fields at every grid point of a sweep: arrays of ``grid_shape``.

    At each grid point, over its restarts that did not diverge: ``count``
    finite values, ``diverged`` runs left out, and the values' min, median,
    mean, std (``ddof=0``), max and 5%/95% quantiles (NaN where none is
    finite).
    """

    grid: dict[str, np.ndarray]
    count: np.ndarray
    diverged: np.ndarray
    min: np.ndarray
    median: np.ndarray
    mean: np.ndarray
    std: np.ndarray
    max: np.ndarray
    q05: np.ndarray
    q95: np.ndarray

    @property
    def shape(self) -> tuple[int, ...]:
        return self.count.shape

    @property
    def coords(self) -> dict[str, np.ndarray]:
        """``{axis: array of grid_shape}``: each grid point's value on each axis."""
        return _coords(self.grid)

    def at(self, point: Any) -> ValueSummary:
        """The :class:`ValueSummary` of one grid point (``{axis: value}`` or an index tuple)."""
        i = grid_index(self.grid, point)
        return ValueSummary(
            int(self.count[i]), int(self.diverged[i]), *(float(getattr(self, f)[i]) for f in ValueSummary._fields[2:])
        )

    def to_records(self) -> list[dict[str, Any]]:
        """One dict per grid point (row major): the axis values, then the summary's fields."""
        return [point_values(self.grid, i) | self.at(i)._asdict() for i in np.ndindex(self.shape)]


def success_table(grid: Mapping[str, Any], outcomes: np.ndarray, *, confidence: float) -> SuccessTable:
    """A :class:`SuccessTable` from boolean outcomes of shape ``(*grid_shape, N)``."""
    shape = outcomes.shape[:-1]
    rates = {i: success_rate(outcomes[i], confidence=confidence) for i in np.ndindex(shape)}
    field = lambda name, dtype: np.array([getattr(rates[i], name) for i in np.ndindex(shape)], dtype).reshape(shape)
    return SuccessTable(
        dict(grid),
        field("p", float),
        field("low", float),
        field("high", float),
        field("successes", int),
        field("trials", int),
        float(confidence),
    )


def summary_table(grid: Mapping[str, Any], values: np.ndarray, diverged: np.ndarray) -> SummaryTable:
    """A :class:`SummaryTable` from values and divergence flags of shape ``(*grid_shape, N)``."""
    shape = values.shape[:-1]
    rows = {i: summarize_values(values[i], diverged[i]) for i in np.ndindex(shape)}
    field = lambda name: np.array([getattr(rows[i], name) for i in np.ndindex(shape)]).reshape(shape)
    return SummaryTable(dict(grid), *(field(name) for name in ValueSummary._fields))


# ---------------------------------------------------------------- named quantities of a run


def quantities(result: Any) -> dict[str, np.ndarray]:
    """Each run's final quantities by their record column name, arrays of ``batch_shape``.

    ``final_loss``, ``final_val_loss`` (with validation data), each training
    metric as ``<name>`` and each validation metric as ``val_<name>``.
    """
    out = {"final_loss": np.asarray(result.final_loss)}
    if result.final_val_loss is not None:
        out["final_val_loss"] = np.asarray(result.final_val_loss)
    named = [(name, values) for name, values in result.final_metrics.items()]
    named += [(f"val_{name}", values) for name, values in result.final_val_metrics.items()]
    for name, values in named:
        if name in out:
            raise ValueError(f"metric names must not clash with the column {name!r}; rename the metric.")
        out[name] = np.asarray(values)
    return out


# ---------------------------------------------------------------- tidy export


_RUN_COLUMNS = ("epochs", "stopped_early", "diverged", "diverged_step")


def _value(x: Any) -> Any:
    """A plain Python value; non-finite floats become None."""
    x = _plain(x)
    if isinstance(x, float) and not math.isfinite(x):
        return None
    return x


def columns(result: Any) -> list[str]:
    """The record columns, in order: grid axes, ``restart``, the quantities, then the run's flags."""
    cols = [*result.grid, "restart", *quantities(result), *_RUN_COLUMNS]
    seen: set[str] = set()
    for col in cols:
        if col in seen:
            raise ValueError(f"grid axis and metric names must not clash with the column {col!r}; rename it.")
        seen.add(col)
    return cols


def records(result: Any) -> list[dict[str, Any]]:
    """One dict per (grid point x restart); see :meth:`RestartsResult.to_records`."""
    columns(result)  # checks for clashing names
    shape = grid_shape(result)
    named = quantities(result)
    epochs, stopped = np.asarray(result.epochs), np.asarray(result.stopped_early)
    diverged, step = np.asarray(result.diverged), np.asarray(result.diverged_step)
    out = []
    for index in np.ndindex(shape):
        point = point_values(result.grid, index)
        for r in range(result.num_restarts):
            at = (*index, r)
            row = point | {"restart": r}
            row |= {name: _value(values[at]) for name, values in named.items()}
            row |= {
                "epochs": int(epochs[at]),
                "stopped_early": bool(stopped[at]),
                "diverged": bool(diverged[at]),
                "diverged_step": int(step[at]) if diverged[at] else None,
            }
            out.append(row)
    return out


def write_csv(result: Any, path: str | os.PathLike) -> Path:
    """The records as CSV with a header row, written atomically; ``None`` is an empty field."""
    cols = columns(result)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(cols)
    for row in records(result):
        writer.writerow(["" if row[c] is None else row[c] for c in cols])
    return atomic_write_text(path, buffer.getvalue())


def dataframe(result: Any) -> Any:
    """The records as a pandas DataFrame (``None`` becomes NaN; ``diverged_step`` is nullable ``Int64``)."""
    try:
        import pandas as pd
    except ImportError as error:
        raise ImportError(
            "RestartsResult.to_dataframe needs pandas, which is not installed: pip install gdjax[pandas]"
        ) from error
    frame = pd.DataFrame.from_records(records(result), columns=columns(result))
    frame["diverged_step"] = frame["diverged_step"].astype("Int64")
    return frame

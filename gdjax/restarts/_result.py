"""The result of a restart study or sweep: every run's final numbers, stacked, and their statistics."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NamedTuple

import jax
import numpy as np

from gdjax._checks import check_choice, check_int
from gdjax.restarts import _records
from gdjax.restarts._records import SuccessTable, SummaryTable
from gdjax.restarts._stats import (
    SuccessRate,
    ValueSummary,
    _check_confidence,
    _real,
    best_of_k,
    bootstrap_mean_interval,
    mcnemar_exact,
    mean_interval,
    success_rate,
    summarize_values,
)
from gdjax.train import History


class RestartsResult(NamedTuple):
    """Every training of a restart study or sweep, stacked (NumPy arrays).

    The leading axes are ``batch_shape``: ``(N,)`` for :func:`restarts`,
    ``(*grid_shape, N)`` for :func:`sweep`.

    Attributes:
      params: final parameters of every run (the best epoch's with early stopping).
      final_loss: the loss on the whole training set at the final parameters
        (no penalty; NaN for a run that diverged).
      final_val_loss: the same on the validation set (None without one).
      final_metrics: ``{name: value}`` on the training set at the final parameters.
      final_val_metrics: the same on the validation set (empty without one).
      history: per-epoch records, each array of shape ``batch_shape + (epochs,)``.
      epochs: epochs run by each training.
      diverged: a non-finite loss or update stopped this run (its values are
        reported, not used in the statistics of the others).
      diverged_step: step of the divergence, -1 if none.
      stopped_early: early stopping ended the run.
      grid: ``{name: values along its axis}`` for a sweep, else empty.

    Statistics: :meth:`success` and :meth:`loss_summary` (one entry per grid
    point for a sweep), :func:`paired_difference` (two grid points over the
    same restarts); export: :meth:`to_records`, :meth:`to_csv`,
    :meth:`to_dataframe`.
    """

    params: Any
    final_loss: np.ndarray
    final_val_loss: np.ndarray | None
    final_metrics: dict[str, np.ndarray]
    final_val_metrics: dict[str, np.ndarray]
    history: History
    epochs: np.ndarray
    diverged: np.ndarray
    diverged_step: np.ndarray
    stopped_early: np.ndarray
    grid: dict[str, np.ndarray]

    @property
    def batch_shape(self) -> tuple[int, ...]:
        return self.final_loss.shape

    @property
    def num_restarts(self) -> int:
        return self.final_loss.shape[-1]

    def _score(self) -> np.ndarray:
        score = self.final_loss if self.final_val_loss is None else self.final_val_loss
        return np.where(self.diverged | ~np.isfinite(score), np.inf, score)

    @property
    def best_index(self) -> tuple[int, ...]:
        """Index (into ``batch_shape``) of the run with the lowest validation loss (else training loss).

        Raises:
          ValueError: when no run has a finite loss (every run diverged): there is no best one.
        """
        score = self._score()
        if not np.isfinite(score).any():
            steps = np.unique(self.diverged_step[self.diverged])
            shown = ", ".join(str(int(s)) for s in steps[:10]) + (", ..." if len(steps) > 10 else "")
            raise ValueError(
                f"every one of the {score.size} runs diverged (at steps {shown}) or has no finite loss: "
                "there is no best run. Lower the learning rate."
            )
        return tuple(int(i) for i in np.unravel_index(np.argmin(score), self.batch_shape))

    def params_at(self, index: int | tuple[int, ...]) -> Any:
        """The final parameters of one run."""
        return jax.tree.map(lambda leaf: leaf[index], self.params)

    @property
    def best_params(self) -> Any:
        return self.params_at(self.best_index)

    def _values(self, validation: bool) -> np.ndarray:
        values = self.final_val_loss if validation else self.final_loss
        if values is None:
            raise ValueError("validation=True needs validation data; these runs had none.")
        return np.asarray(values)

    def loss_summary(self, *, validation: bool = False, pooled: bool = False) -> ValueSummary | SummaryTable:
        """Distribution of final (validation) losses over the runs that did not diverge.

        Plain restarts (``batch_shape == (N,)``), or ``pooled=True`` (all the
        runs of every grid point together): a :class:`ValueSummary`. A sweep:
        a :class:`SummaryTable` of the same fields, one entry per grid point
        (arrays of ``grid_shape``; ``table.at({"lr": 0.1})`` gives one
        point's :class:`ValueSummary`). Diverged or non-finite runs are
        counted in ``diverged`` and left out of the values.
        """
        values = self._values(validation)
        if pooled or len(self.batch_shape) == 1:
            return summarize_values(values, self.diverged)
        _records.grid_shape(self)
        return _records.summary_table(self.grid, values, np.asarray(self.diverged) | ~np.isfinite(values))

    def success(
        self, threshold: float, *, validation: bool = False, confidence: float = 0.95, pooled: bool = False
    ) -> SuccessRate | SuccessTable:
        """Share of runs whose final (validation) loss is ``<= threshold``, with its Wilson interval.

        A diverged run counts as a failure. Plain restarts (``batch_shape ==
        (N,)``), or ``pooled=True``: one :class:`SuccessRate` over all the
        runs. A sweep: a :class:`SuccessTable`, the rate at each grid point
        over its ``N`` restarts (arrays ``p``, ``low``, ``high``,
        ``successes``, ``trials`` of ``grid_shape``; ``table.at(point)`` gives
        one point's :class:`SuccessRate`). ``threshold`` must be a finite
        real number.
        """
        threshold = _real("threshold", threshold)
        confidence = _check_confidence(confidence)
        values = self._values(validation)
        outcomes = ~np.asarray(self.diverged, bool) & (values <= threshold)
        if pooled or len(self.batch_shape) == 1:
            return success_rate(outcomes, confidence=confidence)
        _records.grid_shape(self)
        return _records.success_table(self.grid, outcomes, confidence=confidence)

    def to_records(self) -> list[dict[str, Any]]:
        """One dict per run (grid point x restart, row major, restarts fastest), plain Python values.

        Keys: each grid axis (its value), ``restart`` (index), ``final_loss``,
        ``final_val_loss`` (with validation data), each final training metric
        ``<name>`` and validation metric ``val_<name>``, ``epochs`` run,
        ``stopped_early``, ``diverged`` and ``diverged_step`` (None for a run
        that did not diverge). Non-finite floats (a diverged run's NaN loss)
        are ``None``, so ``json.dumps(records, allow_nan=False)`` works.
        """
        return _records.records(self)

    def to_csv(self, path: str | os.PathLike) -> Path:
        """Writes :meth:`to_records` as CSV (header row; ``None`` as an empty field), atomically."""
        return _records.write_csv(self, path)

    def to_dataframe(self) -> Any:
        """:meth:`to_records` as a pandas DataFrame (needs the ``pandas`` extra: ``pip install gdjax[pandas]``)."""
        return _records.dataframe(self)


def best_of_k_table(
    successes: Any, ks: Sequence[int] | None = None, *, confidence: float = 0.95, seed: Any = None
) -> dict[str, list[Any]]:
    """:func:`best_of_k` at k = 1, 2, 4, ... up to the number of runs (or the given ``ks``).

    ``measured`` is the share of disjoint groups of ``k`` runs holding a
    success (``low``/``high`` its Wilson interval over ``groups`` groups),
    ``theory`` is ``1 - (1 - p)^k``, ``all_subsets`` the exact average over
    all ``k``-subsets (which follows the theory by construction).
    """
    n = int(np.size(successes))
    if ks is None:
        ks = [k for k in (2**i for i in range(32)) if k <= n]
    return best_of_k(successes, ks, confidence=confidence, seed=seed)


# ---------------------------------------------------------------- paired comparisons


class PairedSuccess(NamedTuple):
    """Paired success outcomes of two settings over the same restarts, with McNemar's exact test.

    ``both``, ``a_only``, ``b_only``, ``neither`` count the restarts by
    outcome pair; ``difference = a.p - b.p = (a_only - b_only) / N``;
    ``p_value`` is McNemar's exact two-sided test of equal success
    probabilities (:func:`gdjax.restarts.mcnemar_exact`).
    """

    threshold: float
    success_if: str
    a: SuccessRate
    b: SuccessRate
    difference: float
    both: int
    a_only: int
    b_only: int
    neither: int
    p_value: float


class PairedDifference(NamedTuple):
    """Per-restart differences ``a - b`` of one quantity, and their mean with intervals.

    ``differences`` has one entry per restart (NaN for a dropped pair);
    ``pairs`` were kept, ``dropped`` were not (either run diverged or its
    value is not finite). ``mean``, ``low``, ``high`` are the mean difference
    with its paired Student t interval and ``std`` the differences' sample
    standard deviation (NaN with fewer than two pairs); ``bootstrap_low``,
    ``bootstrap_high`` a percentile bootstrap interval of the mean (None
    unless asked for). ``success`` compares success rates (None without a
    ``threshold``). ``a`` and ``b`` are the grid points' values (None when two
    results were compared).
    """

    quantity: str
    a: dict[str, Any] | None
    b: dict[str, Any] | None
    differences: np.ndarray
    pairs: int
    dropped: int
    mean: float
    low: float
    high: float
    std: float
    confidence: float
    bootstrap_low: float | None
    bootstrap_high: float | None
    success: PairedSuccess | None


def _quantity(result: RestartsResult, quantity: Any) -> np.ndarray:
    named = _records.quantities(result)
    if not isinstance(quantity, str) or quantity not in named:
        raise ValueError(f"quantity must be one of {', '.join(map(repr, named))}; got {quantity!r}.")
    return named[quantity]


def paired_difference(
    result: RestartsResult | None,
    a: Any,
    b: Any,
    *,
    quantity: str = "final_loss",
    threshold: float | None = None,
    success_if: str = "<=",
    confidence: float = 0.95,
    bootstrap: int = 0,
    seed: Any = None,
) -> PairedDifference:
    """Compares two settings over the same restarts (common random numbers), pair by pair.

    In a sweep, grid point ``g`` and restart ``r`` start from restart ``r``'s
    initialisation (and data order), so restart ``r`` at two grid points is a
    matched pair: the per-restart difference removes the variation due to
    the start, and the paired analysis is far sharper than comparing two
    independent samples.

    Args:
      result: a sweep's :class:`RestartsResult`; then ``a`` and ``b`` are two
        of its grid points, each a dict ``{axis: value}`` naming every axis
        (e.g. ``{"lr": 0.1, "momentum": 0.9}``) or an index tuple. Or None:
        then ``a`` and ``b`` are two plain restart results with the same
        ``N``, paired by restart index (common random numbers when both ran
        with the same ``key``).
      quantity: ``"final_loss"``, ``"final_val_loss"``, a final training
        metric ``"<name>"`` or validation metric ``"val_<name>"`` (the column
        names of :meth:`RestartsResult.to_records`).
      threshold: when given, also compare success rates: a run succeeds when
        its quantity is ``<= threshold`` (``success_if="<="``, for losses) or
        ``>= threshold`` (``success_if=">="``, e.g. accuracy).
      confidence: level of the t and bootstrap intervals and of the success
        rates' Wilson intervals.
      bootstrap: number of bootstrap resamples of the mean difference (0: none);
        needs ``seed`` (an int or a ``numpy.random.Generator``).

    The continuous comparison: with ``d_r = a_r - b_r`` over the ``n`` kept
    pairs, the mean ``d̄`` and the paired t interval ``d̄ ± t_{(1+c)/2, n-1}
    s_d / sqrt(n)`` (Student 1908), optionally the percentile bootstrap
    (Efron and Tibshirani 1993). The success comparison: McNemar's exact test
    on the discordant pairs (McNemar 1947; a two-sided binomial test with
    probability 1/2) and the difference of the two success rates.

    Diverged runs: for the continuous quantity a pair is dropped when either
    run diverged or has a non-finite value (``dropped`` counts them); for
    success rates a diverged run is a failure and every pair is kept.

    Returns:
      A :class:`PairedDifference`.
    """
    if result is None:
        for name, side in (("a", a), ("b", b)):
            if not isinstance(side, RestartsResult) or len(side.batch_shape) != 1:
                shape = getattr(side, "batch_shape", None)
                raise ValueError(
                    f"{name} must be a RestartsResult of plain restarts (batch_shape (N,)) when result is None; "
                    f"got {type(side).__name__}" + (f" with batch_shape {shape}" if shape is not None else "") + "."
                )
        if a.num_restarts != b.num_restarts:
            raise ValueError(
                f"a and b must have the same number of restarts to be paired; got {a.num_restarts} and "
                f"{b.num_restarts}."
            )
        label_a = label_b = None
        values_a, values_b = _quantity(a, quantity), _quantity(b, quantity)
        diverged_a, diverged_b = np.asarray(a.diverged, bool), np.asarray(b.diverged, bool)
    else:
        if not isinstance(result, RestartsResult):
            raise ValueError(f"result must be a RestartsResult or None; got {type(result).__name__}.")
        if len(result.batch_shape) == 1:
            raise ValueError(
                "result has no grid (batch_shape (N,)): to compare two restart studies pass them as a and b "
                "with result=None."
            )
        _records.grid_shape(result)
        index_a = _records.grid_index(result.grid, a, "a")
        index_b = _records.grid_index(result.grid, b, "b")
        if index_a == index_b:
            raise ValueError(f"a and b must be two different grid points; both are {index_a}.")
        label_a = _records.point_values(result.grid, index_a)
        label_b = _records.point_values(result.grid, index_b)
        values = _quantity(result, quantity)
        diverged = np.asarray(result.diverged, bool)
        values_a, values_b = values[index_a], values[index_b]
        diverged_a, diverged_b = diverged[index_a], diverged[index_b]
    confidence = _check_confidence(confidence)
    bootstrap = check_int("bootstrap", bootstrap, minimum=0)
    if threshold is not None:
        threshold = _real("threshold", threshold)
    success_if = check_choice("success_if", success_if, ("<=", ">="))
    values_a, values_b = np.asarray(values_a, np.float64), np.asarray(values_b, np.float64)

    keep = ~diverged_a & ~diverged_b & np.isfinite(values_a) & np.isfinite(values_b)
    with np.errstate(invalid="ignore"):
        differences = np.where(keep, values_a - values_b, np.nan)
    t = mean_interval(differences[keep], confidence=confidence)
    boot_low = boot_high = None
    if bootstrap:
        boot_low, boot_high = bootstrap_mean_interval(
            differences[keep], resamples=bootstrap, seed=seed, confidence=confidence
        )

    success = None
    if threshold is not None:
        with np.errstate(invalid="ignore"):
            ok_a = ~diverged_a & (values_a <= threshold if success_if == "<=" else values_a >= threshold)
            ok_b = ~diverged_b & (values_b <= threshold if success_if == "<=" else values_b >= threshold)
        a_only, b_only = int(np.sum(ok_a & ~ok_b)), int(np.sum(~ok_a & ok_b))
        rate_a = success_rate(ok_a, confidence=confidence)
        rate_b = success_rate(ok_b, confidence=confidence)
        success = PairedSuccess(
            threshold,
            success_if,
            rate_a,
            rate_b,
            rate_a.p - rate_b.p,
            int(np.sum(ok_a & ok_b)),
            a_only,
            b_only,
            int(np.sum(~ok_a & ~ok_b)),
            mcnemar_exact(a_only, b_only),
        )
    return PairedDifference(
        quantity,
        label_a,
        label_b,
        differences,
        int(keep.sum()),
        int((~keep).sum()),
        t.mean,
        t.low,
        t.high,
        t.std,
        confidence,
        boot_low,
        boot_high,
        success,
    )

"""Statistics of random restarts.

With ``S`` successes among ``N`` independent restarts:

- the single-start success probability is estimated by ``p = S / N`` with the
  Wilson score interval (Wilson, 1927)

      (p + z²/2N ± z sqrt(p(1-p)/N + z²/4N²)) / (1 + z²/N),

  which, unlike the normal approximation, stays inside [0, 1] and is not
  degenerate at ``S = 0`` or ``S = N``;
- the chance that at least one of ``k`` restarts succeeds is, in theory,
  ``1 - (1 - p)^k``; it is *measured* as the share of all ``k``-subsets of the
  ``N`` runs that contain a success, ``1 - C(N - S, k) / C(N, k)`` (the exact
  average over every way of picking ``k`` of the runs, so no resampling noise).

Diverged runs count as failures for success rates and are left out of the
distribution of final values (their value is not a number).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np

from gdjax._checks import check_int, check_range


class SuccessRate(NamedTuple):
    """``p = successes / trials`` with its Wilson confidence interval ``[low, high]``."""

    p: float
    low: float
    high: float
    successes: int
    trials: int
    confidence: float


def success_rate(successes: Any, *, confidence: float = 0.95) -> SuccessRate:
    """The success probability of a single restart from a boolean array of outcomes."""
    check_range("confidence", confidence, low=0.0, high=1.0, low_inclusive=False, high_inclusive=False)
    outcomes = np.asarray(successes, bool).ravel()
    n = outcomes.size
    if n == 0:
        raise ValueError("successes must hold at least one outcome; got none.")
    s = int(outcomes.sum())
    p = s / n
    z = _normal_quantile(0.5 + confidence / 2)
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    # The interval always contains p (rounding could otherwise put 1 - 1e-16 below p = 1).
    return SuccessRate(p, min(p, max(0.0, centre - half)), max(p, min(1.0, centre + half)), s, n, confidence)


def best_of_k(successes: Any, ks: Sequence[int]) -> dict[str, list[float]]:
    """Measured and theoretical chance that at least one of ``k`` restarts succeeds.

    Returns ``{"k": [...], "measured": [...], "theory": [...]}`` where
    ``measured[i] = 1 - C(N - S, k) / C(N, k)`` over the observed runs and
    ``theory[i] = 1 - (1 - p)^k`` with ``p = S / N``.
    """
    outcomes = np.asarray(successes, bool).ravel()
    n, s = outcomes.size, int(outcomes.sum())
    if n == 0:
        raise ValueError("successes must hold at least one outcome; got none.")
    ks = [check_int("k", k, minimum=1, maximum=n) for k in ks]
    p = s / n
    # C(N-S, k)/C(N, k) = prod_{j<k} (N-S-j)/(N-j): a stable running product.
    measured = []
    for k in ks:
        j = np.arange(k)
        none = float(np.prod(np.clip((n - s - j) / (n - j), 0.0, None)))
        measured.append(1.0 - none)
    return {"k": ks, "measured": measured, "theory": [1.0 - (1.0 - p) ** k for k in ks]}


class ValueSummary(NamedTuple):
    """The distribution of final values of the finite (non-diverged) runs."""

    count: int
    diverged: int
    min: float
    median: float
    mean: float
    std: float
    max: float
    q05: float
    q95: float


def summarize_values(values: Any, diverged: Any = None) -> ValueSummary:
    """Summary of final values, leaving out diverged or non-finite runs (counted apart)."""
    values = np.asarray(values, np.float64).ravel()
    bad = ~np.isfinite(values)
    if diverged is not None:
        bad |= np.asarray(diverged, bool).ravel()
    good = values[~bad]
    if good.size == 0:
        nan = float("nan")
        return ValueSummary(0, int(bad.sum()), nan, nan, nan, nan, nan, nan, nan)
    q05, median, q95 = np.quantile(good, [0.05, 0.5, 0.95])
    return ValueSummary(
        int(good.size),
        int(bad.sum()),
        float(good.min()),
        float(median),
        float(good.mean()),
        float(good.std()),
        float(good.max()),
        float(q05),
        float(q95),
    )


def _normal_quantile(q: float) -> float:
    """Inverse standard normal CDF by bisection on ``erf`` (exact to ~1e-12; no SciPy needed)."""
    low, high = -40.0, 40.0
    for _ in range(200):
        mid = (low + high) / 2
        if 0.5 * (1 + math.erf(mid / math.sqrt(2))) < q:
            low = mid
        else:
            high = mid
    return (low + high) / 2

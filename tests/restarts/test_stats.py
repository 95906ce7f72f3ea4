"""Statistics of restarts: Student t without SciPy, k_for, best-of-k from disjoint groups, McNemar, intervals."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gdjax.restarts import (
    RestartsNeeded,
    best_of_k,
    best_of_k_all_subsets,
    best_of_k_groups,
    best_of_k_table,
    bootstrap_mean_interval,
    k_for,
    mcnemar_exact,
    mean_interval,
    student_t_cdf,
    student_t_quantile,
    success_rate,
)
from gdjax.restarts._stats import _betainc

Z975 = 1.959963984540054  # the standard normal 0.975 quantile


# ---------------------------------------------------------------- Student t


@pytest.mark.parametrize(
    ("q", "df", "tabulated"),
    [
        (0.975, 9, 2.262157),
        (0.975, 29, 2.045230),
        (0.975, 4, 2.776445),
        (0.95, 5, 2.015048),
        (0.995, 10, 3.169273),
        (0.9, 1, 3.077684),
        (0.975, 120, 1.979930),
    ],
)
def test_t_quantile_matches_tables(q, df, tabulated):
    assert student_t_quantile(q, df) == pytest.approx(tabulated, abs=1e-6)
    assert student_t_quantile(1 - q, df) == pytest.approx(-tabulated, abs=1e-6)


@pytest.mark.parametrize("q", [0.6, 0.9, 0.975, 0.999, 1 - 1e-9])
def test_t_quantile_closed_forms_for_one_and_two_degrees_of_freedom(q):
    # df = 1 is the Cauchy distribution: t = tan(pi (q - 1/2)) = 1 / tan(pi (1 - q)).
    assert student_t_quantile(q, 1) == pytest.approx(1 / math.tan(math.pi * (1 - q)), rel=1e-9)
    # df = 2: F(t) = 1/2 + t / (2 sqrt(2 + t^2)), so t = (2q - 1) / sqrt(2 q (1 - q)).
    assert student_t_quantile(q, 2) == pytest.approx((2 * q - 1) / math.sqrt(2 * q * (1 - q)), rel=1e-9)


@pytest.mark.parametrize("t", [-30.0, -2.0, -0.3, 0.0, 0.7, 2.5, 100.0])
def test_t_cdf_closed_forms(t):
    assert student_t_cdf(t, 1) == pytest.approx(0.5 + math.atan(t) / math.pi, abs=1e-13)
    assert student_t_cdf(t, 2) == pytest.approx(0.5 + t / (2 * math.sqrt(2 + t * t)), abs=1e-13)
    # df = 3: F(t) = 1/2 + (t / (sqrt(3) (1 + t^2/3)) + atan(t / sqrt(3))) / pi.
    s3 = math.sqrt(3)
    assert student_t_cdf(t, 3) == pytest.approx(0.5 + (t / (s3 * (1 + t * t / 3)) + math.atan(t / s3)) / math.pi)


def test_t_tends_to_the_normal():
    assert student_t_quantile(0.975, 1e7) == pytest.approx(Z975, abs=1e-6)
    assert student_t_quantile(0.975, math.inf) == pytest.approx(Z975, abs=1e-12)
    assert student_t_cdf(1.0, math.inf) == pytest.approx(0.8413447460685429, abs=1e-14)
    assert student_t_quantile(0.5, 3) == 0.0


@settings(max_examples=60, deadline=None)
@given(q=st.floats(0.501, 0.9999), df=st.floats(0.5, 500.0))
def test_t_quantile_inverts_the_cdf_and_falls_with_df(q, df):
    t = student_t_quantile(q, df)
    assert student_t_cdf(t, df) == pytest.approx(q, abs=1e-12)
    assert student_t_quantile(1 - q, df) == pytest.approx(-t, rel=1e-9)
    assert t >= student_t_quantile(q, df + 1.0) > 0


def test_incomplete_beta_exact_cases():
    # I_x(a, 1) = x^a, I_x(1, b) = 1 - (1 - x)^b, I_x(2, 2) = 3x^2 - 2x^3, I_{1/2}(a, a) = 1/2.
    for x in (0.01, 0.3, 0.5, 0.9, 0.999):
        assert _betainc(3.5, 1.0, x) == pytest.approx(x**3.5, rel=1e-12)
        assert _betainc(1.0, 4.0, x) == pytest.approx(1 - (1 - x) ** 4, rel=1e-12)
        assert _betainc(2.0, 2.0, x) == pytest.approx(3 * x * x - 2 * x**3, rel=1e-12)
    assert _betainc(7.3, 7.3, 0.5) == pytest.approx(0.5, abs=1e-14)
    assert _betainc(2.0, 3.0, 0.0) == 0.0 and _betainc(2.0, 3.0, 1.0) == 1.0


def test_t_and_beta_against_scipy():
    stats = pytest.importorskip("scipy.stats")
    special = pytest.importorskip("scipy.special")
    for q in (0.55, 0.8, 0.95, 0.975, 0.9995):
        for df in (0.7, 1, 3, 9.5, 40, 1000):
            assert student_t_quantile(q, df) == pytest.approx(stats.t.ppf(q, df), rel=1e-10)
    rng = np.random.default_rng(0)
    for a, b, x in rng.uniform([0.1, 0.1, 0.0], [30, 30, 1], size=(200, 3)):
        assert _betainc(a, b, x) == pytest.approx(special.betainc(a, b, x), abs=1e-12)


def test_t_bad_input():
    with pytest.raises(ValueError, match="q must be in \\(0, 1\\); got 1.0"):
        student_t_quantile(1.0, 3)
    with pytest.raises(ValueError, match="df must be a positive real number"):
        student_t_quantile(0.9, 0)
    with pytest.raises(ValueError, match="df must be a positive real number"):
        student_t_cdf(0.9, float("nan"))
    with pytest.raises(ValueError, match="q must be a finite real number; got nan"):
        student_t_quantile(float("nan"), 3)


# ---------------------------------------------------------------- k_for


def test_k_for_exact_cases():
    # 1 - 0.7^12 = 0.98616 < 0.99 <= 1 - 0.7^13 = 0.99031
    assert k_for(0.3, 0.99) == 13
    assert k_for(0.5, 0.75) == 2  # exactly on the boundary: 1 - 0.5^2 = 0.75
    assert k_for(0.5, 0.7500001) == 3
    assert k_for(0.1, 0.19) == 2  # 1 - 0.9^2 = 0.19, not lost to binary rounding
    assert k_for(0.9, 0.5) == 1
    assert k_for(1.0, 0.999) == 1
    assert k_for(1e-6, 0.5) == 693147  # ceil(ln 2 / -ln(1 - 1e-6)) = ceil(693146.83)
    assert isinstance(k_for(0.3, 0.99), int)


@settings(max_examples=200, deadline=None)
@given(p=st.floats(1e-4, 1.0), target=st.floats(1e-3, 0.999))
def test_k_for_is_the_smallest_k(p, target):
    k = k_for(p, target)
    assert 1 - (1 - p) ** k >= target - 1e-9
    if k > 1:
        assert 1 - (1 - p) ** (k - 1) < target + 1e-9


def test_k_for_success_rate_uses_the_wilson_bounds():
    rate = success_rate([True] * 5 + [False] * 15)  # p = 0.25
    needed = k_for(rate, 0.9)
    assert isinstance(needed, RestartsNeeded)
    assert needed.k == 9  # ln(0.1)/ln(0.75) = 8.004
    assert needed.pessimistic == k_for(rate.low, 0.9) and needed.optimistic == k_for(rate.high, 0.9)
    assert needed.pessimistic > needed.k > needed.optimistic >= 1
    assert needed.target == 0.9 and needed.rate is rate
    both = success_rate([True, True])  # p = 1, low = 2 / (2 + z^2)
    assert k_for(both, 0.99) == RestartsNeeded(1, k_for(2 / (2 + Z975**2), 0.99), 1, 0.99, both)


def test_k_for_bad_input():
    with pytest.raises(ValueError, match="p is 0: no number of restarts reaches target 0.99"):
        k_for(0.0, 0.99)
    with pytest.raises(ValueError, match=r"p is 0 \(0 successes in 10\): no number of restarts reaches"):
        k_for(success_rate([False] * 10), 0.99)
    with pytest.raises(ValueError, match=r"target must be in \(0, 1\).*got 1.0"):
        k_for(0.5, 1.0)
    with pytest.raises(ValueError, match=r"target must be in \(0, 1\).*got 0.0"):
        k_for(0.5, 0)
    with pytest.raises(ValueError, match="target must be a finite real number; got nan"):
        k_for(0.5, float("nan"))
    with pytest.raises(ValueError, match=r"p must be a probability in \[0, 1\]; got 1.5"):
        k_for(1.5, 0.9)
    with pytest.raises(ValueError, match="p must be a real number; got True"):
        k_for(True, 0.9)


# ---------------------------------------------------------------- best of k


def test_best_of_k_groups_exact_small_case():
    outcomes = np.array([0, 0, 1, 0, 0, 0, 0, 0, 1, 1, 0, 0, 0], bool)  # N = 13, S = 3
    rate = best_of_k_groups(outcomes, 4)  # groups [0010] [0000] [1100]; the 13th run is left out
    assert (rate.successes, rate.trials, rate.p) == (2, 3, pytest.approx(2 / 3))
    assert rate == success_rate([True, False, True])
    assert best_of_k_groups(outcomes, 1).p == pytest.approx(3 / 13)
    assert best_of_k_groups(outcomes, 13) == success_rate([True])


def test_disjoint_groups_see_dependence_that_all_subsets_cannot():
    clustered = np.array([1] * 16 + [0] * 48, bool)  # p = 1/4, the successes all in the first 16 runs
    table = best_of_k(clustered, [1, 4])
    assert table["measured"] == [0.25, 0.25]  # 4 of the 16 groups of four hold the successes
    assert table["groups"] == [64, 16]
    assert table["theory"][1] == pytest.approx(1 - 0.75**4)  # 0.684
    # all subsets: 1 - C(48, 4) / C(64, 4) = 1 - 194580/635376, whatever the order of the runs
    assert table["all_subsets"][1] == pytest.approx(1 - 194580 / 635376)
    groups = success_rate([1] * 4 + [0] * 12)
    assert (table["low"][1], table["high"][1]) == pytest.approx((groups.low, groups.high))
    assert table["high"][1] < table["theory"][1]  # the Wilson interval over the groups excludes the theory


def test_best_of_k_all_subsets_closed_form():
    assert best_of_k_all_subsets([1, 0, 0, 0], [1, 2, 3, 4]) == pytest.approx([0.25, 0.5, 0.75, 1.0])
    assert best_of_k_all_subsets([0, 0, 0], [2]) == [0.0]


def test_seeded_permutation():
    outcomes = np.array([1] * 4 + [0] * 12, bool)
    perm = np.random.default_rng(5).permutation(16)
    assert best_of_k_groups(outcomes[perm], 4) != best_of_k_groups(outcomes, 4)  # the permutation matters here
    assert best_of_k_groups(outcomes, 4, seed=5) == best_of_k_groups(outcomes[perm], 4)
    assert best_of_k_groups(outcomes, 4, seed=np.random.default_rng(5)) == best_of_k_groups(outcomes, 4, seed=5)
    table = best_of_k(outcomes, [2, 4], seed=5)  # one permutation for every k
    assert table["measured"] == [best_of_k_groups(outcomes[perm], k).p for k in (2, 4)]


@settings(max_examples=50, deadline=None)
@given(st.lists(st.booleans(), min_size=32, max_size=32), st.integers(0, 3))
def test_best_of_k_table_nests_and_rises_for_a_power_of_two(outcomes, seed):
    table = best_of_k_table(outcomes, seed=seed)
    assert table["k"] == [1, 2, 4, 8, 16, 32] and table["groups"] == [32, 16, 8, 4, 2, 1]
    assert set(table) == {"k", "measured", "low", "high", "groups", "theory", "all_subsets"}
    assert table["measured"][0] == pytest.approx(np.mean(outcomes))
    assert table["measured"][-1] == float(any(outcomes))
    assert np.all(np.diff(table["measured"]) >= 0)
    assert all(lo <= m <= hi for lo, m, hi in zip(table["low"], table["measured"], table["high"]))


def test_best_of_k_bad_input():
    with pytest.raises(ValueError, match="k must be <= 4; got 5"):
        best_of_k_groups([1, 0, 0, 1], 5)
    with pytest.raises(ValueError, match="successes must hold booleans"):
        best_of_k_groups([1.0, np.nan], 1)
    with pytest.raises(ValueError, match="seed must be >= 0"):
        best_of_k([1, 0], [1], seed=-1)


# ---------------------------------------------------------------- success rate, McNemar, intervals


@pytest.mark.parametrize("n", [4, 10, 100])
def test_wilson_closed_forms(n):
    # S = 0: [0, z^2/(n + z^2)]; S = n: [n/(n + z^2), 1]; S = n/2: 1/2 -+ z / (2 sqrt(n + z^2)).
    z2 = Z975**2
    assert success_rate([False] * n)[:3] == pytest.approx((0.0, 0.0, z2 / (n + z2)))
    assert success_rate([True] * n)[:3] == pytest.approx((1.0, n / (n + z2), 1.0))
    half = Z975 / (2 * math.sqrt(n + z2))
    assert success_rate([True, False] * (n // 2))[:3] == pytest.approx((0.5, 0.5 - half, 0.5 + half))


def test_mcnemar_exact_small_cases():
    assert mcnemar_exact(1, 9) == 22 / 1024  # 2 (C(10,0) + C(10,1)) / 2^10
    assert mcnemar_exact(9, 1) == 22 / 1024
    assert mcnemar_exact(0, 5) == 2 / 32
    assert mcnemar_exact(3, 3) == 1.0 and mcnemar_exact(0, 0) == 1.0 and mcnemar_exact(0, 1) == 1.0
    assert mcnemar_exact(0, 2000) == 0.0 or mcnemar_exact(0, 2000) < 1e-300
    with pytest.raises(ValueError, match="a_only must be >= 0; got -1"):
        mcnemar_exact(-1, 3)


def test_mcnemar_against_scipy():
    stats = pytest.importorskip("scipy.stats")
    for a, b in [(1, 9), (4, 11), (20, 33), (7, 8), (0, 12)]:
        assert mcnemar_exact(a, b) == pytest.approx(stats.binomtest(a, a + b, 0.5).pvalue, rel=1e-12)


def test_mean_interval_by_hand():
    d = [0.5, 0.5, -0.5, 2.0, 1.0]  # mean 0.7, sum of squared deviations 3.3, s^2 = 0.825
    m = mean_interval(d)
    half = 2.7764451051977987 * math.sqrt(0.825 / 5)  # t_{0.975, 4}
    assert m.mean == pytest.approx(0.7) and m.std == pytest.approx(math.sqrt(0.825)) and m.count == 5
    assert (m.low, m.high) == pytest.approx((0.7 - half, 0.7 + half))
    one = mean_interval([3.0])
    assert one.mean == 3.0 and math.isnan(one.low) and math.isnan(one.high) and one.count == 1
    with pytest.raises(ValueError, match="values must be finite"):
        mean_interval([1.0, np.nan])


def test_bootstrap_interval():
    # From [0, 1] the resampled means are 0, 1/2, 1 with chances 1/4, 1/2, 1/4: the 95% interval is [0, 1].
    assert bootstrap_mean_interval([0.0, 1.0], resamples=4000, seed=0) == (0.0, 1.0)
    assert bootstrap_mean_interval([0.5] * 7, resamples=100, seed=1) == (0.5, 0.5)
    x = np.random.default_rng(2).normal(size=50)
    a = bootstrap_mean_interval(x, resamples=500, seed=3)
    assert a == bootstrap_mean_interval(x, resamples=500, seed=np.random.default_rng(3))
    assert a[0] < x.mean() < a[1]
    with pytest.raises(ValueError, match="seed must be an int or a numpy.random.Generator"):
        bootstrap_mean_interval(x, resamples=10, seed=None)
    with pytest.raises(ValueError, match="resamples must be >= 1; got 0"):
        bootstrap_mean_interval(x, resamples=0, seed=1)

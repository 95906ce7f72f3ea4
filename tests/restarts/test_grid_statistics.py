"""Per-grid-point success rates and loss summaries, and paired comparisons of grid points (hand-built results)."""

import math

import numpy as np
import pytest
from _fake import fake_result

from gdjax.restarts import (
    PairedDifference,
    SuccessRate,
    SuccessTable,
    SummaryTable,
    ValueSummary,
    paired_difference,
    success_rate,
)

Z2 = 1.959963984540054**2  # z_{0.975}^2
NAN = float("nan")

# lr x momentum = 2 x 3 grid points, 4 restarts each.
GRID = {"lr": [0.1, 0.3], "momentum": [0.0, 0.9, 0.99]}
LOSS = [
    [[0.5, 0.5, 2.0, 2.0], [0.1, 0.2, 0.3, 0.4], [5.0, 6.0, 7.0, 8.0]],
    [[0.5, NAN, 3.0, 0.9], [1.0, 1.0, 1.0, 1.0], [0.9, 2.0, 2.0, 2.0]],
]
DIVERGED = np.zeros((2, 3, 4), bool)
DIVERGED[1, 0, 1] = True  # NaN loss
DIVERGED[1, 2, 0] = True  # flagged with a finite last loss: still a failure, still left out


@pytest.fixture
def sweep_result():
    return fake_result(LOSS, grid=GRID, diverged=DIVERGED, val_loss=np.asarray(LOSS) + 1.0)


def test_success_per_grid_point(sweep_result):
    table = sweep_result.success(1.0)
    assert isinstance(table, SuccessTable) and table.shape == (2, 3)
    np.testing.assert_array_equal(table.successes, [[2, 4, 0], [2, 4, 0]])  # 1.0 <= 1.0 counts
    np.testing.assert_array_equal(table.trials, np.full((2, 3), 4))
    np.testing.assert_allclose(table.p, [[0.5, 1.0, 0.0], [0.5, 1.0, 0.0]])
    # Wilson closed forms for n = 4: S = 2: 1/2 -+ z/(2 sqrt(4 + z^2)); S = 4: low 4/(4 + z^2);
    # S = 0: high z^2/(4 + z^2).
    half = math.sqrt(Z2) / (2 * math.sqrt(4 + Z2))
    np.testing.assert_allclose(table.low[:, 0], 0.5 - half)
    np.testing.assert_allclose(table.high[:, 0], 0.5 + half)
    np.testing.assert_allclose(table.low[:, 1], 4 / (4 + Z2))
    np.testing.assert_allclose(table.high[:, 2], Z2 / (4 + Z2))
    np.testing.assert_allclose(table.coords["lr"], [[0.1] * 3, [0.3] * 3])
    np.testing.assert_allclose(table.coords["momentum"], [[0.0, 0.9, 0.99]] * 2)
    assert table.at({"lr": 0.3, "momentum": 0.9}) == SuccessRate(1.0, 4 / (4 + Z2), 1.0, 4, 4, 0.95)
    assert table.at((1, 1)) == table.at({"lr": 0.3, "momentum": 0.9})
    assert table.at((0, 0)) == success_rate([True, True, False, False])
    rows = table.to_records()
    assert len(rows) == 6 and rows[1] == {"lr": 0.1, "momentum": 0.9} | success_rate([True] * 4)._asdict()
    assert sweep_result.success(2.0, validation=True).successes.tolist() == [[2, 4, 0], [2, 4, 0]]


def test_success_pooled_and_plain_restarts_keep_one_rate(sweep_result):
    assert sweep_result.success(1.0, pooled=True) == success_rate([True] * 12 + [False] * 12)
    plain = fake_result([0.2, 3.0, NAN, 0.7], diverged=[False, False, True, False])
    rate = plain.success(1.0)
    assert isinstance(rate, SuccessRate) and (rate.successes, rate.trials) == (2, 4)
    summary = plain.loss_summary()
    assert isinstance(summary, ValueSummary) and (summary.count, summary.diverged) == (3, 1)
    assert summary.median == 0.7


def test_loss_summary_per_grid_point(sweep_result):
    table = sweep_result.loss_summary()
    assert isinstance(table, SummaryTable) and table.shape == (2, 3)
    np.testing.assert_array_equal(table.count, [[4, 4, 4], [3, 4, 3]])
    np.testing.assert_array_equal(table.diverged, [[0, 0, 0], [1, 0, 1]])
    np.testing.assert_allclose(table.mean, [[1.25, 0.25, 6.5], [4.4 / 3, 1.0, 2.0]])
    np.testing.assert_allclose(table.median, [[1.25, 0.25, 6.5], [0.9, 1.0, 2.0]])
    np.testing.assert_allclose(table.min[1], [0.5, 1.0, 2.0])
    one = table.at({"lr": 0.1, "momentum": 0.99})  # [5, 6, 7, 8]: quantiles interpolate at 0.05 x 3 = 0.15
    assert isinstance(one, ValueSummary)
    assert tuple(one) == pytest.approx((4, 0, 5.0, 6.5, 6.5, math.sqrt(1.25), 8.0, 5.15, 7.85))
    assert sweep_result.loss_summary(validation=True).mean[0, 1] == pytest.approx(1.25)
    assert sweep_result.loss_summary(pooled=True).count == 22
    assert table.to_records()[3] == {"lr": 0.3, "momentum": 0.0} | table.at((1, 0))._asdict()


def test_threshold_and_grid_point_checks(sweep_result):
    for bad in (NAN, "0.5", True, 1j, None, math.inf):
        with pytest.raises(ValueError, match="threshold must be a"):
            sweep_result.success(bad)
    plain = fake_result([0.2, 3.0])
    with pytest.raises(ValueError, match="threshold must be a finite real number; got nan"):
        plain.success(NAN)
    with pytest.raises(ValueError, match="validation=True needs validation data"):
        plain.success(1.0, validation=True)
    with pytest.raises(ValueError, match="confidence must be < 1.0"):
        plain.success(1.0, confidence=1.0)
    table = sweep_result.success(1.0)
    with pytest.raises(ValueError, match=r"unknown axis 'learning_rate'.*Choices: 'lr': \[0.1, 0.3\]; 'momentum'"):
        table.at({"learning_rate": 0.1, "momentum": 0.0})
    with pytest.raises(ValueError, match=r"no value for axis 'momentum'"):
        table.at({"lr": 0.1})
    with pytest.raises(ValueError, match=r"point\['lr'\] must be one of the grid's values \[0.1, 0.3\]; got 0.2"):
        table.at({"lr": 0.2, "momentum": 0.0})
    with pytest.raises(ValueError, match=r"point index along 'momentum' must be in \[0, 2\]; got 3"):
        table.at((0, 3))
    with pytest.raises(ValueError, match=r"an index tuple of length 2 \(grid shape \(2, 3\)\); got \[0, 1\]"):
        table.at([0, 1])
    broken = fake_result(np.zeros((2, 3)), grid={"lr": [0.1, 0.2, 0.3]})
    with pytest.raises(ValueError, match=r"result.grid must have one axis per leading axis of batch_shape \(2, 3\)"):
        broken.success(1.0)


def test_float32_grid_values_match():
    result = fake_result(np.zeros((2, 2)), grid={"lr": np.array([0.1, 0.3], np.float32)})
    assert result.success(0.5).at({"lr": 0.3}).successes == 2
    assert result.success(0.5).at(1).trials == 2  # an int addresses a one-axis grid


# ---------------------------------------------------------------- paired comparisons

A = [1.0, 2.0, 3.0, 4.0, 5.0]
B = [0.5, 1.5, 3.5, 2.0, 4.0]  # A - B = [0.5, 0.5, -0.5, 2, 1]: mean 0.7, s^2 = 3.3/4
T975_4 = 2.7764451051977987  # t_{0.975, 4}
T975_2 = 4.302652729749464  # t_{0.975, 2}


def _pair_result(diverged=None, **extra):
    return fake_result([A, B], grid={"lr": [0.1, 0.3]}, diverged=diverged, **extra)


def test_paired_difference_by_hand():
    result = _pair_result(val_metrics={"accuracy": [[0.9, 0.8, 0.7, 0.9, 1.0], [0.8, 0.8, 0.9, 0.6, 0.9]]})
    d = paired_difference(result, {"lr": 0.1}, {"lr": 0.3})
    assert isinstance(d, PairedDifference) and d.quantity == "final_loss"
    assert d.a == {"lr": 0.1} and d.b == {"lr": 0.3}
    np.testing.assert_allclose(d.differences, [0.5, 0.5, -0.5, 2.0, 1.0])
    assert (d.pairs, d.dropped) == (5, 0)
    half = T975_4 * math.sqrt(0.825 / 5)
    assert d.mean == pytest.approx(0.7) and d.std == pytest.approx(math.sqrt(0.825))
    assert (d.low, d.high) == pytest.approx((0.7 - half, 0.7 + half))
    assert d.bootstrap_low is None and d.success is None
    assert paired_difference(result, (1,), (0,)).mean == pytest.approx(-0.7)
    acc = paired_difference(result, {"lr": 0.1}, {"lr": 0.3}, quantity="val_accuracy", threshold=0.85, success_if=">=")
    np.testing.assert_allclose(acc.differences, [0.1, 0.0, -0.2, 0.3, 0.1])
    s = acc.success  # a: [T, F, F, T, T], b: [F, F, T, F, T]
    assert (s.both, s.a_only, s.b_only, s.neither) == (1, 2, 1, 1)
    assert s.difference == pytest.approx(0.6 - 0.4) and s.p_value == 1.0  # 2 (C(3,0) + C(3,1)) / 8 > 1
    assert s.a == success_rate([1, 0, 0, 1, 1]) and s.b == success_rate([0, 0, 1, 0, 1])


def test_paired_success_mcnemar():
    a = [0.1] * 10 + [2.0] * 2  # 10 successes at threshold 1
    b = [2.0] * 9 + [0.1] * 3  # the first nine fail
    result = fake_result([a, b], grid={"lr": [0.1, 0.3]})
    s = paired_difference(result, {"lr": 0.1}, {"lr": 0.3}, threshold=1.0).success
    assert (s.both, s.a_only, s.b_only, s.neither) == (1, 9, 2, 0)
    assert s.p_value == 2 * (1 + 11 + 55) / 2**11  # two-sided binomial test: 2 P(X <= 2), X ~ Bin(11, 1/2)
    assert s.difference == pytest.approx(10 / 12 - 3 / 12) and s.threshold == 1.0 and s.success_if == "<="


def test_diverged_runs_are_dropped_pairwise_and_fail():
    diverged = np.zeros((2, 5), bool)
    diverged[1, 2] = True  # b's restart 2 diverged: pair 2 dropped
    diverged[0, 4] = True  # a's restart 4 diverged although its loss is finite: pair 4 dropped, a fails there
    d = paired_difference(_pair_result(diverged), {"lr": 0.1}, {"lr": 0.3}, threshold=5.0)
    np.testing.assert_allclose(d.differences, [0.5, 0.5, NAN, 2.0, NAN])
    assert (d.pairs, d.dropped) == (3, 2)
    assert d.mean == pytest.approx(1.0) and d.std == pytest.approx(math.sqrt(0.75))  # deviations -.5 -.5 1
    assert d.high - d.mean == pytest.approx(T975_2 * math.sqrt(0.75 / 3))  # 3 pairs: df = 2
    s = d.success  # a: [T, T, T, T, F (diverged, 5 <= 5)], b: [T, T, F (diverged), T, T]
    assert (s.both, s.a_only, s.b_only, s.neither) == (3, 1, 1, 0)
    assert s.a.successes == 4 and s.b.successes == 4 and s.a.trials == 5


def test_paired_difference_of_two_restart_results_and_bootstrap():
    a, b = fake_result(A), fake_result(B)
    d = paired_difference(None, a, b, bootstrap=2000, seed=0)
    assert d.a is None and d.mean == pytest.approx(0.7)
    assert d.bootstrap_low < d.mean < d.bootstrap_high
    assert d.bootstrap_low >= -0.5 and d.bootstrap_high <= 2.0  # inside the range of the differences
    again = paired_difference(None, a, b, bootstrap=2000, seed=np.random.default_rng(0))
    assert (again.bootstrap_low, again.bootstrap_high) == (d.bootstrap_low, d.bootstrap_high)
    same = paired_difference(None, fake_result([1.0, 2.0, 3.0]), fake_result([0.5, 1.5, 2.5]), bootstrap=50, seed=1)
    assert (same.low, same.mean, same.high) == (0.5, 0.5, 0.5)
    assert (same.bootstrap_low, same.bootstrap_high) == (0.5, 0.5)


def test_paired_difference_checks():
    result = _pair_result(val_loss=np.ones((2, 5)))
    with pytest.raises(ValueError, match=r"a\['lr'\] must be one of the grid's values \[0.1, 0.3\]; got 0.2"):
        paired_difference(result, {"lr": 0.2}, {"lr": 0.3})
    with pytest.raises(ValueError, match=r"b must give a value for every grid axis \('lr'\).*unknown axis 'rate'"):
        paired_difference(result, {"lr": 0.1}, {"rate": 0.3})
    with pytest.raises(ValueError, match="a and b must be two different grid points; both are \\(0,\\)"):
        paired_difference(result, {"lr": 0.1}, (0,))
    with pytest.raises(ValueError, match="quantity must be one of 'final_loss', 'final_val_loss'; got 'accuracy'"):
        paired_difference(result, (0,), (1,), quantity="accuracy")
    with pytest.raises(ValueError, match="seed must be an int or a numpy.random.Generator"):
        paired_difference(result, (0,), (1,), bootstrap=10)
    with pytest.raises(ValueError, match="success_if must be one of '<=', '>='; got '<'"):
        paired_difference(result, (0,), (1,), threshold=1.0, success_if="<")
    with pytest.raises(ValueError, match="threshold must be a finite real number; got nan"):
        paired_difference(result, (0,), (1,), threshold=NAN)
    with pytest.raises(ValueError, match=r"result has no grid \(batch_shape \(N,\)\)"):
        paired_difference(fake_result(A), (0,), (1,))
    with pytest.raises(
        ValueError, match=r"a must be a RestartsResult of plain restarts \(batch_shape \(N,\)\).*\(2, 5\)"
    ):
        paired_difference(None, result, fake_result(A))
    with pytest.raises(ValueError, match="a and b must have the same number of restarts to be paired; got 5 and 3"):
        paired_difference(None, fake_result(A), fake_result(A[:3]))

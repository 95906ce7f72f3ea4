"""The random-restarts study in quick mode: its numbers and every sentence of its findings."""

import json

import numpy as np
import pytest

from gdjax._io import to_json
from gdjax.restarts import best_of_k_groups, k_for, success_rate
from gdjax.studies import FigureWriter, StudyContext
from gdjax.studies import restarts as study
from gdjax.studies._study import findings_of, section_markdown
from gdjax.studies.restarts import LEARNING_RATES, MIN_GROUPS, best_of_k, restarts_needed


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    return study.compute(StudyContext(out_dir=tmp_path_factory.mktemp("restarts"), quick=True, seed=0))


@pytest.fixture(scope="module")
def claims(results):
    return study.claims(results)


def _series(r):
    return list(r.functions.values()) + [r.xor, r.heart]


def test_rates_tables_and_restarts_needed(results):
    r = results
    assert set(r.functions) == set(LEARNING_RATES)
    for runs in _series(r):
        rate = runs.rate
        assert rate.low - 1e-12 <= rate.p <= rate.high + 1e-12 and rate.trials == runs.n_restarts
        table = runs.best_of_k
        # Disjoint groups of k (powers of two dividing N: nested groups, so measured cannot fall with k).
        assert table["k"][0] == 1 and table["measured"][0] == pytest.approx(rate.p)
        assert table["groups"] == [runs.n_restarts // k for k in table["k"]]
        assert min(table["groups"]) >= MIN_GROUPS
        assert np.all(np.diff(table["measured"]) >= -1e-12)
        np.testing.assert_allclose(table["theory"], [1 - (1 - rate.p) ** k for k in table["k"]])
        # Restarts needed: gdjax.restarts.k_for at p and at the interval's bounds.
        if rate.successes:
            needed = k_for(rate, study.TARGET)
            assert runs.needed == (needed.k, needed.pessimistic, needed.optimistic)
        else:
            assert runs.needed.k is None
    assert r.functions["himmelblau"].needed.k == 1


def test_known_success_probabilities(results, claims):
    f = results.functions
    # w^4 - 3w^3 + 2 on [-1.5, 3.5]: starts left of the plateau at 0 stall, so p ~ 3.5/5 = 0.7.
    assert f["course_quartic"].rate.low <= 0.7 <= f["course_quartic"].rate.high
    assert "against 0.700 in theory, inside the interval" in claims["course_quartic"]
    assert f["himmelblau"].rate.p == 1.0  # four minima, all global
    assert "every one of the 256 starts reaches one of them" in claims["himmelblau"]
    assert f["rastrigin"].rate.p < 0.05 and f["ackley"].rate.p < 0.1
    for name in ("rastrigin", "ackley"):
        assert f"p = {f[name].rate.p:.3f}" in claims["ripples"]
    # Styblinski-Tang: both coordinates must start left of the 1-D barrier at 0.157: ((5 + 0.157)/10)^2 = 0.266.
    assert f["styblinski_tang"].rate.low <= 0.266 <= f["styblinski_tang"].rate.high
    assert "against 0.266 in theory, inside the interval" in claims["styblinski_tang"]
    assert 0.3 < results.xor.rate.p < 0.95  # 2-2-1 sigmoid nets sometimes stall on XOR
    assert f"{100 * results.xor.rate.p:.1f}% of the 2-2-1 restarts" in claims["xor"]


def test_restarts_behave_as_independent_trials(results, claims):
    inside, total, outside = study.independence(results)
    assert total >= 30 and inside >= 0.85 * total
    if outside:
        assert f"{inside} of {total} measured points" in claims["independence"]
    else:
        assert f"all {total} measured points (k >= 2) hold" in claims["independence"]


def test_himmelblau_histogram_is_one_bar_not_rounding_noise(results):
    him = results.functions["himmelblau"].histogram
    assert him.success_counts[0] == 256 and him.success_counts[1:].sum() == 0 and him.other_counts.sum() == 0
    assert him.max_gap < 1e-6 < him.floor  # the gaps are float rounding; the bar is a fiftieth of the spread wide
    assert him.edges[-1] >= him.floor
    quartic = results.functions["course_quartic"].histogram
    # The quartic's stalled starts sit on the plateau: f(0) - f* = 2 + 1675/256 = 8.54.
    stalled = np.flatnonzero(quartic.other_counts)
    assert quartic.edges[stalled[0]] <= 2 + 1675 / 256 <= quartic.edges[stalled[-1] + 1] + 1e-6
    for runs in results.functions.values():
        h = runs.histogram
        assert h.success_counts.sum() == runs.rate.successes
        assert h.success_counts.sum() + h.other_counts.sum() == runs.n_restarts - runs.diverged
        # Basin legends say f*, not 1e-12: values within a millionth of the spread are snapped to it.
        assert np.all((runs.plot_values == runs.minimum) | (np.abs(runs.plot_values - runs.minimum) > 1e-9))


def test_heart_restart_chosen_on_validation_and_scored_once_on_test(results, claims):
    c = results.heart_choice
    assert (c.n_train, c.n_val, c.n_test) == (181, 61, 61)
    assert c.chosen == int(np.argmin(c.val_loss)) and c.chosen_val_loss == pytest.approx(c.val_loss.min())
    assert results.heart.rate.successes == int(np.sum(c.val_accuracy >= study.HEART_SUCCESS - 1e-9))
    assert c.majority_baseline == pytest.approx(44 / 61)
    assert c.chosen_test_accuracy > c.majority_baseline and c.logistic.test_accuracy > c.majority_baseline
    assert f"scores **{c.chosen_test_accuracy:.3f}** on the 61 test patients" in claims["heart"]
    assert "above the majority baseline 0.721" in claims["heart"]
    flatters = c.chosen_test_loss > c.chosen_val_loss
    assert ("flatters its owner" in claims["heart"]) == flatters


def test_text_expected_failures_summary_and_figures(results, claims, tmp_path):
    r = results
    text = study.text(r)
    for sentence in claims.values():
        assert sentence in text.findings
    assert "| Himmelblau | 0.005 | 1.000 [0.985, 1.000] | 1 (1-2) | 0 |" in text.findings
    quartic = r.functions["course_quartic"]
    stalled = quartic.n_restarts - quartic.rate.successes
    assert f"{stalled} of 256 course quartic starts stall on the plateau at w = 0" in text.expected
    assert any("XOR restarts stall short of classifying all four rows" in item for item in text.expected)
    assert text.failures == []
    summary = to_json(r)
    json.dumps(summary, allow_nan=False)
    assert summary["functions"]["himmelblau"]["rate"]["p"] == 1.0
    writer = FigureWriter(tmp_path)
    study.figures(r, writer)
    names = [figure.filename for figure in writer.figures]
    assert names == ["basins.png", "best_of_k.png", "final_values.png", "heart.png"]
    for name in names:
        assert (tmp_path / name).stat().st_size > 10_000
    section = section_markdown(study.STUDY, findings_of(study.STUDY, r, writer.figures), quick=True, seed=0, seconds=1)
    assert "**Expected failures** (part of the lesson)." in section


def test_best_of_k_and_restarts_needed_helpers():
    outcomes = np.zeros(64, bool)
    outcomes[::8] = True  # one success in every group of 8
    table = best_of_k(outcomes)
    assert table["k"] == [1, 2, 4, 8]  # up to 64 / 8 groups
    assert table["measured"] == [0.125, 0.25, 0.5, 1.0]
    assert best_of_k_groups(outcomes, 8).p == 1.0  # the groups see the regular spacing the theory cannot
    assert restarts_needed(success_rate(np.zeros(10, bool))) == (
        None,
        None,
        k_for(success_rate([False] * 10).high, 0.99),
    )
    half = success_rate(np.arange(20) % 2 == 0)
    assert restarts_needed(half).k == 7  # 1 - 0.5^7 = 0.992

"""The batch-size study in quick mode: its numbers, and every claim of its text checked against them."""

import itertools
import json
import math

import numpy as np
import pytest

from gdjax._io import to_json
from gdjax.studies import FigureWriter, StudyContext
from gdjax.studies import batch_size as study
from gdjax.studies._study import findings_of, section_markdown


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    ctx = StudyContext(out_dir=tmp_path_factory.mktemp("unused"), quick=True, seed=0)
    return study.compute(ctx)


@pytest.fixture(scope="module")
def text(results):
    return study.text(results)


def _sentence(text, start):
    """The findings sentence (or line) that starts with ``start``."""
    for line in text.findings.splitlines():
        if start in line:
            return line[line.index(start) :]
    raise AssertionError(f"no line with {start!r} in the findings")


def test_figures_section_and_summary(results, text, tmp_path):
    writer = FigureWriter(tmp_path)
    study.figures(results, writer)
    names = [f.filename for f in writer.figures]
    assert names == [
        "loss_vs_epochs_updates_time.png",
        "gradient_noise.png",
        "linear_scaling.png",
        "critical_batch.png",
    ]
    for name in names:
        assert (tmp_path / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    findings = findings_of(study.STUDY, results, writer.figures)
    section = section_markdown(study.STUDY, findings, quick=True, seed=0, seconds=1.0)
    assert "compilation is excluded" in section and "**Expected failures**" in section
    summary = json.loads(json.dumps(findings.summary, allow_nan=False))
    assert set(summary["steps_to_target"]) == {str(b) for b in results.critical.batch_sizes}
    assert len(summary["noise_scale"]["b_simple"]) == len(summary["noise_scale"]["steps"])
    assert summary["critical"]["b_crit"] == pytest.approx(results.critical.b_crit)
    assert summary["expected"] == list(text.expected)
    assert to_json(results)["steps_to_target"] == summary["steps_to_target"]


def test_baseline_and_updates_per_epoch(results, text):
    n = results.n_train
    assert results.steps_per_epoch == {1: n, 8: n // 8, n: 1}
    # the constant predictor: the binary entropy of the training base rate (66 of 242 patients have the disease)
    rate = 66 / 242
    assert results.baseline_loss == pytest.approx(-(rate * math.log(rate) + (1 - rate) * math.log(1 - rate)), 1e-6)
    assert f"scores {results.baseline_loss:.3f}" in text.method
    assert f"constant predictor {results.baseline_loss:.3f}" in text.findings


def test_same_rate_smaller_batches_end_lower_pair_by_pair(results, text):
    final = [np.median(results.final_loss[b]) for b in results.batch_sizes]
    assert final == sorted(final)
    assert max(max(v) for v in results.final_loss.values()) < results.baseline_loss  # all beat the constant
    for pair in results.paired_final:
        diff = np.asarray(results.final_loss[pair.a]) - np.asarray(results.final_loss[pair.b])
        assert pair.mean == pytest.approx(diff.mean()) and pair.pairs == results.restarts
        assert pair.low < pair.mean < pair.high < 0
    assert study.smaller_always_lower(results)
    assert "each smaller batch ends lower than the next larger one" in text.findings
    for pair in results.paired_final:
        assert f"{pair.mean:+.3f} [{pair.low:.3f}, {pair.high:.3f}]" in text.findings


def test_text_reports_a_larger_batch_ending_lower_when_it_does(results):
    flipped = results.paired_final[-1]._replace(mean=0.002, low=0.001, high=0.003)
    other = results._replace(paired_final=[*results.paired_final[:-1], flipped])
    findings = study.text(other).findings
    assert "each smaller batch ends lower" not in findings
    assert "(interval above zero: the larger batch ends lower)" in findings
    unclear = results._replace(paired_final=[flipped._replace(low=-0.001)])
    assert "cannot be told apart" in study.text(unclear).findings


def test_per_update_and_per_second_claims_name_the_right_batch(results, text):
    n = results.n_train
    updates = {b: u for b, u in results.updates_to_target.items() if u is not None}
    assert (
        updates[1]
        == results.steps_per_epoch[1] * np.flatnonzero(np.asarray(results.curves[1]) <= results.target_loss)[0]
    )
    assert results.updates_to_target[n] is None  # the full batch never gets there at this rate
    fewest = min(updates, key=updates.get)
    assert f"the fewest at **{study._label(fewest, n)}**" in text.findings
    seconds = {b: s for b, s in results.seconds_to_target.items() if s is not None}
    fastest = min(seconds, key=seconds.get)
    assert f"the fastest here is **{study._label(fastest, n)}**" in text.findings
    assert all(t > 0 for t in results.seconds_per_run.values())
    costs = [results.seconds_per_update[b] for b in results.batch_sizes]
    grows = all(a < b for a, b in itertools.pairwise(costs))
    assert grows == ("On this CPU the cost of an update grows with B" in text.findings)


def test_gradient_noise_matches_the_sampling_formula(results, text):
    for noise in (results.noise_at_init, results.noise_after_training):
        measured, predicted = np.array(noise.measured), np.array(noise.predicted)
        assert measured[-1] == pytest.approx(0.0, abs=1e-9)  # the full batch is the full gradient
        np.testing.assert_allclose(measured[:-1], predicted[:-1], rtol=0.35)
        assert np.all(np.diff(measured) < 0)
    ratio = np.array(results.noise_at_init.measured[:-1]) / np.array(results.noise_at_init.predicted[:-1])
    assert f"initialisation {ratio.min():.2f}-{ratio.max():.2f}" in text.findings


def test_linear_scaling_rule_holds_then_breaks_as_expected(results, text):
    n = results.n_train
    gap = results.scaling_gap_to_base
    assert gap[8] == 0.0 and gap[1] < study.SCALING_TOLERANCE
    assert gap[n] > study.SCALING_TOLERANCE
    assert study.scaling_holds(results) == [1, 8]
    assert f"it breaks at batch (B = {n}) (gap {gap[n]:.3f}, rate 3.03)" in text.findings
    assert any(f"linear scaling rule breaks at batch (B = {n})" in item for item in text.expected)
    assert not any(item.startswith("expected") for item in text.expected)  # the CLI and the report say it
    assert text.failures == []  # nothing failed that was not meant to


def test_critical_batch_size_model_fits_the_steps(results, text):
    c = results.critical
    medians = [results.steps_to_target[b] for b in c.batch_sizes]
    assert all(a > b for a, b in itertools.pairwise(medians))  # more examples per step, fewer steps
    for b in c.batch_sizes:
        assert all(s is not None and 0 < s <= c.max_steps for s in c.steps[b])
        # the tuned rate lies inside the grid, so the grid does not cut the optimum off
        assert all(c.rates[0] < r < c.rates[-1] for r in c.best_rate[b])
    tuned = [np.median(c.best_rate[b]) for b in c.batch_sizes]
    assert tuned == sorted(tuned) and tuned[-1] >= 8 * tuned[0]  # the tuned rate grows with the batch
    assert c.model_error < 0.25
    assert 20 < c.b_crit < 120 and c.s_min > 5
    assert c.b_crit_interval[0] < np.mean(c.b_crit_restarts) < c.b_crit_interval[1]
    # below B_crit, x4 in batch size divides the steps by about 3 or more; above it, by less than 2
    assert c.speedup[0] > 3 and c.speedup[-1] < 2
    assert study.saturates(c)
    assert "below B_crit a larger batch divides the steps by nearly its factor, above it they stay near S_min" in (
        text.findings
    )
    assert "the tuned rate grows with the batch, " in text.findings
    flat = results._replace(critical=c._replace(speedup=[2.0] * len(c.speedup)))
    assert "do not show the two regimes clearly" in study.text(flat).findings
    assert f"**B_crit = {c.b_crit:.0f}**" in text.findings
    assert f"fits the medians within {100 * c.model_error:.0f}%" in text.findings
    for b in c.batch_sizes:
        assert f"{results.steps_to_target[b]:.0f} at {study._label(b, results.n_train)}" in text.findings


def test_b_crit_sits_near_b_simple_along_training(results, text):
    c, noise = results.critical, results.noise_scale
    assert noise.batch_size == results.n_train and len(noise.b_simple) == study.REFERENCE_STEPS + 1
    assert all(h is not None for h in noise.hit_step)
    assert noise.loss[0] > c.target >= min(noise.loss)  # the median training starts above the target, reaches it
    # B_simple grows as the gradient shrinks: small at initialisation, large at the target
    assert np.median(noise.at_init) < c.b_crit < np.median(noise.at_target)
    inside, pairs = sum(c.b_crit_between_init_and_target), len(c.b_crit_between_init_and_target)
    assert pairs == results.restarts and inside >= pairs - 1
    assert f"B_crit lies between the two for {inside} of {pairs} restarts" in text.findings
    init, target = np.median(noise.at_init), np.median(noise.at_target)
    assert f"rises from {init:.0f} at initialisation to {target:.0f} where the loss reaches" in text.findings
    geo = c.ratio_interval[0]
    assert geo == pytest.approx(10 ** np.mean(np.log10(c.ratio_path_mean)))
    # the stated band: B_simple's mean over the path within a factor of 4 of B_crit
    assert 1 / study.RATIO_BAND <= geo <= study.RATIO_BAND and study.ratio_within(results)
    assert f"**{geo:.1f} times B_crit**" in text.findings
    assert f"within the factor of {study.RATIO_BAND:.0f} this study calls *near*" in text.findings
    far = results._replace(critical=c._replace(ratio_interval=(12.0, 8.0, 18.0)))
    assert "outside the factor of 4" in study.text(far).findings

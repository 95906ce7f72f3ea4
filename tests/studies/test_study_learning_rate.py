"""The learning-rate study in quick mode: the theory of g, the heart protocol, the edge of stability, the
insurance table, and every sentence of the findings against the numbers."""

import json

import numpy as np
import pytest

from gdjax.restarts import mean_interval
from gdjax.studies import FigureWriter, StudyContext
from gdjax.studies import learning_rate as study
from gdjax.studies._baselines import LOGISTIC_RATES
from gdjax.studies._study import findings_of, section_markdown


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    return study.compute(StudyContext(out_dir=tmp_path_factory.mktemp("learning_rate"), quick=True, seed=0))


@pytest.fixture(scope="module")
def claims(results):
    return study.claims(results)


def test_g_theory(results):
    gr = results.g
    w = gr.minimum
    assert abs(4 * w**3 + 2 * w + 10) < 1e-12  # g'(w*) = 0
    assert gr.curvature == pytest.approx((12 * w**2 + 2) / 50) and gr.newton_rate == pytest.approx(1 / gr.curvature)
    assert gr.stability_limit == pytest.approx(2 / gr.curvature)
    for regime, (name, multiple) in zip(gr.regimes, study.REGIMES):
        assert regime.name == name and regime.rate == pytest.approx(multiple / gr.curvature, rel=1e-6)


def test_the_four_regimes(results, claims):
    reg = {x.name: x for x in results.g.regimes}
    small, good, osc, big = reg["too small"], reg["good"], reg["oscillating"], reg["too big"]
    assert not small.converged and not small.diverged and small.steps is None and small.final_w < results.g.minimum
    assert good.converged and good.sign_changes <= 1  # one overshoot off the steep wall at most
    assert osc.converged and osc.steps > good.steps and osc.sign_changes > 2 * good.sign_changes + 2
    assert big.diverged and big.steps is None and big.rate > results.g.stability_limit
    # The summary's records.
    assert [x["name"] for x in results.regimes] == ["too small", "good", "oscillating", "too big"]
    assert results.regimes[1] == {
        "name": "good",
        "rate": good.rate,
        "steps": good.steps,
        "converged": True,
        "diverged": False,
    }
    assert results.regimes[3]["steps"] is None and results.regimes[3]["diverged"] is True
    assert f"has not converged after {results.g.budget} steps" in claims["g_small"]
    assert f"converges in {good.steps} steps" in claims["g_good_osc"]
    assert f"overshoots the minimum {osc.sign_changes} times and needs {osc.steps} steps" in claims["g_good_osc"]
    assert claims["g_big"].endswith("diverges.")
    expected = study.text(results).expected
    assert expected[0].startswith(f"rate {big.rate:.3g} > 2/g''(w*) = {results.g.stability_limit:.2f} diverges")


def test_g_grid_follows_the_theory(results, claims):
    gr = results.g
    rates = np.asarray(gr.rates)
    converged = np.array([s == "converged" for s in gr.status])
    assert gr.fastest_rate == pytest.approx(gr.newton_rate, rel=0.1)  # Newton's step is the fastest
    assert not converged[rates > gr.stability_limit].any() and gr.converged_above_limit == 0
    assert gr.first_escape > gr.stability_limit
    between = (rates > gr.stability_limit) & (rates < gr.first_escape)
    assert between.any() and all(s == "max_steps" for s in np.asarray(gr.status)[between])  # bounded, never settles
    assert f"no rate above 2/g''(w*) = {gr.stability_limit:.2f} converges" in claims["g_grid"]
    assert f"from {gr.first_escape:.3g} on it escapes" in claims["g_grid"]


def test_heart_protocol_and_baselines(results, claims):
    h = results.heart
    assert (h.n_train, h.n_val, h.n_test) == (181, 61, 61)
    assert h.majority_accuracy == pytest.approx(44 / 61)  # "no disease" for everyone
    assert h.learnt_threshold == pytest.approx(0.8 * h.constant_train_loss)
    # Each schedule's rate is the one with the lowest median validation loss.
    for i, s in enumerate(h.schedules):
        j = int(np.nanargmin(np.asarray(h.median_val_loss[i], float)))
        assert s.tuned_rate == pytest.approx(h.rates[j]) and s.val_loss == pytest.approx(h.median_val_loss[i][j])
    chosen = min(h.schedules, key=lambda s: s.val_loss)
    assert h.chosen == chosen.name and h.chosen_rate == chosen.tuned_rate
    # Quick-mode bands: the chosen network and logistic regression beat the majority class.
    assert h.test_accuracy > h.majority_accuracy + 0.05 and h.logistic.test_accuracy > h.majority_accuracy + 0.05
    assert h.test_loss < h.constant_test_loss
    # Logistic regression: its rate and step count chosen on the validation rows, inside the grid searched.
    assert h.logistic.rate in LOGISTIC_RATES and 0 < h.logistic.steps <= 2000
    assert h.logistic.val_loss < h.constant_test_loss  # validation and test rows both hold 17 positives of 61
    assert (
        f"accuracy {h.test_accuracy:.3f}, above the majority class's {h.majority_accuracy:.3f}" in claims["heart_test"]
    )
    assert f"scores {h.logistic.test_accuracy:.3f}" in claims["heart_test"]


def test_schedules_paired_against_the_tuned_constant(results, claims):
    h = results.heart
    rates = list(np.asarray(h.rates))
    val = np.asarray(h.val_loss, float)
    constant = val[0, rates.index(h.schedules[0].tuned_rate)]
    for i, s in enumerate(h.schedules[1:], start=1):
        d = val[i, rates.index(s.tuned_rate)] - constant
        t = mean_interval(d[np.isfinite(d)])
        assert s.versus_constant.mean == pytest.approx(t.mean) and s.versus_constant.low == pytest.approx(t.low)
        if s.versus_constant.high < 0:
            assert f"{s.name} lower by" in claims["heart_schedules"]
        elif s.versus_constant.low > 0:
            assert f"{s.name} higher by" in claims["heart_schedules"]
        else:
            assert f"{s.name} no different" in claims["heart_schedules"]
    assert f"same {h.steps}-step budget" in claims["heart_schedules"]


def test_stability_claims_beat_the_constant_predictor_by_the_margin(results, claims):
    h = results.heart
    ok = (np.asarray(h.diverged) == 0) & (np.asarray(h.not_learnt) == 0)
    rates = np.asarray(h.rates)
    for i, s in enumerate(h.schedules):
        if s.stable_rates is None:
            continue
        lo, hi = (int(np.argmin(np.abs(rates - v))) for v in s.stable_rates)
        assert ok[i, lo : hi + 1].all()  # every restart finite and at most (1 - margin) x constant
        assert (lo == 0 or not ok[i, lo - 1]) and (hi == rates.size - 1 or not ok[i, hi + 1])
    c_hi = h.schedules[0].stable_rates[1]
    wider = [s.name for s in h.schedules[1:] if s.stable_rates and s.stable_rates[1] > c_hi]
    assert wider  # quick mode: the decaying schedules survive larger base rates
    assert (
        f"Schedules stable at larger base rates than the constant's {c_hi:.3g}: {', '.join(wider)}."
        in claims["heart_stable"]
    )
    assert f"at most {h.learnt_threshold:.3f}, 20% below the constant predictor's" in claims["heart_stable"]


def test_edge_of_stability(results, claims):
    e = results.edge
    assert len(e.runs) == 3 and e.etas == (0.12, 0.14, 0.16)  # quick: the heart network only
    assert {run.network for run in e.runs} == {"heart network 29-16-1 ReLU"}
    for run in e.runs:
        assert run.initial_sharpness < run.limit  # it starts below 2/eta and rises to it
        assert 0.9 <= run.ratio <= 1.1, (run.network, run.eta, run.ratio)
        assert run.first_at_edge is not None
        assert f"{run.ratio:.2f} x 2/eta at eta = {run.eta:g}" in claims["eos_ratio"]
    assert [x["ratio"] for x in results.eos] == [run.ratio for run in e.runs]
    falling = sum(run.loss_final < run.loss_half for run in e.runs)
    assert falling == 3 and "in 3 of the 3 runs" in claims["eos_loss"]
    assert all(run.rising_share > 0.2 for run in e.runs)  # not monotonically
    assert claims["eos_loss"].endswith("of the last quarter's steps: it does not fall monotonically.")


def test_insurance_table(results, claims):
    ins = results.insurance
    raw, std = ins.inputs
    assert (ins.rows, ins.positives, ins.age_range) == (11, 5, (19.0, 65.0))
    assert ins.constant_loss == pytest.approx(-(5 / 11 * np.log(5 / 11) + 6 / 11 * np.log(6 / 11)))
    assert raw.rising_share > 0.5 and std.rising_share == 0.0  # at the course's rate 0.01
    assert raw.final_band[1] > raw.final_band[0] + 0.5  # still jumping after 1000 steps
    assert raw.largest_monotone_rate < ins.rate < std.largest_monotone_rate
    assert std.largest_monotone_rate / raw.largest_monotone_rate > 100
    rates = np.asarray(ins.rates)
    for inputs in (raw, std):  # every rate below 2/L decreases the loss at every step
        assert np.asarray(inputs.sweep_monotone)[rates < inputs.rate_bound].all()
    assert ins.best_loss < std.final_loss < ins.constant_loss
    assert f"rises on {raw.rising_share:.0%} of the steps" in claims["insurance"]
    assert f"up to rate {raw.largest_monotone_rate:.3g} on raw ages" in claims["insurance"]


def test_text_labels_and_files(results, tmp_path):
    text = study.text(results)
    assert list(text.failures) == []
    assert text.expected and not any(e.startswith("expected") for e in text.expected)  # the report says it
    for sentence in study.claims(results).values():
        assert sentence in text.findings
    writer = FigureWriter(tmp_path)
    study.figures(results, writer)
    assert {f.filename for f in writer.figures} == {
        "g_regimes.png",
        "g_steps_vs_rate.png",
        "heart_rate_sweep.png",
        "schedules.png",
        "edge_of_stability.png",
        "insurance.png",
    }
    for figure in writer.figures:
        assert (tmp_path / figure.filename).stat().st_size > 10_000
    findings = findings_of(study.STUDY, results, writer.figures)
    summary = json.loads(json.dumps(findings.summary))
    assert summary["regimes"][2]["name"] == "oscillating" and summary["regimes"][3]["steps"] is None
    assert len(summary["eos"]) == 3 and summary["expected"] == list(text.expected)
    section = section_markdown(study.STUDY, findings, quick=True, seed=0, seconds=1.0)
    assert "**Expected failures** (part of the lesson)." in section and "![" in section

"""The learning-rate study in quick mode: outputs exist and its numbers make sense."""

import json

import numpy as np
import pytest

from gdjax.studies import get_study, run_study
from gdjax.studies.learning_rate import g


@pytest.fixture(scope="module")
def summary(tmp_path_factory):
    out = tmp_path_factory.mktemp("studies")
    record = run_study(get_study("learning_rate"), out, quick=True, seed=0)
    assert record["status"] in ("ok", "ok-with-failures"), record.get("error")
    return out / "learning_rate", json.loads((out / "learning_rate" / "summary.json").read_text())


def test_outputs_exist(summary):
    folder, _ = summary
    for name in (
        "g_regimes.png",
        "g_steps_vs_rate.png",
        "heart_rate_sweep.png",
        "schedules.png",
        "schedules_vs_rate.png",
        "section.md",
    ):
        assert (folder / name).stat().st_size > 0


def test_the_four_regimes_on_g(summary):
    _, s = summary
    w_star = s["g_minimum"]
    assert abs((4 * w_star**3 + 2 * w_star + 10) / 50) < 1e-9  # g'(w*) = 0
    assert s["g_curvature_at_minimum"] == pytest.approx((12 * w_star**2 + 2) / 50)
    r = s["g_regimes"]
    assert r["too small"]["status"] == "max_steps" and r["too small"]["final_w"] > 0  # still right of the minimum
    assert r["good"]["status"] == "converged" and r["good"]["final_w"] == pytest.approx(w_star, abs=1e-3)
    assert r["too big (oscillating)"]["status"] == "converged"
    assert r["divergent"]["status"] == "diverged"
    assert any("learning rate 3.5: diverged" in f for f in s["failures"])
    # divergence from w0 = 2.5 starts between 3.3 and 3.5, below the local limit 2/g''(w*)
    assert 3.3 < s["g_divergence_edge"] <= 3.5 < 2 / s["g_curvature_at_minimum"]
    # the fastest rate is near Newton's step 1/g''(w*)
    assert s["g_fastest_rate"] == pytest.approx(1 / s["g_curvature_at_minimum"], rel=0.3)
    assert g(np.float64(w_star)) < g(np.float64(w_star + 0.01))


def test_heart_sweep_has_a_best_rate_and_an_unstable_edge(summary):
    _, s = summary
    assert s["sweep_best_loss"] < 0.5 * s["sweep_constant_loss"]
    assert s["sweep_smallest_unstable_rate"] > s["sweep_best_rate"]
    losses = np.array(s["sweep_final_loss_median"], dtype=float)
    assert losses[0] > s["sweep_best_loss"]  # the smallest rate has not got there yet
    reported = [f for f in s["failures"] if f.startswith("heart network")]
    assert len(reported) == sum(s["sweep_diverged"]) + sum(s["sweep_no_better_than_constant"])


def test_schedules(summary):
    _, s = summary
    rates = s["schedule_final_rate"]
    a0 = s["schedule_base_rate"]
    assert rates["constant"] == pytest.approx(a0)
    assert rates["cosine"] < 0.05 * a0 and rates["halve every E/5 epochs"] < a0 / 8
    assert set(s["schedule_final_train_loss"]) == set(rates)
    assert all(v < s["sweep_constant_loss"] for v in s["schedule_final_train_loss"].values())

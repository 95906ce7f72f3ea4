"""The random-restarts study in quick mode: outputs exist and the numbers make sense."""

import json

import numpy as np
import pytest

from gdjax.studies import get_study, run_study
from gdjax.studies.restarts import LEARNING_RATES, _k_needed


@pytest.fixture(scope="module")
def result(tmp_path_factory):
    out = tmp_path_factory.mktemp("restarts")
    record = run_study(get_study("restarts"), out, quick=True, seed=0)
    return record, out / "restarts"


def test_outputs_and_summary_keys(result):
    record, folder = result
    assert record["status"] in ("ok", "ok-with-failures"), record.get("error")
    for name in ("basins.png", "best_of_k.png", "final_values.png", "heart_spread.png", "section.md"):
        assert (folder / name).stat().st_size > 0
    summary = json.loads((folder / "summary.json").read_text())
    assert set(summary["functions"]) == set(LEARNING_RATES)
    for record_ in list(summary["functions"].values()) + list(summary["networks"].values()):
        assert {"p_single", "n_restarts", "best_of_k"} <= set(record_)
        assert record_["p_low"] - 1e-12 <= record_["p_single"] <= record_["p_high"] + 1e-12


def test_best_of_k_rises_with_k_and_follows_theory(result):
    record, _ = result
    for name, r in list(record["functions"].items()) + list(record["networks"].items()):
        table = r["best_of_k"]
        assert table["k"][0] == 1 and table["measured"][0] == pytest.approx(r["p_single"])
        assert np.all(np.diff(table["measured"]) >= -1e-12), name
        assert np.all(np.diff(table["theory"]) >= -1e-12), name
        if 0 < r["p_single"] < 1:
            assert table["measured"][-1] > table["measured"][0], name


def test_known_success_probabilities(result):
    record, _ = result
    fns = record["functions"]
    # w^4 - 3w^3 + 2 on [-1.5, 3.5]: starts left of the plateau at 0 stall, so p ~ 3.5/5 = 0.7.
    assert fns["course_quartic"]["p_low"] <= 0.7 <= fns["course_quartic"]["p_high"]
    assert fns["himmelblau"]["p_single"] == 1.0  # four minima, all global
    assert fns["rastrigin"]["p_single"] < 0.05 and fns["ackley"]["p_single"] < 0.1
    # Styblinski-Tang: both coordinates must start left of the 1-D barrier at 0.157: ((5 + 0.157)/10)^2 = 0.266.
    assert fns["styblinski_tang"]["p_low"] <= 0.266 <= fns["styblinski_tang"]["p_high"]
    assert 0.3 < record["networks"]["xor"]["p_single"] < 0.95  # 2-2-1 sigmoid nets sometimes stall on XOR
    assert record["networks"]["heart"]["test_accuracy"]["median"] > 0.6


def test_restarts_needed():
    assert _k_needed(0.5) == 7  # 1 - 0.5^7 = 0.992
    assert _k_needed(1.0) == 1 and _k_needed(0.0) is None

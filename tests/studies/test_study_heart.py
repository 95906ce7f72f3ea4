"""The heart study in quick mode: outputs exist and its numbers make sense."""

import json

import pytest

from gdjax.studies import get_study, run_study


@pytest.fixture(scope="module")
def summary(tmp_path_factory):
    out = tmp_path_factory.mktemp("studies")
    record = run_study(get_study("heart"), out, quick=True, seed=0)
    assert record["status"] in ("ok", "ok-with-failures"), record.get("error")
    return out / "heart", json.loads((out / "heart" / "summary.json").read_text())


def test_outputs_exist(summary):
    folder, _ = summary
    for name in ("learning_curves.png", "test_metrics.png", "confusion.png", "section.md"):
        assert (folder / name).stat().st_size > 0
    section = (folder / "section.md").read_text()
    assert "497 parameters" in section and "![" in section


def test_network_and_baseline_beat_the_majority_class(summary):
    _, s = summary
    assert s["n_params"] == 497 and s["n_params_logistic"] == 30
    assert s["n_train"] == 242 and s["n_test"] == 61
    majority = max(s["test_positive_rate"], 1 - s["test_positive_rate"])
    assert s["test_accuracy"] > majority and s["logistic_test_accuracy"] > majority
    assert s["test_accuracy_spread"]["min"] <= s["test_accuracy"] <= s["test_accuracy_spread"]["max"]
    assert s["train_loss"]["median"] < 0.5  # well below log 2 = 0.693, the loss of a coin toss
    assert s["diverged"] == 0 and s["logistic_diverged"] == 0


def test_confusion_matrix_adds_up(summary):
    _, s = summary
    (tn, fp), (fn, tp) = s["confusion_restart0"]
    assert tn + fp + fn + tp == s["n_test"]
    assert fn + tp == round(s["test_positive_rate"] * s["n_test"])
    # precision/recall of restart 0 lie within the spread over restarts
    assert s["test_precision_spread"]["min"] <= tp / (tp + fp) <= s["test_precision_spread"]["max"]

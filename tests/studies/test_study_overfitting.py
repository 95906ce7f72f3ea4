"""The overfitting study in quick mode: outputs exist and its numbers make sense."""

import json

import numpy as np
import pytest

from gdjax.studies import get_study, run_study
from gdjax.studies.overfitting import _early_stop, add_penalty_gradients


@pytest.fixture(scope="module")
def summary(tmp_path_factory):
    out = tmp_path_factory.mktemp("studies")
    record = run_study(get_study("overfitting"), out, quick=True, seed=0)
    assert record["status"] in ("ok", "ok-with-failures"), record.get("error")
    return out / "overfitting", json.loads((out / "overfitting" / "summary.json").read_text())


def test_outputs_exist(summary):
    folder, _ = summary
    for name in ("train_vs_test.png", "weight_histograms.png", "overconfidence.png", "section.md"):
        assert (folder / name).stat().st_size > 0


def test_the_large_network_overfits_and_early_stopping_catches_it(summary):
    _, s = summary
    v = s["variants"]
    assert s["n_params"] > 10 * 497
    none = v["none"]
    assert none["final_train_loss"]["median"] < 0.1 < none["final_test_loss"]["median"]
    assert s["overfit_rise"] > 0.1  # the test loss climbs after its minimum
    stop, best = s["early_stopping_epoch"][0], s["early_stopping_best_epoch"][0]
    assert stop == best + s["patience"]
    assert s["early_stopping_test_loss"]["median"] < none["final_test_loss"]["median"]
    for name in ("L2", "L1", "dropout 0.5"):
        assert v[name]["final_test_loss"]["median"] < none["final_test_loss"]["median"]


def test_l1_zeroes_weights_and_l2_keeps_the_sigmoid_modest(summary):
    _, s = summary
    v = s["variants"]
    assert v["L1"]["first_layer_near_zero_fraction"] > 3 * v["L2"]["first_layer_near_zero_fraction"]
    assert v["L1"]["first_layer_near_zero_fraction"] > 0.1
    assert v["L2"]["final_weight_norm"]["median"] < v["none"]["final_weight_norm"]["median"]
    assert v["L2"]["final_test_confidence"]["median"] < v["none"]["final_test_confidence"]["median"]


def test_early_stop_rule_and_penalty_gradients():
    assert _early_stop(np.array([3.0, 2.0, 1.0, 1.5, 1.2, 1.1]), 3) == (5, 2)
    assert _early_stop(np.array([3.0, 2.0]), 3) == (1, 1)
    params = {"w": np.array([1.0, -2.0, 0.0], np.float32), "b": np.array([5.0], np.float32)}
    grads = {"w": np.zeros(3, np.float32), "b": np.zeros(1, np.float32)}
    updates, _ = add_penalty_gradients(0.1, 0.5).update(grads, None, params)
    np.testing.assert_allclose(updates["w"], [0.1 + 1.0, -0.1 - 2.0, 0.0], rtol=1e-6)  # l1 sign(w) + 2 l2 w
    np.testing.assert_allclose(updates["b"], [0.0])  # biases are not penalised

"""The batch-size study in quick mode: outputs exist and its numbers make sense."""

import json

import numpy as np
import pytest

from gdjax.studies import get_study, run_study


@pytest.fixture(scope="module")
def summary(tmp_path_factory):
    out = tmp_path_factory.mktemp("studies")
    record = run_study(get_study("batch_size"), out, quick=True, seed=0)
    assert record["status"] in ("ok", "ok-with-failures"), record.get("error")
    return out / "batch_size", json.loads((out / "batch_size" / "summary.json").read_text())


def test_outputs_exist(summary):
    folder, _s = summary
    for name in ("loss_vs_epochs_updates_time.png", "gradient_noise.png", "linear_scaling.png", "section.md"):
        assert (folder / name).stat().st_size > 0
    assert "compilation is excluded" in (folder / "section.md").read_text()


def test_updates_per_epoch_and_loss_per_epoch(summary):
    _, s = summary
    n = s["n_train"]
    steps = s["steps_per_epoch"]
    assert steps["1"] == n and steps["8"] == n // 8 and steps[str(n)] == 1
    final = [s["final_loss"][str(b)] for b in s["batch_sizes"]]
    assert final == sorted(final)  # same rate and epochs: more updates per epoch, lower loss
    assert all(t > 0 for t in s["seconds_per_run"].values())


def test_gradient_noise_matches_the_sampling_formula(summary):
    _, s = summary
    for noise in (s["noise_at_init"], s["noise_after_training"]):
        measured = np.array(noise["measured"])
        predicted = np.array(noise["predicted"])
        assert measured[-1] == pytest.approx(0.0, abs=1e-9)  # the full batch is the full gradient
        np.testing.assert_allclose(measured[:-1], predicted[:-1], rtol=0.35)
        assert np.all(np.diff(measured) < 0)  # falls with the batch size


def test_linear_scaling_rule_holds_then_breaks(summary):
    _, s = summary
    gap = s["scaling_gap_to_base"]
    assert gap["8"] == 0.0
    assert gap["1"] < 0.1 and gap["32"] < 0.1
    assert gap[str(s["n_train"])] > gap["32"]

"""The perceptron study in quick mode: outputs exist and its numbers make sense."""

import json

import jax.numpy as jnp
import numpy as np
import pytest

from gdjax.models import perceptron_epoch
from gdjax.studies import get_study, run_study
from gdjax.studies.perceptron import perceptron_path


@pytest.fixture(scope="module")
def summary(tmp_path_factory):
    out = tmp_path_factory.mktemp("studies")
    record = run_study(get_study("perceptron"), out, quick=True, seed=0)
    assert record["status"] in ("ok", "ok-with-failures"), record.get("error")
    return out / "perceptron", json.loads((out / "perceptron" / "summary.json").read_text())


def test_outputs_exist(summary):
    folder, s = summary
    for name in ("perceptron_lines.png", "logistic_contours.png", "nonlinear_boundary.png", "section.md"):
        assert (folder / name).stat().st_size > 0
    assert (folder / "perceptron_trick.gif").read_bytes()[:6] == b"GIF89a"
    assert s["gif_frames"] >= 2


def test_perceptron_separates_the_admissions(summary):
    _, s = summary
    assert s["trick_final_accuracy"] == 1.0
    epoch = s["trick_separated_after_epochs"]
    assert epoch is not None and s["trick_mistakes_per_epoch"][epoch] == 0
    assert sum(s["trick_mistakes_per_epoch"]) == s["trick_updates"]
    # the final line points the same way as the true rule 2 x1 + x2 - 18 >= 0
    w = np.array(s["trick_final_w"])
    assert w @ np.array([2.0, 1.0]) / np.linalg.norm(w) / np.sqrt(5) > 0.9


def test_logistic_regression_and_the_circles(summary):
    _, s = summary
    assert 0.8 <= s["logistic_accuracy"] <= 1.0
    assert s["logistic_angle_to_true_rule_deg"] < 35
    line, net = s["circles_accuracy"].values()
    assert line < 0.7 and net > 0.95


def test_path_agrees_with_perceptron_epoch():
    x = jnp.array([[1.0, 2.0], [3.0, -1.0], [-2.0, 0.5], [0.5, 0.5]])
    y = jnp.array([1.0, 0.0, 0.0, 1.0])
    start = {"w": jnp.array([0.3, -0.2]), "b": jnp.array(0.1)}
    path, mistakes = perceptron_path(start, x, y, 0.5, epochs=2)
    once, count = perceptron_epoch(start, x, y, 0.5)
    np.testing.assert_allclose(path["w"][3], once["w"])
    np.testing.assert_allclose(path["b"][3], once["b"])
    assert int(mistakes[:4].sum()) == int(count)

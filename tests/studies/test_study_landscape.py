"""The loss-landscape study in quick mode: its numbers, every claim of its text, and filter normalisation."""

import json

import jax
import numpy as np
import pytest

import gdjax
from gdjax.diagnostics import barrier_from_losses
from gdjax.studies import FigureWriter, StudyContext
from gdjax.studies import landscape as study
from gdjax.studies._study import findings_of, section_markdown


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    return study.compute(StudyContext(out_dir=tmp_path_factory.mktemp("unused"), quick=True, seed=0))


@pytest.fixture(scope="module")
def text(results):
    return study.text(results)


def test_figures_and_section(results, tmp_path):
    writer = FigureWriter(tmp_path)
    study.figures(results, writer)
    names = [f.filename for f in writer.figures]
    assert names == ["slices_1d.png", "surface_2d.png", "interpolation.png"]
    for name in names:
        assert (tmp_path / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    findings = findings_of(study.STUDY, results, writer.figures)
    section = section_markdown(study.STUDY, findings, quick=True, seed=0, seconds=1.0)
    assert "**Mode connectivity.**" in section and "Failed or diverged" not in section
    summary = json.loads(json.dumps(findings.summary, allow_nan=False))
    assert summary["barrier_linear"] == pytest.approx(results.barrier_linear)
    assert summary["barrier_curve"] == pytest.approx(results.barrier_curve)


def test_one_test_number_beside_its_baselines(results, text):
    assert (results.n_train, results.n_val, results.n_test) == (181, 61, 61)
    assert results.majority_test_accuracy == pytest.approx(44 / 61)
    assert results.majority_test_accuracy < results.test_accuracy <= 1.0
    assert 0.75 < results.logistic_test_accuracy <= 1.0
    assert f"**{results.test_accuracy:.3f} accuracy on the 61 test patients**" in text.findings
    assert f"against {results.majority_test_accuracy:.3f} for the majority class" in text.findings
    assert f"{results.logistic_test_accuracy:.3f} for logistic regression" in text.findings
    assert results.diverged == 0 and text.failures == []


def test_trained_network_sits_in_a_basin(results, text):
    assert results.n_params == 497
    train = np.array(results.slice_1d_train)
    mid = train.shape[1] // 2
    assert results.slice_1d_alphas[mid] == pytest.approx(0.0, abs=1e-6)
    np.testing.assert_allclose(train[:, mid], results.final_train_loss, rtol=1e-5)
    np.testing.assert_allclose(np.array(results.slice_1d_val)[:, mid], results.final_val_loss, rtol=1e-5)
    assert results.slice_1d_min_at_center and results.mean_rise_at_half_step > 0
    assert results.final_val_loss > results.final_train_loss  # the generalisation gap
    assert results.random_plane_fraction_below_center < 0.05
    assert np.min(results.random_plane.loss) == pytest.approx(results.final_train_loss, abs=1e-3)
    assert "It sits in a basin" in text.findings
    assert f"rises by {results.mean_rise_at_half_step:.3f} on average" in text.findings
    valley = study.text(results._replace(slice_1d_min_at_center=False)).findings
    assert "It sits in a basin" not in valley and "a valley, not a basin" in valley


def test_trajectory_lies_in_its_pca_plane_not_a_random_one(results, text):
    assert results.random_plane.captured < 0.1
    assert results.pca_plane.captured > 0.8
    assert sum(results.pca_explained_variance) <= 1.0 + 1e-9
    assert results.num_snapshots == results.epochs // results.snapshot_every_epochs + 1
    assert f"holds only {100 * results.random_plane.captured:.1f}%" in text.findings
    assert f"hold {100 * results.pca_plane.captured:.1f}% of its squared length" in text.findings


def test_loss_falls_monotonically_from_initialisation(results, text):
    interp = results.interpolation
    losses = np.asarray(interp.losses)
    assert losses.shape == (results.restarts, study.LINE_POINTS)
    assert losses[0, -1] == pytest.approx(results.final_train_loss, rel=1e-5)  # t = 1: restart 0's solution
    assert np.all(losses[:, 0] > losses[:, -1])
    assert np.all(np.diff(losses, axis=1) <= study.MONOTONE_TOLERANCE) and all(interp.monotone)
    assert "falls monotonically along the straight line from the initialisation to the solution for all" in (
        text.findings
    )
    bumpy = interp._replace(monotone=[False] + interp.monotone[1:], largest_rise=[0.02] + interp.largest_rise[1:])
    other = study.text(results._replace(interpolation=bumpy)).findings
    assert f"for {results.restarts - 1} of {results.restarts} restarts; the others rise by up to 0.020" in other


def test_a_trained_curve_connects_what_the_line_does_not(results, text):
    conn = results.connectivity
    line, curve = np.asarray(results.barrier_linear), np.asarray(results.barrier_curve)
    assert len(line) == len(curve) == len(conn.pairs) == results.restarts // 2
    assert np.all(line > 0.05)  # the straight line between two solutions rises above its chord
    assert np.all(curve < study.CONNECTED_TOLERANCE) and np.all(curve >= -1e-6)  # the ends lie on the chord
    assert conn.difference == pytest.approx(np.mean(line - curve)) and conn.difference_low > 0
    assert study.curve_lower(results)
    # pair 0's barriers recomputed from its losses along both paths
    ts = np.asarray(conn.ts)
    for losses, barrier in ((conn.line_losses, line[0]), (conn.curve_losses, curve[0])):
        assert float(barrier_from_losses(ts, losses, losses[0], losses[-1])) == pytest.approx(barrier, abs=1e-6)
    assert conn.line_losses[0] == pytest.approx(conn.curve_losses[0], rel=1e-6)  # the same two ends
    assert f"rises {np.median(line):.3f} above the chord" in text.findings
    assert f"curve's barrier is {study._barrier(np.median(curve))} (" in text.findings
    assert ", ".join(study._barrier(b) for b in curve) in text.findings and "-0.000" not in text.findings
    assert f"exceeds the curve's by {conn.difference:.3f} [{conn.difference_low:.3f}" in text.findings
    assert "not linearly connected, yet a simple curve joins them without a barrier" in text.findings
    unclear = results._replace(connectivity=conn._replace(difference_low=-0.01))
    assert "cannot tell the curve from the line" in study.text(unclear).findings


def test_validation_tells_what_the_curve_did(results, text):
    conn = results.connectivity
    reverses = np.median(conn.barrier_curve_val) > np.median(conn.barrier_linear_val)
    assert reverses == ("On the validation rows the order reverses" in text.findings)
    if reverses:
        assert min(conn.curve_losses) < min(conn.curve_losses[0], conn.curve_losses[-1])
        assert f"down to {min(conn.curve_losses):.3f}" in text.findings


def test_filter_normalisation():
    model = gdjax.models.mlp([5, 4, 3])
    params = model.init(jax.random.key(1))
    params[0]["b"] = params[0]["b"] + 1.0  # a nonzero bias must still get a zero direction
    d = study.filter_normalized_direction(jax.random.key(2), params)
    for layer, dl in zip(params, d):
        np.testing.assert_allclose(np.linalg.norm(dl["w"], axis=0), np.linalg.norm(layer["w"], axis=0), rtol=1e-5)
        assert np.all(np.asarray(dl["b"]) == 0)
    other = study.filter_normalized_direction(jax.random.key(3), params)
    assert not np.allclose(d[0]["w"], other[0]["w"])  # random, keyed
    # scale invariance: scaling a layer's weights scales its direction the same way
    scaled = [{"w": params[0]["w"] * 10, "b": params[0]["b"]}, params[1]]
    np.testing.assert_allclose(
        study.filter_normalized_direction(jax.random.key(2), scaled)[0]["w"], 10 * d[0]["w"], rtol=1e-5
    )

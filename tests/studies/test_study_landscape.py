"""The loss-landscape study in quick mode, and filter normalisation itself."""

import json

import jax
import numpy as np
import pytest

import gdjax
from gdjax.studies import get_study, run_study
from gdjax.studies.landscape import filter_normalized_direction


@pytest.fixture(scope="module")
def summary(tmp_path_factory):
    out = tmp_path_factory.mktemp("studies")
    record = run_study(get_study("landscape"), out, quick=True, seed=0)
    assert record["status"] in ("ok", "ok-with-failures"), record.get("error")
    return out / "landscape", json.loads((out / "landscape" / "summary.json").read_text())


def test_outputs_exist(summary):
    folder, _ = summary
    for name in ("slices_1d.png", "surface_2d.png", "section.md"):
        assert (folder / name).stat().st_size > 0


def test_trained_network_sits_in_a_basin(summary):
    _, s = summary
    assert s["n_params"] == 497
    train = np.array(s["slice_1d_train"])
    mid = train.shape[1] // 2
    assert s["slice_1d_alphas"][mid] == pytest.approx(0.0, abs=1e-6)
    np.testing.assert_allclose(train[:, mid], s["final_train_loss"], rtol=1e-5)
    assert s["slice_1d_min_at_center"] and s["mean_rise_at_half_step"] > 0
    assert s["random_plane_fraction_below_center"] < 0.05
    assert s["random_plane_min"] == pytest.approx(s["final_train_loss"], abs=1e-3)


def test_trajectory_lies_in_its_pca_plane_not_a_random_one(summary):
    _, s = summary
    assert s["trajectory_captured_by_random_plane"] < 0.1
    assert s["trajectory_captured_by_pca_plane"] > 0.8
    assert sum(s["pca_explained_variance"]) <= 1.0 + 1e-9
    assert s["num_snapshots"] == s["epochs"] // s["snapshot_every_epochs"] + 1


def test_filter_normalisation():
    model = gdjax.models.mlp([5, 4, 3])
    params = model.init(jax.random.key(1))
    params[0]["b"] = params[0]["b"] + 1.0  # a nonzero bias must still get a zero direction
    d = filter_normalized_direction(jax.random.key(2), params)
    for layer, dl in zip(params, d):
        np.testing.assert_allclose(np.linalg.norm(dl["w"], axis=0), np.linalg.norm(layer["w"], axis=0), rtol=1e-5)
        assert np.all(np.asarray(dl["b"]) == 0)
    other = filter_normalized_direction(jax.random.key(3), params)
    assert not np.allclose(d[0]["w"], other[0]["w"])  # random, keyed
    # scale invariance: scaling a layer's weights scales its direction the same way
    scaled = [{"w": params[0]["w"] * 10, "b": params[0]["b"]}, params[1]]
    np.testing.assert_allclose(
        filter_normalized_direction(jax.random.key(2), scaled)[0]["w"], 10 * d[0]["w"], rtol=1e-5
    )

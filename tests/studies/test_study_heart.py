"""The heart study in quick mode: its protocol, its numbers, and every sentence of its findings."""

import json

import numpy as np
import pytest

from gdjax._io import to_json
from gdjax.metrics import roc_auc
from gdjax.studies import FigureWriter, StudyContext
from gdjax.studies import heart as study
from gdjax.studies._heart_common import interval_verdict, variance_components
from gdjax.studies._study import findings_of, section_markdown


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    ctx = StudyContext(out_dir=tmp_path_factory.mktemp("heart"), quick=True, seed=0)
    return study.compute(ctx)


@pytest.fixture(scope="module")
def claims(results):
    return study.claims(results)


def test_protocol_sizes_and_majority_baseline(results):
    r = results
    assert (r.n_train, r.n_val, r.n_test, r.test_positives) == (181, 61, 61, 17)
    assert r.n_params == 497 and r.n_params_logistic == 30
    assert r.n_splits >= 10 and r.num_restarts >= 2
    assert r.majority_baseline == pytest.approx(44 / 61) and r.majority.predicted_class == 0
    assert r.majority.f1 == 0.0 and r.majority.roc_auc == 0.5
    assert r.network.test.accuracy.shape == (r.n_splits, r.num_restarts)
    # Test scores are counts of 61 patients.
    np.testing.assert_allclose(r.network.test.accuracy * 61, np.round(r.network.test.accuracy * 61), atol=1e-4)


def test_early_stopping_ran_inside_the_program_on_validation(results):
    for runs in (results.network, results.logistic):
        stopped = runs.stopped_early
        assert stopped.mean() > 0.5  # most runs stop on their own
        # Keras' rule: a run stops `patience` epochs after its best one; the best epoch's parameters are kept.
        np.testing.assert_array_equal(runs.epochs_run[stopped], runs.best_epoch[stopped] + results.patience)
        assert np.all(runs.epochs_run <= results.max_epochs)
    net = results.network
    for i in range(results.num_restarts):  # split 0: the restored parameters' validation loss is the curve's minimum
        assert net.val_loss[0, i] == pytest.approx(np.nanmin(net.val_curve[i]), rel=1e-4)
        assert net.val_loss[0, i] == pytest.approx(net.val_curve[i, net.best_epoch[0, i] - 1], rel=1e-4)
    assert not net.diverged.any() and not results.logistic.diverged.any()


def test_scores_beat_the_majority_class(results, claims):
    r = results
    assert r.test_accuracy == pytest.approx(np.median(r.network.test.accuracy))
    assert r.logistic_test_accuracy == pytest.approx(np.median(r.logistic.test.accuracy))
    # Quick-mode bands: the network and logistic regression both land well above the majority's 0.721.
    assert 0.78 <= r.test_accuracy <= 0.90 and 0.78 <= r.logistic_test_accuracy <= 0.90
    assert r.test_roc_auc > 0.85 and r.logistic_test_roc_auc > 0.85 and r.test_f1 > 0.5
    assert "both above the majority baseline" in claims["accuracy"]
    assert f"network **{r.test_accuracy:.3f}**" in claims["accuracy"]
    assert f"majority baseline **{r.majority_baseline:.3f}**" in claims["accuracy"]
    assert f"ROC-AUC: network {r.test_roc_auc:.3f}" in claims["f1_auc"]


def test_paired_difference_over_splits(results, claims):
    r = results
    per_split = r.network.test.accuracy.mean(1) - r.logistic.test.accuracy.mean(1)
    np.testing.assert_allclose(r.per_split_difference, per_split, atol=1e-6)
    d = r.difference_accuracy
    assert d["count"] == r.n_splits and d["low"] <= d["mean"] <= d["high"]
    assert d["mean"] == pytest.approx(per_split.mean(), abs=1e-9)
    half = 2.262157 * per_split.std(ddof=1) / np.sqrt(10)  # t_{0.975, 9}, for the 10 quick splits
    assert r.n_splits == 10 and d["high"] - d["mean"] == pytest.approx(half, rel=1e-5)
    # The sentence follows the interval: which side of zero, or "holds zero".
    if d["low"] > 0:
        assert "Test accuracy: the network is ahead" in claims["difference"]
    elif d["high"] < 0:
        assert "Test accuracy: logistic regression is ahead" in claims["difference"]
    else:
        assert "Test accuracy: no difference the interval can detect" in claims["difference"]
    wins = int(np.sum(per_split > 1e-9))
    assert f"ahead on {wins} of {r.n_splits} splits" in claims["difference"]


def test_interval_verdict_words():
    words = {"positive": "A is ahead", "negative": "B is ahead", "difference": "A minus B"}
    assert interval_verdict({"mean": 0.02, "low": 0.01, "high": 0.03}, **words).startswith("A is ahead, by 0.020")
    assert interval_verdict({"mean": -0.02, "low": -0.03, "high": -0.01}, **words).startswith("B is ahead, by 0.020")
    held = interval_verdict({"mean": 0.01, "low": -0.01, "high": 0.03}, **words)
    assert (
        held
        == "no difference the interval can detect (mean A minus B +0.010, 95% interval -0.010 to +0.030): it holds zero"
    )


def test_split_and_seed_variance(results, claims):
    r = results
    again = variance_components(r.network.test.accuracy)
    assert r.split_std == pytest.approx(again.split_std) and r.seed_std == pytest.approx(again.seed_std)
    assert r.seed_std > 0 and r.total_std > 0
    assert r.total_std**2 == pytest.approx(np.var(r.network.test.accuracy, ddof=1), rel=1e-6)
    if r.split_std > r.seed_std:
        assert "so the split moves it more than the seed" in claims["variance"]
    else:
        assert "so the seed moves it at least as much as the split" in claims["variance"]
    assert f"{r.split_std:.3f} from the split and {r.seed_std:.3f} from the initialisation" in claims["variance"]
    convex = r.logistic_seed_std < 0.5 * r.seed_std
    assert ("its restarts nearly agree" in claims["logistic_variance"]) == convex
    if not convex:  # the explanation's numbers: kept epochs differ, and so do the training losses
        assert r.logistic.best_epoch.min() < r.logistic.best_epoch.max()
        assert study.logistic_train_loss_range(r) > 0.005


def test_variance_components_recover_known_parts():
    rng = np.random.default_rng(0)
    splits, restarts = 400, 30
    values = 0.3 * rng.normal(size=(splits, 1)) + 0.1 * rng.normal(size=(splits, restarts))
    parts = variance_components(values)
    assert parts.split_std == pytest.approx(0.3, rel=0.1) and parts.seed_std == pytest.approx(0.1, rel=0.05)
    same = variance_components(np.tile(np.arange(3.0), (4, 1)))  # no split effect at all
    assert same.split_std == 0.0 and same.seed_std == pytest.approx(1.0)


def test_keras_reference_sentence(results, claims):
    r = results
    low, high = r.keras_range
    acc = r.network.test.accuracy
    assert r.keras_share == pytest.approx(np.mean((acc >= low - 1e-9) & (acc <= high + 1e-9)))
    position = "below" if r.test_accuracy < low else ("above" if r.test_accuracy > high else "within")
    assert study.keras_position(r) == position
    assert f"gdjax's median {r.test_accuracy:.3f} is {position} that range" in claims["keras"]
    spans = f"spans {r.split_means.min():.3f}-{r.split_means.max():.3f}"
    assert spans in claims["keras"]
    covers = r.split_means.min() <= low and r.split_means.max() >= high
    assert ("which covers the whole Keras range" in claims["keras"]) == covers
    assert f"ours train on {r.n_train}" in claims["keras"]


def test_epochs_sentence(results, claims):
    r = results
    assert f"kept epoch {int(np.median(r.network.best_epoch))} of the network" in claims["epochs"]
    assert f"{int(np.sum(~r.network.stopped_early))} of {r.n_splits * r.num_restarts} reached" in claims["epochs"]


def test_roc_auc_is_the_mann_whitney_statistic():
    rng = np.random.default_rng(1)
    labels = (rng.random(61) < 0.3).astype(np.float32)
    scores = np.round(rng.random(61), 1).astype(np.float32)  # rounded: many ties
    pos, neg = scores[labels == 1], scores[labels == 0]
    expected = np.mean((pos[:, None] > neg[None, :]) + 0.5 * (pos[:, None] == neg[None, :]))
    assert float(roc_auc(scores, labels)) == pytest.approx(expected, rel=1e-6)
    assert float(roc_auc(labels, labels)) == 1.0 and float(roc_auc(1 - labels, labels)) == 0.0
    batched = np.asarray(roc_auc(np.stack([scores, labels]), labels))
    np.testing.assert_allclose(batched, [expected, 1.0], rtol=1e-6)
    assert np.isnan(float(roc_auc(scores, np.zeros(61))))  # one class only


def test_summary_keys_and_text(results, claims, tmp_path):
    summary = to_json(results)
    for key in ("majority_baseline", "n_val", "test_accuracy", "logistic_test_accuracy", "split_std", "seed_std"):
        assert key in summary
    assert summary["n_val"] == 61 and summary["majority_baseline"] == pytest.approx(0.7213, abs=1e-4)
    json.dumps(summary, allow_nan=False)
    text = study.text(results)
    for sentence in claims.values():
        assert sentence in text.findings
    assert "touched once" in text.method and f"**{results.n_splits} times**" in text.method
    assert text.failures == [] and list(text.expected) == []
    writer = FigureWriter(tmp_path)
    study.figures(results, writer)
    names = [figure.filename for figure in writer.figures]
    assert names == ["early_stopping.png", "test_scores.png", "splits.png"]
    for name in names:
        assert (tmp_path / name).stat().st_size > 10_000
    findings = findings_of(study.STUDY, results, writer.figures)
    section = section_markdown(study.STUDY, findings, quick=True, seed=0, seconds=1.0)
    assert "![" in section and "497 parameters" in section

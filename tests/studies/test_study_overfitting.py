"""The overfitting study in quick mode: its protocol, its numbers, and every sentence of its findings."""

import json

import numpy as np
import pytest

from gdjax._io import to_json
from gdjax.studies import FigureWriter, StudyContext
from gdjax.studies import overfitting as study
from gdjax.studies._study import findings_of, section_markdown
from gdjax.studies.overfitting import (
    ADAMW_NOMINAL,
    DROPOUT_NAME,
    PENALTIES,
    _early_stop,
    _optimizer,
    add_penalty_gradients,
)


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    return study.compute(StudyContext(out_dir=tmp_path_factory.mktemp("overfitting"), quick=True, seed=0))


@pytest.fixture(scope="module")
def claims(results):
    return study.claims(results)


def test_protocol(results):
    r = results
    assert (r.n_train, r.n_val, r.n_test) == (181, 61, 61)
    assert r.n_params > 10 * 497  # far too large for 181 patients
    assert set(r.variants) == set(PENALTIES) | {DROPOUT_NAME}
    assert r.nominal_weight_decay == 2 * r.l2_weight and r.weight_decay_ladder[0] == r.nominal_weight_decay
    for name, v in r.variants.items():
        assert not v.diverged.any(), name
        # Kept inside the program: the parameters returned are those of the lowest validation loss.
        np.testing.assert_allclose(v.restored_val_loss, v.kept_val_loss, rtol=1e-4, err_msg=name)
        assert np.all(v.kept_val_loss <= v.final_val_loss + 1e-7)
        assert np.all((1 <= v.kept_epoch) & (v.kept_epoch <= r.epochs))


def test_the_large_network_overfits_and_early_stopping_catches_it(results, claims):
    r = results
    none = r.variants["none"]
    assert np.median(none.final_train_loss) < 0.05  # memorised
    assert r.overfit_rise > 0.1  # the validation loss climbs well above its lowest
    assert r.overfit_rise == pytest.approx(np.median(none.final_val_loss) - np.median(none.kept_val_loss))
    stopped = r.keras_stop_epoch < r.epochs
    assert stopped.all()
    np.testing.assert_array_equal(r.keras_stop_epoch[stopped], r.keras_best_epoch[stopped] + r.patience)
    assert np.all(r.keras_best_epoch <= none.kept_epoch)  # Keras' rule keeps the global minimum or an earlier one
    assert "climbs to" in claims["overfit"] and "the network memorises its 181 training patients" in claims["overfit"]
    assert f"keeps epoch {int(np.median(r.keras_best_epoch))}" in claims["early_stopping"]
    agree = int(np.sum(r.keras_best_epoch == none.kept_epoch))
    assert f"in {agree} of {r.num_restarts} restarts" in claims["early_stopping"]


def test_regularisers_lower_the_final_validation_loss_pair_by_pair(results, claims):
    r = results
    none = r.variants["none"]
    for name in ("L2 in Adam", study.matched_name(r), "L1", DROPOUT_NAME):
        d = r.end_vs_none[name]
        differences = r.variants[name].final_val_loss - none.final_val_loss
        assert d["mean"] == pytest.approx(differences.mean(), abs=1e-6) and d["count"] == r.num_restarts
        assert d["mean"] < -0.1, name  # every regulariser ends well below the unregularised network
        if d["high"] < 0:
            assert f"{name}: better than none, by {abs(d['mean']):.3f}" in claims["regularisers_end"]
        else:
            assert f"{name}: no difference the interval can detect" in claims["regularisers_end"]
    # At the kept epoch the regularisers are within a few hundredths of early stopping alone.
    shown = ("L2 in Adam", study.matched_name(r), "L1", DROPOUT_NAME)
    for name in shown:
        assert abs(r.kept_vs_none[name]["mean"]) < 0.08, name
        assert abs(r.kept_vs_none[name]["mean"]) < abs(r.end_vs_none[name]["mean"]), name
    assert "At each run's kept epoch the differences shrink" in claims["regularisers_kept"]
    best = min(d["mean"] for d in r.kept_vs_none.values())
    assert f"comes within {max(-best, 0):.3f} of the best regulariser" in claims["regularisers_kept"]


def test_l2_inside_adam_against_decoupled_weight_decay(results, claims):
    r = results
    v = r.variants
    none_norm = np.median(v["none"].final_weight_norm)
    # At the nominal match AdamW barely moves the weights; L2 through Adam more than halves their norm.
    assert abs(r.nominal_vs_none_weight_norm["mean"]) < 0.02 * none_norm
    assert np.median(v["L2 in Adam"].final_weight_norm) < 0.6 * none_norm
    assert f"({100 * r.nominal_vs_none_weight_norm['mean'] / none_norm:+.1f}%" in claims["adamw_nominal"]
    # The ladder's value whose final weight norm is nearest L2's, hundreds of times the nominal value.
    norms = {wd: np.median(v[f"AdamW {wd:g}"].final_weight_norm) for wd in r.weight_decay_ladder}
    l2 = np.median(v["L2 in Adam"].final_weight_norm)
    assert r.matched_weight_decay == min(norms, key=lambda wd: abs(np.log(norms[wd] / l2)))
    assert r.matched_weight_decay / r.nominal_weight_decay >= 100
    assert f"needs weight decay {r.matched_weight_decay:g}" in claims["adamw_matched"]
    # Matched by effect, decoupled decay ends with the lower validation loss (Loshchilov & Hutter).
    d = r.matched_vs_l2_end
    assert d["high"] < 0 and "final validation loss: AdamW ends lower" in claims["adamw_matched"]


def test_l1_zeroes_weights_and_penalties_curb_confidence(results, claims):
    v = results.variants
    l1, l2, none = (np.median(v[n].final_near_zero) for n in ("L1", "L2 in Adam", "none"))
    assert l1 > 0.3 and l1 > 3 * l2 and none < 0.02
    assert f"**L1** leaves {100 * l1:.0f}% of the first layer's weights" in claims["l1"]
    assert np.median(v["L2 in Adam"].final_val_confidence) < np.median(v["none"].final_val_confidence)
    mistakes = (np.median(v["none"].final_val_accuracy) - np.median(v["none"].kept_val_accuracy)) * 61
    assert ("confident mistakes, not more of them" in claims["confidence"]) == (abs(mistakes) <= 3)


def test_the_one_test_number_is_chosen_on_validation(results, claims):
    r = results
    c = r.chosen
    assert c.variant == min(c.candidates, key=c.candidates.get)
    assert c.candidates[c.variant] == pytest.approx(np.median(r.variants[c.variant].kept_val_loss))
    assert c.restart == int(np.argmin(r.variants[c.variant].kept_val_loss))
    assert c.val_loss == pytest.approx(r.variants[c.variant].kept_val_loss[c.restart])
    assert r.majority_baseline == pytest.approx(44 / 61)
    assert c.test_accuracy > r.majority_baseline and r.logistic_test_accuracy > r.majority_baseline
    assert 0.75 <= c.test_accuracy <= 0.95 and c.test_roc_auc > 0.8
    assert f"Validation chooses {c.variant}" in claims["test"]
    assert f"accuracy **{c.test_accuracy:.3f}**" in claims["test"] and "above the majority baseline" in claims["test"]


def test_memorisation_of_random_labels(results, claims):
    r = results
    m = r.memorisation
    # Near-zero training loss on labels that carry no information, reached later than on the true labels.
    assert np.all(m.final_train_loss_shuffled < 0.05)
    assert np.all(m.epochs_shuffled > 0) and np.all(m.epochs_true > 0)
    assert np.all(m.epochs_shuffled > m.epochs_true)
    assert 1.1 <= m.slowdown <= 3.0
    assert f"at epoch {m.median_epochs_shuffled:.0f} against {m.median_epochs_true:.0f}" in claims["memorisation"]
    # A random permutation keeps p^2 + (1-p)^2 of the labels: 61% for 49 positives in 181.
    assert m.chance_agreement == pytest.approx((49 / 181) ** 2 + (132 / 181) ** 2)
    assert abs(m.label_agreement - m.chance_agreement) < 0.1
    # Test accuracy at chance: within two binomial standard deviations of a blind predictor, below the majority.
    expected = m.predicted_positive_rate * 17 / 61 + (1 - m.predicted_positive_rate) * 44 / 61
    np.testing.assert_allclose(m.chance_accuracy, expected, rtol=1e-6)
    assert abs(m.median_test_accuracy - m.median_chance_accuracy) <= 2 * m.chance_std
    assert m.median_test_accuracy < r.majority_baseline
    assert 0.3 <= np.median(m.test_roc_auc) <= 0.7
    assert "On the test patients it is at chance" in claims["memorisation"]
    assert f"below the majority baseline {r.majority_baseline:.3f}" in claims["memorisation"]
    assert any(item.startswith("the network trained on shuffled labels fits them") for item in study.text(r).expected)


def test_text_summary_and_figures(results, claims, tmp_path):
    text = study.text(results)
    for sentence in claims.values():
        assert sentence in text.findings
    assert text.failures == []
    summary = to_json(results)
    json.dumps(summary, allow_nan=False)
    assert summary["memorisation"]["threshold"] == study.MEMORISED and "chosen" in summary
    writer = FigureWriter(tmp_path)
    study.figures(results, writer)
    names = [figure.filename for figure in writer.figures]
    assert names == ["train_vs_validation.png", "l2_vs_adamw.png", "l1_and_confidence.png", "memorisation.png"]
    for name in names:
        assert (tmp_path / name).stat().st_size > 10_000
    section = section_markdown(
        study.STUDY, findings_of(study.STUDY, results, writer.figures), quick=True, seed=0, seconds=1
    )
    assert "**Expected failures** (part of the lesson)." in section


def test_early_stop_rule_penalty_gradients_and_grid():
    assert _early_stop(np.array([3.0, 2.0, 1.0, 1.5, 1.2, 1.1]), 3) == (5, 2)
    assert _early_stop(np.array([3.0, 2.0]), 3) == (1, 1)
    params = {"w": np.array([1.0, -2.0, 0.0], np.float32), "b": np.array([5.0], np.float32)}
    grads = {"w": np.zeros(3, np.float32), "b": np.zeros(1, np.float32)}
    updates, _ = add_penalty_gradients(0.1, 0.5).update(grads, None, params)
    np.testing.assert_allclose(updates["w"], [0.1 + 1.0, -0.1 - 2.0, 0.0], rtol=1e-6)  # l1 sign(w) + 2 l2 w
    np.testing.assert_allclose(updates["b"], [0.0])  # biases are not penalised
    # Grid point i of the sweep is PENALTIES' i-th row: decoupled decay of the nominal AdamW shrinks w by lr * wd.
    index = list(PENALTIES).index(ADAMW_NOMINAL)
    layer = [{"w": np.ones((2, 2), np.float32), "b": np.ones(2, np.float32)}]
    zero = [{"w": np.zeros((2, 2), np.float32), "b": np.zeros(2, np.float32)}]
    opt = _optimizer({"variant": index})
    updates, _ = opt.update(zero, opt.init(layer), layer)
    np.testing.assert_allclose(updates[0]["w"], -study.LEARNING_RATE * study.NOMINAL_WEIGHT_DECAY, rtol=1e-5)
    np.testing.assert_allclose(updates[0]["b"], 0.0)  # biases are not decayed

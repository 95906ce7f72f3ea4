import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gdjax import metrics

# 8 examples: TP = 3, FP = 1, FN = 2, TN = 2
PROBS = jnp.array([0.9, 0.8, 0.6, 0.7, 0.2, 0.4, 0.1, 0.3])
LABELS = jnp.array([1, 1, 1, 0, 1, 1, 0, 0])


def test_binary_metrics_from_the_confusion_matrix():
    assert float(metrics.accuracy(PROBS, LABELS)) == pytest.approx(5 / 8)
    assert float(metrics.precision(PROBS, LABELS)) == pytest.approx(3 / 4)
    assert float(metrics.recall(PROBS, LABELS)) == pytest.approx(3 / 5)
    assert float(metrics.f1_score(PROBS, LABELS)) == pytest.approx(2 * 0.75 * 0.6 / 1.35)
    cm = metrics.confusion_matrix((PROBS >= 0.5).astype(int), LABELS, 2)
    np.testing.assert_array_equal(cm, [[2, 1], [2, 3]])
    assert float(metrics.accuracy(PROBS, LABELS, threshold=0.15)) == pytest.approx(6 / 8)


def test_no_positive_predictions_gives_zero_not_nan():
    assert float(metrics.precision(jnp.zeros(4), jnp.array([1, 0, 1, 0]))) == 0.0
    assert float(metrics.recall(jnp.ones(4), jnp.zeros(4))) == 0.0
    assert float(metrics.f1_score(jnp.zeros(4), jnp.zeros(4))) == 0.0


def test_multiclass_accuracy_and_confusion():
    scores = jnp.array([[0.7, 0.2, 0.1], [0.1, 0.8, 0.1], [0.3, 0.3, 0.4], [0.5, 0.4, 0.1]])
    labels = jnp.array([0, 1, 1, 2])
    assert float(metrics.accuracy(scores, labels)) == pytest.approx(0.5)
    assert float(metrics.accuracy(scores, jnp.eye(3)[labels])) == pytest.approx(0.5)
    np.testing.assert_array_equal(
        metrics.confusion_matrix(jnp.argmax(scores, 1), labels, 3), [[1, 0, 0], [0, 1, 1], [1, 0, 0]]
    )


def test_r2():
    y = jnp.array([1.0, 2.0, 3.0, 4.0])
    assert float(metrics.r2_score(y, y)) == 1.0
    assert float(metrics.r2_score(jnp.full(4, 2.5), y)) == pytest.approx(0.0)
    assert float(metrics.r2_score(jnp.array([1.0, 2.0, 3.0, 5.0]), y)) == pytest.approx(1 - 1 / 5)


@settings(max_examples=25, deadline=None)
@given(st.lists(st.tuples(st.floats(0, 1), st.sampled_from([0, 1])), min_size=1, max_size=20))
def test_confusion_matrix_accounts_for_every_example(pairs):
    probs = jnp.array([p for p, _ in pairs])
    labels = jnp.array([y for _, y in pairs])
    cm = np.asarray(metrics.confusion_matrix((probs >= 0.5).astype(int), labels, 2))
    assert cm.sum() == len(pairs)
    assert (cm[0, 0] + cm[1, 1]) / len(pairs) == pytest.approx(float(metrics.accuracy(probs, labels)))


def test_bad_shapes():
    with pytest.raises(ValueError, match=r"shape \(n,\).*got \(4,\) and \(4, 1\)"):
        metrics.accuracy(jnp.zeros(4), jnp.zeros((4, 1)))
    with pytest.raises(ValueError, match="num_classes must be >= 2"):
        metrics.confusion_matrix(jnp.zeros(3, int), jnp.zeros(3, int), 1)


def test_roc_auc_is_the_share_of_correctly_ordered_pairs():
    from gdjax.metrics import roc_auc

    scores = jnp.array([0.9, 0.8, 0.3, 0.6, 0.1])
    labels = jnp.array([1, 0, 1, 0, 0])
    # positives 0.9 and 0.3 against negatives 0.8, 0.6, 0.1: 0.9 beats all 3, 0.3 beats only 0.1 -> 4 of 6
    np.testing.assert_allclose(roc_auc(scores, labels), 4 / 6)
    np.testing.assert_allclose(roc_auc(jnp.full(5, 0.5), labels), 0.5)  # ties count half
    np.testing.assert_allclose(roc_auc(-scores, labels), 2 / 6)
    batch = jnp.stack([scores, -scores])  # leading axes are runs
    np.testing.assert_allclose(roc_auc(batch, labels), [4 / 6, 2 / 6])
    assert np.isnan(roc_auc(scores, jnp.zeros(5)))  # one class only: undefined
    rng = np.random.default_rng(0)  # against the brute-force definition
    s, y = rng.normal(size=40), rng.integers(0, 2, size=40)
    pairs = [(a > b) + 0.5 * (a == b) for a, yi in zip(s, y) for b, yj in zip(s, y) if yi == 1 and yj == 0]
    np.testing.assert_allclose(roc_auc(s, y), np.mean(pairs), rtol=1e-6)
    with pytest.raises(ValueError, match="labels"):
        roc_auc(scores, jnp.array([1, 0, 2, 0, 0]))

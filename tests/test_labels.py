"""Labels the losses and metrics are given: one-column predictions are the binary case, bad labels are refused.

Concrete labels are checked (a ``ValueError`` naming the bad value and its
index); labels traced under ``jit`` cannot be checked and pass through.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from gdjax import losses, metrics

# One column: the binary case. Thresholded at 0.5: predicted [1, 0, 0, 1], true [0, 1, 0, 1].
COLUMN = jnp.array([[0.9], [0.1], [0.2], [0.8]])
COLUMN_LABELS = jnp.array([[0], [1], [0], [1]])


@pytest.mark.parametrize("labels", [COLUMN_LABELS, COLUMN_LABELS[:, 0]], ids=["(n,1)", "(n,)"])
def test_one_column_predictions_are_binary_probabilities(labels):
    # TP = 1 (row 3), FP = 1 (row 0), FN = 1 (row 1), TN = 1 (row 2)
    assert float(metrics.accuracy(COLUMN, labels)) == pytest.approx(0.5)
    assert float(metrics.precision(COLUMN, labels)) == pytest.approx(0.5)
    assert float(metrics.recall(COLUMN, labels)) == pytest.approx(0.5)
    assert float(metrics.f1_score(COLUMN, labels)) == pytest.approx(0.5)
    assert float(metrics.accuracy(COLUMN, labels, threshold=0.15)) == pytest.approx(0.25)  # [1, 0, 1, 1]
    assert float(metrics.accuracy(COLUMN, labels, threshold=0.05)) == pytest.approx(0.5)  # all positive
    # the same numbers as the (n,) form
    assert float(metrics.accuracy(COLUMN, labels)) == float(metrics.accuracy(COLUMN[:, 0], COLUMN_LABELS[:, 0]))


def test_one_column_metrics_under_jit():
    assert float(jax.jit(metrics.accuracy)(COLUMN, COLUMN_LABELS)) == pytest.approx(0.5)
    assert float(jax.jit(metrics.recall)(COLUMN, COLUMN_LABELS[:, 0])) == pytest.approx(0.5)


def test_confusion_matrix_takes_columns_of_class_indices():
    predicted = (COLUMN >= 0.5).astype(jnp.int32)  # (n, 1)
    np.testing.assert_array_equal(metrics.confusion_matrix(predicted, COLUMN_LABELS, 2), [[1, 1], [1, 1]])
    np.testing.assert_array_equal(metrics.confusion_matrix(predicted[:, 0], COLUMN_LABELS, 2), [[1, 1], [1, 1]])


def test_one_column_predictions_refuse_mismatched_labels():
    with pytest.raises(ValueError, match=r"labels must have shape \(4,\) or \(4, 1\).*got \(4, 2\)"):
        metrics.accuracy(COLUMN, jnp.zeros((4, 2)))
    with pytest.raises(ValueError, match=r"labels must have shape \(4,\) or \(4, 1\).*got \(3,\)"):
        metrics.precision(COLUMN, jnp.zeros(3))


# ---------------------------------------------------------------- categorical cross-entropy

PROBS3 = jnp.array([[0.7, 0.2, 0.1], [0.1, 0.8, 0.1], [0.3, 0.3, 0.4], [0.5, 0.4, 0.1]])


@pytest.mark.parametrize(
    "loss,scores",
    [(losses.categorical_cross_entropy, PROBS3), (losses.softmax_cross_entropy, jnp.log(PROBS3))],
    ids=["probs", "logits"],
)
def test_integer_labels_out_of_range_are_refused(loss, scores):
    with pytest.raises(ValueError, match=r"labels must be class indices in \[0, 3\); got 5 at index 2"):
        loss(scores, jnp.array([0, 1, 5, 2]))
    with pytest.raises(ValueError, match=r"labels must be class indices in \[0, 3\); got -1 at index 0"):
        loss(scores, np.array([-1, 1, 2, 2]))
    # valid labels give -mean log p of the true classes
    expected = -np.mean(np.log([0.7, 0.8, 0.4, 0.1]))
    assert float(loss(scores, jnp.array([0, 1, 2, 2]))) == pytest.approx(expected, rel=1e-5)


@pytest.mark.parametrize(
    "loss,scores",
    [(losses.categorical_cross_entropy, PROBS3), (losses.softmax_cross_entropy, jnp.log(PROBS3))],
    ids=["probs", "logits"],
)
def test_one_hot_rows_must_be_distributions(loss, scores):
    rows = np.eye(3, dtype=np.float32)[[0, 1, 2, 2]]
    zero_row = rows.copy()
    zero_row[1] = 0
    with pytest.raises(ValueError, match=r"labels must be one-hot rows .*row 1 sums to 0.0"):
        loss(scores, zero_row)
    double = rows.copy()
    double[3] = [0, 1, 1]
    with pytest.raises(ValueError, match=r"row 3 sums to 2.0"):
        loss(scores, double)
    negative = rows.copy()
    negative[2] = [-1, 1, 1]
    with pytest.raises(ValueError, match=r"non-negative.*got -1.0 at index \(2, 0\)"):
        loss(scores, negative)
    # soft rows (label smoothing) summing to 1 are fine: -sum_k y_k log p_k
    soft = np.full((4, 3), 1 / 3, np.float32)
    assert float(loss(scores, soft)) == pytest.approx(-np.mean(np.log(np.asarray(PROBS3)).sum(1) / 3), rel=1e-5)


def test_traced_class_labels_are_unchecked():
    # inside jit the labels cannot be inspected: label 5 of 3 classes is the caller's promise (it counts 0)
    value = jax.jit(losses.softmax_cross_entropy)(jnp.zeros((2, 3)), jnp.array([0, 5]))
    assert float(value) == pytest.approx(np.log(3) / 2, rel=1e-5)


# ---------------------------------------------------------------- binary cross-entropy


@pytest.mark.parametrize(
    "loss,scores",
    [
        (losses.binary_cross_entropy, jnp.array([0.9, 0.2, 0.6])),
        (losses.sigmoid_binary_cross_entropy, jnp.array([3.0, -1.0, 0.5])),
    ],
    ids=["probs", "logits"],
)
def test_binary_labels_must_be_in_the_unit_interval(loss, scores):
    with pytest.raises(ValueError, match=r"labels must be in \[0, 1\].*got 2.0 at index 1"):
        loss(scores, jnp.array([1.0, 2.0, 0.0]))
    with pytest.raises(ValueError, match=r"labels must be in \[0, 1\].*got -1.0 at index 2"):
        loss(scores, jnp.array([1.0, 0.0, -1.0]))
    with pytest.raises(ValueError, match=r"labels must be in \[0, 1\].*got nan at index 0"):
        loss(scores, jnp.array([jnp.nan, 0.0, 1.0]))
    # soft labels are allowed: y = 0.5 on p = 0.5 (z = 0) is log 2
    assert float(loss(jnp.array([0.5 if loss is losses.binary_cross_entropy else 0.0]), jnp.array([0.5]))) == (
        pytest.approx(np.log(2), rel=1e-6)
    )


def test_a_label_of_two_no_longer_gives_a_negative_loss_but_jit_passes_it_through():
    # under jit (unchecked) the formula still applies: z = 3, y = 2 gives max(z, 0) - z y + log1p(e^-z) < 0
    value = jax.jit(losses.sigmoid_binary_cross_entropy)(jnp.array([3.0]), jnp.array([2.0]))
    assert float(value) == pytest.approx(3 - 6 + np.log1p(np.exp(-3)), rel=1e-6)
    with pytest.raises(ValueError, match="labels must be in"):
        losses.sigmoid_binary_cross_entropy(jnp.array([3.0]), jnp.array([2.0]))


# ---------------------------------------------------------------- hinge and perceptron

SCORES = jnp.array([2.0, 0.5, -0.5, 0.5])


def test_hinge_accepts_signed_labels():
    # t s = 2, 0.5, 0.5, -0.5 -> max(0, 1 - t s) = 0, 0.5, 0.5, 1.5
    signed = jnp.array([1, 1, -1, -1])
    np.testing.assert_allclose(losses.hinge_loss(SCORES, signed, reduction="none"), [0, 0.5, 0.5, 1.5])
    np.testing.assert_allclose(losses.hinge_loss(SCORES, (signed + 1) // 2, reduction="none"), [0, 0.5, 0.5, 1.5])
    np.testing.assert_allclose(losses.perceptron_loss(SCORES, signed, reduction="none"), [0, 0, 0, 0.5])
    np.testing.assert_allclose(losses.perceptron_loss(SCORES, signed > 0, reduction="none"), [0, 0, 0, 0.5])
    assert float(losses.hinge_loss(jnp.array([0.5]), jnp.array([-1.0]))) == pytest.approx(1.5)
    # traced labels take the same map where(y > 0, 1, -1)
    np.testing.assert_allclose(jax.jit(losses.hinge_loss)(SCORES, signed), 2.5 / 4)


@pytest.mark.parametrize("loss", [losses.hinge_loss, losses.perceptron_loss])
def test_hinge_refuses_other_labels(loss):
    with pytest.raises(ValueError, match=r"labels must be 0/1 or -1/\+1.*got 2 at index 3"):
        loss(SCORES, jnp.array([1, 0, 1, 2]))
    with pytest.raises(ValueError, match=r"labels must be 0/1 or -1/\+1.*got 0.5 at index 0"):
        loss(SCORES, jnp.array([0.5, 0.0, 1.0, 1.0]))
    with pytest.raises(ValueError, match=r"mix.*0 at index 1.*-1 at index 2"):
        loss(SCORES, jnp.array([1, 0, -1, 1]))


# ---------------------------------------------------------------- metrics


def test_binary_metrics_refuse_labels_other_than_0_and_1():
    for metric in (metrics.accuracy, metrics.precision, metrics.recall, metrics.f1_score):
        with pytest.raises(ValueError, match=r"labels must be 0 or 1; got 2 at index 1"):
            metric(jnp.array([0.9, 0.8, 0.1]), jnp.array([1, 2, 0]))
    with pytest.raises(ValueError, match=r"labels must be 0 or 1; got -1 at index \(2, 0\)"):
        metrics.accuracy(COLUMN, jnp.array([[0], [1], [-1], [1]]))


def test_multiclass_accuracy_refuses_labels_out_of_range():
    with pytest.raises(ValueError, match=r"labels must be class indices in \[0, 3\); got 3 at index 3"):
        metrics.accuracy(PROBS3, jnp.array([0, 1, 2, 3]))
    with pytest.raises(ValueError, match=r"labels must be class indices in \[0, 3\); got 1.5 at index 0"):
        metrics.accuracy(PROBS3, jnp.array([1.5, 1, 2, 2]))
    with pytest.raises(ValueError, match=r"row 0 sums to 0.0"):
        metrics.accuracy(PROBS3, jnp.zeros((4, 3)))


def test_confusion_matrix_refuses_classes_out_of_range():
    with pytest.raises(ValueError, match=r"true_classes must be class indices in \[0, 3\); got 3 at index 2"):
        metrics.confusion_matrix(jnp.array([0, 1, 2]), jnp.array([0, 1, 3]), 3)
    with pytest.raises(ValueError, match=r"predicted_classes must be class indices in \[0, 3\); got -1 at index 0"):
        metrics.confusion_matrix(jnp.array([-1, 1, 2]), jnp.array([0, 1, 2]), 3)
    # every example is counted
    assert int(metrics.confusion_matrix(jnp.array([2, 1, 2]), jnp.array([0, 1, 2]), 3).sum()) == 3

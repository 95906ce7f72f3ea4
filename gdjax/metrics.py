"""Metrics: how we judge a model (we train on losses, we judge on metrics).

Binary metrics take predictions as probabilities (or scores with a matching
``threshold``) of shape ``(n,)`` or ``(n, 1)`` (one column, as a one-unit
output layer gives) and 0/1 labels of shape ``(n,)`` (or ``(n, 1)`` with
column predictions); a prediction counts as positive when ``p >= threshold``.
A single column is always this binary case, never one class's scores. With
TP, FP, FN, TN the cells of the confusion matrix:

- ``accuracy  = (TP + TN) / n``
- ``precision = TP / (TP + FP)``   (0 when nothing is predicted positive)
- ``recall    = TP / (TP + FN)``   (0 when there are no positives)
- ``F1        = 2 precision recall / (precision + recall)``
- ``R^2       = 1 - sum (y - y_hat)^2 / sum (y - mean y)^2``
- ``ROC-AUC   = P(a random positive scores above a random negative)``, ties half

All are jittable; class counts are static. Concrete labels are checked (0/1
for binary metrics, class indices in ``[0, K)`` or probability rows for
several classes) and a ``ValueError`` names the first bad value and its index;
labels traced under ``jit``/``vmap`` cannot be inspected and are used
unchecked.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from gdjax._checks import check_binary_labels, check_class_labels, check_distribution_rows, check_int


def _is_column(predictions) -> bool:
    return jnp.ndim(predictions) == 2 and jnp.shape(predictions)[1] == 1


def _column_pair(name_a: str, a: jax.Array, name_b: str, b: jax.Array) -> tuple[jax.Array, jax.Array]:
    """``a`` of shape ``(n, 1)`` and ``b`` of shape ``(n,)`` or ``(n, 1)``, both as ``(n,)``."""
    n = a.shape[0]
    if b.shape not in ((n,), (n, 1)):
        raise ValueError(f"{name_b} must have shape ({n},) or ({n}, 1) for one column of {name_a}; got {b.shape}.")
    return a[:, 0], b.reshape(n)


def _binary(predictions, labels, threshold) -> tuple[jax.Array, jax.Array]:
    """Predicted and true classes (booleans, ``(n,)``) from binary scores ``(n,)`` or ``(n, 1)``."""
    predictions, labels = jnp.asarray(predictions), jnp.asarray(labels)
    given = labels
    if _is_column(predictions):
        predictions, labels = _column_pair("predictions", predictions, "labels", labels)
    elif predictions.ndim != 1 or predictions.shape != labels.shape:
        raise ValueError(
            "predictions and labels must both have shape (n,) for a binary metric (or predictions (n, 1) "
            f"and labels (n,) or (n, 1)); got {predictions.shape} and {labels.shape}."
        )
    check_binary_labels("labels", given)
    return predictions >= threshold, labels.astype(bool)


def _class_ids(predictions, labels) -> tuple[jax.Array, jax.Array]:
    """Predicted and true class indices from ``(n, K)`` scores and integer or one-hot labels."""
    predictions, labels = jnp.asarray(predictions), jnp.asarray(labels)
    if predictions.ndim != 2:
        raise ValueError(f"predictions must have shape (n, num_classes); got {predictions.shape}.")
    if labels.shape == predictions.shape:
        check_distribution_rows("labels", labels)
        labels = jnp.argmax(labels, axis=-1)
    elif labels.shape == predictions.shape[:1]:
        check_class_labels("labels", labels, predictions.shape[1])
    else:
        raise ValueError(
            f"labels must have shape {predictions.shape[:1]} (class indices) or {predictions.shape} "
            f"(one-hot); got {labels.shape}."
        )
    return jnp.argmax(predictions, axis=-1), labels.astype(jnp.int32)


def accuracy(predictions, labels, *, threshold: float = 0.5) -> jax.Array:
    """Share of correct predictions, ``(1/n) sum_i [predicted_i = y_i]``.

    ``(n,)`` or ``(n, 1)`` probabilities against 0/1 labels (positive when
    ``p >= threshold``), or ``(n, K)`` class scores, ``K >= 2``, against class
    indices ``(n,)`` or one-hot/probability rows ``(n, K)`` (argmax of each).
    Concrete labels are checked; traced labels are not.
    """
    if jnp.ndim(predictions) == 2 and not _is_column(predictions):
        predicted, true = _class_ids(predictions, labels)
    else:
        predicted, true = _binary(predictions, labels, threshold)
    return jnp.mean(predicted == true)


def _counts(predictions, labels, threshold):
    predicted, true = _binary(predictions, labels, threshold)
    tp = jnp.sum(predicted & true)
    fp = jnp.sum(predicted & ~true)
    fn = jnp.sum(~predicted & true)
    return tp, fp, fn


def _ratio(numerator, denominator) -> jax.Array:
    numerator = numerator.astype(jnp.float32) if jnp.issubdtype(numerator.dtype, jnp.integer) else numerator
    return jnp.where(denominator > 0, numerator / jnp.maximum(denominator, 1), 0.0)


def precision(predictions, labels, *, threshold: float = 0.5) -> jax.Array:
    """``TP / (TP + FP)``; 0 when no example is predicted positive."""
    tp, fp, _ = _counts(predictions, labels, threshold)
    return _ratio(tp, tp + fp)


def recall(predictions, labels, *, threshold: float = 0.5) -> jax.Array:
    """``TP / (TP + FN)``; 0 when there are no positive examples."""
    tp, _, fn = _counts(predictions, labels, threshold)
    return _ratio(tp, tp + fn)


def f1_score(predictions, labels, *, threshold: float = 0.5) -> jax.Array:
    """``2 TP / (2 TP + FP + FN)``, the harmonic mean of precision and recall."""
    tp, fp, fn = _counts(predictions, labels, threshold)
    return _ratio(2 * tp, 2 * tp + fp + fn)


def confusion_matrix(predicted_classes, true_classes, num_classes: int) -> jax.Array:
    """``C[i, j]`` = number of examples of true class ``i`` predicted as class ``j``.

    Takes class indices of shape ``(n,)`` or ``(n, 1)`` (use ``p >= 0.5`` or
    ``argmax`` first), in ``[0, num_classes)``. For two classes
    ``[[TN, FP], [FN, TP]]``. Concrete indices are checked (every example is
    counted exactly once); traced indices are not, and one out of range is
    then miscounted.
    """
    num_classes = check_int("num_classes", num_classes, minimum=2)
    predicted, true = jnp.asarray(predicted_classes), jnp.asarray(true_classes)
    given = predicted, true
    if _is_column(predicted):
        predicted, true = _column_pair("predicted_classes", predicted, "true_classes", true)
    elif _is_column(true):
        true, predicted = _column_pair("true_classes", true, "predicted_classes", predicted)
    if predicted.ndim != 1 or predicted.shape != true.shape:
        raise ValueError(
            "predicted_classes and true_classes must both have shape (n,) (or (n, 1)); "
            f"got {predicted.shape} and {true.shape}."
        )
    check_class_labels("predicted_classes", given[0], num_classes)
    check_class_labels("true_classes", given[1], num_classes)
    flat = true.astype(jnp.int32) * num_classes + predicted.astype(jnp.int32)
    return jnp.bincount(flat, length=num_classes * num_classes).reshape(num_classes, num_classes)


def r2_score(predictions, targets) -> jax.Array:
    """Coefficient of determination ``1 - SS_res / SS_tot``."""
    predictions, targets = jnp.asarray(predictions), jnp.asarray(targets)
    if predictions.shape != targets.shape:
        raise ValueError(f"targets must have the same shape as predictions, {predictions.shape}; got {targets.shape}.")
    residual = jnp.sum(jnp.square(targets - predictions))
    total = jnp.sum(jnp.square(targets - jnp.mean(targets, axis=0)))
    return 1 - residual / total


def roc_auc(scores, labels) -> jax.Array:
    """Area under the ROC curve: the chance that a random positive scores above a random negative.

    ``mean over (positive i, negative j) of [s_i > s_j] + [s_i = s_j] / 2``,
    the Mann-Whitney U statistic divided by ``n_pos n_neg`` (Hanley & McNeil,
    *Radiology* 143, 1982), ties counted half, so a constant score gives 0.5.
    ``scores`` may carry leading batch axes (one row per run); ``labels`` are
    0/1 of shape ``(n,)``. NaN when a class is absent. Jittable; pairwise, so
    for test sets of hundreds of rows, not millions.
    """
    scores, labels = jnp.asarray(scores), jnp.asarray(labels)
    if labels.ndim != 1 or scores.shape[-1:] != labels.shape:
        raise ValueError(
            f"scores must end with the labels' axis {labels.shape} and labels must be 1-D; "
            f"got shapes {scores.shape} and {labels.shape}."
        )
    check_binary_labels("labels", labels)
    pos = labels > 0.5
    pair = (pos[:, None] & ~pos[None, :]).astype(scores.dtype)
    diff = scores[..., :, None] - scores[..., None, :]
    wins = jnp.where(diff > 0, 1.0, jnp.where(diff == 0, 0.5, 0.0))
    count = jnp.sum(pair)
    return jnp.where(count > 0, jnp.sum(wins * pair, axis=(-2, -1)) / jnp.maximum(count, 1), jnp.nan)

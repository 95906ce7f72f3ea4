"""Metrics: how we judge a model (we train on losses, we judge on metrics).

Binary metrics take predictions as probabilities (or scores with a matching
``threshold``) of shape ``(n,)`` and 0/1 labels of the same shape; a
prediction counts as positive when ``p >= threshold``. With TP, FP, FN, TN the
cells of the confusion matrix:

- ``accuracy  = (TP + TN) / n``
- ``precision = TP / (TP + FP)``   (0 when nothing is predicted positive)
- ``recall    = TP / (TP + FN)``   (0 when there are no positives)
- ``F1        = 2 precision recall / (precision + recall)``
- ``R^2       = 1 - sum (y - y_hat)^2 / sum (y - mean y)^2``

All are jittable; class counts are static.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from gdjax._checks import check_int


def _binary(predictions, labels, threshold) -> tuple[jax.Array, jax.Array]:
    predictions, labels = jnp.asarray(predictions), jnp.asarray(labels)
    if predictions.ndim != 1 or predictions.shape != labels.shape:
        raise ValueError(
            "predictions and labels must both have shape (n,) for a binary metric; "
            f"got {predictions.shape} and {labels.shape}."
        )
    return predictions >= threshold, labels.astype(bool)


def _class_ids(predictions, labels) -> tuple[jax.Array, jax.Array]:
    """Predicted and true class indices from ``(n, K)`` scores and integer or one-hot labels."""
    predictions, labels = jnp.asarray(predictions), jnp.asarray(labels)
    if predictions.ndim != 2:
        raise ValueError(f"predictions must have shape (n, num_classes); got {predictions.shape}.")
    if labels.shape == predictions.shape:
        labels = jnp.argmax(labels, axis=-1)
    elif labels.shape != predictions.shape[:1]:
        raise ValueError(
            f"labels must have shape {predictions.shape[:1]} (class indices) or {predictions.shape} "
            f"(one-hot); got {labels.shape}."
        )
    return jnp.argmax(predictions, axis=-1), labels.astype(jnp.int32)


def accuracy(predictions, labels, *, threshold: float = 0.5) -> jax.Array:
    """Share of correct predictions.

    ``(n,)`` probabilities against 0/1 labels (positive when ``p >= threshold``),
    or ``(n, K)`` class scores against class indices or one-hot labels (argmax).
    """
    if jnp.ndim(predictions) == 2:
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

    Takes integer class indices of shape ``(n,)`` (use ``p >= 0.5`` or
    ``argmax`` first). For two classes ``[[TN, FP], [FN, TP]]``.
    """
    num_classes = check_int("num_classes", num_classes, minimum=2)
    predicted, true = jnp.asarray(predicted_classes), jnp.asarray(true_classes)
    if predicted.ndim != 1 or predicted.shape != true.shape:
        raise ValueError(
            f"predicted_classes and true_classes must both have shape (n,); got {predicted.shape} and {true.shape}."
        )
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

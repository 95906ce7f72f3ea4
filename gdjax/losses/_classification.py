"""Classification losses: cross-entropies, hinge and perceptron losses.

Labels are 0/1 for binary problems and class indices (or one-hot rows) for
several classes. Natural logarithms throughout.

- Binary cross-entropy ``-(y log p + (1 - y) log(1 - p))`` per example. The
  course's worked example sums it: ``CE[(1,1,0), (0.8,0.7,0.1)] = 0.6852``.
- On logits ``z`` (``p = sigmoid(z)``) the same loss is computed stably as
  ``max(z, 0) - z y + log(1 + e^{-|z|})``.
- Categorical cross-entropy ``-sum_k y_k log p_k``; on logits
  ``-sum_k y_k log_softmax(z)_k``.
- Hinge ``max(0, 1 - t s)`` and perceptron ``max(0, -t s)`` with the signed
  label ``t = 2y - 1`` and score ``s``.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from gdjax.losses._reduce import Reduction, reduce, same_shape


def _clip_probabilities(probs: jax.Array) -> jax.Array:
    # log(0) would give -inf and a NaN gradient; clip to [eps, 1 - eps] of the dtype.
    eps = jnp.finfo(probs.dtype).eps
    return jnp.clip(probs, eps, 1 - eps)


def _float(x: jax.Array) -> jax.Array:
    return x if jnp.issubdtype(x.dtype, jnp.floating) else x.astype(jnp.float32)


def binary_cross_entropy(probs, labels, *, reduction: Reduction = "mean") -> jax.Array:
    """``-(y log p + (1 - y) log(1 - p))`` on probabilities ``p``.

    ``p`` is clipped to ``[eps, 1 - eps]`` (machine epsilon of its dtype) so a
    saturated prediction gives a large finite loss, never ``inf``/NaN. Prefer
    :func:`sigmoid_binary_cross_entropy` on logits when training.
    """
    probs, labels = same_shape("probs", probs, "labels", labels)
    probs = _clip_probabilities(_float(probs))
    labels = labels.astype(probs.dtype)
    losses = -(labels * jnp.log(probs) + (1 - labels) * jnp.log1p(-probs))
    return reduce(losses, reduction)


def sigmoid_binary_cross_entropy(logits, labels, *, reduction: Reduction = "mean") -> jax.Array:
    """Binary cross-entropy of ``sigmoid(logits)``: ``max(z, 0) - z y + log1p(exp(-|z|))``.

    Exact for any finite logit (no overflow, no clipping).
    """
    logits, labels = same_shape("logits", logits, "labels", labels)
    logits = _float(logits)
    labels = labels.astype(logits.dtype)
    losses = jnp.maximum(logits, 0) - logits * labels + jnp.log1p(jnp.exp(-jnp.abs(logits)))
    return reduce(losses, reduction)


def _one_hot_labels(name: str, scores: jax.Array, labels) -> jax.Array:
    """Integer labels ``(n,)`` or one-hot labels ``(n, K)`` as one-hot rows matching ``scores``."""
    labels = jnp.asarray(labels)
    if scores.ndim != 2:
        raise ValueError(f"{name} must have shape (n, num_classes); got shape {scores.shape}.")
    if labels.shape == scores.shape:
        return labels.astype(scores.dtype)
    if labels.shape == scores.shape[:1] and jnp.issubdtype(labels.dtype, jnp.integer):
        return jax.nn.one_hot(labels, scores.shape[1], dtype=scores.dtype)
    raise ValueError(
        f"labels must be integer class indices of shape {scores.shape[:1]} or one-hot rows of shape "
        f"{scores.shape}; got shape {labels.shape} and dtype {labels.dtype}."
    )


def categorical_cross_entropy(probs, labels, *, reduction: Reduction = "mean") -> jax.Array:
    """``-sum_k y_k log p_k`` on class probabilities ``(n, K)`` (clipped like the binary form)."""
    probs = _clip_probabilities(_float(jnp.asarray(probs)))
    one_hot = _one_hot_labels("probs", probs, labels)
    return reduce(-jnp.sum(one_hot * jnp.log(probs), axis=-1), reduction)


def softmax_cross_entropy(logits, labels, *, reduction: Reduction = "mean") -> jax.Array:
    """``-sum_k y_k log softmax(z)_k`` on logits ``(n, K)``, stable for any finite logits."""
    logits = _float(jnp.asarray(logits))
    one_hot = _one_hot_labels("logits", logits, labels)
    return reduce(-jnp.sum(one_hot * jax.nn.log_softmax(logits, axis=-1), axis=-1), reduction)


def hinge_loss(scores, labels, *, margin: float = 1.0, reduction: Reduction = "mean") -> jax.Array:
    """``max(0, margin - t s)`` with ``t = 2y - 1`` for labels ``y`` in {0, 1}."""
    scores, labels = same_shape("scores", scores, "labels", labels)
    scores = _float(scores)
    signed = 2 * labels.astype(scores.dtype) - 1
    return reduce(jnp.maximum(0, margin - signed * scores), reduction)


def perceptron_loss(scores, labels, *, reduction: Reduction = "mean") -> jax.Array:
    """``max(0, -t s)``: zero for correct points, the distance-like score for mistakes.

    Its gradient step is the perceptron trick (up to the point on the line).
    """
    return hinge_loss(scores, labels, margin=0.0, reduction=reduction)

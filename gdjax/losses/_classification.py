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
  label ``t = +1 if y > 0 else -1`` (labels 0/1 or -1/+1) and score ``s``.

Concrete labels are checked before anything is computed: binary labels in
``[0, 1]``, class indices in ``[0, K)``, label rows non-negative and summing to
1, margin-loss labels 0/1 or -1/+1; a ``ValueError`` names the first bad value
and its index. Labels traced under ``jit``/``vmap`` cannot be inspected and are
used unchecked (out-of-range class indices then give all-zero one-hot rows).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from gdjax._checks import check_binary_labels, check_class_labels, check_distribution_rows, check_sign_labels
from gdjax.losses._reduce import Reduction, reduce, same_shape


def _clip_probabilities(probs: jax.Array) -> jax.Array:
    # log(0) would give -inf and a NaN gradient; clip to [eps, 1 - eps] of the dtype.
    eps = jnp.finfo(probs.dtype).eps
    return jnp.clip(probs, eps, 1 - eps)


def _float(x: jax.Array) -> jax.Array:
    return x if jnp.issubdtype(x.dtype, jnp.floating) else x.astype(jnp.float32)


def binary_cross_entropy(probs, labels, *, reduction: Reduction = "mean") -> jax.Array:
    """``-(y log p + (1 - y) log(1 - p))`` on probabilities ``p``, with ``p`` clipped.

    Clipping: ``p`` is replaced by ``clip(p, eps, 1 - eps)``, i.e. clipped to
    ``[eps, 1 - eps]`` with ``eps = jnp.finfo(p.dtype).eps`` (integer ``p`` is
    taken as float32): ``eps = 2**-23 ≈ 1.19e-7`` in float32, ``2**-52`` in
    float64, ``2**-10`` in float16 and ``2**-7`` in bfloat16. So ``log(0)`` is
    never taken and a saturated prediction costs at most ``-log(eps)`` per
    example (``≈ 15.9`` in float32, ``36.0`` in float64, ``6.9`` in float16,
    ``4.9`` in bfloat16) instead of ``inf``.

    Consequence: a clipped example has zero gradient (the clip is flat outside
    ``[eps, 1 - eps]``), so a confidently wrong prediction stops learning, and
    a diverging training reports a bounded, plausible-looking loss instead of
    ``inf``/NaN. Train on logits with :func:`sigmoid_binary_cross_entropy`
    (``model.logits``), which is exact for every finite logit and never clips;
    keep this form for evaluating probabilities.

    Labels: concrete labels must lie in ``[0, 1]``; soft labels (e.g. label
    smoothing) are allowed, the formula being the cross-entropy of the
    Bernoulli(``y``) and Bernoulli(``p``) distributions. Traced labels are not
    checked.

    Raises:
      ValueError: shapes differ, or a concrete label is outside ``[0, 1]``
        (the message gives its value and index).
    """
    probs, labels = same_shape("probs", probs, "labels", labels)
    check_binary_labels("labels", labels, soft=True)
    probs = _clip_probabilities(_float(probs))
    labels = labels.astype(probs.dtype)
    losses = -(labels * jnp.log(probs) + (1 - labels) * jnp.log1p(-probs))
    return reduce(losses, reduction)


def sigmoid_binary_cross_entropy(logits, labels, *, reduction: Reduction = "mean") -> jax.Array:
    """Binary cross-entropy of ``sigmoid(logits)``: ``max(z, 0) - z y + log1p(exp(-|z|))``.

    Exact for any finite logit (no overflow, no clipping), so its gradient
    ``sigmoid(z) - y`` never vanishes on a wrong prediction: the form to train
    on. Concrete labels must lie in ``[0, 1]`` (soft labels allowed); traced
    labels are not checked.

    Raises:
      ValueError: shapes differ, or a concrete label is outside ``[0, 1]``.
    """
    logits, labels = same_shape("logits", logits, "labels", labels)
    check_binary_labels("labels", labels, soft=True)
    logits = _float(logits)
    labels = labels.astype(logits.dtype)
    losses = jnp.maximum(logits, 0) - logits * labels + jnp.log1p(jnp.exp(-jnp.abs(logits)))
    return reduce(losses, reduction)


def _one_hot_labels(name: str, scores: jax.Array, labels) -> jax.Array:
    """Integer labels ``(n,)`` or one-hot labels ``(n, K)`` as one-hot rows matching ``scores``.

    Concrete labels are checked: indices in ``[0, K)``; rows non-negative and
    summing to 1.
    """
    labels = jnp.asarray(labels)
    if scores.ndim != 2:
        raise ValueError(f"{name} must have shape (n, num_classes); got shape {scores.shape}.")
    if labels.shape == scores.shape:
        check_distribution_rows("labels", labels)
        return labels.astype(scores.dtype)
    if labels.shape == scores.shape[:1] and jnp.issubdtype(labels.dtype, jnp.integer):
        check_class_labels("labels", labels, scores.shape[1])
        return jax.nn.one_hot(labels, scores.shape[1], dtype=scores.dtype)
    raise ValueError(
        f"labels must be integer class indices of shape {scores.shape[:1]} or one-hot rows of shape "
        f"{scores.shape}; got shape {labels.shape} and dtype {labels.dtype}."
    )


def categorical_cross_entropy(probs, labels, *, reduction: Reduction = "mean") -> jax.Array:
    """``-sum_k y_k log p_k`` on class probabilities ``(n, K)``.

    ``p`` is clipped to ``[eps, 1 - eps]`` like :func:`binary_cross_entropy`
    (a clipped probability has zero gradient); train on logits with
    :func:`softmax_cross_entropy`. Labels are class indices ``(n,)`` (integer
    dtype) or rows ``(n, K)`` of class probabilities (one-hot, or soft rows
    summing to 1). Concrete labels are checked: indices in ``[0, K)``, rows
    non-negative with sum 1 (to ``sqrt(eps)``); traced labels are not, and an
    out-of-range traced index contributes 0.

    Raises:
      ValueError: bad shapes, or a concrete label out of range (its value and
        index are named).
    """
    probs = _clip_probabilities(_float(jnp.asarray(probs)))
    one_hot = _one_hot_labels("probs", probs, labels)
    return reduce(-jnp.sum(one_hot * jnp.log(probs), axis=-1), reduction)


def softmax_cross_entropy(logits, labels, *, reduction: Reduction = "mean") -> jax.Array:
    """``-sum_k y_k log softmax(z)_k`` on logits ``(n, K)``, stable for any finite logits.

    Labels as in :func:`categorical_cross_entropy` (class indices or
    probability rows, checked when concrete, unchecked when traced).
    """
    logits = _float(jnp.asarray(logits))
    one_hot = _one_hot_labels("logits", logits, labels)
    return reduce(-jnp.sum(one_hot * jax.nn.log_softmax(logits, axis=-1), axis=-1), reduction)


def hinge_loss(scores, labels, *, margin: float = 1.0, reduction: Reduction = "mean") -> jax.Array:
    """``max(0, margin - t s)`` with the signed label ``t = where(y > 0, +1, -1)``.

    Both label conventions are accepted: ``y`` in {0, 1} (0 maps to -1) and
    ``y`` in {-1, +1} (kept); booleans count as {0, 1}. Concrete labels must
    hold only 0/1 or only -1/+1 values (a mix of 0 and -1 is refused, as is any
    other value); traced labels are not checked and every ``y <= 0`` counts as
    the negative class.

    Raises:
      ValueError: shapes differ, or a concrete label is not 0/1 or -1/+1 (its
        value and index are named).
    """
    scores, labels = same_shape("scores", scores, "labels", labels)
    check_sign_labels("labels", labels)
    scores = _float(scores)
    signed = jnp.where(labels > 0, 1, -1).astype(scores.dtype)
    return reduce(jnp.maximum(0, margin - signed * scores), reduction)


def perceptron_loss(scores, labels, *, reduction: Reduction = "mean") -> jax.Array:
    """``max(0, -t s)``: zero for correct points, the distance-like score for mistakes.

    ``t = where(y > 0, +1, -1)``, labels 0/1 or -1/+1 as in :func:`hinge_loss`
    (checked when concrete). Its gradient step is the perceptron trick (up to
    the point on the line).
    """
    return hinge_loss(scores, labels, margin=0.0, reduction=reduction)

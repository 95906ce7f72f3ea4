"""The heart-disease setup shared by the studies: data, model, loss and metrics.

One :class:`HeartTask` per (split seed, layer sizes, dropout) is built once and
cached, so every study that trains the same network passes the *same* loss and
metric objects to :func:`gdjax.fit` / :func:`gdjax.restarts.restarts` and
reuses their compiled programs.

The loss is the binary cross-entropy of the sigmoid output, computed from the
logits (``sigmoid_binary_cross_entropy``: ``max(z, 0) - z y + log(1 + e^{-|z|})``,
the same value as ``BCE(sigmoid(z), y)`` without its overflow).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

import gdjax
from gdjax.losses import sigmoid_binary_cross_entropy
from gdjax.models import Model

#: The course's network: 29 inputs, 16 ReLU units, one sigmoid output (497 parameters).
COURSE_SIZES: tuple[int, ...] = (29, 16, 1)


class HeartTask(NamedTuple):
    """Everything needed to train one network on the heart data.

    Attributes:
      model: the network (or logistic regression).
      train: ``(x_train, y_train)``, 242 standardised patients.
      test: ``(x_test, y_test)``, the 61 held out.
      loss: ``loss(params, batch)``, or ``loss(params, batch, key)`` with
        dropout (the key drops units; None evaluates).
      metrics: ``{"accuracy": metric(params, data)}``.
      n_params: number of scalar parameters.
      feature_names: the 29 input names.
    """

    model: Model
    train: tuple[jax.Array, jax.Array]
    test: tuple[jax.Array, jax.Array]
    loss: Callable[..., jax.Array]
    metrics: Mapping[str, Callable[[Any, Any], jax.Array]]
    n_params: int
    feature_names: tuple[str, ...]


@functools.lru_cache(maxsize=1)
def _split(seed: int):
    return gdjax.data.load_heart_split(seed)


@functools.lru_cache(maxsize=16)
def heart_task(seed: int = 0, sizes: Sequence[int] | None = COURSE_SIZES, *, dropout: float = 0.0) -> HeartTask:
    """The heart task for split ``seed``: an MLP of ``sizes``, or logistic regression when ``sizes`` is None."""
    split = _split(seed)
    if sizes is None:
        model = gdjax.models.logistic_regression(split.x_train.shape[1])
    else:
        model = gdjax.models.mlp(tuple(sizes), hidden="relu", output="sigmoid", dropout=dropout)

    if dropout > 0:

        def loss(params, batch, key):
            return sigmoid_binary_cross_entropy(model.logits(params, batch[0], key=key), batch[1])
    else:

        def loss(params, batch):
            return sigmoid_binary_cross_entropy(model.logits(params, batch[0]), batch[1])

    def accuracy(params, data):
        return gdjax.metrics.accuracy(model.apply(params, data[0]), data[1])

    return HeartTask(
        model=model,
        train=(split.x_train, split.y_train),
        test=(split.x_test, split.y_test),
        loss=loss,
        metrics={"accuracy": accuracy},
        n_params=gdjax.count_params(model.init(jax.random.key(0))),
        feature_names=split.feature_names,
    )


def classification_report(probs: Any, labels: Any) -> dict[str, Any]:
    """Accuracy, precision, recall, F1 and the confusion matrix ``[[TN, FP], [FN, TP]]`` at threshold 0.5.

    ``probs`` may carry leading batch axes (one row of predictions per
    restart); each number then has those axes.
    """
    probs, labels = jnp.asarray(probs), jnp.asarray(labels)

    def one(p):
        return {
            "accuracy": gdjax.metrics.accuracy(p, labels),
            "precision": gdjax.metrics.precision(p, labels),
            "recall": gdjax.metrics.recall(p, labels),
            "f1": gdjax.metrics.f1_score(p, labels),
            "confusion": gdjax.metrics.confusion_matrix((p >= 0.5).astype(jnp.int32), labels.astype(jnp.int32), 2),
        }

    fn = one
    for _ in range(probs.ndim - 1):
        fn = jax.vmap(fn)
    return jax.tree.map(np.asarray, fn(probs))


def predict_stacked(model: Model, stacked_params: Any, x: Any) -> np.ndarray:
    """Probabilities of every run in ``stacked_params`` (leading axis = runs) on ``x``: ``(runs, n)``."""
    return np.asarray(jax.vmap(lambda p: model.apply(p, x))(stacked_params))


def band(values: np.ndarray, axis: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Median and 10th/90th percentiles over ``axis``, ignoring NaN (diverged runs)."""
    values = np.asarray(values, dtype=float)
    with np.errstate(all="ignore"):
        return (
            np.nanmedian(values, axis=axis),
            np.nanpercentile(values, 10, axis=axis),
            np.nanpercentile(values, 90, axis=axis),
        )


def spread(values: Any) -> dict[str, float]:
    """``{median, min, max, mean, std}`` of a set of finite numbers (NaN dropped)."""
    values = np.asarray(values, dtype=float).ravel()
    values = values[np.isfinite(values)]
    if values.size == 0:
        return {
            "median": float("nan"),
            "min": float("nan"),
            "max": float("nan"),
            "mean": float("nan"),
            "std": float("nan"),
        }
    return {
        "median": float(np.median(values)),
        "min": float(values.min()),
        "max": float(values.max()),
        "mean": float(values.mean()),
        "std": float(values.std()),
    }

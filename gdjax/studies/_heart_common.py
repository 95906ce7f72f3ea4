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
    task = model_task(None if sizes is None else tuple(sizes), dropout=dropout)
    return HeartTask(
        model=task.model,
        train=(split.x_train, split.y_train),
        test=(split.x_test, split.y_test),
        loss=task.loss,
        metrics={"accuracy": task.accuracy},
        n_params=task.n_params,
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


# ------------------------------------------------ the honest protocol: train / validation / test


@functools.lru_cache(maxsize=64)
def stratified_split(seed: int = 0) -> gdjax.data.HeartStratifiedSplit:
    """The stratified 181/61/61 train/validation/test split of seed ``seed`` (cached).

    Split ``seed`` is the same for every study: the heart study's split ``s``
    under study seed ``k`` is ``stratified_split(1000 k + s)``, so its split 0
    is the one the restarts and overfitting studies use.
    """
    return gdjax.data.load_heart_stratified_split(seed)


def split_seed(study_seed: int, index: int) -> int:
    """The split seed of the ``index``-th split under a study's seed (split 0: the study seed's own split)."""
    return 1000 * int(study_seed) + int(index)


class ModelTask(NamedTuple):
    """A model with its loss and accuracy metric, independent of the split (data come with each call).

    One object per (sizes, dropout), cached, so every split trains the same
    loss function and reuses one compiled program.
    """

    model: Model
    loss: Callable[..., jax.Array]
    accuracy: Callable[[Any, Any], jax.Array]
    n_params: int


@functools.lru_cache(maxsize=16)
def model_task(sizes: Sequence[int] | None = COURSE_SIZES, *, dropout: float = 0.0) -> ModelTask:
    """The MLP of ``sizes`` (ReLU hidden layers, sigmoid output), or logistic regression for None."""
    if sizes is None:
        model = gdjax.models.logistic_regression(COURSE_SIZES[0])
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

    return ModelTask(model, loss, accuracy, gdjax.count_params(model.init(jax.random.key(0))))


class Scores(NamedTuple):
    """Test (or validation) scores of runs: each array has the runs' leading axes."""

    accuracy: np.ndarray
    f1: np.ndarray
    roc_auc: np.ndarray


def scores_of(probs: Any, labels: Any) -> Scores:
    """Accuracy and F1 at threshold 0.5, and ROC-AUC, of probabilities ``(..., n)`` against 0/1 labels.

    The same numbers as :func:`gdjax.metrics.accuracy`, :func:`gdjax.metrics.f1_score` and
    :func:`roc_auc`, computed in NumPy on the host: a few hundred runs of 61 patients, where
    dispatching JAX operations one by one would cost more than the arithmetic.
    """
    p = np.asarray(probs, np.float64)
    y = np.asarray(labels) > 0.5
    if p.shape[-1:] != y.shape:
        raise ValueError(f"probs must end with the labels' axis {y.shape}; got shape {p.shape}.")
    predicted = p >= 0.5
    tp = np.sum(predicted & y, axis=-1)
    fp = np.sum(predicted & ~y, axis=-1)
    fn = np.sum(~predicted & y, axis=-1)
    denominator = 2 * tp + fp + fn
    f1 = np.where(denominator > 0, 2 * tp / np.maximum(denominator, 1), 0.0)
    diff = p[..., y][..., :, None] - p[..., ~y][..., None, :]
    wins = (diff > 0) + 0.5 * (diff == 0)
    auc = wins.mean(axis=(-2, -1)) if y.any() and (~y).any() else np.full(p.shape[:-1], np.nan)
    return Scores(np.mean(predicted == y, axis=-1), f1, auc)


class Baseline(NamedTuple):
    """The majority-class baseline: the training set's commoner class predicted for everyone."""

    predicted_class: int
    accuracy: float
    f1: float
    roc_auc: float


def majority_baseline(y_train: Any, y_test: Any) -> Baseline:
    """Predicts the training rows' majority class for every test row (a constant score: ROC-AUC 0.5)."""
    y_train, y_test = np.asarray(y_train), np.asarray(y_test)
    predicted = int(np.mean(y_train) > 0.5)
    constant = np.full(y_test.shape, float(predicted), np.float32)
    scores = scores_of(constant, y_test)
    return Baseline(predicted, float(scores.accuracy), float(scores.f1), float(scores.roc_auc))


class VarianceComponents(NamedTuple):
    """Spread of a score over splits x restarts, separated into the split's part and the seed's part.

    The one-way random-effects model ``x_sr = mu + a_s + e_sr`` (split
    effect ``a_s``, seed effect ``e_sr``): ``seed_std`` is the square root
    of the pooled within-split variance, ``split_std`` that of the
    between-split variance of the split means less the seed's share,
    ``var(means) - seed_var / R`` (clipped at 0; the ANOVA estimator,
    e.g. Searle, Casella & McCulloch, *Variance Components*, 1992, ch. 3).
    ``total_std`` is the plain standard deviation of all the values.
    """

    split_std: float
    seed_std: float
    total_std: float
    split_means: np.ndarray


def variance_components(values: Any) -> VarianceComponents:
    """:class:`VarianceComponents` of ``values[split, restart]`` (NaN entries ignored)."""
    values = np.asarray(values, np.float64)
    if values.ndim != 2 or values.shape[0] < 2 or values.shape[1] < 2:
        raise ValueError(f"values must be [splits, restarts] with at least 2 of each; got shape {values.shape}.")
    counts = np.sum(np.isfinite(values), axis=1)
    means = np.nanmean(values, axis=1)
    seed_var = float(np.nanmean(np.nanvar(values, axis=1, ddof=1)))
    between = float(np.var(means, ddof=1))
    split_var = max(between - seed_var / float(np.mean(counts)), 0.0)
    return VarianceComponents(
        float(np.sqrt(split_var)), float(np.sqrt(seed_var)), float(np.nanstd(values, ddof=1)), means
    )


def mean_difference(differences: Any, confidence: float = 0.95) -> dict[str, float]:
    """Mean of paired differences with its Student t interval (``gdjax.restarts.mean_interval``) as a dict."""
    t = gdjax.restarts.mean_interval(np.asarray(differences, np.float64), confidence=confidence)
    return {"mean": t.mean, "low": t.low, "high": t.high, "std": t.std, "count": t.count, "confidence": confidence}


def interval_verdict(interval: Mapping[str, float], *, positive: str, negative: str, difference: str) -> str:
    """Words for a paired difference's interval: which side of zero it lies on, or that it holds zero.

    ``positive``/``negative`` name who is ahead when the whole interval is
    above/below zero; ``difference`` names the difference (``"network minus
    logistic"``).
    """
    mean, low, high = interval["mean"], interval["low"], interval["high"]
    shown = f"(mean {difference} {mean:+.3f}, 95% interval {low:+.3f} to {high:+.3f})"
    if low > 0:
        return f"{positive}, by {abs(mean):.3f} on average {shown}"
    if high < 0:
        return f"{negative}, by {abs(mean):.3f} on average {shown}"
    return f"no difference the interval can detect {shown}: it holds zero"


# ------------------------------------------------ logistic regression by Newton's method (no compilation)

#: Logistic regression's L2 strengths, one chosen on validation.
LOGISTIC_RIDGES: tuple[float, ...] = (1e-4, 1e-3, 1e-2, 3e-2, 1e-1, 1.0)


def _with_bias(x) -> np.ndarray:
    x = np.asarray(x, np.float64)
    return np.hstack([x, np.ones((x.shape[0], 1))])


def fit_logistic(x, y, ridge: float, *, max_iter: int = 100) -> tuple[np.ndarray, int]:
    """Logistic regression by Newton's method (IRLS) on ``mean BCE + ridge * ||w||^2`` (the bias unpenalised).

    The objective is strictly convex for ``ridge > 0``, so Newton's method
    converges in a handful of steps (stopping when no coefficient moves by
    more than 1e-10). Returns ``(coefficients, iterations)`` with the bias
    last, in float64 on the host: a baseline that costs no compilation.
    """
    design, y = _with_bias(x), np.asarray(y, np.float64)
    n, d = design.shape
    penalised = np.eye(d)
    penalised[-1, -1] = 0.0
    w, iterations, moved = np.zeros(d), 0, np.inf
    while moved >= 1e-10 and iterations < max_iter:
        p = 1.0 / (1.0 + np.exp(-(design @ w)))
        gradient = design.T @ (p - y) / n + 2 * ridge * penalised @ w
        hessian = (design * (p * (1 - p))[:, None]).T @ design / n + 2 * ridge * penalised
        step = np.linalg.solve(hessian, gradient)
        w, iterations, moved = w - step, iterations + 1, float(np.max(np.abs(step)))
    return w, iterations


def logistic_probs(w: np.ndarray, x) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-(_with_bias(x) @ w)))


def probability_log_loss(probs, y) -> float:
    """Mean binary cross-entropy of probabilities (clipped to [1e-7, 1 - 1e-7]) against 0/1 labels, in float64."""
    q = np.clip(np.asarray(probs, np.float64), 1e-7, 1 - 1e-7)
    y = np.asarray(y, np.float64)
    return float(-np.mean(y * np.log(q) + (1 - y) * np.log(1 - q)))


class LogisticBaseline(NamedTuple):
    """Logistic regression with its L2 strength chosen on validation, scored once on the test rows."""

    ridge: float
    val_loss: dict[str, float]  # validation loss at each ridge (keys: the ridge as text)
    iterations: int
    test_loss: float
    test_accuracy: float
    test_roc_auc: float


def logistic_baseline(split, ridges: Sequence[float] = LOGISTIC_RIDGES) -> LogisticBaseline:
    """Fits logistic regression at each ridge on the training rows, picks the one of lowest validation loss,
    and scores it on the test rows (once)."""
    fits = {ridge: fit_logistic(split.x_train, split.y_train, ridge) for ridge in ridges}
    val = {ridge: probability_log_loss(logistic_probs(w, split.x_val), split.y_val) for ridge, (w, _) in fits.items()}
    ridge = min(val, key=val.get)
    w, iterations = fits[ridge]
    probs = logistic_probs(w, split.x_test)
    scores = scores_of(probs, split.y_test)
    return LogisticBaseline(
        float(ridge),
        {f"{r:g}": v for r, v in val.items()},
        iterations,
        probability_log_loss(probs, split.y_test),
        float(scores.accuracy),
        float(scores.roc_auc),
    )

"""Overfitting and regularisation: a network far too large for the heart data, and one that memorises noise.

One sweep trains the over-large network from the same initialisations and
mini-batch order (common random numbers) under every regulariser: none, an
L2 penalty whose gradient passes through Adam, decoupled weight decay (AdamW)
at the L2 penalty's nominal strength and along a ladder of strengths, and an
L1 penalty; dropout runs apart from the same starts. Every run records its
whole training and validation curves and keeps the parameters of its lowest
validation loss (:class:`gdjax.EarlyStopping` with restore_best, patience
longer than the training). Regularisers are compared on the validation rows,
pair by pair; the model chosen on validation is scored once on the test rows,
beside the majority class and logistic regression. Then the same network
trains on the same inputs with shuffled labels (Zhang et al. 2017).
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

import gdjax
from gdjax import plot
from gdjax.losses import is_bias, l2_penalty
from gdjax.optim import EmptyState, GradientTransformation, adamw, chain
from gdjax.studies._heart_common import (
    LOGISTIC_RIDGES,
    Baseline,
    interval_verdict,
    logistic_baseline,
    majority_baseline,
    mean_difference,
    model_task,
    predict_stacked,
    probability_log_loss,
    scores_of,
    split_seed,
    stratified_split,
)
from gdjax.studies._study import FigureWriter, Study, StudyContext, Text

NAME = "overfitting"
QUESTION = (
    "When does a network too large for its data overfit, what do early stopping, L2 (inside Adam or decoupled), "
    "L1 and dropout do about it, and can it fit labels that carry no information at all?"
)
LEARNING_RATE = 1e-3
BATCH_SIZE = 32
L1_WEIGHT = 1e-3
L2_WEIGHT = 3e-3
#: AdamW's coefficient with the L2 penalty's nominal strength: ``L2_WEIGHT sum w^2`` has gradient
#: ``2 L2_WEIGHT w``, and decoupled decay subtracts ``lr * wd * w``: the same step under plain SGD.
NOMINAL_WEIGHT_DECAY = 2 * L2_WEIGHT
WEIGHT_DECAY_LADDER = (NOMINAL_WEIGHT_DECAY, 1.0, 3.0, 10.0, 30.0)
DROPOUT = 0.5
PATIENCE = 20  # Keras' rule, applied to the recorded validation curves
NEAR_ZERO = 1e-3  # |w| below this counts as (numerically) zero
MEMORISED = 0.05  # training loss that counts as memorised (log 2 = 0.693 is a coin toss)

#: The sweep's grid points: name -> (l1, l2 through Adam, decoupled weight decay).
PENALTIES: dict[str, tuple[float, float, float]] = {
    "none": (0.0, 0.0, 0.0),
    "L2 in Adam": (0.0, L2_WEIGHT, 0.0),
    "L1": (L1_WEIGHT, 0.0, 0.0),
    **{f"AdamW {wd:g}": (0.0, 0.0, wd) for wd in WEIGHT_DECAY_LADDER},
}
ADAMW_NOMINAL = f"AdamW {NOMINAL_WEIGHT_DECAY:g}"
DROPOUT_NAME = f"dropout {DROPOUT:g}"
_TABLE = np.asarray(list(PENALTIES.values()), np.float32)


def add_penalty_gradients(l1, l2) -> GradientTransformation:
    """Adds the gradient of ``l1 * sum|w| + l2 * sum w^2`` over the weights (not the biases).

    The same update as training on ``loss + penalty`` (the subgradient
    ``sign(w)`` for L1), placed before the optimizer; ``l1`` and ``l2`` may be
    traced, so one program sweeps them. The recorded training loss is then the
    data loss alone, comparable across penalties.
    """

    def init(params):
        del params
        return EmptyState()

    def update(updates, state, params=None):
        def add(path, g, w):
            if is_bias(path):
                return g
            return g + (l1 * jnp.sign(w) + 2 * l2 * w).astype(g.dtype)

        return jax.tree_util.tree_map_with_path(add, updates, params), state

    return GradientTransformation(init, update)


def _weights_only(params):
    return jax.tree.map(lambda leaf: leaf.ndim > 1, params)


def _optimizer(h):
    """Grid point ``h["variant"]`` of :data:`PENALTIES`: the penalty gradients, then Adam with decoupled decay."""
    l1, l2, wd = jnp.asarray(_TABLE)[jnp.asarray(h["variant"]).astype(jnp.int32)]
    return chain(add_penalty_gradients(l1, l2), adamw(LEARNING_RATE, weight_decay=wd, mask=_weights_only))


_DROPOUT_OPTIMIZER = chain(add_penalty_gradients(0.0, 0.0), adamw(LEARNING_RATE, weight_decay=0.0, mask=_weights_only))


def _early_stop(val_loss: np.ndarray, patience: int) -> tuple[int, int]:
    """Keras' rule on a recorded curve: (epoch it stops at, best epoch), 0-based."""
    best, best_epoch, wait = np.inf, 0, 0
    for epoch, value in enumerate(val_loss):
        if value < best:
            best, best_epoch, wait = value, epoch, 0
        else:
            wait += 1
            if wait >= patience:
                return epoch, best_epoch
    return len(val_loss) - 1, best_epoch


def _metrics(model):
    def bce(params, data):  # the data loss on a whole set (train or validation)
        return gdjax.losses.sigmoid_binary_cross_entropy(model.logits(params, data[0]), data[1])

    def weight_norm(params, data):
        del data
        return jnp.sqrt(l2_penalty(params))

    def near_zero(params, data):  # share of first-layer weights below NEAR_ZERO in magnitude
        del data
        return jnp.mean(jnp.abs(params[0]["w"]) < NEAR_ZERO)

    def confidence(params, data):  # mean max(p, 1 - p): 0.5 undecided, 1 certain
        p = model.apply(params, data[0])
        return jnp.mean(jnp.maximum(p, 1 - p))

    def accuracy(params, data):
        return gdjax.metrics.accuracy(model.apply(params, data[0]), data[1])

    return {
        "bce": bce,
        "accuracy": accuracy,
        "weight_norm": weight_norm,
        "near_zero": near_zero,
        "confidence": confidence,
    }


class Curves(NamedTuple):
    """Median over restarts of a per-epoch quantity, with its 10th and 90th percentiles where a band is drawn."""

    median: np.ndarray
    low: np.ndarray | None = None
    high: np.ndarray | None = None


def _curves(values: np.ndarray, band: bool = False) -> Curves:
    with np.errstate(all="ignore"):
        low, mid, high = np.nanpercentile(np.asarray(values, np.float64), [10, 50, 90], axis=0)
    return Curves(mid, low, high) if band else Curves(mid)


class Variant(NamedTuple):
    """One regulariser over the restarts: per-restart numbers ``[R]`` and median curves ``[epochs]``."""

    kept_epoch: np.ndarray  # 1-based epoch of the lowest validation loss, whose parameters are kept
    kept_val_loss: np.ndarray
    restored_val_loss: np.ndarray  # the engine's validation loss of the parameters it returned (the kept ones)
    final_val_loss: np.ndarray  # at the end of training
    final_train_loss: np.ndarray
    final_weight_norm: np.ndarray
    final_near_zero: np.ndarray
    final_val_confidence: np.ndarray
    kept_val_accuracy: np.ndarray  # validation accuracy at the kept epoch
    final_val_accuracy: np.ndarray
    diverged: np.ndarray
    # Per-epoch medians (bands for the unregularised run), for the regularisers the figures draw; None for the
    # other rungs of AdamW's ladder, whose final numbers above are all the study uses.
    train_loss: Curves | None  # the data loss on the whole training set after each epoch
    val_loss: Curves | None
    weight_norm: Curves | None
    near_zero: Curves | None
    val_confidence: Curves | None


def _variant(history, diverged, restored_val_loss, *, band: bool = False) -> Variant:
    val = np.asarray(history.val_loss)
    finite = np.where(np.isfinite(val), val, np.inf)
    m, vm = history.metrics, history.val_metrics
    kept = np.argmin(finite, axis=-1)
    return Variant(
        kept_epoch=np.argmin(finite, axis=-1) + 1,
        kept_val_loss=np.min(finite, axis=-1),
        restored_val_loss=np.asarray(restored_val_loss),
        final_val_loss=val[:, -1],
        final_train_loss=np.asarray(m["bce"])[:, -1],
        final_weight_norm=np.asarray(m["weight_norm"])[:, -1],
        final_near_zero=np.asarray(m["near_zero"])[:, -1],
        final_val_confidence=np.asarray(vm["confidence"])[:, -1],
        kept_val_accuracy=np.take_along_axis(np.asarray(vm["accuracy"]), kept[:, None], -1)[:, 0],
        final_val_accuracy=np.asarray(vm["accuracy"])[:, -1],
        diverged=np.asarray(diverged),
        train_loss=_curves(m["bce"], band),
        val_loss=_curves(val, band),
        weight_norm=_curves(m["weight_norm"]),
        near_zero=_curves(m["near_zero"]),
        val_confidence=_curves(vm["confidence"]),
    )


class Chosen(NamedTuple):
    """The model chosen on validation (regulariser, then restart) and its one test score."""

    variant: str
    restart: int
    kept_epoch: int
    val_loss: float
    test_loss: float
    test_accuracy: float
    test_roc_auc: float
    candidates: dict[str, float]  # median kept validation loss of each regulariser


class Memorisation(NamedTuple):
    """The unregularised network on true and on shuffled training labels (same starts, same batches)."""

    threshold: float
    epochs_true: np.ndarray  # first epoch whose whole-set training loss is <= threshold (-1: never)
    epochs_shuffled: np.ndarray
    median_epochs_true: float
    median_epochs_shuffled: float
    slowdown: float  # median shuffled / median true
    final_train_loss_true: np.ndarray
    final_train_loss_shuffled: np.ndarray
    test_accuracy: np.ndarray  # the shuffled-label networks, on the true test labels
    test_roc_auc: np.ndarray
    predicted_positive_rate: np.ndarray
    chance_accuracy: np.ndarray  # what a predictor blind to the patient, with that positive rate, expects
    median_test_accuracy: float
    median_chance_accuracy: float
    chance_std: float  # binomial standard deviation of one test accuracy at chance
    train_loss_true: Curves
    train_loss_shuffled: Curves
    label_agreement: float  # share of training rows whose shuffled label equals the true one
    chance_agreement: float  # what a random permutation gives on average: p^2 + (1 - p)^2


class Results(NamedTuple):
    sizes: list[int]
    n_params: int
    n_train: int
    n_val: int
    n_test: int
    epochs: int
    num_restarts: int
    batch_size: int
    learning_rate: float
    l1_weight: float
    l2_weight: float
    nominal_weight_decay: float
    weight_decay_ladder: list[float]
    matched_weight_decay: float  # the ladder's AdamW whose final weight norm is nearest L2-in-Adam's
    dropout: float
    patience: int
    near_zero: float
    variants: dict[str, Variant]
    keras_stop_epoch: np.ndarray  # Keras' rule (patience) on the unregularised run's validation curve, 1-based
    keras_best_epoch: np.ndarray
    overfit_rise: float  # unregularised: median final validation loss - median lowest
    end_vs_none: dict[str, dict[str, float]]  # final validation loss, variant - none, paired over restarts
    kept_vs_none: dict[str, dict[str, float]]  # lowest validation loss, variant - none
    matched_vs_l2_end: dict[str, float]  # matched AdamW - L2 in Adam, final validation loss
    matched_vs_l2_kept: dict[str, float]
    nominal_vs_none_weight_norm: dict[str, float]  # nominal AdamW - none, final weight norm
    l2_vs_none_weight_norm: dict[str, float]
    chosen: Chosen
    majority_baseline: float
    majority: Baseline
    logistic_ridge: float  # chosen on validation among LOGISTIC_RIDGES
    logistic_val_loss: dict[str, float]
    logistic_test_accuracy: float
    logistic_test_loss: float
    logistic_test_roc_auc: float
    memorisation: Memorisation


def _pick(tree, index):
    return jax.tree.map(lambda a: np.asarray(a)[index], tree)


def _first_below(curves: np.ndarray, threshold: float) -> np.ndarray:
    hit = np.asarray(curves) <= threshold
    return np.where(hit.any(axis=-1), np.argmax(hit, axis=-1) + 1, -1)


def _median_epochs(epochs: np.ndarray) -> float:
    """Median epoch over restarts; NaN when any restart never got there."""
    return float(np.median(epochs)) if np.all(epochs > 0) else float("nan")


def _test_once(model, params, split) -> tuple[float, float, float]:
    """Loss, accuracy and ROC-AUC of one model on the test rows."""
    p = predict_stacked(model, jax.tree.map(lambda a: a[None], params), split.x_test)[0]
    scores = scores_of(p, split.y_test)
    return probability_log_loss(p, split.y_test), float(scores.accuracy), float(scores.roc_auc)


def compute(ctx: StudyContext) -> Results:
    width = ctx.size(64, 128)
    sizes = (29, width, width, 1)
    epochs = ctx.size(150, 300)
    num_restarts = ctx.size(4, 8)
    split = stratified_split(split_seed(ctx.seed, 0))
    task = model_task(sizes)
    dropped = model_task(sizes, dropout=DROPOUT)
    metrics = _metrics(task.model)
    keep_best = gdjax.EarlyStopping(patience=epochs, monitor="val_loss", restore_best=True)
    train, val = (split.x_train, split.y_train), (split.x_val, split.y_val)
    common = dict(
        epochs=epochs,
        num_restarts=num_restarts,
        batch_size=BATCH_SIZE,
        metrics=metrics,
        early_stopping=keep_best,
        key=ctx.key(1),
        progress=ctx.progress,
    )
    grid = {"variant": list(range(len(PENALTIES)))}
    sweep = gdjax.sweep(
        task.loss, task.model.init, train, optimizer=_optimizer, grid=grid, validation_data=val, **common
    )
    drop = gdjax.restarts.restarts(
        dropped.loss, dropped.model.init, train, optimizer=_DROPOUT_OPTIMIZER, validation_data=val, **common
    )
    # Memorisation: the same starts and batches on shuffled labels. The monitored rows are 61 of the run's own
    # training rows (with their shuffled labels), so the kept parameters are those of the lowest training loss
    # there: the memorising network near the end of training, not an early one chosen on real labels.
    order = np.asarray(jax.random.permutation(ctx.key(2), split.y_train.shape[0]))
    shuffled = split.y_train[order]
    monitor = (split.x_train[: split.x_val.shape[0]], shuffled[: split.x_val.shape[0]])
    noise = gdjax.sweep(
        task.loss, task.model.init, (split.x_train, shuffled), optimizer=_optimizer, grid=grid, validation_data=monitor,
        **common,
    )  # fmt: skip

    variants = {
        name: _variant(_pick(sweep.history, i), sweep.diverged[i], sweep.final_val_loss[i], band=name == "none")
        for i, name in enumerate(PENALTIES)
    }
    variants[DROPOUT_NAME] = _variant(drop.history, drop.diverged, drop.final_val_loss)
    none = variants["none"]
    none_val = np.asarray(_pick(sweep.history, 0).val_loss)
    stops = [_early_stop(v, PATIENCE) for v in none_val]

    l2_norm = float(np.median(variants["L2 in Adam"].final_weight_norm))
    ladder = {wd: float(np.median(variants[f"AdamW {wd:g}"].final_weight_norm)) for wd in WEIGHT_DECAY_LADDER}
    matched = min(ladder, key=lambda wd: abs(np.log(ladder[wd] / l2_norm)))
    matched_name = f"AdamW {matched:g}"
    drawn = {"none", "L2 in Adam", "L1", ADAMW_NOMINAL, matched_name, DROPOUT_NAME}
    no_curves = dict.fromkeys(("train_loss", "val_loss", "weight_norm", "near_zero", "val_confidence"))
    variants = {name: v if name in drawn else v._replace(**no_curves) for name, v in variants.items()}
    none = variants["none"]

    def paired(a: np.ndarray, b: np.ndarray) -> dict[str, float]:
        return mean_difference(np.asarray(a, np.float64) - np.asarray(b, np.float64))

    compared = [name for name in variants if name != "none"]
    end_vs_none = {name: paired(variants[name].final_val_loss, none.final_val_loss) for name in compared}
    kept_vs_none = {name: paired(variants[name].kept_val_loss, none.kept_val_loss) for name in compared}

    # The model chosen on validation: the regulariser with the lowest median kept validation loss, then its
    # restart with the lowest; its kept parameters are scored on the test rows, once.
    candidates = {name: float(np.median(v.kept_val_loss)) for name, v in variants.items()}
    best = min(candidates, key=candidates.get)
    restart = int(np.argmin(variants[best].kept_val_loss))
    if best == DROPOUT_NAME:
        params, model = _pick(drop.params, restart), dropped.model
    else:
        params, model = _pick(sweep.params, (list(PENALTIES).index(best), restart)), task.model
    test_loss, test_accuracy, test_auc = _test_once(model, params, split)
    chosen = Chosen(
        best,
        restart,
        int(variants[best].kept_epoch[restart]),
        float(variants[best].kept_val_loss[restart]),
        test_loss,
        test_accuracy,
        test_auc,
        candidates,
    )
    logistic = logistic_baseline(split)  # its L2 strength chosen on validation, then the test rows once
    majority = majority_baseline(split.y_train, split.y_test)

    # Memorisation numbers: the unregularised grid point on true and on shuffled labels.
    true_curves = np.asarray(_pick(sweep.history, 0).metrics["bce"])
    noise_curves = np.asarray(_pick(noise.history, 0).metrics["bce"])
    e_true, e_noise = _first_below(true_curves, MEMORISED), _first_below(noise_curves, MEMORISED)
    probs = predict_stacked(task.model, _pick(noise.params, 0), split.x_test)
    noise_scores = scores_of(probs, split.y_test)
    positive = np.mean(probs >= 0.5, axis=1)
    share = float(np.mean(np.asarray(split.y_test)))
    train_share = float(np.mean(np.asarray(split.y_train)))
    chance = positive * share + (1 - positive) * (1 - share)
    median_true, median_noise = _median_epochs(e_true), _median_epochs(e_noise)
    memorisation = Memorisation(
        threshold=MEMORISED,
        epochs_true=e_true,
        epochs_shuffled=e_noise,
        median_epochs_true=median_true,
        median_epochs_shuffled=median_noise,
        slowdown=median_noise / median_true,
        final_train_loss_true=true_curves[:, -1],
        final_train_loss_shuffled=noise_curves[:, -1],
        test_accuracy=noise_scores.accuracy,
        test_roc_auc=noise_scores.roc_auc,
        predicted_positive_rate=positive,
        chance_accuracy=chance,
        median_test_accuracy=float(np.median(noise_scores.accuracy)),
        median_chance_accuracy=float(np.median(chance)),
        chance_std=float(np.sqrt(np.median(chance) * (1 - np.median(chance)) / split.y_test.shape[0])),
        train_loss_true=_curves(true_curves, band=True),
        train_loss_shuffled=_curves(noise_curves, band=True),
        label_agreement=float(np.mean(np.asarray(shuffled) == np.asarray(split.y_train))),
        chance_agreement=float(train_share**2 + (1 - train_share) ** 2),
    )
    return Results(
        sizes=list(sizes),
        n_params=task.n_params,
        n_train=int(split.x_train.shape[0]),
        n_val=int(split.x_val.shape[0]),
        n_test=int(split.x_test.shape[0]),
        epochs=epochs,
        num_restarts=num_restarts,
        batch_size=BATCH_SIZE,
        learning_rate=LEARNING_RATE,
        l1_weight=L1_WEIGHT,
        l2_weight=L2_WEIGHT,
        nominal_weight_decay=NOMINAL_WEIGHT_DECAY,
        weight_decay_ladder=list(WEIGHT_DECAY_LADDER),
        matched_weight_decay=matched,
        dropout=DROPOUT,
        patience=PATIENCE,
        near_zero=NEAR_ZERO,
        variants=variants,
        keras_stop_epoch=np.array([s + 1 for s, _ in stops]),
        keras_best_epoch=np.array([b + 1 for _, b in stops]),
        overfit_rise=float(np.median(none.final_val_loss) - np.median(none.kept_val_loss)),
        end_vs_none=end_vs_none,
        kept_vs_none=kept_vs_none,
        matched_vs_l2_end=paired(variants[matched_name].final_val_loss, variants["L2 in Adam"].final_val_loss),
        matched_vs_l2_kept=paired(variants[matched_name].kept_val_loss, variants["L2 in Adam"].kept_val_loss),
        nominal_vs_none_weight_norm=paired(variants[ADAMW_NOMINAL].final_weight_norm, none.final_weight_norm),
        l2_vs_none_weight_norm=paired(variants["L2 in Adam"].final_weight_norm, none.final_weight_norm),
        chosen=chosen,
        majority_baseline=majority.accuracy,
        majority=majority,
        logistic_ridge=logistic.ridge,
        logistic_val_loss=logistic.val_loss,
        logistic_test_accuracy=logistic.test_accuracy,
        logistic_test_loss=logistic.test_loss,
        logistic_test_roc_auc=logistic.test_roc_auc,
        memorisation=memorisation,
    )


# ---------------------------------------------------------------- text


def matched_name(r: Results) -> str:
    return f"AdamW {r.matched_weight_decay:g}"


def _median(values) -> float:
    return float(np.median(values))


def claims(r: Results) -> dict[str, str]:
    """The findings' sentences, each computed from the results (the quick test checks every one)."""
    v = r.variants
    none, l2, nominal, l1 = v["none"], v["L2 in Adam"], v[ADAMW_NOMINAL], v["L1"]
    matched = v[matched_name(r)]
    out = {}
    climbs = "climbs" if r.overfit_rise > 0 else "does not climb"
    memorises = (
        f"the network memorises its {r.n_train} training patients"
        if _median(none.final_train_loss) <= MEMORISED
        else f"the network fits its {r.n_train} training patients ever closer"
    )
    out["overfit"] = (
        f"**Overfitting.** Without a regulariser the training loss falls to {_median(none.final_train_loss):.2g} "
        f"while the validation loss reaches its lowest, {_median(none.kept_val_loss):.3f}, at epoch "
        f"{int(_median(none.kept_epoch))} (median over restarts) and then {climbs} to "
        f"{_median(none.final_val_loss):.3f} by epoch {r.epochs} ({r.overfit_rise:+.3f}): {memorises}."
    )
    agree = int(np.sum(r.keras_best_epoch == none.kept_epoch))
    out["early_stopping"] = (
        f"**Early stopping** on the validation rows: Keras' rule (patience {r.patience}) stops at epoch "
        f"{int(_median(r.keras_stop_epoch))} and keeps epoch {int(_median(r.keras_best_epoch))} (medians); its kept "
        f"epoch is the curve's lowest in {agree} of {r.num_restarts} restarts."
    )
    ahead = {"positive": "worse than none", "negative": "better than none", "difference": "minus none"}
    parts = []
    for name in ("L2 in Adam", matched_name(r), "L1", DROPOUT_NAME):
        parts.append(f"{name}: {interval_verdict(r.end_vs_none[name], **ahead)}")
    out["regularisers_end"] = (
        "**Regularisers at the end of training** (final validation loss, paired with the unregularised run from the "
        "same start): " + "; ".join(parts) + "."
    )
    shown = ("L2 in Adam", matched_name(r), "L1", DROPOUT_NAME)
    kept_parts = [f"{name} {r.kept_vs_none[name]['mean']:+.3f}" for name in shown]
    shrink = all(abs(r.kept_vs_none[name]["mean"]) < abs(r.end_vs_none[name]["mean"]) for name in shown)
    best_gain = min(r.kept_vs_none[name]["mean"] for name in r.kept_vs_none)
    out["regularisers_kept"] = (
        f"At each run's kept epoch the differences {'shrink' if shrink else 'do not all shrink'} (lowest validation "
        "loss minus the unregularised run's: "
        + ", ".join(kept_parts)
        + f"): early stopping alone comes within {max(-best_gain, 0.0):.3f} of the best regulariser here."
    )
    nominal_change = r.nominal_vs_none_weight_norm["mean"] / _median(none.final_weight_norm)
    out["adamw_nominal"] = (
        f"**L2 inside Adam against decoupled weight decay.** At the same nominal strength (weight decay "
        f"{r.nominal_weight_decay:g} = 2 x {r.l2_weight:g}, the same step as the L2 penalty under plain SGD) AdamW "
        f"changes the final weight norm by {r.nominal_vs_none_weight_norm['mean']:+.2f} "
        f"({100 * nominal_change:+.1f}%; {_median(nominal.final_weight_norm):.2f} against "
        f"{_median(none.final_weight_norm):.2f} without a regulariser), while L2 inside Adam changes it by "
        f"{r.l2_vs_none_weight_norm['mean']:+.2f}, to {_median(l2.final_weight_norm):.2f}. Adam divides the penalty's "
        f"gradient 2 x {r.l2_weight:g} w by the root of its running squared gradient, which is small wherever the data "
        f"gradient is, so the penalty moves such weights by about the learning rate each step; decoupled decay moves "
        f"them by learning rate x {r.nominal_weight_decay:g} x w."
    )
    ratio = r.matched_weight_decay / r.nominal_weight_decay
    verdict = interval_verdict(
        r.matched_vs_l2_end,
        positive="L2 inside Adam ends lower",
        negative="AdamW ends lower",
        difference="AdamW minus L2",
    )
    kept_verdict = interval_verdict(
        r.matched_vs_l2_kept,
        positive="L2 inside Adam is lower",
        negative="AdamW is lower",
        difference="AdamW minus L2",
    )
    out["adamw_matched"] = (
        f"Matched by effect instead, AdamW needs weight decay {r.matched_weight_decay:g} ({ratio:.0f} times the "
        f"nominal value; the ladder's value whose final weight norm, {_median(matched.final_weight_norm):.2f}, is "
        f"nearest L2's {_median(l2.final_weight_norm):.2f}). At that strength, final validation loss: {verdict}; "
        f"at the kept epoch: {kept_verdict}."
    )
    out["l1"] = (
        f"**L1** leaves {100 * _median(l1.final_near_zero):.0f}% of the first layer's weights below {r.near_zero:g} in "
        f"magnitude at the end, against {100 * _median(l2.final_near_zero):.0f}% with L2 inside Adam and "
        f"{100 * _median(none.final_near_zero):.0f}% without a penalty."
    )
    kept_acc, final_acc = _median(none.kept_val_accuracy), _median(none.final_val_accuracy)
    mistakes = (final_acc - kept_acc) * r.n_val
    cause = (
        f"between the kept epoch and the end, the unregularised validation accuracy moves from {kept_acc:.3f} to "
        f"{final_acc:.3f} ({mistakes:+.1f} patients) while its loss rises by {r.overfit_rise:.3f}"
    )
    if abs(mistakes) <= 3:
        cause += ": confident mistakes, not more of them, drive the validation loss up"
    out["confidence"] = (
        f"**Over-confidence.** Without a penalty the weight norm grows to {_median(none.final_weight_norm):.1f} and "
        f"the mean validation confidence max(p, 1 - p) to {_median(none.final_val_confidence):.3f} (L2 inside Adam: "
        f"{_median(l2.final_weight_norm):.1f} and {_median(l2.final_val_confidence):.3f}); {cause}."
    )
    c = r.chosen
    side = "above" if c.test_accuracy > r.majority_baseline + 1e-9 else "not above"
    out["test"] = (
        f"**The one test number.** Validation chooses {c.variant} (median lowest validation loss "
        f"{c.candidates[c.variant]:.3f}) and its restart {c.restart} (epoch {c.kept_epoch}); on the {r.n_test} test "
        f"patients it scores accuracy **{c.test_accuracy:.3f}**, loss {c.test_loss:.3f} and ROC-AUC "
        f"{c.test_roc_auc:.3f}, {side} the majority baseline {r.majority_baseline:.3f}; logistic regression (L2 "
        f"{r.logistic_ridge:g}, chosen on validation) scores {r.logistic_test_accuracy:.3f} (loss "
        f"{r.logistic_test_loss:.3f}, ROC-AUC {r.logistic_test_roc_auc:.3f})."
    )
    m = r.memorisation
    reached = int(np.sum(m.epochs_shuffled > 0))
    if reached == r.num_restarts:
        speed = (
            f"reaching a training loss of {m.threshold:g} at epoch {m.median_epochs_shuffled:.0f} against "
            f"{m.median_epochs_true:.0f} with the true labels (medians; {m.slowdown:.1f} times slower)"
        )
    else:
        speed = (
            f"though only {reached} of {r.num_restarts} restarts reach a training loss of {m.threshold:g} within "
            f"{r.epochs} epochs (true labels: epoch {m.median_epochs_true:.0f})"
        )
    fits = (
        f"The capacity that fits the true labels fits noise too, only {m.slowdown:.1f} times slower: a low training "
        "loss alone says nothing about what the network learnt."
        if reached == r.num_restarts and m.slowdown > 1
        else "A low training loss alone says nothing about what the network learnt."
    )
    at_chance = abs(m.median_test_accuracy - m.median_chance_accuracy) <= 2 * m.chance_std
    relation = "at chance" if at_chance else "away from chance"
    below = "below" if m.median_test_accuracy < r.majority_baseline - 1e-9 else "not below"
    out["memorisation"] = (
        f"**Memorisation of random labels** (Zhang et al. 2017). With the training labels shuffled "
        f"({100 * m.label_agreement:.0f}% still agree with the truth; a random permutation keeps "
        f"{100 * m.chance_agreement:.0f}% on average) the same network still fits them: the training loss falls to "
        f"{_median(m.final_train_loss_shuffled):.2g} by epoch {r.epochs}, {speed}. On the test patients it is "
        f"{relation}: accuracy {m.median_test_accuracy:.3f} (median), where a predictor blind to the patient that "
        f"says disease as often as it does ({100 * _median(m.predicted_positive_rate):.0f}% of the time) expects "
        f"{m.median_chance_accuracy:.3f} (one standard deviation {m.chance_std:.3f} on {r.n_test} patients), "
        f"{below} the majority baseline {r.majority_baseline:.3f}; ROC-AUC "
        f"{_median(m.test_roc_auc):.3f}. {fits}"
    )
    return out


def text(r: Results) -> Text:
    ladder = ", ".join(f"{wd:g}" for wd in r.weight_decay_ladder)
    ridges = ", ".join(f"{ridge:g}" for ridge in LOGISTIC_RIDGES)
    method = f"""
A network far too large for {r.n_train} patients: `mlp({r.sizes})`, **{r.n_params} parameters** (the course's
network has 497), trained with Adam ({r.learning_rate:g}), batches of {r.batch_size}, {r.epochs} epochs, from
{r.num_restarts} random initialisations, on a seeded stratified {r.n_train}/{r.n_val}/{r.n_test}
train/validation/test split of the heart data. Regularisers: an L2 penalty `{r.l2_weight:g} sum w^2` and an L1
penalty `{r.l1_weight:g} sum |w|` whose gradients (the subgradient `sign(w)` for L1) are added before Adam, the same
update as training on loss + penalty; decoupled weight decay (AdamW) at {ladder}, the first the L2 penalty's nominal
strength; dropout {r.dropout:g} on the hidden units; weights only, never biases. All penalty settings run as one
vmapped sweep from the same initialisations and mini-batch order as each other and as the dropout runs (common random
numbers), so each comparison is a per-restart difference with a Student t interval over the {r.num_restarts} restarts.
Every run records its whole curves and keeps the parameters of its lowest validation loss (`gdjax.EarlyStopping`,
restore_best, patience longer than the training); Keras' stopping rule (patience {r.patience}) is read off the
recorded validation curve. The training loss shown is the data loss on the whole training set (no penalty).
Regulariser, restart and epoch are chosen on the validation rows; the test rows score the chosen model once, beside
the majority class and logistic regression (fitted by Newton's method with an L2 penalty whose strength,
{r.logistic_ridge:g}, is chosen on validation among {ridges}). Memorisation: the unregularised network, same starts
and batches, trained on the training inputs with their labels shuffled; its parameters are kept at the lowest loss on
{r.n_val} of its own (shuffled) training rows, and scored on the true test labels.
"""
    c = claims(r)
    findings = "\n\n".join(
        [
            f"{c['overfit']} {c['early_stopping']}",
            f"{c['regularisers_end']} {c['regularisers_kept']}",
            f"{c['adamw_nominal']} {c['adamw_matched']}",
            f"{c['l1']} {c['confidence']}",
            c["test"],
            c["memorisation"],
        ]
    )
    m = r.memorisation
    expected = [
        f"the network trained on shuffled labels fits them (training loss "
        f"{_median(m.final_train_loss_shuffled):.2g}) and scores at chance on the true test labels (accuracy "
        f"{m.median_test_accuracy:.3f} against {m.median_chance_accuracy:.3f} for a blind predictor): its labels "
        f"carried no information"
    ]
    failures = []
    for name, variant in r.variants.items():
        for restart in np.flatnonzero(variant.diverged):
            failures.append(f"{name}, restart {int(restart)}: diverged")
    return Text(method=method, findings=findings, expected=expected, failures=failures)


# ---------------------------------------------------------------- figures

_COLOURS = {
    "none": plot.COLORS[3],
    "L2 in Adam": plot.COLORS[0],
    "L1": plot.COLORS[2],
    DROPOUT_NAME: plot.COLORS[1],
    ADAMW_NOMINAL: plot.COLORS[7],
    "matched": plot.COLORS[4],
}


def _colour(r: Results, name: str):
    return _COLOURS["matched"] if name == matched_name(r) else _COLOURS[name]


def _band(ax, curves: Curves, colour, label, style="-"):
    x = np.arange(1, len(curves.median) + 1)
    ax.plot(x, curves.median, style, color=colour, lw=1.5, label=label)
    ax.fill_between(x, curves.low, curves.high, color=colour, alpha=0.15, lw=0)


def _figure_curves(r: Results, out: FigureWriter) -> None:
    fig, axes = plot.figure(1, 2, width=5.6, height=4.0)
    ax = axes[0, 0]
    none = r.variants["none"]
    _band(ax, none.train_loss, _COLOURS["none"], "training loss")
    _band(ax, none.val_loss, "black", "validation loss", "--")
    kept, stop = int(np.median(none.kept_epoch)), int(np.median(r.keras_stop_epoch))
    ax.axvline(kept, color="0.3", ls=":", lw=1.2, label=f"lowest validation loss (epoch {kept})")
    ax.axvline(stop, color="0.6", ls="-.", lw=1.2, label=f"Keras' rule stops (epoch {stop})")
    ax.set(xlabel="epoch", ylabel="binary cross-entropy", yscale="log", title="No regulariser (median, 10-90% band)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="lower left")
    ax = axes[0, 1]
    for name in ("none", "L2 in Adam", matched_name(r), "L1", DROPOUT_NAME):
        ax.plot(
            np.arange(1, r.epochs + 1), r.variants[name].val_loss.median, color=_colour(r, name), lw=1.5, label=name
        )
    ax.set(xlabel="epoch", ylabel="validation loss", title="Validation loss by regulariser (median)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="upper left")
    out.save_figure(
        fig,
        "train_vs_validation.png",
        f"Left: training (solid) and validation (dashed) loss of the over-large network without a regulariser, median "
        f"over {r.num_restarts} restarts with a 10-90% band, with the epoch of its lowest validation loss and where "
        f"Keras' rule (patience {r.patience}) stops. Right: the validation loss under each regulariser.",
    )


def _figure_adamw(r: Results, out: FigureWriter) -> None:
    fig, axes = plot.figure(1, 3, width=4.2, height=3.8)
    names = ("none", "L2 in Adam", ADAMW_NOMINAL, matched_name(r))
    x = np.arange(1, r.epochs + 1)
    ax = axes[0, 0]
    for name in names:
        style = "--" if name == ADAMW_NOMINAL else "-"
        ax.plot(x, r.variants[name].weight_norm.median, style, color=_colour(r, name), lw=1.5, label=name)
    ax.set(xlabel="epoch", ylabel="||w|| (weights, no biases)", title="Weight norm (median)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="upper left")
    ax = axes[0, 1]
    norms = [float(np.median(r.variants[f"AdamW {wd:g}"].final_weight_norm)) for wd in r.weight_decay_ladder]
    ax.plot(r.weight_decay_ladder, norms, "o-", color=_COLOURS["matched"], label="AdamW, final weight norm")
    l2 = float(np.median(r.variants["L2 in Adam"].final_weight_norm))
    ax.axhline(l2, color=_COLOURS["L2 in Adam"], ls="--", label=f"L2 in Adam ({r.l2_weight:g})")
    ax.axvline(r.nominal_weight_decay, color=_COLOURS[ADAMW_NOMINAL], ls=":", label="nominal match 2 x L2")
    ax.axvline(r.matched_weight_decay, color=_COLOURS["matched"], ls=":", label="matched by weight norm")
    ax.set(xscale="log", xlabel="AdamW weight decay", ylabel="final ||w||", title="Matching the strength")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="lower left")
    ax = axes[0, 2]
    for name in names:
        style = "--" if name == ADAMW_NOMINAL else "-"
        ax.plot(x, r.variants[name].val_loss.median, style, color=_colour(r, name), lw=1.5, label=name)
    ax.set(xlabel="epoch", ylabel="validation loss", title="Validation loss (median)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="upper left")
    out.save_figure(
        fig,
        "l2_vs_adamw.png",
        f"L2 inside Adam against decoupled weight decay: AdamW at the nominal match ({r.nominal_weight_decay:g}, "
        f"dashed; where it lies on the unregularised curve it changes nothing visible) and at the ladder's value "
        f"whose weight norm matches L2's ({r.matched_weight_decay:g}); medians over restarts. Middle: the final "
        "weight norm along AdamW's ladder.",
    )


def _figure_l1_confidence(r: Results, out: FigureWriter) -> None:
    fig, axes = plot.figure(1, 2, width=5.0, height=3.8)
    x = np.arange(1, r.epochs + 1)
    ax = axes[0, 0]
    for name in ("none", "L2 in Adam", "L1"):
        ax.plot(x, 100 * r.variants[name].near_zero.median, color=_colour(r, name), lw=1.5, label=name)
    ax.set(xlabel="epoch", ylabel=f"% of first-layer |w| < {r.near_zero:g}", title="L1 pushes weights to zero")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="upper left")
    ax = axes[0, 1]
    for name in ("none", "L2 in Adam", "L1", DROPOUT_NAME):
        ax.plot(x, r.variants[name].val_confidence.median, color=_colour(r, name), lw=1.5, label=name)
    ax.set(xlabel="epoch", ylabel="mean max(p, 1 - p), validation", title="Confidence on the validation rows")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="lower right")
    out.save_figure(
        fig,
        "l1_and_confidence.png",
        "Left: share of first-layer weights (numerically) zero. Right: mean confidence of the predictions on the "
        "validation rows (0.5 undecided, 1 certain); medians over restarts.",
    )


def _figure_memorisation(r: Results, out: FigureWriter) -> None:
    m = r.memorisation
    fig, axes = plot.figure(1, 2, width=5.2, height=3.8)
    ax = axes[0, 0]
    _band(ax, m.train_loss_true, _COLOURS["L2 in Adam"], "true labels")
    _band(ax, m.train_loss_shuffled, _COLOURS["none"], "shuffled labels")
    ax.axhline(m.threshold, color="0.4", ls=":", lw=1.2, label=f"training loss {m.threshold:g}")
    for epochs, colour in (
        (m.median_epochs_true, _COLOURS["L2 in Adam"]),
        (m.median_epochs_shuffled, _COLOURS["none"]),
    ):
        if np.isfinite(epochs):
            ax.plot(epochs, m.threshold, "o", color=colour, mec="black", ms=7, zorder=5)
    ax.plot([], [], "o", color="white", mec="black", ms=7, label="median epoch reaching it")
    ax.set(xlabel="epoch", ylabel="training loss (whole set)", yscale="log", title="Fitting true and random labels")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="lower left")
    ax = axes[0, 1]
    ax.plot(np.arange(r.num_restarts), m.test_accuracy, "o", color=_COLOURS["none"], label="shuffled-label network")
    ax.plot(np.arange(r.num_restarts), m.chance_accuracy, "_", color="black", ms=14, mew=2, label="blind predictor")
    ax.axhline(r.majority_baseline, color="0.3", ls="--", label=f"majority class {r.majority_baseline:.3f}")
    ax.axhline(r.chosen.test_accuracy, color=_COLOURS["L2 in Adam"], ls="-", label="chosen true-label model")
    ax.set(xlabel="restart", ylabel="test accuracy", title="On the true test labels", ylim=(0.3, 1.0))
    ax.set_xticks(np.arange(r.num_restarts))
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="lower right")
    out.save_figure(
        fig,
        "memorisation.png",
        "Left: the unregularised network's whole-set training loss on true and on shuffled labels (median, 10-90% "
        "band; dots: the median epoch each first reaches the dotted threshold). Right: test accuracy of each "
        "shuffled-label network against the accuracy a predictor blind to the patient expects at the same positive "
        "rate, the majority class and the model chosen on validation.",
    )


def figures(r: Results, out: FigureWriter) -> None:
    _figure_curves(r, out)
    _figure_adamw(r, out)
    _figure_l1_confidence(r, out)
    _figure_memorisation(r, out)


STUDY = Study(NAME, "Overfitting and regularisation", QUESTION, compute=compute, figures=figures, text=text)

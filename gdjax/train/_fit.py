"""``fit``: the friendly front of the training core.

:func:`fit` validates its inputs before anything is compiled, puts the data on
the device, runs the pure training of :func:`gdjax.train.make_trainer` as one
compiled program (in chunks of epochs when a progress bar, checkpoints or a
callback ask for it: the chunks reuse one compiled program and give
bit-identical results), and returns a :class:`FitResult`.
"""

from __future__ import annotations

import functools
import math
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from gdjax._checks import check_finite_array, check_int
from gdjax.train._checkpoint import load_checkpoint, read_checkpoint_metadata, save_checkpoint
from gdjax.train._early_stopping import EarlyStopping
from gdjax.train._history import History
from gdjax.train._progress import ProgressBar
from gdjax.train._trainer import (
    Hyperparams,
    Params,
    Remainder,
    TrainConfig,
    TrainState,
    build_transformation,
    init_state,
    make_config,
    run_epochs,
)
from gdjax.train._tree import num_examples

#: Number of chunks a run is cut into by default when it reports progress.
DEFAULT_CHUNKS = 20


class FitResult(NamedTuple):
    """The outcome of :func:`fit`.

    Attributes:
      params: final parameters; those of the best epoch with early stopping
        and ``restore_best``; the last finite ones after a divergence.
      opt_state: final optimizer state.
      history: per-epoch record, NumPy arrays cut to the epochs run.
      epochs: epochs run (including the one that stopped or diverged).
      steps: parameter updates applied.
      steps_per_epoch: iterations in one epoch.
      diverged: True if a step produced a non-finite loss or update; the
        updates were frozen from that step on.
      diverged_step: 0-based index of that step (None if not diverged).
      diverged_epoch: 0-based epoch of that step (None if not diverged).
      stopped_early: True if early stopping ended the training.
      best_epoch: 0-based best epoch by the early-stopping monitor (None
        without early stopping, or if no epoch was finite).
      state: the raw final :class:`TrainState` (device arrays, full-length history).
    """

    params: Params
    opt_state: Any
    history: History
    epochs: int
    steps: int
    steps_per_epoch: int
    diverged: bool
    diverged_step: int | None
    diverged_epoch: int | None
    stopped_early: bool
    best_epoch: int | None
    state: TrainState


def fit(
    loss_fn: Callable[..., Any],
    params: Params,
    train_data: Any,
    *,
    optimizer: Any,
    epochs: int,
    key: jax.Array | int,
    batch_size: int | None = None,
    validation_data: Any = None,
    metrics: Mapping[str, Callable[[Params, Any], Any]] | None = None,
    penalty: Callable[[Params], Any] | None = None,
    penalty_weight: float | Callable[[Hyperparams], Any] = 1.0,
    early_stopping: EarlyStopping | None = None,
    remainder: Remainder = "drop",
    shuffle: bool = True,
    learning_rate: float | Callable[[jax.Array], Any] | None = None,
    record_step_loss: bool = False,
    hyperparams: Hyperparams = None,
    loss_takes_key: bool | None = None,
    progress: bool = False,
    chunk_epochs: int | None = None,
    checkpoint: str | os.PathLike[str] | None = None,
    resume: bool = True,
    callback: Callable[[FitResult], None] | None = None,
) -> FitResult:
    """Trains ``params`` to minimise ``loss_fn`` over ``train_data``, as one compiled program.

    Each epoch draws a fresh permutation of the training set (from
    ``fold_in(key, epoch)``), cuts it into batches of ``batch_size`` and
    applies one update of ``optimizer`` per batch to the objective
    ``loss_fn(params, batch) + penalty_weight * penalty(params)``. Modes:
    ``batch_size=None`` is batch gradient descent (one step per epoch on the
    whole set), ``1`` stochastic gradient descent, ``k`` mini-batch gradient
    descent with ``num_batches(n, k, remainder)`` steps per epoch.

    Example (the course's heart disease network)::

        model = gdjax.models.mlp([29, 16, 1])
        loss = lambda p, b: gdjax.losses.binary_cross_entropy(model.apply(p, b[0]), b[1])
        accuracy = lambda p, b: gdjax.metrics.accuracy(model.apply(p, b[0]), b[1])
        result = gdjax.fit(loss, model.init(k1), (x_train, y_train), optimizer=optax.adam(1e-3),
                           epochs=100, batch_size=32, key=k2, validation_data=(x_test, y_test),
                           metrics={"accuracy": accuracy})
        result.history.val_metrics["accuracy"][-1]

    Args:
      loss_fn: ``loss_fn(params, batch) -> scalar``, or
        ``loss_fn(params, batch, key)`` for stochastic models (dropout; the key
        is None when evaluating), a mean over the batch's examples.
      params: initial parameter pytree.
      train_data: pytree of arrays sharing a leading example axis, e.g. ``(x, y)``.
      optimizer: a gradient transformation (gdjax or Optax), or
        ``hyperparams -> transformation``.
      epochs: passes over the training set (``>= 1``).
      key: PRNG key (or integer seed) for shuffling and dropout.
      batch_size: examples per step, ``1 <= batch_size <= n``; None for the whole set.
      validation_data: pytree like ``train_data`` evaluated after every epoch.
      metrics: ``{name: metric(params, data) -> scalar}``, recorded on the
        training set (``name``) and the validation set (``"val_" + name``).
      penalty: ``penalty(params) -> scalar`` added with ``penalty_weight``.
      penalty_weight: a number ``>= 0`` or ``hyperparams -> number``.
      early_stopping: an :class:`EarlyStopping`; it stops inside the compiled
        program and (by default) returns the best epoch's parameters.
      remainder: ``"drop"`` or ``"pad"`` the last partial batch of each epoch.
      shuffle: reshuffle the training set every epoch.
      learning_rate: number or schedule ``step -> rate`` to record in the
        history; None reads it from the optimizer state when possible.
      record_step_loss: also record the objective of every step.
      hyperparams: pytree passed to a callable ``optimizer`` / ``penalty_weight``.
      loss_takes_key: override the detection of a ``key`` parameter of ``loss_fn``.
      progress: show a tqdm progress bar (one update per chunk of epochs).
      chunk_epochs: epochs per compiled call; default all of them, or
        ``ceil(epochs / 20)`` with a progress bar, checkpoint or callback.
      checkpoint: file (``.npz``) to save the training state to after every
        chunk; with ``resume`` an existing one is continued, bit-identically
        to an uninterrupted run.
      resume: continue from ``checkpoint`` if the file exists.
      callback: called with the :class:`FitResult` so far after every chunk
        (it may raise to interrupt the training; the checkpoint is kept).

    Returns:
      A :class:`FitResult`.

    The compiled program is cached per configuration: calling ``fit`` again
    with the same ``loss_fn``, ``optimizer`` and metric objects and the same
    options and data shapes reuses it (new data values, initial parameters
    and keys do not recompile); a fresh ``lambda`` or optimizer object is a
    new configuration.

    Raises:
      ValueError: before compiling, for inconsistent or non-finite data,
        a bad batch size or epoch count, a loss or metric that does not return
        a scalar, or a checkpoint written by a different training.
    """
    config = make_config(
        loss_fn,
        optimizer,
        epochs=epochs,
        batch_size=batch_size,
        remainder=remainder,
        shuffle=shuffle,
        metrics=metrics,
        penalty=penalty,
        penalty_weight=penalty_weight,
        early_stopping=early_stopping,
        learning_rate=learning_rate,
        record_step_loss=record_step_loss,
        loss_takes_key=loss_takes_key,
    )
    for name, flag in (("progress", progress), ("resume", resume)):
        if not isinstance(flag, bool):
            raise ValueError(f"{name} must be a bool; got {flag!r}.")
    if callback is not None and not callable(callback):
        raise ValueError(f"callback must be callable or None; got {callback!r}.")
    if chunk_epochs is None:
        reporting = progress or checkpoint is not None or callback is not None
        chunk_epochs = math.ceil(config.epochs / DEFAULT_CHUNKS) if reporting else config.epochs
    chunk_epochs = check_int("chunk_epochs", chunk_epochs, minimum=1)
    key = _as_key(key)
    n = _check_data("train_data", train_data)
    if batch_size is not None and batch_size > n:
        raise ValueError(
            f"batch_size must be <= the number of training examples ({n}); got {batch_size}. "
            "Use batch_size=None for full-batch gradient descent."
        )
    n_val = None
    if validation_data is not None:
        n_val = _check_data("validation_data", validation_data)
        if jax.tree.structure(validation_data) != jax.tree.structure(train_data):
            raise ValueError(
                "validation_data must have the pytree structure of train_data; got "
                f"{jax.tree.structure(validation_data)} and {jax.tree.structure(train_data)}."
            )
    elif early_stopping is not None and early_stopping.monitor.startswith("val_"):
        raise ValueError(f"early_stopping.monitor={early_stopping.monitor!r} needs validation_data; got None.")
    _check_params(params)
    build_transformation(optimizer, hyperparams)  # a bad factory fails here, not mid-trace

    train_data = jax.tree.map(jnp.asarray, train_data)
    if validation_data is not None:
        validation_data = jax.tree.map(jnp.asarray, validation_data)
    params = jax.tree.map(jnp.asarray, params)

    init_fn, run_fn = _compiled(config)
    # Tracing the initial state checks the loss and metrics return scalars,
    # before any compilation (and is cached with the jitted function).
    like = jax.eval_shape(init_fn, params, key, train_data, validation_data, hyperparams)
    steps_per_epoch = _steps_per_epoch(config, n)

    fingerprint = _fingerprint(config, key, n, n_val, like)
    state = None
    if checkpoint is not None:
        checkpoint = Path(checkpoint)
        if resume and checkpoint.exists():
            state = _resume(checkpoint, like, fingerprint)
    if state is None:
        state = init_fn(params, key, train_data, validation_data, hyperparams)

    with ProgressBar(progress, config.epochs, initial=int(state.epoch)) as bar:
        while not _finished(config, state):
            until = np.int32(min(int(state.epoch) + chunk_epochs, config.epochs))
            state = run_fn(state, train_data, validation_data, hyperparams, until)
            if checkpoint is not None:
                save_checkpoint(checkpoint, state, metadata=fingerprint)
            result = _result(state, steps_per_epoch)
            bar.update(result.epochs, _latest(result.history))
            if callback is not None:
                callback(result)
        result = _result(state, steps_per_epoch)
        if result.stopped_early:
            bar.note(f"stopped early, best epoch {result.best_epoch}")
        elif result.diverged:
            bar.note(f"diverged at step {result.diverged_step}")
    return result


# ---------------------------------------------------------------------------


@functools.lru_cache(maxsize=32)
def _compiled_cached(config: TrainConfig) -> tuple[Callable[..., Any], Callable[..., Any]]:
    return _jit(config)


def _jit(config: TrainConfig) -> tuple[Callable[..., Any], Callable[..., Any]]:
    return jax.jit(functools.partial(init_state, config)), jax.jit(functools.partial(run_epochs, config))


def _compiled(config: TrainConfig) -> tuple[Callable[..., Any], Callable[..., Any]]:
    """The jitted init and run of a configuration, shared by every fit with an equal one.

    Calling ``fit`` again with the same loss, optimizer and options reuses the
    compiled program; configurations holding unhashable values get fresh jits.
    """
    try:
        return _compiled_cached(config)
    except TypeError:
        return _jit(config)


def _as_key(key: Any) -> jax.Array:
    if isinstance(key, (int, np.integer)) and not isinstance(key, bool):
        return jax.random.key(int(key))
    dtype = getattr(key, "dtype", None)
    if dtype is not None and jax.dtypes.issubdtype(dtype, jax.dtypes.prng_key):
        if np.shape(key) != ():
            raise ValueError(f"key must be a single PRNG key; got a key array of shape {np.shape(key)}.")
        return key
    if dtype is not None and np.dtype(dtype) == np.uint32 and np.shape(key) == (2,):
        return jnp.asarray(key)
    raise ValueError(
        f"key must be a PRNG key (jax.random.key(seed)), a raw uint32[2] key or an integer seed; got {key!r}."
    )


def _check_data(name: str, data: Any) -> int:
    n = num_examples(name, data)
    for path, leaf in jax.tree_util.tree_leaves_with_path(data):
        check_finite_array(f"{name}{jax.tree_util.keystr(path)}", leaf)
    return n


def _check_params(params: Any) -> None:
    leaves = jax.tree_util.tree_leaves_with_path(params)
    if not leaves:
        raise ValueError("params must be a pytree with at least one array; got none.")
    for path, leaf in leaves:
        if not jnp.issubdtype(jnp.result_type(leaf), jnp.inexact):
            raise ValueError(
                f"params{jax.tree_util.keystr(path)} must be floating point to be trained; "
                f"got dtype {jnp.result_type(leaf)}."
            )
        check_finite_array(f"params{jax.tree_util.keystr(path)}", leaf)


def _steps_per_epoch(config: TrainConfig, n: int) -> int:
    if config.batch_size is None or config.batch_size >= n:
        return 1
    b = config.batch_size
    return n // b if config.remainder == "drop" else -(-n // b)


def _finished(config: TrainConfig, state: TrainState) -> bool:
    return bool(int(state.epoch) >= config.epochs or bool(state.stopped) or bool(state.diverged))


def _result(state: TrainState, steps_per_epoch: int) -> FitResult:
    epochs, steps = int(state.epoch), int(state.step)
    diverged = bool(state.diverged)
    diverged_step = int(state.diverged_step) if diverged else None
    best_epoch = None
    if state.early_stopping is not None and int(state.early_stopping.best_epoch) >= 0:
        best_epoch = int(state.early_stopping.best_epoch)
    return FitResult(
        params=state.params,
        opt_state=state.opt_state,
        history=state.history.trim(epochs, epochs * steps_per_epoch),
        epochs=epochs,
        steps=steps,
        steps_per_epoch=steps_per_epoch,
        diverged=diverged,
        diverged_step=diverged_step,
        diverged_epoch=None if diverged_step is None else diverged_step // steps_per_epoch,
        stopped_early=bool(state.stopped),
        best_epoch=best_epoch,
        state=state,
    )


def _latest(history: History) -> dict[str, Any]:
    if history.num_epochs == 0:
        return {}
    return {name: values[-1] for name, values in history.as_dict().items() if name != "learning_rate"}


def _fingerprint(config: TrainConfig, key: jax.Array, n: int, n_val: int | None, like: TrainState) -> dict[str, Any]:
    """What a checkpoint must match to be resumed by this call (JSON-serialisable)."""
    if jax.dtypes.issubdtype(key.dtype, jax.dtypes.prng_key):
        key_data = jax.random.key_data(key)
    else:
        key_data = key
    stopping = config.early_stopping
    return {
        "loss_fn": getattr(config.loss_fn, "__qualname__", type(config.loss_fn).__qualname__),
        "epochs": config.epochs,
        "batch_size": config.batch_size,
        "remainder": config.remainder,
        "shuffle": config.shuffle,
        "metrics": [name for name, _ in config.metrics],
        "early_stopping": None
        if stopping is None
        else {**stopping._asdict(), "patience": int(stopping.patience), "min_delta": float(stopping.min_delta)},
        "record_step_loss": config.record_step_loss,
        "num_examples": n,
        "num_validation_examples": n_val,
        "key": np.asarray(key_data).tolist(),
        "state_structure": str(jax.tree.structure(like)),
    }


def _resume(path: Path, like: TrainState, fingerprint: dict[str, Any]) -> TrainState:
    stored = read_checkpoint_metadata(path)
    if not isinstance(stored, dict):
        raise ValueError(f"checkpoint {os.fspath(path)!r} was not written by gdjax.fit.")
    different = sorted(k for k in fingerprint.keys() | stored.keys() if stored.get(k) != fingerprint.get(k))
    if different:
        shown = "; ".join(f"{k}: file has {stored.get(k)!r}, this run {fingerprint.get(k)!r}" for k in different)
        raise ValueError(
            f"checkpoint {os.fspath(path)!r} was written by a different training ({shown}). "
            "Delete it or pass resume=False to start afresh."
        )
    state, _ = load_checkpoint(path, like)
    return state

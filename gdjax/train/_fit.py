"""``fit``: the friendly front of the training loop.

:func:`fit` validates its inputs before anything is compiled, builds the
:class:`~gdjax.train.Trainer`, runs its training as one compiled program (in
chunks of epochs when a progress bar, checkpoints or a callback ask for it:
the chunks give bit-identical results), and returns a :class:`FitResult`.

Compiled once per structure: the program is cached on the trainer's
structure (:meth:`Trainer.split`), the data shapes and the chunk length; the
hyperparameter values (learning rate, betas, penalty weight, schedule
parameters), the data, the initial parameters and the key are its runtime
inputs. So a second ``fit`` with a new ``adam(3e-3)`` runs the program compiled
for ``adam(1e-3)``. For the first call of each structure in a fresh process,
JAX's persistent compilation cache (:func:`enable_compilation_cache`) keeps
compiled programs on disk between processes.
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

from gdjax import optim
from gdjax._checks import as_key, check_int, check_params
from gdjax.data import check_data
from gdjax.train import _fingerprint
from gdjax.train._checkpoint import load_checkpoint, read_checkpoint_metadata, save_checkpoint
from gdjax.train._early_stopping import EarlyStopping
from gdjax.train._history import History
from gdjax.train._loop import TrainState, init_state, run_epochs
from gdjax.train._progress import ProgressBar
from gdjax.train._trainer import Hyperparams, Layout, Params, Remainder, Trainer, make_trainer
from gdjax.train._warnings import warn_diverged, warn_stalled

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
      stalled_epoch: first epoch in which every step's gradient was exactly
        zero (None if none): the loss was flat there, e.g. saturated units or
        probabilities clipped by :func:`gdjax.losses.binary_cross_entropy`.
      averaged_params: the optimizer's average of the parameters
        (:func:`gdjax.optim.average_params`), None if it keeps none.
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
    stalled_epoch: int | None
    averaged_params: Params | None
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
    layout: Layout = "auto",
    evaluate_averaged: bool = False,
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

    Example (batch gradient descent recovers ``y = 2 x + 1``)::

        >>> import jax, jax.numpy as jnp, gdjax
        >>> model = gdjax.models.linear_regression(1)
        >>> x = jnp.linspace(-1.0, 1.0, 20)[:, None]
        >>> data = (x, 2.0 * x[:, 0] + 1.0)
        >>> loss = lambda p, batch: gdjax.losses.half_mse(model.apply(p, batch[0]), batch[1])
        >>> result = gdjax.fit(loss, model.init(jax.random.key(0)), data,
        ...                    optimizer=gdjax.optim.sgd(0.5), epochs=200, key=0)
        >>> round(float(result.params["w"][0]), 4), round(float(result.params["b"]), 4)
        (2.0, 1.0)
        >>> result.history.train_loss.shape  # one mean training loss per epoch
        (200,)

    The course's heart disease network is the same call with
    ``gdjax.models.mlp([29, 16, 1])``, ``sigmoid_binary_cross_entropy`` on
    its logits, ``batch_size=32``, ``validation_data=(x_val, y_val)`` and
    ``metrics={"accuracy": ...}``.

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
      layout: ``"auto"`` or ``"tree"``, see :func:`make_trainer`.
      evaluate_averaged: evaluate (and early-stop on) the optimizer's average
        of the parameters (:func:`gdjax.optim.average_params`), see
        :func:`make_trainer`; the average is ``result.averaged_params``.
      progress: show a tqdm progress bar (one update per chunk of epochs).
      chunk_epochs: epochs per compiled call; default all of them, or
        ``ceil(epochs / 20)`` with a progress bar, checkpoint or callback.
      checkpoint: file (``.npz``) to save the training state to after every
        chunk; with ``resume`` an existing one is continued, bit-identically
        to an uninterrupted run, provided it was written by the same training
        (the same loss and metric code, optimizer and hyperparameters, data,
        initial parameters, key and options): anything else is refused.
      resume: continue from ``checkpoint`` if the file exists.
      callback: called with the :class:`FitResult` so far after every chunk
        (it may raise to interrupt the training; the checkpoint is kept).

    Returns:
      A :class:`FitResult`. A divergence is also reported as a
      :class:`~gdjax.train.DivergenceWarning`, and epochs whose gradient was
      exactly zero throughout as a :class:`~gdjax.train.StalledWarning`.

    Raises:
      ValueError: before compiling, for inconsistent, empty or non-finite data,
        a bad batch size or epoch count, a loss, penalty or metric that does
        not return a scalar, or a checkpoint written by a different training.
    """
    trainer, values, structure = _configured(
        loss_fn=loss_fn,
        optimizer=optimizer,
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
        layout=layout,
        evaluate_averaged=evaluate_averaged,
    )
    for name, flag in (("progress", progress), ("resume", resume)):
        if not isinstance(flag, bool):
            raise ValueError(f"{name} must be a bool; got {flag!r}.")
    if callback is not None and not callable(callback):
        raise ValueError(f"callback must be callable or None; got {callback!r}.")
    if chunk_epochs is None:
        reporting = progress or checkpoint is not None or callback is not None
        chunk_epochs = math.ceil(trainer.epochs / DEFAULT_CHUNKS) if reporting else trainer.epochs
    chunk_epochs = min(check_int("chunk_epochs", chunk_epochs, minimum=1), trainer.epochs)
    key = as_key("key", key)
    n = check_data("train_data", train_data)
    if batch_size is not None and batch_size > n:
        raise ValueError(
            f"batch_size must be <= the number of training examples ({n}); got {batch_size}. "
            "Use batch_size=None for full-batch gradient descent."
        )
    if validation_data is not None:
        check_data("validation_data", validation_data)
        if jax.tree.structure(validation_data) != jax.tree.structure(train_data):
            raise ValueError(
                "validation_data must have the pytree structure of train_data; got "
                f"{jax.tree.structure(validation_data)} and {jax.tree.structure(train_data)}."
            )
    elif trainer.early_stopping is not None and trainer.early_stopping.monitor.startswith("val_"):
        raise ValueError(f"early_stopping.monitor={trainer.early_stopping.monitor!r} needs validation_data; got None.")
    check_params("params", params)

    start, proceed = _programs(structure)
    steps_per_epoch = trainer.steps_per_epoch(n)

    state = None
    if checkpoint is not None:
        checkpoint = Path(checkpoint)
        fingerprint = _fingerprint.of_training(trainer, values, params, key, train_data, validation_data, hyperparams)
        if resume and checkpoint.exists():
            like = jax.eval_shape(
                functools.partial(init_state, trainer), params, key, train_data, validation_data, hyperparams
            )
            state = _resume(checkpoint, like, fingerprint)

    with ProgressBar(progress, trainer.epochs, initial=0 if state is None else int(state.epoch)) as bar:
        done = _progress_of(state)
        while not done.finished(trainer.epochs):
            until = np.int32(min(done.epoch + chunk_epochs, trainer.epochs))
            # The programs return the state without its key (it never changes): no key array to rebuild.
            if state is None:
                state, summary = start(values, params, key, train_data, validation_data, hyperparams, until)
            else:
                state, summary = proceed(values, state, train_data, validation_data, hyperparams, until)
            state = state._replace(key=key)
            done = _Progress.of(summary)
            if checkpoint is not None:
                save_checkpoint(checkpoint, state, metadata=fingerprint)
            if progress or callback is not None:
                result = _result(trainer, state, steps_per_epoch, done)
                bar.update(result.epochs, _latest(result.history))
                if callback is not None:
                    callback(result)
        result = _result(trainer, state, steps_per_epoch, done)
        if result.stopped_early:
            bar.note(f"stopped early, best epoch {result.best_epoch}")
        elif result.diverged:
            bar.note(f"diverged at step {result.diverged_step}")
    if result.diverged:
        warn_diverged(result.diverged_step, result.diverged_epoch, stacklevel=2)
    if result.stalled_epoch is not None:
        warn_stalled(result.stalled_epoch, stacklevel=2)
    return result


# ---------------------------------------------------------------------------


#: Option values whose type and value say all a trainer takes from them (containers are rebuilt each call).
_PLAIN = (type(None), bool, int, float, str)


def _configured(**options: Any) -> tuple[Trainer, dict[str, Any], Trainer]:
    """``make_trainer(**options)`` and its :meth:`~Trainer.split`, remembered for options seen before.

    A training repeated with the same loss, optimizer and options (a study's
    seeds, a benchmark) is validated once: the options are remembered by the
    type and value of each plain one (None, bools, numbers, strings) and by
    identity-or-equality of the callables and transformations, which are
    immutable. Options holding containers (metrics, an early-stopping
    configuration) or arrays are validated afresh every call.
    """
    try:
        key = tuple((name, type(value), value) for name, value in options.items())
        for name, kind, value in key:
            if kind not in _PLAIN and not callable(value) and name != "optimizer":
                raise TypeError
        hash(key)
    except TypeError:
        return _configure(options)
    return _remembered(key)


@functools.lru_cache(maxsize=32)
def _remembered(key: tuple[tuple[str, type, Any], ...]) -> tuple[Trainer, dict[str, Any], Trainer]:
    return _configure({name: value for name, _, value in key})


def _configure(options: dict[str, Any]) -> tuple[Trainer, dict[str, Any], Trainer]:
    trainer = make_trainer(**options)
    values, structure = trainer.split()
    return trainer, values, structure


@functools.lru_cache(maxsize=64)
def _programs(structure: Trainer) -> tuple[Callable[..., TrainState], Callable[..., TrainState]]:
    """The compiled programs of a trainer's structure: start a training (init and run), and proceed with one.

    Both run every epoch slot and skip those already run or past ``until``, so
    one program serves any chunk length (a skipped slot costs a branch).
    """

    def start(values, params, key, train_data, val_data, hyperparams, until):
        trainer = Trainer.merge(structure, values)
        state = init_state(trainer, params, key, train_data, val_data, hyperparams)
        state = run_epochs(trainer, state, train_data, val_data, hyperparams, until=until, skip="branch")
        return state._replace(key=None), _summary(state)

    def proceed(values, state, train_data, val_data, hyperparams, until):
        trainer = Trainer.merge(structure, values)
        state = run_epochs(trainer, state, train_data, val_data, hyperparams, until=until, skip="branch")
        return state._replace(key=None), _summary(state)

    return jax.jit(start), jax.jit(proceed)  # no donation: a callback may keep the state it was given


class _Progress(NamedTuple):
    """The few numbers of a state the host needs between chunks, fetched in one transfer."""

    epoch: int
    step: int
    diverged: bool
    diverged_step: int
    stopped: bool
    stalled_epoch: int
    best_epoch: int

    @classmethod
    def of(cls, summary: Any) -> _Progress:
        """From the int32 vector of :func:`_summary`, with the flags as bools."""
        epoch, step, diverged, diverged_step, stopped, stalled_epoch, best_epoch = (int(x) for x in np.asarray(summary))
        return cls(epoch, step, bool(diverged), diverged_step, bool(stopped), stalled_epoch, best_epoch)

    def finished(self, epochs: int) -> bool:
        return self.epoch >= epochs or self.stopped or self.diverged


def _summary(state: TrainState) -> jax.Array:
    """The numbers of :class:`_Progress` as one int32 vector: one transfer to the host, not seven."""
    best = -1 if state.early_stopping is None else state.early_stopping.best_epoch
    numbers = (state.epoch, state.step, state.diverged, state.diverged_step, state.stopped, state.stalled_epoch, best)
    return jnp.stack([jnp.asarray(x, jnp.int32) for x in numbers])


def _progress_of(state: TrainState | None) -> _Progress:
    if state is None:
        return _Progress(0, 0, False, -1, False, -1, -1)
    return _Progress.of(_summary(state))


def _result(trainer: Trainer, state: TrainState, steps_per_epoch: int, done: _Progress) -> FitResult:
    diverged_step = done.diverged_step if done.diverged else None
    return FitResult(
        params=state.params,
        opt_state=state.opt_state,
        history=state.history.to_history(done.epoch, done.epoch * steps_per_epoch),
        epochs=done.epoch,
        steps=done.step,
        steps_per_epoch=steps_per_epoch,
        diverged=done.diverged,
        diverged_step=diverged_step,
        diverged_epoch=None if diverged_step is None else diverged_step // steps_per_epoch,
        stopped_early=done.stopped,
        best_epoch=None if done.best_epoch < 0 else done.best_epoch,
        stalled_epoch=None if done.stalled_epoch < 0 else done.stalled_epoch,
        averaged_params=optim.averaged_params(state.opt_state),
        state=state,
    )


def _latest(history: History) -> dict[str, Any]:
    if history.num_epochs == 0:
        return {}
    return {name: values[-1] for name, values in history.as_dict().items() if name != "learning_rate"}


def _resume(path: Path, like: TrainState, fingerprint: dict[str, Any]) -> TrainState:
    stored = read_checkpoint_metadata(path)
    if not isinstance(stored, dict) or "training" not in stored:
        raise ValueError(
            f"checkpoint {os.fspath(path)!r} was not written by gdjax.fit; delete it or pass resume=False."
        )
    different = _fingerprint.differences(stored, fingerprint)
    if different:
        raise ValueError(
            f"checkpoint {os.fspath(path)!r} was written by a different training: {'; '.join(different)}. "
            "Pass resume=False (or another checkpoint path) to start afresh."
        )
    state, _ = load_checkpoint(path, like)
    # fit never applies a non-finite step, so parameters that are not finite
    # mean the file was altered: resuming would return them as a result.
    try:
        check_params("its parameters", state.params)
    except ValueError as error:
        raise ValueError(
            f"checkpoint {os.fspath(path)!r} holds parameters gdjax.fit never saves ({error}): the file was "
            "altered. Delete it or pass resume=False to start afresh."
        ) from None
    return jax.tree.map(lambda leaf: leaf, state)


def enable_compilation_cache(directory: str | os.PathLike[str] | None = None) -> Path:
    """Turns on JAX's persistent compilation cache, so compiled programs survive the process.

    A second process (a CLI run, a notebook restart) then loads the programs
    of structures it has compiled before instead of compiling them again.
    The default folder is ``$GDJAX_CACHE`` or ``~/.cache/gdjax/jax``.

    Returns:
      The cache folder.
    """
    folder = Path(directory or os.environ.get("GDJAX_CACHE") or Path.home() / ".cache" / "gdjax" / "jax")
    folder.mkdir(parents=True, exist_ok=True)
    jax.config.update("jax_compilation_cache_dir", os.fspath(folder))
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
    jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)
    return folder

"""The pure training core: a whole training as one jittable, vmappable function.

:func:`make_trainer` takes the static configuration of a training (loss,
optimizer, epochs, batch size, metrics, early stopping, ...) and returns a
:class:`Trainer` of three pure functions::

    state = trainer.init(params, key, train_data, val_data, hyperparams)
    state = trainer.run(state, train_data, val_data, hyperparams, until=epoch)
    state = trainer.train(params, key, train_data, val_data, hyperparams)  # init + run

They have no Python side effects and branch on no traced value, so they can be
``jit``-ed, ``vmap``-ed over initial parameters, keys, data or
hyperparameters, and sharded; the history arrays are in ``state.history``.
Everything of a training happens inside them: shuffling, every step of every
epoch (``lax.scan``), evaluation, early stopping with restoring of the best
parameters, and divergence detection; the epoch loop is a ``lax.while_loop``
that ends at ``until``, at an early stop or at a divergence.

Randomness: epoch ``e`` splits ``fold_in(key, e)`` into a shuffling key (the
permutation of :func:`gdjax.data.epoch_batches`) and a key split once more
into one key per step for a loss that takes one (dropout).

Example, eight restarts and three learning rates in one compiled program::

    trainer = make_trainer(loss, lambda lr: gdjax.optim.adam(lr), epochs=50, batch_size=32)
    restarts = jax.vmap(trainer.train, in_axes=(0, 0, None, None, None))
    sweep = jax.jit(jax.vmap(restarts, in_axes=(None, None, None, None, 0)))
    states = sweep(jax.vmap(model.init)(init_keys), shuffle_keys, train, val, jnp.array([1e-3, 3e-3, 1e-2]))
    states.history.val_loss  # [3, 8, 50]

Because the key of epoch ``e`` depends only on ``(key, e)`` and the state
carries everything else, running epochs ``[0, a)`` then ``[a, b)`` executes
exactly the same operations as running ``[0, b)`` at once: chunked runs (for
progress bars and checkpoints) are bit-identical to a single run, and reuse
one compiled program since ``until`` is a traced argument.

Counting follows the course: an *iteration* (step) is one parameter update on
one mini-batch; an *epoch* is one pass over the training set, i.e.
``num_batches(n, batch_size, remainder)`` iterations. ``batch_size=None`` (or
``n``) is batch gradient descent (one step per epoch on the whole set),
``batch_size=1`` stochastic gradient descent, anything between mini-batch
gradient descent.

Divergence: a step whose objective is not finite, or whose update would make
a parameter non-finite (as any non-finite gradient does with the usual
optimizers), is not applied; the parameters and optimizer state are frozen
from then on, ``diverged`` is set with the 0-based index of that step, and the
epoch loop ends after the current epoch.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from typing import Any, Literal, NamedTuple

import jax
import jax.numpy as jnp

from gdjax._checks import check_choice, check_int, check_nonnegative
from gdjax.data import epoch_batches, num_batches, take
from gdjax.train._early_stopping import (
    EarlyStopping,
    EarlyStoppingState,
    init_early_stopping,
    update_early_stopping,
)
from gdjax.train._history import History, empty_history, record_epoch
from gdjax.train._objective import data_loss, masked_data_loss, penalty_term
from gdjax.train._objective import loss_takes_key as detect_loss_takes_key
from gdjax.train._tree import all_finite, apply_updates, num_examples, select

Params = Any
Data = Any
Hyperparams = Any
Remainder = Literal["drop", "pad"]


class TrainState(NamedTuple):
    """Everything a training carries from one epoch to the next (a pytree).

    Attributes:
      params: current parameters (the best epoch's once training has ended,
        with early stopping and ``restore_best``).
      opt_state: state of the gradient transformation.
      key: the training's PRNG key; epoch ``e`` uses ``fold_in(key, e)``.
      epoch: number of epochs completed (int32).
      step: number of parameter updates applied (int32).
      diverged: a step had a non-finite objective or update.
      diverged_step: 0-based index of that step, ``-1`` if none.
      stopped: early stopping ended the training.
      early_stopping: best value/epoch/params so far (None without early stopping).
      history: per-epoch record, with room for every epoch (NaN where not run).
    """

    params: Params
    opt_state: Any
    key: jax.Array
    epoch: jax.Array
    step: jax.Array
    diverged: jax.Array
    diverged_step: jax.Array
    stopped: jax.Array
    early_stopping: EarlyStoppingState | None
    history: History


class TrainConfig(NamedTuple):
    """The static configuration of a training; see :func:`make_trainer`."""

    loss_fn: Callable[..., Any]
    optimizer: Any
    epochs: int
    batch_size: int | None
    remainder: Remainder
    shuffle: bool
    metrics: tuple[tuple[str, Callable[[Params, Data], Any]], ...]
    penalty: Callable[[Params], Any] | None
    penalty_weight: Any
    early_stopping: EarlyStopping | None
    learning_rate: Any
    record_step_loss: bool
    loss_takes_key: bool


class Trainer(NamedTuple):
    """The pure functions of one training configuration (see the module docs)."""

    config: TrainConfig
    init: Callable[..., TrainState]
    run: Callable[..., TrainState]
    train: Callable[..., TrainState]


def is_transformation(optimizer: Any) -> bool:
    """True for an object with ``init`` and ``update`` (gdjax or Optax gradient transformation)."""
    return callable(getattr(optimizer, "init", None)) and callable(getattr(optimizer, "update", None))


def build_transformation(optimizer: Any, hyperparams: Hyperparams) -> Any:
    """The gradient transformation in force: ``optimizer`` itself, or ``optimizer(hyperparams)``."""
    if is_transformation(optimizer):
        return optimizer
    transformation = optimizer(hyperparams)
    if not is_transformation(transformation):
        raise ValueError(
            "optimizer must be a gradient transformation (with init and update) or a callable "
            f"hyperparams -> gradient transformation; the callable returned {type(transformation).__name__}."
        )
    return transformation


def learning_rate_from_state(opt_state: Any) -> jax.Array | None:
    """The learning rate recorded in an optimizer state, or None if it holds none (or several).

    Reads, in order of preference:

    - gdjax optimizers (any built on :func:`gdjax.optim.scale_by_learning_rate`):
      the rate the next update applies (:func:`gdjax.optim.current_learning_rate`);
    - ``optax.inject_hyperparams`` states: ``hyperparams["learning_rate"]``,
      the rate of the latest update (of the first one before any update).
    """
    from gdjax.optim import ScaleByLearningRateState

    is_gdjax = lambda node: isinstance(node, ScaleByLearningRateState)
    found = [node for node in jax.tree.leaves(opt_state, is_leaf=is_gdjax) if is_gdjax(node)]
    if len(found) == 1:
        return jnp.asarray(found[0].learning_rate)
    if found:
        return None  # several parameter groups with their own rates: no single rate in force

    def is_injected(node: Any) -> bool:
        hyper = getattr(node, "hyperparams", None)
        return isinstance(hyper, Mapping) and "learning_rate" in hyper

    injected = [node for node in jax.tree.leaves(opt_state, is_leaf=is_injected) if is_injected(node)]
    if len(injected) == 1:
        return jnp.asarray(injected[0].hyperparams["learning_rate"])
    return None


def make_trainer(
    loss_fn: Callable[..., Any],
    optimizer: Any,
    *,
    epochs: int,
    batch_size: int | None = None,
    remainder: Remainder = "drop",
    shuffle: bool = True,
    metrics: Mapping[str, Callable[[Params, Data], Any]] | None = None,
    penalty: Callable[[Params], Any] | None = None,
    penalty_weight: float | Callable[[Hyperparams], Any] = 1.0,
    early_stopping: EarlyStopping | None = None,
    learning_rate: float | Callable[[jax.Array], Any] | None = None,
    record_step_loss: bool = False,
    loss_takes_key: bool | None = None,
) -> Trainer:
    """The pure training functions of one static configuration.

    Args:
      loss_fn: ``loss_fn(params, batch) -> scalar`` or, for stochastic models
        (dropout), ``loss_fn(params, batch, key)``, the key being None when
        evaluating. ``batch`` is the data pytree cut to ``batch_size``
        examples. A mean over examples (required for ``remainder="pad"``).
      optimizer: a gradient transformation (``init``/``update``, gdjax or
        Optax), or a callable ``hyperparams -> transformation`` called inside
        the traced function, so hyperparameters may be traced (vmapped).
      epochs: number of passes over the training set (``>= 1``).
      batch_size: examples per step; None for the whole set (batch GD), 1 for
        SGD. Checked against the data when traced.
      remainder: ``"drop"`` the last partial batch of each epoch, or ``"pad"``
        it (masked mean over its real examples), see :mod:`gdjax.data`.
      shuffle: draw a fresh permutation of the training set every epoch.
      metrics: ``{name: metric(params, data) -> scalar}``, evaluated on the
        whole training and validation sets at the end of each epoch.
      penalty: ``penalty(params) -> scalar`` added to the loss with weight
        ``penalty_weight`` (e.g. :func:`gdjax.losses.l2_penalty`).
      penalty_weight: a number, or ``hyperparams -> number`` (may be traced).
      early_stopping: an :class:`EarlyStopping` configuration, or None.
      learning_rate: the learning rate to record in the history: a number or
        a schedule ``step -> rate`` (evaluated at the epoch's first step).
        None reads it from the optimizer state at the start of each epoch
        (:func:`learning_rate_from_state`: gdjax optimizers and
        ``optax.inject_hyperparams``), else records none.
      record_step_loss: also record the objective of every step.
      loss_takes_key: whether ``loss_fn`` takes a key; None detects it from the
        signature (three or more positional parameters).

    Returns:
      A :class:`Trainer`.
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
    return trainer_from_config(config)


def make_config(
    loss_fn: Callable[..., Any],
    optimizer: Any,
    *,
    epochs: int,
    batch_size: int | None,
    remainder: Remainder,
    shuffle: bool,
    metrics: Mapping[str, Callable[[Params, Data], Any]] | None,
    penalty: Callable[[Params], Any] | None,
    penalty_weight: Any,
    early_stopping: EarlyStopping | None,
    learning_rate: Any,
    record_step_loss: bool,
    loss_takes_key: bool | None,
) -> TrainConfig:
    """Validates the static options of a training and packs them in a :class:`TrainConfig`."""
    if not callable(loss_fn):
        raise ValueError(f"loss_fn must be callable; got {loss_fn!r}.")
    if not (is_transformation(optimizer) or callable(optimizer)):
        raise ValueError(
            "optimizer must be a gradient transformation (with init and update) or a callable "
            f"hyperparams -> gradient transformation; got {optimizer!r}."
        )
    epochs = check_int("epochs", epochs, minimum=1)
    if batch_size is not None:
        batch_size = check_int("batch_size", batch_size, minimum=1)
    check_choice("remainder", remainder, ("drop", "pad"))
    for name, flag in (("shuffle", shuffle), ("record_step_loss", record_step_loss)):
        if not isinstance(flag, bool):
            raise ValueError(f"{name} must be a bool; got {flag!r}.")
    metric_items: tuple[tuple[str, Callable[[Params, Data], Any]], ...] = ()
    if metrics is not None:
        if not isinstance(metrics, Mapping):
            raise ValueError(f"metrics must be a mapping name -> metric(params, data); got {metrics!r}.")
        for name, fn in metrics.items():
            if not isinstance(name, str) or not name or name.startswith("val_") or name == "loss":
                raise ValueError(
                    f"metric names must be non-empty strings, not 'loss' nor starting with 'val_'; got {name!r}."
                )
            if not callable(fn):
                raise ValueError(f"metrics[{name!r}] must be callable metric(params, data); got {fn!r}.")
        metric_items = tuple(metrics.items())
    if penalty is not None and not callable(penalty):
        raise ValueError(f"penalty must be callable penalty(params) -> scalar; got {penalty!r}.")
    if not callable(penalty_weight):
        check_nonnegative("penalty_weight", penalty_weight)
    if early_stopping is not None:
        if not isinstance(early_stopping, EarlyStopping):
            raise ValueError(f"early_stopping must be an EarlyStopping or None; got {early_stopping!r}.")
        early_stopping.validated()
        known = ("val_loss", "loss") + tuple(n for n, _ in metric_items) + tuple(f"val_{n}" for n, _ in metric_items)
        check_choice("early_stopping.monitor", early_stopping.monitor, known)
    if learning_rate is not None and not callable(learning_rate):
        check_nonnegative("learning_rate", learning_rate)
    if loss_takes_key is None:
        loss_takes_key = detect_loss_takes_key(loss_fn)
    elif not isinstance(loss_takes_key, bool):
        raise ValueError(f"loss_takes_key must be a bool or None; got {loss_takes_key!r}.")
    return TrainConfig(
        loss_fn=loss_fn,
        optimizer=optimizer,
        epochs=epochs,
        batch_size=batch_size,
        remainder=remainder,
        shuffle=shuffle,
        metrics=metric_items,
        penalty=penalty,
        penalty_weight=penalty_weight,
        early_stopping=early_stopping,
        learning_rate=learning_rate,
        record_step_loss=record_step_loss,
        loss_takes_key=loss_takes_key,
    )


def trainer_from_config(config: TrainConfig) -> Trainer:
    """The :class:`Trainer` of a validated configuration."""
    return Trainer(
        config=config,
        init=functools.partial(init_state, config),
        run=functools.partial(run_epochs, config),
        train=functools.partial(train, config),
    )


# ---------------------------------------------------------------------------
# Static layout of an epoch, worked out from the data shapes at trace time.


class _Layout(NamedTuple):
    num_examples: int
    batch_size: int
    steps: int  # iterations per epoch
    full_batch: bool  # one step on the whole set, no gather
    padded: bool  # a padded last batch: per-example masked mean


def _layout(config: TrainConfig, train_data: Data) -> _Layout:
    n = num_examples("train_data", train_data)
    if config.batch_size is None or (config.batch_size == n):
        return _Layout(n, n, 1, True, False)
    if config.batch_size > n:
        raise ValueError(
            f"batch_size must be <= the number of training examples ({n}); got {config.batch_size}. "
            "Use batch_size=None for full-batch gradient descent."
        )
    b = config.batch_size
    steps = num_batches(n, b, config.remainder)
    return _Layout(n, b, steps, False, config.remainder == "pad" and n % b != 0)


def _check_validation(config: TrainConfig, train_data: Data, val_data: Data) -> None:
    if val_data is None:
        if config.early_stopping is not None and config.early_stopping.monitor.startswith("val_"):
            raise ValueError(
                f"early_stopping.monitor={config.early_stopping.monitor!r} needs validation data; got None."
            )
        return
    num_examples("val_data", val_data)
    if jax.tree.structure(val_data) != jax.tree.structure(train_data):
        raise ValueError(
            "val_data must have the pytree structure of train_data; got "
            f"{jax.tree.structure(val_data)} and {jax.tree.structure(train_data)}."
        )


def _objective(config: TrainConfig, params, batch, key, hyperparams, mask=None):
    """Loss (masked when ``mask`` is given) plus the weighted penalty."""
    if mask is None:
        loss = data_loss(config.loss_fn, config.loss_takes_key, params, batch, key)
    else:
        loss = masked_data_loss(config.loss_fn, config.loss_takes_key, params, batch, mask, key)
    loss = jnp.asarray(loss)
    if loss.shape != ():
        raise ValueError(f"loss_fn must return a scalar; got an array of shape {loss.shape}.")
    if not jnp.issubdtype(loss.dtype, jnp.floating):
        raise ValueError(f"loss_fn must return a floating-point scalar; got dtype {loss.dtype}.")
    return loss + penalty_term(config.penalty, config.penalty_weight, params, hyperparams, loss.dtype)


def _metric(name: str, fn, params, data):
    value = jnp.asarray(fn(params, data))
    if value.shape != ():
        raise ValueError(f"metric {name!r} must return a scalar; got an array of shape {value.shape}.")
    return value


def _learning_rate(config: TrainConfig, opt_state, steps_done):
    """The rate of the next step, after ``steps_done`` updates leading to ``opt_state``."""
    rate = config.learning_rate
    if rate is None:
        return learning_rate_from_state(opt_state)
    if callable(rate):
        return jnp.asarray(rate(steps_done))
    return jnp.asarray(rate)


def _float_dtype(dtype, fallback):
    return dtype if jnp.issubdtype(dtype, jnp.floating) else fallback


# ---------------------------------------------------------------------------
# The three pure functions.


def init_state(
    config: TrainConfig,
    params: Params,
    key: jax.Array,
    train_data: Data,
    val_data: Data = None,
    hyperparams: Hyperparams = None,
) -> TrainState:
    """The state before the first epoch (see :func:`make_trainer`)."""
    _check_validation(config, train_data, val_data)
    layout = _layout(config, train_data)
    params = jax.tree.map(jnp.asarray, params)
    transformation = build_transformation(config.optimizer, hyperparams)
    opt_state = transformation.init(params)

    sample = jax.tree.map(lambda a: jax.ShapeDtypeStruct((layout.batch_size,) + a.shape[1:], a.dtype), train_data)
    loss_dtype = jax.eval_shape(lambda p, b: _objective(config, p, b, None, hyperparams), params, sample).dtype
    metric_dtypes = {
        name: _float_dtype(jax.eval_shape(functools.partial(_metric, name, fn), params, train_data).dtype, loss_dtype)
        for name, fn in config.metrics
    }
    rate = jax.eval_shape(lambda s: _learning_rate(config, s, jnp.zeros((), jnp.int32)), opt_state)
    history = empty_history(
        config.epochs,
        layout.steps,
        loss_dtype=loss_dtype,
        has_validation=val_data is not None,
        metric_dtypes=metric_dtypes,
        lr_dtype=None if rate is None else _float_dtype(rate.dtype, loss_dtype),
        record_step_loss=config.record_step_loss,
    )
    stopping = None
    if config.early_stopping is not None:
        stopping = init_early_stopping(config.early_stopping, params, loss_dtype)
    return TrainState(
        params=params,
        opt_state=opt_state,
        key=key,
        epoch=jnp.zeros((), jnp.int32),
        step=jnp.zeros((), jnp.int32),
        diverged=jnp.zeros((), bool),
        diverged_step=jnp.full((), -1, jnp.int32),
        stopped=jnp.zeros((), bool),
        early_stopping=stopping,
        history=history,
    )


def run_epochs(
    config: TrainConfig,
    state: TrainState,
    train_data: Data,
    val_data: Data = None,
    hyperparams: Hyperparams = None,
    until: int | jax.Array | None = None,
    *,
    fixed_epochs: bool = False,
) -> TrainState:
    """Runs epochs from ``state.epoch`` until epoch ``until`` (default: all), an early stop or a divergence.

    ``fixed_epochs=True`` loops over every epoch slot with ``lax.scan``
    instead of a ``lax.while_loop``, leaving finished trainings unchanged.
    It runs the same trainings (equal up to the rounding of differently laid
    out matrix products); use it under ``vmap``: there a while loop's
    per-training exit condition makes its epoch counter batched, so a data
    order shared by all trainings would be drawn (and gathered) once per
    training, while the scan's counter stays shared and every training sees
    the very same mini-batch (one large matrix product for all of them).

    ``until`` may be traced: every chunk of epochs runs the same compiled
    program, and ``run(run(s, until=a), until=b)`` is bit-identical to
    ``run(s, until=b)``.
    """
    _check_validation(config, train_data, val_data)
    layout = _layout(config, train_data)
    transformation = build_transformation(config.optimizer, hyperparams)
    end = jnp.asarray(config.epochs if until is None else until, jnp.int32)
    end = jnp.minimum(end, config.epochs)

    def keep_going(s: TrainState) -> jax.Array:
        return (s.epoch < end) & ~s.diverged & ~s.stopped

    body = functools.partial(_epoch, config, layout, transformation, train_data, val_data, hyperparams)
    if not fixed_epochs:
        return jax.lax.while_loop(keep_going, body, state)

    def slot(s: TrainState, epoch: jax.Array) -> tuple[TrainState, None]:
        active = keep_going(s) & (s.epoch == epoch)
        # The key never changes; keeping it out of the per-training select keeps it shared.
        new = body(s, epoch)._replace(key=None)
        return select(active, new, s._replace(key=None))._replace(key=s.key), None

    return jax.lax.scan(slot, state, jnp.arange(config.epochs, dtype=jnp.int32))[0]


def train(
    config: TrainConfig,
    params: Params,
    key: jax.Array,
    train_data: Data,
    val_data: Data = None,
    hyperparams: Hyperparams = None,
    *,
    fixed_epochs: bool = False,
) -> TrainState:
    """The whole training: ``run(init(params, key, ...), ...)`` (``fixed_epochs`` as in :func:`run_epochs`)."""
    state = init_state(config, params, key, train_data, val_data, hyperparams)
    return run_epochs(config, state, train_data, val_data, hyperparams, fixed_epochs=fixed_epochs)


def _epoch(
    config: TrainConfig,
    layout: _Layout,
    transformation: Any,
    train_data: Data,
    val_data: Data,
    hyperparams: Hyperparams,
    state: TrainState,
    epoch: jax.Array | None = None,
) -> TrainState:
    """One epoch: shuffle, scan the steps, evaluate, early-stop; pure.

    ``epoch`` is the index of this epoch, ``state.epoch`` unless given (the
    fixed-epoch loop passes its own, unbatched, counter).
    """
    epoch = state.epoch if epoch is None else epoch
    shuffle_key, step_key = jax.random.split(jax.random.fold_in(state.key, epoch))
    if layout.full_batch:
        indices = masks = None
    else:
        batches = epoch_batches(
            shuffle_key, layout.num_examples, layout.batch_size, remainder=config.remainder, shuffle=config.shuffle
        )
        indices = batches.indices
        masks = batches.mask if layout.padded else None
    step_keys = jax.random.split(step_key, layout.steps) if config.loss_takes_key else None
    learning_rate = _learning_rate(config, state.opt_state, state.step)

    def step(carry, xs):
        params, opt_state, count, diverged, diverged_step = carry
        index, mask, key = xs
        batch = train_data if index is None else take(train_data, index)
        loss, grads = jax.value_and_grad(lambda p: _objective(config, p, batch, key, hyperparams, mask))(params)
        updates, new_opt_state = transformation.update(grads, opt_state, params)
        new_params = apply_updates(params, updates)
        # A non-finite gradient shows up in the updated parameters, so checking
        # the loss and the new parameters catches every divergence.
        finite = jnp.isfinite(loss) & all_finite(new_params)
        running = ~diverged
        accept = finite & running
        params = select(accept, new_params, params)
        opt_state = select(accept, new_opt_state, opt_state)
        diverged_step = jnp.where(running & ~finite, count, diverged_step)
        size = layout.batch_size if mask is None else jnp.sum(mask)
        out = (jnp.where(running, loss, jnp.nan), jnp.where(running, size, 0))
        carry = (params, opt_state, count + accept.astype(count.dtype), diverged | ~finite, diverged_step)
        return carry, out

    carry = (state.params, state.opt_state, state.step, state.diverged, state.diverged_step)
    carry, (losses, sizes) = jax.lax.scan(step, carry, (indices, masks, step_keys), length=layout.steps)
    params, opt_state, count, diverged, diverged_step = carry

    # Keras' epoch loss: the mean of the batch losses seen, weighted by real examples.
    sizes = sizes.astype(losses.dtype)
    train_loss = jnp.sum(jnp.where(sizes > 0, losses * sizes, 0)) / jnp.maximum(jnp.sum(sizes), 1)
    metrics = {name: _metric(name, fn, params, train_data) for name, fn in config.metrics}
    val_loss = None
    val_metrics = {}
    if val_data is not None:
        val_loss = _objective(config, params, val_data, None, hyperparams)
        val_metrics = {name: _metric(name, fn, params, val_data) for name, fn in config.metrics}
    values = History(
        train_loss=train_loss,
        val_loss=val_loss,
        metrics=metrics,
        val_metrics=val_metrics,
        learning_rate=learning_rate,
        step_loss=losses,
    )
    history = record_epoch(state.history, epoch, values)

    stopping, stop = state.early_stopping, jnp.zeros((), bool)
    if config.early_stopping is not None:
        monitored = {"loss": train_loss, "val_loss": val_loss, **metrics}
        monitored.update({f"val_{k}": v for k, v in val_metrics.items()})
        stopping, stop = update_early_stopping(
            config.early_stopping, stopping, monitored[config.early_stopping.monitor], epoch, params
        )
        if config.early_stopping.restore_best:
            finished = stop | diverged | (epoch + 1 >= config.epochs)
            restore = finished & (stopping.best_epoch >= 0)
            params = select(restore, stopping.best_params, params)

    return TrainState(
        params=params,
        opt_state=opt_state,
        key=state.key,
        epoch=epoch + 1,
        step=count,
        diverged=diverged,
        diverged_step=diverged_step,
        stopped=stop,
        early_stopping=stopping,
        history=history,
    )

"""The training loop: a whole training as one pure, jittable, vmappable function.

:func:`init_state` and :func:`run_epochs` are the functions behind
:meth:`Trainer.init <gdjax.train.Trainer.init>` and
:meth:`Trainer.run <gdjax.train.Trainer.run>`. Everything of a training happens
inside them: shuffling, every step of every epoch, evaluation, early stopping
with restoring of the best parameters, and divergence detection. They branch
on no traced value, so they can be ``jit``-ed and ``vmap``-ed.

The layout of the program, chosen for speed:

- **Epoch slots.** A call runs ``count`` epoch slots ``first, first + 1, ...``
  (static ``count``, ``first`` an unbatched counter): a slot runs its epoch
  when it is the training's next one (``state.epoch``), before ``until``, and
  the training has neither stopped nor diverged; otherwise it is skipped
  (computed and discarded by a select; an unbatched run instead loops over
  the epochs to run and no more, see :func:`run_epochs`). The slot counter never depends on a
  training's own state, so under ``vmap`` every training sees the same epoch
  index, the same data order (when they share a key) and the very same
  mini-batch: the first layer of every training is one large matrix product.
- **Orders drawn up front.** The permutations of all the call's epochs are
  drawn before the loop, in one batch (:func:`gdjax.data.permutation`), not
  one per epoch inside it (when they fit in 2**24 indices; otherwise each
  epoch draws its own).
- **One loop over steps for a lean training.** An unbatched call of every
  slot whose epochs evaluate nothing on the parameters (:func:`gdjax.fit`
  without validation, metrics, early stopping, averaging or plateau) runs
  all its steps in one loop, unguarded, and books the epochs from the steps'
  losses afterwards; a divergence is caught by running again up to the
  step that was not finite (:func:`_lean_run`), so the results are the
  guarded loop's bit for bit.
- **One fused guard per step.** A step whose objective is not finite, or
  whose update would make a parameter non-finite, is not applied: the
  parameters and optimizer state are frozen from then on, ``diverged`` is set
  with the 0-based index of that step, and no later epoch runs.
- **Flat optimizer layout.** An elementwise optimizer runs on the parameters
  as one vector (:mod:`gdjax.train._layout`); states are converted at the
  edges of the call, so what goes in and comes out is in the tree's layout.
- **Wide layout under restarts.** Vmapped over the copies of a gdjax model
  trained with a :func:`gdjax.train.model_loss`, the steps run with every
  copy's first layer in one product (:mod:`gdjax.train._wide`).

Randomness: epoch ``e`` splits ``fold_in(key, e)`` into a shuffling key (the
permutation of :func:`gdjax.data.epoch_batches`) and a key split once more
into one key per step for a loss that takes one (dropout). Because the key of
epoch ``e`` depends only on ``(key, e)`` and the state carries everything
else, running epochs ``[0, a)`` then ``[a, b)`` executes exactly the same
operations as running ``[0, b)`` at once: chunked runs (for progress bars and
checkpoints) are bit-identical to a single run.

Counting follows the course: an *iteration* (step) is one parameter update on
one mini-batch; an *epoch* is one pass over the training set, i.e.
``num_batches(n, batch_size, remainder)`` iterations.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from gdjax import optim
from gdjax._checks import check_choice
from gdjax._dtypes import float_dtype
from gdjax.data import epoch_batches, num_batches, num_examples, take
from gdjax.train._early_stopping import EarlyStoppingState, init_early_stopping, update_early_stopping
from gdjax.train._history import EpochRecord, HistoryBuffer
from gdjax.train._layout import FlatLayout, flat_layout, state_to_flat, state_to_tree
from gdjax.train._objective import check_scalar_output
from gdjax.train._transformations import takes_extra_args
from gdjax.train._tree import select
from gdjax.train._wide import vectorised, whole_call, wide_loss

#: Most indices drawn up front for a call's epochs; beyond, each epoch draws its own order.
PREDRAWN_INDICES = 2**24


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
      stalled_epoch: first epoch in which every step's gradient was exactly
        zero (a flat loss: saturated units, clipped probabilities), ``-1`` if none.
      early_stopping: best value/epoch/params so far (None without early stopping).
      history: per-epoch record, with room for every epoch (NaN where not run).
    """

    params: Any
    opt_state: Any
    key: jax.Array
    epoch: jax.Array
    step: jax.Array
    diverged: jax.Array
    diverged_step: jax.Array
    stopped: jax.Array
    stalled_epoch: jax.Array
    early_stopping: EarlyStoppingState | None
    history: HistoryBuffer


class EpochShape(NamedTuple):
    """The static shape of an epoch, worked out from the data at trace time."""

    num_examples: int
    batch_size: int
    steps: int  # iterations per epoch
    full_batch: bool  # one step on the whole set, no gather
    padded: bool  # a padded last batch: per-example masked mean


def epoch_shape(trainer: Any, train_data: Any) -> EpochShape:
    n = num_examples("train_data", train_data)
    if trainer.batch_size is None or trainer.batch_size == n:
        return EpochShape(n, n, 1, True, False)
    if trainer.batch_size > n:
        raise ValueError(
            f"batch_size must be <= the number of training examples ({n}); got {trainer.batch_size}. "
            "Use batch_size=None for full-batch gradient descent."
        )
    b = trainer.batch_size
    steps = num_batches(n, b, trainer.remainder)
    return EpochShape(n, b, steps, False, trainer.remainder == "pad" and n % b != 0)


def check_validation(trainer: Any, train_data: Any, val_data: Any) -> None:
    if val_data is None:
        if trainer.early_stopping is not None and trainer.early_stopping.monitor.startswith("val_"):
            raise ValueError(
                f"early_stopping.monitor={trainer.early_stopping.monitor!r} needs validation data; got None."
            )
        return
    num_examples("val_data", val_data)
    if jax.tree.structure(val_data) != jax.tree.structure(train_data):
        raise ValueError(
            "val_data must have the pytree structure of train_data; got "
            f"{jax.tree.structure(val_data)} and {jax.tree.structure(train_data)}."
        )


def learning_rate_from_state(opt_state: Any) -> jax.Array | None:
    """The learning rate recorded in an optimizer state, or None if it holds none (or several).

    Reads, in order of preference:

    - gdjax optimizers (any built on :func:`gdjax.optim.scale_by_learning_rate`):
      the rate the next update applies (:func:`gdjax.optim.current_learning_rate`);
    - ``optax.inject_hyperparams`` states: ``hyperparams["learning_rate"]``,
      the rate of the latest update (of the first one before any update).
    """
    rate = optim.single_learning_rate(opt_state)  # the effective rate: plateaus and switches included
    if rate is not None:
        return jnp.asarray(rate)
    is_gdjax = lambda node: isinstance(node, optim.ScaleByLearningRateState)
    if any(is_gdjax(node) for node in jax.tree.leaves(opt_state, is_leaf=is_gdjax)):
        return None  # several parameter groups with their own rates: no single rate in force

    def is_injected(node: Any) -> bool:
        hyper = getattr(node, "hyperparams", None)
        return isinstance(hyper, Mapping) and "learning_rate" in hyper

    injected = [node for node in jax.tree.leaves(opt_state, is_leaf=is_injected) if is_injected(node)]
    if len(injected) == 1:
        return jnp.asarray(injected[0].hyperparams["learning_rate"])
    return None


def _learning_rate(trainer: Any, opt_state: Any, steps_done: jax.Array) -> jax.Array | None:
    """The rate of the next step, after ``steps_done`` updates leading to ``opt_state``."""
    rate = trainer.learning_rate
    if rate is None:
        return learning_rate_from_state(opt_state)
    if callable(rate):
        return jnp.asarray(rate(steps_done))
    return jnp.asarray(rate)


# ---------------------------------------------------------------------------
# init


def init_state(
    trainer: Any, params: Any, key: jax.Array, train_data: Any, val_data: Any = None, hyperparams: Any = None
) -> TrainState:
    """The state before the first epoch (see :meth:`gdjax.train.Trainer.init`)."""
    check_validation(trainer, train_data, val_data)
    shape = epoch_shape(trainer, train_data)
    params = jax.tree.map(jnp.asarray, params)
    transformation = trainer.transformation(hyperparams)
    opt_state = transformation.init(params)
    _check_epoch_hooks(trainer, opt_state, val_data is not None)

    sample = jax.tree.map(lambda a: jax.ShapeDtypeStruct((shape.batch_size,) + a.shape[1:], a.dtype), train_data)
    loss_dtype = jax.eval_shape(lambda p, b: trainer.objective(p, b, None, hyperparams), params, sample).dtype
    metric_dtypes = {
        name: float_dtype(jax.eval_shape(functools.partial(_metric, name, fn), params, train_data).dtype, loss_dtype)
        for name, fn in trainer.metrics
    }
    rate = jax.eval_shape(lambda s: _learning_rate(trainer, s, jnp.zeros((), jnp.int32)), opt_state)
    history = HistoryBuffer.empty(
        trainer.epochs,
        shape.steps,
        loss_dtype=loss_dtype,
        has_validation=val_data is not None,
        metric_dtypes=metric_dtypes,
        lr_dtype=None if rate is None else float_dtype(rate.dtype, loss_dtype),
        record_step_loss=trainer.record_step_loss,
    )
    stopping = None
    if trainer.early_stopping is not None:
        stopping = init_early_stopping(trainer.early_stopping, params, loss_dtype)
    return TrainState(
        params=params,
        opt_state=opt_state,
        key=key,
        epoch=jnp.zeros((), jnp.int32),
        step=jnp.zeros((), jnp.int32),
        diverged=jnp.zeros((), bool),
        diverged_step=jnp.full((), -1, jnp.int32),
        stopped=jnp.zeros((), bool),
        stalled_epoch=jnp.full((), -1, jnp.int32),
        early_stopping=stopping,
        history=history,
    )


def _check_epoch_hooks(trainer: Any, opt_state: Any, has_validation: bool) -> None:
    """Refuses (at trace time) a plateau monitoring a value the epochs do not have, or averaging without an average."""
    known = trainer.monitored_names(has_validation)
    unknown = sorted(optim.epoch_monitors(opt_state) - set(known))
    if unknown:
        raise ValueError(
            f"the optimizer's reduce_on_plateau monitors {', '.join(map(repr, unknown))}, which the epochs do "
            f"not record; they record {', '.join(map(repr, known))}."
        )
    if trainer.evaluate_averaged and optim.averaged_params(opt_state) is None:
        raise ValueError(
            "evaluate_averaged=True needs an optimizer that averages the parameters "
            "(gdjax.optim.average_params(optimizer, decay)); this one keeps no average."
        )


def _metric(name: str, fn: Any, params: Any, data: Any) -> jax.Array:
    return check_scalar_output(f"metric {name!r}", fn(params, data))


# ---------------------------------------------------------------------------
# run


class _Orders(NamedTuple):
    """The randomness of the epochs of a call (or of one epoch)."""

    indices: jax.Array | None  # [steps, batch] example indices, None for full batches
    masks: jax.Array | None  # [steps, batch] real examples of a padded batch
    step_keys: jax.Array | None  # [steps] keys for a loss that takes one


def _draw_orders(trainer: Any, shape: EpochShape, key: jax.Array, epochs: jax.Array) -> _Orders:
    """The batches and step keys of the epochs ``epochs`` (1-D), epoch ``e``'s from ``fold_in(key, e)``.

    The permutations of all the epochs are drawn in one batch
    (:func:`gdjax.data.epoch_batches` of an array of keys).
    """
    keys = jax.vmap(lambda e: jax.random.split(jax.random.fold_in(key, e)))(epochs)
    shuffle_keys, step_keys = keys[:, 0], keys[:, 1]
    count = epochs.shape[0]
    indices = masks = None
    if not shape.full_batch:
        batches = epoch_batches(
            shuffle_keys, shape.num_examples, shape.batch_size, remainder=trainer.remainder, shuffle=trainer.shuffle
        )
        grid = (count, shape.steps, shape.batch_size)
        indices = jnp.broadcast_to(batches.indices, grid)  # unshuffled: the same batches every epoch
        masks = jnp.broadcast_to(batches.mask, grid) if shape.padded else None
    step_keys = jax.vmap(lambda k: jax.random.split(k, shape.steps))(step_keys) if trainer.loss_takes_key else None
    return _Orders(indices, masks, step_keys)


def _epoch_orders(trainer: Any, shape: EpochShape, key: jax.Array, epoch: jax.Array) -> _Orders:
    """The batches and step keys of one epoch (drawn in the loop when a call's orders are too many to draw up front)."""
    return jax.tree.map(lambda leaf: leaf[0], _draw_orders(trainer, shape, key, epoch[None]))


def run_epochs(
    trainer: Any,
    state: TrainState,
    train_data: Any,
    val_data: Any = None,
    hyperparams: Any = None,
    *,
    until: int | jax.Array | None = None,
    first: int | jax.Array = 0,
    count: int | None = None,
    skip: str = "select",
    vmap_axis: str | None = None,
) -> TrainState:
    """Runs the epoch slots ``first .. first + count - 1`` (default: every epoch) up to ``until``.

    See the module docs: a slot runs its epoch only when it is the training's
    next one, so calling with the slots of a chunk (``first = state.epoch``,
    ``count`` epochs) and with all slots give the same training.

    ``skip`` says how a slot that does not run is skipped: ``"select"`` runs
    the epoch anyway and keeps the old state (under ``vmap`` this keeps what
    all trainings share, the data order and the batches, unbatched: a
    ``lax.cond`` with a per-training predicate would be batched into a select
    over per-training copies of them); ``"branch"`` runs a ``while_loop``
    over the epochs from ``state.epoch`` while they are to run, which saves
    the work of a run that is not vmapped (:func:`gdjax.fit`: chunks, early
    stops) and costs no branch per slot; for a lean training (see the
    module docs) it runs one loop over the steps instead (:func:`_lean_run`).

    The divergence guard (a non-finite step is not applied) is exact either
    way; how it is paid for depends on ``vmap_axis``. Under a ``vmap`` over
    trainings named ``vmap_axis``, an epoch first runs without the per-step
    selects, and runs again with them only if a step of any training on
    that axis was not finite (a branch under ``vmap`` is taken by all or
    none); a clean epoch's steps are the same arithmetic either way, so the
    results are the same bits. There the selects cost about 1.7x a step
    (``experiments/ablate_restarts.py``); for one training they cost little,
    and the extra branch more, so without ``vmap_axis`` every step selects.
    """
    check_validation(trainer, train_data, val_data)
    check_choice("skip", skip, ("select", "branch"))
    shape = epoch_shape(trainer, train_data)
    transformation = trainer.transformation(hyperparams)
    count = trainer.epochs if count is None else count
    end = jnp.asarray(trainer.epochs if until is None else until, jnp.int32)
    end = jnp.minimum(end, trainer.epochs)
    first_slot = first if isinstance(first, int) else None
    first = jnp.asarray(first, jnp.int32)

    layout = None
    if trainer.layout == "auto":
        layout = flat_layout(state.params, transformation, optim.is_elementwise)
    tree_params = state.params
    # The loop carries the state in its own layout, without the key: the key is never selected, so never batched.
    carry = state._replace(
        params=state.params if layout is None else layout.ravel(state.params),
        opt_state=state.opt_state if layout is None else state_to_flat(layout, transformation, state.opt_state),
        early_stopping=_stopping_in(layout, state.early_stopping),
        key=None,
    )

    epochs = first + jnp.arange(count, dtype=jnp.int32)  # past the configuration's epochs: skipped
    predraw = count * shape.steps * shape.batch_size <= PREDRAWN_INDICES
    orders = _draw_orders(trainer, shape, state.key, epochs) if predraw else None

    # An unbatched call of every slot whose epochs evaluate nothing on the parameters runs as one loop over steps.
    lean_steps = predraw and first_slot == 0 and count == trainer.epochs and _lean(trainer, val_data, state.opt_state)

    def run_slots(trainer, carry, orders, train_data, hyperparams):
        transformation = trainer.transformation(hyperparams)
        run_epoch = functools.partial(
            _epoch, trainer, shape, transformation, layout, train_data, val_data, hyperparams, vmap_axis
        )

        if skip == "branch" and lean_steps:
            return _lean_run(trainer, shape, transformation, layout, train_data, hyperparams, carry, orders, end)

        if skip == "branch":  # a loop over the epochs to run, no more

            def pending(carry: TrainState) -> jax.Array:
                epoch = carry.epoch
                return (epoch >= first) & (epoch < first + count) & (epoch < end) & ~carry.diverged & ~carry.stopped

            def next_epoch(carry: TrainState) -> TrainState:
                epoch = carry.epoch
                if orders is None:
                    drawn = _epoch_orders(trainer, shape, state.key, epoch)
                else:
                    drawn = jax.tree.map(lambda leaf: leaf[epoch - first], orders)
                return run_epoch(carry, epoch, drawn, jnp.ones((), bool))

            return jax.lax.while_loop(pending, next_epoch, carry)

        def slot(carry: TrainState, xs: Any) -> tuple[TrainState, None]:
            epoch, drawn = xs
            if drawn is None:
                drawn = _epoch_orders(trainer, shape, state.key, epoch)
            active = (carry.epoch == epoch) & (epoch < end) & ~carry.diverged & ~carry.stopped
            carry = select(active, run_epoch(carry, epoch, drawn, active), carry)
            return carry, None

        return jax.lax.scan(slot, carry, (epochs, orders))[0]

    whole = vmap_axis is not None and predraw and skip == "select" and _lean(trainer, val_data, state.opt_state)
    whole = whole and until is None and count == trainer.epochs and first_slot == 0
    wide = wide_loss(trainer, layout, shape.padded) if whole else None
    if wide is None:
        carry = run_slots(trainer, carry, orders, train_data, hyperparams)
    else:
        # The call's epochs evaluate nothing on the parameters: their steps may all run in the wide layout.
        values, structure = trainer.split()
        merge = type(trainer).merge

        def plain(values, carry, orders, data, hyper):
            return run_slots(merge(structure, values), carry, orders, data, hyper)

        def records(values, carry, epoch, orders, rate, stepped, data, hyper):
            merged = merge(structure, values)
            return _epoch_records(merged, shape, layout, data, None, hyper, carry, epoch, orders, rate, stepped)

        def rate_at(values, hyper, opt_state, step):
            return _learning_rate(merge(structure, values), opt_state, step)

        run = whole_call(plain, structure, layout, wide, shape.steps, count, vmap_axis, records, rate_at)
        carry = run(values, carry, orders, train_data, hyperparams)

    if layout is None:
        return carry._replace(key=state.key)
    return carry._replace(
        params=layout.unravel(carry.params),
        opt_state=state_to_tree(layout, transformation, carry.opt_state, tree_params),
        early_stopping=_stopping_out(layout, carry.early_stopping),
        key=state.key,
    )


def _lean_run(
    trainer: Any,
    shape: EpochShape,
    transformation: Any,
    layout: FlatLayout | None,
    train_data: Any,
    hyperparams: Any,
    carry: TrainState,
    orders: _Orders,
    end: jax.Array,
) -> TrainState:
    """Epochs ``carry.epoch .. end - 1`` of an unbatched training whose epochs evaluate nothing on the parameters.

    Such epochs need nothing between their steps but the steps themselves
    (no validation, metrics, early stopping, averaging or plateau: see
    :func:`_lean`), so they run as one loop over every step, unguarded, and
    are booked afterwards from the steps' losses and guards, all epochs at
    once. The loop stops after the first step that is not finite, at index
    ``k``; it then runs again from the start to step ``k`` (exclusive), whose
    steps were all finite, so the result is the guarded training's: step
    ``k`` and every later one not applied, ``k`` reported. A clean call
    runs each step once, with none of the per-step selects of the guard and
    no loop over epochs around the steps; a diverging one at most twice up to
    its divergence. ``orders`` holds every slot's (``0 .. trainer.epochs - 1``).
    """
    steps, count = shape.steps, trainer.epochs
    total = count * steps
    xs = jax.tree.map(lambda a: a.reshape((total,) + a.shape[2:]), (orders.indices, orders.masks, orders.step_keys))
    step = _step_function(trainer, train_data, hyperparams, transformation, layout)
    history = carry.history
    rate_from_state = history.learning_rate is not None and trainer.learning_rate is None

    first = carry.epoch
    runs = ~carry.diverged & ~carry.stopped & (first < end)
    stop = jnp.where(runs, end, first)  # the epoch count after the call, unless a step is not finite
    lo, hi = first * steps, stop * steps
    # Each step's loss, (rate,) and guard in one row of one buffer: one write a step.
    record_dtype = jnp.result_type(history.train_loss.dtype, jnp.float32)
    if rate_from_state:
        record_dtype = jnp.result_type(record_dtype, history.learning_rate.dtype)
    guard_at = 2 if rate_from_state else 1
    records = jnp.full((total, guard_at + 1), jnp.nan, record_dtype)

    def last_finite(i, records):  # no step before i, or step i - 1 was finite (read off its row: no op in the step)
        latest = jax.lax.dynamic_index_in_dim(records, jnp.maximum(i - 1, 0), keepdims=False)
        return (i == lo) | (jnp.isfinite(latest[0]) & jnp.isfinite(latest[guard_at]))

    def pending(loop):  # steps i < limit while the last one was finite
        i, limit, _, _, records = loop
        return (i < limit) & last_finite(i, records)

    def one_step(loop):
        i, limit, params, opt_state, records = loop
        row = [] if not rate_from_state else [learning_rate_from_state(opt_state)]  # the rate in force at step i
        # 0 <= i < total: no wrapping of negative indices (an op a step).
        take_step = lambda a: jax.lax.dynamic_index_in_dim(a, i, keepdims=False, allow_negative_indices=False)
        inner = (params, opt_state, carry.diverged)
        (params, opt_state, _), (loss, guard) = step(inner, jax.tree.map(take_step, xs), guarded=False)
        row = jnp.stack([jnp.asarray(v, record_dtype) for v in [loss, *row, guard]])
        records = jax.lax.dynamic_update_index_in_dim(records, row, i, 0, allow_negative_indices=False)
        return i + 1, limit, params, opt_state, records

    def attempt(outer):  # the steps from the start; after a non-finite one, again up to it
        limit, _, _, _, records = outer
        loop = (lo, limit, carry.params, carry.opt_state, records)
        i, _, params, opt_state, records = jax.lax.while_loop(pending, one_step, loop)
        clean = last_finite(i, records)  # the loop stopped at the limit, or after the step i - 1 that was not finite
        return jnp.where(clean, limit, i - 1), clean, params, opt_state, records

    outer = (hi, jnp.zeros((), bool), carry.params, carry.opt_state, records)
    limit, _, params, opt_state, records = jax.lax.while_loop(lambda o: ~o[1], attempt, outer)
    losses = records[:, 0].astype(history.train_loss.dtype)
    guards = records[:, guard_at].astype(jnp.float32)
    rates = records[:, 1].astype(history.learning_rate.dtype) if rate_from_state else None

    # The booking of _epoch_records, for every epoch at once. Steps lo .. limit - 1 were applied;
    # when limit < hi, step limit was not finite and was not.
    failed = limit < hi
    index = jnp.arange(total)
    ran = (index >= lo) & (index < hi) & (index <= limit)
    accepted = (index >= lo) & (index < limit)  # every step before limit was finite (and step limit was not)
    failed_epoch = jax.lax.div(limit, jnp.asarray(steps, limit.dtype))  # limit >= 0: no floor correction
    last = jnp.where(failed, failed_epoch + 1, stop)  # the epoch count after the call
    epochs = jnp.arange(count, dtype=jnp.int32)
    epoch_ran = (epochs >= first) & (epochs < last)
    grid = lambda a: a.reshape(count, steps)

    if orders.masks is None:
        sizes = jnp.full((count, steps), shape.batch_size, losses.dtype)
    else:
        sizes = jnp.sum(orders.masks, axis=2).astype(losses.dtype)
    sizes = jnp.where(grid(ran), sizes, 0)
    losses = jnp.where(ran, losses, jnp.nan)
    train_loss = _epoch_loss(grid(losses), sizes, grid(ran))

    rate = None
    if rate_from_state:
        rate = grid(rates)[:, 0]
    elif history.learning_rate is not None:  # a number or a schedule of the steps done before the epoch
        done = carry.step + epochs * steps - lo
        rate = jax.vmap(lambda d: _learning_rate(trainer, opt_state, d))(done)

    clean_epoch = epoch_ran & ~(failed & (epochs >= failed_epoch))
    stalled = clean_epoch & _all_zero(grid(guards), grid(accepted), jnp.ones((), bool))
    any_stall, first_stall = _first_true(stalled)
    stalled_epoch = jnp.where((carry.stalled_epoch < 0) & any_stall, first_stall, carry.stalled_epoch)

    put = lambda buf, v: None if buf is None else jnp.where(epoch_ran, jnp.asarray(v, buf.dtype), buf)
    step_loss = history.step_loss
    if step_loss is not None:
        step_loss = jnp.where(jnp.repeat(epoch_ran, steps), losses.astype(step_loss.dtype), step_loss)
    history = history._replace(
        train_loss=put(history.train_loss, train_loss),
        learning_rate=put(history.learning_rate, rate),
        step_loss=step_loss,
    )
    return carry._replace(
        params=params,
        opt_state=opt_state,
        epoch=last.astype(carry.epoch.dtype),
        step=carry.step + (limit - lo).astype(carry.step.dtype),
        diverged=carry.diverged | failed,
        diverged_step=jnp.where(failed, carry.step + (limit - lo).astype(carry.step.dtype), carry.diverged_step),
        stalled_epoch=stalled_epoch,
        history=history,
    )


def _lean(trainer: Any, val_data: Any, opt_state: Any) -> bool:
    """Whether the epochs evaluate nothing on the parameters (validation, metrics, early stopping, average, plateau)."""
    if val_data is not None or trainer.metrics or trainer.early_stopping is not None or trainer.evaluate_averaged:
        return False
    return not optim.epoch_monitors(opt_state)


def _stopping_in(layout: FlatLayout | None, stopping: EarlyStoppingState | None) -> EarlyStoppingState | None:
    if layout is None or stopping is None or stopping.best_params is None:
        return stopping
    return stopping._replace(best_params=layout.ravel(stopping.best_params))


def _stopping_out(layout: FlatLayout | None, stopping: EarlyStoppingState | None) -> EarlyStoppingState | None:
    if layout is None or stopping is None or stopping.best_params is None:
        return stopping
    return stopping._replace(best_params=layout.unravel(stopping.best_params))


def _epoch(
    trainer: Any,
    shape: EpochShape,
    transformation: Any,
    layout: FlatLayout | None,
    train_data: Any,
    val_data: Any,
    hyperparams: Any,
    vmap_axis: str | None,
    carry: TrainState,
    epoch: jax.Array,
    orders: _Orders,
    active: jax.Array,
) -> TrainState:
    """One epoch: scan the steps, evaluate, record, early-stop; pure (see :func:`run_epochs` for ``vmap_axis``)."""
    learning_rate = _learning_rate(trainer, carry.opt_state, carry.step)
    stepped = _epoch_steps(
        trainer, shape, transformation, layout, train_data, hyperparams, vmap_axis, carry, orders, active
    )
    return _epoch_records(
        trainer, shape, layout, train_data, val_data, hyperparams, carry, epoch, orders, learning_rate, stepped
    )


def _epoch_steps(
    trainer: Any,
    shape: EpochShape,
    transformation: Any,
    layout: FlatLayout | None,
    train_data: Any,
    hyperparams: Any,
    vmap_axis: str | None,
    carry: TrainState,
    orders: _Orders,
    active: jax.Array,
) -> Any:
    """The steps of an epoch: ``((params, opt_state, diverged), (losses, guards))``, one loss and guard a step."""

    inner = (carry.params, carry.opt_state, carry.diverged)
    xs = (orders.indices, orders.masks, orders.step_keys)

    if vmap_axis is None:
        scan = _step_function(trainer, train_data, hyperparams, transformation, layout)
        return jax.lax.scan(scan, inner, xs, length=shape.steps)

    # Selecting every step's new state against the old one makes each step
    # write it out and read it back before going on (under vmap about 1.7x
    # the time of the step); an epoch in which every step is finite gives
    # the same result without them. The epoch takes everything traced (the
    # trainer's numbers too) as arguments, so that it may carry a vmap
    # rule: the wide layout of restarts of a gdjax model (gdjax.train._wide).
    values, structure = trainer.split()

    def guarded(values, inner, xs, data, hyper):
        merged = type(trainer).merge(structure, values)
        scan = _step_function(merged, data, hyper, merged.transformation(hyper), layout)
        return jax.lax.scan(scan, inner, xs, length=shape.steps)

    def optimistic(values, inner, xs, data, hyper, active):
        merged = type(trainer).merge(structure, values)
        scan = _step_function(merged, data, hyper, merged.transformation(hyper), layout)
        fast = jax.lax.scan(functools.partial(scan, guarded=False), inner, xs, length=shape.steps)
        fast_losses, fast_guards = fast[1]
        failed = active & ~jnp.all(jnp.isfinite(fast_losses) & jnp.isfinite(fast_guards))
        failed = jax.lax.psum(failed.astype(jnp.int32), vmap_axis) > 0  # one branch for the whole tile
        return jax.lax.cond(failed, lambda i: guarded(values, i, xs, data, hyper), lambda _: fast, inner)

    wide = wide_loss(trainer, layout, shape.padded)
    if wide is not None:
        optimistic = vectorised(optimistic, guarded, structure, layout, wide, shape.steps, vmap_axis)
    return optimistic(values, inner, xs, train_data, hyperparams, active)


def _step_function(trainer: Any, train_data: Any, hyperparams: Any, transformation: Any, layout: FlatLayout | None):
    """``step((params, opt_state, diverged), (index, mask, key), guarded=True) -> (carry, (loss, guard))``.

    One update on the batch ``index`` (the whole set when None). Guarded, a
    step whose objective or update is not finite is not applied, and every
    step after one that was not is not either (``diverged``); unguarded, the
    update is applied whatever it is (the caller then decides from the
    losses and guards what to keep).
    """
    as_tree = (lambda p: p) if layout is None else layout.unravel
    extra_args = takes_extra_args(transformation)

    def step(inner, xs, guarded=True):
        # Only what the next step needs is carried; the epoch's bookkeeping is read off the outputs after.
        params, opt_state, diverged = inner
        index, mask, key = xs
        batch = train_data if index is None else take(train_data, index)

        def objective(p):
            return trainer.objective(as_tree(p), batch, key, hyperparams, mask)

        loss, grads = jax.value_and_grad(objective)(params)
        if extra_args:
            updates, new_opt_state = transformation.update(
                grads, opt_state, params, value=loss, grad=grads, value_fn=objective
            )
        else:
            updates, new_opt_state = transformation.update(grads, opt_state, params)
        new_params = optim.apply_updates(params, updates)
        # A non-finite gradient shows up in the updated parameters, so checking
        # the loss and the new parameters catches every divergence.
        guard = _guard(new_params, grads)
        if not guarded:
            return (new_params, new_opt_state, diverged), (loss, guard)
        finite = jnp.isfinite(loss) & jnp.isfinite(guard)
        accept = finite & ~diverged
        params = select(accept, new_params, params)
        opt_state = select(accept, new_opt_state, opt_state)
        return (params, opt_state, diverged | ~finite), (loss, guard)

    return step


def _epoch_records(
    trainer: Any,
    shape: EpochShape,
    layout: FlatLayout | None,
    train_data: Any,
    val_data: Any,
    hyperparams: Any,
    carry: TrainState,
    epoch: jax.Array,
    orders: _Orders,
    learning_rate: jax.Array | None,
    stepped: Any,
) -> TrainState:
    """The epoch's bookkeeping from its steps' results: counts, divergence, evaluation, records, early stopping."""
    as_tree = (lambda p: p) if layout is None else layout.unravel
    (params, opt_state, diverged), (losses, guards) = stepped
    # Step i ran when no step before it (in this epoch or earlier) was non-finite.
    finite = jnp.isfinite(losses) & jnp.isfinite(guards)
    ran = ~carry.diverged & (jnp.cumsum(~finite) - ~finite == 0)
    accepted = ran & finite
    count = carry.step + jnp.sum(accepted, dtype=carry.step.dtype)
    failed = ran & ~finite
    diverged_step = jnp.where(
        jnp.any(failed), carry.step + jnp.argmax(failed).astype(carry.step.dtype), carry.diverged_step
    )
    all_zero = _all_zero(guards, ran, finite)
    losses = jnp.where(ran, losses, jnp.nan)

    # Keras' epoch loss: the mean of the batch losses seen, weighted by real examples.
    if orders.masks is None:
        sizes = jnp.full((shape.steps,), shape.batch_size, losses.dtype)
    else:
        sizes = jnp.sum(orders.masks, axis=1).astype(losses.dtype)
    sizes = jnp.where(ran, sizes, 0)
    train_loss = _epoch_loss(losses, sizes, ran)

    # What is evaluated (and kept by early stopping): the parameters, or the optimizer's average of them.
    evaluated = optim.averaged_params(opt_state) if trainer.evaluate_averaged else params
    tree = as_tree(evaluated)
    metrics = {name: _metric(name, fn, tree, train_data) for name, fn in trainer.metrics}
    val_loss = None
    val_metrics = {}
    if val_data is not None:
        val_loss = trainer.objective(tree, val_data, None, hyperparams)
        val_metrics = {name: _metric(name, fn, tree, val_data) for name, fn in trainer.metrics}
    history = carry.history.record(
        epoch,
        EpochRecord(
            train_loss=train_loss,
            val_loss=val_loss,
            metrics=metrics,
            val_metrics=val_metrics,
            learning_rate=learning_rate,
            step_loss=losses,
        ),
    )
    stalled_epoch = jnp.where((carry.stalled_epoch < 0) & all_zero & ~diverged, epoch, carry.stalled_epoch)

    monitored = {"loss": train_loss, **metrics}
    if val_data is not None:
        monitored.update({"val_loss": val_loss, **{f"val_{k}": v for k, v in val_metrics.items()}})
    # A reduce-on-plateau schedule in the optimizer steps once per epoch, on the value it monitors.
    opt_state = optim.end_of_epoch(opt_state, monitored)
    stopping, stop = carry.early_stopping, jnp.zeros((), bool)
    if trainer.early_stopping is not None:
        stopping, stop = update_early_stopping(
            trainer.early_stopping, stopping, monitored[trainer.early_stopping.monitor], epoch, evaluated
        )
        if trainer.early_stopping.restore_best:
            finished = stop | diverged | (epoch + 1 >= trainer.epochs)
            restore = finished & (stopping.best_epoch >= 0)
            params = select(restore, stopping.best_params, params)

    return TrainState(
        params=params,
        opt_state=opt_state,
        key=None,
        epoch=epoch + 1,
        step=count,
        diverged=diverged,
        diverged_step=diverged_step,
        stopped=stop,
        stalled_epoch=stalled_epoch,
        early_stopping=stopping,
        history=history,
    )


def _epoch_loss(losses: jax.Array, sizes: jax.Array, ran: jax.Array) -> jax.Array:
    """Keras' epoch loss over the last axis: the mean of the batch losses run, weighted by their real examples.

    ``sum_i [ran_i] size_i loss_i / max(sum_i [ran_i] size_i, 1)``; ``sizes`` is already 0 where a step did not run.
    """
    return jnp.sum(jnp.where(ran, losses * sizes, 0), axis=-1) / jnp.maximum(jnp.sum(sizes, axis=-1), 1)


def _all_zero(guards: jax.Array, ran: jax.Array, finite: jax.Array) -> jax.Array:
    """Over the last axis: some step was applied and every applied one had an exactly zero gradient (a stall)."""
    accepted = ran & finite
    return jnp.all(jnp.where(accepted, guards == 0, ~ran | ~finite), axis=-1) & jnp.any(accepted, axis=-1)


def _first_true(mask: jax.Array) -> tuple[jax.Array, jax.Array]:
    """Whether a 1-D ``mask`` holds a ``True``, and the index of the first (``len(mask)`` if none).

    One two-output reduction: XLA's CPU backend compiles it as one kernel,
    where ``any`` and ``argmax`` are two and a one-output ``min`` is two too.
    """
    index = jnp.where(mask, jnp.arange(mask.shape[0], dtype=jnp.int32), mask.shape[0])
    pick = lambda a, b: (a[0] | b[0], jnp.minimum(a[1], b[1]))
    return jax.lax.reduce((mask, index), (jnp.zeros((), bool), jnp.int32(mask.shape[0])), pick, (0,))


def _guard(new_params: Any, grads: Any) -> jax.Array:
    """One number that says both whether a step is finite and whether its gradient was zero.

    ``sum(new_params * 0 + (grads != 0))``: NaN when a new parameter is not
    finite (``inf * 0`` and ``nan * 0`` are NaN), else the count of non-zero
    gradient elements, 0 when the gradient vanished. One fused reduction over
    the parameters per step, instead of one per question and leaf.
    """
    total = jnp.zeros((), jnp.float32)
    for p, g in zip(jax.tree.leaves(new_params), jax.tree.leaves(grads), strict=True):
        if jnp.issubdtype(jnp.result_type(p), jnp.inexact):
            term = jnp.real(p) * 0 + (g != 0).astype(jnp.real(p).dtype)
            total = total + jnp.sum(term).astype(jnp.float32)
    return total

"""The wide layout: the copies of a model under ``vmap`` trained side by side, not one by one.

Random restarts are ``N`` trainings of one model vmapped over their
parameters, every one taking the same mini-batch at every step. ``vmap``
turns each dense layer into ``N`` small products ``x @ W_i``; gdjax's models
know better (:class:`gdjax.models.WideForm`): the first layer of all copies
is one product of their stacked weights with the batch (``gdjax.models.mlp``:
``[W_1^T | b_1; ...; W_N^T | b_N] [x | 1]^T``), the copies' other
parameters rows of plain 2-D arrays. The steps then run on the wide parameters and a loss
that is the sum of the copies' losses,

    J(W) = sum_i loss_i(W_i),   dJ/dW_i = d loss_i / dW_i,

(the copies are independent, so the gradient of the sum holds every copy's
own gradient), and the optimizer updates the wide arrays directly. That is
the same update as each copy's when the optimizer is elementwise and every
copy's scalar state (step counts, a schedule's position) is the same, as it
is for copies that started together.

Two vmap rules (``jax.custom_batching.custom_vmap``) put it in place:

- :func:`whole_call`: a call whose epochs evaluate nothing on the parameters
  (no validation, metrics, early stopping, averaging or plateau: the
  restarts' default) converts to the wide layout once, runs every step of
  every epoch, converts back and books the epochs from the steps' losses;
- :func:`vectorised`: otherwise each epoch's unguarded steps run wide, from
  and to the engine's layout at the epoch's edges, and the evaluation,
  early stopping and records run per copy as before.

Either keeps its result only when every step of every copy was finite, the
copies' scalar state agreed and every copy's gradient was seen non-zero in
its smaller leaves (:meth:`_Converter.moved`: what stall detection needs,
without reading the first layer's gradient once more a step); otherwise the engine's vmapped path runs
instead (one branch for the whole tile), so divergence is reported per copy
exactly as without the wide layout. Taken when the loss is a
:func:`gdjax.train.model_loss` on logits of a model with a wide form, the
optimizer runs in the flat layout (is elementwise), there is no penalty, no
key (dropout) and no padded batch, and under the ``vmap`` only the trainings'
own state is batched (a sweep's per-training hyperparameters, or
per-restart data orders, vmap as before). The products are summed in
another order than the copies' own, so the results equal a vmapped
training's to float rounding, not bit for bit (Adam amplifies a last-bit
difference over hundreds of steps); chunking, resuming and the device count
do not change them, a tile being one program.

Measured (``experiments/bench_restarts.py``, 2-core CPU, 100 epochs): the
heart network's 1024 restarts run 1.85x a hand-written ``jit(vmap(train))``
with Optax and the same shared order and 9.1x one with per-restart orders
(1.2x with the layer's weights side by side as ``x @ [W_1 | ... | W_N]``,
0.7x vmapped). What it took, from a profile of the step (``jax.profiler``
traces the CPU's kernels): units by rows and examples by columns, so the
copies' second-layer sums and the biases' gradients are no transposes and
no reductions over short rows; the bias in the product; the stacked matrix
padded to whole vector registers (30 -> 32 columns); stall detection off
the first layer's gradient; and XLA's own loops, not YNNPACK's, for the
reductions (:func:`gdjax.restarts.map_batched` compiles the restarts so).
What is left is the two products, Adam's update of the first layer and the
elementwise passes over its activations, in about equal shares.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from gdjax import optim
from gdjax.data import take
from gdjax.train._layout import FlatLayout, state_kinds
from gdjax.train._model_loss import ModelLoss

#: ``epoch(values, inner, xs, train_data, hyperparams[, active]) -> (inner, (losses, guards))``: an
#: epoch's steps, ``values`` the numbers of the trainer (``Trainer.split``).
Epoch = Callable[..., Any]


def wide_loss(trainer: Any, layout: FlatLayout | None, padded: bool) -> ModelLoss | None:
    """The :func:`~gdjax.train.model_loss` whose copies can train in the wide layout, or None.

    ``layout`` is the flat layout in force (None: the optimizer is not
    elementwise). An elementwise gdjax transformation reads none of Optax's
    extra arguments (the loss value: a line search's), so none are passed.
    """
    loss = trainer.loss_fn
    if not isinstance(loss, ModelLoss) or loss.model.wide is None or loss.on != "logits":
        return None
    if layout is None or padded or trainer.penalty is not None or trainer.loss_takes_key:
        return None
    return loss


def vectorised(
    optimistic: Epoch, guarded: Epoch, structure: Any, layout: FlatLayout, loss: ModelLoss, steps: int, axis: str
) -> Epoch:
    """``optimistic`` with a vmap rule that runs the epoch's steps in the wide layout (see the module docs).

    ``optimistic`` is the epoch of one training under a vmap named ``axis``
    (unguarded steps, the ``guarded`` ones again if any training of the axis
    had a non-finite step). The rule runs the wide steps and keeps them unless
    a copy's step was not finite or the copies' scalar state differed; then
    it runs ``guarded`` vmapped, one branch in all. ``structure`` is the
    trainer without its numbers (``Trainer.split``): the rule runs when the
    vmap is traced, later than the function that built it, so it must close
    over nothing traced.
    """
    fn = jax.custom_batching.custom_vmap(lambda *args: optimistic(*args[:-1]))

    @fn.def_vmap
    def rule(axis_size, in_batched, values, inner, xs, train_data, hyperparams, active, index):
        del index
        args, in_batched = (values, inner, xs, train_data, hyperparams, active), in_batched[:6]
        if _shares_batched(in_batched) or not all(jax.tree.leaves(in_batched[1])):
            return _as_vmap(optimistic, args, in_batched, axis)
        active = jnp.broadcast_to(active, (axis_size,))
        trainer = type(structure).merge(structure, values)
        kinds = state_kinds(layout, trainer.transformation(hyperparams))
        # Computed whatever the copies' scalars: when they differ, the result is discarded below.
        wide = _wide_scan(structure, layout, loss, steps, kinds, values, inner, xs, train_data, hyperparams, active)
        losses, guards = wide[1]
        finite = jnp.all(jnp.isfinite(losses) & jnp.isfinite(guards), axis=1)
        moved = guards[:, 0] > 0  # see _Converter.moved: a copy that did not move is decided the vmapped way
        keep = _scalars_agree(inner[1], kinds, active) & ~jnp.any(active & ~(finite & moved))
        replay = lambda ops: jax.vmap(guarded, in_axes=(None, 0, None, None, None))(*ops)
        out = jax.lax.cond(keep, lambda _: wide, replay, (values, inner, xs, train_data, hyperparams))
        return out, jax.tree.map(lambda _: True, out)

    return _always_batched(fn, axis)


def _shares_batched(in_batched: list[Any]) -> bool:
    """Whether an argument all copies should share (numbers, orders, data, hyperparameters) is batched."""
    return any(jax.tree.leaves([in_batched[i] for i in (0, 2, 3, 4)]))


def _as_vmap(fn: Epoch, args: tuple[Any, ...], in_batched: list[Any], axis: str) -> tuple[Any, Any]:
    """The rule's answer when the wide layout does not apply: ``fn`` vmapped as ``jax.vmap`` would."""
    axes = tuple(jax.tree.map(lambda b: 0 if b else None, in_batched))
    out = jax.vmap(fn, in_axes=axes, axis_name=axis)(*args)
    return out, jax.tree.map(lambda _: True, out)


def _scalars_agree(opt_state: Any, kinds: list[bool], active: jax.Array) -> jax.Array:
    """Whether every state leaf that is not parameter-shaped holds one value over the active copies."""
    first = jnp.argmax(active)
    agree = jnp.ones((), bool)
    for leaf, kind in zip(jax.tree.leaves(opt_state), kinds, strict=True):
        if not kind:
            same = (leaf == leaf[first]).reshape(leaf.shape[0], -1).all(axis=1)
            agree = agree & jnp.all(same | ~active)
    return agree


class _Converter(NamedTuple):
    """Between the flat layout batched over copies, ``(N, P)`` a quantity, and the model's wide layout."""

    layout: FlatLayout
    form: Any  # the model's WideForm
    kinds: list[bool]  # per optimizer-state leaf: parameter-shaped

    def params_in(self, flat: jax.Array) -> Any:
        wide = self.form.stack(jax.vmap(self.layout.unravel)(flat))
        held = sum(leaf.size for leaf in jax.tree.leaves(wide))
        if held < flat.size:  # more is padding (see gdjax.models.WideForm)
            raise ValueError(
                "a model's wide form must hold every parameter of every copy; "
                f"got {held} numbers for {flat.shape[0]} copies of {self.layout.size}."
            )
        return wide

    def params_out(self, wide: Any) -> jax.Array:
        params = self.form.unstack(wide)
        if jax.tree.structure(params) != self.layout.treedef:
            raise ValueError(
                "a model's wide form must unstack to the structure of its parameters; "
                f"got {jax.tree.structure(params)} for {self.layout.treedef}."
            )
        return jax.vmap(self.layout.ravel)(params)

    def state_in(self, opt_state: Any, copy: jax.Array) -> Any:
        """The state of the wide parameters: moments converted, the shared scalars read off copy ``copy``."""
        leaves, treedef = jax.tree.flatten(opt_state)
        kinds = self.kinds
        return treedef.unflatten([self.params_in(x) if k else x[copy] for x, k in zip(leaves, kinds, strict=True)])

    def state_out(self, state: Any, like: Any) -> Any:
        """``state`` in the layout of ``like`` (a batched flat-layout state), the scalars given to every copy."""
        leaves, treedef = jax.tree.flatten(like)
        parts = treedef.flatten_up_to(state)
        out = [
            self.params_out(part) if kind else jnp.broadcast_to(part, leaf.shape).astype(leaf.dtype)
            for part, kind, leaf in zip(parts, self.kinds, leaves, strict=True)
        ]
        return treedef.unflatten(out)

    def moved(self, grads: Any, copies: int) -> jax.Array:
        """Per copy, shape ``(copies,)``: whether a step's gradient is non-zero in one of its smaller leaves.

        A copy whose gradient is not all zero has not stalled; stall
        detection needs no more than that, and reading every leaf but the
        largest (the first layer's weights) costs nothing beside the step.
        A copy none of whose steps moved those leaves may still have moved
        the largest: the epoch is then run again the vmapped way, which
        decides exactly (see :func:`vectorised`, :func:`whole_call`). The
        leaves are read in place (a wide form keeps each copy's numbers in
        its own rows, :class:`gdjax.models.WideForm`).
        """
        leaves = jax.tree.leaves(grads)
        if len(leaves) > 1:
            largest = max(range(len(leaves)), key=lambda i: leaves[i].size)
            leaves = [leaf for i, leaf in enumerate(leaves) if i != largest]
        rows = [jnp.any(leaf.reshape(copies, -1) != 0, axis=1) for leaf in leaves]
        return functools.reduce(jnp.logical_or, rows)


def _wide_steps(
    loss: ModelLoss,
    transformation: Any,
    convert: _Converter,
    copies: int,
    train_data: Any,
    steps: int,
    wide: Any,
    state: Any,
    xs: Any,
):
    """An epoch's steps on every copy at once: ``(wide, state, moved), losses`` (``[steps, N]``).

    ``moved`` (``(N,)``) marks the copies whose gradient was non-zero at some
    step (a copy whose every step had a zero gradient has stalled).
    """

    def step(carry, step_xs):
        wide, state, moved = carry
        index = step_xs[0]
        batch = train_data if index is None else take(train_data, index)

        def total(w):
            per_copy = loss.per_copy(w, batch)
            return jnp.sum(per_copy), per_copy

        (_, losses), grads = jax.value_and_grad(total, has_aux=True)(wide)
        updates, state = transformation.update(grads, state, wide)
        wide = optim.apply_updates(wide, updates)
        return (wide, state, moved | convert.moved(grads, copies)), losses

    moved = jnp.zeros((copies,), bool)
    return jax.lax.scan(step, (wide, state, moved), xs, length=steps)


def _guards(finite: jax.Array, moved: jax.Array, steps: int) -> jax.Array:
    """``[N, steps]`` guards of the unguarded scan (see ``_loop._guard``), worked out once for the epoch.

    Updates are added, so a parameter that went non-finite at a step is still
    non-finite at the end of the epoch: its finiteness then says whether every step was.
    """
    guard = jnp.where(finite, moved.astype(jnp.float32), jnp.nan)
    return jnp.broadcast_to(guard[:, None], (guard.shape[0], steps))


def _wide_scan(
    structure: Any,
    layout: FlatLayout,
    loss: ModelLoss,
    steps: int,
    kinds: list[bool],
    values: Any,
    inner: Any,
    xs: Any,
    train_data: Any,
    hyperparams: Any,
    active: jax.Array,
) -> Any:
    """The epoch's steps on all copies at once, from and to the flat layout batched over copies."""
    params, opt_state, diverged = inner
    convert = _Converter(layout, loss.model.wide, kinds)
    transformation = type(structure).merge(structure, values).transformation(hyperparams)
    state = convert.state_in(opt_state, jnp.argmax(active))  # the scalars of a copy that runs the epoch
    (wide, state, moved), losses = _wide_steps(
        loss, transformation, convert, params.shape[0], train_data, steps, convert.params_in(params), state, xs
    )
    params = convert.params_out(wide)
    guards = _guards(jnp.all(jnp.isfinite(params), axis=1), moved, steps)
    return (params, convert.state_out(state, opt_state), diverged), (losses.T, guards)


def whole_call(
    plain: Callable[..., Any],
    structure: Any,
    layout: FlatLayout,
    loss: ModelLoss,
    steps: int,
    count: int,
    axis: str,
    records: Callable[..., Any],
    learning_rate: Callable[..., Any],
) -> Callable[..., Any]:
    """``plain`` (a whole call's epochs) with a vmap rule that holds the wide layout from its first step to its last.

    ``plain(values, carry, orders, train_data, hyperparams) -> carry`` runs
    the ``count`` epoch slots of a call whose epochs evaluate nothing on the
    parameters (no validation, metrics, early stopping, averaging or
    plateau): the epochs' records then need only their steps' losses and
    guards. The rule converts to the wide layout once, runs every epoch's
    steps, converts back, and books the epochs per copy with
    ``records(values, carry, epoch, orders, learning_rate, stepped, train_data, hyperparams)``
    (the engine's own bookkeeping); ``learning_rate(values, hyperparams,
    state, step)`` is the rate in force at an epoch's start. It keeps that
    result when the copies started together (epoch 0, none diverged, the
    same scalar state) and every step was finite; otherwise ``plain`` runs,
    vmapped, one branch in all.
    """
    fn = jax.custom_batching.custom_vmap(lambda *args: plain(*args[:-1]))

    @fn.def_vmap
    def rule(axis_size, in_batched, values, carry, orders, train_data, hyperparams, index):
        del index
        args, in_batched = (values, carry, orders, train_data, hyperparams), in_batched[:5]
        if _shares_batched(in_batched):
            return _as_vmap(plain, args, in_batched, axis)
        carry = jax.tree.map(
            lambda leaf, b: leaf if b else jnp.broadcast_to(leaf, (axis_size,) + jnp.shape(leaf)), carry, in_batched[1]
        )
        operands = (values, carry, orders, train_data, hyperparams)
        trainer = type(structure).merge(structure, values)
        transformation = trainer.transformation(hyperparams)
        convert = _Converter(layout, loss.model.wide, state_kinds(layout, transformation))
        everyone = jnp.ones((axis_size,), bool)
        fresh = jnp.all(carry.epoch == 0) & ~jnp.any(carry.diverged) & ~jnp.any(carry.stopped)
        fresh = fresh & _scalars_agree(carry.opt_state, convert.kinds, everyone)
        epoch_xs = (orders.indices, orders.masks, orders.step_keys)

        def epoch(wide_carry, xs):
            wide, state, step = wide_carry
            rate = learning_rate(values, hyperparams, state, step)
            (wide, state, moved), losses = _wide_steps(
                loss, transformation, convert, axis_size, train_data, steps, wide, state, xs
            )
            return (wide, state, step + steps), (losses.T, moved, rate)

        start = (convert.params_in(carry.params), convert.state_in(carry.opt_state, 0), carry.step[0])
        (wide, state, _), (losses, moved, rates) = jax.lax.scan(epoch, start, epoch_xs, length=count)
        params = convert.params_out(wide)
        finite = jnp.all(jnp.isfinite(params), axis=1)
        keep = fresh & jnp.all(finite) & jnp.all(jnp.isfinite(losses)) & jnp.all(moved)

        def book(one, losses, moved):  # one copy's epochs, from its steps' losses and guards
            def slot(one, xs):
                e, orders_e, losses_e, moved_e, rate = xs
                guards_e = jnp.broadcast_to(moved_e.astype(jnp.float32), (steps,))  # every step finite, as kept
                stepped = ((one.params, one.opt_state, one.diverged), (losses_e, guards_e))
                return records(values, one, e, orders_e, rate, stepped, train_data, hyperparams), None

            epochs = jnp.arange(count, dtype=jnp.int32)
            return jax.lax.scan(slot, one, (epochs, orders, losses, moved, rates))[0]

        booked = jax.vmap(book, in_axes=(0, 1, 1))(carry, losses, moved)
        booked = booked._replace(params=params, opt_state=convert.state_out(state, carry.opt_state))
        replay = lambda ops: jax.vmap(plain, in_axes=(None, 0, None, None, None), axis_name=axis)(*ops)
        out = jax.lax.cond(keep, lambda _: booked, replay, operands)
        return out, jax.tree.map(lambda _: True, out)

    return _always_batched(fn, axis)


def _always_batched(fn: Any, axis: str) -> Callable[..., Any]:
    """``fn(*args)`` given the index on the vmap axis as well: its rule runs even when no argument is batched.

    (Unbatched, ``fn`` itself would run outside the vmap, where a ``psum``
    over the axis has no axis to sum over.)
    """
    return lambda *args: fn(*args, jax.lax.axis_index(axis))

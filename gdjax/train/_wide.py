"""The wide layout: the copies of a model under ``vmap`` trained side by side, not one by one.

Random restarts are ``N`` trainings of one model vmapped over their
parameters, every one taking the same mini-batch at every step. ``vmap``
turns each dense layer into ``N`` small products ``x @ W_i``; gdjax's models
know better (:class:`gdjax.models.WideForm`): the first layer of all copies
is one product ``x @ [W_1 | ... | W_N]``, the copies' other parameters rows
of plain 2-D arrays. An epoch's steps then run on the wide parameters and a
loss that is the sum of the copies' losses,

    J(W) = sum_i loss_i(W_i),   dJ/dW_i = d loss_i / dW_i,

(the copies are independent, so the gradient of the sum holds every copy's
own gradient), and the optimizer updates the wide arrays directly. That is
the same update as each copy's when the optimizer is elementwise and every
copy's scalar state (step counts, a plateau's rate) is the same; it is, for
the copies that run the epoch, unless they were started apart, and then the
epoch runs vmapped as before.

The wide epoch is the fast, unguarded scan of :func:`gdjax.train._loop.run_epochs`
under a ``vmap`` named ``vmap_axis``; its vmap rule
(``jax.custom_batching.custom_vmap``) converts the state to the wide layout
at the start of the epoch and back at its end, so everything else (guarded
replay, evaluation, early stopping, records) is untouched. Taken when the
loss is a :func:`gdjax.train.model_loss` on logits of a model with a wide
form, the optimizer runs in the flat layout (is elementwise), there is no
penalty, no key (dropout) and no padded batch;
and under the ``vmap`` only the parameters, optimizer state and flags are
batched (a sweep's per-training hyperparameters vmap as before). The
products are summed in another order than the copies' own, so the results
equal a vmapped training's to float rounding, not bit for bit; chunking,
resuming and the device count do not change them (a tile is one program).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

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
    fn = jax.custom_batching.custom_vmap(optimistic)

    @fn.def_vmap
    def rule(axis_size, in_batched, values, inner, xs, train_data, hyperparams, active):
        shared_b = (in_batched[0], in_batched[2], in_batched[3], in_batched[4])
        if any(jax.tree.leaves(shared_b)) or not all(jax.tree.leaves(in_batched[1])):
            axes = tuple(jax.tree.map(lambda b: 0 if b else None, in_batched))
            out = jax.vmap(optimistic, in_axes=axes, axis_name=axis)(values, inner, xs, train_data, hyperparams, active)
            return out, jax.tree.map(lambda _: True, out)
        active = jnp.broadcast_to(active, (axis_size,))
        trainer = type(structure).merge(structure, values)
        kinds = state_kinds(layout, trainer.transformation(hyperparams))
        # Computed whatever the copies' scalars: when they differ, the result is discarded below.
        wide = _wide_scan(structure, layout, loss, steps, kinds, values, inner, xs, train_data, hyperparams, active)
        losses, guards = wide[1]
        finite = jnp.all(jnp.isfinite(losses) & jnp.isfinite(guards), axis=1)
        keep = _scalars_agree(inner[1], kinds, active) & ~jnp.any(active & ~finite)
        replay = lambda ops: jax.vmap(guarded, in_axes=(None, 0, None, None, None))(*ops)
        out = jax.lax.cond(keep, lambda _: wide, replay, (values, inner, xs, train_data, hyperparams))
        return out, jax.tree.map(lambda _: True, out)

    return fn


def _scalars_agree(opt_state: Any, kinds: list[bool], active: jax.Array) -> jax.Array:
    """Whether every state leaf that is not parameter-shaped holds one value over the active copies."""
    first = jnp.argmax(active)
    agree = jnp.ones((), bool)
    for leaf, kind in zip(jax.tree.leaves(opt_state), kinds, strict=True):
        if not kind:
            same = (leaf == leaf[first]).reshape(leaf.shape[0], -1).all(axis=1)
            agree = agree & jnp.all(same | ~active)
    return agree


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
    form = loss.model.wide
    transformation = type(structure).merge(structure, values).transformation(hyperparams)

    def to_wide(flat: jax.Array) -> Any:
        wide = form.stack(jax.vmap(layout.unravel)(flat))
        if jax.tree.structure(wide) != layout.treedef:
            raise ValueError(
                "a model's wide form must keep the structure of its parameters; "
                f"got {jax.tree.structure(wide)} for {layout.treedef}."
            )
        return wide

    def from_wide(wide: Any) -> jax.Array:
        return jax.vmap(layout.ravel)(form.unstack(wide))

    leaves, treedef = jax.tree.flatten(opt_state)
    first = jnp.argmax(active)  # the shared scalars, read off a copy that runs the epoch
    state = treedef.unflatten([to_wide(leaf) if kind else leaf[first] for leaf, kind in zip(leaves, kinds)])

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
        moved = jax.tree.map(lambda m, g: m | (g != 0), moved, grads)
        return (wide, state, moved), losses

    start = to_wide(params)
    moved = jax.tree.map(lambda leaf: jnp.zeros(leaf.shape, bool), start)
    (wide, state, moved), losses = jax.lax.scan(step, (start, state, moved), xs, length=steps)
    params = from_wide(wide)
    parts = treedef.flatten_up_to(state)
    out = [
        from_wide(part) if kind else jnp.broadcast_to(part, leaf.shape).astype(leaf.dtype)
        for part, kind, leaf in zip(parts, kinds, leaves, strict=True)
    ]
    # The per-step guard of the unguarded scan (finite, gradient zero), worked out once for the epoch:
    # updates are added, so a parameter that went non-finite at a step is still non-finite at the end.
    finite = jnp.all(jnp.isfinite(params), axis=1)
    moved = jnp.any(jax.vmap(layout.ravel)(form.unstack(moved)), axis=1)
    guard = jnp.where(finite, moved.astype(jnp.float32), jnp.nan)
    return (params, treedef.unflatten(out), diverged), (
        losses.T,
        jnp.broadcast_to(guard[:, None], (guard.shape[0], steps)),
    )

"""The trainer: one validated configuration of a training, carried through every layer.

:func:`make_trainer` checks the static options of a training (loss, optimizer,
epochs, batch size, metrics, penalty, early stopping, ...) once and returns a
:class:`Trainer`. The trainer is what flows down: :func:`gdjax.fit` builds one
and compiles its training; :func:`gdjax.restarts.restarts` and
:func:`gdjax.sweep` build one and ``vmap`` its pure functions::

    trainer = make_trainer(loss, optim.adam(1e-3), epochs=50, batch_size=32)
    state = trainer.train(params, key, train_data, val_data)           # init + run
    state = trainer.run(trainer.init(params, key, train_data), train_data, until=10)
    loss, metrics = trainer.evaluate(state.params, val_data)

These functions are pure and branch on no traced value: ``jit`` them, ``vmap``
them over parameters, keys, data or hyperparameters, shard them. What they do
is in :mod:`gdjax.train._loop`.

Compiled once per structure: :meth:`Trainer.split` separates the trainer into
its *structure* (the loss and metric functions, the optimizer's structure, the
options; hashable) and its *values* (the optimizer's hyperparameters, the
penalty weight, the early-stopping patience and threshold: numbers). The
engine compiles one program per structure and passes the values as runtime
inputs, so ``adam(3e-3)`` after ``adam(1e-3)``, or ``penalty_weight=0.2`` after
``0.1``, reuses the compiled program. Functions are compared by identity: a
fresh ``lambda`` loss is a new structure.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Literal, NamedTuple

import jax
import jax.numpy as jnp

from gdjax import optim
from gdjax._checks import check_choice, check_int, check_nonnegative
from gdjax._typing import Data, Params
from gdjax.data import num_batches
from gdjax.train import _loop
from gdjax.train._early_stopping import EarlyStopping
from gdjax.train._objective import check_scalar_output, data_loss, masked_data_loss, penalty_term
from gdjax.train._objective import loss_takes_key as detect_loss_takes_key
from gdjax.train._transformations import check_optimizer, is_transformation

Hyperparams = Any
Remainder = Literal["drop", "pad"]
Layout = Literal["auto", "tree"]


class Trainer(NamedTuple):
    """The validated configuration of a training, and its pure functions (see the module docs).

    Build it with :func:`make_trainer`; the fields are as documented there.
    """

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
    layout: Layout
    evaluate_averaged: bool = False

    # ------------------------------------------------------------ pure functions

    def init(
        self, params: Params, key: jax.Array, train_data: Data, val_data: Data = None, hyperparams: Hyperparams = None
    ) -> Any:
        """The :class:`~gdjax.train.TrainState` before the first epoch."""
        return _loop.init_state(self, params, key, train_data, val_data, hyperparams)

    def run(
        self,
        state: Any,
        train_data: Data,
        val_data: Data = None,
        hyperparams: Hyperparams = None,
        until: int | jax.Array | None = None,
        *,
        vmap_axis: str | None = None,
    ) -> Any:
        """Runs epochs from ``state.epoch`` until epoch ``until`` (default: all), an early stop or a divergence.

        ``until`` may be traced: every chunk of epochs runs the same compiled
        program, and ``run(run(s, until=a), until=b)`` is bit-identical to
        ``run(s, until=b)``. Under ``jax.vmap(..., axis_name=A)`` over
        trainings, ``vmap_axis=A`` lets an epoch in which every step of every
        training is finite skip the per-step divergence selects (the same
        result, faster; see :func:`gdjax.train._loop.run_epochs`).
        """
        return _loop.run_epochs(self, state, train_data, val_data, hyperparams, until=until, vmap_axis=vmap_axis)

    def train(
        self,
        params: Params,
        key: jax.Array,
        train_data: Data,
        val_data: Data = None,
        hyperparams: Hyperparams = None,
        *,
        vmap_axis: str | None = None,
    ) -> Any:
        """The whole training: ``run(init(params, key, ...), ...)``."""
        state = self.init(params, key, train_data, val_data, hyperparams)
        return self.run(state, train_data, val_data, hyperparams, vmap_axis=vmap_axis)

    def evaluate(self, params: Params, data: Data) -> tuple[jax.Array, dict[str, jax.Array]]:
        """``(loss, {name: metric})`` on ``data`` at ``params``: the loss without penalty, no key (evaluation)."""
        loss = check_scalar_output("loss_fn", data_loss(self.loss_fn, self.loss_takes_key, params, data, None))
        return loss, {name: check_scalar_output(f"metric {name!r}", fn(params, data)) for name, fn in self.metrics}

    def objective(
        self, params: Params, batch: Data, key: Any, hyperparams: Hyperparams, mask: jax.Array | None = None
    ) -> jax.Array:
        """The minimised objective of one batch: the (masked) loss plus the weighted penalty."""
        if mask is None:
            loss = data_loss(self.loss_fn, self.loss_takes_key, params, batch, key)
        else:
            loss = masked_data_loss(self.loss_fn, self.loss_takes_key, params, batch, mask, key)
        loss = check_scalar_output("loss_fn", loss)
        if not jnp.issubdtype(loss.dtype, jnp.floating):
            raise ValueError(f"loss_fn must return a floating-point scalar; got dtype {loss.dtype}.")
        return loss + penalty_term(self.penalty, self.penalty_weight, params, hyperparams, loss.dtype)

    def transformation(self, hyperparams: Hyperparams = None) -> Any:
        """The gradient transformation in force: the optimizer itself, or ``optimizer(hyperparams)``."""
        if is_transformation(self.optimizer):
            return self.optimizer
        transformation = self.optimizer(hyperparams)
        if not is_transformation(transformation):
            raise ValueError(
                "optimizer must be a gradient transformation (with init and update) or a callable "
                f"hyperparams -> gradient transformation; the callable returned {type(transformation).__name__}."
            )
        return transformation

    def steps_per_epoch(self, num_examples: int) -> int:
        """Iterations in one epoch over ``num_examples`` examples."""
        if self.batch_size is None or self.batch_size >= num_examples:
            return 1
        return num_batches(num_examples, self.batch_size, self.remainder)

    def monitored_names(self, has_validation: bool) -> tuple[str, ...]:
        """The epoch quantities a monitor (early stopping, a plateau) may name."""
        names = ("loss",) + tuple(name for name, _ in self.metrics)
        if has_validation:
            names += ("val_loss",) + tuple(f"val_{name}" for name, _ in self.metrics)
        return names

    # ------------------------------------------------------ structure and values

    def split(self) -> tuple[dict[str, Any], Trainer]:
        """``(values, structure)``: the numbers apart from the hashable rest (see the module docs)."""
        values: dict[str, Any] = {}
        structure = self
        opt_values, opt_structure = optim.split(self.optimizer)
        values["optimizer"] = opt_values
        structure = structure._replace(optimizer=_Part("optimizer", opt_structure))
        if not callable(self.penalty_weight):
            values["penalty_weight"] = self.penalty_weight
            structure = structure._replace(penalty_weight=_Part("number", None))
        if self.learning_rate is not None:
            if callable(self.learning_rate):
                rate_values, rate_structure = optim.split(self.learning_rate)
                values["learning_rate"] = rate_values
                structure = structure._replace(learning_rate=_Part("schedule", rate_structure))
            else:
                values["learning_rate"] = self.learning_rate
                structure = structure._replace(learning_rate=_Part("number", None))
        if self.early_stopping is not None:
            values["patience"] = self.early_stopping.patience
            values["min_delta"] = self.early_stopping.min_delta
            structure = structure._replace(early_stopping=self.early_stopping._replace(patience=None, min_delta=None))
        return values, structure

    @staticmethod
    def merge(structure: Trainer, values: Mapping[str, Any]) -> Trainer:
        """The trainer of :meth:`split` rebuilt from its structure and (possibly traced) values."""
        trainer = structure._replace(optimizer=optim.merge(structure.optimizer.structure, values["optimizer"]))
        if isinstance(structure.penalty_weight, _Part):
            trainer = trainer._replace(penalty_weight=values["penalty_weight"])
        rate = structure.learning_rate
        if isinstance(rate, _Part):
            value = values["learning_rate"]
            trainer = trainer._replace(
                learning_rate=value if rate.kind == "number" else optim.merge(rate.structure, value)
            )
        if structure.early_stopping is not None:
            trainer = trainer._replace(
                early_stopping=structure.early_stopping._replace(
                    patience=values["patience"], min_delta=values["min_delta"]
                )
            )
        return trainer


class _Part(NamedTuple):
    """Where a value-carrying field of a trainer stood in its structure."""

    kind: str
    structure: Any


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
    layout: Layout = "auto",
    evaluate_averaged: bool = False,
) -> Trainer:
    """The validated configuration of a training.

    Args:
      loss_fn: ``loss_fn(params, batch) -> scalar`` or, for stochastic models
        (dropout), ``loss_fn(params, batch, key)``, the key being None when
        evaluating. ``batch`` is the data pytree cut to ``batch_size``
        examples. A mean over examples (required for ``remainder="pad"`` and
        for the restarts' evaluation in row chunks).
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
      penalty_weight: a number ``>= 0`` (a runtime value: changing it does not
        recompile), or ``hyperparams -> number`` (may be traced).
      early_stopping: an :class:`EarlyStopping` configuration, or None.
      learning_rate: the learning rate to record in the history: a number or
        a schedule ``step -> rate`` (evaluated at the epoch's first step).
        None reads it from the optimizer state at the start of each epoch
        (gdjax optimizers and ``optax.inject_hyperparams``), else records none.
      record_step_loss: also record the objective of every step.
      loss_takes_key: whether ``loss_fn`` takes a key; None detects it from the
        signature (three or more positional parameters).
      layout: ``"auto"`` runs an elementwise optimizer on the parameters
        flattened into one vector (:mod:`gdjax.train._layout`; the same
        updates, fewer and larger fused operations) and, vmapped over the
        copies of a model trained with a :func:`model_loss`, in the model's
        wide layout (:mod:`gdjax.train._wide`); ``"tree"`` always on the
        tree, copy by copy.
      evaluate_averaged: evaluate every epoch (metrics, validation loss,
        early stopping) at the optimizer's average of the parameters
        (:func:`gdjax.optim.average_params`: Polyak, SWA or an EMA) instead
        of the parameters themselves; early stopping then keeps the best
        average.

    Returns:
      A :class:`Trainer`.
    """
    if not callable(loss_fn):
        raise ValueError(f"loss_fn must be callable; got {loss_fn!r}.")
    check_optimizer(optimizer)
    epochs = check_int("epochs", epochs, minimum=1)
    if batch_size is not None:
        batch_size = check_int("batch_size", batch_size, minimum=1)
    check_choice("remainder", remainder, ("drop", "pad"))
    check_choice("layout", layout, ("auto", "tree"))
    for name, flag in (
        ("shuffle", shuffle),
        ("record_step_loss", record_step_loss),
        ("evaluate_averaged", evaluate_averaged),
    ):
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
        if jnp.shape(penalty_weight) != ():
            raise ValueError(f"penalty_weight must be a scalar; got shape {jnp.shape(penalty_weight)}.")
    if early_stopping is not None:
        if not isinstance(early_stopping, EarlyStopping):
            raise ValueError(f"early_stopping must be an EarlyStopping or None; got {early_stopping!r}.")
        early_stopping = early_stopping.validated()
        known = ("val_loss", "loss") + tuple(n for n, _ in metric_items) + tuple(f"val_{n}" for n, _ in metric_items)
        check_choice("early_stopping.monitor", early_stopping.monitor, known)
    if learning_rate is not None and not callable(learning_rate):
        check_nonnegative("learning_rate", learning_rate)
    if loss_takes_key is None:
        loss_takes_key = detect_loss_takes_key(loss_fn)
    elif not isinstance(loss_takes_key, bool):
        raise ValueError(f"loss_takes_key must be a bool or None; got {loss_takes_key!r}.")
    return Trainer(
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
        layout=layout,
        evaluate_averaged=evaluate_averaged,
    )

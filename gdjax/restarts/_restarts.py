"""Random restarts and hyperparameter sweeps as one compiled program each.

A *restart* is one whole training (:func:`gdjax.fit`) or minimisation
(:func:`gdjax.minimize`) that differs from its siblings in its random
initialisation; a *sweep* crosses a grid of optimizer hyperparameters with
restarts. Both are ``vmap`` over the pure training core
(:func:`gdjax.train.make_trainer`), chunked to bound memory and sharded over
every device (:func:`map_batched`).

Keys: from ``key``, restart ``i`` initialises its parameters from
``split(fold_in(key, 0), N)[i]``. With ``data_order="shared"`` (the default)
every restart trains on the same sequence of mini-batches and dropout masks,
drawn from ``fold_in(key, 1)``; with ``"per_restart"`` restart ``i`` draws its
own from ``split(fold_in(key, 1), N)[i]``.

Why shared is the default: the restarts then differ *only* in their starting
point, which is the question a restart study asks (is the spread of outcomes
due to the initialisation?); and the mini-batch is the same for every restart,
so the first layer's product of the batch with every restart's weights is one
large matrix product instead of ``N`` small ones — several times faster on
CPUs and accelerators alike.

In a sweep, grid point ``g`` and restart ``r`` use restart ``r``'s keys: every
grid point starts from the same ``N`` initialisations (common random numbers),
so differences between grid points are not noise from different draws.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from tqdm.auto import tqdm

from gdjax._checks import as_key, check_choice, check_devices, check_finite_array, check_int, check_params
from gdjax.data import check_data, num_examples
from gdjax.restarts._batched import map_batched
from gdjax.restarts._result import RestartsResult
from gdjax.train import (
    History,
    Minimizer,
    MinimizeResult,
    Trainer,
    as_starting_point,
    check_tolerances,
    is_transformation,
    make_minimizer,
    make_trainer,
    warn_diverged,
    warn_stalled,
)

DataOrder = Literal["shared", "per_restart"]
_ORDERS = ("shared", "per_restart")


def _grid_points(grid: Mapping[str, Any]) -> tuple[dict[str, np.ndarray], dict[str, jnp.ndarray], tuple[int, ...]]:
    """The axes of a grid and its points as flat arrays (row-major, last name fastest)."""
    if not isinstance(grid, Mapping) or not grid:
        raise ValueError(f"grid must be a non-empty mapping name -> 1-D values; got {grid!r}.")
    axes = {}
    for name, values in grid.items():
        values = np.asarray(values)
        if values.ndim != 1 or values.size == 0:
            raise ValueError(f"grid[{name!r}] must be a non-empty 1-D sequence of values; got shape {values.shape}.")
        if not np.issubdtype(values.dtype, np.number):
            raise ValueError(f"grid[{name!r}] must hold numbers; got dtype {values.dtype}.")
        check_finite_array(f"grid[{name!r}]", values)
        axes[name] = values
    shape = tuple(v.size for v in axes.values())
    flat = {name: [] for name in axes}
    for point in itertools.product(*axes.values()):
        for name, value in zip(axes, point):
            flat[name].append(value)
    points = {name: jnp.asarray(np.asarray(values, dtype=axes[name].dtype)) for name, values in flat.items()}
    return axes, points, shape


def _validate_grid_values(optimizer: Callable[[Any], Any], axes: Mapping[str, np.ndarray]) -> None:
    """Builds the optimizer at every distinct value of each axis (others at their first value).

    Construction validates concrete hyperparameters, so an out-of-range
    learning rate or momentum raises here, before anything compiles.
    """
    first = {name: values[0].item() for name, values in axes.items()}
    for name, values in axes.items():
        for value in values:
            try:
                optimizer({**first, name: value.item()})
            except ValueError as error:
                raise ValueError(f"grid[{name!r}] holds a value the optimizer refuses: {error}") from None


class _Run(NamedTuple):
    """What :func:`_train_many` hands back: the runs' outputs and the grid's shape."""

    out: dict[str, Any]
    num_restarts: int
    stalled_epoch: np.ndarray


def _train_many(
    trainer: Trainer,
    init: Callable[[jax.Array], Any],
    train_data: Any,
    *,
    key: Any,
    num_restarts: int,
    hyperparams: Any,
    batched_hyperparams: Mapping[str, jnp.ndarray] | None,
    validation_data: Any,
    data_order: str,
    chunk_size: int | None,
    tile_size: int | None,
    devices: Sequence[jax.Device] | None,
    progress: bool,
) -> _Run:
    """Every (grid point, restart) training of a validated trainer, then their final evaluation."""
    num_restarts = check_int("num_restarts", num_restarts, minimum=1)
    check_choice("data_order", data_order, _ORDERS)
    devices = check_devices("devices", devices)
    if not callable(init):
        raise ValueError(f"init must be callable init(key) -> params; got {init!r}.")
    key = as_key("key", key)
    n = check_data("train_data", train_data)
    if validation_data is not None:
        check_data("validation_data", validation_data)
        if jax.tree.structure(validation_data) != jax.tree.structure(train_data):
            raise ValueError(
                "validation_data must have the pytree structure of train_data; got "
                f"{jax.tree.structure(validation_data)} and {jax.tree.structure(train_data)}."
            )
    elif trainer.early_stopping is not None and trainer.early_stopping.monitor.startswith("val_"):
        raise ValueError(f"early_stopping.monitor={trainer.early_stopping.monitor!r} needs validation_data; got None.")
    if trainer.batch_size is not None and trainer.batch_size > n:
        raise ValueError(f"batch_size must be <= the number of training examples ({n}); got {trainer.batch_size}.")
    check_params("init(key)", init(jax.random.key(0)))  # the structure and dtypes every restart will have

    init_keys = jax.random.split(jax.random.fold_in(key, 0), num_restarts)
    order_key = jax.random.fold_in(key, 1)
    train_keys = jax.random.split(order_key, num_restarts) if data_order == "per_restart" else None
    grid_size = 1
    if batched_hyperparams is not None:
        grid_size = int(next(iter(batched_hyperparams.values())).shape[0])
    # Item (g, r): grid point g, restart r, flattened g-major.
    restart_index = np.tile(np.arange(num_restarts), grid_size)
    by_item = (lambda keys: keys) if grid_size == 1 else (lambda keys: keys[restart_index])  # no gather for one point
    items: dict[str, Any] = {"init_key": by_item(init_keys)}
    if train_keys is not None:
        items["train_key"] = by_item(train_keys)
    if batched_hyperparams is not None:
        items["hyper"] = {name: jnp.repeat(values, num_restarts) for name, values in batched_hyperparams.items()}

    values, structure = trainer.split()
    train_one, evaluate_one = _programs(structure, init)
    shared = (values, train_data, validation_data, hyperparams, order_key)

    bar = None
    if progress:
        bar = tqdm(total=grid_size * num_restarts, unit="run", desc="trainings")
    try:
        out = map_batched(
            train_one,
            items,
            shared,
            chunk_size=chunk_size,
            tile_size=tile_size,
            devices=devices,
            progress=None if bar is None else (lambda done: bar.update(done - bar.n)),
            axis_name=TRAININGS,
        )
    finally:
        if bar is not None:
            bar.close()
    # The final evaluation over every row, apart and in smaller tiles: its memory is tile x rows x width.
    rows = n + (0 if validation_data is None else num_examples("validation_data", validation_data))
    eval_tile = max(1, min(EVALUATION_BUDGET // rows, grid_size * num_restarts))
    final = map_batched(
        evaluate_one,
        {"params": out["params"], "diverged": out["diverged"]},
        (train_data, validation_data),
        tile_size=eval_tile,
        devices=devices,
    )
    out.update(final)
    return _Run(out, num_restarts, out.pop("stalled_epoch"))


#: The name of the vmap axis over a tile's trainings (the engine's epochs branch on all of them at once).
TRAININGS = "trainings"

#: Restart-rows evaluated together in the final evaluation (e.g. 1024 restarts x 1024 rows).
EVALUATION_BUDGET = 2**20


@functools.lru_cache(maxsize=32)
def _programs(structure: Trainer, init: Callable[[jax.Array], Any]) -> tuple[Callable[..., Any], Callable[..., Any]]:
    """The per-run training and evaluation of one trainer structure, cached so their programs are reused."""

    def train_one(item, shared):
        values, train, val, shared_hyper, shared_key = shared
        trainer = Trainer.merge(structure, values)
        hyper = item["hyper"] if "hyper" in item else shared_hyper
        train_key = item.get("train_key", shared_key)
        state = trainer.train(init(item["init_key"]), train_key, train, val, hyper, vmap_axis=TRAININGS)
        return {
            "params": state.params,
            "history": state.history,
            "epochs": state.epoch,
            "diverged": state.diverged,
            "diverged_step": state.diverged_step,
            "stopped_early": state.stopped,
            "stalled_epoch": state.stalled_epoch,
        }

    def evaluate_one(item, shared):
        train, val = shared
        loss, metrics = structure.evaluate(item["params"], train)
        out = {"final_loss": jnp.where(item["diverged"], jnp.nan, loss), "final_metrics": metrics}
        if val is not None:
            val_loss, val_metrics = structure.evaluate(item["params"], val)
            out["final_val_loss"] = jnp.where(item["diverged"], jnp.nan, val_loss)
            out["final_val_metrics"] = val_metrics
        return out

    return train_one, evaluate_one


def _result(run: _Run, shape: tuple[int, ...], grid: dict[str, np.ndarray]) -> RestartsResult:
    out = run.out
    reshape = lambda tree: jax.tree.map(lambda a: np.asarray(a).reshape(shape + np.shape(a)[1:]), tree)
    buffer = reshape(out["history"])
    result = RestartsResult(
        params=reshape(out["params"]),
        final_loss=reshape(out["final_loss"]),
        final_val_loss=reshape(out["final_val_loss"]) if "final_val_loss" in out else None,
        final_metrics=reshape(out["final_metrics"]),
        final_val_metrics=reshape(out.get("final_val_metrics", {})),
        history=History(*buffer),
        epochs=reshape(out["epochs"]),
        diverged=reshape(out["diverged"]),
        diverged_step=reshape(out["diverged_step"]),
        stopped_early=reshape(out["stopped_early"]),
        grid=grid,
    )
    _warn(result, reshape(run.stalled_epoch))
    return result


def _warn(result: RestartsResult, stalled_epoch: np.ndarray) -> None:
    """One warning for the runs that diverged, one for those that stalled (see :mod:`gdjax.train`)."""
    total = result.diverged.size
    if result.diverged.any():
        steps = result.diverged_step[result.diverged]
        count = int(result.diverged.sum())
        warn_diverged(int(steps.min()), -1, runs=f"{count} of {total} runs", stacklevel=4, steps=np.unique(steps))
    stalled = stalled_epoch >= 0
    if stalled.any():
        warn_stalled(int(stalled_epoch[stalled].min()), runs=f"{int(stalled.sum())} of {total} runs", stacklevel=4)


def restarts(
    loss_fn: Callable[..., Any],
    init: Callable[[jax.Array], Any],
    train_data: Any,
    *,
    optimizer: Any,
    epochs: int,
    key: Any,
    num_restarts: int,
    batch_size: int | None = None,
    validation_data: Any = None,
    metrics: Mapping[str, Callable[[Any, Any], Any]] | None = None,
    penalty: Callable[[Any], Any] | None = None,
    penalty_weight: Any = 1.0,
    early_stopping: Any = None,
    remainder: str = "drop",
    shuffle: bool = True,
    learning_rate: Any = None,
    record_step_loss: bool = False,
    hyperparams: Any = None,
    data_order: DataOrder = "shared",
    chunk_size: int | None = None,
    tile_size: int | None = None,
    devices: Sequence[jax.Device] | None = None,
    progress: bool = False,
) -> RestartsResult:
    """``num_restarts`` trainings of one model from independent initialisations, at once.

    Takes :func:`gdjax.fit`'s arguments, with ``init(key) -> params`` (e.g.
    ``model.init``) in place of ``params``, plus:

    A ``loss_fn`` built by :func:`gdjax.model_loss` (``model_loss(net,
    sigmoid_binary_cross_entropy)`` rather than the same function written by
    hand) lets a shared-order tile of a gdjax MLP train side by side, every
    copy's first layer in one product (``gdjax.train._wide``): faster, and
    equal to the vmapped trainings to float rounding (not bit for bit).

    Args:
      num_restarts: number of trainings ``N >= 1``.
      data_order: ``"shared"`` (default) or ``"per_restart"`` mini-batch order
        and dropout keys; see the module documentation for why.
      chunk_size: trainings per compiled call (a multiple of ``tile_size``
        times the device count); None for all at once. For a given tile
        size, results are bit-identical whatever the chunk size, the number
        of devices and of processes (tested on 1 and 8 devices and on two
        processes); another tile size rounds the last bit of some products
        differently (results equal to ~1e-6).
      tile_size: trainings vectorised together on a device (default: N
        split evenly over the devices, at most 1024, so the default tile,
        and with it the last bits, depend on the device count: pass
        ``tile_size`` to compare runs bit for bit across machines), see
        :func:`gdjax.restarts.map_batched`.
      devices: devices to shard the trainings over (default: all).
      progress: a progress bar over chunks.

    Returns:
      A :class:`RestartsResult` with leading axis ``N``.
    """
    trainer = make_trainer(
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
    )
    run = _train_many(
        trainer,
        init,
        train_data,
        key=key,
        num_restarts=num_restarts,
        hyperparams=hyperparams,
        batched_hyperparams=None,
        validation_data=validation_data,
        data_order=data_order,
        chunk_size=chunk_size,
        tile_size=tile_size,
        devices=devices,
        progress=progress,
    )
    return _result(run, (run.num_restarts,), {})


def sweep(
    loss_fn: Callable[..., Any],
    init: Callable[[jax.Array], Any],
    train_data: Any,
    *,
    optimizer: Callable[[Mapping[str, Any]], Any],
    grid: Mapping[str, Any],
    epochs: int,
    key: Any,
    num_restarts: int = 1,
    batch_size: int | None = None,
    validation_data: Any = None,
    metrics: Mapping[str, Callable[[Any, Any], Any]] | None = None,
    penalty: Callable[[Any], Any] | None = None,
    penalty_weight: Any = 1.0,
    early_stopping: Any = None,
    remainder: str = "drop",
    shuffle: bool = True,
    learning_rate: Any = None,
    record_step_loss: bool = False,
    data_order: DataOrder = "shared",
    chunk_size: int | None = None,
    tile_size: int | None = None,
    devices: Sequence[jax.Device] | None = None,
    progress: bool = False,
) -> RestartsResult:
    """Every point of a hyperparameter grid times ``num_restarts``, in one compiled program.

    ``optimizer`` is a function ``hyperparams -> gradient transformation``
    receiving a dict ``{name: value}`` with one traced scalar per grid axis,
    e.g. ``lambda h: gdjax.optim.sgd(h["learning_rate"], h["momentum"])``;
    ``penalty_weight`` may likewise be ``lambda h: h["weight_decay"]``. The
    values vary inside one program, so no grid point recompiles. A
    batch-size-scaled learning rate is ``lambda h:
    sgd(gdjax.optim.linear_scaling_rule(h["base_rate"], batch_size, 32))``
    (the batch size itself sets array shapes, so each batch size is its own
    sweep).

    Example (three learning rates times four initialisations, one program)::

        >>> import jax.numpy as jnp, numpy as np, gdjax
        >>> model = gdjax.models.linear_regression(1)
        >>> x = jnp.linspace(-1.0, 1.0, 20)[:, None]
        >>> data = (x, 2.0 * x[:, 0] + 1.0)
        >>> loss = lambda p, batch: gdjax.losses.half_mse(model.apply(p, batch[0]), batch[1])
        >>> result = gdjax.sweep(loss, model.init, data,
        ...                      optimizer=lambda h: gdjax.optim.sgd(h["learning_rate"]),
        ...                      grid={"learning_rate": [0.01, 0.1, 0.5]}, epochs=50, key=0, num_restarts=4)
        >>> result.batch_shape
        (3, 4)
        >>> medians = np.median(result.final_loss, axis=1)  # one per learning rate
        >>> bool(medians[0] > medians[1] > medians[2])
        True

    Returns:
      A :class:`RestartsResult` with ``batch_shape == (*grid_shape, N)`` where
      ``grid_shape`` lists the axes in the order of ``grid``; ``result.grid``
      holds each axis' values.
    """
    if is_transformation(optimizer) or not callable(optimizer):
        raise ValueError(
            "optimizer must be a callable hyperparams -> gradient transformation for a sweep "
            f"(the grid's values are passed to it); got {optimizer!r}."
        )
    axes, points, shape = _grid_points(grid)
    _validate_grid_values(optimizer, axes)
    trainer = make_trainer(
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
    )
    run = _train_many(
        trainer,
        init,
        train_data,
        key=key,
        num_restarts=num_restarts,
        hyperparams=None,
        batched_hyperparams=points,
        validation_data=validation_data,
        data_order=data_order,
        chunk_size=chunk_size,
        tile_size=tile_size,
        devices=devices,
        progress=progress,
    )
    return _result(run, shape + (run.num_restarts,), axes)


def minimize_restarts(
    fun: Callable[[Any], jax.Array],
    starts: Any,
    optimizer: Any,
    *,
    max_steps: int = 1000,
    tol: float = 1e-6,
    xtol: float | None = None,
    ftol: float | None = None,
    max_norm: float | None = None,
    hyperparams: Any = None,
    grid: Mapping[str, Any] | None = None,
    keep_trajectory: bool = False,
    check_every: int = 50,
    chunk_size: int | None = None,
    tile_size: int | None = None,
    devices: Sequence[jax.Device] | None = None,
) -> MinimizeResult:
    """:func:`gdjax.minimize` from many starting points (times a hyperparameter grid), at once.

    Args:
      starts: starting points with a leading axis ``N`` (e.g. ``(N, 2)`` for
        a 2-D function), or a pytree of such arrays.
      optimizer: a gradient transformation, or ``hyperparams -> transformation``
        (required with ``grid``).
      grid: optional ``{name: values}``; every start runs at every grid point.
      check_every: steps between checks of the stopping rules (default 50;
        1 checks every step): a run stops at the first check where a rule
        holds, so its ``num_steps`` is a multiple of ``check_every`` (or
        ``max_steps``), and a run that diverges goes back to its last checked
        point. Checks under ``vmap`` cost several times the steps themselves:
        on 65,536 starts of a 2-D function, checking every 10 steps ran at
        0.55-0.60x a bare ``jit(vmap(scan))`` and every 50 at 0.79-0.98x
        (``experiments/bench_restarts.py``); pass 1 for exact stopping steps.
      keep_trajectory: keep every run's whole path (``max_steps + 1`` points
        each: mind the memory for many starts); otherwise ``trajectory`` and
        ``values`` are None.
      chunk_size, tile_size, devices: as in :func:`restarts`.
      Other arguments as in :func:`gdjax.minimize`.

    Returns:
      A :class:`gdjax.train.MinimizeResult` whose arrays have leading axes
      ``(N,)``, or ``(*grid_shape, N)`` with a grid.
    """
    minimizer = make_minimizer(
        fun, optimizer, max_steps=max_steps, check_every=check_every, keep_trajectory=keep_trajectory
    )
    check_tolerances(tol, xtol, ftol, max_norm)
    devices = check_devices("devices", devices)
    leaves = jax.tree_util.tree_leaves_with_path(starts)
    if not leaves:
        raise ValueError(
            "starts must be an array (or pytree of arrays) with a leading axis of starting points; got none."
        )
    n = None
    for path, leaf in leaves:
        name = f"starts{jax.tree_util.keystr(path)}"
        if np.ndim(leaf) < 1 or np.shape(leaf)[0] == 0:
            raise ValueError(
                f"{name} must have a leading axis of at least one starting point; got shape {np.shape(leaf)}."
            )
        n = np.shape(leaf)[0] if n is None else n
        if np.shape(leaf)[0] != n:
            raise ValueError(f"{name} must have {n} starting points like the others; got shape {np.shape(leaf)}.")
    starts = as_starting_point("starts", starts)

    shape: tuple[int, ...] = (n,)
    items: dict[str, Any] = {"x0": starts}
    if grid is not None:
        if is_transformation(optimizer):
            raise ValueError("grid needs optimizer to be a callable hyperparams -> gradient transformation.")
        axes, points, grid_shape = _grid_points(grid)
        _validate_grid_values(optimizer, axes)
        g = int(np.prod(grid_shape))
        items = {
            "x0": jax.tree.map(lambda a: jnp.tile(a, (g,) + (1,) * (a.ndim - 1)), starts),
            "hyper": {name: jnp.repeat(values, n) for name, values in points.items()},
        }
        shape = grid_shape + (n,)

    values, structure = minimizer.split()
    out = map_batched(
        _minimize_program(structure),
        items,
        (values, hyperparams, tol, xtol, ftol, max_norm),
        chunk_size=chunk_size,
        tile_size=tile_size,
        devices=devices,
    )
    return jax.tree.map(lambda a: np.asarray(a).reshape(shape + np.shape(a)[1:]), out)


@functools.lru_cache(maxsize=32)
def _minimize_program(structure: Minimizer) -> Callable[[Any, Any], MinimizeResult]:
    """The per-start function of one minimizer structure, cached so it compiles once."""

    def one(item, shared):
        values, shared_hyper, tol, xtol, ftol, max_norm = shared
        hyper = item["hyper"] if "hyper" in item else shared_hyper
        return Minimizer.merge(structure, values).run(item["x0"], tol, xtol, ftol, max_norm, hyper)

    return one

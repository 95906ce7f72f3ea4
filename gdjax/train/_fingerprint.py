"""The fingerprint of a training: everything that determines it, as JSON, to refuse resuming another one.

A checkpoint carries the fingerprint of the training that wrote it, and
:func:`gdjax.fit` resumes it only when the current call's fingerprint is the
same. It covers what decides the run: the code of the loss, metric and penalty
functions (their compiled bytecode, constants and captured values, so editing
the body of a loss changes it), the optimizer's structure and hyperparameter
values, the options (epochs, batch size, remainder, shuffling, early stopping,
...), the penalty weight, the hyperparameters, the key, and SHA-256 digests of
the training data, the validation data and the initial parameters.

Descriptions are stable across processes: functions by module, name and code
rather than by address.
"""

from __future__ import annotations

import hashlib
import inspect
import types
from collections.abc import Mapping
from typing import Any

import jax
import numpy as np

from gdjax import optim
from gdjax.optim import Recipe, recipe_of

_DEPTH = 6


def of_training(
    trainer: Any, values: Mapping[str, Any], params: Any, key: jax.Array, train_data: Any, val_data: Any, hyper: Any
) -> dict[str, Any]:
    """The fingerprint of one call of :func:`gdjax.fit` (JSON-serialisable)."""
    stopping = trainer.early_stopping
    return {
        "training": {
            "loss_fn": describe(trainer.loss_fn),
            "optimizer": describe(trainer.optimizer),
            "epochs": trainer.epochs,
            "batch_size": trainer.batch_size,
            "remainder": trainer.remainder,
            "shuffle": trainer.shuffle,
            "metrics": {name: describe(fn) for name, fn in trainer.metrics},
            "penalty": describe(trainer.penalty),
            "penalty_weight": describe(trainer.penalty_weight),
            "early_stopping": None if stopping is None else {k: describe(v) for k, v in stopping._asdict().items()},
            "learning_rate": describe(trainer.learning_rate),
            "record_step_loss": trainer.record_step_loss,
            "loss_takes_key": trainer.loss_takes_key,
            "layout": trainer.layout,
            "evaluate_averaged": trainer.evaluate_averaged,
            "hyperparams": digest(hyper),
            "key": np.asarray(_key_data(key)).tolist(),
            "train_data": digest(train_data),
            "validation_data": None if val_data is None else digest(val_data),
            "initial_params": digest(params),
        }
    }


def differences(stored: Mapping[str, Any], current: Mapping[str, Any]) -> list[str]:
    """What differs between two fingerprints, one phrase per entry (empty when they are the same)."""
    old, new = stored.get("training", {}), current.get("training", {})
    phrases = []
    for name in sorted(old.keys() | new.keys()):
        if old.get(name) != new.get(name):
            a, b = _short(old.get(name)), _short(new.get(name))
            phrases.append(f"{name} differs (file: {a}; this run: {b})")
    return phrases


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 160 else text[:157] + "..."


def digest(tree: Any) -> str | None:
    """SHA-256 of a pytree's structure, leaf shapes, dtypes and bytes (None for None)."""
    if tree is None:
        return None
    hasher = hashlib.sha256()
    leaves, treedef = jax.tree.flatten(tree)
    hasher.update(str(treedef).encode())
    for leaf in leaves:
        array = np.asarray(_key_data(leaf))
        hasher.update(f"{array.dtype.str}{array.shape}".encode())
        hasher.update(np.ascontiguousarray(array).tobytes())
    return hasher.hexdigest()


def _key_data(leaf: Any) -> Any:
    dtype = getattr(leaf, "dtype", None)
    if dtype is not None and jax.dtypes.issubdtype(dtype, jax.dtypes.prng_key):
        return jax.random.key_data(leaf)
    return leaf


def describe(value: Any, depth: int = 0) -> Any:
    """A JSON description of an option: numbers as numbers, functions by name and code, recipes by their call."""
    if depth > _DEPTH:
        return "..."
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value) if isinstance(value, float) else value
    recipe = value if isinstance(value, Recipe) else recipe_of(value)
    if recipe is not None:
        return {
            "factory": _name(recipe.factory),
            "arguments": {name: describe(arg, depth + 1) for name, arg in recipe.arguments.items()},
        }
    if isinstance(value, optim.Static):
        return describe(value.value, depth + 1)
    if isinstance(value, (np.ndarray, np.generic)) or hasattr(value, "__jax_array__") or isinstance(value, jax.Array):
        return {"array": digest(value)}
    if isinstance(value, types.FunctionType):
        return {"function": _name(value), "code": _code_digest(value, depth)}
    if isinstance(value, types.MethodType):
        return {"method": _name(value.__func__), "of": describe(value.__self__, depth + 1)}
    if isinstance(value, tuple) and hasattr(value, "_fields"):
        return {type(value).__name__: {k: describe(v, depth + 1) for k, v in value._asdict().items()}}
    if isinstance(value, (list, tuple)):
        return [describe(v, depth + 1) for v in value]
    if isinstance(value, Mapping):
        return {str(k): describe(v, depth + 1) for k, v in value.items()}
    if isinstance(value, type):
        return {"type": _name(value)}
    if callable(value):
        return {"callable": _name(type(value)), "call": describe(type(value).__call__, depth + 1)}
    return {"object": _name(type(value)), "repr": repr(value)[:200]}


def _name(obj: Any) -> str:
    return f"{getattr(obj, '__module__', '?')}.{getattr(obj, '__qualname__', getattr(obj, '__name__', '?'))}"


def _code_digest(fn: types.FunctionType, depth: int) -> str:
    """A digest of a function's bytecode, constants, names, defaults and captured values."""
    hasher = hashlib.sha256()
    _hash_code(hasher, fn.__code__)
    hasher.update(repr(describe(fn.__defaults__, depth + 1)).encode())
    hasher.update(repr(describe(fn.__kwdefaults__, depth + 1)).encode())
    for cell in fn.__closure__ or ():
        try:
            contents = cell.cell_contents
        except ValueError:  # an empty cell
            contents = None
        hasher.update(repr(describe(contents, depth + 1)).encode())
    return hasher.hexdigest()


def _hash_code(hasher: Any, code: types.CodeType) -> None:
    hasher.update(code.co_code)
    hasher.update(repr(code.co_names).encode())
    for const in code.co_consts:
        if inspect.iscode(const):
            _hash_code(hasher, const)
        else:
            hasher.update(repr(const).encode())

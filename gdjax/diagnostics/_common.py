"""Helpers shared by the diagnostics: argument checks, keys and flat parameter vectors."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.flatten_util import ravel_pytree

from gdjax._checks import is_traced


def check_callable(name: str, fn: Any) -> None:
    if not callable(fn):
        raise ValueError(f"{name} must be callable {name}(params, batch) -> scalar; got {fn!r}.")


def check_params(name: str, params: Any) -> None:
    """A pytree with at least one floating-point leaf, and only floating-point leaves."""
    leaves = jax.tree.leaves(params)
    if not leaves:
        raise ValueError(f"{name} must be a pytree of floating-point arrays; got no arrays ({params!r}).")
    for path, leaf in jax.tree_util.tree_leaves_with_path(params):
        dtype = jnp.result_type(leaf)
        if not jnp.issubdtype(dtype, jnp.floating):
            raise ValueError(f"{name}{jax.tree_util.keystr(path)} must be a floating-point array; got dtype {dtype}.")


def check_same_structure(name_a: str, a: Any, name_b: str, b: Any) -> None:
    """Two pytrees with the same structure and leaf shapes."""
    if jax.tree.structure(a) != jax.tree.structure(b):
        raise ValueError(
            f"{name_b} must have the pytree structure of {name_a}; got {jax.tree.structure(b)} "
            f"and {jax.tree.structure(a)}."
        )
    for (path, x), y in zip(jax.tree_util.tree_leaves_with_path(a), jax.tree.leaves(b)):
        if jnp.shape(x) != jnp.shape(y):
            raise ValueError(
                f"{name_b}{jax.tree_util.keystr(path)} must have shape {jnp.shape(x)} like {name_a}; "
                f"got {jnp.shape(y)}."
            )


def scalar_loss(name: str, loss: Callable[..., Any], params: Any, batch: Any) -> jax.ShapeDtypeStruct:
    """Checks (abstractly, nothing runs) that ``loss(params, batch)`` is a floating-point scalar."""
    out = jax.eval_shape(loss, params, batch)
    if not isinstance(out, jax.ShapeDtypeStruct) or out.shape != ():
        shape = getattr(out, "shape", None)
        raise ValueError(f"{name}(params, batch) must return a scalar; got {shape if shape is not None else out!r}.")
    if not jnp.issubdtype(out.dtype, jnp.floating):
        raise ValueError(f"{name}(params, batch) must return a floating-point scalar; got dtype {out.dtype}.")
    return out


def as_key(name: str, key: Any) -> jax.Array:
    """A PRNG key from a key (typed or raw ``uint32[2]``) or a Python integer seed."""
    if isinstance(key, bool):
        raise ValueError(f"{name} must be a PRNG key or an integer seed; got {key!r}.")
    if isinstance(key, (int, np.integer)):
        return jax.random.key(int(key))
    if isinstance(key, jax.Array) or is_traced(key):
        if jnp.issubdtype(key.dtype, jax.dtypes.prng_key) or (key.dtype == jnp.uint32 and key.shape[-1:] == (2,)):
            return key
    raise ValueError(f"{name} must be a PRNG key (jax.random.key) or an integer seed; got {key!r}.")


def ravel(tree: Any) -> tuple[jax.Array, Callable[[jax.Array], Any]]:
    return ravel_pytree(tree)


def num_examples(name: str, data: Any) -> int:
    """The common leading-axis length of every leaf of ``data`` (static)."""
    leaves = jax.tree_util.tree_leaves_with_path(data)
    if not leaves:
        raise ValueError(f"{name} must be a pytree of arrays with a leading example axis; got no arrays.")
    lengths = set()
    for path, leaf in leaves:
        shape = jnp.shape(leaf)
        if len(shape) == 0:
            raise ValueError(f"{name}{jax.tree_util.keystr(path)} must have a leading example axis; got a scalar.")
        lengths.add(shape[0])
    if len(lengths) != 1:
        raise ValueError(f"every leaf of {name} must have the same number of rows; got {sorted(lengths)}.")
    return lengths.pop()


def call_jitted(jitted: Any, *args: Any, num_static: int = 1) -> Any:
    """``jitted(*args)``, whose first ``num_static`` arguments are static (a loss, an optimizer).

    Unhashable static arguments cannot key jit's cache: the plain function
    runs instead (traced op by op, or inlined into the caller's jit).
    """
    try:
        hash(args[:num_static])
    except TypeError:
        return jitted.__wrapped__(*args)
    return jitted(*args)

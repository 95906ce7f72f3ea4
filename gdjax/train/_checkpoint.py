"""Checkpoints of a pytree (a training state) that cannot run code when loaded.

Format: one ``.npz`` archive (a zip of ``.npy`` arrays), read back with
``numpy.load(..., allow_pickle=False)``, holding

- ``leaf_0``, ``leaf_1``, ... the leaves of the pytree in flattening order;
  PRNG key arrays are stored as their raw ``uint32`` data and dtypes NumPy does
  not know natively (``bfloat16``, ``float8_*``) as same-width unsigned
  integers (their bits), so nothing needs pickling;
- ``__metadata__``: a JSON string with the format version, the tree structure
  (``str(treedef)``), each leaf's dtype, shape and key implementation, and the
  caller's metadata (e.g. the training configuration, used to refuse resuming
  a different run).

The tree structure itself is never deserialised: :func:`load_checkpoint`
rebuilds the tree from a template (``like``) and refuses a file whose structure,
shapes or dtypes differ. Writing is atomic: the archive goes to a temporary
file in the same directory, is flushed to disk, and replaces the target with
``os.replace``, so an interrupted save leaves the previous checkpoint intact.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from gdjax._io import atomic_write

FORMAT = "gdjax-checkpoint/1"
_METADATA = "__metadata__"


def _is_key(dtype: Any) -> bool:
    return jax.dtypes.issubdtype(dtype, jax.dtypes.prng_key)


def _native(dtype: np.dtype) -> bool:
    """Whether NumPy stores ``dtype`` in ``.npy`` without pickling (not ml_dtypes' extension types)."""
    return dtype.kind in "biufc"


def save_checkpoint(path: str | os.PathLike[str], tree: Any, *, metadata: Any = None) -> Path:
    """Writes ``tree`` (and JSON-serialisable ``metadata``) to ``path`` atomically.

    Args:
      path: target file (conventionally ending in ``.npz``); missing folders are created.
      tree: a pytree of arrays (typed PRNG keys allowed).
      metadata: anything ``json.dumps`` accepts, returned by :func:`load_checkpoint`.

    Returns:
      The path written, as a ``Path``.
    """
    path = Path(path)
    leaves, treedef = jax.tree_util.tree_flatten(tree)
    arrays: dict[str, np.ndarray] = {}
    described = []
    for i, leaf in enumerate(leaves):
        info: dict[str, Any] = {}
        if _is_key(getattr(leaf, "dtype", None) or np.result_type(leaf)):
            info["key_impl"] = str(jax.random.key_impl(leaf))
            leaf = jax.random.key_data(leaf)
        array = np.asarray(leaf)
        info["dtype"] = array.dtype.name
        info["shape"] = list(array.shape)
        if not _native(array.dtype):
            array = array.view(np.dtype(f"uint{8 * array.dtype.itemsize}"))
        arrays[f"leaf_{i}"] = array
        described.append(info)
    header = {"format": FORMAT, "treedef": str(treedef), "leaves": described, "metadata": metadata}
    arrays[_METADATA] = np.array(json.dumps(header))

    return atomic_write(path, lambda file: np.savez(file, **arrays))


def read_checkpoint_metadata(path: str | os.PathLike[str]) -> Any:
    """The caller's metadata stored in a checkpoint, without reading its arrays."""
    with np.load(path, allow_pickle=False) as archive:
        return _header(archive, path)["metadata"]


def _header(archive: Any, path: Any) -> dict[str, Any]:
    if _METADATA not in archive.files:
        raise ValueError(f"{os.fspath(path)!r} is not a gdjax checkpoint (no {_METADATA} entry).")
    header = json.loads(str(archive[_METADATA]))
    if header.get("format") != FORMAT:
        raise ValueError(
            f"{os.fspath(path)!r} has checkpoint format {header.get('format')!r}; this version reads {FORMAT!r}."
        )
    return header


def load_checkpoint(path: str | os.PathLike[str], like: Any) -> tuple[Any, Any]:
    """Reads a checkpoint written by :func:`save_checkpoint` into the structure of ``like``.

    Args:
      path: the checkpoint file.
      like: a pytree with the structure, shapes and dtypes expected (arrays or
        ``jax.ShapeDtypeStruct``, e.g. from ``jax.eval_shape``).

    Returns:
      ``(tree, metadata)``: the restored pytree of JAX arrays and the caller's
      metadata.

    Raises:
      ValueError: if the file is not a checkpoint of this format, or its tree
        structure, leaf shapes or dtypes differ from ``like``.
    """
    expected, treedef = jax.tree_util.tree_flatten(like)
    with np.load(path, allow_pickle=False) as archive:
        header = _header(archive, path)
        if header["treedef"] != str(treedef) or len(header["leaves"]) != len(expected):
            raise ValueError(
                f"checkpoint {os.fspath(path)!r} holds a different tree structure:\n"
                f"  file:     {header['treedef']}\n  expected: {treedef}"
            )
        leaves = []
        for i, (info, want) in enumerate(zip(header["leaves"], expected, strict=True)):
            array = archive[f"leaf_{i}"]
            dtype = np.dtype(jnp.dtype(info["dtype"]))
            if not _native(dtype):
                array = array.view(dtype)
            want_dtype = want.dtype
            if _is_key(want_dtype):
                if "key_impl" not in info:
                    raise ValueError(f"checkpoint leaf {i} is raw data where a PRNG key is expected.")
                leaf = jax.random.wrap_key_data(jnp.asarray(array), impl=info["key_impl"])
            else:
                leaf = jnp.asarray(array)
            if tuple(leaf.shape) != tuple(want.shape) or leaf.dtype != want_dtype:
                raise ValueError(
                    f"checkpoint leaf {i} has shape {tuple(leaf.shape)} and dtype {leaf.dtype}; "
                    f"expected shape {tuple(want.shape)} and dtype {want_dtype}."
                )
            leaves.append(leaf)
    return jax.tree_util.tree_unflatten(treedef, leaves), header["metadata"]

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


_HINT = "delete it or pass resume=False to start afresh"


class _Unreadable(ValueError):
    """A checkpoint file that cannot be used; the message names the file and says what to do."""

    def __init__(self, path: Any, problem: str) -> None:
        super().__init__(f"checkpoint {os.fspath(path)!r} {problem}; {_HINT}.")


def read_checkpoint_metadata(path: str | os.PathLike[str]) -> Any:
    """The caller's metadata stored in a checkpoint, without reading its arrays.

    Raises:
      FileNotFoundError: no file at ``path``.
      ValueError: the file is not a readable checkpoint of this format (see
        :func:`load_checkpoint`).
    """
    with _open(path) as archive:
        return _header(archive, path)["metadata"]


class _open:
    """``np.load(path, allow_pickle=False)`` as a context manager, refusing anything but an ``.npz`` archive."""

    def __init__(self, path: Any) -> None:
        self.path = path
        self.archive = None

    def __enter__(self) -> Any:
        path = self.path
        if os.path.isdir(path):
            raise _Unreadable(path, "is a directory, not a file")
        if not os.path.exists(path):
            raise FileNotFoundError(f"checkpoint file not found: {os.fspath(path)!r}.")
        try:
            archive = np.load(path, allow_pickle=False)
        except Exception as error:  # truncated, empty, not a zip, unreadable: every way a file can be bad
            raise _Unreadable(path, f"cannot be read as a .npz archive ({_reason(error)})") from error
        if not isinstance(archive, np.lib.npyio.NpzFile):
            raise _Unreadable(path, "is a single .npy array, not a gdjax checkpoint (.npz archive)")
        self.archive = archive
        return archive

    def __exit__(self, *exc_info: Any) -> None:
        if self.archive is not None:
            self.archive.close()


def _reason(error: BaseException) -> str:
    text = str(error).strip() or "no details"
    return f"{type(error).__name__}: {text}"


def _entry(archive: Any, path: Any, name: str) -> np.ndarray:
    """The array stored as ``name``, refusing a missing or unreadable entry (bad CRC, bad header, pickled data)."""
    if name not in archive.files:
        raise _Unreadable(path, f"is corrupt or incomplete: it has no entry {name}")
    try:
        return archive[name]
    except Exception as error:
        raise _Unreadable(path, f"is corrupt: its entry {name} cannot be read ({_reason(error)})") from error


def _header(archive: Any, path: Any) -> dict[str, Any]:
    """The checked header: format, tree structure, one description per leaf, caller's metadata."""
    if _METADATA not in archive.files:
        raise _Unreadable(path, f"is not a gdjax checkpoint (no {_METADATA} entry)")
    stored = _entry(archive, path, _METADATA)
    if stored.shape != () or stored.dtype.kind != "U":
        raise _Unreadable(path, f"is corrupt: its {_METADATA} entry is not a JSON string")
    try:
        header = json.loads(str(stored))
    except ValueError as error:
        raise _Unreadable(path, f"is corrupt: its {_METADATA} entry is not valid JSON ({error})") from error
    if not isinstance(header, dict):
        raise _Unreadable(path, f"is corrupt: its {_METADATA} entry is not a JSON object")
    if header.get("format") != FORMAT:
        raise _Unreadable(path, f"has checkpoint format {header.get('format')!r}; this version reads {FORMAT!r}")
    missing = sorted({"treedef", "leaves", "metadata"} - header.keys())
    if missing:
        raise _Unreadable(path, f"is corrupt: its header misses {', '.join(map(repr, missing))}")
    if not isinstance(header["treedef"], str):
        raise _Unreadable(path, "is corrupt: its header's treedef is not a string")
    if not isinstance(header["leaves"], list):
        raise _Unreadable(path, "is corrupt: its header's leaves are not a list")
    for i, info in enumerate(header["leaves"]):
        good = (
            isinstance(info, dict)
            and isinstance(info.get("dtype"), str)
            and isinstance(info.get("shape"), list)
            and all(isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in info["shape"])
            and isinstance(info.get("key_impl", ""), str)
        )
        if not good:
            raise _Unreadable(path, f"is corrupt: its header's description of leaf {i} is malformed: {info!r}")
    return header


def _leaf_dtype(path: Any, i: int, name: str) -> np.dtype:
    try:
        return np.dtype(jnp.dtype(name))
    except Exception as error:
        raise _Unreadable(path, f"is corrupt: leaf {i} has an unknown dtype {name!r}") from error


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
      FileNotFoundError: no file at ``path``.
      ValueError: naming the file and saying to delete it or pass
        ``resume=False``, if it cannot be used: a directory, an empty or
        truncated file, flipped bytes (a bad CRC or array header), a missing
        leaf, metadata that is not this format's JSON header, a ``.npz``
        that is not a gdjax checkpoint, or a checkpoint of another model (its
        tree structure, leaf shapes or dtypes differ from ``like``).
    """
    expected, treedef = jax.tree_util.tree_flatten(like)
    with _open(path) as archive:
        header = _header(archive, path)
        if header["treedef"] != str(treedef) or len(header["leaves"]) != len(expected):
            raise _Unreadable(
                path,
                "holds a different tree structure (another model or training state):\n"
                f"  file:     {header['treedef']}\n  expected: {treedef}\nIt cannot be resumed",
            )
        leaves = []
        for i, (info, want) in enumerate(zip(header["leaves"], expected, strict=True)):
            array = _entry(archive, path, f"leaf_{i}")
            dtype = _leaf_dtype(path, i, info["dtype"])
            stored = dtype if _native(dtype) else np.dtype(f"uint{8 * dtype.itemsize}")
            if array.dtype != stored or list(array.shape) != info["shape"]:
                raise _Unreadable(
                    path,
                    f"is corrupt: leaf {i} holds {array.dtype} data of shape {array.shape} where its header "
                    f"says {stored} of shape {tuple(info['shape'])}",
                )
            if not _native(dtype):
                array = array.view(dtype)
            want_dtype = want.dtype
            if _is_key(want_dtype):
                if "key_impl" not in info:
                    raise _Unreadable(path, f"has raw data where a PRNG key is expected (leaf {i})")
                try:
                    leaf = jax.random.wrap_key_data(jnp.asarray(array), impl=info["key_impl"])
                except Exception as error:
                    raise _Unreadable(
                        path, f"is corrupt: leaf {i} is not a valid PRNG key ({_reason(error)})"
                    ) from error
            else:
                leaf = jnp.asarray(array)
            if tuple(leaf.shape) != tuple(want.shape) or leaf.dtype != want_dtype:
                raise _Unreadable(
                    path,
                    f"does not fit: leaf {i} has shape {tuple(leaf.shape)} and dtype {leaf.dtype}; "
                    f"expected shape {tuple(want.shape)} and dtype {want_dtype}",
                )
            leaves.append(leaf)
    return jax.tree_util.tree_unflatten(treedef, leaves), header["metadata"]

"""Atomic file writing: a file users keep is either the old one or the new one, never half of each."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any


def atomic_write(path: str | os.PathLike, write: Callable[[IO[bytes]], Any]) -> Path:
    """Calls ``write(file)`` on a temporary file beside ``path``, then renames it over ``path``.

    The rename is atomic on POSIX and Windows, so a crash leaves either the
    previous file or the complete new one. The data is flushed to disk first.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as file:
            write(file)
            file.flush()
            os.fsync(file.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    return atomic_write(path, lambda file: file.write(text.encode("utf-8")))


def atomic_write_json(path: str | os.PathLike, data: Any) -> Path:
    """Writes JSON (strict: NaN and infinities become null, see :func:`to_json`)."""
    return atomic_write_text(path, json.dumps(to_json(data), indent=2, sort_keys=False, allow_nan=False) + "\n")


def to_json(value: Any) -> Any:
    """Converts NumPy/JAX scalars and arrays to plain JSON values; non-finite floats become ``None``."""
    import numpy as np

    if isinstance(value, dict):
        return {str(k): to_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_json(v) for v in value]
    if isinstance(value, (str, bool)) or value is None:
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    array = np.asarray(value)
    if array.ndim > 0:
        return [to_json(v) for v in array.tolist()]
    item = array.item()
    if isinstance(item, float) and not np.isfinite(item):
        return None
    return item

"""Atomic file writing: a file users keep is either the old one or the new one, never half of each."""

from __future__ import annotations

import dataclasses
import json
import os
import re
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

import numpy as np


def atomic_write(path: str | os.PathLike, write: Callable[[IO[bytes]], Any]) -> Path:
    """Calls ``write(file)`` on a temporary file beside ``path``, then renames it over ``path``.

    The rename is atomic on POSIX and Windows, so a crash leaves either the
    previous file or the complete new one. The data is flushed to disk first.

    The temporary file is ``.{name}.XXXXXXXX.tmp`` in the same folder (``name``
    the target's file name, ``XXXXXXXX`` from :func:`tempfile.mkstemp`). A
    write killed before its rename leaves such a file behind; the next write to
    the same path removes every leftover of that pattern first, so leftovers
    never pile up. Two processes writing the same path at the same time are not
    supported: one may remove the other's temporary file, whose write then
    fails (loudly, leaving the target intact).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_leftovers(path)
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


def _leftover_pattern(path: Path) -> re.Pattern[str]:
    # mkstemp's random part: 8 characters of [a-z0-9_] (no dots, so ".a.npz.*" never matches ".a.*")
    return re.compile(re.escape(f".{path.name}.") + r"[a-z0-9_]+\.tmp")


def remove_leftovers(path: str | os.PathLike) -> list[Path]:
    """Removes the temporary files ``.{name}.XXXXXXXX.tmp`` that killed writes to ``path`` left behind.

    Returns the paths removed. Only regular files whose names
    :func:`atomic_write` could have made are touched; files that vanish or
    cannot be removed meanwhile are skipped.
    """
    path = Path(path)
    pattern = _leftover_pattern(path)
    removed = []
    try:
        entries = list(os.scandir(path.parent))
    except OSError:
        return removed
    for entry in entries:
        if pattern.fullmatch(entry.name) and entry.is_file(follow_symlinks=False):
            try:
                os.unlink(entry.path)
            except OSError:
                continue
            removed.append(Path(entry.path))
    return removed


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    return atomic_write(path, lambda file: file.write(text.encode("utf-8")))


def atomic_write_json(path: str | os.PathLike, data: Any) -> Path:
    """Writes JSON (strict: NaN and infinities become null, see :func:`to_json`)."""
    return atomic_write_text(path, json.dumps(to_json(data), indent=2, sort_keys=False, allow_nan=False) + "\n")


def to_json(value: Any) -> Any:
    """Converts NumPy/JAX scalars and arrays to plain JSON values; non-finite floats become ``None``.

    NamedTuples and dataclasses become objects with their field names.
    """
    if isinstance(value, tuple) and hasattr(value, "_asdict"):  # a NamedTuple: its fields by name
        return {str(k): to_json(v) for k, v in value._asdict().items()}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_json(getattr(value, f.name)) for f in dataclasses.fields(value)}
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

"""Names for the shapes of things the library passes around (all pytrees: any nesting of arrays)."""

from __future__ import annotations

from typing import Any

PyTree = Any  #: any nesting of lists, tuples, dicts and NamedTuples with arrays at the leaves
Params = Any  #: a model's parameters: a pytree of floating arrays
Data = Any  #: a data set or batch: a pytree of arrays sharing a leading example axis

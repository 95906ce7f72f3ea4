"""What the engine asks of a gradient transformation: is it one, and does it take Optax's extra arguments."""

from __future__ import annotations

import inspect
from typing import Any


def is_transformation(optimizer: Any) -> bool:
    """True for an object with ``init`` and ``update`` (gdjax or Optax gradient transformation)."""
    return callable(getattr(optimizer, "init", None)) and callable(getattr(optimizer, "update", None))


def takes_extra_args(transformation: Any) -> bool:
    """Whether ``update`` accepts Optax's extra arguments (``value``, ``grad``, ``value_fn``: L-BFGS needs them).

    Every gdjax transformation does, and Optax's ``GradientTransformationExtraArgs``;
    a plain Optax ``GradientTransformation`` does not, and is called without them.
    """
    try:
        parameters = inspect.signature(transformation.update).parameters.values()
    except (TypeError, ValueError):
        return False
    return any(p.kind == inspect.Parameter.VAR_KEYWORD for p in parameters)


def check_optimizer(optimizer: Any) -> Any:
    """A gradient transformation, or a callable ``hyperparams -> transformation``; else a ``ValueError``."""
    if not (is_transformation(optimizer) or callable(optimizer)):
        raise ValueError(
            "optimizer must be a gradient transformation (with init and update) or a callable "
            f"hyperparams -> gradient transformation; got {optimizer!r}."
        )
    return optimizer

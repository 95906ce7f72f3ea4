"""Parameter groups: a different transformation for each labelled part of the tree."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping
from typing import Any, NamedTuple

import jax

from gdjax._typing import PyTree
from gdjax.optim._base import GradientTransformation, call_update
from gdjax.optim._recipe import hyperparameters
from gdjax.optim._wrappers import masked


class PartitionState(NamedTuple):
    """State of :func:`partition`: one inner state per label."""

    inner_states: dict[Hashable, Any]


@hyperparameters
def partition(
    transforms: Mapping[Hashable, GradientTransformation],
    param_labels: PyTree | Callable[[PyTree], PyTree],
) -> GradientTransformation:
    """Applies ``transforms[label]`` to the parameters labelled ``label``.

    This is PyTorch's "parameter groups": e.g. per-layer learning rates, or no
    weight decay on biases::

        labels = {"hidden": {"w": "decay", "b": "no_decay"}, "out": {"w": "decay", "b": "no_decay"}}
        opt = partition({"decay": adamw(1e-3, weight_decay=1e-2),
                         "no_decay": adam(1e-3)}, labels)

    Each group's transformation sees only its own leaves (the others are
    :class:`MaskedNode`), so global quantities such as a global norm are
    computed per group. Freeze a group with ``set_to_zero()``.

    Args:
      transforms: a mapping from label to transformation.
      param_labels: a pytree of labels with the structure of the parameters
        (or a prefix of it), or a function ``params -> labels``. Every label
        must be a key of ``transforms``.
    """
    transforms = dict(transforms)
    if not transforms:
        raise ValueError("transforms must map at least one label to a transformation; got an empty mapping.")

    def labels_of(tree):
        labels = param_labels(tree) if callable(param_labels) else param_labels
        missing = set(jax.tree.leaves(labels)) - set(transforms)
        if missing:
            raise ValueError(
                f"param_labels use labels with no transformation: {sorted(map(repr, missing))}; "
                f"transforms has {sorted(map(repr, transforms))}."
            )
        return labels

    def group(label, labels):
        mask = jax.tree.map(lambda lab: lab == label, labels)
        return masked(transforms[label], mask)

    def init_fn(params):
        labels = labels_of(params)
        return PartitionState({label: group(label, labels).init(params) for label in transforms})

    def update_fn(updates, state, params=None, **extra_args):
        labels = labels_of(updates)
        new_states = {}
        for label in transforms:
            updates, new_states[label] = call_update(
                group(label, labels).update, updates, state.inner_states[label], params, extra_args
            )
        return updates, PartitionState(new_states)

    return GradientTransformation(init_fn, update_fn)

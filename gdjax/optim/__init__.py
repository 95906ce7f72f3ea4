"""``gdjax.optim``: gradient transformations, optimizers and schedules.

Our own library of composable gradient transformations in the style of Optax
(the protocol is Optax's, so the two mix both ways), with PyTorch's variants
as options, and every numeric hyperparameter traceable so that sweeps are one
``vmap`` in one compiled program::

    import gdjax.optim as optim

    opt = optim.adam(learning_rate=optim.cosine_decay_schedule(1e-3, 1000))
    state = opt.init(params)
    updates, state = opt.update(grads, state, params)
    params = optim.apply_updates(params, updates)
    optim.current_learning_rate(state)  # the rate the next update applies

Protocol: :class:`GradientTransformation`, :func:`chain`, :func:`apply_updates`.
Transforms: :func:`scale`, :func:`scale_by_learning_rate`, :func:`trace`,
:func:`scale_by_adagrad`, :func:`scale_by_rms`, :func:`scale_by_adam`,
:func:`add_decayed_weights`, :func:`clip`, :func:`clip_by_global_norm`.
Wrappers: :func:`masked`, :func:`partition` (parameter groups),
:func:`apply_if_finite`. Optimizers: :func:`sgd`, :func:`adagrad`,
:func:`rmsprop`, :func:`adam`, :func:`adamw` (and :func:`nadam`,
:func:`nadamw`). Schedules (``count -> value``, jittable, constants may be
traced): :func:`constant_schedule`, :func:`piecewise_constant_schedule`,
:func:`step_decay_schedule`, :func:`exponential_decay`,
:func:`natural_exp_decay`, :func:`inverse_time_decay`,
:func:`polynomial_schedule`, :func:`linear_schedule`,
:func:`cosine_decay_schedule`, :func:`warmup_constant_schedule`,
:func:`warmup_cosine_decay_schedule`, :func:`linear_warmup`,
:func:`join_schedules`, :func:`per_epoch` (epochs to steps) and
:func:`linear_scaling_rule`.

The learning rate in force is recorded in the optimizer state by
:func:`scale_by_learning_rate` and read with :func:`current_learning_rate`.
"""

from gdjax.optim._alias import adagrad, adam, adamw, nadam, nadamw, rmsprop, sgd
from gdjax.optim._base import (
    EmptyState,
    GradientTransformation,
    OptState,
    Params,
    ScalarOrSchedule,
    Schedule,
    TransformInitFn,
    TransformUpdateFn,
    Updates,
    apply_updates,
    chain,
    identity,
    safe_increment,
    set_to_zero,
)
from gdjax.optim._learning_rate import (
    ScaleByLearningRateState,
    current_learning_rate,
    scale_by_learning_rate,
)
from gdjax.optim._partition import PartitionState, partition
from gdjax.optim._recipe import Recipe, Static, hyperparameters, is_elementwise, merge, recipe_of, split
from gdjax.optim._schedules import (
    constant_schedule,
    cosine_decay_schedule,
    exponential_decay,
    inverse_time_decay,
    join_schedules,
    linear_scaling_rule,
    linear_schedule,
    linear_warmup,
    natural_exp_decay,
    per_epoch,
    piecewise_constant_schedule,
    polynomial_schedule,
    step_decay_schedule,
    warmup_constant_schedule,
    warmup_cosine_decay_schedule,
)
from gdjax.optim._transforms import (
    AddDecayedWeightsState,
    ScaleByAdagradState,
    ScaleByAdamState,
    ScaleByRmsState,
    ScaleByScheduleState,
    TraceState,
    add_decayed_weights,
    clip,
    clip_by_global_norm,
    global_norm,
    scale,
    scale_by_adagrad,
    scale_by_adam,
    scale_by_rms,
    scale_by_rss,
    scale_by_schedule,
    trace,
)
from gdjax.optim._wrappers import (
    ApplyIfFiniteState,
    MaskedNode,
    MaskedState,
    apply_if_finite,
    masked,
)

__all__ = [
    "AddDecayedWeightsState",
    "ApplyIfFiniteState",
    "EmptyState",
    "GradientTransformation",
    "MaskedNode",
    "MaskedState",
    "OptState",
    "Params",
    "PartitionState",
    "Recipe",
    "ScalarOrSchedule",
    "Static",
    "ScaleByAdagradState",
    "ScaleByAdamState",
    "ScaleByLearningRateState",
    "ScaleByRmsState",
    "ScaleByScheduleState",
    "Schedule",
    "TraceState",
    "TransformInitFn",
    "TransformUpdateFn",
    "Updates",
    "adagrad",
    "adam",
    "adamw",
    "add_decayed_weights",
    "apply_if_finite",
    "apply_updates",
    "chain",
    "clip",
    "clip_by_global_norm",
    "constant_schedule",
    "cosine_decay_schedule",
    "current_learning_rate",
    "exponential_decay",
    "global_norm",
    "hyperparameters",
    "identity",
    "inverse_time_decay",
    "is_elementwise",
    "join_schedules",
    "linear_scaling_rule",
    "linear_schedule",
    "linear_warmup",
    "masked",
    "merge",
    "nadam",
    "nadamw",
    "natural_exp_decay",
    "partition",
    "per_epoch",
    "piecewise_constant_schedule",
    "polynomial_schedule",
    "recipe_of",
    "rmsprop",
    "safe_increment",
    "scale",
    "scale_by_adagrad",
    "scale_by_adam",
    "scale_by_learning_rate",
    "scale_by_rms",
    "scale_by_rss",
    "scale_by_schedule",
    "set_to_zero",
    "sgd",
    "split",
    "step_decay_schedule",
    "trace",
    "warmup_constant_schedule",
    "warmup_cosine_decay_schedule",
]

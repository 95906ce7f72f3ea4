"""Random restarts and hyperparameter sweeps: vmapped, chunked, sharded across devices."""

from gdjax.restarts._batched import AXIS, DEFAULT_TILE, map_batched, resolve_sizes, restart_mesh
from gdjax.restarts._records import SuccessTable, SummaryTable
from gdjax.restarts._restarts import minimize_restarts, restarts, sweep
from gdjax.restarts._result import PairedDifference, PairedSuccess, RestartsResult, best_of_k_table, paired_difference
from gdjax.restarts._stats import (
    MeanInterval,
    RestartsNeeded,
    SuccessRate,
    ValueSummary,
    best_of_k,
    best_of_k_all_subsets,
    best_of_k_groups,
    bootstrap_mean_interval,
    k_for,
    mcnemar_exact,
    mean_interval,
    student_t_cdf,
    student_t_quantile,
    success_rate,
    summarize_values,
)

__all__ = [
    "AXIS",
    "DEFAULT_TILE",
    "MeanInterval",
    "PairedDifference",
    "PairedSuccess",
    "RestartsNeeded",
    "RestartsResult",
    "SuccessRate",
    "SuccessTable",
    "SummaryTable",
    "ValueSummary",
    "best_of_k",
    "best_of_k_all_subsets",
    "best_of_k_groups",
    "best_of_k_table",
    "bootstrap_mean_interval",
    "k_for",
    "map_batched",
    "mcnemar_exact",
    "mean_interval",
    "minimize_restarts",
    "paired_difference",
    "resolve_sizes",
    "restart_mesh",
    "restarts",
    "student_t_cdf",
    "student_t_quantile",
    "success_rate",
    "summarize_values",
    "sweep",
]

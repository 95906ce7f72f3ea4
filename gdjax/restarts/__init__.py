"""Random restarts and hyperparameter sweeps: vmapped, chunked, sharded across devices."""

from gdjax.restarts._batched import AXIS, DEFAULT_TILE, map_batched, resolve_sizes, restart_mesh
from gdjax.restarts._restarts import minimize_restarts, restarts, sweep
from gdjax.restarts._result import RestartsResult, best_of_k_table
from gdjax.restarts._stats import SuccessRate, ValueSummary, best_of_k, success_rate, summarize_values

__all__ = [
    "AXIS",
    "DEFAULT_TILE",
    "RestartsResult",
    "SuccessRate",
    "ValueSummary",
    "best_of_k",
    "best_of_k_table",
    "map_batched",
    "minimize_restarts",
    "resolve_sizes",
    "restart_mesh",
    "restarts",
    "success_rate",
    "summarize_values",
    "sweep",
]

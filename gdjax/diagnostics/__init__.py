"""Diagnostics of a loss landscape and of training: sharpness, gradient noise, paths between minima.

- :func:`sharpness` (and :func:`hessian_vector_product`): the top Hessian
  eigenvalue by power iteration on Hessian-vector products, the quantity of
  the edge of stability (Cohen et al. 2021).
- :func:`gradient_noise_scale`, :func:`two_batch_noise_scale`,
  :func:`noise_scale_from_norms` (and :func:`per_example_gradients`): the
  simple noise scale ``B_simple = tr(Σ)/|G|²`` of McCandlish et al. (2018),
  exactly from per-example gradients or unbiasedly from two batch sizes.
- :func:`interpolate`, :func:`bezier`, :func:`loss_along_line`,
  :func:`loss_along_bezier`, :func:`path_barrier`, :func:`barrier_from_losses`,
  :func:`fit_bezier_midpoint`: the loss between two parameter pytrees, the
  barrier of a path (Frankle et al. 2020; Entezari et al. 2022) and curves
  trained to connect minima (Garipov et al. 2018).
- :func:`sharpness_metric`, :func:`noise_scale_metric`: the same as per-epoch
  metrics for ``gdjax.fit`` and ``sweep``.

Every function takes a loss ``loss(params, batch) -> scalar`` over any
parameter pytree, is pure (explicit PRNG keys), keeps the parameters' dtype
and is jittable and vmappable.
"""

from gdjax.diagnostics._metrics import noise_scale_metric, sharpness_metric
from gdjax.diagnostics._noise import (
    NoiseScale,
    gradient_noise_scale,
    noise_scale_from_norms,
    per_example_gradients,
    two_batch_noise_scale,
)
from gdjax.diagnostics._paths import (
    BezierFit,
    PathBarrier,
    barrier_from_losses,
    bezier,
    fit_bezier_midpoint,
    interpolate,
    loss_along_bezier,
    loss_along_line,
    path_barrier,
)
from gdjax.diagnostics._sharpness import SharpnessResult, hessian_vector_product, sharpness

__all__ = [
    "BezierFit",
    "NoiseScale",
    "PathBarrier",
    "SharpnessResult",
    "barrier_from_losses",
    "bezier",
    "fit_bezier_midpoint",
    "gradient_noise_scale",
    "hessian_vector_product",
    "interpolate",
    "loss_along_bezier",
    "loss_along_line",
    "noise_scale_from_norms",
    "noise_scale_metric",
    "path_barrier",
    "per_example_gradients",
    "sharpness",
    "sharpness_metric",
    "two_batch_noise_scale",
]

"""The gradient noise scale of McCandlish et al. (2018), exact and from two batch sizes."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from gdjax._checks import check_int, check_positive, is_traced
from gdjax._typing import Params
from gdjax.diagnostics._common import as_key, call_jitted, check_callable, check_params, num_examples, scalar_loss

Loss = Callable[[Params, Any], Any]


class NoiseScale(NamedTuple):
    """A gradient noise scale and its two parts.

    Attributes:
      b_simple: ``tr(Σ) / |G|²`` (infinite when ``G = 0``).
      trace_sigma: ``tr(Σ)``, the trace of the per-example gradient covariance.
      grad_norm_sq: ``|G|²``, the squared norm of the mean gradient.
    """

    b_simple: jax.Array
    trace_sigma: jax.Array
    grad_norm_sq: jax.Array


def _tree_sum(tree: Any) -> jax.Array:
    return sum(jnp.sum(leaf) for leaf in jax.tree.leaves(tree))


def per_example_gradients(loss: Loss, params: Params, batch: Any) -> Params:
    """``∇_θ loss(θ, example_i)`` for every example ``i`` of ``batch``, stacked.

    Each example is passed to ``loss`` as a batch of one (every leaf of
    ``batch`` sliced ``[i:i+1]``) under ``jax.vmap``, so for a loss that is a
    mean over its batch this is the gradient of example ``i``'s own loss.

    Returns:
      A pytree like ``params`` whose leaves have a leading axis of length ``n``.
    """
    check_callable("loss", loss)
    check_params("params", params)
    num_examples("batch", batch)
    scalar_loss("loss", loss, params, batch)
    return call_jitted(_per_example_gradients, loss, params, batch)


@functools.partial(jax.jit, static_argnums=0)
def _per_example_gradients(loss, params, batch):
    grad = jax.grad(loss)
    return jax.vmap(lambda example: grad(params, jax.tree.map(lambda a: a[None], example)))(batch)


def gradient_noise_scale(loss: Loss, params: Params, batch: Any) -> NoiseScale:
    """The simple noise scale ``B_simple = tr(Σ) / |G|²`` from per-example gradients.

    McCandlish, Kaplan, Amodei et al. (2018), "An Empirical Model of
    Large-Batch Training" (arXiv:1812.06162), Section 2: with per-example
    gradients ``g_i`` (:func:`per_example_gradients`) of the ``n`` examples of
    ``batch``, ``G = (1/n) Σ_i g_i`` is the full-batch gradient and
    ``Σ = (1/n) Σ_i (g_i - G)(g_i - G)ᵀ`` the covariance of the per-example
    gradients over these examples (the empirical distribution, as the paper's
    ``Σ`` is the covariance over the data distribution), so that a mini-batch
    of ``B`` examples drawn uniformly with replacement has
    ``E|G_B|² = |G|² + tr(Σ)/B``. ``B_simple`` estimates the critical batch
    size: batches much smaller than it are noise-dominated, much larger ones
    bring diminishing returns. Nothing ``n × n`` or ``P × P`` is formed; the
    per-example gradients (``n × P`` numbers) are.

    Returns:
      A :class:`NoiseScale` (``b_simple``, ``trace_sigma``, ``grad_norm_sq``).
    """
    check_callable("loss", loss)
    check_params("params", params)
    num_examples("batch", batch)
    scalar_loss("loss", loss, params, batch)
    return call_jitted(_gradient_noise_scale, loss, params, batch)


@functools.partial(jax.jit, static_argnums=0)
def _gradient_noise_scale(loss, params, batch) -> NoiseScale:
    grads = _per_example_gradients.__wrapped__(loss, params, batch)
    mean = jax.tree.map(lambda g: jnp.mean(g, axis=0), grads)
    # Two passes (centre, then square) rather than E|g|² - |G|²: no cancellation
    # when the noise is small against the mean gradient.
    trace_sigma = _tree_sum(jax.tree.map(lambda g, m: jnp.sum(jnp.mean(jnp.square(g - m), axis=0)), grads, mean))
    grad_norm_sq = _tree_sum(jax.tree.map(jnp.square, mean))
    return NoiseScale(trace_sigma / grad_norm_sq, trace_sigma, grad_norm_sq)


def noise_scale_from_norms(
    small_norm_sq: Any, big_norm_sq: Any, small_batch: int | Any, big_batch: int | Any
) -> NoiseScale:
    """The unbiased two-batch-size estimates of ``|G|²`` and ``tr(Σ)``, and their ratio.

    McCandlish et al. (2018), Appendix A.1: since
    ``E|G_B|² = |G|² + tr(Σ)/B`` for a batch of ``B`` examples drawn
    uniformly with replacement, the squared norms of the gradients of a batch
    of ``B_small`` and one of ``B_big`` examples give the unbiased estimates::

        |G|² ≈ (B_big |G_big|² - B_small |G_small|²) / (B_big - B_small)
        S    ≈ (|G_small|² - |G_big|²) / (1/B_small - 1/B_big)        (S estimates tr Σ)

    and ``B_simple ≈ S / |G|²``. Each of ``S`` and ``|G|²`` is unbiased; their
    ratio is not, and a single pair is very noisy: the paper averages ``S`` and
    ``|G|²`` separately over training steps (exponential moving averages)
    before dividing; the returned parts are what to average. Works elementwise
    on arrays of norms.

    Args:
      small_norm_sq: ``|G_small|²``.
      big_norm_sq: ``|G_big|²``.
      small_batch, big_batch: the two batch sizes, ``0 < small_batch < big_batch``.
    """
    check_positive("small_batch", small_batch)
    check_positive("big_batch", big_batch)
    if not is_traced((small_batch, big_batch)):
        if np.any(np.asarray(small_batch) >= np.asarray(big_batch)):
            raise ValueError(f"small_batch must be < big_batch; got {small_batch} and {big_batch}.")
    small_norm_sq, big_norm_sq = jnp.asarray(small_norm_sq), jnp.asarray(big_norm_sq)
    dtype = jnp.result_type(small_norm_sq, big_norm_sq)
    if not jnp.issubdtype(dtype, jnp.floating):
        dtype = jnp.result_type(float)
    small = jnp.asarray(small_batch, dtype)
    big = jnp.asarray(big_batch, dtype)
    grad_norm_sq = (big * big_norm_sq - small * small_norm_sq) / (big - small)
    trace_sigma = (small_norm_sq - big_norm_sq) / (1 / small - 1 / big)
    return NoiseScale((trace_sigma / grad_norm_sq).astype(dtype), trace_sigma.astype(dtype), grad_norm_sq.astype(dtype))


def two_batch_noise_scale(
    loss: Loss, params: Params, data: Any, *, key: jax.Array | int, small_batch: int, big_batch: int
) -> NoiseScale:
    """:func:`noise_scale_from_norms` on two batches drawn from ``data``.

    Draws ``big_batch`` example indices uniformly with replacement from
    ``key`` (so that ``E|G_B|² = |G|² + tr(Σ)/B`` holds exactly for the
    empirical distribution of ``data``, whose ``G`` and ``Σ`` are those of
    :func:`gradient_noise_scale`), takes the first ``small_batch`` of them as
    the small batch (the paper's per-device gradient inside the data-parallel
    one), computes both mean gradients with ``jax.grad`` and returns the
    unbiased estimates. ``E[trace_sigma]`` and ``E[grad_norm_sq]`` over keys
    are ``gradient_noise_scale(loss, params, data)``'s; ``b_simple`` of one
    draw is a noisy, biased ratio (average the parts first).
    """
    check_callable("loss", loss)
    check_params("params", params)
    num_examples("data", data)
    small_batch = check_int("small_batch", small_batch, minimum=1)
    big_batch = check_int("big_batch", big_batch, minimum=2)
    if small_batch >= big_batch:
        raise ValueError(f"small_batch must be < big_batch; got {small_batch} and {big_batch}.")
    scalar_loss("loss", loss, params, data)
    key = as_key("key", key)
    return call_jitted(_two_batch, loss, small_batch, big_batch, params, data, key)


@functools.partial(jax.jit, static_argnums=(0, 1, 2))
def _two_batch(loss, small_batch, big_batch, params, data, key) -> NoiseScale:
    n = jax.tree.leaves(data)[0].shape[0]
    index = jax.random.randint(key, (big_batch,), 0, n)
    grad = jax.grad(loss)

    def norm_sq(rows):
        return _tree_sum(jax.tree.map(jnp.square, grad(params, jax.tree.map(lambda a: a[rows], data))))

    return noise_scale_from_norms(norm_sq(index[:small_batch]), norm_sq(index), small_batch, big_batch)

"""Epochs of mini-batches as index arrays.

One epoch visits a fresh random permutation of the ``n`` examples in
consecutive slices of ``batch_size``. The batches are returned as an index
matrix rather than as copies of the data, so a whole epoch has a static shape
``(num_batches, batch_size)`` and can be produced and consumed inside ``jit``,
``vmap`` and ``lax.scan``: the key may be traced, the sizes may not.

Course semantics: ``n = 10_000`` examples in batches of ``500`` is
``10_000 / 500 = 20`` iterations (parameter updates) per epoch; ``batch_size=1``
is stochastic gradient descent (``n`` updates per epoch); ``batch_size=n`` is
batch gradient descent (one update per epoch, on the full data set).

The last partial batch (when ``batch_size`` does not divide ``n``) follows an
explicit policy:

* ``"drop"`` (the default, as in ``torch.utils.data.DataLoader(drop_last=True)``):
  the ``n mod batch_size`` examples left at the end of the permutation are not
  visited this epoch. Since every epoch draws a new permutation, every example
  is still visited in expectation ``floor(n / b) * b / n`` of the epochs. All
  masks are True.
* ``"pad"``: the last batch is completed with the first indices of the same
  permutation (valid examples, so a gather never goes out of bounds and the
  padded values are finite), and those slots are marked False in ``mask``.
  Averaging per-example losses with :func:`masked_mean` then gives exactly the
  mean over the real examples of that batch: every example is visited exactly
  once per epoch.
"""

from __future__ import annotations

import functools
from typing import Any, Literal, NamedTuple

import jax
import jax.numpy as jnp

from gdjax._checks import check_choice, check_int
from gdjax.data._permutation import permutation

Remainder = Literal["drop", "pad"]
_REMAINDERS = ("drop", "pad")


class Batches(NamedTuple):
    """One epoch of mini-batches.

    Attributes:
      indices: ``int32[num_batches, batch_size]``, the example indices of each
        mini-batch, row ``t`` being the batch of iteration ``t``.
      mask: ``bool[num_batches, batch_size]``, False where a slot is padding in
        the last partial batch (``remainder="pad"`` only).
    """

    indices: jax.Array
    mask: jax.Array


def _check_sizes(num_examples: Any, batch_size: Any, remainder: Any) -> tuple[int, int, str]:
    num_examples = check_int("num_examples", num_examples, minimum=1)
    batch_size = check_int("batch_size", batch_size, minimum=1)
    if batch_size > num_examples:
        raise ValueError(
            f"batch_size must be <= num_examples ({num_examples}); got {batch_size}. "
            f"Use batch_size={num_examples} for full-batch gradient descent."
        )
    remainder = check_choice("remainder", remainder, _REMAINDERS)
    return num_examples, batch_size, remainder


def num_batches(num_examples: int, batch_size: int, remainder: Remainder = "drop") -> int:
    """Number of mini-batches (parameter updates) in one epoch.

    ``floor(n / b)`` when the last partial batch is dropped and ``ceil(n / b)``
    when it is padded. For example ``num_batches(10_000, 500) == 20``,
    ``num_batches(n, 1) == n`` (SGD) and ``num_batches(n, n) == 1`` (batch GD).

    Args:
      num_examples: number of examples ``n >= 1`` in the data set.
      batch_size: examples per batch, ``1 <= b <= n``.
      remainder: ``"drop"`` or ``"pad"``, the policy for the last partial batch.

    Returns:
      The number of batches, a Python ``int``.
    """
    n, b, remainder = _check_sizes(num_examples, batch_size, remainder)
    return n // b if remainder == "drop" else -(-n // b)


def epoch_batches(
    key: jax.Array | None,
    num_examples: int,
    batch_size: int,
    *,
    remainder: Remainder = "drop",
    shuffle: bool = True,
) -> Batches:
    """The mini-batches of one epoch, as a matrix of example indices.

    With ``shuffle=True`` the epoch is a uniformly random permutation
    ``pi = permutation(key, n)`` (:func:`gdjax.data.permutation`:
    ``jax.random.permutation``'s) cut into consecutive rows:
    ``indices[t, j] = pi[t * b + j]``. Pass a different key for each epoch
    (``jax.random.fold_in(key, epoch)``) to get a fresh permutation. With
    ``shuffle=False`` the order is ``0, 1, ..., n - 1`` and ``key`` is ignored
    (it may be None).

    The sizes and policies are static Python values, checked eagerly; ``key``
    may be traced, so this works inside ``jit``, ``vmap`` and ``lax.scan`` and
    always returns arrays of shape ``(num_batches(n, b, remainder), b)``.

    Example, one epoch of SGD on a least-squares slope in a scan::

        >>> import jax, jax.numpy as jnp
        >>> x = jnp.arange(10.0)
        >>> y = 3.0 * x
        >>> batches = epoch_batches(jax.random.key(0), 10, 4, remainder="pad")
        >>> batches.indices.shape, [int(m.sum()) for m in batches.mask]  # 4 + 4 + 2 real rows
        ((3, 4), [4, 4, 2])
        >>> def step(w, batch):
        ...     idx, mask = batch
        ...     loss = lambda w: masked_mean((w * x[idx] - y[idx]) ** 2, mask)
        ...     return w - 0.005 * jax.grad(loss)(w), None
        >>> w, _ = jax.lax.scan(step, 0.0, batches)
        >>> 0.0 < float(w) < 3.0  # three steps on the way to the slope 3
        True

    Args:
      key: a PRNG key (typed or raw ``uint32[2]``), or a 1-D array of keys
        for the epochs of each (the arrays then have a leading axis of one
        row per key, drawn in one batch: :func:`gdjax.data.permutation`);
        may be traced.
      num_examples: number of examples ``n >= 1``.
      batch_size: examples per batch, ``1 <= b <= n``.
      remainder: ``"drop"`` drops the last ``n mod b`` examples of the
        permutation; ``"pad"`` completes the last batch with the first indices
        of the permutation and marks them False in ``mask``.
      shuffle: whether to permute the examples.

    Returns:
      A :class:`Batches` with ``indices`` (int32) and ``mask`` (bool), both of
      shape ``(num_batches, batch_size)`` (``(len(key), num_batches,
      batch_size)`` for an array of keys).
    """
    n, b, remainder = _check_sizes(num_examples, batch_size, remainder)
    if not isinstance(shuffle, bool):
        raise ValueError(f"shuffle must be a bool; got {shuffle!r}.")
    if shuffle and key is None:
        raise ValueError("key must be a PRNG key when shuffle=True; got None.")
    return _epoch_batches(key if shuffle else None, n=n, b=b, remainder=remainder)


# Compiled once per (n, b, remainder) and shuffle (key or None): a new key reuses
# the program, and eager callers do not compile each small operation separately.
@functools.partial(jax.jit, static_argnames=("n", "b", "remainder"))
def _epoch_batches(key: jax.Array | None, *, n: int, b: int, remainder: str) -> Batches:
    if key is not None:
        order = permutation(key, n).astype(jnp.int32)  # [n], or [len(key), n] for an array of keys
    else:
        order = jnp.arange(n, dtype=jnp.int32)
    count = n // b if remainder == "drop" else -(-n // b)
    size = count * b
    if size <= n:  # "drop", or "pad" with b dividing n
        indices = order[..., :size]
        mask = jnp.ones((size,), dtype=bool)
    else:
        # size - n < b <= n, so wrapping once to the start of the permutation
        # always suffices and every padded index is a valid example.
        indices = jnp.concatenate([order, order[..., : size - n]], axis=-1)
        mask = jnp.arange(size) < n
    shape = order.shape[:-1] + (count, b)
    return Batches(indices=indices.reshape(shape), mask=jnp.broadcast_to(mask.reshape(count, b), shape))


def masked_mean(values: jax.Array, mask: jax.Array) -> jax.Array:
    """Mean of ``values`` over the entries where ``mask`` is True.

    ``sum_i m_i v_i / max(sum_i m_i, 1)``: the mean of per-example losses over
    the real examples of a padded batch. ``mask`` has the shape of ``values``
    or of its leading axes (e.g. ``(b,)`` against per-example values of shape
    ``(b, k)``), and the mean is over those leading axes; trailing axes are
    kept. Masked-out values are excluded with ``where`` rather than multiplied
    by zero (``0 * nan`` is NaN), so a NaN or infinity in a padded slot cannot
    leak into the result, and the gradient with respect to a masked-out value
    is exactly 0. An all-False mask gives 0.

    Args:
      values: array whose leading axes match ``mask``.
      mask: boolean array.

    Returns:
      The masked mean, of shape ``values.shape[mask.ndim:]`` (floating
      ``values`` keep their dtype).
    """
    values = jnp.asarray(values)
    mask = jnp.asarray(mask, dtype=bool)
    if values.shape[: mask.ndim] != mask.shape:
        raise ValueError(
            f"mask must have the shape of the leading axes of values; got mask shape "
            f"{mask.shape} and values shape {values.shape}."
        )
    axes = tuple(range(mask.ndim))
    full = mask.reshape(mask.shape + (1,) * (values.ndim - mask.ndim))
    total = jnp.sum(jnp.where(full, values, jnp.zeros((), values.dtype)), axis=axes)
    count = jnp.maximum(jnp.sum(mask), 1).astype(values.dtype)
    return total / count


def take(tree: Any, indices: jax.Array) -> Any:
    """Rows ``indices`` of every leaf of ``tree`` (e.g. ``take((x, y), idx)``).

    Works with the index matrix of one batch (shape ``(b,)``) or of a whole
    epoch (shape ``(num_batches, b)``, giving leaves of shape
    ``(num_batches, b, ...)`` ready to be scanned over).
    """
    return jax.tree.map(lambda leaf: jnp.take(leaf, indices, axis=0), tree)

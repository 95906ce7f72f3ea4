"""Random permutations: ``jax.random.permutation``'s, drawn faster on a CPU.

``jax.random.permutation(key, n)`` shuffles by sorting: each of its rounds
(one for ``n <= 1625``) draws ``k = bits(subkey, (n,))``, 32 random bits an
element, and reorders the elements by the stable argsort of ``k`` (by key,
ties by position). XLA's CPU sort of keys with values calls a compiled
comparator for every comparison, about 6x slower than its sort of one
integer array; for a small training, drawing its epochs' orders is a large
part of the run (100 epochs of 242 rows: 3.9 ms of sorting).

:func:`permutation` computes the same stable argsort from sorts of one
integer array, ``s = ceil(log2 n)`` bits of each holding a position:

1. sort ``(k with its low s bits cleared) | i``: the elements in order of the
   top ``32 - s`` bits of their key, ties by position ``i`` (the low bits);
2. only elements whose keys agree in those bits (neighbours now, rarely more
   than two) can still be out of order. If any are, sort again by
   ``(start of the element's group) | (the next bits of its key) | position``
   until every bit of the keys is used (one more sort for ``n <= 1024``).

It is the very permutation ``jax.random.permutation`` returns, bit for bit
(the tests compare them). A call permutes for a batch of keys at once (an
epoch's order for every epoch of a training), and the second sort runs only
if a row needs it (about one call in twelve for 100 epochs of 242 rows).
JAX's permutation runs instead beyond ``FAST_MAX`` elements a row (more
sorts), for calls of fewer than ``FAST_MIN_TOTAL`` elements in all (as quick,
and quicker to compile) and off the CPU, where sorting keys with values is
fast.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from gdjax._checks import check_int

#: Most elements permuted by the integer sorts (at most three of them); beyond, JAX's sort of keys and values.
FAST_MAX = 2**12
#: Fewest elements of a call (keys x n) worth the integer sorts: below, JAX's sort is as quick and compiles sooner.
FAST_MIN_TOTAL = 2**14


def permutation(key: jax.Array, n: int) -> jax.Array:
    """A uniformly random permutation of ``0 .. n - 1``: exactly ``jax.random.permutation(key, n)``.

    The same rounds as JAX's (``ceil(3 ln n / ln(2**32 - 1))`` of them), each
    reordering the elements by the stable argsort of fresh 32-bit keys,
    computed on the CPU with integer sorts instead of a sort of keys and
    values (see the module docs). ``key`` may be traced, typed or raw, and a
    1-D array of keys gives one permutation per key (in one batch of sorts).

    Example::

        >>> import jax
        >>> key = jax.random.key(0)
        >>> bool((permutation(key, 242) == jax.random.permutation(key, 242)).all())
        True
        >>> permutation(jax.random.split(key, 100), 242).shape  # one per key
        (100, 242)

    Args:
      key: a PRNG key (typed, or raw ``uint32[2]``), or a 1-D array of them.
      n: number of elements, ``>= 0``.

    Returns:
      The permutations, of JAX's default integer dtype: shape ``(n,)``, or
      ``(len(key), n)`` for an array of keys.
    """
    n = check_int("n", n, minimum=0)
    typed = jax.dtypes.issubdtype(key.dtype, jax.dtypes.prng_key)
    batch = key.shape if typed else key.shape[:-1]
    if len(batch) > 1:
        raise ValueError(f"key must be one PRNG key or a 1-D array of them; got keys of shape {batch}.")
    keys = key if batch else key[None]
    if n > FAST_MAX or len(keys) * n < FAST_MIN_TOTAL or jax.default_backend() != "cpu":
        orders = jax.vmap(lambda k: jax.random.permutation(k, n))(keys)
    else:
        rounds = math.ceil(3 * np.log(max(1, n)) / np.log(np.iinfo(np.uint32).max))
        orders = jnp.broadcast_to(jnp.arange(n), (len(keys), n))
        for _ in range(rounds):
            keys, subkeys = jnp.moveaxis(jax.vmap(jax.random.split)(keys), 1, 0)
            bits = jax.vmap(lambda k: jax.random.bits(k, (n,), jnp.uint32))(subkeys)
            orders = jnp.take_along_axis(orders, _stable_argsort(bits), axis=1)
    return orders if batch else orders[0]


def _stable_argsort(keys: jax.Array) -> jax.Array:
    """``argsort(keys, axis=1, stable=True)`` of ``uint32[m, n]`` keys, ``n <= FAST_MAX``: int32 positions."""
    m, n = keys.shape
    if n <= 1:
        return jnp.zeros((m, n), jnp.int32)
    bits = (n - 1).bit_length()
    low = jnp.uint32((1 << bits) - 1)
    positions = jnp.arange(n, dtype=jnp.uint32)
    order = lax.sort((keys & ~low) | positions) & low  # by the top 32 - bits bits, ties by position
    sorted_keys = jnp.take_along_axis(keys, order.astype(jnp.int32), axis=1)
    before, after = sorted_keys[:, :-1], sorted_keys[:, 1:]
    in_order = jnp.all((before < after) | ((before == after) & (order[:, :-1] < order[:, 1:])))

    def refine(order: jax.Array) -> jax.Array:
        sorted_keys = jnp.take_along_axis(keys, order.astype(jnp.int32), axis=1)
        done = 32 - bits  # top bits of the keys already in order
        while done < 32:
            chunk = min(32 - done, 32 - 2 * bits)
            prefix = sorted_keys >> (32 - done)
            starts = jnp.concatenate([jnp.ones((m, 1), bool), prefix[:, 1:] != prefix[:, :-1]], axis=1)
            group = lax.cummax(jnp.where(starts, positions, 0), axis=1)  # where the element's group starts
            part = (sorted_keys >> (32 - done - chunk)) & jnp.uint32((1 << chunk) - 1)
            rank = lax.sort((group << (chunk + bits)) | (part << bits) | positions) & low
            order = jnp.take_along_axis(order, rank.astype(jnp.int32), axis=1)
            sorted_keys = jnp.take_along_axis(sorted_keys, rank.astype(jnp.int32), axis=1)
            done += chunk
        return order

    return lax.cond(in_order, lambda order: order, refine, order).astype(jnp.int32)

"""gdjax.data.permutation: jax.random.permutation's permutations, bit for bit, from integer sorts."""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jax import lax

from gdjax.data import epoch_batches, permutation
from gdjax.data._permutation import FAST_MAX, FAST_MIN_TOTAL, _stable_argsort

KEY = jax.random.key(0)


@functools.partial(jax.jit, static_argnums=1)
def jax_permutations(keys, n):
    return jax.vmap(lambda k: jax.random.permutation(k, n))(keys)


@functools.partial(jax.jit, static_argnums=1)
def permutations(keys, n):
    return permutation(keys, n)


@jax.jit
def stable_argsort_reference(keys):
    return lax.sort_key_val(keys, jnp.broadcast_to(jnp.arange(keys.shape[1], dtype=jnp.int32), keys.shape))[1]


# Edges: the bits of a position (256 | 257, 1024 | 1025: a third sort), JAX's second round (1625 | 1626).
@pytest.mark.parametrize("n", [2, 242, 257, 1025, 1626, 4096])
def test_equals_jax_permutation_through_the_integer_sorts(n):
    # Enough keys that the call takes the integer sorts (n > 1625: JAX's two rounds).
    count = max(4, -(-FAST_MIN_TOTAL // n))
    keys = jax.random.split(jax.random.fold_in(KEY, n), count)
    np.testing.assert_array_equal(permutations(keys, n), jax_permutations(keys, n))


@pytest.mark.parametrize("n", [0, 1, 5, 242, FAST_MAX + 1])
def test_single_keys_small_calls_and_long_rows_are_jax_own(n):
    # Below FAST_MIN_TOTAL elements, and beyond FAST_MAX a row, JAX's permutation runs: still the same values.
    for seed in range(3):
        key = jax.random.key(seed)
        got = permutation(key, n)
        assert got.shape == (n,) and got.dtype == jnp.arange(1).dtype
        np.testing.assert_array_equal(got, jax.random.permutation(key, n))


def test_raw_keys_and_traced_keys():
    raw = jax.random.split(jax.random.PRNGKey(3), 100)  # uint32[100, 2]
    np.testing.assert_array_equal(permutation(raw, 242), jax_permutations(raw, 242))
    keys = jax.random.split(KEY, 100)
    np.testing.assert_array_equal(permutations(keys, 242), jax_permutations(keys, 242))


def test_vmapped_calls_equal_jax_too():
    # Under an outer vmap (restarts with their own orders) the second sort's branch becomes a select.
    keys = jax.random.split(KEY, (3, 100))
    got = jax.jit(jax.vmap(lambda k: permutation(k, 242)))(keys)
    np.testing.assert_array_equal(got, jax.vmap(lambda k: jax_permutations(k, 242))(keys))


@settings(max_examples=25, deadline=None)
@given(
    n=st.sampled_from([2, 37, 300, 1025, 4096]),
    high=st.integers(1, 8),
    low=st.integers(1, 2**12),
    seed=st.integers(0, 2**31 - 1),
)
def test_stable_argsort_of_colliding_keys(n, high, low, seed):
    # Keys drawn from few values, agreeing in their top bits: every stage of the sorts and ties of any length.
    a, b = jax.random.split(jax.random.key(seed))
    tops = jax.random.randint(a, (3, n), 0, high).astype(jnp.uint32) << 24
    keys = tops | jax.random.randint(b, (3, n), 0, low).astype(jnp.uint32)
    np.testing.assert_array_equal(jax.jit(_stable_argsort)(keys), stable_argsort_reference(keys))


def test_stable_argsort_of_equal_keys_keeps_positions():
    keys = jnp.full((2, 300), 7, jnp.uint32)
    np.testing.assert_array_equal(_stable_argsort(keys), np.tile(np.arange(300), (2, 1)))


def test_permutation_under_float64():
    with jax.enable_x64(True):
        keys = jax.random.split(KEY, 100)
        got = jax.jit(lambda k: permutation(k, 242))(keys)
        assert got.dtype == jnp.int64
        np.testing.assert_array_equal(got, jax_permutations(keys, 242))


def test_bad_arguments():
    with pytest.raises(ValueError, match="n must be >= 0"):
        permutation(KEY, -1)
    with pytest.raises(ValueError, match="n must be an integer"):
        permutation(KEY, 2.5)
    with pytest.raises(ValueError, match="1-D array"):
        permutation(jax.random.split(KEY, (2, 3)), 10)


def test_epoch_batches_of_an_array_of_keys():
    keys = jax.random.split(KEY, 100)
    batches = epoch_batches(keys, 242, 32)
    assert batches.indices.shape == batches.mask.shape == (100, 7, 32)
    for e in (0, 57, 99):
        np.testing.assert_array_equal(batches.indices[e], epoch_batches(keys[e], 242, 32).indices)
    padded = epoch_batches(keys[:3], 11, 4, remainder="pad")
    for e in range(3):
        one = epoch_batches(keys[e], 11, 4, remainder="pad")
        np.testing.assert_array_equal(padded.indices[e], one.indices)
        np.testing.assert_array_equal(padded.mask[e], one.mask)

"""Epoch batching: course semantics, the remainder policies, jit/vmap/scan use."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gdjax.data import Batches, epoch_batches, masked_mean, num_batches, take

KEY = jax.random.key(0)


# --------------------------------------------------------------- num_batches


def test_course_semantics_num_batches():
    assert num_batches(10_000, 500) == 20
    assert num_batches(10_000, 500, "pad") == 20
    assert num_batches(10_000, 1) == 10_000  # SGD: one update per example
    assert num_batches(10_000, 10_000) == 1  # batch gradient descent
    assert num_batches(10, 3, "drop") == 3
    assert num_batches(10, 3, "pad") == 4


def test_epoch_of_course_example_has_20_batches_of_500():
    batches = epoch_batches(KEY, 10_000, 500)
    assert batches.indices.shape == (20, 500)
    assert batches.mask.shape == (20, 500)
    assert bool(batches.mask.all())
    assert sorted(np.asarray(batches.indices).ravel().tolist()) == list(range(10_000))


def test_sgd_and_full_batch():
    sgd = epoch_batches(KEY, 7, 1)
    assert sgd.indices.shape == (7, 1)
    assert sorted(np.asarray(sgd.indices).ravel().tolist()) == list(range(7))
    full = epoch_batches(KEY, 7, 7, shuffle=False)
    np.testing.assert_array_equal(full.indices, [list(range(7))])
    assert bool(full.mask.all())


# ---------------------------------------------------------- remainder policy


def test_unshuffled_drop_is_in_order_without_the_tail():
    batches = epoch_batches(None, 10, 4, shuffle=False)
    np.testing.assert_array_equal(batches.indices, [[0, 1, 2, 3], [4, 5, 6, 7]])
    assert batches.mask.dtype == jnp.bool_ and bool(batches.mask.all())


def test_unshuffled_pad_wraps_and_masks_the_padding():
    batches = epoch_batches(None, 10, 4, remainder="pad", shuffle=False)
    np.testing.assert_array_equal(batches.indices, [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9, 0, 1]])
    np.testing.assert_array_equal(batches.mask, [[True] * 4, [True] * 4, [True, True, False, False]])


def test_shuffled_pad_padding_repeats_the_start_of_the_permutation():
    batches = epoch_batches(KEY, 10, 4, remainder="pad")
    flat = np.asarray(batches.indices).ravel()
    mask = np.asarray(batches.mask).ravel()
    assert sorted(flat[mask].tolist()) == list(range(10))  # each example exactly once
    np.testing.assert_array_equal(flat[~mask], flat[:2])
    np.testing.assert_array_equal(mask, [True] * 10 + [False] * 2)


def test_pad_with_divisible_size_has_no_padding():
    batches = epoch_batches(KEY, 12, 4, remainder="pad")
    assert batches.indices.shape == (3, 4) and bool(batches.mask.all())


def test_shuffled_order_is_jax_permutation_of_the_key():
    key = jax.random.key(3)
    batches = epoch_batches(key, 12, 5)
    expected = np.asarray(jax.random.permutation(key, 12))[:10].reshape(2, 5)
    np.testing.assert_array_equal(batches.indices, expected)


@settings(max_examples=15, deadline=None)
@given(
    n=st.integers(1, 16),
    b_frac=st.floats(0.0, 1.0),
    remainder=st.sampled_from(["drop", "pad"]),
    seed=st.integers(0, 2**31 - 1),
)
def test_batches_invariants(n, b_frac, remainder, seed):
    b = max(1, min(n, round(b_frac * n)))
    batches = epoch_batches(jax.random.key(seed), n, b, remainder=remainder)
    count = num_batches(n, b, remainder)
    assert count == (n // b if remainder == "drop" else -(-n // b))
    assert batches.indices.shape == batches.mask.shape == (count, b)
    assert batches.indices.dtype == jnp.int32
    flat = np.asarray(batches.indices).ravel()
    mask = np.asarray(batches.mask).ravel()
    assert flat.min() >= 0 and flat.max() < n
    real = flat[mask]
    assert len(set(real.tolist())) == len(real)  # no example twice among real slots
    assert len(real) == (n // b) * b if remainder == "drop" else len(real) == n
    # Padding only at the very end of the last batch.
    assert mask.tolist() == sorted(mask.tolist(), reverse=True)


# ---------------------------------------------------- keys, jit, vmap, scan


def test_same_key_same_epoch_and_fresh_permutation_per_epoch():
    a = epoch_batches(KEY, 50, 10)
    b = epoch_batches(KEY, 50, 10)
    np.testing.assert_array_equal(a.indices, b.indices)
    epochs = [np.asarray(epoch_batches(jax.random.fold_in(KEY, e), 50, 10).indices) for e in range(3)]
    assert not np.array_equal(epochs[0], epochs[1])
    assert not np.array_equal(epochs[1], epochs[2])


def test_raw_uint32_key_is_accepted():
    raw = jax.random.PRNGKey(1)
    batches = epoch_batches(raw, 9, 3)
    assert sorted(np.asarray(batches.indices).ravel().tolist()) == list(range(9))


def test_jit_with_traced_key_matches_eager_and_compiles_once():
    @jax.jit
    def f(key):
        return epoch_batches(key, 11, 4, remainder="pad")

    for seed in (0, 1):
        key = jax.random.key(seed)
        got, want = f(key), epoch_batches(key, 11, 4, remainder="pad")
        np.testing.assert_array_equal(got.indices, want.indices)
        np.testing.assert_array_equal(got.mask, want.mask)
    assert f._cache_size() == 1


def test_vmap_over_keys():
    keys = jax.random.split(KEY, 3)
    batched = jax.vmap(lambda k: epoch_batches(k, 8, 3, remainder="pad"))(keys)
    assert isinstance(batched, Batches)
    assert batched.indices.shape == (3, 3, 3)
    for i in range(3):
        np.testing.assert_array_equal(batched.indices[i], epoch_batches(keys[i], 8, 3, remainder="pad").indices)


def test_scan_over_epochs_and_batches_trains_linear_regression():
    # y = 2x + 1 fitted by minibatch SGD on padded batches: the whole training in
    # one scan over epochs, each scanning over its batches.
    x = jnp.linspace(-1.0, 1.0, 23)
    y = 2.0 * x + 1.0

    def per_example(params, xb, yb):
        w, c = params
        return (w * xb + c - yb) ** 2

    def epoch(params, e):
        batches = epoch_batches(jax.random.fold_in(KEY, e), 23, 5, remainder="pad")

        def step(p, batch):
            idx, mask = batch
            g = jax.grad(lambda q: masked_mean(per_example(q, x[idx], y[idx]), mask))(p)
            return jax.tree.map(lambda a, b: a - 0.3 * b, p, g), None

        params, _ = jax.lax.scan(step, params, batches)
        return params, None

    params, _ = jax.jit(lambda p: jax.lax.scan(epoch, p, jnp.arange(60)))((jnp.zeros(()), jnp.zeros(())))
    np.testing.assert_allclose(params, (2.0, 1.0), atol=1e-4)


def test_indices_stay_int32_under_x64():
    with jax.enable_x64(True):
        batches = epoch_batches(jax.random.key(0), 6, 4, remainder="pad")
        assert batches.indices.dtype == jnp.int32


# -------------------------------------------------------------- masked_mean


def test_masked_mean_is_mean_of_real_entries():
    values = jnp.array([1.0, 2.0, 3.0, 100.0])
    mask = jnp.array([True, True, True, False])
    assert float(masked_mean(values, mask)) == pytest.approx(2.0)


def test_masked_mean_over_padded_epoch_sums_each_example_once():
    values = jnp.arange(10.0) ** 2
    batches = epoch_batches(KEY, 10, 4, remainder="pad")
    means = jax.jit(jax.vmap(masked_mean))(values[batches.indices], batches.mask)
    np.testing.assert_allclose(means[:2], values[batches.indices[:2]].mean(axis=1), rtol=1e-6)
    # The last batch holds 2 real examples: its mean is over those two only.
    last = np.asarray(values[batches.indices[2, :2]])
    assert float(means[2]) == pytest.approx(last.mean())
    sizes = np.asarray(batches.mask.sum(axis=1))
    assert float(np.dot(means, sizes)) == pytest.approx(float(values.sum()))


def test_masked_mean_blocks_nan_in_padding_and_its_gradient():
    values = jnp.array([1.0, 3.0, jnp.nan])
    mask = jnp.array([True, True, False])
    assert float(masked_mean(values, mask)) == pytest.approx(2.0)
    grad = jax.grad(masked_mean)(values, mask)
    np.testing.assert_array_equal(grad, [0.5, 0.5, 0.0])
    # Multiplying by the mask instead would give NaN: 0 * NaN.
    assert np.isnan(float(jnp.sum(values * mask.astype(jnp.float32)) / 2))


def test_masked_mean_keeps_trailing_axes_and_dtype():
    values = jnp.array([[1.0, 10.0], [3.0, 30.0], [7.0, 70.0]], dtype=jnp.float32)
    mask = jnp.array([True, True, False])
    out = masked_mean(values, mask)
    assert out.dtype == jnp.float32
    np.testing.assert_allclose(out, [2.0, 20.0])
    np.testing.assert_allclose(masked_mean(values, values < 20.0), (1 + 10 + 3 + 7) / 4, rtol=1e-6)


def test_masked_mean_all_false_is_zero():
    assert float(masked_mean(jnp.array([5.0, 6.0]), jnp.array([False, False]))) == 0.0


def test_masked_mean_shape_mismatch_is_an_error():
    with pytest.raises(ValueError, match="mask must have the shape"):
        masked_mean(jnp.ones((3,)), jnp.ones((4,), dtype=bool))


def test_take_gathers_every_leaf_per_batch():
    x = jnp.arange(12.0).reshape(6, 2)
    y = jnp.arange(6.0) * 10
    batches = epoch_batches(None, 6, 3, shuffle=False)
    xb, yb = take((x, y), batches.indices)
    assert xb.shape == (2, 3, 2) and yb.shape == (2, 3)
    np.testing.assert_array_equal(xb[1], x[3:6])
    np.testing.assert_array_equal(yb[0], [0.0, 10.0, 20.0])


# --------------------------------------------------------------- validation


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (dict(num_examples=0, batch_size=1), "num_examples must be >= 1"),
        (dict(num_examples=5, batch_size=0), "batch_size must be >= 1"),
        (dict(num_examples=5, batch_size=6), r"batch_size must be <= num_examples \(5\); got 6"),
        (dict(num_examples=5.0, batch_size=1), "num_examples must be an integer"),
        (dict(num_examples=5, batch_size=True), "batch_size must be an integer"),
        (dict(num_examples=5, batch_size=2, remainder="keep"), "remainder must be one of 'drop', 'pad'; got 'keep'"),
    ],
)
def test_bad_sizes_are_rejected(kwargs, message):
    with pytest.raises(ValueError, match=message):
        num_batches(**kwargs)
    with pytest.raises(ValueError, match=message):
        epoch_batches(KEY, **kwargs)


def test_bad_shuffle_and_missing_key_are_rejected():
    with pytest.raises(ValueError, match="shuffle must be a bool"):
        epoch_batches(KEY, 5, 2, shuffle=1)
    with pytest.raises(ValueError, match="key must be a PRNG key"):
        epoch_batches(None, 5, 2)

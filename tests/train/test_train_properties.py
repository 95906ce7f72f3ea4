"""Property tests: invariants over random chunkings, checkpoints, sizes and starting points.

Each property reuses one compiled program (or only traces shapes), so many
examples stay cheap.
"""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import optax
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gdjax.data import num_batches
from gdjax.train import load_checkpoint, make_trainer, minimize, save_checkpoint

RNG = np.random.default_rng(5)
X = RNG.normal(size=(9, 2)).astype(np.float32)
Y = (X @ np.array([1.0, -0.5])).astype(np.float32)
P0 = {"w": np.zeros(2, np.float32), "b": np.zeros((), np.float32)}
FAST = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def half_mse(params, batch):
    x, y = batch
    return 0.5 * jnp.mean((x @ params["w"] + params["b"] - y) ** 2)


@functools.cache
def chunk_programs():
    trainer = make_trainer(half_mse, optax.adam(0.1), epochs=8, batch_size=4, remainder="pad", record_step_loss=True)
    init, run = jax.jit(trainer.init), jax.jit(trainer.run)
    key = jax.random.key(0)
    whole = run(init(P0, key, (X, Y)), (X, Y), None, None, np.int32(8))
    return init, run, whole


@FAST
@given(st.lists(st.integers(1, 8), min_size=1, max_size=8))
def test_any_chunking_of_the_epochs_gives_the_same_bits(cuts):
    init, run, whole = chunk_programs()
    state = init(P0, jax.random.key(0), (X, Y))
    for until in sorted(set(cuts)) + [8]:
        state = run(state, (X, Y), None, None, np.int32(until))
    for a, b in zip(
        jax.tree.leaves(state.params) + jax.tree.leaves(state.history),
        jax.tree.leaves(whole.params) + jax.tree.leaves(whole.history),
        strict=True,
    ):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


@FAST
@given(
    n=st.integers(1, 40),
    batch=st.integers(1, 40),
    epochs=st.integers(1, 6),
    remainder=st.sampled_from(["drop", "pad"]),
)
def test_history_has_one_row_per_epoch_and_per_iteration(n, batch, epochs, remainder):
    batch = min(batch, n)
    trainer = make_trainer(
        half_mse, optax.sgd(0.1), epochs=epochs, batch_size=batch, remainder=remainder, record_step_loss=True
    )
    data = (jax.ShapeDtypeStruct((n, 2), jnp.float32), jax.ShapeDtypeStruct((n,), jnp.float32))
    shapes = jax.eval_shape(trainer.train, P0, jax.random.key(0), data)
    assert shapes.history.train_loss.shape == (epochs,)
    assert shapes.history.step_loss.shape == (epochs * num_batches(n, batch, remainder),)


leaf_arrays = st.sampled_from([np.float32, np.float64, np.int32, np.bool_, np.uint8]).flatmap(
    lambda dtype: st.lists(st.integers(0, 3), max_size=3).map(
        lambda shape: np.asarray(np.random.default_rng(sum(shape)).normal(size=shape) * 10).astype(dtype)
    )
)
trees = st.recursive(
    leaf_arrays,
    lambda children: st.one_of(
        st.lists(children, max_size=3),
        st.dictionaries(st.text("abcxyz_", min_size=1, max_size=4), children, max_size=3),
    ),
    max_leaves=8,
)


@FAST
@given(trees)
def test_checkpoints_round_trip_any_pytree(tmp_path_factory, tree):
    path = tmp_path_factory.mktemp("ckpt") / "tree.npz"
    with jax.enable_x64(True):
        tree = jax.tree.map(jnp.asarray, tree)
        save_checkpoint(path, tree, metadata={"leaves": len(jax.tree.leaves(tree))})
        restored, metadata = load_checkpoint(path, tree)
    assert metadata == {"leaves": len(jax.tree.leaves(tree))}
    assert jax.tree.structure(restored) == jax.tree.structure(tree)
    for a, b in zip(jax.tree.leaves(restored), jax.tree.leaves(tree), strict=True):
        assert a.dtype == b.dtype
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


def sgd_with(lr):
    return optax.sgd(lr)


def square(x):
    return x**2


@FAST
@given(x0=st.floats(-5, 5).filter(lambda x: abs(x) > 0.01), lr=st.floats(0.01, 0.45))
def test_gradient_descent_on_a_parabola_contracts_by_one_minus_two_lr(x0, lr):
    result = minimize(square, jnp.float32(x0), sgd_with, max_steps=20, tol=0.0, hyperparams=jnp.float32(lr))
    assert result.reason == "max_steps"
    factor = np.float32(1 - 2 * np.float32(lr))
    expected = np.float32(x0) * factor ** np.arange(21, dtype=np.float32)
    np.testing.assert_allclose(result.trajectory, expected, rtol=2e-5, atol=1e-30)

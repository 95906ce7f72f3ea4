"""The pure core: jit/vmap over keys and hyperparameters, chunking, compile-once."""

import jax
import jax.numpy as jnp
import numpy as np
import optax

import gdjax.optim as optim
from gdjax.train import fit, make_trainer

RNG = np.random.default_rng(1)
X = RNG.normal(size=(12, 3)).astype(np.float32)
Y = (X @ np.array([1.0, -1.0, 0.5]) + 0.1 * RNG.normal(size=12)).astype(np.float32)
XV = RNG.normal(size=(6, 3)).astype(np.float32)
YV = (XV @ np.array([1.0, -1.0, 0.5])).astype(np.float32)
P0 = {"w": np.zeros(3, np.float32), "b": np.zeros((), np.float32)}


def half_mse(params, batch):
    x, y = batch
    return 0.5 * jnp.mean((x @ params["w"] + params["b"] - y) ** 2)


def r2(params, batch):
    x, y = batch
    residual = x @ params["w"] + params["b"] - y
    return 1 - jnp.sum(residual**2) / jnp.sum((y - y.mean()) ** 2)


def as_numpy(leaf):
    if jax.dtypes.issubdtype(leaf.dtype, jax.dtypes.prng_key):
        leaf = jax.random.key_data(leaf)
    return np.asarray(leaf)


def assert_trees_equal(a, b):
    for leaf_a, leaf_b in zip(jax.tree.leaves(a), jax.tree.leaves(b), strict=True):
        np.testing.assert_array_equal(as_numpy(leaf_a), as_numpy(leaf_b))


def test_vmap_over_keys_equals_separate_trainings():
    trainer = make_trainer(half_mse, optax.adam(0.05), epochs=4, batch_size=4, metrics={"r2": r2})
    keys = jax.random.split(jax.random.key(0), 3)
    batched = jax.jit(jax.vmap(trainer.train, in_axes=(None, 0, None, None)))(P0, keys, (X, Y), (XV, YV))
    single = jax.jit(trainer.train)
    for i in range(3):
        one = single(P0, keys[i], (X, Y), (XV, YV))
        for leaf_a, leaf_b in zip(jax.tree.leaves(one.params), jax.tree.leaves(batched.params), strict=True):
            np.testing.assert_allclose(leaf_a, leaf_b[i], rtol=1e-6, atol=1e-7)
        np.testing.assert_allclose(one.history.val_metrics["r2"], batched.history.val_metrics["r2"][i], rtol=1e-5)
    # Different shuffles give different trainings.
    assert not np.allclose(batched.params["w"][0], batched.params["w"][1])


def test_vmap_over_traced_hyperparameters_builds_the_optimizer_inside():
    trainer = make_trainer(
        half_mse,
        lambda h: optim.sgd(h["lr"], momentum=h["momentum"]),
        epochs=3,
        batch_size=None,
        penalty=lambda p: jnp.sum(p["w"] ** 2),
        penalty_weight=lambda h: h["l2"],
    )
    grid = {"lr": jnp.array([0.05, 0.1, 0.2]), "momentum": jnp.array([0.0, 0.5, 0.9]), "l2": jnp.array([0.0, 0.1, 1.0])}
    batched = jax.jit(jax.vmap(trainer.train, in_axes=(None, None, None, None, 0)))(
        P0, jax.random.key(0), (X, Y), None, grid
    )
    for i in range(3):
        fixed = make_trainer(
            half_mse,
            optax.sgd(float(grid["lr"][i]), momentum=float(grid["momentum"][i]) or None),
            epochs=3,
            penalty=lambda p: jnp.sum(p["w"] ** 2),
            penalty_weight=float(grid["l2"][i]),
        )
        one = jax.jit(fixed.train)(P0, jax.random.key(0), (X, Y))
        np.testing.assert_allclose(batched.params["w"][i], one.params["w"], rtol=1e-5, atol=1e-7)
        # The gdjax optimizer's state carries the learning rate: recorded per member.
        np.testing.assert_allclose(batched.history.learning_rate[i], np.full(3, grid["lr"][i]), rtol=1e-7)


def test_chunked_runs_are_bit_identical_and_reuse_one_program():
    traces = []

    def counted(params, batch):
        traces.append(1)  # runs only while tracing
        return half_mse(params, batch)

    trainer = make_trainer(
        counted,
        optax.adam(0.05),
        epochs=7,
        batch_size=5,
        remainder="pad",
        metrics={"r2": r2},
        record_step_loss=True,
    )
    init, run = jax.jit(trainer.init), jax.jit(trainer.run)
    key = jax.random.key(4)
    whole = run(init(P0, key, (X, Y), (XV, YV)), (X, Y), (XV, YV), None, np.int32(7))
    traced = len(traces)
    state = init(P0, key, (X, Y), (XV, YV))
    for until in (2, 3, 6, 7):
        state = run(state, (X, Y), (XV, YV), None, np.int32(until))
        assert int(state.epoch) == until
    assert_trees_equal(whole, state)
    assert len(traces) == traced  # every chunk ran the program compiled for the first
    # The all-in-one function gives the same training.
    together = jax.jit(trainer.train)(P0, key, (X, Y), (XV, YV))
    for leaf_a, leaf_b in zip(jax.tree.leaves(together), jax.tree.leaves(whole), strict=True):
        np.testing.assert_allclose(as_numpy(leaf_a), as_numpy(leaf_b), rtol=1e-6)


def test_fit_in_chunks_equals_fit_in_one_go_and_compiles_once():
    traces = []

    def counted_loss(params, batch):
        traces.append(1)  # runs only while tracing
        return half_mse(params, batch)

    options = dict(optimizer=optax.adam(0.05), epochs=6, key=3, batch_size=4, validation_data=(XV, YV))
    one_go = fit(counted_loss, P0, (X, Y), **options)
    traced_once = len(traces)
    chunked = fit(counted_loss, P0, (X, Y), chunk_epochs=2, **options)
    assert_trees_equal(one_go.state, chunked.state)
    # The first chunk ran the program of the whole run; the later ones a second program, traced once.
    traced_twice = len(traces)
    assert traced_twice > traced_once
    fit(counted_loss, P0, (X, Y), chunk_epochs=4, **options)
    fit(counted_loss, P0, (X, Y), chunk_epochs=3, **options)
    assert len(traces) == traced_twice  # any chunk length reuses the two programs
    # New data values and initial parameters do not recompile either.
    fit(counted_loss, jax.tree.map(lambda a: a + 1, P0), (X + 1, Y), **options)
    assert len(traces) == traced_twice


def test_a_training_is_deterministic_given_its_key():
    options = dict(optimizer=optax.adam(0.05), epochs=3, batch_size=4)
    a = fit(half_mse, P0, (X, Y), key=jax.random.key(5), **options)
    b = fit(half_mse, P0, (X, Y), key=jax.random.key(5), **options)
    c = fit(half_mse, P0, (X, Y), key=jax.random.key(6), **options)
    assert_trees_equal(a.params, b.params)
    assert not np.array_equal(a.params["w"], c.params["w"])


def test_raw_uint32_keys_work_like_typed_keys():
    options = dict(optimizer=optax.adam(0.05), epochs=2, batch_size=4)
    typed = fit(half_mse, P0, (X, Y), key=jax.random.key(2), **options)
    raw = fit(half_mse, P0, (X, Y), key=jax.random.PRNGKey(2), **options)
    assert_trees_equal(typed.params, raw.params)


def test_loss_with_a_key_gets_a_fresh_key_every_step_and_none_when_evaluating():
    def noisy(params, batch, key):
        base = half_mse(params, batch)
        return base if key is None else base + jax.random.uniform(key)  # a pure-noise "dropout"

    ones = np.ones(12, np.float32)  # with zero params every batch has loss 0.5 exactly
    options = dict(
        optimizer=optax.sgd(0.0), epochs=2, batch_size=6, validation_data=(XV, ones[:6]), record_step_loss=True
    )
    result = fit(noisy, P0, (X, ones), key=1, **options)
    noise = result.history.step_loss - 0.5
    assert np.all((noise >= 0) & (noise < 1)) and len(np.unique(noise)) == 4  # one fresh key per step
    np.testing.assert_array_equal(result.history.val_loss, [0.5, 0.5])  # evaluated with key=None
    again = fit(noisy, P0, (X, ones), key=1, **options)
    other = fit(noisy, P0, (X, ones), key=2, **options)
    np.testing.assert_array_equal(again.history.step_loss, result.history.step_loss)
    assert not np.any(other.history.step_loss == result.history.step_loss)

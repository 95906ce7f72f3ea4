"""Random restarts and sweeps: equal to separate trainings, chunk-independent, honest about divergence."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import gdjax
from gdjax import optim
from gdjax.restarts import minimize_restarts, restarts, sweep
from gdjax.train import EarlyStopping, make_trainer, minimize

X = jax.random.normal(jax.random.key(0), (40, 3))
Y = (X @ jnp.array([1.0, -2.0, 0.5]) + 0.3 * jax.random.normal(jax.random.key(1), (40,)) > 0).astype(jnp.float32)
DATA, VAL = (X[:32], Y[:32]), (X[32:], Y[32:])
NET = gdjax.models.mlp([3, 4, 1], hidden="tanh")


def loss(params, batch):
    return gdjax.losses.sigmoid_binary_cross_entropy(NET.logits(params, batch[0]), batch[1])


def accuracy(params, batch):
    return gdjax.metrics.accuracy(NET.apply(params, batch[0]), batch[1])


ADAM = optim.adam(0.05)
BASE = dict(optimizer=ADAM, epochs=6, batch_size=8, validation_data=VAL, metrics={"accuracy": accuracy})


@pytest.fixture(scope="module")
def shared_runs():
    return restarts(loss, NET.init, DATA, key=3, num_restarts=6, tile_size=2, **BASE)


def _leaves_equal(a, b):
    return all(np.array_equal(x, y) for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b)))


def test_each_restart_equals_its_own_fit(shared_runs):
    init_keys = jax.random.split(jax.random.fold_in(jax.random.key(3), 0), 6)
    order_key = jax.random.fold_in(jax.random.key(3), 1)
    for i in (0, 4):
        alone = gdjax.fit(loss, NET.init(init_keys[i]), DATA, key=order_key, **BASE)
        for a, b in zip(jax.tree.leaves(alone.params), jax.tree.leaves(shared_runs.params_at(i))):
            np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(alone.history.train_loss, shared_runs.history.train_loss[i], rtol=1e-5)
        np.testing.assert_allclose(
            alone.history.val_metrics["accuracy"], shared_runs.history.val_metrics["accuracy"][i]
        )
    np.testing.assert_allclose(shared_runs.final_loss[0], loss(shared_runs.params_at(0), DATA), rtol=1e-6)
    np.testing.assert_allclose(shared_runs.final_val_metrics["accuracy"][4], accuracy(shared_runs.params_at(4), VAL))


def test_results_do_not_depend_on_the_chunk_size(shared_runs):
    for chunk in (2, 4):
        chunked = restarts(loss, NET.init, DATA, key=3, num_restarts=6, tile_size=2, chunk_size=chunk, **BASE)
        assert _leaves_equal(chunked.params, shared_runs.params)
        assert np.array_equal(chunked.final_loss, shared_runs.final_loss)
        assert np.array_equal(chunked.history.train_loss, shared_runs.history.train_loss)


def test_restarts_differ_in_initialisation_only_and_stats(shared_runs):
    assert shared_runs.batch_shape == (6,)
    assert len(set(np.round(shared_runs.final_loss, 6))) == 6  # different starts, different ends
    best = shared_runs.best_index
    assert shared_runs.final_val_loss[best] == np.min(shared_runs.final_val_loss)
    summary = shared_runs.loss_summary()
    assert summary.count == 6 and summary.diverged == 0
    assert summary.min == pytest.approx(float(np.min(shared_runs.final_loss)))
    threshold = float(np.median(shared_runs.final_loss))
    assert shared_runs.success(threshold).successes == int(np.sum(shared_runs.final_loss <= threshold))


def test_per_restart_data_order_matches_fit_with_its_own_key():
    runs = restarts(loss, NET.init, DATA, key=5, num_restarts=2, data_order="per_restart", **BASE)
    init_key = jax.random.split(jax.random.fold_in(jax.random.key(5), 0), 2)[1]
    order_key = jax.random.split(jax.random.fold_in(jax.random.key(5), 1), 2)[1]
    alone = gdjax.fit(loss, NET.init(init_key), DATA, key=order_key, **BASE)
    np.testing.assert_allclose(alone.history.train_loss, runs.history.train_loss[1], rtol=1e-5)


def test_vmapped_early_stopping_equals_separate_trainings():
    stop = EarlyStopping(patience=1, monitor="val_loss", min_delta=1e-2)
    trainer = make_trainer(loss, optim.sgd(0.5), epochs=12, batch_size=8, early_stopping=stop)
    params = jax.vmap(NET.init)(jax.random.split(jax.random.key(2), 3))
    together = jax.jit(jax.vmap(lambda p: trainer.train(p, jax.random.key(0), DATA, VAL)))(params)
    assert np.any(np.asarray(together.stopped))  # the scenario exercises early stopping
    single = jax.jit(lambda p: trainer.train(p, jax.random.key(0), DATA, VAL))
    for i in range(3):
        alone = single(jax.tree.map(lambda a: a[i], params))
        assert int(alone.epoch) == int(together.epoch[i]) and bool(alone.stopped) == bool(together.stopped[i])
        for x, y in zip(
            jax.tree.leaves(alone.params), jax.tree.leaves(together.params)
        ):  # products laid out differently
            np.testing.assert_allclose(x, y[i], rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(alone.history.train_loss, together.history.train_loss[i], rtol=1e-5)


LINEAR = gdjax.models.linear_regression(3)
TARGETS = X @ jnp.array([1.0, -2.0, 0.5])


def mse(params, batch):
    return gdjax.losses.mse(LINEAR.apply(params, batch[0]), batch[1])


def test_sweep_grid_with_common_random_numbers_and_divergence():
    grid = {"learning_rate": [0.01, 0.1, 50.0], "momentum": [0.0, 0.5]}
    make = lambda h: optim.sgd(h["learning_rate"], h["momentum"])
    data = (X, TARGETS)
    result = sweep(mse, LINEAR.init, data, optimizer=make, grid=grid, key=7, num_restarts=2, epochs=40)
    assert result.batch_shape == (3, 2, 2)
    np.testing.assert_allclose(result.grid["learning_rate"], [0.01, 0.1, 50.0])
    # the huge rate diverges: flagged with its step, NaN final loss, kept out of the statistics
    assert result.diverged[2].all() and not result.diverged[:2].any()
    assert np.isnan(result.final_loss[2]).all() and (result.diverged_step[2] >= 0).all()
    assert np.all(np.isfinite(jax.tree.leaves(result.params_at((2, 0, 1)))[0]))  # last finite params kept
    assert np.all(result.final_loss[1] < result.final_loss[0])  # 0.1 beats 0.01 in 40 steps
    pooled = result.loss_summary(pooled=True)
    assert pooled.count == 8 and pooled.diverged == 4
    per_point = result.loss_summary()  # one summary per grid point
    assert per_point.count.tolist() == [[2, 2], [2, 2], [0, 0]] and per_point.diverged[2].tolist() == [2, 2]
    # grid point (lr=0.1, m=0.5) == restarts() with that optimizer (same init keys)
    alone = restarts(mse, LINEAR.init, data, optimizer=optim.sgd(0.1, 0.5), key=7, num_restarts=2, epochs=40)
    np.testing.assert_allclose(result.final_loss[1, 1], alone.final_loss, rtol=1e-5)
    # the same grid with other values reuses the compiled program
    from gdjax.restarts import _batched

    misses = _batched._compiled_cached.cache_info().misses
    sweep(
        mse,
        LINEAR.init,
        data,
        optimizer=make,
        grid={"learning_rate": [0.02, 0.2, 0.3], "momentum": [0.1, 0.6]},
        key=7,
        num_restarts=2,
        epochs=40,
    )
    assert _batched._compiled_cached.cache_info().misses == misses


def test_optax_optimizer_and_penalty_weight_from_the_grid():
    result = sweep(
        loss,
        NET.init,
        DATA,
        optimizer=lambda h: optax.sgd(0.1),
        grid={"weight": [0.0, 1.0]},
        penalty=gdjax.losses.l2_penalty,
        penalty_weight=lambda h: h["weight"],
        key=1,
        num_restarts=2,
        epochs=5,
        batch_size=8,
    )
    norms = [[float(gdjax.losses.l2_penalty(result.params_at((g, r)))) for r in range(2)] for g in range(2)]
    assert all(heavy < light for heavy, light in zip(norms[1], norms[0]))


def test_minimize_restarts_finds_every_minimum_of_himmelblau():
    himmelblau = lambda x: (x[0] ** 2 + x[1] - 11) ** 2 + (x[0] + x[1] ** 2 - 7) ** 2
    starts = jax.random.uniform(jax.random.key(0), (64, 2), minval=-5, maxval=5)
    sgd = optim.sgd(0.01)
    result = minimize_restarts(himmelblau, starts, sgd, max_steps=500, tol=1e-4)
    converged = result.status == gdjax.train.CONVERGED
    assert converged.mean() > 0.9 and np.all(result.value[converged] < 1e-6)
    minima = np.array([[3.0, 2.0], [-2.805118, 3.131312], [-3.779310, -3.283186], [3.584428, -1.848126]])
    found = {int(np.argmin(np.linalg.norm(minima - x, axis=1))) for x in result.x[converged]}
    assert found == {0, 1, 2, 3}
    # Checked every 50 steps (the default here): the same runs as minimize with check_every=50.
    one = minimize(himmelblau, starts[5], sgd, max_steps=500, tol=1e-4, check_every=50)
    np.testing.assert_allclose(one.x, result.x[5], rtol=1e-5)
    assert int(one.num_steps) == int(result.num_steps[5]) and np.all(result.num_steps % 50 == 0)
    # Checked every step: the exact stopping step, as minimize's default gives.
    exact = minimize_restarts(himmelblau, starts[:8], sgd, max_steps=500, tol=1e-4, check_every=1)
    step_by_step = minimize(himmelblau, starts[5], sgd, max_steps=500, tol=1e-4)
    assert int(step_by_step.num_steps) == int(exact.num_steps[5]) < int(one.num_steps)
    np.testing.assert_allclose(step_by_step.x, exact.x[5], rtol=1e-5)
    assert result.trajectory is None
    grid = minimize_restarts(
        himmelblau, starts[:4], lambda h: optim.sgd(h["lr"]), grid={"lr": [0.001, 0.01]}, max_steps=50
    )
    assert grid.x.shape == (2, 4, 2) and np.all(grid.value[1] <= grid.value[0])


def test_bad_input():
    with pytest.raises(ValueError, match="num_restarts must be >= 1; got 0"):
        restarts(loss, NET.init, DATA, key=0, num_restarts=0, **BASE)
    with pytest.raises(ValueError, match="data_order must be one of"):
        restarts(loss, NET.init, DATA, key=0, num_restarts=2, data_order="mixed", **BASE)
    with pytest.raises(ValueError, match=r"chunk_size must be a multiple of tile_size x devices = 2 x 1 = 2.*got 3"):
        restarts(loss, NET.init, DATA, key=0, num_restarts=4, tile_size=2, chunk_size=3, **BASE)
    with pytest.raises(ValueError, match="grid must be a non-empty mapping"):
        sweep(loss, NET.init, DATA, optimizer=lambda h: optim.sgd(0.1), grid={}, key=0, epochs=1)
    with pytest.raises(ValueError, match=r"grid\['learning_rate'\] holds a value the optimizer refuses: learning_rate"):
        sweep(
            loss,
            NET.init,
            DATA,
            optimizer=lambda h: optim.sgd(h["learning_rate"]),
            grid={"learning_rate": [0.1, -1.0]},
            key=0,
            epochs=1,
        )
    with pytest.raises(ValueError, match=r"grid\['momentum'\] must be a non-empty 1-D"):
        sweep(
            loss,
            NET.init,
            DATA,
            optimizer=lambda h: optim.sgd(0.1, h["momentum"]),
            grid={"momentum": []},
            key=0,
            epochs=1,
        )
    with pytest.raises(ValueError, match="optimizer must be a callable hyperparams"):
        sweep(loss, NET.init, DATA, optimizer=ADAM, grid={"lr": [0.1]}, key=0, epochs=1)
    with pytest.raises(ValueError, match=r"starts\[1\] must have 3 starting points"):
        minimize_restarts(lambda x: x[0] ** 2 + x[1] ** 2, [jnp.zeros(3), jnp.zeros(2)], optim.sgd(0.1))
    with pytest.raises(ValueError, match="train_data.*finite"):
        restarts(loss, NET.init, (X.at[0, 0].set(jnp.nan), Y), key=0, num_restarts=2, optimizer=ADAM, epochs=1)

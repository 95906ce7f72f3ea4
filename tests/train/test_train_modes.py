"""fit's three modes against plain NumPy gradient descent, and the course's counting."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import gdjax.optim as optim
from gdjax.data import epoch_batches
from gdjax.train import fit

LR = 0.1
RNG = np.random.default_rng(0)
X = RNG.normal(size=(10, 2)).astype(np.float32)
Y = (X @ np.array([1.5, -2.0]) + 0.5 + 0.1 * RNG.normal(size=10)).astype(np.float32)
P0 = {"w": np.array([0.3, -0.1], np.float32), "b": np.array(0.2, np.float32)}
SGD = optax.sgd(LR)  # one object: every fit below with the same options shares a compiled program


def half_mse(params, batch):
    x, y = batch
    return 0.5 * jnp.mean((x @ params["w"] + params["b"] - y) ** 2)


def reference(batches_per_epoch, epochs):
    """Plain NumPy (float64) gradient descent on ``half_mse``; the index lists say each step's batch."""
    w, b = P0["w"].astype(np.float64), float(P0["b"])
    step_losses = []
    for epoch in range(epochs):
        for idx in batches_per_epoch(epoch):
            x, y = X[idx].astype(np.float64), Y[idx].astype(np.float64)
            r = x @ w + b - y
            step_losses.append(0.5 * np.mean(r**2))
            w, b = w - LR * x.T @ r / len(idx), b - LR * np.mean(r)
    return w, b, np.array(step_losses)


def shuffled(key, batch_size, remainder="drop"):
    """The batches fit draws: epoch e shuffles with the first half of split(fold_in(key, e))."""

    def batches(epoch):
        shuffle_key, _ = jax.random.split(jax.random.fold_in(key, epoch))
        b = epoch_batches(shuffle_key, len(X), batch_size, remainder=remainder)
        return [np.asarray(i)[np.asarray(m)] for i, m in zip(b.indices, b.mask, strict=True)]

    return batches


def check_against(result, w, b, step_losses):
    np.testing.assert_allclose(result.params["w"], w, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(result.params["b"], b, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(result.history.step_loss, step_losses, rtol=1e-5, atol=1e-7)


def test_batch_gradient_descent_is_one_full_step_per_epoch():
    result = fit(half_mse, P0, (X, Y), optimizer=SGD, epochs=5, key=0, record_step_loss=True)
    w, b, losses = reference(lambda e: [np.arange(10)], 5)
    check_against(result, w, b, losses)
    assert (result.epochs, result.steps, result.steps_per_epoch) == (5, 5, 1)
    # One step per epoch: the epoch's loss is the loss of its single (whole-set) batch.
    np.testing.assert_allclose(result.history.train_loss, losses, rtol=1e-5)
    # batch_size == n is the same mode.
    same = fit(half_mse, P0, (X, Y), optimizer=SGD, epochs=5, key=0, batch_size=10)
    np.testing.assert_array_equal(same.params["w"], result.params["w"])


def test_stochastic_gradient_descent_is_n_steps_per_epoch_in_order_without_shuffling():
    result = fit(
        half_mse, P0, (X, Y), optimizer=SGD, epochs=2, key=0, batch_size=1, shuffle=False, record_step_loss=True
    )
    w, b, losses = reference(lambda e: [[i] for i in range(10)], 2)
    check_against(result, w, b, losses)
    assert (result.steps, result.steps_per_epoch) == (20, 10)
    np.testing.assert_allclose(result.history.train_loss, losses.reshape(2, 10).mean(axis=1), rtol=1e-5)


def test_mini_batch_gradient_descent_reshuffles_every_epoch():
    key = jax.random.key(7)
    result = fit(half_mse, P0, (X, Y), optimizer=SGD, epochs=3, key=key, batch_size=3, record_step_loss=True)
    batches = shuffled(key, 3)
    w, b, losses = reference(batches, 3)
    check_against(result, w, b, losses)
    # floor(10 / 3) = 3 iterations per epoch; the remainder is dropped.
    assert (result.steps, result.steps_per_epoch) == (9, 3)
    assert not np.array_equal(np.concatenate(batches(0)), np.concatenate(batches(1)))


def test_padded_last_batch_averages_over_its_real_examples_only():
    key = jax.random.key(3)
    result = fit(
        half_mse, P0, (X, Y), optimizer=SGD, epochs=2, key=key, batch_size=4, remainder="pad", record_step_loss=True
    )
    w, b, losses = reference(shuffled(key, 4, "pad"), 2)
    check_against(result, w, b, losses)
    assert result.steps_per_epoch == 3  # ceil(10 / 4)
    # The epoch loss weights each batch by its real examples: (4 l0 + 4 l1 + 2 l2) / 10.
    expected = (losses.reshape(2, 3) * np.array([4, 4, 2])).sum(axis=1) / 10
    np.testing.assert_allclose(result.history.train_loss, expected, rtol=1e-5)


def test_iterations_follow_the_course_definition():
    # 10 examples: batch 5 -> 2 iterations per epoch; batch 4 drop -> 2; pad -> 3.
    for batch_size, remainder, per_epoch in [(5, "drop", 2), (4, "drop", 2), (4, "pad", 3), (1, "drop", 10)]:
        result = fit(half_mse, P0, (X, Y), optimizer=SGD, epochs=2, key=0, batch_size=batch_size, remainder=remainder)
        assert (result.steps_per_epoch, result.steps) == (per_epoch, 2 * per_epoch)


def test_gdjax_and_optax_optimizers_give_the_same_training():
    key = jax.random.key(1)
    runs = [
        fit(half_mse, P0, (X, Y), optimizer=opt, epochs=4, key=key, batch_size=3)
        for opt in (optim.adam(0.05), optax.adam(0.05))
    ]
    for leaf_a, leaf_b in zip(jax.tree.leaves(runs[0].params), jax.tree.leaves(runs[1].params), strict=True):
        np.testing.assert_allclose(leaf_a, leaf_b, rtol=1e-6, atol=1e-7)
    assert not np.allclose(runs[0].params["w"], P0["w"])


def test_penalty_is_added_with_its_weight():
    def l2(params):
        return jnp.sum(params["w"] ** 2)

    with_penalty = fit(
        half_mse, P0, (X, Y), optimizer=SGD, epochs=3, key=0, penalty=l2, penalty_weight=0.5, record_step_loss=True
    )
    # Ridge gradient descent in closed form: the penalty adds lambda * 2 w to the gradient of w only.
    w, b = P0["w"].astype(np.float64), float(P0["b"])
    for _ in range(3):
        r = X @ w + b - Y
        w, b = w - LR * (X.T @ r / 10 + 0.5 * 2 * w), b - LR * np.mean(r)
    np.testing.assert_allclose(with_penalty.params["w"], w, rtol=1e-5)
    np.testing.assert_allclose(with_penalty.params["b"], b, rtol=1e-5)
    objective = half_mse(P0, (X, Y)) + 0.5 * l2(P0)
    np.testing.assert_allclose(with_penalty.history.step_loss[0], objective, rtol=1e-6)


def test_float64_mode_keeps_float64_and_matches_numpy_tightly():
    with jax.enable_x64(True):
        p0 = jax.tree.map(lambda a: np.asarray(a, np.float64), P0)
        data = (X.astype(np.float64), Y.astype(np.float64))
        result = fit(half_mse, p0, data, optimizer=optax.sgd(LR), epochs=3, key=0, batch_size=1, shuffle=False)
        assert result.params["w"].dtype == np.float64
        assert result.history.train_loss.dtype == np.float64
    w, b, _ = reference(lambda e: [[i] for i in range(10)], 3)
    np.testing.assert_allclose(result.params["w"], w, rtol=1e-12)
    np.testing.assert_allclose(result.params["b"], b, rtol=1e-12)


@pytest.mark.parametrize("dtype", [jnp.bfloat16, jnp.float16])
def test_low_precision_params_keep_their_dtype(dtype):
    p0 = jax.tree.map(lambda a: jnp.asarray(a, dtype), P0)
    result = fit(half_mse, p0, (X, Y), optimizer=SGD, epochs=2, key=0)
    assert result.params["w"].dtype == dtype and result.params["b"].dtype == dtype
    w, _b, _ = reference(lambda e: [np.arange(10)], 2)
    np.testing.assert_allclose(np.asarray(result.params["w"], np.float32), w, rtol=2e-2)

"""Sharpness and noise scale recorded every epoch by gdjax.fit and by every run of a sweep."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import gdjax.optim as optim
from gdjax import diagnostics
from gdjax.restarts import sweep
from gdjax.train import fit

RNG = np.random.default_rng(0)
X = (RNG.normal(size=(40, 3)) * np.array([3.0, 1.0, 0.5])).astype(np.float32)
Y = (X @ np.array([1.0, -2.0, 0.5]) + 0.3 + 0.5 * RNG.normal(size=40)).astype(np.float32)
X_VAL = (RNG.normal(size=(15, 3)) * np.array([2.0, 1.0, 1.0])).astype(np.float32)
Y_VAL = (X_VAL @ np.array([1.0, -2.0, 0.5]) + 0.3).astype(np.float32)
P0 = {"w": np.zeros(3, np.float32), "b": np.array(0.0, np.float32)}


def half_mse(params, batch):
    x, y = batch
    return 0.5 * jnp.mean((x @ params["w"] + params["b"] - y) ** 2)


def top_eigenvalue(x):
    """The Hessian of half_mse over (w, b) is [x 1]ᵀ[x 1]/n, whatever the parameters."""
    design = np.hstack([x, np.ones((len(x), 1))]).astype(np.float64)
    return np.linalg.eigvalsh(design.T @ design / len(x))[-1]


def test_sharpness_is_recorded_every_epoch_on_train_and_validation_data():
    metric = diagnostics.sharpness_metric(half_mse, num_iterations=30, tol=1e-6, key=3)
    result = fit(
        half_mse,
        P0,
        (X, Y),
        optimizer=optim.sgd(0.01),
        epochs=4,
        batch_size=8,
        key=0,
        validation_data=(X_VAL, Y_VAL),
        metrics={"sharpness": metric, "default": diagnostics.sharpness_metric(half_mse)},
    )
    train, val = result.history.metrics["sharpness"], result.history.val_metrics["sharpness"]
    assert train.shape == (4,) and val.shape == (4,) and train.dtype == np.float32
    np.testing.assert_allclose(train, top_eigenvalue(X), rtol=1e-5)
    np.testing.assert_allclose(val, top_eigenvalue(X_VAL), rtol=1e-5)
    assert abs(top_eigenvalue(X) - top_eigenvalue(X_VAL)) > 1.0  # the two sets really differ
    # The defaults (20 products, relative change 1e-3) are close too.
    np.testing.assert_allclose(result.history.metrics["default"], top_eigenvalue(X), rtol=1e-3)
    np.testing.assert_allclose(result.history.val_metrics["default"], top_eigenvalue(X_VAL), rtol=1e-3)


def test_noise_scale_is_recorded_at_each_epochs_parameters():
    seen = []
    result = fit(
        half_mse,
        P0,
        (X, Y),
        optimizer=optim.sgd(0.01),
        epochs=3,
        batch_size=8,
        key=1,
        validation_data=(X_VAL, Y_VAL),
        metrics={"noise": diagnostics.noise_scale_metric(half_mse)},
        chunk_epochs=1,
        callback=lambda r: seen.append(jax.tree.map(np.asarray, r.params)),
    )
    assert len(seen) == 3
    for epoch, params in enumerate(seen):
        expected = diagnostics.gradient_noise_scale(half_mse, params, (X, Y)).b_simple
        expected_val = diagnostics.gradient_noise_scale(half_mse, params, (X_VAL, Y_VAL)).b_simple
        np.testing.assert_allclose(result.history.metrics["noise"][epoch], expected, rtol=1e-5)
        np.testing.assert_allclose(result.history.val_metrics["noise"][epoch], expected_val, rtol=1e-5)
    # B_simple by hand at the first epoch's parameters: per-example gradients r_i (x_i, 1).
    w, b = seen[0]["w"].astype(np.float64), float(seen[0]["b"])
    r = X @ w + b - Y
    g = np.hstack([X, np.ones((len(X), 1))]) * r[:, None]
    mean = g.mean(axis=0)
    np.testing.assert_allclose(result.history.metrics["noise"][0], np.sum(g.var(axis=0)) / (mean @ mean), rtol=1e-4)


def test_metric_arguments_are_checked_when_the_metric_is_made():
    with pytest.raises(ValueError, match="num_iterations must be >= 1; got 0"):
        diagnostics.sharpness_metric(half_mse, num_iterations=0)
    with pytest.raises(ValueError, match="tol must be >= 0.0"):
        diagnostics.sharpness_metric(half_mse, tol=-0.1)
    with pytest.raises(ValueError, match="loss_fn must be callable"):
        diagnostics.noise_scale_metric("half_mse")


def test_a_metric_is_a_pure_jittable_function():
    metric = diagnostics.sharpness_metric(half_mse, key=jax.random.key(4), num_iterations=30, tol=1e-6)
    value = jax.jit(metric)(P0, (X, Y))
    np.testing.assert_allclose(value, top_eigenvalue(X), rtol=1e-5)
    np.testing.assert_array_equal(value, metric(P0, (X, Y)))


def test_sweep_records_sharpness_and_noise_scale_for_every_run():
    def init(key):
        return {"w": 0.1 * jax.random.normal(key, (3,)), "b": jnp.zeros(())}

    result = sweep(
        half_mse,
        init,
        (X, Y),
        optimizer=lambda h: optim.sgd(h["learning_rate"]),
        grid={"learning_rate": [0.01, 0.02]},
        epochs=3,
        batch_size=8,
        key=2,
        num_restarts=2,
        validation_data=(X_VAL, Y_VAL),
        metrics={
            "sharpness": diagnostics.sharpness_metric(half_mse, num_iterations=30, tol=1e-6, key=3),
            "noise": diagnostics.noise_scale_metric(half_mse),
        },
    )
    # The quadratic's Hessian is the same at every point: every run and epoch sees the closed form.
    assert result.history.metrics["sharpness"].shape == (2, 2, 3)
    np.testing.assert_allclose(result.history.metrics["sharpness"], top_eigenvalue(X), rtol=1e-5)
    np.testing.assert_allclose(result.history.val_metrics["sharpness"], top_eigenvalue(X_VAL), rtol=1e-5)
    # B_simple depends on the parameters: each run's final value equals the direct computation at its params.
    for index in np.ndindex(*result.batch_shape):
        params = result.params_at(index)
        expected = diagnostics.gradient_noise_scale(half_mse, params, (X, Y)).b_simple
        np.testing.assert_allclose(result.final_metrics["noise"][index], expected, rtol=1e-4)

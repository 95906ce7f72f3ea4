"""The optimizer's epoch-level parts inside the compiled training: plateaus, parameter averages, L-BFGS."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import gdjax
from gdjax import optim
from gdjax.train import fit, minimize

RNG = np.random.default_rng(11)
X = RNG.normal(size=(24, 3)).astype(np.float32)
W_TRUE = np.array([1.0, -2.0, 0.5], np.float32)
Y = (X @ W_TRUE + 0.3 * RNG.normal(size=24)).astype(np.float32)
XV = RNG.normal(size=(8, 3)).astype(np.float32)
YV = (XV @ W_TRUE + 0.3 * RNG.normal(size=8)).astype(np.float32)
P0 = {"w": np.zeros(3, np.float32), "b": np.zeros((), np.float32)}


def mse(params, batch):
    x, y = batch
    return jnp.mean((x @ params["w"] + params["b"] - y) ** 2)


PLATEAU = dict(monitor="val_loss", factor=0.5, patience=1, threshold=1e-2)


def test_reduce_on_plateau_steps_once_per_epoch_on_the_validation_loss():
    optimizer = optim.reduce_on_plateau(optim.sgd(0.1), **PLATEAU)
    result = fit(mse, P0, (X, Y), optimizer=optimizer, epochs=25, batch_size=8, key=0, validation_data=(XV, YV))
    rates = result.history.learning_rate
    assert rates[0] == pytest.approx(0.1) and rates[-1] < 0.1  # the validation loss plateaued: the rate fell
    # The engine stepped the plateau with each epoch's validation loss: replay them through end_of_epoch.
    state = optimizer.init(P0)
    expected = []
    for val_loss in result.history.val_loss:
        expected.append(float(optim.current_learning_rate(state)))
        state = optim.end_of_epoch(state, {"val_loss": val_loss})
    np.testing.assert_allclose(rates, expected, rtol=1e-6)


def test_every_run_of_a_sweep_keeps_its_own_plateau():
    net = gdjax.models.linear_regression(3)
    runs = gdjax.sweep(
        mse,
        net.init,
        (X, Y),
        optimizer=lambda h: optim.reduce_on_plateau(optim.sgd(h["lr"]), **PLATEAU),
        grid={"lr": [0.01, 0.2]},
        epochs=25,
        batch_size=8,
        key=0,
        num_restarts=2,
        validation_data=(XV, YV),
    )
    rates = runs.history.learning_rate  # (grid, restarts, epochs)
    assert rates.shape == (2, 2, 25)
    for g, lr in enumerate([0.01, 0.2]):
        for r in range(2):
            state = optim.reduce_on_plateau(optim.sgd(lr), **PLATEAU).init(P0)
            expected = []
            for val_loss in runs.history.val_loss[g, r]:
                expected.append(float(optim.current_learning_rate(state)))
                state = optim.end_of_epoch(state, {"val_loss": val_loss})
            np.testing.assert_allclose(rates[g, r], expected, rtol=1e-5)


def test_a_plateau_on_a_value_the_epochs_do_not_have_is_refused():
    optimizer = optim.reduce_on_plateau(optim.sgd(0.1), monitor="val_accuracy")
    with pytest.raises(ValueError, match=r"reduce_on_plateau monitors 'val_accuracy'.*'loss', 'val_loss'"):
        fit(mse, P0, (X, Y), optimizer=optimizer, epochs=2, key=0, validation_data=(XV, YV))


def test_the_average_of_the_parameters_is_evaluated_and_returned():
    optimizer = optim.average_params(optim.sgd(0.05))  # the running mean of every iterate
    result = fit(
        mse,
        P0,
        (X, Y),
        optimizer=optimizer,
        epochs=6,
        key=0,
        validation_data=(XV, YV),
        evaluate_averaged=True,
        record_step_loss=True,
    )
    # The mean of the iterates, recomputed by hand with full-batch gradient descent.
    params, iterates = {k: jnp.asarray(v) for k, v in P0.items()}, []
    for _ in range(6):
        grads = jax.grad(mse)(params, (X, Y))
        params = jax.tree.map(lambda p, g: p - 0.05 * g, params, grads)
        iterates.append(params)
    mean = jax.tree.map(lambda *ps: sum(ps) / len(ps), *iterates)
    np.testing.assert_allclose(result.averaged_params["w"], mean["w"], rtol=1e-5)
    np.testing.assert_allclose(result.params["w"], params["w"], rtol=1e-5)  # the parameters themselves
    np.testing.assert_allclose(result.history.val_loss[-1], mse(mean, (XV, YV)), rtol=1e-5)  # evaluated: the mean
    with pytest.raises(ValueError, match="evaluate_averaged=True needs an optimizer that averages"):
        fit(mse, P0, (X, Y), optimizer=optim.sgd(0.05), epochs=1, key=0, evaluate_averaged=True)


def test_lbfgs_in_a_full_batch_fit_reaches_least_squares():
    result = fit(mse, P0, (X, Y), optimizer=optim.lbfgs(), epochs=12, key=0)
    design = np.hstack([X, np.ones((24, 1), np.float32)])
    solution = np.linalg.lstsq(design, Y, rcond=None)[0]
    np.testing.assert_allclose(result.params["w"], solution[:3], atol=1e-4)
    np.testing.assert_allclose(result.params["b"], solution[3], atol=1e-4)


def test_lbfgs_minimizes_rosenbrock_from_many_starts():
    rosenbrock = lambda x: (1 - x[0]) ** 2 + 100 * (x[1] - x[0] ** 2) ** 2
    one = minimize(rosenbrock, jnp.array([-1.2, 1.0]), optim.lbfgs(), max_steps=100, tol=1e-5)
    assert one.reason == "converged" and int(one.num_steps) < 60
    np.testing.assert_allclose(one.x, [1.0, 1.0], atol=1e-3)
    starts = jax.random.uniform(jax.random.key(0), (32, 2), minval=-2, maxval=2)
    many = gdjax.minimize_restarts(rosenbrock, starts, optim.lbfgs(), max_steps=150, tol=1e-5, check_every=1)
    converged = many.status == gdjax.train.CONVERGED
    assert converged.mean() > 0.9
    np.testing.assert_allclose(many.x[converged], np.ones((converged.sum(), 2)), atol=1e-2)

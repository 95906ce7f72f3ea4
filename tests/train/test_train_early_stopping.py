"""Early stopping against a closed form: it stops patience epochs after the best and restores it.

Scenario: one weight ``w`` (no bias), inputs all 1, training targets 2 and
validation targets 1. Batch gradient descent on ``0.5 (w - 2)^2`` with rate
``lr`` from ``w = 0`` gives ``w_k = 2 - 2 (1 - lr)^k`` after ``k`` updates, and
the validation loss after epoch ``e`` (0-based, ``k = e + 1``) is
``0.5 (w_{e+1} - 1)^2``: it falls while ``w < 1`` and rises for ever after.
"""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import gdjax.optim as optim
from gdjax.train import EarlyStopping, fit, make_trainer
from gdjax.train._early_stopping import init_early_stopping, update_early_stopping

TRAIN = (np.ones((4, 1), np.float32), np.full(4, 2.0, np.float32))
VAL = (np.ones((3, 1), np.float32), np.ones(3, np.float32))
P0 = {"w": np.zeros(1, np.float32)}
SGD = optax.sgd(0.1)


def loss(params, batch):
    x, y = batch
    return 0.5 * jnp.mean((x @ params["w"] - y) ** 2)


def closeness(params, batch):  # a score to maximise: minus the loss
    return -loss(params, batch)


def w_after(k, lr=0.1):
    return 2 - 2 * (1 - lr) ** k


def val_curve(epochs, lr=0.1):
    return 0.5 * (w_after(np.arange(1, epochs + 1), lr) - 1) ** 2


def test_closed_form_scenario_has_its_minimum_at_epoch_6():
    assert int(np.argmin(val_curve(30))) == 6


def test_stops_patience_epochs_after_the_best_and_restores_it():
    result = fit(
        loss,
        P0,
        TRAIN,
        optimizer=SGD,
        epochs=30,
        key=0,
        validation_data=VAL,
        early_stopping=EarlyStopping(patience=3),
    )
    assert result.stopped_early and not result.diverged
    assert result.best_epoch == 6
    assert result.epochs == 10  # epochs 7, 8, 9 did not improve
    np.testing.assert_allclose(result.history.val_loss, val_curve(10), rtol=1e-5)
    np.testing.assert_allclose(result.params["w"], [w_after(7)], rtol=1e-6)
    # The optimizer went on to the last epoch run.
    assert result.steps == 10


def test_without_restoring_the_last_parameters_are_returned():
    result = fit(
        loss,
        P0,
        TRAIN,
        optimizer=SGD,
        epochs=30,
        key=0,
        validation_data=VAL,
        early_stopping=EarlyStopping(patience=3, restore_best=False),
    )
    assert (result.epochs, result.best_epoch) == (10, 6)
    np.testing.assert_allclose(result.params["w"], [w_after(10)], rtol=1e-6)


def test_the_best_parameters_are_restored_when_all_epochs_run():
    result = fit(
        loss,
        P0,
        TRAIN,
        optimizer=SGD,
        epochs=9,
        key=0,
        validation_data=VAL,
        early_stopping=EarlyStopping(patience=5),
    )
    assert not result.stopped_early and result.epochs == 9
    np.testing.assert_allclose(result.params["w"], [w_after(7)], rtol=1e-6)


def test_min_delta_demands_a_large_enough_improvement():
    # Improvements of val loss: epoch e gains val[e-1] - val[e]; with min_delta above the
    # gain of epoch 6 the best stays earlier.
    curve = val_curve(30)
    gains = -np.diff(curve)
    min_delta = float(gains[5] * 1.01)  # just more than epoch 6's gain over epoch 5
    result = fit(
        loss,
        P0,
        TRAIN,
        optimizer=SGD,
        epochs=30,
        key=0,
        validation_data=VAL,
        early_stopping=EarlyStopping(patience=2, min_delta=min_delta),
    )
    expected_best = next(e for e in range(1, 30) if gains[e - 1] <= min_delta) - 1
    assert result.best_epoch == expected_best == 5
    assert result.epochs == expected_best + 3


def test_a_maximised_metric_can_be_monitored():
    result = fit(
        loss,
        P0,
        TRAIN,
        optimizer=SGD,
        epochs=30,
        key=0,
        validation_data=VAL,
        metrics={"closeness": closeness},
        early_stopping=EarlyStopping(patience=3, monitor="val_closeness", mode="max"),
    )
    assert (result.best_epoch, result.epochs) == (6, 10)
    np.testing.assert_allclose(result.history.val_metrics["closeness"], -val_curve(10), rtol=1e-5)


def test_members_of_a_vmapped_sweep_stop_at_their_own_epochs():
    trainer = make_trainer(loss, lambda lr: optim.sgd(lr), epochs=40, early_stopping=EarlyStopping(patience=2))
    rates = np.array([0.05, 0.1, 0.2], np.float32)
    states = jax.jit(jax.vmap(trainer.train, in_axes=(None, None, None, None, 0)))(
        P0, jax.random.key(0), TRAIN, VAL, rates
    )
    for i, lr in enumerate(rates.astype(np.float64)):
        best = int(np.argmin(val_curve(40, lr)))
        assert int(states.early_stopping.best_epoch[i]) == best
        assert int(states.epoch[i]) == best + 3
        np.testing.assert_allclose(states.params["w"][i], [w_after(best + 1, lr)], rtol=2e-6)
    assert len({int(e) for e in states.epoch}) == 3


def test_update_rule_on_a_sequence():
    config = EarlyStopping(patience=2, min_delta=0.1)
    state = init_early_stopping(config, {"p": jnp.zeros(())}, jnp.float32)
    values = [5.0, 4.0, 3.95, 3.5, 3.45, 3.41, 3.0]
    stops, bests = [], []
    for epoch, value in enumerate(values):
        state, stop = update_early_stopping(config, state, value, epoch, {"p": jnp.asarray(float(epoch))})
        stops.append(bool(stop))
        bests.append(int(state.best_epoch))
    # 3.95 is not 0.1 below 4.0; 3.5 is; 3.45 and 3.41 are not -> stop at epoch 5.
    assert bests == [0, 1, 1, 3, 3, 3, 6]
    assert stops == [False, False, False, False, False, True, False]
    assert float(state.best_params["p"]) == 6.0


def test_nan_never_improves():
    config = EarlyStopping(patience=1)
    state = init_early_stopping(config, {"p": jnp.zeros(())}, jnp.float32)
    state, stop = update_early_stopping(config, state, jnp.nan, 0, {"p": jnp.ones(())})
    assert int(state.best_epoch) == -1 and bool(stop)


def test_bad_early_stopping_settings_are_refused_before_compiling():
    with pytest.raises(ValueError, match="needs validation"):
        fit(loss, P0, TRAIN, optimizer=SGD, epochs=3, key=0, early_stopping=EarlyStopping())
    with pytest.raises(ValueError, match="monitor"):
        fit(
            loss,
            P0,
            TRAIN,
            optimizer=SGD,
            epochs=3,
            key=0,
            validation_data=VAL,
            early_stopping=EarlyStopping(monitor="val_accuracy"),
        )
    with pytest.raises(ValueError, match="patience"):
        fit(
            loss,
            P0,
            TRAIN,
            optimizer=SGD,
            epochs=3,
            key=0,
            validation_data=VAL,
            early_stopping=EarlyStopping(patience=-1),
        )
    with pytest.raises(ValueError, match="mode"):
        fit(
            loss,
            P0,
            TRAIN,
            optimizer=SGD,
            epochs=3,
            key=0,
            validation_data=VAL,
            early_stopping=EarlyStopping(mode="lowest"),
        )

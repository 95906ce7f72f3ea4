"""Early stopping infers whether its monitor is minimised or maximised, and refuses to guess."""

import jax.numpy as jnp
import numpy as np
import pytest

from gdjax.train import EarlyStopping, fit
from gdjax.train._early_stopping import infer_mode, init_early_stopping, update_early_stopping


@pytest.mark.parametrize(
    "monitor,mode",
    [
        ("val_loss", "min"),
        ("loss", "min"),
        ("val_cross_entropy_loss", "min"),
        ("hinge_loss", "min"),
        ("val_accuracy", "max"),
        ("accuracy", "max"),
        ("val_acc", "max"),
        ("precision", "max"),
        ("val_recall", "max"),
        ("f1", "max"),
        ("val_f1_score", "max"),
        ("r2", "max"),
        ("val_r2_score", "max"),
        ("r_squared", "max"),
        ("val_auc", "max"),
        ("val_Accuracy", "max"),
    ],
)
def test_the_mode_is_inferred_from_the_monitor(monitor, mode):
    assert infer_mode(monitor) == mode
    config = EarlyStopping(monitor=monitor)
    assert config.mode is None
    assert config.validated().mode == mode
    assert config.validated()._replace(mode=None) == config  # nothing else changes


def test_an_explicit_mode_is_kept():
    assert EarlyStopping(monitor="val_accuracy", mode="min").validated().mode == "min"
    assert EarlyStopping(monitor="val_closeness", mode="max").validated().mode == "max"


@pytest.mark.parametrize("monitor", ["val_closeness", "weight_norm", "val_lossy", "val_", "error_rate"])
def test_a_monitor_that_names_no_direction_needs_a_mode(monitor):
    with pytest.raises(ValueError, match=rf"early_stopping.monitor={monitor!r}.*pass mode='min' or mode='max'"):
        EarlyStopping(monitor=monitor).validated()
    with pytest.raises(ValueError, match=rf"monitor={monitor!r}"):
        init_early_stopping(EarlyStopping(monitor=monitor), {"p": jnp.zeros(())}, jnp.float32)


def test_bad_modes_are_refused():
    with pytest.raises(ValueError, match=r"early_stopping.mode must be one of None, 'min', 'max'; got 'maximize'"):
        EarlyStopping(monitor="val_accuracy", mode="maximize").validated()


def test_val_accuracy_keeps_the_most_accurate_epoch_without_a_mode():
    config = EarlyStopping(patience=2, monitor="val_accuracy")
    state = init_early_stopping(config, {"p": jnp.zeros(())}, jnp.float32)
    assert float(state.best_value) == -np.inf
    bests, stops = [], []
    for epoch, value in enumerate([0.5, 0.7, 0.6, 0.65]):
        state, stop = update_early_stopping(config, state, value, epoch, {"p": jnp.asarray(float(epoch))})
        bests.append(int(state.best_epoch))
        stops.append(bool(stop))
    assert bests == [0, 1, 1, 1]
    assert stops == [False, False, False, True]
    assert float(state.best_value) == pytest.approx(0.7)
    assert float(state.best_params["p"]) == 1.0


def test_val_loss_default_is_still_minimised():
    config = EarlyStopping(patience=1)
    state = init_early_stopping(config, {"p": jnp.zeros(())}, jnp.float32)
    assert float(state.best_value) == np.inf
    state, _ = update_early_stopping(config, state, 2.0, 0, {"p": jnp.zeros(())})
    state, stop = update_early_stopping(config, state, 3.0, 1, {"p": jnp.zeros(())})
    assert int(state.best_epoch) == 0 and bool(stop)


TRAIN = (np.ones((4, 1), np.float32), np.full(4, 2.0, np.float32))
VAL = (np.ones((3, 1), np.float32), np.ones(3, np.float32))


def _loss(params, batch):
    x, y = batch
    return 0.5 * jnp.mean((x @ params["w"] - y) ** 2)


def _accuracy(params, batch):  # a score that peaks when w is 1 (epoch 6 with SGD at 0.1, see the closed form)
    return 1 - _loss(params, batch)


def test_fit_restores_the_best_accuracy_epoch():
    import optax

    result = fit(
        _loss,
        {"w": np.zeros(1, np.float32)},
        TRAIN,
        optimizer=optax.sgd(0.1),
        epochs=30,
        key=0,
        validation_data=VAL,
        metrics={"accuracy": _accuracy},
        early_stopping=EarlyStopping(patience=3, monitor="val_accuracy"),
    )
    # w_k = 2 - 2 (0.9)^k, validation loss 0.5 (w - 1)^2 is smallest after 7 updates (epoch 6)
    assert (result.best_epoch, result.epochs) == (6, 10)
    np.testing.assert_allclose(result.params["w"], [2 - 2 * 0.9**7], rtol=1e-5)

"""Progress bars, callbacks, learning-rate records and learning-curve plots."""

import jax.numpy as jnp
import numpy as np
import optax
import pytest

import gdjax.optim as optim
from gdjax.plot import plot_history, plot_step_loss, plot_trajectory
from gdjax.train import (
    EarlyStopping,
    History,
    fit,
    learning_rate_from_state,
    minimize,
)

RNG = np.random.default_rng(3)
X = RNG.normal(size=(8, 2)).astype(np.float32)
Y = (X[:, 0] - X[:, 1] > 0).astype(np.float32)
P0 = {"w": np.zeros(2, np.float32), "b": np.zeros((), np.float32)}
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def logistic(params, batch):
    x, y = batch
    z = x @ params["w"] + params["b"]
    return jnp.mean(jnp.maximum(z, 0) - z * y + jnp.log1p(jnp.exp(-jnp.abs(z))))


def accuracy(params, batch):
    x, y = batch
    return jnp.mean((x @ params["w"] + params["b"] >= 0) == (y > 0.5))


def test_library_calls_print_nothing(capfd):
    fit(
        logistic,
        P0,
        (X, Y),
        optimizer=optax.sgd(0.5),
        epochs=3,
        key=0,
        validation_data=(X, Y),
        early_stopping=EarlyStopping(patience=1),
    )
    minimize(lambda x: x**2, 1.0, optax.sgd(0.1), max_steps=3)
    out, err = capfd.readouterr()
    assert out == "" and err == ""


def test_progress_shows_a_bar_per_chunk_of_epochs(capfd):
    fit(
        logistic,
        P0,
        (X, Y),
        optimizer=optax.sgd(0.5),
        epochs=6,
        key=0,
        validation_data=(X, Y),
        metrics={"accuracy": accuracy},
        progress=True,
        chunk_epochs=2,
    )
    out, err = capfd.readouterr()
    assert out == ""
    assert "6/6" in err and "epoch" in err
    assert "val_loss=" in err and "val_accuracy=" in err
    assert "2/6" in err and "4/6" in err


def test_callback_sees_each_chunk():
    seen = []
    result = fit(
        logistic,
        P0,
        (X, Y),
        optimizer=optax.sgd(0.5),
        epochs=5,
        key=0,
        chunk_epochs=2,
        callback=lambda partial: seen.append((partial.epochs, len(partial.history.train_loss))),
    )
    assert seen == [(2, 2), (4, 4), (5, 5)]
    assert result.epochs == 5


def test_learning_rate_is_recorded_from_gdjax_and_optax_states_or_given():
    # A gdjax schedule: rate 0.5 * 0.5^floor(step / 4); one step per epoch (batch GD).
    schedule = optim.exponential_decay(0.5, transition_steps=4, decay_rate=0.5, staircase=True)
    gd = fit(logistic, P0, (X, Y), optimizer=optim.sgd(schedule), epochs=9, key=0)
    np.testing.assert_allclose(gd.history.learning_rate, 0.5 * 0.5 ** (np.arange(9) // 4), rtol=1e-6)
    # Optax with inject_hyperparams: the state holds the latest update's rate.
    injected = optax.inject_hyperparams(optax.sgd)(learning_rate=optax.linear_schedule(1.0, 0.0, 10))
    ox = fit(logistic, P0, (X, Y), optimizer=injected, epochs=4, key=0, batch_size=4)
    # Epoch e starts after 2e updates; the stored rate is that of update 2e - 1 (update 0 at the start).
    expected = [1.0 - 0.1 * max(2 * e - 1, 0) for e in range(4)]
    np.testing.assert_allclose(ox.history.learning_rate, expected, rtol=1e-6)
    # Plain Optax optimizers hold no rate: give it.
    plain = fit(logistic, P0, (X, Y), optimizer=optax.sgd(0.3), epochs=2, key=0)
    assert plain.history.learning_rate is None
    given = fit(logistic, P0, (X, Y), optimizer=optax.sgd(0.3), epochs=2, key=0, learning_rate=0.3)
    np.testing.assert_allclose(given.history.learning_rate, [0.3, 0.3])
    scheduled = fit(
        logistic,
        P0,
        (X, Y),
        optimizer=optax.sgd(0.3),
        epochs=3,
        key=0,
        batch_size=4,
        learning_rate=lambda step: 0.1 * step,
    )
    np.testing.assert_allclose(scheduled.history.learning_rate, [0.0, 0.2, 0.4], rtol=1e-6)


def test_learning_rate_from_state_without_a_single_rate_is_none():
    assert learning_rate_from_state(optax.adam(0.1).init(P0)) is None
    groups = optim.partition({"w": optim.sgd(0.1), "b": optim.sgd(0.2)}, {"w": "w", "b": "b"})
    assert learning_rate_from_state(groups.init(P0)) is None
    np.testing.assert_allclose(learning_rate_from_state(optim.adam(0.1).init(P0)), 0.1)


def test_history_as_dict_uses_keras_names():
    result = fit(
        logistic,
        P0,
        (X, Y),
        optimizer=optim.sgd(0.5),
        epochs=3,
        key=0,
        validation_data=(X, Y),
        metrics={"accuracy": accuracy},
    )
    names = result.history.as_dict()
    assert list(names) == ["loss", "val_loss", "accuracy", "val_accuracy", "learning_rate"]
    assert all(len(v) == 3 for v in names.values())
    # Validation on the training set: the end-of-epoch loss equals the next epoch's full-batch loss.
    np.testing.assert_allclose(names["val_loss"][:-1], names["loss"][1:], rtol=1e-6)


def test_plot_history_writes_a_png(tmp_path):
    result = fit(
        logistic,
        P0,
        (X, Y),
        optimizer=optim.sgd(0.5),
        epochs=4,
        key=0,
        batch_size=2,
        validation_data=(X, Y),
        metrics={"accuracy": accuracy},
        record_step_loss=True,
    )
    figure = plot_history(result.history, title="logistic", path=tmp_path / "curves.png")
    assert len(figure.axes) == 3  # loss, accuracy, learning rate
    assert [line.get_label() for line in figure.axes[0].lines] == ["training", "validation"]
    np.testing.assert_allclose(figure.axes[0].lines[1].get_ydata(), result.history.val_loss)
    assert (tmp_path / "curves.png").read_bytes()[:8] == PNG_MAGIC
    steps = plot_step_loss(result.history, steps_per_epoch=result.steps_per_epoch, path=tmp_path / "steps.png")
    assert len(steps.axes[0].lines[0].get_ydata()) == 16
    assert (tmp_path / "steps.png").read_bytes()[:8] == PNG_MAGIC
    with pytest.raises(ValueError, match="not recorded"):
        plot_history(result.history, metrics=["f1"])
    without_steps = History(result.history.train_loss, None, {}, {}, None, None)
    with pytest.raises(ValueError, match="record_step_loss=True"):
        plot_step_loss(without_steps)


def test_plot_trajectory_in_one_and_two_dimensions(tmp_path):
    one = minimize(lambda x: x**2, 3.0, optax.sgd(0.1), max_steps=30)
    figure = plot_trajectory(lambda x: x**2, one, path=tmp_path / "1d.png")
    path_line = figure.axes[0].lines[1]
    np.testing.assert_allclose(path_line.get_xdata(), one.trajectory[: int(one.num_steps) + 1])
    assert (tmp_path / "1d.png").read_bytes()[:8] == PNG_MAGIC

    def bowl(p):
        return p[0] ** 2 + 5 * p[1] ** 2

    two = minimize(bowl, jnp.array([2.0, 1.0]), optax.sgd(0.05), max_steps=40)
    figure = plot_trajectory(bowl, two, bounds=(-3, 3, -2, 2), path=tmp_path / "2d.png")
    assert figure.axes[0].get_xlim()[0] <= -2.5
    assert (tmp_path / "2d.png").read_bytes()[:8] == PNG_MAGIC
    three = minimize(lambda p: jnp.sum(p**2), jnp.ones(3), optax.sgd(0.1), max_steps=3)
    with pytest.raises(ValueError, match="1-D or 2-D"):
        plot_trajectory(lambda p: jnp.sum(p**2), three)

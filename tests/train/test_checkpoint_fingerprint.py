"""A checkpoint resumes only the training that wrote it: every setting that decides the run is compared."""

import jax.numpy as jnp
import numpy as np
import pytest

import gdjax.optim as optim
from gdjax.train import EarlyStopping, fit, load_checkpoint, save_checkpoint

RNG = np.random.default_rng(5)
X = RNG.normal(size=(12, 3)).astype(np.float32)
Y = (X @ np.array([0.5, -1.0, 2.0])).astype(np.float32)
P0 = {"w": np.zeros(3, np.float32), "b": np.zeros((), np.float32)}
BASE = dict(optimizer=optim.adam(1e-3), epochs=4, key=3, batch_size=4, chunk_epochs=2)


def loss(params, batch):
    x, y = batch
    return 0.5 * jnp.mean((x @ params["w"] + params["b"] - y) ** 2)


def edited_loss(params, batch):  # the same name and signature, another body
    x, y = batch
    return jnp.mean((x @ params["w"] + params["b"] - y) ** 2)


class Stop(Exception):
    pass


def half_run(path, **changes):
    """Writes a checkpoint of a training interrupted after its first chunk."""

    def stop(result):
        raise Stop

    with pytest.raises(Stop):
        fit(
            changes.pop("loss_fn", loss),
            changes.pop("params", P0),
            changes.pop("data", (X, Y)),
            checkpoint=path,
            callback=stop,
            **{**BASE, **changes},
        )


CHANGES = {
    "learning rate": dict(optimizer=optim.adam(1e-1)),
    "optimizer": dict(optimizer=optim.sgd(1e-3)),
    "loss body": dict(loss_fn=edited_loss),
    "data": dict(data=(X + 1, Y)),
    "initial params": dict(params={"w": np.ones(3, np.float32), "b": np.zeros((), np.float32)}),
    "epochs": dict(epochs=6),
    "batch size": dict(batch_size=3),
    "key": dict(key=4),
    "penalty weight": dict(penalty=lambda p: jnp.sum(p["w"] ** 2), penalty_weight=0.5),
    "early stopping": dict(early_stopping=EarlyStopping(patience=1, monitor="loss")),
    "validation data": dict(validation_data=(X[:4], Y[:4])),
    "metrics": dict(metrics={"mae": lambda p, b: jnp.mean(jnp.abs(b[0] @ p["w"] + p["b"] - b[1]))}),
}
NAMES = {
    "learning rate": "optimizer",
    "optimizer": "optimizer",
    "loss body": "loss_fn",
    "data": "train_data",
    "initial params": "initial_params",
    "epochs": "epochs",
    "batch size": "batch_size",
    "key": "key",
    "penalty weight": "penalty",
    "early stopping": "early_stopping",
    "validation data": "validation_data",
    "metrics": "metrics",
}


@pytest.mark.parametrize("change", sorted(CHANGES))
def test_resuming_under_other_settings_is_refused_naming_what_differs(tmp_path, change):
    path = tmp_path / "run.npz"
    half_run(path)
    options = dict(CHANGES[change])
    with pytest.raises(ValueError, match=rf"different training: .*{NAMES[change]} differs.*resume=False"):
        fit(
            options.pop("loss_fn", loss),
            options.pop("params", P0),
            options.pop("data", (X, Y)),
            checkpoint=path,
            **{**BASE, **options},
        )
    # resume=False starts afresh and overwrites the file.
    options = dict(CHANGES[change])
    fresh = fit(
        options.pop("loss_fn", loss),
        options.pop("params", P0),
        options.pop("data", (X, Y)),
        checkpoint=path,
        resume=False,
        **{**BASE, **options},
    )
    assert fresh.epochs == fresh.state.history.train_loss.shape[0] or fresh.stopped_early


def test_the_same_settings_resume(tmp_path):
    path = tmp_path / "run.npz"
    half_run(path)
    whole = fit(loss, P0, (X, Y), **BASE)
    resumed = fit(loss, P0, (X, Y), checkpoint=path, **{**BASE, "optimizer": optim.adam(1e-3)})  # an equal new object
    np.testing.assert_array_equal(resumed.params["w"], whole.params["w"])
    np.testing.assert_array_equal(resumed.history.learning_rate, np.full(4, 1e-3, np.float32))


def test_a_finished_checkpoint_with_non_finite_parameters_is_refused(tmp_path):
    path = tmp_path / "run.npz"
    done = fit(loss, P0, (X, Y), checkpoint=path, **BASE)
    assert done.diverged is False and done.stopped_early is False  # flags are bools, not 0/1
    state, metadata = load_checkpoint(path, done.state)
    altered = state._replace(params={**state.params, "w": np.full(3, np.nan, np.float32)})
    save_checkpoint(path, altered, metadata=metadata)  # a valid file, the same training's fingerprint
    with pytest.raises(ValueError, match=r"its parameters\['w'\] must be finite; found 3 non-finite.*resume=False"):
        fit(loss, P0, (X, Y), checkpoint=path, **BASE)

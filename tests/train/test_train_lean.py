"""Lean trainings (nothing evaluated between epochs) run as one loop over their steps: the same results, bit for bit.

``fit`` runs a training whose epochs evaluate nothing on the parameters
(no validation, metrics, early stopping, averaging or plateau) as one loop
over all its steps, booked afterwards, and one that does epoch by epoch.
A metric that reads nothing puts a training on the epoch-by-epoch path
without changing anything else it computes, so each case here is trained
both ways and every shared output must be identical.
"""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import gdjax.optim as optim
from gdjax.train import _loop, fit, make_trainer

RNG = np.random.default_rng(0)
X = RNG.normal(size=(37, 3)).astype(np.float32)
Y = (X @ np.float32([1.0, -2.0, 0.5]) + 0.3).astype(np.float32)
P0 = {"w": np.zeros(3, np.float32), "b": np.zeros((), np.float32)}
EPOCH_BY_EPOCH = {"metrics": {"nothing": lambda params, data: jnp.zeros(())}}


def mse(params, batch):
    x, y = batch
    return 0.5 * jnp.mean((x @ params["w"] + params["b"] - y) ** 2)


def noisy_mse(params, batch, key):
    x, y = batch
    if key is not None:
        x = x * jax.random.bernoulli(key, 0.8, x.shape) / 0.8
    return mse(params, (x, y))


def kinked(params, batch):  # an infinite gradient at the start
    return mse(params, batch) + jnp.sum(jnp.sqrt(jnp.abs(params["w"])))


def flat(params, batch):
    return 0.0 * mse(params, batch)


def hinge(params, batch):  # flat once b passes 1: the gradient then vanishes exactly
    return jnp.maximum(0.0, 1.0 - params["b"]) + 0.0 * mse(params, batch)


def both(loss, **options):
    lean = fit(loss, P0, (X, Y), key=3, **options)
    epochwise = fit(loss, P0, (X, Y), key=3, **options, **EPOCH_BY_EPOCH)
    return lean, epochwise


def assert_same_training(lean, epochwise):
    for got, want in zip(
        jax.tree.leaves((lean.params, lean.opt_state)), jax.tree.leaves((epochwise.params, epochwise.opt_state))
    ):
        np.testing.assert_array_equal(got, want)
    for name in ("epochs", "steps", "diverged", "diverged_step", "diverged_epoch", "stalled_epoch"):
        assert getattr(lean, name) == getattr(epochwise, name), name
    for name in ("train_loss", "learning_rate", "step_loss"):
        got, want = getattr(lean.history, name), getattr(epochwise.history, name)
        assert (got is None) == (want is None), name
        if got is not None:
            np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(lean.state.history.train_loss, epochwise.state.history.train_loss)


CASES = {
    "mini-batch adam": dict(loss=mse, optimizer=optim.adam(0.05), epochs=20, batch_size=8),
    "full batch": dict(loss=mse, optimizer=optim.sgd(0.1, momentum=0.9), epochs=15),
    "line search (extra arguments)": dict(loss=mse, optimizer=optim.lbfgs(), epochs=6),
    "dropout key, unshuffled": dict(loss=noisy_mse, optimizer=optim.adam(0.05), epochs=7, batch_size=6, shuffle=False),
    "schedule in the state": dict(
        loss=mse, optimizer=optim.sgd(optim.exponential_decay(0.1, 10, 0.5)), epochs=8, batch_size=9
    ),
    "rate given as a schedule": dict(
        loss=mse, optimizer=optax.sgd(0.1), epochs=8, batch_size=9, learning_rate=lambda step: 0.1 / (1.0 + step)
    ),
    "diverges mid-epoch, padded, step losses": dict(
        loss=mse, optimizer=optim.sgd(3.0), epochs=60, batch_size=8, record_step_loss=True, remainder="pad"
    ),
    "diverges on the first step": dict(loss=kinked, optimizer=optim.sgd(0.1), epochs=5, batch_size=8),
    "diverges, chunked": dict(loss=mse, optimizer=optim.sgd(3.0), epochs=60, batch_size=8, chunk_epochs=7),
    "stalled, rate given as a number": dict(
        loss=flat, optimizer=optax.sgd(0.1), epochs=5, batch_size=8, learning_rate=0.1
    ),
    "stalled later": dict(loss=hinge, optimizer=optim.sgd(0.03), epochs=20, batch_size=8),
}


@pytest.mark.filterwarnings("ignore::gdjax.train.DivergenceWarning", "ignore::gdjax.train.StalledWarning")
@pytest.mark.parametrize("case", CASES, ids=list(CASES))
def test_a_lean_training_equals_the_epoch_by_epoch_one(case):
    options = dict(CASES[case])
    lean, epochwise = both(options.pop("loss"), **options)
    assert_same_training(lean, epochwise)
    if case.startswith("diverges"):
        assert lean.diverged and lean.epochs < options["epochs"]
    if case == "diverges on the first step":
        assert lean.diverged_step == 0 and lean.steps == 0 and lean.epochs == 1
    if case == "stalled, rate given as a number":
        assert lean.stalled_epoch == 0
    if case == "stalled later":  # b moves 0.03 a step, 4 steps an epoch: past 1 in epoch 8, flat from epoch 9
        assert lean.stalled_epoch == 9


def test_a_lean_training_takes_the_loop_over_steps(monkeypatch):
    calls = []
    original = _loop._lean_run
    monkeypatch.setattr(_loop, "_lean_run", lambda *args: calls.append(True) or original(*args))

    def traced(**options):  # fit's program for these options, traced (not compiled)
        trainer = make_trainer(mse, optim.adam(0.05), epochs=3, batch_size=8, **options)
        run = lambda p: _loop.run_epochs(trainer, trainer.init(p, jax.random.key(0), (X, Y)), (X, Y), skip="branch")
        jax.make_jaxpr(run)(P0)
        return bool(calls.pop()) if calls else False

    assert traced()
    assert not traced(**EPOCH_BY_EPOCH)


@pytest.mark.filterwarnings("ignore::gdjax.train.DivergenceWarning")
def test_a_lean_training_resumed_from_a_checkpoint_equals_an_uninterrupted_one(tmp_path):
    path = tmp_path / "run.npz"
    options = dict(optimizer=optim.sgd(3.0), batch_size=8, key=3)

    def interrupt(result):
        if result.epochs >= 10:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        fit(mse, P0, (X, Y), epochs=60, checkpoint=path, chunk_epochs=5, callback=interrupt, **options)
    resumed = fit(mse, P0, (X, Y), epochs=60, checkpoint=path, chunk_epochs=5, **options)
    whole = fit(mse, P0, (X, Y), epochs=60, **options)
    assert resumed.diverged and resumed.diverged_step == whole.diverged_step
    assert_same_training(resumed, whole)

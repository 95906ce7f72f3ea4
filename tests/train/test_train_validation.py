"""Bad input to fit: a ValueError saying which argument and why, before compiling."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from gdjax.train import fit, make_trainer

X = np.arange(12, dtype=np.float32).reshape(6, 2) / 10
Y = np.ones(6, np.float32)
P0 = {"w": np.zeros(2, np.float32)}
SGD = optax.sgd(0.1)


def loss(params, batch):
    x, y = batch
    return jnp.mean((x @ params["w"] - y) ** 2)


def never_traced(params, batch):
    raise AssertionError("the loss must not be traced when the input is invalid")


@pytest.fixture
def no_compile(monkeypatch):
    """Fails the test if anything is lowered for compilation."""

    def refuse(*args, **kwargs):
        raise AssertionError("compiled despite invalid input")

    monkeypatch.setattr(jax.stages.Lowered, "compile", refuse)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        (dict(train_data=(X, Y[:5])), r"same number of examples.*\[0\] has 6.*\[1\] has 5"),
        (dict(batch_size=0), "batch_size must be >= 1; got 0"),
        (dict(batch_size=-3), "batch_size must be >= 1"),
        (dict(batch_size=7), r"batch_size must be <= the number of training examples \(6\); got 7"),
        (dict(batch_size=2.5), "batch_size must be an integer"),
        (dict(epochs=0), "epochs must be >= 1; got 0"),
        (dict(epochs=3.0), "epochs must be an integer"),
        (dict(train_data=(np.where(X > 0.5, np.nan, X), Y)), r"train_data\[0\] must be finite.*index \(3, 0\)"),
        (dict(train_data=(X, np.array([1, 1, np.inf, 1, 1, 1], np.float32))), r"train_data\[1\] must be finite"),
        (dict(validation_data=(X[:2], Y[:3])), "validation_data"),
        (dict(validation_data=(X[:2] * np.nan, Y[:2])), r"validation_data\[0\] must be finite"),
        (dict(validation_data=[X[:2], Y[:2]]), "structure"),
        (dict(train_data=(np.float32(1.0), Y)), "leading example axis"),
        (dict(remainder="keep"), "remainder must be one of"),
        (dict(key="seed"), "key must be a PRNG key"),
        (dict(optimizer="adam"), "optimizer must be a gradient transformation"),
        (dict(params={"w": np.array([0, 1])}), "floating point"),
        (dict(params={"w": np.array([np.nan, 1.0])}), r"params\['w'\] must be finite"),
        (dict(penalty_weight=-1.0), "penalty_weight must be >= 0"),
        (dict(metrics={"val_acc": lambda p, b: 0.0}), "metric names"),
        (dict(chunk_epochs=0), "chunk_epochs must be >= 1"),
        (dict(progress="yes"), "progress must be a bool"),
    ],
)
def test_bad_arguments_are_named(changes, message, no_compile):
    arguments = dict(loss_fn=never_traced, params=P0, train_data=(X, Y), optimizer=SGD, epochs=2, key=0)
    arguments.update(changes)
    with pytest.raises(ValueError, match=message):
        fit(**arguments)


def test_a_loss_that_does_not_return_a_scalar_is_refused_before_compiling(no_compile):
    def per_example(params, batch):
        x, y = batch
        return (x @ params["w"] - y) ** 2

    with pytest.raises(ValueError, match=r"loss_fn must return a scalar; got an array of shape \(6,\)"):
        fit(per_example, P0, (X, Y), optimizer=SGD, epochs=2, key=0)
    with pytest.raises(ValueError, match=r"must return a scalar; got an array of shape \(3,\)"):
        fit(per_example, P0, (X, Y), optimizer=SGD, epochs=2, key=0, batch_size=3)
    with pytest.raises(ValueError, match="floating-point scalar"):
        fit(lambda p, b: jnp.sum(b[1] > 0), P0, (X, Y), optimizer=SGD, epochs=2, key=0)


def test_a_metric_that_does_not_return_a_scalar_is_refused(no_compile):
    with pytest.raises(ValueError, match="metric 'residuals' must return a scalar"):
        fit(loss, P0, (X, Y), optimizer=SGD, epochs=2, key=0, metrics={"residuals": lambda p, b: b[0] @ p["w"]})


def test_the_core_checks_what_it_can_see_when_traced():
    trainer = make_trainer(loss, SGD, epochs=2, batch_size=10)
    with pytest.raises(ValueError, match="batch_size must be <= the number of training examples"):
        jax.eval_shape(trainer.train, P0, jax.random.key(0), (X, Y))
    with pytest.raises(ValueError, match="epochs must be >= 1"):
        make_trainer(loss, SGD, epochs=-1)

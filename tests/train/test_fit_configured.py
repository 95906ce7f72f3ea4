"""fit validates a repeated configuration once, remembered by the type and value of each option (not equality alone)."""

import jax.numpy as jnp
import numpy as np
import pytest

import gdjax.optim as optim
from gdjax.train import _fit, fit

DATA = (np.linspace(-1.0, 1.0, 8, dtype=np.float32)[:, None], np.linspace(0.0, 2.0, 8, dtype=np.float32))
P0 = {"w": np.zeros(1, np.float32)}
ADAM = optim.adam(0.1)


def loss(params, batch):
    x, y = batch
    return jnp.mean((x @ params["w"] - y) ** 2)


def configured(**options):
    return _fit._configured(**{"loss_fn": loss, "optimizer": ADAM, "epochs": 3, **options})


def test_the_same_options_give_the_same_validated_trainer():
    first, values, structure = configured(batch_size=4)
    assert configured(batch_size=4) == (first, values, structure)
    assert configured(batch_size=4)[0] is first
    assert configured(batch_size=2)[0] is not first
    assert configured(batch_size=4, optimizer=optim.adam(0.1))[0] is not first  # a new optimizer object


def test_options_equal_in_value_but_not_in_type_are_validated_apart():
    assert configured(shuffle=True)[0].shuffle is True
    with pytest.raises(ValueError, match="shuffle must be a bool; got 1"):
        configured(shuffle=1)  # 1 == True and hash(1) == hash(True): the type keeps them apart
    assert type(configured(penalty_weight=1)[1]["penalty_weight"]) is int
    assert type(configured(penalty_weight=1.0)[1]["penalty_weight"]) is float
    assert type(configured(penalty_weight=np.float32(1.0))[1]["penalty_weight"]) is np.float32


def test_containers_and_arrays_are_validated_every_call():
    metrics = {"mse": loss}
    assert configured(metrics=metrics)[0] is not configured(metrics=metrics)[0]
    metrics["val_mse"] = loss  # a mutable option changed in place is checked again
    with pytest.raises(ValueError, match="metric names"):
        fit(loss, P0, DATA, optimizer=ADAM, epochs=3, key=0, metrics=metrics)
    weight = jnp.asarray(0.5)
    assert configured(penalty_weight=weight)[1]["penalty_weight"] is weight

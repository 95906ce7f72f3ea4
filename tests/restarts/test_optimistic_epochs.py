"""An epoch runs without per-step selects unless a step fails, and then again with them: the result is the same."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import gdjax
from gdjax import optim
from gdjax.restarts import sweep
from gdjax.train import make_trainer

X = jax.random.normal(jax.random.key(0), (24, 3))
TARGETS = X @ jnp.array([1.0, -2.0, 0.5])
LINEAR = gdjax.models.linear_regression(3)
GRID = {"learning_rate": [0.05, 0.1, 40.0]}  # the last diverges within a few epochs


def mse(params, batch):
    return gdjax.losses.mse(LINEAR.apply(params, batch[0]), batch[1])


def _sweep(rates, tile_size):
    return sweep(
        mse,
        LINEAR.init,
        (X, TARGETS),
        optimizer=lambda h: optim.sgd(h["learning_rate"], 0.5),
        grid={"learning_rate": rates},
        key=5,
        num_restarts=2,
        epochs=12,
        batch_size=8,
        tile_size=tile_size,
    )


def _equal(a, b):
    """Bit for bit, NaN where NaN (the history of epochs not run)."""
    return all(
        np.array_equal(x, y, equal_nan=np.issubdtype(np.asarray(x).dtype, np.inexact))
        for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b), strict=True)
    )


def test_a_diverging_neighbour_in_the_tile_leaves_the_other_runs_bit_for_bit_alone():
    with pytest.warns(gdjax.train.DivergenceWarning):
        together = _sweep(GRID["learning_rate"], tile_size=6)  # every run in one tile: its epochs run again
    alone = _sweep(GRID["learning_rate"][:2], tile_size=4)  # no run fails: no epoch runs again
    assert together.diverged[2].all() and not together.diverged[:2].any()
    assert _equal(jax.tree.map(lambda leaf: leaf[:2], together.params), alone.params)
    assert np.array_equal(together.history.train_loss[:2], alone.history.train_loss)
    # the diverged runs keep the finite parameters from before their first non-finite step
    assert (together.diverged_step[2] > 0).all()
    assert np.all(np.isfinite(np.concatenate([np.ravel(leaf[2]) for leaf in jax.tree.leaves(together.params)])))


@pytest.mark.parametrize("rate", [0.1, 40.0])
def test_a_named_vmap_axis_gives_the_plain_vmaps_bits(rate):
    trainer = make_trainer(mse, optim.sgd(rate, 0.5), epochs=8, batch_size=8)
    keys = jax.random.split(jax.random.key(1), 4)

    def train(key, **options):
        state = trainer.train(LINEAR.init(key), jax.random.key(2), (X, TARGETS), **options)
        return state.params, state.diverged, state.diverged_step, state.history.train_loss

    plain = jax.jit(jax.vmap(train))(keys)
    named = jax.jit(jax.vmap(lambda k: train(k, vmap_axis="runs"), axis_name="runs"))(keys)
    assert _equal(plain, named)
    assert bool(np.all(plain[1])) == (rate == 40.0)  # the large rate diverges in every run, the small in none

"""Divergence: a too-large learning rate is detected at the exact step, updates freeze.

Scenario: inputs all 1, targets 2, loss ``0.5 mean((w - 2)^2)``. Gradient
descent with rate 3 maps ``w - 2`` to ``-2 (w - 2)``, so from ``w = 0`` the
step-``k`` residual is ``d_k = -2 (-2)^k`` and the loss ``0.5 d_k^2 = 2^(2k + 1)``.
The square ``d_k^2 = 2^(2k + 2)`` overflows float32 (max ~ ``2^128``) first at
``k = 63``: the loss is infinite there. The parameters at that step,
``w_63 = 2 + 2^64``, are finite: they are what fit returns.
"""

import jax.numpy as jnp
import numpy as np
import optax
import pytest

import gdjax.optim as optim
from gdjax.train import fit

DATA = (np.ones((4, 1), np.float32), np.full(4, 2.0, np.float32))
P0 = {"w": np.zeros(1, np.float32)}


def loss(params, batch):
    x, y = batch
    return 0.5 * jnp.mean((x @ params["w"] - y) ** 2)


@pytest.mark.parametrize("optimizer", [optax.sgd(3.0), optim.sgd(3.0)], ids=["optax", "gdjax"])
def test_too_large_a_learning_rate_diverges_at_the_predicted_step(optimizer):
    result = fit(loss, P0, DATA, optimizer=optimizer, epochs=100, key=0, batch_size=2, record_step_loss=True)
    assert result.diverged
    assert result.diverged_step == 63
    assert result.diverged_epoch == 31  # two steps per epoch
    assert result.epochs == 32  # training ended with the epoch that diverged
    assert result.steps == 63  # updates applied: the diverging one was not
    np.testing.assert_array_equal(result.params["w"], np.float32([2 + 2.0**64]))
    k = np.arange(63)
    np.testing.assert_allclose(result.history.step_loss[:63], 2.0 ** (2 * k + 1), rtol=1e-6)
    assert np.isinf(result.history.step_loss[63])
    assert result.history.step_loss.shape == (64,) and np.isnan(result.history.step_loss[63:]).sum() == 0
    assert np.isinf(result.history.train_loss[31])
    assert np.all(np.isfinite(result.history.train_loss[:31]))


def test_a_non_finite_gradient_with_a_finite_loss_is_caught_too():
    def kinked(params, batch):
        del batch
        return jnp.sum(jnp.sqrt(jnp.abs(params["w"])))  # finite at 0, infinite slope there

    result = fit(kinked, P0, DATA, optimizer=optax.sgd(0.1), epochs=5, key=0)
    assert result.diverged and result.diverged_step == 0 and result.steps == 0
    np.testing.assert_array_equal(result.params["w"], P0["w"])
    assert result.epochs == 1


def test_a_nan_loss_is_reported_and_the_optimizer_state_freezes():
    def nan_after_crossing(params, batch):
        # log of a quantity that becomes negative once w passes 1.5: NaN.
        return loss(params, batch) + 1e-3 * jnp.sum(jnp.log(1.5 - params["w"]))

    result = fit(nan_after_crossing, P0, DATA, optimizer=optax.adam(0.4), epochs=50, key=0)
    assert result.diverged
    # The parameters of the step whose loss was NaN (past 1.5, still finite); that
    # step's update was not applied, nor any later one.
    w = float(result.params["w"][0])
    assert 1.5 < w < 2 and np.isfinite(w)
    assert int(result.opt_state[0].count) == result.steps == result.diverged_step > 0
    assert np.isnan(float(nan_after_crossing(result.params, DATA)))


def test_a_healthy_run_reports_no_divergence():
    result = fit(loss, P0, DATA, optimizer=optax.sgd(0.5), epochs=5, key=0)
    assert not result.diverged
    assert result.diverged_step is None and result.diverged_epoch is None
    np.testing.assert_allclose(result.params["w"], [2 - 2 * 0.5**5], rtol=1e-6)

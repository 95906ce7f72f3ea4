"""The learning-rate range test (gdjax.train.lr_range_test) and its plot."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import pytest

import gdjax.optim as optim
from gdjax.plot import plot_lr_range
from gdjax.train import LRRangeResult, lr_range_test

_rng = np.random.default_rng(0)
X = _rng.normal(size=(256, 5)).astype(np.float32)
W_TRUE = np.array([1.0, -2.0, 0.5, 0.0, 3.0], np.float32)
Y = (X @ W_TRUE + 0.1 * _rng.normal(size=256)).astype(np.float32)


def loss(w, batch):
    x, y = batch
    return jnp.mean((x @ w - y) ** 2)


def test_range_test_rates_losses_suggestion_and_divergence():
    result = lr_range_test(
        loss,
        jnp.zeros(5),
        (X, Y),
        optimizer_factory=lambda lr: optim.sgd(lr),
        min_lr=1e-4,
        max_lr=10.0,
        num_steps=80,
        batch_size=32,
        key=1,
    )
    assert isinstance(result, LRRangeResult)
    # SGD on this least-squares problem diverges for rates above ~2 / lambda_max (about 0.3 here): the run stops.
    assert result.diverged and result.num_steps_run < 80
    n = result.num_steps_run
    assert result.learning_rates.shape == result.losses.shape == result.smoothed_losses.shape == (n,)
    want = 1e-4 * (1e5 ** (np.arange(80) / 79))
    np.testing.assert_allclose(result.learning_rates, want[:n], rtol=1e-5)
    # The debiased moving average, written out.
    average, smoothed = 0.0, []
    for t, value in enumerate(result.losses):
        average = 0.98 * average + 0.02 * value
        smoothed.append(average / (1 - 0.98 ** (t + 1)))
    np.testing.assert_allclose(result.smoothed_losses, smoothed, rtol=1e-5)
    assert np.all(np.isfinite(result.smoothed_losses))
    # Both rules land in the region where SGD learns (between 1e-3 and the divergence threshold).
    assert 1e-3 < result.steepest_lr < 0.5 and 1e-3 < result.suggested_lr < 0.5
    assert result.suggested_lr == result.steepest_lr
    assert result.min_loss_lr == pytest.approx(result.learning_rates[np.argmin(result.smoothed_losses)])
    minimum = lr_range_test(
        loss,
        jnp.zeros(5),
        (X, Y),
        optimizer_factory=lambda lr: optim.sgd(lr),
        min_lr=1e-4,
        max_lr=10.0,
        num_steps=80,
        batch_size=32,
        key=1,
        suggestion="minimum",
    )
    assert minimum.suggested_lr == pytest.approx(minimum.min_loss_lr / 10)
    # The plot draws it (on a new figure or given axes).
    figure = plot_lr_range(result)
    assert figure.axes[0].get_xscale() == "log"
    plot_lr_range(result, ax=figure.axes[0])


def test_range_test_with_adam_full_batch_and_checks():
    result = lr_range_test(
        loss,
        jnp.zeros(5),
        (X, Y),
        optimizer_factory=lambda lr: optim.adam(lr),
        min_lr=1e-5,
        max_lr=1.0,
        num_steps=40,
        key=0,
    )
    assert result.num_steps_run <= 40 and result.smoothed_losses[-1] < result.smoothed_losses[0]
    with pytest.raises(ValueError, match="max_lr"):
        lr_range_test(loss, jnp.zeros(5), (X, Y), optimizer_factory=optim.sgd, min_lr=1.0, max_lr=0.1)
    with pytest.raises(ValueError, match="num_steps"):
        lr_range_test(loss, jnp.zeros(5), (X, Y), optimizer_factory=optim.sgd, num_steps=1)
    with pytest.raises(ValueError, match="optimizer_factory"):
        lr_range_test(loss, jnp.zeros(5), (X, Y), optimizer_factory=lambda lr: 3.0)
    with pytest.raises(ValueError, match="suggestion"):
        lr_range_test(loss, jnp.zeros(5), (X, Y), optimizer_factory=optim.sgd, suggestion="best")

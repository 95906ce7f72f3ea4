"""The engine refuses what it cannot do well and says when a run went wrong (the trust issue)."""

import warnings

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import gdjax
from gdjax import losses, optim
from gdjax.restarts import resolve_sizes, restarts, sweep
from gdjax.train import DivergenceWarning, StalledWarning, fit

RNG = np.random.default_rng(7)
X = RNG.normal(size=(16, 3)).astype(np.float32)
Y = (X @ np.array([1.0, -1.0, 0.5])).astype(np.float32)
P0 = {"w": np.zeros(3, np.float32), "b": np.zeros((), np.float32)}
LINEAR = gdjax.models.linear_regression(3)


def mse(params, batch):
    x, y = batch
    return jnp.mean((x @ params["w"] + params["b"] - y) ** 2)


def l2(params):
    return jnp.sum(params["w"] ** 2)


def test_numbers_are_runtime_values_not_reasons_to_recompile():
    traces = []

    def counted(params, batch):
        traces.append(1)
        return mse(params, batch)

    options = dict(epochs=3, key=0, batch_size=4, penalty=l2)
    a = fit(counted, P0, (X, Y), optimizer=optim.adam(1e-2), penalty_weight=0.1, **options)
    once = len(traces)
    b = fit(counted, P0, (X, Y), optimizer=optim.adam(3e-2), penalty_weight=0.2, **options)
    assert len(traces) == once  # a new adam object and a new penalty weight: the same program
    assert not np.allclose(a.params["w"], b.params["w"])
    # ... and the values are really used: equal to a fresh, constant-compiled training with those values.
    c = fit(lambda p, batch: mse(p, batch), P0, (X, Y), optimizer=optim.adam(3e-2), penalty_weight=0.2, **options)
    np.testing.assert_allclose(b.params["w"], c.params["w"], rtol=1e-6)


def test_divergence_is_a_warning_naming_the_step_in_fit_restarts_and_sweep():
    with pytest.warns(DivergenceWarning, match=r"diverged at step \d+ \(epoch \d+\)"):
        result = fit(mse, P0, (X * 100, Y), optimizer=optim.sgd(10.0), epochs=20, key=0, batch_size=4)
    assert result.diverged
    with pytest.warns(DivergenceWarning, match="3 of 3 runs diverged"):
        restarts(mse, LINEAR.init, (X * 100, Y), optimizer=optim.sgd(10.0), epochs=5, key=0, num_restarts=3)
    with pytest.warns(DivergenceWarning, match="2 of 4 runs diverged"):
        sweep(
            mse,
            LINEAR.init,
            (X * 100, Y),
            optimizer=lambda h: optim.sgd(h["lr"]),
            grid={"lr": [1e-6, 10.0]},
            epochs=5,
            key=0,
            num_restarts=2,
        )
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a healthy run warns nothing
        fit(mse, P0, (X, Y), optimizer=optim.sgd(0.01), epochs=3, key=0)


def test_all_runs_diverged_has_no_best_run():
    with pytest.warns(DivergenceWarning):
        runs = restarts(mse, LINEAR.init, (X * 100, Y), optimizer=optim.sgd(10.0), epochs=5, key=0, num_restarts=3)
    with pytest.raises(ValueError, match=r"every one of the 3 runs diverged \(at steps .*\).*no best run"):
        _ = runs.best_params


def test_clipped_probabilities_that_freeze_training_are_reported():
    # The case: the heart network on probabilities at lr=1e6 "succeeds" at a finite loss.
    data = gdjax.data.load_heart_split(0)
    net = gdjax.models.mlp([29, 16, 1])

    def bce(params, batch):
        return losses.binary_cross_entropy(net.apply(params, batch[0]), batch[1])

    with pytest.warns(StalledWarning, match=r"stalled in epoch \d+: every gradient was exactly zero"):
        result = fit(
            bce,
            net.init(jax.random.key(0)),
            (data.x_train, data.y_train),
            optimizer=optim.adam(1e6),
            epochs=10,
            batch_size=32,
            key=1,
        )
    assert not result.diverged and result.stalled_epoch is not None
    assert np.isfinite(result.history.train_loss[-1])
    # The logits form keeps a gradient everywhere: no stall.
    logits = fit(
        lambda p, b: losses.sigmoid_binary_cross_entropy(net.logits(p, b[0]), b[1]),
        net.init(jax.random.key(0)),
        (data.x_train, data.y_train),
        optimizer=optim.adam(1e-3),
        epochs=3,
        batch_size=32,
        key=1,
    )
    assert logits.stalled_epoch is None


def test_concrete_bad_input_is_refused_before_compiling():
    with pytest.raises(ValueError, match="train_data must hold at least one example; got 0 rows"):
        fit(mse, P0, (X[:0], Y[:0]), optimizer=optim.sgd(0.1), epochs=1, key=0)
    with pytest.raises(ValueError, match="penalty must return a scalar; got an array of shape \\(3,\\)"):
        fit(mse, P0, (X, Y), optimizer=optim.sgd(0.1), epochs=1, key=0, penalty=lambda p: p["w"] ** 2)
    with pytest.raises(ValueError, match=r"key: an integer seed must be in \[-2\*\*63, 2\*\*63 - 1\]"):
        fit(mse, P0, (X, Y), optimizer=optim.sgd(0.1), epochs=1, key=2**70)
    with pytest.raises(ValueError, match="devices must be None or a non-empty sequence of jax.Device"):
        restarts(mse, LINEAR.init, (X, Y), optimizer=optim.sgd(0.1), epochs=1, key=0, num_restarts=2, devices="cpu")


def test_the_default_tile_splits_the_runs_evenly_over_the_devices():
    assert resolve_sizes(256, None, None, 4) == (256, 64)  # four tiles of 64, none of padding
    assert resolve_sizes(10, None, None, 4) == (12, 3)
    assert resolve_sizes(5000, None, None, 1) == (5120, 1024)


def test_another_tile_size_changes_at_most_the_last_bits():
    options = dict(optimizer=optim.adam(0.05), epochs=4, key=3, num_restarts=8, batch_size=4)
    a = restarts(mse, LINEAR.init, (X, Y), tile_size=8, **options)
    b = restarts(mse, LINEAR.init, (X, Y), tile_size=2, **options)
    np.testing.assert_allclose(a.final_loss, b.final_loss, rtol=1e-5)

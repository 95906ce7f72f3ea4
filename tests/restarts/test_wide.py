"""Restarts of a gdjax model trained side by side (the wide layout) equal the copies trained under plain vmap."""

import warnings

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import gdjax
from gdjax import optim
from gdjax.restarts import restarts, sweep
from gdjax.train import make_trainer, model_loss
from gdjax.train._layout import flat_layout
from gdjax.train._wide import wide_loss

MODEL = gdjax.models.mlp([5, 4, 1], hidden="relu", output="sigmoid")
X = jax.random.normal(jax.random.key(0), (40, 5))
Y = (X[:, 0] - X[:, 1] > 0).astype(jnp.float32)
BCE = gdjax.losses.sigmoid_binary_cross_entropy
WIDE = model_loss(MODEL, BCE)


def by_hand(params, batch):
    return BCE(MODEL.logits(params, batch[0]), batch[1])


def _run(loss_fn, init=MODEL.init, data=(X, Y), **options):
    settings = {"optimizer": optim.adam(0.05), "epochs": 6, "batch_size": 8, "key": 3, "num_restarts": 6}
    return restarts(loss_fn, init, data, **(settings | options))


def _close(a, b, atol=1e-5):
    return all(
        np.allclose(np.asarray(u), np.asarray(v), atol=atol, rtol=1e-5, equal_nan=True)
        for u, v in zip(jax.tree.leaves(a), jax.tree.leaves(b), strict=True)
    )


def test_wide_restarts_equal_the_vmapped_ones_to_rounding():
    # A schedule, so that the rate recorded every epoch is read off the wide state too.
    adam = optim.adam(optim.exponential_decay(0.05, transition_steps=5, decay_rate=0.5))
    wide, plain = _run(WIDE, optimizer=adam), _run(by_hand, optimizer=adam)
    assert np.array_equal(wide.history.learning_rate, plain.history.learning_rate)
    assert len(np.unique(wide.history.learning_rate)) > 1
    assert _close(wide.params, plain.params)
    assert np.allclose(wide.final_loss, plain.final_loss, atol=1e-6)
    assert _close(wide.history, plain.history)
    assert np.array_equal(wide.diverged, plain.diverged) and not wide.diverged.any()
    # ... and not by accident the same program: the products are summed in another order somewhere.
    assert not all(
        np.array_equal(u, v) for u, v in zip(jax.tree.leaves(wide.params), jax.tree.leaves(plain.params), strict=True)
    )


def test_padded_copies_train_as_the_vmapped_ones():
    model = gdjax.models.mlp([29, 3, 1])  # the heart network's 29 inputs: [W^T | b] padded from 30 to 32 columns
    x = jax.random.normal(jax.random.key(4), (40, 29))
    y = (x[:, 0] + x[:, 1] > 0).astype(jnp.float32)
    by_hand29 = lambda params, batch: BCE(model.logits(params, batch[0]), batch[1])
    wide_loss29 = model_loss(model, BCE)
    trainer = make_trainer(wide_loss29, optim.adam(0.05), epochs=2, batch_size=8)

    def one(key):
        return trainer.train(model.init(key), jax.random.key(1), (x, y), vmap_axis="copies").params

    jaxpr = str(jax.make_jaxpr(jax.vmap(one, axis_name="copies"))(jax.random.split(jax.random.key(0), 6)))
    assert "f32[18,32]" in jaxpr and "f32[8,32]" in jaxpr  # 6 copies x 3 units; a batch of 8 rows
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # neither diverged nor stalled (the padding's gradient is zero, not the layer's)
        wide = _run(wide_loss29, model.init, (x, y))
    plain = _run(by_hand29, model.init, (x, y))
    assert _close(wide.params, plain.params)
    assert np.allclose(wide.final_loss, plain.final_loss, atol=1e-6)


def test_epochs_that_evaluate_train_wide_epoch_by_epoch_with_the_same_result():
    # Validation, metrics and early stopping look at every epoch's parameters: the steps go wide one epoch at a time.
    options = {
        "validation_data": (X[:16], Y[:16]),
        "metrics": {"accuracy": lambda p, d: gdjax.metrics.accuracy(MODEL.apply(p, d[0]), d[1])},
        "early_stopping": gdjax.EarlyStopping(monitor="val_loss", patience=2),
        "epochs": 12,
    }
    wide, plain = _run(WIDE, **options), _run(by_hand, **options)
    assert _close(wide.params, plain.params)
    assert _close(wide.history, plain.history)
    assert np.array_equal(wide.epochs, plain.epochs) and np.array_equal(wide.stopped_early, plain.stopped_early)


def test_a_flat_loss_is_reported_stalled():
    # Dead hidden units and an output saturated at the labels: every gradient is exactly zero.
    def flat(key):
        (first, second) = MODEL.init(key)
        return [{"w": 0 * first["w"], "b": first["b"] - 100}, {"w": 0 * second["w"], "b": second["b"] + 100}]

    with pytest.warns(gdjax.train.StalledWarning, match="3 of 3 runs stalled in epoch 0"):
        restarts(
            WIDE, flat, (X, jnp.ones(40)), optimizer=optim.adam(0.1), epochs=2, batch_size=8, key=0, num_restarts=3
        )


def test_a_copy_that_moved_only_its_first_layer_is_not_reported_stalled():
    # Zero first-layer weights and biases: every hidden unit is 0, so under the squared error with
    # targets (1, -1) the output layer's gradient, h^T dz and sum(dz) with dz = z - y = (-1, 1), is
    # exactly zero; the first layer's, x^T (dz w2), is not. The wide steps read the smaller leaves
    # only; such an epoch is decided the vmapped way.
    net = gdjax.models.mlp([2, 3, 1], hidden="identity")
    loss_fn = model_loss(net, gdjax.losses.mse)

    def start(key):
        first, second = net.init(key)
        return [{"w": 0 * first["w"], "b": 0 * first["b"]}, {"w": second["w"], "b": 0 * second["b"]}]

    x, y = jnp.array([[1.0, 2.0], [-1.0, 0.5]]), jnp.array([1.0, -1.0])
    grads = jax.grad(loss_fn)(start(jax.random.key(0)), (x, y))
    assert not np.any(grads[1]["w"]) and not np.any(grads[1]["b"]) and np.all(grads[0]["w"] != 0)
    for extra in ({}, {"validation_data": (x, y)}):  # the whole call wide, and one epoch at a time
        with warnings.catch_warnings():
            warnings.simplefilter("error", gdjax.train.StalledWarning)
            runs = restarts(loss_fn, start, (x, y), optimizer=optim.adam(0.1), epochs=1, key=0, num_restarts=3, **extra)
        assert np.all(runs.params[0]["w"] != 0)


def test_a_tile_with_diverging_copies_reports_each_as_the_vmapped_run_does():
    def init(key):  # every third copy starts with weights so large that its first loss overflows
        params = MODEL.init(key)
        scale = jnp.where(jax.random.uniform(jax.random.fold_in(key, 7)) < 0.4, 1e30, 1.0)
        return jax.tree.map(lambda leaf: leaf * scale, params)

    with pytest.warns(gdjax.train.DivergenceWarning):
        wide, plain = _run(WIDE, init), _run(by_hand, init)
    assert 0 < plain.diverged.sum() < 6
    assert np.array_equal(wide.diverged, plain.diverged)
    assert np.array_equal(wide.diverged_step, plain.diverged_step)
    assert _close(wide.params, plain.params)


def test_a_sweep_vmaps_as_before_bit_for_bit():
    settings = {
        "optimizer": lambda h: optim.adam(h["learning_rate"]),
        "grid": {"learning_rate": [0.01, 0.1]},
        "epochs": 4,
        "batch_size": 8,
        "key": 1,
        "num_restarts": 3,
    }
    wide, plain = sweep(WIDE, MODEL.init, (X, Y), **settings), sweep(by_hand, MODEL.init, (X, Y), **settings)
    for u, v in zip(jax.tree.leaves(wide.params), jax.tree.leaves(plain.params), strict=True):
        assert np.array_equal(u, v)


def test_the_first_layer_of_every_copy_is_one_product():
    trainer = make_trainer(WIDE, optim.adam(0.05), epochs=2, batch_size=8)

    def one(key):
        return trainer.train(MODEL.init(key), jax.random.key(1), (X, Y), vmap_axis="copies").params

    jaxpr = str(jax.make_jaxpr(jax.vmap(one, axis_name="copies"))(jax.random.split(jax.random.key(0), 6)))
    # [W_c^T | b_c] of the 6 copies stacked, times a batch of 8 rows with a column of ones
    assert "f32[24,6]" in jaxpr and "f32[8,6]" in jaxpr and "f32[24,8]" in jaxpr


def test_the_wide_layout_is_taken_only_where_it_is_exact():
    params = MODEL.init(jax.random.key(0))
    layout = flat_layout(params, optim.adam(0.1), optim.is_elementwise)
    assert wide_loss(make_trainer(WIDE, optim.adam(0.1), epochs=1), layout, False) is WIDE
    assert wide_loss(make_trainer(by_hand, optim.adam(0.1), epochs=1), layout, False) is None
    assert wide_loss(make_trainer(WIDE, optim.adam(0.1), epochs=1), None, False) is None  # not elementwise
    assert wide_loss(make_trainer(WIDE, optim.adam(0.1), epochs=1), layout, True) is None  # padded batches
    penalised = make_trainer(WIDE, optim.adam(0.1), epochs=1, penalty=gdjax.losses.l2_penalty)
    assert wide_loss(penalised, layout, False) is None
    on_output = model_loss(MODEL, gdjax.losses.binary_cross_entropy, on="output")
    assert wide_loss(make_trainer(on_output, optim.adam(0.1), epochs=1), layout, False) is None


def test_model_loss_is_the_loss_of_the_model_and_refuses_what_it_cannot_take():
    params = MODEL.init(jax.random.key(2))
    assert WIDE(params, (X, Y)) == by_hand(params, (X, Y))
    on_output = model_loss(MODEL, gdjax.losses.binary_cross_entropy, on="output")
    assert on_output(params, (X, Y)) == gdjax.losses.binary_cross_entropy(MODEL.apply(params, X), Y)
    with pytest.raises(ValueError, match="model must be a gdjax.models.Model"):
        model_loss(by_hand, BCE)
    with pytest.raises(ValueError, match="loss must be callable"):
        model_loss(MODEL, "bce")
    with pytest.raises(ValueError, match="on must be one of"):
        model_loss(MODEL, BCE, on="probabilities")
    with pytest.raises(ValueError, match=r"batches \(x, y\).*got dict"):
        WIDE(params, {"x": X, "y": Y})


@pytest.mark.parametrize(
    ("sizes", "padding"),
    [([5, 4, 1], 0), ([5, 1], 0), ([5, 3], 0), ([4, 6, 5, 2], 0), ([4, 6, 5, 1], 0), ([29, 3, 1], 2)],
)
def test_the_wide_form_holds_every_copy(sizes, padding):
    model = gdjax.models.mlp(sizes, hidden="tanh", output="sigmoid" if sizes[-1] == 1 else "softmax")
    stacked = jax.vmap(model.init)(jax.random.split(jax.random.key(0), 7))
    x = jax.random.normal(jax.random.key(1), (11, sizes[0]))
    wide = model.wide.stack(stacked)
    # [W^T | b] of 29 inputs is 30 columns, padded with zeros to 32: whole AVX-512 registers
    assert wide[0]["wb"].shape == (7 * sizes[1], sizes[0] + 1 + padding)
    assert np.all(wide[0]["wb"][:, sizes[0] + 1 :] == 0)
    held = sum(leaf.size for leaf in jax.tree.leaves(wide))
    assert held == sum(leaf.size for leaf in jax.tree.leaves(stacked)) + 7 * sizes[1] * padding
    for u, v in zip(jax.tree.leaves(model.wide.unstack(wide)), jax.tree.leaves(stacked), strict=True):
        assert np.array_equal(u, v)
    each = jax.vmap(lambda p: model.logits(p, x))(stacked)  # (copies, rows[, k])
    assert np.allclose(model.wide.logits(wide, x), each, atol=1e-6)


def test_float64_copies_train_wide_in_float64():
    with jax.enable_x64(True):
        model = gdjax.models.mlp([5, 4, 1], dtype=jnp.float64)
        x = jnp.asarray(np.asarray(X), jnp.float64)
        y = (x[:, 0] - x[:, 1] > 0).astype(jnp.float64)

        def by_hand64(params, batch):
            return BCE(model.logits(params, batch[0]), batch[1])

        options = {"optimizer": optim.adam(0.05), "epochs": 4, "batch_size": 8, "key": 0, "num_restarts": 4}
        wide = restarts(model_loss(model, BCE), model.init, (x, y), **options)
        plain = restarts(by_hand64, model.init, (x, y), **options)
        assert all(leaf.dtype == np.float64 for leaf in jax.tree.leaves(wide.params))
        assert _close(wide.params, plain.params, atol=1e-12)

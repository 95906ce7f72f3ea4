"""reduce_on_plateau's API, switch (the optimizer as a sweep axis), accumulation, Lookahead, parameter averages.

The plateau's PyTorch parity is in test_optim_torch_references.py; here the
engine-facing contract: update never moves the counters, end_of_epoch finds
every plateau, the rate read is the effective one, names are checked.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import gdjax.optim as optim

PARAMS = {"w": jnp.array([[0.5, -1.0], [2.0, 0.25]]), "b": jnp.array([0.1, -0.2])}


def grads_at(params, k):
    return jax.tree.map(lambda p: jnp.sin(3.0 * p + k) + 0.3 * p, params)


def train(opt, steps=6, params=PARAMS):
    state = opt.init(params)
    for k in range(steps):
        updates, state = opt.update(grads_at(params, k), state, params)
        params = optim.apply_updates(params, updates)
    return params, state


# ------------------------------------------------------------- reduce_on_plateau


def test_update_scales_and_leaves_the_counters_alone():
    opt = optim.reduce_on_plateau(optim.sgd(0.1, momentum=0.9), patience=0, factor=0.5)
    state = opt.init(PARAMS)
    updates, new_state = opt.update(grads_at(PARAMS, 0), state, PARAMS)
    plain, _ = optim.sgd(0.1, momentum=0.9).update(grads_at(PARAMS, 0), optim.sgd(0.1, momentum=0.9).init(PARAMS))
    jax.tree.map(np.testing.assert_array_equal, updates, plain)
    for field in ("scale", "best", "num_bad_epochs", "cooldown_counter", "num_reductions", "hyperparams"):
        jax.tree.map(np.testing.assert_array_equal, getattr(new_state, field), getattr(state, field))
    # Two epochs without improvement (patience 0): the scale halves, and the next updates with it.
    state = optim.end_of_epoch(new_state, {"val_loss": 1.0})
    state = optim.end_of_epoch(state, {"val_loss": 1.0})
    assert float(state.scale) == 0.5 and int(state.num_reductions) == 1
    assert float(optim.current_learning_rate(state)) == pytest.approx(0.05)
    halved, _ = opt.update(grads_at(PARAMS, 1), state, PARAMS)
    full, _ = optim.sgd(0.1, momentum=0.9).update(grads_at(PARAMS, 1), state.inner_state, PARAMS)
    jax.tree.map(lambda a, b: np.testing.assert_allclose(a, 0.5 * b, rtol=1e-6), halved, full)


def test_plateaus_compose_with_schedules_and_nest_anywhere():
    schedule = optim.exponential_decay(0.1, 1, 0.9)
    inner = optim.reduce_on_plateau(optim.adam(schedule), monitor="loss", patience=0, factor=0.5)
    opt = optim.chain(
        optim.clip_by_global_norm(10.0),
        optim.reduce_on_plateau(
            optim.masked(inner, {"w": True, "b": True}), monitor="val_accuracy", mode="max", patience=0, factor=0.1
        ),
    )
    assert optim.epoch_monitors(opt.init(PARAMS)) == {"loss", "val_accuracy"}
    _, state = train(opt, steps=3)
    for _ in range(3):  # no improvement on either after the first epoch
        state = optim.end_of_epoch(state, {"loss": 1.0, "val_accuracy": 0.5, "val_loss": 0.0})
    outer = state[1]
    # Each reduced twice: 0.1 ** 2 outside, 0.5 ** 2 inside; the rate is the schedule's times both.
    assert int(outer.num_reductions) == 2 and int(outer.inner_state.inner_state.num_reductions) == 2
    np.testing.assert_allclose(optim.current_learning_rate(state), float(schedule(3)) * 0.01 * 0.25, rtol=1e-6)
    with pytest.raises(ValueError, match="'val_accuracy'.*do not hold"):
        optim.end_of_epoch(state, {"loss": 1.0})
    assert optim.epoch_monitors(optim.adam(0.1).init(PARAMS)) == set()
    plain = optim.adam(0.1).init(PARAMS)
    jax.tree.map(np.testing.assert_array_equal, optim.end_of_epoch(plain, {}), plain)


def test_plateau_end_of_epoch_in_a_jitted_loop_over_an_optax_optimizer():
    # With no gdjax rate inside, min_lr and eps apply to the scale.
    opt = optim.reduce_on_plateau(optax.adam(0.1), patience=1, factor=0.5, min_lr=0.2)

    @jax.jit
    def epochs(state, values):
        return jax.lax.scan(lambda s, v: (optim.end_of_epoch(s, {"val_loss": v}), s.scale), state, values)

    state, scales = epochs(opt.init(PARAMS), jnp.ones(8))
    # Scales in force during epochs 1..8: reductions after epochs 3, 5 and 7 (the last one floored at 0.2).
    np.testing.assert_allclose(scales, [1, 1, 1, 0.5, 0.5, 0.25, 0.25, 0.2])
    assert float(state.scale) == pytest.approx(0.2) and int(state.num_reductions) == 3


@pytest.mark.parametrize(
    ("build", "argument"),
    [
        (lambda: optim.reduce_on_plateau(optim.sgd(0.1), factor=1.0), "factor"),
        (lambda: optim.reduce_on_plateau(optim.sgd(0.1), patience=-1), "patience"),
        (lambda: optim.reduce_on_plateau(optim.sgd(0.1), patience=2.5), "patience"),
        (lambda: optim.reduce_on_plateau(optim.sgd(0.1), mode="lowest"), "mode"),
        (lambda: optim.reduce_on_plateau(optim.sgd(0.1), threshold_mode="relative"), "threshold_mode"),
        (lambda: optim.reduce_on_plateau(optim.sgd(0.1), monitor=""), "monitor"),
        (lambda: optim.reduce_on_plateau(optim.sgd(0.1), cooldown=-2), "cooldown"),
        (lambda: optim.reduce_on_plateau(optim.sgd(0.1), min_lr=-1.0), "min_lr"),
        (lambda: optim.reduce_on_plateau(3.0), "inner"),
    ],
)
def test_plateau_settings_are_checked(build, argument):
    with pytest.raises(ValueError, match=argument):
        build()


# ------------------------------------------------------------------------ switch


def branches(lr):
    return [optim.adam(lr), optim.sgd(lr, momentum=0.9), optim.chain(optim.clip_by_global_norm(1.0), optim.rmsprop(lr))]


def test_switch_runs_the_chosen_branch_and_only_its_state_moves():
    for i in range(3):
        params, state = jax.jit(lambda: train(optim.switch(branches(0.05), i)))()
        want, want_state = jax.jit(lambda: train(branches(0.05)[i]))()
        close = lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7)
        jax.tree.map(close, params, want)
        jax.tree.map(close, state.branch_states[i], want_state)
        for j in set(range(3)) - {i}:  # untouched
            jax.tree.map(np.testing.assert_array_equal, state.branch_states[j], branches(0.05)[j].init(PARAMS))
        assert float(optim.current_learning_rate(state)) == pytest.approx(0.05)


def test_switch_under_vmap_over_index_and_learning_rate_equals_each_branch_alone():
    def run(index, lr):
        return train(optim.switch(branches(lr), index), steps=5)

    lrs = jnp.array([0.01, 0.1])
    # The sweep passes numbers as floats: the index may be a float holding an integer.
    params, state = jax.jit(jax.vmap(jax.vmap(run, (None, 0)), (0, None)))(jnp.arange(3.0), lrs)
    for i in range(3):
        for j, lr in enumerate([0.01, 0.1]):
            want, _ = jax.jit(lambda: train(branches(lr)[i], steps=5))()
            jax.tree.map(lambda a, b: np.testing.assert_allclose(a[i, j], b, rtol=1e-5, atol=1e-7), params, want)
    np.testing.assert_allclose(optim.current_learning_rate(state), jnp.broadcast_to(lrs, (3, 2)), rtol=1e-6)


def test_switch_recipe_is_one_structure_for_every_index():
    _, structure = optim.split(optim.switch(branches(0.1), 2))
    assert optim.split(optim.switch(branches(0.3), 0))[1] == structure
    with pytest.raises(ValueError, match="index"):
        optim.switch(branches(0.1), 3)
    with pytest.raises(ValueError, match="index"):
        optim.switch(branches(0.1), 1.5)
    with pytest.raises(ValueError, match="transforms"):
        optim.switch([], 0)


# ------------------------------------------------------------- wrappers vs Optax


@pytest.mark.parametrize("k", [1, 3])
@pytest.mark.parametrize("use_grad_mean", [True, False])
def test_multi_steps_matches_optax(k, use_grad_mean):
    ours = optim.MultiSteps(optim.adam(0.1), k, use_grad_mean)
    theirs = optax.MultiSteps(optax.adam(0.1), k, use_grad_mean)

    @jax.jit
    def run():
        p_ours, p_theirs, s_ours, s_theirs = PARAMS, PARAMS, ours.init(PARAMS), theirs.init(PARAMS)
        flags = []
        for step in range(7):
            u, s_ours = ours.update(grads_at(p_ours, step), s_ours, p_ours)
            p_ours = optim.apply_updates(p_ours, u)
            v, s_theirs = theirs.update(grads_at(p_theirs, step), s_theirs, p_theirs)
            p_theirs = optax.apply_updates(p_theirs, v)
            flags.append((ours.has_updated(s_ours), theirs.has_updated(s_theirs)))
        return p_ours, p_theirs, s_ours, s_theirs, flags

    p_ours, p_theirs, s_ours, s_theirs, flags = run()
    assert all(bool(a) == bool(b) for a, b in flags) and sum(bool(a) for a, _ in flags) == 7 // k
    jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7), p_ours, p_theirs)
    assert int(s_ours.gradient_step) == int(s_theirs.gradient_step)


def test_multi_steps_of_k_micro_batches_is_one_step_on_their_mean():
    g1, g2 = grads_at(PARAMS, 0), grads_at(PARAMS, 1)
    opt = optim.multi_steps(optim.sgd(0.1, momentum=0.9), 2)
    state = opt.init(PARAMS)
    zero, state = opt.update(g1, state, PARAMS)
    jax.tree.map(lambda z: np.testing.assert_array_equal(z, 0), zero)
    u, state = opt.update(g2, state, PARAMS)
    mean = jax.tree.map(lambda a, b: (a + b) / 2, g1, g2)
    want, _ = optim.sgd(0.1, momentum=0.9).update(mean, optim.sgd(0.1, momentum=0.9).init(PARAMS))
    jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-6), u, want)


@pytest.mark.parametrize("reset_state", [False, True])
def test_lookahead_matches_optax_on_the_fast_weights(reset_state):
    ours = optim.lookahead(optim.sgd(0.1, momentum=0.9), 3, 0.5, reset_state)
    theirs = optax.lookahead(optax.sgd(0.1, momentum=0.9), 3, 0.5, reset_state)
    p, q = PARAMS, optax.LookaheadParams.init_synced(PARAMS)
    s, t = ours.init(p), theirs.init(q)
    for step in range(10):
        u, s = ours.update(grads_at(p, step), s, p)
        p = optim.apply_updates(p, u)
        v, t = theirs.update(grads_at(q.fast, step), t, q)
        q = optax.apply_updates(q, v)
        jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7), p, q.fast)
    jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7), s.slow_params, q.slow)


def test_average_params_ema_and_mean_closed_forms_and_finder():
    inner = optim.sgd(0.1)
    for decay in (None, 0.5):
        opt = optim.chain(optim.clip(10.0), optim.average_params(inner, decay, start=2))
        params, state = PARAMS, opt.init(PARAMS)
        visited = []
        for step in range(6):
            updates, state = opt.update(grads_at(params, step), state, params)
            params = optim.apply_updates(params, updates)
            visited.append(params)
        # Averaging starts after 2 updates: the 3rd to 6th parameters.
        kept = visited[2:]
        if decay is None:
            want = jax.tree.map(lambda *ps: sum(ps) / len(ps), *kept)
        else:
            want = kept[0]
            for p in kept[1:]:
                want = jax.tree.map(lambda a, b: decay * a + (1 - decay) * b, want, p)
        jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-6), optim.averaged_params(state), want)
    assert optim.averaged_params(optim.adam(0.1).init(PARAMS)) is None
    with pytest.raises(ValueError, match="decay"):
        optim.average_params(inner, 1.0)


def test_sweep_over_optimizer_learning_rate_and_restarts_is_one_program():
    import gdjax

    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 3)).astype(np.float32)
    y = (x @ np.array([1.0, -1.0, 2.0]) + 0.5).astype(np.float32)

    def loss(p, batch):
        return jnp.mean((batch[0] @ p["w"] + p["b"] - batch[1]) ** 2)

    def init(key):
        return {"w": 0.1 * jax.random.normal(key, (3,)), "b": jnp.zeros(())}

    common = dict(epochs=3, batch_size=16, key=0, num_restarts=2)
    grid = gdjax.sweep(
        loss,
        init,
        (x, y),
        optimizer=lambda h: optim.switch([optim.adam(h["lr"]), optim.sgd(h["lr"], momentum=0.9)], h["optimizer"]),
        grid={"optimizer": [0, 1], "lr": [0.01, 0.05]},
        **common,
    )
    final = np.asarray(grid.final_loss)
    assert final.shape == (2, 2, 2) and np.all(np.isfinite(final))
    alone = gdjax.sweep(
        loss, init, (x, y), optimizer=lambda h: optim.sgd(h["lr"], momentum=0.9), grid={"lr": [0.01, 0.05]}, **common
    )
    np.testing.assert_allclose(final[1], np.asarray(alone.final_loss), rtol=1e-5)

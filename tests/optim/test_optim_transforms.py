"""Each transform against its closed form on worked examples; wrappers, partition, Optax interop."""

from __future__ import annotations

import inspect

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import gdjax.optim as optim

G1 = np.array([0.5, -2.0, 0.0, 3.0], np.float32)
G2 = np.array([-1.0, 1.0, 4.0, 0.25], np.float32)


def run(transform, grads, params=None):
    """Applies ``transform`` to a sequence of gradients; returns the list of updates and the state."""
    params = grads[0] if params is None else params
    state = transform.init(params)
    outs = []
    for g in grads:
        u, state = transform.update(jnp.asarray(g), state, params)
        outs.append(np.asarray(u))
    return outs, state


# ------------------------------------------------------------------ protocol


def test_apply_updates_keeps_dtype_and_passes_none():
    params = {"a": jnp.ones(3, jnp.bfloat16), "b": None, "c": jnp.full((2,), 2.0, jnp.float32)}
    updates = {"a": jnp.full(3, 0.5, jnp.float32), "b": None, "c": jnp.full((2,), -1.0, jnp.float32)}
    out = optim.apply_updates(params, updates)
    assert out["b"] is None
    assert out["a"].dtype == jnp.bfloat16 and out["c"].dtype == jnp.float32
    np.testing.assert_array_equal(np.asarray(out["a"], np.float32), [1.5, 1.5, 1.5])
    np.testing.assert_array_equal(out["c"], [1.0, 1.0])


def test_chain_applies_in_order_and_keeps_a_tuple_state():
    clip_then_double = optim.chain(optim.clip(1.0), optim.scale(2.0))
    double_then_clip = optim.chain(optim.scale(2.0), optim.clip(1.0))
    g = jnp.array([0.4, 3.0])
    u1, s1 = clip_then_double.update(g, clip_then_double.init(g))
    u2, _ = double_then_clip.update(g, double_then_clip.init(g))
    np.testing.assert_allclose(u1, [0.8, 2.0])
    np.testing.assert_allclose(u2, [0.8, 1.0])
    assert isinstance(s1, tuple) and len(s1) == 2


def test_chain_rejects_non_transforms_and_wrong_states():
    with pytest.raises(ValueError, match="chain argument 1"):
        optim.chain(optim.scale(1.0), 3.0)
    opt = optim.chain(optim.scale(1.0), optim.scale(2.0))
    with pytest.raises(ValueError, match="state of length 1"):
        opt.update(jnp.ones(2), (optim.EmptyState(),))


def test_safe_increment_saturates():
    top = jnp.iinfo(jnp.int32).max
    assert int(optim.safe_increment(jnp.int32(5))) == 6
    assert int(optim.safe_increment(jnp.asarray(top, jnp.int32))) == top
    assert optim.safe_increment(jnp.int32(0)).dtype == jnp.int32


def test_counters_are_int32_and_saturate_inside_adam():
    opt = optim.adam(optim.exponential_decay(0.1, 10, 0.5))
    state = opt.init(jnp.ones(2))
    assert state[0].count.dtype == jnp.int32 and state[1].count.dtype == jnp.int32
    top = jnp.asarray(jnp.iinfo(jnp.int32).max, jnp.int32)
    state = (state[0]._replace(count=top), state[1]._replace(count=top))
    u, state = opt.update(jnp.array([1.0, -1.0]), state)
    assert int(state[0].count) == int(top) and int(state[1].count) == int(top)
    assert np.all(np.isfinite(u))


def test_identity_and_set_to_zero():
    g = jnp.array([1.0, -2.0])
    np.testing.assert_array_equal(run(optim.identity(), [g])[0][0], g)
    np.testing.assert_array_equal(run(optim.set_to_zero(), [g])[0][0], [0.0, 0.0])


# --------------------------------------------------------------- transforms


def test_scale_and_scale_by_schedule():
    np.testing.assert_allclose(run(optim.scale(-0.5), [G1])[0][0], -0.5 * G1)
    outs, state = run(optim.scale_by_schedule(lambda t: 1.0 + t), [G1, G2])
    np.testing.assert_allclose(outs[0], 1.0 * G1)
    np.testing.assert_allclose(outs[1], 2.0 * G2)
    assert int(state.count) == 2


def test_scale_by_learning_rate_constant_schedule_and_sign():
    outs, state = run(optim.scale_by_learning_rate(0.1), [G1])
    np.testing.assert_allclose(outs[0], -0.1 * G1, rtol=1e-6)
    assert isinstance(state, optim.ScaleByLearningRateState)
    outs, _ = run(optim.scale_by_learning_rate(0.1, flip_sign=False), [G1])
    np.testing.assert_allclose(outs[0], 0.1 * G1, rtol=1e-6)
    outs, state = run(optim.scale_by_learning_rate(lambda t: 0.5**t), [G1, G2, G1])
    for k, (out, g) in enumerate(zip(outs, [G1, G2, G1])):
        np.testing.assert_allclose(out, -(0.5**k) * g, rtol=1e-6)
    assert int(state.count) == 3 and float(state.learning_rate) == 0.125
    assert optim.scale_by_learning_rate(None).init(G1) == optim.EmptyState()


def test_trace_heavy_ball_and_nesterov_closed_form():
    mu = 0.9
    outs, state = run(optim.trace(mu), [G1, G2])
    b1, b2 = G1, mu * G1 + G2
    np.testing.assert_allclose(outs[0], b1, rtol=1e-6)
    np.testing.assert_allclose(outs[1], b2, rtol=1e-6)
    np.testing.assert_allclose(state.trace, b2, rtol=1e-6)
    outs, _ = run(optim.trace(mu, nesterov=True), [G1, G2])
    np.testing.assert_allclose(outs[0], G1 + mu * b1, rtol=1e-6)
    np.testing.assert_allclose(outs[1], G2 + mu * b2, rtol=1e-6)


def test_trace_dampening_is_pytorch_style():
    mu, d = 0.9, 0.25
    outs, _ = run(optim.trace(mu, dampening=d), [G1, G2, G1])
    b1 = G1  # the first buffer is the raw gradient
    b2 = mu * b1 + (1 - d) * G2
    b3 = mu * b2 + (1 - d) * G1
    for out, b in zip(outs, [b1, b2, b3]):
        np.testing.assert_allclose(out, b, rtol=1e-6)


def test_trace_dampening_zero_as_an_array_is_the_default():
    # The number 0 needs no step count; a (possibly traced) array 0 keeps one, same values.
    default, _ = run(optim.trace(0.9), [G1, G2, G1])
    as_array, state = run(optim.trace(0.9, dampening=jnp.float32(0.0)), [G1, G2, G1])
    assert int(state.count) == 3 and run(optim.trace(0.9), [G1])[1].count is None
    for a, b in zip(default, as_array):
        np.testing.assert_array_equal(a, b)


def test_trace_accumulator_dtype():
    _, state = run(optim.trace(0.9, accumulator_dtype=jnp.bfloat16), [G1])
    assert state.trace.dtype == jnp.bfloat16


@pytest.mark.parametrize("eps_in_sqrt", [True, False])
def test_adagrad_closed_form(eps_in_sqrt):
    s0, eps = 0.1, 1e-3
    outs, state = run(optim.scale_by_adagrad(s0, eps, eps_in_sqrt), [G1, G2])
    s1 = s0 + G1**2
    s2 = s1 + G2**2
    denom = (lambda s: np.sqrt(s + eps)) if eps_in_sqrt else (lambda s: np.sqrt(s) + eps)
    np.testing.assert_allclose(outs[0], G1 / denom(s1), rtol=1e-6)
    np.testing.assert_allclose(outs[1], G2 / denom(s2), rtol=1e-6)
    np.testing.assert_allclose(state.sum_of_squares, s2, rtol=1e-6)


def test_adagrad_zero_accumulator_and_zero_gradient_is_zero_not_nan():
    outs, _ = run(optim.scale_by_adagrad(0.0, 0.0, eps_in_sqrt=False), [np.zeros(2, np.float32)])
    np.testing.assert_array_equal(outs[0], [0.0, 0.0])
    assert optim.scale_by_rss is optim.scale_by_adagrad


@pytest.mark.parametrize("centered", [False, True])
@pytest.mark.parametrize("eps_in_sqrt", [True, False])
@pytest.mark.parametrize("bias_correction", [False, True])
def test_rms_closed_form(centered, eps_in_sqrt, bias_correction):
    rho, eps, v0 = 0.8, 1e-2, 0.5
    transform = optim.scale_by_rms(rho, eps, v0, eps_in_sqrt, bias_correction, centered=centered)
    outs, state = run(transform, [G1, G2])
    v, m = np.full(4, v0), np.zeros(4)
    for t, (g, out) in enumerate(zip([G1, G2], outs), start=1):
        v = rho * v + (1 - rho) * g**2
        m = rho * m + (1 - rho) * g
        vh, mh = (v / (1 - rho**t), m / (1 - rho**t)) if bias_correction else (v, m)
        var = vh - mh**2 if centered else vh
        expected = g / np.sqrt(var + eps) if eps_in_sqrt else g / (np.sqrt(var) + eps)
        np.testing.assert_allclose(out, expected, rtol=2e-5)
    np.testing.assert_allclose(state.nu, v, rtol=1e-6)
    assert (state.mu is None) == (not centered)


def test_adam_first_step_is_normalised_gradient():
    eps = 1e-3
    outs, _ = run(optim.scale_by_adam(eps=eps), [G1])
    np.testing.assert_allclose(outs[0], G1 / (np.abs(G1) + eps), rtol=1e-5)


@pytest.mark.parametrize("nesterov", [False, True])
def test_adam_two_steps_closed_form(nesterov):
    b1, b2, eps, eps_root = 0.8, 0.9, 1e-3, 1e-4
    outs, state = run(optim.scale_by_adam(b1, b2, eps, eps_root, nesterov=nesterov), [G1, G2])
    m, v = np.zeros(4), np.zeros(4)
    for t, (g, out) in enumerate(zip([G1, G2], outs), start=1):
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g**2
        if nesterov:
            mh = b1 * m / (1 - b1 ** (t + 1)) + (1 - b1) * g / (1 - b1**t)
        else:
            mh = m / (1 - b1**t)
        vh = v / (1 - b2**t)
        np.testing.assert_allclose(out, mh / (np.sqrt(vh + eps_root) + eps), rtol=2e-5)
    assert int(state.count) == 2
    np.testing.assert_allclose(state.mu, m, rtol=1e-6)
    np.testing.assert_allclose(state.nu, v, rtol=1e-6)


def test_adam_mu_dtype():
    _, state = run(optim.scale_by_adam(mu_dtype=jnp.bfloat16), [G1])
    assert state.mu.dtype == jnp.bfloat16 and state.nu.dtype == jnp.float32


def test_add_decayed_weights_with_mask_and_schedule():
    params = {"w": jnp.array([1.0, -2.0]), "b": jnp.array([3.0])}
    grads = {"w": jnp.array([0.1, 0.1]), "b": jnp.array([0.1])}
    t = optim.add_decayed_weights(0.5, mask={"w": True, "b": False})
    u, _ = t.update(grads, t.init(params), params)
    np.testing.assert_allclose(u["w"], [0.6, -0.9])
    np.testing.assert_allclose(u["b"], [0.1])
    t = optim.add_decayed_weights(lambda step: 0.1 * (step + 1))
    state = t.init(params)
    _, state = t.update(grads, state, params)
    u, _ = t.update(grads, state, params)
    np.testing.assert_allclose(u["b"], [0.1 + 0.2 * 3.0], rtol=1e-6)
    with pytest.raises(ValueError, match="needs the current parameters"):
        t.update(grads, state)


def test_clip_and_clip_by_global_norm():
    np.testing.assert_allclose(run(optim.clip(1.0), [G1])[0][0], np.clip(G1, -1, 1))
    tree = {"a": jnp.array([3.0, 0.0]), "b": jnp.array([[4.0]])}
    assert float(optim.global_norm(tree)) == pytest.approx(5.0)
    t = optim.clip_by_global_norm(1.0)
    u, _ = t.update(tree, t.init(tree))
    np.testing.assert_allclose(u["a"], [0.6, 0.0], rtol=1e-6)
    np.testing.assert_allclose(u["b"], [[0.8]], rtol=1e-6)
    assert float(optim.global_norm(u)) == pytest.approx(1.0)
    t = optim.clip_by_global_norm(10.0)
    u, _ = t.update(tree, t.init(tree))
    np.testing.assert_array_equal(u["a"], tree["a"])


# ---------------------------------------------------------------- wrappers


def test_masked_transforms_only_selected_leaves_and_keeps_state_for_them():
    params = {"w": jnp.ones((2, 2)), "b": jnp.ones(2)}
    grads = {"w": jnp.full((2, 2), 2.0), "b": jnp.full(2, 2.0)}
    t = optim.masked(optim.trace(0.5), lambda p: jax.tree.map(lambda x: x.ndim > 1, p))
    state = t.init(params)
    assert isinstance(state.inner_state.trace["b"], optim.MaskedNode)
    u, state = t.update(grads, state)
    u, state = t.update(grads, state)
    np.testing.assert_allclose(u["w"], np.full((2, 2), 2.0 + 0.5 * 2.0))
    np.testing.assert_array_equal(u["b"], grads["b"])
    with pytest.raises(ValueError, match="mask leaves must be Python booleans"):
        optim.masked(optim.scale(1.0), {"w": jnp.array(True), "b": False}).init(params)


def test_partition_gives_groups_their_own_transforms():
    params = {"layer": {"w": jnp.ones(2), "b": jnp.ones(1)}, "frozen": jnp.ones(3)}
    grads = jax.tree.map(jnp.ones_like, params)
    labels = {"layer": {"w": "fast", "b": "slow"}, "frozen": "frozen"}
    opt = optim.partition({"fast": optim.sgd(1.0), "slow": optim.sgd(0.1), "frozen": optim.set_to_zero()}, labels)
    state = opt.init(params)
    u, state = opt.update(grads, state, params)
    np.testing.assert_allclose(u["layer"]["w"], [-1.0, -1.0])
    np.testing.assert_allclose(u["layer"]["b"], [-0.1], rtol=1e-6)
    np.testing.assert_array_equal(u["frozen"], [0.0, 0.0, 0.0])
    assert float(optim.current_learning_rate(state.inner_states["slow"])) == pytest.approx(0.1)
    with pytest.raises(ValueError, match="holds 2 learning rates"):
        optim.current_learning_rate(state)
    # A label function, and a prefix of the tree as labels.
    by_fn = optim.partition({"a": optim.scale(2.0), "b": optim.scale(3.0)}, lambda p: {"layer": "a", "frozen": "b"})
    u, _ = by_fn.update(grads, by_fn.init(params))
    np.testing.assert_array_equal(u["layer"]["w"], [2.0, 2.0])
    np.testing.assert_array_equal(u["frozen"], [3.0, 3.0, 3.0])
    with pytest.raises(ValueError, match="no transformation"):
        optim.partition({"a": optim.scale(1.0)}, {"layer": "a", "frozen": "b"}).init(params)


def test_apply_if_finite_skips_counts_and_gives_up():
    opt = optim.apply_if_finite(optim.sgd(0.1, momentum=0.9), max_consecutive_errors=2)
    p = jnp.ones(2)
    state = opt.init(p)
    u, state = opt.update(jnp.array([1.0, 1.0]), state, p)
    good_inner = state.inner_state
    bad = jnp.array([jnp.nan, 1.0])
    for k in (1, 2):
        u, state = opt.update(bad, state, p)
        np.testing.assert_array_equal(u, [0.0, 0.0])
        assert int(state.notfinite_count) == k and not bool(state.last_finite)
        np.testing.assert_array_equal(state.inner_state[0].trace, good_inner[0].trace)
    u, state = opt.update(bad, state, p)  # the third in a row is let through
    assert np.isnan(u[0]) and int(state.total_notfinite) == 3
    u, state = opt.update(jnp.array([1.0, 1.0]), state, p)
    assert int(state.notfinite_count) == 0 and bool(state.last_finite) and int(state.total_notfinite) == 3


# -------------------------------------------------------------- Optax interop


def _steps(opt, apply, n=5):
    params = {"a": jnp.array([1.0, -2.0]), "b": jnp.array(0.5)}

    @jax.jit
    def go(params):
        state = opt.init(params)
        for _ in range(n):
            grads = jax.tree.map(lambda x: jnp.sin(3.0 * x) + x, params)
            updates, state = opt.update(grads, state, params)
            params = apply(params, updates)
        return params, state

    return go(params)


def test_gdjax_transforms_inside_optax_chain():
    ours, state = _steps(
        optax.chain(optim.scale_by_adam(), optax.add_decayed_weights(0.01), optim.scale_by_learning_rate(0.1)),
        optax.apply_updates,
    )
    theirs, _ = _steps(optax.adamw(0.1, weight_decay=0.01), optax.apply_updates)
    jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-6), ours, theirs)
    assert float(optim.current_learning_rate(state)) == pytest.approx(0.1)


def test_optax_transforms_inside_gdjax_chain():
    ours, _ = _steps(
        optim.chain(optax.scale_by_adam(), optim.add_decayed_weights(0.01), optax.scale(-0.1)), optim.apply_updates
    )
    theirs, _ = _steps(optim.adamw(0.1, weight_decay=0.01), optim.apply_updates)
    jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-6), ours, theirs)
    wrapped, _ = _steps(optax.apply_if_finite(optim.sgd(0.1, momentum=0.9), 3), optax.apply_updates)
    plain, _ = _steps(optim.sgd(0.1, momentum=0.9), optim.apply_updates)
    jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-6), wrapped, plain)


# --------------------------------------------------------------- signatures

_SAME_DEFAULTS = [
    (optim.sgd, optax.sgd),
    (optim.adagrad, optax.adagrad),
    (optim.rmsprop, optax.rmsprop),
    (optim.adam, optax.adam),
    (optim.adamw, optax.adamw),
    (optim.scale_by_adam, optax.scale_by_adam),
    (optim.scale_by_rms, optax.scale_by_rms),
    (optim.scale_by_adagrad, optax.scale_by_rss),
    (optim.trace, optax.trace),
    (optim.add_decayed_weights, optax.add_decayed_weights),
    (optim.exponential_decay, optax.exponential_decay),
    (optim.polynomial_schedule, optax.polynomial_schedule),
    (optim.cosine_decay_schedule, optax.cosine_decay_schedule),
    (optim.warmup_cosine_decay_schedule, optax.warmup_cosine_decay_schedule),
]


@pytest.mark.parametrize("ours, theirs", _SAME_DEFAULTS, ids=[o.__name__ for o, _ in _SAME_DEFAULTS])
def test_names_keywords_and_defaults_are_optax(ours, theirs):
    a, b = inspect.signature(ours).parameters, inspect.signature(theirs).parameters
    shared = [name for name in b if name in a]
    # Every Optax keyword exists here (bar deprecated or unrelated extras), in Optax's order.
    assert shared == [name for name in a if name in b]
    assert set(b) <= set(a)
    for name in shared:
        assert a[name].default == b[name].default, name
        assert a[name].kind == b[name].kind, name


@pytest.mark.parametrize("optimizer", [optim.sgd, optim.adagrad, optim.rmsprop, optim.adam, optim.adamw])
def test_optimizer_docstrings_state_the_update_formula(optimizer):
    assert ".. math::" in optimizer.__doc__ and "References" in optimizer.__doc__

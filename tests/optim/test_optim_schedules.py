"""Schedules: Optax's values where Optax has them, closed forms otherwise, traced constants."""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import gdjax.optim as optim

COUNTS = jnp.array([0, 1, 5, 29, 30, 31, 99, 100, 101, 150, 299, 300, 1000], jnp.int32)

PAIRS = {
    "constant": (optim.constant_schedule(0.3), optax.constant_schedule(0.3)),
    "piecewise_constant": (
        optim.piecewise_constant_schedule(0.1, {30: 0.5, 100: 0.1}),
        optax.piecewise_constant_schedule(0.1, {30: 0.5, 100: 0.1}),
    ),
    "exponential": (optim.exponential_decay(0.1, 50, 0.5), optax.exponential_decay(0.1, 50, 0.5)),
    "exponential_staircase_begin_floor": (
        optim.exponential_decay(0.1, 30, 0.5, transition_begin=5, staircase=True, end_value=0.01),
        optax.exponential_decay(0.1, 30, 0.5, transition_begin=5, staircase=True, end_value=0.01),
    ),
    "exponential_growth_ceiling": (
        optim.exponential_decay(0.1, 30, 2.0, end_value=0.5),
        optax.exponential_decay(0.1, 30, 2.0, end_value=0.5),
    ),
    "polynomial": (
        optim.polynomial_schedule(0.1, 0.001, 2.0, 100, transition_begin=30),
        optax.polynomial_schedule(0.1, 0.001, 2.0, 100, transition_begin=30),
    ),
    "linear": (optim.linear_schedule(0.0, 0.2, 100), optax.linear_schedule(0.0, 0.2, 100)),
    "cosine": (
        optim.cosine_decay_schedule(0.1, 300, alpha=0.1, exponent=2.0),
        optax.cosine_decay_schedule(0.1, 300, alpha=0.1, exponent=2.0),
    ),
    "warmup_constant": (optim.warmup_constant_schedule(0.0, 0.1, 30), optax.warmup_constant_schedule(0.0, 0.1, 30)),
    "warmup_cosine": (
        optim.warmup_cosine_decay_schedule(0.0, 0.1, 30, 300, end_value=0.001),
        optax.warmup_cosine_decay_schedule(0.0, 0.1, 30, 300, end_value=0.001),
    ),
    "join": (
        optim.join_schedules([optim.constant_schedule(0.1), optim.linear_schedule(0.1, 0.0, 50)], [30]),
        optax.join_schedules([optax.constant_schedule(0.1), optax.linear_schedule(0.1, 0.0, 50)], [30]),
    ),
}


@pytest.mark.parametrize("name", sorted(PAIRS))
def test_schedule_matches_optax(name):
    ours, theirs = PAIRS[name]
    got = np.array([float(ours(c)) for c in COUNTS])
    want = np.array([float(theirs(c)) for c in COUNTS])
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-12)
    # Under jit with a traced count too (compared with Optax under jit: XLA rounds the same way).
    np.testing.assert_allclose(
        jax.jit(jax.vmap(ours))(COUNTS), jax.jit(jax.vmap(theirs))(COUNTS), rtol=1e-6, atol=1e-12
    )


T = np.array([0, 1, 2, 7, 10, 11, 25, 100], np.float64)


def test_step_decay_halves_every_period():
    s = optim.step_decay_schedule(0.8, 10)
    np.testing.assert_allclose([float(s(t)) for t in T], 0.8 * 0.5 ** np.floor(T / 10), rtol=1e-6)


@pytest.mark.parametrize("staircase", [False, True])
def test_natural_exp_decay(staircase):
    s = optim.natural_exp_decay(0.5, 0.03, transition_steps=4, staircase=staircase)
    tau = np.floor(T / 4) if staircase else T / 4
    np.testing.assert_allclose([float(s(t)) for t in T], 0.5 * np.exp(-0.03 * tau), rtol=1e-6)
    per_step = optim.natural_exp_decay(0.5, 0.03)
    np.testing.assert_allclose([float(per_step(t)) for t in T], 0.5 * np.exp(-0.03 * T), rtol=1e-6)


@pytest.mark.parametrize("staircase", [False, True])
def test_inverse_time_decay(staircase):
    s = optim.inverse_time_decay(0.5, 0.2, transition_steps=5, staircase=staircase)
    tau = np.floor(T / 5) if staircase else T / 5
    np.testing.assert_allclose([float(s(t)) for t in T], 0.5 / (1 + 0.2 * tau), rtol=1e-6)


def test_per_epoch_floors_or_interpolates():
    # "halve every 2 epochs" with 10 steps per epoch: halves at steps 20, 40, ...
    s = optim.per_epoch(optim.step_decay_schedule(1.0, 2), steps_per_epoch=10)
    np.testing.assert_allclose([float(s(t)) for t in [0, 19, 20, 39, 40]], [1, 1, 0.5, 0.5, 0.25])
    smooth = optim.per_epoch(optim.natural_exp_decay(1.0, 0.1), 10, fractional=True)
    np.testing.assert_allclose(float(smooth(15)), math.exp(-0.15), rtol=1e-6)
    stepped = optim.per_epoch(optim.natural_exp_decay(1.0, 0.1), 10)
    np.testing.assert_allclose(float(stepped(15)), math.exp(-0.1), rtol=1e-6)


def test_linear_warmup_then_the_schedule_shifted():
    s = optim.linear_warmup(optim.cosine_decay_schedule(0.1, 100), warmup_steps=10)
    np.testing.assert_allclose([float(s(t)) for t in [0, 5, 10]], [0.0, 0.05, 0.1], rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(float(s(60)), 0.1 * 0.5 * (1 + math.cos(math.pi * 50 / 100)), rtol=1e-6)
    constant = optim.linear_warmup(0.2, 4, init_value=0.1)
    np.testing.assert_allclose([float(constant(t)) for t in [0, 2, 4, 100]], [0.1, 0.15, 0.2, 0.2], rtol=1e-6)


def test_linear_scaling_rule():
    assert optim.linear_scaling_rule(0.1, batch_size=1024) == pytest.approx(0.4)
    assert optim.linear_scaling_rule(0.1, 64, base_batch_size=32) == pytest.approx(0.2)
    scaled = optim.linear_scaling_rule(optim.step_decay_schedule(0.1, 10), 512, 256)
    assert float(scaled(10)) == pytest.approx(0.1)
    with pytest.raises(ValueError, match="batch_size"):
        optim.linear_scaling_rule(0.1, 0)


def test_traced_constants_compile_once_and_vmap():
    traces = []

    @jax.jit
    def values(init_value, rate, period, peak):
        traces.append(None)
        count = jnp.arange(0, 200, 7)
        return jnp.stack(
            [
                optim.exponential_decay(init_value, period, rate, staircase=True)(count),
                optim.natural_exp_decay(init_value, rate, period)(count),
                optim.inverse_time_decay(init_value, rate, period)(count),
                optim.polynomial_schedule(init_value, 0.0, 2.0, period)(count),
                optim.cosine_decay_schedule(init_value, period, alpha=rate)(count),
                optim.warmup_cosine_decay_schedule(0.0, peak, 10, period * 2)(count),
                optim.piecewise_constant_schedule(init_value, {50: rate})(count),
            ]
        )

    def reference(init_value, rate, period, peak):
        count = jnp.arange(0, 200, 7)
        return jnp.stack(
            [
                optax.exponential_decay(init_value, period, rate, staircase=True)(count),
                init_value * jnp.exp(-rate * count / period),
                init_value / (1 + rate * count / period),
                optax.polynomial_schedule(init_value, 0.0, 2.0, period)(count),
                optax.cosine_decay_schedule(init_value, period, alpha=rate)(count),
                optax.warmup_cosine_decay_schedule(0.0, peak, 10, period * 2)(count),
                optax.piecewise_constant_schedule(init_value, {50: rate})(count),
            ]
        )

    settings = [(0.1, 0.5, 40, 0.2), (0.3, 0.25, 60, 0.05), (1.0, 0.9, 100, 1.0)]
    for setting in settings:
        got = values(*(jnp.float32(v) for v in setting))
        np.testing.assert_allclose(got, reference(*setting), rtol=2e-5, atol=1e-7)
    assert len(traces) == 1
    batched = jax.vmap(values)(*(jnp.array(col, jnp.float32) for col in zip(*settings)))
    for i, setting in enumerate(settings):
        np.testing.assert_allclose(batched[i], reference(*setting), rtol=2e-5, atol=1e-7)


@pytest.mark.parametrize(
    ("build", "argument"),
    [
        (lambda: optim.exponential_decay(0.1, 0, 0.5), "transition_steps"),
        (lambda: optim.exponential_decay(0.1, 10, 0.0), "decay_rate"),
        (lambda: optim.exponential_decay(-0.1, 10, 0.5), "init_value"),
        (lambda: optim.polynomial_schedule(0.1, 0.0, 1.0, -5), "transition_steps"),
        (lambda: optim.cosine_decay_schedule(0.1, 100, alpha=1.5), "alpha"),
        (lambda: optim.cosine_decay_schedule(float("nan"), 100), "init_value"),
        (lambda: optim.piecewise_constant_schedule(0.1, {-3: 0.5}), "boundaries_and_scales"),
        (lambda: optim.piecewise_constant_schedule(0.1, {3: -0.5}), "boundaries_and_scales"),
        (lambda: optim.warmup_cosine_decay_schedule(0.0, 0.1, 50, 40), "decay_steps"),
        (lambda: optim.join_schedules([optim.constant_schedule(0.1)], [10]), "boundaries"),
        (lambda: optim.per_epoch(optim.constant_schedule(0.1), 0), "steps_per_epoch"),
        (lambda: optim.natural_exp_decay(0.1, 0.1, staircase="yes"), "staircase"),
    ],
)
def test_invalid_schedule_constants_raise(build, argument):
    with pytest.raises(ValueError, match=argument):
        build()


def test_schedule_as_learning_rate_is_read_back_from_the_state():
    schedule = optim.per_epoch(optim.step_decay_schedule(0.1, 2), steps_per_epoch=3)
    opt = optim.sgd(schedule, momentum=0.9)
    params = jnp.ones(2)
    state = opt.init(params)
    seen = []
    for _ in range(13):
        seen.append(float(optim.current_learning_rate(state)))
        _, state = opt.update(jnp.ones(2), state, params)
    np.testing.assert_allclose(seen, [float(schedule(k)) for k in range(13)])
    assert seen[0] == pytest.approx(0.1) and seen[6] == pytest.approx(0.05) and seen[12] == pytest.approx(0.025)

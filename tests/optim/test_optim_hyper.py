"""Hyperparameters: validated when concrete, traceable under jit and vmap, dtype-preserving."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import gdjax.optim as optim

PARAMS = {"w": jnp.array([[0.5, -1.0], [2.0, 0.25]]), "b": jnp.array([0.1, -0.3])}


def loss(p):
    return jnp.sum(jnp.cos(p["w"]) * p["w"] ** 2) + jnp.sum((p["b"] - 1.0) ** 4)


# ----------------------------------------------------------------- validation

BAD = [
    (lambda: optim.adam(-1.0), "learning_rate", "-1.0"),
    (lambda: optim.sgd(0.0), "learning_rate", "0.0"),
    (lambda: optim.sgd(float("nan")), "learning_rate", "nan"),
    (lambda: optim.adagrad(float("inf")), "learning_rate", "inf"),
    (lambda: optim.adam(None), "learning_rate", "None"),
    (lambda: optim.adam(jnp.array([0.1, 0.2])), "learning_rate", "shape (2,)"),
    (lambda: optim.sgd(0.1, momentum=1.0), "momentum", "1.0"),
    (lambda: optim.sgd(0.1, momentum=-0.5), "momentum", "-0.5"),
    (lambda: optim.sgd(0.1, momentum=0.9, dampening=1.5), "dampening", "1.5"),
    (lambda: optim.sgd(0.1, nesterov=True), "nesterov", "momentum=None"),
    (lambda: optim.sgd(0.1, momentum=0.9, nesterov="yes"), "nesterov", "'yes'"),
    (lambda: optim.rmsprop(0.1, decay=1.0), "decay", "1.0"),
    (lambda: optim.rmsprop(0.1, momentum=2.0), "momentum", "2.0"),
    (lambda: optim.rmsprop(0.1, eps=-1e-3), "eps", "-0.001"),
    (lambda: optim.rmsprop(0.1, initial_scale=-1.0), "initial_scale", "-1.0"),
    (lambda: optim.adam(0.1, b1=1.0), "b1", "1.0"),
    (lambda: optim.adam(0.1, b2=-0.1), "b2", "-0.1"),
    (lambda: optim.adam(0.1, eps=-1e-8), "eps", "-1e-08"),
    (lambda: optim.adam(0.1, eps_root=-1.0), "eps_root", "-1.0"),
    (lambda: optim.adamw(0.1, weight_decay=-0.01), "weight_decay", "-0.01"),
    (lambda: optim.adagrad(0.1, initial_accumulator_value=-1.0), "initial_accumulator_value", "-1.0"),
    (lambda: optim.adagrad(0.1, eps_in_sqrt=1), "eps_in_sqrt", "1"),
    (lambda: optim.clip(0.0), "max_delta", "0.0"),
    (lambda: optim.clip_by_global_norm(-1.0), "max_norm", "-1.0"),
    (lambda: optim.scale(jnp.inf), "step_size", "inf"),
    (lambda: optim.apply_if_finite(optim.sgd(0.1), -1), "max_consecutive_errors", "-1"),
    (lambda: optim.adam(0.1, mu_dtype="not a dtype"), "mu_dtype", "not a dtype"),
]


@pytest.mark.parametrize(("build", "argument", "shown"), BAD, ids=[f"{a}={s}" for _, a, s in BAD])
def test_concrete_invalid_values_raise_naming_argument_and_value(build, argument, shown):
    with pytest.raises(ValueError) as info:
        build()
    message = str(info.value)
    assert argument in message and shown in message


def test_traced_values_are_not_checked_at_construction():
    # Inside jit the value is unknown: construction must not branch on it (nor raise).
    @jax.jit
    def first_update(lr, b1):
        opt = optim.adam(lr, b1=b1)
        return opt.update(jnp.ones(2), opt.init(jnp.ones(2)))[0]

    np.testing.assert_allclose(first_update(-1.0, 0.5), [1.0, 1.0], rtol=1e-4)


# --------------------------------------------------- traced hyperparameters


def train(opt, steps=20):
    def step(carry, _):
        params, state = carry
        updates, state = opt.update(jax.grad(loss)(params), state, params)
        return (optim.apply_updates(params, updates), state), None

    (params, state), _ = jax.lax.scan(step, (PARAMS, opt.init(PARAMS)), None, length=steps)
    return params, state


def test_sweep_over_learning_rate_and_momentum_is_one_vmap():
    lrs = jnp.array([0.01, 0.03, 0.1])
    moms = jnp.array([0.0, 0.5, 0.9])

    @jax.jit
    def sweep(lrs, moms):
        one = lambda lr, mom: train(optim.sgd(lr, momentum=mom))[0]
        return jax.vmap(jax.vmap(one, in_axes=(None, 0)), in_axes=(0, None))(lrs, moms)

    grid = sweep(lrs, moms)
    assert grid["w"].shape == (3, 3, 2, 2)
    for i, lr in enumerate([0.01, 0.03, 0.1]):
        for j, mom in enumerate([0.0, 0.5, 0.9]):
            single = jax.jit(lambda: train(optim.sgd(lr, momentum=mom))[0])()
            jax.tree.map(lambda a, b: np.testing.assert_allclose(a[i, j], b, rtol=1e-5, atol=1e-7), grid, single)


def test_vmapped_adam_over_every_numeric_hyperparameter():
    hp = {
        "learning_rate": jnp.array([0.01, 0.05]),
        "b1": jnp.array([0.9, 0.5]),
        "b2": jnp.array([0.999, 0.9]),
        "eps": jnp.array([1e-8, 1e-3]),
        "eps_root": jnp.array([0.0, 1e-6]),
        "weight_decay": jnp.array([1e-4, 0.1]),
    }
    batched = jax.jit(jax.vmap(lambda h: train(optim.adamw(**h))))(hp)
    for k in range(2):
        one = {name: float(v[k]) for name, v in hp.items()}
        want = jax.jit(lambda: train(optax.adamw(**one)))()[0]
        jax.tree.map(lambda a, b: np.testing.assert_allclose(a[k], b, rtol=1e-5, atol=1e-7), batched[0], want)
        np.testing.assert_allclose(optim.current_learning_rate(batched[1])[k], one["learning_rate"], rtol=1e-6)


def test_changing_an_array_learning_rate_does_not_recompile():
    traces = []

    @jax.jit
    def step(params, state, lr):
        traces.append(None)
        opt = optim.rmsprop(lr, momentum=0.9, centered=True)
        updates, state = opt.update(jax.grad(loss)(params), state, params)
        return optim.apply_updates(params, updates), state

    state = optim.rmsprop(0.1, momentum=0.9, centered=True).init(PARAMS)
    outs = [step(PARAMS, state, jnp.float32(lr))[0]["b"] for lr in (0.1, 0.2, 0.4)]
    assert len(traces) == 1
    moves = [np.asarray(o) - np.asarray(PARAMS["b"]) for o in outs]
    np.testing.assert_allclose(moves[1], 2 * moves[0], rtol=1e-5)
    np.testing.assert_allclose(moves[2], 4 * moves[0], rtol=1e-5)


def test_the_rate_applied_is_the_built_one_and_the_state_records_it():
    # A state from an optimizer built with 0.1, updated by one rebuilt with 0.3:
    # the update applies 0.3 (the record is not an input) and then records 0.3.
    @jax.jit
    def step(state, lr):
        return optim.adam(lr).update(jnp.ones(2), state)

    state = optim.adam(0.1).init(jnp.ones(2))
    assert float(optim.current_learning_rate(state)) == pytest.approx(0.1)
    u1, _ = step(state, jnp.float32(0.1))
    u3, new_state = step(state, jnp.float32(0.3))
    np.testing.assert_allclose(u3, 3 * u1, rtol=1e-6)
    assert float(optim.current_learning_rate(new_state)) == pytest.approx(0.3)
    assert step._cache_size() == 1


# ------------------------------------------------------------------- dtypes


def test_float64_hyperparameters_do_not_upcast_float32_params():
    with jax.enable_x64(True):
        params = jax.tree.map(lambda x: x.astype(jnp.float32), PARAMS)
        opt = optim.chain(
            optim.clip_by_global_norm(jnp.float64(1.0)),
            optim.adamw(jnp.float64(0.1), b1=jnp.float64(0.9), weight_decay=jnp.float64(0.01)),
        )
        state = opt.init(params)
        grads = jax.grad(loss)(params)
        updates, state = opt.update(grads, state, params)
        for leaf in jax.tree.leaves((updates, optim.apply_updates(params, updates))):
            assert leaf.dtype == jnp.float32
        for leaf in jax.tree.leaves(state[1][0].mu) + jax.tree.leaves(state[1][0].nu):
            assert leaf.dtype == jnp.float32
        assert optim.current_learning_rate(state).dtype == jnp.float64


def test_bfloat16_adam_keeps_dtype_and_second_moment():
    params = jax.tree.map(lambda x: x.astype(jnp.bfloat16), PARAMS)
    opt = optim.adam(jnp.float32(0.01))
    state = opt.init(params)
    grads = jax.tree.map(lambda x: jnp.full_like(x, 0.5), params)
    updates, state = opt.update(grads, state, params)
    for leaf in jax.tree.leaves(updates) + jax.tree.leaves(state[0].nu):
        assert leaf.dtype == jnp.bfloat16
    # 1 - b2 = 0.001 is formed before the cast: the second moment is not rounded to zero.
    np.testing.assert_allclose(np.asarray(state[0].nu["w"], np.float32), 0.001 * 0.25, rtol=1e-2)
    np.testing.assert_allclose(np.asarray(updates["w"], np.float32), -0.01, rtol=1e-2)


# -------------------------------------------------- reading the learning rate


def test_current_learning_rate_constant_schedule_nested_and_errors():
    assert float(optim.current_learning_rate(optim.sgd(0.3).init(PARAMS))) == pytest.approx(0.3)
    schedule = optim.exponential_decay(0.1, 1, 0.5)
    _, state = jax.jit(lambda: train(optim.adam(schedule), steps=4))()
    assert float(optim.current_learning_rate(state)) == pytest.approx(float(schedule(4)))
    wrapped = optim.apply_if_finite(optim.masked(optim.sgd(0.2), {"w": True, "b": False}), 1).init(PARAMS)
    assert float(optim.current_learning_rate(wrapped)) == pytest.approx(0.2)
    with pytest.raises(ValueError, match="holds no learning rate"):
        optim.current_learning_rate(optim.scale_by_adam().init(PARAMS))

"""Optimizers as data: split into structure and values, rebuilt from traced values, one compile per structure."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from gdjax import optim
from gdjax.optim import is_elementwise, merge, split

PARAMS = {"w": jnp.array([[0.5, -1.0], [2.0, 0.25]]), "b": jnp.array([0.1, -0.2])}
GRADS = {"w": jnp.array([[0.3, -0.1], [0.05, 0.7]]), "b": jnp.array([-0.4, 0.2])}

# Pairs of the same structure with other values.
PAIRS = {
    "sgd": (optim.sgd(0.1), optim.sgd(0.3)),
    "sgd_momentum": (optim.sgd(0.1, 0.9, nesterov=True), optim.sgd(0.05, 0.5, nesterov=True)),
    "sgd_dampening": (optim.sgd(0.1, 0.9, dampening=0.5), optim.sgd(0.2, 0.8, dampening=0.5)),
    "adagrad": (optim.adagrad(0.1), optim.adagrad(0.2, initial_accumulator_value=0.5)),
    "rmsprop": (
        optim.rmsprop(0.01, centered=True, momentum=0.9),
        optim.rmsprop(0.02, 0.8, centered=True, momentum=0.5),
    ),
    "adam": (optim.adam(1e-3), optim.adam(3e-3, b1=0.8, b2=0.99)),
    "adamw": (optim.adamw(1e-3, weight_decay=0.1), optim.adamw(2e-3, weight_decay=0.01)),
    "nadam": (optim.nadam(1e-3), optim.nadam(1e-2)),
    "cosine": (optim.adam(optim.cosine_decay_schedule(0.1, 100)), optim.adam(optim.cosine_decay_schedule(0.2, 50))),
    "warmup_cosine": (
        optim.sgd(optim.warmup_cosine_decay_schedule(0.0, 0.1, 5, 50)),
        optim.sgd(optim.warmup_cosine_decay_schedule(0.01, 0.2, 10, 80)),
    ),
    "piecewise": (
        optim.sgd(optim.piecewise_constant_schedule(0.1, {2: 0.5})),
        optim.sgd(optim.piecewise_constant_schedule(0.3, {2: 0.1})),
    ),
    "per_epoch_step": (
        optim.sgd(optim.per_epoch(optim.step_decay_schedule(0.1, 2), 3)),
        optim.sgd(optim.per_epoch(optim.step_decay_schedule(0.2, 3), 4)),
    ),
    "chain_clip": (
        optim.chain(optim.clip_by_global_norm(1.0), optim.adam(1e-3)),
        optim.chain(optim.clip_by_global_norm(0.5), optim.adam(1e-2)),
    ),
    "masked": (
        optim.chain(optim.adam(1e-2), optim.add_decayed_weights(0.1, mask={"w": True, "b": False})),
        optim.chain(optim.adam(1e-3), optim.add_decayed_weights(0.3, mask={"w": True, "b": False})),
    ),
    "partition": (
        optim.partition({"a": optim.adam(1e-2), "s": optim.sgd(0.1)}, {"w": "a", "b": "s"}),
        optim.partition({"a": optim.adam(1e-3), "s": optim.sgd(0.3)}, {"w": "a", "b": "s"}),
    ),
    "apply_if_finite": (
        optim.apply_if_finite(optim.sgd(0.1), 3),
        optim.apply_if_finite(optim.sgd(0.2), 5),
    ),
    "adam_amsgrad": (optim.adam(1e-3, amsgrad=True), optim.adam(3e-3, b2=0.99, amsgrad=True)),
    "amsgrad": (optim.amsgrad(1e-2), optim.amsgrad(3e-3, b1=0.5, eps_root=1e-8)),
    "adamax": (optim.adamax(1e-2), optim.adamax(2e-3, b1=0.8, b2=0.99)),
    "adamaxw": (optim.adamaxw(1e-2), optim.adamaxw(2e-3, weight_decay=0.1)),
    "radam": (optim.radam(1e-2), optim.radam(3e-3, b2=0.99, threshold=4.0)),
    "radam_torch": (
        optim.radam(1e-2, eps_before_correction=True),
        optim.radam(3e-3, eps=1e-6, eps_before_correction=True),
    ),
    "adadelta": (optim.adadelta(1.0), optim.adadelta(0.5, rho=0.95, eps=1e-5, weight_decay=0.01)),
    "lion": (optim.lion(1e-3), optim.lion(3e-4, b1=0.95, b2=0.98, weight_decay=0.1)),
    "lamb": (optim.lamb(1e-2), optim.lamb(3e-3, weight_decay=0.01)),
    "lars": (optim.lars(0.1), optim.lars(0.3, weight_decay=1e-3, trust_coefficient=0.01, momentum=0.8)),
    "adafactor": (
        optim.adafactor(1e-2, min_dim_size_to_factor=2, momentum=0.9, weight_decay_rate=0.01),
        optim.adafactor(3e-2, min_dim_size_to_factor=2, decay_rate=0.7, momentum=0.5, weight_decay_rate=0.1),
    ),
    "sign_sgd": (optim.sign_sgd(1e-2), optim.sign_sgd(3e-3)),
    "reduce_on_plateau": (
        optim.reduce_on_plateau(optim.adam(1e-2), patience=3, factor=0.5),
        optim.reduce_on_plateau(optim.adam(3e-3), patience=5, factor=0.2, min_lr=1e-4),
    ),
    "switch": (
        optim.switch([optim.adam(1e-2), optim.sgd(0.1, 0.9)], 0),
        optim.switch([optim.adam(3e-3), optim.sgd(0.05, 0.5)], 1),
    ),
    "multi_steps": (optim.multi_steps(optim.adam(1e-2), 2), optim.multi_steps(optim.adam(3e-3), 3)),
    "lookahead": (optim.lookahead(optim.sgd(0.1), 2, 0.5), optim.lookahead(optim.sgd(0.2), 3, 0.8)),
    "average_params": (
        optim.average_params(optim.adam(1e-2), 0.9, start=1),
        optim.average_params(optim.adam(3e-3), 0.5, start=2),
    ),
    "one_cycle": (
        optim.sgd(optim.one_cycle_schedule(20, 0.1), momentum=optim.one_cycle_momentum_schedule(20)),
        optim.sgd(
            optim.one_cycle_schedule(30, 0.2, 0.4), momentum=optim.one_cycle_momentum_schedule(30, 0.8, 0.9, 0.4)
        ),
    ),
    "cyclic": (
        optim.adam(optim.cyclic_schedule(1e-3, 1e-2, 2, 2, mode="exp_range", gamma=0.9)),
        optim.adam(optim.cyclic_schedule(2e-3, 2e-2, 3, 1, mode="exp_range", gamma=0.8)),
    ),
    "warm_restarts": (
        optim.sgd(optim.cosine_warm_restarts_schedule(0.1, 2, 2, 1e-3)),
        optim.sgd(optim.cosine_warm_restarts_schedule(0.2, 3, 2, 1e-2)),
    ),
    "signum": (optim.signum(1e-2), optim.signum(3e-3, beta=0.8)),
}


def _run(tx, steps=4):
    """``steps`` updates in a scan (a loop-carried count, as in training: nothing is constant-folded)."""

    def step(carry, grads):
        params, state = carry
        updates, state = tx.update(grads, state, params)
        return (optim.apply_updates(params, updates), state), None

    grads = jax.tree.map(lambda g: jnp.stack([g * (1 + k) for k in range(steps)]), GRADS)
    return jax.lax.scan(step, (PARAMS, tx.init(PARAMS)), grads)[0]


@pytest.mark.parametrize("name", sorted(PAIRS))
def test_same_structure_other_values(name):
    first, second = PAIRS[name]
    values_1, structure_1 = split(first)
    values_2, structure_2 = split(second)
    assert structure_1 == structure_2
    assert hash(structure_1) == hash(structure_2)
    assert values_1 != values_2


@pytest.mark.parametrize("name", sorted(PAIRS))
def test_rebuilt_from_traced_values_runs_the_same_optimizer(name):
    first, second = PAIRS[name]
    _, structure = split(first)

    @jax.jit
    def run(values):
        return _run(merge(structure, values))

    for tx in (first, second):
        got_params, got_state = run(split(tx)[0])
        want_params, want_state = jax.jit(lambda: _run(tx))()  # the constants compiled in
        # Decay rates travel with their exact complements: the same constants; what remains is XLA folding
        # compile-time constants together (c1 * (c2 * g) -> (c1 c2) * g), a last-bit rounding.
        for got, want in zip(jax.tree.leaves((got_params, got_state)), jax.tree.leaves((want_params, want_state))):
            np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-9)
        assert jax.tree.structure(got_state) == jax.tree.structure(want_state)
    assert run._cache_size() == 1  # the second optimizer reused the first one's program


def test_rebuilt_in_float64_is_exact():
    with jax.enable_x64(True):
        params = jax.tree.map(lambda a: a.astype(jnp.float64), PARAMS)
        grads = jax.tree.map(lambda a: a.astype(jnp.float64), GRADS)
        tx = optim.adam(1e-2, b1=0.8, b2=0.95)
        values, structure = split(tx)

        def run(tx):
            state = tx.init(params)
            p = params
            for _ in range(5):
                u, state = tx.update(grads, state, p)
                p = optim.apply_updates(p, u)
            return p

        got = jax.jit(lambda v: run(merge(structure, v)))(values)
        want = run(tx)
        for a, b in zip(jax.tree.leaves(got), jax.tree.leaves(want)):
            assert a.dtype == jnp.float64
            np.testing.assert_allclose(a, b, rtol=1e-15, atol=0)


def test_structural_arguments_are_not_values():
    values, _ = split(optim.sgd(0.1, 0.9, nesterov=True, accumulator_dtype=jnp.bfloat16))
    assert values == [0.1, 0.9]  # momentum has no complement: trace never uses 1 - mu
    # A different static option is a different structure.
    assert split(optim.sgd(0.1, 0.9, nesterov=True))[1] != split(optim.sgd(0.1, 0.9))[1]
    assert split(optim.sgd(0.1, 0.9, dampening=0.5))[1] != split(optim.sgd(0.1, 0.9))[1]
    assert split(optim.adam(optim.cosine_decay_schedule(0.1, 10)))[1] != split(optim.adam(0.1))[1]


def test_defaults_are_part_of_the_canonical_call():
    assert split(optim.adam(1e-3))[1] == split(optim.adam(1e-3, b1=0.9, eps=1e-8))[1]
    assert split(optim.adam(1e-3))[0] == split(optim.adam(learning_rate=1e-3, b2=0.999))[0]


def test_objects_without_a_recipe_are_structure_by_identity():
    tx = optax.adam(1e-3)
    values, structure = split(tx)
    assert values == []
    assert merge(structure, values) is tx
    assert split(optax.adam(1e-3))[1] != structure
    # Inside a gdjax chain, an Optax transform is a structural part; the gdjax parts keep their values.
    values, structure = split(optim.chain(tx, optim.scale(-0.5)))
    assert values == [-0.5]
    schedule = lambda count: 0.1 / (1 + count)  # a hand-written schedule
    values, _ = split(optim.sgd(schedule))
    assert values == []


def test_elementwise():
    assert is_elementwise(optim.adam(1e-3))
    assert is_elementwise(optim.chain(optim.clip(1.0), optim.sgd(optim.cosine_decay_schedule(0.1, 10), 0.9)))
    assert is_elementwise(optim.adamw(1e-3))
    assert not is_elementwise(optim.adamw(1e-3, mask={"w": True, "b": False}))
    assert not is_elementwise(optim.chain(optim.clip_by_global_norm(1.0), optim.adam(1e-3)))
    assert not is_elementwise(PAIRS["partition"][0])
    assert not is_elementwise(optax.adam(1e-3))
    assert not is_elementwise(optim.chain(optax.adam(1e-3)))

"""Property tests (hypothesis): invariants over random pytrees, dtypes and gradients."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import gdjax.optim as optim

OPTIMIZERS = {
    "sgd": lambda: optim.sgd(0.1),
    "sgd_momentum_dampening": lambda: optim.sgd(0.1, momentum=0.9, dampening=0.1),
    "sgd_nesterov": lambda: optim.sgd(0.1, momentum=0.9, nesterov=True),
    "adagrad": lambda: optim.adagrad(0.1),
    "adagrad_torch": lambda: optim.adagrad(0.1, 0.0, 1e-10, eps_in_sqrt=False),
    "rmsprop": lambda: optim.rmsprop(0.1),
    "rmsprop_centered_momentum": lambda: optim.rmsprop(0.1, centered=True, momentum=0.9, eps_in_sqrt=False),
    "adam": lambda: optim.adam(0.1),
    "nadam_eps_root": lambda: optim.nadam(0.1, eps_root=1e-8),
    "adamw_no_decay": lambda: optim.adamw(optim.cosine_decay_schedule(0.1, 10), weight_decay=0.0),
    "clipped_adam": lambda: optim.chain(optim.clip_by_global_norm(1.0), optim.clip(0.5), optim.adam(0.1)),
    "guarded_rmsprop": lambda: optim.apply_if_finite(optim.rmsprop(0.1, bias_correction=True), 2),
}

SHAPES = [(), (3,), (2, 3)]
DTYPES = {"float32": jnp.float32, "bfloat16": jnp.bfloat16, "float64": jnp.float64}

shape_trees = st.recursive(
    st.sampled_from(SHAPES),
    lambda children: st.one_of(
        st.lists(children, min_size=1, max_size=3),
        st.dictionaries(st.sampled_from("abcd"), children, min_size=1, max_size=3),
        st.tuples(children, children),
    ),
    max_leaves=5,
)


def _is_shape(x):
    return isinstance(x, tuple) and all(isinstance(n, int) for n in x)


def random_tree(shapes, seed, dtype, scale=1.0):
    rng = np.random.default_rng(seed)
    return jax.tree.map(lambda shape: jnp.asarray(scale * rng.normal(size=shape), dtype), shapes, is_leaf=_is_shape)


def x64_for(dtype_name):
    return jax.enable_x64(dtype_name == "float64")


def _signature(tree):
    leaves, treedef = jax.tree.flatten(tree)
    return treedef, [(leaf.shape, leaf.dtype) for leaf in leaves]


@settings(max_examples=30, deadline=None)
@given(
    name=st.sampled_from(sorted(OPTIMIZERS)),
    shapes=shape_trees,
    dtype_name=st.sampled_from(sorted(DTYPES)),
    seed=st.integers(0, 2**16),
)
def test_zero_gradients_give_zero_updates(name, shapes, dtype_name, seed):
    # Every optimizer here is at rest at zero: from a fresh state, zero gradients move nothing.
    with x64_for(dtype_name):
        params = random_tree(shapes, seed, DTYPES[dtype_name])
        opt = OPTIMIZERS[name]()
        state = opt.init(params)
        zeros = jax.tree.map(jnp.zeros_like, params)
        for _ in range(3):
            updates, state = opt.update(zeros, state, params)
            for leaf in jax.tree.leaves(updates):
                assert leaf.dtype == DTYPES[dtype_name]
                assert not np.any(np.asarray(leaf, np.float64))


@settings(max_examples=30, deadline=None)
@given(
    name=st.sampled_from(sorted(OPTIMIZERS)),
    shapes=shape_trees,
    dtype_name=st.sampled_from(sorted(DTYPES)),
    seed=st.integers(0, 2**16),
)
def test_structure_and_dtypes_are_preserved(name, shapes, dtype_name, seed):
    dtype = DTYPES[dtype_name]
    with x64_for(dtype_name):
        params = random_tree(shapes, seed, dtype)
        opt = OPTIMIZERS[name]()
        state = opt.init(params)
        before = _signature(state)
        for k in range(2):
            grads = random_tree(shapes, seed + k + 1, dtype)
            updates, state = opt.update(grads, state, params)
            # Same tree, shapes and dtypes as the gradients; finite.
            assert _signature(updates) == _signature(grads)
            assert all(np.all(np.isfinite(np.asarray(u, np.float64))) for u in jax.tree.leaves(updates))
            # The state keeps its type exactly, so it can be a lax.scan carry.
            assert _signature(state) == before
            params = optim.apply_updates(params, updates)
            assert _signature(params) == _signature(grads)


SCALE_INVARIANT = {
    "adam_eps0": lambda: optim.adam(0.1, eps=0.0),
    "nadam_eps0": lambda: optim.nadam(0.1, eps=0.0),
    "rmsprop_eps0": lambda: optim.rmsprop(0.1, eps=0.0, eps_in_sqrt=False, centered=True, momentum=0.5),
    "adagrad_eps0": lambda: optim.adagrad(0.1, initial_accumulator_value=0.0, eps=0.0, eps_in_sqrt=False),
}


@settings(max_examples=30, deadline=None)
@given(
    name=st.sampled_from(sorted(SCALE_INVARIANT)),
    shapes=shape_trees,
    seed=st.integers(0, 2**16),
    power=st.integers(-6, 6),
)
def test_adaptive_updates_ignore_power_of_two_gradient_scaling(name, shapes, seed, power):
    # With eps = 0, m / sqrt(v) is exactly invariant to g -> 2^k g (powers of two scale exactly).
    params = random_tree(shapes, seed, jnp.float32)
    opt = SCALE_INVARIANT[name]()
    grads = [random_tree(shapes, seed + k + 1, jnp.float32) for k in range(3)]
    s1, s2 = opt.init(params), opt.init(params)
    for g in grads:
        u1, s1 = opt.update(g, s1, params)
        u2, s2 = opt.update(jax.tree.map(lambda x: x * 2.0**power, g), s2, params)
        jax.tree.map(np.testing.assert_array_equal, u1, u2)


@settings(max_examples=25, deadline=None)
@given(shapes=shape_trees, seed=st.integers(0, 2**16), data=st.data())
def test_partition_equals_each_transform_on_its_leaves(shapes, seed, data):
    params = random_tree(shapes, seed, jnp.float32)
    leaves, treedef = jax.tree.flatten(params)
    labels = [data.draw(st.sampled_from(["adam", "sgd"])) for _ in leaves]
    opt = optim.partition(
        {"adam": optim.adam(0.1), "sgd": optim.sgd(0.05, momentum=0.9)}, jax.tree.unflatten(treedef, labels)
    )
    alone = {"adam": optim.adam(0.1), "sgd": optim.sgd(0.05, momentum=0.9)}
    state = opt.init(params)
    alone_states = [alone[lab].init(leaf) for lab, leaf in zip(labels, leaves)]
    for k in range(2):
        grads = jax.tree.leaves(random_tree(shapes, seed + k + 1, jnp.float32))
        updates, state = opt.update(jax.tree.unflatten(treedef, grads), state, params)
        for i, (lab, g) in enumerate(zip(labels, grads)):
            u, alone_states[i] = alone[lab].update(g, alone_states[i], leaves[i])
            np.testing.assert_array_equal(jax.tree.leaves(updates)[i], u)


@settings(max_examples=25, deadline=None)
@given(
    shapes=shape_trees,
    seed=st.integers(0, 2**16),
    scale=st.floats(1e-3, 1e3),
    max_norm=st.floats(0.1, 10.0),
)
def test_clip_by_global_norm_bounds_the_norm_and_keeps_direction(shapes, seed, scale, max_norm):
    grads = random_tree(shapes, seed, jnp.float32, scale=scale)
    t = optim.clip_by_global_norm(max_norm)
    clipped, _ = t.update(grads, t.init(grads))
    norm, new_norm = float(optim.global_norm(grads)), float(optim.global_norm(clipped))
    assert new_norm <= max_norm * (1 + 1e-5)
    assert new_norm == pytest.approx(min(norm, max_norm), rel=1e-5)
    factor = new_norm / norm if norm > 0 else 1.0
    jax.tree.map(
        lambda a, b: np.testing.assert_allclose(a, factor * np.asarray(b), rtol=1e-5, atol=1e-30), clipped, grads
    )


EMPTY_AND_NESTED = [{}, [], (), {"a": {}, "b": []}, {"a": {"b": {"c": jnp.ones(2)}}, "d": [jnp.zeros(()), ()]}]


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_empty_and_nested_pytrees(name):
    opt = OPTIMIZERS[name]()
    for params in EMPTY_AND_NESTED:
        state = opt.init(params)
        grads = jax.tree.map(jnp.ones_like, params)
        updates, new_state = opt.update(grads, state, params)
        assert jax.tree.structure(updates) == jax.tree.structure(params)
        assert jax.tree.structure(new_state) == jax.tree.structure(state)
        assert jax.tree.structure(optim.apply_updates(params, updates)) == jax.tree.structure(params)

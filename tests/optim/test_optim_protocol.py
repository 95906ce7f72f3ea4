"""The whole Optax protocol: extra arguments, complex parameters, inject_hyperparams, refused nonsense."""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
import optax
import optax.contrib
import pytest

import gdjax.optim as optim

PARAMS = {"w": jnp.array([[0.5, -1.0, 0.2], [2.0, 0.25, -0.7]]), "b": jnp.array([0.1, -0.3])}


def grads_at(params, k):
    return jax.tree.map(lambda p: jnp.sin(3.0 * p + k) + 0.5 * p, params)


ALL = {
    "sgd": lambda: optim.sgd(0.1, momentum=0.9, dampening=0.1),
    "adagrad": lambda: optim.adagrad(0.1),
    "rmsprop": lambda: optim.rmsprop(0.01, centered=True, momentum=0.9),
    "adam": lambda: optim.adam(0.01, amsgrad=True),
    "adamw_masked": lambda: optim.adamw(0.01, mask={"w": True, "b": False}),
    "amsgrad": lambda: optim.amsgrad(0.2),
    "adamax": lambda: optim.adamax(0.01),
    "radam": lambda: optim.radam(0.05),
    "adadelta": lambda: optim.adadelta(),
    "lion": lambda: optim.lion(0.001),
    "lamb": lambda: optim.lamb(0.01),
    "lars": lambda: optim.lars(0.1),
    "adafactor": lambda: optim.adafactor(0.01, min_dim_size_to_factor=2, momentum=0.9),
    "signum": lambda: optim.signum(0.01),
    "partition": lambda: optim.partition({"a": optim.adam(0.1), "s": optim.sgd(0.1)}, {"w": "a", "b": "s"}),
    "guarded": lambda: optim.apply_if_finite(optim.chain(optim.clip_by_global_norm(1.0), optim.adam(0.1)), 2),
    "lbfgs": lambda: optim.lbfgs(),
    "plateau_switch": lambda: optim.reduce_on_plateau(optim.switch([optim.adam(0.1), optim.sgd(0.1)], 1)),
    "accumulate_lookahead_average": lambda: optim.multi_steps(
        optim.lookahead(optim.average_params(optim.sgd(0.1), 0.9), 2, 0.5), 2
    ),
}


def _value_fn(params):
    return sum(jnp.sum(jnp.cos(p) + 0.25 * p**2) for p in jax.tree.leaves(params))


@pytest.mark.parametrize("name", sorted(ALL))
def test_every_update_accepts_and_ignores_unknown_extra_args(name):
    opt = ALL[name]()
    state = opt.init(PARAMS)
    grad = jax.grad(_value_fn)(PARAMS)
    # The extra arguments L-BFGS uses, and one nobody uses.
    extra = {"value": _value_fn(PARAMS), "grad": grad, "value_fn": _value_fn, "unused_by_all": 3.0}
    u1, s1 = opt.update(grad, state, PARAMS, **extra)
    if name != "lbfgs":  # the others give what they give without any extra argument
        u0, s0 = opt.update(grad, state, PARAMS)
        jax.tree.map(np.testing.assert_array_equal, (u0, s0), (u1, s1))


def test_gdjax_chain_passes_extra_args_to_optax_members_that_take_them():
    # optax.contrib.reduce_on_plateau needs value=...; optax.scale_by_adam (a plain transformation) takes none.
    def ours():
        return optim.chain(optax.scale_by_adam(), optim.scale(-0.1), optax.contrib.reduce_on_plateau(patience=1))

    def theirs():
        return optax.chain(optax.scale_by_adam(), optax.scale(-0.1), optax.contrib.reduce_on_plateau(patience=1))

    @functools.partial(jax.jit, static_argnums=(0, 1))
    def run(opt, apply):
        params, state, scales = PARAMS, opt.init(PARAMS), []
        for k in range(8):
            value = 1.0 if k < 2 else 2.0  # a plateau: the scale must fall
            updates, state = opt.update(grads_at(params, k), state, params, value=value)
            params = apply(params, updates)
            scales.append(state[-1].scale)
        return params, scales

    results = []
    for opt, apply in ((ours(), optim.apply_updates), (theirs(), optax.apply_updates)):
        params, scales = run(opt, apply)
        results.append((params, [float(x) for x in scales]))
    (p_ours, s_ours), (p_theirs, s_theirs) = results
    assert s_ours == s_theirs and min(s_ours) < 1.0
    jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-6), p_ours, p_theirs)


def test_wrappers_forward_extra_args():
    seen = []

    def record(updates, state, params=None, *, value, **extra_args):
        seen.append(value)
        return updates, state

    recorder = optim.GradientTransformation(lambda p: optim.EmptyState(), record)
    opt = optim.chain(
        optim.masked(recorder, {"w": True, "b": False}),
        optim.apply_if_finite(recorder, 1),
        optim.partition({"x": recorder}, {"w": "x", "b": "x"}),
        optim.with_extra_args_support(recorder),
    )
    opt.update(PARAMS, opt.init(PARAMS), PARAMS, value=7.0, other=1)
    assert seen == [7.0, 7.0, 7.0, 7.0]
    # A transformation whose update declares nothing extra gets nothing.
    plain = optim.GradientTransformation(lambda p: optim.EmptyState(), lambda u, s, p=None: (u, s))
    optim.chain(plain).update(PARAMS, (optim.EmptyState(),), PARAMS, value=1.0)


def test_gdjax_inside_optax_chain_accepts_extra_args():
    opt = optax.chain(optim.adam(0.1), optax.contrib.reduce_on_plateau())
    updates, _ = opt.update(PARAMS, opt.init(PARAMS), PARAMS, value=1.0)
    assert jax.tree.structure(updates) == jax.tree.structure(PARAMS)


# ------------------------------------------------------------ complex parameters

Z0 = jnp.array([1.0 + 2.0j, -0.5 + 0.25j, 3.0 - 1.0j], jnp.complex64)
TARGET = jnp.array([0.5 - 1.0j, 2.0 + 0.5j, -1.0 + 0.0j], jnp.complex64)


def complex_loss(z):
    d = z - TARGET
    return jnp.sum(jnp.abs(d) ** 2 + 0.1 * jnp.abs(d) ** 4)


def complex_run(opt, apply, steps):
    def step(carry, _):
        z, state = carry
        g = jnp.conj(jax.grad(complex_loss)(z))  # Optax's convention: descend along the conjugate gradient
        updates, state = opt.update(g, state, z)
        return (apply(z, updates), state), None

    (z, state), _ = jax.lax.scan(step, (Z0, opt.init(Z0)), None, length=steps)
    return z, state


COMPLEX = {
    "adagrad": (lambda: optim.adagrad(0.5), lambda: optax.adagrad(0.5)),
    "rmsprop": (lambda: optim.rmsprop(0.01), lambda: optax.rmsprop(0.01)),
    "rmsprop_centered": (lambda: optim.rmsprop(0.01, centered=True), lambda: optax.rmsprop(0.01, centered=True)),
    "adam": (lambda: optim.adam(0.05), lambda: optax.adam(0.05)),
    "lamb": (lambda: optim.lamb(0.05), lambda: optax.lamb(0.05)),
    "clipped_adam": (
        lambda: optim.chain(optim.clip_by_global_norm(0.5), optim.adam(0.05)),
        lambda: optax.chain(optax.clip_by_global_norm(0.5), optax.adam(0.05)),
    ),
}


@pytest.mark.parametrize("name", sorted(COMPLEX))
def test_complex_parameters_match_optax(name):
    # (Not AMSGrad: Optax keeps its second moments complex and takes their maximum as complex numbers; not RAdam,
    # whose rho_t Optax computes with a float32 cancellation, see test_optim_parity.py.)
    ours_factory, optax_factory = COMPLEX[name]
    ours, state = jax.jit(lambda: complex_run(ours_factory(), optim.apply_updates, 60))()
    theirs, _ = jax.jit(lambda: complex_run(optax_factory(), optax.apply_updates, 60))()
    np.testing.assert_allclose(ours, theirs, rtol=2e-5, atol=1e-6)
    assert float(complex_loss(ours)) < 0.75 * float(complex_loss(Z0)), ours
    # The accumulators of squares are real.
    for leaf in jax.tree.leaves(state):
        if leaf.shape == Z0.shape and not jnp.iscomplexobj(leaf):
            assert leaf.dtype == jnp.float32


CONVERGING = {
    "adagrad": lambda: optim.adagrad(0.5),
    "rmsprop": lambda: optim.rmsprop(0.01),
    "adadelta": lambda: optim.adadelta(1.0),
    "adam": lambda: optim.adam(0.05),
    "amsgrad": lambda: optim.amsgrad(0.2),
    "radam": lambda: optim.radam(0.05),
    "adafactor": lambda: optim.adafactor(0.01, multiply_by_parameter_scale=False),
}


@pytest.mark.parametrize("name", sorted(CONVERGING))
def test_complex_parameters_reach_the_minimum(name):
    factory = CONVERGING[name]
    # Squares taken as g * g (not |g|^2) rotate the steps: adagrad and rmsprop used to stop off the minimum.
    z, _ = jax.jit(lambda: complex_run(factory(), optim.apply_updates, 1500))()
    assert float(jnp.max(jnp.abs(z - TARGET))) < 0.05, z


# ------------------------------------------------------------ optax.inject_hyperparams

INJECTED = {
    "sgd": (optim.sgd, optax.sgd, {"learning_rate": 0.1, "momentum": 0.9}),
    "rmsprop": (optim.rmsprop, optax.rmsprop, {"learning_rate": 0.01, "decay": 0.8, "momentum": 0.5}),
    "adam": (optim.adam, optax.adam, {"learning_rate": 0.01, "b1": 0.8}),
    "adamw": (optim.adamw, optax.adamw, {"learning_rate": 0.01, "weight_decay": 0.1}),
    "amsgrad": (optim.amsgrad, optax.amsgrad, {"learning_rate": 0.01}),
    "radam": (optim.radam, optax.radam, {"learning_rate": 0.01}),
    "adadelta": (optim.adadelta, optax.adadelta, {"learning_rate": 0.5}),
    "lion": (optim.lion, optax.lion, {"learning_rate": 0.001}),
    "lamb": (optim.lamb, optax.lamb, {"learning_rate": 0.01}),
}


def _steps(opt, n=5):
    params, state, out = PARAMS, opt.init(PARAMS), []
    for k in range(n):
        updates, state = opt.update(grads_at(params, k), state, params)
        params = jax.tree.map(lambda p, u: p + u, params, updates)
        out.append(updates)
    return out, state


@pytest.mark.parametrize("name", sorted(INJECTED))
def test_inject_hyperparams_gives_the_unwrapped_states_and_updates(name):
    ours, optax_factory, kwargs = INJECTED[name]
    plain_updates, plain_state = _steps(ours(**kwargs))
    injected_updates, injected_state = _steps(optax.inject_hyperparams(ours)(**kwargs))
    assert jax.tree.structure(injected_state.inner_state) == jax.tree.structure(plain_state)
    # inject_hyperparams hands the numbers over as float32 arrays, so 1 - b is computed in float32
    # (1 - float32(0.999) is 1.3e-5 off 0.001): Optax's own injected optimizers differ from its plain ones alike.
    for a, b in zip(
        jax.tree.leaves((injected_updates, injected_state.inner_state)), jax.tree.leaves((plain_updates, plain_state))
    ):
        np.testing.assert_allclose(a, b, rtol=5e-5, atol=1e-7)
    optax_updates, _ = _steps(optax.inject_hyperparams(optax_factory)(**kwargs))
    for a, b in zip(jax.tree.leaves(injected_updates), jax.tree.leaves(optax_updates)):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7)


# ------------------------------------------------------------ refused nonsense

REFUSED = [
    (lambda: optim.adam(0.1, mu_dtype=jnp.int32), "mu_dtype"),
    (lambda: optim.sgd(0.1, momentum=0.9, accumulator_dtype="int8"), "accumulator_dtype"),
    (lambda: optim.trace(0.9, accumulator_dtype=jnp.bool_), "accumulator_dtype"),
    (lambda: optim.lion(0.1, mu_dtype=jnp.uint8), "mu_dtype"),
    (lambda: optim.signum(0.1, accumulator_dtype=jnp.int16), "accumulator_dtype"),
    (
        lambda: optim.join_schedules(
            [optim.constant_schedule(1.0), optim.constant_schedule(0.5), optim.constant_schedule(0.1)], [50, 20]
        ),
        "boundaries",
    ),
    (lambda: optim.adam(0.1, nesterov=True, amsgrad=True), "amsgrad"),
    (lambda: optim.scale_by_factored_rms(min_dim_size_to_factor=2.5), "min_dim_size_to_factor"),
    (lambda: optim.scale_by_trust_ratio(trust_coefficient=0.0), "trust_coefficient"),
    (lambda: optim.clip_by_block_rms(-1.0), "threshold"),
    (lambda: optim.radam(0.1, threshold=float("nan")), "threshold"),
]


@pytest.mark.parametrize(("build", "argument"), REFUSED, ids=[a for _, a in REFUSED])
def test_meaningless_arguments_are_refused(build, argument):
    with pytest.raises(ValueError, match=argument):
        build()


def vector_schedule(count):
    return 0.1 * jnp.ones(2) / (1 + count)


@pytest.mark.parametrize(
    ("build", "name"),
    [
        (lambda: optim.sgd(vector_schedule), "learning_rate"),
        (lambda: optim.sgd(0.1, momentum=lambda c: jnp.full(2, 0.9)), "decay"),
        (lambda: optim.add_decayed_weights(lambda c: jnp.zeros(2)), "weight_decay"),
        (lambda: optim.scale_by_schedule(vector_schedule), "step_size_fn"),
    ],
    ids=["learning_rate", "momentum", "weight_decay", "scale_by_schedule"],
)
def test_a_schedule_returning_an_array_is_refused_at_trace_time(build, name):
    params = jnp.ones(2)
    opt = build()

    @jax.jit
    def step(params):
        return opt.update(jnp.ones(2), opt.init(params), params)[0]

    with pytest.raises(ValueError, match=f"{name} schedule must return a scalar"):
        step(params)

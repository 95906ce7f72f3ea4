"""Trajectory parity with Optax: 300 steps on a non-quadratic loss over a nested pytree.

Each optimizer family compiles once per library: the hyperparameters are passed
to the jitted run as arrays (so they are traced, as in a sweep), and several
settings reuse the same program. The Python-number path (defaults, schedules
built from floats) has its own runs.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import gdjax.optim as optim

STEPS = 300
_rng = np.random.default_rng(0)
X = jnp.asarray(_rng.normal(size=(16, 3)), jnp.float32)
Y = jnp.asarray(np.sin(_rng.normal(size=16)), jnp.float32)
PARAMS0 = {
    "w": jnp.asarray(_rng.normal(size=(3, 4)), jnp.float32),
    "b": jnp.zeros(4, jnp.float32),
    "head": {"v": jnp.asarray(_rng.normal(size=4), jnp.float32), "c": jnp.zeros((), jnp.float32)},
}


def loss(p):
    """A one-hidden-layer tanh regression plus a log penalty: smooth, non-quadratic."""
    hidden = jnp.tanh(X @ p["w"] + p["b"])
    out = hidden @ p["head"]["v"] + p["head"]["c"]
    return jnp.mean((out - Y) ** 2) + 0.01 * jnp.sum(jnp.log1p(p["w"] ** 2))


@functools.partial(jax.jit, static_argnums=(0, 1))
def trajectory(factory, apply_updates, hparams):
    opt = factory(**hparams)

    def step(carry, _):
        params, state = carry
        updates, state = opt.update(jax.grad(loss)(params), state, params)
        return (apply_updates(params, updates), state), None

    (params, _), _ = jax.lax.scan(step, (PARAMS0, opt.init(PARAMS0)), None, length=STEPS)
    return params


def no_bias(params):
    return jax.tree.map(lambda x: x.ndim > 1, params)


# (gdjax factory, optax factory, hyperparameter settings). Factories are module
# level so that the jit cache (static on the factory) is hit across settings.
def g_sgd_momentum(learning_rate, momentum):
    return optim.sgd(learning_rate, momentum=momentum)


def o_sgd_momentum(learning_rate, momentum):
    return optax.sgd(learning_rate, momentum=momentum)


def g_sgd_nesterov(learning_rate, momentum):
    return optim.sgd(learning_rate, momentum=momentum, nesterov=True)


def o_sgd_nesterov(learning_rate, momentum):
    return optax.sgd(learning_rate, momentum=momentum, nesterov=True)


def g_sgd_step_decay(init_value, momentum):
    return optim.sgd(optim.exponential_decay(init_value, 40, 0.5, staircase=True), momentum=momentum)


def o_sgd_step_decay(init_value, momentum):
    return optax.sgd(optax.exponential_decay(init_value, 40, 0.5, staircase=True), momentum=momentum)


def g_rmsprop(learning_rate, decay, eps, initial_scale):
    return optim.rmsprop(learning_rate, decay, eps, initial_scale)


def o_rmsprop(learning_rate, decay, eps, initial_scale):
    return optax.rmsprop(learning_rate, decay, eps, initial_scale)


def g_rmsprop_centered(learning_rate, decay, momentum):
    return optim.rmsprop(learning_rate, decay, centered=True, momentum=momentum, nesterov=True)


def o_rmsprop_centered(learning_rate, decay, momentum):
    return optax.rmsprop(learning_rate, decay, centered=True, momentum=momentum, nesterov=True)


def g_rmsprop_outside(learning_rate, decay, eps):
    return optim.rmsprop(learning_rate, decay, eps, eps_in_sqrt=False, bias_correction=True)


def o_rmsprop_outside(learning_rate, decay, eps):
    return optax.rmsprop(learning_rate, decay, eps, eps_in_sqrt=False, bias_correction=True)


def g_adam_nesterov(learning_rate, b1, b2, eps, eps_root):
    return optim.adam(learning_rate, b1, b2, eps, eps_root, nesterov=True)


def o_adam_nesterov(learning_rate, b1, b2, eps, eps_root):
    return optax.adam(learning_rate, b1, b2, eps, eps_root, nesterov=True)


def g_adamw_masked(learning_rate, b1, weight_decay):
    return optim.adamw(learning_rate, b1=b1, weight_decay=weight_decay, mask=no_bias)


def o_adamw_masked(learning_rate, b1, weight_decay):
    return optax.adamw(learning_rate, b1=b1, weight_decay=weight_decay, mask=no_bias)


def g_adam_warmup_cosine(b2):
    # Optax's warmup_cosine_decay_schedule branches on peak_value, so it stays a Python number here.
    return optim.adam(optim.warmup_cosine_decay_schedule(0.0, 0.02, 30, STEPS, 1e-4), b2=b2)


def o_adam_warmup_cosine(b2):
    return optax.adam(optax.warmup_cosine_decay_schedule(0.0, 0.02, 30, STEPS, 1e-4), b2=b2)


def g_clipped_adam(max_norm, learning_rate):
    return optim.chain(optim.clip_by_global_norm(max_norm), optim.adam(learning_rate))


def o_clipped_adam(max_norm, learning_rate):
    return optax.chain(optax.clip_by_global_norm(max_norm), optax.adam(learning_rate))


def g_radam_nesterov(learning_rate, b2):
    return optim.radam(learning_rate, b2=b2, nesterov=True)


def o_radam_nesterov(learning_rate, b2):
    return optax.radam(learning_rate, b2=b2, nesterov=True)


def g_amsgrad_paper(learning_rate, b1):
    return optim.amsgrad(learning_rate, b1, bias_correction_mu=False, bias_correction_nu=False)


def o_amsgrad_paper(learning_rate, b1):
    return optax.amsgrad(learning_rate, b1, bias_correction_mu=False, bias_correction_nu=False)


def g_lion_masked(learning_rate, b1, weight_decay):
    return optim.lion(learning_rate, b1=b1, weight_decay=weight_decay, mask=no_bias)


def o_lion_masked(learning_rate, b1, weight_decay):
    return optax.lion(learning_rate, b1=b1, weight_decay=weight_decay, mask=no_bias)


def g_lars_nesterov(learning_rate, weight_decay, trust_coefficient):
    return optim.lars(learning_rate, weight_decay, no_bias, trust_coefficient, nesterov=True)


def o_lars_nesterov(learning_rate, weight_decay, trust_coefficient):
    return optax.lars(learning_rate, weight_decay, no_bias, trust_coefficient, nesterov=True)


def g_adafactor(learning_rate, decay_rate, weight_decay_rate):
    return optim.adafactor(
        learning_rate, 2, decay_rate, momentum=0.9, weight_decay_rate=weight_decay_rate, weight_decay_mask=no_bias
    )


def o_adafactor(learning_rate, decay_rate, weight_decay_rate):
    return optax.adafactor(
        learning_rate, 2, decay_rate, momentum=0.9, weight_decay_rate=weight_decay_rate, weight_decay_mask=no_bias
    )


def g_adafactor_defaults(learning_rate):
    return optim.adafactor(learning_rate)  # no leaf is large enough to factor: full second moments


def o_adafactor_defaults(learning_rate):
    return optax.adafactor(learning_rate)


def g_signum(learning_rate, beta):
    return optim.signum(learning_rate, beta)


def o_signum(learning_rate, beta):
    return optax.signum(learning_rate, beta)


TRACED = {
    "sgd": (optim.sgd, optax.sgd, [{"learning_rate": 0.05}, {"learning_rate": 0.3}]),
    "sgd_momentum": (
        g_sgd_momentum,
        o_sgd_momentum,
        [{"learning_rate": 0.02, "momentum": 0.9}, {"learning_rate": 0.1, "momentum": 0.5}],
    ),
    "sgd_nesterov": (g_sgd_nesterov, o_sgd_nesterov, [{"learning_rate": 0.02, "momentum": 0.9}]),
    "sgd_step_decay_schedule": (g_sgd_step_decay, o_sgd_step_decay, [{"init_value": 0.1, "momentum": 0.8}]),
    "adagrad": (
        optim.adagrad,
        optax.adagrad,
        [
            {"learning_rate": 0.1, "initial_accumulator_value": 0.1, "eps": 1e-7},
            {"learning_rate": 0.3, "initial_accumulator_value": 0.0, "eps": 1e-3},
        ],
    ),
    "rmsprop": (
        g_rmsprop,
        o_rmsprop,
        [
            {"learning_rate": 0.01, "decay": 0.9, "eps": 1e-8, "initial_scale": 0.0},
            {"learning_rate": 0.02, "decay": 0.99, "eps": 1e-4, "initial_scale": 1.0},
        ],
    ),
    "rmsprop_centered_nesterov": (
        g_rmsprop_centered,
        o_rmsprop_centered,
        [{"learning_rate": 0.005, "decay": 0.9, "momentum": 0.7}],
    ),
    "rmsprop_eps_outside_bias_corrected": (
        g_rmsprop_outside,
        o_rmsprop_outside,
        [{"learning_rate": 0.01, "decay": 0.95, "eps": 1e-6}],
    ),
    "adam": (
        optim.adam,
        optax.adam,
        [
            {"learning_rate": 0.01, "b1": 0.9, "b2": 0.999, "eps": 1e-8, "eps_root": 0.0},
            {"learning_rate": 0.03, "b1": 0.8, "b2": 0.99, "eps": 1e-6, "eps_root": 1e-8},
        ],
    ),
    "nadam": (
        g_adam_nesterov,
        o_adam_nesterov,
        [{"learning_rate": 0.01, "b1": 0.9, "b2": 0.999, "eps": 1e-8, "eps_root": 1e-10}],
    ),
    "adamw_masked": (
        g_adamw_masked,
        o_adamw_masked,
        [{"learning_rate": 0.01, "b1": 0.9, "weight_decay": 0.1}],
    ),
    "adam_warmup_cosine": (g_adam_warmup_cosine, o_adam_warmup_cosine, [{"b2": 0.99}]),
    "clip_by_global_norm_adam": (g_clipped_adam, o_clipped_adam, [{"max_norm": 0.1, "learning_rate": 0.01}]),
}

# The optimizers added with the PyTorch/Optax parity issue: compared in one compiled program per library
# and dtype (one compile instead of one per optimizer), in float32 and in float64.
NEW = {
    "amsgrad": (
        optim.amsgrad,
        optax.amsgrad,
        [
            {"learning_rate": 0.01, "b1": 0.9, "b2": 0.999, "eps": 1e-8},
            {"learning_rate": 0.03, "b1": 0.8, "b2": 0.99, "eps": 1e-6},
        ],
    ),
    "amsgrad_uncorrected": (g_amsgrad_paper, o_amsgrad_paper, [{"learning_rate": 0.01, "b1": 0.9}]),
    "adamax": (
        optim.adamax,
        optax.adamax,
        [{"learning_rate": 0.01, "b1": 0.9, "b2": 0.999, "eps": 1e-8}, {"learning_rate": 0.05, "b1": 0.5, "b2": 0.9}],
    ),
    "adamaxw": (optim.adamaxw, optax.adamaxw, [{"learning_rate": 0.01, "weight_decay": 0.1}]),
    "radam": (
        optim.radam,
        optax.radam,
        [
            {"learning_rate": 0.01, "b1": 0.9, "b2": 0.999, "eps": 1e-8, "threshold": 5.0},
            {"learning_rate": 0.03, "b1": 0.8, "b2": 0.99, "eps": 1e-6, "threshold": 4.0},
        ],
    ),
    "radam_nesterov": (g_radam_nesterov, o_radam_nesterov, [{"learning_rate": 0.01, "b2": 0.99}]),
    "adadelta": (
        optim.adadelta,
        optax.adadelta,
        [
            {"learning_rate": 1.0, "rho": 0.9, "eps": 1e-6, "weight_decay": 0.0},
            {"learning_rate": 0.5, "rho": 0.95, "eps": 1e-4, "weight_decay": 0.01},
        ],
    ),
    "lion": (
        optim.lion,
        optax.lion,
        [{"learning_rate": 0.001, "b1": 0.9, "b2": 0.99}, {"learning_rate": 0.003, "b1": 0.95, "b2": 0.98}],
    ),
    "lion_masked_decay": (g_lion_masked, o_lion_masked, [{"learning_rate": 0.002, "b1": 0.9, "weight_decay": 0.1}]),
    "lamb": (
        optim.lamb,
        optax.lamb,
        [{"learning_rate": 0.01, "weight_decay": 0.0}, {"learning_rate": 0.02, "b1": 0.8, "weight_decay": 0.01}],
    ),
    "lars": (
        optim.lars,
        optax.lars,
        [{"learning_rate": 0.5, "momentum": 0.9}, {"learning_rate": 1.0, "weight_decay": 0.01, "momentum": 0.5}],
    ),
    "lars_masked_nesterov": (
        g_lars_nesterov,
        o_lars_nesterov,
        [{"learning_rate": 0.5, "weight_decay": 0.001, "trust_coefficient": 0.002}],
    ),
    "adafactor_factored_momentum": (
        g_adafactor,
        o_adafactor,
        [{"learning_rate": 0.05, "decay_rate": 0.8, "weight_decay_rate": 0.001}],
    ),
    "adafactor": (g_adafactor_defaults, o_adafactor_defaults, [{"learning_rate": 0.05}]),
    "sign_sgd": (optim.sign_sgd, optax.sign_sgd, [{"learning_rate": 0.003}]),
    "signum": (g_signum, o_signum, [{"learning_rate": 0.003, "beta": 0.9}]),
}

# Optax's Adafactor computes its decay rate in float32 even in a float64 run; gdjax in the run's precision.
NOT_IN_FLOAT64 = {"adafactor", "adafactor_factored_momentum"}
# Optax's RAdam computes rho_t = rho_inf - 2 t b2^t / (1 - b2^t) as written, which in float32 cancels four digits of
# the early rho_t (PyTorch computes it in Python floats); gdjax computes it without the cancellation, so the two
# agree in float64 (below) and gdjax agrees with PyTorch's float32 runs (test_optim_torch_references.py).
NOT_IN_FLOAT32 = {"radam", "radam_nesterov"}
# In float64 Optax's rho_t still carries ~1e-11 of that cancellation (3e-11 at t = 2 for b2 = 0.999), which the
# aggressive second setting (threshold 4, b1 0.8) amplifies to ~1e-8 in 300 steps.
FLOAT64_TOLERANCE = {"radam-1": 1e-7}


def _new_cases(dtype):
    skip = NOT_IN_FLOAT64 if dtype == "float64" else NOT_IN_FLOAT32
    return [
        (f"{name}-{i}", ours, theirs, setting)
        for name, (ours, theirs, settings) in NEW.items()
        if name not in skip
        for i, setting in enumerate(settings)
    ]


def _run_all(factories, apply_updates, hparams, dtype):
    cast = lambda a: jnp.asarray(a, dtype)
    start, x, y = jax.tree.map(cast, PARAMS0), cast(X), cast(Y)

    def loss_fn(p):
        hidden = jnp.tanh(x @ p["w"] + p["b"])
        out = hidden @ p["head"]["v"] + p["head"]["c"]
        return jnp.mean((out - y) ** 2) + 0.01 * jnp.sum(jnp.log1p(p["w"] ** 2))

    outs = []
    for factory, h in zip(factories, hparams):
        opt = factory(**h)

        def step(carry, _):
            params, state = carry
            updates, state = opt.update(jax.grad(loss_fn)(params), state, params)
            return (apply_updates(params, updates), state), None

        outs.append(jax.lax.scan(step, (start, opt.init(start)), None, length=STEPS)[0][0])
    return outs


@pytest.mark.parametrize(("dtype", "tolerance"), [("float32", 1e-5), ("float64", 1e-12)])
def test_new_optimizers_match_optax(dtype, tolerance):
    cases = _new_cases(dtype)
    with jax.enable_x64(dtype == "float64"):
        hparams = [{k: jnp.asarray(v, dtype) for k, v in setting.items()} for *_, setting in cases]
        ours = jax.jit(lambda h: _run_all([c[1] for c in cases], optim.apply_updates, h, dtype))(hparams)
        theirs = jax.jit(lambda h: _run_all([c[2] for c in cases], optax.apply_updates, h, dtype))(hparams)
    for (name, *_), a, b in zip(cases, ours, theirs):
        for path, u, v in zip(jax.tree_util.tree_flatten_with_path(a)[0], jax.tree.leaves(a), jax.tree.leaves(b)):
            u, v = np.asarray(u, np.float64), np.asarray(v, np.float64)
            rel = np.linalg.norm(u - v) / max(np.linalg.norm(v), 1e-300)
            limit = FLOAT64_TOLERANCE.get(name, tolerance) if dtype == "float64" else tolerance
            assert rel <= limit, f"{name} {dtype} leaf {jax.tree_util.keystr(path[0])}: relative difference {rel:.3g}"
        assert float(loss(jax.tree.map(lambda t: t.astype(jnp.float32), a))) < 0.9 * float(loss(PARAMS0)), name


# Hyperparameters as Python numbers, concrete at construction (and schedules built from floats).
CONCRETE = {
    "sgd_defaults": (lambda: optim.sgd(0.1, 0.9), lambda: optax.sgd(0.1, 0.9)),
    "adam_defaults_cosine": (
        lambda: optim.adam(optim.cosine_decay_schedule(0.01, 200, alpha=0.1)),
        lambda: optax.adam(optax.cosine_decay_schedule(0.01, 200, alpha=0.1)),
    ),
    "adamw_defaults": (lambda: optim.adamw(0.01), lambda: optax.adamw(0.01)),
}


def assert_same_trajectory(ours, theirs):
    for path, a, b in zip(
        jax.tree_util.tree_flatten_with_path(ours)[0],
        jax.tree.leaves(ours),
        jax.tree.leaves(theirs),
        strict=True,
    ):
        a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
        rel = np.linalg.norm(a - b) / max(np.linalg.norm(b), 1e-12)
        assert rel <= 1e-5, f"leaf {jax.tree_util.keystr(path[0])}: relative difference {rel:.3g}"
    # The runs moved somewhere: the comparison is not between two initial points.
    assert float(loss(ours)) < 0.9 * float(loss(PARAMS0))


@pytest.mark.parametrize(
    ("name", "setting"),
    [(name, i) for name, (_, _, settings) in TRACED.items() for i in range(len(settings))],
)
def test_traced_hyperparameters_match_optax(name, setting):
    ours_factory, optax_factory, settings = TRACED[name]
    hparams = {k: jnp.asarray(v, jnp.float32) for k, v in settings[setting].items()}
    ours = trajectory(ours_factory, optim.apply_updates, hparams)
    theirs = trajectory(optax_factory, optax.apply_updates, hparams)
    assert_same_trajectory(ours, theirs)


@pytest.mark.parametrize("name", sorted(CONCRETE))
def test_python_number_hyperparameters_match_optax(name):
    ours_factory, optax_factory = CONCRETE[name]
    ours = trajectory(ours_factory, optim.apply_updates, {})
    theirs = trajectory(optax_factory, optax.apply_updates, {})
    assert_same_trajectory(ours, theirs)

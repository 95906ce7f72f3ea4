"""A scheduled momentum (``trace(decay=schedule)``, ``sgd(momentum=schedule)``).

The schedule is read at the number of updates already applied, as learning
rate schedules are: ``mu_t = schedule(t - 1)`` at step ``t = 1, 2, ...``.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import gdjax.optim as optim

GRADS = [np.array([1.0, -2.0]), np.array([0.5, 3.0]), np.array([-1.5, 0.25]), np.array([2.0, 2.0])]


def ramp(count):
    return 0.1 + 0.2 * count  # 0.1, 0.3, 0.5, 0.7


def _run(transformation, grads=GRADS):
    state = transformation.init(jnp.zeros(2))
    out = []
    for g in grads:
        u, state = transformation.update(jnp.asarray(g, jnp.float32), state)
        out.append(np.asarray(u))
    return out, state


def _reference(grads, mus, *, nesterov=False, dampening=0.0):
    """The recurrence written out: b_t = mu_t b_{t-1} + (1 - d) g_t (b_1 = g_1 when damped)."""
    b = np.zeros(2)
    out = []
    for t, (g, mu) in enumerate(zip(grads, mus)):
        keep = 1.0 if (t == 0 and dampening) else 1.0 - dampening
        b = mu * b + keep * g
        out.append(g + mu * b if nesterov else b.copy())
    return out


@pytest.mark.parametrize("nesterov", [False, True])
@pytest.mark.parametrize("dampening", [0.0, 0.5])
def test_scheduled_decay_follows_the_recurrence(nesterov, dampening):
    mus = [ramp(t) for t in range(len(GRADS))]
    got, state = _run(optim.trace(ramp, nesterov=nesterov, dampening=dampening))
    want = _reference(GRADS, mus, nesterov=nesterov, dampening=dampening)
    np.testing.assert_allclose(np.stack(got), np.stack(want), rtol=1e-6)
    assert int(state.count) == len(GRADS)


def test_constant_schedule_equals_constant_decay():
    scheduled, _ = _run(optim.trace(optim.constant_schedule(0.9), nesterov=True))
    constant, state = _run(optim.trace(0.9, nesterov=True))
    np.testing.assert_array_equal(np.stack(scheduled), np.stack(constant))
    assert state.count is None  # a constant decay keeps no count (same state as Optax)


def sutskever(mu_max):
    """mu_t = min(1 - 2^(-1 - log2(floor(t / 250) + 1)), mu_max) (Sutskever et al. 2013)."""

    def schedule(count):
        return jnp.minimum(1 - 2.0 ** (-1 - jnp.log2(jnp.floor(count / 250) + 1)), mu_max)

    return schedule


def test_sutskever_schedule_values():
    schedule = sutskever(0.99)
    counts = jnp.asarray([0, 249, 250, 500, 750, 1750, 10**6])
    # floor(t/250) + 1 = 1, 1, 2, 3, 4, 8, ...: mu = 1 - 1/(2 k) = 0.5, 0.5, 0.75, 5/6, 7/8, 15/16, capped 0.99
    np.testing.assert_allclose(schedule(counts), [0.5, 0.5, 0.75, 5 / 6, 7 / 8, 15 / 16, 0.99], rtol=1e-6)


def test_sgd_with_a_momentum_schedule_on_a_quadratic_matches_the_written_loop():
    # f(w) = 0.5 w^T diag(1, 10) w; 600 steps cross two changes of the schedule.
    h = np.array([1.0, 10.0])
    lr, steps = 0.05, 600
    schedule = sutskever(0.9)
    opt = optim.sgd(lr, momentum=schedule)

    @jax.jit
    def run(w):
        def step(carry, _):
            w, state = carry
            u, state = opt.update(jnp.asarray(h, w.dtype) * w, state, w)
            return (optim.apply_updates(w, u), state), None

        (w, _state), _ = jax.lax.scan(step, (w, opt.init(w)), None, length=steps)
        return w

    w_ref, b = np.array([1.0, 1.0]), np.zeros(2)
    for t in range(steps):
        mu = min(1 - 2.0 ** (-1 - np.log2(np.floor(t / 250) + 1)), 0.9)
        b = mu * b + h * w_ref
        w_ref = w_ref - lr * b
    np.testing.assert_allclose(run(jnp.ones(2, jnp.float32)), w_ref, rtol=1e-4, atol=1e-7)


def test_schedule_in_rmsprop_momentum_and_checks():
    _run(optim.rmsprop(0.01, momentum=ramp))  # accepted wherever a momentum is
    with pytest.raises(ValueError, match="momentum"):
        optim.sgd(0.1, momentum=1.5)
    with pytest.raises(ValueError, match="decay"):
        optim.trace("fast")

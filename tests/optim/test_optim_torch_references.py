"""PyTorch parity against stored references: optimizers, schedulers and ReduceLROnPlateau, with or without torch.

``tests/optim/torch_references.npz`` holds what PyTorch computed for the cases
of ``experiments/make_torch_references.py`` (which rewrites it); these tests
run gdjax on the same cases and compare, so they run in CI, which has no
torch. Where torch is importable, the last tests also recompute the references
live (every one of the 10,000 scheduler steps) and check that the stored file
is current.

Tolerances: float64 to 1e-12 relative; float32 to 1e-6 relative, or, for
whole 300-step trainings, to a few times PyTorch's own float32 rounding (the
distance of its float32 run from its float64 run; two float32 programs
summing in different orders drift apart by that much, whoever wrote them).
"""

from __future__ import annotations

import functools
import importlib.util
import sys
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import gdjax.optim as optim

_SCRIPT = Path(__file__).resolve().parents[2] / "experiments" / "make_torch_references.py"
_spec = importlib.util.spec_from_file_location("gdjax_experiments_make_torch_references", _SCRIPT)
refs = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = refs  # dataclasses look their module up there
_spec.loader.exec_module(refs)

STORED = refs.load(refs.OUT)
OPTIMIZERS = {case.name: case for case in refs.OPTIMIZERS}
# The float32 runs: one per update rule (the others differ from these by hyperparameters only).
FLOAT32 = [
    "sgd_nesterov",
    "sgd_weight_decay_groups",
    "adam",
    "adam_amsgrad",
    "adamw_groups",
    "adamax",
    "radam",
    "adadelta_decay",
    "adagrad",
    "rmsprop_centered_momentum",
    "sgd_one_cycle",
    "adam_swa_params",
]
NOISE_FACTOR = 5.0
# Adam's bias corrections 1 - b**t are computed as Optax computes them (bit for bit), in float32 from
# float32(0.999) = 0.999 + 1.3e-8: after 30 steps the correction is 1e-5 off, and the trajectory ~1e-5 off the exact
# one, where PyTorch (Python-float corrections) is ~1e-6 off. Measured: Adam 8.9e-6 from PyTorch's float32 run and
# from the float64 one, against PyTorch's own 9.5e-7.
BIAS_CORRECTED = {"adam", "adam_amsgrad", "adamw_groups", "radam", "adam_swa_params"}
BIAS_CORRECTED_TOLERANCE = 2e-5


def _keys(case):
    names = list(refs.NAMES)
    return names + [f"avg_{n}" for n in names] if case.average else names


@functools.cache
def gdjax_runs(dtype: str) -> dict[str, dict[str, np.ndarray]]:
    names = list(OPTIMIZERS) if dtype == "float64" else FLOAT32
    results = refs.gdjax_trajectories([OPTIMIZERS[n] for n in names], dtype)
    return dict(zip(names, results))


def _stored(name, dtype, key):
    return STORED[f"optimizer/{name}/{dtype}/{key}"]


def _relative(a, b):
    return float(np.linalg.norm(np.ravel(a) - np.ravel(b)) / max(np.linalg.norm(np.ravel(b)), 1e-300))


def _flat(run, keys):
    return np.concatenate([np.ravel(run[k]) for k in keys])


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_optimizer_matches_torch_in_float64(name):
    case, ours = OPTIMIZERS[name], gdjax_runs("float64")[name]
    for key in _keys(case):
        rel = _relative(ours[key], _stored(name, "float64", key))
        assert rel <= 1e-12, f"{key}: relative difference {rel:.3g}"
    np.testing.assert_allclose(ours["loss"], _stored(name, "float64", "loss"), rtol=1e-12)
    losses = _stored(name, "float64", "loss")
    assert losses[-1] < 0.5 * losses[0]  # the run went somewhere


@pytest.mark.parametrize("name", FLOAT32)
def test_optimizer_matches_torch_in_float32(name):
    case, ours = OPTIMIZERS[name], gdjax_runs("float32")[name]
    keys = _keys(case)
    theirs = {k: _stored(name, "float32", k) for k in keys}
    exact = {k: _stored(name, "float64", k) for k in keys}
    loss_noise = np.max(np.abs(_stored(name, "float32", "loss") / _stored(name, "float64", "loss") - 1))
    noise = max(_relative(_flat(theirs, keys), _flat(exact, keys)), loss_noise)
    tolerance = BIAS_CORRECTED_TOLERANCE if name in BIAS_CORRECTED else max(1e-6, NOISE_FACTOR * noise)
    rel = _relative(_flat(ours, keys), _flat(theirs, keys))
    assert rel <= tolerance, f"relative difference {rel:.3g}, torch's float32 rounding {noise:.3g}"
    # And gdjax's float32 run is that close to the exact (float64) trajectory too.
    assert _relative(_flat(ours, keys), _flat(exact, keys)) <= tolerance
    np.testing.assert_allclose(ours["loss"], _stored(name, "float32", "loss"), rtol=tolerance)
    np.testing.assert_allclose(ours["loss"], _stored(name, "float64", "loss"), rtol=tolerance)


SCHEDULES = {case.name: case for case in refs.SCHEDULES}


@functools.cache
def gdjax_schedules(dtype: str) -> dict[str, dict[str, np.ndarray]]:
    """Every schedule at the stored steps, in one compiled program."""
    names = sorted(SCHEDULES)
    with jax.enable_x64(dtype == "float64"):

        @jax.jit
        def run(steps):
            out = {}
            for name in names:
                case = SCHEDULES[name]
                out[name] = {"lr": jax.vmap(case.ours())(steps[name])}
                if case.momentum is not None:
                    out[name]["momentum"] = jax.vmap(case.momentum())(steps[name])
            return out

        steps = {name: jnp.asarray(STORED[f"schedule/{name}/steps"], jnp.int32) for name in names}
        return jax.tree.map(lambda a: np.asarray(a, np.float64), run(steps))


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("name", sorted(SCHEDULES))
def test_schedule_matches_torch(name, dtype):
    tolerance = 1e-12 if dtype == "float64" else 1e-6
    for key, values in gdjax_schedules(dtype)[name].items():
        want = STORED[f"schedule/{name}/{key}"]
        # Relative to each value, or to the schedule's peak where the value is tiny (PyTorch's own float64
        # 1 + cos(pi x) near x = 1 is only accurate to 1e-16 of the peak).
        np.testing.assert_allclose(values, want, rtol=tolerance, atol=tolerance * np.max(np.abs(want)), err_msg=key)


PLATEAUS = {case.name: case for case in refs.PLATEAUS}
PLATEAU_DEFAULTS = {"factor": 0.1, "patience": 10, "threshold": 1e-4, "cooldown": 0, "min_lr": 0.0, "eps": 1e-8}


@functools.cache
def gdjax_plateaus(dtype: str) -> dict[str, np.ndarray]:
    """Every plateau case, one compiled program per (mode, threshold_mode): a vmap over runs and settings."""
    groups: dict[tuple[str, str], list[str]] = {}
    for name, case in PLATEAUS.items():
        key = (case.settings.get("mode", "min"), case.settings.get("threshold_mode", "rel"))
        groups.setdefault(key, []).append(name)
    results = {}
    with jax.enable_x64(dtype == "float64"):
        for (mode, threshold_mode), names in groups.items():
            settings = {
                k: jnp.asarray(
                    [PLATEAUS[n].settings.get(k, v) for n in names],
                    dtype if k not in ("patience", "cooldown") else jnp.int32,
                )
                for k, v in PLATEAU_DEFAULTS.items()
            }
            values = jnp.stack([jnp.asarray(PLATEAUS[n].values, dtype) for n in names])

            @jax.jit
            @jax.vmap
            def run(values, settings):
                opt = optim.reduce_on_plateau(optim.sgd(0.1), mode=mode, threshold_mode=threshold_mode, **settings)

                def epoch(state, value):
                    state = optim.end_of_epoch(state, {"val_loss": value, "loss": jnp.nan})
                    return state, optim.current_learning_rate(state)

                return jax.lax.scan(epoch, opt.init(jnp.zeros(2, dtype)), values)[1]

            for name, lrs in zip(names, np.asarray(run(values, settings), np.float64)):
                results[name] = lrs
    return results


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("name", sorted(PLATEAUS))
def test_reduce_on_plateau_matches_torch(name, dtype):
    want = STORED[f"plateau/{name}/lr"]
    # Each group of cases runs under vmap, every run with its own state and its own (traced) settings.
    np.testing.assert_allclose(gdjax_plateaus(dtype)[name], want, rtol=1e-12 if dtype == "float64" else 1e-6)
    assert want[-1] < want[0]  # every case reduces at least once


def test_reduce_on_plateau_alone_equals_the_vmapped_runs():
    case = PLATEAUS["min_rel_factor_cooldown"]
    np.testing.assert_allclose(refs.gdjax_plateau(case, "float32"), gdjax_plateaus("float32")[case.name], rtol=1e-6)


# ------------------------------------------------------------------ live torch


def test_stored_references_are_current_and_every_schedule_step_matches_live_torch():
    torch = pytest.importorskip("torch")
    del torch
    live = ("one_cycle_cos_three_phase", "cyclic_exp_range", "warm_restarts_t_mult_3", "polynomial_power_half")
    for case in (SCHEDULES[name] for name in live):
        full = refs.torch_schedule(case)
        steps = STORED[f"schedule/{case.name}/steps"]
        ours = refs.gdjax_schedule(case, "float64", np.arange(refs.SCHEDULE_STEPS))
        for key, values in full.items():
            np.testing.assert_array_equal(values[steps], STORED[f"schedule/{case.name}/{key}"])
            np.testing.assert_allclose(ours[key], values, rtol=1e-12, atol=1e-12 * np.max(np.abs(values)))
    for case in refs.PLATEAUS:
        np.testing.assert_array_equal(refs.torch_plateau(case), STORED[f"plateau/{case.name}/lr"])
    for name in ("radam", "adamw_groups"):
        live = refs.torch_trajectory(OPTIMIZERS[name], "float64")
        for key, value in live.items():
            np.testing.assert_allclose(value, _stored(name, "float64", key), rtol=1e-13, atol=1e-15, err_msg=key)

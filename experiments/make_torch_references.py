"""PyTorch reference values for gdjax.optim, written to ``tests/optim/torch_references.npz``.

CI has no torch, so the parity tests compare gdjax against values PyTorch
computed once, here, and stored in a small ``.npz`` (loaded without pickle):

* ``optimizer/<case>/<dtype>/...``: a training of the non-quadratic problem of
  ``torch_parity.py`` (tanh regression with a log penalty, four tensors) for
  ``STEPS`` steps, in float64 and float32: the final parameters, the loss
  every ``LOSS_EVERY`` steps, and (for the averaging cases) the averaged
  parameters of ``torch.optim.swa_utils.AveragedModel``.
* ``schedule/<case>/...``: a scheduler's learning rate (and momentum) used by
  each of ``SCHEDULE_STEPS`` steps, at ``steps`` (a subsample: every 7th step
  and the last; the live test compares all of them).
* ``plateau/<case>/...``: ``ReduceLROnPlateau.step(value)`` on a sequence of
  epoch values: the values and the learning rate after each step.

This module imports torch only inside the functions that run it: the tests
import it for the case definitions (the gdjax side) without torch.

Run:  python experiments/make_torch_references.py   (needs torch; rewrites the file)
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

import gdjax.optim as optim

OUT = Path(__file__).resolve().parents[1] / "tests" / "optim" / "torch_references.npz"
STEPS = 300
LOSS_EVERY = 10
SCHEDULE_STEPS = 10_000
NAMES = ("w", "b", "v", "c")
DTYPES = ("float64", "float32")


def problem() -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    """The data and starting point of ``torch_parity.py`` (float64)."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(16, 3))
    y = np.sin(rng.normal(size=16))
    params = {"w": rng.normal(size=(3, 4)), "b": np.zeros(4), "v": rng.normal(size=4), "c": np.zeros(())}
    return x, y, params


def jax_loss(p, x, y):
    out = jnp.tanh(x @ p["w"] + p["b"]) @ p["v"] + p["c"]
    return jnp.mean((out - y) ** 2) + 0.01 * jnp.sum(jnp.log1p(p["w"] ** 2))


def no_bias(params):
    return jax.tree.map(lambda x: jnp.ndim(x) > 1, params)


# ------------------------------------------------------------------ optimizers


@dataclass(frozen=True)
class OptimizerCase:
    """A gdjax optimizer and its PyTorch twin.

    ``torch_groups``: ``"all"`` (one group) or ``"no_decay_1d"`` (the matrix in
    one group, the vectors and the scalar in another with ``weight_decay=0``).
    ``average``: None, or ``{"decay": beta | None}`` to also average the
    parameters (``AveragedModel`` after every step; gdjax's :func:`average_params`).
    """

    name: str
    ours: Callable[[], Any]
    torch_class: str
    torch_kwargs: dict
    torch_groups: str = "all"
    scheduler: tuple[str, dict] | None = None  # a torch scheduler stepped after every step
    average: dict | None = None
    steps: int = STEPS


OPTIMIZERS = [
    OptimizerCase("sgd", lambda: optim.sgd(0.1), "SGD", {"lr": 0.1}),
    OptimizerCase("sgd_momentum", lambda: optim.sgd(0.05, momentum=0.9), "SGD", {"lr": 0.05, "momentum": 0.9}),
    OptimizerCase(
        "sgd_dampening_nesterov_off",
        lambda: optim.sgd(0.05, momentum=0.8, dampening=0.3),
        "SGD",
        {"lr": 0.05, "momentum": 0.8, "dampening": 0.3},
    ),
    OptimizerCase(
        "sgd_nesterov",
        lambda: optim.sgd(0.05, momentum=0.9, nesterov=True),
        "SGD",
        {"lr": 0.05, "momentum": 0.9, "nesterov": True},
    ),
    OptimizerCase(
        "sgd_weight_decay_groups",
        lambda: optim.chain(optim.add_decayed_weights(0.05, mask=no_bias), optim.sgd(0.05, momentum=0.9)),
        "SGD",
        {"lr": 0.05, "momentum": 0.9, "weight_decay": 0.05},
        torch_groups="no_decay_1d",
    ),
    OptimizerCase("adam", lambda: optim.adam(0.01), "Adam", {"lr": 0.01}),
    OptimizerCase(
        "adam_betas_eps",
        lambda: optim.adam(0.005, b1=0.8, b2=0.99, eps=1e-6),
        "Adam",
        {"lr": 0.005, "betas": (0.8, 0.99), "eps": 1e-6},
    ),
    OptimizerCase("adam_amsgrad", lambda: optim.adam(0.01, amsgrad=True), "Adam", {"lr": 0.01, "amsgrad": True}),
    OptimizerCase(
        "adam_amsgrad_betas",
        lambda: optim.adam(0.02, b1=0.5, b2=0.9, amsgrad=True),
        "Adam",
        {"lr": 0.02, "betas": (0.5, 0.9), "amsgrad": True},
    ),
    OptimizerCase("adamw", lambda: optim.adamw(0.01, weight_decay=0.1), "AdamW", {"lr": 0.01, "weight_decay": 0.1}),
    OptimizerCase(
        "adamw_groups",
        lambda: optim.adamw(0.01, weight_decay=0.1, mask=no_bias),
        "AdamW",
        {"lr": 0.01, "weight_decay": 0.1},
        torch_groups="no_decay_1d",
    ),
    OptimizerCase(
        "adamw_amsgrad",
        lambda: optim.adamw(0.01, weight_decay=0.05, amsgrad=True),
        "AdamW",
        {"lr": 0.01, "weight_decay": 0.05, "amsgrad": True},
    ),
    OptimizerCase("adamax", lambda: optim.adamax(0.01), "Adamax", {"lr": 0.01}),
    OptimizerCase(
        "adamax_betas",
        lambda: optim.adamax(0.01, b1=0.8, b2=0.99, eps=1e-6),
        "Adamax",
        {"lr": 0.01, "betas": (0.8, 0.99), "eps": 1e-6},
    ),
    OptimizerCase(
        "radam",
        lambda: optim.radam(0.01, eps_before_correction=True),
        "RAdam",
        {"lr": 0.01},
    ),
    OptimizerCase(
        "radam_betas",
        lambda: optim.radam(0.02, b1=0.8, b2=0.99, eps=1e-6, eps_before_correction=True),
        "RAdam",
        {"lr": 0.02, "betas": (0.8, 0.99), "eps": 1e-6},
    ),
    OptimizerCase("adadelta", lambda: optim.adadelta(0.3), "Adadelta", {"lr": 0.3}),
    OptimizerCase(
        "adadelta_decay",
        lambda: optim.adadelta(0.2, rho=0.95, eps=1e-5, weight_decay=0.01),
        "Adadelta",
        {"lr": 0.2, "rho": 0.95, "eps": 1e-5, "weight_decay": 0.01},
    ),
    OptimizerCase(
        "adagrad",
        lambda: optim.adagrad(0.02, initial_accumulator_value=0.0, eps=1e-10, eps_in_sqrt=False),
        "Adagrad",
        {"lr": 0.02},
    ),
    OptimizerCase(
        "rmsprop",
        lambda: optim.rmsprop(0.001, decay=0.99, eps=1e-8, eps_in_sqrt=False),
        "RMSprop",
        {"lr": 0.001, "alpha": 0.99, "eps": 1e-8},
    ),
    OptimizerCase(
        "rmsprop_centered_momentum",
        lambda: optim.rmsprop(0.001, decay=0.95, eps=1e-2, eps_in_sqrt=False, centered=True, momentum=0.5),
        "RMSprop",
        {"lr": 0.001, "alpha": 0.95, "eps": 1e-2, "centered": True, "momentum": 0.5},
    ),
    OptimizerCase(
        "sgd_one_cycle",
        lambda: optim.sgd(optim.one_cycle_schedule(STEPS, 0.2), momentum=optim.one_cycle_momentum_schedule(STEPS)),
        "SGD",
        {"lr": 0.2, "momentum": 0.9},
        scheduler=("OneCycleLR", {"max_lr": 0.2, "total_steps": STEPS}),
    ),
    OptimizerCase(
        "adam_cosine_warm_restarts",
        lambda: optim.adam(optim.cosine_warm_restarts_schedule(0.02, 40, 2, 1e-4)),
        "Adam",
        {"lr": 0.02},
        scheduler=("CosineAnnealingWarmRestarts", {"T_0": 40, "T_mult": 2, "eta_min": 1e-4}),
    ),
    OptimizerCase(
        "sgd_ema_params",
        lambda: optim.average_params(optim.sgd(0.05, momentum=0.9), decay=0.9),
        "SGD",
        {"lr": 0.05, "momentum": 0.9},
        average={"decay": 0.9},
    ),
    OptimizerCase(
        "adam_swa_params",
        lambda: optim.average_params(optim.adam(0.01)),
        "Adam",
        {"lr": 0.01},
        average={"decay": None},
    ),
]


def _gdjax_runs(cases, x, y, params):
    outs = []
    for case in cases:
        opt = case.ours()

        def step(carry, _):
            p, s = carry
            value, grads = jax.value_and_grad(jax_loss)(p, x, y)
            updates, s = opt.update(grads, s, p)
            return (optim.apply_updates(p, updates), s), value

        (final, state), losses = jax.lax.scan(step, (params, opt.init(params)), None, length=case.steps)
        outs.append((final, losses, optim.averaged_params(state)))
    return outs


def gdjax_trajectories(cases: list[OptimizerCase], dtype: str) -> list[dict[str, np.ndarray]]:
    """gdjax's runs of ``cases`` (one compiled program for all): per case ``{param: final value, "loss":
    every LOSS_EVERY-th loss, "avg_<param>": averaged parameters}``."""
    x, y, params = problem()
    results = []
    with jax.enable_x64(dtype == "float64"):
        cast = lambda a: jnp.asarray(a, dtype)
        runs = jax.jit(lambda x, y, p: _gdjax_runs(cases, x, y, p))(cast(x), cast(y), jax.tree.map(cast, params))
        for out, losses, averaged in runs:
            result = {k: np.asarray(v, np.float64) for k, v in out.items()}
            result["loss"] = np.asarray(losses, np.float64)[::LOSS_EVERY]
            if averaged is not None:
                result.update({f"avg_{k}": np.asarray(v, np.float64) for k, v in averaged.items()})
            results.append(result)
    return results


def gdjax_trajectory(case: OptimizerCase, dtype: str) -> dict[str, np.ndarray]:
    """gdjax's run of one case (see :func:`gdjax_trajectories`)."""
    return gdjax_trajectories([case], dtype)[0]


def torch_trajectory(case: OptimizerCase, dtype: str) -> dict[str, np.ndarray]:
    """PyTorch's run of ``case``, in the same layout as :func:`gdjax_trajectory`."""
    import torch
    from torch.optim import swa_utils

    torch_dtype = getattr(torch, dtype)
    x, y, params = problem()
    x, y = torch.tensor(x, dtype=torch_dtype), torch.tensor(y, dtype=torch_dtype)
    tensors = {k: torch.tensor(v, dtype=torch_dtype, requires_grad=True) for k, v in params.items()}
    if case.torch_groups == "all":
        groups = [tensors[k] for k in NAMES]
    else:
        groups = [{"params": [tensors["w"]]}, {"params": [tensors[k] for k in ("b", "v", "c")], "weight_decay": 0.0}]
    opt = getattr(torch.optim, case.torch_class)(groups, **case.torch_kwargs)
    scheduler = None
    if case.scheduler is not None:
        name, kwargs = case.scheduler
        scheduler = getattr(torch.optim.lr_scheduler, name)(opt, **kwargs)
    averaged = None
    if case.average is not None:
        module = torch.nn.ParameterList([tensors[k] for k in NAMES])
        decay = case.average["decay"]
        multi_avg_fn = None if decay is None else swa_utils.get_ema_multi_avg_fn(decay)
        averaged = swa_utils.AveragedModel(module, multi_avg_fn=multi_avg_fn)
    losses = []
    for _ in range(case.steps):
        opt.zero_grad()
        out = torch.tanh(x @ tensors["w"] + tensors["b"]) @ tensors["v"] + tensors["c"]
        loss = torch.mean((out - y) ** 2) + 0.01 * torch.sum(torch.log1p(tensors["w"] ** 2))
        loss.backward()
        losses.append(float(loss.detach()))
        opt.step()
        if scheduler is not None:
            scheduler.step()
        if averaged is not None:
            averaged.update_parameters(module)
    result = {k: t.detach().double().numpy() for k, t in tensors.items()}
    result["loss"] = np.asarray(losses)[::LOSS_EVERY]
    if averaged is not None:
        for k, t in zip(NAMES, averaged.module.parameters()):
            result[f"avg_{k}"] = t.detach().double().numpy()
    return result


# ------------------------------------------------------------------ schedules


@dataclass(frozen=True)
class ScheduleCase:
    name: str
    ours: Callable[[], Any]
    torch_scheduler: str
    torch_kwargs: dict
    base_lr: float = 1.0
    momentum: Callable[[], Any] | None = None  # the momentum schedule PyTorch cycles along


N = SCHEDULE_STEPS
SCHEDULES = [
    ScheduleCase(
        "one_cycle_cos",
        lambda: optim.one_cycle_schedule(N, 0.1),
        "OneCycleLR",
        {"max_lr": 0.1, "total_steps": N},
        momentum=lambda: optim.one_cycle_momentum_schedule(N),
    ),
    ScheduleCase(
        "one_cycle_linear",
        lambda: optim.one_cycle_schedule(N, 0.5, 0.4, "linear", div_factor=10.0, final_div_factor=100.0),
        "OneCycleLR",
        {
            "max_lr": 0.5,
            "total_steps": N,
            "pct_start": 0.4,
            "anneal_strategy": "linear",
            "div_factor": 10.0,
            "final_div_factor": 100.0,
            "base_momentum": 0.8,
            "max_momentum": 0.9,
        },
        momentum=lambda: optim.one_cycle_momentum_schedule(N, 0.8, 0.9, 0.4, "linear"),
    ),
    ScheduleCase(
        "one_cycle_cos_three_phase",
        lambda: optim.one_cycle_schedule(N, 0.1, 0.25, three_phase=True),
        "OneCycleLR",
        {"max_lr": 0.1, "total_steps": N, "pct_start": 0.25, "three_phase": True},
        momentum=lambda: optim.one_cycle_momentum_schedule(N, pct_start=0.25, three_phase=True),
    ),
    ScheduleCase(
        "one_cycle_linear_three_phase",
        lambda: optim.one_cycle_schedule(N, 0.1, 0.3, "linear", three_phase=True),
        "OneCycleLR",
        {"max_lr": 0.1, "total_steps": N, "anneal_strategy": "linear", "three_phase": True},
        momentum=lambda: optim.one_cycle_momentum_schedule(N, anneal_strategy="linear", three_phase=True),
    ),
    ScheduleCase(
        "cyclic_triangular",
        lambda: optim.cyclic_schedule(0.001, 0.1, 700, 300),
        "CyclicLR",
        {"base_lr": 0.001, "max_lr": 0.1, "step_size_up": 700, "step_size_down": 300, "cycle_momentum": False},
    ),
    ScheduleCase(
        "cyclic_triangular2",
        lambda: optim.cyclic_schedule(0.001, 0.1, 500, mode="triangular2"),
        "CyclicLR",
        {"base_lr": 0.001, "max_lr": 0.1, "step_size_up": 500, "mode": "triangular2", "cycle_momentum": False},
    ),
    ScheduleCase(
        "cyclic_exp_range",
        lambda: optim.cyclic_schedule(0.001, 0.1, 250, mode="exp_range", gamma=0.9997),
        "CyclicLR",
        {
            "base_lr": 0.001,
            "max_lr": 0.1,
            "step_size_up": 250,
            "mode": "exp_range",
            "gamma": 0.9997,
            "cycle_momentum": False,
        },
    ),
    ScheduleCase(
        "warm_restarts_t_mult_1",
        lambda: optim.cosine_warm_restarts_schedule(0.1, 300, 1, 1e-4),
        "CosineAnnealingWarmRestarts",
        {"T_0": 300, "T_mult": 1, "eta_min": 1e-4},
        base_lr=0.1,
    ),
    ScheduleCase(
        "warm_restarts_t_mult_2",
        lambda: optim.cosine_warm_restarts_schedule(0.1, 50, 2, 1e-3),
        "CosineAnnealingWarmRestarts",
        {"T_0": 50, "T_mult": 2, "eta_min": 1e-3},
        base_lr=0.1,
    ),
    ScheduleCase(
        "warm_restarts_t_mult_3",
        lambda: optim.cosine_warm_restarts_schedule(1.0, 7, 3),
        "CosineAnnealingWarmRestarts",
        {"T_0": 7, "T_mult": 3},
    ),
    ScheduleCase(
        "polynomial_power_2",
        lambda: optim.polynomial_schedule(0.1, 0.0, 2, 8000),
        "PolynomialLR",
        {"total_iters": 8000, "power": 2.0},
        base_lr=0.1,
    ),
    ScheduleCase(
        "polynomial_power_1",
        lambda: optim.polynomial_schedule(0.1, 0.0, 1, 8000),
        "PolynomialLR",
        {"total_iters": 8000, "power": 1.0},
        base_lr=0.1,
    ),
    ScheduleCase(
        "polynomial_power_half",
        lambda: optim.polynomial_schedule(1.0, 0.0, 0.5, 9000),
        "PolynomialLR",
        {"total_iters": 9000, "power": 0.5},
    ),
]

SCHEDULE_SUBSAMPLE = np.unique(np.concatenate([np.arange(0, N, 7), [N - 1]])).astype(np.int32)


def torch_schedule(case: ScheduleCase) -> dict[str, np.ndarray]:
    """The rate (and momentum) PyTorch uses at each of the ``N`` steps: ``{"lr": [N], "momentum": [N]?}``."""
    import torch

    p = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([p], lr=case.base_lr, momentum=0.9)
    scheduler = getattr(torch.optim.lr_scheduler, case.torch_scheduler)(opt, **case.torch_kwargs)
    lrs, momenta = [], []
    for _ in range(N):
        lrs.append(opt.param_groups[0]["lr"])
        momenta.append(opt.param_groups[0]["momentum"])
        opt.step()
        scheduler.step()
    out = {"lr": np.asarray(lrs, np.float64)}
    if case.momentum is not None:
        out["momentum"] = np.asarray(momenta, np.float64)
    return out


def gdjax_schedule(case: ScheduleCase, dtype: str, steps: np.ndarray) -> dict[str, np.ndarray]:
    with jax.enable_x64(dtype == "float64"):
        count = jnp.asarray(steps, jnp.int32)
        out = {"lr": np.asarray(jax.jit(jax.vmap(case.ours()))(count), np.float64)}
        if case.momentum is not None:
            out["momentum"] = np.asarray(jax.jit(jax.vmap(case.momentum()))(count), np.float64)
    return out


# -------------------------------------------------------------------- plateau


def _epoch_values(seed: int, n: int = 80, *, sign: float = 1.0, offset: float = 0.0) -> np.ndarray:
    """A loss-like sequence: a decay to a floor, noise, and flat stretches (plateaus)."""
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    base = 1.0 + 2.0 * np.exp(-t / 15.0)
    noise = 0.02 * rng.normal(size=n)
    flat = np.repeat(rng.normal(size=n // 8) * 0.01, 8)[:n]
    values = np.round(base + noise + flat, 4)
    values[40:48] = values[40]  # an exact plateau
    return sign * values + offset


@dataclass(frozen=True)
class PlateauCase:
    name: str
    values: np.ndarray
    settings: dict = field(default_factory=dict)  # ReduceLROnPlateau's keywords (and ours)
    base_lr: float = 0.1
    torch_negated: bool = False  # compare with PyTorch's opposite mode on -values (its rel mode on values < 0)


PLATEAUS = [
    PlateauCase("min_rel_defaults_patience_3", _epoch_values(0), {"patience": 3}),
    PlateauCase("min_rel_factor_cooldown", _epoch_values(1), {"patience": 2, "factor": 0.5, "cooldown": 3}),
    PlateauCase("min_rel_threshold_min_lr", _epoch_values(2), {"patience": 1, "threshold": 0.01, "min_lr": 0.004}),
    PlateauCase("min_abs", _epoch_values(3), {"patience": 2, "threshold": 0.005, "threshold_mode": "abs"}),
    PlateauCase(
        "min_abs_cooldown_min_lr",
        _epoch_values(4),
        {"patience": 0, "threshold": 0.01, "threshold_mode": "abs", "cooldown": 2, "min_lr": 0.01, "factor": 0.3},
    ),
    PlateauCase("min_eps_stops_reductions", _epoch_values(5), {"patience": 0, "factor": 0.5, "eps": 0.004}),
    PlateauCase("max_rel", -_epoch_values(6) + 4.0, {"mode": "max", "patience": 2}),
    PlateauCase(
        "max_abs_cooldown",
        -_epoch_values(7) + 4.0,
        {"mode": "max", "patience": 1, "threshold": 0.01, "threshold_mode": "abs", "cooldown": 1},
    ),
    PlateauCase(
        "negative_min_abs", _epoch_values(8) - 5.0, {"patience": 2, "threshold": 0.002, "threshold_mode": "abs"}
    ),
    PlateauCase("negative_min_rel", _epoch_values(9) - 5.0, {"patience": 2}, torch_negated=True),
    PlateauCase(
        "negative_max_rel_cooldown",
        -_epoch_values(10),
        {"mode": "max", "patience": 1, "cooldown": 2, "factor": 0.5},
        torch_negated=True,
    ),
]


def torch_plateau(case: PlateauCase) -> np.ndarray:
    """The learning rate after each ``ReduceLROnPlateau.step(value)``."""
    import torch

    settings, values = dict(case.settings), case.values
    if case.torch_negated:  # gdjax's rel margin is tau |best|: for best < 0, PyTorch's opposite mode on -values
        settings["mode"] = "max" if settings.get("mode", "min") == "min" else "min"
        values = -values
    p = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([p], lr=case.base_lr)
    scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, **settings)
    lrs = []
    for value in values:
        scheduler.step(float(value))
        lrs.append(opt.param_groups[0]["lr"])
    return np.asarray(lrs, np.float64)


def gdjax_plateau(case: PlateauCase, dtype: str) -> np.ndarray:
    with jax.enable_x64(dtype == "float64"):
        opt = optim.reduce_on_plateau(optim.sgd(case.base_lr), monitor="val_loss", **case.settings)

        @jax.jit
        def run(values):
            def epoch(state, value):
                state = optim.end_of_epoch(state, {"val_loss": value, "loss": jnp.nan})
                return state, optim.current_learning_rate(state)

            return jax.lax.scan(epoch, opt.init(jnp.zeros(2, dtype)), values)[1]

        return np.asarray(run(jnp.asarray(case.values, dtype)), np.float64)


# ----------------------------------------------------------------------- main


def build() -> dict[str, np.ndarray]:
    """Every reference value, computed with PyTorch (flat keys, as stored)."""
    import torch

    torch.set_num_threads(1)
    arrays: dict[str, np.ndarray] = {}
    for case in OPTIMIZERS:
        for dtype in DTYPES:
            for key, value in torch_trajectory(case, dtype).items():
                arrays[f"optimizer/{case.name}/{dtype}/{key}"] = value
    for case in SCHEDULES:
        full = torch_schedule(case)
        arrays[f"schedule/{case.name}/steps"] = SCHEDULE_SUBSAMPLE
        for key, value in full.items():
            arrays[f"schedule/{case.name}/{key}"] = value[SCHEDULE_SUBSAMPLE]
    for case in PLATEAUS:
        arrays[f"plateau/{case.name}/values"] = np.asarray(case.values, np.float64)
        arrays[f"plateau/{case.name}/lr"] = torch_plateau(case)
    meta = {"torch": torch.__version__, "steps": STEPS, "schedule_steps": SCHEDULE_STEPS, "loss_every": LOSS_EVERY}
    arrays["meta"] = np.asarray(json.dumps(meta, sort_keys=True))
    return arrays


def load(path: Path = OUT) -> dict[str, np.ndarray]:
    with np.load(path, allow_pickle=False) as data:
        return {k: data[k] for k in data.files}


def main() -> int:
    arrays = build()
    OUT.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(OUT, **arrays)
    print(f"wrote {OUT} ({OUT.stat().st_size / 1024:.0f} KiB, {len(arrays)} arrays)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

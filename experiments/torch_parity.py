"""PyTorch parity: gdjax.optim's PyTorch-compatible options against torch.optim, in float64.

Both libraries minimise the same non-quadratic loss (a tanh regression with a
log penalty) over the same four parameter tensors for 300 steps from the same
start, each with its own gradients; the final parameters must agree to a
relative 1e-6 (norm of the difference over norm of PyTorch's, per tensor).

Run:  python experiments/torch_parity.py        (exit status 1 on a mismatch)
The tests in tests/optim/test_optim_torch.py run the same cases where torch is
importable.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np
import torch

import gdjax.optim as optim

STEPS = 300
TOLERANCE = 1e-6
NAMES = ("w", "b", "v", "c")


@dataclass(frozen=True)
class Case:
    name: str
    ours: Callable[[], optim.GradientTransformation]
    theirs: Callable[[list[torch.Tensor]], torch.optim.Optimizer]


CASES = [
    Case("SGD", lambda: optim.sgd(0.1), lambda p: torch.optim.SGD(p, lr=0.1)),
    Case(
        "SGD momentum",
        lambda: optim.sgd(0.05, momentum=0.9),
        lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.9),
    ),
    Case(
        "SGD momentum + dampening",
        lambda: optim.sgd(0.05, momentum=0.9, dampening=0.3),
        lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.9, dampening=0.3),
    ),
    Case(
        "SGD Nesterov",
        lambda: optim.sgd(0.05, momentum=0.9, nesterov=True),
        lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.9, nesterov=True),
    ),
    Case(
        "SGD momentum + weight_decay",
        lambda: optim.chain(optim.add_decayed_weights(0.01), optim.sgd(0.05, momentum=0.9)),
        lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.9, weight_decay=0.01),
    ),
    Case("Adam", lambda: optim.adam(0.01), lambda p: torch.optim.Adam(p, lr=0.01)),
    Case(
        "Adam betas, eps",
        lambda: optim.adam(0.005, b1=0.8, b2=0.99, eps=1e-6),
        lambda p: torch.optim.Adam(p, lr=0.005, betas=(0.8, 0.99), eps=1e-6),
    ),
    Case(
        "AdamW",
        lambda: optim.adamw(0.01, weight_decay=0.1),
        lambda p: torch.optim.AdamW(p, lr=0.01, weight_decay=0.1),
    ),
    Case(
        "RMSprop (eps outside root)",
        lambda: optim.rmsprop(0.001, decay=0.99, eps=1e-8, eps_in_sqrt=False),
        lambda p: torch.optim.RMSprop(p, lr=0.001, alpha=0.99, eps=1e-8),
    ),
    Case(
        "RMSprop centered + momentum",
        lambda: optim.rmsprop(0.001, decay=0.95, eps=1e-2, eps_in_sqrt=False, centered=True, momentum=0.5),
        lambda p: torch.optim.RMSprop(p, lr=0.001, alpha=0.95, eps=1e-2, centered=True, momentum=0.5),
    ),
    Case(
        "Adagrad (zero accumulator, eps outside)",
        lambda: optim.adagrad(0.02, initial_accumulator_value=0.0, eps=1e-10, eps_in_sqrt=False),
        lambda p: torch.optim.Adagrad(p, lr=0.02),
    ),
]

# The options added with the parity issue: run by main(); the tests check them (and float32, parameter groups,
# schedulers, plateaus) through the stored references of make_torch_references.py, torch or not.
MORE_CASES = [
    Case(
        "Adam amsgrad",
        lambda: optim.adam(0.01, amsgrad=True),
        lambda p: torch.optim.Adam(p, lr=0.01, amsgrad=True),
    ),
    Case(
        "AdamW amsgrad",
        lambda: optim.adamw(0.01, weight_decay=0.05, amsgrad=True),
        lambda p: torch.optim.AdamW(p, lr=0.01, weight_decay=0.05, amsgrad=True),
    ),
    Case("Adamax", lambda: optim.adamax(0.01), lambda p: torch.optim.Adamax(p, lr=0.01)),
    Case(
        "RAdam (eps before correction)",
        lambda: optim.radam(0.01, eps_before_correction=True),
        lambda p: torch.optim.RAdam(p, lr=0.01),
    ),
    Case("Adadelta", lambda: optim.adadelta(0.3), lambda p: torch.optim.Adadelta(p, lr=0.3)),
    Case(
        "Adadelta + weight_decay",
        lambda: optim.adadelta(0.2, rho=0.95, eps=1e-5, weight_decay=0.01),
        lambda p: torch.optim.Adadelta(p, lr=0.2, rho=0.95, eps=1e-5, weight_decay=0.01),
    ),
]
# More cases (parameter groups, schedulers, ReduceLROnPlateau, averaged parameters, float32) are in
# make_torch_references.py, whose stored references tests/optim/test_optim_torch_references.py checks.


def problem() -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(16, 3))
    y = np.sin(rng.normal(size=16))
    params = {"w": rng.normal(size=(3, 4)), "b": np.zeros(4), "v": rng.normal(size=4), "c": np.zeros(())}
    return x, y, params


def jax_loss(p, x, y):
    out = jnp.tanh(x @ p["w"] + p["b"]) @ p["v"] + p["c"]
    return jnp.mean((out - y) ** 2) + 0.01 * jnp.sum(jnp.log1p(p["w"] ** 2))


def torch_loss(p, x, y):
    out = torch.tanh(x @ p["w"] + p["b"]) @ p["v"] + p["c"]
    return torch.mean((out - y) ** 2) + 0.01 * torch.sum(torch.log1p(p["w"] ** 2))


@functools.partial(jax.jit, static_argnums=0)
def _run_gdjax(make, x, y, params):
    opt = make()

    def step(carry, _):
        p, s = carry
        updates, s = opt.update(jax.grad(jax_loss)(p, x, y), s, p)
        return (optim.apply_updates(p, updates), s), None

    (params, _), _ = jax.lax.scan(step, (params, opt.init(params)), None, length=STEPS)
    return params


def run_gdjax(case: Case) -> dict[str, np.ndarray]:
    x, y, params = problem()
    with jax.enable_x64(True):
        out = _run_gdjax(case.ours, jnp.asarray(x), jnp.asarray(y), jax.tree.map(jnp.asarray, params))
        return {k: np.asarray(v) for k, v in out.items()}


def run_torch(case: Case) -> dict[str, np.ndarray]:
    x, y, params = problem()
    x, y = torch.tensor(x), torch.tensor(y)
    tensors = {k: torch.tensor(v, requires_grad=True) for k, v in params.items()}
    opt = case.theirs([tensors[k] for k in NAMES])
    for _ in range(STEPS):
        opt.zero_grad()
        torch_loss(tensors, x, y).backward()
        opt.step()
    return {k: t.detach().numpy() for k, t in tensors.items()}


def loss_value(params: dict[str, np.ndarray]) -> float:
    x, y, _ = problem()
    with jax.enable_x64(True):
        return float(jax_loss(params, x, y))


def compare(case: Case) -> tuple[float, float]:
    """(largest relative difference over the tensors, |ours - torch| / |torch|; final loss)."""
    ours, theirs = run_gdjax(case), run_torch(case)
    diff = max(float(np.linalg.norm(ours[k] - theirs[k]) / max(np.linalg.norm(theirs[k]), 1e-300)) for k in NAMES)
    return diff, loss_value(theirs)


def main() -> int:
    torch.set_default_dtype(torch.float64)
    width = max(len(c.name) for c in CASES + MORE_CASES)
    print(f"torch {torch.__version__}, jax {jax.__version__}: {STEPS} steps in float64, tolerance {TOLERANCE:g}")
    print(f"initial loss {loss_value(problem()[2]):.4f}")
    print(f"{'case':<{width}}  final loss  relative difference")
    worst = 0.0
    for case in CASES + MORE_CASES:
        diff, final = compare(case)
        worst = max(worst, diff)
        flag = "" if diff <= TOLERANCE else "  MISMATCH"
        print(f"{case.name:<{width}}  {final:10.4f}  {diff:.3e}{flag}")
    print(f"worst relative difference: {worst:.3e} (tolerance {TOLERANCE:g})")
    return 0 if worst <= TOLERANCE else 1


if __name__ == "__main__":
    sys.exit(main())

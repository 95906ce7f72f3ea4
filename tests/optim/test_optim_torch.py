"""PyTorch parity of the PyTorch-compatible options, in float64 to 1e-6 (skipped without torch).

The cases and the two training loops live in ``experiments/torch_parity.py``
(also runnable as a script); this test runs each case.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

_SCRIPT = Path(__file__).resolve().parents[2] / "experiments" / "torch_parity.py"
_spec = importlib.util.spec_from_file_location("gdjax_experiments_torch_parity", _SCRIPT)
parity = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = parity  # dataclasses look their module up there
_spec.loader.exec_module(parity)


@pytest.mark.parametrize("case", parity.CASES, ids=[c.name for c in parity.CASES])
def test_matches_torch_optim_in_float64(case):
    diff, final_loss = parity.compare(case)
    assert diff <= parity.TOLERANCE
    initial_loss = parity.loss_value(parity.problem()[2])
    assert final_loss < 0.5 * initial_loss  # both runs made real progress


def test_dampening_differs_from_optax_style_momentum():
    # PyTorch's first momentum buffer is the undamped gradient; damping it too
    # (b_1 = (1 - d) g_1) would be a different trajectory, which the case above rules out.
    import gdjax.optim as optim

    damped = parity.Case(
        "damped from the start",
        lambda: optim.chain(optim.scale(0.7), optim.sgd(0.05, momentum=0.9)),
        lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.9, dampening=0.3),
    )
    diff, _ = parity.compare(damped)
    assert diff > 1e-3

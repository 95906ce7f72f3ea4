"""binary_cross_entropy clips its probabilities (and says so); the studies train on logits instead."""

import json
import re
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from gdjax import losses

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("dtype", [jnp.float32, jnp.float16, jnp.bfloat16])
def test_clipped_examples_have_a_bounded_loss_and_zero_gradient(dtype):
    eps = float(jnp.finfo(dtype).eps)
    p = jnp.array([0.0, 1.0, 0.5], dtype)
    y = jnp.array([1.0, 0.0, 1.0], dtype)
    values = losses.binary_cross_entropy(p, y, reduction="none")
    # p = 0 with y = 1 and p = 1 with y = 0 both cost exactly -log(eps), the documented bound
    np.testing.assert_allclose(np.asarray(values, np.float64)[:2], -np.log(eps), rtol=1e-2)
    grads = jax.grad(lambda q: losses.binary_cross_entropy(q, y, reduction="sum"))(p)
    np.testing.assert_array_equal(np.asarray(grads, np.float64)[:2], [0.0, 0.0])  # clipped: no signal
    assert float(grads[2]) == pytest.approx(-2.0, rel=1e-2)  # d/dp -log p at 0.5


def test_the_docstring_states_the_clip_and_its_consequence():
    doc = " ".join(losses.binary_cross_entropy.__doc__.split())
    assert "[eps, 1 - eps]" in doc and "jnp.finfo" in doc
    assert "-log(eps)" in doc and "15.9" in doc  # the bound in float32
    assert "zero gradient" in doc
    assert "sigmoid_binary_cross_entropy" in doc and "logits" in doc


def _sources():
    files = sorted((ROOT / "gdjax" / "studies").glob("*.py")) + [ROOT / "experiments" / "notebook_helpers.py"]
    for path in files:
        yield path.name, path.read_text(encoding="utf-8")
    notebook = json.loads((ROOT / "experiments" / "colab.ipynb").read_text(encoding="utf-8"))
    for i, cell in enumerate(notebook["cells"]):
        if cell["cell_type"] == "code":
            yield f"colab.ipynb cell {i}", "".join(cell["source"])


def test_the_studies_and_the_notebook_train_on_logits():
    probability_form = re.compile(r"(?<!sigmoid_)binary_cross_entropy\(")
    found = [name for name, text in _sources() if probability_form.search(text)]
    assert found == []

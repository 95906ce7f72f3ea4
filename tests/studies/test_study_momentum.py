"""The momentum study in quick mode, and its exact quadratic numbers."""

import json

import jax.numpy as jnp
import numpy as np
import pytest

import gdjax.optim as optim
from gdjax.studies import get_study, run_study
from gdjax.studies.momentum import VARIANTS, parameters, sutskever_schedule, theory_iters, variant_optimizer


@pytest.fixture(scope="module")
def result(tmp_path_factory):
    out = tmp_path_factory.mktemp("momentum")
    record = run_study(get_study("momentum"), out, quick=True, seed=0)
    return record, out / "momentum"


def test_outputs_and_quadratic_keys(result):
    record, folder = result
    assert record["status"] in ("ok", "ok-with-failures"), record.get("error")
    for name in ("quadratic.png", "heatmap.png", "escape.png", "heart_momentum.png", "section.md"):
        assert (folder / name).stat().st_size > 0
    summary = json.loads((folder / "summary.json").read_text())
    assert [r["kappa"] for r in summary["quadratic"]] == [10, 100, 1000]
    for r in summary["quadratic"]:
        assert {
            "kappa",
            "gd_iters",
            "momentum_iters",
            "nesterov_iters",
            "gd_theory_iters",
            "momentum_theory_iters",
        } <= set(r)


def test_quadratic_iterations(result):
    record, _ = result
    table = {r["kappa"]: r for r in record["quadratic"]}
    k100 = table[100]
    assert k100["gd_iters"] >= 5 * k100["momentum_iters"]  # the issue's check
    for kappa, r in table.items():
        # Eigenvalues {1, kappa}: both extreme components shrink at exactly (kappa-1)/(kappa+1).
        assert r["gd_iters"] == r["gd_theory_iters"] == theory_iters((kappa - 1) / (kappa + 1))
        # Heavy ball at its optimum has a repeated eigenvalue: rate sqrt(beta), times a factor growing like t.
        assert r["momentum_theory_iters"] <= r["momentum_iters"] <= 1.6 * r["momentum_theory_iters"]
        assert r["momentum_iters"] < r["nesterov_iters"] < r["gd_iters"]
    assert table[100]["gd_theory_iters"] == 691 and table[100]["momentum_theory_iters"] == 69
    # gradient descent grows like kappa, momentum like sqrt(kappa)
    assert table[1000]["gd_iters"] / table[10]["gd_iters"] == pytest.approx(100, rel=0.05)
    assert table[1000]["momentum_iters"] / table[10]["momentum_iters"] < 15


def test_heatmap_escape_and_heart(result):
    record, _ = result
    heat = record["heatmap"]
    iters = np.asarray(heat["iterations"])
    assert iters.shape == (len(heat["betas"]), len(heat["alphas"]))
    # the grid's fastest cell is near the theory's optimum (which minimises the asymptotic rate, not the
    # count to 1e-6, so a neighbour may need a few iterations fewer)
    assert abs(heat["best"]["beta"] - heat["optimal"]["beta"]) < 0.1
    assert abs(heat["best"]["alpha"] - heat["optimal"]["alpha"]) < 0.01
    assert 5 * heat["best"]["iterations"] <= record["quadratic"][1]["gd_iters"]
    # step sizes past 2(1 + beta)/l_max do not converge
    alphas, betas = np.meshgrid(heat["alphas"], heat["betas"])
    assert (iters[alphas > 2 * (1 + betas) / 100 * 1.02] > heat["max_iters"]).all()
    esc = record["escape"]["course_quartic"]
    assert esc["share"][0] == 0.0  # gradient descent stalls on the plateau at w = 0
    assert max(esc["share"]) >= 0.9  # enough momentum carries through it
    assert len(record["heart"]["variants"]) == len(VARIANTS)


def test_parameters_match_the_issue():
    a, b = parameters(100)["momentum"]
    assert a == pytest.approx((2 / (1 + 10)) ** 2) and b == pytest.approx((9 / 11) ** 2)
    assert parameters(100)["gd"] == (2 / 101, 0.0)


@pytest.mark.parametrize("v", range(len(VARIANTS)))
def test_variant_optimizer_equals_the_named_optimizer(v):
    _, beta, nesterov, scheduled = VARIANTS[v]
    if scheduled:
        reference = optim.sgd(0.01, momentum=sutskever_schedule())
    else:
        reference = optim.sgd(0.01, momentum=beta, nesterov=nesterov)
    ours = variant_optimizer({"variant": v})
    w = jnp.array([1.0, -2.0])
    s1, s2 = ours.init(w), reference.init(w)
    for t in range(300):  # crosses the schedule's first change at step 250
        g = jnp.array([jnp.sin(t), jnp.cos(0.5 * t)])
        u1, s1 = ours.update(g, s1, w)
        u2, s2 = reference.update(g, s2, w)
        np.testing.assert_allclose(u1, u2, rtol=1e-5, atol=1e-7)

"""The momentum study in quick mode: its exact quadratic numbers, the heat map's edge and optimum, escaping,
the heart network with a validation split, and every sentence of the findings against the numbers."""

import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import gdjax.optim as optim
from gdjax.restarts import mean_interval
from gdjax.studies import FigureWriter, StudyContext
from gdjax.studies import momentum as study
from gdjax.studies._study import findings_of, section_markdown


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    return study.compute(StudyContext(out_dir=tmp_path_factory.mktemp("momentum"), quick=True, seed=0))


@pytest.fixture(scope="module")
def claims(results):
    return study.claims(results)


def test_quadratic_iterations(results, claims):
    table = {r["kappa"]: r for r in results.quadratic}
    assert list(table) == [10, 100, 1000]
    k100 = table[100]
    assert k100["gd_iters"] >= 5 * k100["momentum_iters"]
    for kappa, r in table.items():
        # Eigenvalues {1, kappa}: both extreme components shrink at exactly (kappa-1)/(kappa+1).
        assert r["gd_iters"] == r["gd_theory_iters"] == study.theory_iters((kappa - 1) / (kappa + 1))
        # Heavy ball at its optimum has a repeated eigenvalue: rate sqrt(beta), times a factor growing like t.
        assert r["momentum_theory_iters"] <= r["momentum_iters"] <= 1.6 * r["momentum_theory_iters"]
        assert r["momentum_iters"] < r["nesterov_iters"] < r["gd_iters"]
    assert k100["gd_theory_iters"] == 691 and k100["momentum_theory_iters"] == 69
    assert table[1000]["gd_iters"] / table[10]["gd_iters"] == pytest.approx(100, rel=0.05)
    assert f"({results.speedup_at_kappa_100:.1f}x fewer)" in claims["speedup"]
    assert "matches its theory to the iteration" in claims["speedup"]
    assert "grows 100-fold" in claims["growth"]


def test_heat_map_optimum_and_edge(results, claims):
    h = results.heatmap
    iters = np.asarray(h.iterations)
    assert iters.shape == (len(h.betas), len(h.alphas)) and h.best_iterations == iters.min()
    # The theory's optimum at kappa = 100: alpha = (2/11)^2, beta = (9/11)^2, rate 9/11.
    assert h.optimal_alpha == pytest.approx(4 / 121) and h.optimal_beta == pytest.approx(81 / 121)
    assert h.optimal_rate == pytest.approx(9 / 11) and study.spectral_radius(4 / 121, 81 / 121) == pytest.approx(9 / 11)
    assert h.best_rate == pytest.approx(study.spectral_radius(h.best_alpha, h.best_beta))
    # The grid's fastest cell beats the optimum's count although its asymptotic rate is worse.
    assert h.best_iterations < h.optimal_iterations and h.best_rate > h.optimal_rate
    assert abs(h.best_beta - h.optimal_beta) < 0.1 and abs(h.best_alpha - h.optimal_alpha) < 0.01
    assert h.optimal_edge_margin == pytest.approx((2 * (1 + 81 / 121) / 100 - 4 / 121) / (4 / 121))
    assert f"needs {h.best_iterations} iterations" in claims["heatmap"]
    assert f"spectral radius {h.best_rate:.4f} against the optimum's {h.optimal_rate:.4f}" in claims["heatmap"]
    assert f"{abs(h.best_alpha - h.optimal_alpha) / h.alpha_step:.1f} grid steps" in claims["heatmap"]
    # Step sizes past 2(1 + beta)/l_max never converge.
    alphas, betas = np.meshgrid(h.alphas, h.betas)
    assert (iters[alphas > 2 * (1 + betas) / 100] > h.max_iters).all() and h.unstable_converged == 0
    assert claims["edge"].startswith("No cell past the stability edge")
    assert "the fastest cell lies above and left of it" in claims["heatmap"]  # quick grid: larger beta, smaller alpha


def test_escape(results, claims):
    esc = results.escape["course_quartic"]
    assert esc["share"][0] == 0.0 and max(esc["share"]) >= 0.9  # GD stalls on the plateau; momentum carries through
    assert f"at beta = 0: {esc['share'][0]:.2f}" in claims["escape"]
    assert f"with momentum {max(esc['share']):.2f} at best" in claims["escape"]
    # The Styblinski-Tang half says the measured shares, each inside its own Wilson interval.
    st = results.escape["styblinski_tang"]
    best = int(np.argmax(st["share"]))
    said = f"{st['share'][0]:.2f} at beta = 0, {st['share'][best]:.2f} at best (beta = {st['betas'][best]})"
    assert said in claims["escape"]
    assert all(lo <= p <= hi for p, lo, hi in zip(st["share"], st["low"], st["high"], strict=True))


def test_heart_validation_protocol_and_overfitting(results, claims):
    hr = results.heart
    assert (hr.n_train, hr.n_val, hr.n_test) == (181, 61, 61) and hr.majority_accuracy == pytest.approx(44 / 61)
    val = np.asarray(hr.val_curves, float)
    for v, variant in enumerate(hr.variants):
        median = np.median(val[v], axis=0)
        assert variant.best_epoch == int(np.argmin(median)) + 1 and variant.min_val_loss == pytest.approx(
            median.min(), rel=1e-4
        )  # curves kept to 5 decimals
        # Early stopping kept each restart's best validation epoch.
        np.testing.assert_allclose(variant.val_loss_restored, val[v].min(axis=1), rtol=1e-4)
    high = next(v for v in hr.variants if v.momentum == 0.99 and not v.schedule)
    plain = hr.variants[0]
    # beta = 0.99 at lr 0.01 overfits: its validation loss turns up early while its training loss keeps falling.
    assert high.best_epoch < hr.epochs // 2 and high.final_val_loss > high.min_val_loss + 0.01
    assert high.final_train_loss < plain.final_train_loss
    assert "it overfits the 181 training rows" in claims["overfit"]
    assert f"at epoch {high.best_epoch} of {hr.epochs}" in claims["overfit"]


def test_paired_comparisons_and_test_number(results, claims):
    hr = results.heart
    byname = {v.label: v for v in hr.variants}
    for p in hr.paired:
        d = np.asarray(byname[p.a].val_loss_restored) - np.asarray(byname[p.b].val_loss_restored)
        t = mean_interval(d[np.isfinite(d)])
        assert (p.mean, p.low, p.high, p.pairs) == pytest.approx((t.mean, t.low, t.high, t.count))
        verdict = "lower by" if p.high < 0 else ("higher by" if p.low > 0 else "no different")
        assert f"{p.a} vs {p.b}: {verdict}" in claims["paired"]
    assert f"differ by at most {hr.heavy_vs_nesterov_max_gap:.4f}" in claims["nesterov"]
    chosen = min(hr.variants, key=lambda v: np.median(v.val_loss_restored))
    assert hr.chosen == chosen.label
    assert hr.test_accuracy > hr.majority_accuracy and hr.logistic.test_accuracy > hr.majority_accuracy
    assert f"accuracy {hr.test_accuracy:.3f}, above the majority class's {hr.majority_accuracy:.3f}" in claims["test"]
    assert f"scores {hr.logistic.test_accuracy:.3f}" in claims["test"]


def test_text_and_files(results, tmp_path):
    text = study.text(results)
    assert list(text.failures) == []
    for sentence in study.claims(results).values():
        assert sentence in text.findings
    writer = FigureWriter(tmp_path)
    study.figures(results, writer)
    assert [f.filename for f in writer.figures] == ["quadratic.png", "heatmap.png", "escape.png", "heart_momentum.png"]
    for figure in writer.figures:
        assert (tmp_path / figure.filename).stat().st_size > 10_000
    findings = findings_of(study.STUDY, results, writer.figures)
    summary = json.loads(json.dumps(findings.summary))
    assert {"kappa", "gd_iters", "momentum_iters", "nesterov_iters"} <= set(summary["quadratic"][0])
    assert summary["heatmap"]["best_iterations"] == results.heatmap.best_iterations
    section = section_markdown(study.STUDY, findings, quick=True, seed=0, seconds=1.0)
    assert "## Momentum" in section and "heatmap.png" in section


def test_parameters_match_the_issue():
    a, b = study.parameters(100)["momentum"]
    assert a == pytest.approx((2 / (1 + 10)) ** 2) and b == pytest.approx((9 / 11) ** 2)
    assert study.parameters(100)["gd"] == (2 / 101, 0.0)


@pytest.mark.parametrize("v", range(len(study.VARIANTS)))
def test_variant_optimizer_equals_the_named_optimizer(v):
    _, beta, nesterov, scheduled = study.VARIANTS[v]
    if scheduled:
        reference = optim.sgd(0.01, momentum=study.sutskever_schedule())
    else:
        reference = optim.sgd(0.01, momentum=beta, nesterov=nesterov)
    ours = study.variant_optimizer({"variant": v})
    w = jnp.array([1.0, -2.0])

    def run(opt):
        def step(state, t):
            g = jnp.stack([jnp.sin(t), jnp.cos(0.5 * t)])
            u, state = opt.update(g, state, w)
            return state, u

        return jax.lax.scan(step, opt.init(w), jnp.arange(300.0))[1]  # crosses the schedule's change at 250

    np.testing.assert_allclose(jax.jit(lambda: run(ours))(), jax.jit(lambda: run(reference))(), rtol=1e-5, atol=1e-7)

"""The optimizer race in quick mode: the tuning protocol, its numbers, and every sentence of its findings."""

import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import gdjax.optim as optim
from gdjax.restarts import mean_interval
from gdjax.studies import FigureWriter, StudyContext
from gdjax.studies import race as study
from gdjax.studies._study import findings_of, section_markdown


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    return study.compute(StudyContext(out_dir=tmp_path_factory.mktemp("race"), quick=True, seed=0))


@pytest.fixture(scope="module")
def claims(results):
    return study.claims(results)


def _medians(r, f, o):
    return np.asarray(r.median_steps[r.landscapes.index(f)][r.optimizers.index(o)], float)


def test_protocol(results):
    r = results
    rates = np.asarray(r.learning_rates)
    per_decade = np.log10(rates[1:] / rates[:-1])
    np.testing.assert_allclose(per_decade, 1 / 8)  # 8 rates a decade
    assert rates[0] == pytest.approx(1e-5) and rates[-1] == pytest.approx(1e2) and rates.size == 57
    assert r.num_starts >= 16 and np.asarray(r.starts).shape == (5, r.num_starts, 2)
    # The turned quadratic starts from the quadratic's starts, turned: the same problem in other coordinates.
    np.testing.assert_allclose(np.asarray(r.starts)[4], np.asarray(r.starts)[3] @ study.ROTATION.T, atol=1e-4)
    assert r.landscapes == study.LANDSCAPES and "rotated_ill_conditioned" in r.landscapes


@pytest.mark.parametrize("index", range(len(study.OPTIMIZERS)))
def test_the_switch_is_the_named_optimizer(index):
    named = [
        optim.sgd(0.01),
        optim.sgd(0.01, momentum=0.9),
        optim.sgd(0.01, momentum=0.9, nesterov=True),
        optim.adagrad(0.01),
        optim.rmsprop(0.01),
        optim.adam(0.01),
    ][index]
    ours = study.race_optimizer(index, 0.01)
    x = jnp.array([1.0, -2.0])
    s1, s2 = ours.init(x), named.init(x)
    update1, update2 = jax.jit(ours.update), jax.jit(named.update)
    for t in range(20):
        g = jnp.array([np.sin(t), np.cos(0.5 * t)], jnp.float32)
        u1, s1 = update1(g, s1, x)
        u2, s2 = update2(g, s2, x)
        np.testing.assert_allclose(u1, u2, rtol=1e-4, atol=1e-8)  # float32 rounding of fused ops


def test_tuned_rates_medians_and_converging_ranges(results):
    r = results
    rates = np.asarray(r.learning_rates)
    for f in r.landscapes:
        for o in r.optimizers:
            t, med = r.tuned[f][o], _medians(r, f, o)
            if t.tuned_learning_rate is None:
                assert not np.isfinite(med).any()
                continue
            k = int(np.argmin(np.abs(rates - t.tuned_learning_rate)))
            assert med[k] == np.nanmin(np.where(np.isfinite(med), med, np.nan)) == t.median_steps
            per_start = np.array([np.inf if v is None else v for v in r.steps_at_tuned[f][o]], float)
            assert np.median(per_start) == t.median_steps
            lo, hi = (int(np.argmin(np.abs(rates - v))) for v in t.converging_range)
            assert lo <= k <= hi and np.isfinite(med[lo : hi + 1]).all()
            assert (lo == 0 or not np.isfinite(med[lo - 1])) and (hi == rates.size - 1 or not np.isfinite(med[hi + 1]))
            assert t.range_decades == pytest.approx((hi - lo) / 8)
            assert t.at_grid_edge == (lo == 0 or hi == rates.size - 1)


def test_settling_steps_are_exact(results, tmp_path):
    """SGD on the quadratic, replayed in float32 NumPy from three starts: the program's count, to the step."""
    r = results
    t = r.tuned["ill_conditioned"]["SGD"]
    lr = np.float32(t.tuned_learning_rate)
    starts = study.draw_starts(StudyContext(out_dir=tmp_path, quick=True, seed=0).key(1), r.num_starts)
    for s in range(3):
        x = starts[3, s].astype(np.float32)
        last_above = -1
        for step in range(r.max_steps + 1):
            value = np.float32(0.5) * (x[0] * x[0] + np.float32(50) * x[1] * x[1])
            if value > study.TOLERANCE:
                last_above = step
            x = x - lr * np.array([x[0], np.float32(50) * x[1]], np.float32)
        expected = last_above + 1
        assert abs(r.steps_at_tuned["ill_conditioned"]["SGD"][s] - expected) <= 1


def test_winners_and_paired_comparisons(results, claims):
    r = results
    for f in r.landscapes:
        w = r.winners[f]
        scored = {o: r.tuned[f][o].median_steps for o in r.optimizers if r.tuned[f][o].median_steps is not None}
        assert w is not None and r.tuned[f][w].median_steps == min(scored.values())
        sentence = claims[f"winner_{f}"]
        assert f"**{w}** is fastest" in sentence and f"(median {r.tuned[f][w].median_steps:g} steps)" in sentence
        c = r.comparisons[f][0]
        assert r.tuned[f][c.other].median_steps == sorted(v for o, v in scored.items() if o != w)[0]
        a = np.array([np.nan if v is None else v for v in r.steps_at_tuned[f][c.other]], float)
        b = np.array([np.nan if v is None else v for v in r.steps_at_tuned[f][w]], float)
        both = np.isfinite(a) & np.isfinite(b)
        interval = mean_interval(a[both] - b[both])
        assert c.pairs == both.sum() and c.mean == pytest.approx(interval.mean)
        if c.pairs >= 2 and c.low > 0:
            assert f"the runner-up {c.other} needs {c.mean:.1f} more steps per start" in sentence
        elif c.pairs >= 2 and c.high < 0:
            assert f"yet start by start the runner-up {c.other} is faster, by {-c.mean:.1f} steps" in sentence
        elif c.pairs >= 2:
            assert f"the runner-up {c.other} cannot be told apart from it" in sentence
    # Quick-mode facts: AdaGrad's per-coordinate scaling wins the axis-aligned quadratic outright.
    assert r.winners["ill_conditioned"] == "AdaGrad"
    assert r.tuned["rosenbrock"]["SGD"].tuned_learning_rate is None  # plain SGD does not settle in 1500 steps


def test_forgiving_claims(results, claims):
    r = results
    for f in r.landscapes:
        g = r.most_forgiving[f]
        best = max(t.range_decades for t in r.tuned[f].values() if t.median_steps is not None)
        assert r.tuned[f][g].range_decades == best
        assert f"the most forgiving is {g}" in claims[f"forgiving_{f}"]
        assert f"{best:.2f} decades" in claims[f"forgiving_{f}"]


def test_rotation(results, claims):
    plain, turned = results.tuned["ill_conditioned"], results.tuned["rotated_ill_conditioned"]
    for o in ("SGD", "momentum", "Nesterov"):  # they only add gradients: rotation-equivariant
        assert plain[o].median_steps == turned[o].median_steps
        assert plain[o].tuned_learning_rate == turned[o].tuned_learning_rate
    assert turned["AdaGrad"].median_steps > 10 * plain["AdaGrad"].median_steps
    assert "leaves the median steps of SGD, momentum, Nesterov unchanged" in claims["rotation"]
    assert f"AdaGrad {plain['AdaGrad'].median_steps:g} -> {turned['AdaGrad'].median_steps:g}" in claims["rotation"]


def test_adam_relapse_is_explained(results, claims):
    a = results.adam_relapse
    assert a.limit == pytest.approx(38.0) and a.learning_rate == 0.05
    # It arrives, comes down to float32's floor, leaves again, and its preconditioned sharpness crossed 38 first.
    assert a.first_hit is not None and a.relapse_step is not None and a.lowest_gap < 1e-10
    assert a.first_hit < a.limit_crossed_step < a.relapse_step and a.peak_gap > 0.1
    assert a.sharpness_at_first_hit < a.limit
    sentence = claims["adam_relapse"]
    assert f"left the tolerance again at step {a.relapse_step}" in sentence
    assert f"= 38 at step {a.limit_crossed_step}, before the relapse" in sentence
    assert "Every tuned run from the centre of its start box settles within the budget." == claims["canonical"]
    for f in results.landscapes:
        for o in results.optimizers:
            if results.tuned[f][o].tuned_learning_rate is not None:
                assert results.canonical[f][o].settled is not None


def test_reddi(results, claims):
    red = results.reddi
    assert red.period == 101 and red.betas == (0.9, 0.99) and red.steps == 50_000
    assert float(study.reddi_gradient(1)) == 1010.0 and float(study.reddi_gradient(2)) == -10.0
    assert float(study.reddi_gradient(102)) == 1010.0
    assert red.final_x["Adam"] > 0.9 and red.final_x["AMSGrad"] < -0.9  # the worst point, and the optimum's side
    assert red.final_average_regret["Adam"] > red.final_average_regret["AMSGrad"]
    sentence = claims["reddi"]
    assert f"Adam's iterate is at x = {red.final_x['Adam']:.3f}" in sentence
    assert "Adam drifts to the worst point of [-1, 1] and AMSGrad towards the optimum" in sentence


def test_text_labels_and_files(results, tmp_path):
    r = results
    text = study.text(r)
    assert text.failures == [] or list(text.failures) == []
    # The report and the CLI say "expected" themselves; the items do not repeat it.
    assert text.expected and not any(e.startswith("expected") for e in text.expected)
    assert all("diverge at the grid's large rates" in e for e in text.expected)
    for f in r.landscapes:
        assert study.claims(r)[f"winner_{f}"] in text.findings
    writer = FigureWriter(tmp_path)
    study.figures(r, writer)
    for figure in writer.figures:
        assert (tmp_path / figure.filename).stat().st_size > 10_000
    assert {f.filename for f in writer.figures} == {
        "race_paths.png",
        "race_rates.png",
        "race_gap.png",
        "adam_relapse.png",
        "reddi.png",
    }
    findings = findings_of(study.STUDY, r, writer.figures)
    summary = json.dumps(findings.summary)
    assert len(summary) < 1_500_000
    loaded = json.loads(summary)
    assert loaded["tuned"]["beale"]["Adam"]["converging_range"] == list(r.tuned["beale"]["Adam"].converging_range)
    assert {"tuned_learning_rate", "median_steps", "converging_range"} <= set(loaded["tuned"]["saddle"]["SGD"])
    assert set(loaded["reddi"]["final_x"]) == {"Adam", "AMSGrad"}
    section = section_markdown(study.STUDY, findings, quick=True, seed=0, seconds=1.0)
    assert "**Expected failures** (part of the lesson)." in section and "Optimizer race" in section

"""The perceptron study in quick mode: its numbers, and every claim of its text checked against them."""

import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from gdjax.data import ADMISSIONS_BIAS, ADMISSIONS_WEIGHTS
from gdjax.models import perceptron_epoch
from gdjax.studies import FigureWriter, StudyContext
from gdjax.studies import perceptron as study
from gdjax.studies._study import findings_of, section_markdown


@pytest.fixture(scope="module")
def ctx(tmp_path_factory):
    return StudyContext(out_dir=tmp_path_factory.mktemp("unused"), quick=True, seed=0)


@pytest.fixture(scope="module")
def results(ctx):
    return study.compute(ctx)


@pytest.fixture(scope="module")
def text(results):
    return study.text(results)


def test_figures_and_section(results, tmp_path):
    writer = FigureWriter(tmp_path)
    study.figures(results, writer)
    names = [f.filename for f in writer.figures]
    assert names == [
        "perceptron_trick.gif",
        "perceptron_lines.png",
        "novikoff_bound.png",
        "logistic_contours.png",
        "nonlinear_boundary.png",
    ]
    assert (tmp_path / "perceptron_trick.gif").read_bytes()[:6] == b"GIF89a"
    for name in names[1:]:
        assert (tmp_path / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    findings = findings_of(study.STUDY, results, writer.figures)
    section = section_markdown(study.STUDY, findings, quick=True, seed=0, seconds=1.0)
    assert "Novikoff's bound" in section and "Failed or diverged" not in section
    summary = json.loads(json.dumps(findings.summary, allow_nan=False))
    assert summary["novikoff"]["bound"] == pytest.approx(results.novikoff.bound)


def test_perceptron_separates_the_admissions(results, text):
    trick = results.trick
    assert trick.final_accuracy == 1.0
    epoch = trick.separated_after_epochs
    assert epoch is not None and trick.mistakes_per_epoch[epoch] == 0 and min(trick.mistakes_per_epoch[:epoch]) > 0
    assert sum(trick.mistakes_per_epoch) == trick.updates
    assert len(trick.frames) >= 2 and trick.frames[-1].update == trick.updates
    # the final line points the same way as the true rule 2 x1 + x2 - 18 >= 0
    w = np.array(trick.final_w)
    assert w @ np.array(ADMISSIONS_WEIGHTS) / np.linalg.norm(w) / np.sqrt(5) > 0.9
    assert f"separates the data after {epoch} passes" in text.findings
    assert f"made {trick.updates} updates" in text.findings
    unseparated = results._replace(trick=trick._replace(separated_after_epochs=None))
    other = study.text(unseparated)
    assert f"had not separated the data after {trick.epochs} passes" in other.findings and other.failures


def test_every_run_is_within_novikoffs_bound(results, text):
    nov = results.novikoff
    mistakes = np.asarray(nov.mistakes)
    bound = np.asarray(nov.bound)
    assert mistakes.shape == (len(nov.deltas), nov.restarts)
    assert np.all(nov.separated)
    assert np.all(mistakes <= bound[:, None])  # the theorem, run by run
    assert np.all(mistakes <= np.asarray(nov.bound_true)[:, None])
    assert nov.worst_ratio == pytest.approx(np.max(mistakes / bound[:, None])) and nov.worst_ratio < 1
    assert study.all_within_bound(nov)
    # the search never does worse than the true rule, and the true rule's margin is the construction's
    assert np.all(np.asarray(nov.gamma) >= np.asarray(nov.gamma_true) - 1e-12)
    true = np.array([*ADMISSIONS_WEIGHTS, sum(ADMISSIONS_WEIGHTS) * study.CENTRE + ADMISSIONS_BIAS])
    factor = np.linalg.norm(ADMISSIONS_WEIGHTS) / np.linalg.norm(true)
    np.testing.assert_allclose(nov.gamma_true, factor * np.asarray(nov.deltas), rtol=1e-6)
    # shrinking margins: larger bounds and more mistakes
    assert all(a < b for a, b in zip(nov.bound[:-1], nov.bound[1:]))
    assert all(a <= b for a, b in zip(nov.median_mistakes[:-1], nov.median_mistakes[1:]))
    assert nov.median_mistakes[-1] > 4 * nov.median_mistakes[0]
    runs = len(nov.deltas) * nov.restarts
    assert f"every one of the {runs} runs separated its data within its bound" in text.findings
    assert f"at most {100 * nov.worst_ratio:.1f}% of (R / γ)²" in text.findings
    assert "median mistakes grow: " + ", ".join(f"{m:.0f}" for m in nov.median_mistakes) in text.findings
    assert f"the bounds are {', '.join(f'{b:.0f}' for b in nov.bound_true)}, never below the search's" in text.findings
    broken = results._replace(novikoff=nov._replace(bound=[1.0] * len(nov.deltas)))
    assert any("more mistakes than (R / γ)²" in f for f in study.text(broken).failures)


def test_margins_and_mistakes_recomputed_independently(ctx, results):
    nov = results.novikoff
    s = len(nov.deltas) - 1  # the smallest margin
    x, y = study._margin_data(jax.random.fold_in(ctx.key(10), s), nov.n, nov.deltas[s])
    xa = np.concatenate([x, np.ones((nov.n, 1))], axis=1)
    assert np.max(np.linalg.norm(xa, axis=1)) == pytest.approx(nov.radius[s])
    distances = (x + study.CENTRE) @ np.asarray(ADMISSIONS_WEIGHTS) + ADMISSIONS_BIAS
    assert np.min(np.abs(distances)) / np.sqrt(5) == pytest.approx(nov.deltas[s], rel=1e-6)
    # the perceptron from zero in restart 0's orders, in plain NumPy
    key = jax.random.split(ctx.key(11), nov.restarts)[0]
    w, b, total = np.zeros(2, np.float32), np.float32(0), 0
    for e in range(10_000):
        made = 0
        for i in np.argsort(np.asarray(jax.random.uniform(jax.random.fold_in(key, e), (nov.n,)))):
            xi = x[i].astype(np.float32)
            guess = float(xi @ w + b >= 0)
            if guess != y[i]:
                w, b, made = w + study.TRICK_RATE * (y[i] - guess) * xi, b + study.TRICK_RATE * (y[i] - guess), made + 1
        total += made
        if made == 0:
            break
    assert total == nov.mistakes[s][0] and e + 1 == nov.epochs[s][0]


def test_logistic_regression_against_its_baselines(results, text):
    lr = results.logistic
    assert lr.majority_test < lr.test_accuracy <= lr.true_rule_test + 0.05
    assert 0.8 <= lr.train_accuracy <= 1.0 and lr.angle_to_true_rule_deg < 35
    assert lr.true_rule_train == pytest.approx(1 - lr.label_noise, abs=0.06)
    for number in (lr.test_accuracy, lr.majority_test, lr.true_rule_test, lr.train_accuracy):
        assert f"{number:.3f}" in text.findings
    assert f"{lr.angle_to_true_rule_deg:.1f} degrees off the true rule's" in text.findings
    assert not lr.majority_admitted and "majority class (everyone rejected)" in text.findings  # 35% are admitted


def test_circles_need_a_hidden_layer(results, text):
    c = results.circles
    line, net = c.names
    assert np.median(c.test_accuracy[line]) < 0.7 and min(c.test_accuracy[net]) > 0.95
    assert c.majority_test == pytest.approx(0.5)
    diff = np.asarray(c.test_accuracy[net]) - np.asarray(c.test_accuracy[line])
    assert c.difference == pytest.approx(diff.mean()) and c.difference_low > 0
    assert f"{c.difference:+.3f} [{c.difference_low:.3f}, {c.difference_high:.3f}] ahead" in text.findings
    assert "a hidden layer is needed" in text.findings
    tie = results._replace(circles=c._replace(difference_low=-0.01))
    assert "a hidden layer is needed" not in study.text(tie).findings


def test_path_agrees_with_perceptron_epoch():
    x = jnp.array([[1.0, 2.0], [3.0, -1.0], [-2.0, 0.5], [0.5, 0.5]])
    y = jnp.array([1.0, 0.0, 0.0, 1.0])
    start = {"w": jnp.array([0.3, -0.2]), "b": jnp.array(0.1)}
    path, mistakes = study.perceptron_path(start, x, y, 0.5, epochs=2)
    once, count = perceptron_epoch(start, x, y, 0.5)
    np.testing.assert_allclose(path["w"][3], once["w"])
    np.testing.assert_allclose(path["b"][3], once["b"])
    assert int(mistakes[:4].sum()) == int(count)

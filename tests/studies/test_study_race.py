"""The optimizer race in quick mode: outputs exist and the outcomes make sense."""

import json

import pytest

from gdjax.studies import get_study, run_study
from gdjax.studies.race import OPTIMIZERS, RACES


@pytest.fixture(scope="module")
def result(tmp_path_factory):
    out = tmp_path_factory.mktemp("race")
    record = run_study(get_study("race"), out, quick=True, seed=0)
    return record, out / "race"


def test_outputs_exist(result):
    record, folder = result
    assert record["status"] in ("ok", "ok-with-failures"), record.get("error")
    for name in ("race.png", "race_gap.png", "summary.json", "section.md"):
        assert (folder / name).stat().st_size > 0
    assert (folder / "race.gif").read_bytes()[:6] == b"GIF89a"
    assert json.loads((folder / "summary.json").read_text())["functions"].keys() == RACES.keys()


def test_every_pair_has_an_outcome_and_the_table_says_it(result):
    record, folder = result
    section = (folder / "section.md").read_text()
    for f in RACES:
        for o in OPTIMIZERS:
            outcome = record["functions"][f]["optimizers"][o]
            assert outcome["status"] in ("converged", "did not converge", "diverged")
            if outcome["status"] == "converged":
                assert 0 < outcome["steps"] <= record["max_steps"]
    for o in OPTIMIZERS:
        assert f"| {o} |" in section
    assert "did not converge" in section  # quick-mode Rosenbrock: plain SGD is still in the valley


def test_known_outcomes(result):
    record, _ = result
    fns = record["functions"]
    # The ill-conditioned quadratic (kappa = 50): momentum beats plain gradient descent.
    ill = fns["ill_conditioned"]["optimizers"]
    assert ill["SGD"]["status"] == "converged" and ill["Nesterov"]["status"] == "converged"
    assert ill["Nesterov"]["steps"] < ill["SGD"]["steps"]
    # On the saddle every method escapes to a minimum (value -1/4) within the budget.
    assert all(o["status"] == "converged" for o in fns["saddle"]["optimizers"].values())
    # Rosenbrock's valley: Adam gets there, plain SGD does not within the quick budget.
    assert fns["rosenbrock"]["optimizers"]["Adam"]["status"] == "converged"
    assert fns["rosenbrock"]["optimizers"]["SGD"]["status"] == "did not converge"

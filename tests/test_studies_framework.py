"""The study runner, report assembly and command line, with a small stand-in study."""

import json
import sys
import types

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import pytest

from gdjax import cli
from gdjax.studies import Findings, Study, _registry, run_study, write_report


def _toy_run(ctx):
    fig, ax = plt.subplots()
    ax.plot([0, 1], [1, 0])
    ctx.save_figure(fig, "line.png", "A falling line.")
    frames = []
    for i in range(3):
        f, a = plt.subplots(figsize=(2, 2))
        a.plot([0, i])
        frames.append(f)
    ctx.save_gif(frames, "motion.gif", "Three frames.")
    return Findings(
        summary={"answer": 42.0, "curve": [1.0, float("nan")], "quick": ctx.quick},
        method="We drew a line.",
        findings="It falls.",
        figures=ctx.figures,
        failures=["run 3 diverged at step 7"],
    )


def _broken_run(ctx):
    raise RuntimeError("boom")


TOY = Study("toy", "A toy study", "Does the line fall?", _toy_run)
BROKEN = Study("broken", "A broken study", "Does it crash?", _broken_run)


@pytest.fixture
def registry(monkeypatch):
    module = types.ModuleType("gdjax_toy_studies")
    module.STUDY = TOY
    broken = types.ModuleType("gdjax_broken_study")
    broken.STUDY = BROKEN
    monkeypatch.setitem(sys.modules, "gdjax_toy_studies", module)
    monkeypatch.setitem(sys.modules, "gdjax_broken_study", broken)
    monkeypatch.setattr(
        _registry,
        "STUDIES",
        {"toy": ("gdjax_toy_studies", "Does the line fall?"), "broken": ("gdjax_broken_study", "Does it crash?")},
    )
    monkeypatch.setattr(cli, "STUDIES", _registry.STUDIES)
    monkeypatch.setattr(cli, "HEADLINE", ("toy",))
    return _registry.STUDIES


def test_run_study_writes_summary_section_and_figures(tmp_path):
    record = run_study(TOY, tmp_path, quick=True, seed=3)
    folder = tmp_path / "toy"
    summary = json.loads((folder / "summary.json").read_text())
    assert summary["answer"] == 42.0 and summary["seed"] == 3 and summary["quick"] is True
    assert summary["curve"] == [1.0, None]  # strict JSON: NaN becomes null
    assert summary["status"] == "ok-with-failures" and summary["failures"] == ["run 3 diverged at step 7"]
    assert record["answer"] == 42.0
    assert (folder / "line.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (folder / "motion.gif").read_bytes()[:6] == b"GIF89a"
    section = (folder / "section.md").read_text()
    assert "**Question.** Does the line fall?" in section and "![A falling line.](line.png)" in section
    assert "run 3 diverged at step 7" in section
    assert not list(folder.glob(".*.tmp"))  # atomic writes leave no temporaries


def test_a_failing_study_is_recorded_not_hidden(tmp_path):
    record = run_study(BROKEN, tmp_path, quick=True, seed=0)
    assert record["status"] == "failed" and "RuntimeError: boom" in record["error"]
    assert "This study failed" in (tmp_path / "broken" / "section.md").read_text()


def test_report_links_images_relative_to_the_report(tmp_path):
    run_study(TOY, tmp_path, quick=True, seed=0)
    path, names = write_report(tmp_path, ["toy"])
    report = path.read_text()
    assert names == ["toy"] and "![A falling line.](toy/line.png)" in report
    with pytest.raises(FileNotFoundError, match="no study sections"):
        write_report(tmp_path / "empty", ["toy"])


def test_command_line(registry, tmp_path, capsys):
    assert cli.main(["list"]) == 0
    assert "toy" in capsys.readouterr().out
    assert cli.main(["run", "toy", "--quick", "--out", str(tmp_path), "--no-progress"]) == 0
    assert cli.main(["report", "--out", str(tmp_path)]) == 0
    assert (tmp_path / "REPORT.md").exists()
    assert "diverged/failed: run 3 diverged" in capsys.readouterr().out
    assert cli.main(["run", "all", "--quick", "--out", str(tmp_path), "--no-progress"]) == 1
    assert "1 of 2 studies failed: broken" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        cli.main(["run", "nope", "--out", str(tmp_path)])
    assert "unknown study 'nope'; choose from: all, headline, toy, broken" in capsys.readouterr().err
    assert cli.study_script("toy", ["--quick", "--out", str(tmp_path), "--no-progress"]) == 0

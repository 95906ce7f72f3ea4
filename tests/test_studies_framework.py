"""The study runner, report assembly and command line, with a small stand-in study."""

import json
import sys
import types
from typing import NamedTuple

import matplotlib

matplotlib.use("Agg")
import matplotlib.figure
import matplotlib.pyplot as plt
import numpy as np
import pytest

from gdjax import cli
from gdjax.studies import Findings, Study, Text, _registry, run_study, write_report


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


TOY = Study("toy", "A toy study", "Does the line fall?", run=_toy_run)
BROKEN = Study("broken", "A broken study", "Does it crash?", run=_broken_run)


@pytest.fixture
def registry(monkeypatch):
    module = types.ModuleType("gdjax_toy_studies.toy")
    module.STUDY = TOY
    broken = types.ModuleType("gdjax_toy_studies.broken")
    broken.STUDY = BROKEN
    monkeypatch.setitem(sys.modules, "gdjax_toy_studies.toy", module)
    monkeypatch.setitem(sys.modules, "gdjax_toy_studies.broken", broken)
    monkeypatch.setattr(_registry, "MODULES", ("gdjax_toy_studies.toy", "gdjax_toy_studies.broken"))
    monkeypatch.setattr(cli, "HEADLINE", ("toy",))
    return _registry.MODULES


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


def test_command_line(registry, tmp_path, capsys, monkeypatch):
    caches = []
    monkeypatch.setattr(cli, "enable_compilation_cache", lambda: caches.append(1))
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
    assert len(caches) == 3  # every run keeps its compiled programs on disk ...
    assert cli.main(["run", "toy", "--quick", "--out", str(tmp_path), "--no-progress", "--no-cache"]) == 0
    assert len(caches) == 3  # ... unless told not to


def test_the_compilation_cache_goes_where_asked(tmp_path):
    import jax

    from gdjax.train import enable_compilation_cache

    before = jax.config.jax_compilation_cache_dir
    try:
        assert enable_compilation_cache(tmp_path / "cache") == tmp_path / "cache"
        assert jax.config.jax_compilation_cache_dir == str(tmp_path / "cache") and (tmp_path / "cache").is_dir()
    finally:
        jax.config.update("jax_compilation_cache_dir", before)


class _LineResults(NamedTuple):
    slope: float
    losses: np.ndarray
    diverged_rate: float


def _line_compute(ctx):
    return _LineResults(slope=-2.0, losses=np.array([3.0, 1.0, np.nan]), diverged_rate=3.5)


def _line_figures(results, out):
    fig = matplotlib.figure.Figure()
    fig.subplots().plot(results.losses)
    out.save_figure(fig, "losses.png", "the loss falls")


def _line_text(results):
    return Text(
        method="A line fitted by gradient descent.",
        findings=f"The slope is {results.slope:g}.",
        expected=[f"rate {results.diverged_rate} > 2/L diverges"],
    )


THREE_PART = Study(
    "line", "A three-part study", "Is the slope -2?", compute=_line_compute, figures=_line_figures, text=_line_text
)


def test_a_study_in_three_parts_writes_its_results_text_and_figures(tmp_path):
    record = run_study(THREE_PART, tmp_path, quick=True, seed=1)
    folder = tmp_path / "line"
    summary = json.loads((folder / "summary.json").read_text())
    assert summary["slope"] == -2.0 and summary["losses"] == [3.0, 1.0, None]  # the NamedTuple's fields by name
    assert summary["expected"] == ["rate 3.5 > 2/L diverges"] and summary["status"] == "ok"
    section = (folder / "section.md").read_text()
    assert "The slope is -2." in section and "![the loss falls](losses.png)" in section
    assert "**Expected failures** (part of the lesson)." in section and "- rate 3.5 > 2/L diverges" in section
    assert "Failed or diverged" not in section
    assert record["slope"] == -2.0

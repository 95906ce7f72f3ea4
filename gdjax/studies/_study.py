"""What a study is, and how its outputs are written.

A study answers one question of the course in three parts, each a function of
the one before:

- ``compute(ctx) -> Results``: the numbers, everything ``summary.json``
  holds (a NamedTuple or dataclass of arrays, numbers and dicts; no drawing,
  no prose). A study's quick test checks this without drawing anything.
- ``figures(results, out)``: draws from the results and saves with
  ``out.save_figure`` / ``out.save_gif``.
- ``text(results) -> Text``: the method and findings (Markdown), every
  sentence computed from the results, so a test of ``text`` against the
  results checks every claim the report makes.

:func:`run_study` runs the three and writes ``OUT/STUDY/summary.json`` and
``OUT/STUDY/section.md`` (question, method, figures, findings), atomically.
"""

from __future__ import annotations

import io
import time
import traceback
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gdjax._io import atomic_write, atomic_write_json, atomic_write_text, to_json


@dataclass(frozen=True)
class Text:
    """A study's prose, computed from its results (Markdown).

    Attributes:
      method: how the numbers were obtained.
      findings: what they say.
      expected: deliberate failures of the protocol, each said as expected
        (e.g. "rate 3.5 > 2/L diverges"; the report and the command
        add "expected"), never shown as a crash.
      failures: runs that failed or diverged unexpectedly, reported, never hidden.
    """

    method: str
    findings: str
    expected: Sequence[str] = ()
    failures: Sequence[str] = ()


@dataclass(frozen=True)
class Study:
    """A named study: its question and the three parts that answer it (see the module docs).

    ``run`` is the older single function ``run(ctx) -> Findings`` that
    computes, draws and writes at once; a study gives either ``run`` or
    ``compute``, ``figures`` and ``text``.
    """

    name: str
    title: str
    question: str
    compute: Callable[[StudyContext], Any] | None = None
    figures: Callable[[Any, FigureWriter], None] | None = None
    text: Callable[[Any], Text] | None = None
    run: Callable[[StudyContext], Findings] | None = None


@dataclass(frozen=True)
class Figure:
    filename: str
    caption: str


@dataclass
class Findings:
    """What a study returns: its numbers, how it got them and what they say (Markdown)."""

    summary: dict[str, Any]
    method: str
    findings: str
    figures: Sequence[Figure] = ()
    failures: Sequence[str] = ()  # diverged or failed runs, reported, never hidden
    expected: Sequence[str] = ()  # deliberate failures of the protocol, said as expected


@dataclass
class FigureWriter:
    """Saves a study's figures into its folder (atomically) and keeps their captions in order."""

    out_dir: Path
    figures: list[Figure] = field(default_factory=list)

    def save_figure(self, fig, filename: str, caption: str) -> Figure:
        """Saves a matplotlib figure as a PNG (atomically) and closes it."""
        import matplotlib.pyplot as plt

        buffer = io.BytesIO()
        fig.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
        plt.close(fig)
        atomic_write(self.out_dir / filename, lambda file: file.write(buffer.getvalue()))
        figure = Figure(filename, caption)
        self.figures.append(figure)
        return figure

    def save_gif(self, frames: Iterable, filename: str, caption: str, fps: int = 8) -> Figure:
        """Saves matplotlib figures as an animated GIF (Pillow, shipped with matplotlib).

        ``frames`` may be a generator: each figure is rendered and closed before
        the next is drawn, so long animations keep few figures open.
        """
        import matplotlib.pyplot as plt
        from PIL import Image

        images = []
        for fig in frames:
            buffer = io.BytesIO()
            fig.savefig(buffer, format="png", dpi=80)
            plt.close(fig)
            buffer.seek(0)
            images.append(Image.open(buffer).convert("P", palette=Image.Palette.ADAPTIVE))

        def write(file):
            images[0].save(
                file, format="GIF", save_all=True, append_images=images[1:], duration=int(1000 / fps), loop=0
            )

        atomic_write(self.out_dir / filename, write)
        figure = Figure(filename, caption)
        self.figures.append(figure)
        return figure


@dataclass
class StudyContext(FigureWriter):
    """Where a study writes, how big it runs, and its seed (and, for ``run`` studies, its figures)."""

    quick: bool = False
    seed: int = 0
    progress: bool = False

    def key(self, stream: int = 0):
        """A PRNG key for this study's seed; ``stream`` separates independent uses."""
        import jax

        return jax.random.fold_in(jax.random.key(self.seed), stream)

    def size(self, quick: int, full: int) -> int:
        return quick if self.quick else full


def findings_of(study: Study, results: Any, figures: Sequence[Figure]) -> Findings:
    """The :class:`Findings` of a three-part study: its summary, text and figures."""
    text = study.text(results)
    summary = to_json(results)
    if not isinstance(summary, dict):
        raise ValueError(f"study {study.name!r}: compute must return a NamedTuple, dataclass or dict; got {results!r}.")
    summary["expected"] = list(text.expected)
    return Findings(summary, text.method, text.findings, figures, text.failures, text.expected)


def section_markdown(study: Study, findings: Findings, *, quick: bool, seed: int, seconds: float) -> str:
    """The study's report section; image links are relative to the study's folder."""
    lines = [
        f"## {study.title}",
        "",
        f"**Question.** {study.question}",
        "",
        f"**Method.** {findings.method.strip()}",
        "",
    ]
    for figure in findings.figures:
        lines += [f"![{figure.caption}]({figure.filename})", "", f"*{figure.caption}*", ""]
    lines += [f"**Findings.** {findings.findings.strip()}", ""]
    if findings.expected:
        lines += (
            ["**Expected failures** (part of the lesson).", ""] + [f"- {item}" for item in findings.expected] + [""]
        )
    if findings.failures:
        lines += ["**Failed or diverged runs.**", ""] + [f"- {failure}" for failure in findings.failures] + [""]
    mode = "quick" if quick else "full"
    lines += [f"<sub>{mode} run, seed {seed}, {seconds:.1f} s; numbers in `{study.name}/summary.json`.</sub>", ""]
    return "\n".join(lines)


def run_study(study: Study, out: Path, *, quick: bool, seed: int, progress: bool = False) -> dict[str, Any]:
    """Runs one study into ``out/study.name`` and returns what went into its summary.json.

    A study that raises is recorded as failed (``status: "failed"`` with the
    error) instead of aborting the other studies; the caller reports it.
    """
    ctx = StudyContext(out_dir=Path(out) / study.name, quick=quick, seed=seed, progress=progress)
    ctx.out_dir.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    record: dict[str, Any] = {"study": study.name, "quick": quick, "seed": seed}
    try:
        if study.run is not None:
            findings = study.run(ctx)
        else:
            results = study.compute(ctx)
            writer = FigureWriter(ctx.out_dir)
            study.figures(results, writer)
            findings = findings_of(study, results, writer.figures)
    except Exception as error:  # reported in the summary, the section and the exit code
        seconds = time.perf_counter() - start
        record |= {"status": "failed", "error": f"{type(error).__name__}: {error}", "seconds": seconds}
        atomic_write_json(ctx.out_dir / "summary.json", record)
        atomic_write_text(
            ctx.out_dir / "section.md",
            f"## {study.title}\n\n**This study failed:** `{type(error).__name__}: {error}`\n\n"
            f"```\n{traceback.format_exc()}```\n",
        )
        return record
    seconds = time.perf_counter() - start
    record |= {
        "status": "ok" if not findings.failures else "ok-with-failures",
        "seconds": seconds,
        "failures": list(findings.failures),
        **findings.summary,
    }
    atomic_write_json(ctx.out_dir / "summary.json", record)
    atomic_write_text(
        ctx.out_dir / "section.md", section_markdown(study, findings, quick=quick, seed=seed, seconds=seconds)
    )
    return record

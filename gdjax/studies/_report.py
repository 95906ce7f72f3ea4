"""Assembling the study sections into ``OUT/REPORT.md``."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

from gdjax._io import atomic_write_text

_IMAGE = re.compile(r"!\[([^\]]*)\]\(([^)\s]+)\)")


def _relink(markdown: str, folder: str) -> str:
    """Makes the section's relative image links relative to the report's folder."""

    def fix(match: re.Match) -> str:
        target = match.group(2)
        if "://" in target or target.startswith("/"):
            return match.group(0)
        return f"![{match.group(1)}]({folder}/{target})"

    return _IMAGE.sub(fix, markdown)


def write_report(out: Path, order: Sequence[str]) -> tuple[Path, list[str]]:
    """Writes ``out/REPORT.md`` from every ``out/STUDY/section.md`` found.

    Studies appear in ``order`` (the registry's), then any others
    alphabetically. Returns the report's path and the studies it includes.
    """
    out = Path(out)
    found = {p.parent.name for p in out.glob("*/section.md")}
    names = [n for n in order if n in found] + sorted(found - set(order))
    if not names:
        raise FileNotFoundError(f"no study sections under {out}; run `gdjax run STUDY --out {out}` first.")
    parts = ["# gdjax studies", "", "Each section answers one question of the gradient-descent course.", ""]
    parts += [f"- [{name}](#{name})" for name in names] + [""]
    for name in names:
        section = (out / name / "section.md").read_text(encoding="utf-8")
        parts += [f'<a id="{name}"></a>', "", _relink(section, name).rstrip(), ""]
    return atomic_write_text(out / "REPORT.md", "\n".join(parts) + "\n"), names

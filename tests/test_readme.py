"""The README's first look is experiments/first_look.py, and prints what the README shows."""

import contextlib
import io
import re
import runpy
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "experiments" / "first_look.py"
NUMBER = re.compile(r"-?\d+(?:\.\d+)?(?:e-?\d+)?")


def _section(title):
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    return text.split(f"## {title}\n", 1)[1].split("\n## ", 1)[0]


def _block(section, language):
    return section.split(f"```{language}\n", 1)[1].split("```", 1)[0]


def _script_body():
    source = SCRIPT.read_text(encoding="utf-8")
    docstring_end = source.index('"""', 3) + 3
    return source[docstring_end:].lstrip("\n")


def test_the_readme_shows_the_script_as_it_is():
    assert _block(_section("A first look"), "python") == _script_body()


def _numbers(text):
    return [float(x) for x in NUMBER.findall(text)]


def test_the_script_prints_what_the_readme_shows():
    shown = _block(_section("A first look"), "text")
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        runpy.run_path(str(SCRIPT), run_name="__main__")
    printed = printed.getvalue()
    # the words exactly; the numbers to their printed precision, give or take the last digit
    # (another CPU may round a float32 product's last bit differently)
    assert NUMBER.sub("#", printed) == NUMBER.sub("#", shown)
    for got, want in zip(_numbers(printed), _numbers(shown), strict=True):
        assert got == pytest.approx(want, rel=0.05, abs=2e-3)

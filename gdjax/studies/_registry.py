"""The registry of studies: name -> module, imported only when run.

Each study module defines ``STUDY`` (a :class:`gdjax.studies.Study`); the
script ``experiments/NAME.py`` runs the same module.
"""

from __future__ import annotations

import importlib

from gdjax.studies._study import Study

# name -> (module, one-line question), in report order.
STUDIES: dict[str, tuple[str, str]] = {}

HEADLINE: tuple[str, ...] = tuple(name for name in ("restarts", "momentum", "race") if name in STUDIES)


def study_names() -> list[str]:
    return list(STUDIES)


def get_study(name: str) -> Study:
    if name not in STUDIES:
        raise ValueError(f"unknown study {name!r}; choose from: {', '.join(STUDIES) or '(none yet)'}.")
    return importlib.import_module(STUDIES[name][0]).STUDY

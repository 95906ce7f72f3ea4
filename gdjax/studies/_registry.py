"""The registry of studies: the modules, in report order, imported only when needed.

Each module ``gdjax.studies.NAME`` defines ``STUDY`` (a :class:`gdjax.studies.Study`),
which owns its name, title and question; the script ``experiments/NAME.py`` runs
the same module.
"""

from __future__ import annotations

import difflib
import importlib

from gdjax.studies._study import Study

#: The study modules, in report order.
MODULES: tuple[str, ...] = (
    "gdjax.studies.restarts",
    "gdjax.studies.momentum",
    "gdjax.studies.race",
    "gdjax.studies.learning_rate",
    "gdjax.studies.batch_size",
    "gdjax.studies.heart",
    "gdjax.studies.overfitting",
    "gdjax.studies.perceptron",
    "gdjax.studies.landscape",
)

#: The studies ``gdjax run headline`` runs.
HEADLINE: tuple[str, ...] = ("restarts", "momentum", "race")


def study_names() -> list[str]:
    """Every study's name (its module's), in report order."""
    return [module.rsplit(".", 1)[1] for module in MODULES]


def unknown_study(name: str, choices: list[str]) -> ValueError:
    """The error for a name that is no study, with the closest one suggested."""
    close = difflib.get_close_matches(name, choices, n=1)
    hint = f" did you mean {close[0]!r}?" if close else ""
    return ValueError(f"unknown study {name!r};{hint} choose from: {', '.join(choices)}.")


def get_study(name: str) -> Study:
    """The :class:`Study` of that name (its module is imported now)."""
    names = study_names()
    if name not in names:
        raise unknown_study(name, names)
    study = importlib.import_module(MODULES[names.index(name)]).STUDY
    if study.name != name:
        raise ValueError(f"module {MODULES[names.index(name)]} defines study {study.name!r}, not {name!r}.")
    return study

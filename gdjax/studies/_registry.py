"""The registry of studies: name -> module, imported only when run.

Each study module defines ``STUDY`` (a :class:`gdjax.studies.Study`); the
script ``experiments/NAME.py`` runs the same module.
"""

from __future__ import annotations

import importlib

from gdjax.studies._study import Study

# name -> (module, one-line question), in report order.
STUDIES: dict[str, tuple[str, str]] = {
    "restarts": (
        "gdjax.studies.restarts",
        "How often does one random start find the global minimum, and how many starts do we need?",
    ),
    "momentum": (
        "gdjax.studies.momentum",
        "How much faster is momentum on ill-conditioned problems, and does it escape local minima?",
    ),
    "race": (
        "gdjax.studies.race",
        "SGD, momentum, Nesterov, AdaGrad, RMSProp and Adam from the same start: who gets there first?",
    ),
    "learning_rate": (
        "gdjax.studies.learning_rate",
        "What happens when the learning rate is too small, right, too big or divergent, and do schedules help?",
    ),
    "batch_size": (
        "gdjax.studies.batch_size",
        "Batch, stochastic or mini-batch: how does the batch size trade noise for speed?",
    ),
    "heart": (
        "gdjax.studies.heart",
        "How well does the course's 29-16-1 network predict heart disease, against logistic regression?",
    ),
    "overfitting": (
        "gdjax.studies.overfitting",
        "When does a network too large for its data overfit, and what do early stopping, L1, L2 and dropout do?",
    ),
    "perceptron": (
        "gdjax.studies.perceptron",
        "How does the perceptron trick move the boundary, and where does a line stop being enough?",
    ),
    "landscape": (
        "gdjax.studies.landscape",
        "What does the loss surface around a trained heart-disease network look like?",
    ),
}

HEADLINE: tuple[str, ...] = tuple(name for name in ("restarts", "momentum", "race") if name in STUDIES)


def study_names() -> list[str]:
    return list(STUDIES)


def get_study(name: str) -> Study:
    if name not in STUDIES:
        raise ValueError(f"unknown study {name!r}; choose from: {', '.join(STUDIES) or '(none yet)'}.")
    return importlib.import_module(STUDIES[name][0]).STUDY

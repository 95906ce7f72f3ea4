"""The course's studies, run by the ``gdjax`` command (``gdjax list``)."""

from gdjax.studies._registry import HEADLINE, MODULES, get_study, study_names
from gdjax.studies._report import write_report
from gdjax.studies._study import Figure, FigureWriter, Findings, Study, StudyContext, Text, run_study

__all__ = [
    "HEADLINE",
    "MODULES",
    "Figure",
    "FigureWriter",
    "Findings",
    "Study",
    "StudyContext",
    "Text",
    "get_study",
    "run_study",
    "study_names",
    "write_report",
]

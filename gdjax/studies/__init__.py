"""The course's studies, run by the ``gdjax`` command (``gdjax list``)."""

from gdjax.studies._registry import HEADLINE, STUDIES, get_study, study_names
from gdjax.studies._report import write_report
from gdjax.studies._study import Figure, Findings, Study, StudyContext, run_study

__all__ = [
    "HEADLINE",
    "STUDIES",
    "Figure",
    "Findings",
    "Study",
    "StudyContext",
    "get_study",
    "run_study",
    "study_names",
    "write_report",
]

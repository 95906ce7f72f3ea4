"""Runs the overfitting study (same code as `gdjax run overfitting`)."""

import sys

from gdjax.cli import study_script

if __name__ == "__main__":
    sys.exit(study_script("overfitting"))

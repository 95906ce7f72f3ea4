"""Runs the learning_rate study (same code as `gdjax run learning_rate`)."""

import sys

from gdjax.cli import study_script

if __name__ == "__main__":
    sys.exit(study_script("learning_rate"))

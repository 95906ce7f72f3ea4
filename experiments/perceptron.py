"""Runs the perceptron study (same code as `gdjax run perceptron`)."""

import sys

from gdjax.cli import study_script

if __name__ == "__main__":
    sys.exit(study_script("perceptron"))

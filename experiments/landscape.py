"""Runs the landscape study (same code as `gdjax run landscape`)."""

import sys

from gdjax.cli import study_script

if __name__ == "__main__":
    sys.exit(study_script("landscape"))

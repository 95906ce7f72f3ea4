"""Runs the batch_size study (same code as `gdjax run batch_size`)."""

import sys

from gdjax.cli import study_script

if __name__ == "__main__":
    sys.exit(study_script("batch_size"))

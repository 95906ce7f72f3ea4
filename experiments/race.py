"""The race study: `python experiments/race.py [--quick] [--out DIR] [--seed N]`, the same as `gdjax run race`."""

if __name__ == "__main__":
    import sys

    from gdjax.cli import study_script

    sys.exit(study_script("race"))

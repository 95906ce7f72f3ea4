"""The momentum study: `python experiments/momentum.py [--quick] [--out DIR] [--seed N]` runs `gdjax run momentum`."""

if __name__ == "__main__":
    import sys

    from gdjax.cli import study_script

    sys.exit(study_script("momentum"))

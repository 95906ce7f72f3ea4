"""The restarts study: `python experiments/restarts.py [--quick] [--out DIR] [--seed N]` runs `gdjax run restarts`."""

if __name__ == "__main__":
    import sys

    from gdjax.cli import study_script

    sys.exit(study_script("restarts"))

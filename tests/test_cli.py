import pytest

from gdjax.cli import main


def test_demo_prints_iterates_converging_to_the_minimum(capsys):
    assert main(["demo", "--steps", "40", "--every", "10"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[1].split() == ["step", "w", "g(w)", "g_prime(w)"]
    first, last = lines[2].split(), lines[-1].split()
    assert float(first[1]) == pytest.approx(2.5)
    assert last[0] == "40" and float(last[1]) == pytest.approx(-1.234773, abs=1e-4)


def test_unknown_command_lists_the_choices(capsys):
    with pytest.raises(SystemExit):
        main(["bogus"])
    assert "demo" in capsys.readouterr().err

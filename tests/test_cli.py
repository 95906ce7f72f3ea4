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


def _no_studies(monkeypatch):
    import gdjax.cli

    ran = []
    monkeypatch.setattr(gdjax.cli, "run_study", lambda *args, **kwargs: ran.append(args) or {"status": "ok"})
    return ran


def test_an_unwritable_out_folder_is_one_line_and_exit_2_before_any_study(capsys, monkeypatch, tmp_path):
    ran = _no_studies(monkeypatch)
    assert main(["run", "momentum", "--quick", "--out", "/proc/x"]) == 2
    captured = capsys.readouterr()
    assert captured.err == "cannot write to /proc/x: no such file or directory\n"
    assert captured.out == "" and ran == []
    blocker = tmp_path / "a_file"
    blocker.write_text("")
    assert main(["run", "all", "--out", str(blocker / "out")]) == 2
    assert capsys.readouterr().err == f"cannot write to {blocker / 'out'}: not a directory\n"
    assert main(["run", "headline", "--out", str(blocker)]) == 2
    assert capsys.readouterr().err == f"cannot write to {blocker}: not a directory\n"
    assert ran == []


def test_a_writable_out_folder_runs_the_studies(capsys, monkeypatch, tmp_path):
    ran = _no_studies(monkeypatch)
    assert main(["run", "momentum", "--quick", "--out", str(tmp_path / "new" / "out")]) == 0
    assert len(ran) == 1 and (tmp_path / "new" / "out").is_dir()
    assert list((tmp_path / "new" / "out").iterdir()) == []  # the check leaves nothing behind


@pytest.mark.parametrize(
    "argv,message",
    [
        (["--every", "0"], "argument --every: must be a positive integer; got '0'"),
        (["--every", "-3"], "argument --every: must be a positive integer; got '-3'"),
        (["--every", "two"], "argument --every: must be a positive integer; got 'two'"),
        (["--steps", "-1"], "argument --steps: must be a non-negative integer; got '-1'"),
        (["--learning-rate", "nan"], "argument --learning-rate: must be a finite positive number; got 'nan'"),
        (["--learning-rate", "-1"], "argument --learning-rate: must be a finite positive number; got '-1'"),
        (["--learning-rate", "0"], "argument --learning-rate: must be a finite positive number; got '0'"),
        (["--learning-rate", "inf"], "argument --learning-rate: must be a finite positive number; got 'inf'"),
        (["--start", "nan"], "argument --start: must be a finite number; got 'nan'"),
    ],
)
def test_demo_refuses_bad_numbers(capsys, argv, message):
    with pytest.raises(SystemExit) as exit_info:
        main(["demo", *argv])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("usage: gdjax demo") and err.strip().endswith(message)


def test_a_misspelt_study_gets_a_suggestion(capsys, monkeypatch):
    ran = _no_studies(monkeypatch)
    with pytest.raises(SystemExit) as exit_info:
        main(["run", "restrats"])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("usage: gdjax run")
    assert "unknown study 'restrats'; did you mean 'restarts'?" in err
    with pytest.raises(SystemExit):
        main(["run", "momentum", "zzzzzz"])
    err = capsys.readouterr().err
    assert "unknown study 'zzzzzz'; choose from: all, headline, restarts" in err and "did you mean" not in err
    assert ran == []


@pytest.mark.parametrize("seed", [str(2**70), "-1", "zero"])
def test_a_seed_out_of_range_is_one_line_and_exit_2(capsys, monkeypatch, seed):
    ran = _no_studies(monkeypatch)
    with pytest.raises(SystemExit) as exit_info:
        main(["run", "restarts", "--seed", seed])
    assert exit_info.value.code == 2 and ran == []
    err = capsys.readouterr().err
    assert err.startswith("usage: gdjax run")
    assert err.strip().endswith(f"must be an integer in [0, 2**32); got {seed!r}")

"""Tidy export of restarts and sweeps: records, CSV, DataFrame; one small real sweep to check the shapes."""

import csv
import json
import sys

import numpy as np
import pytest
from _fake import fake_result

import gdjax
from gdjax import optim
from gdjax.restarts import SuccessTable, paired_difference

NAN = float("nan")


@pytest.fixture
def sweep_result():
    # lr in {0.1, 0.3} x 2 restarts; restart 1 at lr = 0.1 diverged at step 7.
    return fake_result(
        [[1.0, NAN], [0.5, 0.25]],
        grid={"lr": [0.1, 0.3]},
        val_loss=[[1.5, NAN], [0.75, 0.5]],
        metrics={"accuracy": [[0.5, 0.25], [0.75, 1.0]]},
        val_metrics={"accuracy": [[0.5, 0.0], [1.0, 0.5]]},
        diverged=[[False, True], [False, False]],
        diverged_step=[[-1, 7], [-1, -1]],
        epochs=[[3, 1], [3, 2]],
        stopped_early=[[False, False], [False, True]],
    )


EXPECTED = [
    {
        "lr": 0.1,
        "restart": 0,
        "final_loss": 1.0,
        "final_val_loss": 1.5,
        "accuracy": 0.5,
        "val_accuracy": 0.5,
        "epochs": 3,
        "stopped_early": False,
        "diverged": False,
        "diverged_step": None,
    },
    {
        "lr": 0.1,
        "restart": 1,
        "final_loss": None,
        "final_val_loss": None,
        "accuracy": 0.25,
        "val_accuracy": 0.0,
        "epochs": 1,
        "stopped_early": False,
        "diverged": True,
        "diverged_step": 7,
    },
    {
        "lr": 0.3,
        "restart": 0,
        "final_loss": 0.5,
        "final_val_loss": 0.75,
        "accuracy": 0.75,
        "val_accuracy": 1.0,
        "epochs": 3,
        "stopped_early": False,
        "diverged": False,
        "diverged_step": None,
    },
    {
        "lr": 0.3,
        "restart": 1,
        "final_loss": 0.25,
        "final_val_loss": 0.5,
        "accuracy": 1.0,
        "val_accuracy": 0.5,
        "epochs": 2,
        "stopped_early": True,
        "diverged": False,
        "diverged_step": None,
    },
]


def test_to_records_one_plain_dict_per_run(sweep_result):
    records = sweep_result.to_records()
    assert records == EXPECTED
    assert [list(r) for r in records] == [list(EXPECTED[0])] * 4  # column order
    for r in records:
        assert type(r["lr"]) is float and type(r["restart"]) is int and type(r["epochs"]) is int
        assert type(r["diverged"]) is bool and type(r["stopped_early"]) is bool
    assert json.loads(json.dumps(records, allow_nan=False)) == EXPECTED  # strict JSON: NaN became None


def test_records_of_plain_restarts_without_validation():
    result = fake_result([0.5, np.inf], diverged=[False, False])
    assert result.to_records() == [
        {
            "restart": 0,
            "final_loss": 0.5,
            "epochs": 3,
            "stopped_early": False,
            "diverged": False,
            "diverged_step": None,
        },
        {
            "restart": 1,
            "final_loss": None,
            "epochs": 3,
            "stopped_early": False,
            "diverged": False,
            "diverged_step": None,
        },
    ]


def test_clashing_column_names_are_refused():
    with pytest.raises(ValueError, match="must not clash with the column 'epochs'"):
        fake_result([0.5], metrics={"epochs": [1.0]}).to_records()
    with pytest.raises(ValueError, match="must not clash with the column 'restart'"):
        fake_result([[0.5]], grid={"restart": [1]}).to_records()
    with pytest.raises(ValueError, match="must not clash with the column 'val_x'"):
        fake_result([0.5], metrics={"val_x": [1.0]}, val_metrics={"x": [1.0]}).to_records()


def test_to_csv_atomic_with_a_header(sweep_result, tmp_path):
    path = sweep_result.to_csv(tmp_path / "out" / "runs.csv")
    assert path == tmp_path / "out" / "runs.csv"
    assert [p.name for p in path.parent.iterdir()] == ["runs.csv"]  # no temporary file left behind
    rows = list(csv.reader(path.open()))
    assert rows[0] == list(EXPECTED[0])
    assert rows[1] == ["0.1", "0", "1.0", "1.5", "0.5", "0.5", "3", "False", "False", ""]
    assert rows[2] == ["0.1", "1", "", "", "0.25", "0.0", "1", "False", "True", "7"]
    assert len(rows) == 5
    sweep_result.to_csv(path)  # overwrites in place
    assert list(csv.reader(path.open())) == rows


def test_to_dataframe_without_pandas_says_how_to_install(sweep_result, monkeypatch):
    monkeypatch.setitem(sys.modules, "pandas", None)  # import pandas now raises ImportError
    with pytest.raises(ImportError, match=r"pip install gdjax\[pandas\]"):
        sweep_result.to_dataframe()


def test_to_dataframe(sweep_result):
    pd = pytest.importorskip("pandas")
    frame = sweep_result.to_dataframe()
    assert isinstance(frame, pd.DataFrame) and list(frame.columns) == list(EXPECTED[0]) and len(frame) == 4
    assert np.isnan(frame["final_loss"][1]) and frame["final_loss"][3] == 0.25
    assert frame["diverged_step"].isna().tolist() == [True, False, True, True] and frame["diverged_step"][1] == 7
    assert frame["lr"].tolist() == [0.1, 0.1, 0.3, 0.3]


# ---------------------------------------------------------------- one real sweep

LINEAR = gdjax.models.linear_regression(2)
X = np.random.default_rng(0).normal(size=(16, 2)).astype(np.float32)
Y = X @ np.array([1.0, -1.0], np.float32)


def mse(params, batch):
    return gdjax.losses.mse(LINEAR.apply(params, batch[0]), batch[1])


def test_a_real_sweep_lines_up():
    result = gdjax.sweep(
        mse,
        LINEAR.init,
        (X, Y),
        optimizer=lambda h: optim.sgd(h["lr"]),
        grid={"lr": [0.01, 0.1]},
        epochs=3,
        key=0,
        num_restarts=3,
    )
    assert result.batch_shape == (2, 3)
    table = result.success(float(np.median(result.final_loss)))
    assert isinstance(table, SuccessTable) and table.shape == (2,)
    assert table.trials.tolist() == [3, 3]
    assert table.successes.tolist() == np.sum(result.final_loss <= np.median(result.final_loss), axis=1).tolist()
    assert result.loss_summary().count.tolist() == [3, 3]
    records = result.to_records()
    assert [r["restart"] for r in records] == [0, 1, 2, 0, 1, 2]
    assert [r["lr"] for r in records] == pytest.approx([0.01] * 3 + [0.1] * 3)
    assert [r["final_loss"] for r in records] == pytest.approx(result.final_loss.ravel().tolist())
    assert all(r["epochs"] == 3 and r["diverged_step"] is None for r in records)
    d = paired_difference(result, {"lr": 0.01}, {"lr": 0.1})
    np.testing.assert_allclose(d.differences, result.final_loss[0] - result.final_loss[1], rtol=1e-6)
    assert d.pairs == 3 and d.mean > 0  # a ten times larger step gets further in 3 epochs, from every start

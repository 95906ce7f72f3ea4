"""experiments/colab.ipynb runs end to end on CPU (a real IPython kernel), and is committed clean.

The kernel is this interpreter's (a kernel spec written for ``sys.executable``
into a temporary folder, so no installed Jupyter kernel is needed or used),
with two host CPU devices so the notebook's runs are sharded as on a TPU
slice. The parameter cell gets the ``tiny`` sizes appended, papermill-style.
The kernel starts in a temporary folder: the notebook finds this checkout
behind gdjax's editable install and imports ``experiments/notebook_helpers.py``
from it, as it would from a clone on Colab.
"""

import importlib.util
import json
import re
import sys
from pathlib import Path

import numpy as np
import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

from jupyter_client.kernelspec import KernelSpecManager  # noqa: E402  (installed with nbclient)
from jupyter_client.manager import KernelManager  # noqa: E402

EXPERIMENTS = Path(__file__).resolve().parents[1] / "experiments"
NOTEBOOK = EXPERIMENTS / "colab.ipynb"


def _helpers():
    """``experiments/notebook_helpers.py``, imported from its file (the folder is no package)."""
    spec = importlib.util.spec_from_file_location("notebook_helpers", EXPERIMENTS / "notebook_helpers.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


nb = _helpers()
TEST_PARAMETERS = '\nSCALE = "tiny"\nOVERRIDES = {"heart_epochs": 20}\nRUN_STUDIES = False\n'


def _kernel_manager(folder: Path) -> KernelManager:
    """A kernel manager whose only kernel spec runs ``sys.executable -m ipykernel_launcher``."""
    from ipykernel.kernelspec import write_kernel_spec

    write_kernel_spec(folder / "gdjax-test", overrides={"display_name": "gdjax test"})
    specs = KernelSpecManager(kernel_dirs=[str(folder)], ensure_native_kernel=False)
    return KernelManager(kernel_name="gdjax-test", kernel_spec_manager=specs)


def _text(cell) -> str:
    parts = []
    for output in cell.get("outputs", []):
        if output["output_type"] == "stream":
            parts.append(output["text"])
        elif "data" in output and "text/plain" in output["data"]:
            parts.append(output["data"]["text/plain"])
    return "".join(parts)


@pytest.fixture(scope="module")
def executed(tmp_path_factory):
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    tagged = [cell for cell in notebook.cells if "parameters" in cell.metadata.get("tags", [])]
    assert len(tagged) == 1
    tagged[0].source += TEST_PARAMETERS
    folder = tmp_path_factory.mktemp("kernel")
    with pytest.MonkeyPatch.context() as patch:  # the kernel process inherits this environment
        patch.setenv("JAX_PLATFORMS", "cpu")
        patch.setenv("XLA_FLAGS", "--xla_force_host_platform_device_count=2")
        patch.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")
        client = nbclient.NotebookClient(
            notebook,
            km=_kernel_manager(folder),
            timeout=240,
            allow_errors=False,
            resources={"metadata": {"path": str(folder)}},
        )
        client.execute()
    return notebook


def _cell(notebook, starts_with: str):
    matches = [cell for cell in notebook.cells if cell.cell_type == "code" and cell.source.startswith(starts_with)]
    assert len(matches) == 1, starts_with
    return matches[0]


def test_committed_notebook_has_outputs_stripped():
    raw = json.loads(NOTEBOOK.read_text())
    notebook = nbformat.reads(NOTEBOOK.read_text(), as_version=4)
    nbformat.validate(notebook)
    code = [cell for cell in raw["cells"] if cell["cell_type"] == "code"]
    assert len(code) >= 10
    for cell in code:
        assert cell["outputs"] == [] and cell["execution_count"] is None, cell["source"][:1]
    # one parameter cell, first among the code cells, holding every knob
    assert "parameters" in code[0]["metadata"].get("tags", [])
    params = "".join(code[0]["source"])
    for name in ("REPO_URL", "SCALE", "SEED", "RUN_STUDIES"):
        assert re.search(rf"^{name} = ", params, re.M), name


def test_notebook_runs_without_errors_and_shows_figures(executed):
    images = 0
    for cell in executed.cells:
        if cell.cell_type != "code":
            continue
        assert cell.execution_count is not None
        for output in cell.outputs:
            assert output["output_type"] != "error"
            assert not (
                output["output_type"] == "stream" and output["name"] == "stderr" and "Traceback" in output["text"]
            )
            images += "image/png" in output.get("data", {})
    assert images == 4  # restarts, momentum sweep, escape, heart


def test_notebook_reports_the_devices_it_sharded_over(executed):
    text = _text(_cell(executed, "# Setup:"))
    assert re.search(rf"^checkout: {re.escape(str(EXPERIMENTS.parent))}$", text, re.M)  # found, not cloned
    assert re.search(r"^backend: cpu$", text, re.M)
    assert re.search(r"^device_count: 2$", text, re.M)
    assert text.count("CpuDevice") == 2
    sizes = _text(_cell(executed, "SIZES = "))
    assert "starts=256" in sizes and "heart_epochs=20" in sizes  # the tiny scale with its override


def test_restart_success_rates(executed):
    text = _text(_cell(executed, "from gdjax import optim"))
    found = {
        m[0]: (float(m[1]), float(m[2]), float(m[3]), int(m[4]), int(m[5]))
        for m in re.findall(r"^\s*(\S[^:]*): p = ([\d.]+) \[([\d.]+), ([\d.]+)\]\s+\((\d+)/(\d+) starts", text, re.M)
    }
    assert set(found) == {"six-hump camel", "Styblinski-Tang", "Rastrigin"}
    for name, (p, low, high, successes, trials) in found.items():
        assert trials == 256 and low <= p <= high and abs(p - successes / trials) < 1e-4, name
    # basins' areas: about half the box for the camel's two global minima,
    # about a quarter for Styblinski-Tang's, about 1% for Rastrigin's.
    assert 0.4 < found["six-hump camel"][0] < 0.8
    assert 0.15 < found["Styblinski-Tang"][0] < 0.45
    assert found["Rastrigin"][0] < 0.05
    assert "0 diverged" in text


def test_momentum_sweep_beats_plain_gradient_descent(executed):
    text = _text(_cell(executed, "import numpy as np"))
    m = re.search(r"fastest plain GD: (\d+) steps; fastest with momentum: (\d+) steps .* speed-up ([\d.]+)x", text)
    assert m, text
    plain, momentum, ratio = int(m[1]), int(m[2]), float(m[3])
    assert momentum < plain and ratio > 2
    assert re.match(r"64 minimisations", text)


def test_heart_restarts_learn_and_touch_the_test_rows_once(executed):
    source = _cell(executed, "from gdjax import losses").source
    assert "validation_data=(heart.x_val, heart.y_val)" in source and source.count("x_test") == 1
    text = _text(_cell(executed, "from gdjax import losses"))
    m = re.search(
        r"(\d+) restarts, (\d+) diverged; test accuracy: min ([\d.]+), median ([\d.]+), max ([\d.]+) "
        r"\(majority class ([\d.]+)\)",
        text,
    )
    assert m, text
    assert int(m[1]) == 8 and int(m[2]) == 0
    low, median, high = float(m[3]), float(m[4]), float(m[5])
    assert 0.5 <= low <= median <= high <= 1.0
    assert float(m[6]) == pytest.approx(44 / 61, abs=5e-4)  # "no disease" for every test patient
    assert median > float(m[6])  # 20 epochs beat the majority class
    assert re.search(r"P\(test accuracy >= 0.85\) = [\d.]+ \[[\d.]+, [\d.]+\]", text)
    chosen = re.search(r"the restart chosen on validation \(#(\d)\): test accuracy ([\d.]+)", text)
    assert chosen and low <= float(chosen[2]) <= high


def test_studies_cell_honours_its_switch(executed):
    assert "headline studies skipped" in _text(_cell(executed, "from gdjax.studies import HEADLINE"))


# ------------------------------------------------------------ the helpers


def test_sizes_follow_the_backend_and_overrides():
    assert nb.notebook_sizes("auto", backend="tpu") == nb.SCALES["accelerator"]
    assert nb.notebook_sizes("auto", backend="gpu").starts == 65_536
    assert nb.notebook_sizes("auto", backend="cpu") == nb.SCALES["cpu"]
    assert nb.notebook_sizes("tiny", starts=10).starts == 10
    with pytest.raises(ValueError, match="scale"):
        nb.notebook_sizes("huge")
    with pytest.raises(ValueError, match="fields of Sizes"):
        nb.notebook_sizes("cpu", restarts=3)
    with pytest.raises(ValueError, match="starts"):
        nb.notebook_sizes("cpu", starts=0)


def test_device_tile_gives_each_device_whole_tiles():
    assert nb.device_tile(65_536, 8192, num_devices=1) == 8192
    assert nb.device_tile(65_536, 8192, num_devices=8) == 8192
    assert nb.device_tile(4096, 8192, num_devices=8) == 512  # 8 x 512: nothing padded
    assert nb.device_tile(5, 1024, num_devices=2) == 3
    assert nb.device_tile(1, 1024, num_devices=8) == 1


def test_sweep_steps_take_the_median_of_converged_runs():
    from gdjax.train import CONVERGED, MAX_STEPS

    class Sweep:  # two grid points x four runs
        status = np.array([[CONVERGED] * 3 + [MAX_STEPS], [CONVERGED] + [MAX_STEPS] * 3])
        num_steps = np.array([[10, 30, 20, 1000], [5, 1000, 1000, 1000]])

    steps = nb.sweep_steps(Sweep())
    # the first point: 3 of 4 converged, the unconverged run counts as the slowest -> median of 10, 20, 30, inf
    assert steps[0] == 25.0
    assert np.isnan(steps[1])  # most runs did not converge


def test_run_studies_skips_unknown_names_and_runs_studies(tmp_path, monkeypatch, capsys):
    import types

    from gdjax.studies import Findings, Study, _registry

    def run(ctx):
        return Findings(summary={"answer": 42}, method="counted", findings="it is 42")

    module = types.ModuleType("gdjax_fake_study")
    module.STUDY = Study("fake", "A fake study", "What is the answer?", run=run)
    monkeypatch.setitem(sys.modules, "gdjax_fake_studies.fake", module)
    monkeypatch.setattr(_registry, "MODULES", ("gdjax_fake_studies.fake",))
    records = nb.run_studies(["fake", "nonsense"], tmp_path, quick=True)
    out = capsys.readouterr().out
    assert "[nonsense] skipped: unknown study 'nonsense'" in out  # the registry's own message
    assert [r["answer"] for r in records] == [42] and records[0]["status"] == "ok"
    assert json.loads((tmp_path / "fake" / "summary.json").read_text())["answer"] == 42

"""examples/paper_figures.ipynb run headlessly in a real Jupyter kernel (nbclient, ipykernel), its outputs checked."""
from __future__ import annotations

import json
import sys

import nbformat
from nbclient import NotebookClient

from conftest import ROOT

NOTEBOOK = ROOT / "examples" / "paper_figures.ipynb"


def test_paper_figures_notebook_runs_and_shows_what_it_should(tmp_path, monkeypatch):
    # a kernel spec of this interpreter (the venv with linlens installed), found first on JUPYTER_PATH:
    # whatever "python3" kernels the machine has elsewhere
    spec = tmp_path / "kernels" / "linlens-test"
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "linlens tests", "language": "python"}))
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path))
    nb = nbformat.read(NOTEBOOK, as_version=4)
    # a failing cell fails the test with its traceback
    NotebookClient(nb, timeout=1200, kernel_name="linlens-test",
                   resources={"metadata": {"path": str(NOTEBOOK.parent)}}).execute()
    outputs = [o for cell in nb.cells if cell.cell_type == "code" for o in cell.get("outputs", [])]
    assert not [o for o in outputs if o.output_type == "error"]

    checks_cell = next(c for c in nb.cells if "checks" in c.metadata.get("tags", []))
    printed = "".join(o.text for o in checks_cell.outputs if o.output_type == "stream" and o.name == "stdout")
    checks = json.loads(printed.strip().splitlines()[-1])
    n, d = 8, 640  # the default prompt's tokens, Gemma 3 270M's width
    assert checks["jacobian_shape"] == [n, d, d]
    assert checks["x_shape"] == [n, d] and checks["y_shape"] == [d]
    assert checks["singular_values_shape"] == [n, d]
    assert checks["u_shape"] == [n, 3, d] and checks["v_shape"] == [n, 3, d]
    assert checks["layer_spectra_shape"] == [4, d]
    assert checks["precision"] == "fp32" and checks["bound"] == 1e-5
    assert checks["relative_error"] <= 1e-5 and checks["recomputed_error"] <= 1e-5
    assert all(e <= 1e-5 for e in checks["layer_errors"]) and checks["attribution_error"] <= 1e-5

    html = [o.data["text/html"] for o in outputs if o.output_type in ("display_data", "execute_result")
            and "text/html" in o.get("data", {})]
    assert any(h.startswith("<iframe srcdoc=") and "&lt;html" in h for h in html), "the report is not displayed"
    assert any("linlens-result" in h for h in html), "no result summary"
    assert checks["plots"], "matplotlib is a test dependency: the figures must be drawn"
    images = [o for o in outputs if "image/png" in o.get("data", {})]
    assert len(images) >= 4, f"{len(images)} figures drawn"

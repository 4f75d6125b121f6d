"""examples/notebooks/live.ipynb runs top to bottom (nbclient, a real kernel): it starts
`arrowdaq serve`, reads, plots, records ten seconds and opens the run."""
import os
from pathlib import Path

import nbformat
from nbclient import NotebookClient

import arrowdaq_testlib as lib

SOURCE = Path(os.environ.get("ARROWDAQ_SOURCE_DIR", Path(__file__).parents[2]))


def test_the_live_notebook_executes(tmp_path, monkeypatch):
    nb = nbformat.read(SOURCE / "examples" / "notebooks" / "live.ipynb", as_version=4)
    monkeypatch.setenv("ARROWDAQ_BIN", str(Path(lib.ARROWDAQ).resolve()) if os.path.sep in lib.ARROWDAQ else lib.ARROWDAQ)
    monkeypatch.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    assert not [o for o in outputs if o.output_type == "error"]
    text = "".join(o.get("text", "") for o in outputs if o.output_type == "stream")
    assert "photodiode ['ch0'] {'timestamp': '', 'ch0': 'V'} 2000.0 Hz" in text
    assert "stage ['ch0'] {'timestamp': '', 'ch0': 'mm'} 100.0 Hz" in text
    assert any("image/png" in o.get("data", {}) for o in outputs), "the plot was drawn"
    # The recording: ten seconds of both streams (generous bounds on a loaded machine).
    rows = eval(next(c for c in nb.cells if "rec.wait" in c.source).outputs[0]["data"]["text/plain"])
    assert 0.8 * 20000 <= rows["photodiode"] <= 1.5 * 20000 and 0.8 * 1000 <= rows["stage"] <= 1.5 * 1000
    assert f"{rows['photodiode']} rows" in text

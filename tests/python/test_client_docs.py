"""Every python block of docs/python.md runs, in order, against a live `arrowdaq serve` (the
documented URI replaced by the server's), in a directory holding the documented lab.toml."""
import os
import re
import subprocess
import sys
from pathlib import Path

import arrowdaq
import arrowdaq_testlib as lib

SOURCE = Path(os.environ.get("ARROWDAQ_SOURCE_DIR", Path(__file__).parents[2]))
CONFIG = """
[instruments.photodiode]
driver = "sim.sine"
options = { rate_hz = 2000.0, batch_size = 100 }
"""


def test_every_snippet_of_docs_python_md_runs(tmp_path):
    doc = (SOURCE / "docs" / "python.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", doc, re.S)
    assert len(blocks) >= 8
    cfg = lib.write_config(tmp_path, CONFIG, name="lab.toml")
    server = arrowdaq.start_server(cfg, binary=lib.ARROWDAQ, output=tmp_path / "runs")
    try:
        script = "\n".join(blocks).replace("grpc://127.0.0.1:8815", server.uri)
        script += "\nprint('END', table.num_rows, sub.dropped, len(run.streams))\n"
        env = {**os.environ, "MPLBACKEND": "Agg", "ARROWDAQ_BIN": str(Path(lib.ARROWDAQ).resolve())}
        r = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, capture_output=True,
                           text=True, timeout=300, env=env)
        assert r.returncode == 0, r.stderr
        out = r.stdout
        assert "['photodiode']" in out
        assert "photodiode ['ch0'] {'timestamp': '', 'ch0': 'V'} 2000.0" in out
        assert re.search(r"^(scan1-\S+) \S+/runs/\1 recording$", out, re.M), out
        assert "\nTrue\n" in out                      # the recorded rows equal the summary's
        assert re.search(r"^arrowdaq,SIM-SINE,0,\S+$", out, re.M)
        assert re.search(r"^photodiode .*Undefined header", out, re.M)
        assert re.search(r"^hdf5 \['hdf5', 'arrow'\] \['photodiode'\] scan1-\S+$", out, re.M), out
        m = re.search(r"^END (\d+) 0 1$", out, re.M)
        assert m and 1000 <= int(m.group(1)) <= 20000, out   # about 1 s at 2 kHz was recorded
    finally:
        assert server.stop() == 0, server.log

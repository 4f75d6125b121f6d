"""docs/file-format.md, executed: every ```python block in its "How to open a run" section runs
against fresh runs, and the assertions in the `<!-- test: ... -->` comment above it hold (row
counts per stream from summary.json, dtypes). The runs hold streams pd, pd.lp and pd.lp.dec in
every format, so a documented path that picked up another stream's rows would fail here; and a
camera stream in HDF5 and Arrow.

Every python block in the section must carry a test comment: a snippet the docs show is a
snippet this test runs.
"""
import os
import re
import subprocess
from pathlib import Path

import pytest

from arrowdaq_testlib import load_summary, only_run_dir, run, write_config

SOURCE = Path(os.environ.get("ARROWDAQ_SOURCE_DIR", Path(__file__).resolve().parents[2]))
DOC = SOURCE / "docs" / "file-format.md"

STREAMS = """
[run]
name = "doc"
log_level = "warn"

[instruments.pd]
driver = "sim.sine"
options = { rate_hz = 4000.0, batch_size = 200, channels = 3, unit = "V" }

[[processors]]
kind = "fir"
input = "pd"
output = "pd.lp"
options = { cutoff_hz = 100.0, taps = 31 }

[[processors]]
kind = "decimate"
input = "pd.lp"
output = "pd.lp.dec"
options = { factor = 4 }

[storage]
formats = ["hdf5", "arrow", "parquet", "csv"]
parquet_segment = "300ms"
"""

CAMERA = """
[run]
name = "cam"
log_level = "warn"

[instruments.camera]
driver = "sim.camera"
options = { width = 64, height = 48, fps = 40.0 }

[storage]
formats = ["hdf5", "arrow"]
"""


def snippets():
    """Return [(line, assertions, code)] for the python blocks of "How to open a run"."""
    text = DOC.read_text()
    start = text.index("## How to open a run")
    end = text.index("\n## ", start + 1)
    section = text[start:end]
    first_line = text[:start].count("\n") + 1
    out = []
    for m in re.finditer(r"```python\n(.*?)```", section, re.S):
        line = first_line + section[:m.start()].count("\n")
        before = section[:m.start()].rstrip()
        test = re.search(r"<!-- test: (.*?) -->$", before)
        assert test, f"docs/file-format.md:{line}: python block without a <!-- test: --> comment"
        checks = [c.strip() for c in test.group(1).split(";") if c.strip()]
        out.append((line, checks, m.group(1)))
    return out


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    base = tmp_path_factory.mktemp("doc")
    dirs = {}
    for key, config, duration in (("run", STREAMS, "1.5s"), ("camera-run", CAMERA, "1s")):
        cfg = write_config(base, config, name=f"{key}.toml")
        out = base / key
        r = run(["run", str(cfg), "--duration", duration, "--output", str(out)], timeout=120)
        assert r.returncode == 0, r.stderr
        dirs[key] = only_run_dir(out)
    rows = {}
    for d in dirs.values():
        for s in load_summary(d)["streams"]:
            rows[s["name"]] = s["rows"]
    # Distinct counts, or a path that returned the wrong stream could pass.
    assert rows["pd"] == rows["pd.lp"] and rows["pd.lp.dec"] < rows["pd"], rows
    assert rows["pd"] > 1000 and rows["camera"] > 10, rows
    return dirs, rows


def localize(code, dirs):
    """Point the doc's relative run paths (in quotes) at the test's run directories."""
    for key in ("camera-run", "run"):
        code = re.sub(r"""(?<=["'])""" + re.escape(key) + "/", str(dirs[key]) + "/", code)
    return code


CASES = snippets()


def test_the_section_has_snippets_for_every_tool():
    code = "\n".join(c for _, _, c in CASES)
    for tool in ("h5py", "silx", "xarray", "pandas", "polars", "duckdb", "pyarrow"):
        assert f"import {tool}" in code or f", {tool}" in code, tool


@pytest.mark.parametrize("line,checks,code", CASES, ids=[f"line{c[0]}" for c in CASES])
def test_snippet(runs, line, checks, code):
    dirs, rows = runs
    local = localize(code, dirs)
    assert "run/" not in re.sub(re.escape(str(dirs["run"])) + "|" + re.escape(str(dirs["camera-run"])),
                                "", local), "a path the test did not localize"
    ns = {}
    exec(compile(local, f"docs/file-format.md:{line}", "exec"), ns)
    ns["ROWS"] = rows
    for check in checks:
        assert eval(check, ns), f"docs/file-format.md:{line}: {check}"

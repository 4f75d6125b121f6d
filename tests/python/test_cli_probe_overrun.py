"""`arrowdaq probe` against a real simulator process, and overruns: a source that cannot pause,
behind a storage slower than it, loses samples, and the count in summary.json and in the event
log equals exactly the sample indices missing from the stored data."""
import json
import os
import subprocess
import sys

import numpy as np
import pyarrow as pa
import pyarrow.ipc as ipc
import pytest

from arrowdaq_testlib import load_summary, only_run_dir, run, write_config

SIM = os.path.join(os.environ["ARROWDAQ_SOURCE_DIR"], "tools", "sim", "scpi_server.py")


@pytest.fixture
def dmm():
    proc = subprocess.Popen([sys.executable, SIM, "--model", "34461a", "--port", "0"],
                            stdout=subprocess.PIPE, text=True)
    port = proc.stdout.readline().strip()
    yield f"TCPIP::127.0.0.1::{port}::SOCKET"
    proc.kill()
    proc.wait()


def test_probe_prints_the_identity(dmm):
    r = run(["probe", dmm])
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("Keysight Technologies,34461A")


def test_probe_nothing_answering_exits_1_naming_the_resource():
    r = run(["probe", "TCPIP::127.0.0.1::1::SOCKET", "--timeout", "500ms"])
    assert r.returncode == 1
    assert "TCPIP::127.0.0.1::1::SOCKET" in r.stderr


def test_probe_bad_resource_is_a_usage_error():
    r = run(["probe", "GPIB0::5::INSTR"])
    assert r.returncode == 2
    assert "GPIB0::5::INSTR" in r.stderr


OVERRUN = """
[instruments.adc]
driver = "sim.ramp"
options = { rate_hz = 2000000.0, batch_size = 4000, fifo_batches = 2 }

[storage]
formats = ["csv", "arrows"]
capacity = 1
"""


def test_overruns_are_counted_exactly(tmp_path):
    cfg = write_config(tmp_path, OVERRUN)
    out = tmp_path / "out"
    r = run(["run", str(cfg), "--duration", "3s", "--output", str(out)], timeout=120)
    assert r.returncode == 0, r.stderr
    run_dir = only_run_dir(out)
    summary = load_summary(run_dir)
    (adc,) = summary["streams"]
    with open(run_dir / "adc.arrows", "rb") as fh:
        table = ipc.open_stream(fh).read_all()
    values = table["ch0"].to_numpy()  # ramp: value == sample index
    assert len(values) == adc["rows"]
    assert np.all(np.diff(values) > 0), "samples out of order or duplicated"
    missing = int(values[-1]) + 1 - len(values)
    # CSV cannot keep up with 2 MS/s on this machine: the free-running source must overrun.
    assert adc["overruns"] > 0, "expected overruns; storage kept up"
    assert missing == adc["overruns"]
    overrun_events = [e for e in summary["events"] if e["kind"] == "overrun"]
    assert overrun_events
    # Repeated overrun events are coalesced (docs/reliability.md); their samples add up exactly.
    assert sum(e["samples"] for e in overrun_events) == adc["overruns"]
    totals = {(t["stream"], t["kind"]): t["count"] for t in summary["event_totals"]}
    assert totals[("adc", "overrun")] == sum(e["repeat"] for e in overrun_events)
    # However many overruns 3 s of overload make (hundreds), the log, the summary and the
    # files get a handful: the first at once, then one per window of 1 s, 2 s, ...
    assert len(overrun_events) <= 4, [e["message"] for e in overrun_events]
    # Data was lost: the run is complete but "degraded", and says why.
    assert summary["outcome"] == "degraded"
    assert f"adc: {adc['overruns']} sample(s) lost to overruns" in summary["degraded_reasons"]
    assert r.stderr.count(" overrun: ") <= 4, r.stderr[-2000:]
    # Timestamps stay on the sample grid across the holes.
    ts = table["timestamp"].cast(pa.int64()).to_numpy()
    np.testing.assert_array_equal(ts - ts[0], np.floor(values * 1e9 / 2e6).astype(np.int64))

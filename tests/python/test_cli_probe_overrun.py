"""`arrowdaq probe` against a real simulator process, and overruns: a source that cannot pause
loses samples when the process stalls longer than its FIFO holds, and the count in summary.json
and in the event log equals exactly the sample indices missing from the stored data."""
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from arrowdaq_testlib import (load_summary, only_run_dir, process_state, read_csv_stream,
                             read_ipc_stream, run)

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


RATE, BATCH, FIFO = 200000.0, 2000, 2  # 100 batches/s; the FIFO holds 20 ms of samples

OVERRUN = f"""
[run]
progress_interval = "100ms"

[instruments.adc]
driver = "sim.ramp"
options = {{ rate_hz = {RATE}, batch_size = {BATCH}, fifo_batches = {FIFO} }}

[storage]
formats = ["csv", "arrow"]
"""



def test_overruns_are_counted_exactly(started):
    # The overload is made on purpose: the whole process is frozen (SIGSTOP) for a tenth of a
    # second, six times, while the free-running source's clock goes on, as if the machine had
    # stalled. A FIFO of 2 batches (20 ms) cannot hold that, so each stall loses samples.
    hold_s, stalls = 0.1, 6
    r = started(OVERRUN)
    r.wait_rows({"adc": 20 * BATCH})
    for _ in range(stalls):
        r.proc.send_signal(signal.SIGSTOP)
        while process_state(r.proc.pid) != "T":
            assert r.proc.poll() is None
            time.sleep(0.001)
        time.sleep(hold_s)  # the stall itself: time passing is the overload
        frozen_rows = r.rows_seen("adc")
        r.proc.send_signal(signal.SIGCONT)
        r.wait_rows({"adc": frozen_rows + 5 * BATCH})  # acquiring again after the hole
    r.proc.send_signal(signal.SIGINT)
    code, _, stderr = r.finish()
    assert code == 0, stderr
    run_dir = only_run_dir(r.out)
    summary = load_summary(run_dir)
    (adc,) = summary["streams"]
    ts, (values,) = read_ipc_stream(run_dir, "adc", 1)  # ramp: value == sample index
    assert len(values) == adc["rows"]
    assert np.all(np.diff(values) > 0), "samples out of order or duplicated"
    missing = int(values[-1]) + 1 - len(values)
    # Per stall at least its length minus what the FIFO held, the batch in hand at the freeze,
    # the one not yet due and one for rounding (a 0.5 s stall loses exactly 46 of 50 batches).
    period_s = BATCH / RATE
    assert adc["overruns"] >= stalls * (hold_s - (FIFO + 3) * period_s) * RATE, adc["overruns"]
    assert missing == adc["overruns"]
    # Lost in whole batches: the stored data jumps over the hole by a multiple of the batch.
    assert adc["overruns"] % BATCH == 0
    overrun_events = [e for e in summary["events"] if e["kind"] == "overrun"]
    assert overrun_events
    # Repeated overrun events are coalesced (docs/reliability.md); their samples add up exactly.
    assert sum(e["samples"] for e in overrun_events) == adc["overruns"]
    totals = {(t["stream"], t["kind"]): t["count"] for t in summary["event_totals"]}
    assert totals[("adc", "overrun")] == sum(e["repeat"] for e in overrun_events)
    assert totals[("adc", "overrun")] >= stalls  # each stall overran at least once
    # However many overruns the stalls make, the log, the summary and the files get a handful:
    # the first at once, then one per window of 1 s, 2 s, ...
    assert len(overrun_events) <= 4, [e["message"] for e in overrun_events]
    # Data was lost: stopped by a signal, the outcome stays "stopped" (an unstopped run would
    # be "degraded"), and the reasons say what was lost.
    assert summary["outcome"] == "stopped"
    assert f"adc: {adc['overruns']} sample(s) lost to overruns" in summary["degraded_reasons"]
    assert stderr.count(" overrun: ") <= 4, stderr[-2000:]
    # Timestamps stay on the sample grid across the holes.
    np.testing.assert_array_equal(ts - ts[0], np.floor(values * 1e9 / RATE).astype(np.int64))
    # The CSV holds the same samples.
    csv_ts, (csv_values,) = read_csv_stream(run_dir, "adc", 1)
    np.testing.assert_array_equal(csv_values, values)
    np.testing.assert_array_equal(csv_ts, ts)

"""A device that connects but never delivers must not be reconnected forever: with
`reconnect_attempts = 2` and `on_failure = "stop_run"`, a real `arrowdaq run` against a
simulator that answers *IDN? and the set-up on every connection but never a reading (silence, NUL
bytes, or a block header claiming 999999999 bytes) ends with exit 1 naming the instrument,
long before its duration. A device that hiccups but delivers between its failures is reconnected
and the run ends ok (the attempts count from the last batch, not from the last reconnect)."""
import json
import os
import subprocess
import sys
import time

import pytest

from arrowdaq_testlib import run, write_config

SIM = os.path.join(os.environ["ARROWDAQ_SOURCE_DIR"], "tools", "sim", "scpi_server.py")


@pytest.fixture
def sim_factory():
    procs = []

    def start(*args):
        proc = subprocess.Popen([sys.executable, SIM, "--model", "34461a", *args],
                                stdout=subprocess.PIPE, text=True)
        procs.append(proc)
        return f"TCPIP::127.0.0.1::{proc.stdout.readline().strip()}::SOCKET"

    yield start
    for proc in procs:
        proc.kill()
        proc.wait()


def count(summary, kind):
    """Events of `kind` on stream dmm, repeats of coalesced events included."""
    return sum(e.get("repeat", 1) for e in summary["events"]
               if e["kind"] == kind and e["stream"] == "dmm")


DMM = """
[instruments.dmm]
driver = "{driver}"
resource = "{resource}"
reconnect_attempts = 2
reconnect_backoff = "50ms"
on_failure = "stop_run"
options = {{ {options} }}
"""

KEYSIGHT = 'nplc = 0.02, rate_hz = 20.0, batch_size = 2, timeout_ms = 300'
GENERIC = ('binary = true, check_errors = true, rate_hz = 20.0, batch_size = 2, timeout_ms = 300,'
           ' setup = "FORM:DATA REAL,64"')


@pytest.mark.parametrize("hostile, driver, options", [
    ("silent", "keysight.34461a", KEYSIGHT),
    ("nul", "keysight.34461a", KEYSIGHT),
    ("huge-block", "scpi.generic", GENERIC),
])
def test_a_device_that_never_delivers_fails_the_run(tmp_path, sim_factory, hostile, driver,
                                                     options):
    resource = sim_factory("--hostile", hostile)
    cfg = write_config(tmp_path, DMM.format(driver=driver, resource=resource, options=options))
    out = tmp_path / "out"
    started = time.monotonic()
    r = run(["run", str(cfg), "--duration", "120s", "--output", str(out)], timeout=100)
    elapsed = time.monotonic() - started
    assert r.returncode == 1, (r.returncode, r.stderr)
    assert "instrument 'dmm'" in r.stderr, r.stderr
    assert "gave up after 2 reconnect attempt(s) without a batch in between" in r.stderr, r.stderr
    # Three failed reads, two reconnects with 50 + 100 ms backoff: far below the 120 s asked.
    assert elapsed < 60, elapsed
    summaries = list(out.glob("*/summary.json"))
    if summaries:  # the run directory existed: its summary tells the same story
        summary = json.loads(summaries[0].read_text())
        assert count(summary, "gap") == 2, summary["events"]
        assert count(summary, "fault") >= 1, summary["events"]


def test_a_device_that_delivers_between_failures_keeps_going(tmp_path, sim_factory):
    # Every third READ? goes unanswered: each failure follows a full batch, so one attempt is
    # enough every time, however many failures there are.
    resource = sim_factory("--hiccup-every", "3")
    cfg = write_config(tmp_path, DMM.format(driver="keysight.34461a", resource=resource,
                                            options=KEYSIGHT).replace(
        "reconnect_attempts = 2", "reconnect_attempts = 1"))
    out = tmp_path / "out"
    r = run(["run", str(cfg), "--duration", "6s", "--output", str(out)], timeout=100)
    assert r.returncode == 0, r.stderr
    (summary_path,) = out.glob("*/summary.json")
    summary = json.loads(summary_path.read_text())
    assert count(summary, "gap") >= 2, summary["events"]  # more than the one attempt allowed
    assert count(summary, "fault") == 0, summary["events"]

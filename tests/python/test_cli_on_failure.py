"""on_failure governs start-up too (docs/config.md): an instrument that cannot connect when the
run starts is left out and retried in the background with "continue" (the run records the
others), and ends the run before anything is recorded with "stop_run"."""
import os
import socket
import subprocess
import sys
import time

from arrowdaq_testlib import load_summary, only_run_dir, run, write_config

SIM = os.path.join(os.environ["ARROWDAQ_SOURCE_DIR"], "tools", "sim", "scpi_server.py")

CONFIG = """
[run]
name = "startup"
log_level = "warn"

[instruments.pd]
driver = "sim.ramp"
options = {{ rate_hz = 1000.0, batch_size = 100 }}

[instruments.dmm]
driver = "keysight.34461a"
resource = "TCPIP::127.0.0.1::{port}::SOCKET"
options = {{ rate_hz = 20.0, batch_size = 2 }}
on_failure = "{on_failure}"
reconnect_attempts = {attempts}
reconnect_backoff = "200ms"
"""


def _free_port():
    # Nothing listens on it once the socket is closed (bound without listen, then released).
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _events(summary, stream, kind):
    return [e for e in summary["events"] if e["stream"] == stream and e["kind"] == kind]


def test_continue_records_the_others_and_gives_up_after_its_attempts(tmp_path):
    cfg = write_config(tmp_path, CONFIG.format(port=_free_port(), on_failure="continue",
                                               attempts=2))
    out = tmp_path / "out"
    r = run(["run", str(cfg), "--duration", "2s", "--output", str(out)])
    assert r.returncode == 0, r.stderr
    summary = load_summary(only_run_dir(out))
    streams = {s["name"]: s for s in summary["streams"]}
    assert streams["pd"]["rows"] >= 1000
    assert streams["dmm"]["rows"] == 0
    (cannot,) = _events(summary, "dmm", "fault")[:1]
    assert "cannot start" in cannot["message"] and "retrying 2 time(s)" in cannot["message"]
    assert any("gave up after 2 background attempt(s)" in e["message"]
               for e in _events(summary, "dmm", "fault")), summary["events"]
    # An instrument that never started is a failed one: the run is degraded, not ok.
    assert streams["dmm"]["failed"] is True
    assert summary["outcome"] == "degraded"
    assert "dmm: the instrument failed" in summary["degraded_reasons"]


def test_continue_starts_the_instrument_once_it_answers(tmp_path):
    port = _free_port()
    cfg = write_config(tmp_path, CONFIG.format(port=port, on_failure="continue", attempts=6))
    out = tmp_path / "out"
    proc = subprocess.Popen([os.environ["ARROWDAQ_ARROWDAQ_BIN"],
                             "run", str(cfg), "--duration", "6s", "--output", str(out)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    sim = None
    try:
        # The run has started (its directory exists) without the DMM: now it comes up.
        deadline = time.monotonic() + 60
        while not (out.exists() and any(out.iterdir())):
            assert time.monotonic() < deadline and proc.poll() is None, proc.communicate()
            time.sleep(0.05)
        sim = subprocess.Popen([sys.executable, SIM, "--model", "34461a", "--port", str(port)],
                               stdout=subprocess.PIPE, text=True)
        assert sim.stdout.readline().strip() == str(port)
        _, err = proc.communicate(timeout=120)
    finally:
        if sim:
            sim.kill()
            sim.wait()
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    summary = load_summary(only_run_dir(out))
    streams = {s["name"]: s for s in summary["streams"]}
    assert streams["dmm"]["rows"] > 0, summary["events"]
    assert streams["dmm"]["missing_sequences"] == 0
    assert any(e["message"].startswith("started after ") for e in _events(summary, "dmm", "info"))


def test_stop_run_ends_the_run_before_anything_is_recorded(tmp_path):
    port = _free_port()
    cfg = write_config(tmp_path, CONFIG.format(port=port, on_failure="stop_run", attempts=2))
    out = tmp_path / "out"
    r = run(["run", str(cfg), "--duration", "2s", "--output", str(out)])
    assert r.returncode == 1, (r.returncode, r.stderr)
    assert f"TCPIP::127.0.0.1::{port}::SOCKET" in r.stderr
    assert "dmm" in r.stderr and "stop_run" in r.stderr
    assert not out.exists() or not any(out.iterdir()), "nothing is recorded"

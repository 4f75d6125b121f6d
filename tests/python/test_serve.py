"""`arrowdaq serve` as a user runs it: recordings started and stopped over Flight whose files
(read with h5py and pyarrow) hold exactly the rows between start and stop, commands to a real
SCPI simulator process, SIGTERM during a recording, the [server] table, `run --serve`, and the
CLI clients (status, record, send, watch) against a live server.

Sequence numbers are the oracle of "exactly": sim.ramp's value of sample k is k, so a stream's
rows in a file must be one unbroken range of sample indices that starts at a packet boundary
the server reported around the start call and ends at one it reported around the stop call.
"""
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.flight as fl
import pytest

import arrowdaq_testlib as lib
from test_flight_server import ARROWDAQ, TOKEN, Client, Server, read_chunks, wait_for

SIM = os.path.join(os.environ.get("ARROWDAQ_SOURCE_DIR", str(Path(__file__).parents[2])),
                   "tools", "sim", "scpi_server.py")

BATCH = 50
CONFIG = f"""
[instruments.ramp]
driver = "sim.ramp"
options = {{ rate_hz = 2000.0, batch_size = {BATCH} }}

[instruments.sine]
driver = "sim.sine"
options = {{ rate_hz = 1000.0, batch_size = 20, channels = 2, frequency_hz = 7.0 }}
"""
FORMATS = ["hdf5", "arrow", "parquet"]


def next_sequence(c, stream):
    return c.stream_status(stream)["next_sequence"]


def record(c, name, until_rows, **body):
    """Start a recording, let `until_rows` rows of ramp into it, stop it. Returns the start and
    stop answers and the window of ramp sequence numbers each call can have cut at."""
    before_start = next_sequence(c, "ramp")
    rec = c.action("start_recording", {"name": name, **body})
    after_start = next_sequence(c, "ramp")
    wait_for(lambda: next(r for r in c.status()["recordings"] if r["id"] == rec["id"])["rows"].get("ramp", 0)
             >= until_rows, f"{until_rows} ramp rows in {name}")
    before_stop = next_sequence(c, "ramp")
    stopped = c.action("stop_recording", {"id": rec["id"]})
    after_stop = next_sequence(c, "ramp")
    return rec, stopped, (before_start, after_start), (before_stop, after_stop)


def check_ramp_files(run_dir: Path, formats, first_window, last_window):
    """Every format holds the same unbroken ramp rows, from a packet boundary inside the start
    window to one inside the stop window; returns (first sequence, last sequence)."""
    summary = lib.load_summary(run_dir)
    (ramp,) = [s for s in summary["streams"] if s["name"] == "ramp"]
    first, last = ramp["first_sequence"], ramp["last_sequence"]
    assert first_window[0] <= first <= first_window[1], (first, first_window)
    assert last_window[0] - 1 <= last <= last_window[1] - 1, (last, last_window)
    expected = np.arange(first * BATCH, (last + 1) * BATCH, dtype=np.float64)
    assert ramp["rows"] == len(expected), ramp
    assert ramp["drops"] == 0
    for fmt in formats:
        ts, (values,) = lib.read_stream(run_dir, fmt, "ramp", 1)
        np.testing.assert_array_equal(values, expected, err_msg=f"{run_dir.name} {fmt}")
        assert np.all(np.diff(ts) > 0), fmt
    return first, last


@pytest.fixture
def server(tmp_path):
    s = Server(tmp_path, config=CONFIG)
    yield s
    s.stop()


def test_recordings_started_and_stopped_hold_exactly_their_rows(server):
    c = server.client()
    runs = []
    for i, formats in enumerate([FORMATS, ["hdf5"], ["arrow", "parquet"]]):
        rec, stopped, start_w, stop_w = record(c, f"scan{i}", 400, formats=formats)
        assert rec["formats"] == formats and stopped["state"] == "stopped"
        run_dir = Path(rec["directory"])
        assert run_dir.parent == server.output.resolve()
        first, last = check_ramp_files(run_dir, formats, start_w, stop_w)
        summary = lib.load_summary(run_dir)
        assert summary["outcome"] in ("ok", "degraded"), summary
        assert summary["run_id"] == rec["id"]
        # What stop_recording answered is what the files hold.
        assert stopped["rows"]["ramp"] == (last - first + 1) * BATCH
        assert stopped["rows"]["sine"] == next(s for s in summary["streams"] if s["name"] == "sine")["rows"]
        runs.append((first, last))
    # One after another: no sequence recorded twice.
    for (_, last), (first, _) in zip(runs, runs[1:]):
        assert first > last


def test_a_recording_with_a_duration_stops_by_itself_with_its_summary(server):
    c = server.client()
    rec = c.action("start_recording", {"name": "timed", "streams": ["ramp"], "duration": "1s"})
    wait_for(lambda: next(r for r in c.status()["recordings"] if r["id"] == rec["id"])["state"] == "stopped",
             "the recording to stop after its duration")
    run_dir = Path(rec["directory"])
    wait_for(lambda: (run_dir / "summary.json").exists(), "summary.json")
    summary = lib.load_summary(run_dir)
    assert [s["name"] for s in summary["streams"] if s["recorded"]] == ["ramp"]
    ts, (values,) = lib.read_hdf5_stream(run_dir, "ramp", 1)
    first = summary["streams"][0]["first_sequence"] * BATCH
    np.testing.assert_array_equal(values, np.arange(first, first + len(values)))
    # About one second of samples (2000 rows/s), generous bounds for a loaded machine.
    assert 0.5 * 2000 <= len(values) <= 10 * 2000


def test_recording_requests_are_checked(server):
    c = server.client()
    with pytest.raises(pa.ArrowInvalid, match=r"format 'tiff'"):
        c.action("start_recording", {"name": "x", "formats": ["tiff"]})
    with pytest.raises(pa.ArrowKeyError, match=r"nope"):
        c.action("start_recording", {"name": "x", "streams": ["nope"]})
    assert not server.output.exists() or list(server.output.iterdir()) == []


def test_sigterm_during_a_recording_closes_files_and_writes_the_summary(tmp_path):
    s = Server(tmp_path, config=CONFIG)
    c = s.client()
    rec = c.action("start_recording", {"name": "cut", "formats": FORMATS})
    wait_for(lambda: c.status()["recordings"][0]["rows"].get("ramp", 0) >= 400, "rows recorded")
    last_seen = next_sequence(c, "ramp")
    c.close()
    lib.signal_and_wait_taken(s.proc, signal.SIGTERM)
    assert s.proc.wait(timeout=60) == 0, s.proc.stderr.read()
    run_dir = Path(rec["directory"])
    summary = lib.load_summary(run_dir)
    assert summary["outcome"] == "stopped", summary
    assert "signal" in summary["stop_reason"]
    assert not (run_dir / ".summary.reserve").exists()
    # Plain readers (h5py without SWMR, closed .arrow files, Parquet footers) open every file.
    first, last = check_ramp_files(run_dir, FORMATS, (0, 10**9), (last_seen, 10**9))
    assert last >= last_seen - 1


def test_send_command_reaches_the_scpi_simulator(tmp_path):
    sim = subprocess.Popen([sys.executable, SIM, "--model", "34461a"], stdout=subprocess.PIPE, text=True)
    try:
        port = sim.stdout.readline().strip()
        s = Server(tmp_path, config=f"""
[instruments.dmm]
driver = "keysight.34461a"
resource = "TCPIP::127.0.0.1::{port}::SOCKET"
options = {{ nplc = 0.02, rate_hz = 10.0, batch_size = 1 }}
""")
        try:
            c = s.client()
            reply = c.action("send_command", {"instrument": "dmm", "command": "*IDN?"})
            # The simulator's own identity string (tools/sim/keysight_34461a.py), not arrowdaq's.
            assert reply["reply"] == "Keysight Technologies,34461A,MY53200000,A.03.01-02.40-03.01-00.52-01-01"
            with pytest.raises(pa.ArrowKeyError, match=r"no instrument named 'psu'.*dmm"):
                c.action("send_command", {"instrument": "psu", "command": "*IDN?"})
            # A query the device does not know: it stays silent (the error goes to its queue),
            # and the client is told which instrument, which command, and that it timed out.
            with pytest.raises(fl.FlightUnavailableError, match=r"instrument 'dmm': .*'FOO:BAR\?': timed out"):
                c.action("send_command", {"instrument": "dmm", "command": "FOO:BAR?"})
            err = c.action("send_command", {"instrument": "dmm", "command": "SYST:ERR?"})
            assert err["reply"].startswith("-113"), err
            # The instrument still acquires after the commands.
            rows = c.stream_status("dmm")["rows"]
            wait_for(lambda: c.stream_status("dmm")["rows"] > rows, "dmm to keep acquiring")
        finally:
            s.stop()
    finally:
        sim.kill()
        sim.wait()


def test_add_instrument_errors_count_the_tables_own_lines(server):
    c = server.client()
    with pytest.raises(pa.ArrowInvalid, match=r"add_instrument:2:\d+: instruments\.pd2\.options\.rate_hz"):
        c.action("add_instrument", {"name": "pd2",
                                    "toml": 'driver = "sim.sine"\noptions = { rate_hz = "fast" }\n'})
    with pytest.raises(pa.ArrowInvalid, match=r"add_instrument:1:\d+: instruments\.pd2\.drivr: unknown key"):
        c.action("add_instrument", {"name": "pd2", "toml": 'drivr = "sim.sine"\n'})
    with pytest.raises(pa.ArrowInvalid, match=r"one instrument"):
        c.action("add_instrument", {"name": "pd2", "toml": 'driver = "sim.sine"\n[storage]\nformats = ["csv"]\n'})
    with pytest.raises(pa.ArrowException, match=r"a stream named 'ramp' exists already"):
        c.action("add_instrument", {"name": "ramp", "toml": 'driver = "sim.sine"\n'})
    rec = c.action("start_recording", {"name": "busy", "streams": ["sine"]})
    with pytest.raises(pa.ArrowInvalid, match=r"being recorded"):
        c.action("remove_instrument", {"instrument": "sine"})
    # The name stands for the recording while exactly one open recording has it.
    assert c.action("stop_recording", {"id": "busy"})["id"] == rec["id"]
    c.action("remove_instrument", {"instrument": "sine"})


# ---------------------------------------------------------------------------------------------
# The [server] table and the command line


def test_server_table_and_refusals(tmp_path):
    cfg = lib.write_config(tmp_path, CONFIG + '\n[server]\nlisten = "grpc://0.0.0.0:0"\n', name="open.toml")
    for command in (["serve", str(cfg)], ["validate", str(cfg)], ["run", str(cfg), "--duration", "1s"]):
        r = lib.run(command, timeout=60)
        assert r.returncode == 2, (command, r)
        assert re.search(r"open\.toml:\d+:\d+: server: .*beyond loopback needs a token", r.stderr), r.stderr
    bad = lib.write_config(tmp_path, CONFIG + '\n[server]\nclient_queue = 0\nreplay_second = 3\n', name="bad.toml")
    r = lib.run(["validate", str(bad)], timeout=60)
    assert r.returncode == 2 and re.search(r"bad\.toml:\d+:\d+: server\.", r.stderr), r.stderr
    r = lib.run(["serve", str(tmp_path / "missing.toml")], timeout=60)
    assert r.returncode == 2 and "missing.toml" in r.stderr
    r = lib.run(["serve", str(cfg), "--bogus"], timeout=60)
    assert r.returncode == 2


def test_run_serve_exposes_the_run_live(tmp_path):
    cfg = lib.write_config(tmp_path, CONFIG)
    out = tmp_path / "out"
    # The run is stopped by the test; its duration only bounds a failure's wait for the address.
    proc = subprocess.Popen([ARROWDAQ, "run", str(cfg), "--duration", "60s", "--output", str(out),
                             "--listen", "grpc://127.0.0.1:0"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        uri = None
        for line in proc.stderr:
            m = re.search(r"serving on (\S+)", line)
            if m:
                uri = m.group(1)
                break
        assert uri, "run --serve printed no address"
        c = Client(uri)
        chunks = read_chunks(c.do_get({"stream": "ramp"}), count=5)
        seqs = [m["sequence"] for m, _ in chunks]
        assert seqs == list(range(seqs[0], seqs[0] + 5))
        for m, b in chunks:
            assert b.column(1).to_pylist() == list(map(float, range(m["sequence"] * BATCH, (m["sequence"] + 1) * BATCH)))
        c.close()
    finally:
        lib.signal_and_wait_taken(proc, signal.SIGTERM)
        rc = proc.wait(timeout=60)
    assert rc == 0, proc.stderr.read()
    run_dir = lib.only_run_dir(out)
    assert lib.load_summary(run_dir)["outcome"] == "stopped"
    ts, (values,) = lib.read_hdf5_stream(run_dir, "ramp", 1)
    assert len(values) > 0 and values[-1] >= (seqs[-1] + 1) * BATCH - 1


def test_cli_clients_against_a_live_server(tmp_path):
    token_file = tmp_path / "token"
    token_file.write_text(TOKEN)
    s = Server(tmp_path, "--token-file", str(token_file), config=CONFIG)
    try:
        conn = ["--connect", s.uri]
        env = {**os.environ, "ARROWDAQ_TOKEN": TOKEN}
        # Without the token: refused, exit 2.
        r = subprocess.run([ARROWDAQ, "status", *conn], capture_output=True, text=True, timeout=60,
                           env={k: v for k, v in os.environ.items() if k != "ARROWDAQ_TOKEN"})
        assert r.returncode == 2 and "token" in r.stderr.lower(), r
        r = subprocess.run([ARROWDAQ, "status", *conn, "--token-file", str(token_file)],
                           capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, r.stderr
        assert re.search(r"^\s+ramp\s+sim\.ramp\s+acquiring", r.stdout, re.M), r.stdout
        r = subprocess.run([ARROWDAQ, "status", *conn, "--json"], capture_output=True, text=True,
                           timeout=60, env=env)
        assert r.returncode == 0 and {st["name"] for st in json.loads(r.stdout)["streams"]} == {"ramp", "sine"}
        r = subprocess.run([ARROWDAQ, "send", "sine", "*IDN?", *conn], capture_output=True, text=True,
                           timeout=60, env=env)
        assert r.returncode == 0 and r.stdout.startswith("arrowdaq,SIM-SINE"), r
        r = subprocess.run([ARROWDAQ, "send", "nope", "*IDN?", *conn], capture_output=True, text=True,
                           timeout=60, env=env)
        assert r.returncode == 2 and "no instrument named 'nope'" in r.stderr, r
        r = subprocess.run([ARROWDAQ, "record", "start", "clirun", "--stream", "ramp", "--format", "parquet", *conn],
                           capture_output=True, text=True, timeout=60, env=env)
        assert r.returncode == 0, r.stderr
        m = re.search(r"recording (\S+) started: (\S+)", r.stdout)
        assert m, r.stdout
        run_id, run_dir = m.group(1), Path(m.group(2))
        r = subprocess.run([ARROWDAQ, "watch", "ramp", "--count", "20", "--interval", "0.2", *conn],
                           capture_output=True, text=True, timeout=120, env=env)
        assert r.returncode == 0, r.stderr
        assert re.search(r"ramp: .* rows/s, 0 dropped", r.stdout), r.stdout
        # Stopped by the name it was started with (the one open recording of that name).
        r = subprocess.run([ARROWDAQ, "record", "stop", "clirun", *conn], capture_output=True,
                           text=True, timeout=60, env=env)
        assert r.returncode == 0, r.stderr
        rows = int(re.search(r"ramp: (\d+) rows", r.stdout).group(1))
        ts, (values,) = lib.read_parquet_stream(run_dir, "ramp", 1)
        assert len(values) == rows and rows > 0
        np.testing.assert_array_equal(values, np.arange(values[0], values[0] + rows))
        r = subprocess.run([ARROWDAQ, "record", "stop", run_id, *conn], capture_output=True, text=True,
                           timeout=60, env=env)
        assert r.returncode == 2 and "already stopped" in r.stderr
    finally:
        s.stop()
    # No server: exit 1 with a message naming it.
    r = subprocess.run([ARROWDAQ, "status", "--connect", s.uri], capture_output=True, text=True, timeout=120)
    assert r.returncode == 1 and s.uri.split("//")[1] in r.stderr, r

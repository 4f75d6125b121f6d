"""What a user of `arrowdaq` sees (issue 11 item 9): a fatal error printed once; the plan and a
failing instrument visible at --log-level trace; the live progress view honouring
run.progress_interval on a terminal and fitting a narrow one; memory figures that match
summary.json; `inspect` on a CSV file and on a directory of several streams."""
import fcntl
import os
import pty
import re
import select
import socket
import struct
import subprocess
import termios
import time

import pytest

from arrowdaq_testlib import ARROWDAQ, load_summary, only_run_dir, run, write_config


def closed_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


FAILING = """
[instruments.dmm]
driver = "keysight.34461a"
resource = "TCPIP::127.0.0.1::{port}::SOCKET"
on_failure = "stop_run"

[instruments.a]
driver = "sim.ramp"
"""


def test_a_fatal_error_is_printed_once(tmp_path):
    cfg = write_config(tmp_path, FAILING.format(port=closed_port()))
    r = run(["run", str(cfg), "--duration", "2s", "--output", str(tmp_path / "o")])
    assert r.returncode == 1, r.stderr
    both = r.stdout + r.stderr
    assert both.count("cannot connect") == 1, both
    assert r.stderr.startswith("arrowdaq: instrument 'dmm': ") or "\narrowdaq: instrument 'dmm'" in r.stderr
    assert "failed" in r.stdout


def test_trace_shows_the_plan_and_the_failing_instrument(tmp_path):
    cfg = write_config(tmp_path, FAILING.format(port=closed_port()))
    r = run(["run", str(cfg), "--duration", "2s", "--output", str(tmp_path / "o"),
             "--log-level", "trace"])
    assert r.returncode == 1
    assert re.search(r"\[plan\] instrument dmm: driver keysight\.34461a, resource TCPIP::", r.stderr), r.stderr
    assert "[plan] instrument a: driver sim.ramp" in r.stderr
    assert r.stderr.count("cannot connect") == 1
    quiet = run(["run", str(cfg), "--duration", "2s", "--output", str(tmp_path / "q")])
    assert "[plan]" not in quiet.stderr, "debug lines only when asked for"


UNITS = {"B": 1, "KiB": 1024, "MiB": 1024**2, "GiB": 1024**3}


def test_memory_figures_match_the_summary(tmp_path):
    # Ten batches in the second (sim.ramp runs at 1 kHz): with one batch of 1000 rows, due the
    # instant the 1 s run ends, whether it came before the end was a race (an empty run here).
    cfg = write_config(tmp_path, '[instruments.a]\ndriver = "sim.ramp"\noptions = { batch_size = 100 }\n')
    r = run(["run", str(cfg), "--duration", "1s", "--output", str(tmp_path / "o")])
    assert r.returncode == 0, r.stderr
    memory = load_summary(only_run_dir(tmp_path / "o"))["memory"]
    m = re.search(r"Arrow pool peak ([\d.]+) (B|KiB|MiB|GiB)", r.stdout)
    assert m, r.stdout
    shown = float(m.group(1)) * UNITS[m.group(2)]
    peak = memory["arrow_pool_peak_bytes"]
    assert peak > 0
    # Three significant digits: within 1% of the bytes in summary.json (never "0 MiB").
    assert abs(shown - peak) <= 0.01 * peak, (m.group(0), peak)
    m = re.search(r"peak RSS ([\d.]+) (B|KiB|MiB|GiB)", r.stdout)
    assert abs(float(m.group(1)) * UNITS[m.group(2)] - memory["peak_rss_bytes"]) <= 0.01 * memory["peak_rss_bytes"]


def test_summary_reports_each_batch_pool(tmp_path):
    # Issue 20 item 3: every simulated source recycles whole batches; summary.json's memory
    # section says per stream how big the pool is and how often a take was served from it.
    cfg = write_config(tmp_path, """
[instruments.a]
driver = "sim.ramp"
options = { batch_size = 100, channels = 3 }
[instruments.cam]
driver = "sim.camera"
options = { width = 32, height = 16, fps = 50, frames_per_batch = 2, pool_batches = 5 }
""")
    r = run(["run", str(cfg), "--duration", "1s", "--output", str(tmp_path / "o")])
    assert r.returncode == 0, r.stderr
    summary = load_summary(only_run_dir(tmp_path / "o"))
    packets = {s["name"]: s["packets"] for s in summary["streams"]}
    pools = {p["stream"]: p for p in summary["memory"]["pools"]}
    assert set(pools) == {"a", "cam"}, pools
    # One block per batch: the timestamps, then the channels (8 bytes each per row); the
    # camera's timestamps rounded up to 64 bytes, then the uint16 frames (docs/instruments.md).
    assert pools["a"]["block_bytes"] == 100 * 8 * (1 + 3)
    assert pools["cam"]["block_bytes"] == 64 + 2 * 32 * 16 * 2
    assert pools["cam"]["max_batches"] == 5
    for name, p in pools.items():
        assert p["policy"] == "count"
        # Every published batch was a take; at most the one read after the end was not published.
        assert packets[name] <= p["takes"] <= packets[name] + 1, (name, p, packets)
        assert p["hits"] + p["misses"] == p["takes"]
        assert 1 <= p["batches"] <= p["max_batches"]
        assert p["bytes"] == p["batches"] * p["block_bytes"]
        assert p["overflows"] == 0 and p["waits"] == 0
        # Storage keeps up with 10 and 25 batches a second: most takes are recycled batches.
        assert p["misses"] == p["batches"]
        assert p["hits"] > 0
        assert abs(p["hit_rate"] - p["hits"] / p["takes"]) < 1e-9
    hits = sum(p["hits"] for p in pools.values())
    takes = sum(p["takes"] for p in pools.values())
    m = re.search(r"batches recycled ([\d.]+)% \((\d+) beyond the pool bounds\)", r.stdout)
    assert m, r.stdout
    assert abs(float(m.group(1)) - 100 * hits / takes) <= 0.05 and m.group(2) == "0"


def test_inspect_reads_csv_and_names_each_streams_driver(tmp_path):
    cfg = write_config(tmp_path, """
[instruments.a]
driver = "sim.ramp"
[instruments.b]
driver = "sim.sine"
options = { channels = 2 }
[storage]
formats = ["parquet", "csv"]
""")
    r = run(["run", str(cfg), "--duration", "1s", "--output", str(tmp_path / "o")])
    assert r.returncode == 0, r.stderr
    run_dir = only_run_dir(tmp_path / "o")
    rows = {s["name"]: s["rows"] for s in load_summary(run_dir)["streams"]}
    r = run(["inspect", str(run_dir / "b.csv")])
    assert r.returncode == 0, r.stderr
    assert "(csv," in r.stdout
    assert f"stream b: {rows['b']} rows" in r.stdout
    assert "channels: ch0 [V] ch1 [V]" in r.stdout
    assert "rate 1000 Hz" in r.stdout
    # A directory of two streams: each with its own driver, none with the other's.
    r = run(["inspect", str(run_dir)])
    assert r.returncode == 0, r.stderr
    a = r.stdout[r.stdout.index("stream a:"):r.stdout.index("stream b:")]
    b = r.stdout[r.stdout.index("stream b:"):]
    assert "driver: sim.ramp" in a and "sim.sine" not in a, r.stdout
    assert "driver: sim.sine" in b and "sim.ramp" not in b, r.stdout
    # A CSV that is not ours is named as such.
    other = tmp_path / "other.csv"
    other.write_text("x,y\n1,2\n")
    r = run(["inspect", str(other)])
    assert r.returncode == 1 and "not a CSV file arrowdaq writes" in r.stderr


def run_on_a_terminal(args, columns, rows, timeout=60):
    """Run arrowdaq with stderr on a pseudo-terminal of the given size; return what it drew."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))
    proc = subprocess.Popen([ARROWDAQ, *args], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=slave)
    os.close(slave)
    drawn = b""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 0.5)
        if ready:
            try:
                chunk = os.read(master, 65536)
            except OSError:
                break  # the child closed the terminal
            if not chunk:
                break
            drawn += chunk
        elif proc.poll() is not None:
            break
    proc.wait(timeout=timeout)
    os.close(master)
    return proc.returncode, drawn.decode("utf-8", "replace")


def screen_lines(drawn):
    """Lines as the terminal shows them: escapes removed, split at line ends."""
    plain = re.sub(r"\x1b\[[0-9;]*[A-Za-z]", "", drawn)
    return [line for line in re.split(r"\r?\n|\r", plain) if line]


def many_streams(n):
    return "[run]\nprogress_interval = \"1s\"\n" + "".join(
        f'[instruments.sensor_{i:02d}]\ndriver = "sim.ramp"\n' for i in range(n))


def test_progress_interval_is_honoured_on_a_terminal(tmp_path):
    cfg = write_config(tmp_path, many_streams(2))
    code, drawn = run_on_a_terminal(["run", str(cfg), "--duration", "3.4s",
                                     "--output", str(tmp_path / "o")], 120, 40)
    assert code == 0, drawn
    stamps = sorted(set(re.findall(r"\[(\d+\.\d) s\]", drawn)))
    # Every second for 3.4 s: 1.0, 2.0, 3.0 (the old view redrew every 0.5 s regardless).
    assert 2 <= len(stamps) <= 4, stamps


@pytest.mark.parametrize("columns,rows,streams", [(40, 24, 3), (120, 8, 12)])
def test_the_live_view_fits_the_terminal(tmp_path, columns, rows, streams):
    cfg = write_config(tmp_path, many_streams(streams))
    code, drawn = run_on_a_terminal(["run", str(cfg), "--duration", "2.5s",
                                     "--output", str(tmp_path / "o")], columns, rows)
    assert code == 0, drawn
    progress = [line for line in screen_lines(drawn) if re.match(r"\[\d+\.\d s\]", line)]
    assert progress, drawn
    for line in progress:
        assert len(line) < columns, f"{len(line)} columns: {line!r}"
    # Too narrow for a line per stream, or more streams than rows: one compact line per update.
    assert all(f"{streams} streams:" in line for line in progress), progress
    updates = drawn.count("\x1b[J")
    assert updates == len(progress), "one line per update"


def test_processors_are_listed_with_their_options():
    r = run(["processors"])
    assert r.returncode == 0, r.stderr
    out = r.stdout
    for kind in ("fir", "decimate", "moving_average", "stats"):
        assert re.search(rf"^{kind} - ", out, re.M), out
    for option in ('pass = "lowpass"', "cutoff_hz = 0 [Hz]", "cutoff_high_hz = 0 [Hz]",
                   "taps = 63", 'window = "hamming"', "factor = 4", "window = 10"):
        assert option in out, option
    assert "_min, _max, _mean, _std" in out

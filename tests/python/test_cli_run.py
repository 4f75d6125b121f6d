"""`arrowdaq run` end to end on simulated instruments: every row of every stream is in every
format, values equal the generators' formulas, timestamps follow the sample clock, sequence
numbers are complete; Ctrl-C and SIGKILL leave readable files; bad output directories are
refused before acquisition."""
import os
import signal
import subprocess
import time

import h5py
import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.ipc as ipc
import pyarrow.parquet as pq
import pytest

from arrowdaq_testlib import (ARROWDAQ, load_summary, noise, only_run_dir, ramp, run,
                             sample_offsets_ns, sine, write_config)

CONFIG = """
[run]
name = "e2e"

[instruments.ramp]
driver = "sim.ramp"
options = {{ rate_hz = 20000.0, batch_size = 200, channels = 2, unit = "mm" }}

[instruments.sine]
driver = "sim.sine"
options = {{ rate_hz = 5000.0, batch_size = 100, channels = 3, frequency_hz = 7.0, amplitude = 2.0 }}

[instruments.noise]
driver = "sim.noise"
options = {{ rate_hz = 8000.0, batch_size = 400, channels = 2, seed = 7, amplitude = 0.5, offset = 1.0 }}

[[subscriptions]]
name = "live"
streams = ["*"]
capacity = 2
policy = "drop_newest"

[storage]
formats = [{formats}]
flush_interval = "{flush}"
parquet_segment = "1s"
"""

RATES = {"ramp": 20000.0, "sine": 5000.0, "noise": 8000.0}
BATCH = {"ramp": 200, "sine": 100, "noise": 400}
CHANNELS = {"ramp": 2, "sine": 3, "noise": 2}


def expected(stream, n, c):
    if stream == "ramp":
        return ramp(n, c)
    if stream == "sine":
        return sine(n, c, 3, 5000.0, 7.0, amplitude=2.0)
    return noise(n, c, 2, 7, amplitude=0.5, offset=1.0)


def check_values(stream, ts, columns, rows):
    """Every value of the first `rows` samples equals the formula; timestamps follow the clock."""
    n = np.arange(rows)
    assert len(ts) == rows
    np.testing.assert_array_equal(ts - ts[0], sample_offsets_ns(n, RATES[stream]))
    assert np.all(np.diff(ts) > 0)
    for c, col in enumerate(columns):
        np.testing.assert_allclose(col, expected(stream, n, c), rtol=1e-12, atol=1e-12,
                                   err_msg=f"{stream} ch{c}")


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("e2e")
    fmt = '"hdf5", "arrows", "parquet", "csv"'
    cfg = write_config(tmp, CONFIG.format(formats=fmt, flush="500ms"))
    out = tmp / "out"
    r = run(["run", str(cfg), "--duration", "2.5s", "--output", str(out)], timeout=120)
    assert r.returncode == 0, r.stderr
    run_dir = only_run_dir(out)
    return run_dir, load_summary(run_dir), r


def test_summary_accounts_for_every_packet(finished_run):
    run_dir, summary, r = finished_run
    assert summary["outcome"] == "ok"
    assert {s["name"] for s in summary["streams"]} == set(RATES)
    for s in summary["streams"]:
        assert s["packets"] > 0
        assert s["rows"] == s["packets"] * BATCH[s["name"]]
        assert s["first_sequence"] == 0 and s["last_sequence"] == s["packets"] - 1
    # The lossy live view may drop; its drop counter equals what it found missing.
    (live,) = summary["subscriptions"]
    assert live["policy"] == "drop_newest"
    assert live["dropped"] == live["missed_by_sequence"]
    assert live["offered"] == live["delivered"] + live["dropped"]
    assert summary["storage"]["rows"] == sum(s["rows"] for s in summary["streams"])
    assert summary["storage"]["not_stored_packets"] == 0
    assert "files:" in r.stdout and str(run_dir) in r.stdout
    assert (run_dir / "config.toml").read_text().startswith("\n[run]")


def test_hdf5_holds_every_row_with_the_right_values(finished_run):
    run_dir, summary, _ = finished_run
    rows = {s["name"]: s["rows"] for s in summary["streams"]}
    with h5py.File(run_dir / "run.h5", "r") as f:
        assert f.attrs["format_version"] in ("1", b"1")
        assert f.attrs["stop_time"]
        for stream, nrows in rows.items():
            g = f[stream]
            cols = [g[f"ch{c}"][:] for c in range(CHANNELS[stream])]
            check_values(stream, g["timestamp"][:], cols, nrows)
        assert f["ramp/ch0"].attrs["unit"] in ("mm", b"mm")


def test_ipc_parquet_and_csv_hold_every_row(finished_run):
    run_dir, summary, _ = finished_run
    for s in summary["streams"]:
        name, nrows = s["name"], s["rows"]
        with open(run_dir / f"{name}.arrows", "rb") as fh:
            table = ipc.open_stream(fh).read_all()
        ts = table["timestamp"].cast(pa.int64()).to_numpy()
        check_values(name, ts, [table[f"ch{c}"].to_numpy() for c in range(CHANNELS[name])], nrows)
        segments = sorted(run_dir.glob(f"{name}.*.parquet"))
        assert segments, f"no parquet segment for {name}"
        pt = pa.concat_tables([pq.read_table(p) for p in segments])
        assert pt.num_rows == nrows
        np.testing.assert_array_equal(pt["ch0"].to_numpy(), table["ch0"].to_numpy())
        csv = pacsv.read_csv(run_dir / f"{name}.csv")
        assert csv.num_rows == nrows


def test_inspect_reads_our_files(finished_run):
    run_dir, summary, _ = finished_run
    r = run(["inspect", str(run_dir / "run.h5")])
    assert r.returncode == 0, r.stderr
    for s in summary["streams"]:
        assert f"stream {s['name']}: {s['rows']} rows" in r.stdout
    bad = run_dir / "summary.json"
    r = run(["inspect", str(bad)])
    assert r.returncode == 1 and "summary.json" in r.stderr


def _start(tmp_path, flush="500ms", formats='"hdf5", "arrows", "parquet"'):
    cfg = write_config(tmp_path, CONFIG.format(formats=formats, flush=flush))
    out = tmp_path / "out"
    proc = subprocess.Popen([ARROWDAQ, "run", str(cfg), "--duration", "60s", "--output", str(out)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    return proc, out


def test_sigint_stops_cleanly_and_writes_the_summary(tmp_path):
    proc, out = _start(tmp_path)
    time.sleep(2.5)
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 0, stderr
    run_dir = only_run_dir(out)
    summary = load_summary(run_dir)
    assert summary["outcome"] == "stopped"
    with h5py.File(run_dir / "run.h5", "r") as f:  # closed properly: opens without SWMR
        for s in summary["streams"]:
            assert f[s["name"]]["timestamp"].shape[0] == s["rows"]
        assert f.attrs["stop_time"]


def test_sigkill_leaves_files_that_open_with_data_up_to_the_last_flush(tmp_path):
    proc, out = _start(tmp_path, flush="500ms")
    start = time.monotonic()
    # Wait until the run directory exists, then let it acquire for a few seconds.
    while time.monotonic() - start < 30 and not (out.exists() and any(out.iterdir())):
        time.sleep(0.05)
    acquiring_since = time.monotonic()
    time.sleep(3.0)
    proc.kill()
    proc.communicate(timeout=30)
    lived = time.monotonic() - acquiring_since
    run_dir = only_run_dir(out)
    with h5py.File(run_dir / "run.h5", "r", libver="latest", swmr=True) as f:
        ts = f["ramp/timestamp"][:]
        ch0 = f["ramp/ch0"][:]
    # Everything up to (kill time - 2 flush intervals) is there, contiguous and correct.
    # (The clock starts a little after the directory appears, so allow one more second.)
    min_rows = int((lived - 2 * 0.5 - 1.0) * RATES["ramp"])
    assert len(ch0) >= min_rows, (len(ch0), min_rows)
    np.testing.assert_array_equal(ch0, ramp(np.arange(len(ch0))))
    assert np.all(np.diff(ts) > 0)
    # The IPC stream reads to its last complete batch.
    with open(run_dir / "ramp.arrows", "rb") as fh:
        reader = ipc.open_stream(fh)
        got = 0
        try:
            for batch in reader:
                got += batch.num_rows
        except (pa.ArrowInvalid, OSError):
            pass  # a torn last batch is expected after SIGKILL
    assert got >= min_rows and got % BATCH["ramp"] == 0
    # Every closed parquet segment reads.
    for seg in run_dir.glob("*.parquet"):
        pq.read_table(seg)


def test_output_that_cannot_be_written_is_refused_before_acquisition(tmp_path):
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("x")
    cfg = write_config(tmp_path, CONFIG.format(formats='"hdf5"', flush="1s"))
    r = run(["run", str(cfg), "--duration", "5s", "--output", str(blocker / "runs")])
    assert r.returncode == 1
    assert str(blocker) in r.stderr
    assert "cannot create output directory" in r.stderr


def test_a_second_process_follows_the_growing_file_in_swmr_mode(tmp_path):
    proc, out = _start(tmp_path, flush="300ms", formats='"hdf5"')
    try:
        deadline = time.monotonic() + 30
        h5path = None
        while time.monotonic() < deadline and h5path is None:
            found = list(out.glob("*/run.h5")) if out.exists() else []
            h5path = found[0] if found else None
            time.sleep(0.05)
        assert h5path is not None, "run.h5 never appeared"
        seen = []
        f = None
        while time.monotonic() < deadline and len(seen) < 4:
            try:
                f = f or h5py.File(h5path, "r", libver="latest", swmr=True)
            except OSError:
                time.sleep(0.1)  # not yet in SWMR mode (before the first flush)
                continue
            ds = f["ramp/ch0"]
            ds.refresh()
            if ds.shape[0] > (seen[-1] if seen else 0):
                seen.append(ds.shape[0])
            time.sleep(0.35)
        assert len(seen) >= 4, f"row count did not keep rising while acquiring: {seen}"
        assert seen == sorted(seen) and seen[-1] > seen[0] > 0
        # What the follower reads is already correct data.
        np.testing.assert_array_equal(f["ramp/ch0"][: seen[-1]], ramp(np.arange(seen[-1])))
        f.close()
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=60)
    assert proc.returncode == 0


SLOW_TO_STOP = """
[instruments.ramp]
driver = "sim.ramp"
options = { rate_hz = 2000000.0, batch_size = 4000 }

[storage]
formats = ["hdf5", "csv"]
flush_interval = "200ms"
capacity = 256
"""


def test_a_second_ctrl_c_stops_at_once_and_the_files_still_open(tmp_path):
    # CSV is slower than the source, so the first Ctrl-C's clean stop (draining the storage
    # queue) takes long enough for a user to press Ctrl-C again.
    cfg = write_config(tmp_path, SLOW_TO_STOP)
    out = tmp_path / "out"
    proc = subprocess.Popen([ARROWDAQ, "run", str(cfg), "--duration", "60s", "--output", str(out)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(2.5)
    proc.send_signal(signal.SIGINT)
    time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=30)
    assert proc.returncode != 0
    assert "second signal" in stderr
    run_dir = only_run_dir(out)
    with h5py.File(run_dir / "run.h5", "r", libver="latest", swmr=True) as f:
        ch0 = f["ramp/ch0"][:]
    assert len(ch0) > 0
    np.testing.assert_array_equal(ch0, ramp(np.arange(len(ch0))))

"""`arrowdaq run` end to end on simulated instruments: every row of every stream is in every
format, values equal the generators' formulas, timestamps follow the sample clock, a lossless
consumer saw every sequence number; Ctrl-C, SIGTERM and SIGKILL leave readable files; bad output
directories are refused before acquisition."""
import signal
import time

import numpy as np
import pytest

from arrowdaq_testlib import (load_summary, noise, only_run_dir, parquet_segments,
                             process_state, ramp, read_hdf5_stream, read_ipc_stream,
                             read_parquet_stream, read_stream, run, sample_offsets_ns,
                             signal_and_wait_taken, sine, write_config)

CONFIG = """
[run]
name = "e2e"
progress_interval = "100ms"

[instruments.ramp]
driver = "sim.ramp"
options = {{ rate_hz = 20000.0, batch_size = 200, channels = 2, unit = "mm" }}

[instruments.sine]
driver = "sim.sine"
options = {{ rate_hz = 5000.0, batch_size = 100, channels = 3, frequency_hz = 7.0, amplitude = 2.0 }}

[instruments.noise]
driver = "sim.noise"
options = {{ rate_hz = 8000.0, batch_size = 400, channels = 2, seed = 7, amplitude = 0.5, offset = 1.0 }}

# A lossless consumer: it must be handed every packet of every stream (delivered == packets)
# and its monitor, which checks the sequence numbers it sees, must find none missing.
[[subscriptions]]
name = "audit"
streams = ["*"]
capacity = 4
policy = "block"

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
    assert len(ts) == rows, (stream, len(ts), rows)
    assert len(columns) == CHANNELS[stream]
    np.testing.assert_array_equal(ts - ts[0], sample_offsets_ns(n, RATES[stream]))
    assert np.all(np.diff(ts) > 0)
    for c, col in enumerate(columns):
        assert len(col) == rows, (stream, c, len(col), rows)
        np.testing.assert_allclose(col, expected(stream, n, c), rtol=1e-12, atol=1e-12,
                                   err_msg=f"{stream} ch{c}")


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("e2e")
    fmt = '"hdf5", "arrow", "parquet", "csv"'
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
    packets = 0
    for s in summary["streams"]:
        assert s["packets"] > 0
        assert s["rows"] == s["packets"] * BATCH[s["name"]]
        # As the recording's consumer saw them: 0..packets-1, none missing.
        assert s["first_sequence"] == 0 and s["last_sequence"] == s["packets"] - 1
        assert s["missing_sequences"] == 0
        packets += s["packets"]
    subs = {s["name"]: s for s in summary["subscriptions"]}
    # The lossless consumer was handed every packet of every stream and found no sequence
    # number missing (the monitor counts gaps between the numbers it sees and after the last).
    audit = subs["audit"]
    assert audit["policy"] == "block"
    assert audit["offered"] == audit["delivered"] == packets
    assert audit["dropped"] == 0 and audit["missed_by_sequence"] == 0
    # The lossy live view: whatever it dropped, it counted, and the count equals what the
    # consumer found missing. (Whether it drops here depends on scheduling; the overload made
    # on purpose is in pipeline_router_test, where a frozen consumer drops exactly 1997.)
    live = subs["live"]
    assert live["policy"] == "drop_newest"
    assert live["offered"] == packets
    assert live["offered"] == live["delivered"] + live["dropped"]
    assert live["dropped"] == live["missed_by_sequence"]
    assert summary["storage"]["rows"] == sum(s["rows"] for s in summary["streams"])
    assert summary["storage"]["not_stored_packets"] == 0
    assert "files:" in r.stdout and str(run_dir) in r.stdout
    assert (run_dir / "config.toml").read_text().startswith("\n[run]")


def test_hdf5_holds_every_row_with_the_right_values(finished_run):
    run_dir, summary, _ = finished_run
    import h5py
    with h5py.File(run_dir / "run.h5", "r") as f:
        assert f.attrs["format_version"] in ("2", b"2")
        assert f.attrs["stop_time"]
        assert f["ramp/ch0"].attrs["units"] in ("mm", b"mm")
    for s in summary["streams"]:
        ts, cols = read_hdf5_stream(run_dir, s["name"], CHANNELS[s["name"]])
        check_values(s["name"], ts, cols, s["rows"])


@pytest.mark.parametrize("fmt", ["arrow", "parquet", "csv"])
def test_ipc_parquet_and_csv_hold_every_row_with_the_right_values(finished_run, fmt):
    run_dir, summary, _ = finished_run
    for s in summary["streams"]:
        name = s["name"]
        ts, cols = read_stream(run_dir, fmt, name, CHANNELS[name])
        check_values(name, ts, cols, s["rows"])
    if fmt == "parquet":  # 2.5 s in 1 s segments: the rolling really happened
        assert all(len(parquet_segments(run_dir, s["name"])) >= 2 for s in summary["streams"])


def test_inspect_reads_our_files(finished_run):
    run_dir, summary, _ = finished_run
    r = run(["inspect", str(run_dir / "run.h5")])
    assert r.returncode == 0, r.stderr
    for s in summary["streams"]:
        assert f"stream {s['name']}: {s['rows']} rows" in r.stdout
    bad = run_dir / "summary.json"
    r = run(["inspect", str(bad)])
    assert r.returncode == 1 and "summary.json" in r.stderr



def _config(flush="500ms", formats='"hdf5", "arrow", "parquet"'):
    return CONFIG.format(formats=formats, flush=flush)


def _some_of_every_stream(seconds):
    return {s: int(seconds * rate) for s, rate in RATES.items()}


def test_sigint_stops_cleanly_and_writes_the_summary(started):
    r = started(_config())
    r.wait_rows(_some_of_every_stream(1.0))
    r.proc.send_signal(signal.SIGINT)
    code, _, stderr = r.finish()
    assert code == 0, stderr
    run_dir = only_run_dir(r.out)
    summary = load_summary(run_dir)
    assert summary["outcome"] == "stopped"
    import h5py
    with h5py.File(run_dir / "run.h5", "r") as f:  # closed properly: opens without SWMR
        assert f.attrs["stop_time"]
    for s in summary["streams"]:
        assert s["rows"] >= _some_of_every_stream(1.0)[s["name"]]
        ts, cols = read_hdf5_stream(run_dir, s["name"], CHANNELS[s["name"]])
        check_values(s["name"], ts, cols, s["rows"])


def test_sigkill_leaves_files_that_open_with_data_up_to_the_last_flush(started):
    flush_s = 0.5
    r = started(_config(flush="500ms"))
    # Acquire until more than two 1 s Parquet segments have closed, then kill.
    r.wait_rows(_some_of_every_stream(3.0))
    kill_time = time.monotonic()
    r.kill()
    r.finish()
    run_dir = only_run_dir(r.out)
    # docs/reliability.md: every row up to the kill minus two flush intervals is there. The
    # progress lines say how many rows each stream had been published by then.
    by = kill_time - 2 * flush_s
    for stream, channels in CHANNELS.items():
        must_have = r.rows_seen(stream, by=by)
        assert must_have > 0, (stream, r.progress[:5])
        # run.h5 opens as a SWMR reader (no repair), every column contiguous and correct.
        ts, cols = read_hdf5_stream(run_dir, stream, channels, swmr=True)
        assert len(ts) >= must_have, (stream, len(ts), must_have)
        check_values(stream, ts, cols, len(ts))
        # The unfinished IPC file (.arrow.partial) reads to its last complete batch (it writes
        # through: no flush needed).
        ts, cols = read_ipc_stream(run_dir, stream, channels, torn_ok=True)
        assert len(ts) >= must_have and len(ts) % BATCH[stream] == 0, (stream, len(ts))
        check_values(stream, ts, cols, len(ts))
        # Every closed Parquet part reads; after 3 s of 1 s parts there are some, and
        # together they hold the stream's first rows, correct.
        assert len(parquet_segments(run_dir, stream)) >= 2, list(run_dir.iterdir())
        ts, cols = read_parquet_stream(run_dir, stream, channels)
        check_values(stream, ts, cols, len(ts))


def test_output_that_cannot_be_written_is_refused_before_acquisition(tmp_path):
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("x")
    cfg = write_config(tmp_path, CONFIG.format(formats='"hdf5"', flush="1s"))
    r = run(["run", str(cfg), "--duration", "5s", "--output", str(blocker / "runs")])
    assert r.returncode == 1
    assert str(blocker) in r.stderr
    assert "cannot create output directory" in r.stderr


def test_a_second_process_follows_the_growing_file_in_swmr_mode_and_sigterm_stops_cleanly(
        started):
    import h5py
    r = started(_config(flush="300ms", formats='"hdf5"'))
    r.wait_rows({"ramp": 1})
    (h5path,) = r.out.glob("*/run.h5")
    deadline = time.monotonic() + 60
    seen = []
    f = None
    try:
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
            time.sleep(0.1)
        assert len(seen) >= 4, f"row count did not keep rising while acquiring: {seen}"
        assert seen == sorted(seen) and seen[-1] > seen[0] > 0
        # What the follower reads is already correct data.
        np.testing.assert_array_equal(f["ramp/ch0"][: seen[-1]], ramp(np.arange(seen[-1])))
    finally:
        if f is not None:
            f.close()
    # SIGTERM stops like Ctrl-C: exit 0, outcome "stopped", files closed (a plain open works).
    r.proc.send_signal(signal.SIGTERM)
    code, _, stderr = r.finish()
    assert code == 0, stderr
    run_dir = only_run_dir(r.out)
    summary = load_summary(run_dir)
    assert summary["outcome"] == "stopped"
    for s in summary["streams"]:
        ts, cols = read_hdf5_stream(run_dir, s["name"], CHANNELS[s["name"]])
        check_values(s["name"], ts, cols, s["rows"])


# A source whose batch takes 30 s: a clean stop waits for it (the instrument's stop times out
# after 20 s), so after the first Ctrl-C the run is still stopping for many seconds.
SLOW_TO_STOP = """
[run]
progress_interval = "100ms"

[instruments.ramp]
driver = "sim.ramp"
options = { rate_hz = 20000.0, batch_size = 200 }

[instruments.slow]
driver = "sim.ramp"
options = { rate_hz = 1.0, batch_size = 30 }

[storage]
formats = ["hdf5"]
flush_interval = "200ms"
"""


def test_a_second_ctrl_c_stops_at_once_and_the_files_still_open(started):
    r = started(SLOW_TO_STOP)
    r.wait_rows({"ramp": 20000})  # a second of data, several flushes
    # First Ctrl-C, and wait until the process has taken it (its handler ran).
    signal_and_wait_taken(r.proc, signal.SIGINT)
    # Freeze the stopping process, so that the second signal is certain to arrive while the
    # clean stop is still under way (two SIGINTs pending at once would merge into one).
    r.proc.send_signal(signal.SIGSTOP)
    deadline = time.monotonic() + 30
    while process_state(r.proc.pid) != "T":
        assert r.proc.poll() is None, "the clean stop ended before a second Ctrl-C could come"
        assert time.monotonic() < deadline
        time.sleep(0.001)
    r.proc.send_signal(signal.SIGINT)
    t0 = time.monotonic()
    r.proc.send_signal(signal.SIGCONT)
    code, _, stderr = r.finish(timeout=60)
    took = time.monotonic() - t0
    assert code == 130, (code, stderr[-2000:])
    assert "second signal" in stderr
    # "At once": the clean stop would have waited ~20 s for the slow instrument.
    assert took < 10, took
    run_dir = only_run_dir(r.out)
    assert not (run_dir / "summary.json").exists()  # it did not finish the clean stop
    ts, (ch0,) = read_hdf5_stream(run_dir, "ramp", 1, swmr=True)
    assert len(ch0) > 0
    np.testing.assert_array_equal(ch0, ramp(np.arange(len(ch0))))
    np.testing.assert_array_equal(ts - ts[0], sample_offsets_ns(np.arange(len(ts)), 20000.0))

"""Oracle tests of the storage writers: h5py, pyarrow (IPC, Parquet, CSV) read what
storage_write_fixture wrote; a second process follows a growing run.h5 in SWMR mode; a
SIGKILLed writer leaves files readable up to its last flush.

Fixture data (see src/arrowdaq/storage/storage_write_fixture.cc): stream `a`,
ch0 [V] = n, ch1 [A] = 0.5 n, timestamp = T0 + n ms.
"""
import csv
import os
import signal
import subprocess
import time
from pathlib import Path

import h5py
import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.ipc
import pyarrow.parquet as pq
import pytest

FIXTURE = os.environ.get("ARROWDAQ_STORAGE_WRITE_FIXTURE_BIN")
T0 = 1_700_000_000_000_000_000
MS = 1_000_000

pytestmark = pytest.mark.skipif(not FIXTURE, reason="ARROWDAQ_STORAGE_WRITE_FIXTURE_BIN not set")


def run_fixture(out: Path, *args: str) -> None:
    subprocess.run([FIXTURE, str(out), *args], check=True, capture_output=True, timeout=300)


def check_values(ts, ch0, ch1, first=0):
    n = np.arange(first, first + len(ts), dtype=np.int64)
    np.testing.assert_array_equal(np.asarray(ts, dtype=np.int64), T0 + n * MS)
    np.testing.assert_array_equal(ch0, n.astype(np.float64))
    np.testing.assert_array_equal(ch1, 0.5 * n.astype(np.float64))


ROWS = 100_000


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    out = tmp_path_factory.mktemp("run")
    run_fixture(out, "--rows", str(ROWS), "--batch", "1000", "--segment-rows", "25000",
                "--gzip", "4")
    return out


def test_hdf5_values_attributes_and_events(written):
    with h5py.File(written / "run.h5", "r") as f:
        assert f.attrs["format_version"] == "1"
        assert f.attrs["run_id"] == "fixture-run"
        assert f.attrs["host"] == "fixture-host"
        assert "sim_ramp" in f.attrs["config"]
        assert f.attrs["start_time"] == b"2023-11-14T22:13:20.000000000Z"
        assert f.attrs["stop_time"].startswith(b"20") and f.attrs["stop_time"].endswith(b"Z")
        g = f["a"]
        assert list(g) == ["timestamp", "ch0", "ch1"]
        assert g.attrs["driver"] == "sim_ramp" and g.attrs["resource"] == "SIM::ramp"
        assert g["timestamp"].attrs["units"] == "ns since 1970-01-01T00:00:00Z (UTC)"
        assert g["ch0"].attrs["unit"] == "V" and g["ch1"].attrs["unit"] == "A"
        assert g["ch0"].attrs["description"] == "n"
        assert g["ch0"].dtype == np.float64 and g["timestamp"].dtype == np.int64
        assert g["ch0"].maxshape == (None,) and g["ch0"].chunks == (65536,)
        assert g["ch0"].compression == "gzip" and g["ch0"].shuffle
        assert g["ch0"].shape == (ROWS,)
        check_values(g["timestamp"][:], g["ch0"][:], g["ch1"][:])
        ev = f["events"][:]
        assert isinstance(ev, np.ndarray)
        assert ev.dtype.names == ("time", "stream", "kind", "message")
        assert list(ev["kind"]) == [b"info", b"fault"]
        assert list(ev["stream"]) == [b"a", b"a"]
        assert ev["message"][1] == b"simulated fault"
        assert ev["time"][0] == T0


def test_arrow_ipc_stream(written):
    with pa.ipc.open_stream(written / "a.arrows") as reader:
        table = reader.read_all()
    assert table.schema.metadata[b"arrowdaq.format_version"] == b"1"
    assert table.schema.field("timestamp").type == pa.timestamp("ns", tz="UTC")
    assert table.schema.field("ch1").metadata[b"unit"] == b"A"
    assert table.num_rows == ROWS
    check_values(table["timestamp"].cast(pa.int64()).to_numpy(), table["ch0"].to_numpy(),
                 table["ch1"].to_numpy())


def test_parquet_segments(written):
    files = sorted(written.glob("a.*.parquet"))
    assert [p.name for p in files] == [f"a.{i:05d}.parquet" for i in range(4)]
    assert not list(written.glob("*.partial"))
    first = 0
    for p in files:
        table = pq.read_table(p)
        assert table.num_rows == 25000
        assert table.schema.metadata[b"arrowdaq.format_version"] == b"1"
        assert table.schema.field("timestamp").type == pa.timestamp("ns", tz="UTC")
        assert table.schema.field("ch0").metadata[b"unit"] == b"V"
        assert pq.ParquetFile(p).metadata.row_group(0).column(1).compression == "ZSTD"
        check_values(table["timestamp"].cast(pa.int64()).to_numpy(), table["ch0"].to_numpy(),
                     table["ch1"].to_numpy(), first)
        first += table.num_rows
    # The segments of a stream read as one table (the run directory holds other formats too,
    # so name the segments rather than the directory).
    assert pq.read_table([str(p) for p in files], columns=["ch0"]).num_rows == ROWS


def test_csv(written):
    table = pacsv.read_csv(written / "a.csv")
    assert table.column_names == ["timestamp", "ch0 [V]", "ch1 [A]"]
    assert table.schema.field("timestamp").type == pa.timestamp("ns", tz="UTC")
    assert table.schema.field("ch0 [V]").type == pa.float64()
    check_values(table["timestamp"].cast(pa.int64()).to_numpy(), table["ch0 [V]"].to_numpy(),
                 table["ch1 [A]"].to_numpy())
    with open(written / "a.csv", newline="") as f:
        rows = list(csv.reader(f))
    assert rows[1] == ["2023-11-14T22:13:20.000000000Z", "0.0", "0.0"]
    assert rows[3] == ["2023-11-14T22:13:20.002000000Z", "2.0", "1.0"]


def start_slow(out: Path, *extra: str) -> subprocess.Popen:
    return subprocess.Popen(
        [FIXTURE, str(out), "--rows", "10000000", "--batch", "200", "--slow-ms", "20",
         "--flush-every", "5", *extra],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_flushed(proc: subprocess.Popen, at_least: int) -> int:
    """Read 'flushed N' lines until N >= at_least; return N."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            raise AssertionError(f"fixture ended early: {proc.stderr.read()}")
        if line.startswith("flushed "):
            n = int(line.split()[1])
            if n >= at_least:
                return n
    raise AssertionError("fixture too slow")


def test_swmr_reader_follows_growing_file(tmp_path):
    proc = start_slow(tmp_path)
    try:
        wait_flushed(proc, 1000)
        seen = []
        with h5py.File(tmp_path / "run.h5", "r", libver="latest", swmr=True) as f:
            ts = f["a/timestamp"]
            ch0 = f["a/ch0"]
            for _ in range(4):
                flushed = wait_flushed(proc, (seen[-1] if seen else 0) + 1000)
                ts.refresh()
                ch0.refresh()
                rows = ts.shape[0]
                assert rows >= flushed
                seen.append(rows)
            n = min(ts.shape[0], ch0.shape[0])
            np.testing.assert_array_equal(ts[:n], T0 + np.arange(n, dtype=np.int64) * MS)
            np.testing.assert_array_equal(ch0[:n], np.arange(n, dtype=np.float64))
        assert all(b > a for a, b in zip(seen, seen[1:])), seen
    finally:
        proc.kill()
        proc.wait()


def test_sigkill_leaves_readable_files(tmp_path):
    proc = start_slow(tmp_path, "--segment-rows", "2000")
    try:
        flushed = wait_flushed(proc, 7000)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    assert proc.returncode == -signal.SIGKILL

    # HDF5: a killed SWMR writer leaves its file open for SWMR readers (a plain open would
    # need `h5clear -s` first, see docs/file-format.md).
    with h5py.File(tmp_path / "run.h5", "r", libver="latest", swmr=True) as f:
        assert f.attrs["format_version"] == "1"
        assert f.attrs["stop_time"] == b""
        g = f["a"]
        n = min(g["timestamp"].shape[0], g["ch0"].shape[0], g["ch1"].shape[0])
        assert n >= flushed
        check_values(g["timestamp"][:n], g["ch0"][:n], g["ch1"][:n])
        assert list(f["events"]["kind"]) == [b"info", b"fault"]

    # IPC: every complete batch up to the kill.
    rows = 0
    batches = []
    with open(tmp_path / "a.arrows", "rb") as fh:
        reader = pa.ipc.open_stream(fh)
        while True:
            try:
                batches.append(reader.read_next_batch())
            except StopIteration:
                break
            except (pa.ArrowInvalid, OSError):
                break  # the batch being written when the process died
    table = pa.Table.from_batches(batches)
    rows = table.num_rows
    assert rows >= flushed
    check_values(table["timestamp"].cast(pa.int64()).to_numpy(), table["ch0"].to_numpy(),
                 table["ch1"].to_numpy())

    # Parquet: every closed segment is complete; the open one is only a .partial file.
    segments = sorted(tmp_path.glob("a.*.parquet"))
    assert len(segments) >= flushed // 2000
    first = 0
    for p in segments:
        t = pq.read_table(p)
        assert t.num_rows == 2000
        check_values(t["timestamp"].cast(pa.int64()).to_numpy(), t["ch0"].to_numpy(),
                     t["ch1"].to_numpy(), first)
        first += 2000

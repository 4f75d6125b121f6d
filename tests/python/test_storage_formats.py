"""Oracle tests of the storage writers: h5py, pyarrow (IPC, Parquet, CSV) read what
storage_write_fixture wrote; a second process follows a growing run.h5 in SWMR mode; a
SIGKILLed writer leaves files readable up to its last flush.

Fixture data (see src/arrowdaq/storage/storage_write_fixture.cc): stream `a`,
ch0 [V] = n, ch1 [A] = 0.5 n, timestamp = T0 + n ms.
"""
import csv
import json
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
        assert f.attrs["format_version"] == "2"
        assert f.attrs["run_id"] == "fixture-run"
        assert f.attrs["host"] == "fixture-host"
        assert "sim_ramp" in f.attrs["config"]
        assert f.attrs["start_time"] == b"2023-11-14T22:13:20.000000000Z"
        assert f.attrs["stop_time"].startswith(b"20") and f.attrs["stop_time"].endswith(b"Z")
        g = f["a"]
        assert list(g) == ["timestamp", "ch0", "ch1"]
        assert g.attrs["driver"] == "sim_ramp" and g.attrs["resource"] == "SIM::ramp"
        # Numbers in the stream's metadata are stored as numbers.
        assert g.attrs["rate_hz"] == 1000.0 and g.attrs["rate_hz"].dtype == np.float64
        assert g.attrs["channels"] == 2 and g.attrs["channels"].dtype == np.int64
        assert g.attrs["serial"] == "007"
        # One spelling of units on every dataset.
        assert g["timestamp"].attrs["units"] == "nanoseconds since 1970-01-01T00:00:00Z"
        assert g["ch0"].attrs["units"] == "V" and g["ch1"].attrs["units"] == "A"
        assert "unit" not in g["ch0"].attrs
        assert f["events"].attrs["units"] == "nanoseconds since 1970-01-01T00:00:00Z"
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


def test_hdf5_nexus_and_dimension_scales(written):
    with h5py.File(written / "run.h5", "r") as f:
        assert f.attrs["NX_class"] == "NXroot" and f.attrs["default"] == "entry"
        entry = f["entry"]
        assert entry.attrs["NX_class"] == "NXentry" and entry.attrs["default"] == "a"
        # /entry/a is the group /a (a hard link), not a copy.
        assert entry["a"] == f["a"]
        g = f["a"]
        assert g.attrs["NX_class"] == "NXdata"
        assert g.attrs["signal"] == "ch0" and g.attrs["axes"] == "timestamp"
        assert list(g.attrs["auxiliary_signals"]) == ["ch1"]
        assert g.attrs["timestamp_indices"] == 0
        # h5py sees the time axis as the dimension scale of every column.
        assert g["timestamp"].is_scale
        for name in ("ch0", "ch1"):
            dim = g[name].dims[0]
            assert len(dim) == 1 and dim[0] == g["timestamp"] and dim.label == ""
            assert dim.keys() == ["timestamp"]


def test_silx_finds_the_default_plot(written):
    silx_nxdata = pytest.importorskip("silx.io.nxdata")
    with h5py.File(written / "run.h5", "r") as f:
        nx = silx_nxdata.get_default(f)
        assert nx is not None and nx.is_valid
        assert nx.group.name == "/entry/a"
        assert nx.signal.name == "/entry/a/ch0"
        assert [a.name for a in nx.axes] == ["/entry/a/timestamp"]
        assert nx.auxiliary_signals_names == ["ch1"]
        assert nx.signal.shape == (ROWS,)


def test_xarray_opens_a_stream_with_its_time_axis(written):
    xr = pytest.importorskip("xarray")
    pytest.importorskip("h5netcdf")
    with xr.open_dataset(written / "run.h5", group="a", engine="h5netcdf") as ds:
        assert list(ds.dims) == ["timestamp"] and ds.sizes["timestamp"] == ROWS
        assert ds["timestamp"].dtype == np.dtype("datetime64[ns]")
        assert ds["ch0"].attrs["units"] == "V"
        df = ds.to_dataframe()
    assert list(df.columns) == ["ch0", "ch1"] and len(df) == ROWS
    check_values(df.index.values.astype(np.int64), df["ch0"].to_numpy(), df["ch1"].to_numpy())


def test_arrow_ipc_file(written):
    assert not list(written.glob("*.partial"))
    with pa.ipc.open_file(written / "a.arrow") as reader:
        assert reader.num_record_batches == ROWS // 1000
        table = reader.read_all()
    assert table.schema.metadata[b"arrowdaq.format_version"] == b"2"
    assert table.schema.field("timestamp").type == pa.timestamp("ns", tz="UTC")
    assert table.schema.field("ch1").metadata[b"unit"] == b"A"
    assert table.num_rows == ROWS
    check_values(table["timestamp"].cast(pa.int64()).to_numpy(), table["ch0"].to_numpy(),
                 table["ch1"].to_numpy())
    # Memory-mapped: zero-copy random access through the footer.
    with pa.memory_map(str(written / "a.arrow")) as source:
        last = pa.ipc.open_file(source).get_batch(ROWS // 1000 - 1)
    check_values(last["timestamp"].cast(pa.int64()).to_numpy(), last["ch0"].to_numpy(),
                 last["ch1"].to_numpy(), ROWS - 1000)


def test_arrow_ipc_file_scans_lazily_in_polars_and_duckdb(written):
    pl = pytest.importorskip("polars")
    duckdb = pytest.importorskip("duckdb")
    df = pl.scan_ipc(written / "a.arrow").filter(pl.col("ch0") >= 99_000).collect()
    assert df.height == 1000 and df.schema["timestamp"] == pl.Datetime("ns", "UTC")
    check_values(df["timestamp"].cast(pl.Int64).to_numpy(), df["ch0"].to_numpy(),
                 df["ch1"].to_numpy(), 99_000)
    # DuckDB scans a pyarrow dataset over the file lazily (its replacement scan finds the
    # Python variable by name; DuckDB's own Arrow-file reader is an extension to download).
    import pyarrow.dataset as pads
    a = pads.dataset(written / "a.arrow", format="ipc")
    n, total = duckdb.execute("SELECT count(*), sum(ch0) FROM a").fetchone()
    assert a.count_rows() == ROWS
    assert n == ROWS and total == ROWS * (ROWS - 1) / 2


def test_parquet_parts_in_the_stream_directory(written):
    files = sorted((written / "a").glob("*.parquet"))
    assert [p.name for p in files] == [f"part-{i:05d}.parquet" for i in range(4)]
    assert not list(written.glob("**/*.partial"))
    assert not list(written.glob("*.parquet"))
    first = 0
    for p in files:
        table = pq.read_table(p)
        assert table.num_rows == 25000
        assert table.schema.metadata[b"arrowdaq.format_version"] == b"2"
        assert table.schema.field("timestamp").type == pa.timestamp("ns", tz="UTC")
        assert table.schema.field("ch0").metadata[b"unit"] == b"V"
        assert pq.ParquetFile(p).metadata.row_group(0).column(1).compression == "ZSTD"
        check_values(table["timestamp"].cast(pa.int64()).to_numpy(), table["ch0"].to_numpy(),
                     table["ch1"].to_numpy(), first)
        first += table.num_rows
    # The stream's directory reads as one table.
    assert pq.read_table(written / "a", columns=["ch0"]).num_rows == ROWS
    # Units also as key-value metadata, for readers that ignore Arrow field metadata.
    units = json.loads(pq.read_metadata(files[0]).metadata[b"arrowdaq.units"])
    assert units == {"timestamp": "nanoseconds since 1970-01-01T00:00:00Z", "ch0": "V",
                     "ch1": "A"}


def test_csv(written):
    table = pacsv.read_csv(written / "a.csv")
    # The column names of every other format.
    assert table.column_names == ["timestamp", "ch0", "ch1"]
    assert table.schema.field("timestamp").type == pa.timestamp("ns", tz="UTC")
    assert table.schema.field("ch0").type == pa.float64()
    check_values(table["timestamp"].cast(pa.int64()).to_numpy(), table["ch0"].to_numpy(),
                 table["ch1"].to_numpy())
    with open(written / "a.csv", newline="") as f:
        rows = list(csv.reader(f))
    assert rows[1] == ["2023-11-14T22:13:20.000000000Z", "0.0", "0.0"]
    assert rows[3] == ["2023-11-14T22:13:20.002000000Z", "2.0", "1.0"]
    with open(written / "a.units.csv", newline="") as f:
        units = list(csv.DictReader(f))
    assert [(u["column"], u["units"], u["description"]) for u in units] == [
        ("timestamp", "", "ISO 8601 UTC with nanoseconds"), ("ch0", "V", "n"), ("ch1", "A", "n/2")]


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
        assert f.attrs["format_version"] == "2"
        assert f.attrs["stop_time"] == b""
        g = f["a"]
        n = min(g["timestamp"].shape[0], g["ch0"].shape[0], g["ch1"].shape[0])
        assert n >= flushed
        check_values(g["timestamp"][:n], g["ch0"][:n], g["ch1"][:n])
        assert list(f["events"]["kind"]) == [b"info", b"fault"]

    # IPC: the file has no footer (the writer never closed it) and keeps its .partial name;
    # after the 8-byte magic it is a stream holding every complete batch up to the kill.
    assert not (tmp_path / "a.arrow").exists()
    batches = []
    with pa.memory_map(str(tmp_path / "a.arrow.partial")) as source:
        reader = pa.ipc.open_stream(source.read_buffer()[8:])
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

    # Parquet: every closed part is complete; the open one is only a .partial file.
    segments = sorted((tmp_path / "a").glob("*.parquet"))
    assert len(segments) >= flushed // 2000
    assert len(list((tmp_path / "a").glob("*.partial"))) == 1
    first = 0
    for p in segments:
        t = pq.read_table(p)
        assert t.num_rows == 2000
        check_values(t["timestamp"].cast(pa.int64()).to_numpy(), t["ch0"].to_numpy(),
                     t["ch1"].to_numpy(), first)
        first += 2000

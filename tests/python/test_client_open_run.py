"""arrowdaq.open_run on runs written by `arrowdaq run` in all four formats: the same tables,
units and values as h5py / pyarrow read directly, and the same across formats."""
import socket

import h5py
import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

import arrowdaq
from arrowdaq_testlib import load_summary, noise, only_run_dir, ramp, run, write_config

CONFIG = """
[instruments.ramp]
driver = "sim.ramp"
options = {{ rate_hz = 4000.0, batch_size = 200, channels = 2, unit = "mm" }}

[instruments.noise]
driver = "sim.noise"
options = {{ rate_hz = 2000.0, batch_size = 100, channels = 2, seed = 7 }}

# Nothing listens on its port: the run goes on without it and its "fault" events are stored.
[instruments.dmm]
driver = "keysight.34461a"
resource = "TCPIP::127.0.0.1::{port}::SOCKET"
options = {{ rate_hz = 20.0, batch_size = 2 }}
on_failure = "continue"
reconnect_attempts = 1
reconnect_backoff = "200ms"

[storage]
formats = ["hdf5", "arrow", "parquet", "csv"]
flush_interval = "300ms"
parquet_segment = "500ms"
"""
CAMERA = """
[instruments.camera]
driver = "sim.camera"
options = { width = 32, height = 24, fps = 40.0 }

[storage]
formats = ["hdf5", "arrow"]
"""


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    base = tmp_path_factory.mktemp("runs")
    dirs = {}
    with socket.socket() as s:  # a port nothing listens on once closed
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    for key, config in (("run", CONFIG.format(port=port)), ("camera", CAMERA)):
        out = base / key
        r = run(["run", str(write_config(base, config, name=f"{key}.toml")), "--duration", "1.5s",
                 "--output", str(out)], timeout=120)
        assert r.returncode == 0, r.stderr
        dirs[key] = only_run_dir(out)
    return dirs


def ints(col):
    return col.cast(pa.int64()).to_numpy() if pa.types.is_timestamp(col.type) else col.to_numpy()


@pytest.mark.parametrize("fmt", ["hdf5", "arrow", "parquet", "csv"])
def test_every_format_gives_the_tables_the_direct_readers_give(runs, fmt):
    d = runs["run"]
    r = arrowdaq.open_run(d, format=fmt)
    assert r.format == fmt and set(r.streams) - {"dmm"} == {"noise", "ramp"}
    if fmt != "parquet":  # Parquet has no file for a stream without rows
        assert "dmm" in r.streams and r.table("dmm").num_rows == 0
    assert r.formats == ["hdf5", "arrow", "parquet", "csv"]
    summary = load_summary(d)
    assert r.summary == summary and r.run_id == summary["run_id"]
    rows = {s["name"]: s for s in summary["streams"]}
    for stream in ("ramp", "noise"):
        t = r.table(stream)
        assert t.column_names == ["timestamp", "ch0", "ch1"]
        assert t.schema.field("timestamp").type == pa.timestamp("ns", tz="UTC")
        assert t.schema.field("ch0").metadata[b"unit"] == (b"mm" if stream == "ramp" else b"V")
        if fmt == "hdf5":
            with h5py.File(d / "run.h5", "r") as f:
                direct = {k: f[stream][k][:] for k in ("timestamp", "ch0", "ch1")}
                assert f[stream]["ch0"].attrs["units"] == t.schema.field("ch0").metadata[b"unit"].decode()
            for k, v in direct.items():
                np.testing.assert_array_equal(ints(t.column(k)), v)
            assert t.schema.metadata[b"driver"] == f"sim.{stream}".encode()
        elif fmt == "arrow":
            assert t.equals(pa.ipc.open_file(d / f"{stream}.arrow").read_all(), check_metadata=True)
        elif fmt == "parquet":
            assert t.equals(pq.read_table(d / stream), check_metadata=True)
        else:
            direct = pacsv.read_csv(d / f"{stream}.csv")
            for k in ("ch0", "ch1"):
                np.testing.assert_array_equal(t.column(k).to_numpy(), direct.column(k).to_numpy())
            np.testing.assert_array_equal(ints(t.column("timestamp")),
                                          direct.column("timestamp").cast(pa.timestamp("ns", tz="UTC")).cast(pa.int64()).to_numpy())
        # Values: the formulas at consecutive sample indices from 0.
        n = np.arange(t.num_rows)
        expected = ramp if stream == "ramp" else (lambda n, c: noise(n, c, 2, 7))
        for c in range(2):
            np.testing.assert_allclose(t.column(f"ch{c}").to_numpy(), expected(n, c), rtol=1e-12, atol=1e-12)
        assert t.num_rows >= 1000
    assert r.tables.keys() == set(r.streams)
    with pytest.raises(arrowdaq.UnknownStreamError, match=r"no stream 'nope'.*noise"):
        r.table("nope")


def test_formats_agree_with_each_other_and_events_come_from_run_h5(runs):
    d = runs["run"]
    by_fmt = {f: arrowdaq.open_run(d, format=f) for f in ("hdf5", "arrow", "parquet", "csv")}
    for stream in ("ramp", "noise"):
        ref = by_fmt["arrow"].table(stream)
        for f in ("hdf5", "parquet", "csv"):
            t = by_fmt[f].table(stream)
            assert t.num_rows == ref.num_rows, (f, stream)
            for k in ref.column_names:
                np.testing.assert_array_equal(ints(t.column(k)), ints(ref.column(k)), err_msg=f"{f} {stream} {k}")
    default = arrowdaq.open_run(d)
    assert default.format == "hdf5"
    with h5py.File(d / "run.h5", "r") as f:
        raw = f["events"][:]
    events = default.events
    assert len(events) == len(raw) and any(e["kind"] == "fault" and e["stream"] == "dmm" for e in events)
    assert [e["message"] for e in events] == [x.rstrip(b"\0").decode() for x in raw["message"]]
    assert [e["time_ns"] for e in events] == [int(x) for x in raw["time"]]
    assert [e["kind"] for e in events] == [x.decode() for x in raw["kind"]]
    assert arrowdaq.open_run(d / "run.h5").format == "hdf5"


def test_camera_frames_come_back_as_tensors(runs):
    d = runs["camera"]
    h5 = arrowdaq.open_run(d, format="hdf5").table("camera")
    ar = arrowdaq.open_run(d, format="arrow").table("camera")
    with h5py.File(d / "run.h5", "r") as f:
        frames = f["camera/frame"][:]
    assert frames.shape[1:] == (24, 32) and frames.shape[0] > 10
    np.testing.assert_array_equal(h5.column("frame").combine_chunks().to_numpy_ndarray(), frames)
    np.testing.assert_array_equal(ar.column("frame").combine_chunks().to_numpy_ndarray(), frames)
    assert h5.schema.field("frame").type == ar.schema.field("frame").type


def test_what_is_not_a_run_is_refused_clearly(tmp_path, runs):
    with pytest.raises(arrowdaq.RunFormatError, match="no such run directory"):
        arrowdaq.open_run(tmp_path / "missing")
    with pytest.raises(arrowdaq.RunFormatError, match="not an arrowdaq run"):
        arrowdaq.open_run(tmp_path)
    with pytest.raises(arrowdaq.RunFormatError, match=r"no parquet files \(present: hdf5, arrow\)"):
        arrowdaq.open_run(runs["camera"], format="parquet")
    with pytest.raises(arrowdaq.RunFormatError, match="unknown format 'xlsx'"):
        arrowdaq.open_run(runs["camera"], format="xlsx")

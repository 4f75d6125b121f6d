"""`arrowdaq export RUN --to FORMAT`: a finished run converted between every pair of formats
keeps its rows, values, timestamps, units, run metadata and the run's id, read back by
independent readers (h5py, pyarrow IPC / Parquet / CSV); the source is recorded
(exported_from); a frame stream survives HDF5 -> Arrow -> Parquet -> HDF5; bad requests exit 2
and existing files are never overwritten."""
import csv

import h5py
import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.ipc as ipc
import pyarrow.parquet as pq
import pytest

from arrowdaq_testlib import load_summary, only_run_dir, run, write_config

CONFIG = """
[run]
name = "exp"
log_level = "warn"

[run.metadata]
sample = "Si wafer 7"
proposal = 20240117

[instruments.pd]
driver = "sim.ramp"
options = { rate_hz = 5000.0, batch_size = 250, channels = 2, unit = "mm" }

[instruments.noise]
driver = "sim.noise"
options = { rate_hz = 2000.0, batch_size = 100, channels = 1, seed = 4 }

[storage]
formats = ["hdf5", "arrow", "parquet", "csv"]
"""

FORMATS = ["hdf5", "arrow", "parquet", "csv"]


@pytest.fixture(scope="module")
def source(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("export")
    cfg = write_config(tmp, CONFIG)
    r = run(["run", str(cfg), "--duration", "0.6s", "--output", str(tmp / "out")])
    assert r.returncode == 0, r.stderr
    d = only_run_dir(tmp / "out")
    return tmp, d, load_summary(d)


def read(fmt, d, stream):
    """(timestamps int64 ns, {channel: values}, {channel: unit}, run metadata) via an
    independent reader of `fmt`."""
    if fmt == "hdf5":
        with h5py.File(d / "run.h5", "r") as f:
            g = f[stream]
            names = [k for k in g if k != "timestamp"]
            meta = {k: str(v) for k, v in f["entry/metadata"].attrs.items() if k != "NX_class"}
            meta["run_id"] = f.attrs["run_id"]
            return (g["timestamp"][:], {n: g[n][:] for n in names},
                    {n: g[n].attrs["units"] for n in names}, meta)
    if fmt in ("arrow", "parquet"):
        table = (ipc.open_file(d / f"{stream}.arrow").read_all() if fmt == "arrow"
                 else pq.read_table(d / stream))
        md = table.schema.metadata
        meta = {k.decode()[13:]: v.decode() for k, v in md.items()
                if k.startswith(b"arrowdaq.run.")}
        meta["run_id"] = md[b"arrowdaq.run_id"].decode()
        names = table.column_names[1:]
        return (table["timestamp"].cast(pa.int64()).to_numpy(),
                {n: table[n].to_numpy() for n in names},
                {n: table.schema.field(n).metadata[b"unit"].decode() for n in names}, meta)
    table = pacsv.read_csv(d / f"{stream}.csv")
    names = table.column_names[1:]
    with open(d / f"{stream}.units.csv", newline="") as fh:
        units = {r["column"]: r["units"] for r in csv.DictReader(fh)}
    with open(d / f"{stream}.metadata.csv", newline="") as fh:
        rows = {r["key"]: r["value"] for r in csv.DictReader(fh)}
    meta = {k[4:]: v for k, v in rows.items() if k.startswith("run.")}
    meta["run_id"] = rows["run_id"]
    return (table["timestamp"].cast(pa.int64()).to_numpy(),
            {n: table[n].to_numpy() for n in names}, {n: units[n] for n in names}, meta)


@pytest.mark.parametrize("src,dst", [(a, b) for a in FORMATS for b in FORMATS if a != b])
def test_export_between_every_pair_keeps_rows_values_units_and_metadata(source, src, dst):
    tmp, d, summary = source
    out = tmp / f"{src}-to-{dst}"
    r = run(["export", str(d), "--from", src, "--to", dst, "--output", str(out)])
    assert r.returncode == 0, r.stderr
    for s in summary["streams"]:
        name = s["name"]
        assert f"exported {name}: {s['rows']} rows from {src} to {dst}" in r.stdout
        ts0, values0, units0, meta0 = read(src, d, name)
        ts, values, units, meta = read(dst, out, name)
        assert len(ts) == s["rows"]
        np.testing.assert_array_equal(ts, ts0)
        assert list(values) == list(values0)
        for c in values0:
            np.testing.assert_array_equal(values[c], values0[c])
        assert units == units0
        assert meta.pop("exported_from") == src
        assert meta == {**meta0, "sample": "Si wafer 7", "proposal": "20240117",
                        "run_id": summary["run_id"]}


def test_events_and_run_attributes_survive_hdf5_to_hdf5(source):
    tmp, d, _ = source
    r = run(["export", str(d), "--from", "hdf5", "--to", "hdf5", "--output", str(tmp / "h5")])
    assert r.returncode == 0, r.stderr
    with h5py.File(d / "run.h5", "r") as a, h5py.File(tmp / "h5" / "run.h5", "r") as b:
        for key in ("run_id", "config", "start_time", "overrides"):
            assert a.attrs[key] == b.attrs[key], key
        np.testing.assert_array_equal(a["events"][:], b["events"][:])
        assert b["pd"].attrs["driver"] == a["pd"].attrs["driver"]
        assert b["pd"].attrs["rate_hz"] == a["pd"].attrs["rate_hz"]


def test_export_into_the_run_directory_and_selected_streams(source):
    tmp, d, summary = source
    import shutil
    copy = tmp / "copy"
    shutil.copytree(d, copy)
    shutil.rmtree(copy / "pd")
    shutil.rmtree(copy / "noise")
    r = run(["export", str(copy), "--to", "parquet", "--streams", "pd"])
    assert r.returncode == 0, r.stderr
    assert "from hdf5 to parquet" in r.stdout  # the first format present
    assert pq.read_table(copy / "pd").num_rows == summary["streams"][0]["rows"]
    assert not (copy / "noise").exists()
    # Again: the files exist now and are never overwritten.
    r = run(["export", str(copy), "--to", "parquet", "--streams", "pd"])
    assert r.returncode == 1 and "not empty" in r.stderr, r.stderr


@pytest.mark.parametrize("args,message", [
    (["--to", "netcdf"], "--to: unknown storage format 'netcdf'"),
    (["--to", "parquet", "--streams", "nope"], "stream 'nope' is not in the"),
    (["--to", "hdf5", "--from", "hdf5"], "would overwrite it; give --output"),
])
def test_bad_export_requests_exit_2(source, args, message):
    _, d, _ = source
    r = run(["export", str(d), *args])
    assert r.returncode == 2 and message in r.stderr, r.stderr


def test_not_a_run_exits_2(tmp_path):
    r = run(["export", str(tmp_path / "missing"), "--to", "csv"])
    assert r.returncode == 2 and "not a run directory" in r.stderr, r.stderr


CAMERA = """
[run]
name = "cam"
log_level = "warn"

[instruments.camera]
driver = "sim.camera"
options = { width = 40, height = 30, fps = 50.0 }

[storage]
formats = ["hdf5"]
"""


def test_frames_survive_hdf5_arrow_parquet_hdf5(tmp_path):
    cfg = write_config(tmp_path, CAMERA)
    r = run(["run", str(cfg), "--duration", "0.5s", "--output", str(tmp_path / "out")])
    assert r.returncode == 0, r.stderr
    d = only_run_dir(tmp_path / "out")
    steps = [("hdf5", "arrow", d, tmp_path / "a"), ("arrow", "parquet", tmp_path / "a", tmp_path / "p"),
             ("parquet", "hdf5", tmp_path / "p", tmp_path / "h")]
    for src, dst, i, o in steps:
        r = run(["export", str(i), "--from", src, "--to", dst, "--output", str(o)])
        assert r.returncode == 0, (src, dst, r.stderr)
    table = ipc.open_file(tmp_path / "a" / "camera.arrow").read_all()
    assert isinstance(table.schema.field("frame").type, pa.FixedShapeTensorType)
    with h5py.File(d / "run.h5", "r") as a, h5py.File(tmp_path / "h" / "run.h5", "r") as b:
        np.testing.assert_array_equal(a["camera/frame"][:], b["camera/frame"][:])
        np.testing.assert_array_equal(a["camera/timestamp"][:], b["camera/timestamp"][:])
        np.testing.assert_array_equal(table["frame"].combine_chunks().to_numpy_ndarray(),
                                      a["camera/frame"][:])
        assert b["camera/frame"].attrs["units"] == a["camera/frame"].attrs["units"]

"""Rolling HDF5 files: with [storage] hdf5_roll_size the run is written as run.00000.h5,
run.00001.h5, ... (each a complete file of the same layout that h5py opens alone) and run.h5,
written at the end, presents the whole run as one: its datasets are virtual datasets over the
parts, continuous (every ramp value once, in order), with the NeXus default plot, the
dimension scales and the events; xarray reads a stream through it and export reads it."""
import h5py
import numpy as np
import pytest

from arrowdaq_testlib import load_summary, only_run_dir, ramp, run, write_config

CONFIG = """
[run]
name = "roll"
log_level = "warn"

[instruments.pd]
driver = "sim.ramp"
options = { rate_hz = 50000.0, batch_size = 500, channels = 2, unit = "mm" }

[instruments.camera]
driver = "sim.camera"
options = { width = 32, height = 24, fps = 50.0 }

[storage]
formats = ["hdf5"]
flush_interval = "200ms"
hdf5_roll_size = "1MiB"
"""


@pytest.fixture(scope="module")
def rolled(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("roll")
    cfg = write_config(tmp, CONFIG)
    r = run(["run", str(cfg), "--duration", "1.5s", "--output", str(tmp / "out")])
    assert r.returncode == 0, r.stderr
    d = only_run_dir(tmp / "out")
    return tmp, d, load_summary(d)


def test_parts_are_complete_files_and_the_index_is_the_whole_run(rolled):
    _, d, summary = rolled
    rows = {s["name"]: s["rows"] for s in summary["streams"]}
    parts = sorted(d.glob("run.[0-9]*.h5"))
    assert len(parts) >= 3, parts
    assert [p.name for p in parts] == [f"run.{i:05d}.h5" for i in range(len(parts))]
    first = 0
    for p in parts:
        with h5py.File(p, "r") as f:  # each part alone: closed, same layout
            assert f.attrs["format_version"] == "2" and f.attrs["stop_time"]
            assert f.attrs["default"] == "entry" and f["entry"].attrs["default"] == "pd"
            n = f["pd/ch0"].shape[0]
            assert n > 0, p  # no empty part
            np.testing.assert_array_equal(f["pd/ch0"][:], ramp(np.arange(first, first + n)))
            first += n
    assert first == rows["pd"]
    with h5py.File(d / "run.h5", "r") as f:
        ch0 = f["pd/ch0"]
        assert ch0.is_virtual and ch0.shape == (rows["pd"],)
        np.testing.assert_array_equal(ch0[:], ramp(np.arange(rows["pd"])))
        ts = f["pd/timestamp"][:]
        assert np.all(np.diff(ts) > 0)
        assert f["pd/timestamp"].is_scale and ch0.dims[0].keys() == ["timestamp"]
        assert ch0.attrs["units"] == "mm"
        assert f["camera/frame"].shape == (rows["camera"], 24, 32)
        assert f.attrs["stop_time"]


def test_index_reads_in_silx_xarray_and_export(rolled):
    tmp, d, summary = rolled
    rows = {s["name"]: s["rows"] for s in summary["streams"]}
    silx_nxdata = pytest.importorskip("silx.io.nxdata")
    xr = pytest.importorskip("xarray")
    with h5py.File(d / "run.h5", "r") as f:
        nx = silx_nxdata.get_default(f)
        assert nx.is_valid and nx.signal.shape == (rows["pd"],)
    with xr.open_dataset(d / "run.h5", group="pd", engine="h5netcdf") as ds:
        assert ds.sizes["timestamp"] == rows["pd"]
    r = run(["export", str(d), "--from", "hdf5", "--to", "arrow", "--output", str(tmp / "a")])
    assert r.returncode == 0, r.stderr
    assert f"exported pd: {rows['pd']} rows" in r.stdout


def test_stored_counts_cover_every_part(rolled):
    _, d, summary = rolled
    hdf5 = summary["storage"]["formats"]["hdf5"]
    assert hdf5["not_stored_rows"] == 0
    assert hdf5["stored_rows"] == sum(s["rows"] for s in summary["streams"])

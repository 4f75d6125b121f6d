"""Run metadata: `[run.metadata]` plus `--meta key=value` reach every format (HDF5 attributes
of /entry/metadata with numbers as numbers, Arrow IPC schema metadata, Parquet key-value
metadata, CSV's <stream>.metadata.csv) and summary.json; the command-line overrides are
recorded in overrides.toml, and a run started again from its own directory with them gets the
same config and metadata. Bad keys and values exit 2 naming where."""
import csv
import json
import tomllib

import h5py
import pyarrow.ipc as ipc
import pyarrow.parquet as pq
import pytest

from arrowdaq_testlib import load_summary, only_run_dir, run, write_config

CONFIG = """
[run]
name = "meta"
log_level = "warn"

[run.metadata]
sample = "Si wafer 7"
operator = "ana"
proposal = 20240117
temperature_K = 4.2
cold = true

[instruments.pd]
driver = "sim.sine"
options = { rate_hz = 1000.0, batch_size = 100, channels = 2 }

[storage]
formats = ["hdf5", "arrow", "parquet", "csv"]
"""

EXPECTED = {"sample": "Si wafer 7", "operator": "bob", "proposal": "20240117",
            "temperature_K": "4.2", "cold": "true", "notes": "it's a=b, c"}


@pytest.fixture(scope="module")
def meta_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("meta")
    cfg = write_config(tmp, CONFIG)
    out = tmp / "out"
    r = run(["run", str(cfg), "--duration", "0.5s", "--output", str(out),
             "--meta", "operator=bob", "--meta", "notes=it's a=b, c"])
    assert r.returncode == 0, r.stderr
    return tmp, only_run_dir(out)


def test_metadata_in_every_format_and_the_summary(meta_run):
    _, d = meta_run
    summary = load_summary(d)
    assert summary["metadata"] == EXPECTED
    with h5py.File(d / "run.h5", "r") as f:
        attrs = dict(f["entry/metadata"].attrs)
        assert attrs.pop("NX_class") == "NXcollection"
        assert attrs["proposal"] == 20240117 and attrs["proposal"].dtype.kind == "i"
        assert attrs["temperature_K"] == 4.2 and attrs["temperature_K"].dtype.kind == "f"
        assert {k: str(v) for k, v in attrs.items()} == EXPECTED
    def run_keys(md):
        return {k.decode()[len("arrowdaq.run."):]: v.decode() for k, v in md.items()
                if k.startswith(b"arrowdaq.run.")}
    arrow_md = ipc.open_file(d / "pd.arrow").schema.metadata
    assert run_keys(arrow_md) == EXPECTED
    assert arrow_md[b"arrowdaq.run_id"].decode() == summary["run_id"]
    (part,) = sorted((d / "pd").glob("*.parquet"))[:1]
    assert run_keys(pq.read_metadata(part).metadata) == EXPECTED
    with open(d / "pd.metadata.csv", newline="") as fh:
        rows = {r["key"]: r["value"] for r in csv.DictReader(fh)}
    assert rows.pop("run_id") == summary["run_id"] and rows.pop("format_version") == "2"
    rows.pop("start_time")
    assert {k[len("run."):]: v for k, v in rows.items()} == EXPECTED


def test_a_run_reproduced_from_its_own_directory(meta_run):
    tmp, d = meta_run
    overrides = tomllib.loads((d / "overrides.toml").read_text())["args"]
    assert overrides[:2] == ["--duration", "0.5s"]
    assert overrides[-2:] == ["--meta", "notes=it's a=b, c"]
    with h5py.File(d / "run.h5", "r") as f:
        assert tomllib.loads(f.attrs["overrides"])["args"] == overrides
    assert load_summary(d)["overrides"] == overrides
    # Again, from the run's own config.toml and overrides (the output redirected).
    args = list(overrides)
    i = args.index("--output")
    args[i + 1] = str(tmp / "again")
    r = run(["run", str(d / "config.toml"), *args])
    assert r.returncode == 0, r.stderr
    d2 = only_run_dir(tmp / "again")
    assert (d2 / "config.toml").read_text() == (d / "config.toml").read_text()
    assert load_summary(d2)["metadata"] == EXPECTED
    assert tomllib.loads((d2 / "overrides.toml").read_text())["args"] == args


@pytest.mark.parametrize("args,message", [
    (["--meta", "novalue"], "--meta: expected key=value, got 'novalue'"),
    (["--meta", "bad key=1"], "--meta: metadata key 'bad key' may only hold"),
    (["--meta", "=1"], "--meta: metadata key '' must be 1 to 64 characters"),
])
def test_bad_meta_arguments_exit_2(tmp_path, args, message):
    cfg = write_config(tmp_path, CONFIG)
    r = run(["run", str(cfg), "--duration", "0.1s", "--output", str(tmp_path / "out"), *args])
    assert r.returncode == 2 and message in r.stderr, r.stderr
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("line,message", [
    ('"bad key" = 1', 'run.toml:3:13: run.metadata."bad key": metadata key'),
    ("list = [1, 2]", "run.toml:3:8: run.metadata.list: expected a string, number or boolean"),
])
def test_bad_metadata_table_exits_2_with_the_place(tmp_path, line, message):
    cfg = write_config(tmp_path, "[run.metadata]\nok = 1\n" + line +
                       '\n\n[instruments.pd]\ndriver = "sim.sine"\n')
    r = run(["validate", str(cfg)])
    assert r.returncode == 2 and message in r.stderr, r.stderr

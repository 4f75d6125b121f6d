"""Disk full: a run whose output is on a small tmpfs (8 MiB) fills it within a second or two.
arrowdaq must stop with exit code 1 and a message naming the file and the cause ("No space
left on device"), and everything written before the disk filled must still read: h5py opens
run.h5 and its ramp holds exactly 0..n-1 with increasing timestamps; the IPC stream reads to
its last complete batch with the same values.

The tmpfs is mounted inside a new user and mount namespace (`unshare --user --map-root-user
--mount`: no privilege needed, and nothing stays mounted if the test is killed), where arrowdaq
runs and its run directory is copied out before the namespace goes away; where user namespaces
are not allowed, it is mounted directly (root). Only when neither works is the test skipped,
and CTest then shows it as "Skipped", never "Passed".

A storage error that leaves room for summary.json (a file-size limit, EFBIG) shows how the
summary accounts for what was not stored."""
import json
import re
import shutil
import subprocess
from types import SimpleNamespace

import h5py
import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.ipc as ipc
import pyarrow.parquet as pq
import pytest

from arrowdaq_testlib import (ARROWDAQ, load_summary, only_run_dir, ramp, read_arrow_leftover,
                             read_ipc_stream, run, sample_offsets_ns, write_config)

RATE, BATCH = 200000.0, 2000  # 3.2 MB/s into each of run.h5 and ramp.arrow

CONFIG = """
[run]
name = "full"

[instruments.ramp]
driver = "sim.ramp"
options = {{ rate_hz = {rate}, batch_size = {batch}, channels = 1 }}

[storage]
formats = [{formats}]
flush_interval = "250ms"
min_free = 0  # no disk budget: these tests fill the disk (or hit a file-size limit) on purpose
"""


MOUNT = ["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs"]


def _userns_can_mount(mnt):
    r = subprocess.run(["unshare", "--user", "--map-root-user", "--mount", "sh", "-c",
                        f'mount -t tmpfs -o size=1m tmpfs "{mnt}"'], capture_output=True, text=True)
    return r.returncode == 0, r.stderr.strip()


def _run_on_small_tmpfs(tmp_path, args, size="8m"):
    """Run arrowdaq with `--output <8 MiB tmpfs>/out` (or `size`); return (CompletedProcess, a
    copy of the output directory as it was when arrowdaq ended)."""
    mnt = tmp_path / "tmpfs"
    mnt.mkdir()
    out = mnt / "out"
    kept = tmp_path / "kept"
    # Preferred: a user + mount namespace. No privilege needed, and the mount goes away with the
    # namespace even if the test is killed, so nothing is left mounted.
    ok, why = _userns_can_mount(mnt)
    if ok:
        script = (f'set -e; mount -t tmpfs -o size={size} tmpfs "$1"; shift; rc=0; "$@" || rc=$?; '
                  f'cp -a "{out}" "{kept}"; exit $rc')
        r = subprocess.run(["unshare", "--user", "--map-root-user", "--mount", "sh", "-c", script,
                            "sh", str(mnt), ARROWDAQ, *args, "--output", str(out)],
                           capture_output=True, text=True, timeout=120)
        assert kept.is_dir(), (r.returncode, r.stderr[-2000:])
        return SimpleNamespace(returncode=r.returncode, stdout=r.stdout, stderr=r.stderr), kept
    # Else a plain mount (root, where user namespaces are not allowed).
    m = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(mnt)],
                       capture_output=True, text=True)
    if m.returncode != 0:
        pytest.skip("cannot mount a tmpfs here, neither in a user namespace "
                    f"({why}) nor directly ({m.stderr.strip()})")
    try:
        r = run([*args, "--output", str(out)], timeout=120)
        shutil.copytree(out, kept)
        return r, kept
    finally:
        subprocess.run(["umount", str(mnt)], check=False)


# HDF5 alone: run.h5 is the file that fills the disk (the hard case: HDF5 can still update a
# dataset's extent in place when it can no longer write the rows' chunks). With IPC as well,
# whichever file hits the limit first stops the run and the other must still be complete.
@pytest.mark.parametrize("formats", [["hdf5"], ["hdf5", "arrow"]], ids=["hdf5", "hdf5+arrow"])
def test_full_disk_stops_the_run_with_the_file_and_cause_and_keeps_what_was_written(
        tmp_path, formats):
    cfg = write_config(tmp_path, CONFIG.format(rate=RATE, batch=BATCH,
                                               formats=", ".join(f'"{f}"' for f in formats)))
    r, out = _run_on_small_tmpfs(tmp_path, ["run", str(cfg), "--duration", "60s"])
    assert r.returncode == 1, (r.returncode, r.stderr[-2000:])
    assert "No space left on device" in r.stderr, r.stderr[-2000:]
    run_dir = only_run_dir(out)
    # The message names the file that could not be written (by its path on the tmpfs).
    named = re.search(re.escape(str(tmp_path / "tmpfs" / "out" / run_dir.name)) +
                      r"/(run\.h5|ramp\.arrow\.partial)", r.stderr)
    assert named, r.stderr[-2000:]
    if formats == ["hdf5"]:
        assert named.group(1) == "run.h5"

    # HDF5: everything up to the failure (at least up to the last flush) reads, in order.
    with h5py.File(run_dir / "run.h5", "r", libver="latest", swmr=True) as f:
        ch0 = f["ramp/ch0"][:]
        ts = f["ramp/timestamp"][:]
    n = len(ch0)
    assert n >= BATCH, f"run.h5 holds only {n} rows"
    assert len(ts) == n
    np.testing.assert_array_equal(ch0, ramp(np.arange(n)))
    np.testing.assert_array_equal(ts - ts[0], sample_offsets_ns(np.arange(n), RATE))

    if "arrow" not in formats:
        return
    # IPC: whichever file hit the limit, the IPC file's complete batches read (the closed file,
    # or the unfinished one's stream when it was the one that failed).
    if (run_dir / "ramp.arrow").exists():
        with ipc.open_file(run_dir / "ramp.arrow") as reader:
            batches = [reader.get_batch(i) for i in range(reader.num_record_batches)]
    else:
        batches = read_arrow_leftover(run_dir / "ramp.arrow.partial")
    got = [batch.column(1).to_numpy() for batch in batches]
    values = np.concatenate(got) if got else np.array([])
    assert len(values) >= BATCH and len(values) % BATCH == 0, len(values)
    np.testing.assert_array_equal(values, ramp(np.arange(len(values))))



def _file_size_limit(nbytes):
    """preexec_fn: files of the child may not grow past `nbytes` (writes beyond fail with EFBIG,
    "File too large"); SIGXFSZ ignored so the write fails instead of killing the process."""
    import resource
    import signal

    def limit():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (nbytes, nbytes))
    return limit


def test_a_storage_error_counts_every_packet_as_stored_or_not_stored(tmp_path):
    """After a write error (EFBIG: no file of the run may grow past 4 MiB) the recorder drains
    its queue without writing: summary.json's storage.packets plus not_stored_packets equals
    every packet produced, and not_stored_packets > 0 (the packet that failed, at least). The
    IPC stream writes through, so the error comes from the write itself (run.h5 would report it
    at its next flush instead)."""
    cfg = write_config(tmp_path, CONFIG.format(rate=RATE, batch=BATCH, formats='"arrow"'))
    out = tmp_path / "out"
    out.mkdir()
    r = subprocess.run([ARROWDAQ, "run", str(cfg), "--duration", "60s", "--output", str(out)],
                       capture_output=True, text=True, timeout=120,
                       preexec_fn=_file_size_limit(4 << 20))
    assert r.returncode == 1, (r.returncode, r.stderr[-2000:])
    assert "File too large" in r.stderr and "ramp.arrow.partial" in r.stderr, r.stderr[-2000:]
    run_dir = only_run_dir(out)
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["outcome"] == "failed"
    (ramp_stream,) = summary["streams"]
    storage = summary["storage"]
    assert storage["not_stored_packets"] > 0, storage
    # What was written before the error still reads, in order: every complete batch.
    ts, (values,) = read_ipc_stream(run_dir, "ramp", 1, torn_ok=True)
    assert len(values) >= BATCH and len(values) % BATCH == 0
    np.testing.assert_array_equal(values, ramp(np.arange(len(values))))
    # Every packet is either stored or counted as not stored, exactly once.
    assert storage["packets"] + storage["not_stored_packets"] == ramp_stream["packets"], (
        storage, ramp_stream["packets"])


# "Stored" means in the files: on a full disk, summary.json says per format how many rows each
# format stored and how many it did not, and every reader finds exactly the stored rows (no
# more, no fewer; no torn CSV line). summary.json itself is complete (space was set aside).
def test_full_disk_summary_counts_what_each_format_really_holds(tmp_path):
    cfg = write_config(tmp_path, CONFIG.format(rate=RATE, batch=BATCH,
                                               formats='"hdf5", "arrow", "parquet", "csv"')
                       .replace('flush_interval = "250ms"',
                                'flush_interval = "250ms"\nparquet_segment = "100ms"'))
    r, out = _run_on_small_tmpfs(tmp_path, ["run", str(cfg), "--duration", "60s"])
    assert r.returncode == 1, (r.returncode, r.stderr[-2000:])
    assert "No space left on device" in r.stderr, r.stderr[-2000:]
    run_dir = only_run_dir(out)
    summary = load_summary(run_dir)
    assert not (run_dir / "summary.json.tmp").exists()
    assert summary["outcome"] == "failed"
    formats = summary["storage"]["formats"]
    assert set(formats) == {"hdf5", "arrow", "parquet", "csv"}
    produced = next(s["rows"] for s in summary["streams"] if s["name"] == "ramp")
    stored = {name: f["streams"]["ramp"]["stored_rows"] for name, f in formats.items()}
    for name, f in formats.items():
        assert f["stored_rows"] == f["streams"]["ramp"]["stored_rows"]
        assert f["stored_rows"] + f["not_stored_rows"] <= produced
    # The disk filled: some format could not store everything.
    assert any(f["not_stored_rows"] > 0 for f in formats.values()), formats
    assert summary["storage"]["rows"] == min(stored.values())

    with h5py.File(run_dir / "run.h5", "r", libver="latest", swmr=True) as f:
        found_h5 = f["ramp/ch0"].shape[0]
        np.testing.assert_array_equal(f["ramp/ch0"][:], ramp(np.arange(found_h5)))
    if (run_dir / "ramp.arrow").exists():
        with ipc.open_file(run_dir / "ramp.arrow") as reader:
            found_arrow = sum(reader.get_batch(i).num_rows for i in range(reader.num_record_batches))
    else:
        found_arrow = sum(b.num_rows for b in read_arrow_leftover(run_dir / "ramp.arrow.partial"))
    found_parquet = sum(pq.read_metadata(p).num_rows for p in (run_dir / "ramp").glob("*.parquet"))
    text = (run_dir / "ramp.csv").read_text()
    assert text.endswith("\n"), "a torn last line"
    found_csv = pacsv.read_csv(run_dir / "ramp.csv").num_rows
    assert {"hdf5": found_h5, "arrow": found_arrow, "parquet": found_parquet, "csv": found_csv} \
        == stored


# The disk budget: with storage.min_free set, the same overload stops the run cleanly before
# the disk fills: exit 0, outcome "stopped" with the reason, every format closed properly and
# holding every row that reached storage (nothing "not stored"), no write ever failed.
def test_disk_budget_stops_cleanly_before_the_disk_fills(tmp_path):
    # 50 kS/s into three formats (about 3.6 MB/s), a storage queue of 4 batches: what is
    # written after the stop (one flush interval and the queue) fits in the margin.
    cfg = write_config(tmp_path, CONFIG.format(rate=50000.0, batch=1000,
                                               formats='"hdf5", "arrow", "csv"')
                       .replace("min_free = 0", 'min_free = "6MiB"\ndisk_warn = "1h"\ncapacity = 4'))
    r, out = _run_on_small_tmpfs(tmp_path, ["run", str(cfg), "--duration", "60s"], size="16m")
    assert r.returncode == 0, (r.returncode, r.stderr[-2000:])
    assert "No space left" not in r.stderr
    run_dir = only_run_dir(out)
    summary = load_summary(run_dir)
    assert summary["outcome"] == "stopped"
    assert summary["stop_reason"].startswith("stopped before the disk fills: "), summary
    assert "storage.min_free is 6.0 MiB" in summary["stop_reason"]
    messages = [e["message"] for e in summary["events"] if e["kind"] == "info"]
    assert any("will be reached in about" in m for m in messages), messages  # warned first
    assert any(m.startswith("stopped before the disk fills") for m in messages), messages
    assert summary["duration_s"] < 30
    produced = next(s["rows"] for s in summary["streams"] if s["name"] == "ramp")
    for name, f in summary["storage"]["formats"].items():
        assert "error" not in f, (name, f)
        assert f["stored_rows"] == produced and f["not_stored_rows"] == 0, (name, f)
    with h5py.File(run_dir / "run.h5", "r") as f:  # closed properly: a plain open works
        assert f.attrs["stop_time"]
        np.testing.assert_array_equal(f["ramp/ch0"][:], ramp(np.arange(produced)))
    with ipc.open_file(run_dir / "ramp.arrow") as reader:
        assert reader.read_all().num_rows == produced
    assert pacsv.read_csv(run_dir / "ramp.csv").num_rows == produced


def test_disk_budget_refuses_to_start_without_the_margin(tmp_path):
    cfg = write_config(tmp_path, CONFIG.format(rate=RATE, batch=BATCH, formats='"hdf5"')
                       .replace("min_free = 0", 'min_free = "64MiB"'))
    r, out = _run_on_small_tmpfs(tmp_path, ["run", str(cfg), "--duration", "5s"])
    assert r.returncode == 1, r.stderr
    assert "not enough free space for the run in" in r.stderr, r.stderr
    assert "storage.min_free is 64.0 MiB" in r.stderr, r.stderr
    # Refused before the run directory was made: nothing to clean up.
    assert not [d for d in out.iterdir() if d.is_dir()], list(out.iterdir())

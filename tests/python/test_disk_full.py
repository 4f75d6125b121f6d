"""Disk full: a run whose output is on a small tmpfs (8 MiB) fills it within a second or two.
arrowdaq must stop with exit code 1 and a message naming the file and the cause ("No space
left on device"), and everything written before the disk filled must still read: h5py opens
run.h5 and its ramp holds exactly 0..n-1 with increasing timestamps; the IPC stream reads to
its last complete batch with the same values. Needs `mount -t tmpfs` (root); skipped otherwise."""
import re
import subprocess

import h5py
import numpy as np
import pyarrow as pa
import pyarrow.ipc as ipc
import pytest

from arrowdaq_testlib import only_run_dir, ramp, run, sample_offsets_ns, write_config

RATE, BATCH = 200000.0, 2000  # 3.2 MB/s into each of run.h5 and ramp.arrows

CONFIG = """
[run]
name = "full"

[instruments.ramp]
driver = "sim.ramp"
options = {{ rate_hz = {rate}, batch_size = {batch}, channels = 1 }}

[storage]
formats = [{formats}]
flush_interval = "250ms"
"""


@pytest.fixture
def small_tmpfs(tmp_path):
    mnt = tmp_path / "tmpfs"
    mnt.mkdir()
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", str(mnt)],
                       capture_output=True, text=True)
    if r.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (needs root or CAP_SYS_ADMIN): {r.stderr.strip()}")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", str(mnt)], check=False)


# HDF5 alone: run.h5 is the file that fills the disk (the hard case: HDF5 can still update a
# dataset's extent in place when it can no longer write the rows' chunks). With IPC as well,
# whichever file hits the limit first stops the run and the other must still be complete.
@pytest.mark.parametrize("formats", [["hdf5"], ["hdf5", "arrows"]], ids=["hdf5", "hdf5+arrows"])
def test_full_disk_stops_the_run_with_the_file_and_cause_and_keeps_what_was_written(
        tmp_path, small_tmpfs, formats):
    cfg = write_config(tmp_path, CONFIG.format(rate=RATE, batch=BATCH,
                                               formats=", ".join(f'"{f}"' for f in formats)))
    out = small_tmpfs / "out"
    r = run(["run", str(cfg), "--duration", "60s", "--output", str(out)], timeout=120)
    assert r.returncode == 1, (r.returncode, r.stderr[-2000:])
    assert "No space left on device" in r.stderr, r.stderr[-2000:]
    run_dir = only_run_dir(out)
    # The message names the file that could not be written.
    named = re.search(re.escape(str(run_dir)) + r"/(run\.h5|ramp\.arrows)", r.stderr)
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

    if "arrows" not in formats:
        return
    # IPC: every complete batch reads; a torn last message ends the stream.
    got = []
    with open(run_dir / "ramp.arrows", "rb") as fh:
        reader = ipc.open_stream(fh)
        try:
            for batch in reader:
                got.append(batch.column(1).to_numpy())
        except (pa.ArrowInvalid, OSError):
            pass
    values = np.concatenate(got) if got else np.array([])
    assert len(values) >= BATCH and len(values) % BATCH == 0, len(values)
    np.testing.assert_array_equal(values, ramp(np.arange(len(values))))


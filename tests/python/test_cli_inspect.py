"""`arrowdaq inspect` on damaged files: the HDF5 1.10 library itself crashes or spins on some
of them (fuzz/findings/README.md). The CLI reads each file in a child process with a time limit,
so it answers with exit 1 and a message naming the file instead of crashing or hanging."""
import os
import time
from pathlib import Path

from arrowdaq_testlib import run

FINDINGS = Path(os.environ["ARROWDAQ_SOURCE_DIR"]) / "fuzz" / "findings"


def _h5_from_finding(tmp_path, name):
    # A finding's first byte chose the extension in the fuzzer (0: .h5); the rest is the file.
    data = (FINDINGS / name).read_bytes()
    assert data[0] % 3 == 0
    path = tmp_path / "run.h5"
    path.write_bytes(data[1:])
    return path


def test_a_file_that_makes_hdf5_spin_gives_up_at_the_time_limit(tmp_path):
    path = _h5_from_finding(tmp_path, "inspect_hdf5_global_heap_hang.bin")
    start = time.monotonic()
    r = run(["inspect", "--timeout", "2s", str(path)], timeout=120)
    took = time.monotonic() - start
    assert r.returncode == 1, (r.returncode, r.stdout, r.stderr)
    assert f"arrowdaq: inspect {path}: gave up after 2 s" in r.stderr
    assert took < 60  # generous: without the limit it spins for minutes


def test_a_file_that_crashes_hdf5_is_an_error_naming_it(tmp_path):
    path = _h5_from_finding(tmp_path, "inspect_hdf5_global_heap_memcpy_overlap.bin")
    r = run(["inspect", "--timeout", "60s", str(path)], timeout=120)
    assert r.returncode == 1, (r.returncode, r.stdout, r.stderr)
    # Under ASan the overlapping memcpy inside libhdf5 aborts the reader; without it HDF5 may
    # also report the damage as an error. Either way: one line naming the file, no crash here.
    assert f"arrowdaq: inspect {path}: " in r.stderr or f"arrowdaq: {path}" in r.stderr, r.stderr


def test_usage_errors_exit_2(tmp_path):
    r = run(["inspect", str(tmp_path / "missing.h5")])
    assert r.returncode == 2 and "missing.h5: no such file or directory" in r.stderr
    (tmp_path / "run.h5").write_bytes(b"")
    r = run(["inspect", "--timeout", "soon", str(tmp_path / "run.h5")])
    assert r.returncode == 2 and "--timeout" in r.stderr

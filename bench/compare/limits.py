"""The physical limits every other figure is compared with, measured in the same run:
memory copy bandwidth (numpy copy of a large array) and the disk's sequential write bandwidth
(dd with conv=fdatasync, so the page cache does not flatter it)."""
import os
import shutil
import re
import subprocess
import time

import numpy as np


def memcpy_bandwidth(mib=512, repeats=5):
    """Return bytes/s of np.copyto between two `mib` MiB arrays (best of `repeats`), counting
    the bytes copied once (read + write traffic is twice that)."""
    n = mib * (1 << 20) // 8
    src = np.ones(n)
    dst = np.empty_like(src)
    np.copyto(dst, src)  # fault the pages in
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        np.copyto(dst, src)
        best = min(best, time.perf_counter() - t0)
    return src.nbytes / best


def disk_bandwidth(directory, mib=256, repeats=2):
    """Return bytes/s of `dd if=/dev/zero bs=8M conv=fdatasync` writing `mib` MiB into
    `directory` (best of `repeats`, each timed by dd itself). Raises when dd fails or its
    output cannot be read."""
    path = os.path.join(directory, "dd-bandwidth.bin")
    best = 0.0
    try:
        for _ in range(repeats):
            out = subprocess.run(
                ["dd", "if=/dev/zero", f"of={path}", "bs=8M", f"count={mib // 8}",
                 "conv=fdatasync"], check=True, capture_output=True, text=True)
            # "268435456 bytes (268 MB, 256 MiB) copied, 0.51 s, 526 MB/s"
            best = max(best, parse_dd(out.stderr))
    finally:
        if os.path.exists(path):
            os.unlink(path)
    return best


def sustained_mib(directory, nbytes, cap_mib=32 << 10):
    """MiB for a dd as large as `nbytes` (a max-rate trial's data), a multiple of 8, at most
    `cap_mib` and at most half the free space of `directory`, at least 256."""
    free_mib = shutil.disk_usage(directory).free >> 20
    mib = min(-(-nbytes // (1 << 20)), cap_mib, free_mib // 2)
    return max(256, mib - mib % 8)


def parse_dd(stderr):
    """Bytes/s from dd's last line ("268435456 bytes (268 MB, 256 MiB) copied, 0.51 s, 526 MB/s");
    raises ValueError when it is not there (another dd, another locale): a disk figure that
    cannot be read is a failed measurement, never a silent zero."""
    m = re.search(r"(\d+) bytes .* copied, ([0-9.e+-]+) s", stderr)
    if not m or float(m.group(2)) <= 0:
        raise ValueError(f"cannot read dd's output: {stderr.strip()[-300:]!r}")
    return int(m.group(1)) / float(m.group(2))

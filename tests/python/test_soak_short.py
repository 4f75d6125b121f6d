"""Short soak (the CI form of `make soak`): tools/soak/soak.py runs `arrowdaq run` for 60 s on
12 simulated instruments totalling 1M samples/s into HDF5 and samples the process's RSS.
Asserts no loss (complete sequence numbers, no drops, overruns or unstored packets, every row
stored) and RSS growth after warm-up within 20%.

Why 20% here when the hour-long `make soak` holds 5%: in 60 s the warm-up is only 6 s and the
measuring windows 3 s, so allocator arenas, HDF5 chunk caches and (in the ASan build `make test`
uses) the allocator's quarantine are still settling; a one-off step of some MiB is a large
fraction of a ~100 MiB process. A leak of one batch per packet (~300 packets/s, tens of KiB each)
would still grow RSS by hundreds of MiB in the minute and fail this bound.

Under AddressSanitizer (the `dev` build) freed memory waits in ASan's quarantine (256 MiB by
default), which alone grows RSS by ~100 MiB in this minute; the test caps the quarantine at
16 MiB for the child so RSS shows the engine's memory, not the sanitizer's."""
import json
import os
import subprocess
import sys
from pathlib import Path

from arrowdaq_testlib import ARROWDAQ

ROOT = Path(os.environ.get("ARROWDAQ_SOURCE_DIR", Path(__file__).resolve().parents[2]))
SOAK = ROOT / "tools" / "soak" / "soak.py"
DURATION_S = 60
MAX_GROWTH_PCT = 20.0


def _is_asan_build(binary):
    try:
        return b"__asan_init" in Path(binary).read_bytes()
    except OSError:
        return False


def test_short_soak_loses_nothing_and_memory_stays_bounded(tmp_path):
    report = tmp_path / "report"
    cmd = [sys.executable, str(SOAK), "--binary", ARROWDAQ, "--duration", str(DURATION_S),
           "--interval", "1", "--max-growth", str(MAX_GROWTH_PCT), "--report-dir", str(report),
           "--quiet"]
    env = dict(os.environ)
    if _is_asan_build(ARROWDAQ):
        env["ASAN_OPTIONS"] = ":".join(filter(None, [env.get("ASAN_OPTIONS", ""),
                                                     "quarantine_size_mb=16"]))
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=DURATION_S + 240, env=env)
    assert (report / "soak.json").is_file(), r.stdout + r.stderr
    result = json.loads((report / "soak.json").read_text())
    print((report / "report.txt").read_text())
    s = result["summary"]
    assert s["outcome"] == "ok", result["problems"]
    assert s["drops"] == 0 and s["overruns"] == 0 and s["read_errors"] == 0
    assert s["not_stored_packets"] == 0
    assert s["stored_rows"] == s["rows"] > 0
    assert result["rss_growth_pct"] is not None
    assert result["rss_growth_pct"] <= MAX_GROWTH_PCT, (report / "report.txt").read_text()
    assert len(result["samples"]) >= DURATION_S // 2
    # The script's own verdict covers the rest (sequence numbers, achieved rate, exit code).
    assert r.returncode == 0, r.stdout + r.stderr
    # Data files are removed after the run; the figures stay.
    assert (report / "rss.csv").read_text().startswith("t_s,rss_kib\n")
    assert not any((report / "runs").iterdir())

"""Helpers shared by the Python end-to-end tests: run the arrowdaq binary, write configs,
and recompute the simulated instruments' samples from their documented formulas
(docs/instruments.md) so every stored value can be checked independently."""
import json
import os
import subprocess
from pathlib import Path

import numpy as np

ARROWDAQ = os.environ.get("ARROWDAQ_ARROWDAQ_BIN", "arrowdaq")


def run(args, timeout=120, **kw):
    """Run arrowdaq with `args`; return the CompletedProcess (text mode)."""
    return subprocess.run([ARROWDAQ, *args], capture_output=True, text=True, timeout=timeout, **kw)


def write_config(tmp_path: Path, text: str, name="run.toml") -> Path:
    p = tmp_path / name
    p.write_text(text)
    return p


def only_run_dir(output: Path) -> Path:
    dirs = [d for d in output.iterdir() if d.is_dir()]
    assert len(dirs) == 1, f"expected one run directory in {output}, found {dirs}"
    return dirs[0]


def load_summary(run_dir: Path) -> dict:
    return json.loads((run_dir / "summary.json").read_text())


def ramp(n, c=0, amplitude=1.0, offset=0.0, wrap=1 << 40):
    n = np.asarray(n, dtype=np.int64)
    return offset + amplitude * ((n + c) % wrap).astype(np.float64)


def sine(n, c, channels, rate_hz, frequency_hz, amplitude=1.0, offset=0.0):
    n = np.asarray(n, dtype=np.float64)
    return offset + amplitude * np.sin(2 * np.pi * frequency_hz * n / rate_hz + 2 * np.pi * c / channels)


def _splitmix64(x):
    with np.errstate(over="ignore"):
        z = (x + np.uint64(0x9E3779B97F4A7C15)).astype(np.uint64)
        z = ((z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)).astype(np.uint64)
        z = ((z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)).astype(np.uint64)
        return z ^ (z >> np.uint64(31))


def noise(n, c, channels, seed, amplitude=1.0, offset=0.0):
    m = np.asarray(n, dtype=np.uint64) * np.uint64(channels) + np.uint64(c)
    s = np.uint64(seed)
    u1 = (_splitmix64(s ^ (np.uint64(2) * m)) >> np.uint64(11)).astype(np.float64) * 2.0**-53
    u2 = (_splitmix64(s ^ (np.uint64(2) * m + np.uint64(1))) >> np.uint64(11)).astype(np.float64) * 2.0**-53
    return offset + amplitude * np.sqrt(-2 * np.log(1 - u1)) * np.cos(2 * np.pi * u2)


def sample_offsets_ns(n, rate_hz):
    """t[n] - t[0] for a single acquisition segment: floor(n * 1e9 / rate_hz)."""
    return np.floor(np.asarray(n, dtype=np.float64) * 1e9 / rate_hz).astype(np.int64)

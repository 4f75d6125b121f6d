"""Helpers for the plugin tests (test_plugins.py, tests/install/test_install.py): start the
example plugin's TM-2 simulator as a real process and check a run of acme.tm2 against the
simulator's formulas (examples/plugin-driver/sim/acme_tm2_sim.py) with h5py."""
import subprocess
import sys
from pathlib import Path

import numpy as np

SOURCE = Path(__file__).resolve().parents[2]
SIM = SOURCE / "examples" / "plugin-driver" / "sim" / "acme_tm2_sim.py"


class Tm2Simulator:
    """The TM-2 simulator on a free port; killed on exit."""

    def __init__(self, sim=SIM, python=sys.executable, drop=0):
        self.proc = subprocess.Popen([python, str(sim), "--drop", str(drop)],
                                     stdout=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        assert line.startswith("PORT "), f"simulator said {line!r}"
        self.port = int(line.split()[1])
        self.resource = f"TCPIP::127.0.0.1::{self.port}::SOCKET"

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.proc.kill()
        self.proc.wait()


def tm2_config(plugin_paths, resource, output, duration="1500ms", rate=200.0, batch=20):
    paths = ", ".join(f'"{p}"' for p in plugin_paths)
    return f"""
[run]
name = "tm2"
duration = "{duration}"
output = "{output}"
log_level = "warn"

[plugins]
paths = [{paths}]

[instruments.tm2]
driver = "acme.tm2"
resource = "{resource}"
options = {{ rate_hz = {rate}, batch_size = {batch} }}
"""


def check_tm2_run(run_dir: Path, rate=200.0, batch=20):
    """Every sample of the run is there, in order, with the simulator's values; return the
    number of rows."""
    import h5py
    with h5py.File(run_dir / "run.h5", "r") as f:
        g = f["tm2"]
        sample = g["sample"][:]
        inlet = g["inlet"][:]
        outlet = g["outlet"][:]
        stamps = g["timestamp"][:]
        assert g["inlet"].attrs["units"] in (b"degC", "degC")
    n = len(sample)
    assert n >= batch and n % batch == 0, n
    k = np.arange(n, dtype=np.int64)
    np.testing.assert_array_equal(sample, k)  # nothing lost, nothing repeated
    np.testing.assert_array_equal(inlet, 20 + 0.01 * k.astype(np.float64))
    np.testing.assert_array_equal(outlet, 35 - 0.02 * k.astype(np.float64))
    steps = np.diff(stamps.astype(np.int64))
    assert np.all(np.abs(steps - 1e9 / rate) <= 1), "timestamps are not start + k / rate"
    return n


DRIVERS_DOC = SOURCE / "docs" / "drivers.md"


def doc_blocks(lang, marker=None):
    """The ```lang blocks of docs/drivers.md (only those after `<!-- test: marker -->` when
    marker is given)."""
    import re
    text = DRIVERS_DOC.read_text()
    if marker is not None:
        pattern = r"<!-- test: " + re.escape(marker) + r" -->\n```" + lang + r"\n(.*?)```"
    else:
        pattern = r"```" + lang + r"\n(.*?)```"
    return re.findall(pattern, text, flags=re.S)


def doc_run_config(plugin_rel, resource):
    """docs/drivers.md's `run` config with the simulator's resource (and the plugin's path)."""
    (block,) = doc_blocks("toml", "run")
    assert 'paths = ["acme-tm2/build/acme_tm2.so"]' in block
    assert 'resource = "TCPIP::127.0.0.1::5025::SOCKET"' in block
    return (block.replace("acme-tm2/build/acme_tm2.so", plugin_rel)
            .replace("TCPIP::127.0.0.1::5025::SOCKET", resource))

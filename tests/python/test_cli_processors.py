"""Derived streams end to end: `arrowdaq run` with FIR, decimation, moving average and
statistics processors; scipy recomputes every derived value from the stored input and the
stored provenance (coefficients in the HDF5 attributes); bad processor configs exit 2 with
file:line:column."""
import re

import h5py
import numpy as np
import pytest
import scipy.signal as ss

from arrowdaq_testlib import load_summary, only_run_dir, run, write_config

SOURCE = """
[instruments.daq]
driver = "sim.noise"
options = {{ rate_hz = 20000.0, batch_size = 250, channels = 2, seed = 3 }}
{processors}
"""

PROCESSORS = """
[[processors]]
kind = "fir"
input = "daq"
output = "daq.lowpass"
options = { cutoff_hz = 1500.0, taps = 63, window = "kaiser:8.6" }

[[processors]]
kind = "decimate"
input = "daq.lowpass"
output = "daq.slow"
options = { factor = 4 }

[[processors]]
kind = "moving_average"
input = "daq"
output = "daq.smooth"
options = { window = 16 }

[[processors]]
kind = "stats"
input = "daq"
output = "daq.stats"
"""


@pytest.fixture(scope="module")
def h5(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("proc")
    cfg = write_config(tmp, SOURCE.format(processors=PROCESSORS))
    out = tmp / "out"
    r = run(["run", str(cfg), "--duration", "2s", "--output", str(out)])
    assert r.returncode == 0, r.stderr
    run_dir = only_run_dir(out)
    with h5py.File(run_dir / "run.h5", "r") as f:
        yield f, load_summary(run_dir)


def coefficients(group):
    text = group.attrs["arrowdaq.coefficients"]
    text = text.decode() if isinstance(text, bytes) else text
    return np.array([float(v) for v in text.split(",")])


def test_fir_equals_lfilter_of_the_stored_input(h5):
    f, summary = h5
    g = f["daq.lowpass"]
    b = coefficients(g)
    np.testing.assert_allclose(b, ss.firwin(63, 1500.0, window=("kaiser", 8.6), fs=20000.0),
                               rtol=0, atol=1e-12)
    assert g.attrs["arrowdaq.input"] in ("daq", b"daq")
    for c in range(2):
        x = f[f"daq/ch{c}"][:]
        y = g[f"ch{c}"][:]
        assert len(y) == len(x)
        ref = ss.lfilter(b, 1.0, x)
        assert np.max(np.abs(y - ref)) <= 1e-12 * np.max(np.abs(x))
    np.testing.assert_array_equal(g["timestamp"][:], f["daq/timestamp"][:])


def test_decimation_equals_scipy_decimate_fir(h5):
    f, _ = h5
    y = f["daq.lowpass/ch1"][:]
    z = f["daq.slow/ch1"][:]
    b = coefficients(f["daq.slow"])
    np.testing.assert_allclose(b, ss.firwin(20 * 4 + 1, 1.0 / 4, window="hamming"), atol=1e-15)
    ref = ss.lfilter(b, 1.0, y)[::4]
    assert len(z) == len(ref)
    assert np.max(np.abs(z - ref)) <= 1e-12 * np.max(np.abs(y))
    np.testing.assert_array_equal(f["daq.slow/timestamp"][:], f["daq.lowpass/timestamp"][::4])


def test_moving_average_and_stats(h5):
    f, summary = h5
    x = f["daq/ch0"][:]
    y = f["daq.smooth/ch0"][:]
    ref = ss.lfilter(np.ones(16) / 16, 1.0, x)
    assert np.max(np.abs(y - ref)) <= 1e-12 * np.max(np.abs(x))
    stats = f["daq.stats"]
    packets = {s["name"]: s["packets"] for s in summary["streams"]}
    assert stats["ch0_mean"].shape[0] == packets["daq"]
    first = x[:250]
    np.testing.assert_allclose(stats["ch0_mean"][0], first.mean(), rtol=1e-12)
    np.testing.assert_allclose(stats["ch0_std"][0], first.std(), rtol=1e-12)
    np.testing.assert_allclose(stats["ch0_max"][0], first.max(), rtol=0)


BAD = {
    "nyquist": ('kind = "fir"\ninput = "daq"\noutput = "o"\noptions = { cutoff_hz = 10000.0 }\n', "Nyquist"),
    "zero_taps": ('kind = "fir"\ninput = "daq"\noutput = "o"\noptions = { cutoff_hz = 10.0, taps = 0 }\n', "taps"),
    "window": ('kind = "fir"\ninput = "daq"\noutput = "o"\noptions = { cutoff_hz = 10.0, window = "hamm" }\n', "hamm"),
    "kind": ('kind = "median"\ninput = "daq"\noutput = "o"\n', "median"),
    "no_input": ('kind = "fir"\ninput = "nope"\noutput = "o"\noptions = { cutoff_hz = 10.0 }\n', "nope"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_processor_config_exits_2_with_location(tmp_path, case):
    body, text = BAD[case]
    cfg = write_config(tmp_path, SOURCE.format(processors="\n[[processors]]\n" + body), name="p.toml")
    r = run(["validate", str(cfg)])
    assert r.returncode == 2, r.stdout
    assert re.search(r"p\.toml:\d+:\d+: ", r.stderr), r.stderr
    assert text in r.stderr


def test_processor_cycle_is_refused(tmp_path):
    cyc = ('\n[[processors]]\nkind = "moving_average"\ninput = "b"\noutput = "a"\n'
           '\n[[processors]]\nkind = "moving_average"\ninput = "a"\noutput = "b"\n')
    cfg = write_config(tmp_path, SOURCE.format(processors=cyc), name="p.toml")
    r = run(["validate", str(cfg)])
    assert r.returncode == 2
    assert re.search(r"p\.toml:\d+:\d+: ", r.stderr), r.stderr

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
    # Linear phase: the output lags by (63 - 1) / 2 = 31 samples; its timestamps are the
    # input's shifted back by that group delay (1.55 ms at 20 kHz), stored in the metadata.
    assert g.attrs["arrowdaq.group_delay_samples"] == 31
    assert g.attrs["arrowdaq.group_delay_ns"] == 1_550_000
    np.testing.assert_array_equal(g["timestamp"][:], f["daq/timestamp"][:] - 1_550_000)


def test_decimation_equals_scipy_decimate_fir(h5):
    f, _ = h5
    y = f["daq.lowpass/ch1"][:]
    z = f["daq.slow/ch1"][:]
    b = coefficients(f["daq.slow"])
    np.testing.assert_allclose(b, ss.firwin(20 * 4 + 1, 1.0 / 4, window="hamming"), atol=1e-15)
    ref = ss.lfilter(b, 1.0, y)[::4]
    assert len(z) == len(ref)
    assert np.max(np.abs(z - ref)) <= 1e-12 * np.max(np.abs(y))
    # Shifted once more by the anti-alias FIR's delay: (81 - 1) / 2 = 40 samples at 20 kHz.
    assert f["daq.slow"].attrs["arrowdaq.group_delay_samples"] == 40
    np.testing.assert_array_equal(f["daq.slow/timestamp"][:],
                                  f["daq.lowpass/timestamp"][::4] - 2_000_000)


def test_moving_average_and_stats(h5):
    f, summary = h5
    x = f["daq/ch0"][:]
    y = f["daq.smooth/ch0"][:]
    ref = ss.lfilter(np.ones(16) / 16, 1.0, x)
    assert np.max(np.abs(y - ref)) <= 1e-12 * np.max(np.abs(x))
    # A boxcar of 16 is centered 7.5 samples back: 375 us at 20 kHz.
    np.testing.assert_array_equal(f["daq.smooth/timestamp"][:], f["daq/timestamp"][:] - 375_000)
    stats = f["daq.stats"]
    packets = {s["name"]: s["packets"] for s in summary["streams"]}
    assert stats["ch0_mean"].shape[0] == packets["daq"]
    first = x[:250]
    np.testing.assert_allclose(stats["ch0_mean"][0], first.mean(), rtol=1e-12)
    np.testing.assert_allclose(stats["ch0_std"][0], first.std(), rtol=1e-12)
    np.testing.assert_allclose(stats["ch0_max"][0], first.max(), rtol=0)


ALIGN = """
[instruments.sig]
driver = "sim.sine"
options = { rate_hz = 20000.0, batch_size = 500, channels = 1, frequency_hz = 50.0 }

[[processors]]
kind = "fir"
input = "sig"
output = "sig.lp"
options = { cutoff_hz = 1500.0, taps = 63 }

[[processors]]
kind = "decimate"
input = "sig.lp"
output = "sig.lp.dec"
options = { factor = 4 }
"""


def phase_time(t_ns, y, t0, f_hz):
    """Time offset (s) of the f_hz sinusoid in y(t) relative to sin(2 pi f (t - t0))."""
    t = (np.asarray(t_ns, dtype=np.int64) - t0).astype(np.float64) * 1e-9
    c = np.sum(y * np.exp(-2j * np.pi * f_hz * t))
    return np.angle(c) / (2 * np.pi * f_hz)


def test_filtered_streams_are_in_phase_with_their_input_on_stored_timestamps(tmp_path):
    # A 50 Hz sine through a 63-tap low-pass (passband: gain 1, delay 31 samples) and then
    # decimated by 4: plotted on their stored timestamps, input and outputs line up within one
    # input sample period (50 us); unshifted, the FIR output would lag by 1.55 ms.
    cfg = write_config(tmp_path, ALIGN)
    r = run(["run", str(cfg), "--duration", "1s", "--output", str(tmp_path / "out")])
    assert r.returncode == 0, r.stderr
    with h5py.File(only_run_dir(tmp_path / "out") / "run.h5", "r") as f:
        t0 = int(f["sig/timestamp"][0])
        skip = 400  # past the filters' start-up transients (one period of 50 Hz)

        def phase(stream, step, shift_ns=0):
            t, y = f[f"{stream}/timestamp"][:], f[f"{stream}/ch0"][:]
            period = 400 // step  # samples per period of 50 Hz
            first = skip // step
            n = (len(y) - first) // period * period  # whole periods only
            assert n >= 10 * period
            return phase_time(t[first:first + n] + shift_ns, y[first:first + n], t0, 50.0)

        reference = phase("sig", 1)
        for stream, step in (("sig.lp", 1), ("sig.lp.dec", 4)):
            offset = phase(stream, step) - reference
            assert abs(offset) < 50e-6, (stream, offset)
        # The shift is what lines them up: the unshifted output would be 31 samples late.
        late = phase("sig.lp", 1, f["sig.lp"].attrs["arrowdaq.group_delay_ns"]) - reference
        assert abs(late + 31 / 20000.0) < 50e-6, late


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

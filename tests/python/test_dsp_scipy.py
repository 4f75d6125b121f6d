"""arrowdaq::dsp against scipy.signal, through dsp_oracle_tool (path in ARROWDAQ_DSP_ORACLE_TOOL_BIN).

Error metric for filters: max|y - y_ref| / max|x| (max abs error over max abs input), stated per
test. Signals are random with fixed seeds and cut into random batch sizes that include batches of
one sample and batches shorter than the filter.
"""
import os
import subprocess

import numpy as np
import pytest
import scipy.signal as ss

TOOL = os.environ.get("ARROWDAQ_DSP_ORACLE_TOOL_BIN")
pytestmark = pytest.mark.skipif(not TOOL, reason="ARROWDAQ_DSP_ORACLE_TOOL_BIN not set")


def run_tool(tmp_path, mode, x=None, taps=None, **opts):
    args = [TOOL, mode, "--out", str(tmp_path / "y.bin")]
    if mode == "fir" and "fft_planning" not in opts:
        # FFTW_MEASURE takes seconds per process on a loaded machine; the arithmetic is the same
        # (test_fir_fft_path_equals_lfilter_whatever_the_split runs the default).
        opts["fft_planning"] = "estimate"
    if x is not None:
        np.asarray(x, dtype="<f8").tofile(tmp_path / "x.bin")
        args += ["--in", str(tmp_path / "x.bin")]
    if taps is not None:
        np.asarray(taps, dtype="<f8").tofile(tmp_path / "b.bin")
        args += ["--taps", str(tmp_path / "b.bin")]
    for key, value in opts.items():
        key = key.replace("_", "-")
        if value is True:
            args.append(f"--{key}")
        else:
            args += [f"--{key}", str(value)]
    proc = subprocess.run(args, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    return np.fromfile(tmp_path / "y.bin", dtype="<f8")


def random_batches(rng, numtaps):
    """Batch sizes: ones, shorter than the filter, around it, and long."""
    sizes = [1, 1, 2, max(1, numtaps // 2), max(1, numtaps - 1), numtaps, numtaps + 1, 3, 1000]
    sizes += list(rng.integers(1, 4 * numtaps + 2, size=12))
    rng.shuffle(sizes)
    return ",".join(str(int(s)) for s in sizes)


def rel_err(y, y_ref, x):
    """max|y - y_ref| / max|x|."""
    assert y.shape == y_ref.shape
    return np.max(np.abs(y - y_ref)) / np.max(np.abs(x))


@pytest.mark.parametrize("numtaps", [1, 2, 7, 16, 31, 64, 65, 256])
@pytest.mark.parametrize("seed", [0, 1])
def test_fir_float64_equals_lfilter(tmp_path, numtaps, seed):
    rng = np.random.default_rng(1000 * numtaps + seed)
    x = rng.standard_normal(20_000) * 3.0 + 0.5
    b = rng.standard_normal(numtaps)
    y_ref = ss.lfilter(b, 1.0, x)
    for batches in (None, "1", random_batches(rng, numtaps)):
        opts = {} if batches is None else {"batches": batches}
        y = run_tool(tmp_path, "fir", x, taps=b, **opts)
        assert rel_err(y, y_ref, x) <= 1e-12, batches


def test_fir_filter_longer_than_signal(tmp_path):
    rng = np.random.default_rng(7)
    x = rng.standard_normal(50)
    b = rng.standard_normal(300)
    y = run_tool(tmp_path, "fir", x, taps=b, batches="1,3,7")
    assert rel_err(y, ss.lfilter(b, 1.0, x), x) <= 1e-12


def test_fir_nan_inf_like_lfilter(tmp_path):
    rng = np.random.default_rng(8)
    x = rng.standard_normal(2000)
    x[100] = np.nan
    x[900] = np.inf
    x[1500] = -np.inf
    b = np.abs(rng.standard_normal(40)) + 0.1
    y_ref = ss.lfilter(b, 1.0, x)
    y = run_tool(tmp_path, "fir", x, taps=b, batches=random_batches(rng, 40))
    np.testing.assert_array_equal(np.isnan(y), np.isnan(y_ref))
    np.testing.assert_array_equal(np.isposinf(y), np.isposinf(y_ref))
    np.testing.assert_array_equal(np.isneginf(y), np.isneginf(y_ref))
    finite = np.isfinite(y_ref)
    assert np.isnan(y).sum() == 40
    assert np.max(np.abs(y[finite] - y_ref[finite])) <= 1e-12 * np.max(np.abs(x[np.isfinite(x)]))


@pytest.mark.parametrize("numtaps", [7, 64, 257])
def test_fir_float32_within_bound(tmp_path, numtaps):
    # Stated bound: max|y32 - y_ref| <= (numtaps + 2) * 2**-24 * sum|b| * max|x|
    # (rounding of x and b to float, then numtaps float multiply-adds).
    rng = np.random.default_rng(numtaps)
    x = rng.standard_normal(10_000)
    b = rng.standard_normal(numtaps)
    y_ref = ss.lfilter(b, 1.0, x)
    y = run_tool(tmp_path, "fir", x, taps=b, dtype="float32", batches=random_batches(rng, numtaps))
    bound = (numtaps + 2) * 2.0**-24 * np.sum(np.abs(b)) * np.max(np.abs(x))
    err = np.max(np.abs(y - y_ref))
    assert err <= bound
    assert err > 0  # really computed in float32


WINDOWS = {
    "rectangular": "boxcar",
    "hamming": "hamming",
    "hann": "hann",
    "blackman": "blackman",
    "kaiser:0.5": ("kaiser", 0.5),
    "kaiser:8.6": ("kaiser", 8.6),
    "kaiser:14": ("kaiser", 14.0),
}
DESIGNS = [
    # (numtaps, cutoff_hz, pass)
    (63, [50.0], "lowpass"),
    (64, [123.4], "lowpass"),
    (1, [100.0], "lowpass"),
    (101, [200.0], "highpass"),
    (81, [50.0, 150.0], "bandpass"),
    (80, [50.0, 150.0], "bandpass"),
    (81, [100.0, 220.0], "bandstop"),
    (81, [30.0, 60.0, 200.0, 300.0], "bandpass"),
    (81, [30.0, 60.0, 200.0], "bandstop"),
]


@pytest.mark.parametrize("window", sorted(WINDOWS))
@pytest.mark.parametrize("design", DESIGNS, ids=lambda d: f"{d[2]}-{d[0]}-{len(d[1])}")
@pytest.mark.parametrize("scale", [True, False])
def test_firwin_equals_scipy(tmp_path, window, design, scale):
    numtaps, cutoff, pass_kind = design
    fs = 1000.0
    ref = ss.firwin(numtaps, cutoff, window=WINDOWS[window], pass_zero=pass_kind, scale=scale, fs=fs)
    opts = {"numtaps": numtaps, "cutoff": ",".join(map(repr, cutoff)), "fs": fs,
            "window": window, "pass": pass_kind}
    if not scale:
        opts["no_scale"] = True
    h = run_tool(tmp_path, "firwin", **opts)
    assert h.shape == ref.shape
    assert np.max(np.abs(h - ref)) <= 1e-12


@pytest.mark.parametrize("opts", [
    {"numtaps": 0, "cutoff": "50", "pass": "lowpass"},
    {"numtaps": 31, "cutoff": "0", "pass": "lowpass"},
    {"numtaps": 31, "cutoff": "500", "pass": "lowpass"},
    {"numtaps": 32, "cutoff": "50", "pass": "highpass"},
    {"numtaps": 32, "cutoff": "50,60", "pass": "bandstop"},
])
def test_firwin_errors_where_scipy_errors(tmp_path, opts):
    with pytest.raises(ValueError):
        ss.firwin(opts["numtaps"], [float(c) for c in opts["cutoff"].split(",")],
                  pass_zero=opts["pass"], fs=1000.0)
    args = [TOOL, "firwin", "--out", str(tmp_path / "h.bin"), "--fs", "1000",
            "--window", "hamming"]
    for key, value in opts.items():
        args += [f"--{key}", str(value)]
    proc = subprocess.run(args, capture_output=True, text=True)
    assert proc.returncode == 2 and "Invalid" in proc.stderr


def test_unknown_window_rejected(tmp_path):
    proc = subprocess.run([TOOL, "firwin", "--out", str(tmp_path / "h.bin"), "--numtaps", "31",
                           "--cutoff", "50", "--fs", "1000", "--window", "hamm",
                           "--pass", "lowpass"], capture_output=True, text=True)
    assert proc.returncode == 2 and "unknown window" in proc.stderr


def scipy_decimate_fir(q):
    """The FIR scipy.signal.decimate(x, q, ftype='fir') uses by default (scipy source:
    n = 20 * q; firwin(n + 1, 1. / q, window='hamming'))."""
    return ss.firwin(20 * q + 1, 1.0 / q, window="hamming")


@pytest.mark.parametrize("numtaps", [300, 1024, 4096])
def test_fir_fft_path_equals_lfilter_whatever_the_split(tmp_path, numtaps):
    """Long filters take the FFT overlap-save path: equal to lfilter within 1e-10 of the output's
    scale (max|y - y_ref| / max|y_ref|), whole or in random batches (ones, around the FFT block,
    long), and the split changes the result by rounding only."""
    rng = np.random.default_rng(7 + numtaps)
    x = rng.standard_normal(60_000) * 3.0 + 0.5
    b = rng.standard_normal(numtaps)
    y_ref = ss.lfilter(b, 1.0, x)
    scale = np.max(np.abs(y_ref))
    whole = run_tool(tmp_path, "fir", x, taps=b, fft_planning="measure")
    assert np.max(np.abs(whole - y_ref)) / scale < 1e-10
    sizes = [1, 1, 2, 5000, 20_000] + list(rng.integers(1, 3 * 8 * numtaps, size=20))
    rng.shuffle(sizes)
    args = [TOOL, "fir", "--print-method", "1", "--out", str(tmp_path / "y.bin"),
            "--in", str(tmp_path / "x.bin"), "--taps", str(tmp_path / "b.bin"),
            "--batches", ",".join(str(int(s)) for s in sizes), "--fft-planning", "estimate"]
    proc = subprocess.run(args, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert "method=fft" in proc.stderr
    y = np.fromfile(tmp_path / "y.bin", dtype="<f8")
    assert np.max(np.abs(y - y_ref)) / scale < 1e-10
    assert np.max(np.abs(y - whole)) / scale < 1e-12


def test_fir_method_option_rejects_garbage(tmp_path):
    np.zeros(10).tofile(tmp_path / "x.bin")
    np.ones(3).tofile(tmp_path / "b.bin")
    proc = subprocess.run([TOOL, "fir", "--method", "fast", "--out", str(tmp_path / "y.bin"),
                           "--in", str(tmp_path / "x.bin"), "--taps", str(tmp_path / "b.bin")],
                          capture_output=True, text=True)
    assert proc.returncode == 2
    assert "--method" in proc.stderr


@pytest.mark.parametrize("q", [2, 3, 4, 10])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_decimate_equals_lfilter_every_qth(tmp_path, q, dtype):
    rng = np.random.default_rng(q)
    x = rng.standard_normal(12_345)
    b = scipy_decimate_fir(q)
    y_ref = ss.lfilter(b, 1.0, x)[::q]
    tol = 1e-12 if dtype == "float64" else (len(b) + 2) * 2.0**-24 * np.sum(np.abs(b))
    for batches in (None, "1", random_batches(rng, len(b))):
        opts = {"q": q, "dtype": dtype}
        if batches is not None:
            opts["batches"] = batches
        y = run_tool(tmp_path, "decimate", x, **opts)  # default taps designed in C++
        assert rel_err(y, y_ref, x) <= tol, batches


def test_decimate_custom_taps(tmp_path):
    rng = np.random.default_rng(11)
    x = rng.standard_normal(5000)
    b = rng.standard_normal(13)
    y = run_tool(tmp_path, "decimate", x, taps=b, q=3, batches="1,2,5,40")
    assert rel_err(y, ss.lfilter(b, 1.0, x)[::3], x) <= 1e-12


@pytest.mark.parametrize("n", [1, 4, 25, 300])
def test_moving_average(tmp_path, n):
    rng = np.random.default_rng(n)
    x = rng.standard_normal(8000) + 10.0
    y_ref = ss.lfilter(np.ones(n) / n, 1.0, x)
    y = run_tool(tmp_path, "moving-average", x, n=n, batches=random_batches(rng, n))
    assert rel_err(y, y_ref, x) <= 1e-12


def test_stats(tmp_path):
    rng = np.random.default_rng(3)
    x = rng.standard_normal(10_001) * 2.0 + 1e3
    x[5] = np.nan
    s = run_tool(tmp_path, "stats", x)
    v = x[~np.isnan(x)]
    np.testing.assert_allclose(s[:2], [v.size, 1])
    np.testing.assert_allclose(s[2:], [v.min(), v.max(), v.mean(), v.std(),
                                       np.sqrt(np.mean(v * v))], rtol=1e-12)

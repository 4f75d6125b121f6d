#!/usr/bin/env python3
"""Compare arrowdaq's FIR benchmark with scipy.signal.lfilter, numpy.convolve and (long filters,
FFT path) scipy.signal.oaconvolve.

Times scipy.signal.lfilter(b, 1, x) and numpy.convolve(x, b)[:n] on the same 1M float64/float32
samples and tap counts as the direct-form entries of bench/dsp_fir_benchmark.cc (BM_FirF64/F32 at
16, 64 and 256 taps), scipy.signal.oaconvolve(x, b)[:n] for its FFT entries at 1024 and 4096 taps
(BM_FirFftF64), reads that benchmark's JSON output and prints samples/s for each and the ratio
arrowdaq / peer.

    dsp_fir_benchmark --benchmark_out=fir.json --benchmark_out_format=json
    python bench/compare/fir_vs_scipy.py fir.json
"""
import json
import sys
import time

import numpy as np
import scipy.signal as ss

N = 1 << 20


def best_time(fn, repeats=5):
    best = float("inf")
    for _ in range(repeats):
        t0 = time.process_time()
        fn()
        best = min(best, time.process_time() - t0)
    return best


def our_rates(report):
    """Return {benchmark name: samples/s} of the BM_Fir* entries of a dsp_fir_benchmark report
    (plain runs, or the median when run with --benchmark_repetitions)."""
    ours = {}
    for b in report["benchmarks"]:
        name = b.get("run_name", b["name"])
        if not name.startswith("BM_Fir"):
            continue
        if b.get("run_type", "iteration") == "iteration" or b.get("aggregate_name") == "median":
            ours[name] = b["items_per_second"]
    return ours


DIRECT_TAPS = (16, 64, 256)
FFT_TAPS = (1024, 4096)


def compare(report, repeats=5):
    """Time the peers on the same data as the BM_FirF64/F32 entries at DIRECT_TAPS (lfilter,
    convolve) and the BM_FirFftF64 entries at FFT_TAPS (oaconvolve) of `report`; return one dict
    per entry: name, taps, dtype, ours and the peers' samples/s."""
    rng = np.random.default_rng(42)
    rows = []
    for name, rate in sorted(our_rates(report).items()):
        kind, taps = name.split("/")[:2]
        taps = int(taps)
        if kind in ("BM_FirF64", "BM_FirF32") and taps in DIRECT_TAPS:
            dtype = np.float64 if kind == "BM_FirF64" else np.float32
            x = rng.standard_normal(N).astype(dtype)
            b = rng.standard_normal(taps).astype(dtype)
            t_lf = best_time(lambda: ss.lfilter(b, dtype(1), x), repeats)
            t_cv = best_time(lambda: np.convolve(x, b)[:N], repeats)
            rows.append({"name": name, "taps": taps, "dtype": np.dtype(dtype).name,
                         "ours": rate, "lfilter": N / t_lf, "convolve": N / t_cv})
        elif kind == "BM_FirFftF64" and taps in FFT_TAPS:
            x = rng.standard_normal(N)
            b = rng.standard_normal(taps)
            t_oa = best_time(lambda: ss.oaconvolve(x, b)[:N], repeats)
            rows.append({"name": name, "taps": taps, "dtype": "float64", "ours": rate,
                         "oaconvolve": N / t_oa})
    return rows


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    with open(sys.argv[1]) as f:
        report = json.load(f)
    print(f"{'benchmark':<18}{'arrowdaq Msps':>15}{'lfilter Msps':>14}{'ratio':>8}"
          f"{'convolve Msps':>15}{'ratio':>8}")
    rows = compare(report)
    for r in rows:
        if "lfilter" not in r:
            continue
        rate, lf, cv = r["ours"], r["lfilter"], r["convolve"]
        print(f"{r['name']:<18}{rate / 1e6:>15.1f}{lf / 1e6:>14.1f}{rate / lf:>8.2f}"
              f"{cv / 1e6:>15.1f}{rate / cv:>8.2f}")
    print(f"{'benchmark':<18}{'arrowdaq Msps':>15}{'oaconvolve Msps':>17}{'ratio':>8}")
    for r in rows:
        if "oaconvolve" in r:
            print(f"{r['name']:<18}{r['ours'] / 1e6:>15.1f}{r['oaconvolve'] / 1e6:>17.1f}"
                  f"{r['ours'] / r['oaconvolve']:>8.2f}")


if __name__ == "__main__":
    main()

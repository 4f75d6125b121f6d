#!/usr/bin/env python3
"""`make compare`: run every benchmark binary and every peer in one go, on this machine, now,
and write bench/results/<timestamp>.json, bench/results/latest.md and bench/results/latest.png.

Builds nothing (the Makefile builds the release preset first). Figures are medians of
repetitions; every ratio divides two figures measured in this run. Nothing here asserts on time:
goals are reported as met or missed, and a goal whose measurement failed (a binary not built or
crashed, a benchmark that reported an error, a peer that failed, an impossible figure, output
that cannot be read) is reported as missed, never dropped.

    python bench/compare/run_all.py [--build-dir build/release] [--quick] [--trial-seconds 30]
"""
import argparse
import datetime
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import dashboard_bench  # noqa: E402
import fir_vs_scipy  # noqa: E402
import flight_serve  # noqa: E402
import gbench  # noqa: E402
import limits  # noqa: E402
import machine_info  # noqa: E402
import peer_bluesky  # noqa: E402
import peers_storage  # noqa: E402
import report  # noqa: E402
import runs  # noqa: E402
import scan_overhead  # noqa: E402

REPO = os.path.abspath(os.path.join(HERE, "..", ".."))
SIZES = [1000, 10000, 100000]


def log(msg):
    print(msg, flush=True)


def machine():
    def sh(cmd):
        try:
            return subprocess.run(cmd, capture_output=True, text=True, shell=True).stdout.strip()
        except OSError:
            return ""
    cpu = ""
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    mem = 0
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemTotal"):
                mem = int(line.split()[1]) * 1024
    info = {"nproc": os.cpu_count(), "cpu": cpu, "memory_bytes": mem,
            "kernel": platform.release(),
            "disk": sh(f"df -hT {REPO} | tail -1"),
            "cpu_flags_avx512": "avx512f" in open("/proc/cpuinfo").read(),
            "git": sh(f"git -C {REPO} rev-parse --short HEAD")}
    # Cores, clock, SIMD flags and the load average when the run started (machine_info.py).
    info.update(machine_info.collect(REPO))
    return info


def history(out_dir, exclude=None):
    """The earlier make compare results kept in `out_dir`, oldest first (never overwritten:
    each run writes its own <timestamp>.json), for the report's trend table."""
    runs = []
    for path in report.results_files(out_dir):
        if exclude and os.path.abspath(path) == os.path.abspath(exclude):
            continue
        try:
            with open(path) as f:
                runs.append(json.load(f))
        except (OSError, ValueError) as e:
            log(f"trend: {path} left out: {e}")
    return runs[-(report.TREND_RUNS - 1):]


def python_client(app):
    """python/benchmarks/client_vs_flight.py against `app`: its last line is RESULT {json}."""
    env = dict(os.environ, PYTHONPATH=os.path.join(REPO, "python", "src"))
    r = subprocess.run([sys.executable, os.path.join(REPO, "python", "benchmarks",
                                                     "client_vs_flight.py"), app],
                       capture_output=True, text=True, timeout=900, env=env)
    lines = [ln for ln in r.stdout.splitlines() if ln.startswith("RESULT ")]
    if r.returncode != 0 or not lines:
        raise RuntimeError(f"client_vs_flight.py exited {r.returncode}: "
                           f"{(r.stderr or r.stdout)[-500:]}")
    return json.loads(lines[-1][len("RESULT "):])


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--build-dir", default=os.path.join(REPO, "build", "release"))
    ap.add_argument("--out", default=os.path.join(REPO, "bench", "results"))
    ap.add_argument("--quick", action="store_true", help="short trials: about 10 minutes")
    ap.add_argument("--trial-seconds", type=float, default=None,
                    help="length of each max-rate trial (default 30, 5 with --quick)")
    ap.add_argument("--work-dir", default=None,
                    help="scratch directory on the disk under test (default: the results dir)")
    ap.add_argument("--render", metavar="JSON", default=None,
                    help="only rebuild latest.md and latest.png from a results JSON")
    ap.add_argument("--skip", default="", help="comma list of steps to skip: "
                    "limits,fir,runtime,caf,pipeline,kafka,storage,peers,bluesky,maxrate,flight,"
                    "flight_maxrate,python_client,scan,dashboard")
    args = ap.parse_args()
    if args.render:
        with open(args.render) as f:
            res = json.load(f)
        table = report.build_table(res)
        earlier = [r for r in history(args.out, exclude=args.render)
                   if r.get("timestamp", "") < res.get("timestamp", "")]
        with open(os.path.join(args.out, "latest.md"), "w") as f:
            f.write(report.markdown(res, table, earlier))
        report.plot(res, os.path.join(args.out, "latest.png"))
        return
    quick = args.quick
    trial_s = args.trial_seconds or (5.0 if quick else 30.0)
    reps = 3 if quick else 5
    min_time = 0.2 if quick else 0.5
    skip = set(filter(None, args.skip.split(",")))
    bench_dir = os.path.join(args.build_dir, "bench")
    app = os.path.join(args.build_dir, "apps", "arrowdaq", "arrowdaq")
    os.makedirs(args.out, exist_ok=True)
    work_base = args.work_dir or args.out
    os.makedirs(work_base, exist_ok=True)
    work = tempfile.mkdtemp(prefix="scratch-", dir=work_base)
    env = dict(os.environ, ARROWDAQ_BENCH_DIR=work)
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    res = {"timestamp": stamp, "quick": quick, "trial_seconds": trial_s, "repetitions": reps,
           "machine": machine(), "gbench": {}, "peers": {}, "skipped": sorted(skip),
           "errors": {}}

    def failed(step, e):
        # A step that fails is recorded, never dropped: its goals are reported as missed.
        log(f"{step} FAILED: {e}")
        res["errors"][step] = str(e)

    def bench(name, **kw):
        path = os.path.join(bench_dir, name)
        if not os.path.exists(path):
            failed(name, f"not built ({path} missing)")
            return {}
        log(f"running {name} ...")
        try:
            repetitions = kw.pop("repetitions_override", reps)
            rep = gbench.run(path, repetitions=repetitions, min_time=min_time, env=env, **kw)
        except Exception as e:  # keep going: one broken binary must not hide the others
            detail = getattr(e, "stderr", None)
            failed(name, f"{e}{': ' + detail.strip()[-500:] if detail else ''}")
            return {}
        if name in res["gbench"]:  # a second run of one binary (another filter): merge
            res["gbench"][name]["benchmarks"] += rep.get("benchmarks", [])
        else:
            res["gbench"][name] = rep
        for bm, err in gbench.errors(rep).items():
            log(f"{name}: {bm} reported an error: {err}")
        return gbench.figures(rep)

    try:
        if "limits" not in skip:
            log("limits: memcpy and dd conv=fdatasync ...")
            res["peers"]["memcpy_Bps"] = limits.memcpy_bandwidth()
            try:
                res["peers"]["dd_Bps"] = limits.disk_bandwidth(work)
            except (OSError, ValueError, subprocess.CalledProcessError) as e:
                failed("dd", e)
        if "fir" not in skip:
            fir = bench("dsp_fir_benchmark")
            if fir:
                log("FIR peers: scipy.signal.lfilter, numpy.convolve ...")
                try:
                    res["peers"]["fir"] = fir_vs_scipy.compare(
                        res["gbench"]["dsp_fir_benchmark"], repeats=3 if quick else 5)
                except Exception as e:
                    failed("fir_peers", e)
        if "runtime" not in skip:
            bench("runtime_benchmark")
        if "caf" not in skip:
            bench("caf_comparison_benchmark")
        if "storage" not in skip:
            bench("storage_benchmark")
        if "pipeline" not in skip:
            bench("pipeline_benchmark")
        if "kafka" not in skip:
            # librdkafka's mock cluster in the benchmark's process; the latency run is one
            # 10 s stream per repetition (1000 batches at 100/s), so three are enough.
            bench("kafka_benchmark", extra=["--benchmark_filter=BM_KafkaSink|BM_Librdkafka"])
            bench("kafka_benchmark", extra=["--benchmark_filter=BM_KafkaLatency"],
                        repetitions_override=3)
        if "peers" not in skip:
            log("storage peers: h5py, pyarrow IPC, pyarrow Parquet ...")
            try:
                res["peers"]["storage"] = peers_storage.run_all(work, SIZES, 2 if quick else 3)
            except Exception as e:
                failed("peers", e)
        if "bluesky" not in skip:
            n = 500 if quick else 2000
            log(f"Bluesky RunEngine: count([det1, det2], num={n}) ...")
            try:
                res["peers"]["bluesky"] = peer_bluesky.events_per_second(n)
                log("arrowdaq run: one sim.ramp (2 channels) as fast as it goes, to HDF5 ...")
                res["peers"]["arrowdaq_run"] = runs.throughput(app, work, 3 if quick else 10)
            except Exception as e:
                failed("bluesky", e)
        if "maxrate" not in skip:
            log(f"maximum sustainable rate to HDF5 ({trial_s:g} s trials) ...")
            try:
                best, trials = runs.max_sustainable_rate(app, work, trial_s, log,
                                                         bisections=2 if quick else 3)
                res["peers"]["max_rate"] = {"best": best, "trials": trials,
                                            "instruments": runs.INSTRUMENTS,
                                            "channels": runs.CHANNELS}
            except Exception as e:
                failed("maxrate", e)
            # The disk at the volume of the best trial: a 256 MiB dd is a burst the disk's
            # cache absorbs (here 1.0-1.3 GB/s against 0.55 GB/s for 13 GiB); the trial's
            # data is sustained, so it is compared with a dd of the same size.
            best = (res["peers"].get("max_rate") or {}).get("best") or {}
            if best.get("bytes"):
                mib = limits.sustained_mib(work, best["bytes"])
                log(f"dd conv=fdatasync of the best trial's volume ({mib} MiB) ...")
                try:
                    res["peers"]["dd_sustained_Bps"] = limits.disk_bandwidth(work, mib=mib,
                                                                              repeats=1)
                    res["peers"]["dd_sustained_bytes"] = mib << 20
                except (OSError, ValueError, subprocess.CalledProcessError) as e:
                    failed("dd_sustained", e)
        if "flight" not in skip:
            log("arrowdaq serve: DoGet throughput (1 and 4 clients) vs pyarrow's Flight server, "
                "latency at 1 kHz and 100 kHz ...")
            try:
                res["peers"]["flight"] = {
                    "throughput": flight_serve.throughput(app, work, SIZES, log=log,
                                                          ring_bytes=(64 if quick else 128) << 20),
                    "latency": flight_serve.latency(app, work, seconds=3.0 if quick else 10.0,
                                                    log=log)}
            except Exception as e:
                failed("flight", e)
        if "python_client" not in skip:
            log("Python client (read, subscribe) vs raw pyarrow.flight, Bluesky bridge vs "
                "ophyd.sim ...")
            try:
                res["peers"]["python_client"] = python_client(app)
            except Exception as e:
                failed("python_client", e)
        if "flight_maxrate" not in skip and "maxrate" not in skip:
            log(f"maximum sustainable rate to HDF5 with two live Flight clients ({trial_s:g} s "
                "trials) ...")
            try:
                best, trials = runs.max_sustainable_rate(app, work, trial_s, log,
                                                         bisections=2 if quick else 3,
                                                         run=flight_serve.run_once_served)
                res["peers"]["max_rate_served"] = {"best": best, "trials": trials}
            except Exception as e:
                failed("flight_maxrate", e)
        if "scan" not in skip:
            try:
                res["peers"]["scan"] = scan_overhead.compare(app, work, quick, log=log)
            except Exception as e:
                failed("scan", e)
        if "dashboard" not in skip:
            log(f"dashboard: max zero-loss HDF5 rate with {dashboard_bench.BROWSERS} headless "
                "Chromium plotting vs none, latency sample -> page ...")
            res["peers"]["dashboard"] = {}
            try:
                dashboard_bench.compare(app, work, trial_s, quick, log=log,
                                        out=res["peers"]["dashboard"])
            except Exception as e:
                failed("dashboard", e)
    finally:
        shutil.rmtree(work, ignore_errors=True)

    json_path = os.path.join(args.out, f"{stamp}.json")
    earlier = history(args.out)  # read before this run's file is written
    if os.path.exists(json_path):  # two runs in one second: keep both
        json_path = os.path.join(args.out, f"{stamp}-{os.getpid()}.json")
    with open(json_path, "w") as f:
        json.dump(res, f, indent=1, default=str)
    table = report.build_table(res)
    md = report.markdown(res, table, earlier)
    with open(os.path.join(args.out, "latest.md"), "w") as f:
        f.write(md)
    png = os.path.join(args.out, "latest.png")
    report.plot(res, png)
    log(md)
    log(f"wrote {json_path}, {args.out}/latest.md, {png}")


if __name__ == "__main__":
    main()

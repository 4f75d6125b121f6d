#!/usr/bin/env python3
"""`make cost-curves`: what one `arrowdaq run` costs as the number of instruments grows.

Each point is one whole `arrowdaq run` (release binary, flush every second) of
N instruments for a fixed time, measured from outside the process:

* CPU seconds per second (user and system separately) = the process's rusage / its wall time;
* peak RSS (rusage ru_maxrss) and the peak thread count (sampled from /proc every 0.2 s);
* wall time from exec to exit (start-up, acquisition and stop together) and how far it exceeds
  the requested duration;
* rows stored against rate x duration (the data the run was asked for), so a point where the
  engine could not keep up shows as a shortfall, not as a cheap run.

Storage: --formats (default arrow, an Arrow IPC file per stream; hdf5 adds the HDF5 writer's
cost per stream, which at 1000 streams dominates everything else).

Simulated sources: N `sim.ramp` instruments (1 channel) at 10 Hz, 1 kHz and 100 kHz each, with
batches of rate/10 rows (10 batches per second per instrument at every rate: the per-batch cost
stays the same and the data grows with the rate). A combination whose total sample rate is above
--max-samples-per-s is skipped with the reason printed and recorded.

Polled SCPI instruments: N real simulator processes (tools/sim/scpi_server.py --model 34461a,
one per instrument, TCP on loopback) read by the `keysight.34461a` driver at 10 readings/s in
batches of 10. The simulators' own CPU is measured apart (/proc/<pid>/stat before they are
stopped) and not counted in arrowdaq's figure.

Writes bench/results/cost-curves-<timestamp>.json (never overwritten), cost_curves.png and
cost_curves.md (the latest run's plot and table; earlier runs' JSON stay beside them).

    python bench/compare/cost_curves.py [--build-dir build/release] [--seconds 10]
"""
import argparse
import datetime
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import machine_info  # noqa: E402

REPO = os.path.abspath(os.path.join(HERE, "..", ".."))
COUNTS = [10, 100, 1000]
RATES = [10.0, 1000.0, 100000.0]
SCPI_COUNTS = [1, 10, 100]
CLK_TCK = os.sysconf("SC_CLK_TCK")
# How simulated instruments are run: on the shared paced pool (the default) or, for
# comparison in the same binary, a thread each (ARROWDAQ_PACED_THREADS=-1, the design before).
MODES = {"pool": "paced pool", "thread": "thread each"}


def log(msg):
    print(msg, flush=True)


def _head(formats):
    fmts = ", ".join(f'"{f}"' for f in formats)
    return ['[run]', 'name = "cost"', 'log_level = "warn"', 'progress_interval = "60s"', '',
            '[storage]', f'formats = [{fmts}]', 'flush_interval = "1s"', '']


def sim_config(n, rate_hz, formats):
    batch = max(1, int(round(rate_hz / 10)))
    lines = _head(formats)
    for i in range(n):
        lines += [f'[instruments.ramp{i}]', 'driver = "sim.ramp"',
                  f'options = {{ rate_hz = {rate_hz!r}, batch_size = {batch}, channels = 1 }}', '']
    return "\n".join(lines), batch


def scpi_config(ports, formats):
    lines = _head(formats)
    for i, port in enumerate(ports):
        lines += [f'[instruments.dmm{i}]', 'driver = "keysight.34461a"',
                  f'resource = "TCPIP::127.0.0.1::{port}::SOCKET"',
                  'options = { rate_hz = 10.0, batch_size = 10 }',
                  '']
    return "\n".join(lines)


def _proc_threads(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("Threads:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def _proc_cpu_s(pid):
    """utime + stime of a live process, seconds (fields 14 and 15 of /proc/<pid>/stat)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLK_TCK
    except (OSError, IndexError, ValueError):
        return 0.0


def measure_run(app, cfg_text, seconds, work, expected_rows, env=None):
    """Run `arrowdaq run` once; return its figures (rusage, wall, threads, rows)."""
    d = tempfile.mkdtemp(prefix="cost-", dir=work)
    try:
        cfg = os.path.join(d, "cost.toml")
        with open(cfg, "w") as f:
            f.write(cfg_text)
        out = os.path.join(d, "out")
        t0 = time.monotonic()
        proc = subprocess.Popen([app, "run", cfg, "--duration", f"{seconds}s", "--output", out,
                                 "--log-level", "warn"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
        peak_threads = [0]
        done = threading.Event()

        def sample():
            while not done.wait(0.2):
                peak_threads[0] = max(peak_threads[0], _proc_threads(proc.pid))
        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        stderr_chunks = []
        reader = threading.Thread(target=lambda: stderr_chunks.append(proc.stderr.read()),
                                  daemon=True)
        reader.start()
        limit = time.monotonic() + seconds * 20 + 300
        while True:
            pid, status, ru = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() > limit:
                proc.kill()
                pid, status, ru = os.wait4(proc.pid, 0)
                break
            time.sleep(0.05)
        wall = time.monotonic() - t0
        done.set()
        sampler.join()
        reader.join(timeout=5)
        proc.returncode = os.waitstatus_to_exitcode(status)
        summary = {}
        for root, _, files in os.walk(out):
            if "summary.json" in files:
                with open(os.path.join(root, "summary.json")) as f:
                    summary = json.load(f)
        streams = summary.get("streams", [])
        rows = sum(s.get("rows", 0) for s in streams)
        stored = summary.get("storage", {}).get("rows", 0)
        gaps = sum(s.get("missing_sequences", 0) + s.get("drops", 0) + s.get("overruns", 0)
                   for s in streams)
        stderr = b"".join(c for c in stderr_chunks if c).decode(errors="replace")
        return {"exit_code": proc.returncode, "outcome": summary.get("outcome"),
                "user_s": ru.ru_utime, "sys_s": ru.ru_stime, "wall_s": wall,
                "cpu_per_s": (ru.ru_utime + ru.ru_stime) / wall,
                "user_per_s": ru.ru_utime / wall, "sys_per_s": ru.ru_stime / wall,
                "peak_rss_bytes": ru.ru_maxrss * 1024, "peak_threads": peak_threads[0],
                "minor_faults": ru.ru_minflt, "voluntary_switches": ru.ru_nvcsw,
                "involuntary_switches": ru.ru_nivcsw,
                "rows": rows, "stored_rows": stored, "expected_rows": expected_rows,
                "rows_fraction": rows / expected_rows if expected_rows else None,
                "losses": gaps, "stderr": stderr[-1500:] if proc.returncode else ""}
    finally:
        shutil.rmtree(d, ignore_errors=True)


def start_scpi_sims(n):
    sims = []
    try:
        for _ in range(n):
            p = subprocess.Popen([sys.executable, os.path.join(REPO, "tools", "sim",
                                                               "scpi_server.py"),
                                  "--model", "34461a", "--port", "0"],
                                 stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
            sims.append(p)
        ports = [int(p.stdout.readline().split()[-1]) for p in sims]
    except Exception:
        stop_sims(sims)
        raise
    return sims, ports


def stop_sims(sims):
    cpu = sum(_proc_cpu_s(p.pid) for p in sims)
    for p in sims:
        p.terminate()
    for p in sims:
        try:
            p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
    return cpu


def fit(points, x_key, y_key):
    """Least-squares line y = a + b x over the points; returns (a, b) or None."""
    pts = [(p[x_key], p[y_key]) for p in points if p.get(y_key) is not None]
    if len(pts) < 2:
        return None
    n = len(pts)
    mx = sum(x for x, _ in pts) / n
    my = sum(y for _, y in pts) / n
    sxx = sum((x - mx) ** 2 for x, _ in pts)
    if sxx == 0:
        return None
    b = sum((x - mx) * (y - my) for x, y in pts) / sxx
    return my - b * mx, b


def slopes(res):
    out = {}
    groups = {}
    for p in res["points"]:
        if p.get("skipped") or p.get("exit_code") != 0:
            continue
        key = p["kind"] if p["kind"] == "scpi" else f"sim {p['rate_hz']:g} Hz, {p['mode']}"
        groups.setdefault(key, []).append(p)
    for key, pts in groups.items():
        cpu = fit(pts, "instruments", "cpu_per_s")
        rss = fit(pts, "instruments", "peak_rss_bytes")
        wall = fit(pts, "instruments", "wall_s")
        out[key] = {"cpu_ms_per_s_per_instrument": cpu[1] * 1e3 if cpu else None,
                    "cpu_intercept": cpu[0] if cpu else None,
                    "rss_kib_per_instrument": rss[1] / 1024 if rss else None,
                    "rss_intercept_mib": rss[0] / 2**20 if rss else None,
                    "wall_ms_per_instrument": wall[1] * 1e3 if wall else None}
    return out


def markdown(res):
    m = res["machine"]
    lines = [f"Cost curves measured {res['timestamp']} ({res['seconds']:g} s runs, storage "
             f"{', '.join(res.get('formats', ['hdf5']))}, "
             f"commit {m.get('git', '?')}) on {machine_info.describe(m)}; load average before "
             f"{res['load_before']}, after {res['load_after']}.", "",
             "| instruments | kind | rate/instrument | batch rows | CPU s/s (user + sys) | "
             "peak RSS | threads | wall (s) | rows / asked | outcome |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for p in res["points"]:
        rate = f"{p['rate_hz']:g} Hz"
        kind = p["kind"] if p["kind"] == "scpi" else f"sim.ramp, {p['mode']}"
        if p.get("skipped"):
            lines.append(f"| {p['instruments']} | {kind} | {rate} | {p.get('batch', '')} | "
                         f"skipped: {p['skipped']} | | | | | |")
            continue
        frac = p.get("rows_fraction")
        lines.append(
            f"| {p['instruments']} | {kind} | {rate} | {p.get('batch', '')} | "
            f"{p['cpu_per_s']:.3f} ({p['user_per_s']:.3f} + {p['sys_per_s']:.3f}) | "
            f"{p['peak_rss_bytes'] / 2**20:.0f} MiB | {p['peak_threads']} | {p['wall_s']:.1f} | "
            f"{'' if frac is None else f'{frac:.3f}'} | "
            f"{p.get('outcome')} (exit {p['exit_code']}"
            f"{', sims ' + format(p['sim_cpu_per_s'], '.3f') + ' CPU s/s' if 'sim_cpu_per_s' in p else ''}) |")
    lines += ["", "Slopes (least squares over the instrument counts of each row):", "",
              "| series | CPU per instrument | RSS per instrument | wall per instrument |",
              "|---|---|---|---|"]
    for key, s in res["slopes"].items():
        cpu = s["cpu_ms_per_s_per_instrument"]
        rss = s["rss_kib_per_instrument"]
        wall = s["wall_ms_per_instrument"]
        lines.append(f"| {key} | {'' if cpu is None else f'{cpu:.2f} ms CPU/s'} | "
                     f"{'' if rss is None else f'{rss:.0f} KiB'} | "
                     f"{'' if wall is None else f'{wall:.1f} ms'} |")
    return "\n".join(lines) + "\n"


def plot(res, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.5))
    series = {}
    for p in res["points"]:
        if p.get("skipped") or p.get("exit_code") != 0:
            continue
        key = "SCPI 34461a sims, 10 Hz" if p["kind"] == "scpi" else \
            f"sim.ramp {p['rate_hz']:g} Hz, {p['mode']}"
        series.setdefault(key, []).append(p)
    for key, pts in series.items():
        xs = [p["instruments"] for p in pts]
        style = "s--" if key.endswith(MODES["thread"]) else "o-"
        axes[0].plot(xs, [p["cpu_per_s"] for p in pts], style, label=key)
        axes[1].plot(xs, [p["peak_rss_bytes"] / 2**20 for p in pts], style, label=key)
        axes[2].plot(xs, [p["wall_s"] for p in pts], style, label=key)
    titles = ["CPU seconds per second (user + sys)", "peak RSS (MiB)",
              f"wall time of a {res['seconds']:g} s run (s)"]
    for ax, title in zip(axes, titles):
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("instruments in one arrowdaq run")
        ax.set_title(title)
        ax.grid(True, which="both", alpha=0.3)
    axes[2].axhline(res["seconds"], color="grey", ls="--", lw=1)
    axes[0].legend(fontsize=8)
    fig.suptitle(f"arrowdaq cost curves, {res['timestamp']}, "
                 f"{machine_info.describe(res['machine'])}", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--build-dir", default=os.path.join(REPO, "build", "release"))
    ap.add_argument("--out", default=os.path.join(REPO, "bench", "results"))
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--counts", default=",".join(map(str, COUNTS)))
    ap.add_argument("--rates", default=",".join(f"{r:g}" for r in RATES))
    ap.add_argument("--scpi-counts", default=",".join(map(str, SCPI_COUNTS)))
    ap.add_argument("--max-samples-per-s", type=float, default=2e7,
                    help="skip a simulated combination above this total rate (default 2e7: "
                    "below the zero-loss rate make compare measured on 2 cores)")
    ap.add_argument("--modes", default="pool,thread",
                    help="simulated instruments on the paced pool (pool) and/or a thread each "
                    "(thread, ARROWDAQ_PACED_THREADS=-1); default both, in the same run")
    ap.add_argument("--formats", default="arrow",
                    help="storage formats of every run (default arrow: an Arrow IPC file per "
                    "stream costs the same per batch at any stream count, so the curves show "
                    "the engine; hdf5 shows the HDF5 writer's cost per stream too)")
    ap.add_argument("--label", default="", help="recorded with the results")
    ap.add_argument("--render", metavar="JSON", help="only redo the plot and table from a JSON")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    if args.render:
        with open(args.render) as f:
            res = json.load(f)
    else:
        app = os.path.join(args.build_dir, "apps", "arrowdaq", "arrowdaq")
        if not os.path.exists(app):
            sys.exit(f"cost_curves.py: {app} not built (make build-release)")
        stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
        formats = [f for f in args.formats.split(",") if f]
        res = {"timestamp": stamp, "label": args.label, "seconds": args.seconds,
               "formats": formats,
               "machine": machine_info.collect(REPO), "load_before": machine_info.loadavg(),
               "points": []}
        work = tempfile.mkdtemp(prefix="cost-scratch-", dir=args.out)
        try:
            modes = [m for m in args.modes.split(",") if m]
            for mode, rate, n in [(m, float(r), int(c)) for m in modes
                                  for r in args.rates.split(",") if r
                                  for c in args.counts.split(",") if c]:
                    if mode not in MODES:
                        sys.exit(f"cost_curves.py: --modes: unknown mode '{mode}' "
                                 f"(known: {', '.join(MODES)})")
                    cfg, batch = sim_config(n, rate, formats)
                    point = {"kind": "sim", "mode": MODES[mode], "instruments": n,
                             "rate_hz": rate, "batch": batch}
                    env = dict(os.environ)
                    if mode == "thread":
                        env["ARROWDAQ_PACED_THREADS"] = "-1"
                    else:
                        env.pop("ARROWDAQ_PACED_THREADS", None)
                    if n * rate > args.max_samples_per_s:
                        point["skipped"] = (f"{n * rate:.3g} samples/s total is above "
                                            f"--max-samples-per-s {args.max_samples_per_s:.3g}")
                        log(f"sim {n} x {rate:g} Hz: SKIPPED ({point['skipped']})")
                    else:
                        log(f"sim {n} x {rate:g} Hz (batch {batch}), {MODES[mode]} ...")
                        point.update(measure_run(app, cfg, args.seconds, work,
                                                 int(n * rate * args.seconds), env=env))
                        log(f"  cpu {point['cpu_per_s']:.3f} s/s, rss "
                            f"{point['peak_rss_bytes'] / 2**20:.0f} MiB, wall "
                            f"{point['wall_s']:.1f} s, threads {point['peak_threads']}, rows "
                            f"{point['rows_fraction']:.3f} of asked, exit {point['exit_code']}")
                    res["points"].append(point)
            for n in [int(c) for c in args.scpi_counts.split(",") if c]:
                point = {"kind": "scpi", "instruments": n, "rate_hz": 10.0, "batch": 10}
                log(f"scpi {n} x 34461a simulator processes at 10 Hz ...")
                sims, ports = start_scpi_sims(n)
                sim_cpu0 = sum(_proc_cpu_s(p.pid) for p in sims)
                t0 = time.monotonic()
                try:
                    point.update(measure_run(app, scpi_config(ports, formats), args.seconds, work,
                                             int(n * 10 * args.seconds)))
                finally:
                    sim_cpu = stop_sims(sims) - sim_cpu0
                point["sim_cpu_per_s"] = sim_cpu / (time.monotonic() - t0)
                log(f"  cpu {point['cpu_per_s']:.3f} s/s, rss "
                    f"{point['peak_rss_bytes'] / 2**20:.0f} MiB, wall {point['wall_s']:.1f} s, "
                    f"threads {point['peak_threads']}, rows {point['rows_fraction']:.3f} of "
                    f"asked, exit {point['exit_code']}; simulators {point['sim_cpu_per_s']:.3f}"
                    " CPU s/s")
                res["points"].append(point)
        finally:
            shutil.rmtree(work, ignore_errors=True)
        res["load_after"] = machine_info.loadavg()
        res["slopes"] = slopes(res)
        path = os.path.join(args.out, f"cost-curves-{stamp}.json")
        with open(path, "w") as f:
            json.dump(res, f, indent=1)
        log(f"wrote {path}")
    res["slopes"] = slopes(res)
    md = markdown(res)
    with open(os.path.join(args.out, "cost_curves.md"), "w") as f:
        f.write(md)
    plot(res, os.path.join(args.out, "cost_curves.png"))
    log(md)


if __name__ == "__main__":
    main()

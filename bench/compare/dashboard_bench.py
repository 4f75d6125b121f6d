"""What the live dashboard (issue 18, docs/web.md) costs the engine, and how late its plots are,
measured with real headless Chromium browsers (Debian's chromium and chromium-driver, driven by
selenium) against a real `arrowdaq run --serve` / `arrowdaq serve`.

* Engine cost: the maximum sustainable zero-loss rate to HDF5 (runs.py's trial and search: K
  sim.ramp instruments of 4 channels, a trial passes when the run ends "ok", no packet was
  dropped or overrun, storage holds every row, every stream produced >= 97% of rate x duration)
  with three browsers each plotting one stream live (all its channels, the page's default 10 s
  window) as a fraction of the same search without a browser. Both searches run
  `arrowdaq run --serve` with the dashboard listening, so the ratio isolates the browsers. The
  browsed search starts at 0.9 x the unbrowsed best, so the goal (>= 0.9) is decided by a
  trial at exactly that rate; the ratio itself is a lower bound at the search's resolution.
  The machine has 2 cores: the browsers take CPU from the engine. Every trial records the CPU
  seconds of the arrowdaq process (wait4) and of the browsers' process trees (/proc), and the
  search is repeated with every browser thread at SCHED_IDLE (the engine keeps its CPU; the
  browsers get what is left and so fewer frames; plain `nice` does not work: Chromium sets its
  own nice values) -- both figures are reported, the goal uses the plain one. The load
  average after each search is recorded: on a shared machine the searches are minutes apart.
  The browsers are started before each run and attach once the dashboard's URL is printed, so
  they miss the run's first second or so; each trial records when each browser drew its first
  frame (attach_s) and how many frames it drew; a passing trial in which a browser drew nothing
  is a failed measurement (an exception), never a pass.
* Latency sample -> page: `arrowdaq serve` of three sim.ramp streams (10 kHz, 100-row batches,
  4 channels), the three browsers plotting one each for `seconds`; per plot frame the page
  records (app.js, `window.arrowdaq.frameTimes`) the newest sample's timestamp, the server's
  `sent_ms`, the time the page's handler got the frame and the time the canvas was drawn, all
  on this machine's wall clock. p50/p99 of sample -> received (what a user sees), split into
  sample -> sent (batch transit, the live channel's wait for the next frame: the server-side
  decimation delay) and sent -> received (transport: SSE over loopback, the browser's event
  loop), and received -> drawn.

Nothing here asserts on time: run_all.py reports the goal as met or missed.
"""
import os
import queue
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time

import runs

BROWSERS = 3
GOAL = 0.9
LATENCY_RATE_HZ = 10000.0
LATENCY_BATCH = 100
STEP = "dashboard"
# Trials at least this long (the browsers attach ~3 s into a run on a loaded 2-core machine, so
# --quick's 5 s trials would be mostly without them).
MIN_TRIAL_S = 20.0


def require_chromium():
    """(chromium, chromedriver) paths; raises RuntimeError naming what is missing."""
    chromium, driver = shutil.which("chromium"), shutil.which("chromedriver")
    missing = []
    if not chromium:
        missing.append("chromium (Debian package chromium)")
    if not driver:
        missing.append("chromedriver (Debian package chromium-driver)")
    try:
        import selenium  # noqa: F401
    except ImportError:
        missing.append("selenium (PyPI, in .venv)")
    if missing:
        raise RuntimeError("the dashboard benchmark needs a headless Chromium driven by selenium;"
                           " missing: " + ", ".join(missing) +
                           " (scripts/bootstrap.sh installs them)")
    return chromium, driver


def _tree(roots):
    """{pid: CPU seconds (user + system, including reaped children)} of the processes `roots`
    and all their descendants, from /proc."""
    tick = os.sysconf("SC_CLK_TCK")
    procs = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        rest = stat[stat.rindex(")") + 2:].split()
        procs[int(d)] = (int(rest[1]), sum(int(x) for x in rest[11:15]))
    children = {}
    for pid, (ppid, _) in procs.items():
        children.setdefault(ppid, []).append(pid)
    found, todo = {}, [p for p in roots if p in procs]
    while todo:
        pid = todo.pop()
        if pid in found:
            continue
        found[pid] = procs[pid][1] / tick
        todo += children.get(pid, [])
    return found


def _tree_cpu_s(roots):
    return sum(_tree(roots).values())


def _set_idle(roots):
    """Every thread of `roots` and their descendants to SCHED_IDLE (the lowest CPU priority:
    runs only when nothing else wants the core). Chromium sets its own nice values (the
    browser process at -8 when run as root), so nice on the driver is not inherited; a policy
    is, by the threads and processes created later."""
    for pid in _tree(roots):
        try:
            tids = os.listdir(f"/proc/{pid}/task")
        except OSError:
            continue
        for tid in tids:
            try:
                if os.sched_getscheduler(int(tid)) != os.SCHED_IDLE:
                    os.sched_setscheduler(int(tid), os.SCHED_IDLE, os.sched_param(0))
            except OSError:
                pass  # the thread ended meanwhile


SELECT_STREAM = """
const sel = document.getElementById('plot-stream');
if (!window.arrowdaq || !sel || ![...sel.options].some(o => o.value === arguments[0])) return false;
if (sel.value !== arguments[0]) {
  sel.value = arguments[0];
  sel.dispatchEvent(new Event('change'));
}
const f = window.arrowdaq.lastFrame;
if (!f || f.stream !== arguments[0]) return false;
window.arrowdaq.frameTimes = [];
window.arrowdaq.benchFrames0 = window.arrowdaq.frames;
return performance.timeOrigin + performance.now();"""

READ_FRAMES = """
const a = window.arrowdaq;
if (!a || a.benchFrames0 === undefined) return null;
return {frames: a.frames - a.benchFrames0, times: a.frameTimes || [],
        dropped: a.lastFrame ? a.lastFrame.dropped : null,
        clock_offset_ms: performance.timeOrigin + performance.now() - Date.now()};"""


class Browsers:
    """`n` headless Chromium browsers (one chromedriver each); with `idle`, every thread of
    theirs is kept at SCHED_IDLE (re-applied twice a second for threads created later)."""

    def __init__(self, n=BROWSERS, idle=False):
        chromium, driver_path = require_chromium()
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
        self.idle = idle
        started = [None] * n

        def one(i):
            try:
                opts = webdriver.ChromeOptions()
                opts.binary_location = chromium
                for a in ("--headless=new", "--no-sandbox", "--disable-gpu",
                          "--disable-dev-shm-usage", "--window-size=1280,1000", "--no-first-run",
                          "--disable-extensions"):
                    opts.add_argument(a)
                d = webdriver.Chrome(service=Service(driver_path), options=opts)
                d.set_page_load_timeout(60)
                started[i] = d
            except Exception as e:
                started[i] = e

        threads = [threading.Thread(target=one, args=(i,)) for i in range(n)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.drivers = [d for d in started if not isinstance(d, Exception) and d is not None]
        errors = [d for d in started if isinstance(d, Exception)]
        if errors or len(self.drivers) != n:
            self.quit()
            raise RuntimeError(f"headless Chromium did not start: {errors[0] if errors else ''}")
        self._stop = threading.Event()
        self._idler = None
        if idle:
            def keep_idle():
                while not self._stop.is_set():
                    _set_idle(self.pids())
                    self._stop.wait(0.5)
            self._idler = threading.Thread(target=keep_idle, daemon=True)
            self._idler.start()

    def pids(self):
        return [d.service.process.pid for d in self.drivers]

    def cpu_s(self):
        return _tree_cpu_s(self.pids())

    def attach(self, url, streams, timeout=60, stop=None):
        """Each browser opens `url` and plots its stream (in threads, returned with the
        results list): per browser the wall time (s since 1970) its first frame of that stream
        arrived, or an error text. `stop` (an Event) ends the waiting early."""
        out = [None] * len(self.drivers)

        def one(i):
            d = self.drivers[i]
            try:
                d.get(url)
                deadline = time.monotonic() + timeout
                while time.monotonic() < deadline and not (stop and stop.is_set()):
                    t = d.execute_script(SELECT_STREAM, streams[i % len(streams)])
                    if t:
                        out[i] = t / 1000.0
                        return
                    time.sleep(0.05)
                out[i] = f"no frame of {streams[i % len(streams)]} (waited up to {timeout} s)"
            except Exception as e:  # the run may end (or fail) while a browser attaches
                out[i] = f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"

        threads = [threading.Thread(target=one, args=(i,)) for i in range(len(self.drivers))]
        for t in threads:
            t.start()
        return threads, out

    def read(self):
        return [d.execute_script(READ_FRAMES) for d in self.drivers]

    def blank(self):
        for d in self.drivers:
            d.get("about:blank")

    def quit(self):
        if getattr(self, "_idler", None):
            self._stop.set()
            self._idler.join()
        for d in self.drivers:
            try:
                d.quit()
            except Exception:
                pass
        self.drivers = []


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait4(pid, timeout):
    """(exit code, CPU seconds) of child `pid`; SIGKILL after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    killed = False
    while True:
        got, status, ru = os.wait4(pid, os.WNOHANG)
        if got == pid:
            return os.waitstatus_to_exitcode(status), ru.ru_utime + ru.ru_stime
        if time.monotonic() > deadline and not killed:
            os.kill(pid, signal.SIGKILL)
            killed = True
        time.sleep(0.05)


def make_run(browsers, log=print):
    """A runs.run_once replacement: `arrowdaq run --serve` with the dashboard on a free port and
    (unless `browsers` is None) every browser plotting one of the run's streams."""

    def run(binary, base_dir, instruments, rate_hz, batch_size, channels, seconds):
        work = tempfile.mkdtemp(prefix="arrowdaq-dash-", dir=base_dir)
        try:
            cfg = os.path.join(work, "bench.toml")
            runs.write_config(cfg, instruments, rate_hz, batch_size, channels)
            out = os.path.join(work, "out")
            if browsers:
                browsers.blank()
            port = _free_port()
            proc = subprocess.Popen(
                [str(binary), "run", cfg, "--duration", f"{seconds}s", "--output", out,
                 "--log-level", "warn", "--listen", "grpc://127.0.0.1:0",
                 "--http-listen", f"http://127.0.0.1:{port}"],
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                text=True)
            lines, urls = [], queue.Queue()

            def read_stderr():
                for line in proc.stderr:
                    lines.append(line)
                    m = re.search(r"dashboard on (http://\S+)", line)
                    if m:
                        urls.put(m.group(1))
                urls.put(None)

            reader = threading.Thread(target=read_stderr, daemon=True)
            reader.start()
            try:
                url = urls.get(timeout=120)
            except queue.Empty:
                url = None
            cpu0 = browsers.cpu_s() if browsers else 0.0
            ended = threading.Event()
            threads, attached = (browsers.attach(url, [f"ramp{i}" for i in range(instruments)],
                                                 stop=ended)
                                 if browsers and url else ([], []))
            code, engine_cpu = _wait4(proc.pid, seconds * 4 + 120)
            proc.returncode = code
            ended.set()
            reader.join(timeout=30)
            for t in threads:
                t.join(timeout=120)
            extra = {"engine_cpu_s": engine_cpu}
            if browsers:
                extra["browser_cpu_s"] = browsers.cpu_s() - cpu0
                extra["browser_sched_idle"] = browsers.idle
                extra["browsers"] = []
                for a, r in zip(attached or [None] * len(browsers.drivers), browsers.read()):
                    extra["browsers"].append({
                        "first_frame_at": a if isinstance(a, float) else None,
                        "error": a if isinstance(a, str) else None,
                        "frames": (r or {}).get("frames", 0)})
            if url is None:  # not a rate too high: the dashboard did not start (port taken?)
                raise RuntimeError(f"arrowdaq run --serve exited {code} without printing its "
                                   f"dashboard URL: {''.join(lines)[-1000:]}")
            summary = runs.finished_run(out, code, "".join(lines))
            if browsers and summary.get("start_time"):
                start = runs._epoch_s(summary["start_time"])
                for b in extra["browsers"]:
                    b["attach_s"] = (b["first_frame_at"] - start
                                     if b["first_frame_at"] is not None else None)
            summary["trial_extra"] = extra
            dur = summary.get("duration_s") or 0
            if browsers:
                attach = [None if b.get("attach_s") is None else round(b["attach_s"], 1)
                          for b in extra["browsers"]]
                cores = extra["browser_cpu_s"] / dur if dur else 0
                log(f"    browsers{' (SCHED_IDLE)' if browsers.idle else ''}: frames "
                    f"{[b['frames'] for b in extra['browsers']]}, attached after {attach} s, "
                    f"CPU {cores:.2f} cores; engine {engine_cpu / dur if dur else 0:.2f} cores")
            # A run that passes while a browser drew nothing measured no dashboard: say so.
            # (At SCHED_IDLE on a saturated machine a browser may get no CPU at all: that is
            # what the idle figure shows, in its frames/s, not a failed measurement.)
            idle_b = [i for i, b in enumerate(extra.get("browsers", [])) if b["frames"] == 0]
            if browsers and not browsers.idle and code == 0 and \
                    summary.get("outcome") == "ok" and idle_b:
                i = idle_b[0]
                raise RuntimeError(
                    f"browser {i + 1} of {len(extra['browsers'])} drew no plot frame "
                    f"({extra['browsers'][i]['error'] or 'no frame counted'}) in a trial at "
                    f"{rate_hz * instruments * channels / 1e6:.2f} MS/s that otherwise passed")
            return summary
        finally:
            shutil.rmtree(work, ignore_errors=True)

    return run


def _percentiles(values):
    import numpy as np
    a = np.asarray(values, dtype=np.float64)
    if a.size == 0:
        return {"p50_ms": None, "p99_ms": None, "n": 0}
    return {"p50_ms": float(np.percentile(a, 50)), "p99_ms": float(np.percentile(a, 99)),
            "max_ms": float(a.max()), "n": int(a.size)}


def latency_figures(per_browser_times):
    """p50/p99 of the stages from lists of [sample_ms, sent_ms, received_ms, drawn_ms]."""
    rows = [t for times in per_browser_times for t in times]
    return {"sample_to_received": _percentiles([r[2] - r[0] for r in rows]),
            "sample_to_sent": _percentiles([r[1] - r[0] for r in rows]),
            "sent_to_received": _percentiles([r[2] - r[1] for r in rows]),
            "received_to_drawn": _percentiles([r[3] - r[2] for r in rows]),
            "sample_to_drawn": _percentiles([r[3] - r[0] for r in rows]),
            "frames": len(rows)}


def latency(app, work, browsers, seconds, log=print):
    """Three sim.ramp streams at LATENCY_RATE_HZ under `arrowdaq serve`, one browser plotting
    each for `seconds` (after 2 s to get past the replayed window)."""
    n = len(browsers.drivers)
    lines = []
    for i in range(n):
        lines += [f"[instruments.ramp{i}]", 'driver = "sim.ramp"',
                  f"options = {{ rate_hz = {LATENCY_RATE_HZ!r}, batch_size = {LATENCY_BATCH}, "
                  "channels = 4 }", ""]
    cfg = os.path.join(work, "dashboard-latency.toml")
    with open(cfg, "w") as f:
        f.write("\n".join(lines))
    browsers.blank()
    proc = subprocess.Popen([app, "serve", cfg, "--listen", "grpc://127.0.0.1:0",
                             "--http-listen", "http://127.0.0.1:0", "--output",
                             os.path.join(work, "dashboard-latency-runs"), "--log-level", "warn"],
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        url = None
        for line in proc.stdout:
            m = re.match(r"dashboard on (http://\S+)", line)
            if m:
                url = m.group(1)
                break
        if not url:
            raise RuntimeError(f"arrowdaq serve printed no dashboard URL: "
                               f"{proc.stderr.read()[-2000:]}")
        threads, attached = browsers.attach(url, [f"ramp{i}" for i in range(n)])
        for t in threads:
            t.join(timeout=120)
        bad = [a for a in attached if not isinstance(a, float)]
        if bad:
            raise RuntimeError(f"browsers did not plot: {bad}")
        time.sleep(2.0)  # past the frames made from the replayed window
        for d in browsers.drivers:
            d.execute_script("window.arrowdaq.frameTimes = [];")
        cpu0, t0 = browsers.cpu_s(), time.monotonic()
        time.sleep(seconds)
        got = browsers.read()
        cpu = (browsers.cpu_s() - cpu0) / (time.monotonic() - t0)
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    out = latency_figures([g["times"] for g in got])
    out.update({"seconds": seconds, "browsers": n, "rate_hz": LATENCY_RATE_HZ,
                "batch": LATENCY_BATCH, "channels": 4,
                "frames_per_browser": [len(g["times"]) for g in got],
                "frame_rate_hz": [(len(g["times"]) - 1) * 1000.0 /
                                  (g["times"][-1][1] - g["times"][0][1])
                                  if len(g["times"]) > 1 and g["times"][-1][1] > g["times"][0][1]
                                  else None for g in got],
                "live_channel_dropped": [g.get("dropped") for g in got],
                "clock_offset_ms": [g["clock_offset_ms"] for g in got],
                "browser_cpu_cores": cpu})
    s, t = out["sample_to_received"], out["sent_to_received"]
    log(f"  dashboard latency ({out['frames']} frames): sample -> received p50 "
        f"{s['p50_ms']:.1f} ms, p99 {s['p99_ms']:.1f} ms; sent -> received p50 "
        f"{t['p50_ms']:.2f} ms, p99 {t['p99_ms']:.2f} ms")
    return out


def _loadavg():
    with open("/proc/loadavg") as f:
        return [float(x) for x in f.read().split()[:3]]


def compare(app, work, trial_s, quick, log=print, out=None):
    """The step of run_all.py: both searches (plus the SCHED_IDLE one) and the latency, filled into
    `out` as they finish (a later failure keeps what was measured)."""
    require_chromium()
    trial_s = max(trial_s, MIN_TRIAL_S)
    bisections = 2 if quick else 3
    out = {} if out is None else out
    out.update({"browsers": BROWSERS, "trial_seconds": trial_s, "bisections": bisections,
                "loadavg": {"before": _loadavg()}})
    log(f"  without a browser (run --serve, dashboard listening), {trial_s:g} s trials ...")
    best, trials = runs.max_sustainable_rate(app, work, trial_s, log, start=8e6,
                                             bisections=bisections, run=make_run(None, log))
    out["alone"] = {"best": best, "trials": trials}
    out["loadavg"]["alone"] = _loadavg()
    if not best:
        raise RuntimeError("no passing trial without a browser")
    start = GOAL * best["samples_per_s_target"]
    for key, idle in (("browsed", False), ("browsed_idle", True)):
        browsers = Browsers(BROWSERS, idle=idle)
        try:
            log(f"  with {BROWSERS} headless Chromium plotting"
                f"{' at SCHED_IDLE' if idle else ''}, from {GOAL:g} x the rate without ...")
            b, tr = runs.max_sustainable_rate(app, work, trial_s, log, start=start,
                                              bisections=bisections,
                                              run=make_run(browsers, log))
            out[key] = {"best": b, "trials": tr}
            out["loadavg"][key] = _loadavg()
            if not idle:
                out["latency"] = latency(app, work, browsers, 10.0 if quick else 30.0, log)
        finally:
            browsers.quit()
    out["loadavg"]["after"] = _loadavg()
    return out


def _cores(t, key):
    d = (t or {}).get("duration_s")
    v = (t or {}).get(key)
    return v / d if v is not None and d else None


def table_rows(peers, errors, add, unmeasured, si, met_missed):
    """report.build_table's rows for this step (`add`, `unmeasured`, `si` are its helpers;
    `met_missed` its MISSED marker)."""
    dash = peers.get("dashboard") or {}
    measurement = (f"max zero-loss HDF5 rate with {BROWSERS} headless Chromium dashboards "
                   "plotting / without")
    alone = (dash.get("alone") or {}).get("best")
    browsed = (dash.get("browsed") or {}).get("best")
    goal = f"≥ {GOAL:g}"
    if not dash:
        unmeasured(measurement, goal, [STEP], errors.get(STEP) or "the dashboard step did not run")
    elif not alone:
        add(measurement, "not measured", "", "", goal, met_missed,
            errors.get(STEP) or "no passing trial without a browser")
    elif not browsed:
        add(measurement, "no passing trial", si(alone["samples_per_s_target"], "S/s"), "", goal,
            met_missed, errors.get(STEP) or f"no passing trial with browsers, from {GOAL:g} x "
            "the rate without down")
    else:
        ratio = browsed["samples_per_s_target"] / alone["samples_per_s_target"]
        frames = [b.get("frames", 0) for b in browsed.get("browsers", [])]
        attach = [b.get("attach_s") for b in browsed.get("browsers", [])]
        dur = browsed.get("duration_s") or 0
        note = (f"same run, both `run --serve`; {dash.get('trial_seconds', 0):g} s trials; "
                f"browser CPU {_cores(browsed, 'browser_cpu_s') or 0:.2f} cores, engine "
                f"{_cores(browsed, 'engine_cpu_s') or 0:.2f} cores (without: "
                f"{_cores(alone, 'engine_cpu_s') or 0:.2f}); frames/s per browser "
                + ", ".join(f"{f / dur:.1f}" if dur else "?" for f in frames)
                + "; attached after " + ", ".join("?" if a is None else f"{a:.1f}"
                                                   for a in attach) + " s")
        for who, key in (("with", "browsed"), ("without", "alone")):
            best = (dash.get(key) or {}).get("best") or {}
            flaky = [t for t in (dash.get(key) or {}).get("trials", [])
                     if not t.get("ok") and t.get("samples_per_s_target", 0)
                     <= best.get("samples_per_s_target", 0)]
            if flaky:
                note += (f"; {len(flaky)} trial(s) {who} browsers failed at or below the best "
                         "rate (noise)")
        load = dash.get("loadavg") or {}
        if load.get("alone") and load.get("browsed"):
            note += (f"; load average after each search {load['alone'][0]:.1f} (without), "
                     f"{load['browsed'][0]:.1f} (with)")
        if errors.get(STEP):
            note += f"; later in the step: {errors[STEP]}"
        add(measurement, si(browsed["samples_per_s_target"], "S/s"),
            si(alone["samples_per_s_target"], "S/s"), f"{ratio:.2f}", goal, ratio >= GOAL, note)
    idle = (dash.get("browsed_idle") or {}).get("best")
    if alone and idle:
        ratio = idle["samples_per_s_target"] / alone["samples_per_s_target"]
        dur = idle.get("duration_s") or 0
        frames = [b.get("frames", 0) for b in idle.get("browsers", [])]
        add("... the same with the browsers at the lowest CPU priority (SCHED_IDLE)",
            si(idle["samples_per_s_target"], "S/s"), si(alone["samples_per_s_target"], "S/s"),
            f"{ratio:.2f}", note=f"browser CPU {_cores(idle, 'browser_cpu_s') or 0:.2f} cores, "
            f"engine {_cores(idle, 'engine_cpu_s') or 0:.2f} cores; frames/s per browser "
            + ", ".join(f"{f / dur:.1f}" if dur else "?" for f in frames))
    lat = dash.get("latency") or {}
    for key, what in (("sample_to_received", "sample -> page received"),
                      ("sent_to_received", "server sent -> page received")):
        measurement = f"dashboard latency {what} (p50 / p99)"
        r = lat.get(key) or {}
        if r.get("p50_ms") is None:
            unmeasured(measurement, "", [STEP], errors.get(STEP) or "no latency figure")
            continue
        note = (f"{lat.get('frames')} frames in {lat.get('seconds', 0):g} s, "
                f"{lat.get('browsers')} browsers, sim.ramp {lat.get('rate_hz', 0):g} Hz, batch "
                f"{lat.get('batch')}")
        if key == "sample_to_received":
            ss, rd = lat.get("sample_to_sent") or {}, lat.get("received_to_drawn") or {}
            if ss.get("p50_ms") is not None and rd.get("p50_ms") is not None:
                note += (f"; sample -> sent {ss['p50_ms']:.1f} / {ss['p99_ms']:.1f} ms (server: "
                         f"batch transit + wait for the next frame), received -> drawn "
                         f"{rd['p50_ms']:.1f} / {rd['p99_ms']:.1f} ms")
        add(measurement, f"{r['p50_ms']:.2f} / {r['p99_ms']:.2f} ms", "", "", "", note=note)

"""Figures taken from whole `arrowdaq run` acquisitions (release binary, storage hdf5), each run
in a fresh output directory that is deleted afterwards:

* rows/s of one sim.ramp instrument as fast as it goes (rate 1e8 Hz), the peer of the Bluesky
  RunEngine's events/s;
* the maximum sustainable rate: doubling then bisection over the total sample rate of K sim.ramp
  instruments (4 channels each) recorded to HDF5 on `block`; a trial passes when the run ends
  "ok", no packet was dropped or overrun, storage holds every row, and every stream produced at
  least 97% of rate x duration (a source that falls behind catches up later, so a shortfall at
  the end is the sign of a pipeline slower than the sources). Its bytes/s divide by the time
  from the start of acquisition until the files are closed and on disk (the run's files are
  fsync'ed after it exits, as `dd conv=fdatasync` does for the disk figure), not by the
  acquisition time alone: data still in queues or in the page cache is not yet sustained.
"""
import datetime
import json
import os
import shutil
import subprocess
import tempfile
import time


def _epoch_s(iso):
    """Seconds since the epoch of summary.json's ISO 8601 UTC times ("...T13:58:48.804Z")."""
    return datetime.datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


def _fsync_tree(root):
    for dirpath, _, files in os.walk(root):
        for name in files:
            fd = os.open(os.path.join(dirpath, name), os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)

INSTRUMENTS = 4
CHANNELS = 4
PASS_FRACTION = 0.97


def write_config(path, instruments, rate_hz, batch_size, channels, flush="1s"):
    lines = ['[run]', 'name = "bench"', 'log_level = "warn"', 'progress_interval = "10s"', '',
             '[storage]', 'formats = ["hdf5"]', f'flush_interval = "{flush}"', '']
    for i in range(instruments):
        lines += [f'[instruments.ramp{i}]', 'driver = "sim.ramp"',
                  f'options = {{ rate_hz = {float(rate_hz)!r}, batch_size = {int(batch_size)}, '
                  f'channels = {int(channels)} }}', '']
    with open(path, "w") as f:
        f.write("\n".join(lines))


def run_once(binary, base_dir, instruments, rate_hz, batch_size, channels, seconds):
    """Run one acquisition; return its summary.json as a dict (plus 'exit_code')."""
    work = tempfile.mkdtemp(prefix="arrowdaq-run-", dir=base_dir)
    try:
        cfg = os.path.join(work, "bench.toml")
        write_config(cfg, instruments, rate_hz, batch_size, channels)
        out = os.path.join(work, "out")
        proc = subprocess.run([str(binary), "run", cfg, "--duration", f"{seconds}s",
                               "--output", out, "--log-level", "warn"],
                              capture_output=True, text=True, timeout=seconds * 4 + 120)
        return finished_run(out, proc.returncode, proc.stderr)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def finished_run(out, exit_code, stderr):
    """The summary.json of the run that wrote `out` and exited with `exit_code`, its files
    fsync'ed first, with 'exit_code', 'closed_s', 'durable_s' (and 'stderr' when it failed)."""
    if os.path.isdir(out):
        _fsync_tree(out)  # the data is sustained once it is on disk
    durable_at = time.time()
    summary = {}
    for root, _, files in os.walk(out):
        if "summary.json" in files:
            with open(os.path.join(root, "summary.json")) as f:
                summary = json.load(f)
    summary["exit_code"] = exit_code
    if summary.get("start_time") and summary.get("stop_time"):
        start = _epoch_s(summary["start_time"])
        # Acquisition + draining the queues + closing the files (stop_time is taken after).
        summary["closed_s"] = _epoch_s(summary["stop_time"]) - start
        # ... + the page cache written back: what dd's conv=fdatasync figure includes.
        summary["durable_s"] = durable_at - start
    if exit_code != 0:
        summary["stderr"] = stderr[-2000:]
    return summary


def throughput(binary, base_dir, seconds, channels=2, batch_size=10000):
    """Rows/s of one sim.ramp instrument at rate 1e8 Hz (as fast as the pipeline goes). Such a
    run ends "degraded" by its rate shortfall (it is asked for more than it can give, on
    purpose); the report accepts that reason alone, with every row stored."""
    s = run_once(binary, base_dir, 1, 1e8, batch_size, channels, seconds)
    rows = sum(st["rows"] for st in s.get("streams", []))
    return {"rows": rows, "duration_s": s.get("duration_s", 0.0),
            "rows_per_s": rows / s["duration_s"] if s.get("duration_s") else 0.0,
            "outcome": s.get("outcome"), "exit_code": s.get("exit_code"),
            "degraded_reasons": s.get("degraded_reasons", []),
            "stored_rows": s.get("storage", {}).get("rows"),
            "error": s.get("error") or s.get("stderr", ""),
            "channels": channels, "batch_size": batch_size, "memory": s.get("memory", {})}


def trial(binary, base_dir, total_samples_per_s, seconds, log, run=None):
    """One trial; `run` replaces run_once (same arguments), e.g. a run with Flight clients."""
    rate = total_samples_per_s / (INSTRUMENTS * CHANNELS)
    batch = int(min(1_000_000, max(100, rate / 50)))  # ~50 batches/s per instrument
    s = (run or run_once)(binary, base_dir, INSTRUMENTS, rate, batch, CHANNELS, seconds)
    streams = s.get("streams", [])
    duration = s.get("duration_s", 0.0)
    target = rate * duration
    rows = sum(st["rows"] for st in streams)
    stored = s.get("storage", {}).get("rows", -1)
    ok = (s.get("exit_code") == 0 and s.get("outcome") == "ok" and len(streams) == INSTRUMENTS
          and all(st["drops"] == 0 and st["overruns"] == 0 for st in streams)
          and stored == rows
          and all(st["rows"] >= PASS_FRACTION * target for st in streams))
    result = {"samples_per_s_target": total_samples_per_s, "rate_hz": rate, "batch_size": batch,
              "duration_s": duration, "closed_s": s.get("closed_s"),
              "durable_s": s.get("durable_s"), "rows": rows, "stored_rows": stored,
              "bytes": sum(st["bytes"] for st in streams),
              "min_fraction_of_target": (min(st["rows"] for st in streams) / target
                                         if streams and target else 0.0),
              "ok": ok, "memory": s.get("memory", {})}
    result.update(s.get("trial_extra", {}))  # what a `run` adds (e.g. browsers' CPU and frames)
    log(f"  trial {total_samples_per_s / 1e6:8.2f} Msamples/s (batch {batch}): "
        f"{'pass' if ok else 'FAIL'} ({result['min_fraction_of_target']:.3f} of target)")
    return result


def max_sustainable_rate(binary, base_dir, seconds, log, start=2e6, bisections=3, run=None):
    """Double from `start` until a trial fails, then bisect; return the best passing trial and
    every trial. `run` replaces run_once in every trial."""
    trials = []
    lo, hi = None, None
    s = start
    while hi is None:
        r = trial(binary, base_dir, s, seconds, log, run)
        trials.append(r)
        if r["ok"]:
            lo = r
            s *= 2
            if s > 2e9:
                break
        else:
            hi = s
            if lo is None:  # the start already fails: halve instead
                s /= 4
                hi = None
                if s < 1e4:
                    break
    if lo is not None and hi is not None:
        a, b = lo["samples_per_s_target"], hi
        for _ in range(bisections):
            m = (a + b) / 2
            r = trial(binary, base_dir, m, seconds, log, run)
            trials.append(r)
            if r["ok"]:
                lo, a = r, m
            else:
                b = m
    return lo, trials

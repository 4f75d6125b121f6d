"""Per-point overhead of a step scan with zero settle and zero dwell on simulated hardware
(issue 17): `arrowdaq scan` of a 1000-point `line` plan on sim.motor next to Bluesky's
RE(scan([det], motor, start, stop, 1000)) with ophyd.sim's `det` and `motor`, in the same run.

Per-point overhead = (wall time of the N-point scan - wall time of a 1-point scan of the same
config) / (N - 1): the 1-point scan carries the fixed cost (arrowdaq: process start, config,
connecting, files opened and closed; Bluesky: open_run/close_run, documents), so what is left is
what each point adds. Medians of repetitions, alternating the two sizes.

arrowdaq's scan: the motor has velocity 1e9 and acceleration 1e12 (a step of 0.002 mm takes
< 1 us, as ophyd.sim's motor arrives at once), and the detector is a polled one (`POS? x` sent
to the stage at each point, as ophyd.sim's `det` is computed from the motor when read). The
motor's `rate_hz` (its readback stream) is 10 000, the most sim.motor allows; a second figure
at the default 100 Hz shows what a slow readback stream costs a point (the instrument's I/O
thread paces its reads, and motion commands queue behind the read in progress).
"""
import os
import statistics
import subprocess
import time

CONFIG = """
[run]
name = "bench-scan"

[instruments.stage]
driver = "sim.motor"
options = {{ axes = "x", velocity = 1e9, acceleration = 1e12, min = -10, max = 10, rate_hz = {rate_hz} }}

[[plans]]
name = "line"
kind = "line"
settle = "0ms"
dwell = "0ms"
[[plans.axes]]
motor = "stage"
start = -1
stop = 1
num = {num}

[[plans.detectors]]
instrument = "stage"
query = "POS? x"
name = "det"
"""


def _arrowdaq_once(app, work, num, rate_hz):
    path = os.path.join(work, f"scan-{rate_hz}-{num}.toml")
    with open(path, "w") as f:
        f.write(CONFIG.format(num=num, rate_hz=rate_hz))
    out = os.path.join(work, "scan-runs")
    t0 = time.perf_counter()
    r = subprocess.run([app, "scan", path, "--output", out], stdin=subprocess.DEVNULL,
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                       timeout=600)
    dt = time.perf_counter() - t0
    if r.returncode != 0:
        raise RuntimeError(f"arrowdaq scan ({num} points) exited {r.returncode}: "
                           f"{r.stderr[-500:]}")
    subprocess.run(["rm", "-rf", out], check=False)
    return dt


def _per_point(once, num, reps):
    small, large = [], []
    for _ in range(reps):
        small.append(once(1))
        large.append(once(num))
    t1, tn = statistics.median(small), statistics.median(large)
    return {"points": num, "repetitions": reps, "one_point_s": t1, "n_points_s": tn,
            "per_point_s": (tn - t1) / (num - 1)}


def arrowdaq(app, work, num=1000, reps=3, rate_hz=10000):
    _arrowdaq_once(app, work, 2, rate_hz)  # warm the page cache
    res = _per_point(lambda n: _arrowdaq_once(app, work, n, rate_hz), num, reps)
    res["rate_hz"] = rate_hz
    return res


def bluesky(num=1000, reps=3):
    from bluesky import RunEngine
    from bluesky.plans import scan
    from ophyd.sim import det, motor

    RE = RunEngine({})
    RE(scan([det], motor, -1, 1, 10))  # warm up (imports, first-call costs)

    def once(n):
        t0 = time.perf_counter()
        RE(scan([det], motor, -1, 1, n))
        return time.perf_counter() - t0
    return _per_point(once, num, reps)


def loadavg():
    with open("/proc/loadavg") as f:
        return [float(x) for x in f.read().split()[:3]]


def compare(app, work, quick=False, log=print):
    reps = 3 if quick else 5
    load_before = loadavg()
    log(f"scan overhead: arrowdaq scan, 1000-point line on sim.motor (rate_hz 10000), "
        f"{reps} repetitions ...")
    ours = arrowdaq(app, work, 1000, reps)
    log("scan overhead: Bluesky RE(scan([det], motor, -1, 1, 1000)) with ophyd.sim ...")
    peer = bluesky(1000, reps)
    log("scan overhead: arrowdaq scan on sim.motor at its default rate_hz 100 (200 points) ...")
    slow = arrowdaq(app, work, 200, 1 if quick else 2, rate_hz=100)
    return {"arrowdaq": ours, "bluesky": peer, "arrowdaq_rate_100": slow,
            "loadavg_before": load_before, "loadavg_after": loadavg()}


if __name__ == "__main__":
    import argparse
    import json
    import tempfile
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("app", help="the arrowdaq binary (a release build)")
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as work:
        print(json.dumps(compare(args.app, work, args.quick), indent=1))

"""`arrowdaq scan` (issue 17) as a user runs it: real processes against sim.motor and simulated
detector streams. Positions and their order come from the plan's definition written out here;
each point's value is recomputed with numpy from the raw samples run.h5 holds inside the point's
window [t0, t1]; documents.jsonl is validated against the event-model package's own JSON
schemas; faults, soft limits and SIGINT pause/resume/abort go through the CLI."""
import itertools
import json
import re
import signal
import subprocess
import threading

import event_model
import h5py
import jsonschema
import numpy as np
import pytest

from arrowdaq_testlib import ARROWDAQ, load_summary, only_run_dir, run, write_config

HEAD = """
[run]
name = "scan"

[instruments.stage]
driver = "sim.motor"
options = {{ axes = "x,y", velocity = 50, acceleration = 500, min = -10, max = 10, rate_hz = 200{motor_extra} }}

[instruments.ramp]
driver = "sim.ramp"
options = {{ rate_hz = 1000, batch_size = 10 }}
"""

DETECTORS = """
[[plans.detectors]]
stream = "ramp"
reduce = "mean"
name = "ramp_mean"

[[plans.detectors]]
stream = "ramp"
reduce = "std"
name = "ramp_std"

[[plans.detectors]]
stream = "ramp"
reduce = "max"
name = "ramp_max"

[[plans.detectors]]
stream = "ramp"
reduce = "count"
name = "ramp_count"
"""


def config(tmp_path, plan, motor_extra=""):
    return write_config(tmp_path, HEAD.format(motor_extra=motor_extra) + plan + DETECTORS,
                        name="scan.toml")


def read_documents(run_dir):
    docs = []
    for line in (run_dir / "documents.jsonl").read_text().splitlines():
        name, doc = json.loads(line)
        docs.append((name, doc))
    return docs


def validate(docs):
    for name, doc in docs:
        jsonschema.validate(doc, event_model.schemas[event_model.DocumentNames[name]])


def events(docs):
    return [d for n, d in docs if n == "event"]


def scan(tmp_path, plan, motor_extra="", timeout=120):
    path = config(tmp_path, plan, motor_extra)
    out = tmp_path / "runs"
    result = run(["scan", str(path), "--output", str(out)], timeout=timeout,
                 stdin=subprocess.DEVNULL)
    return result, out


def linspace(start, stop, num):
    return list(np.linspace(start, stop, num))


def test_grid_snake_positions_windows_and_documents(tmp_path):
    plan = """
[[plans]]
name = "map"
kind = "grid"
snake = true
settle = "5ms"
dwell = "30ms"
[[plans.axes]]
motor = "stage"
axis = "y"
start = -1
stop = 1
num = 3
[[plans.axes]]
motor = "stage"
axis = "x"
start = 0
stop = 2
num = 4
"""
    result, out = scan(tmp_path, plan)
    assert result.returncode == 0, result.stderr
    run_dir = only_run_dir(out)
    docs = read_documents(run_dir)
    validate(docs)
    names = [n for n, _ in docs]
    assert names == ["start", "descriptor"] + ["event"] * 12 + ["stop"]
    start, stop = docs[0][1], docs[-1][1]
    assert stop["exit_status"] == "success"
    assert stop["num_events"] == {"primary": 12}
    # A scan that completed ends its run as a duration would: not "stopped".
    # (degraded only where a loaded machine fell short of a rate; the summary says which)
    assert load_summary(run_dir)["outcome"] in ("ok", "degraded"), load_summary(run_dir)
    assert start["num_points"] == 12
    # Grid, first axis slowest, every other row of x backwards (snake).
    ys, xs = linspace(-1, 1, 3), linspace(0, 2, 4)
    expected = []
    for i, y in enumerate(ys):
        row = xs if i % 2 == 0 else xs[::-1]
        expected += [(y, x) for x in row]
    evs = events(docs)
    assert [e["seq_num"] for e in evs] == list(range(1, 13))
    got = [(e["data"]["stage_y_setpoint"], e["data"]["stage_x_setpoint"]) for e in evs]
    assert got == [(float(y), float(x)) for y, x in expected]  # exactly numpy.linspace
    for e in evs:  # the motors stopped where they were sent
        assert e["data"]["stage_x"] == pytest.approx(e["data"]["stage_x_setpoint"], abs=1e-12)
        assert e["data"]["stage_y"] == pytest.approx(e["data"]["stage_y_setpoint"], abs=1e-12)
    # Each point's values are the reductions of the raw samples inside its window.
    with h5py.File(run_dir / "run.h5", "r") as f:
        ts = f["ramp/timestamp"][:]
        values = f["ramp/ch0"][:]
        # The stage's own stream saw every target (its readback is recorded too).
        stage_x = f["stage/x"][:]
    assert np.all(np.diff(ts) > 0)
    for e in evs:
        t0, t1 = e["data"]["t0"], e["data"]["t1"]
        assert t1 - t0 == 30_000_000
        inside = values[(ts >= t0) & (ts <= t1)]
        assert len(inside) >= 20  # 30 ms at 1 kHz
        assert e["data"]["flags"] == 0
        assert e["data"]["ramp_count"] == len(inside)
        assert e["data"]["ramp_mean"] == pytest.approx(np.mean(inside), rel=1e-12)
        assert e["data"]["ramp_std"] == pytest.approx(np.std(inside), rel=1e-9)
        assert e["data"]["ramp_max"] == np.max(inside)
    for x in xs:
        assert np.any(np.isclose(stage_x, x, atol=1e-12))
    # run.h5 /scan (the stream of points) holds the same points as documents.jsonl, in order.
    with h5py.File(run_dir / "run.h5", "r") as f:
        g = f["scan"]
        assert g.attrs["NX_class"] == "NXdata" and g.attrs["signal"] == "ramp_mean"
        assert list(g["seq_num"][:]) == [e["seq_num"] for e in evs]
        for key in ("ramp_mean", "ramp_std", "ramp_max", "ramp_count", "stage_x", "stage_y",
                    "stage_x_setpoint", "stage_y_setpoint", "flags", "t0", "t1"):
            assert list(g[key][:]) == [e["data"][key] for e in evs], key
        assert list(g["timestamp"][:]) == [e["data"]["t1"] for e in evs]
        assert g["ramp_mean"].attrs["units"] == "V"
        # The motor readbacks are dimension scales of every data key's row dimension.
        for key in ("ramp_mean", "ramp_count", "flags", "stage_x_setpoint"):
            assert g[key].dims[0].keys() == ["timestamp", "stage_y", "stage_x"], key
            assert list(g[key].dims[0]["stage_x"][:]) == [e["data"]["stage_x"] for e in evs]
    check_grid_image(run_dir, evs, ys, xs, taken=12)
    # silx finds the grid as the run's default plot: a 2-D map over the two setpoint axes.
    import silx.io
    from silx.io.nxdata import get_default
    with silx.io.open(str(run_dir / "run.h5")) as f:
        nx = get_default(f)
        assert nx is not None and nx.group.name in ("/scan_grid", "/entry/scan_grid")
        assert nx.signal.name.split("/")[-1] == "ramp_mean"
        assert nx.is_image and nx.signal.shape == (3, 4)
        assert [a.name.split("/")[-1] for a in nx.axes] == ["stage_y", "stage_x"]
        assert [len(a) for a in nx.axes] == [3, 4]
        assert list(nx.axes[1][()]) == xs and list(nx.axes[0][()]) == ys


def check_grid_image(run_dir, evs, ys, xs, taken):
    """run.h5 /scan_grid against the events: pixel [iy, ix] holds the event whose setpoints
    are (ys[iy], xs[ix]) (so a snake comes out de-snaked), every pixel no event took is NaN."""
    keys = ("ramp_mean", "ramp_std", "ramp_max", "ramp_count", "flags")
    with h5py.File(run_dir / "run.h5", "r") as f:
        img = f["scan_grid"]
        assert img.attrs["NX_class"] == "NXdata" and img.attrs["signal"] == "ramp_mean"
        assert list(img.attrs["axes"]) == ["stage_y", "stage_x"]
        assert (img.attrs["stage_y_indices"], img.attrs["stage_x_indices"]) == (0, 1)
        assert list(img["stage_y"][:]) == ys and list(img["stage_x"][:]) == xs
        assert img["stage_x"].attrs["units"] == "mm"
        assert f["entry"].attrs["default"] == "scan_grid"
        expected = {k: np.full((len(ys), len(xs)), np.nan) for k in keys}
        for e in evs:
            iy = ys.index(e["data"]["stage_y_setpoint"])
            ix = xs.index(e["data"]["stage_x_setpoint"])
            for k in keys:
                assert np.isnan(expected[k][iy, ix])  # each pixel taken once
                expected[k][iy, ix] = e["data"][k]
        for k in keys:
            data = img[k]
            assert data.shape == (len(ys), len(xs)) and data.dtype == np.float64, k
            assert data.dims[0].keys() == ["stage_y"] and data.dims[1].keys() == ["stage_x"], k
            np.testing.assert_array_equal(data[()], expected[k], err_msg=k)
        assert np.count_nonzero(~np.isnan(img["ramp_mean"][()])) == taken
        assert img["ramp_mean"].attrs["units"] == "V"


@pytest.mark.parametrize("kind,axes,expected", [
    ("count", "num = 3\n", [()] * 3),
    ("list", '[[plans.axes]]\nmotor = "stage"\npositions = [3, -2, 0.5]\n', [(3,), (-2,), (0.5,)]),
    ("line", '[[plans.axes]]\nmotor = "stage"\nstart = 1\nstop = 0\nnum = 3\n'
             '[[plans.axes]]\nmotor = "stage"\naxis = "y"\nstart = -4\nstop = 4\nnum = 3\n',
     [(1, -4), (0.5, 0), (0, 4)]),
])
def test_each_plan_kind_visits_its_positions_in_order(tmp_path, kind, axes, expected):
    plan = f'[[plans]]\nname = "p"\nkind = "{kind}"\ndwell = "10ms"\n' + axes
    result, out = scan(tmp_path, plan)
    assert result.returncode == 0, result.stderr
    docs = read_documents(only_run_dir(out))
    validate(docs)
    evs = events(docs)
    keys = [k for k in ("stage_x_setpoint", "stage_y_setpoint") if evs and k in evs[0]["data"]]
    got = [tuple(e["data"][k] for k in keys) for e in evs]
    assert got == expected
    assert docs[-1][1]["exit_status"] == "success"


def test_motor_fault_ends_the_scan_fail_with_the_points_taken_stored(tmp_path):
    plan = """
[[plans]]
name = "l"
kind = "line"
dwell = "10ms"
[[plans.axes]]
motor = "stage"
start = 0
stop = 4
num = 5
"""
    # The 3rd move faults halfway: points 1 and 2 are taken, point 3 is not.
    result, out = scan(tmp_path, plan, motor_extra=", fault_at_move = 3")
    assert result.returncode == 1, result.stderr
    assert "following error at move 3" in result.stderr
    run_dir = only_run_dir(out)
    docs = read_documents(run_dir)
    validate(docs)
    stop = docs[-1][1]
    assert docs[-1][0] == "stop"
    assert stop["exit_status"] == "fail"
    assert "point 3" in stop["reason"] and "following error" in stop["reason"]
    assert stop["num_events"] == {"primary": 2}
    assert [e["data"]["stage_x_setpoint"] for e in events(docs)] == [0, 1]
    summary = load_summary(run_dir)
    assert summary["outcome"] == "stopped"
    assert summary["stop_reason"].startswith("scan fail: point 3"), summary["stop_reason"]
    with h5py.File(run_dir / "run.h5", "r") as f:  # the raw streams are readable
        assert len(f["ramp/ch0"]) > 0 and len(f["stage/x"]) > 0


def test_a_move_slower_than_move_timeout_is_stopped_and_fails_the_scan(tmp_path):
    # 0.5 mm/s: the move to 1 mm (point 2) takes 2 s, the plan allows 300 ms. Without
    # move_timeout the same scan succeeds (a long move is legitimate by default).
    plan = """
[[plans]]
name = "l"
kind = "line"
move_timeout = "{timeout}"
[[plans.axes]]
motor = "stage"
start = 0
stop = 1
num = 2
"""
    head = HEAD.format(motor_extra="").replace("velocity = 50", "velocity = 0.5")
    cfg = write_config(tmp_path, head + plan.format(timeout="300ms") + DETECTORS,
                       name="slow.toml")
    out = tmp_path / "runs"
    result = run(["scan", str(cfg), "--output", str(out)])
    assert result.returncode == 1, result.stderr
    assert "point 2: stage.x still moving to 1 after 300 ms: stopped (move_timeout)" in \
        result.stderr, result.stderr
    run_dir = only_run_dir(out)
    docs = read_documents(run_dir)
    validate(docs)
    stop = docs[-1][1]
    assert stop["exit_status"] == "fail" and "point 2" in stop["reason"], stop
    assert stop["num_events"] == {"primary": 1}
    with h5py.File(run_dir / "run.h5", "r") as f:  # stopped short of the target, not at it
        x = f["stage/x"][()]
        assert 0 < x[-1] < 0.5, x[-1]
    cfg = write_config(tmp_path, head + plan.format(timeout="0s") + DETECTORS, name="ok.toml")
    result = run(["scan", str(cfg), "--output", str(tmp_path / "runs-ok")])
    assert result.returncode == 0, result.stderr
    assert "scan: success, 2/2 points" in result.stdout + result.stderr


def test_a_grid_cut_short_leaves_nan_pixels_and_scan_is_stored_whatever_storage_streams(tmp_path):
    # storage.streams names only the detector stream: /scan and /scan_grid are stored anyway.
    plan = """
[storage]
streams = ["ramp"]

[[plans]]
name = "map"
kind = "grid"
snake = true
dwell = "10ms"
[[plans.axes]]
motor = "stage"
axis = "y"
start = -1
stop = 1
num = 3
[[plans.axes]]
motor = "stage"
axis = "x"
start = 0
stop = 2
num = 4
"""
    # Two moves a point (y, x): the 13th faults, so points 1-6 are taken (row 0, then x = 2
    # and 4/3 of the snaked row 1).
    result, out = scan(tmp_path, plan, motor_extra=", fault_at_move = 13")
    assert result.returncode == 1, result.stderr
    run_dir = only_run_dir(out)
    docs = read_documents(run_dir)
    validate(docs)
    evs = events(docs)
    assert len(evs) == 6 and docs[-1][1]["exit_status"] == "fail"
    with h5py.File(run_dir / "run.h5", "r") as f:
        assert "stage" not in f  # storage.streams was applied
        assert list(f["scan/seq_num"][:]) == list(range(1, 7))
        assert list(f["scan/ramp_mean"][:]) == [e["data"]["ramp_mean"] for e in evs]
    ys, xs = linspace(-1, 1, 3), linspace(0, 2, 4)
    check_grid_image(run_dir, evs, ys, xs, taken=6)
    with h5py.File(run_dir / "run.h5", "r") as f:
        row1 = f["scan_grid/ramp_mean"][1]
        assert np.isnan(row1[:2]).all() and not np.isnan(row1[2:]).any()


def test_points_whose_window_holds_a_hole_of_the_stream_are_flagged_and_only_they(tmp_path):
    # sim.ramp loses every 7th batch of 10 samples (an overrun; 70 ms apart at 1 kHz): a 20 ms
    # window holds a hole or not. The holes are found independently in the stored timestamps.
    cfg = write_config(tmp_path, """
[run]
name = "scan"

[instruments.ramp]
driver = "sim.ramp"
options = { rate_hz = 1000, batch_size = 10, drop_every = 7 }

[[plans]]
name = "holes"
kind = "count"
num = 16
dwell = "20ms"
""" + DETECTORS, name="scan.toml")
    out = tmp_path / "runs"
    result = run(["scan", str(cfg), "--output", str(out)], timeout=120, stdin=subprocess.DEVNULL)
    assert result.returncode == 0, result.stderr
    run_dir = only_run_dir(out)
    docs = read_documents(run_dir)
    validate(docs)
    evs = events(docs)
    assert len(evs) == 16
    with h5py.File(run_dir / "run.h5", "r") as f:
        ts, values = f["ramp/timestamp"][:], f["ramp/ch0"][:]
        kinds = [k.decode() for k in f["events"]["kind"]]
    assert "overrun" in kinds
    step = np.diff(ts)
    holes = [(ts[i], ts[i + 1]) for i in np.nonzero(step > 1_500_000)[0]]
    assert len(holes) >= 3
    flagged = []
    for e in evs:
        t0, t1 = e["data"]["t0"], e["data"]["t1"]
        hit = any(after >= t0 and before <= t1 for before, after in holes)
        assert e["data"]["flags"] == (2 if hit else 0), (e["seq_num"], t0, t1, holes)
        flagged.append(hit)
        inside = values[(ts >= t0) & (ts <= t1)]
        assert e["data"]["ramp_count"] == len(inside)  # what is there, nothing made up
        assert e["data"]["ramp_mean"] == pytest.approx(np.mean(inside), rel=1e-12)
    assert any(flagged) and not all(flagged), flagged


def test_a_target_outside_the_soft_limits_is_refused_before_anything_moves(tmp_path):
    plan = """
[[plans]]
name = "l"
kind = "line"
[[plans.axes]]
motor = "stage"
start = 0
stop = 12.5
num = 5
"""
    path = config(tmp_path, plan)
    lines = path.read_text().splitlines()
    line = next(i for i, text in enumerate(lines, 1) if text.startswith("stop = 12.5"))
    for command in (["scan", str(path), "--output", str(tmp_path / "runs")],
                    ["validate", str(path)]):
        result = run(command, stdin=subprocess.DEVNULL)
        assert result.returncode == 2, result.stderr
        assert re.search(rf"scan\.toml:{line}:8: plans\[0\]\.axes\[0\]\.stop: target 12\.5 is "
                         r"outside the soft limits \[-10, 10\] mm of stage\.x", result.stderr), \
            result.stderr
    assert not (tmp_path / "runs").exists()


class Scan:
    """`arrowdaq scan` in the background with a pipe on stdin; stderr lines are collected by a
    thread so the test waits for printed lines, not for time."""

    def __init__(self, path, out):
        self.proc = subprocess.Popen([ARROWDAQ, "scan", str(path), "--output", str(out)],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True)
        self.lines = []
        self.cond = threading.Condition()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        for line in self.proc.stderr:
            with self.cond:
                self.lines.append(line)
                self.cond.notify_all()
        with self.cond:
            self.lines.append(None)
            self.cond.notify_all()

    def wait_for(self, pattern, after=0, timeout=60):
        regex = re.compile(pattern)
        with self.cond:
            def found():
                for i, line in enumerate(self.lines[after:], after):
                    if line is None:
                        raise AssertionError("arrowdaq ended before " + pattern + ":\n" +
                                             "".join(l for l in self.lines if l))
                    if regex.search(line):
                        return i
                return None
            assert self.cond.wait_for(lambda: found() is not None, timeout), "".join(
                l for l in self.lines if l)
            return found()


def test_sigint_pauses_at_a_point_boundary_resumes_and_aborts(tmp_path):
    plan = """
[[plans]]
name = "l"
kind = "line"
dwell = "20ms"
[[plans.axes]]
motor = "stage"
start = 0
stop = 9.9
num = 100
"""
    path = config(tmp_path, plan)
    out = tmp_path / "runs"
    s = Scan(path, out)
    at = s.wait_for(r"scan: point 3/100 done")
    s.proc.send_signal(signal.SIGINT)
    paused = s.wait_for(r"scan: paused before point (\d+)/100", after=at)
    k = int(re.search(r"point (\d+)/", s.lines[paused]).group(1))
    run_dir = only_run_dir(out)
    taken_at_pause = len(events(read_documents(run_dir)))
    assert taken_at_pause == k - 1  # paused at a boundary: points 1..k-1 taken
    # Garbage is refused, r resumes at point k.
    s.proc.stdin.write("what\nr\n")
    s.proc.stdin.flush()
    s.wait_for(r"answer r \(resume\) or a \(abort\)", after=paused)
    resumed = s.wait_for(rf"scan: resumed at point {k}/100", after=paused)
    at = s.wait_for(rf"scan: point {k + 2}/100 done", after=resumed)
    # Pause again, then a second Ctrl-C aborts cleanly.
    s.proc.send_signal(signal.SIGINT)
    paused = s.wait_for(r"scan: paused before point (\d+)/100", after=at)
    s.proc.send_signal(signal.SIGINT)
    s.wait_for(r"scan: abort, ", after=paused)
    stdout, _ = s.proc.communicate(timeout=60)
    assert s.proc.returncode == 130
    docs = read_documents(run_dir)
    validate(docs)
    stop = docs[-1][1]
    assert stop["exit_status"] == "abort"
    evs = events(docs)
    assert stop["num_events"] == {"primary": len(evs)}
    # No point skipped or repeated across the pause: the setpoints are the line's, in order.
    assert [e["data"]["stage_x_setpoint"] for e in evs] == pytest.approx(
        list(np.linspace(0, 9.9, 100))[:len(evs)], abs=1e-12)
    assert [e["seq_num"] for e in evs] == list(range(1, len(evs) + 1))
    with h5py.File(run_dir / "run.h5", "r") as f:
        assert len(f["ramp/ch0"]) > 0


def test_sigterm_aborts_cleanly(tmp_path):
    plan = """
[[plans]]
name = "c"
kind = "count"
num = 1000
dwell = "20ms"
"""
    path = config(tmp_path, plan)
    out = tmp_path / "runs"
    s = Scan(path, out)
    s.wait_for(r"scan: point 2/1000 done")
    s.proc.send_signal(signal.SIGTERM)
    s.proc.communicate(timeout=60)
    assert s.proc.returncode == 130
    docs = read_documents(only_run_dir(out))
    validate(docs)
    assert docs[-1][1]["exit_status"] == "abort"
    assert docs[-1][1]["num_events"]["primary"] == len(events(docs)) >= 2
    assert load_summary(only_run_dir(out))["stop_reason"].startswith("scan abort")


def test_a_polled_detector_is_queried_at_each_point(tmp_path):
    plan = """
[[plans]]
name = "p"
kind = "list"
[[plans.axes]]
motor = "stage"
positions = [1, -2.5, 7]
[[plans.detectors]]
instrument = "stage"
query = "POS? x"
name = "x_polled"
"""
    result, out = scan(tmp_path, plan)
    assert result.returncode == 0, result.stderr
    docs = read_documents(only_run_dir(out))
    validate(docs)
    descriptor = docs[1][1]
    assert descriptor["data_keys"]["x_polled"]["source"] == "query:stage:POS? x"
    assert [e["data"]["x_polled"] for e in events(docs)] == [1, -2.5, 7]


def test_a_polled_detector_that_does_not_answer_fails_the_scan(tmp_path):
    plan = """
[[plans]]
name = "p"
kind = "count"
num = 3
[[plans.detectors]]
instrument = "stage"
query = "POS? z"
"""
    result, out = scan(tmp_path, plan)
    assert result.returncode == 1, result.stderr
    docs = read_documents(only_run_dir(out))
    validate(docs)
    assert docs[-1][1]["exit_status"] == "fail"
    assert "point 1" in docs[-1][1]["reason"] and "no axis 'z'" in docs[-1][1]["reason"]
    assert docs[-1][1]["num_events"] == {"primary": 0}


def test_the_docs_snippets_run_against_a_scan(tmp_path):
    """docs/scans.md's Python blocks, run against a fresh scan of examples/scan.toml (its run
    directory substituted for the example's)."""
    import os
    from pathlib import Path
    source = Path(os.environ["ARROWDAQ_SOURCE_DIR"])
    example = (source / "examples" / "scan.toml").read_text()
    # A smaller grid, same instruments and detectors: the example as a user runs it.
    example = example.replace("num = 4", "num = 2").replace("num = 5", "num = 3")
    path = write_config(tmp_path, example, name="scan.toml")
    out = tmp_path / "runs"
    result = run(["scan", str(path), "--output", str(out)], stdin=subprocess.DEVNULL)
    assert result.returncode == 0, result.stderr
    run_dir = only_run_dir(out)
    text = (source / "docs" / "scans.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, re.S)
    assert len(blocks) >= 3
    for block in blocks:
        code = block.replace("runs/scan-20261201T120000Z", str(run_dir))
        code = code.replace('"runs/scan-.../documents.jsonl"', repr(str(run_dir / "documents.jsonl")))
        assert str(run_dir) in code, block
        exec(compile(code, "docs/scans.md", "exec"), {})

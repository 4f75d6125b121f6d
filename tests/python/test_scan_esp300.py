"""`arrowdaq scan` of a `newport.esp300` axis (issue 17) against the serial simulator
(tools/sim/serial_sim.py --model esp300) running as a real process on a pty, with moves that take
the time the simulator's trapezoidal profile says (VA/AC). The oracles are independent of the
executor: the plan's positions written out with numpy.linspace, the simulator's --log of every
command line it received, the raw `stage` stream in run.h5 (the driver's TP polls) and the
event times in documents.jsonl (validated against event-model's schemas) and run.h5 /scan."""
import json
import os
import re
import subprocess
import sys

import event_model
import h5py
import jsonschema
import numpy as np
import pytest

from arrowdaq_testlib import only_run_dir, run, write_config

SIM = os.path.join(os.environ["ARROWDAQ_SOURCE_DIR"], "tools", "sim", "serial_sim.py")
VELOCITY = 5.0        # mm/s (the simulator's VA): a 2 mm step takes 0.4 s + v/a
ACCELERATION = 200.0  # mm/s^2


@pytest.fixture
def esp300(tmp_path):
    """Start the ESP300 simulator; return (resource, log path). Killed when the test ends."""
    log = tmp_path / "esp300.log"
    proc = subprocess.Popen([sys.executable, SIM, "--model", "esp300", "--velocity",
                             str(VELOCITY), "--acceleration", str(ACCELERATION),
                             "--log", str(log)], stdout=subprocess.PIPE, text=True)
    try:
        path = proc.stdout.readline().strip()
        assert path.startswith("/dev/"), f"serial_sim.py printed {path!r}"
        yield f"ASRL{path}::INSTR", log
    finally:
        proc.kill()
        proc.wait()


CONFIG = """
[run]
name = "esp"

[instruments.stage]
driver = "newport.esp300"
resource = "{resource}"
options = {{ axes = 1, unit = "mm", axis1_min = -5, axis1_max = 5, rate_hz = 50, batch_size = 1 }}

[[plans]]
name = "line"
kind = "line"
[[plans.axes]]
motor = "stage"
axis = "axis1"
start = {start}
stop = {stop}
num = {num}

[[plans.detectors]]
instrument = "stage"
query = "1TP"
name = "tp"
"""


def documents(run_dir):
    docs = [tuple(json.loads(line)) for line in
            (run_dir / "documents.jsonl").read_text().splitlines()]
    for name, doc in docs:
        jsonschema.validate(doc, event_model.schemas[event_model.DocumentNames[name]])
    return docs


def sent_moves(log):
    """The PA targets the simulator received, in order (commands may share a line with ';')."""
    text = log.read_text() if log.exists() else ""
    return [float(m.group(1)) for m in re.finditer(r"\b1PA([-+0-9.eE]+)", text)]


def test_a_line_scan_moves_the_esp300_in_real_time(tmp_path, esp300):
    resource, log = esp300
    # From the power-up position 0: moves of 2 mm, 0.4 s each at VELOCITY (a point without
    # motion takes ~0.08 s on an idle machine, so the durations below tell motion apart).
    start, stop, num = -2.0, 4.0, 4
    path = write_config(tmp_path, CONFIG.format(resource=resource, start=start, stop=stop,
                                                num=num), name="scan.toml")
    out = tmp_path / "runs"
    result = run(["scan", str(path), "--output", str(out)], stdin=subprocess.DEVNULL)
    assert result.returncode == 0, result.stderr
    run_dir = only_run_dir(out)
    docs = documents(run_dir)
    assert [n for n, _ in docs] == ["start", "descriptor"] + ["event"] * num + ["stop"]
    assert docs[-1][1]["exit_status"] == "success"
    evs = [d for n, d in docs if n == "event"]
    targets = np.linspace(start, stop, num)

    # The controller was sent each target once, in order, and stopped there.
    assert sent_moves(log) == pytest.approx(list(targets), abs=1e-6)
    setpoints = [e["data"]["stage_axis1_setpoint"] for e in evs]
    assert setpoints == [float(t) for t in targets]
    readback = np.array([e["data"]["stage_axis1"] for e in evs])
    assert readback == pytest.approx(targets, abs=1e-4)  # TP answers %.5f
    # The polled detector asked the controller itself after the move.
    assert [e["data"]["tp"] for e in evs] == pytest.approx(list(targets), abs=1e-4)

    # Moves took real time: a point's window opens only after the move from the previous
    # point has ended, which takes at least distance / velocity on the simulator.
    t0 = np.array([e["data"]["t0"] for e in evs], dtype=np.int64)
    step = np.abs(np.diff(targets))
    assert np.all(np.diff(t0) >= step / VELOCITY * 1e9), np.diff(t0) / 1e9
    times = np.array([e["time"] for e in evs])
    assert np.all(np.diff(times) >= step / VELOCITY), np.diff(times)

    # The stage's own stream (the driver polls TP) saw the axis between the points: every
    # move shows positions strictly between its end points, and none outside them.
    with h5py.File(run_dir / "run.h5", "r") as f:
        ts = f["stage/timestamp"][:]
        x = f["stage/axis1"][:]
        assert f["stage/axis1"].attrs.get("unit", b"mm") in ("mm", b"mm")
    assert np.all(np.diff(ts) > 0)
    t1 = np.array([e["data"]["t1"] for e in evs], dtype=np.int64)
    for k in range(num - 1):
        lo, hi = sorted((targets[k], targets[k + 1]))
        during = x[(ts > t1[k]) & (ts < t0[k + 1])]
        assert np.all((during >= lo - 1e-4) & (during <= hi + 1e-4)), (k, during)
        inside = during[(during > lo + 1e-3) & (during < hi - 1e-3)]
        assert len(inside) >= 1, f"no position recorded between points {k + 1} and {k + 2}: " \
                                 f"{during}"

    # run.h5 /scan: the same points, in order, positions within the readback's resolution.
    with h5py.File(run_dir / "run.h5", "r") as f:
        g = f["scan"]
        assert list(g["seq_num"][:]) == list(range(1, num + 1))
        assert list(g["stage_axis1_setpoint"][:]) == [float(t) for t in targets]
        assert g["stage_axis1"][:] == pytest.approx(targets, abs=1e-4)
        assert list(g["stage_axis1"][:]) == list(readback)
        assert list(g["t0"][:]) == list(t0)


@pytest.mark.parametrize("key,value,limits", [("stop", "7.5", "[-5, 5]"),
                                              ("start", "-6", "[-5, 5]")])
def test_a_target_outside_the_axis_soft_limits_is_refused_before_anything_moves(
        tmp_path, esp300, key, value, limits):
    resource, log = esp300
    start, stop = ("-6", "2") if key == "start" else ("0", value)
    text = CONFIG.format(resource=resource, start=start, stop=stop, num=5)
    path = write_config(tmp_path, text, name="scan.toml")
    line = next(i for i, t in enumerate(text.splitlines(), 1) if t.startswith(f"{key} = "))
    column = len(f"{key} = ") + 1
    out = tmp_path / "runs"
    result = run(["scan", str(path), "--output", str(out)], stdin=subprocess.DEVNULL)
    assert result.returncode == 2, result.stderr
    pattern = (rf"scan\.toml:{line}:{column}: plans\[0\]\.axes\[0\]\.{key}: target "
               rf"{re.escape(value)} is outside the soft limits {re.escape(limits)} mm of "
               r"stage\.axis1")
    assert re.search(pattern, result.stderr), result.stderr
    assert not out.exists() or not any(out.iterdir())
    # Nothing moved: the controller never received a PA (or PR) command.
    text = log.read_text() if log.exists() else ""
    assert sent_moves(log) == [] and not re.search(r"\dP[AR]", text), text

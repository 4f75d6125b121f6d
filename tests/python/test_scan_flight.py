"""Scans on a running `arrowdaq serve` (issue 17): the Flight actions run_plan, pause, resume,
abort and the status action's "scan", through pyarrow.flight directly and through the Python
client. Real processes: the server runs sim.motor and a sim.ramp detector; the CLI's
`arrowdaq scan` of the same plan is the reference for positions; every point's values are
recomputed with numpy from the raw samples each run.h5 holds inside the point's window, and the
documents are validated against event-model's own schemas. Pauses are observed through the
status action (state "paused"), never by sleeping."""
import json
import subprocess
import time

import event_model
import h5py
import jsonschema
import numpy as np
import pyarrow as pa
import pyarrow.flight as fl
import pytest

import arrowdaq
import arrowdaq_testlib as lib

CONFIG = """
[run]
name = "scan"

[instruments.stage]
driver = "sim.motor"
options = { axes = "x,y", velocity = 50, acceleration = 500, min = -10, max = 10, rate_hz = 200 }

[instruments.ramp]
driver = "sim.ramp"
options = { rate_hz = 1000, batch_size = 10 }

[[plans]]
name = "line1"
kind = "line"
dwell = "20ms"
[[plans.axes]]
motor = "stage"
axis = "x"
start = -2
stop = 3
num = 6
[[plans.detectors]]
stream = "ramp"
reduce = "mean"
name = "ramp_mean"
[[plans.detectors]]
stream = "ramp"
reduce = "count"
name = "ramp_count"
"""

# The same plan as a run_plan body: the fields of the [[plans]] entry above.
LINE1 = {
    "name": "line1", "kind": "line", "dwell": "20ms",
    "axes": [{"motor": "stage", "axis": "x", "start": -2, "stop": 3, "num": 6}],
    "detectors": [{"stream": "ramp", "reduce": "mean", "name": "ramp_mean"},
                  {"stream": "ramp", "reduce": "count", "name": "ramp_count"}],
}


def long_line(num=40, name="long"):
    return {"name": name, "kind": "line", "dwell": "20ms",
            "axes": [{"motor": "stage", "axis": "x", "start": -5, "stop": 5, "num": num}],
            "detectors": [{"stream": "ramp", "reduce": "mean", "name": "ramp_mean"}]}


@pytest.fixture
def server(tmp_path):
    cfg = lib.write_config(tmp_path, CONFIG, name="serve.toml")
    s = arrowdaq.start_server(cfg, binary=lib.ARROWDAQ, output=tmp_path / "runs")
    yield s
    assert s.stop() == 0, s.log


@pytest.fixture
def flight(server):
    c = fl.connect(server.uri)
    yield c
    c.close()


def action(client, name, body=None):
    raw = b"" if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
    results = list(client.do_action(fl.Action(name, raw)))
    assert len(results) == 1
    return json.loads(results[0].body.to_pybytes())


def scan_state(client):
    return action(client, "status")["scan"]


def wait_scan(client, predicate, what, timeout=60):
    """Poll the status action until predicate(scan) holds (synchronisation on state)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        s = scan_state(client)
        if s is not None and predicate(s):
            return s
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for the scan to be {what}: {scan_state(client)}")


def read_documents(run_dir):
    return [tuple(json.loads(line)) for line in (run_dir / "documents.jsonl").read_text().splitlines()]


def validate(docs):
    for name, doc in docs:
        jsonschema.validate(doc, event_model.schemas[event_model.DocumentNames[name]])


def events(docs):
    return [d for n, d in docs if n == "event"]


def check_values_against_raw_samples(run_dir, evs):
    with h5py.File(run_dir / "run.h5", "r") as f:
        ts = f["ramp/timestamp"][:]
        values = f["ramp/ch0"][:]
        scan = f["scan"]
        assert list(scan["seq_num"][:]) == [e["seq_num"] for e in evs]
        assert list(scan["ramp_mean"][:]) == [e["data"]["ramp_mean"] for e in evs]
        assert list(scan["stage_x"][:]) == [e["data"]["stage_x"] for e in evs]
    # The ramp's samples are a formula (value n at t[0] + floor(n * 1e9 / rate)): the windows
    # are recomputed from it, anchored at the first stored sample, so a packet the recording
    # dropped on a loaded machine (summary "degraded") cannot shift the oracle; every stored
    # sample must sit where the formula puts it.
    n_ref = int(values[0])
    n_all = np.arange(n_ref, int(values[-1]) + 1)
    t_all = int(ts[0]) + lib.sample_offsets_ns(n_all - n_ref, 1000.0)
    v_all = lib.ramp(n_all)
    np.testing.assert_array_equal(ts, t_all[values.astype(np.int64) - n_ref])
    for e in evs:
        inside = v_all[(t_all >= e["data"]["t0"]) & (t_all <= e["data"]["t1"])]
        assert len(inside) >= 10  # 20 ms at 1 kHz
        assert e["data"]["flags"] == 0
        assert e["data"]["ramp_mean"] == pytest.approx(np.mean(inside), rel=1e-12)
        if "ramp_count" in e["data"]:
            assert e["data"]["ramp_count"] == len(inside)


def run_dirs(tmp_path):
    out = tmp_path / "runs"
    return sorted(p for p in out.iterdir() if p.is_dir()) if out.exists() else []


def test_run_plan_line_scan_matches_the_cli(tmp_path, flight):
    # The reference: the CLI's scan of the config's plan.
    cfg = lib.write_config(tmp_path, CONFIG, name="cli.toml")
    cli_out = tmp_path / "cli"
    result = lib.run(["scan", str(cfg), "--output", str(cli_out)], stdin=subprocess.DEVNULL)
    assert result.returncode == 0, result.stderr
    cli_docs = read_documents(lib.only_run_dir(cli_out))
    cli_events = events(cli_docs)

    started = action(flight, "run_plan", LINE1)
    assert started["plan"] == "line1" and started["points_total"] == 6
    assert started["state"] in ("running", "done")
    done = wait_scan(flight, lambda s: s["state"] == "done", "done")
    assert done["exit_status"] == "success" and done["points_done"] == 6
    run_dir = tmp_path / "runs" / done["directory"].split("/")[-1]
    assert run_dir.is_dir() and str(run_dir) == done["directory"]
    docs = read_documents(run_dir)
    validate(docs)
    assert [n for n, _ in docs] == ["start", "descriptor"] + ["event"] * 6 + ["stop"]
    assert docs[-1][1]["exit_status"] == "success"
    assert docs[-1][1]["num_events"] == {"primary": 6}
    evs = events(docs)
    # Same points as the CLI: setpoints (numpy.linspace exactly), readbacks, keys, order.
    assert [e["seq_num"] for e in evs] == list(range(1, 7))
    for key in ("stage_x_setpoint", "stage_x"):
        assert [e["data"][key] for e in evs] == [e["data"][key] for e in cli_events], key
    assert [e["data"]["stage_x_setpoint"] for e in evs] == list(np.linspace(-2, 3, 6))
    assert sorted(evs[0]["data"]) == sorted(cli_events[0]["data"])
    assert docs[0][1]["plan_name"] == cli_docs[0][1]["plan_name"]
    # Each value is its window's reduction, in both runs.
    check_values_against_raw_samples(run_dir, evs)
    check_values_against_raw_samples(lib.only_run_dir(cli_out), cli_events)
    # The plan named from the config runs too, into a run directory of its own.
    by_name = action(flight, "run_plan", {"name": "line1"})
    assert by_name["directory"] != done["directory"]
    again = wait_scan(flight, lambda s: s["state"] == "done" and s["directory"] == by_name["directory"],
                      "done")
    assert again["exit_status"] == "success" and again["points_done"] == 6
    validate(read_documents(tmp_path / "runs" / again["directory"].split("/")[-1]))


def test_pause_stops_taking_points_resume_continues_at_the_right_point(tmp_path, flight):
    body = long_line()
    expected = list(np.linspace(-5, 5, 40))
    started = action(flight, "run_plan", body)
    run_dir = tmp_path / "runs" / started["directory"].split("/")[-1]
    # A second scan while this one runs is refused, naming the running one.
    with pytest.raises(pa.ArrowException, match="already running.*long"):
        action(flight, "run_plan", LINE1)
    wait_scan(flight, lambda s: s["points_done"] >= 2, "2 points in")
    action(flight, "pause")
    paused = wait_scan(flight, lambda s: s["state"] == "paused", "paused")
    k = paused["points_done"]
    assert 2 <= k < 40
    # While paused no point is taken: the documents and the status agree and stay put over
    # many status round trips (each one is a server call, not a sleep).
    for _ in range(30):
        s = scan_state(flight)
        assert s["state"] == "paused" and s["points_done"] == k
        assert len(events(read_documents(run_dir))) == k
    with pytest.raises(pa.ArrowInvalid, match="resume"):  # wrong state refused
        action(flight, "resume", {"when": "now"})
    action(flight, "resume")
    done = wait_scan(flight, lambda s: s["state"] == "done", "done")
    assert done["exit_status"] == "success" and done["points_done"] == 40
    docs = read_documents(run_dir)
    validate(docs)
    evs = events(docs)
    assert [e["seq_num"] for e in evs] == list(range(1, 41))
    # Resume continued at point k+1: every setpoint in order, none skipped or repeated.
    assert [e["data"]["stage_x_setpoint"] for e in evs] == expected
    assert evs[k]["data"]["t0"] > evs[k - 1]["data"]["t1"]
    check_values_against_raw_samples(run_dir, evs)
    # Nothing to control any more.
    with pytest.raises(pa.ArrowInvalid, match="no scan is running"):
        action(flight, "pause")


def test_abort_ends_with_exit_status_abort(tmp_path, flight):
    started = action(flight, "run_plan", long_line())
    wait_scan(flight, lambda s: s["points_done"] >= 1, "1 point in")
    action(flight, "abort")
    done = wait_scan(flight, lambda s: s["state"] == "done", "done")
    assert done["exit_status"] == "abort" and 1 <= done["points_done"] < 40
    run_dir = tmp_path / "runs" / started["directory"].split("/")[-1]
    docs = read_documents(run_dir)
    validate(docs)
    assert docs[-1][0] == "stop" and docs[-1][1]["exit_status"] == "abort"
    evs = events(docs)
    assert len(evs) == done["points_done"] == docs[-1][1]["num_events"]["primary"]
    with h5py.File(run_dir / "run.h5", "r") as f:
        assert len(f["scan/seq_num"]) == len(evs)
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["outcome"] == "stopped", summary
    assert summary["stop_reason"].startswith("scan abort: "), summary


@pytest.mark.parametrize("body,field", [
    (b"{not json", "run_plan"),
    (b"[1, 2]", "run_plan"),
    ({**LINE1, "bogus": 1}, "bogus"),
    ({**LINE1, "axes": [{**LINE1["axes"][0], "stop": 50}]}, "axes[0].stop"),
    ({**LINE1, "axes": [{**LINE1["axes"][0], "speed": 3}]}, "speed"),
    ({**LINE1, "kind": "spiral"}, "kind"),
    ({**LINE1, "detectors": [{"stream": "nope"}]}, "detectors[0].stream"),
    ({**LINE1, "axes": [{**LINE1["axes"][0], "motor": "ramp"}]}, "axes[0].motor"),
    ({"name": "nope"}, "name"),
])
def test_bad_bodies_are_refused_naming_the_field_and_nothing_is_left(tmp_path, flight, body, field):
    with pytest.raises(pa.ArrowException) as e:
        action(flight, "run_plan", body)
    msg = str(e.value)
    assert "run_plan" in msg and field in msg, msg
    assert run_dirs(tmp_path) == []
    assert scan_state(flight) is None


def test_the_python_client_runs_pauses_and_aborts_scans(tmp_path, server):
    with arrowdaq.Client(server.uri) as daq:
        done = daq.scan(LINE1)
        assert isinstance(done, arrowdaq.Scan)
        assert done.state == "done" and done.exit_status == "success" and done.points_done == 6
        docs = done.documents()
        validate(docs)
        evs = events(docs)
        assert [e["data"]["stage_x_setpoint"] for e in evs] == list(np.linspace(-2, 3, 6))
        check_values_against_raw_samples(done.directory, evs)
        assert daq.scan("line1").exit_status == "success"
        with pytest.raises(arrowdaq.NotFoundError, match="no plan 'nope'"):
            daq.scan("nope")
        with pytest.raises(arrowdaq.InvalidRequestError, match=r"axes\[0\]\.start"):
            daq.scan({**LINE1, "axes": [{**LINE1["axes"][0], "start": -11}]})

        s = daq.scan(long_line(name="paused"), wait=False)
        with pytest.raises(arrowdaq.AlreadyExistsError):
            daq.scan(LINE1, wait=False)
        deadline = time.monotonic() + 60
        while s.refresh().points_done < 1:
            assert time.monotonic() < deadline
            time.sleep(0.02)
        daq.pause()
        while s.refresh().state != "paused":
            assert time.monotonic() < deadline
            time.sleep(0.02)
        k = s.points_done
        assert len(events(s.documents())) == k
        s.resume()
        while s.refresh().points_done <= k and s.state != "done":
            assert time.monotonic() < deadline
            time.sleep(0.02)
        daq.abort()
        s.wait(timeout=60)
        assert s.exit_status == "abort" and k < s.points_done < 40
        docs = s.documents()
        validate(docs)
        assert docs[-1][1]["exit_status"] == "abort"
        assert [e["data"]["stage_x_setpoint"] for e in events(docs)] == \
            list(np.linspace(-5, 5, 40))[:s.points_done]


def test_the_server_snippet_of_docs_scans_md_runs(tmp_path):
    """docs/scans.md's `python scan-server` block, run against `arrowdaq serve
    examples/scan.toml` (a smaller grid; the documented URI replaced by the server's)."""
    import os
    import re
    import sys
    from pathlib import Path
    source = Path(os.environ["ARROWDAQ_SOURCE_DIR"])
    example = (source / "examples" / "scan.toml").read_text()
    example = example.replace("num = 4", "num = 2").replace("num = 5", "num = 3")
    cfg = lib.write_config(tmp_path, example, name="scan.toml")
    blocks = re.findall(r"```python scan-server\n(.*?)```", (source / "docs" / "scans.md").read_text(), re.S)
    assert len(blocks) == 1
    server = arrowdaq.start_server(cfg, binary=lib.ARROWDAQ, output=tmp_path / "runs")
    try:
        script = blocks[0].replace("grpc://127.0.0.1:8815", server.uri)
        r = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, capture_output=True,
                           text=True, timeout=300)
        assert r.returncode == 0, r.stderr
        lines = r.stdout.splitlines()
        assert re.fullmatch(r"success 6 \S+/runs/map-\S+", lines[0]), r.stdout
        assert re.fullmatch(r"paused after \d+ points", lines[1]), r.stdout
        assert lines[2] == "success 30", r.stdout
    finally:
        assert server.stop() == 0, server.log


def test_documents_are_published_live_as_they_are_written(tmp_path, server):
    """A client subscribed to the stream `scan_documents` before the scan receives start,
    descriptor, every event and stop while the scan runs, each exactly the line of
    documents.jsonl; they validate against event-model's schemas and feed a Bluesky callback."""
    with arrowdaq.Client(server.uri) as daq:
        assert "scan_documents" in [s.name for s in daq.streams()]
        live = []
        with daq.subscribe("scan_documents", timeout=120) as sub:
            sub._reader.schema  # the server has registered the subscription once it answers
            started = daq.scan(LINE1, wait=False)
            for batch in sub:
                live += zip(batch["seq"].to_pylist(), batch["name"].to_pylist(),
                            batch["doc"].to_pylist())
                if live[-1][1] == "stop":
                    break
        done = started.wait(timeout=120)
        assert done.exit_status == "success"
    assert [seq for seq, _, _ in live] == list(range(live[0][0], live[0][0] + len(live)))
    lines = (done.directory / "documents.jsonl").read_text().splitlines()
    assert [f'["{name}", {doc}]' for _, name, doc in live] == lines
    docs = [(name, json.loads(doc)) for _, name, doc in live]
    validate(docs)
    assert [n for n, _ in docs] == ["start", "descriptor"] + ["event"] * 6 + ["stop"]
    from bluesky.callbacks.core import CollectThenCompute

    class Collect(CollectThenCompute):
        def compute(self):
            pass

    collected = Collect()
    for name, doc in docs:
        collected(name, doc)
    assert len(collected._events) == 6 and collected._stop_doc["exit_status"] == "success"
    with h5py.File(done.directory / "run.h5", "r") as f:  # documents.jsonl is the stored form
        assert "scan_documents" not in f and "scan" in f


def test_a_plan_sent_in_full_may_use_instruments_added_at_run_time(tmp_path, server):
    """add_instrument a second stage and a second ramp, scan the one against the other; once
    the stage is removed again, the same plan is refused naming it."""
    with arrowdaq.Client(server.uri) as daq:
        daq.add_instrument("stage2", {"driver": "sim.motor", "options": {
            "axes": "u", "velocity": 50, "acceleration": 500, "min": -3, "max": 3, "rate_hz": 200}})
        daq.add_instrument("ramp2", {"driver": "sim.ramp",
                                     "options": {"rate_hz": 1000, "batch_size": 10}})
        plan = {"name": "added", "kind": "line", "dwell": "20ms",
                "axes": [{"motor": "stage2", "start": -1, "stop": 1, "num": 3}],
                "detectors": [{"stream": "ramp2", "reduce": "count", "name": "n"}]}
        with pytest.raises(arrowdaq.InvalidRequestError, match=r"axes\[0\]\.stop"):
            daq.scan({**plan, "axes": [{**plan["axes"][0], "stop": 4}]})  # stage2's limits
        done = daq.scan(plan, timeout=120)
        assert done.exit_status == "success", done
        docs = done.documents()
        validate(docs)
        evs = events(docs)
        assert [e["data"]["stage2_u_setpoint"] for e in evs] == [-1.0, 0.0, 1.0]
        assert [e["data"]["stage2_u"] for e in evs] == pytest.approx([-1, 0, 1], abs=1e-12)
        with h5py.File(done.directory / "run.h5", "r") as f:
            ts = f["ramp2/timestamp"][:]
        for e in evs:
            inside = (ts >= e["data"]["t0"]) & (ts <= e["data"]["t1"])
            assert e["data"]["n"] == np.count_nonzero(inside) > 0
        daq.remove_instrument("stage2")
        with pytest.raises(arrowdaq.InvalidRequestError, match="stage2"):
            daq.scan(plan)

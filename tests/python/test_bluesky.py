"""The Bluesky bridge (arrowdaq.ophyd) with a real RunEngine against a real server process.

Documents are validated by event_model; each event's values are recomputed independently: the
packets the event names (first_sequence..last_sequence) are read from the run.h5 of a recording
made during the plan (h5py) or fetched again from the server's replay ring (raw
pyarrow.flight), checked against the simulator's formula, and averaged with numpy.
"""
import json
import math
import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.flight as fl
import pytest
from bluesky import RunEngine
from bluesky.plan_stubs import mv
from bluesky.plans import count, scan
from bluesky.utils import FailedStatus
from event_model import DocumentNames, schema_validators
from ophyd.sim import SynAxis

import arrowdaq
import arrowdaq_testlib as lib
from arrowdaq.ophyd import CommandSignal, stream_detector, stream_detectors


CONFIG = """
[instruments.noise]
driver = "sim.noise"
options = { rate_hz = 2000.0, batch_size = 50, channels = 2, seed = 3, unit = "mW" }

[instruments.sine]
driver = "sim.sine"
options = { rate_hz = 1000.0, batch_size = 20, channels = 1, frequency_hz = 3.0, amplitude = 2.0 }
"""
BATCH = {"noise": 50, "sine": 20}
CHANNELS = {"noise": ["ch0", "ch1"], "sine": ["ch0"]}
RATE = {"noise": 2000.0, "sine": 1000.0}


def formula(stream, n, c):
    if stream == "noise":
        return lib.noise(n, c, channels=2, seed=3)
    return lib.sine(n, c, channels=1, rate_hz=1000.0, frequency_hz=3.0, amplitude=2.0)


@pytest.fixture
def server(tmp_path):
    cfg = lib.write_config(tmp_path, CONFIG, name="serve.toml")
    s = arrowdaq.start_server(cfg, binary=lib.ARROWDAQ, output=tmp_path / "runs")
    yield s
    assert s.stop() == 0, s.log


@pytest.fixture
def daq(server):
    with arrowdaq.Client(server.uri) as c:
        yield c


def wait_for_sequence(daq, stream, seq, timeout=60):
    """Until the stream has published packet `seq` (a recording then holds every earlier one)."""
    deadline = time.monotonic() + timeout
    while daq.stream(stream).next_sequence <= seq:
        assert time.monotonic() < deadline, f"{stream} did not reach sequence {seq}"
        time.sleep(0.02)


def run_plan(plan):
    """Run `plan` on a fresh RunEngine; every document validated by event_model."""
    RE = RunEngine({})
    docs = []

    def collect(name, doc):
        schema_validators[DocumentNames[name]].validate(doc)
        docs.append((name, doc))
    RE.subscribe(collect)
    uids = RE(plan)
    assert len(uids) == 1
    return docs


def ring_packets(uri, stream):
    """Every packet of `stream` in the replay ring, by sequence, read with raw pyarrow.flight."""
    client = fl.FlightClient(uri)
    info = client.get_flight_info(fl.FlightDescriptor.for_path(stream))
    last = json.loads(bytes(info.app_metadata))["next_sequence"] - 1
    reader = client.do_get(fl.Ticket(json.dumps({"stream": stream, "start": "replay"}).encode()))
    packets = {}
    while True:
        chunk = reader.read_chunk()
        seq = json.loads(chunk.app_metadata.to_pybytes())["sequence"]
        packets[seq] = chunk.data
        if seq >= last:
            break
    reader.cancel()
    client.close()
    return packets


def check_events(packets, stream, events, det_name, channels, rows_per_event):
    """Each event's mean/std/count/timestamp recomputed from the packets it names."""
    prev_last = -1
    for ev in events:
        data, ts = ev["data"], ev["timestamps"]
        first, last, n_rows = data[f"{det_name}_first_sequence"], data[f"{det_name}_last_sequence"], data[f"{det_name}_count"]
        assert first > prev_last, "each window starts after the previous trigger's"
        prev_last = last
        assert n_rows == rows_per_event
        batches = [packets[s] for s in range(first, last + 1)]
        for s, b in zip(range(first, last + 1), batches):  # the ring's packets are the stream's
            n = np.arange(s * BATCH[stream], (s + 1) * BATCH[stream])
            np.testing.assert_allclose(b.column(1).to_numpy(), formula(stream, n, 0), rtol=1e-12, atol=1e-12)
        window = pa.Table.from_batches(batches).slice(0, n_rows)
        for c, ch in enumerate(channels):
            x = window.column(ch).to_numpy()
            assert data[f"{det_name}_{ch}"] == pytest.approx(np.mean(x), rel=1e-12, abs=1e-12)
            assert data[f"{det_name}_{ch}_std"] == pytest.approx(np.std(x), rel=1e-12, abs=1e-12)
        t_last = window.column(0).cast(pa.int64())[-1].as_py() / 1e9
        assert ts[f"{det_name}_{channels[0]}"] == t_last


def stored_packets(rec, stream):
    """The packets of `stream` a recording stored, by sequence, read from run.h5 with h5py."""
    summary = rec.summary()
    (info,) = [s for s in summary["streams"] if s["name"] == stream]
    ts, columns = lib.read_hdf5_stream(rec.directory, stream, len(CHANNELS[stream]))
    assert len(ts) == (info["last_sequence"] - info["first_sequence"] + 1) * BATCH[stream]
    packets = {}
    for i, seq in enumerate(range(info["first_sequence"], info["last_sequence"] + 1)):
        rows = slice(i * BATCH[stream], (i + 1) * BATCH[stream])
        packets[seq] = pa.record_batch([pa.array(ts[rows]).cast(pa.timestamp("ns", tz="UTC"))] +
                                       [pa.array(c[rows]) for c in columns],
                                       names=["timestamp"] + CHANNELS[stream])
    return packets


def test_count_five_events_are_window_means_of_the_stored_samples(daq, server):
    """The samples each event averaged are the ones a recording running at the same time
    stored in run.h5 (read with h5py): means, stds, counts and timestamps agree."""
    det = stream_detector(daq, "noise", dwell_rows=120)   # 2.4 packets: windows span packets
    with daq.record("bluesky", streams=["noise"], formats=["hdf5"]) as rec:
        docs = run_plan(count([det], 5))
        wait_for_sequence(daq, "noise", max(d["data"]["noise_last_sequence"] for n, d in docs if n == "event") + 1)
    packets = stored_packets(rec, "noise")
    names = [n for n, _ in docs]
    assert names == ["start", "descriptor"] + ["event"] * 5 + ["stop"]
    desc = docs[1][1]["data_keys"]
    port = re.search(r":(\d+)$", server.uri).group(1)
    assert desc["noise_ch0"]["source"] == f"arrowdaq://127.0.0.1:{port}/noise"
    assert desc["noise_ch0"]["units"] == "mW" and desc["noise_ch1_std"]["units"] == "mW"
    assert desc["noise_ch0"]["dtype"] == "number" and desc["noise_ch0"]["shape"] == []
    assert desc["noise_count"]["dtype"] == "integer"
    assert docs[-1][1]["exit_status"] == "success" and docs[-1][1]["num_events"] == {"primary": 5}
    assert set(det.hints["fields"]) == {"noise_ch0", "noise_ch1"}
    events = [d for n, d in docs if n == "event"]
    check_events(packets, "noise", events, "noise", ["ch0", "ch1"], 120)
    config = docs[1][1]["configuration"]["noise"]["data"]
    assert config["noise_dwell_rows"] == 120


def test_a_1d_scan_with_an_ophyd_sim_motor(daq, server):
    det = stream_detector(daq, "sine", dwell=0.05)   # 50 samples = 2.5 packets at 1 kHz
    motor = SynAxis(name="motor")
    docs = run_plan(scan([det], motor, 0, 1, 11))
    events = [d for n, d in docs if n == "event"]
    assert len(events) == 11
    assert [e["data"]["motor"] for e in events] == pytest.approx(list(np.linspace(0, 1, 11)))
    check_events(ring_packets(server.uri, "sine"), "sine", events, "sine", ["ch0"], 50)
    assert docs[-1][1]["exit_status"] == "success"


def test_one_device_per_stream_and_the_default_window_is_one_batch(daq, server):
    dets = stream_detectors(daq)
    assert sorted(dets) == ["noise", "sine"]
    docs = run_plan(count([dets["sine"]], 2))
    events = [d for n, d in docs if n == "event"]
    for e in events:
        assert e["data"]["sine_first_sequence"] == e["data"]["sine_last_sequence"]
    check_events(ring_packets(server.uri, "sine"), "sine", events, "sine", ["ch0"], BATCH["sine"])
    with pytest.raises(ValueError, match="no numeric channel"):
        stream_detector(daq, "noise", channels=["ch9"])
    with pytest.raises(arrowdaq.UnknownStreamError):
        stream_detector(daq, "nope")


def test_a_stream_that_stops_fails_the_plan_instead_of_hanging(daq):
    det = stream_detector(daq, "sine", timeout=2.0)
    daq.disconnect_instrument("sine")
    RE = RunEngine({})
    with pytest.raises(FailedStatus) as e:
        RE(count([det], 1))
    err = e.value.args[0].exception()       # the trigger's Status carries the device's error
    assert isinstance(err, arrowdaq.ArrowdaqTimeoutError), err
    assert "'sine'" in str(err)


def test_command_signal_sends_and_fails_with_the_instrument_error(daq):
    run_state = CommandSignal(daq, "sine", write="{value}", read=None, parse=str, name="sine_ctl")
    idn = CommandSignal(daq, "sine", write="{value}", read="*IDN?", parse=str, name="sine_idn")
    RE = RunEngine({})
    RE(mv(run_state, "ABOR"))                 # the device stops: the driver's reads now fail
    assert run_state.get() == "ABOR"
    assert re.fullmatch(r"arrowdaq,SIM-SINE,0,\S+", idn.get())
    status = run_state.set("BOGUS")
    with pytest.raises(arrowdaq.InstrumentError, match=r"send 'sine' 'BOGUS'.*Undefined header"):
        status.wait(30)
    assert idn.describe()["sine_idn"]["source"].endswith("/sine")


def test_the_example_script_counts_five_events(server):
    script = Path(os.environ.get("ARROWDAQ_SOURCE_DIR", Path(__file__).parents[2])) / "examples" / "python" / "bluesky_count.py"
    r = subprocess.run([sys.executable, str(script), server.uri, "sine"], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert [l.split(":")[0] for l in lines[:5]] == [f"event {i}" for i in range(1, 6)]
    assert all(re.search(r"sine_ch0=\S+ \(100 samples, packets \d+\.\.\d+\)$", l) for l in lines[:5]), lines
    assert re.fullmatch(r"run [0-9a-f-]{36}", lines[5])
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    r = subprocess.run([sys.executable, str(script), f"grpc://127.0.0.1:{port}"], capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 1 and f"no arrowdaq server reachable at grpc://127.0.0.1:{port}" in r.stderr

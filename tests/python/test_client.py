"""The `arrowdaq` Python package (python/) against a real server process.

The server is a real `arrowdaq serve` process started by `arrowdaq.start_server` (which the
tests use as a user would; it only runs the program and waits for "listening on"). Values are checked against the simulators' formulas (docs/instruments.md, as
recomputed by arrowdaq_testlib) and sequence numbers prove completeness; raw pyarrow.flight is
the independent reader where the wrapper's answer needs one.
"""
import json
import os
import re
import socket
import time
import warnings
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.flight as fl
import pytest

import arrowdaq
import arrowdaq_testlib as lib

ARROWDAQ = lib.ARROWDAQ
TOKEN = "python-client-token-0123456789"

CONFIG = """
[instruments.ramp]
driver = "sim.ramp"
options = { rate_hz = 1000.0, batch_size = 50 }

[instruments.noise]
driver = "sim.noise"
options = { rate_hz = 1000.0, batch_size = 25, channels = 2, seed = 42, unit = "mW" }

[instruments.sine]
driver = "sim.sine"
options = { rate_hz = 1000.0, batch_size = 20, channels = 3, frequency_hz = 7.0, amplitude = 2.5, offset = 0.5 }

[instruments.burst]
driver = "sim.ramp"
options = { rate_hz = 200000.0, batch_size = 2000 }
"""
BATCH = {"ramp": 50, "noise": 25, "sine": 20, "burst": 2000}
RATE = {"ramp": 1000.0, "noise": 1000.0, "sine": 1000.0, "burst": 200000.0}


def values(stream, n, c):
    if stream in ("ramp", "burst"):
        return lib.ramp(n, c)
    if stream == "noise":
        return lib.noise(n, c, channels=2, seed=42)
    if stream == "sine":
        return lib.sine(n, c, channels=3, rate_hz=1000.0, frequency_hz=7.0, amplitude=2.5, offset=0.5)
    raise KeyError(stream)


def start(tmp_path, *extra, config=CONFIG, server_table=""):
    """`arrowdaq serve` on `config` (plus a [server] table) on a free loopback port."""
    if server_table:
        config += "\n[server]\n" + server_table + "\n"
    cfg = lib.write_config(tmp_path, config, name="serve.toml")
    return arrowdaq.start_server(cfg, binary=ARROWDAQ, output=tmp_path / "runs", extra=extra)


@pytest.fixture
def server(tmp_path):
    s = start(tmp_path)
    yield s
    assert s.stop() == 0, s.log


@pytest.fixture
def daq(server):
    with arrowdaq.Client(server.uri) as c:
        yield c


def wait_for(predicate, what, timeout=60):
    """Poll a server-side condition (synchronisation on state, not a sleep for ordering)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = predicate()
        if v:
            return v
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def check_batch(stream, seq, batch):
    """Every value of the packet with sequence `seq` equals the formula at its sample index."""
    rows = BATCH[stream]
    assert batch.num_rows == rows
    n = np.arange(seq * rows, (seq + 1) * rows)
    for c in range(batch.num_columns - 1):
        np.testing.assert_allclose(batch.column(c + 1).to_numpy(), values(stream, n, c),
                                   rtol=1e-12, atol=1e-12, err_msg=f"{stream} ch{c} at {seq}")


def find_index(stream, first_value, upto):
    """The sample index whose channel-0 value is `first_value` (noise values are unique)."""
    n = np.arange(upto)
    hits = np.nonzero(values(stream, n, 0) == first_value)[0]
    assert len(hits) == 1, f"{stream}: {first_value} found at {hits}"
    return int(hits[0])


def check_table_is_contiguous(stream, table, upto):
    """`table` holds consecutive samples of `stream`: values and timestamps from the formulas."""
    ch0 = table.column("ch0").to_numpy()
    n0 = int(ch0[0]) if stream in ("ramp", "burst") else find_index(stream, ch0[0], upto)
    n = np.arange(n0, n0 + table.num_rows)
    for c, name in enumerate(table.column_names[1:]):
        np.testing.assert_allclose(table.column(name).to_numpy(), values(stream, n, c), rtol=1e-12, atol=1e-12)
    ts = table.column("timestamp").cast(pa.int64()).to_numpy()
    off = lib.sample_offsets_ns(n, RATE[stream])
    np.testing.assert_array_equal(ts - ts[0], off - off[0])
    return n0


# ---------------------------------------------------------------------------------------------
# Connecting


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_no_server_is_a_connection_error_naming_the_uri_within_the_timeout():
    uri = f"grpc://127.0.0.1:{free_port()}"
    t0 = time.monotonic()
    with pytest.raises(ConnectionError) as e:
        arrowdaq.Client(uri, timeout=3)
    assert time.monotonic() - t0 < 30
    assert isinstance(e.value, arrowdaq.ServerUnreachableError)
    assert uri in str(e.value)
    with pytest.raises(arrowdaq.InvalidRequestError, match="not a uri"):
        arrowdaq.Client("not a uri")


def test_token_from_argument_or_environment_and_a_wrong_one_is_refused(tmp_path, monkeypatch):
    token_file = tmp_path / "token"
    token_file.write_text(TOKEN + "\n")
    s = start(tmp_path, "--token-file", str(token_file))
    try:
        monkeypatch.delenv("ARROWDAQ_TOKEN", raising=False)
        with pytest.raises(arrowdaq.AuthenticationError, match=re.escape(s.uri)) as e:
            arrowdaq.Client(s.uri)
        assert isinstance(e.value, PermissionError)
        with pytest.raises(arrowdaq.AuthenticationError, match="refused the token"):
            arrowdaq.Client(s.uri, token="wrong-token-0123456789")
        with pytest.raises(arrowdaq.InvalidRequestError, match="token: expected printable ASCII"):
            arrowdaq.Client(s.uri, token="two\nlines")
        with arrowdaq.Client(s.uri, token=TOKEN) as c:
            assert [i["name"] for i in c.instruments()] == ["ramp", "noise", "sine", "burst"]
        monkeypatch.setenv("ARROWDAQ_TOKEN", TOKEN)
        with arrowdaq.Client(s.uri) as c:
            assert c.status()["server"]["token_required"] is True
            # every call carries the token, streaming ones too
            assert c.subscribe("ramp").read_batch().num_rows == 50
    finally:
        assert s.stop() == 0, s.log


def test_a_closed_client_says_so(daq):
    daq.close()
    with pytest.raises(arrowdaq.ArrowdaqError, match="is closed"):
        daq.status()


# ---------------------------------------------------------------------------------------------
# What is there


def test_instruments_streams_and_status(daq):
    instruments = {i["name"]: i for i in daq.instruments()}
    assert list(instruments) == ["ramp", "noise", "sine", "burst"]
    assert instruments["noise"]["driver"] == "sim.noise"
    streams = {s.name: s for s in daq.streams()}
    assert list(streams) == ["ramp", "noise", "sine", "burst"]
    noise = streams["noise"]
    assert noise.schema.names == ["timestamp", "ch0", "ch1"]
    assert noise.schema.field("timestamp").type == pa.timestamp("ns", tz="UTC")
    assert noise.units == {"timestamp": "", "ch0": "mW", "ch1": "mW"}
    assert noise.channels == ["ch0", "ch1"]
    assert noise.kind == "instrument" and noise.nominal_rate_hz == 1000.0
    assert noise.info["driver"] == "sim.noise"
    assert streams["sine"].units["ch2"] == "V"
    one = daq.stream("sine")
    assert one.schema == streams["sine"].schema
    status = daq.status()
    assert {"server", "instruments", "streams", "recordings", "replay", "memory"} <= set(status)
    with pytest.raises(arrowdaq.UnknownStreamError, match=r"no stream named 'nope'") as e:
        daq.stream("nope")
    assert isinstance(e.value, LookupError) and "ramp" in e.value.server_message


# ---------------------------------------------------------------------------------------------
# Data


@pytest.mark.parametrize("stream", ["ramp", "noise"])
def test_read_gives_exactly_the_newest_seconds_of_consecutive_samples(daq, stream):
    # Right after start the replay ring holds less than 1.5 s: read waits for live samples.
    table = daq.read(stream, seconds=1.5)
    assert isinstance(table, pa.Table)
    assert table.num_rows == 1500
    assert table.schema.field("ch0").metadata[b"unit"] == (b"mW" if stream == "noise" else b"V")
    upto = daq.stream(stream).info["rows"]
    n0 = check_table_is_contiguous(stream, table, upto)
    # A second read ends later and holds exactly its 0.49 s (the window starts inside a packet).
    again = daq.read(stream, seconds=0.49)
    assert again.num_rows == 490
    assert check_table_is_contiguous(stream, again, daq.stream(stream).info["rows"]) >= n0 + 1000


def test_read_without_a_replay_ring_waits_for_live_samples(tmp_path):
    s = start(tmp_path, server_table="replay_seconds = 0")
    try:
        with arrowdaq.Client(s.uri) as c:
            table = c.read("ramp", seconds=0.4)
            assert table.num_rows == 400
            check_table_is_contiguous("ramp", table, None)
    finally:
        assert s.stop() == 0, s.log


def test_read_errors(daq):
    with pytest.raises(arrowdaq.UnknownStreamError, match="nope"):
        daq.read("nope")
    for bad in (0, -1.0, float("nan"), float("inf")):
        with pytest.raises(ValueError, match="seconds must be a finite number > 0"):
            daq.read("ramp", seconds=bad)
    daq.disconnect_instrument("sine")  # nothing more comes: the read times out, never hangs
    with pytest.raises(arrowdaq.ArrowdaqTimeoutError):
        daq.read("sine", seconds=60.0, timeout=2.0)


def test_subscribe_live_delivers_every_sequence_with_the_formula_values(daq):
    with daq.subscribe("noise") as sub:
        got = []
        for info, batch in sub.with_info():
            got.append((info, batch))
            if len(got) == 30:
                break
    seqs = [i.sequence for i, _ in got]
    assert seqs == list(range(seqs[0], seqs[0] + 30))
    assert all(i.dropped == 0 and i.stream == "noise" for i, _ in got)
    for info, batch in got:
        check_batch("noise", info.sequence, batch)
    assert sub.batches == 30 and sub.rows == 30 * 25 and sub.dropped == 0 and sub.gaps == []
    assert sub.last_sequence == seqs[-1]


def test_subscribe_replay_and_resume_from_a_sequence_without_gap_or_duplicate(daq):
    wait_for(lambda: daq.stream("sine").next_sequence >= 40, "40 packets of sine")
    with daq.subscribe("sine", "replay") as sub:
        first = [(i.sequence, b) for i, b in zip(range(10), [])]  # placeholder for clarity
        first = []
        for info, batch in sub.with_info():
            first.append((info.sequence, batch))
            if len(first) == 10:
                break
    assert first[0][0] == 0, "the ring holds everything of the first seconds"
    last = first[-1][0]
    with daq.subscribe("sine", last + 1) as sub:
        resumed = [next(sub.with_info()) for _ in range(10)]
    seqs = [s for s, _ in first] + [i.sequence for i, _ in resumed]
    assert seqs == list(range(0, 20))
    for s, b in first:
        check_batch("sine", s, b)
    for i, b in resumed:
        check_batch("sine", i.sequence, b)
    # A sequence the ring no longer holds (or not yet published) is a clear error.
    with pytest.raises(arrowdaq.InvalidRequestError, match=r"sequence 999999999 .*not|has not"):
        daq.subscribe("sine", 999999999).read_batch()
    with pytest.raises(ValueError, match="start must be"):
        daq.subscribe("sine", "yesterday")
    # A streamed call's refusal is the server's message alone, without gRPC's context.
    with pytest.raises(arrowdaq.InvalidRequestError) as e:
        daq.subscribe("sine", queue=0).read_batch()
    assert str(e.value) == "subscribe 'sine': ticket: field 'queue': must be 1..4096, got 0"
    with pytest.raises(arrowdaq.UnknownStreamError, match="nope"):
        daq.subscribe("nope").read_batch()


def _slow_client(daq):
    for client in daq.status()["server"]["clients"]:
        if client["open"] and client["streams"].get("burst", {}).get("dropped", 0) > 0:
            return client
    return None


@pytest.mark.parametrize("on_gap", ["warn", "raise"])
def test_a_slow_subscriber_is_told_exactly_how_many_packets_it_lost(daq, on_gap):
    """A consumer that blocks (reads one batch, then stops until the server has dropped packets
    for it) on a 100 packets/s stream: the subscription's gaps and drop count equal the sequence
    numbers it never saw, and the server's own counters agree."""
    sub = daq.subscribe("burst", queue=4, on_gap=on_gap)
    gap_errors = []

    def read_one():
        try:
            return next(sub.with_info())
        except arrowdaq.GapError as e:
            gap_errors.append(e)
            return e.info, e.batch   # the batch that revealed the gap comes with the error

    def consume():
        first, _ = read_one()
        wait_for(lambda: _slow_client(daq), "the server to drop packets for the slow client", timeout=120)
        daq.disconnect_instrument("burst")  # the stream stops: the counts settle
        last = daq.stream("burst").next_sequence - 1
        seen = [first.sequence]
        while seen[-1] < last:
            info, batch = read_one()
            seen.append(info.sequence)
            check_batch("burst", info.sequence, batch)
        return first, seen, last

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        first, seen, last = consume()
    stats = _slow_client(daq)["streams"]["burst"]   # while it is open (then it is listed as ended)
    sub.close()
    assert sub.dropped > 0 and sub.gaps
    # Every sequence number from the first one this subscription could have had to the last
    # is either delivered or inside exactly one reported gap.
    lost = [q for a, b in sub.gaps for q in range(a, b)]
    start = sub.gaps[0][0] if first.dropped else first.sequence
    assert sorted(seen + lost) == list(range(start, last + 1))
    assert sub.dropped == len(lost) == sum(b - a for a, b in sub.gaps)
    assert stats["dropped"] == sub.dropped and stats["delivered"] == len(seen)
    if on_gap == "warn":
        gap_warnings = [w for w in caught if issubclass(w.category, arrowdaq.GapWarning)]
        assert len(gap_warnings) == len(sub.gaps)
        assert "packet(s) lost before sequence" in str(gap_warnings[-1].message)
        assert not gap_errors
    else:
        assert len(gap_errors) == len(sub.gaps)
        assert sum(e.missing for e in gap_errors) == sub.dropped
        assert gap_errors[-1].dropped == sub.dropped and gap_errors[0].stream == "burst"


# ---------------------------------------------------------------------------------------------
# Control


def test_send_returns_the_reply_and_errors_name_the_instrument(daq):
    assert re.fullmatch(r"arrowdaq,SIM-SINE,0,\S+", daq.send("sine", "*IDN?"))
    with pytest.raises(arrowdaq.UnknownInstrumentError, match=r"send 'dmm' '\*IDN\?': .*no instrument named 'dmm'"):
        daq.send("dmm", "*IDN?")
    with pytest.raises(arrowdaq.InstrumentError, match=r"send 'sine' 'FOO\?': .*-113,\"Undefined header\"") as e:
        daq.send("sine", "FOO?")
    assert e.value.instrument == "sine" and "Undefined header" in e.value.server_message
    with pytest.raises(arrowdaq.InstrumentError, match="control"):
        daq.send("sine", "*IDN?\n*RST")


def test_instruments_added_removed_connected_and_events(daq):
    with pytest.raises(arrowdaq.InvalidRequestError, match=r"instruments\.pd2\.drivr: unknown key"):
        daq.add_instrument("pd2", toml='drivr = "sim.sine"\n')
    added = daq.add_instrument("pd2", {"driver": "sim.ramp", "options": {"rate_hz": 1000.0, "batch_size": 10}})
    assert added["state"] == "acquiring"
    with pytest.raises(arrowdaq.AlreadyExistsError):
        daq.add_instrument("pd2", {"driver": "sim.ramp"})
    assert "pd2" in [s.name for s in daq.streams()]
    batch = daq.subscribe("pd2").read_batch()
    assert batch.column("ch0").to_pylist() == [float(x) for x in range(int(batch.column("ch0")[0].as_py()), int(batch.column("ch0")[0].as_py()) + 10)]
    assert daq.disconnect_instrument("pd2")["acquiring"] is False
    assert daq.connect_instrument("pd2")["acquiring"] is True
    daq.remove_instrument("pd2")
    assert "pd2" not in [s.name for s in daq.streams()]
    with pytest.raises(arrowdaq.UnknownInstrumentError):
        daq.remove_instrument("pd2")
    # The engine coalesces events of one kind on one stream within a second: the removal comes
    # once that window ends (docs/server.md).
    messages = lambda: [e["message"] for e in daq.events(limit=50)]
    assert "instrument added (sim.ramp)" in messages()
    wait_for(lambda: any(m.endswith("instrument removed") for m in messages()), "the removal event")


def test_a_recording_writes_the_run_and_stopping_twice_is_an_error(daq, server, tmp_path):
    with pytest.raises(arrowdaq.InvalidRequestError, match=r"start_recording: field 'name'"):
        daq.record("../escape")
    with pytest.raises(arrowdaq.UnknownStreamError, match="nope"):
        daq.record("x", streams=["nope"])
    before = daq.stream("ramp").next_sequence
    with daq.record("scan1", streams=["ramp"], formats=["hdf5", "arrow"]) as rec:
        after = daq.stream("ramp").next_sequence
        assert rec.state == "recording" and rec.streams == ["ramp"] and rec.formats == ["hdf5", "arrow"]
        assert rec.directory.parent == (tmp_path / "runs").resolve() and rec.directory.is_dir()
        assert rec.directory.name.startswith("scan1-")
        assert [r["id"] for r in daq.status()["recordings"]] == [rec.id]
        with pytest.raises(arrowdaq.RecordingStateError, match="still running"):
            rec.summary()
        wait_for(lambda: rec.refresh().rows.get("ramp", 0) >= 300, "300 recorded rows")
    assert rec.state == "stopped"
    assert rec.refresh().state == "stopped", "leaving the with block stopped it on the server"
    summary = rec.summary()
    assert summary["run_id"] == rec.run_id == rec.id
    (ramp,) = [s for s in summary["streams"] if s["name"] == "ramp"]
    assert before <= ramp["first_sequence"] <= after and ramp["drops"] == 0
    # The files hold exactly the rows the stop reported: consecutive ramp samples, h5py and
    # pyarrow reading the files directly agree with open_run.
    run = rec.open()
    assert run.format == "hdf5" and run.streams == ["ramp"]
    table = run.table("ramp")
    assert table.num_rows == rec.rows["ramp"] == ramp["rows"]
    first = ramp["first_sequence"] * 50
    np.testing.assert_array_equal(table.column("ch0").to_numpy(), np.arange(first, first + table.num_rows))
    for fmt in ("hdf5", "arrow"):
        ts, (v,) = lib.read_stream(rec.directory, fmt, "ramp", 1)
        np.testing.assert_array_equal(v, table.column("ch0").to_numpy())
        np.testing.assert_array_equal(ts, table.column("timestamp").cast(pa.int64()).to_numpy())
    with pytest.raises(arrowdaq.RecordingStateError, match="already stopped"):
        rec.stop()
    timed = daq.record("timed", streams=["noise"], duration=0.5)
    assert timed.wait(timeout=60).state == "stopped"
    with timed:  # leaving a recording that ended by itself is fine
        pass
    rows = timed.open().table("noise").num_rows
    (noise,) = [s for s in timed.summary()["streams"] if s["name"] == "noise"]
    assert rows == noise["rows"] and 250 <= rows <= 5000
    with pytest.raises(arrowdaq.UnknownRecordingError, match="rec-99"):
        arrowdaq.Recording(daq, {"id": "rec-99", "directory": "/nowhere"}).stop()


def test_start_server_reports_a_bad_config_with_the_server_message(tmp_path):
    with pytest.raises(arrowdaq.ArrowdaqError, match=r"exited with status 2(.|\n)*drivr"):
        start(tmp_path, config='[instruments.a]\ndrivr = "sim.sine"\n')

"""The Flight server from outside, with pyarrow.flight as the independent client.

The server is a real `arrowdaq serve` process (the engine of a config behind the Flight
server); it prints "listening on <uri>" when ready and exits 0 on SIGTERM.

Every value a client receives is checked against the simulators' formulas
(docs/instruments.md, recomputed by arrowdaq_testlib), and sequence numbers prove what was
delivered and what was lost.
"""
import json
import os
import queue
import random
import re
import signal
import socket
import subprocess
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.flight as fl
import pytest

import arrowdaq_testlib as lib

ARROWDAQ = os.environ.get("ARROWDAQ_ARROWDAQ_BIN", "arrowdaq")
TOKEN = "flight-test-token-0123456789"

CONFIG = """
[instruments.ramp]
driver = "sim.ramp"
options = { rate_hz = 2000.0, batch_size = 50 }

[instruments.sine]
driver = "sim.sine"
options = { rate_hz = 1000.0, batch_size = 20, channels = 3, frequency_hz = 7.0, amplitude = 2.5, offset = 0.5, unit = "mW" }

[instruments.noise]
driver = "sim.noise"
options = { rate_hz = 1000.0, batch_size = 25, channels = 2, seed = 42 }

[instruments.burst]
driver = "sim.ramp"
options = { rate_hz = 200000.0, batch_size = 2000 }
"""
RATES = {"ramp": 2000.0, "sine": 1000.0, "noise": 1000.0, "burst": 200000.0}
BATCH = {"ramp": 50, "sine": 20, "noise": 25, "burst": 2000}


def server_command(config: Path, *extra: str) -> list:
    """The command that starts a server on `config`."""
    return [ARROWDAQ, "serve", str(config), *extra]


# Server settings the command line does not take: they go into the config's [server] table.
SERVER_TABLE_FLAGS = {"--replay-seconds": "replay_seconds", "--replay-bytes": "replay_bytes",
                      "--client-queue": "client_queue", "--client-queue-bytes": "client_queue_bytes"}


def split_server_table(extra):
    """Return (command-line flags, [server] table lines) from fixture-style flags."""
    flags, table = [], []
    it = iter(extra)
    for arg in it:
        if arg in SERVER_TABLE_FLAGS:
            table.append(f"{SERVER_TABLE_FLAGS[arg]} = {next(it)}")
        else:
            flags.append(arg)
    return flags, table


class Server:
    """A running server process and its URI."""

    def __init__(self, tmp_path: Path, *extra: str, config: str = CONFIG, env=None):
        extra, table = split_server_table(extra)
        if table:
            config = config + "\n[server]\n" + "\n".join(table) + "\n"
        cfg = lib.write_config(tmp_path, config, name="serve.toml")
        self.output = tmp_path / "runs"
        if "--listen" not in extra:  # any free port: tests run side by side
            extra = ("--listen", "grpc://127.0.0.1:0", *extra)
        self.proc = subprocess.Popen(
            server_command(cfg, "--output", str(self.output), *extra),
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            env=None if env is None else {**os.environ, **env})
        lines = queue.Queue()
        threading.Thread(target=lambda: [lines.put(l) for l in self.proc.stdout], daemon=True).start()
        deadline = time.monotonic() + 60
        line = None
        while line is None and time.monotonic() < deadline:
            try:
                line = lines.get(timeout=0.1)
            except queue.Empty:
                if self.proc.poll() is not None and lines.empty():
                    raise AssertionError(f"server exited {self.proc.returncode}: {self.proc.stderr.read()}")
        if line is None:
            self.proc.kill()
            raise AssertionError(f"server printed nothing in 60 s: {self.proc.stderr.read()}")
        m = re.match(r"listening on (\S+)", line)
        assert m, f"unexpected first line {line!r}"
        self.uri = m.group(1)

    def client(self, token=None, **kw):
        return Client(self.uri, token, **kw)

    def rss_bytes(self) -> int:
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
        raise AssertionError("no VmRSS")

    def stop(self):
        """SIGTERM; the server must exit 0 within 60 s."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            raise AssertionError("server did not stop within 60 s of SIGTERM")
        assert rc == 0, f"server exited {rc}: {self.proc.stderr.read()}"


class Client:
    """pyarrow.flight with the token header on every call and JSON actions."""

    def __init__(self, uri, token=None, **kw):
        self.flight = fl.FlightClient(uri, **kw)
        headers = [(b"authorization", f"Bearer {token}".encode())] if token else []
        self.options = fl.FlightCallOptions(headers=headers)

    def action(self, name, body=None):
        raw = body if isinstance(body, (bytes, bytearray)) else json.dumps(body or {}).encode()
        results = list(self.flight.do_action(fl.Action(name, raw), options=self.options))
        assert len(results) == 1
        return json.loads(results[0].body.to_pybytes())

    def status(self):
        return self.action("status")

    def stream_status(self, name):
        return next(s for s in self.status()["streams"] if s["name"] == name)

    def do_get(self, ticket):
        raw = ticket if isinstance(ticket, (bytes, bytearray)) else json.dumps(ticket).encode()
        return self.flight.do_get(fl.Ticket(raw), options=self.options)

    def close(self):
        self.flight.close()


@pytest.fixture
def server(tmp_path):
    s = Server(tmp_path)
    yield s
    s.stop()


def read_chunks(reader, count=None, until_sequence=None, timeout=120):
    """Read chunks as (metadata dict, RecordBatch) until `count` chunks or a chunk with
    sequence `until_sequence`; a generous deadline guards against a hang."""
    out = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        chunk = reader.read_chunk()
        meta = json.loads(chunk.app_metadata.to_pybytes())
        out.append((meta, chunk.data))
        if count is not None and len(out) >= count:
            return out
        if until_sequence is not None and meta["sequence"] >= until_sequence:
            return out
    raise AssertionError(f"read only {len(out)} chunks in {timeout} s")


def wait_for(predicate, what, timeout=60):
    """Poll a server-side condition (synchronisation on state, not a sleep for ordering)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def expected_values(stream, n, c):
    if stream in ("ramp", "burst"):
        return lib.ramp(n, c)
    if stream == "sine":
        return lib.sine(n, c, channels=3, rate_hz=1000.0, frequency_hz=7.0, amplitude=2.5, offset=0.5)
    if stream == "noise":
        return lib.noise(n, c, channels=2, seed=42)
    raise KeyError(stream)


def check_values(stream, chunks):
    """Every value equals the formula at its sample index, and timestamps follow the sample
    clock t[n] = t0 + floor(n*1e9/rate) of one acquisition segment."""
    t0 = None
    for meta, batch in chunks:
        assert meta["stream"] == stream
        seq = meta["sequence"]
        rows = batch.num_rows
        assert rows == BATCH[stream]
        n = np.arange(seq * rows, (seq + 1) * rows)
        for c in range(batch.num_columns - 1):
            got = batch.column(c + 1).to_numpy()
            np.testing.assert_allclose(got, expected_values(stream, n, c), rtol=1e-12, atol=1e-12,
                                       err_msg=f"{stream} ch{c} sequence {seq}")
        ts = batch.column(0).cast(pa.int64()).to_numpy()
        offsets = lib.sample_offsets_ns(n, RATES[stream])
        if t0 is None:
            t0 = int(ts[0] - offsets[0])
        np.testing.assert_array_equal(ts, t0 + offsets, err_msg=f"{stream} timestamps at {seq}")


def sequences(chunks):
    return [m["sequence"] for m, _ in chunks]


# ---------------------------------------------------------------------------------------------
# Flights, schemas, live data


def test_the_ten_lines_in_docs_server_md_run(tmp_path):
    doc = (Path(os.environ.get("ARROWDAQ_SOURCE_DIR", Path(__file__).parents[2])) / "docs" / "server.md").read_text()
    snippet = re.search(r"## Ten lines of Python\n\n```python\n(.*?)```", doc, re.S).group(1)
    assert len(snippet.strip().splitlines()) <= 14
    # Against the demo config, as docs/server.md says: `arrowdaq serve examples/demo.toml`.
    demo = (Path(os.environ.get("ARROWDAQ_SOURCE_DIR", Path(__file__).parents[2])) / "examples" / "demo.toml").read_text()
    s = Server(tmp_path, config=demo)
    try:
        # Let a second of samples into the replay ring, so the replay start has data.
        wait_for(lambda: s.client().stream_status("photodiode")["rows"] >= 10000, "1 s of samples")
        script = snippet.replace("grpc://127.0.0.1:8815", s.uri) + "\nprint(json.dumps(status['streams'][0]['name']))\n"
        run = subprocess.run([os.sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
        assert run.returncode == 0, run.stderr
        lines = run.stdout.splitlines()
        # The demo's five streams, each with its columns; then ten batches of the photodiode.
        assert lines[:5] == ["photodiode ['timestamp', 'ch0']", "daq1 " + str(["timestamp"] + [f"ch{i}" for i in range(4)]),
                             "stage ['timestamp', 'ch0']", "daq1.lowpass " + str(["timestamp"] + [f"ch{i}" for i in range(4)]),
                             "daq1.slow " + str(["timestamp"] + [f"ch{i}" for i in range(4)])], lines[:5]
        lines = lines[4:]
        seqs = [int(l.split()[0]) for l in lines[1:11]]
        assert seqs == list(range(seqs[0], seqs[0] + 10))
        assert all(l.split()[1:] == ["0", "500"] for l in lines[1:11])  # demo: batch_size = 500
        assert lines[11] == '"photodiode"'
    finally:
        s.stop()


def test_one_flight_per_stream_with_schema_units_and_provenance(server):
    c = server.client()
    flights = {f.descriptor.path[0].decode(): f for f in c.flight.list_flights(options=c.options)}
    assert sorted(flights) == ["burst", "noise", "ramp", "sine"]
    sine = flights["sine"]
    assert sine.schema.names == ["timestamp", "ch0", "ch1", "ch2"]
    assert sine.schema.field("timestamp").type == pa.timestamp("ns", tz="UTC")
    assert sine.schema.field("ch1").type == pa.float64()
    assert sine.schema.field("ch1").metadata[b"unit"] == b"mW"
    assert sine.schema.metadata[b"driver"] == b"sim.sine"
    assert sine.schema.metadata[b"resource"] == b"SIM::sine"
    assert float(sine.schema.metadata[b"rate_hz"]) == 1000.0
    described = json.loads(sine.app_metadata)
    assert described["driver"] == "sim.sine" and described["state"] == "acquiring"
    assert described["nominal_rate_hz"] == 1000.0
    assert [f["unit"] for f in described["fields"][1:]] == ["mW"] * 3
    # GetFlightInfo and GetSchema agree with the listing.
    info = c.flight.get_flight_info(fl.FlightDescriptor.for_path("sine"), options=c.options)
    assert info.schema.equals(sine.schema, check_metadata=True)
    schema = c.flight.get_schema(fl.FlightDescriptor.for_path("sine"), options=c.options).schema
    assert schema.equals(sine.schema, check_metadata=True)
    # The listed ticket works as is.
    reader = c.flight.do_get(sine.endpoints[0].ticket, options=c.options)
    check_values("sine", read_chunks(reader, count=3))
    reader.cancel()


@pytest.mark.parametrize("stream", ["ramp", "sine", "noise"])
def test_live_doget_has_every_sequence_and_the_formula_values(server, stream):
    c = server.client()
    reader = c.do_get({"stream": stream})
    assert reader.schema.names[0] == "timestamp"
    chunks = read_chunks(reader, count=150)  # a few seconds of packets
    reader.cancel()
    seqs = sequences(chunks)
    assert seqs == list(range(seqs[0], seqs[0] + len(seqs))), "a gap or a duplicate"
    assert all(m["dropped"] == 0 for m, _ in chunks)
    check_values(stream, chunks)


def test_replay_returns_the_documented_window(tmp_path):
    s = Server(tmp_path, "--replay-seconds", "2")
    try:
        c = s.client()
        # Let the ring fill past its bound, then stop the source so the window is fixed.
        wait_for(lambda: (lambda st: st["last_timestamp_ns"] - st["first_timestamp_ns"] > 3e9)(
            c.stream_status("ramp")), "3 s of ramp samples")
        c.action("disconnect_instrument", {"instrument": "ramp"})
        last = c.stream_status("ramp")["next_sequence"] - 1
        rate, batch = RATES["ramp"], BATCH["ramp"]

        def last_ts_offset(k):  # last sample of packet k, relative to the stream's t0
            return int(lib.sample_offsets_ns([(k + 1) * batch - 1], rate)[0])

        def window(seconds):  # the packets with a sample in the last `seconds` (docs/server.md)
            newest = last_ts_offset(last)
            return [k for k in range(last + 1) if last_ts_offset(k) > newest - seconds * 1e9]

        for ticket, expected in [({"stream": "ramp", "start": "replay"}, window(2.0)),
                                 ({"stream": "ramp", "start": "replay", "seconds": 0.5}, window(0.5))]:
            chunks = read_chunks(c.do_get(ticket), until_sequence=last)
            assert sequences(chunks) == expected, ticket
            check_values("ramp", chunks)
        assert len(window(0.5)) == 20 and len(window(2.0)) == 80  # 25 ms per packet
    finally:
        s.stop()


def test_since_resumes_without_gap_or_duplicate(tmp_path):
    s = Server(tmp_path, "--replay-seconds", "1")  # the ring holds 40 ramp packets
    try:
        c = s.client()
        first = c.do_get({"stream": "ramp"})
        seen = read_chunks(first, count=30)
        first.cancel()
        resume_at = sequences(seen)[-1] + 1
        second = c.do_get({"stream": "ramp", "start": "since", "sequence": resume_at})
        more = read_chunks(second, count=30)
        second.cancel()
        both = sequences(seen) + sequences(more)
        assert both == list(range(both[0], both[0] + len(both))), "a gap or a duplicate at the join"
        check_values("ramp", seen + more)
        # A sequence the ring no longer holds, or one not yet published: a clear refusal.
        wait_for(lambda: c.stream_status("ramp")["next_sequence"] > 100, "the ring to move on")
        with pytest.raises(pa.ArrowInvalid, match=r"sequence 0 is no longer in the replay ring"):
            c.do_get({"stream": "ramp", "start": "since", "sequence": 0}).read_chunk()
        with pytest.raises(pa.ArrowInvalid, match=r"is not published yet"):
            c.do_get({"stream": "ramp", "start": "since", "sequence": 10**12}).read_chunk()
    finally:
        s.stop()


# ---------------------------------------------------------------------------------------------
# A slow client


def test_a_slow_client_loses_only_its_own_packets_and_is_told_exactly(server):
    """Two clients on a 3.2 MB/s stream: one reads everything, the other reads one batch and
    stops (a consumer that blocks). The fast one loses nothing; the slow one's reported drops
    equal the sequence numbers it never saw, and the server's counters agree."""
    c = server.client()
    fast = c.do_get({"stream": "burst", "queue": 4096})
    slow = c.do_get({"stream": "burst", "queue": 4})
    fast_chunks, errors = [], []
    stop_fast = threading.Event()

    def read_fast():
        try:
            while not stop_fast.is_set():
                chunk = fast.read_chunk()
                fast_chunks.append(json.loads(chunk.app_metadata.to_pybytes()))
        except Exception as e:  # cancelled at the end
            if not stop_fast.is_set():
                errors.append(e)

    reader = threading.Thread(target=read_fast)
    reader.start()
    slow_first = read_chunks(slow, count=1)

    def slow_client_stats():
        for client in c.status()["server"]["clients"]:
            if client["open"] and client["start"] == "live" and \
                    client["streams"].get("burst", {}).get("dropped", 0) > 0:
                return client
        return None

    # The slow client's queue overflows once gRPC's and the kernel's buffers are full.
    wait_for(slow_client_stats, "the slow client to drop packets", timeout=120)
    c.action("disconnect_instrument", {"instrument": "burst"})  # the stream ends: counts settle
    last = c.stream_status("burst")["next_sequence"] - 1
    wait_for(lambda: fast_chunks and fast_chunks[-1]["sequence"] >= last, "fast client to finish",
             timeout=120)
    stop_fast.set()
    fast.cancel()
    reader.join()
    assert not errors, errors

    fast_seqs = [m["sequence"] for m in fast_chunks]
    assert fast_seqs == list(range(fast_seqs[0], last + 1)), "the fast client lost packets"
    assert all(m["dropped"] == 0 for m in fast_chunks)

    rest = read_chunks(slow, until_sequence=last)
    slow_meta = [m for m, _ in slow_first + rest]
    seqs = [m["sequence"] for m in slow_meta]
    assert seqs == sorted(set(seqs))
    never_seen = (seqs[-1] - seqs[0] + 1) - len(seqs)
    assert never_seen > 0
    assert slow_meta[-1]["dropped"] == never_seen
    # At each batch, "dropped" counts exactly the packets missed before it.
    for (prev, cur) in zip(slow_meta, slow_meta[1:]):
        assert cur["dropped"] - prev["dropped"] == cur["sequence"] - prev["sequence"] - 1
    stats = slow_client_stats()
    assert stats["streams"]["burst"]["dropped"] == never_seen
    assert stats["streams"]["burst"]["delivered"] == len(seqs)
    slow.cancel()
    check_values("burst", rest[-3:])


# ---------------------------------------------------------------------------------------------
# Control


def test_send_command_reaches_the_instrument_and_errors_are_clear(server):
    c = server.client()
    reply = c.action("send_command", {"instrument": "sine", "command": "*IDN?"})
    assert re.fullmatch(r"arrowdaq,SIM-SINE,0,\S+", reply["reply"]), reply
    with pytest.raises(pa.ArrowKeyError, match=r"no instrument named 'dmm'"):
        c.action("send_command", {"instrument": "dmm", "command": "*IDN?"})
    with pytest.raises(pa.ArrowInvalid, match=r"instrument 'sine': .*-113,\"Undefined header\": 'FOO\?'"):
        c.action("send_command", {"instrument": "sine", "command": "FOO?"})


def test_recordings_start_and_stop_inside_the_output_directory(server):
    c = server.client()
    with pytest.raises(pa.ArrowInvalid, match=r"start_recording: field 'name'"):
        c.action("start_recording", {"name": "../../escape"})
    with pytest.raises(pa.ArrowInvalid, match=r"start_recording: field 'name'"):
        c.action("start_recording", {"name": "a/b"})
    rec = c.action("start_recording", {"name": "scan1", "streams": ["ramp"]})
    directory = Path(rec["directory"])
    assert directory.parent == server.output.resolve() and directory.is_dir()
    assert directory.name.startswith("scan1-")
    assert rec["state"] == "recording" and rec["streams"] == ["ramp"]
    assert [r["id"] for r in c.status()["recordings"]] == [rec["id"]]
    stopped = c.action("stop_recording", {"id": rec["id"]})
    assert stopped["state"] == "stopped" and stopped["stopped_ns"] >= stopped["started_ns"]
    with pytest.raises(pa.ArrowInvalid, match=r"is already stopped"):
        c.action("stop_recording", {"id": rec["id"]})
    with pytest.raises(pa.ArrowKeyError, match=r"no recording with id 'rec-99'"):
        c.action("stop_recording", {"id": "rec-99"})
    assert sorted(p.name for p in server.output.iterdir()) == [directory.name]


def test_instruments_added_and_removed_at_run_time(server):
    c = server.client()
    with pytest.raises(pa.ArrowInvalid, match=r"instruments\.pd2\.options.*rate_hz"):
        c.action("add_instrument", {"name": "pd2", "table": {
            "driver": "sim.sine", "options": {"rate_hz": -3.0}}})
    with pytest.raises(pa.ArrowInvalid, match=r"instruments\.pd2\.drivr: unknown key"):
        c.action("add_instrument", {"name": "pd2", "toml": 'drivr = "sim.sine"\n'})
    added = c.action("add_instrument", {"name": "pd2", "table": {
        "driver": "sim.ramp", "options": {"rate_hz": 1000.0, "batch_size": 10}}})
    assert added["state"] == "acquiring" and added["driver"] == "sim.ramp"
    names = [f.descriptor.path[0].decode() for f in c.flight.list_flights(options=c.options)]
    assert "pd2" in names
    chunks = read_chunks(c.do_get({"stream": "pd2"}), count=3)
    assert all(b.column(1).to_pylist() == list(map(float, range(m["sequence"] * 10, m["sequence"] * 10 + 10)))
               for m, b in chunks)
    c.action("remove_instrument", {"instrument": "pd2"})
    names = [f.descriptor.path[0].decode() for f in c.flight.list_flights(options=c.options)]
    assert "pd2" not in names
    # The engine's event log coalesces events of one kind on one stream within a second: the
    # removal arrives once that window ends, quoted in the summary event ("...; last: ...").
    messages = lambda: [e["message"] for e in c.action("events", {"limit": 10})["events"]]
    assert "instrument added (sim.ramp)" in messages()
    wait_for(lambda: any(m.endswith("instrument removed") for m in messages()), "the removal event")


# ---------------------------------------------------------------------------------------------
# Hostile and clumsy clients


def test_bad_requests_are_refused_and_the_server_keeps_serving(server):
    c = server.client()
    with pytest.raises(pa.ArrowInvalid, match=r"ticket: "):
        c.do_get(b"\x00\xff garbage").read_chunk()
    with pytest.raises(pa.ArrowInvalid, match=r"ticket: field 'start'"):
        c.do_get({"stream": "ramp", "start": "yesterday"}).read_chunk()
    with pytest.raises(pa.ArrowKeyError, match=r"no stream named 'nope'"):
        c.do_get({"stream": "nope"}).read_chunk()
    with pytest.raises(pa.ArrowInvalid, match=r"unknown action 'format_disk'"):
        c.action("format_disk")
    rng = random.Random(1234)
    for action in ["status", "start_recording", "stop_recording", "send_command",
                   "connect_instrument", "disconnect_instrument", "add_instrument",
                   "remove_instrument", "events"]:
        for _ in range(5):
            body = bytes(rng.getrandbits(8) for _ in range(rng.randint(1, 300)))
            with pytest.raises(pa.ArrowInvalid, match=re.escape(action) + "|unknown"):
                c.action(action, body)
    assert c.action("events", {"limit": 1}) is not None
    assert [f.descriptor.path[0] for f in c.flight.list_flights(options=c.options)]


def test_dead_peers_garbage_connections_and_stalled_clients_at_shutdown(tmp_path):
    s = Server(tmp_path)
    c = s.client()
    # A client process killed mid-stream: the server notices and ends its stream.
    victim = subprocess.Popen([os.sys.executable, "-c", f"""
import pyarrow.flight as fl
r = fl.FlightClient({s.uri!r}).do_get(fl.Ticket(b"ramp"))
r.read_chunk()
print("reading", flush=True)
while True:
    r.read_chunk()
"""], stdout=subprocess.PIPE, text=True)
    assert victim.stdout.readline().strip() == "reading"
    wait_for(lambda: any(cl["open"] for cl in c.status()["server"]["clients"]), "its stream")
    victim.kill()
    victim.wait()
    wait_for(lambda: not any(cl["open"] for cl in c.status()["server"]["clients"]),
             "the server to end the dead client's stream")
    # Bytes that are not HTTP/2 on the port, then a half-open connection left dangling.
    host, port = s.uri.split("://")[1].rsplit(":", 1)
    rng = random.Random(7)
    for _ in range(20):
        with socket.create_connection((host, int(port)), timeout=10) as raw:
            raw.sendall(bytes(rng.getrandbits(8) for _ in range(rng.randint(1, 4096))))
    dangling = socket.create_connection((host, int(port)), timeout=10)
    assert c.status()["server"]["listen"] == s.uri
    # A client that stopped reading must not keep the server from stopping (SIGTERM, exit 0).
    stalled = c.do_get({"stream": "ramp", "queue": 1})
    stalled.read_chunk()
    s.stop()
    dangling.close()


def test_a_thousand_concurrent_status_calls_are_all_answered(tmp_path):
    # Under AddressSanitizer freed memory is held in a quarantine (256 MB by default) before
    # reuse; keep it small here so that resident memory shows what the server really keeps.
    asan = os.environ.get("ASAN_OPTIONS", "")
    # One slow instrument and a ring of 1 s, full after the warm-up: nothing else grows.
    s = Server(tmp_path, "--replay-seconds", "1", config=CONFIG.split("[instruments.sine]")[0],
               env={"ASAN_OPTIONS": asan + (":" if asan else "") + "quarantine_size_mb=8"})
    try:
        clients = [s.client() for _ in range(8)]

        def call(i):
            return clients[i % len(clients)].status()

        rss = []
        with ThreadPoolExecutor(max_workers=32) as pool:
            for _ in range(3):
                answers = list(pool.map(call, range(1000)))
                assert len(answers) == 1000
                assert all(a["server"]["listen"] == s.uri for a in answers)
                rss.append(s.rss_bytes())
        assert clients[0].status()["server"]["calls"] >= 3001
        assert [f.descriptor.path[0] for f in clients[0].flight.list_flights()]
        # After a warm-up thousand, two more must not grow the server (generous bound for
        # allocator caches; a leak of one status answer per call would be ~10 MB per thousand).
        assert rss[2] - rss[0] < 32 << 20, rss
    finally:
        s.stop()


# ---------------------------------------------------------------------------------------------
# Authentication


def all_rpcs(c):
    """Every RPC a client can make, each returning or raising."""
    ticket = fl.Ticket(b'{"stream": "ramp"}')
    desc = fl.FlightDescriptor.for_path("ramp")
    return {
        "list_flights": lambda: list(c.flight.list_flights(options=c.options)),
        "get_flight_info": lambda: c.flight.get_flight_info(desc, options=c.options),
        "get_schema": lambda: c.flight.get_schema(desc, options=c.options),
        "do_get": lambda: c.flight.do_get(ticket, options=c.options).read_chunk(),
        "do_action": lambda: list(c.flight.do_action(fl.Action("status", b""), options=c.options)),
        "list_actions": lambda: c.flight.list_actions(options=c.options),
        "do_put": lambda: c.flight.do_put(desc, pa.schema([("x", pa.int8())]), options=c.options)[0].close(),
    }


def test_with_a_token_every_rpc_needs_it(tmp_path):
    token_file = tmp_path / "token"
    token_file.write_text(TOKEN + "\n")
    s = Server(tmp_path, "--token-file", str(token_file))
    try:
        for name, token in [("none", None), ("wrong", TOKEN[:-1] + "X"), ("short", TOKEN[:-1])]:
            c = s.client(token=token)
            for rpc, call in all_rpcs(c).items():
                # pyarrow raises FlightUnauthenticatedError for unary calls and OSError (with
                # the Flight code as detail) for streamed ones (do_get, do_action, do_put).
                with pytest.raises((fl.FlightUnauthenticatedError, OSError),
                                   match="needs 'authorization: Bearer <token>'.*Unauthenticated"):
                    call()
                    pytest.fail(f"{rpc} with {name} token was served")
            c.close()
        good = s.client(token=TOKEN)
        calls = all_rpcs(good)
        for rpc in ["list_flights", "get_flight_info", "get_schema", "do_get", "do_action",
                    "list_actions"]:
            calls[rpc]()
        with pytest.raises(pa.ArrowNotImplementedError, match="takes no uploads"):
            calls["do_put"]()  # authenticated, then refused
        assert good.status()["server"]["unauthenticated"] == 21
    finally:
        s.stop()


def test_listening_beyond_loopback_needs_a_token(tmp_path):
    cfg = lib.write_config(tmp_path, CONFIG, name="serve.toml")
    refused = subprocess.run(server_command(cfg, "--listen", "grpc://0.0.0.0:0"),
                             capture_output=True, text=True, timeout=60)
    assert refused.returncode == 2, refused
    assert "listening beyond loopback needs a token" in refused.stderr
    token_file = tmp_path / "token"
    token_file.write_text(TOKEN)
    s = Server(tmp_path, "--listen", "grpc://0.0.0.0:0", "--token-file", str(token_file))
    try:
        port = s.uri.rsplit(":", 1)[1]
        c = Client(f"grpc+tcp://127.0.0.1:{port}", token=TOKEN)
        assert c.status()["server"]["token_required"] is True
    finally:
        s.stop()


def test_tls_with_a_certificate(tmp_path):
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    made = subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                           "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
                           "-keyout", str(key), "-out", str(cert)], capture_output=True, text=True)
    assert made.returncode == 0, made.stderr
    s = Server(tmp_path, "--listen", "grpc://127.0.0.1:0", "--tls-cert", str(cert),
               "--tls-key", str(key))
    try:
        assert s.uri.startswith("grpc+tls://")
        c = s.client(tls_root_certs=cert.read_bytes())
        chunks = read_chunks(c.do_get({"stream": "ramp"}), count=3)
        check_values("ramp", chunks)
        plain = Client(s.uri.replace("grpc+tls", "grpc+tcp"))
        with pytest.raises(fl.FlightError):
            plain.action("status")
    finally:
        s.stop()

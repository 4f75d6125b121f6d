"""Multi-node through Apache Kafka, with real processes: librdkafka's mock cluster
(tools/kafka_mock, three brokers) and `arrowdaq run` nodes. Node A (simulated sources, a kafka
sink) -> cluster -> node B (kafka instruments -> run.h5). Oracles: the generator formulas,
h5py, and an independent consumer (confluent-kafka from PyPI, decoding with pyarrow only).

Every wait ends on a count (rows in progress lines, messages consumed), never on a time; the
timeouts are generous bounds for a loaded machine."""
import json
import os
import signal
import subprocess
import threading
import time
from pathlib import Path

import h5py
import numpy as np
import pyarrow as pa
import pytest
from confluent_kafka import Consumer, Producer, TopicPartition

from arrowdaq_testlib import ARROWDAQ, Running, load_summary, only_run_dir, ramp, sine

KAFKA_MOCK = os.environ.get("ARROWDAQ_KAFKA_MOCK_BIN", "kafka_mock")


def fnv1a64(data: bytes) -> str:
    """The schema fingerprint of docs/multi-node.md: FNV-1a 64 of the schema message, hex."""
    h = 0xCBF29CE484222325
    for byte in data:
        h = ((h ^ byte) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return f"{h:016x}"


class Cluster:
    """tools/kafka_mock as a process: bootstrap servers from its first line; commands answered
    one line each."""

    def __init__(self):
        self.proc = subprocess.Popen([KAFKA_MOCK], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     text=True, bufsize=1)
        self.brokers = self.proc.stdout.readline().strip()
        assert self.brokers.count(",") == 2, self.brokers

    def cmd(self, line):
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()
        reply = self.proc.stdout.readline().strip()
        assert reply.startswith("ok"), (line, reply)
        return reply

    def close(self):
        if self.proc.poll() is None:
            self.proc.stdin.close()
            self.proc.wait(timeout=30)


@pytest.fixture
def cluster():
    c = Cluster()
    yield c
    c.close()


def node_a_config(brokers, extra_sink="", ramp_batch=100, duration_line=""):
    return f"""
[run]
name = "a"
progress_interval = "100ms"
{duration_line}
[instruments.ramp]
driver = "sim.ramp"
options = {{ rate_hz = 2000.0, batch_size = {ramp_batch}, unit = "mm" }}
[instruments.sine]
driver = "sim.sine"
options = {{ rate_hz = 1000.0, batch_size = 50, channels = 2, frequency_hz = 7.0, unit = "V" }}
[[sinks]]
kind = "kafka"
brokers = "{brokers}"
node = "nodeA"
producer.linger.ms = 2
{extra_sink}
"""


def node_b_config(brokers, streams=("ramp", "sine"), start="earliest"):
    text = """
[run]
name = "b"
progress_interval = "100ms"
"""
    for s in streams:
        text += f"""
[instruments."a.{s}"]
driver = "kafka"
options = {{ brokers = "{brokers}", topic = "arrowdaq.{s}", node = "nodeA", stream = "{s}", start = "{start}" }}
"""
    return text


_started = []


@pytest.fixture(autouse=True)
def _kill_leftover_nodes():
    """A failed test leaves no arrowdaq process behind."""
    yield
    while _started:
        _started.pop().kill()


def start_node(tmp_path: Path, name, config_text, duration="600s"):
    d = tmp_path / name
    d.mkdir()
    r = Running(d, config_text, duration=duration)
    _started.append(r)
    return r


def stop_node(node, sig=signal.SIGTERM):
    node.proc.send_signal(sig)
    rc, _, err = node.finish(timeout=120)
    assert rc == 0, err[-3000:]
    run_dir = only_run_dir(node.out)
    return run_dir, load_summary(run_dir)


def stream_of(summary, name):
    return next(s for s in summary["streams"] if s["name"] == name)


def sink_topics(summary):
    (sink,) = summary["sinks"]
    return sink, {t["topic"]: t for t in sink["topics"]}


def events_of(summary, *kinds):
    return [e for e in summary["events"] if e["kind"] in kinds]


def check_ramp(ts, values, rows):
    """B's ramp stream holds samples 0..rows-1 of the formula, in order."""
    assert len(values) == rows
    np.testing.assert_array_equal(values, ramp(np.arange(rows)))
    assert np.all(np.diff(ts) == 500_000)  # 2 kHz: 0.5 ms apart, nothing missing or repeated


def read_h5(run_dir, stream, channels):
    with h5py.File(run_dir / "run.h5", "r") as f:
        g = f[stream]
        ts = g["timestamp"][:]
        cols = [g[f"ch{c}"][:] for c in range(channels)]
        units = [g[f"ch{c}"].attrs.get("units") for c in range(channels)]
        attrs = {k: (v.decode() if isinstance(v, bytes) else v) for k, v in g.attrs.items()}
    units = [u.decode() if isinstance(u, bytes) else u for u in units]
    return ts, cols, units, attrs


# --- An independent consumer: confluent-kafka + pyarrow only ------------------------------


def consume_topic(brokers, topic, count, timeout=120.0):
    """Read `count` messages of `topic` from the beginning; return [(headers, batch)] decoded
    with pyarrow alone (docs/multi-node.md, "Reading the topics from Python")."""
    c = Consumer({"bootstrap.servers": brokers, "group.id": f"oracle-{time.monotonic_ns()}",
                  "auto.offset.reset": "earliest", "enable.auto.commit": False,
                  "fetch.wait.max.ms": 10})
    c.subscribe([topic])
    schemas, out = {}, []
    deadline = time.monotonic() + timeout
    try:
        while len(out) < count:
            assert time.monotonic() < deadline, f"{topic}: {len(out)} of {count} messages"
            m = c.poll(0.5)
            if m is None or m.error():
                continue
            h = {k: v.decode() for k, v in m.headers()}
            batch = None
            for msg in pa.ipc.MessageReader.open_stream(pa.BufferReader(m.value())):
                if msg.type == "schema":
                    schemas[h["arrowdaq.schema"]] = pa.ipc.read_schema(msg)
                else:
                    batch = pa.ipc.read_record_batch(msg, schemas[h["arrowdaq.schema"]])
            out.append((h, batch))
    finally:
        c.close()
    return out


# --- Node A -> cluster -> node B ------------------------------------------------------------


@pytest.fixture(scope="module")
def node_a_ran(tmp_path_factory):
    """Node A ran 3 s into a fresh cluster; the cluster stays up for the module's readers."""
    tmp = tmp_path_factory.mktemp("a_ran")
    c = Cluster()
    cfg = tmp / "a.toml"
    cfg.write_text(node_a_config(c.brokers))
    r = subprocess.run([ARROWDAQ, "run", str(cfg), "--duration", "3s", "--output", str(tmp / "out")],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    run_dir = only_run_dir(tmp / "out")
    yield c, run_dir, load_summary(run_dir)
    c.close()


def test_node_a_sink_delivers_every_batch_and_counts_it(node_a_ran):
    _, _, summary = node_a_ran
    assert summary["outcome"] == "ok", summary["degraded_reasons"]
    sink, topics = sink_topics(summary)
    assert sink["policy"] == "block" and sink["dropped"] == 0
    for name in ("ramp", "sine"):
        s = stream_of(summary, name)
        t = topics[f"arrowdaq.{name}"]
        assert s["packets"] > 10 and s["missing_sequences"] == 0
        assert t["produced"] == t["delivered"] == s["packets"], (t, s)
        assert t["failed"] == 0 and t["rows_delivered"] == s["rows"]
    assert topics["arrowdaq.schemas"]["delivered"] == 2
    assert sink["taken"] == sum(stream_of(summary, n)["packets"] for n in ("ramp", "sine"))


def test_node_b_records_every_sequence_number_and_value_with_units_and_provenance(
        node_a_ran, tmp_path):
    c, a_dir, a = node_a_ran
    want = {f"a.{n}": stream_of(a, n)["rows"] for n in ("ramp", "sine")}
    b = start_node(tmp_path, "b", node_b_config(c.brokers))
    b.wait_rows(want, timeout=180)
    b_dir, bs = stop_node(b)
    for n in ("ramp", "sine"):
        s = stream_of(bs, f"a.{n}")
        sa = stream_of(a, n)
        # Every batch, in order: B's sequence numbers 0..N-1 with none missing, N = A's.
        assert (s["first_sequence"], s["last_sequence"], s["missing_sequences"]) == (0, sa["packets"] - 1, 0)
        assert s["rows"] == sa["rows"] and s["driver"] == "kafka"
    assert not events_of(bs, "gap", "duplicate", "bad_message"), bs["events"]

    ts, (v,), units, attrs = read_h5(b_dir, "a.ramp", 1)
    check_ramp(ts, v, stream_of(a, "ramp")["rows"])
    assert units == ["mm"]
    ts_a, _, _, _ = read_h5(a_dir, "ramp", 1)
    np.testing.assert_array_equal(ts, ts_a)  # the original timestamps, not new ones
    assert attrs["origin.node"] == "nodeA" and attrs["origin.stream"] == "ramp"
    assert attrs["origin.driver"] == "sim.ramp" and attrs["origin.rate_hz"] == 2000
    assert attrs["origin.topic"] == "arrowdaq.ramp" and attrs["driver"] == "kafka"

    ts, cols, units, _ = read_h5(b_dir, "a.sine", 2)
    n = np.arange(stream_of(a, "sine")["rows"])
    for ch in range(2):
        np.testing.assert_allclose(cols[ch], sine(n, ch, 2, 1000.0, 7.0), rtol=0, atol=1e-12)
    assert units == ["V", "V"]
    np.testing.assert_array_equal(ts, read_h5(a_dir, "sine", 2)[0])


def test_independent_consumer_reads_the_same_rows_with_pyarrow_alone(node_a_ran):
    c, a_dir, a = node_a_ran
    for name, channels in (("ramp", 1), ("sine", 2)):
        packets = stream_of(a, name)["packets"]
        got = consume_topic(c.brokers, f"arrowdaq.{name}", packets)
        assert [int(h["arrowdaq.seq"]) for h, _ in got] == list(range(packets))
        assert {h["arrowdaq.node"] for h, _ in got} == {"nodeA"}
        assert {h["arrowdaq.stream"] for h, _ in got} == {name}
        assert len({h["arrowdaq.session"] for h, _ in got}) == 1
        table = pa.Table.from_batches([b for _, b in got])
        ts_a, cols_a, _, _ = read_h5(a_dir, name, channels)
        np.testing.assert_array_equal(table.column("timestamp").cast(pa.int64()).to_numpy(), ts_a)
        for ch in range(channels):
            np.testing.assert_array_equal(table.column(f"ch{ch}").to_numpy(), cols_a[ch])
        field = table.schema.field("ch0")
        assert field.metadata[b"unit"] in (b"mm", b"V")
        assert table.schema.metadata[b"driver"] == f"sim.{name}".encode()


# --- Broker failures ------------------------------------------------------------------------


def test_one_broker_down_mid_run_and_back_loses_nothing(cluster, tmp_path):
    """The ramp topic's only partition is led by broker 2; broker 2 goes down while A sends,
    leadership moves to broker 3 (a failover), broker 2 comes back. B reads concurrently."""
    cluster.cmd("topic arrowdaq.ramp 1 3")
    cluster.cmd("leader arrowdaq.ramp 0 2")
    a = start_node(tmp_path, "a", node_a_config(cluster.brokers))
    a.wait_rows({"ramp": 1000})
    b = start_node(tmp_path, "b", node_b_config(cluster.brokers, streams=("ramp",)))
    r0 = a.rows_seen("ramp")
    cluster.cmd("down 2")
    a.wait_rows({"ramp": r0 + 2000}, timeout=180)  # A goes on producing while the leader is down
    cluster.cmd("leader arrowdaq.ramp 0 3")
    a.wait_rows({"ramp": r0 + 4000}, timeout=180)
    cluster.cmd("up 2")
    a.wait_rows({"ramp": r0 + 6000}, timeout=180)
    a_dir, sa = stop_node(a)
    t = sink_topics(sa)[1]["arrowdaq.ramp"]
    ramp_a = stream_of(sa, "ramp")
    assert t["delivered"] == t["produced"] == ramp_a["packets"] and t["failed"] == 0, t

    b.wait_rows({"a.ramp": ramp_a["rows"]}, timeout=180)
    b_dir, sb = stop_node(b)
    assert not events_of(sb, "gap", "bad_message"), sb["events"]
    dups = events_of(sb, "duplicate")  # redeliveries, if any, are dropped and counted
    s = stream_of(sb, "a.ramp")
    assert (s["first_sequence"], s["last_sequence"], s["missing_sequences"]) == (0, ramp_a["packets"] - 1, 0)
    ts, (v,), _, _ = read_h5(b_dir, "a.ramp", 1)
    check_ramp(ts, v, ramp_a["rows"])
    print(f"duplicates dropped by B: {sum(e.get('repeat', 1) for e in dups)}")


def wait_stalled(node, stream, quiet=1.0, timeout=180.0):
    """Wait until `stream`'s published rows stop growing: the progress lines (every 100 ms)
    show one count for `quiet` seconds of arrivals. Return that count. A stream that never
    stalls (back-pressure broken) fails here."""
    deadline = time.monotonic() + timeout
    with node._changed:
        while True:
            lines = [(t, r) for t, s, r in node.progress if s == stream]
            if lines:
                same = [t for t, r in lines if r == lines[-1][1]]
                if lines[-1][0] - same[0] >= quiet:
                    return lines[-1][1]
            left = deadline - time.monotonic()
            assert left > 0, (f"{stream} never stalled", lines[-5:])
            node._changed.wait(left)


def outage_config(brokers, policy, extra=""):
    # A producer queue of 4 messages and a sink queue of 4 packets: an outage fills both fast.
    return node_a_config(brokers, extra_sink=f"""policy = "{policy}"
capacity = 4
streams = ["ramp"]
producer."queue.buffering.max.messages" = 4
{extra}""", ramp_batch=100)


def test_all_brokers_down_blocks_the_instruments_then_flow_resumes(cluster, tmp_path):
    a = start_node(tmp_path, "a", outage_config(cluster.brokers, "block"))
    a.wait_rows({"ramp": 2000})
    for broker in (1, 2, 3):
        cluster.cmd(f"down {broker}")
    r_down = a.rows_seen("ramp")
    # Back-pressure: A stops publishing (without it, it never stalls and this fails) after at
    # most the sink's 4 queued packets, librdkafka's 4 messages and the one in hand (batches of
    # 100); the slack of 20 batches covers a progress line late by up to a second on a
    # loaded machine.
    stalled = wait_stalled(a, "ramp")
    bound = r_down + 100 * (4 + 4 + 1 + 20)
    assert stalled <= bound, (r_down, stalled, bound)
    for broker in (1, 2, 3):
        cluster.cmd(f"up {broker}")
    a.wait_rows({"ramp": bound + 2000}, timeout=180)  # flow resumes
    _, sa = stop_node(a)
    sink, topics = sink_topics(sa)
    ramp_a = stream_of(sa, "ramp")
    t = topics["arrowdaq.ramp"]
    assert sink["dropped"] == 0 and sink["taken"] == ramp_a["packets"] == sink["offered"]
    assert t["produced"] == t["delivered"] == ramp_a["packets"] and t["failed"] == 0, t
    got = consume_topic(cluster.brokers, "arrowdaq.ramp", ramp_a["packets"])
    values = np.concatenate([b.column("ch0").to_numpy() for _, b in got])
    np.testing.assert_array_equal(values, ramp(np.arange(ramp_a["rows"])))


def test_all_brokers_down_with_drop_oldest_counts_every_drop(cluster, tmp_path):
    a = start_node(tmp_path, "a", outage_config(cluster.brokers, "drop_oldest"))
    a.wait_rows({"ramp": 2000})
    for broker in (1, 2, 3):
        cluster.cmd(f"down {broker}")
    r_down = a.rows_seen("ramp")
    a.wait_rows({"ramp": r_down + 3000}, timeout=180)  # A is not held back: it drops instead
    for broker in (1, 2, 3):
        cluster.cmd(f"up {broker}")
    _, sa = stop_node(a)
    sink, topics = sink_topics(sa)
    ramp_a = stream_of(sa, "ramp")
    t = topics["arrowdaq.ramp"]
    assert sink["offered"] == ramp_a["packets"]
    assert sink["dropped"] > 0 and sink["taken"] + sink["dropped"] == sink["offered"], sink
    assert t["produced"] == t["delivered"] == sink["taken"] and t["failed"] == 0, t
    assert sa["outcome"] == "stopped"  # by SIGTERM; the reasons are listed all the same
    assert any("dropped by its drop_oldest policy" in r for r in sa["degraded_reasons"])
    got = consume_topic(cluster.brokers, "arrowdaq.ramp", sink["taken"])
    seqs = [int(h["arrowdaq.seq"]) for h, _ in got]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
    # Exactly the dropped packets are missing from the topic, and every value that is there
    # is the formula's at its place.
    assert ramp_a["packets"] - len(seqs) == sink["dropped"]
    for (h, b) in got:
        n0 = int(h["arrowdaq.seq"]) * 100
        np.testing.assert_array_equal(b.column("ch0").to_numpy(), ramp(np.arange(n0, n0 + 100)))


def test_sigterm_while_blocked_on_a_dead_cluster_stops_within_flush_timeout(cluster, tmp_path):
    """Every broker down, A blocked by back-pressure, then SIGTERM: the sink waits at most
    flush_timeout for the cluster, counts what it could not deliver (fault events with the
    cause, the run's outcome says so) and the process exits; A's own run.h5 holds every row."""
    a = start_node(tmp_path, "a", outage_config(cluster.brokers, "block", "flush_timeout = 2.0"))
    a.wait_rows({"ramp": 1000})
    for broker in (1, 2, 3):
        cluster.cmd(f"down {broker}")
    wait_stalled(a, "ramp")
    t0 = time.monotonic()
    a.proc.send_signal(signal.SIGTERM)
    a.proc.wait(timeout=120)  # a stop that ignores flush_timeout fails here
    elapsed = time.monotonic() - t0
    rc, out, err = a.finish()
    # librdkafka would wait message.timeout.ms (300 s) for the cluster; the stop does not.
    assert rc == 0, err[-3000:]
    assert elapsed < 60, elapsed
    sa = load_summary(only_run_dir(a.out))
    sink, topics = sink_topics(sa)
    t = topics["arrowdaq.ramp"]
    ramp_a = stream_of(sa, "ramp")
    assert sa["outcome"] == "stopped"
    assert sink["dropped"] == 0 and sink["taken"] == sink["offered"] == ramp_a["packets"], sink
    assert t["failed"] > 0 and t["produced"] == t["delivered"] + t["failed"], t
    assert t["produced"] == ramp_a["packets"], (t, ramp_a)
    assert any("message(s) not delivered" in r for r in sa["degraded_reasons"]), sa
    assert "degraded: sink kafka:" in out and "not delivered" in out, out
    faults = [e for e in events_of(sa, "fault") if "not delivered" in e["message"]]
    assert faults and "flush_timeout" in faults[0]["message"], sa["events"]
    ts, (v,), _, _ = read_h5(only_run_dir(a.out), "ramp", 1)
    check_ramp(ts, v, ramp_a["rows"])  # local storage kept every row


def test_sigterm_on_an_aggregator_whose_cluster_is_gone_stops_promptly(cluster, tmp_path):
    """B has read everything, then every broker goes down, then SIGTERM: B's consumer gives up
    its final offset commit and group goodbye after a few seconds (librdkafka alone waits for
    the coordinator: 45 to 90 s) and B ends with every row stored."""
    cfg = tmp_path / "a.toml"
    cfg.write_text(node_a_config(cluster.brokers))
    r = subprocess.run([ARROWDAQ, "run", str(cfg), "--duration", "1s", "--output",
                        str(tmp_path / "a_out")], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    ramp_a = stream_of(load_summary(only_run_dir(tmp_path / "a_out")), "ramp")
    b = start_node(tmp_path, "b", node_b_config(cluster.brokers, streams=("ramp",)))
    b.wait_rows({"a.ramp": ramp_a["rows"]}, timeout=180)
    for broker in (1, 2, 3):
        cluster.cmd(f"down {broker}")
    t0 = time.monotonic()
    b.proc.send_signal(signal.SIGTERM)
    b.proc.wait(timeout=180)
    elapsed = time.monotonic() - t0
    rc, _, err = b.finish()
    assert rc == 0, err[-3000:]
    assert elapsed < 30, elapsed
    b_dir = only_run_dir(b.out)
    sb = load_summary(b_dir)
    assert sb["outcome"] == "stopped" and stream_of(sb, "a.ramp")["rows"] == ramp_a["rows"]
    ts, (v,), _, _ = read_h5(b_dir, "a.ramp", 1)
    check_ramp(ts, v, ramp_a["rows"])
    # librdkafka's complaints about the dead brokers come through the run's log, not raw.
    assert "[kafka]" in err and "|FAIL|" not in err and "|COMMITFAIL|" not in err, err[-2000:]


# --- Bad input to the source ----------------------------------------------------------------


def test_bad_messages_are_events_with_topic_partition_offset_never_a_crash(cluster, tmp_path):
    """A hand-made producer (confluent-kafka + pyarrow) writes a schema and a data topic with
    good batches and hostile ones; B must keep the good ones and name every bad one."""
    topic = "bad.input"
    cluster.cmd(f"topic {topic} 1 3")
    schema = pa.schema([pa.field("timestamp", pa.timestamp("ns", tz="UTC"), nullable=False),
                        pa.field("ch0", pa.float64(), nullable=False, metadata={"unit": "K"})],
                       metadata={"arrowdaq.format_version": "1", "driver": "hand.made"})
    schema_msg = schema.serialize().to_pybytes()
    fingerprint = fnv1a64(schema_msg)
    session = "0123456789abcdef"

    def headers(seq, fingerprint=fingerprint, node="hand"):
        return [("arrowdaq.format", b"1"), ("arrowdaq.node", node.encode()),
                ("arrowdaq.stream", b"temp"), ("arrowdaq.session", session.encode()),
                ("arrowdaq.seq", str(seq).encode()), ("arrowdaq.schema", fingerprint.encode())]

    def batch_bytes(seq, sch=schema):
        ts = pa.array(np.arange(seq * 10, seq * 10 + 10) * 1_000_000, pa.timestamp("ns", tz="UTC"))
        cols = [ts] + [pa.array(np.arange(seq * 10, seq * 10 + 10, dtype=np.float64))
                       for _ in range(len(sch) - 1)]
        return pa.record_batch(cols, schema=sch).serialize().to_pybytes()

    p = Producer({"bootstrap.servers": cluster.brokers, "enable.idempotence": True})
    p.produce("arrowdaq.schemas", key=b"hand/temp", value=schema_msg,
              headers=headers(0) + [("arrowdaq.topic", topic.encode())])
    other = pa.schema(list(schema) + [pa.field("ch1", pa.float64(), nullable=False)])
    other_msg = other.serialize().to_pybytes()
    good = batch_bytes(2)
    sent = [  # (what, value, headers)
        ("good 0", schema_msg + batch_bytes(0), headers(0)),
        ("good 1", batch_bytes(1), headers(1)),
        ("not arrow", b"this is not Arrow IPC", headers(2)),
        ("truncated", good[: len(good) // 2], headers(2)),
        ("schema change", other_msg + batch_bytes(2, other), headers(2, fnv1a64(other_msg))),
        ("no headers", good, None),
        ("good 2", good, headers(2)),
        ("good 3", batch_bytes(3), headers(3)),
        ("backwards", batch_bytes(1), headers(1)),
        ("good 4", batch_bytes(4), headers(4)),
    ]
    for _, value, h in sent:
        p.produce(topic, key=b"temp", value=value, headers=h)
    assert p.flush(60) == 0

    cfg = f"""
[run]
name = "b"
progress_interval = "100ms"
[instruments."hand.temp"]
driver = "kafka"
options = {{ brokers = "{cluster.brokers}", topic = "{topic}", node = "hand", stream = "temp", start = "earliest" }}
"""
    b = start_node(tmp_path, "b", cfg)
    b.wait_rows({"hand.temp": 50}, timeout=180)
    b_dir, sb = stop_node(b)
    assert sb["outcome"] in ("stopped", "ok")
    # Each bad message is logged with its topic/partition@offset as it happens; the run's
    # events coalesce repeats of a kind (exact totals below, the first and last messages kept).
    log = "".join(b.stderr_lines)
    offsets = {what: i for i, (what, _, _) in enumerate(sent)}
    for what, words in (("not arrow", "Arrow IPC"), ("truncated", "Arrow IPC"),
                        ("schema change", "schema change"), ("no headers", "bad headers")):
        line = next((l for l in log.splitlines() if f"at {topic}/0@{offsets[what]}" in l), None)
        assert line is not None and "bad_message" in line and words in line, (what, log[-3000:])
    bad = events_of(sb, "bad_message")
    assert f"at {topic}/0@{offsets['not arrow']}" in bad[0]["message"], bad
    dup = events_of(sb, "duplicate")
    assert len(dup) == 1 and f"at {topic}/0@{offsets['backwards']}" in dup[0]["message"], dup
    assert not events_of(sb, "gap"), sb["events"]
    ts, (v,), units, _ = read_h5(b_dir, "hand.temp", 1)
    np.testing.assert_array_equal(v, np.arange(50, dtype=np.float64))
    np.testing.assert_array_equal(ts, np.arange(50) * 1_000_000)
    assert units == ["K"]
    totals = {(t["stream"], t["kind"]): t["count"] for t in sb["event_totals"]}
    assert totals[("hand.temp", "bad_message")] == 4 and totals[("hand.temp", "duplicate")] == 1


def test_a_gap_in_sequence_numbers_is_a_gap_event_with_the_count(cluster, tmp_path):
    topic = "gap.input"
    cluster.cmd(f"topic {topic} 1 3")
    schema = pa.schema([pa.field("timestamp", pa.timestamp("ns", tz="UTC"), nullable=False),
                        pa.field("ch0", pa.float64(), nullable=False)])
    schema_msg = schema.serialize().to_pybytes()
    f = fnv1a64(schema_msg)

    def h(seq):
        return [("arrowdaq.format", b"1"), ("arrowdaq.node", b"g"), ("arrowdaq.stream", b"s"),
                ("arrowdaq.session", b"00000000000000aa"), ("arrowdaq.seq", str(seq).encode()),
                ("arrowdaq.schema", f.encode())]

    def batch(seq):
        return pa.record_batch([pa.array([seq], pa.timestamp("ns", tz="UTC")),
                                pa.array([float(seq)])], schema=schema).serialize().to_pybytes()

    p = Producer({"bootstrap.servers": cluster.brokers})
    p.produce("arrowdaq.schemas", key=b"g/s", value=schema_msg,
              headers=h(0) + [("arrowdaq.topic", topic.encode())])
    for i, seq in enumerate([0, 1, 5, 6]):
        p.produce(topic, key=b"s", value=(schema_msg if i == 0 else b"") + batch(seq), headers=h(seq))
    assert p.flush(60) == 0
    cfg = f"""
[run]
progress_interval = "100ms"
[instruments.g]
driver = "kafka"
options = {{ brokers = "{cluster.brokers}", topic = "{topic}", node = "g", stream = "s", start = "earliest" }}
"""
    b = start_node(tmp_path, "b", cfg)
    b.wait_rows({"g": 4}, timeout=180)
    _, sb = stop_node(b)
    gaps = events_of(sb, "gap")
    assert len(gaps) == 1 and gaps[0]["message"].startswith("3 batch(es) missing: sequence 2..4")


# --- Config errors --------------------------------------------------------------------------


@pytest.mark.parametrize("sink, expected", [
    ('brokers = "x:1"\nlinger = 3', ":8:10: sinks[0].linger: unknown key; allowed keys here: brokers,"),
    ('brokers = "x:1"\nproducer.linger.mss = 3',
     ':8:23: sinks[0].producer.linger.mss: librdkafka: No such configuration property: "linger.mss"'),
    ('brokers = "x:1"\nproducer.acks = "sometimes"',
     ':8:17: sinks[0].producer.acks: librdkafka: Invalid value for configuration property'),
    ('topic = "t"', ':4:1: sinks[0]: missing required key "brokers"'),
    ('brokers = "x:1"\ntopic = "a/<stream>"',
     ":8:9: sinks[0].topic: topic 'a/stream' (from the template 'a/<stream>') is not a valid "
     "Kafka topic name"),
    ('brokers = "x:1"\npolicy = "sometimes"', ":8:10: sinks[0].policy: expected one of"),
    ('brokers = "x:1"\ncapacity = 0', ":8:12: sinks[0].capacity:"),
    ('brokers = "x:1"\nflush_timeout = "2 parsecs"', ':8:17: sinks[0].flush_timeout: invalid duration'),
    ('brokers = "x:1"\nflush_timeout = "48h"', ":8:17: sinks[0].flush_timeout: at most 24 h"),
    ('brokers = "x:1"\nstreams = ["rmap"]', ':8:12: sinks[0].streams[0]: unknown stream "rmap"'),
    ('brokers = "x:1"\nname = "../x"', ":8:8: sinks[0].name: invalid name"),
    ('brokers = "x:1"\n[[sinks]]\nkind = "kafka"\nbrokers = "y:1"',
     ':8:1: sinks[1].name: duplicate sink name "kafka" (first defined at'),
    # Topic names longer than Kafka allows (249).
    ('brokers = "x:1"\ntopic = "arrowdaq.<node>.<stream>.' + "x" * 240 + '"',
     ":8:9: sinks[0].topic: topic 'arrowdaq.n.stream.xxx"),
    # Settings librdkafka refuses only together, when the producer is created: validate creates
    # one (connecting nowhere), so a run never fails at the start for them.
    ('brokers = "x:1"\nproducer.acks = "1"',
     ":8:17: sinks[0].producer.acks: librdkafka refuses the producer settings together: "
     "librdkafka: cannot create the producer: `acks` must be set to `all`"),
    ('brokers = "x:1"\nproducer."transactional.id" = "t"',
     ":8:31: sinks[0].producer.transactional.id: not supported: the sink is an idempotent"),
])
def test_sink_config_errors_name_file_line_column(tmp_path, sink, expected):
    cfg = tmp_path / "bad.toml"
    cfg.write_text(f"""[instruments.ramp]
driver = "sim.ramp"

[[sinks]]
kind = "kafka"
node = "n"
{sink}
""")
    r = subprocess.run([ARROWDAQ, "validate", str(cfg)], capture_output=True, text=True, timeout=60)
    assert r.returncode == 2, r
    assert f"{cfg}{expected}" in r.stderr, r.stderr


@pytest.mark.parametrize("key, value, expected", [
    ("topic", '"a/b"', "option 'topic': 'a/b' is not a valid Kafka topic name"),
    ("schema_topic", '"' + "t" * 250 + '"', "option 'schema_topic': 'ttt"),
    ("stream", '"x/y"', "option 'stream': 'x/y' is not a name of letters"),
    ("node", '""', "option 'node': required"),
    ("start", '"yesterday"', "option 'start': expected committed, earliest, latest or a UTC time"),
    ("start", '"2026-13-45T00:00:00Z"', "option 'start': '2026-13-45T00:00:00Z' is not a UTC time"),
    ("schema_timeout", "1e300", "option 'schema_timeout': expected 0 to 3600 s, got 1e+300"),
])
def test_source_option_errors_are_refused_at_validate(tmp_path, key, value, expected):
    """Refused from the options alone, before any broker is asked (there is none)."""
    options = {"brokers": '"127.0.0.1:1"', "topic": '"t"', "node": '"n"', "stream": '"s"',
               "schema_timeout": "30.0"}
    options[key] = value
    cfg = tmp_path / "b.toml"
    cfg.write_text("[instruments.x]\ndriver = \"kafka\"\noptions = { " +
                   ", ".join(f"{k} = {v}" for k, v in options.items()) + " }\n")
    r = subprocess.run([ARROWDAQ, "validate", str(cfg)], capture_output=True, text=True, timeout=120)
    assert r.returncode == 2, r
    assert expected in r.stderr, r.stderr


def test_the_sink_example_of_multi_node_md_validates(tmp_path):
    """docs/multi-node.md's [[sinks]] example is a valid config (no broker is asked)."""
    doc = (Path(os.environ.get("ARROWDAQ_SOURCE_DIR", Path(__file__).resolve().parents[2]))
           / "docs" / "multi-node.md").read_text()
    section = doc[doc.index("## The sink"):]
    snippet = section[section.index("```toml\n") + 8:section.index("```", section.index("```toml") + 7)]
    assert "[[sinks]]" in snippet and "producer" in snippet
    cfg = tmp_path / "doc.toml"
    cfg.write_text('[instruments.ramp]\ndriver = "sim.ramp"\n\n' + snippet)
    r = subprocess.run([ARROWDAQ, "validate", str(cfg)], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr


def test_source_without_a_running_origin_fails_at_start_naming_the_stream(cluster, tmp_path):
    cfg = tmp_path / "b.toml"
    cfg.write_text(f"""[instruments.x]
driver = "kafka"
options = {{ brokers = "{cluster.brokers}", topic = "arrowdaq.nothing", node = "nobody", stream = "nothing", schema_timeout = 1.0 }}
""")
    r = subprocess.run([ARROWDAQ, "validate", str(cfg)], capture_output=True, text=True, timeout=120)
    assert r.returncode == 2, r
    assert "no schema for stream 'nothing' of node 'nobody'" in r.stderr, r.stderr


# --- Where a source starts ------------------------------------------------------------------


def hand_made_origin(cluster, topic, node="h", stream="s"):
    """A schema in the schema topic and a function that sends batch `seq` (10 rows, values
    seq*10.., first sample at seq seconds after 2026-01-01, the Kafka timestamp the same)."""
    cluster.cmd(f"topic {topic} 1 3")
    schema = pa.schema([pa.field("timestamp", pa.timestamp("ns", tz="UTC"), nullable=False),
                        pa.field("ch0", pa.float64(), nullable=False)])
    schema_msg = schema.serialize().to_pybytes()
    f = fnv1a64(schema_msg)
    t0_ns = 1_767_225_600 * 10**9  # 2026-01-01T00:00:00Z

    def h(seq):
        return [("arrowdaq.format", b"1"), ("arrowdaq.node", node.encode()),
                ("arrowdaq.stream", stream.encode()), ("arrowdaq.session", b"00000000000000bb"),
                ("arrowdaq.seq", str(seq).encode()), ("arrowdaq.schema", f.encode())]

    p = Producer({"bootstrap.servers": cluster.brokers})
    p.produce("arrowdaq.schemas", key=f"{node}/{stream}".encode(), value=schema_msg,
              headers=h(0) + [("arrowdaq.topic", topic.encode())])

    def send(seqs):
        for seq in seqs:
            ts = pa.array(t0_ns + seq * 10**9 + np.arange(10) * 1000, pa.timestamp("ns", tz="UTC"))
            v = pa.array(np.arange(seq * 10, seq * 10 + 10, dtype=np.float64))
            batch = pa.record_batch([ts, v], schema=schema).serialize().to_pybytes()
            p.produce(topic, key=stream.encode(), value=(schema_msg if seq == 0 else b"") + batch,
                      headers=h(seq), timestamp=(t0_ns + seq * 10**9) // 10**6)
        assert p.flush(60) == 0
    return send


def source_config(cluster, topic, start):
    return f"""
[run]
progress_interval = "100ms"
[instruments.x]
driver = "kafka"
options = {{ brokers = "{cluster.brokers}", topic = "{topic}", node = "h", stream = "s", start = "{start}" }}
"""


def test_start_at_a_time_begins_at_the_first_batch_at_or_after_it(cluster, tmp_path):
    send = hand_made_origin(cluster, "start.time")
    send(range(10))
    b = start_node(tmp_path, "b", source_config(cluster, "start.time", "2026-01-01T00:00:06Z"))
    b.wait_rows({"x": 40}, timeout=180)  # batches 6..9
    b_dir, sb = stop_node(b)
    _, (v,), _, _ = read_h5(b_dir, "x", 1)
    np.testing.assert_array_equal(v, np.arange(60, 100, dtype=np.float64))
    assert not events_of(sb, "gap", "duplicate", "bad_message"), sb["events"]
    assert any("joined origin h/s at sequence 6" in e["message"] for e in events_of(sb, "info"))


def test_start_latest_takes_only_what_comes_after_the_start(cluster, tmp_path):
    send = hand_made_origin(cluster, "start.latest")
    send(range(5))
    b = start_node(tmp_path, "b", source_config(cluster, "start.latest", "latest"))
    # Progress lines come once acquisition has started, after the source connected and took
    # the topic's end as its start: what is sent from then on is received.
    with b._changed:
        assert b._changed.wait_for(lambda: any(s == "x" for _, s, _ in b.progress), 180)
    send(range(5, 8))
    b.wait_rows({"x": 30}, timeout=180)
    b_dir, sb = stop_node(b)
    _, (v,), _, _ = read_h5(b_dir, "x", 1)
    np.testing.assert_array_equal(v, np.arange(50, 80, dtype=np.float64))

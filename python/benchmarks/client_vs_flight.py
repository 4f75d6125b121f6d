"""The client's cost next to raw pyarrow.flight doing the same work, and the Bluesky bridge's
per-event cost next to ophyd.sim, against one `arrowdaq serve` (same-run ratios).

    python python/benchmarks/client_vs_flight.py PATH/TO/arrowdaq

`make compare` runs it (step `python_client`, bench/compare/run_all.py) and reads the last line,
`RESULT {json}`, into its report; figures in docs/performance.md.
"""
import json, pathlib, statistics, sys, tempfile, time
import pyarrow as pa, pyarrow.flight as fl
import arrowdaq
from bluesky import RunEngine
from bluesky.plans import count
from ophyd.sim import det as simdet
from arrowdaq.ophyd import stream_detector

d = pathlib.Path(tempfile.mkdtemp())
(d/"c.toml").write_text('''
[instruments.fast]
driver = "sim.ramp"
options = { rate_hz = 500000.0, batch_size = 5000, channels = 4 }
[instruments.pd]
driver = "sim.sine"
options = { rate_hz = 100000.0, batch_size = 100 }
[server]
replay_seconds = 4
replay_bytes = 268435456
''')
s = arrowdaq.start_server(d/"c.toml", binary=sys.argv[1], output=d/"runs")
daq = arrowdaq.Client(s.uri)
time.sleep(5)  # let the replay ring fill (4 s of the fast stream)
raw = fl.FlightClient(s.uri)

def raw_replay():
    info = raw.get_flight_info(fl.FlightDescriptor.for_path("fast"))
    last = json.loads(bytes(info.app_metadata))["next_sequence"] - 1
    r = raw.do_get(fl.Ticket(json.dumps({"stream": "fast", "start": "replay", "seconds": 3}).encode()))
    n = 0
    kept = []   # the same work as client.read: the batches are kept, as a table
    while True:
        c = r.read_chunk()
        kept.append(c.data)
        n += c.data.nbytes
        if json.loads(c.app_metadata.to_pybytes())["sequence"] >= last:
            break
    r.cancel()
    table = pa.Table.from_batches(kept)
    return n

def client_read():
    return daq.read("fast", seconds=3).nbytes

figures = {}
res = {"raw": [], "client.read": []}
for i in range(9):
    for name, f in (("raw", raw_replay), ("client.read", client_read)):
        t = time.perf_counter(); n = f(); dt = time.perf_counter() - t
        res[name].append(n / dt / 1e6)
for k, v in res.items():
    print(f"{k}: median {statistics.median(v):.0f} MB/s ({', '.join(f'{x:.0f}' for x in v)})")
print(f"read/raw ratio {statistics.median(res['client.read'])/statistics.median(res['raw']):.2f}")
figures["read_MBps"] = statistics.median(res["client.read"])
figures["raw_read_MBps"] = statistics.median(res["raw"])

# subscribe (replay backlog) vs raw
def raw_sub(nb=400):
    r = raw.do_get(fl.Ticket(json.dumps({"stream": "pd", "start": "replay"}).encode()))
    n, last = 0, None
    for _ in range(nb):
        c = r.read_chunk()     # the same work as subscribe: each packet's sequence is checked
        seq = json.loads(c.app_metadata.to_pybytes())["sequence"]
        assert last is None or seq == last + 1
        last = seq
        n += c.data.nbytes
    r.cancel(); return n
def client_sub(nb=400):
    n = 0
    with daq.subscribe("pd", "replay") as sub:
        for i, b in zip(range(nb), sub):
            n += b.nbytes
    return n
res = {"raw": [], "subscribe": []}
for i in range(5):
    for name, f in (("raw", raw_sub), ("subscribe", client_sub)):
        t = time.perf_counter(); n = f(); dt = time.perf_counter() - t
        res[name].append(400 / dt)
for k, v in res.items():
    print(f"{k} small packets (100 rows): median {statistics.median(v):.0f} packets/s")
print(f"subscribe/raw ratio {statistics.median(res['subscribe'])/statistics.median(res['raw']):.2f}")
figures["subscribe_packets_per_s"] = statistics.median(res["subscribe"])
figures["raw_subscribe_packets_per_s"] = statistics.median(res["raw"])

RE = RunEngine({})
pd = stream_detector(daq, "pd")
for name, dev in (("arrowdaq bridge", pd), ("ophyd.sim det", simdet)):
    t = time.perf_counter(); RE(count([dev], 200)); dt = time.perf_counter() - t
    print(f"count 200 with {name}: {200/dt:.0f} events/s, {dt/200*1e6:.0f} us/event")
    figures["bridge_events_per_s" if dev is pd else "ophyd_sim_events_per_s"] = 200 / dt
daq.close(); s.stop()
print("RESULT " + json.dumps(figures))

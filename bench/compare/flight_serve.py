"""Serving figures of `arrowdaq serve` (issue 15), each next to its peer measured in the same run:

* DoGet throughput, 1 and 4 clients, batches of 1k/10k/100k rows of sim.ramp (timestamp + one
  float64 channel, 16 bytes a row): the server's replay ring is filled, the instrument
  disconnected, and each client reads the whole ring (a `replay` ticket) -- batches served from
  memory through the same per-client queue and IPC path as live data. The peer is pyarrow's own
  Flight server (FlightServerBase + GeneratorStream, C++ underneath) serving the same number of
  batches of the same rows from memory; the physical bound is memcpy. Clients are separate
  processes (pyarrow.flight), started together; MB/s = Arrow buffer bytes received / time from
  the first client's start to the last client's end.
* Latency from a sample's timestamp to its arrival at a Flight client (p50, p99): sim.ramp at
  1 kHz and 100 kHz, batches of 100 rows, a live ticket; latency of a batch = arrival wall time
  minus its last row's timestamp (the earliest instant the batch could exist).
* Cost of serving: the maximum sustainable zero-loss rate to HDF5 (runs.py's trial and
  bisection) with two live Flight clients attached (`run --serve`, each client reading every
  stream) as a fraction of the same figure without.

No assertion on time here: run_all.py reports goals as met or missed.
"""
import json
import multiprocessing as mp
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time

ROW_BYTES = 16  # timestamp + one float64 channel


def _start_serve(app, work, config_text, extra=()):
    cfg = os.path.join(work, "serve.toml")
    with open(cfg, "w") as f:
        f.write(config_text)
    proc = subprocess.Popen([app, "serve", cfg, "--listen", "grpc://127.0.0.1:0", "--output",
                             os.path.join(work, "runs"), "--log-level", "warn", *extra],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = proc.stdout.readline()
    m = re.match(r"listening on (\S+)", line)
    if not m:
        proc.kill()
        raise RuntimeError(f"arrowdaq serve did not start: {line!r} {proc.stderr.read()[-2000:]}")
    return proc, m.group(1)


def _stop(proc):
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def _action(client, name, body=None):
    import pyarrow.flight as fl
    results = list(client.do_action(fl.Action(name, json.dumps(body or {}).encode())))
    return json.loads(results[0].body.to_pybytes())


def _reader(uri, ticket, batches, barrier, out):
    """A client process: wait for the others, read `batches` batches, report bytes and times."""
    import pyarrow.flight as fl
    client = fl.FlightClient(uri)
    barrier.wait()
    start = time.perf_counter()
    reader = client.do_get(fl.Ticket(ticket))
    got, nbytes = 0, 0
    while got < batches:
        chunk = reader.read_chunk()
        nbytes += chunk.data.get_total_buffer_size()
        got += 1
    end = time.perf_counter()
    reader.cancel()
    out.put((start, end, nbytes, got))


def _read_together(uri, ticket, batches, clients):
    ctx = mp.get_context("spawn")
    barrier = ctx.Barrier(clients)
    out = ctx.Queue()
    procs = [ctx.Process(target=_reader, args=(uri, ticket, batches, barrier, out))
             for _ in range(clients)]
    for p in procs:
        p.start()
    results = []
    deadline = time.monotonic() + 600
    while len(results) < len(procs):
        try:
            results.append(out.get(timeout=1))
        except Exception:
            if time.monotonic() > deadline or not any(p.is_alive() for p in procs):
                for p in procs:
                    p.kill()
                raise RuntimeError(f"{len(procs) - len(results)} Flight client(s) failed")
    for p in procs:
        p.join(timeout=60)
    start = min(r[0] for r in results)
    end = max(r[1] for r in results)
    total = sum(r[2] for r in results)
    return {"clients": clients, "bytes": total, "seconds": end - start,
            "bytes_per_s": total / (end - start) if end > start else 0.0,
            "batches_per_client": batches}


def _peer_server(rows, batches, port_out, stop):
    """pyarrow's own Flight server, serving `batches` ramp batches of `rows` rows from memory."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.flight as fl
    ts = pa.array(np.arange(rows, dtype=np.int64) * 1000, type=pa.timestamp("ns", tz="UTC"))
    data = [pa.record_batch([ts, pa.array(np.arange(i * rows, (i + 1) * rows, dtype=np.float64))],
                            names=["timestamp", "ch0"]) for i in range(batches)]
    schema = data[0].schema

    class Server(fl.FlightServerBase):
        def do_get(self, context, ticket):
            return fl.GeneratorStream(schema, iter(data))

    server = Server("grpc://127.0.0.1:0")
    port_out.put(server.port)
    stop.wait()
    server.shutdown()


def throughput(app, work, sizes, client_counts=(1, 4), ring_bytes=128 << 20, log=print):
    """Per batch size and client count: arrowdaq serve's and pyarrow's server's MB/s."""
    import pyarrow.flight as fl
    out = {}
    for rows in sizes:
        batches_wanted = max(8, ring_bytes // (rows * ROW_BYTES))
        config = (f'[instruments.ramp]\ndriver = "sim.ramp"\n'
                  f'options = {{ rate_hz = 1e8, batch_size = {rows} }}\n\n'
                  f'[server]\nreplay_seconds = "1h"\nreplay_bytes = {ring_bytes + (64 << 20)}\n')
        proc, uri = _start_serve(app, work, config)
        try:
            client = fl.FlightClient(uri)
            deadline = time.monotonic() + 300
            while True:
                ring = _action(client, "status")["replay"].get("ramp", {"packets": 0})
                if ring["packets"] >= batches_wanted or time.monotonic() > deadline:
                    break
                time.sleep(0.2)
            _action(client, "disconnect_instrument", {"instrument": "ramp"})
            ring = _action(client, "status")["replay"]["ramp"]
            packets = ring["packets"]
            ticket = json.dumps({"stream": "ramp", "start": "replay"}).encode()
            for n in client_counts:
                r = _read_together(uri, ticket, packets, n)
                out[f"arrowdaq_{rows}_{n}"] = r
                log(f"  DoGet arrowdaq serve: {rows} rows x {packets} batches, {n} client(s): "
                    f"{r['bytes_per_s'] / 1e6:.0f} MB/s")
            client.close()
        finally:
            _stop(proc)
        ctx = mp.get_context("spawn")
        port_out, stop = ctx.Queue(), ctx.Event()
        peer = ctx.Process(target=_peer_server, args=(rows, packets, port_out, stop))
        peer.start()
        try:
            port = port_out.get(timeout=120)
            for n in client_counts:
                r = _read_together(f"grpc://127.0.0.1:{port}", b"x", packets, n)
                out[f"pyarrow_{rows}_{n}"] = r
                log(f"  DoGet pyarrow server:  {rows} rows x {packets} batches, {n} client(s): "
                    f"{r['bytes_per_s'] / 1e6:.0f} MB/s")
        finally:
            stop.set()
            peer.join(timeout=60)
            if peer.is_alive():
                peer.kill()
    return out


def latency(app, work, rates=(1000.0, 100000.0), batch=100, seconds=5.0, log=print):
    """p50/p99 of (arrival - last sample timestamp) per batch, live, per sample rate."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.flight as fl
    out = {}
    for rate in rates:
        config = (f'[instruments.ramp]\ndriver = "sim.ramp"\n'
                  f'options = {{ rate_hz = {rate!r}, batch_size = {batch} }}\n')
        proc, uri = _start_serve(app, work, config)
        try:
            client = fl.FlightClient(uri)
            reader = client.do_get(fl.Ticket(b'{"stream": "ramp"}'))
            want = max(20, int(rate / batch * seconds))
            lat = []
            for _ in range(want):
                chunk = reader.read_chunk()
                arrival = time.time_ns()
                last = chunk.data.column(0).cast(pa.int64())[-1].as_py()
                lat.append(arrival - last)
            reader.cancel()
            client.close()
        finally:
            _stop(proc)
        lat = np.array(lat[5:], dtype=np.float64) / 1e6  # ms; the first batches include start-up
        out[str(int(rate))] = {"rate_hz": rate, "batch": batch, "batches": len(lat),
                               "p50_ms": float(np.percentile(lat, 50)),
                               "p99_ms": float(np.percentile(lat, 99))}
        log(f"  latency at {rate:g} Hz, batch {batch}: p50 {out[str(int(rate))]['p50_ms']:.2f} ms, "
            f"p99 {out[str(int(rate))]['p99_ms']:.2f} ms")
    return out


def _live_client(uri, streams, stop, out):
    """Read every stream live (one DoGet each, in threads) until `stop`; count batches, drops."""
    import pyarrow.flight as fl
    client = fl.FlightClient(uri)
    totals = {"batches": 0, "dropped": 0}
    lock = threading.Lock()

    def follow(stream):
        reader = client.do_get(fl.Ticket(json.dumps({"stream": stream}).encode()))
        last_dropped = 0
        try:
            while not stop.is_set():
                chunk = reader.read_chunk()
                meta = json.loads(chunk.app_metadata.to_pybytes())
                with lock:
                    totals["batches"] += 1
                last_dropped = meta["dropped"]
        except Exception:
            pass  # the stream ends with the run
        with lock:
            totals["dropped"] += last_dropped

    threads = [threading.Thread(target=follow, args=(s,), daemon=True) for s in streams]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    out.put(totals)


def run_once_served(binary, base_dir, instruments, rate_hz, batch_size, channels, seconds,
                    clients=2):
    """runs.run_once with `--serve` and `clients` live Flight clients reading every stream."""
    import runs
    work = tempfile.mkdtemp(prefix="arrowdaq-served-", dir=base_dir)
    try:
        cfg = os.path.join(work, "bench.toml")
        runs.write_config(cfg, instruments, rate_hz, batch_size, channels)
        out_dir = os.path.join(work, "out")
        proc = subprocess.Popen([str(binary), "run", cfg, "--duration", f"{seconds}s", "--output",
                                 out_dir, "--log-level", "warn", "--listen",
                                 "grpc://127.0.0.1:0"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        uri = None
        for line in proc.stderr:
            m = re.search(r"serving on (\S+)", line)
            if m:
                uri = m.group(1)
                break
        ctx = mp.get_context("spawn")
        stop, q = ctx.Event(), ctx.Queue()
        readers = []
        if uri:
            streams = [f"ramp{i}" for i in range(instruments)]
            readers = [ctx.Process(target=_live_client, args=(uri, streams, stop, q))
                       for _ in range(clients)]
            for r in readers:
                r.start()
        rest = proc.stderr.read()
        proc.wait(timeout=seconds * 4 + 120)
        stop.set()
        client_totals = [q.get(timeout=60) for _ in readers]
        for r in readers:
            r.join(timeout=30)
        if os.path.isdir(out_dir):
            runs._fsync_tree(out_dir)
        durable_at = time.time()
        summary = {}
        for root, _, files in os.walk(out_dir):
            if "summary.json" in files:
                with open(os.path.join(root, "summary.json")) as f:
                    summary = json.load(f)
        summary["exit_code"] = proc.returncode
        summary["flight_clients"] = client_totals
        if summary.get("start_time") and summary.get("stop_time"):
            start = runs._epoch_s(summary["start_time"])
            summary["closed_s"] = runs._epoch_s(summary["stop_time"]) - start
            summary["durable_s"] = durable_at - start
        if proc.returncode != 0 or not uri:
            summary["stderr"] = rest[-2000:]
        return summary
    finally:
        import shutil
        shutil.rmtree(work, ignore_errors=True)

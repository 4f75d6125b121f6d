"""Helpers shared by the Python end-to-end tests: run the arrowdaq binary, write configs,
and recompute the simulated instruments' samples from their documented formulas
(docs/instruments.md) so every stored value can be checked independently."""
import json
import os
import subprocess
import threading
import time
from pathlib import Path

import numpy as np

ARROWDAQ = os.environ.get("ARROWDAQ_ARROWDAQ_BIN", "arrowdaq")


def run(args, timeout=120, **kw):
    """Run arrowdaq with `args`; return the CompletedProcess (text mode)."""
    return subprocess.run([ARROWDAQ, *args], capture_output=True, text=True, timeout=timeout, **kw)


def write_config(tmp_path: Path, text: str, name="run.toml") -> Path:
    p = tmp_path / name
    p.write_text(text)
    return p


def only_run_dir(output: Path) -> Path:
    dirs = [d for d in output.iterdir() if d.is_dir()]
    assert len(dirs) == 1, f"expected one run directory in {output}, found {dirs}"
    return dirs[0]


def load_summary(run_dir: Path) -> dict:
    return json.loads((run_dir / "summary.json").read_text())


def read_arrow_leftover(path: Path):
    """Read the complete batches of a `<stream>.arrow.partial` left by a killed or failed
    writer (docs/file-format.md): after the 8-byte magic it is an Arrow IPC stream; a torn
    last message ends it. Returns the list of record batches."""
    import pyarrow as pa
    batches = []
    with pa.memory_map(str(path)) as source:
        reader = pa.ipc.open_stream(source.read_buffer()[8:])
        while True:
            try:
                batches.append(reader.read_next_batch())
            except StopIteration:
                break
            except (pa.ArrowInvalid, OSError):
                break  # the batch being written when the writer stopped
    return batches


def ramp(n, c=0, amplitude=1.0, offset=0.0, wrap=1 << 40):
    n = np.asarray(n, dtype=np.int64)
    return offset + amplitude * ((n + c) % wrap).astype(np.float64)


def sine(n, c, channels, rate_hz, frequency_hz, amplitude=1.0, offset=0.0):
    n = np.asarray(n, dtype=np.float64)
    return offset + amplitude * np.sin(2 * np.pi * frequency_hz * n / rate_hz + 2 * np.pi * c / channels)


def _splitmix64(x):
    with np.errstate(over="ignore"):
        z = (x + np.uint64(0x9E3779B97F4A7C15)).astype(np.uint64)
        z = ((z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)).astype(np.uint64)
        z = ((z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)).astype(np.uint64)
        return z ^ (z >> np.uint64(31))


def noise(n, c, channels, seed, amplitude=1.0, offset=0.0):
    m = np.asarray(n, dtype=np.uint64) * np.uint64(channels) + np.uint64(c)
    s = np.uint64(seed)
    u1 = (_splitmix64(s ^ (np.uint64(2) * m)) >> np.uint64(11)).astype(np.float64) * 2.0**-53
    u2 = (_splitmix64(s ^ (np.uint64(2) * m + np.uint64(1))) >> np.uint64(11)).astype(np.float64) * 2.0**-53
    return offset + amplitude * np.sqrt(-2 * np.log(1 - u1)) * np.cos(2 * np.pi * u2)


def sample_offsets_ns(n, rate_hz):
    """t[n] - t[0] for a single acquisition segment: floor(n * 1e9 / rate_hz)."""
    return np.floor(np.asarray(n, dtype=np.float64) * 1e9 / rate_hz).astype(np.int64)


# --- Reading a run's files back, one helper per format -----------------------------------
# Where each format keeps a stream lives here only (docs/file-format.md), so a change of layout
# is one edit. Each reader returns (timestamps as int64 ns, [column arrays in channel order]).


def _channel_columns(names, channels):
    """Column names of channels 0..channels-1 in a table whose first column is `timestamp`."""
    chans = [n for n in names if n != "timestamp"]
    assert len(chans) >= channels, f"expected {channels} channel columns, found {chans}"
    return chans[:channels]


def read_hdf5_stream(run_dir: Path, stream: str, channels: int, swmr=False):
    """`stream` from run.h5; swmr=True opens it as a SWMR reader (a file left open by a dead
    writer), otherwise a plain open that only succeeds on a properly closed file."""
    import h5py
    kw = {"libver": "latest", "swmr": True} if swmr else {}
    with h5py.File(run_dir / "run.h5", "r", **kw) as f:
        g = f[stream]
        return g["timestamp"][:], [g[f"ch{c}"][:] for c in range(channels)]


def ipc_stream_path(run_dir: Path, stream: str) -> Path:
    """`<stream>.arrow` (closed), else the `<stream>.arrow.partial` a killed run left."""
    closed = run_dir / f"{stream}.arrow"
    return closed if closed.exists() else run_dir / f"{stream}.arrow.partial"


def read_ipc_stream(run_dir: Path, stream: str, channels: int, torn_ok=False):
    """The Arrow IPC file of `stream`. torn_ok: a file the writer never closed (SIGKILL, a full
    disk) is read up to its last complete batch (read_arrow_leftover) instead of failing."""
    import pyarrow as pa
    import pyarrow.ipc as ipc
    path = ipc_stream_path(run_dir, stream)
    if path.suffix == ".arrow":
        with ipc.open_file(path) as reader:
            table = reader.read_all()
    else:
        assert torn_ok, f"{path}: the writer did not close the file"
        batches = read_arrow_leftover(path)
        assert batches, f"{path}: no complete batch"
        table = pa.Table.from_batches(batches)
    return _table_columns(table, channels)


def parquet_segments(run_dir: Path, stream: str):
    """The Parquet parts of `stream` (its own directory `<stream>/`), in order."""
    return sorted((run_dir / stream).glob("*.parquet"))


def read_parquet_stream(run_dir: Path, stream: str, channels: int):
    """Every Parquet part of `stream`, concatenated; at least one must exist."""
    import pyarrow as pa
    import pyarrow.parquet as pq
    segments = parquet_segments(run_dir, stream)
    assert segments, f"no Parquet part for {stream} in {run_dir}"
    return _table_columns(pa.concat_tables([pq.read_table(p) for p in segments]), channels)


def read_csv_stream(run_dir: Path, stream: str, channels: int):
    """`<stream>.csv` read by pyarrow's CSV reader (timestamps parsed from ISO 8601)."""
    import pyarrow.csv as pacsv
    return _table_columns(pacsv.read_csv(run_dir / f"{stream}.csv"), channels)


def _table_columns(table, channels):
    import pyarrow as pa
    ts = table["timestamp"]
    ts = ts.cast(pa.timestamp("ns", tz="UTC")).cast(pa.int64()).to_numpy()
    return ts, [table[n].to_numpy() for n in _channel_columns(table.column_names, channels)]


def read_stream(run_dir: Path, fmt: str, stream: str, channels: int):
    """Dispatch on the format name used in `[storage] formats`."""
    return {"hdf5": read_hdf5_stream, "arrow": read_ipc_stream, "arrows": read_ipc_stream,
            "parquet": read_parquet_stream, "csv": read_csv_stream}[fmt](run_dir, stream, channels)


# --- Signals --------------------------------------------------------------------------------


def _pending_signals(pid: int) -> int:
    """Bit mask of signals pending for the process (shared) or its main thread."""
    mask = 0
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(("SigPnd:", "ShdPnd:")):
                mask |= int(line.split()[1], 16)
    return mask


def signal_and_wait_taken(proc, sig, timeout=30.0):
    """Send `sig` to `proc` and wait until the kernel has delivered it (it is no longer pending):
    its handler has been entered, or the process has ended. Synchronisation, not a sleep."""
    import time
    proc.send_signal(sig)
    bit = 1 << (int(sig) - 1)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return
        try:
            if not _pending_signals(proc.pid) & bit:
                return
        except FileNotFoundError:
            return
        time.sleep(0.001)
    raise AssertionError(f"signal {sig} still pending after {timeout} s")


def process_state(pid: int) -> str:
    """The one-letter state of /proc/<pid>/stat (R, S, T stopped, Z zombie, ...)."""
    with open(f"/proc/{pid}/stat") as f:
        return f.read().rsplit(")", 1)[1].split()[0]


# --- Progress lines -------------------------------------------------------------------------


def parse_progress(line: str):
    """(stream, rows published so far) from a progress line on stderr
    ("[1.0 s] ramp   20000 rows/s   20000 rows   0 drops"), or None for other lines."""
    import re
    m = re.match(r"\[\s*[0-9.]+ s\]\s+(\S+)\s+\S+ rows/s\s+(\d+) rows\s", line)
    return (m.group(1), int(m.group(2))) if m else None


class Running:
    """A real `arrowdaq run` in the background. A thread reads its stderr: the progress lines
    (every 100 ms) are kept with the time they arrived, so a test can tell how many rows of each
    stream the engine had published by a given moment."""

    def __init__(self, tmp_path, config_text, duration="60s"):
        cfg = write_config(tmp_path, config_text)
        self.out = tmp_path / "out"
        self.proc = subprocess.Popen(
            [ARROWDAQ, "run", str(cfg), "--duration", duration, "--output", str(self.out)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.progress = []  # (monotonic arrival time, stream, rows published)
        self.stderr_lines = []
        self._changed = threading.Condition()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self):
        for line in self.proc.stderr:
            now = time.monotonic()
            with self._changed:
                self.stderr_lines.append(line)
                p = parse_progress(line)
                if p:
                    self.progress.append((now, *p))
                self._changed.notify_all()

    def rows_seen(self, stream, by=None):
        """Rows of `stream` the engine had published according to the last progress line that
        arrived no later than `by` (monotonic; None: any)."""
        with self._changed:
            rows = [r for t, s, r in self.progress if s == stream and (by is None or t <= by)]
        return max(rows, default=0)

    def wait_rows(self, want, timeout=60.0):
        """Wait until progress lines show at least want[stream] rows for every stream."""
        def ok():
            return all(self.rows_seen(s) >= n for s, n in want.items())
        with self._changed:
            assert self._changed.wait_for(ok, timeout), (want, self.progress[-5:],
                                                         "".join(self.stderr_lines[-20:]))

    def finish(self, timeout=60):
        """Wait for the end; return (returncode, stdout, stderr)."""
        stdout = self.proc.stdout.read() if self.proc.stdout else ""
        self.proc.wait(timeout=timeout)
        self._reader.join(timeout=10)
        return self.proc.returncode, stdout, "".join(self.stderr_lines)

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()

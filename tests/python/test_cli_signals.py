"""Real signals sent to a real `arrowdaq run` (issue 11 item 2; app/stop_signals.h): no
catchable signal leaves files that a plain reader refuses. Stop signals end the run cleanly,
others are ignored with a note, and a closed stdout/stderr (`arrowdaq run ... | head -1`) never
stops acquisition. Every file is then opened by a plain reader: h5py without SWMR, pyarrow's IPC
and Parquet readers, pyarrow's CSV reader; summary.json accounts for the rows they hold."""
import re
import signal
import subprocess
import threading

import h5py
import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.ipc as ipc
import pyarrow.parquet as pq
import pytest

from arrowdaq_testlib import ARROWDAQ, load_summary, only_run_dir, ramp, write_config

CONFIG = """
[run]
progress_interval = "100ms"

[instruments.ramp]
driver = "sim.ramp"
options = { rate_hz = 2000.0, batch_size = 100 }

[storage]
formats = ["hdf5", "arrow", "parquet", "csv"]
flush_interval = "200ms"
"""

PROGRESS = re.compile(r"ramp\s.*\s([1-9]\d*) rows ")


class Run:
    """`arrowdaq run` in the background; stderr is collected by a thread so that the test can
    wait for acquisition (a progress line with rows) instead of sleeping."""

    def __init__(self, tmp_path, duration, stdout=subprocess.PIPE, stderr=subprocess.PIPE):
        cfg = write_config(tmp_path, CONFIG)
        self.out = tmp_path / "out"
        self.proc = subprocess.Popen(
            [ARROWDAQ, "run", str(cfg), "--duration", duration, "--output", str(self.out)],
            stdout=stdout, stderr=stderr, text=True)
        self.lines = []
        self.acquiring = threading.Event()
        self.reader = None
        if stderr == subprocess.PIPE:
            self.reader = threading.Thread(target=self._read, args=(self.proc.stderr,), daemon=True)
            self.reader.start()

    def _read(self, stream):
        for line in stream:
            self.lines.append(line)
            if PROGRESS.search(line):
                self.acquiring.set()

    def wait_acquiring(self):
        assert self.acquiring.wait(60), "no progress line with rows:\n" + "".join(self.lines)

    def finish(self, timeout=60):
        self.proc.wait(timeout=timeout)
        if self.reader is not None:
            self.reader.join(timeout)
        if self.proc.stdout is not None and not self.proc.stdout.closed:
            self.proc.stdout.read()
        return "".join(self.lines)


def read_arrow(path):
    # The file format with its footer: a writer that was not closed leaves none (and a
    # <stream>.arrow.partial name), which this refuses.
    return ipc.open_file(path).read_all()


def assert_files_closed_and_complete(run_dir, outcome):
    summary = load_summary(run_dir)
    assert summary["outcome"] == outcome, summary
    (stream,) = summary["streams"]
    rows = stream["rows"]
    assert rows > 0
    expected = ramp(np.arange(rows))
    # A plain reader: no SWMR. A file left open by a killed writer is refused here.
    with h5py.File(run_dir / "run.h5", "r") as f:
        assert f.attrs["stop_time"]
        np.testing.assert_array_equal(f["ramp/ch0"][:], expected)
    np.testing.assert_array_equal(read_arrow(run_dir / "ramp.arrow")["ch0"].to_numpy(), expected)
    assert not list(run_dir.rglob("*.partial")), "a file was left unfinished"
    segments = sorted((run_dir / "ramp").glob("part-*.parquet"))
    assert segments, sorted(p.name for p in run_dir.rglob("*"))
    table = pa.concat_tables([pq.read_table(p) for p in segments])
    np.testing.assert_array_equal(table["ch0"].to_numpy(), expected)
    csv = pacsv.read_csv(run_dir / "ramp.csv")
    np.testing.assert_array_equal(csv.column(1).to_numpy(), expected)
    return summary


STOP = [signal.SIGHUP, signal.SIGQUIT, signal.SIGTERM, signal.SIGPWR, signal.SIGXCPU]


@pytest.mark.parametrize("sig", STOP, ids=[s.name for s in STOP])
def test_a_stop_signal_ends_the_run_cleanly(tmp_path, sig):
    r = Run(tmp_path, "60s")
    r.wait_acquiring()
    r.proc.send_signal(sig)
    stderr = r.finish()
    assert r.proc.returncode == 0, stderr
    assert f"{sig.name} received: stopping the run cleanly" in stderr
    assert_files_closed_and_complete(only_run_dir(r.out), "stopped")


IGNORED = [signal.SIGUSR1, signal.SIGUSR2, signal.SIGALRM, signal.SIGRTMIN]


@pytest.mark.parametrize("sig", IGNORED, ids=[s.name for s in IGNORED])
def test_a_signal_without_meaning_is_ignored_with_a_note(tmp_path, sig):
    r = Run(tmp_path, "2s")
    r.wait_acquiring()
    r.proc.send_signal(sig)
    stderr = r.finish()
    assert r.proc.returncode == 0, stderr
    assert " ignored (a run stops on SIGINT" in stderr, stderr
    summary = assert_files_closed_and_complete(only_run_dir(r.out), "ok")
    assert summary["duration_s"] >= 1.9, "the run went on to its duration"


def test_a_closed_pipe_on_stdout_and_stderr_never_stops_acquisition(tmp_path):
    # `arrowdaq run ... 2>&1 | head -1`: the reader goes away after the first line.
    r = Run(tmp_path, "2s", stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    first = r.proc.stdout.readline()
    assert first, "no output at all"
    r.proc.stdout.close()
    r.proc.wait(timeout=60)
    assert r.proc.returncode == 0, f"exit {r.proc.returncode} (-13 or 141 is SIGPIPE)"
    summary = assert_files_closed_and_complete(only_run_dir(r.out), "ok")
    assert summary["duration_s"] >= 1.9


def test_a_closed_stdout_loses_only_the_printed_summary(tmp_path):
    r = Run(tmp_path, "1s", stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    r.proc.stdout.close()  # before the end-of-run summary is printed
    r.proc.wait(timeout=60)
    assert r.proc.returncode == 0
    assert_files_closed_and_complete(only_run_dir(r.out), "ok")

"""A run's end is one instant for every stream, however many instruments it has.

With 200 simulated instruments the run must stop them together: no stream holds a sample
stamped after the instant acquisition ended (the old sequential stop let the last instruments
go on for N x one batch period: 100 instruments at 10 batches/s ended 8.8 s apart), the
summary's duration is the acquisition's, and the files hold exactly what the summary says
(checked with h5py, sequence numbers complete). No assertion depends on how loaded the machine
is, beyond generous bounds.
"""
import h5py
import numpy as np

from arrowdaq_testlib import load_summary, only_run_dir, run, write_config

N = 200
RATE = 100.0   # Hz per instrument
BATCH = 10     # rows per batch: one batch every 0.1 s
DURATION = 3.0


def _config():
    parts = ['[run]\nname = "many"\nlog_level = "warn"\n']
    for i in range(N):
        parts.append(f'[instruments.r{i:03d}]\ndriver = "sim.ramp"\n'
                     f'options = {{ rate_hz = {RATE}, batch_size = {BATCH} }}\n')
    return "\n".join(parts)


def test_two_hundred_instruments_end_at_one_instant(tmp_path):
    cfg = write_config(tmp_path, _config())
    out = tmp_path / "out"
    r = run(["run", str(cfg), "--duration", f"{DURATION}s", "--output", str(out)], timeout=300)
    assert r.returncode == 0, r.stderr
    run_dir = only_run_dir(out)
    summary = load_summary(run_dir)
    streams = summary["streams"]
    assert len(streams) == N
    batch_period = BATCH / RATE
    # The acquisition lasted the requested time (a stop that waited for each instrument in
    # turn made this 10 s run report 10 s but record up to 19 s).
    assert DURATION <= summary["duration_s"] < DURATION + 1.0, summary["duration_s"]
    last = np.array([np.datetime64(s["last_timestamp"].rstrip("Z"), "ns") for s in streams])
    end = np.datetime64(summary["acquisition_end"].rstrip("Z"), "ns")
    # One instant: the router sealed every stream at `acquisition_end`, and a simulated source
    # releases a batch only once its last sample is due, so no stream holds a sample stamped
    # after it (10 ms for the wall/steady clock mapping). With the old one-by-one stop the
    # last instruments went on for N x 0.1 s = 20 s past the first one's end.
    late = (last - end) / np.timedelta64(1, "s")
    assert late.max() <= 0.01, sorted(late)[-5:]
    for s in streams:
        assert s["missing_sequences"] == 0 and s["first_sequence"] == 0
        assert s["packets"] == s["last_sequence"] + 1
        assert s["time_span_s"] <= summary["duration_s"] + batch_period, s
        assert s["rows"] > 0, s
    with h5py.File(run_dir / "run.h5", "r") as f:
        for s in streams:
            values = f[s["name"]]["ch0"][:]
            assert len(values) == s["rows"]
            # sim.ramp's value is the sample index: complete and in order from 0.
            np.testing.assert_array_equal(values, np.arange(len(values), dtype=np.float64))

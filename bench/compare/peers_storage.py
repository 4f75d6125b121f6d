"""The storage peers: h5py appending the same batches (resize + write per column dataset) and
pyarrow writing the same batches as an IPC stream and as Parquet (zstd level 3), with the same
volume per trial and a flush at the end, like storage_benchmark's BM_Write/<format>/<rows>:
one stream of timestamp + 4 float64 channels, 32 MiB of batches per trial."""
import os
import shutil
import tempfile
import time

import h5py
import numpy as np
import pyarrow as pa
import pyarrow.ipc as ipc
import pyarrow.parquet as pq

CHANNELS = 4
VOLUME = 32 << 20
CHUNK_ROWS = 65536  # the arrowdaq HDF5 writer's default chunk


def make_batch(rows):
    ts = pa.array(np.arange(rows, dtype=np.int64) * 1000, type=pa.timestamp("ns", tz="UTC"))
    cols = [ts] + [pa.array(np.arange(rows, dtype=np.float64) + c + 1) for c in range(CHANNELS)]
    names = ["timestamp"] + [f"ch{c}" for c in range(CHANNELS)]
    return pa.RecordBatch.from_arrays(cols, names=names)


def batches_per_trial(rows):
    return max(1, VOLUME // (rows * 8 * (1 + CHANNELS)))


def _best(fn, repeats):
    best = float("inf")
    for _ in range(repeats):
        best = min(best, fn())
    return best


def h5py_rate(directory, rows, repeats=3):
    """Rows/s appending `rows`-row batches to chunked, extendible datasets (one per column)."""
    batch = make_batch(rows)
    ts = batch.column(0).cast(pa.int64()).to_numpy()
    chans = [batch.column(c + 1).to_numpy() for c in range(CHANNELS)]
    n = batches_per_trial(rows)

    def trial():
        path = os.path.join(directory, "peer.h5")
        with h5py.File(path, "w", libver="latest") as f:
            g = f.create_group("s")
            chunk = min(CHUNK_ROWS, 1 << 17)
            dsets = [g.create_dataset("timestamp", shape=(0,), maxshape=(None,), dtype="i8",
                                      chunks=(chunk,))]
            dsets += [g.create_dataset(f"ch{c}", shape=(0,), maxshape=(None,), dtype="f8",
                                       chunks=(chunk,)) for c in range(CHANNELS)]
            t0 = time.perf_counter()
            size = 0
            for _ in range(n):
                for d, a in zip(dsets, [ts] + chans):
                    d.resize((size + rows,))
                    d[size:size + rows] = a
                size += rows
            f.flush()
            dt = time.perf_counter() - t0
        os.unlink(path)
        return dt

    return n * rows / _best(trial, repeats)


def pyarrow_ipc_rate(directory, rows, repeats=3):
    """Rows/s writing `rows`-row batches to an Arrow IPC stream file."""
    batch = make_batch(rows)
    n = batches_per_trial(rows)

    def trial():
        path = os.path.join(directory, "peer.arrows")
        t0 = time.perf_counter()
        with pa.OSFile(path, "wb") as sink, ipc.new_stream(sink, batch.schema) as w:
            for _ in range(n):
                w.write_batch(batch)
            sink.flush()
        dt = time.perf_counter() - t0
        os.unlink(path)
        return dt

    return n * rows / _best(trial, repeats)


def pyarrow_parquet_rate(directory, rows, repeats=3):
    """Rows/s writing `rows`-row batches to Parquet (zstd level 3, one row group per batch as
    write_batch makes it)."""
    batch = make_batch(rows)
    n = batches_per_trial(rows)

    def trial():
        path = os.path.join(directory, "peer.parquet")
        t0 = time.perf_counter()
        with pq.ParquetWriter(path, batch.schema, compression="zstd",
                              compression_level=3) as w:
            for _ in range(n):
                w.write_batch(batch)
        dt = time.perf_counter() - t0
        os.unlink(path)
        return dt

    return n * rows / _best(trial, repeats)


def run_all(base_dir, sizes, repeats):
    """Return {"h5py": {rows: rows/s}, "pyarrow_ipc": ..., "pyarrow_parquet": ...}."""
    directory = tempfile.mkdtemp(prefix="arrowdaq-peers-", dir=base_dir)
    try:
        out = {"h5py": {}, "pyarrow_ipc": {}, "pyarrow_parquet": {}}
        for rows in sizes:
            out["h5py"][rows] = h5py_rate(directory, rows, repeats)
            out["pyarrow_ipc"][rows] = pyarrow_ipc_rate(directory, rows, repeats)
            out["pyarrow_parquet"][rows] = pyarrow_parquet_rate(directory, rows, repeats)
        return out
    finally:
        shutil.rmtree(directory, ignore_errors=True)


ROW_BYTES = 8 * (1 + CHANNELS)

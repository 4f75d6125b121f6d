"""`open_run(path)`: a finished run's streams as pyarrow Tables, its events and summary.

Reads the files `arrowdaq run` (and a server's recordings) leave, with the conventions of
docs/file-format.md: every table is ``timestamp: timestamp[ns, UTC]`` then the channels, units
in each field's ``unit`` metadata. Formats: ``hdf5`` (run.h5, through h5py), ``arrow``
(``<stream>.arrow``), ``parquet`` (``<stream>/*.parquet``), ``csv`` (``<stream>.csv`` and
``<stream>.units.csv``). Nothing is read until asked for; tables are read whole.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Dict, List, Optional, Union

import numpy as np
import pyarrow as pa

from .errors import RunFormatError, UnknownStreamError

FORMATS = ("hdf5", "arrow", "parquet", "csv")
_HDF5_RESERVED = {"entry", "events", "metadata"}
_TIME_UNITS = "nanoseconds since 1970-01-01T00:00:00Z"


class Run:
    """A finished run directory. ``streams`` (names), ``format`` (the one read),
    ``formats`` (every one present), :meth:`table`, :attr:`tables`, :attr:`events`,
    :attr:`summary`, :attr:`run_id`."""

    def __init__(self, directory: Path, format: Optional[str] = None) -> None:
        self.directory = directory
        self.formats = _present_formats(directory)
        if not self.formats:
            raise RunFormatError(f"{directory}: not an arrowdaq run (no run.h5, *.arrow, "
                                 f"<stream>/*.parquet or *.csv in it)")
        if format is not None:
            format = "arrow" if format == "arrows" else format
            if format not in FORMATS:
                raise RunFormatError(f"open_run: unknown format {format!r}; expected one of {', '.join(FORMATS)}")
            if format not in self.formats:
                raise RunFormatError(f"{directory}: no {format} files (present: {', '.join(self.formats)})")
        self.format = format or self.formats[0]
        self.streams: List[str] = _stream_names(directory, self.format)
        self._tables: Dict[str, pa.Table] = {}

    @property
    def run_id(self) -> str:
        return str(self.summary.get("run_id", self.directory.name)) if self.summary else self.directory.name

    @property
    def summary(self) -> Dict[str, Any]:
        """``summary.json`` (empty when the run has none, e.g. it was killed)."""
        p = self.directory / "summary.json"
        return dict(json.loads(p.read_text())) if p.is_file() else {}

    @property
    def events(self) -> List[Dict[str, Any]]:
        """The event table (``time_ns``, ``stream``, ``kind``, ``message``), from run.h5 (the
        only format that stores it); an empty list without run.h5."""
        h5 = self.directory / "run.h5"
        if not h5.is_file():
            return []
        h5py = _h5py()
        with h5py.File(h5, "r", libver="latest", swmr=True) as f:
            if "events" not in f:
                return []
            ev = f["events"][:]
        def dec(b: bytes) -> str:
            return b.rstrip(b"\0").decode("utf-8", "replace")
        return [{"time_ns": int(e["time"]), "stream": dec(e["stream"]), "kind": dec(e["kind"]),
                 "message": dec(e["message"])} for e in ev]

    def table(self, stream: str) -> pa.Table:
        """One stream as a ``pyarrow.Table``."""
        if stream not in self.streams:
            raise UnknownStreamError(f"{self.directory}: no stream '{stream}' in the {self.format} "
                                     f"files (streams: {', '.join(self.streams) or 'none'})")
        if stream not in self._tables:
            reader = {"hdf5": _read_hdf5, "arrow": _read_arrow, "parquet": _read_parquet,
                      "csv": _read_csv}[self.format]
            self._tables[stream] = reader(self.directory, stream)
        return self._tables[stream]

    @property
    def tables(self) -> Dict[str, pa.Table]:
        """Every stream's table, by name."""
        return {s: self.table(s) for s in self.streams}

    def __getitem__(self, stream: str) -> pa.Table:
        return self.table(stream)

    def __repr__(self) -> str:
        return f"<arrowdaq.Run {str(self.directory)!r} {self.format}: {', '.join(self.streams)}>"


def open_run(path: Union[str, Path], format: Optional[str] = None) -> Run:
    """Open a finished run directory (or its ``run.h5``). ``format``: which files to read
    (``hdf5``, ``arrow``, ``parquet``, ``csv``); default the first present in that order."""
    p = Path(path)
    if p.is_file() and p.name.endswith(".h5"):
        p, format = p.parent, format or "hdf5"
    if not p.is_dir():
        raise RunFormatError(f"{p}: no such run directory")
    return Run(p, format)


def _present_formats(d: Path) -> List[str]:
    out = []
    if (d / "run.h5").is_file():
        out.append("hdf5")
    if any(d.glob("*.arrow")):
        out.append("arrow")
    if any(x.is_dir() and any(x.glob("*.parquet")) for x in d.iterdir()):
        out.append("parquet")
    if any(_is_stream_csv(x) for x in d.glob("*.csv")):
        out.append("csv")
    return out


def _is_stream_csv(p: Path) -> bool:
    return not (p.name.endswith(".units.csv") or p.name.endswith(".metadata.csv"))


def _stream_names(d: Path, fmt: str) -> List[str]:
    if fmt == "hdf5":
        h5py = _h5py()
        with h5py.File(d / "run.h5", "r", libver="latest", swmr=True) as f:
            return [k for k, v in f.items() if k not in _HDF5_RESERVED and isinstance(v, h5py.Group)]
    if fmt == "arrow":
        return sorted(p.name[: -len(".arrow")] for p in d.glob("*.arrow"))
    if fmt == "parquet":
        return sorted(x.name for x in d.iterdir() if x.is_dir() and any(x.glob("*.parquet")))
    return sorted(p.name[: -len(".csv")] for p in d.glob("*.csv") if _is_stream_csv(p))


def _h5py() -> Any:
    try:
        import h5py
    except ImportError:  # pragma: no cover - depends on the environment
        raise RunFormatError("reading run.h5 needs h5py: pip install 'arrowdaq[hdf5]'") from None
    return h5py


def _text(v: Any) -> str:
    if isinstance(v, bytes):
        return v.rstrip(b"\0").decode("utf-8", "replace")
    if isinstance(v, np.ndarray):
        return json.dumps(v.tolist())
    return str(v)


def _read_hdf5(d: Path, stream: str) -> pa.Table:
    h5py = _h5py()
    with h5py.File(d / "run.h5", "r", libver="latest", swmr=True) as f:
        g = f[stream]
        names = [k for k in g.keys() if k != "timestamp" and not _is_index(g, k)]
        fields = [pa.field("timestamp", pa.timestamp("ns", tz="UTC"), nullable=False,
                           metadata={"unit": _TIME_UNITS})]
        arrays = [pa.array(g["timestamp"][:].astype(np.int64)).cast(pa.timestamp("ns", tz="UTC"))]
        for name in names:
            ds = g[name]
            data = ds[:]
            md = {k: _text(v) for k, v in ds.attrs.items()
                  if k not in ("DIMENSION_LIST", "REFERENCE_LIST", "CLASS", "NAME", "units")}
            md["unit"] = _text(ds.attrs.get("units", ""))
            md.pop("shape", None)
            md.pop("interpretation", None)
            if data.ndim == 1:
                arr = pa.array(data)
            else:
                arr = _tensor_array(data)
            fields.append(pa.field(name, arr.type, nullable=False, metadata=md))
            arrays.append(arr)
        smd = {("arrowdaq.format_version" if k == "format_version" else k): _text(v)
               for k, v in g.attrs.items()
               if k not in ("NX_class", "signal", "axes", "auxiliary_signals") and not k.endswith("_indices")}
    return pa.Table.from_arrays(arrays, schema=pa.schema(fields, metadata=smd))


def _is_index(g: Any, name: str) -> bool:
    return any(name == f"{k}_dim{i}" for k in g.keys() for i in range(1, 8))


def _tensor_array(data: np.ndarray) -> pa.Array:
    shape = list(data.shape[1:])
    flat = pa.array(data.reshape(-1))
    storage = pa.FixedSizeListArray.from_arrays(flat, int(np.prod(shape)))
    if len(shape) == 1:
        return storage
    return pa.ExtensionArray.from_storage(pa.fixed_shape_tensor(flat.type, shape), storage)


def _read_arrow(d: Path, stream: str) -> pa.Table:
    import pyarrow.ipc as ipc
    with pa.memory_map(str(d / f"{stream}.arrow")) as source:
        return ipc.open_file(source).read_all()


def _read_parquet(d: Path, stream: str) -> pa.Table:
    import pyarrow.parquet as pq
    parts = sorted((d / stream).glob("*.parquet"))
    return pa.concat_tables([pq.read_table(p) for p in parts])


def _read_csv(d: Path, stream: str) -> pa.Table:
    import pyarrow.csv as pacsv
    table = pacsv.read_csv(d / f"{stream}.csv")
    units_path = d / f"{stream}.units.csv"
    units: Dict[str, Dict[str, str]] = {}
    if units_path.is_file():
        u = pacsv.read_csv(units_path, convert_options=pacsv.ConvertOptions(
            column_types={"column": pa.string(), "units": pa.string(), "description": pa.string()},
            strings_can_be_null=False))
        for col, unit, desc in zip(*(u.column(i).to_pylist() for i in range(3))):
            units[col] = {"unit": unit or "", "description": desc or ""}
    fields = []
    for f in table.schema:
        t = f.type
        if f.name == "timestamp":
            t = pa.timestamp("ns", tz="UTC")
        fields.append(pa.field(f.name, t, metadata=units.get(f.name)))
    schema = pa.schema(fields)
    return table.cast(schema)

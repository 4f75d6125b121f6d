"""Bluesky/ophyd devices over arrowdaq streams (needs the ``[bluesky]`` extra: ophyd, bluesky).

:func:`stream_detector` makes an ophyd ``Device`` for one stream: ``trigger()`` waits for the
next complete window of samples published after the trigger (``dwell_rows`` rows, or ``dwell``
seconds of sample time; default one batch) and ``read()`` gives, per channel, the window's mean
(``<name>_<channel>``, hinted) and standard deviation (``<name>_<channel>_std``), plus the
window's row ``count`` and the ``first_sequence`` / ``last_sequence`` of its packets (so every
event names exactly which samples it averaged). Timestamps are the last sample's; ``describe()``
gives shape, dtype, source ``arrowdaq://<server>/<stream>`` and the stream's units.

:class:`CommandSignal` is a settable ophyd ``Signal`` backed by instrument commands:
``set(v)`` sends ``write.format(value=v)`` and completes when the instrument has replied.

Threads: each trigger runs its wait in one short-lived thread (the status completes from
there); one device is triggered by one plan at a time, as Bluesky does.
"""
from __future__ import annotations

import math
import re
import threading
import time
from typing import Any, Callable, Dict, List, Optional, Sequence
from urllib.parse import urlparse

import numpy as np
import pyarrow as pa

try:
    from ophyd import Component as Cpt
    from ophyd import Device, Kind, Signal
    from ophyd.status import DeviceStatus, Status
except ImportError as e:  # pragma: no cover - depends on the environment
    raise ImportError("arrowdaq.ophyd needs ophyd and bluesky: pip install 'arrowdaq[bluesky]'") from e

from .client import Client, StreamInfo
from .errors import ArrowdaqError, ArrowdaqTimeoutError

__all__ = ["StreamDetector", "stream_detector", "stream_detectors", "CommandSignal", "source_of"]


def source_of(client: Client, what: str) -> str:
    """``arrowdaq://<host:port>/<what>`` for a client's server."""
    u = urlparse(client.uri)
    where = u.netloc or u.path
    return f"arrowdaq://{where}/{what}"


class _StreamSignal(Signal):
    """A value computed from a window of samples, described with the stream's units."""

    def __init__(self, *args: Any, units: str = "", dtype: str = "number",
                 dtype_numpy: str = "<f8", **kwargs: Any) -> None:
        kwargs.setdefault("value", 0 if dtype == "integer" else math.nan)
        super().__init__(*args, **kwargs)
        self._units = units
        self._dtype = dtype
        self._dtype_numpy = dtype_numpy

    def describe(self) -> Dict[str, Dict[str, Any]]:
        d = super().describe()
        desc = d[self.name]
        desc.update(dtype=self._dtype, dtype_numpy=self._dtype_numpy, shape=[])
        parent = self.root
        if isinstance(parent, StreamDetector):
            desc["source"] = parent.source
        if self._units:
            desc["units"] = self._units
        return d


def _identifier(text: str) -> str:
    s = re.sub(r"\W", "_", text)
    return s if s and not s[0].isdigit() else f"s_{s}"


class StreamDetector(Device):
    """Base class of the per-stream devices made by :func:`stream_detector`."""

    count = Cpt(_StreamSignal, kind=Kind.normal, dtype="integer", dtype_numpy="<i8", value=0)
    first_sequence = Cpt(_StreamSignal, kind=Kind.normal, dtype="integer", dtype_numpy="<i8", value=-1)
    last_sequence = Cpt(_StreamSignal, kind=Kind.normal, dtype="integer", dtype_numpy="<i8", value=-1)
    dwell_rows = Cpt(Signal, kind=Kind.config, value=0)
    dwell_seconds = Cpt(Signal, kind=Kind.config, value=0.0)

    _channel_attrs: Dict[str, str] = {}

    def __init__(self, *args: Any, client: Client, stream: str, dwell: Optional[float] = None,
                 dwell_rows: Optional[int] = None, timeout: float = 30.0, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if dwell is not None and dwell_rows is not None:
            raise ValueError("stream_detector: pass dwell (seconds) or dwell_rows, not both")
        if dwell is not None and not dwell > 0:
            raise ValueError(f"stream_detector: dwell must be > 0 seconds, got {dwell!r}")
        if dwell_rows is not None and dwell_rows < 1:
            raise ValueError(f"stream_detector: dwell_rows must be >= 1, got {dwell_rows!r}")
        self.client = client
        self.stream = stream
        self.source = source_of(client, stream)
        self.timeout = float(timeout)
        self.dwell_rows.put(int(dwell_rows or 0))
        self.dwell_seconds.put(float(dwell or 0.0))
        self.window: Optional[pa.Table] = None  # the samples of the last trigger

    def _window_done(self, rows: int, first_ts: int, last_ts: int, period_ns: int) -> bool:
        want_rows = int(self.dwell_rows.get())
        want_s = float(self.dwell_seconds.get())
        if want_rows:
            return rows >= want_rows
        if want_s:
            return last_ts - first_ts + period_ns >= int(round(want_s * 1e9))
        return rows > 0  # one batch

    def _acquire(self) -> None:
        batches: List[pa.RecordBatch] = []
        first_seq = last_seq = -1
        rows = 0
        deadline = time.monotonic() + self.timeout + float(self.dwell_seconds.get())
        period_ns = 0
        with self.client.subscribe(self.stream, "live", on_gap="raise",
                                   timeout=max(0.001, deadline - time.monotonic())) as sub:
            for info, batch in sub.with_info():
                if batch.num_rows == 0:
                    continue
                if first_seq < 0:
                    first_seq = info.sequence
                last_seq = info.sequence
                batches.append(batch)
                rows += batch.num_rows
                ts = batch.column(0).cast(pa.int64())
                if not period_ns and batch.num_rows > 1:
                    period_ns = (ts[1].as_py() - ts[0].as_py())
                first_ts = batches[0].column(0).cast(pa.int64())[0].as_py()
                if self._window_done(rows, first_ts, ts[-1].as_py(), period_ns):
                    break
                if time.monotonic() > deadline:
                    raise ArrowdaqTimeoutError(f"{self.name}: the window of '{self.stream}' was not "
                                               f"complete within {self.timeout} s")
            else:
                raise ArrowdaqError(f"{self.name}: stream '{self.stream}' ended during a trigger")
        table = pa.Table.from_batches(batches)
        want_rows = int(self.dwell_rows.get())
        if want_rows:
            table = table.slice(0, want_rows)
        elif float(self.dwell_seconds.get()):
            ts = table.column(0).cast(pa.int64()).to_numpy()
            keep = int(np.searchsorted(ts, ts[0] + int(round(float(self.dwell_seconds.get()) * 1e9))))
            table = table.slice(0, max(1, keep))
        self.window = table
        ts_last = table.column(0).cast(pa.int64())[-1].as_py() / 1e9
        for column, attr in self._channel_attrs.items():
            values = table.column(column).to_numpy()
            getattr(self, attr).put(float(np.mean(values)), timestamp=ts_last)
            getattr(self, attr + "_std").put(float(np.std(values)), timestamp=ts_last)
        self.count.put(int(table.num_rows), timestamp=ts_last)
        self.first_sequence.put(int(first_seq), timestamp=ts_last)
        self.last_sequence.put(int(last_seq), timestamp=ts_last)

    def trigger(self) -> DeviceStatus:
        status = DeviceStatus(self)

        def run() -> None:
            try:
                self._acquire()
            except Exception as e:  # reaches the plan through the status
                status.set_exception(e)
            else:
                status.set_finished()
        threading.Thread(target=run, name=f"arrowdaq-trigger-{self.name}", daemon=True).start()
        return status


def _numeric(t: pa.DataType) -> bool:
    return pa.types.is_integer(t) or pa.types.is_floating(t)


def stream_detector(client: Client, stream: str, *, name: Optional[str] = None,
                    channels: Optional[Sequence[str]] = None, dwell: Optional[float] = None,
                    dwell_rows: Optional[int] = None, timeout: float = 30.0) -> StreamDetector:
    """An ophyd device for `stream` (see the module's description). ``channels``: which
    numeric columns to average (default all); ``name``: the device name (default the stream's
    name made an identifier); ``dwell``/``dwell_rows``: the window (default one batch)."""
    info: StreamInfo = client.stream(stream)
    numeric = [f.name for f in info.schema if f.name != "timestamp" and _numeric(f.type)]
    chosen = list(channels) if channels is not None else numeric
    unknown = [c for c in chosen if c not in numeric]
    if unknown:
        raise ValueError(f"stream_detector: stream '{stream}' has no numeric channel(s) "
                         f"{', '.join(unknown)} (it has {', '.join(numeric) or 'none'})")
    attrs: Dict[str, Any] = {}
    channel_attrs: Dict[str, str] = {}
    for col in chosen:
        attr = _identifier(col)
        channel_attrs[col] = attr
        attrs[attr] = Cpt(_StreamSignal, kind=Kind.hinted, units=info.units.get(col, ""))
        attrs[attr + "_std"] = Cpt(_StreamSignal, kind=Kind.normal, units=info.units.get(col, ""))
    attrs["_channel_attrs"] = channel_attrs
    cls = type(f"StreamDetector_{_identifier(stream)}", (StreamDetector,), attrs)
    return cls(name=name or _identifier(stream), client=client, stream=stream, dwell=dwell,
               dwell_rows=dwell_rows, timeout=timeout)


def stream_detectors(client: Client, **kwargs: Any) -> Dict[str, StreamDetector]:
    """One :func:`stream_detector` per stream with numeric channels, by stream name."""
    out = {}
    for s in client.streams():
        if any(f.name != "timestamp" and _numeric(f.type) for f in s.schema):
            out[s.name] = stream_detector(client, s.name, **kwargs)
    return out


class CommandSignal(Signal):
    """A settable instrument parameter behind commands.

    ``write``: the command that sets it, with ``{value}`` (e.g. ``"VOLT:DC:NPLC {value}"``);
    ``read``: the query that reads it back (e.g. ``"VOLT:DC:NPLC?"``) or ``None`` (then
    ``get()`` returns the last value set); ``parse``: turns a reply into the value (default
    ``float``). ``set(v)`` returns a Status that completes when the instrument has replied
    (and, with ``read``, after the read-back) and fails with the instrument's error.
    """

    def __init__(self, client: Client, instrument: str, write: str, read: Optional[str] = None, *,
                 parse: Callable[[str], Any] = float, units: str = "", name: str = "",
                 **kwargs: Any) -> None:
        kwargs.setdefault("value", None)
        super().__init__(name=name or _identifier(instrument), **kwargs)
        self.client = client
        self.instrument = instrument
        self.write_command = write
        self.read_command = read
        self.parse = parse
        self._units = units
        self.source = source_of(client, instrument)

    def get(self, **kwargs: Any) -> Any:
        if self.read_command:
            value = self.parse(self.client.send(self.instrument, self.read_command))
            super().put(value)
        return super().get(**kwargs)

    def put(self, value: Any, **kwargs: Any) -> None:
        self.client.send(self.instrument, self.write_command.format(value=value))
        super().put(self.parse(self.client.send(self.instrument, self.read_command))
                    if self.read_command else value, **kwargs)

    def set(self, value: Any, **kwargs: Any) -> Status:
        status = Status(self)

        def run() -> None:
            try:
                self.put(value)
            except Exception as e:
                status.set_exception(e)
            else:
                status.set_finished()
        threading.Thread(target=run, name=f"arrowdaq-set-{self.name}", daemon=True).start()
        return status

    def describe(self) -> Dict[str, Dict[str, Any]]:
        value = super().get()
        d: Dict[str, Any] = {"source": self.source, "dtype": "number" if isinstance(value, (int, float)) else "string",
             "shape": []}
        if self._units:
            d["units"] = self._units
        return {self.name: d}

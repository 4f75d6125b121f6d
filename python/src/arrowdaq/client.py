"""`Client`: an arrowdaq server (`arrowdaq serve`) from Python, over pyarrow.flight.

One Client holds one gRPC connection (``pyarrow.flight.FlightClient``); its methods may be
called from several threads at once (gRPC calls are thread-safe), but a single
:class:`Subscription` is read by one thread. Tables and batches are pyarrow's own objects, passed
on without copies: ``table.to_pandas()`` and ``polars.from_arrow(table)`` convert them.
"""
from __future__ import annotations

import json
import math
import os
import re
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, Iterator, List, Mapping, NamedTuple, Optional, Sequence, Tuple, Union

import numpy as np
import pyarrow as pa
import pyarrow.flight as fl

from . import errors as E
from .errors import GapError, GapWarning

DEFAULT_URI = "grpc://127.0.0.1:8815"
GapPolicy = str  # "raise" | "warn" | "ignore"
Start = Union[str, int]
_GAP_POLICIES = ("raise", "warn", "ignore")


@dataclass(frozen=True)
class StreamInfo:
    """A stream as the server describes it (its flight): name, schema, units and rates.

    ``units`` maps column name to unit (from each field's ``unit`` metadata);
    ``info`` is the server's full description (``kind``, ``state``, ``packets``, ``rows``,
    ``next_sequence``, ``dropped``, ...; see docs/server.md, "Flights").
    """
    name: str
    schema: pa.Schema
    units: Dict[str, str]
    kind: str
    state: str
    nominal_rate_hz: Optional[float]
    measured_rate_hz: Optional[float]
    next_sequence: int
    info: Dict[str, Any] = field(repr=False)

    @property
    def channels(self) -> List[str]:
        """The data columns (every column but ``timestamp``)."""
        return [n for n in self.schema.names if n != "timestamp"]


class BatchInfo(NamedTuple):
    """The server's app_metadata of one batch: its stream, sequence number and the running
    count of this stream's packets this client lost before it."""
    stream: str
    sequence: int
    dropped: int


def _units(schema: pa.Schema) -> Dict[str, str]:
    out = {}
    for f in schema:
        md = f.metadata or {}
        out[f.name] = md.get(b"unit", b"").decode("utf-8", "replace")
    return out


def _stream_info(info: fl.FlightInfo) -> StreamInfo:
    meta = json.loads(bytes(info.app_metadata) or b"{}") if info.app_metadata else {}
    name = meta.get("name") or info.descriptor.path[0].decode()
    return StreamInfo(name=name, schema=info.schema, units=_units(info.schema),
                      kind=meta.get("kind", ""), state=meta.get("state", ""),
                      nominal_rate_hz=meta.get("nominal_rate_hz"),
                      measured_rate_hz=meta.get("measured_rate_hz"),
                      next_sequence=int(meta.get("next_sequence", 0)), info=meta)


class Client:
    """A connection to an arrowdaq server.

    ``uri``: ``grpc://host:port`` (``grpc+tls://`` for TLS, ``grpc+unix:///path``). ``token``:
    the server's bearer token; ``None`` reads ``ARROWDAQ_TOKEN`` from the environment (absent:
    no token). ``timeout``: seconds for each control call and for connecting; the constructor
    makes one call, so an unreachable server or a wrong token fails here, with a
    :class:`~arrowdaq.errors.ServerUnreachableError` (a ``ConnectionError``) naming the URI or an
    :class:`~arrowdaq.errors.AuthenticationError`. ``tls_root_certs``: PEM bytes of the server's
    certificate or CA.

    Use it as a context manager (``with Client(...) as daq:``) or call :meth:`close`.
    """

    def __init__(self, uri: str = DEFAULT_URI, token: Optional[str] = None, *,
                 timeout: float = 10.0, tls_root_certs: Optional[bytes] = None) -> None:
        if token is None:
            token = os.environ.get("ARROWDAQ_TOKEN") or None
        if token is not None and not re.fullmatch(r"[\x21-\x7e]+", token.strip()):
            raise E.InvalidRequestError("token: expected printable ASCII characters without spaces "
                                        "(the server's token file's content)")
        self.uri = uri
        self.timeout = float(timeout)
        headers = [(b"authorization", b"Bearer " + token.strip().encode())] if token else []
        self._headers = headers
        kw: Dict[str, Any] = {}
        if tls_root_certs is not None:
            kw["tls_root_certs"] = tls_root_certs
        try:
            self._flight = fl.FlightClient(uri, **kw)
        except (pa.ArrowException, ValueError) as e:
            raise E.InvalidRequestError(f"cannot connect to {uri!r}: {e}") from None
        self._closed = False
        try:  # one cheap authenticated call: unreachable servers and wrong tokens fail here
            list(self._flight.list_actions(options=self._options()))
        except Exception as e:
            self._flight.close()
            self._closed = True
            raise self._error(e, "connect") from None

    # -- plumbing ---------------------------------------------------------------------------

    def _options(self, timeout: Optional[float] = -1.0) -> fl.FlightCallOptions:
        t = self.timeout if timeout == -1.0 else timeout
        return fl.FlightCallOptions(headers=self._headers, timeout=t)

    def _error(self, exc: BaseException, what: str = "", kind: str = "") -> E.ArrowdaqError:
        if isinstance(exc, E.ArrowdaqError):
            return exc
        return E.translate(exc, self.uri, what=what, kind=kind)

    def action(self, name: str, body: Optional[Mapping[str, Any]] = None, *, kind: str = "",
               timeout: Optional[float] = -1.0) -> Dict[str, Any]:
        """Run one DoAction with a JSON body and return its JSON answer (docs/server.md)."""
        self._check_open()
        raw = json.dumps(dict(body or {})).encode()
        try:
            results = list(self._flight.do_action(fl.Action(name, raw), options=self._options(timeout)))
        except Exception as e:
            raise self._error(e, name, kind) from None
        if len(results) != 1:
            raise E.ArrowdaqError(f"{name}: expected one result from {self.uri}, got {len(results)}")
        answer: Dict[str, Any] = json.loads(results[0].body.to_pybytes())
        return answer

    def _check_open(self) -> None:
        if self._closed:
            raise E.ArrowdaqError(f"the client of {self.uri} is closed")

    def close(self) -> None:
        """Close the connection (open subscriptions end)."""
        if not self._closed:
            self._closed = True
            self._flight.close()

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"arrowdaq.Client({self.uri!r}{', closed' if self._closed else ''})"

    # -- what is there ----------------------------------------------------------------------

    def status(self) -> Dict[str, Any]:
        """The server's status: ``server``, ``instruments``, ``streams``, ``recordings``,
        ``replay``, ``memory`` (docs/server.md, "DoAction")."""
        return self.action("status")

    def instruments(self) -> List[Dict[str, Any]]:
        """Each instrument's status: ``name``, ``driver``, ``resource``, ``state``, ``rows``,
        ``last_error``, ..."""
        return list(self.status()["instruments"])

    def streams(self) -> List[StreamInfo]:
        """Every stream (instrument and derived) with its schema, units and rates."""
        self._check_open()
        try:
            return [_stream_info(i) for i in self._flight.list_flights(options=self._options())]
        except Exception as e:
            raise self._error(e, "streams") from None

    def stream(self, name: str) -> StreamInfo:
        """One stream's description; :class:`~arrowdaq.errors.UnknownStreamError` if none."""
        self._check_open()
        try:
            info = self._flight.get_flight_info(fl.FlightDescriptor.for_path(name), options=self._options())
        except Exception as e:
            raise self._error(e, f"stream '{name}'", "stream") from None
        return _stream_info(info)

    def events(self, limit: int = 100) -> List[Dict[str, Any]]:
        """The server's newest events (``time_ns``, ``stream``, ``kind``, ``message``), oldest first."""
        return list(self.action("events", {"limit": int(limit)})["events"])

    # -- data -------------------------------------------------------------------------------

    def subscribe(self, stream: Union[str, Sequence[str]], start: Start = "live", *,
                  seconds: Optional[float] = None, on_gap: GapPolicy = "warn",
                  queue: Optional[int] = None, timeout: Optional[float] = None) -> "Subscription":
        """Batches of `stream` as they are published: an iterator of ``pyarrow.RecordBatch``.

        ``start``: ``"live"`` (from now on), ``"replay"`` (the replay ring first: the last
        ``seconds`` of sample time, or all of it) or a sequence number (the ring's packets from
        that one on, then live; resume after sequence ``L`` with ``L + 1``).
        ``on_gap``: what a gap in the sequence numbers does (the server dropped packets for this
        slow client): ``"raise"`` :class:`~arrowdaq.errors.GapError`, ``"warn"``
        :class:`~arrowdaq.errors.GapWarning` (default) or ``"ignore"``; the counts are in
        :attr:`Subscription.dropped` and :attr:`Subscription.gaps` either way.
        ``queue``: packets the server queues for this client (1..4096, server default 64).
        ``timeout``: a deadline in seconds for the whole subscription (default none): when it
        passes, the next read raises :class:`~arrowdaq.errors.ArrowdaqTimeoutError`.
        """
        return Subscription(self, stream, start, seconds=seconds, on_gap=on_gap, queue=queue,
                            grpc_timeout=timeout)

    def read(self, stream: str, seconds: float = 2.0, *, timeout: Optional[float] = None,
             on_gap: GapPolicy = "raise") -> pa.Table:
        """The newest `seconds` of `stream` as one ``pyarrow.Table`` (one chunk per packet, no
        copy of the received data; ``combine_chunks()`` makes contiguous columns).

        Takes what the replay ring holds and, when it holds less than `seconds` of sample time
        (a stream that just started, replay turned off), waits for live samples until it does.
        The result holds the rows whose timestamps lie in ``(t_end - seconds, t_end]``, where
        ``t_end`` is the last timestamp of the newest packet published when the call began (or
        of the first one after it). Packets are contiguous: a gap raises
        :class:`~arrowdaq.errors.GapError` (``on_gap="warn"``/``"ignore"`` keep what came).
        ``timeout``: seconds for the whole call (default ``seconds + 30``).
        """
        if not (seconds > 0 and math.isfinite(seconds)):
            raise ValueError(f"read: seconds must be a finite number > 0, got {seconds!r}")
        info = self.stream(stream)
        want_ns = int(round(seconds * 1e9))
        last_needed = info.next_sequence - 1
        deadline = time.monotonic() + (seconds + 30.0 if timeout is None else timeout)
        batches: List[pa.RecordBatch] = []
        first_ts: Optional[int] = None
        done = False
        with Subscription(self, stream, "replay", seconds=seconds, on_gap=on_gap,
                          grpc_timeout=max(0.001, deadline - time.monotonic()), what="read") as sub:
            for info_, batch in sub.with_info():
                if batch.num_rows == 0:
                    continue
                batches.append(batch)
                ts = batch.column(0).cast(pa.int64())
                if first_ts is None:
                    first_ts = int(ts[0].as_py())
                last_ts = int(ts[-1].as_py())
                if info_.sequence >= last_needed and last_ts - first_ts >= want_ns - _period_ns(info):
                    done = True
                    break
                if time.monotonic() > deadline:
                    break
            else:
                raise E.StreamEndedError(f"read '{stream}': the stream ended after {len(batches)} "
                                         f"batch(es), before {seconds} s of samples arrived")
        if not done:
            raise E.ArrowdaqTimeoutError(f"read '{stream}': {seconds} s of samples did not arrive "
                                         f"within the timeout")
        table = pa.Table.from_batches(batches, schema=batches[0].schema)
        # Keep the rows in (t_end - seconds, t_end]: timestamps increase, so that is a slice
        # from the first row after the cut (found in the first batches; no data is copied).
        cut = int(batches[-1].column(0).cast(pa.int64())[-1].as_py()) - want_ns
        offset = 0
        for batch in batches:
            ts_np = batch.column(0).cast(pa.int64()).to_numpy()
            if ts_np[-1] > cut:
                offset += int(np.searchsorted(ts_np, cut, side="right"))
                break
            offset += len(ts_np)
        return table.slice(offset)

    # -- control ----------------------------------------------------------------------------

    def send(self, instrument: str, command: str, *, timeout: Optional[float] = -1.0) -> str:
        """Send one command to an instrument and return its reply (empty for a command that
        answers nothing). An unknown instrument raises
        :class:`~arrowdaq.errors.UnknownInstrumentError`; a device error reply or no reply
        :class:`~arrowdaq.errors.InstrumentError`, both naming the instrument and carrying the
        server's message."""
        what = f"send {instrument!r} {command!r}"
        try:
            return str(self.action("send_command", {"instrument": instrument, "command": command},
                                   kind="instrument", timeout=timeout)["reply"])
        except (E.InvalidRequestError, E.ServerUnavailableError, E.ArrowdaqTimeoutError) as e:
            raise E.InstrumentError(str(e).replace("send_command: ", f"{what}: ", 1), instrument=instrument,
                                    server_message=e.server_message) from None
        except E.NotFoundError as e:
            raise E.UnknownInstrumentError(str(e).replace("send_command: ", f"{what}: ", 1),
                                           server_message=e.server_message) from None

    def connect_instrument(self, instrument: str) -> Dict[str, Any]:
        """Connect an instrument and start acquiring; its status."""
        return self.action("connect_instrument", {"instrument": instrument}, kind="instrument")

    def disconnect_instrument(self, instrument: str) -> Dict[str, Any]:
        """Stop acquiring and disconnect (the stream stays); its status."""
        return self.action("disconnect_instrument", {"instrument": instrument}, kind="instrument")

    def add_instrument(self, name: str, table: Optional[Mapping[str, Any]] = None, *,
                       toml: Optional[str] = None) -> Dict[str, Any]:
        """Add an instrument from a table like ``[instruments.<name>]`` of the config file
        (a dict, or its TOML text); its status."""
        if (table is None) == (toml is None):
            raise ValueError("add_instrument: pass exactly one of table= or toml=")
        body: Dict[str, Any] = {"name": name}
        if table is not None:
            body["table"] = dict(table)
        else:
            body["toml"] = toml
        return self.action("add_instrument", body)

    def remove_instrument(self, instrument: str) -> None:
        """Remove an instrument and its stream."""
        self.action("remove_instrument", {"instrument": instrument}, kind="instrument")

    def record(self, name: str, streams: Optional[Sequence[str]] = None,
               formats: Optional[Sequence[str]] = None,
               duration: Optional[Union[float, str]] = None) -> "Recording":
        """Start a recording into ``<server output>/<name>-<UTC time>/`` and return it.

        ``streams``: default every stream; ``formats``: ``hdf5``, ``arrow``, ``parquet``,
        ``csv`` (default the server's); ``duration``: seconds or a text like ``"10s"`` (default:
        until stopped). The :class:`Recording` is a context manager that stops it on exit."""
        body: Dict[str, Any] = {"name": name}
        if streams is not None:
            body["streams"] = list(streams)
        if formats is not None:
            body["formats"] = list(formats)
        if duration is not None:
            body["duration"] = duration if isinstance(duration, str) else float(duration)
        return Recording(self, self.action("start_recording", body))

    # -- scans ------------------------------------------------------------------------------

    def scan(self, plan: Union[str, Mapping[str, Any]], *, wait: bool = True,
             timeout: Optional[float] = None) -> "Scan":
        """Run a scan on the server (docs/scans.md) and return it as a :class:`Scan`.

        ``plan``: the name of a ``[[plans]]`` entry of the server's config, or a whole plan as
        a dict with the same fields (``name``, ``kind``, ``num``, ``snake``, ``settle``,
        ``dwell``, ``axes``, ``detectors``), validated like the config: a bad field raises
        :class:`~arrowdaq.errors.InvalidRequestError` naming it, before anything moves. One scan
        at a time: :class:`~arrowdaq.errors.AlreadyExistsError` while one runs. With ``wait``
        (the default) returns once the scan has ended and its files are complete
        (:meth:`Scan.documents`, :attr:`Scan.directory`)."""
        body: Dict[str, Any] = {"name": plan} if isinstance(plan, str) else dict(plan)
        started = Scan(self, self.action("run_plan", body, kind="plan"))
        if wait:
            started.wait(timeout=timeout)
        return started

    def scan_status(self) -> Optional[Dict[str, Any]]:
        """The current (or last) scan's state, as the status action gives it: ``plan``,
        ``state`` (``running``, ``paused``, ``done``), ``points_done``, ``points_total``,
        ``directory``, ``exit_status`` and ``reason`` once done; None before the first scan."""
        scan: Optional[Dict[str, Any]] = self.status().get("scan")
        return scan

    def pause(self) -> Dict[str, Any]:
        """Pause the running scan at the next point boundary (motors stopped); its state.
        The state turns ``paused`` once the scan has stopped taking points."""
        return self.action("pause")

    def resume(self) -> Dict[str, Any]:
        """Resume a paused scan at the point it stopped before; its state."""
        return self.action("resume")

    def abort(self) -> Dict[str, Any]:
        """Abort the running scan (its stop document says ``exit_status: "abort"``)."""
        return self.action("abort")


def _period_ns(info: StreamInfo) -> int:
    rate = info.nominal_rate_hz or 0.0
    return int(1e9 / rate) if rate > 0 else 0


class Subscription:
    """An open DoGet: iterate it for ``pyarrow.RecordBatch`` es (one per published packet).

    Tracks the sequence numbers: :attr:`last_sequence`, :attr:`batches`, :attr:`rows`,
    :attr:`dropped` (the server's count of this stream's packets this client lost, the same
    number the sequence gaps add up to) and :attr:`gaps` (``(expected, received)`` per gap).
    :attr:`last` is the :class:`BatchInfo` of the newest batch; :meth:`with_info` iterates
    ``(BatchInfo, RecordBatch)`` pairs. A context manager: leaving it (or :meth:`close`) cancels
    the stream on the server.
    """

    def __init__(self, client: Client, stream: Union[str, Sequence[str]], start: Start = "live", *,
                 seconds: Optional[float] = None, on_gap: GapPolicy = "warn",
                 queue: Optional[int] = None, grpc_timeout: Optional[float] = None,
                 what: str = "subscribe") -> None:
        if on_gap not in _GAP_POLICIES:
            raise ValueError(f"{what}: on_gap must be one of {_GAP_POLICIES}, got {on_gap!r}")
        client._check_open()
        ticket: Dict[str, Any] = {}
        if isinstance(stream, str):
            ticket["stream"] = stream
            self.stream = stream
        else:
            ticket["streams"] = list(stream)
            self.stream = ",".join(stream)
        if isinstance(start, bool) or not isinstance(start, (str, int)):
            raise ValueError(f"{what}: start must be 'live', 'replay' or a sequence number, got {start!r}")
        if isinstance(start, int):
            ticket["start"] = "since"
            ticket["sequence"] = start
        elif start in ("live", "replay"):
            ticket["start"] = start
        else:
            raise ValueError(f"{what}: start must be 'live', 'replay' or a sequence number, got {start!r}")
        if seconds is not None:
            ticket["seconds"] = float(seconds)
        if queue is not None:
            ticket["queue"] = int(queue)
        self._client = client
        self._what = what
        self.on_gap = on_gap
        self.last_sequence: Optional[int] = None
        self.last: Optional[BatchInfo] = None
        self._last_by_stream: Dict[str, int] = {}
        self.batches = 0
        self.rows = 0
        self.dropped = 0
        self._dropped_by_stream: Dict[str, int] = {}
        self.gaps: List[Tuple[int, int]] = []
        self._closed = False
        try:
            self._reader = client._flight.do_get(fl.Ticket(json.dumps(ticket).encode()),
                                                 options=client._options(grpc_timeout))
        except Exception as e:
            raise client._error(e, f"{what} {self.stream!r}", "stream") from None

    def _next(self) -> Tuple[BatchInfo, pa.RecordBatch]:
        if self._closed:
            raise StopIteration
        try:
            chunk = self._reader.read_chunk()
        except StopIteration:
            self._closed = True
            raise
        except Exception as e:
            self._closed = True
            raise self._client._error(e, f"{self._what} {self.stream!r}", "stream") from None
        meta = json.loads(chunk.app_metadata.to_pybytes()) if chunk.app_metadata else {}
        info = BatchInfo(meta.get("stream", self.stream), int(meta.get("sequence", -1)),
                         int(meta.get("dropped", 0)))
        prev = self._last_by_stream.get(info.stream)
        prev_dropped = self._dropped_by_stream.get(info.stream, 0)
        self._last_by_stream[info.stream] = info.sequence
        self._dropped_by_stream[info.stream] = info.dropped
        self.dropped += info.dropped - prev_dropped
        self.last_sequence = info.sequence
        self.last = info
        self.batches += 1
        self.rows += chunk.data.num_rows
        # A gap: the sequence jumped, or (first batch) the server says packets were lost
        # before it (the client's queue overflowed before it read anything).
        expected = None
        if prev is not None and info.sequence != prev + 1:
            expected = prev + 1
        elif prev is None and info.dropped > prev_dropped:
            expected = info.sequence - (info.dropped - prev_dropped)
        if expected is not None:
            self.gaps.append((expected, info.sequence))
            if self.on_gap == "raise":
                raise GapError(info.stream, expected, info.sequence, info.dropped, chunk.data, info)
            if self.on_gap == "warn":
                warnings.warn(E.gap_message(info.stream, expected, info.sequence, info.dropped),
                              GapWarning, stacklevel=3)
        return info, chunk.data

    def __iter__(self) -> Iterator[pa.RecordBatch]:
        while True:
            try:
                _, batch = self._next()
            except StopIteration:
                return
            yield batch

    def with_info(self) -> Iterator[Tuple[BatchInfo, pa.RecordBatch]]:
        """Iterate ``(BatchInfo, RecordBatch)``: each batch with its sequence number and drops."""
        while True:
            try:
                yield self._next()
            except StopIteration:
                return

    def read_batch(self) -> pa.RecordBatch:
        """The next batch; :class:`~arrowdaq.errors.StreamEndedError` if the stream ended."""
        try:
            return self._next()[1]
        except StopIteration:
            raise E.StreamEndedError(f"{self._what} '{self.stream}': the server ended the stream") from None

    def close(self) -> None:
        """Cancel the stream on the server (idempotent)."""
        if not self._closed:
            self._closed = True
            try:
                self._reader.cancel()
            except Exception:
                pass

    def __enter__(self) -> "Subscription":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return (f"<arrowdaq.Subscription {self.stream!r}: {self.batches} batches, "
                f"last sequence {self.last_sequence}, {self.dropped} dropped>")


class Recording:
    """A recording on the server (``client.record(...)``).

    ``id`` (the server's recording id, e.g. ``scan1-20240101T120000Z``; also ``run_id`` in its
    summary.json), ``directory`` (a ``Path`` on the server's machine), ``state`` (``recording``, ``stopped``,
    ``failed``), ``streams``, ``formats``. :meth:`stop` stops it (a second stop raises
    :class:`~arrowdaq.errors.RecordingStateError`); as a context manager it is stopped on exit
    unless it already ended. :meth:`summary` once stopped; :meth:`open` reads the run.
    """

    def __init__(self, client: Client, state: Dict[str, Any]) -> None:
        self._client = client
        self._update(state)

    def _update(self, state: Dict[str, Any]) -> None:
        self.info: Dict[str, Any] = dict(state)
        self.id: str = state["id"]
        self.name: str = state.get("name", "")
        self.directory = Path(state["directory"])
        self.run_id: str = self.id
        self.state: str = state.get("state", "")
        self.streams: List[str] = list(state.get("streams", []))
        self.formats: List[str] = list(state.get("formats", []))

    @property
    def rows(self) -> Dict[str, int]:
        """Rows recorded per stream (as of the last refresh/stop)."""
        return dict(self.info.get("rows", {}))

    def refresh(self) -> "Recording":
        """Update the state from the server's status."""
        for r in self._client.status().get("recordings", []):
            if r.get("id") == self.id:
                self._update(r)
                return self
        raise E.UnknownRecordingError(f"recording '{self.id}' is no longer known to {self._client.uri}")

    def stop(self) -> Dict[str, Any]:
        """Stop the recording; its final state (``state``, ``rows`` per stream, ...)."""
        try:
            final = self._client.action("stop_recording", {"id": self.id}, kind="recording")
        except E.InvalidRequestError as e:
            if "already stopped" in str(e) or "not recording" in str(e):
                raise E.RecordingStateError(f"stop recording '{self.id}': {e.server_message}",
                                            server_message=e.server_message) from None
            raise
        self._update(final)
        return final

    def wait(self, timeout: Optional[float] = None, poll: float = 0.1) -> "Recording":
        """Wait until a recording with a duration has ended (state no longer ``recording``)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.refresh().state == "recording":
            if deadline is not None and time.monotonic() > deadline:
                raise E.ArrowdaqTimeoutError(f"recording '{self.id}' still running after {timeout} s")
            time.sleep(poll)
        return self

    def summary(self, timeout: float = 30.0) -> Dict[str, Any]:
        """The run's ``summary.json`` when the run directory is on this machine (or a shared
        disk; waits up to `timeout` s for the server to write it), else the server's final state
        of the recording. Only once stopped: :class:`~arrowdaq.errors.RecordingStateError` while
        recording."""
        if self.state == "recording":
            self.refresh()
        if self.state == "recording":
            raise E.RecordingStateError(f"recording '{self.id}' is still running: stop it first")
        if not self.directory.is_dir():
            return dict(self.info)
        path = self.directory / "summary.json"
        deadline = time.monotonic() + timeout
        while not path.is_file():
            if time.monotonic() > deadline:
                raise E.ArrowdaqTimeoutError(f"{path}: not written within {timeout} s of the stop")
            time.sleep(0.05)
        return dict(json.loads(path.read_text()))

    def open(self, format: Optional[str] = None) -> "Any":
        """The finished run (:func:`arrowdaq.open_run` on :attr:`directory`)."""
        from .run import open_run
        return open_run(self.directory, format=format)

    def __enter__(self) -> "Recording":
        return self

    def __exit__(self, *exc: object) -> None:
        if self.state == "recording":
            try:
                self.stop()
            except E.RecordingStateError:
                pass  # it ended by itself (duration) in the meantime

    def __repr__(self) -> str:
        return f"<arrowdaq.Recording {self.id} {self.run_id!r} {self.state}>"


class Scan:
    """A scan on the server (``client.scan(...)``).

    ``plan`` (its name), ``directory`` (the run directory, a ``Path`` on the server's
    machine: ``documents.jsonl``, ``run.h5`` with ``/scan``), ``recording_id``, and as of the
    last :meth:`refresh`: ``state`` (``running``, ``paused``, ``done``), ``points_done``,
    ``points_total``, ``exit_status`` (``success``, ``abort``, ``fail``; ``""`` before the end)
    and ``reason``.
    """

    def __init__(self, client: Client, state: Dict[str, Any]) -> None:
        self._client = client
        self._update(state)

    def _update(self, state: Dict[str, Any]) -> None:
        self.info: Dict[str, Any] = dict(state)
        self.plan: str = state["plan"]
        self.directory = Path(state["directory"])
        self.recording_id: str = state.get("recording_id", "")
        self.state: str = state.get("state", "")
        self.points_done: int = int(state.get("points_done", 0))
        self.points_total: int = int(state.get("points_total", 0))
        self.exit_status: str = state.get("exit_status", "")
        self.reason: str = state.get("reason", "")

    def refresh(self) -> "Scan":
        """Update the state from the server's status."""
        now = self._client.scan_status()
        if now is None or now.get("directory") != str(self.directory):
            raise E.ArrowdaqError(f"scan '{self.plan}' is no longer the server's scan")
        self._update(now)
        return self

    def wait(self, timeout: Optional[float] = None, poll: float = 0.05) -> "Scan":
        """Wait until the scan has ended and its recording is closed (state ``done``)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.refresh().state != "done":
            if deadline is not None and time.monotonic() > deadline:
                raise E.ArrowdaqTimeoutError(f"scan '{self.plan}' still {self.state} after {timeout} s")
            time.sleep(poll)
        return self

    def documents(self) -> List[Tuple[str, Dict[str, Any]]]:
        """The run's event-model documents, ``(name, doc)`` in order (start, descriptor,
        events, stop), from ``documents.jsonl`` when the run directory is on this machine."""
        docs: List[Tuple[str, Dict[str, Any]]] = []
        for line in (self.directory / "documents.jsonl").read_text().splitlines():
            name, doc = json.loads(line)
            docs.append((str(name), dict(doc)))
        return docs

    def pause(self) -> "Scan":
        """Pause at the next point boundary (``client.pause()``)."""
        self._update(self._client.pause())
        return self

    def resume(self) -> "Scan":
        """Resume after a pause (``client.resume()``)."""
        self._update(self._client.resume())
        return self

    def abort(self) -> "Scan":
        """Abort (``client.abort()``)."""
        self._update(self._client.abort())
        return self

    def open(self, format: Optional[str] = None) -> "Any":
        """The finished run (:func:`arrowdaq.open_run` on :attr:`directory`)."""
        from .run import open_run
        return open_run(self.directory, format=format)

    def __repr__(self) -> str:
        return (f"<arrowdaq.Scan {self.plan!r} {self.state} {self.points_done}/{self.points_total}"
                f"{' ' + self.exit_status if self.exit_status else ''}>")

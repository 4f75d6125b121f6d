"""Exceptions raised by the arrowdaq client.

Every error the client raises is an :class:`ArrowdaqError`; each subclass also derives from the
built-in exception a Python user would catch for that situation (``ConnectionError``,
``PermissionError``, ``LookupError``, ``ValueError``, ``TimeoutError``), so generic handlers work.
Errors answered by the server carry the server's own message (``.server_message``), which names
the action, field, stream or instrument that was wrong.
"""
from __future__ import annotations

import re
from typing import Optional

import pyarrow as pa
import pyarrow.flight as fl

__all__ = [
    "ArrowdaqError", "ServerUnreachableError", "AuthenticationError", "InvalidRequestError",
    "NotFoundError", "UnknownStreamError", "UnknownInstrumentError", "UnknownRecordingError",
    "AlreadyExistsError", "InstrumentError", "RecordingStateError", "ServerUnavailableError",
    "ArrowdaqTimeoutError", "StreamEndedError", "GapError", "GapWarning", "RunFormatError",
]


class ArrowdaqError(Exception):
    """Base class of every error raised by the arrowdaq client."""

    def __init__(self, message: str, *, server_message: Optional[str] = None) -> None:
        super().__init__(message)
        self.server_message = server_message


class ServerUnreachableError(ArrowdaqError, ConnectionError):
    """No arrowdaq server answered at the URI (not running, wrong port, network down)."""


class AuthenticationError(ArrowdaqError, PermissionError):
    """The server refused the token (missing or wrong)."""


class InvalidRequestError(ArrowdaqError, ValueError):
    """The server refused a request as malformed or out of range (INVALID_ARGUMENT)."""


class NotFoundError(ArrowdaqError, LookupError):
    """An unknown stream, instrument or recording (NOT_FOUND)."""


class UnknownStreamError(NotFoundError):
    """No stream of that name."""


class UnknownInstrumentError(NotFoundError):
    """No instrument of that name."""


class UnknownRecordingError(NotFoundError):
    """No recording with that id."""


class AlreadyExistsError(ArrowdaqError, ValueError):
    """A name that is taken (an instrument added twice)."""


class InstrumentError(ArrowdaqError):
    """The instrument refused or failed a command (its error reply, or no reply)."""

    def __init__(self, message: str, *, instrument: str, server_message: Optional[str] = None) -> None:
        super().__init__(message, server_message=server_message)
        self.instrument = instrument


class RecordingStateError(ArrowdaqError):
    """A recording used in the wrong state: stopped twice, or its summary asked for while running."""


class ServerUnavailableError(ArrowdaqError, ConnectionError):
    """The server is reachable but cannot serve the call (shutting down, a failed disk)."""


class ArrowdaqTimeoutError(ArrowdaqError, TimeoutError):
    """A call did not complete within its timeout."""


class StreamEndedError(ArrowdaqError):
    """The server ended a stream before the data asked for arrived (stream removed, server stopped)."""


class RunFormatError(ArrowdaqError, ValueError):
    """A directory or file that is not a readable arrowdaq run."""


class GapError(ArrowdaqError):
    """A subscription saw a gap in the sequence numbers: packets were dropped for this client.

    ``stream``, ``expected`` (the sequence number that should have come), ``received`` (the one
    that came), ``missing`` (how many packets were lost in this gap) and ``dropped`` (the
    server's running total of packets this client lost on the stream); ``batch`` and ``info``
    are the batch that revealed the gap and its BatchInfo (it is not lost: it comes with the
    error, and iterating on continues after it).
    """

    def __init__(self, stream: str, expected: int, received: int, dropped: int,
                 batch: object = None, info: object = None) -> None:
        self.batch = batch
        self.info = info
        self.stream = stream
        self.expected = expected
        self.received = received
        self.missing = received - expected
        self.dropped = dropped
        super().__init__(gap_message(stream, expected, received, dropped))


class GapWarning(UserWarning):
    """Warned (instead of :class:`GapError` raised) when a subscription has ``on_gap="warn"``."""


def gap_message(stream: str, expected: int, received: int, dropped: int) -> str:
    return (f"stream '{stream}': {received - expected} packet(s) lost before sequence {received} "
            f"(expected {expected}); {dropped} dropped for this client in total "
            f"(a slow consumer: read faster or pass a larger queue)")


# pyarrow's Flight errors read "Flight returned <code> error, with message: <message>. gRPC
# client debug context: ..." (or ". Client context: ..." / ". Detail: ..."); keep <message>.
# Streamed calls (DoGet) raise the message itself followed by the same contexts.
_FLIGHT_MESSAGE = re.compile(r"with message: (.*?)(?:\. gRPC client debug context:|\. Client context:|\. Detail:|$)", re.S)
_CONTEXT = re.compile(r"\. (?:gRPC client debug context|Client context|Detail):", re.S)


def server_message(exc: BaseException) -> str:
    """The server's message inside a pyarrow Flight exception (the whole text if none found)."""
    text = str(exc)
    m = _FLIGHT_MESSAGE.search(text)
    if m:
        return m.group(1).strip()
    return _CONTEXT.split(text, maxsplit=1)[0].strip()


def translate(exc: BaseException, uri: str, *, what: str = "", kind: str = "") -> ArrowdaqError:
    """Map a pyarrow(.flight) exception raised by a call to `uri` to an ArrowdaqError.

    `what` names the call for the message ("send 'dmm' '*IDN?'"); `kind` says what a NOT_FOUND
    refers to ("stream", "instrument", "recording") so the right subclass is raised.
    """
    msg = server_message(exc)
    prefix = f"{what}: " if what and not msg.startswith(f"{what}: ") else ""
    if isinstance(exc, fl.FlightUnauthenticatedError):
        return AuthenticationError(f"{prefix}the server at {uri} refused the token ({msg}); "
                                   f"pass token= or set ARROWDAQ_TOKEN", server_message=msg)
    if isinstance(exc, fl.FlightTimedOutError):
        return ArrowdaqTimeoutError(f"{prefix}no answer from {uri} in time ({msg})", server_message=msg)
    if isinstance(exc, fl.FlightUnavailableError):
        if _looks_unreachable(msg):
            return ServerUnreachableError(f"{prefix}no arrowdaq server reachable at {uri}: {msg}",
                                          server_message=msg)
        return ServerUnavailableError(f"{prefix}{msg}", server_message=msg)
    if isinstance(exc, pa.ArrowException) and re.search(r"\balready (exists|registered|taken|running)|\bexists already\b|\bis taken\b", msg):
        msg = re.sub(r"^(Unknown|Already exists|AlreadyExists): ", "", msg)
        prefix = f"{what}: " if what and not msg.startswith(f"{what}: ") else ""
        return AlreadyExistsError(f"{prefix}{msg}", server_message=msg)
    if isinstance(exc, pa.ArrowKeyError):
        cls = {"stream": UnknownStreamError, "instrument": UnknownInstrumentError,
               "recording": UnknownRecordingError}.get(kind, NotFoundError)
        if not kind:
            for word, c in (("no stream", UnknownStreamError), ("no instrument", UnknownInstrumentError),
                            ("no recording", UnknownRecordingError)):
                if word in msg:
                    cls = c
        return cls(f"{prefix}{msg}", server_message=msg)
    if isinstance(exc, pa.ArrowInvalid):
        return InvalidRequestError(f"{prefix}{msg}", server_message=msg)
    if isinstance(exc, pa.ArrowNotImplementedError):
        return InvalidRequestError(f"{prefix}not supported by the server: {msg}", server_message=msg)
    if isinstance(exc, (fl.FlightCancelledError,)):
        return StreamEndedError(f"{prefix}cancelled: {msg}", server_message=msg)
    if isinstance(exc, pa.ArrowException):
        return ArrowdaqError(f"{prefix}{msg}", server_message=msg)
    return ArrowdaqError(f"{prefix}{exc}")


def _looks_unreachable(msg: str) -> bool:
    low = msg.lower()
    return any(s in low for s in ("connect", "unreachable", "refused", "dns", "no address",
                                  "failed to connect", "name resolution", "socket"))

"""arrowdaq from Python: live streams, recordings and instrument control over Arrow Flight
(:class:`Client`), finished runs as pyarrow Tables (:func:`open_run`), a server as a child
process (:func:`start_server`), and Bluesky/ophyd devices (``arrowdaq.ophyd``, extra
``[bluesky]``). See docs/python.md."""
from .client import DEFAULT_URI, BatchInfo, Client, Recording, Scan, StreamInfo, Subscription
from .errors import (AlreadyExistsError, ArrowdaqError, ArrowdaqTimeoutError, AuthenticationError,
                     GapError, GapWarning, InstrumentError, InvalidRequestError, NotFoundError,
                     RecordingStateError, RunFormatError, ServerUnavailableError,
                     ServerUnreachableError, StreamEndedError, UnknownInstrumentError,
                     UnknownRecordingError, UnknownStreamError)
from .run import Run, open_run
from .server import LocalServer, start_server

__version__ = "0.1.0"

__all__ = [
    "Client", "Subscription", "Recording", "Scan", "StreamInfo", "BatchInfo", "DEFAULT_URI", "open_run", "Run",
    "start_server", "LocalServer", "ArrowdaqError", "ServerUnreachableError", "AuthenticationError",
    "InvalidRequestError", "NotFoundError", "UnknownStreamError", "UnknownInstrumentError",
    "UnknownRecordingError", "AlreadyExistsError", "InstrumentError", "RecordingStateError",
    "ServerUnavailableError", "ArrowdaqTimeoutError", "StreamEndedError", "GapError", "GapWarning",
    "RunFormatError", "__version__",
]

"""`start_server`: run an arrowdaq server as a child process (notebooks, tests, scripts).

The server is the real program (``arrowdaq serve``, or any command that prints
``listening on <uri>`` when ready and stops on SIGTERM); this module only starts it, waits for
that line and stops it. Its other output is kept in :attr:`LocalServer.log`.
"""
from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import threading
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Union

from .errors import ArrowdaqError, ArrowdaqTimeoutError

_LISTENING = re.compile(r"listening on (\S+)")


class LocalServer:
    """A server process started by :func:`start_server`: :attr:`uri`, :attr:`process`,
    :attr:`log` (its output so far), :meth:`client`, :meth:`stop`. A context manager."""

    def __init__(self, command: Sequence[str], timeout: float = 60.0,
                 env: Optional[Dict[str, str]] = None) -> None:
        self.command = [str(c) for c in command]
        self._lines: List[str] = []
        self._ready = threading.Event()
        self.uri: Optional[str] = None
        try:
            self.process = subprocess.Popen(self.command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                            stdin=subprocess.DEVNULL, text=True, errors="replace",
                                            env=env)
        except OSError as e:
            raise ArrowdaqError(f"cannot start {self.command[0]}: {e}") from None
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        ready = self._ready.wait(timeout)
        if self.uri is None:
            code = None
            if ready:  # its output ended without the line: it is exiting
                try:
                    code = self.process.wait(30)
                except subprocess.TimeoutExpired:
                    pass
            if code is None:
                self.process.kill()
                self.process.wait()
                raise ArrowdaqTimeoutError(f"{' '.join(self.command)}: not listening after {timeout} s:\n{self.log}")
            self._reader.join(5)
            raise ArrowdaqError(f"{' '.join(self.command)} exited with status {code}:\n{self.log}")

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self._lines.append(line)
            m = _LISTENING.search(line)
            if m and self.uri is None:
                self.uri = m.group(1)
                self._ready.set()
        self._ready.set()

    @property
    def log(self) -> str:
        return "".join(self._lines)

    def client(self, token: Optional[str] = None, **kw: Any) -> "Any":
        from .client import Client
        assert self.uri is not None
        return Client(self.uri, token, **kw)

    def stop(self, timeout: float = 60.0) -> int:
        """SIGTERM, then wait; returns the exit status (SIGKILL after `timeout`)."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._reader.join(5)
        return int(self.process.returncode)

    def __enter__(self) -> "LocalServer":
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        if not hasattr(self, "process"):
            return f"<arrowdaq.LocalServer {self.command[0]} (not started)>"
        state = "running" if self.process.poll() is None else f"exited {self.process.returncode}"
        return f"<arrowdaq.LocalServer {self.uri} pid {self.process.pid} {state}>"


def find_arrowdaq(binary: Optional[Union[str, Path]] = None) -> str:
    """The arrowdaq program: `binary`, else ``$ARROWDAQ_BIN``, else ``arrowdaq`` on PATH."""
    for cand in (binary, os.environ.get("ARROWDAQ_BIN"), shutil.which("arrowdaq")):
        if cand and Path(cand).is_file():
            return str(cand)
    raise ArrowdaqError("arrowdaq program not found: pass binary=, set ARROWDAQ_BIN or put it on PATH")


def start_server(config: Union[str, Path], *, output: Optional[Union[str, Path]] = None,
                 listen: str = "grpc://127.0.0.1:0", token_file: Optional[Union[str, Path]] = None,
                 binary: Optional[Union[str, Path]] = None, extra: Sequence[str] = (),
                 command: Optional[Sequence[str]] = None, timeout: float = 60.0) -> LocalServer:
    """Start ``arrowdaq serve CONFIG --listen LISTEN [--output DIR] [--token-file F] EXTRA...``
    and wait until it listens (``listen`` defaults to a free loopback port; the chosen one is in
    ``.uri``). ``command`` replaces the program and ``serve`` (e.g. another server build)."""
    head = list(command) if command is not None else [find_arrowdaq(binary), "serve"]
    args = head + ["--config", str(config)] if command is not None else head + [str(config)]
    args += ["--listen", listen]
    if output is not None:
        args += ["--output", str(output)]
    if token_file is not None:
        args += ["--token-file", str(token_file)]
    args += list(extra)
    return LocalServer(args, timeout=timeout)

#!/usr/bin/env python3
"""Scripted-session server for arrowdaq tests: plays one conversation with an instrument, command
by command, as a script gives it (the commands a manual's examples send and the replies in the
formats the manual shows), over TCP or a pseudo-terminal with the instrument's line settings.

Usage: scripted.py SCRIPT. The first stdout line is the TCP port or the pty path. Afterwards the
server prints "COMPLETE" once every expected command arrived in order, or
"MISMATCH line N: expected 'X', got 'Y'" at the first deviation (and then answers nothing), or
"EXTRA 'Y'" for the first command after the script ended.

Script lines:
  # ...                 comment
  @transport tcp|pty    (default tcp)
  @line BAUD FRAME HS   pty line settings, e.g. "9600 8N1 none" or "19200 8N1 rtscts"
  @terminator ESC       what ends a command (default \\n)
  @reply-end ESC        appended to every "<" reply (default \\n)
  > COMMAND             the client must send this next (compared case-insensitively, blanks
                        at both ends ignored)
  < TEXT                reply to the previous command (escapes such as \\r \\x00 allowed)
  <py EXPR              reply given as a Python bytes expression, sent as is
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sim_common import Faults, LineSettings, serve_pty, serve_tcp  # noqa: E402


def unescape(text):
    return text.encode("latin-1").decode("unicode_escape").encode("latin-1")


class Script:
    def __init__(self, path):
        self.steps = []  # [line number, command, [replies]]
        self.transport = "tcp"
        self.line = None
        self.terminator = b"\n"
        self.reply_end = b"\n"
        with open(path, encoding="utf-8") as fh:
            for number, raw in enumerate(fh, 1):
                text = raw.rstrip("\n")
                if not text.strip() or text.lstrip().startswith("#"):
                    continue
                if text.startswith("@"):
                    self._directive(text[1:].split(), number)
                elif text.startswith("> "):
                    self.steps.append([number, text[2:].strip(), []])
                elif text.startswith("<py "):
                    self.steps[-1][2].append(eval(text[4:], {}))  # trusted test input
                elif text.startswith("< ") or text == "<":
                    self.steps[-1][2].append(unescape(text[2:]) + self.reply_end)
                else:
                    raise SystemExit("%s:%d: cannot parse %r" % (path, number, text))

    def _directive(self, words, number):
        key, rest = words[0], words[1:]
        if key == "transport":
            self.transport = rest[0]
        elif key == "line":
            frame = rest[1]
            self.line = LineSettings(int(rest[0]), int(frame[0]), frame[1], int(frame[2]),
                                     rtscts=rest[2] == "rtscts")
        elif key == "terminator":
            self.terminator = unescape(rest[0])
        elif key == "reply-end":
            self.reply_end = unescape(rest[0])
        else:
            raise SystemExit("line %d: unknown directive @%s" % (number, key))


class Player:
    """A device whose behaviour is the script."""

    def __init__(self, script):
        self.script = script
        self.terminator = script.terminator
        self.line = script.line
        self.next = 0
        self.failed = False
        self.extra_reported = False

    def handle(self, command):
        got = command.strip()
        if self.failed:
            return []
        if self.next >= len(self.script.steps):
            if not self.extra_reported:
                print("EXTRA '%s'" % got, flush=True)
                self.extra_reported = True
            return []
        number, expected, replies = self.script.steps[self.next]
        if got.upper() != expected.upper():
            print("MISMATCH line %d: expected '%s', got '%s'" % (number, expected, got),
                  flush=True)
            self.failed = True
            return []
        self.next += 1
        if self.next == len(self.script.steps):
            print("COMPLETE", flush=True)
        return list(replies)


class _NoFaults:
    hang_after = drop_after = garbage_after = -1
    latency_ms = noise = 0.0
    seed = 1
    hostile = None
    hostile_command = ""
    hiccup_every = 0


def main():
    if len(sys.argv) != 2:
        raise SystemExit("usage: scripted.py SCRIPT")
    script = Script(sys.argv[1])
    device = Player(script)
    faults = Faults(_NoFaults())
    if script.transport == "pty":
        serve_pty(device, faults)
    else:
        serve_tcp(device, faults)


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        pass

#!/usr/bin/env python3
"""Serial-line simulator for arrowdaq tests: a Newport 1830-C power meter or ESP300 motion
controller on a pseudo-terminal pair.

Prints the slave device path (open it as ASRL<path>::INSTR) on its first stdout line, then
answers until killed (or until --drop-after closes the line, which ends the process).
Deterministic values:
  1830c   D? reading k (0-based) = 1.0e-3 * (1 + 0.001*k) W (+ noise), "%.4E"; U? -> 1 after
          U1; W? -> the wavelength set by W<nm> (default 633). Commands and replies end in LF.
  esp300  VE? -> "ESP300 Version 3.08 09/09/02"; <n>PA<x> moves axis n to x in --move-ms;
          <n>MD? -> 0 while moving, 1 when done; <n>TP -> position "%.5f" (linear in time
          during a move); TE? -> 0 or the oldest error code; <n>MO -> motor on. Commands end
          in CR, replies in CR LF. Unknown commands queue error 6.
"""
import argparse
import os
import re
import selectors
import sys
import time
import tty

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sim_common import GARBAGE, Faults, add_fault_arguments  # noqa: E402


class PowerMeter:
    terminator = b"\n"
    reply_end = b"\n"

    def __init__(self, faults, args):
        self.faults = faults
        self.k = 0
        self.units = 1
        self.wavelength = 633

    def handle(self, cmd):
        up = cmd.strip().upper()
        if up == "D?":
            value = 1.0e-3 * (1 + 0.001 * self.k) + self.faults.noise()
            self.k += 1
            return "%.4E" % value
        if up == "U?":
            return "%d" % self.units
        if up == "W?":
            return "%d" % self.wavelength
        m = re.fullmatch(r"([UWAFR])(\d+)", up)
        if m:
            if m.group(1) == "U":
                self.units = int(m.group(2))
            if m.group(1) == "W":
                self.wavelength = int(m.group(2))
        return None


class MotionController:
    terminator = b"\r"
    reply_end = b"\r\n"

    def __init__(self, faults, args):
        self.move_s = args.move_ms / 1000.0
        self.axes = {a: {"from": 0.0, "to": 0.0, "t0": 0.0} for a in (1, 2, 3)}
        self.errors = []

    def position(self, a):
        ax = self.axes[a]
        if self.move_s <= 0:
            return ax["to"]
        f = min(1.0, (time.monotonic() - ax["t0"]) / self.move_s)
        return ax["from"] + (ax["to"] - ax["from"]) * f

    def handle(self, cmd):
        up = cmd.strip().upper()
        if up == "VE?":
            return "ESP300 Version 3.08 09/09/02"
        if up == "TE?":
            return "%d" % (self.errors.pop(0) if self.errors else 0)
        if up == "TB?":
            if self.errors:
                return "%d, 0, ERROR" % self.errors.pop(0)
            return "0, 0, NO ERROR DETECTED"
        m = re.fullmatch(r"([1-3])(MO|MF|TP|MD\?|PA([-+0-9.eE]+))", up)
        if not m:
            self.errors.append(6)
            return None
        a = int(m.group(1))
        op = m.group(2)
        if op in ("MO", "MF"):
            return None
        if op == "TP":
            return "%.5f" % self.position(a)
        if op == "MD?":
            done = time.monotonic() - self.axes[a]["t0"] >= self.move_s
            return "1" if done else "0"
        target = float(m.group(3))
        self.axes[a] = {"from": self.position(a), "to": target, "t0": time.monotonic()}
        return None


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", choices=["1830c", "esp300"], default="1830c")
    parser.add_argument("--move-ms", type=float, default=100.0, help="esp300: duration of a move")
    parser.add_argument("--port", type=int, default=0, help="ignored (TCP simulators only)")
    add_fault_arguments(parser)
    args = parser.parse_args()
    faults = Faults(args)
    device = (PowerMeter if args.model == "1830c" else MotionController)(faults, args)

    master, slave = os.openpty()
    tty.setraw(slave)  # the client sets raw mode too; this keeps the line clean before it does
    print(os.ttyname(slave), flush=True)
    sel = selectors.DefaultSelector()
    sel.register(master, selectors.EVENT_READ)
    buf = b""
    hung = False
    while True:
        sel.select()
        try:
            chunk = os.read(master, 65536)
        except OSError:  # EIO: no client has the slave open right now
            time.sleep(0.01)
            continue
        buf += chunk
        while device.terminator in buf:
            line, buf = buf.split(device.terminator, 1)
            reply = device.handle(line.decode("latin-1"))
            if reply is None or hung:
                continue
            action, drop = faults.decide()
            if action == "hang":
                hung = True
                continue
            os.write(master, GARBAGE if action == "garbage"
                     else reply.encode() + device.reply_end)
            if drop:
                os.close(master)
                os.close(slave)
                return


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        pass

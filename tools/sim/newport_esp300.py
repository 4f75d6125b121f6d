"""A model of the Newport ESP300 motion controller's RS-232 interface (placeholder: replaced by
the manual-based model in the ESP300 slice)."""
import re
import time

from sim_common import LineSettings


class MotionController:
    terminator = b"\r"
    reply_end = b"\r\n"
    line = LineSettings(19200, 8, "N", 1, rtscts=True)

    def __init__(self, args, faults):
        self.move_s = args.move_ms / 1000.0
        self.axes = {a: {"from": 0.0, "to": 0.0, "t0": 0.0} for a in (1, 2, 3)}
        self.errors = []

    def position(self, a):
        ax = self.axes[a]
        if self.move_s <= 0:
            return ax["to"]
        f = min(1.0, (time.monotonic() - ax["t0"]) / self.move_s)
        return ax["from"] + (ax["to"] - ax["from"]) * f

    def handle(self, command):
        reply = self._interpret(command)
        return [] if reply is None else [reply.encode() + self.reply_end]

    def _interpret(self, cmd):
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


def add_arguments(parser):
    g = parser.add_argument_group("esp300")
    g.add_argument("--move-ms", type=float, default=100.0, help="duration of a move")

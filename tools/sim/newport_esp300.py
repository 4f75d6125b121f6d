"""A model of the Newport ESP300 motion controller's RS-232 interface, written from its user's
manual (Section 3 "Remote Mode", pages 3-x as scanned on easymanua.ls; Appendix A error codes as
PyMeasure's esp300.py lists them) and the EPICS motorNewport driver (drvESP300.cc), not from
arrowdaq's driver.

Line: 19200 Bd 8N1 with RTS/CTS hardware handshake (manual RS-232C set-up; rust-daq's bench
notes: without RTS/CTS the controller does not answer). Commands end with CR, replies with CR LF
(manual Sec. 3.4, quoted by drvESP300.cc); several commands may share a line separated by ';'.
Axis commands are "<axis><mnemonic>[parameter]"; the model has three axes.

Commands modelled:
  VE? and *IDN?   "ESP300 Version 3.08 09/09/02" (EPICS identifies with VE?; rust-daq saw this
                  string answer *IDN? on the bench)
  TE?             pop the oldest error code, 0 when none (p. 3-139: errors are kept in a FIFO
                  ten deep and each is read once). A full queue discards newer errors (a model
                  choice: the manual does not say which end is lost).
  TB?             pop the oldest error as "code, timestamp, MESSAGE" ("0, 0, NO ERROR DETECTED")
  xxMO / xxMF / xxMO?   motor on / off / state (power-up: off, or --motor-on)
  xxPA<pos>       move to an absolute position: with the motor off, axis error xx13 MOTOR NOT
                  ENABLED and no motion; otherwise a trapezoidal profile at the axis velocity
                  (xxVA, default --velocity) and acceleration (xxAC, default --acceleration)
  xxPR<dist>      move by a distance (same rules)
  xxMD? / xxMD    motion done: 0 while the profile runs, 1 when it has ended
  xxTP / xxTP?    actual position along the profile (the manual's examples use both spellings;
                  EPICS and PyMeasure send "TP"), "%.5f"
  xxDP?           desired (target) position
  xxVA<v> / xxVA? / xxAC<a> / xxAC?   velocity and acceleration, > 0
  xxSN<n> / xxSN? displacement units, 0..11 (p. 3-133: 0 encoder count, 1 motor step,
                  2 millimeter, 3 micrometer, 4 inches, ... 7 degree, ... 11 microradian;
                  power-up per axis from --units)
  xxST            stop (decelerate to rest where the axis is now)
  xxSL<pos> / xxSL? / xxSR<pos> / xxSR?   left (negative) and right (positive) software travel
                  limits (power-up from --left-limit / --right-limit). A PA or PR whose target
                  lies beyond one is refused with axis error xx07 NEGATIVE SOFTWARE LIMIT
                  DETECTED or xx06 POSITIVE SOFTWARE LIMIT DETECTED and nothing moves (the
                  manual's ZS page, 3-169, makes software-limit checking configurable; the model
                  keeps it on, and refuses instead of stopping at the limit: a model choice)
Errors (Appendix A): 6 COMMAND DOES NOT EXIST, 7 PARAMETER OUT OF RANGE, 9 AXIS NUMBER OUT OF
RANGE, 37 AXIS NUMBER MISSING, 38 COMMAND PARAMETER MISSING; axis errors are 100 x axis + code
(13 MOTOR NOT ENABLED, 01 PARAMETER OUT OF RANGE, 03 FOLLOWING ERROR THRESHOLD EXCEEDED,
06/07 POSITIVE/NEGATIVE SOFTWARE LIMIT DETECTED). --stale-errors N starts with N errors
(code 6) in the queue, as a controller left by a previous session.

For tests: --fault-at AXIS:POS makes that axis fault when a move passes POS (a following error:
the axis stops at POS, its motor switches off, error xx03 is queued; once). --log FILE appends
every command line received, so a test can prove what was (not) sent.
"""
import math
import re
import time

from sim_common import LineSettings

IDENT = "ESP300 Version 3.08 09/09/02"
AXES = 3
DEPTH = 10
MESSAGES = {0: "NO ERROR DETECTED", 6: "COMMAND DOES NOT EXIST", 7: "PARAMETER OUT OF RANGE",
            9: "AXIS NUMBER OUT OF RANGE", 37: "AXIS NUMBER MISSING",
            38: "COMMAND PARAMETER MISSING", 1: "PARAMETER OUT OF RANGE",
            3: "FOLLOWING ERROR THRESHOLD EXCEEDED", 6: "POSITIVE SOFTWARE LIMIT DETECTED",
            7: "NEGATIVE SOFTWARE LIMIT DETECTED", 13: "MOTOR NOT ENABLED"}


class Axis:
    def __init__(self, units, velocity, acceleration, motor_on, left, right):
        self.units = units
        self.left = left      # SL, SR: software travel limits
        self.right = right
        self.fault_at = None  # --fault-at: position where the next move passing it faults
        self.velocity = velocity
        self.acceleration = acceleration
        self.motor_on = motor_on
        self.start = 0.0      # profile: from `start` to `target`, beginning at t0
        self.target = 0.0
        self.t0 = 0.0
        self.duration = 0.0

    def _profile(self, t):
        """Position and whether the move is over, t seconds into the current profile."""
        distance = self.target - self.start
        d = abs(distance)
        if d == 0 or t >= self.duration:
            return self.target, True
        v, a = self.velocity, self.acceleration
        t_acc = v / a
        if d < v * t_acc:  # triangular: never reaches the set velocity
            t_acc = math.sqrt(d / a)
            v = a * t_acc
        cruise = self.duration - 2 * t_acc
        if t < t_acc:
            s = 0.5 * a * t * t
        elif t < t_acc + cruise:
            s = 0.5 * a * t_acc * t_acc + v * (t - t_acc)
        else:
            r = self.duration - t
            s = d - 0.5 * a * r * r
        return self.start + math.copysign(s, distance), False

    def position(self, now):
        return self._profile(now - self.t0)[0]

    def done(self, now):
        return self._profile(now - self.t0)[1]

    def move_to(self, target, now):
        self.start = self.position(now)
        self.target = target
        self.t0 = now
        d = abs(target - self.start)
        v, a = self.velocity, self.acceleration
        if d >= v * v / a:
            self.duration = d / v + v / a
        else:
            self.duration = 2 * math.sqrt(d / a)

    def stop(self, now):
        self.start = self.target = self.position(now)
        self.duration = 0.0

    def check_fault(self, now):
        """Return True when the move passed fault_at since it started (the axis then stands
        there with its motor off)."""
        if self.fault_at is None or self.start == self.target:
            return False
        low, high = sorted((self.start, self.position(now)))
        if not low <= self.fault_at <= high or self.fault_at == self.start:
            return False
        self.start = self.target = self.fault_at
        self.duration = 0.0
        self.motor_on = False
        self.fault_at = None
        return True


class MotionController:
    terminator = b"\r"
    reply_end = b"\r\n"
    line = LineSettings(19200, 8, "N", 1, rtscts=True)

    def __init__(self, args, faults):
        units = [int(u) for u in args.units.split(",")]
        units += [units[-1]] * (AXES - len(units))
        self.axes = {n + 1: Axis(units[n], args.velocity, args.acceleration, args.motor_on,
                                 args.left_limit, args.right_limit)
                     for n in range(AXES)}
        if args.fault_at:
            axis_text, _, pos_text = args.fault_at.partition(":")
            self.axes[int(axis_text)].fault_at = float(pos_text)
        self.errors = [6] * min(args.stale_errors, DEPTH)
        self.log = open(args.log, "a", buffering=1) if args.log else None

    def error(self, code):
        if len(self.errors) < DEPTH:
            self.errors.append(code)

    def handle(self, command):
        if self.log:
            self.log.write(command + "\n")
        now = time.monotonic()
        for n, axis in self.axes.items():
            if axis.check_fault(now):
                self.error(100 * n + 3)
        replies = []
        for part in command.split(";"):
            part = part.strip()
            if part:
                answer = self._interpret(part.upper(), time.monotonic())
                if answer is not None:
                    replies.append(answer.encode() + self.reply_end)
        return replies

    def _interpret(self, up, now):
        bare = up.lstrip("0123456789")  # EPICS prefixes even these with an axis number
        if bare in ("VE?", "*IDN?"):
            return IDENT
        if bare == "TE?":
            return "%d" % (self.errors.pop(0) if self.errors else 0)
        if bare == "TB?":
            code = self.errors.pop(0) if self.errors else 0
            return "%d, 0, %s" % (code, MESSAGES.get(code % 100 if code >= 100 else code,
                                                     "ERROR"))
        m = re.fullmatch(r"(\d*)([A-Z]{2})(\??)(.*)", up)
        if not m:
            self.error(6)
            return None
        axis_text, mnemonic, query, param = m.groups()
        if mnemonic not in ("MO", "MF", "PA", "PR", "MD", "TP", "DP", "VA", "AC", "SN", "ST",
                            "SL", "SR"):
            self.error(6)
            return None
        if not axis_text:
            self.error(37)
            return None
        n = int(axis_text)
        if not 1 <= n <= AXES:
            self.error(9)
            return None
        axis = self.axes[n]
        if mnemonic == "TP":
            return "%.5f" % axis.position(now)
        if mnemonic == "MD":
            return "1" if axis.done(now) else "0"
        if mnemonic == "DP" and query:
            return "%.5f" % axis.target
        if mnemonic in ("MO", "MF") and not param:
            if query:
                return "1" if axis.motor_on else "0"
            if mnemonic == "MF":
                axis.stop(now)
            axis.motor_on = mnemonic == "MO"
            return None
        if mnemonic == "ST":
            axis.stop(now)
            return None
        if query:
            value = {"VA": axis.velocity, "AC": axis.acceleration, "SN": axis.units,
                     "SL": axis.left, "SR": axis.right}.get(mnemonic)
            if value is None:
                self.error(6)
                return None
            if mnemonic == "SN":
                return "%d" % value
            return ("%.5f" % value) if mnemonic in ("SL", "SR") else ("%g" % value)
        if not param:
            self.error(38)
            return None
        try:
            value = float(param)
        except ValueError:
            self.error(7)
            return None
        if mnemonic == "SN":
            if value != int(value) or not 0 <= value <= 11:
                self.error(100 * n + 1)
                return None
            axis.units = int(value)
        elif mnemonic in ("VA", "AC"):
            if value <= 0:
                self.error(100 * n + 1)
                return None
            setattr(axis, "velocity" if mnemonic == "VA" else "acceleration", value)
        elif mnemonic in ("SL", "SR"):
            setattr(axis, "left" if mnemonic == "SL" else "right", value)
        elif mnemonic in ("PA", "PR"):
            if not axis.motor_on:
                self.error(100 * n + 13)
                return None
            target = value if mnemonic == "PA" else axis.position(now) + value
            if target > axis.right:
                self.error(100 * n + 6)
                return None
            if target < axis.left:
                self.error(100 * n + 7)
                return None
            axis.move_to(target, now)
        else:
            self.error(6)
        return None


def add_arguments(parser):
    g = parser.add_argument_group("esp300")
    g.add_argument("--velocity", type=float, default=20.0, help="axis velocity, units/s")
    g.add_argument("--acceleration", type=float, default=200.0,
                   help="axis acceleration, units/s^2")
    g.add_argument("--units", default="2",
                   help="displacement units per axis at power-up, e.g. 2 or 2,3,7 (2 = mm)")
    g.add_argument("--motor-on", action="store_true", help="motors on at power-up")
    g.add_argument("--left-limit", type=float, default=-100.0,
                   help="SL, the left (negative) software travel limit at power-up, in units")
    g.add_argument("--right-limit", type=float, default=100.0,
                   help="SR, the right (positive) software travel limit at power-up, in units")
    g.add_argument("--fault-at", metavar="AXIS:POS",
                   help="fault that axis (following error xx03, motor off) where a move "
                        "passes POS, once")
    g.add_argument("--log", metavar="FILE", help="append every command line received to FILE")
    g.add_argument("--stale-errors", type=int, default=0,
                   help="errors already in the queue at power-up (each code 6)")

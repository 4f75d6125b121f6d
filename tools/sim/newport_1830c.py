"""A model of the Newport 1830-C optical power meter's RS-232 interface, written from its user's
manual (computer interface chapter; pages as scanned on easymanua.ls) and public bench notes, not
from arrowdaq's driver.

Line: 9600 Bd 8N1, no hardware handshake (manual RS-232 set-up; rust-daq bench notes: "Flow
Control: NONE"); commands and replies end with LF. Set commands answer nothing; queries answer
one line.

Commands modelled (manual command reference):
  An / A?   attenuator setting 0 | 1. With A1 the meter scales the detector signal by the
            attenuator's calibration factor (here ATTENUATION = 1000): right only when the
            attenuator is on the detector (--attenuator-fitted), 1000x too high otherwise;
            A0 with the attenuator fitted reads 1000x too low.
  C         clear the status byte (p. 38: all bits but MAV).
  D?        the reading in the selected units (U1 watts), NR3 text such as "+1.0010E-04".
            Run mode (G1): a new reading per query. Hold mode (G0): the frozen reading again.
  En / E?   echo 0 | 1 (RS-232 only, lantz): in echo mode every command comes back before
            its reply, so a client that does not turn it off reads its own command as the answer.
  Gn / G?   G1 run, G0 hold (Instrumental: enable_hold sends G0).
  Q?        status byte (p. 38): 1 parameter error, 2 command error, 4 saturation,
            8 over-range, 128 read done (a reading not yet read by D?).
  Rn / R?   range (p. 39): R0 auto-range, R1 (most sensitive) .. R8. Full scale of range n is
            2e-(10-n) W at the detector (R1 = 0.2 nW .. R8 = 20 mW: a model choice; the manual
            lists no wattages). On a manual range a signal above full scale reads full scale and
            sets over-range; auto-range picks the lowest range that holds the signal.
  Un / U?   units 1 = W (lantz: 1 W, 2 dB, 3 dBm, 4 REL; only U1 changes what D? means here:
            other units answer the watts reading, which a client that checks U? notices).
  Wn / W?   wavelength in nm, 400..1800 (outside: parameter error).
Unknown commands set the command error bit; out-of-range parameters set the parameter error bit;
neither changes any setting.

The signal: reading k (counting D? queries in run mode) is POWER * (1 + 0.001 k) W at the
detector's input (--power-w; + Gaussian noise with --noise). The detector saturates above
--saturation-w (at the detector, after the attenuator): the reading is clipped there and the
saturation bit set.

Not from the manual: --set-ms N makes the meter busy for N ms after each set command and lose
any command that arrives meanwhile. Public drivers pause about 100 ms after set commands
(pymodaq_plugins_urashg's 1830-C controller sleeps 0.1 s), which suggests it; the manual says
nothing. Loss is judged only while the simulator itself was scheduled (it polls every 5 ms and
skips the judgement after a stall), so a loaded machine cannot make a pausing client fail.
"""
import re
import time

from sim_common import LineSettings

ATTENUATION = 1000.0


class PowerMeter:
    terminator = b"\n"
    reply_end = b"\n"
    line = LineSettings(9600, 8, "N", 1, rtscts=False)

    def __init__(self, args, faults):
        self.faults = faults
        self.power_w = args.power_w
        self.saturation_w = args.saturation_w
        self.fitted = args.attenuator_fitted
        self.set_s = args.set_ms / 1000.0
        # State left by the previous user / the front panel.
        self.echo = args.echo
        self.go = 0 if args.hold else 1
        self.attenuator = args.attenuator
        self.range = args.range
        self.units = 1
        self.wavelength = 633
        self.status_errors = 0
        self.k = 0
        self.held = None          # (value, flags) of the reading hold mode froze
        self.fresh = True         # a reading not yet read by D?
        self.last_flags = 0
        self.busy_until = 0.0
        self.stalled = False      # set by the server: its clock is not trustworthy right now
        self.timing_poll = self.set_s > 0

    # -- the signal chain ---------------------------------------------------------------------

    def _measure(self):
        """Return (displayed watts, status flags) for a new reading."""
        true_w = self.power_w * (1 + 0.001 * self.k) + self.faults.noise()
        self.k += 1
        detector_w = true_w / ATTENUATION if self.fitted else true_w
        flags = 0
        if detector_w > self.saturation_w:
            detector_w = self.saturation_w
            flags |= 4
        if self.range == 0:
            rng = next((n for n in range(1, 9) if detector_w <= self._full_scale(n)), 8)
        else:
            rng = self.range
        if detector_w > self._full_scale(rng):
            detector_w = self._full_scale(rng)
            flags |= 8
        shown = detector_w * ATTENUATION if self.attenuator else detector_w
        return shown, flags

    @staticmethod
    def _full_scale(n):
        return 2.0 * 10.0 ** (n - 10)

    # -- the command interpreter ----------------------------------------------------------------

    def handle(self, command):
        now = time.monotonic()
        cmd = command.strip()
        if not cmd:
            return []
        replies = []
        if self.echo:
            replies.append(cmd.encode("latin-1") + self.reply_end)
        if self.set_s > 0 and now < self.busy_until and not self.stalled:
            return replies  # still executing the previous set command: this one is lost
        answer = self._interpret(cmd.upper())
        if answer is None and self.set_s > 0:
            # After a stall the arrival time is unknown: do not judge the next command by it.
            self.busy_until = 0.0 if self.stalled else now + self.set_s
        if answer is not None:
            replies.append(answer.encode("latin-1") + self.reply_end)
        return replies

    def _interpret(self, up):
        if up == "D?":
            if self.go == 0 and self.held is not None:
                value, flags = self.held
            else:
                value, flags = self._measure()
                if self.go == 0:
                    self.held = (value, flags)
            self.last_flags = flags
            self.fresh = False
            return "%+.4E" % value
        if up == "Q?":
            return "%d" % (self.status_errors | self.last_flags | (128 if self.fresh else 0))
        queries = {"A?": lambda: self.attenuator, "E?": lambda: self.echo,
                   "G?": lambda: self.go, "R?": lambda: self.range,
                   "U?": lambda: self.units, "W?": lambda: self.wavelength}
        if up in queries:
            return "%d" % queries[up]()
        if up == "C":
            self.status_errors = 0
            self.last_flags = 0
            return None
        m = re.fullmatch(r"([AEGRUW])(\d{1,5})", up)
        if not m:
            self.status_errors |= 2  # command error
            return None
        letter, value = m.group(1), int(m.group(2))
        limits = {"A": (0, 1), "E": (0, 1), "G": (0, 1), "R": (0, 8), "U": (1, 4),
                  "W": (400, 1800)}[letter]
        if not limits[0] <= value <= limits[1]:
            self.status_errors |= 1  # parameter error
            return None
        if letter == "A":
            self.attenuator = value
        elif letter == "E":
            self.echo = value
        elif letter == "G":
            self.go = value
            self.held = None
        elif letter == "R":
            self.range = value
        elif letter == "U":
            self.units = value
        else:
            self.wavelength = value
        return None


def add_arguments(parser):
    g = parser.add_argument_group("1830c")
    g.add_argument("--power-w", type=float, default=1.0e-4,
                   help="optical power at the input, W (reading k: P * (1 + 0.001 k))")
    g.add_argument("--saturation-w", type=float, default=2.0e-2,
                   help="the detector saturates above this power at its surface, W")
    g.add_argument("--attenuator-fitted", action="store_true",
                   help="the attenuator is on the detector (divides the power by 1000)")
    g.add_argument("--attenuator", type=int, default=0, choices=[0, 1],
                   help="the meter's attenuator setting at power-up (A)")
    g.add_argument("--range", type=int, default=0, choices=range(9),
                   help="the meter's range at power-up (R: 0 auto, 1..8 manual)")
    g.add_argument("--echo", type=int, default=0, choices=[0, 1],
                   help="echo mode at power-up (E)")
    g.add_argument("--hold", action="store_true", help="the meter is in hold mode (G0)")
    g.add_argument("--set-ms", type=float, default=0.0,
                   help="busy time after a set command; commands arriving meanwhile are lost")

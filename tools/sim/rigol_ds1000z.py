"""A model of the Rigol DS1000Z oscilloscope's SCPI interface on its LAN socket, written from the
RIGOL MSO1000Z/DS1000Z Programming Guide (chapter 2, :WAVeform subsystem, pages as scanned on
easymanua.ls) and pklaus/ds1054z, not from arrowdaq's driver.

Commands (short or long form, any case; a leading ':' optional):
  *IDN? *RST *CLS, :SYSTem:ERRor[:NEXT]?
  :RUN  :STOP  :SINGle  :TFORce     -- run/stop state (:SINGle: one acquisition, then stop)
  :TRIGger:STATus?                  -- RUN while running, STOP when stopped
  :ACQuire:MDEPth?                  -- memory depth (--mdepth)
  :WAVeform:SOURce CHANnel1..4|MATH [?]
  :WAVeform:MODE NORMal|MAXimum|RAW [?]
  :WAVeform:FORMat BYTE|WORD|ASCii [?]
  :WAVeform:STARt n / :WAVeform:STOP n [?]  -- NORMal: 1..1200 (the screen), RAW: 1..memory depth
  :WAVeform:PREamble?   format,type,points,count,xincrement,xorigin,xreference,yincrement,
                        yorigin,yreference (p. 2-140; the guide's example:
                        0,2,600,2,0.000000,-0.000006,0,0.008000,50,127)
  :WAVeform:DATA?       TMC block "#9" + 9 digits + data, then LF (p. 2-136)
Anything else is -113,"Undefined header"; a bad parameter -222,"Data out of range" or
-224,"Illegal parameter value"; RAW while running (the guide: internal memory is read "in STOP
state" only) -221,"Settings conflict" and an empty block; a RAW read of more than 250000
points in BYTE (125000 WORD, 15625 ASCii: the guide's per-read maxima) -222 and an empty block.

Waveforms: acquisition w of CHANn, screen point i (0..1199) is the byte (i + w + 16 (n - 1)) mod
256 in BYTE mode; volts = (byte - yorigin - yreference) * yincrement with per-channel yorigin
(CHAN1 50, CHAN2 -25, CHAN3 0, CHAN4 10, MATH 0), yreference 127, yincrement 0.008 V: a client that
ignores yorigin is off by a visible amount. xincrement = timebase / 100 = 1 us (NORMal), xorigin =
-600 us for the first screen point. A new acquisition (w + 1) is made for each :WAV:DATA? while
running; stopped, the memory is frozen. Internal memory (RAW, stopped): point j of the last
acquisition is (j + w) mod 256, --mdepth points, xincrement 1 / sample rate (1 ns).
Stopped and scrolled (--scroll S, S > 0: the trace moved right and the first S screen points are
empty; S < 0: the last |S|), the preamble reports 1200 - |S| points, its xorigin is the time of
the first valid point, and :WAV:DATA? returns only the valid points inside STARt..STOP: a short
block (pklaus/ds1054z pads such blocks itself).
--data-ms N makes every :WAV:DATA? take N ms (a slow LAN or a busy scope).
"""
import time

import scpi_parse

IDN = "RIGOL TECHNOLOGIES,DS1104Z,DS1ZA000000001,00.04.04.SP4"
SCREEN = 1200
YREF = 127
YINC = 0.008
YORIGIN = {"CHAN1": 50, "CHAN2": -25, "CHAN3": 0, "CHAN4": 10, "MATH": 0}
OFFSET = {"CHAN1": 0, "CHAN2": 16, "CHAN3": 32, "CHAN4": 48, "MATH": 64}
XINC_SCREEN = 1e-6
MAX_READ = {"BYTE": 250000, "WORD": 125000, "ASC": 15625}


class Scope:
    terminator = b"\n"
    reply_end = b"\n"
    line = None

    def __init__(self, args, faults):
        self.mdepth = args.mdepth
        self.scroll = args.scroll
        self.data_s = args.data_ms / 1000.0
        self.running = not args.stopped
        self.w = 0
        self.errors = []
        self.reset()
        t = self.table = scpi_parse.Table()
        t.add("*IDN?", lambda p: IDN)
        t.add("*RST", lambda p: self.reset())
        t.add("*CLS", lambda p: self.errors.clear())
        t.add("SYSTem:ERRor[:NEXT]?", lambda p: self.errors.pop(0) if self.errors
              else '0,"No error"')
        t.add("RUN", lambda p: setattr(self, "running", True))
        t.add("STOP", lambda p: setattr(self, "running", False))
        t.add("SINGle", lambda p: self.single())
        t.add("TFORce", lambda p: None)
        t.add("TRIGger:STATus?", lambda p: "RUN" if self.running else "STOP")
        t.add("ACQuire:MDEPth?", lambda p: "%d" % self.mdepth)
        t.add("WAVeform:SOURce", lambda p: self.choose(p, ("CHAN1", "CHAN2", "CHAN3", "CHAN4",
                                                           "MATH"), "source", long=True))
        t.add("WAVeform:SOURce?", lambda p: self.source)
        t.add("WAVeform:MODE", lambda p: self.choose(p, ("NORM", "MAX", "RAW"), "mode"))
        t.add("WAVeform:MODE?", lambda p: self.mode)
        t.add("WAVeform:FORMat", lambda p: self.choose(p, ("BYTE", "WORD", "ASC"), "format"))
        t.add("WAVeform:FORMat?", lambda p: self.format)
        t.add("WAVeform:STARt", lambda p: self.set_point(p, "start"))
        t.add("WAVeform:STARt?", lambda p: "%d" % self.start)
        t.add("WAVeform:STOP", lambda p: self.set_point(p, "stop"))
        t.add("WAVeform:STOP?", lambda p: "%d" % self.stop)
        t.add("WAVeform:PREamble?", lambda p: self.preamble())
        t.add("WAVeform:DATA?", lambda p: self.data())

    def reset(self):
        self.source, self.mode, self.format = "CHAN1", "NORM", "BYTE"
        self.start, self.stop = 1, SCREEN

    def error(self, code, text):
        self.errors.append('%d,"%s"' % (code, text))

    def handle(self, command):
        replies = []
        for part in command.split(";"):
            header, params = scpi_parse.split(part)
            if not header:
                continue
            handler = self.table.find(header)
            if handler is None:
                self.error(-113, "Undefined header")
                continue
            answer = handler(params)
            if answer is not None:
                replies.append((answer if isinstance(answer, bytes) else answer.encode())
                               + self.reply_end)
        return replies

    # -- settings -------------------------------------------------------------------------------

    def choose(self, params, choices, attr, long=False):
        text = params[0].upper() if params else ""
        if long and text.startswith("CHANNEL"):
            text = "CHAN" + text[len("CHANNEL"):]
        value = next((c for c in choices if text.startswith(c) and
                      (not long or text == c)), None)
        if value is None:
            self.error(-224, "Illegal parameter value")
            return None
        setattr(self, attr, value)
        return None

    def set_point(self, params, attr):
        try:
            n = int(params[0])
        except (IndexError, ValueError):
            self.error(-224, "Illegal parameter value")
            return None
        limit = SCREEN if self.mode == "NORM" else self.mdepth
        if not 1 <= n <= limit:
            self.error(-222, "Data out of range")
            return None
        setattr(self, attr, n)
        return None

    def single(self):
        self.w += 1
        self.running = False

    # -- data -----------------------------------------------------------------------------------

    def _valid_screen(self):
        """1-based first and last valid screen points."""
        if self.running or self.scroll == 0:
            return 1, SCREEN
        if self.scroll > 0:
            return 1 + self.scroll, SCREEN
        return 1, SCREEN + self.scroll

    def _raw(self):
        return self.mode == "RAW" or (self.mode == "MAX" and not self.running)

    def preamble(self):
        fmt = {"BYTE": 0, "WORD": 1, "ASC": 2}[self.format]
        typ = {"NORM": 0, "MAX": 1, "RAW": 2}[self.mode]
        if self._raw():
            points, xinc, xorigin = self.mdepth, 1e-9, -self.mdepth / 2 * 1e-9
        else:
            lo, hi = self._valid_screen()
            points, xinc = hi - lo + 1, XINC_SCREEN
            xorigin = (lo - 1 - SCREEN / 2) * XINC_SCREEN
        return "%d,%d,%d,1,%.6e,%.6e,0,%.6e,%d,%d" % (
            fmt, typ, points, xinc, xorigin, YINC, YORIGIN[self.source], YREF)

    def data(self):
        if self.data_s > 0:
            time.sleep(self.data_s)
        if self.running:
            self.w += 1  # a fresh acquisition for each read while running
        offset = OFFSET[self.source]
        if self._raw():
            if self.running:
                self.error(-221, "Settings conflict")
                return b"#9000000000"
            lo, hi = self.start, min(self.stop, self.mdepth)
            if hi - lo + 1 > MAX_READ[self.format]:
                self.error(-222, "Data out of range")
                return b"#9000000000"
            codes = [(j + self.w + offset) % 256 for j in range(lo - 1, hi)]
        else:
            v_lo, v_hi = self._valid_screen()
            lo, hi = max(self.start, v_lo), min(self.stop, v_hi)
            codes = [(i + self.w + offset) % 256 for i in range(lo - 1, hi)]
        if self.format == "BYTE":
            payload = bytes(codes)
        elif self.format == "WORD":
            payload = b"".join(bytes((c, 0)) for c in codes)
        else:
            payload = ",".join("%.6e" % ((c - YORIGIN[self.source] - YREF) * YINC)
                               for c in codes).encode()
        return b"#9%09d" % len(payload) + payload


def add_arguments(parser):
    g = parser.add_argument_group("ds1000z")
    g.add_argument("--mdepth", type=int, default=12000, help="memory depth, points")
    g.add_argument("--scroll", type=int, default=0,
                   help="stopped: trace moved by S screen points (S > 0: the first S empty)")
    g.add_argument("--stopped", action="store_true", help="the scope is stopped at power-up")
    g.add_argument("--data-ms", type=float, default=0.0, help="time one :WAV:DATA? takes, ms")

"""A model of the Keysight (Agilent) 34461A digital multimeter's SCPI interface on its LAN socket,
written from the Truevolt Series DMM Operating and Service Guide (SCPI Programming Reference;
page numbers as in the Agilent edition scanned on easymanua.ls) and SCPI-99, not from arrowdaq's
driver.

Commands (short or long form, any case, optional nodes as the manual brackets them):
  *IDN? *RST *CLS *OPC?, SYSTem:ERRor[:NEXT]?
  CONFigure:{VOLTage|CURRent}[:{DC|AC}] [range|AUTO|MIN|MAX|DEF[,resolution]],
  CONFigure:{RESistance|FRESistance} ...  -- function and range; NPLC back to its default (10),
                                             TRIG:COUN, SAMP:COUN 1, TRIG:SOUR IMM
  MEASure:<function>? [range]             -- CONFigure then READ?
  [SENSe:]{VOLTage[:DC]|CURRent[:DC]|RESistance|FRESistance}:NPLC {0.02|0.2|1|10|100|MIN|MAX|DEF}
                                          -- p. 195 ("{0.02|0.2|1|10|100}, default 10" for the
                                             34461A); any other number: -222 "Data out of range"
  [SENSe:]{VOLTage[:DC]|CURRent[:DC]|RESistance}:ZERO:AUTO {OFF|ON|ONCE|0|1}
  [SENSe:]<function>:RANGe {range|MIN|MAX|DEF}, [SENSe:]<function>:RANGe:AUTO {OFF|ON|ONCE}
  TRIGger:SOURce {IMMediate|BUS|EXTernal}, TRIGger:COUNt n, SAMPle:COUNt n
  READ?  INITiate  FETCh?
  FORMat[:DATA] {ASCii|REAL}[,64], FORMat:BORDer {NORMal|SWAPped}
AC functions have no NPLC ([SENSe:]VOLTage:AC:NPLC is -113 "Undefined header"), and so is every
command the instrument does not have (FETC:BLOCK? among them).

Errors go to a queue read by SYSTem:ERRor? ('-113,"Undefined header"', '-222,"Data out of
range"', '-224,"Illegal parameter value"'); it holds 20 entries (an assumption: the Truevolt
guide's figure was not checked) and on overflow the last becomes '-350,"Queue overflow"' as
SCPI-99 prescribes. *CLS empties it; *RST does not.

Timing: a reading integrates NPLC / line frequency (--line-hz, default 50) and, with autozero
on (the default), a zero reading of the same length: a 34461A at 10 PLC on 50 Hz mains gives
about 2.5 readings/s, at 100 PLC one per 4 s. READ? answers after TRIG:COUN x SAMP:COUN
readings. AC readings take 0.1 s each (a model choice).

Values: the input is INPUT + 0.001 k for reading k (counting every reading since the process
started; --input, default 1.0; + Gaussian noise with --noise) in the function's unit. On a fixed
range an input above 120 % of the range, or beyond the largest range, reads +9.90000000E+37 (or
-9.90000000E+37 for a negative input): the overload value SCPI-99 defines as +/-INFinity.
Readings are NR3 text ("+1.00000000E+00", comma-separated when several) or, after
FORMat:DATA REAL,64, a definite-length block of IEEE doubles in FORMat:BORDer order (NORMal =
big-endian, the *RST setting; SWAPped = little-endian).
"""
import struct
import time

import scpi_parse

IDN = "Keysight Technologies,34461A,MY53200000,A.03.01-02.40-03.01-00.52-01-01"
NPLCS = (0.02, 0.2, 1.0, 10.0, 100.0)
RANGES = {"VOLT": (0.1, 1.0, 10.0, 100.0, 1000.0), "VOLT:AC": (0.1, 1.0, 10.0, 100.0, 750.0),
          "CURR": (1e-4, 1e-3, 1e-2, 0.1, 1.0, 3.0), "CURR:AC": (1e-4, 1e-3, 1e-2, 0.1, 1.0, 3.0),
          "RES": (1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8), "FRES": (1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8)}
QUEUE_DEPTH = 20


class Multimeter:
    terminator = b"\n"
    reply_end = b"\n"
    line = None

    def __init__(self, args, faults):
        self.faults = faults
        self.input = args.input
        self.line_hz = args.line_hz
        self.k = 0
        self.errors = []
        self.reset()
        t = self.table = scpi_parse.Table()
        t.add("*IDN?", lambda p: IDN)
        t.add("*RST", lambda p: self.reset())
        t.add("*CLS", lambda p: self.errors.clear())
        t.add("*OPC?", lambda p: "1")
        t.add("SYSTem:ERRor[:NEXT]?", lambda p: self.errors.pop(0) if self.errors
              else '+0,"No error"')
        for spec, func in (("VOLTage[:DC]", "VOLT"), ("VOLTage:AC", "VOLT:AC"),
                           ("CURRent[:DC]", "CURR"), ("CURRent:AC", "CURR:AC"),
                           ("RESistance", "RES"), ("FRESistance", "FRES")):
            t.add("CONFigure:" + spec, lambda p, f=func: self.configure(f, p))
            t.add("MEASure:" + spec + "?", lambda p, f=func: self.measure(f, p))
            t.add("[SENSe:]" + spec + ":RANGe", lambda p, f=func: self.set_range(f, p))
            t.add("[SENSe:]" + spec + ":RANGe:AUTO", lambda p, f=func: self.set_autorange(f, p))
            if not func.endswith(":AC"):
                t.add("[SENSe:]" + spec + ":NPLC", lambda p, f=func: self.set_nplc(f, p))
                t.add("[SENSe:]" + spec + ":NPLC?", lambda p, f=func: "%+.8E" % self.nplc[f])
            if func in ("VOLT", "CURR", "RES"):
                t.add("[SENSe:]" + spec + ":ZERO:AUTO", lambda p: self.set_autozero(p))
        t.add("TRIGger:SOURce", lambda p: self.choose(p, ("IMM", "BUS", "EXT"), "trig_source"))
        t.add("TRIGger:COUNt", lambda p: self.set_count(p, "trig_count"))
        t.add("SAMPle:COUNt", lambda p: self.set_count(p, "sample_count"))
        t.add("READ?", lambda p: self.read())
        t.add("INITiate[:IMMediate]", lambda p: self.initiate())
        t.add("FETCh?", lambda p: self.fetch())
        t.add("FORMat[:DATA]", lambda p: self.set_format(p))
        t.add("FORMat:BORDer", lambda p: self.choose(p, ("NORM", "SWAP"), "border"))

    # -- state ----------------------------------------------------------------------------------

    def reset(self):
        self.function = "VOLT"
        self.range = {f: None for f in RANGES}  # None: autorange
        self.nplc = {f: 10.0 for f in RANGES}
        self.autozero = True
        self.trig_source, self.trig_count, self.sample_count = "IMM", 1, 1
        self.format, self.border = "ASC", "NORM"
        self.memory = []

    def error(self, code, text):
        if len(self.errors) >= QUEUE_DEPTH:
            self.errors[-1] = '-350,"Queue overflow"'
        else:
            self.errors.append('%d,"%s"' % (code, text))

    # -- the command interpreter ----------------------------------------------------------------

    def handle(self, command):
        replies = []
        for part in command.split(";"):  # several commands in one message
            header, params = scpi_parse.split(part)
            if not header:
                continue
            handler = self.table.find(header)
            if handler is None:
                self.error(-113, "Undefined header")
                continue
            answer = handler(params)
            if answer is not None:
                replies.append(answer if isinstance(answer, bytes) else answer.encode())
        return [r + self.reply_end for r in replies]

    @staticmethod
    def _word(text, choices):
        up = text.upper()
        for c in choices:
            if up.startswith(c):
                return c
        return None

    def choose(self, params, choices, attr):
        value = self._word(params[0], choices) if params else None
        if value is None:
            self.error(-224, "Illegal parameter value")
            return None
        setattr(self, attr, value)
        return None

    def set_count(self, params, attr):
        try:
            n = int(float(params[0]))
        except (IndexError, ValueError):
            self.error(-224, "Illegal parameter value")
            return None
        if not 1 <= n <= 1000000:
            self.error(-222, "Data out of range")
            return None
        setattr(self, attr, n)
        return None

    def _range_value(self, func, text):
        """Return (ok, range or None for auto)."""
        up = text.upper()
        ranges = RANGES[func]
        if up in ("AUTO", "DEF", "DEFAULT"):
            return True, None
        if up.startswith("MIN"):
            return True, ranges[0]
        if up.startswith("MAX"):
            return True, ranges[-1]
        try:
            v = abs(float(text))
        except ValueError:
            self.error(-224, "Illegal parameter value")
            return False, None
        if v > ranges[-1] * 1.2:
            self.error(-222, "Data out of range")
            return False, None
        return True, next(r for r in ranges if v <= r * 1.2)

    def configure(self, func, params):
        ok, rng = self._range_value(func, params[0]) if params else (True, None)
        if not ok:
            return None
        self.function = func
        self.range[func] = rng
        self.nplc[func] = 10.0
        self.trig_source, self.trig_count, self.sample_count = "IMM", 1, 1
        return None

    def measure(self, func, params):
        self.configure(func, params)
        return self.read()

    def set_range(self, func, params):
        ok, rng = self._range_value(func, params[0]) if params else (False, None)
        if ok:
            self.range[func] = rng
        return None

    def set_autorange(self, func, params):
        word = self._word(params[0], ("ON", "OFF", "ONCE", "1", "0")) if params else None
        if word is None:
            self.error(-224, "Illegal parameter value")
        elif word in ("ON", "1"):
            self.range[func] = None
        return None

    def set_nplc(self, func, params):
        text = params[0].upper() if params else ""
        if text.startswith("MIN"):
            value = NPLCS[0]
        elif text.startswith("MAX"):
            value = NPLCS[-1]
        elif text.startswith("DEF"):
            value = 10.0
        else:
            try:
                value = float(text)
            except ValueError:
                self.error(-224, "Illegal parameter value")
                return None
            if not any(abs(value - n) <= 1e-9 * n for n in NPLCS):
                self.error(-222, "Data out of range")
                return None
        self.nplc[func] = value
        return None

    def set_autozero(self, params):
        word = self._word(params[0], ("ON", "OFF", "ONCE", "1", "0")) if params else None
        if word is None:
            self.error(-224, "Illegal parameter value")
        else:
            self.autozero = word in ("ON", "1")
        return None

    def set_format(self, params):
        kind = self._word(params[0], ("ASC", "REAL")) if params else None
        if kind is None or (kind == "REAL" and len(params) > 1 and params[1] != "64"):
            self.error(-224, "Illegal parameter value")
            return None
        self.format = kind
        return None

    # -- measuring ------------------------------------------------------------------------------

    def _one_reading(self):
        func = self.function
        if func.endswith(":AC"):
            time.sleep(0.1)
        else:
            integration = self.nplc[func] / self.line_hz
            time.sleep(integration * (2 if self.autozero else 1))
        value = self.input + 0.001 * self.k + self.faults.noise()
        self.k += 1
        ranges = RANGES[func]
        rng = self.range[func]
        if rng is None:
            rng = next((r for r in ranges if abs(value) <= r * 1.2), None)
        if rng is None or abs(value) > rng * 1.2:
            return 9.9e37 if value >= 0 else -9.9e37
        return value

    def initiate(self):
        self.memory = [self._one_reading()
                       for _ in range(self.trig_count * self.sample_count)]
        return None

    def fetch(self):
        values, self.memory = self.memory, []
        if not values:
            self.error(-230, "Data corrupt or stale")
            return None
        if self.format == "REAL":
            payload = struct.pack((">" if self.border == "NORM" else "<") + "%dd" % len(values),
                                  *values)
            digits = str(len(payload))
            return b"#" + str(len(digits)).encode() + digits.encode() + payload
        return ",".join("%+.8E" % v for v in values)

    def read(self):
        self.initiate()
        return self.fetch()


def add_arguments(parser):
    g = parser.add_argument_group("34461a")
    g.add_argument("--input", type=float, default=1.0,
                   help="input signal: reading k is INPUT + 0.001 k (function's unit)")
    g.add_argument("--line-hz", type=float, default=50.0, help="mains frequency, Hz")

"""A model of the Rigol DS1000Z oscilloscope's SCPI interface (placeholder: replaced by the
manual-based model in the DS1000Z slice)."""

PREAMBLE = "0,0,1200,1,1.000000e-06,-6.000000e-04,0,4.000000e-02,0,127"
IDN = "RIGOL TECHNOLOGIES,DS1104Z,DS1ZA000000001,00.04.04.SP4"


class Scope:
    terminator = b"\n"
    reply_end = b"\n"
    line = None

    def __init__(self, args, faults):
        self.w = 0
        self.errors = []

    def handle(self, command):
        up = command.strip().upper()
        head = up.split(" ")[0]
        if head == "*IDN?":
            return [IDN.encode() + b"\n"]
        if head in ("*CLS", "*RST"):
            self.errors.clear()
            return []
        if head in ("SYST:ERR?", ":SYST:ERR?"):
            return [(self.errors.pop(0) if self.errors else '0,"No error"').encode() + b"\n"]
        if head in (":WAV:SOUR", ":WAV:MODE", ":WAV:FORM", ":RUN", ":STOP", ":SING"):
            return []
        if head == ":WAV:PRE?":
            return [PREAMBLE.encode() + b"\n"]
        if head == ":WAV:DATA?":
            data = bytes((i + self.w) % 256 for i in range(1200))
            self.w += 1
            return [b"#9%09d" % len(data) + data + b"\n"]
        self.errors.append('-113,"Undefined header"')
        return []


def add_arguments(parser):
    pass

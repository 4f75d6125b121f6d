#!/usr/bin/env python3
"""TCP SCPI simulator for arrowdaq tests: a Keysight 34461A DMM or a Rigol DS1000Z scope.

Prints the listening port on its first stdout line, then serves clients (one line = one
command, "\\n" terminated) until killed. Deterministic values:
  34461A  READ? reading k (0-based, per process) = 1.0 + 0.001*k (+ noise), NR3 text
          FETC:BLOCK? (for scpi.generic binary) = #216 + float64 LE [k, -k]
  DS1000Z :WAV:DATA? waveform w (0-based) byte i = (i + w) % 256, 1200 points, #9 block;
          :WAV:PRE? = 0,0,1200,1,1.0e-06,-6.0e-04,0,4.0e-02,0,127  (volts = (b-127)*0.04)
Unknown commands queue -113,"Undefined header" for SYST:ERR?.
Usage: scpi_server.py --model 34461a|ds1000z [--port 0] [fault options, see --help]
"""
import argparse
import os
import selectors
import socket
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sim_common import GARBAGE, Faults, add_fault_arguments  # noqa: E402

PREAMBLE = "0,0,1200,1,1.000000e-06,-6.000000e-04,0,4.000000e-02,0,127"


class Device:
    def __init__(self, model, faults):
        self.model = model
        self.faults = faults
        self.errors = []
        self.k = 0          # DMM readings given
        self.w = 0          # scope waveforms given
        self.settings = {}

    def handle(self, line):
        """Return reply bytes (None: no reply)."""
        cmd = line.strip()
        up = cmd.upper()
        if not up:
            return None
        if up == "*IDN?":
            if self.model == "34461a":
                return b"Keysight Technologies,34461A,MY53200000,A.03.01-02.40-03.01-00.52-01-01"
            return b"RIGOL TECHNOLOGIES,DS1104Z,DS1ZA000000001,00.04.04.SP4"
        if up in ("*CLS", "*RST"):
            self.errors.clear()
            return None
        if up in ("SYST:ERR?", "SYSTEM:ERROR?", "SYST:ERR:NEXT?"):
            if self.errors:
                return self.errors.pop(0).encode()
            return b'+0,"No error"'
        if self.model == "34461a":
            return self.dmm(up)
        return self.scope(up)

    def undefined(self, up):
        self.errors.append('-113,"Undefined header; %s"' % up)
        return None

    def dmm(self, up):
        head = up.split(" ")[0]
        if head in ("READ?", "MEAS:VOLT:DC?"):
            value = 1.0 + 0.001 * self.k + self.faults.noise()
            self.k += 1
            return ("%+.8E" % value).encode()
        if head == "FETC:BLOCK?":
            k = float(self.k)
            self.k += 1
            payload = struct.pack("<2d", k, -k)
            return b"#2%02d" % len(payload) + payload
        if head.startswith(("CONF:", "TRIG:", "SAMP:", "FORM", "VOLT:", "CURR:", "RES:",
                            "FRES:", "INIT", "ABOR")) or head.endswith(":NPLC"):
            self.settings[head] = up
            return None
        return self.undefined(up)

    def scope(self, up):
        head = up.split(" ")[0]
        if head in (":WAV:SOUR", ":WAV:MODE", ":WAV:FORM", ":RUN", ":STOP", ":SING"):
            self.settings[head] = up
            return None
        if head == ":WAV:PRE?":
            return PREAMBLE.encode()
        if head == ":WAV:DATA?":
            data = bytes((i + self.w) % 256 for i in range(1200))
            self.w += 1
            return b"#9%09d" % len(data) + data
        return self.undefined(up)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", choices=["34461a", "ds1000z"], default="34461a")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0: any free port (printed)")
    add_fault_arguments(parser)
    args = parser.parse_args()
    faults = Faults(args)
    device = Device(args.model, faults)

    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind((args.host, args.port))
    server.listen(8)
    server.setblocking(False)
    print(server.getsockname()[1], flush=True)

    sel = selectors.DefaultSelector()
    sel.register(server, selectors.EVENT_READ, None)
    buffers = {}
    hung = False
    while True:
        for key, _ in sel.select():
            if key.data is None:
                conn, _ = server.accept()
                conn.setblocking(True)
                sel.register(conn, selectors.EVENT_READ, "client")
                buffers[conn] = b""
                continue
            conn = key.fileobj
            try:
                chunk = conn.recv(65536)
            except OSError:
                chunk = b""
            if not chunk:
                sel.unregister(conn)
                conn.close()
                buffers.pop(conn, None)
                continue
            buffers[conn] += chunk
            while b"\n" in buffers.get(conn, b""):
                line, buffers[conn] = buffers[conn].split(b"\n", 1)
                reply = device.handle(line.decode("latin-1"))
                if reply is None or hung:
                    continue
                action, drop = faults.decide()
                if action == "hang":
                    hung = True
                    continue
                conn.sendall((GARBAGE if action == "garbage" else reply + b"\n"))
                if drop:
                    sel.unregister(conn)
                    conn.close()
                    buffers.pop(conn, None)
                    break


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        pass

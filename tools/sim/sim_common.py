"""Shared ground of the arrowdaq instrument simulators (stdlib only): fault injection, the serial
line settings a device expects, and the two ways a simulated device is reached -- a TCP socket
(LAN instruments) or a pseudo-terminal (RS-232 instruments).

A device model (newport_1830c.py, newport_esp300.py, keysight_34461a.py, rigol_ds1000z.py) is an
object with:
  terminator   bytes that end a command
  line         LineSettings the device's serial port is set to (None for LAN devices)
  handle(cmd)  -> list of byte strings to send back (each with its terminator; [] = no reply);
               may sleep (integration time) or consult time.monotonic() (motion)
  connected()  called for each new TCP client (optional)

Over a pty the simulator reads the line settings the client applied (termios on the shared pty:
on Linux master and slave share one termios) before it takes any byte: a client at the wrong baud
rate, data bits, parity or stop bits is not understood at all, like a real UART that sees
framing errors; a client that needs RTS/CTS from a device without hardware handshake never gets
to send, and a device that needs RTS/CTS (the ESP300) does not answer a client without it. The
first mismatch is reported on stderr. XON/XOFF differences are not modelled, and a Linux pty
forces 8 data bits and no parity whatever the client asks, so only the baud rate, the stop bits
and RTS/CTS can be checked this way.
"""
import argparse
import os
import random
import select
import socket
import sys
import termios
import time
import tty

GARBAGE = b"\x00\xff#9zz\x07garbage\x1b[2J\n"


def add_fault_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--latency-ms", type=float, default=0.0,
                        help="delay before every reply, in ms")
    parser.add_argument("--noise", type=float, default=0.0,
                        help="standard deviation of Gaussian noise added to readings")
    parser.add_argument("--seed", type=int, default=1, help="noise seed")
    parser.add_argument("--drop-after", type=int, default=-1, metavar="N",
                        help="close the connection after N replies (once)")
    parser.add_argument("--hang-after", type=int, default=-1, metavar="N",
                        help="stop answering after N replies")
    parser.add_argument("--garbage-after", type=int, default=-1, metavar="N",
                        help="send garbage instead of every reply after the first N")
    parser.add_argument("--hostile", choices=["silent", "nul", "huge-block"],
                        help="answer --hostile-command on every connection with nothing, NUL "
                             "bytes, or a block header claiming 999999999 bytes (everything "
                             "else is answered normally, so each reconnect succeeds)")
    parser.add_argument("--hostile-command", default="READ?",
                        help="the command --hostile and --hiccup-every apply to")
    parser.add_argument("--hiccup-every", type=int, default=0, metavar="N",
                        help="leave every Nth --hostile-command unanswered (a device that "
                             "fails now and then but delivers in between)")


class Faults:
    """Count replies and say, for the next one, whether to send it, send garbage instead, hang
    (never answer again), or drop the connection after it."""

    def __init__(self, args):
        self.args = args
        self.replies = 0
        self.dropped = False
        self.rng = random.Random(args.seed)
        self.hostile_seen = 0

    def noise(self) -> float:
        return self.rng.gauss(0.0, self.args.noise) if self.args.noise > 0 else 0.0

    def hostile_reply(self, command: str):
        """Return None when `command` is answered normally, else the hostile bytes (b"": none)."""
        a = self.args
        if command.strip().upper() != a.hostile_command.upper():
            return None
        self.hostile_seen += 1
        if a.hiccup_every > 0 and self.hostile_seen % a.hiccup_every == 0:
            return b""
        if not a.hostile:
            return None
        if a.hostile == "silent":
            return b""
        if a.hostile == "nul":
            return b"\x00" * 16 + b"\n"
        return b"#9999999999" + b"\x00" * 64  # and then nothing: the block never completes

    def decide(self):
        """Return ('send' | 'garbage' | 'hang', drop_after_sending)."""
        a = self.args
        if a.hang_after >= 0 and self.replies >= a.hang_after:
            return "hang", False
        action = "send"
        if a.garbage_after >= 0 and self.replies >= a.garbage_after:
            action = "garbage"
        self.replies += 1
        drop = False
        if a.drop_after >= 0 and not self.dropped and self.replies >= a.drop_after:
            self.dropped = True
            drop = True
        if a.latency_ms > 0:
            time.sleep(a.latency_ms / 1000.0)
        return action, drop


class LineSettings:
    """Baud rate, frame (data bits, parity, stop bits) and hardware handshake of a serial port."""

    _BAUDS = {getattr(termios, "B%d" % b): b for b in
              (50, 75, 110, 134, 150, 200, 300, 600, 1200, 1800, 2400, 4800, 9600, 19200,
               38400, 57600, 115200, 230400, 460800, 921600)}

    def __init__(self, baud=9600, data_bits=8, parity="N", stop_bits=1, rtscts=False):
        self.baud, self.data_bits, self.parity = baud, data_bits, parity
        self.stop_bits, self.rtscts = stop_bits, rtscts

    @classmethod
    def of_tty(cls, fd):
        iflag, oflag, cflag, lflag, ispeed, ospeed, cc = termios.tcgetattr(fd)
        size = {termios.CS5: 5, termios.CS6: 6, termios.CS7: 7, termios.CS8: 8}[
            cflag & termios.CSIZE]
        parity = "N"
        if cflag & termios.PARENB:
            parity = "O" if cflag & termios.PARODD else "E"
        return cls(cls._BAUDS.get(ospeed, ospeed), size, parity,
                   2 if cflag & termios.CSTOPB else 1, bool(cflag & termios.CRTSCTS))

    def frame(self):
        return (self.baud, self.data_bits, self.parity, self.stop_bits)

    def __str__(self):
        return "%s Bd %d%s%d, %s" % (self.baud, self.data_bits, self.parity, self.stop_bits,
                                     "RTS/CTS" if self.rtscts else "no hardware handshake")

    def understands(self, host):
        """Return "" when a device set to self receives what `host` sends, else why not."""
        if host.frame() != self.frame():
            return "frame or baud rate differ: bytes arrive garbled"
        if host.rtscts and not self.rtscts:
            return "the host waits for CTS, which this device never asserts"
        if self.rtscts and not host.rtscts:
            return "the device needs RTS/CTS handshake and gets none"
        return ""


def _send(write, reply: bytes, faults: Faults, state: dict) -> bool:
    """Send one reply through the faults; return False when the connection must close."""
    if state.get("hung"):
        return True
    action, drop = faults.decide()
    if action == "hang":
        state["hung"] = True
        return True
    write(GARBAGE if action == "garbage" else reply)
    return not drop


def _dispatch(device, line: bytes, faults: Faults, state: dict, write) -> bool:
    command = line.decode("latin-1")
    hostile = faults.hostile_reply(command)
    if hostile is not None:
        if hostile:
            write(hostile)
        return True
    for reply in device.handle(command):
        if not _send(write, reply, faults, state):
            return False
    return True


def serve_tcp(device, faults: Faults, host="127.0.0.1", port=0):
    """Listen on host:port, print the port on stdout's first line, serve clients until killed."""
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind((host, port))
    server.listen(8)
    print(server.getsockname()[1], flush=True)
    clients = {}
    state = {}
    while True:
        readable, _, _ = select.select([server, *clients], [], [])
        for sock in readable:
            if sock is server:
                conn, _ = server.accept()
                clients[conn] = b""
                if hasattr(device, "connected"):
                    device.connected()
                continue
            try:
                chunk = sock.recv(65536)
            except OSError:
                chunk = b""
            if not chunk:
                clients.pop(sock, None)
                sock.close()
                continue
            clients[sock] += chunk
            while sock in clients and device.terminator in clients[sock]:
                line, clients[sock] = clients[sock].split(device.terminator, 1)
                if not _dispatch(device, line, faults, state, sock.sendall):
                    clients.pop(sock, None)
                    sock.close()


def serve_pty(device, faults: Faults):
    """Open a pty pair, print the slave path on stdout's first line, answer until killed or
    until a fault drops the line (then exit)."""
    master, slave = os.openpty()
    tty.setraw(slave)  # the client sets its own line settings; this keeps the line clean before
    print(os.ttyname(slave), flush=True)
    buf = b""
    state = {}
    reported = False
    dropping = False
    # A device that judges command timing (newport_1830c --set-ms) needs to know whether the
    # simulator was scheduled: poll every 5 ms and call a longer gap a stall.
    poll_s = 0.005 if getattr(device, "timing_poll", False) else None
    last_wake = time.monotonic()

    def write(data):
        os.write(master, data)

    while True:
        readable, _, _ = select.select([master], [], [], poll_s)
        now = time.monotonic()
        stalled = poll_s is not None and now - last_wake > 4 * poll_s
        last_wake = now
        if not readable:
            continue
        if hasattr(device, "stalled"):
            device.stalled = stalled
        try:
            chunk = os.read(master, 65536)
        except OSError:  # EIO: no client has the slave open right now
            time.sleep(0.01)
            continue
        if dropping:
            os.close(master)
            os.close(slave)
            return
        if device.line is not None:
            why = device.line.understands(LineSettings.of_tty(slave))
            if why:
                if not reported:
                    print("line settings mismatch: host %s, device %s: %s" % (
                        LineSettings.of_tty(slave), device.line, why), file=sys.stderr,
                        flush=True)
                    reported = True
                buf = b""
                continue
        buf += chunk
        while device.terminator in buf:
            line, buf = buf.split(device.terminator, 1)
            if not _dispatch(device, line, faults, state, write):
                # Closing the master hangs the line up, which discards what the client has not
                # read yet: hang up when the client sends again, after it read the last reply.
                dropping = True
                break

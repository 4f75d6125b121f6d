#!/usr/bin/env python3
"""Simulator of the Acme TM-2 (fictional two-channel temperature monitor; protocol in
acme_tm2.h). A real TCP server, Python standard library only. Prints "PORT <n>" on its first
stdout line, then serves one client at a time.

Sample k (counted from START) is taken at START + k / rate and reads
    inlet_k  = 20 + 0.01 * k          (degC)
    outlet_k = 35 - 0.02 * k          (degC)
computed in IEEE double and sent with repr(), so a reader can recompute each value exactly.
--drop N skips N samples after the first FETCH? (a device whose buffer overflowed).
"""
import argparse
import socket
import sys
import time


def inlet(k):
    return 20 + 0.01 * k


def outlet(k):
    return 35 - 0.02 * k


def serve(conn, args):
    rate = 10.0
    start = None
    next_k = 0
    fetches = 0
    buf = b""
    while True:
        while b"\n" not in buf:
            data = conn.recv(4096)
            if not data:
                return
            buf += data
        line, buf = buf.split(b"\n", 1)
        cmd = line.decode("ascii", "replace").strip()
        reply = None
        if cmd == "*IDN?":
            reply = "ACME,TM-2,SN0042,1.3"
        elif cmd.startswith("RATE "):
            value = float(cmd[5:])
            if 1 <= value <= 1000:
                rate = value
        elif cmd == "RATE?":
            reply = repr(rate)
        elif cmd == "START":
            start, next_k, fetches = time.monotonic(), 0, 0
        elif cmd == "STOP":
            start = None
        elif cmd.startswith("FETCH? "):
            n = int(cmd[7:])
            if start is None or n < 1:
                reply = "ERR not started"
            else:
                if fetches == 1:
                    next_k += args.drop
                fetches += 1
                due = start + (next_k + n) / rate
                time.sleep(max(0.0, due - time.monotonic()))
                values = [str(next_k)]
                for k in range(next_k, next_k + n):
                    values += [repr(inlet(k)), repr(outlet(k))]
                next_k += n
                reply = ",".join(values)
        elif cmd.endswith("?") or "? " in cmd:
            reply = "ERR unknown query"
        if reply is not None:
            conn.sendall(reply.encode("ascii") + b"\n")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--drop", type=int, default=0)
    args = parser.parse_args()
    server = socket.socket()
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("127.0.0.1", args.port))
    server.listen(1)
    print(f"PORT {server.getsockname()[1]}", flush=True)
    while True:
        conn, _ = server.accept()
        with conn:
            try:
                serve(conn, args)
            except (ConnectionError, ValueError):
                pass


if __name__ == "__main__":
    sys.exit(main())

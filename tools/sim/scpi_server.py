#!/usr/bin/env python3
"""TCP SCPI simulator for arrowdaq tests: a Keysight 34461A multimeter or a Rigol DS1000Z
oscilloscope, each an independent model of the instrument written from its manual (see
keysight_34461a.py and rigol_ds1000z.py for the behaviour modelled and the sources).

Prints the listening port on its first stdout line, then serves clients (one line = one
command) until killed. Usage: scpi_server.py --model 34461a|ds1000z [--port 0] [model options]
[fault options]; see --help.
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import keysight_34461a  # noqa: E402
import rigol_ds1000z  # noqa: E402
from sim_common import Faults, add_fault_arguments, serve_tcp  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", choices=["34461a", "ds1000z"], default="34461a")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0: any free port (printed)")
    add_fault_arguments(parser)
    keysight_34461a.add_arguments(parser)
    rigol_ds1000z.add_arguments(parser)
    args = parser.parse_args()
    faults = Faults(args)
    if args.model == "34461a":
        device = keysight_34461a.Multimeter(args, faults)
    else:
        device = rigol_ds1000z.Scope(args, faults)
    serve_tcp(device, faults, args.host, args.port)


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        pass

#!/usr/bin/env python3
"""Serial-line simulator for arrowdaq tests: a Newport 1830-C power meter or ESP300 motion
controller on a pseudo-terminal pair, each an independent model of the instrument written from
its manual (see newport_1830c.py, newport_esp300.py for the behaviour and the sources).

Prints the slave device path (open it as ASRL<path>::INSTR) on its first stdout line, then
answers until killed (or until --drop-after closes the line, which ends the process). The
simulator checks the line settings the client applied (baud, frame, handshake) and does not
understand a client whose settings differ from the instrument's (sim_common.serve_pty).
Usage: serial_sim.py --model 1830c|esp300 [model options] [fault options]; see --help.
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import newport_1830c  # noqa: E402
import newport_esp300  # noqa: E402
from sim_common import Faults, add_fault_arguments, serve_pty  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", choices=["1830c", "esp300"], default="1830c")
    parser.add_argument("--port", type=int, default=0, help="ignored (TCP simulators only)")
    add_fault_arguments(parser)
    newport_1830c.add_arguments(parser)
    newport_esp300.add_arguments(parser)
    args = parser.parse_args()
    faults = Faults(args)
    if args.model == "1830c":
        device = newport_1830c.PowerMeter(args, faults)
    else:
        device = newport_esp300.MotionController(args, faults)
    serve_pty(device, faults)


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        pass

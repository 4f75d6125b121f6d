"""Fault injection shared by the arrowdaq instrument simulators (stdlib only).

A Faults object counts replies and says, for the next reply, whether to send it, send
garbage instead, hang (never answer again), or drop the connection after it.
"""
import argparse
import random
import time

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


class Faults:
    def __init__(self, args):
        self.args = args
        self.replies = 0
        self.dropped = False
        self.rng = random.Random(args.seed)

    def noise(self) -> float:
        return self.rng.gauss(0.0, self.args.noise) if self.args.noise > 0 else 0.0

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

#!/usr/bin/env python3
"""Turn `perf script` output into a flame graph SVG (no external tool needed).

    perf record -e cpu-clock -g -o perf.data <command>
    perf script -i perf.data | python3 scripts/flamegraph.py --title "..." > out.svg

Each sample's call stack (outermost frame at the bottom) becomes a tower of boxes whose width is
the share of samples that passed through that frame; hovering a box shows its name, sample count
and share. Frames are merged by name per parent, as Brendan Gregg's flamegraph.pl does.
"""
import argparse
import html
import re
import sys
import zlib


def parse(lines):
    """Yield stacks (lists of frame names, outermost first) from `perf script` text."""
    stack = []
    in_sample = False
    for line in lines:
        line = line.rstrip("\n")
        if not line.strip():
            if stack:
                yield list(reversed(stack))
            stack, in_sample = [], False
            continue
        if not line.startswith((" ", "\t")):
            in_sample = True  # the sample header (comm pid time event)
            continue
        if in_sample:
            parts = line.strip().split(None, 1)
            if len(parts) < 2:
                continue
            sym = re.sub(r"\s+\(.*\)$", "", parts[1])  # drop " (dso)"
            sym = re.sub(r"\+0x[0-9a-f]+$", "", sym)
            stack.append(sym or "[unknown]")
    if stack:
        yield list(reversed(stack))


class Node:
    __slots__ = ("name", "count", "children")

    def __init__(self, name):
        self.name, self.count, self.children = name, 0, {}


def build(stacks):
    root = Node("all")
    for st in stacks:
        root.count += 1
        node = root
        for name in st:
            node = node.children.setdefault(name, Node(name))
            node.count += 1
    return root


def color(name):
    h = zlib.crc32(name.encode())
    return f"rgb({205 + h % 50},{80 + (h >> 8) % 120},{(h >> 16) % 60})"


def render(root, title, width=1200, row=16):
    boxes = []
    depth_max = [0]

    def walk(node, x, depth):
        depth_max[0] = max(depth_max[0], depth)
        w = node.count / root.count * width
        if w >= 0.1:
            boxes.append((x, depth, w, node))
        cx = x
        for child in sorted(node.children.values(), key=lambda n: n.name):
            walk(child, cx, depth + 1)
            cx += child.count / root.count * width

    walk(root, 0.0, 0)
    height = (depth_max[0] + 1) * row + 40
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           f'font-family="monospace" font-size="11">',
           f'<text x="{width / 2}" y="16" text-anchor="middle" font-size="14">'
           f'{html.escape(title)} ({root.count} samples)</text>']
    for x, depth, w, node in boxes:
        y = height - (depth + 1) * row
        pct = 100.0 * node.count / root.count
        label = html.escape(node.name)
        out.append(f'<g><title>{label} ({node.count} samples, {pct:.2f}%)</title>'
                   f'<rect x="{x:.2f}" y="{y}" width="{w:.2f}" height="{row - 1}" '
                   f'fill="{color(node.name)}"/>')
        chars = int(w / 7)
        if chars >= 3:
            text = node.name if len(node.name) <= chars else node.name[:chars - 2] + ".."
            out.append(f'<text x="{x + 2:.2f}" y="{y + row - 4}">{html.escape(text)}</text>')
        out.append("</g>")
    out.append("</svg>")
    return "\n".join(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--title", default="flame graph")
    ap.add_argument("input", nargs="?", help="perf script output (default stdin)")
    args = ap.parse_args()
    src = open(args.input, errors="replace") if args.input else sys.stdin
    root = build(parse(src))
    if root.count == 0:
        sys.exit("flamegraph.py: no samples with call stacks in the input (perf record -g?)")
    sys.stdout.write(render(root, args.title))


if __name__ == "__main__":
    main()

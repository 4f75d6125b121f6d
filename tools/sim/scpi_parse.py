"""SCPI command-header matching for the simulators (stdlib only), per SCPI-99 volume 1 chapter 6:
a header is a path of mnemonics, each accepted in its short form (the upper-case letters of the
manual's spelling) or its long form, in any case; nodes in [brackets] may be left out; a query
ends with '?'. Parameters follow the header after white space and are separated by commas."""
import re


def header_regex(spec):
    """Turn a manual spelling such as "[SENSe:]VOLTage[:DC]:NPLC" into a compiled regex."""
    out = []
    i = 0
    while i < len(spec):
        ch = spec[i]
        if ch == "[":
            out.append("(?:")
            i += 1
        elif ch == "]":
            out.append(")?")
            i += 1
        elif ch in ":*?":
            out.append(re.escape(ch))
            i += 1
        else:
            m = re.match(r"([A-Z0-9]+)([a-z0-9]*)", spec[i:])
            short, rest = m.group(1), m.group(2)
            out.append(re.escape(short) + ("(?:%s)?" % re.escape(rest.upper()) if rest else ""))
            i += m.end()
    return re.compile("".join(out) + r"\Z", re.IGNORECASE)


def split(command):
    """Return (header, [parameters]) of one command; parameters stripped, none when absent."""
    command = command.strip()
    m = re.match(r"(\S+)\s*(.*)\Z", command, re.DOTALL)
    if not m:
        return "", []
    header, rest = m.group(1), m.group(2).strip()
    return header, [p.strip() for p in rest.split(",")] if rest else []


class Table:
    """Dispatch commands to handlers by header pattern, in registration order."""

    def __init__(self):
        self.entries = []

    def add(self, spec, handler):
        self.entries.append((header_regex(spec), handler))

    def find(self, header):
        header = header.lstrip(":")  # a leading colon means "from the root": the same here
        for regex, handler in self.entries:
            if regex.match(header):
                return handler
        return None

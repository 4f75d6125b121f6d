#!/usr/bin/env python3
"""Say whose code a fuzzer finding is in, from the report a libFuzzer target printed for it.

Reads the target's stderr (run on the one input) from stdin and prints one line:
  arrowdaq <function> <where>        the innermost frame of interest is in our code (or unknown)
  third-party <library> <function>   it is inside a shared library we do not build (libhdf5 ...)

"Frame of interest": the first frame of the first stack trace that is not the sanitizer or
fuzzer runtime, the C library, or an allocator/string interceptor. For a timeout, libFuzzer
prints the stack of the thread that was running the input, so the same rule names the code
that spins. fuzz/run.sh uses it in `explore` mode: findings inside a third-party library are
listed and kept but do not fail `make fuzz` (they are contained where users meet them: see
fuzz/findings/README.md); every other finding does.
"""
import re
import sys

FRAME = re.compile(r"^\s*#(\d+) 0x[0-9a-f]+(?: in (?P<func>.+?))? (?P<where>\S+)$")
MODULE = re.compile(r"^\((?P<module>[^+()]+)\+0x[0-9a-f]+\)$")
RUNTIME_PREFIXES = ("__interceptor_", "__asan", "__sanitizer", "__ubsan", "__lsan", "fuzzer::",
                    "__libc", "__GI_", "__sigsetjmp", "__cxa_", "_Unwind")
RUNTIME_FUNCS = {"malloc", "calloc", "realloc", "free", "abort", "raise", "memcpy", "memmove",
                 "memset", "strlen", "strcmp", "strncmp", "memcmp", "operator new",
                 "operator delete", "__memcpy_chk"}
SYSTEM_LIBS = ("libc.so", "ld-linux", "linux-vdso", "libstdc++", "libgcc_s", "libpthread")
OURS = ("libarrowdaq",)


def frames(text):
    out = []
    for line in text.splitlines():
        if "(BuildId:" in line:
            line = line[: line.index("(BuildId:")].rstrip()
        m = FRAME.match(line)
        if m:
            if m.group(1) == "0" and out:
                break  # the first stack trace only
            out.append((m.group("func") or "", m.group("where")))
    return out


def is_runtime(func, module):
    base = func.split("(")[0].strip()
    if base.startswith(RUNTIME_PREFIXES) or base in RUNTIME_FUNCS:
        return True
    return any(lib in module for lib in SYSTEM_LIBS)


def main():
    text = sys.stdin.read()
    for func, where in frames(text):
        m = MODULE.match(where)
        module = m.group("module") if m else ""
        if is_runtime(func, module):
            continue
        library = module.rsplit("/", 1)[-1]
        if ".so" in library and not library.startswith(OURS):
            print(f"third-party {library} {func or '?'}")
        else:
            print(f"arrowdaq {func or '?'} {where}")
        return 0
    print("arrowdaq ? (no stack trace in the report)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The machine a benchmark ran on, recorded with its results: CPU model, logical and physical
cores, the SIMD flags that matter to the kernels measured (AVX2, FMA, AVX-512), memory, kernel,
the disk under the repo, the commit, and the load average when measured (a shared machine's
figures mean little without it)."""
import os
import platform
import subprocess

FLAGS_OF_INTEREST = ["sse4_2", "avx", "avx2", "fma", "avx512f", "avx512bw", "avx512vl",
                     "avx512_vnni", "sha_ni"]


def _sh(cmd):
    try:
        return subprocess.run(cmd, capture_output=True, text=True, shell=True,
                              timeout=20).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        return ""


def loadavg():
    try:
        with open("/proc/loadavg") as f:
            return " ".join(f.read().split()[:3])
    except OSError:
        return ""


def collect(repo):
    cpu, mhz, flags, cores = "", "", set(), set()
    physical = None
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                key, _, value = line.partition(":")
                key, value = key.strip(), value.strip()
                if key == "model name" and not cpu:
                    cpu = value
                elif key == "cpu MHz" and not mhz:
                    mhz = value
                elif key == "flags" and not flags:
                    flags = set(value.split())
                elif key == "physical id":
                    physical = value
                elif key == "core id":
                    cores.add((physical, value))
    except OSError:
        pass
    mem = 0
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemTotal"):
                    mem = int(line.split()[1]) * 1024
    except OSError:
        pass
    return {"nproc": os.cpu_count(), "physical_cores": len(cores) or None, "cpu": cpu,
            "cpu_mhz": mhz, "flags": [f for f in FLAGS_OF_INTEREST if f in flags],
            "cpu_flags_avx512": "avx512f" in flags, "memory_bytes": mem,
            "kernel": platform.release(), "disk": _sh(f"df -hT {repo} | tail -1"),
            "git": _sh(f"git -C {repo} rev-parse --short HEAD"), "load_avg": loadavg()}


def describe(m):
    """One line: '2 vCPUs (1 physical core) Intel(R) Xeon(R) ..., flags avx2 fma ..., 24 GiB'."""
    if not m:
        return "machine not recorded"
    parts = [f"{m.get('nproc', '?')} logical CPUs"]
    if m.get("physical_cores"):
        parts[0] += f" ({m['physical_cores']} cores)"
    parts.append(m.get("cpu") or "unknown CPU")
    if m.get("cpu_mhz"):
        parts.append(f"{float(m['cpu_mhz']) / 1000:.2f} GHz")
    if m.get("flags"):
        parts.append("flags " + " ".join(m["flags"]))
    elif m.get("cpu_flags_avx512") is not None:
        parts.append(f"AVX-512: {m['cpu_flags_avx512']}")
    if m.get("memory_bytes"):
        parts.append(f"{m['memory_bytes'] / 2**30:.0f} GiB RAM")
    if m.get("load_avg"):
        parts.append(f"load {m['load_avg']}")
    return ", ".join(parts)

"""Run a Google Benchmark binary with JSON output and read its figures back.

Each binary runs with --benchmark_repetitions (median reported, the machine is shared and noisy)
and --benchmark_format=json; `figures` maps run names to the median entry.
"""
import json
import re
import subprocess


def run(binary, repetitions=3, min_time=None, extra=(), env=None, timeout=1800):
    """Run `binary`; return its parsed JSON report (raises on a non-zero exit)."""
    cmd = [str(binary), "--benchmark_format=json",
           f"--benchmark_repetitions={repetitions}",
           "--benchmark_report_aggregates_only=true" if repetitions > 1 else
           "--benchmark_report_aggregates_only=false"]
    if min_time is not None:
        cmd.append(f"--benchmark_min_time={min_time}")
    cmd.extend(extra)
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, env=env,
                         timeout=timeout)
    return json.loads(out.stdout)


def _plain_name(name):
    """`BM_Tell<>/1000/real_time` -> `BM_Tell/1000`: without the template arguments of a
    templated benchmark function and the /real_time, /manual_time and /iterations:N parts."""
    name = re.sub(r"^([^/<]*)<[^/]*>", r"\1", name)
    return re.sub(r"/(real_time|manual_time|iterations:\d+)", "", name)


def errors(report):
    """Return {run_name: error message} of the benchmarks that reported an error (SkipWithError
    or a failed check): their figures are missing, and a goal resting on them is missed."""
    out = {}
    for b in report.get("benchmarks", []):
        if b.get("error_occurred"):
            name = _plain_name(b.get("run_name", b["name"]))
            out[name] = b.get("error_message", "error")
    return out


def figures(report):
    """Return {run_name: entry} using the median aggregate when present, else the plain run;
    names lose their template arguments and their /real_time, /manual_time and /iterations:N
    parts (_plain_name)."""
    medians, plain = {}, {}
    for b in report.get("benchmarks", []):
        name = _plain_name(b.get("run_name", b["name"]))
        if b.get("error_occurred"):
            continue
        if b.get("run_type") == "aggregate":
            if b.get("aggregate_name") == "median":
                medians[name] = b
        else:
            plain.setdefault(name, b)
    plain.update(medians)
    return plain

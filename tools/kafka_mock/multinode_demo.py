"""`make multinode-demo`: two acquisition nodes and one aggregator through a Kafka cluster.

Starts tools/kafka_mock (three brokers on loopback), runs examples/multinode/node1.toml and
node2.toml for a few seconds, and the aggregator (examples/multinode/aggregator.toml) until it
has received every row the nodes recorded (counted from their summary.json and the
aggregator's progress lines), then stops it with SIGTERM and prints its summary and a
per-stream comparison. Exits 1 when any row is missing. Python standard library only."""
import argparse
import json
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build-dir", default="build/release")
    ap.add_argument("--duration", default="5s")
    ap.add_argument("--out", default="build/multinode-demo")
    args = ap.parse_args()
    build = ROOT / args.build_dir
    arrowdaq = build / "apps/arrowdaq/arrowdaq"
    mock_bin = build / "tools/kafka_mock/kafka_mock"
    out = ROOT / args.out
    subprocess.run(["rm", "-rf", str(out)], check=True)
    out.mkdir(parents=True)

    mock = subprocess.Popen([str(mock_bin)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            text=True)
    brokers = mock.stdout.readline().strip()
    print(f"mock Kafka cluster (3 brokers): {brokers}")
    configs = {}
    for name in ("node1", "node2", "aggregator"):
        text = (ROOT / "examples/multinode" / f"{name}.toml").read_text()
        configs[name] = out / f"{name}.toml"
        configs[name].write_text(text.replace("localhost:9092", brokers))

    def start(name, *extra):
        return subprocess.Popen([str(arrowdaq), "run", str(configs[name]), "--output",
                                 str(out / name), *extra],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    nodes = {n: start(n, "--duration", args.duration) for n in ("node1", "node2")}
    agg = start("aggregator")
    rows = {}
    cond = threading.Condition()
    agg_err = []

    def read_progress():
        for line in agg.stderr:
            agg_err.append(line)
            m = re.match(r"\[\s*[0-9.]+ s\]\s+(\S+)\s+\S+ rows/s\s+(\d+) rows\s", line)
            if m:
                with cond:
                    rows[m.group(1)] = int(m.group(2))
                    cond.notify_all()

    threading.Thread(target=read_progress, daemon=True).start()
    expected = {}
    for name, proc in nodes.items():
        stdout, stderr = proc.communicate(timeout=300)
        if proc.returncode != 0:
            print(f"{name} failed:\n{stderr[-2000:]}")
            return 1
        (run_dir,) = [d for d in (out / name).iterdir() if d.is_dir()]
        summary = json.loads((run_dir / "summary.json").read_text())
        print(f"\n== {name} ({summary['outcome']}): {run_dir}")
        print(stdout, end="")
        for s in summary["streams"]:
            expected[f"{name}.{s['name']}"] = s["rows"]
    with cond:
        done = cond.wait_for(lambda: all(rows.get(k, 0) >= v for k, v in expected.items()), 120)
    agg.send_signal(signal.SIGTERM)
    stdout, _ = agg.communicate(timeout=120)
    mock.stdin.close()
    mock.wait(timeout=30)
    print("\n== aggregator")
    print(stdout, end="")
    (run_dir,) = [d for d in (out / "aggregator").iterdir() if d.is_dir()]
    summary = json.loads((run_dir / "summary.json").read_text())
    got = {s["name"]: s for s in summary["streams"]}
    problems = [e for e in summary["events"] if e["kind"] in ("gap", "bad_message")]
    print(f"\n{'stream':<14}{'node rows':>12}{'aggregated':>12}{'missing seq':>13}")
    lost = 0
    for name, want in expected.items():
        s = got.get(name, {})
        have = s.get("rows", 0)
        lost += max(0, want - have) + s.get("missing_sequences", 0)
        print(f"{name:<14}{want:>12}{have:>12}{s.get('missing_sequences', 0):>13}")
    if not done or lost or problems:
        print(f"LOSS: {lost} rows missing, {len(problems)} gap/bad_message events")
        print("".join(agg_err[-20:]))
        return 1
    print(f"zero loss: two nodes aggregated into {run_dir / 'run.h5'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

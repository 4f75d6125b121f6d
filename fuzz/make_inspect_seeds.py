#!/usr/bin/env python3
"""Make the seed corpora of inspect_file_fuzz and inspect_hdf5_fuzz (fuzz/corpus/<target>/) from
a real run.

Runs `arrowdaq run` for 0.2 s on two small simulated instruments with storage formats hdf5
(gzip, so run.h5 stays ~20 KiB instead of one 512 KiB chunk per column), arrow, parquet and
csv, then writes each file as a seed: one selector byte (0: .h5, 1: .arrows, 2: .parquet,
3: .arrow, 4: .arrow.partial, 5: .csv; see inspect_file_fuzz.cc) followed by the file's bytes,
plus truncated variants (a run killed mid-write, a copy cut short); the truncated .arrow files
are also given as .arrow.partial (what a killed writer leaves). Seeds of format_version 1
(.arrows) and the regression-* inputs in the corpus are kept. Every seed is < 64 KiB. The .h5 seeds go to inspect_hdf5_fuzz's
corpus, the others to inspect_file_fuzz's.

Usage: fuzz/make_inspect_seeds.py ARROWDAQ_BINARY [CORPUS_ROOT]   (default: fuzz/corpus)
"""
import subprocess
import sys
import tempfile
from pathlib import Path

CONFIG = """
[run]
name = "seed"
log_level = "warn"

[instruments.ramp]
driver = "sim.ramp"
options = { rate_hz = 1000.0, batch_size = 50, channels = 1, unit = "mm" }

[instruments.sine]
driver = "sim.sine"
options = { rate_hz = 500.0, batch_size = 25, channels = 2 }

[storage]
formats = ["hdf5", "arrow", "parquet", "csv"]
flush_interval = "100ms"
parquet_segment = "1s"
compression = "gzip"
"""

SELECTOR = {".h5": 0, ".arrows": 1, ".parquet": 2, ".arrow": 3, ".csv": 5}
PARTIAL_ARROW = 4
LIMIT = 64 * 1024


def main():
    if len(sys.argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    binary = sys.argv[1]
    root = Path(sys.argv[2]) if len(sys.argv) > 2 else Path(__file__).resolve().parent / "corpus"
    with tempfile.TemporaryDirectory() as tmp:
        cfg = Path(tmp) / "seed.toml"
        cfg.write_text(CONFIG)
        out = Path(tmp) / "out"
        subprocess.run([binary, "run", str(cfg), "--duration", "0.2s", "--output", str(out)],
                       check=True, capture_output=True)
        (run_dir,) = [d for d in out.iterdir() if d.is_dir()]
        written = 0
        for f in sorted(run_dir.rglob("*")):
            ext = f.suffix
            if ext not in SELECTOR:
                continue
            data = f.read_bytes()
            if len(data) + 1 > LIMIT:
                print(f"skip {f.name}: {len(data)} bytes", file=sys.stderr)
                continue
            stem = str(f.relative_to(run_dir)).replace(".", "_").replace("/", "_")
            variants = {"": data}
            for cut in (8, 64, 512, len(data) // 2, len(data) - 16, len(data) - 1):
                if 0 < cut < len(data):
                    variants[f"_trunc{cut}"] = data[:cut]
            corpus = root / ("inspect_hdf5_fuzz" if ext == ".h5" else "inspect_file_fuzz")
            corpus.mkdir(parents=True, exist_ok=True)
            for suffix, body in variants.items():
                (corpus / f"{stem}{suffix}.bin").write_bytes(bytes([SELECTOR[ext]]) + body)
                written += 1
                if ext == ".arrow" and suffix:
                    (corpus / f"{stem}_partial{suffix}.bin").write_bytes(
                        bytes([PARTIAL_ARROW]) + body)
                    written += 1
        print(f"{written} seeds in {root}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

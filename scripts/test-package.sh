#!/usr/bin/env bash
# Install the Debian package built by `make package` with apt-get (which pulls its declared
# dependencies), run the installed demo from a scratch directory with a clean environment, check
# the run with h5py, and remove the package. Needs root. Usage: scripts/test-package.sh BUILD_DIR
set -euo pipefail
build="${1:-build/release}"
root="$(cd "$(dirname "$0")/.." && pwd)"
debs=("$build"/arrowdaq_*_amd64.deb)
[ -f "${debs[0]}" ] || { echo "test-package: no package in $build (make package)"; exit 1; }
deb="$(cd "$(dirname "${debs[0]}")" && pwd)/$(basename "${debs[0]}")"
if dpkg-query -W -f='${Status}' arrowdaq 2>/dev/null | grep -q "install ok installed"; then
  echo "test-package: arrowdaq is already installed from a package; not touching it"; exit 1
fi
echo "== declared dependencies"
dpkg-deb -f "$deb" Depends
work="$(mktemp -d)"
cleanup() {
  DEBIAN_FRONTEND=noninteractive apt-get remove -y -qq -o DPkg::Lock::Timeout=600 arrowdaq \
    >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -o DPkg::Lock::Timeout=600 "$deb" >/dev/null
cd "$work"
env -i PATH=/usr/bin:/bin HOME="$work" LANG=C.UTF-8 /usr/bin/arrowdaq --version
env -i PATH=/usr/bin:/bin HOME="$work" LANG=C.UTF-8 /usr/bin/arrowdaq drivers | grep -q "^sim.sine - "
env -i PATH=/usr/bin:/bin HOME="$work" LANG=C.UTF-8 /usr/bin/arrowdaq run \
  /usr/share/arrowdaq/examples/demo.toml --duration 1s --output "$work/out" --log-level warn
"$root/.venv/bin/python" - "$work/out" <<'PY'
import json, sys
from pathlib import Path
import h5py
(run,) = [d for d in Path(sys.argv[1]).iterdir() if d.is_dir()]
summary = json.loads((run / "summary.json").read_text())
assert summary["outcome"] == "ok", summary
with h5py.File(run / "run.h5", "r") as f:
    for s in summary["streams"]:
        assert s["rows"] > 0 and s["missing_sequences"] == 0, s
        assert len(f[s["name"]]["timestamp"]) == s["rows"], s
print(f"test-package: installed demo recorded {sum(s['rows'] for s in summary['streams'])} rows")
PY
cleanup
trap - EXIT
if [ -e /usr/bin/arrowdaq ]; then echo "test-package: /usr/bin/arrowdaq left after removal"; exit 1; fi
echo "test-package: ok (installed, ran the demo, removed)"

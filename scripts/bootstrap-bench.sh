#!/usr/bin/env bash
# Install the benchmark-only dependencies of `make compare` on top of scripts/bootstrap.sh:
# Debian libcaf-dev (the C++ Actor Framework, peer of the actor runtime in
# caf_comparison_benchmark) and, into the project's .venv, bluesky + ophyd (the RunEngine peer)
# and matplotlib (the plot). Nothing here is needed to build, test or run arrowdaq itself.
# Idempotent: a second run installs nothing.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(libcaf-dev)
PY_PACKAGES=(bluesky ophyd matplotlib)

missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "bootstrap-bench: installing Debian packages: ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

if [ ! -x .venv/bin/python ]; then
  echo "bootstrap-bench: .venv missing; run scripts/bootstrap.sh first" >&2
  exit 1
fi
if ! .venv/bin/python -c "import bluesky, ophyd, matplotlib" 2>/dev/null; then
  echo "bootstrap-bench: installing Python packages: ${PY_PACKAGES[*]}"
  .venv/bin/pip install --quiet "${PY_PACKAGES[@]}"
fi
echo "bootstrap-bench: ok (bluesky $(.venv/bin/python -c 'import bluesky; print(bluesky.__version__)'))"

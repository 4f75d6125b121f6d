#!/usr/bin/env bash
# Set up everything arrowdaq needs on a Debian machine: apt packages and the project's .venv.
# Idempotent: a second run installs nothing and takes a second or two.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(
  build-essential cmake ninja-build pkg-config git dpkg-dev file
  libasio-dev libhdf5-dev libhwy-dev libtoml11-dev libcli11-dev libspdlog-dev libfmt-dev
  nlohmann-json3-dev openssl
  libgtest-dev libgmock-dev libbenchmark-dev
  librdkafka-dev
  libfftw3-dev
  clang libclang-rt-14-dev
  python3 python3-venv python3-pip
  libcpp-httplib-dev chromium chromium-driver curl
)
# pyarrow is pinned: arrowdaq's C++ builds against the Arrow headers and libraries of this wheel
# (cmake/ArrowDeps.cmake), so a new release must not change them under a build. Moving to a new
# version is a commit that changes this line. The rest are the test oracles: the tools users open
# runs with (docs/file-format.md, tested snippet by snippet).
PYARROW_VERSION=26.0.1
# The Python client (python/, issue 16) is installed editable; its Bluesky bridge, example
# notebook and their tests need ophyd, bluesky, event-model, nbclient, ipykernel and matplotlib;
# mypy checks its type annotations. The dashboard (docs/web.md) is served with cpp-httplib and
# tested in Debian's headless chromium driven by selenium.
PY_PACKAGES=("pyarrow==${PYARROW_VERSION}" numpy scipy h5py pytest silx polars duckdb xarray
             h5netcdf pandas ophyd bluesky event-model nbclient nbformat ipykernel matplotlib mypy
             confluent-kafka selenium)

missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "bootstrap: installing Debian packages: ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

PYTHON="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  echo "bootstrap: creating .venv with $($PYTHON --version)"
  "$PYTHON" -m venv .venv
fi
if ! .venv/bin/python -c "import pyarrow, numpy, scipy, h5py, pytest, silx, polars, duckdb, xarray
import h5netcdf, pandas, ophyd, bluesky, event_model, nbclient, nbformat, ipykernel, matplotlib, mypy
import confluent_kafka
assert pyarrow.__version__ == '${PYARROW_VERSION}', pyarrow.__version__" 2>/dev/null; then
  echo "bootstrap: installing Python packages: ${PY_PACKAGES[*]}"
  .venv/bin/pip install --quiet "${PY_PACKAGES[@]}"
fi
# The arrowdaq Python package from this checkout (editable: python/src is imported directly).
if ! .venv/bin/python -c "import arrowdaq, pathlib, sys
sys.exit(pathlib.Path(arrowdaq.__file__).resolve().parents[2] != pathlib.Path('python').resolve())" 2>/dev/null; then
  echo "bootstrap: installing the arrowdaq Python package from ./python (editable)"
  .venv/bin/pip install --quiet -e ./python
fi
echo "bootstrap: ok (pyarrow $(.venv/bin/python -c 'import pyarrow; print(pyarrow.__version__)'))"

#!/usr/bin/env bash
# Build the libFuzzer targets with clang in build/fuzz and run each for N seconds
# (default 30) on a scratch copy of its seed corpus in fuzz/corpus/<target>/.
# Usage: fuzz/run.sh [seconds]     Needs clang++ and libFuzzer (Debian: libclang-rt-14-dev).
set -euo pipefail
seconds="${1:-30}"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${root}/build/fuzz"
cxx="${CXX_FUZZ:-$(command -v clang++ || command -v clang++-14)}"
cc="${CC_FUZZ:-$(command -v clang || command -v clang-14)}"
cmake -S "${root}/fuzz" -B "${build}" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_COMPILER="${cxx}" -DCMAKE_C_COMPILER="${cc}" \
  -DARROWDAQ_PYTHON="${root}/.venv/bin/python" >/dev/null
cmake --build "${build}" -j1
status=0
for target in ieee488_block_fuzz number_list_fuzz; do
  work="${build}/corpus/${target}"
  mkdir -p "${work}"
  cp -n "${root}/fuzz/corpus/${target}/"* "${work}/" 2>/dev/null || true
  echo "== ${target}: ${seconds} s"
  if ! "${build}/${target}" -max_total_time="${seconds}" -max_len=4096 \
       -artifact_prefix="${build}/${target}-" "${work}" "${root}/fuzz/corpus/${target}"; then
    echo "== ${target}: FAILED (crash input saved under ${build}/${target}-*)"
    status=1
  fi
done
exit "${status}"

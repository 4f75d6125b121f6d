#!/usr/bin/env bash
# Build the libFuzzer targets with clang in build/fuzz and run each for N seconds
# (default 30) on a scratch copy of its seed corpus in fuzz/corpus/<target>/.
# Exits non-zero when any target crashes, hangs (> 10 s on one input), leaks or breaks one of
# its invariants, and prints the saved crashing input (build/fuzz/<target>-crash-*, ...).
# Reproduce one with: build/fuzz/<target> <input file>
# Usage: fuzz/run.sh [seconds] [target...]   Needs clang++ and libFuzzer (Debian: libclang-rt-14-dev).
# FUZZ_REPLAY_ONLY="t1 t2": those targets only replay their committed corpus (regressions)
# instead of exploring; `make test` uses it for inspect_file_fuzz, whose exploration reaches
# known hangs inside the HDF5 library itself (fuzz/findings/README.md), which would make CI
# fail at random.
set -euo pipefail
seconds="${1:-30}"
shift || true
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${root}/build/fuzz"
cxx="${CXX_FUZZ:-$(command -v clang++ || command -v clang++-14)}"
cc="${CC_FUZZ:-$(command -v clang || command -v clang-14)}"
all_targets=(ieee488_block_fuzz number_list_fuzz config_parse_fuzz inspect_file_fuzz)
targets=("$@")
[[ ${#targets[@]} -eq 0 ]] && targets=("${all_targets[@]}")
cmake -S "${root}/fuzz" -B "${build}" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_COMPILER="${cxx}" -DCMAKE_C_COMPILER="${cc}" \
  -DARROWDAQ_PYTHON="${root}/.venv/bin/python" >/dev/null
cmake --build "${build}" -j "${FUZZ_JOBS:-1}" --target "${targets[@]}"
status=0
# HDF5 1.10 leaks on some error paths of malformed files (third-party; tests/lsan.supp says why).
export LSAN_OPTIONS="suppressions=${root}/tests/lsan.supp${LSAN_OPTIONS:+:${LSAN_OPTIONS}}"
for target in "${targets[@]}"; do
  max_len=4096
  # Seed files of a run (HDF5, IPC, Parquet) are up to 64 KiB.
  [[ "${target}" == inspect_file_fuzz ]] && max_len=65536
  work="${build}/corpus/${target}"
  scratch="${build}/tmp/${target}"
  mkdir -p "${work}" "${scratch}"
  cp -n "${root}/fuzz/corpus/${target}/"* "${work}/" 2>/dev/null || true
  marker="${build}/.${target}.started"
  touch "${marker}"
  budget=(-max_total_time="${seconds}")
  if [[ " ${FUZZ_REPLAY_ONLY:-} " == *" ${target} "* ]]; then
    budget=(-runs=0)  # execute every committed input once, explore nothing
    echo "== ${target}: replaying its corpus"
  else
    echo "== ${target}: ${seconds} s"
  fi
  if ! TMPDIR="${scratch}" "${build}/${target}" "${budget[@]}" \
       -max_len="${max_len}" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
       -artifact_prefix="${build}/${target}-" "${work}" "${root}/fuzz/corpus/${target}"; then
    echo "== ${target}: FAILED"
    found=$(find "${build}" -maxdepth 1 -name "${target}-*" -newer "${marker}" -print)
    if [[ -n "${found}" ]]; then
      echo "${found}" | sed 's/^/== crashing input: /'
      echo "== reproduce: ${build}/${target} <crashing input>"
    else
      echo "== no input saved (see the output above)"
    fi
    status=1
  fi
  rm -rf "${scratch}" "${marker}"
done
exit "${status}"

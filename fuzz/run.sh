#!/usr/bin/env bash
# Build the libFuzzer targets with clang in build/fuzz and run them in one of two modes.
#
#   fuzz/run.sh regress [target...]
#     What `make test` runs: the same verdict every time for the same code. Each target replays
#     every input of its committed corpus (fuzz/corpus/<target>/, regression inputs included),
#     then explores for a fixed number of executions from a fixed seed (FUZZ_SEED, default 1;
#     FUZZ_RUNS_<target> or the table below). No clock decides anything.
#
#   fuzz/run.sh explore SECONDS [target...]
#     What `make fuzz` runs: open-ended exploration with a random seed for SECONDS per target,
#     in libFuzzer's fork mode so that one finding does not end the search. New interesting
#     inputs accumulate in build/fuzz/corpus/<target>/ (kept between runs, not committed). Every
#     crash, hang, leak or out-of-memory input found is minimised and copied to
#     build/fuzz/findings/<target>/ and attributed by fuzz/triage.py: a finding in arrowdaq's
#     code makes the script exit 1 (fix it, then commit the minimised input to
#     fuzz/corpus/<target>/regression-<what>.<ext> so `make test` replays it); one inside a
#     third-party library (HDF5 1.10's own crashes and hangs on damaged files) is listed and
#     kept but does not fail the run: fuzz/findings/README.md says how arrowdaq contains them.
#
# Reproduce a finding with: build/fuzz/<target> <input file>
# Needs clang++ and libFuzzer (Debian: clang, libclang-rt-14-dev; scripts/bootstrap.sh installs
# them). FUZZ_JOBS sets the build parallelism (default 2).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${root}/build/fuzz"

usage() {
  sed -n '2,20p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
  exit 2
}

mode="${1:-}"
shift || true
seconds=0
case "${mode}" in
  regress) ;;
  explore)
    seconds="${1:-}"
    shift || true
    [[ "${seconds}" =~ ^[1-9][0-9]*$ ]] || { echo "fuzz/run.sh: explore needs SECONDS > 0" >&2; usage; }
    ;;
  *) usage ;;
esac

all_targets=(ieee488_block_fuzz number_list_fuzz config_parse_fuzz inspect_file_fuzz
             inspect_hdf5_fuzz export_run_fuzz flight_request_fuzz kafka_message_fuzz
             web_request_fuzz)
# Executions of the fixed-seed exploration in regress mode: about 5-15 s each on a 2-core
# machine (ASan + UBSan); the parsers are cheap, the file readers are not. inspect_hdf5_fuzz
# only replays: exploring HDF5 1.10 draws the library's own crashes and hangs on damaged files
# (third-party; `arrowdaq inspect` contains them in a child process), which `make fuzz` lists.
declare -A default_runs=(
  [ieee488_block_fuzz]=200000 [number_list_fuzz]=200000
  [config_parse_fuzz]=30000 [inspect_file_fuzz]=30000 [inspect_hdf5_fuzz]=0
  [export_run_fuzz]=1000 [flight_request_fuzz]=50000 [kafka_message_fuzz]=30000
  [web_request_fuzz]=50000
)
targets=("$@")
[[ ${#targets[@]} -eq 0 ]] && targets=("${all_targets[@]}")
for target in "${targets[@]}"; do
  [[ -n "${default_runs[${target}]:-}" ]] || { echo "fuzz/run.sh: unknown target ${target}" >&2; exit 2; }
done

cxx="${CXX_FUZZ:-$(command -v clang++ || command -v clang++-14)}"
cc="${CC_FUZZ:-$(command -v clang || command -v clang-14)}"
cmake -S "${root}/fuzz" -B "${build}" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_COMPILER="${cxx}" -DCMAKE_C_COMPILER="${cc}" \
  -DARROWDAQ_PYTHON="${root}/.venv/bin/python" >/dev/null
cmake --build "${build}" -j "${FUZZ_JOBS:-2}" --target "${targets[@]}"

# HDF5 1.10 leaks on some error paths of malformed files (third-party; tests/lsan.supp says why).
export LSAN_OPTIONS="suppressions=${root}/tests/lsan.supp${LSAN_OPTIONS:+:${LSAN_OPTIONS}}"

max_len_of() {
  # Seed files of a run (HDF5, IPC, Parquet) are up to 64 KiB.
  [[ "$1" == inspect_*_fuzz ]] && echo 65536 || echo 4096
}

status=0
for target in "${targets[@]}"; do
  corpus="${root}/fuzz/corpus/${target}"
  scratch="${build}/tmp/${target}"
  rm -rf "${scratch}"
  mkdir -p "${scratch}"
  common=(-max_len="$(max_len_of "${target}")" -timeout=10 -rss_limit_mb=2048
          -print_final_stats=1)
  if [[ "${mode}" == regress ]]; then
    runs_var="FUZZ_RUNS_${target}"
    runs="${!runs_var:-${default_runs[${target}]}}"
    seed="${FUZZ_SEED:-1}"
    artifacts="${build}/regress/${target}"
    rm -rf "${artifacts}"
    mkdir -p "${artifacts}"
    echo "== ${target}: replaying $(find "${corpus}" -type f | wc -l) committed inputs"
    # The corpus is copied: libFuzzer would otherwise add new inputs to the committed folder.
    work="${scratch}/corpus"
    mkdir -p "${work}"
    cp "${corpus}/"* "${work}/"
    ok=1
    TMPDIR="${scratch}" "${build}/${target}" -runs=0 "${common[@]}" \
      -artifact_prefix="${artifacts}/" "${work}" || ok=0
    if [[ ${ok} -eq 1 && ${runs} -gt 0 ]]; then
      echo "== ${target}: ${runs} executions from seed ${seed}"
      TMPDIR="${scratch}" "${build}/${target}" -seed="${seed}" -runs="${runs}" "${common[@]}" \
        -artifact_prefix="${artifacts}/" "${work}" || ok=0
    fi
    if [[ ${ok} -eq 0 ]]; then
      status=1
      echo "== ${target}: FAILED"
      find "${artifacts}" -type f | sed 's/^/== failing input: /'
      echo "== reproduce: ${build}/${target} <failing input>"
    fi
  else
    work="${build}/corpus/${target}"
    findings="${build}/findings/${target}"
    raw="${scratch}/artifacts"
    mkdir -p "${work}" "${findings}" "${raw}"
    echo "== ${target}: exploring for ${seconds} s (random seed, fork mode)"
    # Fork mode with ignore_*: every finding is saved and the search goes on to the end.
    TMPDIR="${scratch}" "${build}/${target}" -fork=1 -ignore_crashes=1 -ignore_timeouts=1 \
      -ignore_ooms=1 -max_total_time="${seconds}" "${common[@]}" \
      -artifact_prefix="${raw}/" "${work}" "${corpus}" || true
    ours=0
    theirs=0
    for input in "${raw}"/*; do
      [[ -f "${input}" ]] || continue
      name="$(basename "${input}")"
      minimised="${findings}/${name}"
      # Minimise crashes (timeouts and OOMs are kept as found: minimising them takes as long).
      if [[ "${name}" == crash-* || "${name}" == leak-* ]]; then
        TMPDIR="${scratch}" "${build}/${target}" -minimize_crash=1 -max_total_time=60 \
          -timeout=10 -exact_artifact_path="${minimised}" "${input}" >/dev/null 2>&1 || true
      fi
      [[ -f "${minimised}" ]] || cp "${input}" "${minimised}"
      # Whose code is it in? (fuzz/triage.py reads the target's report on this one input.)
      # (The target fails on its finding, by design: `|| true` keeps pipefail from ending us.)
      whose="$( (TMPDIR="${scratch}" timeout 120 "${build}/${target}" -timeout=10 \
                   -rss_limit_mb=2048 "${minimised}" 2>&1 || true) |
                python3 "${root}/fuzz/triage.py")"
      echo "== ${target}: finding ${minimised} ($(stat -c %s "${minimised}") bytes): ${whose}"
      if [[ "${whose}" == third-party* ]]; then
        theirs=$((theirs + 1))
      else
        ours=$((ours + 1))
      fi
    done
    echo "== ${target}: ${ours} finding(s) in arrowdaq, ${theirs} inside third-party libraries," \
         "in ${seconds} s"
    if [[ ${ours} -gt 0 ]]; then
      status=1
      echo "== ${target}: reproduce: ${build}/${target} <input>"
    fi
  fi
  rm -rf "${scratch}"
done
exit "${status}"

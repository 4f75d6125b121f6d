# The two commands a newcomer types: `make demo` and `make test`. Each does the whole set-up.
.PHONY: all bootstrap build-release build-dev demo test test-tsan bench compare clean soak
JOBS ?= 2
DURATION ?= 5s
SOAK_DURATION ?= 3600

all: build-release

bootstrap:
	@./scripts/bootstrap.sh

build-release: bootstrap
	@cmake --preset release >/dev/null
	@cmake --build --preset release -j $(JOBS) --target arrowdaq

build-dev: bootstrap
	@cmake --preset dev >/dev/null
	@cmake --build --preset dev -j $(JOBS)

demo: build-release
	./build/release/apps/arrowdaq/arrowdaq run examples/demo.toml --duration $(DURATION) --output runs

# Every test: the dev preset (ASan+UBSan) runs all labels (unit, integration, load, python);
# each libFuzzer target runs briefly from its committed corpus; then the tsan preset runs unit
# and integration under ThreadSanitizer (inspect_file_fuzz replays its corpus only: see
# fuzz/run.sh on HDF5's own hangs).
FUZZ_SECONDS ?= 20
test: build-dev
	ctest --preset dev -j $(JOBS)
	FUZZ_REPLAY_ONLY=inspect_file_fuzz ./fuzz/run.sh $(FUZZ_SECONDS)
	@$(MAKE) --no-print-directory test-tsan

test-tsan: bootstrap
	@cmake --preset tsan >/dev/null
	@cmake --build --preset tsan -j $(JOBS)
	ctest --preset tsan -L 'unit|integration' -j $(JOBS)

bench: bootstrap
	@cmake --preset release >/dev/null
	@cmake --build --preset release -j $(JOBS)
	@if ls build/release/bench/*_benchmark >/dev/null 2>&1; then \
	  for b in build/release/bench/*_benchmark; do echo "== $$b"; $$b || exit 1; done; \
	else echo "no benchmarks built yet"; fi

# Every figure against its peer or physical limit, measured in one run; writes bench/results/.
# QUICK=1 keeps it under about 10 minutes (5 s max-rate trials instead of 30 s).
compare: bootstrap
	@./scripts/bootstrap-bench.sh
	@cmake --preset release >/dev/null
	@cmake --build --preset release -j $(JOBS)
	.venv/bin/python bench/compare/run_all.py --build-dir build/release $(if $(QUICK),--quick,)

# Hour-long acquisition at 1M samples/s from 12 simulated instruments into HDF5; reports RSS
# over time (tools/soak/soak.py). Fails on RSS growth > 5% after warm-up or any loss.
# SOAK_DURATION is in seconds; the report goes to build/soak/.
soak: build-release
	.venv/bin/python tools/soak/soak.py --binary build/release/apps/arrowdaq/arrowdaq \
	  --duration $(SOAK_DURATION) --report-dir build/soak

clean:
	rm -rf build

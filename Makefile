# The two commands a newcomer types: `make demo` and `make test`. Each does the whole set-up.
.PHONY: all bootstrap build-release build-dev demo test bench compare clean
JOBS ?= 2
DURATION ?= 5s

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

test: build-dev
	ctest --preset dev -j $(JOBS)

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

clean:
	rm -rf build

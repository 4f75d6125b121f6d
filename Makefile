# The two commands a newcomer types: `make demo` and `make test`. Each does the whole set-up.
.PHONY: all bootstrap build-release build-dev demo test bench clean
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
	  for b in build/release/bench/*_benchmark; do $$b; done; \
	else echo "no benchmarks built yet"; fi

clean:
	rm -rf build

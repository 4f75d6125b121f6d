# The two commands a newcomer types: `make demo` and `make test`. Each does the whole set-up.
.PHONY: all bootstrap build-release build-dev demo multinode-demo test test-tsan test-install install
.PHONY: package test-package fuzz bench compare clean soak cost-curves
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

# Install the release build: make install PREFIX=/opt/arrowdaq (a relocatable tree; the
# layout and the driver SDK: docs/drivers.md).
PREFIX ?= /usr/local
install: build-release
	cmake --install build/release --prefix $(PREFIX)

# The installed tree, moved, run with a clean environment; the example plugin built against it
# and loaded (tests/install/test_install.py).
test-install: build-release
	.venv/bin/python -m pytest -q -rs -p no:cacheprovider tests/install

# The Debian package: build/release/arrowdaq_<version>_amd64.deb (CPack; dependencies from
# dpkg-shlibdeps). test-package installs it with apt-get, runs the installed demo, removes it;
# it needs root, and `make test` runs it only as root (scripts/test-package.sh).
package: build-release
	cd build/release && cpack -G DEB

test-package: package
	./scripts/test-package.sh build/release

demo: build-release
	./build/release/apps/arrowdaq/arrowdaq run examples/demo.toml --duration $(DURATION) --output runs

# Two acquisition nodes and an aggregator through a mock Kafka cluster (docs/multi-node.md):
# prints each node's summary, the aggregator's, and a per-stream comparison (exit 1 on loss).
multinode-demo: bootstrap
	@cmake --preset release >/dev/null
	@cmake --build --preset release -j $(JOBS) --target arrowdaq kafka_mock
	.venv/bin/python tools/kafka_mock/multinode_demo.py --build-dir build/release --duration $(DURATION)

# Every test, the same verdict every time: the dev preset (ASan+UBSan) runs all labels (unit,
# integration, load, python); each libFuzzer target replays its committed corpus and runs a
# fixed number of executions from a fixed seed (no exploration: that is `make fuzz`); then the
# tsan preset runs unit and integration under ThreadSanitizer.
test: build-dev
	ctest --preset dev -j $(JOBS)
	./fuzz/run.sh regress
	@$(MAKE) --no-print-directory test-tsan
	@$(MAKE) --no-print-directory test-install
	@if [ "$$(id -u)" -eq 0 ]; then $(MAKE) --no-print-directory test-package; \
	else echo "SKIPPED test-package: installing a .deb needs root"; fi

# Open-ended fuzzing, FUZZ_SECONDS per target (default 10 minutes), random seeds; findings are
# minimised into build/fuzz/findings/<target>/ and the target exits 1 (see fuzz/run.sh).
# FUZZ_TARGETS="config_parse_fuzz ..." picks targets (default: all).
FUZZ_SECONDS ?= 600
fuzz: bootstrap
	./fuzz/run.sh explore $(FUZZ_SECONDS) $(FUZZ_TARGETS)

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

# What one `arrowdaq run` costs with 10/100/1000 simulated instruments (10 Hz, 1 kHz, 100 kHz
# each; on the paced pool and, for comparison, a thread each) and 1/10/100 polled SCPI
# simulator processes: CPU s/s, peak RSS, wall time. About 10 minutes on 2 cores; writes
# bench/results/cost-curves-<timestamp>.json, cost_curves.md and cost_curves.png.
cost-curves: bootstrap
	@./scripts/bootstrap-bench.sh
	@cmake --preset release >/dev/null
	@cmake --build --preset release -j $(JOBS) --target arrowdaq
	.venv/bin/python bench/compare/cost_curves.py --build-dir build/release

# Hour-long acquisition at 1M samples/s from 12 simulated instruments into HDF5; reports RSS
# over time (tools/soak/soak.py). Fails on RSS growth > 5% after warm-up or any loss.
# SOAK_DURATION is in seconds; the report goes to build/soak/.
soak: build-release
	.venv/bin/python tools/soak/soak.py --binary build/release/apps/arrowdaq/arrowdaq \
	  --duration $(SOAK_DURATION) --report-dir build/soak

clean:
	rm -rf build

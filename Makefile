# swift-amqp: build, test, fuzz, run and benchmark entry points (CI runs `make test`).
#
#   make deps | build | test | tsan | asan | soak | fuzz | run | bench | bench-compare | clean
#
# Variables:
#   SWIFT             the swift driver (default: swift on PATH)
#   SWIFT_TEST_FLAGS  extra flags for `swift test`, e.g. --parallel
#   FUZZ_SECONDS      time budget for `make fuzz` (default 60)
#   CI_FUZZ_SECONDS   time budget for the fuzz pass inside `make test` (default 8)
#   INTEROP_STATE     where the interop services keep their state (default .build/interop)
#   QUICK=1           `make bench-compare`: a short smoke run (one round, 0.5 s runs)
#   SOAK_ARGS         arguments for `amqp soak` in `make soak` (default: 100 connections,
#                     1M messages, a new connection every 2,000)
#
# `make test` runs the tests while the interop services start (a private RabbitMQ
# 3.10 node, the Qpid Proton C and Python brokers, all on 127.0.0.1; see
# Docs/interop.md), then the interop suites against them, and stops the services
# afterwards, also when the tests fail or are interrupted.

SWIFT ?= $(shell command -v swift 2>/dev/null || echo /opt/swift/usr/bin/swift)
# Empty by default. `--parallel` was tried here with Swift 6.3.1 and works with
# both Swift Testing and XCTest (failures in either fail the run), but Swift
# Testing already runs tests concurrently in-process; --parallel only adds one
# process per XCTest case and hides passing output, so keep the default run
# plain and deterministic.
SWIFT_TEST_FLAGS ?=
FUZZ_SECONDS ?= 60
SOAK_ARGS ?= --connections 100 --messages 1000000 --per-connection 2000
CI_FUZZ_SECONDS ?= 8
FUZZ_SCRIPT := Tools/Fuzz/run.sh
INTEROP_STATE ?= .build/interop
export INTEROP_STATE
# The interop suites run after the others, not alongside: tests that count the whole
# process's descriptors and memory (the reactor's scale test) must run without them.
INTEROP_TESTS := AMQPInteropTests\.
# Tests that measure the whole process (resident memory, the mirrored-ring budget) and
# use up its shared budgets run in a process of their own, after the others.
ALONE_TESTS := ReactorTests/Scale/
# The multi-threaded suites (the API's threads and tasks sharing connections, the peer,
# TLS) run again under ThreadSanitizer, in a build folder of their own; a report stops
# the run (halt_on_error) and fails `make test`.
TSAN_TESTS := AMQPConnectionTests|AMQPClientTests|AMQPPeerTests|AMQPTLSTests|AMQPTests
# The whole suite (but the interop suites, which need the services, and the tests that
# measure the whole process, which ASan's shadow memory and quarantine would distort) runs
# again under AddressSanitizer with LeakSanitizer, in a build folder of their own; the
# suppressions in Tools/asan/lsan.supp each say why.
# Also skipped there: the allocation-counting tests (ASan's allocator replaces the
# malloc they count), and the engine's exchange with the Proton Python peer, whose 5 s
# input time-out ASan's slowdown on a loaded machine trips.
ASAN_SKIP := $(INTEROP_TESTS)|$(ALONE_TESTS)|AllocationTests|ProtonInteropTests
ASAN_OPTIONS_CI := detect_leaks=1:halt_on_error=1:abort_on_error=0
LSAN_OPTIONS_CI := suppressions=$(CURDIR)/Tools/asan/lsan.supp:print_suppressions=0
# The interop suites run once per reactor backend: epoll, then the automatic choice
# (io_uring where the kernel allows it, else epoll again).

.PHONY: all deps deps-bench deps-bench-compare build test instructions tsan asan soak fuzz run bench bench-compare clean

all: build

deps:
	bash Tools/install-deps.sh

deps-bench:
	bash Tools/install-deps.sh bench

deps-bench-compare:
	bash Tools/install-deps.sh bench-compare

build: deps
	$(SWIFT) build

# `test` ends with a short fuzz pass (CI_FUZZ_SECONDS shared by every target of
# Tools/Fuzz/run.sh, at least 1 s each); a missing run.sh fails it rather than skip it.
test: deps
	/usr/bin/python3 -m unittest discover -s Tools/bench-compare -p 'test_*.py'
	$(SWIFT) build --build-tests
	bash Tools/interop/with-services.sh \
		--meanwhile '$(SWIFT) test $(SWIFT_TEST_FLAGS) --skip-build --skip "$(INTEROP_TESTS)|$(ALONE_TESTS)" && \
			$(SWIFT) test $(SWIFT_TEST_FLAGS) --skip-build --filter "$(ALONE_TESTS)"' \
		bash -c 'AMQP_REACTOR_BACKEND=epoll $(SWIFT) test $(SWIFT_TEST_FLAGS) --skip-build --filter "$(INTEROP_TESTS)" && \
			$(SWIFT) test $(SWIFT_TEST_FLAGS) --skip-build --filter "$(INTEROP_TESTS)"'
	$(MAKE) instructions
	$(MAKE) tsan
	$(MAKE) asan
	$(MAKE) fuzz FUZZ_SECONDS=$(CI_FUZZ_SECONDS)

# The hot paths' instructions per operation under callgrind (release probes of
# Benchmarks/), each against its ceiling: deterministic where wall times are not.
instructions: deps
	bash Tools/instructions/check.sh

tsan: deps
	$(SWIFT) build --build-tests -Xswiftc -sanitize=thread --scratch-path .build-tsan
	TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1" \
		$(SWIFT) test $(SWIFT_TEST_FLAGS) --skip-build --scratch-path .build-tsan --filter '$(TSAN_TESTS)'

asan: deps
	$(SWIFT) build --build-tests -Xswiftc -sanitize=address --scratch-path .build-asan
	ASAN_OPTIONS="$(ASAN_OPTIONS_CI)" LSAN_OPTIONS="$(LSAN_OPTIONS_CI)" \
		$(SWIFT) test $(SWIFT_TEST_FLAGS) --skip-build --scratch-path .build-asan --skip '$(ASAN_SKIP)'

# The soak (HARDENING.md): `amqp soak` built with AddressSanitizer (the `asan` build
# folder), LeakSanitizer checking at exit; a small quarantine so that resident memory
# shows the library's, not ASan's. Not part of `make test` (it takes minutes).
soak: deps
	$(SWIFT) build --product amqp -Xswiftc -sanitize=address --scratch-path .build-asan
	ASAN_OPTIONS="$(ASAN_OPTIONS_CI):quarantine_size_mb=16" LSAN_OPTIONS="$(LSAN_OPTIONS_CI)" \
		.build-asan/debug/amqp soak $(SOAK_ARGS)

fuzz:
	@test -f $(FUZZ_SCRIPT) || { echo "make fuzz: $(FUZZ_SCRIPT) is missing: no fuzz pass" >&2; exit 1; }
	bash $(FUZZ_SCRIPT) $(FUZZ_SECONDS)

run: deps
	$(SWIFT) run -c release amqp bench

bench: deps-bench
	@if [ ! -f Benchmarks/Package.swift ]; then \
		echo "make bench: Benchmarks/Package.swift not found; the nested benchmark package is not in this checkout" >&2; \
		exit 1; \
	fi
	cd Benchmarks && $(SWIFT) package --allow-writing-to-package-directory benchmark

# swift-amqp side by side with Qpid Proton C, Python uamqp and iperf3 in one session
# (Docs/bench-compare.md): writes the marked section of BENCHMARKS.md and
# Docs/bench-compare.svg, raw runs in .build/bench-compare/results.json. Not part of
# `make test`. The renderer's own test runs first (it takes milliseconds).
bench-compare: deps deps-bench-compare
	$(SWIFT) build -c release --product amqp
	/usr/bin/python3 -m unittest discover -s Tools/bench-compare -p 'test_*.py'
	QUICK=$(QUICK) /usr/bin/python3 Tools/bench-compare/bench_compare.py

clean:
	bash Tools/interop/services.sh stop $(INTEROP_STATE)
	rm -rf .build .build-*

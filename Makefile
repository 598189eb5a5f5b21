# A thin front over CMake + ctest. `make deps` installs the Debian packages; `make test`,
# `make demo`, `make bench` and `make fuzz` do it first; `make` / `make build` / `make install`
# never call apt-get (CMake then names what is missing).
BUILD      ?= build
ASAN_BUILD ?= build-asan
JOBS       ?= $(shell nproc)
PREFIX     ?= /usr/local
# DESTDIR (staged install, as packagers use) is read by `cmake --install` from the environment.
export DESTDIR

.PHONY: all deps build configure test test-fast test-tsan demo bench fuzz install format clean

all: build

deps:
	@scripts/install-deps

configure:
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_INSTALL_PREFIX=$(PREFIX) >/dev/null

build: configure
	@cmake --build $(BUILD) -j$(JOBS)

# make install [PREFIX=/usr/local] [DESTDIR=/tmp/stage]: library, headers, pkg-config and CMake
# files, the command, its man page and the Python package.
install: build
	@cmake --install $(BUILD) --prefix $(PREFIX)

# Formats the files given (FILES=...), else those changed against main, with .clang-format.
format:
	@clang-format -i $${FILES:-$$(git diff --name-only --diff-filter=AM main -- '*.c' '*.h')}

# The normal build and an ASan+UBSan build, every ctest suite on both.
test: deps build
	ctest --test-dir $(BUILD) --output-on-failure -j$(JOBS)
	@cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DSC_SANITIZE=ON -DSC_BENCH=OFF >/dev/null
	@cmake --build $(ASAN_BUILD) -j$(JOBS)
	ctest --test-dir $(ASAN_BUILD) --output-on-failure -j$(JOBS)

# ThreadSanitizer over the threaded parts: the dataset reader thread, the watcher interrupt,
# the evaluator stop (and the suites that drive them end to end).
TSAN_BUILD ?= build-tsan
TSAN_TESTS ?= unit/test_dataset|unit/test_watch|e2e/test_evaluator|e2e/test_exactly_once|unit/test_tfrecord
test-tsan: deps
	@cmake -S . -B $(TSAN_BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSC_TSAN=ON -DSC_BENCH=OFF >/dev/null
	@cmake --build $(TSAN_BUILD) -j$(JOBS)
	TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1" ctest --test-dir $(TSAN_BUILD) \
		--output-on-failure -j$(JOBS) -R '$(TSAN_TESTS)'

# Only the normal build (quicker while developing).
test-fast: deps build
	ctest --test-dir $(BUILD) --output-on-failure -j$(JOBS)

demo: deps build
	@scripts/demo $(BUILD)

bench:
	@scripts/install-deps --bench
	@scripts/bench

fuzz: deps
	@scripts/fuzz

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(TSAN_BUILD) build-bench build-fuzz

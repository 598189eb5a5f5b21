# A thin front over CMake + ctest. `make deps` installs the Debian packages; `make test`,
# `make demo`, `make bench` and `make fuzz` do it first; `make` / `make build` / `make install`
# never call apt-get (CMake then names what is missing).
BUILD      ?= build
ASAN_BUILD ?= build-asan
JOBS       ?= $(shell nproc)
PREFIX     ?= /usr/local
# DESTDIR (staged install, as packagers use) is read by `cmake --install` from the environment.
export DESTDIR

.PHONY: all deps build configure test test-fast demo bench fuzz install format clean

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
	rm -rf $(BUILD) $(ASAN_BUILD) build-bench build-fuzz

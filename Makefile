# macvfio top-level targets.  `make demo` and `make check` are the two
# commands the README opens with; both work on a fresh Debian 12 as root.
SHELL := /bin/bash
BUILD       ?= build/host
ASAN_BUILD  ?= build/asan
FUZZ_BUILD  ?= build/fuzz
FUZZ_SECONDS ?= 30
LONG_FUZZ_SECONDS ?= 600

.PHONY: all deps build host check demo bench fuzz clean

all: build

deps:
	@scripts/install-deps.sh

# The host side alone (no QEMU): what most edit-compile-test loops need.
host: deps
	@scripts/meson-setup.sh $(BUILD)
	@ninja -C $(BUILD)

# Everything: the host side and the patched QEMU (cached by qemu/build.sh).
build: host
	@bash qemu/build.sh

check: deps
	@FUZZ_SECONDS=$(FUZZ_SECONDS) scripts/check.sh

demo: build
	@scripts/demo.sh $(BUILD)

bench: host
	@scripts/bench.sh $(BUILD)

fuzz: deps
	@CC=clang CXX=clang++ scripts/meson-setup.sh $(FUZZ_BUILD) \
	    -Dfuzz=true -Ddext=true -Db_sanitize=address,undefined -Db_lundef=false
	@meson configure $(FUZZ_BUILD) -Dfuzz_seconds=$(LONG_FUZZ_SECONDS)
	@ninja -C $(FUZZ_BUILD)
	@meson test -C $(FUZZ_BUILD) --suite fuzz --print-errorlogs --timeout-multiplier 0

clean:
	rm -rf build

#!/usr/bin/env bash
# Installs the Debian packages the project builds and tests with.
# Idempotent: does nothing (and needs no network) when all are present.
# What each package is for is listed in README.md.
#
# meson comes from trixie from the start (QEMU 10.2 needs >= 1.5): one meson
# configures every build directory, so none is left configured by bookworm's
# meson once qemu/build.sh runs.  Trixie is pinned at priority 100, so only
# the packages named PKG/trixie here come from it.
set -euo pipefail

packages=(
  build-essential pkg-config ninja-build python3          # build
  meson/trixie python3-pycotap/trixie                     # build (trixie)
  libcmocka-dev                                           # unit tests
  clang llvm libclang-rt-14-dev                           # libFuzzer, sanitizers
  clang-16 llvm-16 libc6-dev-arm64-cross                  # DriverKit/macOS compile checks
  libblocksruntime-dev                                    # dext on the DriverKit double
  shellcheck                                              # dext/build-macos.sh check
)

# shellcheck source=scripts/apt-install.sh
. "$(dirname "$0")/apt-install.sh"
if [ "$(id -u)" -eq 0 ]; then
  apt_setup_trixie
fi
apt_install_missing deps "${packages[@]}"

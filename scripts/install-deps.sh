#!/usr/bin/env bash
# Installs the Debian packages the project builds and tests with.
# Idempotent: does nothing (and needs no network) when all are present.
# What each package is for is listed in README.md.
set -euo pipefail

packages=(
  build-essential pkg-config meson ninja-build python3   # build
  libcmocka-dev                                          # unit tests
  clang llvm libclang-rt-14-dev                          # libFuzzer, sanitizers
)

. "$(dirname "$0")/apt-install.sh"
apt_install_missing deps "${packages[@]}"

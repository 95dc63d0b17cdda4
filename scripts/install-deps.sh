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

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
    missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "deps: all ${#packages[@]} packages present"
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "deps: missing ${missing[*]}; run 'make deps' as root" >&2
  exit 1
fi
echo "deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "deps: done"

#!/usr/bin/env bash
# Builds, bundles and signs the DriverKit extension and its installer app on
# a Mac, with the command-line tools only (xcrun: iig, clang, codesign); no
# Xcode project.  It has never run on a Mac: see docs/macos.md.
#
#   dext/build-macos.sh [options]
#
#   --variant development|release   development (default): ad-hoc signed
#                       (codesign --sign -) with the development entitlements,
#                       for a machine with SIP off; release: signed with
#                       --identity and the granted (release) entitlements,
#                       hardened runtime and a timestamp
#   --identity NAME     signing identity for release ("Developer ID
#                       Application: ..."); development signs ad hoc
#   --arch arm64|arm64e the dext's architecture (default arm64; arm64e for
#                       SIP-off machines that run it as a platform binary)
#   --config FILE       the vendor:device list (default dext/devices.conf)
#   --version X.Y.Z     bundle version (default 0.1.0); --build N (default 1)
#   --out DIR           output directory (default build/macos)
#   --dry-run           print the commands instead of running them (works on
#                       any OS; the Linux tests use it)
#   --bundle-only       skip compiling: assemble and sign the bundles from
#                       --dext-binary and --installer-binary
#   --no-sign           leave the bundles unsigned
#
# Output: DIR/macvfio.app, holding Contents/MacOS/macvfio-installer and
# Contents/Library/SystemExtensions/org.macvfio.driver.dext, plus
# DIR/gen/vmm.entitlements for signing QEMU.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DEXT_ID=org.macvfio.driver
APP=macvfio.app
DK_VERSION=22.0          # DriverKit 22 = macOS 13
MACOS_MIN=13.0

variant=development identity="" arch=arm64 config="$ROOT/dext/devices.conf"
version=0.1.0 build=1 out="$ROOT/build/macos" dry_run=0 bundle_only=0 sign=1
dext_binary="" installer_binary=""

die() { echo "build-macos: $*" >&2; exit 1; }
usage() { sed -n '2,29p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; }

while [ $# -gt 0 ]; do
    case $1 in
    --variant) variant=${2:?}; shift ;;
    --identity) identity=${2:?}; shift ;;
    --arch) arch=${2:?}; shift ;;
    --config) config=${2:?}; shift ;;
    --version) version=${2:?}; shift ;;
    --build) build=${2:?}; shift ;;
    --out) out=${2:?}; shift ;;
    --dry-run) dry_run=1 ;;
    --bundle-only) bundle_only=1 ;;
    --no-sign) sign=0 ;;
    --dext-binary) dext_binary=${2:?}; shift ;;
    --installer-binary) installer_binary=${2:?}; shift ;;
    -h|--help) usage; exit 0 ;;
    *) die "unknown option '$1' (--help lists them)" ;;
    esac
    shift
done

case $variant in
development|release) ;;
*) die "--variant must be development or release, not '$variant'" ;;
esac
case $arch in
arm64|arm64e) ;;
*) die "--arch must be arm64 or arm64e, not '$arch'" ;;
esac
if [ "$variant" = release ] && [ "$sign" = 1 ] && [ -z "$identity" ]; then
    die "a release build needs --identity (a Developer ID with the granted entitlements)"
fi
if [ "$bundle_only" = 1 ]; then
    [ -f "$dext_binary" ] || die "--bundle-only needs --dext-binary FILE"
    [ -f "$installer_binary" ] || die "--bundle-only needs --installer-binary FILE"
else
    if ! compgen -G "$ROOT/dext/*.cpp" >/dev/null; then
        die "dext/*.cpp: the driver's code is not written yet (docs/macos.md)"
    fi
    if [ "$dry_run" = 0 ] && [ "$(uname -s)" != Darwin ]; then
        die "compiling needs macOS with the command-line tools (use --dry-run or --bundle-only here)"
    fi
fi

# Every step goes through run: printed always, executed unless --dry-run.
run() {
    printf '+'
    printf ' %q' "$@"
    printf '\n'
    if [ "$dry_run" = 0 ]; then
        "$@"
    fi
}

gen="$out/gen" obj="$out/obj"
dext="$out/$APP/Contents/Library/SystemExtensions/$DEXT_ID.dext"
app="$out/$APP"
run mkdir -p "$gen" "$obj" "$dext" "$app/Contents/MacOS"

# 1. Plists and entitlements from the configured IDs (python3 is on every
#    Mac with the command-line tools).  Even a dry run generates them: they
#    are the one step that is the same everywhere.
python3 "$ROOT/dext/gen-plists.py" --config "$config" --version "$version" \
    --build "$build" --out "$gen" >&2

if [ "$bundle_only" = 0 ]; then
    # shellcheck disable=SC2016 # printed literally in a dry run
    dk_sdk='$(xcrun --sdk driverkit --show-sdk-path)'
    if [ "$dry_run" = 0 ]; then
        dk_sdk=$(xcrun --sdk driverkit --show-sdk-path)
    fi
    target="$arch-apple-driverkit$DK_VERSION"
    # 2. Apple's iig turns our two class definitions into headers and glue.
    for cls in MacvfioDriver MacvfioUserClient; do
        run xcrun --sdk driverkit iig --def "$ROOT/dext/$cls.iig" \
            --header "$gen/$cls.h" --impl "$gen/$cls.iig.cpp" \
            --framework-name DriverKit -- -x c++ -std=gnu++17 -D__IIG=1 \
            -isysroot "$dk_sdk"
    done
    # 3. The portable core, as C, and the dext's C++ with the glue.
    objs=()
    for f in "$ROOT"/core/*.c; do
        o="$obj/core_$(basename "$f" .c).o"
        run xcrun --sdk driverkit clang -target "$target" -isysroot "$dk_sdk" \
            -std=c11 -O2 -Wall -Wextra -Werror -Wno-unused-parameter \
            -I"$ROOT/include" -I"$ROOT/core" -c "$f" -o "$o"
        objs+=("$o")
    done
    for f in "$ROOT"/dext/*.cpp "$gen/MacvfioDriver.iig.cpp" "$gen/MacvfioUserClient.iig.cpp"; do
        o="$obj/dext_$(basename "$f" .cpp).o"
        run xcrun --sdk driverkit clang++ -target "$target" -isysroot "$dk_sdk" \
            -std=gnu++17 -O2 -fno-exceptions -fno-rtti -Wall -Wextra -Werror \
            -I"$gen" -I"$ROOT/dext" -I"$ROOT/include" -I"$ROOT/core" -c "$f" -o "$o"
        objs+=("$o")
    done
    # 4. Link the dext against DriverKit and PCIDriverKit.
    dext_binary="$obj/$DEXT_ID"
    run xcrun --sdk driverkit clang++ -target "$target" -isysroot "$dk_sdk" \
        "${objs[@]}" -framework DriverKit -framework PCIDriverKit -o "$dext_binary"
    # 5. The installer app's binary.
    installer_binary="$obj/macvfio-installer"
    run xcrun --sdk macosx clang -arch arm64 -mmacosx-version-min="$MACOS_MIN" \
        -fobjc-arc -O2 -Wall -Wextra -Werror "$ROOT/installer/main.m" \
        -framework Foundation -framework SystemExtensions -o "$installer_binary"
fi

# 6. The bundles: the dext is flat (Info.plist and binary side by side),
#    inside the app's Contents/Library/SystemExtensions.
run cp "$dext_binary" "$dext/$DEXT_ID"
run cp "$gen/Info.plist" "$dext/Info.plist"
run cp "$installer_binary" "$app/Contents/MacOS/macvfio-installer"
if [ "$dry_run" = 0 ]; then
    sed -e "s/@VERSION@/$version/" -e "s/@BUILD@/$build/" \
        "$ROOT/installer/Info.plist.in" > "$app/Contents/Info.plist"
else
    echo "+ sed -e s/@VERSION@/$version/ -e s/@BUILD@/$build/ installer/Info.plist.in > $app/Contents/Info.plist"
fi

# 7. Sign the inside first: the dext, then the app around it.
if [ "$sign" = 1 ]; then
    if [ "$variant" = development ]; then
        run codesign --sign - --force --entitlements "$gen/dext-development.entitlements" "$dext"
        run codesign --sign - --force --entitlements "$ROOT/installer/installer.entitlements" "$app"
    else
        run codesign --sign "$identity" --force --options runtime --timestamp \
            --entitlements "$gen/dext-release.entitlements" "$dext"
        run codesign --sign "$identity" --force --options runtime --timestamp \
            --entitlements "$ROOT/installer/installer.entitlements" "$app"
        run codesign --verify --deep --strict "$app"
    fi
fi
echo "build-macos: $app ($variant, $arch); sign QEMU with $gen/vmm.entitlements" >&2

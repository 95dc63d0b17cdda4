#!/usr/bin/env python3
"""The installer app's Info.plist template and entitlements: strict parse
(plistlib), the keys and types macOS needs, and the names the rest of the
project relies on (bundle id, executable, the install entitlement).

    check-installer-plists.py SRC
"""
import plistlib
import sys
from pathlib import Path


def fail(msg):
    print(f"FAIL {msg}")
    return 1


def main():
    src = Path(sys.argv[1])
    inst = src / "installer"
    bad = 0

    text = (inst / "Info.plist.in").read_text()
    for ph in ("@VERSION@", "@BUILD@"):
        if ph not in text:
            bad |= fail(f"Info.plist.in has no {ph} placeholder")
    info = plistlib.loads(text.replace("@VERSION@", "0.1.0")
                          .replace("@BUILD@", "1").encode())
    want = {
        "CFBundleIdentifier": "org.macvfio.installer",
        "CFBundleExecutable": "macvfio-installer",
        "CFBundlePackageType": "APPL",
        "CFBundleInfoDictionaryVersion": "6.0",
        "CFBundleShortVersionString": "0.1.0",
        "CFBundleVersion": "1",
    }
    for key, value in want.items():
        if info.get(key) != value:
            bad |= fail(f"Info.plist {key} is {info.get(key)!r}, not {value!r}")
    mv = info.get("LSMinimumSystemVersion")
    if not isinstance(mv, str) or int(mv.split(".")[0]) < 13:
        bad |= fail(f"LSMinimumSystemVersion {mv!r}: main.m needs macOS 13 "
                    "(propertiesRequestForExtension is macOS 12)")

    ent = plistlib.loads((inst / "installer.entitlements").read_bytes())
    if ent != {"com.apple.developer.system-extension.install": True}:
        bad |= fail(f"installer.entitlements is {ent!r}: exactly "
                    "com.apple.developer.system-extension.install = true")

    main_m = (inst / "main.m").read_text()
    if '#define DEXT_ID "org.macvfio.driver"' not in main_m:
        bad |= fail("main.m does not activate org.macvfio.driver")
    if not bad:
        print("ok   installer Info.plist.in, installer.entitlements, DEXT_ID")
    return bad


if __name__ == "__main__":
    sys.exit(main())

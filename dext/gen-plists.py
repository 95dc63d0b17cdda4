#!/usr/bin/env python3
"""Generates the dext's Info.plist and the entitlements from the list of
PCI IDs the user configured (dext/devices.conf).

    gen-plists.py [--config FILE] [--version X.Y.Z] [--build N] --out DIR

Writes into DIR:
  Info.plist                   the dext's (org.macvfio.driver), one
                               IOKitPersonality per configured ID
  dext-development.entitlements  for a SIP-off development machine: the
                               PCI transport for the IDs, and any client
                               may open the dext
  dext-release.entitlements    for a build signed with granted
                               entitlements: the PCI transport for the IDs
                               only; clients need userclient-access
  vmm.entitlements             for the VMM (QEMU): Hypervisor.framework and
                               the right to open org.macvfio.driver

Every ID is matched exactly ("0xDDDDVVVV", no mask): the personality and
the entitlement cover the configured functions and nothing else.  Refused,
with a message and exit status 1: malformed lines, vendor 0x0000/0xFFFF,
device 0xFFFF, masks or wildcards, class filters (bridges),
duplicates, an empty list.
"""
import argparse
import plistlib
import re
import sys
from pathlib import Path

DEXT_ID = "org.macvfio.driver"


def iig_class(iig_name, base, fallback):
    """The class dext/<iig_name> declares on top of base (what Apple's iig
    compiles and the personality must name); fallback if the file is not
    there."""
    path = Path(__file__).resolve().parent / iig_name
    if not path.exists():
        return fallback
    m = re.search(r"^\s*class\s+(\w+)\s*:\s*public\s+%s\b" % base,
                  path.read_text(), re.M)
    if not m:
        sys.exit(f"gen-plists: {path}: no 'class X : public {base}'")
    return m.group(1)


DRIVER_CLASS = iig_class("MacvfioDriver.iig", "IOService", "MacvfioDriver")
USER_CLIENT_CLASS = iig_class("MacvfioUserClient.iig", "IOUserClient",
                              "MacvfioUserClient")
USER_CLIENT_KEY = "MacvfioUserClientProperties"
LINE_RE = re.compile(r"^([0-9a-fA-F]{4}):([0-9a-fA-F]{4})$")


class ConfigError(Exception):
    pass


def parse_config(text, name="devices.conf"):
    """Returns [(vendor, device)] in file order; raises ConfigError."""
    ids = []
    seen = set()
    for n, raw in enumerate(text.splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        where = f"{name}:{n}"
        if re.search(r"class|0x06", line, re.I):
            raise ConfigError(f"{where}: '{line}': class filters are not "
                              "supported (a class matches many devices, and "
                              "bridges, class 0x06, are never passed "
                              "through); list each vendor:device ID")
        if any(c in line for c in "*&?"):
            raise ConfigError(f"{where}: '{line}': wildcards and masks are not "
                              "allowed; list each vendor:device ID")
        m = LINE_RE.match(line)
        if not m:
            raise ConfigError(f"{where}: '{line}' is not vvvv:dddd (four hex "
                              "digits each)")
        vendor, device = int(m.group(1), 16), int(m.group(2), 16)
        if vendor in (0x0000, 0xFFFF):
            raise ConfigError(f"{where}: vendor 0x{vendor:04x} is not a real "
                              "vendor (0x0000 and 0xffff mean no device)")
        if device == 0xFFFF:
            raise ConfigError(f"{where}: device 0xffff is not a real device")
        if (vendor, device) in seen:
            raise ConfigError(f"{where}: {line} is listed twice")
        seen.add((vendor, device))
        ids.append((vendor, device))
    if not ids:
        raise ConfigError(f"{name}: no vendor:device IDs: the dext would "
                          "match nothing")
    return ids


def primary_match(vendor, device):
    """IOPCIFamily's IOPCIPrimaryMatch value: device ID high, vendor low."""
    return f"0x{device:04x}{vendor:04x}"


def personalities(ids):
    out = {}
    for vendor, device in ids:
        out[f"{DRIVER_CLASS}-{vendor:04x}-{device:04x}"] = {
            "CFBundleIdentifier": DEXT_ID,
            "CFBundleIdentifierKernel": "com.apple.kpi.iokit",
            "IOClass": "IOUserService",
            "IOProviderClass": "IOPCIDevice",
            "IOPCIPrimaryMatch": primary_match(vendor, device),
            # Thunderbolt enclosures are the use case: without this the
            # kernel does not match drivers to tunnelled PCIe functions.
            "IOPCITunnelCompatible": True,
            "IOUserClass": DRIVER_CLASS,
            "IOUserServerName": DEXT_ID,
            "IOMatchCategory": DEXT_ID,
            USER_CLIENT_KEY: {
                "IOClass": "IOUserUserClient",
                "IOUserClass": USER_CLIENT_CLASS,
            },
        }
    return out


def info_plist(ids, version, build):
    return {
        "CFBundleDevelopmentRegion": "en",
        "CFBundleExecutable": DEXT_ID,
        "CFBundleIdentifier": DEXT_ID,
        "CFBundleInfoDictionaryVersion": "6.0",
        "CFBundleName": "macvfio",
        "CFBundlePackageType": "DEXT",
        "CFBundleShortVersionString": version,
        "CFBundleVersion": build,
        "OSBundleUsageDescription":
            "Passes the PCI devices you configured through to virtual machines.",
        "IOKitPersonalities": personalities(ids),
    }


def pci_transport(ids):
    return [{"IOPCIPrimaryMatch": primary_match(v, d)} for v, d in ids]


def dext_entitlements(ids, development):
    ent = {
        "com.apple.developer.driverkit": True,
        "com.apple.developer.driverkit.transport.pci": pci_transport(ids),
        "com.apple.security.app-sandbox": True,
    }
    if development:
        # Only for SIP-off machines: any process may open the dext.
        ent["com.apple.developer.driverkit.allow-any-userclient-access"] = True
    return ent


def vmm_entitlements():
    return {
        "com.apple.security.hypervisor": True,
        "com.apple.developer.driverkit.userclient-access": [DEXT_ID],
    }


def main(argv=None):
    here = Path(__file__).resolve().parent
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--config", default=str(here / "devices.conf"))
    ap.add_argument("--version", default="0.1.0")
    ap.add_argument("--build", default="1")
    ap.add_argument("--out", required=True)
    a = ap.parse_args(argv)
    if not re.fullmatch(r"\d+(\.\d+){0,2}", a.version):
        print(f"gen-plists: version '{a.version}' is not X[.Y[.Z]]", file=sys.stderr)
        return 1
    if not re.fullmatch(r"\d+(\.\d+)*", a.build):
        print(f"gen-plists: build '{a.build}' is not numeric", file=sys.stderr)
        return 1
    try:
        ids = parse_config(Path(a.config).read_text(), a.config)
    except (ConfigError, OSError) as e:
        print(f"gen-plists: {e}", file=sys.stderr)
        return 1
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    files = {
        "Info.plist": info_plist(ids, a.version, a.build),
        "dext-development.entitlements": dext_entitlements(ids, True),
        "dext-release.entitlements": dext_entitlements(ids, False),
        "vmm.entitlements": vmm_entitlements(),
    }
    for name, data in files.items():
        (out / name).write_bytes(plistlib.dumps(data, sort_keys=True))
    print(f"gen-plists: {len(ids)} device IDs -> {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

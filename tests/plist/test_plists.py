#!/usr/bin/env python3
"""The dext's generated Info.plist and entitlements (dext/gen-plists.py):
strict parsing (plistlib), keys and types, cross-references to the code
(class names in the .iig files, the user-client key the driver passes to
Create(), bundle ids the installer and the IOKit transport use), the
matching rule covering exactly the configured IDs, and refusal of bad
configurations.

    test_plists.py SRC
"""
import importlib.util
import plistlib
import re
import subprocess
import sys
import tempfile
import unittest
from pathlib import Path

SRC = Path(sys.argv.pop(1)).resolve() if len(sys.argv) > 1 else Path(__file__).resolve().parents[2]
sys.path.insert(0, str(Path(__file__).resolve().parent))
import pci_match  # noqa: E402

GEN = SRC / "dext" / "gen-plists.py"
spec = importlib.util.spec_from_file_location("gen_plists", GEN)
gen = importlib.util.module_from_spec(spec)
spec.loader.exec_module(gen)

CONFIG = """\
# test list
144d:a808
10de:2684   # a GPU
"""
CONFIGURED = [(0x144D, 0xA808), (0x10DE, 0x2684)]
NOT_CONFIGURED = [(0x144D, 0xA809), (0x144E, 0xA808), (0x10DE, 0x2685),
                  (0x8086, 0x1234), (0xFFFF, 0xFFFF), (0x2684, 0x10DE)]


def run_gen(config_text, *extra):
    d = Path(tempfile.mkdtemp(prefix="mvf-plist-"))
    cfg = d / "devices.conf"
    cfg.write_text(config_text)
    r = subprocess.run([sys.executable, str(GEN), "--config", str(cfg),
                        "--out", str(d / "out"), *extra],
                       capture_output=True, text=True)
    return r, d / "out"


def load(path):
    # plistlib.loads raises on anything malformed (plistutil does not).
    return plistlib.loads(path.read_bytes(), fmt=plistlib.FMT_XML)


def iig_classes():
    out = {}
    for f in (SRC / "dext").glob("*.iig"):
        for m in re.finditer(r"^\s*class\s+(\w+)\s*:\s*public\s+(\w+)",
                             f.read_text(), re.M):
            out[m.group(1)] = m.group(2)
    return out


class Generated(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        r, out = run_gen(CONFIG, "--version", "1.2.3", "--build", "7")
        assert r.returncode == 0, r.stderr
        cls.info = load(out / "Info.plist")
        cls.dev = load(out / "dext-development.entitlements")
        cls.rel = load(out / "dext-release.entitlements")
        cls.vmm = load(out / "vmm.entitlements")

    def test_bundle_keys_and_types(self):
        want = {
            "CFBundleIdentifier": "org.macvfio.driver",
            "CFBundleExecutable": "org.macvfio.driver",
            "CFBundlePackageType": "DEXT",
            "CFBundleInfoDictionaryVersion": "6.0",
            "CFBundleShortVersionString": "1.2.3",
            "CFBundleVersion": "7",
        }
        for k, v in want.items():
            self.assertEqual(self.info.get(k), v, k)
        self.assertIsInstance(self.info.get("OSBundleUsageDescription"), str)
        self.assertTrue(self.info["OSBundleUsageDescription"])
        self.assertIsInstance(self.info.get("IOKitPersonalities"), dict)

    def test_personality_keys_and_types(self):
        pers = self.info["IOKitPersonalities"]
        self.assertEqual(len(pers), len(CONFIGURED))
        types = {
            "CFBundleIdentifier": str, "CFBundleIdentifierKernel": str,
            "IOClass": str, "IOProviderClass": str, "IOPCIPrimaryMatch": str,
            "IOPCITunnelCompatible": bool, "IOUserClass": str,
            "IOUserServerName": str, "IOMatchCategory": str,
            gen.USER_CLIENT_KEY: dict,
        }
        for name, p in pers.items():
            self.assertEqual(set(p), set(types), name)
            for k, t in types.items():
                self.assertIsInstance(p[k], t, f"{name}.{k}")
            self.assertEqual(p["IOClass"], "IOUserService")
            self.assertEqual(p["IOProviderClass"], "IOPCIDevice")
            self.assertEqual(p["CFBundleIdentifierKernel"], "com.apple.kpi.iokit")
            self.assertIs(p["IOPCITunnelCompatible"], True)
            self.assertEqual(p["CFBundleIdentifier"], self.info["CFBundleIdentifier"])
            self.assertEqual(p["IOUserServerName"], self.info["CFBundleIdentifier"])
            uc = p[gen.USER_CLIENT_KEY]
            self.assertEqual(uc, {"IOClass": "IOUserUserClient",
                                  "IOUserClass": uc["IOUserClass"]})

    def test_classes_are_the_iig_classes(self):
        classes = iig_classes()
        self.assertIn("MacvfioDriver", classes, "dext/MacvfioDriver.iig")
        self.assertIn("MacvfioUserClient", classes, "dext/MacvfioUserClient.iig")
        self.assertEqual(classes["MacvfioDriver"], "IOService")
        self.assertEqual(classes["MacvfioUserClient"], "IOUserClient")
        for p in self.info["IOKitPersonalities"].values():
            self.assertEqual(classes.get(p["IOUserClass"]), "IOService")
            uc = p[gen.USER_CLIENT_KEY]["IOUserClass"]
            self.assertEqual(classes.get(uc), "IOUserClient")

    @unittest.skipUnless(any("NewUserClient" in f.read_text()
                             for f in (SRC / "dext").glob("*.cpp")),
                         "the driver's code (dext/*.cpp) is not written yet")
    def test_user_client_key_is_what_the_driver_creates(self):
        sources = "".join(f.read_text() for f in (SRC / "dext").glob("*.cpp"))
        self.assertTrue(re.search(r"Create\s*\([^;]*\"%s\"" % gen.USER_CLIENT_KEY,
                                  sources),
                        "dext/*.cpp: the driver must Create() its user client "
                        "from the personality's key %s" % gen.USER_CLIENT_KEY)

    def test_bundle_ids_the_clients_use(self):
        # The installer activates this id; the IOKit transport finds the
        # service by the name the driver sets.
        main_m = (SRC / "installer" / "main.m").read_text()
        self.assertIn('"%s"' % self.info["CFBundleIdentifier"], main_m)
        self.assertEqual(self.vmm["com.apple.developer.driverkit.userclient-access"],
                         [self.info["CFBundleIdentifier"]])
        inst = (SRC / "installer" / "Info.plist.in").read_text()
        self.assertIn("<string>org.macvfio.installer</string>", inst)

    def test_matching_covers_exactly_the_configured_ids(self):
        pers = list(self.info["IOKitPersonalities"].values())
        ents = self.rel["com.apple.developer.driverkit.transport.pci"]
        for p in pers:
            self.assertTrue(pci_match.is_exact(p["IOPCIPrimaryMatch"]))
        for e in ents:
            self.assertEqual(set(e), {"IOPCIPrimaryMatch"})
            self.assertTrue(pci_match.is_exact(e["IOPCIPrimaryMatch"]))
        for v, d in CONFIGURED:
            self.assertEqual(sum(pci_match.matches(p["IOPCIPrimaryMatch"], v, d)
                                 for p in pers), 1, f"{v:04x}:{d:04x}")
            self.assertTrue(any(pci_match.matches(e["IOPCIPrimaryMatch"], v, d)
                                for e in ents), f"{v:04x}:{d:04x}")
        for v, d in NOT_CONFIGURED:
            self.assertFalse(any(pci_match.matches(p["IOPCIPrimaryMatch"], v, d)
                                 for p in pers), f"{v:04x}:{d:04x}")
            self.assertFalse(any(pci_match.matches(e["IOPCIPrimaryMatch"], v, d)
                                 for e in ents), f"{v:04x}:{d:04x}")

    def test_matcher_itself(self):
        # The rule as IOPCIFamily applies it, so the test above can fail.
        self.assertTrue(pci_match.matches("0xa808144d", 0x144D, 0xA808))
        self.assertFalse(pci_match.matches("0xa808144d", 0x144D, 0xA809))
        self.assertTrue(pci_match.matches("0x0000144d&0x0000ffff", 0x144D, 0x1))
        self.assertTrue(pci_match.matches("0x1 0xa808144d", 0x144D, 0xA808))
        self.assertFalse(pci_match.is_exact("0x0000144d&0x0000ffff"))
        with self.assertRaises(ValueError):
            pci_match.parse("144d:a808")

    def test_development_and_release_entitlements(self):
        any_uc = "com.apple.developer.driverkit.allow-any-userclient-access"
        for ent in (self.dev, self.rel):
            self.assertIs(ent["com.apple.developer.driverkit"], True)
            self.assertIs(ent["com.apple.security.app-sandbox"], True)
            self.assertEqual(ent["com.apple.developer.driverkit.transport.pci"],
                             self.rel["com.apple.developer.driverkit.transport.pci"])
            self.assertNotIn("com.apple.developer.driverkit.transport.pci.bridge", ent)
        self.assertIs(self.dev[any_uc], True)
        self.assertNotIn(any_uc, self.rel)
        self.assertIs(self.vmm["com.apple.security.hypervisor"], True)


class BadConfigs(unittest.TestCase):
    def refused(self, text, why):
        r, out = run_gen(text)
        self.assertEqual(r.returncode, 1, text)
        self.assertIn(why, r.stderr)
        self.assertFalse((out / "Info.plist").exists())

    def test_malformed(self):
        self.refused("144d:a8\n", "not vvvv:dddd")
        self.refused("144da808\n", "not vvvv:dddd")
        self.refused("0x144d:0xa808\n", "not vvvv:dddd")

    def test_wildcards_and_masks(self):
        self.refused("144d:*\n", "wildcards and masks")
        self.refused("0xa808144d&0x0000ffff\n", "wildcards and masks")

    def test_no_device_ids(self):
        self.refused("ffff:1234\n", "vendor 0xffff")
        self.refused("0000:1234\n", "vendor 0x0000")
        self.refused("144d:ffff\n", "device 0xffff")

    def test_class_filters_and_bridges(self):
        self.refused("144d:a808 class=0x060400\n", "class filters are not supported")
        self.refused("IOPCIClassMatch 0x06040000&0xffff0000\n", "class filters")

    def test_duplicates(self):
        self.refused("144d:a808\n144D:A808\n", "listed twice")

    def test_empty(self):
        self.refused("# nothing\n\n", "match nothing")

    def test_shipped_config_is_valid(self):
        ids = gen.parse_config((SRC / "dext" / "devices.conf").read_text())
        self.assertTrue(ids)


if __name__ == "__main__":
    unittest.main(verbosity=2)

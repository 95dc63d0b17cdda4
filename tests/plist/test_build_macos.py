#!/usr/bin/env python3
"""dext/build-macos.sh on Linux: the steps a Mac build runs (--dry-run,
in order), the refusals of bad options, and the bundle layout it
assembles from given binaries (--bundle-only --no-sign).

    test_build_macos.py SRC
"""
import plistlib
import subprocess
import sys
import tempfile
import unittest
from pathlib import Path

SRC = Path(sys.argv.pop(1)).resolve() if len(sys.argv) > 1 else Path(__file__).resolve().parents[2]
SCRIPT = SRC / "dext" / "build-macos.sh"
DEXT = "macvfio.app/Contents/Library/SystemExtensions/org.macvfio.driver.dext"


def build(*args):
    out = tempfile.mkdtemp(prefix="mvf-bm-")
    r = subprocess.run(["bash", str(SCRIPT), "--out", out, *args],
                       capture_output=True, text=True)
    return r, Path(out)


def steps(r):
    return [l[2:] for l in r.stdout.splitlines() if l.startswith("+ ")]


def index(lines, *words):
    for i, l in enumerate(lines):
        if all(w in l for w in words):
            return i
    raise AssertionError(f"no step with {words}")


HAVE_DEXT = any((SRC / "dext").glob("*.cpp"))


class DryRun(unittest.TestCase):
    @unittest.skipIf(HAVE_DEXT, "the dext's code exists")
    def test_refuses_without_the_dext_code(self):
        r, _ = build("--dry-run")
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("not written yet", r.stderr)

    @unittest.skipUnless(HAVE_DEXT, "the dext's code (dext/*.cpp) is not written yet")
    def test_development_steps_in_order(self):
        r, _ = build("--dry-run")
        self.assertEqual(r.returncode, 0, r.stderr)
        s = steps(r)
        iig = [index(s, "iig", f"{c}.iig") for c in ("MacvfioDriver", "MacvfioUserClient")]
        cores = [index(s, "clang ", f"core/{f.name}") for f in sorted((SRC / "core").glob("*.c"))]
        dexts = [index(s, "clang++", f"dext/{f.name}") for f in sorted((SRC / "dext").glob("*.cpp"))]
        glue = index(s, "clang++", "MacvfioUserClient.iig.cpp")
        link = index(s, "-framework DriverKit", "-framework PCIDriverKit")
        inst = index(s, "installer/main.m", "-fobjc-arc", "-framework SystemExtensions")
        sign_dext = index(s, "codesign", "org.macvfio.driver.dext", "dext-development.entitlements")
        sign_app = index(s, "codesign", "installer.entitlements")
        self.assertLess(max(iig), min(cores + dexts + [glue]))
        self.assertLess(max(cores + dexts + [glue]), link)
        self.assertLess(link, sign_dext)
        self.assertLess(inst, sign_app)
        self.assertLess(sign_dext, sign_app, "sign the inside first")
        self.assertIn("--sign -", s[sign_dext])
        self.assertTrue(all("arm64-apple-driverkit22.0" in s[i] for i in cores + dexts + [link]))

    @unittest.skipUnless(HAVE_DEXT, "the dext's code is not written yet")
    def test_release_steps(self):
        r, _ = build("--dry-run", "--variant", "release", "--identity", "Developer ID Application: X")
        self.assertEqual(r.returncode, 0, r.stderr)
        s = steps(r)
        d = index(s, "codesign", "dext-release.entitlements")
        self.assertIn("--options runtime", s[d])
        self.assertIn("--timestamp", s[d])
        self.assertFalse(any("dext-development" in l for l in s))
        index(s, "codesign --verify --deep --strict")

    @unittest.skipUnless(HAVE_DEXT, "the dext's code is not written yet")
    def test_arm64e(self):
        r, _ = build("--dry-run", "--arch", "arm64e")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("arm64e-apple-driverkit22.0", r.stdout)

    def test_refusals(self):
        for args, why in [(("--dry-run", "--variant", "release"), "needs --identity"),
                          (("--dry-run", "--variant", "beta"), "development or release"),
                          (("--dry-run", "--arch", "x86_64"), "arm64 or arm64e"),
                          (("--frobnicate",), "unknown option"),
                          (("--bundle-only",), "needs --dext-binary")]:
            r, _ = build(*args)
            self.assertNotEqual(r.returncode, 0, args)
            self.assertIn(why, r.stderr, args)

    @unittest.skipUnless(HAVE_DEXT, "the dext's code is not written yet")
    def test_not_on_linux_without_dry_run(self):
        r, _ = build()
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("needs macOS", r.stderr)


class BundleLayout(unittest.TestCase):
    def test_layout(self):
        tmp = Path(tempfile.mkdtemp(prefix="mvf-bin-"))
        (tmp / "dext").write_bytes(b"\xcf\xfa\xed\xfe placeholder dext")
        (tmp / "inst").write_bytes(b"\xcf\xfa\xed\xfe placeholder app")
        r, out = build("--bundle-only", "--no-sign", "--version", "2.3.4", "--build", "9",
                       "--dext-binary", str(tmp / "dext"),
                       "--installer-binary", str(tmp / "inst"))
        self.assertEqual(r.returncode, 0, r.stderr)
        app = out / "macvfio.app"
        files = sorted(str(p.relative_to(app)) for p in app.rglob("*") if p.is_file())
        self.assertEqual(files, [
            "Contents/Info.plist",
            "Contents/Library/SystemExtensions/org.macvfio.driver.dext/Info.plist",
            "Contents/Library/SystemExtensions/org.macvfio.driver.dext/org.macvfio.driver",
            "Contents/MacOS/macvfio-installer",
        ])
        dinfo = plistlib.loads((out / DEXT / "Info.plist").read_bytes())
        self.assertTrue((out / DEXT / dinfo["CFBundleExecutable"]).is_file())
        self.assertEqual(dinfo["CFBundleShortVersionString"], "2.3.4")
        ainfo = plistlib.loads((app / "Contents/Info.plist").read_bytes())
        self.assertEqual(ainfo["CFBundleShortVersionString"], "2.3.4")
        self.assertEqual(ainfo["CFBundleVersion"], "9")
        self.assertTrue((app / "Contents/MacOS" / ainfo["CFBundleExecutable"]).is_file())
        self.assertEqual((out / DEXT / "org.macvfio.driver").read_bytes(),
                         (tmp / "dext").read_bytes())
        self.assertTrue((out / "gen" / "vmm.entitlements").is_file())


if __name__ == "__main__":
    unittest.main(verbosity=2)

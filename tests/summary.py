#!/usr/bin/env python3
"""Sums test results into one closing line: 'N passed, N failed'.

Arguments are meson testlog.json files (one test per line) or logs of
scripts that end with 'e2e: N passed, N failed'.  A missing file, or a
log without that line, counts as one failure (the suite did not run).
"""
import json, re, sys

passed = failed = skipped = 0
for path in sys.argv[1:]:
    try:
        with open(path, errors="replace") as f:
            text = f.read()
    except FileNotFoundError:
        print(f"summary: {path} missing (suite did not run)")
        failed += 1
        continue
    if path.endswith(".json"):
        for line in text.splitlines():
            r = json.loads(line).get("result")
            if r in ("OK", "EXPECTEDFAIL"):
                passed += 1
            elif r == "SKIP":
                skipped += 1
            else:
                failed += 1
        continue
    found = re.findall(r"^e2e: (\d+) passed, (\d+) failed", text, re.M)
    if not found:
        print(f"summary: {path} has no result line")
        failed += 1
        continue
    passed += int(found[-1][0])
    failed += int(found[-1][1])
line = f"{passed} passed, {failed} failed"
if skipped:
    line += f", {skipped} skipped"
print(line)
sys.exit(1 if failed else 0)

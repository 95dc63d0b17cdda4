#!/usr/bin/env python3
"""Every document cites only what is in the repository.

For each Markdown file git tracks (every one outside build/ when the tree
is not a git checkout; qemu/patches excluded), checks:
- relative links [text](path#anchor): the path exists, and the anchor is
  a heading of the target document (GitHub's slugs);
- source and document paths in code spans (`lib/dma.c`): they exist, from
  the repository's root or the document's directory, or a QEMU patch of
  the series creates them.  A span counts as such a path when it starts
  with a directory, ends in a source or document suffix and holds no
  placeholder (ARCH, <X>, *, ...); build products (`guest/macvfio.ko`)
  are not citations.  qemu/README.md's spans name files of the QEMU tree
  and are left alone.
Prints one line per broken citation and exits 1 if there is any.

  check-doc-links.py REPO_ROOT
"""
import os
import re
import subprocess
import sys

root = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else ".")
try:
    files = subprocess.run(["git", "-C", root, "ls-files", "*.md"], check=True,
                           capture_output=True, text=True).stdout.split()
except (OSError, subprocess.CalledProcessError):   # not a git checkout
    files = [os.path.relpath(os.path.join(d, f), root)
             for d, dirs, names in os.walk(root)
             for f in names if f.endswith(".md")
             if not re.match(r"(build|\.[^/]+)(/|$)", os.path.relpath(d, root))]
files = [f for f in files if not f.startswith("qemu/patches/")]
SOURCE = re.compile(r"\.(c|h|cpp|m|iig|md|rst|sh|py|build|txt|json|plist|"
                    r"strings|entitlements|conf|patch)$")
# files the QEMU series creates in the QEMU tree
patched = set()
for p in sorted(os.listdir(os.path.join(root, "qemu", "patches"))):
    with open(os.path.join(root, "qemu", "patches", p), encoding="utf-8",
              errors="replace") as f:
        for line in f:
            if line.startswith("+++ b/"):
                patched.add(line[6:].strip())

LINK = re.compile(r"\[(?:[^\]\[]|\[[^\]]*\])*\]\(([^)\s]+)\)")
SPAN = re.compile(r"`([^`\n]+)`")
FENCE = re.compile(r"^\s*(```|~~~)")
# what makes a code span a pattern or an example, not a citation
PLACEHOLDER = re.compile(r"[<>*{}$|]|\.\.\.|\b(ARCH|NAME|CONFIG|FILE|DIR|N|X|BDF)\b")


def slug(heading):
    """GitHub's anchor for a heading."""
    h = re.sub(r"`|\*\*|\*", "", heading.strip().lower())
    h = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", h)
    h = re.sub(r"[^\w\- ]", "", h)
    return h.replace(" ", "-")


anchors_cache = {}


def anchors(path):
    if path not in anchors_cache:
        seen, out, fenced = {}, set(), False
        with open(path, encoding="utf-8") as f:
            for line in f:
                if FENCE.match(line):
                    fenced = not fenced
                    continue
                m = None if fenced else re.match(r"#{1,6}\s+(.*?)\s*#*\s*$", line)
                if m:
                    s = slug(m.group(1))
                    n = seen.get(s, 0)
                    seen[s] = n + 1
                    out.add(s if n == 0 else f"{s}-{n}")
        anchors_cache[path] = out
    return anchors_cache[path]


bad = []
for md in files:
    here = os.path.dirname(os.path.join(root, md))
    fenced = False
    with open(os.path.join(root, md), encoding="utf-8") as f:
        lines = f.readlines()
    for no, line in enumerate(lines, 1):
        if FENCE.match(line):
            fenced = not fenced
            continue
        if fenced:
            continue
        for target in LINK.findall(line):
            if re.match(r"[a-z]+:", target):
                continue            # http:, mailto: ...
            path, _, anchor = target.partition("#")
            full = os.path.normpath(os.path.join(here, path)) if path else \
                os.path.join(root, md)
            if not os.path.exists(full):
                bad.append(f"{md}:{no}: link to {target}: no such file")
            elif anchor and full.endswith(".md") and anchor not in anchors(full):
                bad.append(f"{md}:{no}: link to {target}: no such heading")
        if md == "qemu/README.md":
            continue
        for span in SPAN.findall(LINK.sub("", line)):
            path = span.strip().split(":")[0]
            if ("/" not in path or " " in path or "=" in path or
                    path.startswith(("/", "build/")) or
                    not SOURCE.search(path) or PLACEHOLDER.search(path)):
                continue
            if not (os.path.exists(os.path.join(root, path)) or
                    os.path.exists(os.path.join(here, path)) or
                    path in patched):
                bad.append(f"{md}:{no}: `{span}`: not in the repository")

for b in bad:
    print(b)
print(f"doc links: {len(files)} documents, {len(bad)} broken citation(s)")
sys.exit(1 if bad else 0)

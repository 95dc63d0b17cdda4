"""IOPCIFamily's matching rule for IOPCIPrimaryMatch (and the other
IOPCI*Match keys), re-implemented for the tests: the value is a list of
"0xVALUE" or "0xVALUE&0xMASK" words separated by spaces; a function
matches when, for one of them, (id & mask) == (value & mask), mask
defaulting to 0xffffffff.  For IOPCIPrimaryMatch, id is the function's
device ID << 16 | vendor ID."""
import re

WORD = re.compile(r"^0x([0-9a-fA-F]{1,8})(?:&0x([0-9a-fA-F]{1,8}))?$")


def parse(value):
    words = value.split()
    if not words:
        raise ValueError("empty match value")
    out = []
    for w in words:
        m = WORD.match(w)
        if not m:
            raise ValueError(f"'{w}' is not 0xVALUE[&0xMASK]")
        v = int(m.group(1), 16)
        mask = int(m.group(2), 16) if m.group(2) else 0xFFFFFFFF
        out.append((v, mask))
    return out


def matches(value, vendor, device):
    pid = (device << 16) | vendor
    return any((pid & mask) == (v & mask) for v, mask in parse(value))


def is_exact(value):
    """True if every word has the full mask (matches one ID only)."""
    return all(mask == 0xFFFFFFFF for _, mask in parse(value))

#!/usr/bin/env python3
"""Writes seed inputs for fuzz_guest_proto (input layout: see that file).

Usage: make_seeds_guest_proto.py [OUT_DIR]   (default corpus/guest_proto)
"""
import os
import struct
import sys

out = sys.argv[1] if len(sys.argv) > 1 else "corpus/guest_proto"
os.makedirs(out, exist_ok=True)

# Commands (low nibble of the opcode byte; high nibble = variant bits).
MMIO_W, MMIO_R, RING, ENTRY, ENTRY2, ENTRIES, BELL, BELL2, RESET, RAM, HOST, WIN = range(12)
ALIGN = 16       # RING: align the base to an entry
RAW_SIZE = 32    # RING: 4-byte size instead of 1 + 16*b
DISABLE = 64     # RING: CTRL = 0

# Entry kinds for put_entry.
MAP_R, MAP_W, MAP_RW, UNMAP, RAW = 0, 8, 16, 2, 3


def cfg(rings=4, select=True, granule_sel=0, two_ram=False, max_maps=64, budget=255):
    c0 = (rings if rings < 7 else 7) | (8 if select else 0) | (16 if two_ram else 0) | (granule_sel << 6)
    return bytes([c0, max_maps - 1, budget])


def addr(rng, granules=0):
    """Granule-aligned address inside RAM range rng (0, 1, 2)."""
    return bytes([rng]) + granules.to_bytes(3, "little")


def raw_addr(a):
    return bytes([0x70]) + b"\0\0\0" + struct.pack("<Q", a & (2**64 - 1))


def glen(n):
    """n granules, 1..16."""
    return bytes([n - 1])


def ring(r, rng, gran, size_byte):
    return bytes([RING | ALIGN, r]) + addr(rng, gran) + bytes([size_byte])


def ring_raw(r, a, size):
    return bytes([RING | RAW_SIZE, r]) + raw_addr(a) + struct.pack("<I", size)


def entries(r, idx, body, n):
    return bytes([ENTRIES, r]) + struct.pack("<HB", idx, n - 1) + body


def map_e(kind, rng, gran, n):
    return bytes([kind]) + addr(rng, gran) + glen(n)


def unmap_e(slot):
    return bytes([UNMAP, 0]) + struct.pack("<H", slot)


def raw_e(op, flags, gpa, length, iova):
    return bytes([RAW]) + struct.pack("<HHQQQ", op, flags, gpa & (2**64 - 1),
                                      length & (2**64 - 1), iova & (2**64 - 1))


def bell(r, start, count):
    return bytes([BELL, r]) + struct.pack("<HH", start, count)


def mmio_w(off, val):
    return bytes([MMIO_W, 0]) + struct.pack("<HI", off, val)


def mmio_r(off):
    return bytes([MMIO_R | 16, 0]) + struct.pack("<H", off)


def seed(name, data):
    with open(os.path.join(out, name), "wb") as f:
        f.write(data)


G = 16384
maps8 = b"".join(map_e([MAP_R, MAP_W, MAP_RW][i % 3], i % 2, i // 2, 1 + i % 3) for i in range(8))
unmaps8 = b"".join(unmap_e(i) for i in range(8))

seed("map_unmap", cfg() + ring(0, 0, 4, 1) + entries(0, 0, maps8, 8) + bell(0, 0, 8)
     + entries(0, 8, unmaps8, 8) + bell(0, 8, 8) + bytes([RESET, 0]))

seed("percpu", cfg(rings=64) + ring(0, 0, 4, 1) + ring(1, 1, 2, 1) + ring(2, 2, 0, 1)
     + ring(63, 0, 6, 0)
     + entries(2, 0, b"".join(map_e(MAP_RW, 2, 1 + i, 1) for i in range(4)), 4)
     + bell(2, 0, 4) + entries(1, 0, maps8, 8) + bell(1, 0, 8)
     + entries(0, 0, b"".join(unmap_e(i) for i in range(12)), 12) + bell(0, 0, 12))

seed("wrap", cfg() + ring(0, 0, 4, 1)  # 17 entries
     + entries(0, 14, b"".join(map_e(MAP_R, 0, i, 1) for i in range(6)), 6)
     + bell(0, 14, 6) + bell(0, 16, 17))

seed("bad_entries", cfg() + ring(0, 1, 0, 2) + entries(0, 0, b"".join([
    raw_e(1, 1, 0, 4096, 0), raw_e(1, 1, 4096, G, 0), raw_e(1, 1, 0, 0, 0),
    raw_e(1, 1, -G, 2 * G, 0), raw_e(1, 1, 0x200000, G, 0), raw_e(1, 0, 0, G, 0),
    raw_e(1, 4, 0, G, 0), raw_e(0, 1, 0, G, 0), raw_e(7, 1, 0, G, 0),
    raw_e(2, 0, 0, G, 0xF000000000), raw_e(2, 1, 0, G, 0xF000000000),
    raw_e(2, 0, 0, 2 * G, -G), raw_e(1, 3, 0xFFFFFFFFFFFF0000, 0x10000, 0),
    raw_e(1, 3, 0xFFFFFFFFFFFF0000, 0x20000, 0)]), 14) + bell(0, 0, 14))

seed("bad_rings", cfg() + ring_raw(0, 0x200000, 16) + ring_raw(0, 0, 0)
     + ring_raw(0, 0, 4097) + ring_raw(0, 16, 4) + ring_raw(0, -32, 2)
     + ring_raw(0, 0x1FFE0, 2) + ring_raw(5, 0, 4) + ring_raw(1, 0xFFFFFFFFFFFFFFE0, 1)
     + bell(1, 0, 1) + bell(0, 0, 1) + bell(1, 1, 1) + bell(1, 0, 0) + bell(1, 0, 2)
     + mmio_w(0x800 + 0x0C, 3) + mmio_w(0x000, 1))

seed("registers", cfg(rings=7) + b"".join(mmio_r(o) for o in range(0, 0x60, 4))
     + mmio_r(0x400) + mmio_r(0x81C) + mmio_w(0x40, 2) + mmio_w(0x40, 9)
     + mmio_w(0x48, 2) + mmio_w(0x48, 1) + bytes([MMIO_W | 0x50, 0]) + b"\x01\x00\x01\x00\x00\x00"
     + bytes([MMIO_R | 0x20, 0]) + b"\x02\x00")

seed("ram_change", cfg() + ring(0, 0, 4, 1) + ring(1, 1, 0, 1)
     + entries(0, 0, b"".join(map_e(MAP_RW, 1, 2 + i, 1) for i in range(5)), 5)
     + bell(0, 0, 5) + bytes([RAM | (1 << 4), 0]) + bell(1, 0, 1)
     + bytes([RAM | (7 << 4), 0]) + bell(0, 0, 5))

seed("host_faults", cfg(max_maps=8, budget=3) + ring(0, 0, 4, 4)
     + bytes([HOST, 0, 3]) + entries(0, 0, maps8, 8) + bell(0, 0, 8)
     + bytes([HOST, 0, 0x40, 2]) + bell(0, 0, 8)
     + bytes([HOST, 0, 0x80, 3]) + bell(0, 0, 8)
     + bytes([HOST | 0x10, 0, 0]) + bell(0, 0, 4)
     + bytes([HOST | 0x20, 0, 8]) + bell(0, 0, 8) + bytes([RESET, 0])
     + bytes([HOST, 0, 0xC0, 2]) + bell(0, 0, 8))

seed("reenter", cfg() + ring(0, 0, 4, 1) + entries(0, 0, maps8, 8)
     + bytes([HOST | 0x40, 0, 0]) + bell(0, 0, 4)
     + bytes([HOST | 0x80, 0, 0]) + bell(0, 4, 4)
     + bytes([HOST | 0xC0, 0, 0]) + bell(0, 0, 8))

seed("windows", cfg() + bytes([WIN | 0x10, 0]) + addr(0, 0) + glen(8) + b"\x01"
     + mmio_w(0x40, 1) + b"".join(mmio_r(0x400 + o) for o in range(0, 32, 4))
     + bytes([WIN, 0]) + addr(0, 0) + glen(1) + b"\x03" + ring(0, 0, 4, 1)
     + bytes([RESET | 0x10, 0]))

seed("granule4k", cfg(granule_sel=2) + ring(0, 0, 4, 3)
     + entries(0, 0, b"".join(map_e(MAP_R, 0, i, 1) for i in range(16)), 16)
     + bell(0, 0, 16) + entries(0, 16, b"".join(unmap_e(i) for i in range(16)), 16)
     + bell(0, 16, 16))

seed("misc", cfg(select=False) + ring(0, 0, 4, 1)
     + entries(0, 0, raw_e(2, 1, 0, G, 0xF000000000) + raw_e(2, 0, 0, G, 0xF000000000), 2)
     + bell(0, 0, 2) + mmio_w(0x814, 0) + mmio_w(0x81C, 0) + mmio_r(0x80C) + mmio_r(0x814)
     + mmio_r(0x818) + mmio_w(0x40, 1) + bytes([WIN | 0x10, 0]) + addr(0, 0) + glen(8)
     + b"\x01" + mmio_r(0x008) + mmio_r(0x044))

#!/usr/bin/env python3
# Seeds for fuzz_sim_nvme (layout: see tests/fuzz/fuzz_sim_nvme.c).
import os, struct, sys
out = sys.argv[1]
os.makedirs(out, exist_ok=True)

def reg(off, v, w=4):
    return bytes([0]) + struct.pack("<HBQ", off, {1:0,2:1,4:2,8:3}[w], v & (2**64-1))
def sqe(q, opc, nsid=0, prp1=0, prp2=0, cdw=(), cid=0, flags=0):
    e = bytearray(64)
    struct.pack_into("<I", e, 0, opc | flags << 8 | cid << 16)
    struct.pack_into("<I", e, 4, nsid)
    struct.pack_into("<QQ", e, 24, prp1, prp2)
    for i, v in enumerate(cdw):
        struct.pack_into("<I", e, 40 + 4 * i, v & 0xffffffff)
    return bytes([1, q]) + bytes(e)
def mem(off, vals):
    return bytes([2]) + struct.pack("<HB", off // 8, len(vals)) + b"".join(struct.pack("<Q", v) for v in vals)
def reap(q):
    return bytes([3, q])
def rd(off, w=4):
    return bytes([4, {1:0,2:1,4:2,8:3}[w]]) + struct.pack("<H", off)
def cfg(off, w, v):
    return bytes([5, off, {1:0,2:1,4:2}[w]]) + struct.pack("<I", v)
RESET = bytes([6])
def admin(log2):
    return bytes([7, log2])
def seed(name, flags, ops):
    with open(os.path.join(out, name), "wb") as f:
        f.write(bytes([flags]) + b"".join(ops))

DATA = 0x10000
LIST = 0x8000
seed("identify", 1, [sqe(0, 6, 0, 0x4000, 0, (1,)), sqe(0, 6, 1, 0x4800, 0x5000, (0,)),
                     sqe(0, 6, 0, 0x4000, 0, (2,)), sqe(0, 6, 1, 0x4000, 0, (3,)), reap(0),
                     sqe(0, 9, 0, 0, 0, (7, 0x00010001)), sqe(0, 10, 0, 0, 0, (7,)),
                     sqe(0, 2, 0xffffffff, 0x4000, 0, (2 | 127 << 16,)), reap(0)])
seed("write_read", 1, [mem(LIST, [DATA + 0x1000 * i for i in range(1, 16)]),
                       sqe(1, 1, 1, DATA, LIST, (0, 0, 127)), reap(1),
                       sqe(1, 2, 1, DATA + 0x20000 + 0x200, LIST, (0, 0, 127)), reap(1),
                       sqe(1, 2, 1, DATA, DATA + 0x3000, (8, 0, 15)),
                       sqe(1, 0, 1), sqe(1, 8, 1, 0, 0, (100, 0, 31)),
                       mem(0xc000, [0, 8, 64, 0]), sqe(1, 9, 1, 0xc000, 0, (0, 4)), reap(1)])
seed("chain", 1, [mem(LIST + 0xfe0, [DATA + 0x1000, DATA + 0x2000, DATA + 0x3000, LIST + 0x1000]),
                  mem(LIST + 0x1000, [DATA + 0x1000 * i for i in range(4, 40)]),
                  sqe(1, 1, 1, DATA, LIST + 0xfe0, (0, 0, 40 * 8 - 1)), reap(1),
                  sqe(1, 2, 1, DATA, LIST + 0xfe0, (0, 0, 40 * 8 - 1)), reap(1)])
seed("errors", 1, [sqe(1, 2, 1, 1 << 40, 0, (0, 0, 7)), sqe(1, 2, 1, 0xd0000, 0, (0, 0, 7)),
                   sqe(1, 1, 1, DATA + 1, 0, (0, 0, 0)), sqe(1, 2, 1, DATA, 0, (2048, 0, 0)),
                   sqe(1, 2, 2, DATA, 0, (0, 0, 0)), sqe(1, 0x55, 1), reap(1),
                   sqe(0, 5, 0, 0x6000, 0, (2 | 15 << 16, 3 | 7 << 16)),
                   sqe(0, 1, 0, 0x7000, 0, (2 | 15 << 16, 1 | 2 << 16)),
                   sqe(0, 4, 0, 0, 0, (1,)), sqe(0, 0, 0, 0, 0, (2,)), sqe(0, 4, 0, 0, 0, (2,)),
                   sqe(0, 12), sqe(0, 8, 0, 0, 0, (1,)), sqe(0, 0x80), reap(0)])
seed("registers", 0, [rd(0, 8), rd(8), reg(0x24, 0x000f000f), reg(0x28, 0, 8), reg(0x30, 0x1000, 8),
                      reg(0x14, 0x460000), reg(0x14, 0x460001), rd(0x1c), cfg(4, 2, 6),
                      sqe(0, 6, 0, 0x4000, 0, (1,)), reap(0), reg(0x14, 0x464001), rd(0x1c),
                      reg(0x14, 0), reg(0x0c, 1), reg(0x10, 1), reg(0x2000, 0xfee00000, 8),
                      rd(0x2000, 8), rd(0x3000), RESET, rd(0x14)])
seed("doorbells", 1, [reg(0x1000, 70), reg(0x1004, 3), reg(0x1008, 1), reg(0x1010, 1),
                      reg(0x1ffc, 1), reg(0x100c, 0, 8), admin(0), sqe(0, 0x18), reap(0),
                      cfg(4, 2, 2), sqe(0, 0x18), reap(0), cfg(4, 2, 6), admin(5), sqe(0, 0x18)])
seed("cqfull", 1, [admin(1)] + [sqe(0, 0x18) for _ in range(5)] + [reap(0), reap(0),
                   sqe(1, 0, 1), reg(0x100c, 1), reg(0x100c, 0)])
# Doorbell Buffer Config (0x7C): bad buffers, then good ones; shadow tails and
# heads written as memory, with and without the MMIO doorbell; a queue pair
# made after it; a controller reset that forgets it.
DBB, EIB = 0x60000, 0x61000
seed("dbbuf", 1, [sqe(0, 0x7c, 0, DBB + 8, EIB), sqe(0, 0x7c, 0, DBB, DBB),
                  sqe(0, 0x7c, 0, DBB, 0xd0000), sqe(0, 0x7c, 0, 1 << 40, EIB), reap(0),
                  sqe(0, 0x7c, 0, DBB, EIB), reap(0),
                  sqe(1, 2, 1, DATA, 0, (0, 0, 7)),
                  mem(DBB + 8, [3]), sqe(1, 2, 1, DATA, 0, (8, 0, 7)), reap(1),
                  mem(DBB + 8, [1000 | 77 << 32]), sqe(1, 0x18), reap(1),
                  sqe(0, 5, 0, 0x6000, 0, (2 | 15 << 16, 3 | 2 << 16)),
                  sqe(0, 1, 0, 0x7000, 0, (2 | 15 << 16, 1 | 2 << 16)), reap(0),
                  mem(DBB + 16, [1 | 0 << 32]), sqe(1, 0, 1), reap(1),
                  reg(0x14, 0), admin(3), mem(DBB + 8, [5]), sqe(0, 0x18), reap(0),
                  sqe(0, 0x7c, 0, DBB, EIB), reap(0), reg(0x1008, 1), RESET, rd(0x1c)])
# The admin queue's shadow slots (Linux never writes them; a host may),
# stale and junk values against MMIO doorbells, then a shutdown
# notification that forgets the buffers.
seed("dbbuf_admin", 1, [sqe(0, 0x7c, 0, DBB, EIB), reap(0), mem(DBB, [7 | 3 << 32]),
                        sqe(0, 0x18), reap(0), mem(DBB, [1]), sqe(0, 0x18),
                        sqe(1, 2, 1, DATA, 0, (0, 0, 7)), mem(DBB + 8, [2]), reap(1), reap(0),
                        reg(0x14, 0x464001), mem(DBB, [0xffff | 0xffff << 32]),
                        sqe(0, 0x18), reap(0), rd(0x1c)])

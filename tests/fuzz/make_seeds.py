#!/usr/bin/env python3
"""Writes seed inputs for fuzz_frame (layout: see fuzz_frame.c)."""
import os, struct, sys

out = sys.argv[1] if len(sys.argv) > 1 else "corpus/frame"
os.makedirs(out, exist_ok=True)

def frame(sel, scal=(), st=b"", nfds=0, maxout=65536):
    h = struct.pack("<IIIHHII", 0x4D564651, 1, sel, len(scal), nfds, len(st), maxout)
    return h + b"".join(struct.pack("<Q", x & (2**64 - 1)) for x in scal) + st

def seed(name, flags, frames):
    data = bytes([flags]) + b"".join(struct.pack("<H", len(f)) + f for f in frames)
    with open(os.path.join(out, name), "wb") as f:
        f.write(data)

G = 16384
seed("hello", 0, [frame(0, (1 << 16, 0)), frame(1), frame(2, (0,)), frame(3)])
seed("config", 1, [frame(6, (0, 4)), frame(7, (4, 2, 6)), frame(7, (0x10, 4, 0xffffffff)),
                   frame(6, (0x10, 4)), frame(7, (0x40, 4, 0x12345678))])
seed("mmio", 1, [frame(8, (0,)), frame(9, (0, 0, 4)), frame(10, (0, 8, 4, 0xabcd)),
                 frame(10, (2, 0, 8, 0x1122334455667788)), frame(9, (2, 0, 8))])
seed("dma", 1, [frame(15, (256 << 10, 0, 1), nfds=1), frame(17, (1, 0, G, 3)),
                frame(17, (1, G, 2 * G, 1)), frame(19),
                frame(18, (0xF000000000, G)), frame(16, (1,))])
seed("irq", 3, [frame(12, (2,)), frame(13, (2, 0, 0, 2, 3), nfds=2),
                frame(7, (4, 2, 6)),
                frame(10, (0, 0x34, 4, 1)), frame(10, (0, 0x38, 4, 1)),
                frame(13, (2, 2, 0, 1, 0)), frame(13, (2, 3, 0, 1, 0)),
                frame(13, (2, 1, 0, 0, 0))])
seed("batch", 1, [frame(15, (256 << 10, 0, 1), nfds=1),
                  frame(20, (), b"".join(struct.pack("<QQQII", 1, i * G, G, 3, 0) for i in range(4))),
                  frame(21, (), struct.pack("<QQ", 0xF000000000, G) * 2)])
seed("map_memory", 1, [frame(11, (2,)), frame(11, (0x100,)), frame(11, (0,)), frame(14)])
# Device DMA through the DART: sim:dmatest programmed through trapped
# BAR0 writes to copy into and out of a mapping, then just past its end.
IOVA = 0xF000000000
def doorbell(iova, length, direction):
    return [frame(10, (0, 0x20, 8, iova)), frame(10, (0, 0x28, 4, 0)),
            frame(10, (0, 0x2c, 4, length)), frame(10, (0, 0x30, 4, direction)),
            frame(10, (0, 0x34, 4, 0)), frame(10, (0, 0x38, 4, 1)),
            frame(9, (0, 0x40, 4))]
seed("device_dma", 1, [frame(15, (256 << 10, 0, 1), nfds=1), frame(17, (1, 0, G, 3)),
                       frame(7, (4, 2, 6))] + doorbell(IOVA, 4096, 1) +
     doorbell(IOVA, 4096, 0) + doorbell(IOVA + G - 8, 64, 1))
# Posted requests (abi.h, "Posted requests"): a write that runs, one
# outside the BAR, a posted read and RESET (refused, not run), a posted
# frame one scalar short, one with an fd; then the synchronous read that
# collects the report and one that runs.  Also posted before HELLO.
P = 0x80000000
seed("posted", 1, [frame(10 | P, (0, 8, 4, 0x1234)), frame(9, (0, 8, 4)),
                   frame(10 | P, (0, 0x1000, 4, 1)), frame(9 | P, (0, 8, 4)),
                   frame(14 | P), frame(10 | P, (0, 8, 4, 1))[:-8],
                   frame(10 | P, (0, 8, 4, 1), nfds=1), frame(9, (0, 8, 4)),
                   frame(9, (0, 8, 4)), frame(19)])
seed("posted_before_hello", 0, [frame(10 | P, (0, 8, 4, 1)), frame(0, (1 << 16, 0)),
                                frame(0, (1 << 16, 0))])

#!/usr/bin/env python3
"""Writes seed inputs for fuzz_server (record layout: see fuzz_server.c)."""
import os, struct, sys

out = sys.argv[1] if len(sys.argv) > 1 else "corpus/server"
os.makedirs(out, exist_ok=True)

(RAW, SETUP, REGISTER, UNREGISTER, MAP, UNMAP, MAP_BATCH, UNMAP_BATCH, IRQ,
 STATE, IRQCTL, DMATEST, DEVICE, NVME_UP, NVME_SQE, DISCONNECT) = range(16)
DMATEST_DEV, NVME_DEV = 0, 1
MSIX = 2
OPEN_ONLY, CLAIM_ONLY, RELEASE_ONLY = 3, 4, 8     # SETUP step masks
# DMATEST modes: 0 first bytes, 1 last bytes, 2 one before, 3 across the
# end, 4 one past the end, 5 the other client's IOVA, 6 unmapped, 7 raw.
FLIP_DIR, BAD_VECTOR, NO_BUS_MASTER = 1, 4, 8


def rec(client, kind, payload=b""):
    assert len(payload) < 256
    return bytes([client << 4 | kind, len(payload)]) + payload


def setup(c, dev, steps=0):
    return rec(c, SETUP, bytes([dev, steps, 0]))


def register(c, pages, off=0, flags=0):
    return rec(c, REGISTER, bytes([pages - 1, off, 0, flags]))


def dma_map(c, region=0, off_granules=0, granules=1, flags=3):
    return rec(c, MAP, bytes([region, off_granules, granules - 1, flags, 0]))


def dmatest(c, mapping, mode, length, flags=0, vector=0, woff=0, raw=0):
    return rec(c, DMATEST, struct.pack("<BBBHHQ", mapping, mode,
                                       flags | vector << 6, length - 1, woff, raw))


def irq(c, start, count, mask, full=0):
    return rec(c, IRQ, bytes([MSIX, start, count, mask, full]))


def sqe(opc, cid, prp1=0, cdw10=0, cdw11=0):
    e = struct.pack("<IIQQQQ", opc | cid << 16, 0, 0, 0, prp1, 0)
    return e + struct.pack("<6I", cdw10, cdw11, 0, 0, 0, 0)


def frame(sel, scal=(), nfds=0):
    h = struct.pack("<IIIHHII", 0x4D564651, 1, sel, len(scal), nfds, 0, 65536)
    return h + b"".join(struct.pack("<Q", x & (2**64 - 1)) for x in scal)


def seed(name, records):
    with open(os.path.join(out, name), "wb") as f:
        f.write(b"".join(records))


# A full round trip on sim:dmatest: window -> memory and back, then every
# kind of near miss, which the DART must refuse.
seed("dma_roundtrip", [
    setup(0, DMATEST_DEV), register(0, 64), dma_map(0, 0, 0, 2, 3),
    dma_map(0, 0, 2, 1, 1),                       # read-only mapping
    irq(0, 0, 4, 0xf),
    dmatest(0, 0, 0, 4096), dmatest(0, 0, 0, 4096, FLIP_DIR),
    dmatest(0, 0, 1, 512), dmatest(0, 0, 2, 64), dmatest(0, 0, 3, 256),
    dmatest(0, 0, 4, 16), dmatest(0, 1, 0, 64, FLIP_DIR),   # write to read-only
    dmatest(0, 0, 6, 64, raw=0x123456789), dmatest(0, 0, 7, 8, raw=2**64 - 4),
    dmatest(0, 0, 0, 64, NO_BUS_MASTER), dmatest(0, 0, 0, 64, BAD_VECTOR),
    rec(0, UNMAP, bytes([0, 0])), dmatest(0, 0, 0, 64),
    rec(0, UNMAP, bytes([0, 1])), rec(0, UNREGISTER, bytes([0])),
])

# A vector bound to a BLOCKING eventfd whose counter is full: the
# device's completion interrupt must not stall the daemon.  Then the same
# with the state page's wake fd.
seed("irq_full_blocking", [
    setup(0, DMATEST_DEV), register(0, 16), dma_map(0),
    irq(0, 0, 2, 0x3, 0x1), dmatest(0, 0, 0, 256, vector=0),
    dmatest(0, 0, 0, 256, vector=1), dmatest(0, 0, 0, 256, vector=0),
    rec(0, IRQCTL, bytes([MSIX, 1, 0, 0])),      # DISABLE
    rec(0, STATE, bytes([MSIX, 0x7])),            # full wake fd, page mapped
    dmatest(0, 0, 0, 128, vector=2), dmatest(0, 0, 3, 128, vector=3),
])

# Two clients race for one device; the loser's calls fail, the winner
# maps; after its release the other claims and aims at its IOVAs.
seed("claim_race", [
    setup(0, DMATEST_DEV, OPEN_ONLY), setup(1, DMATEST_DEV, OPEN_ONLY),
    setup(1, 0, CLAIM_ONLY), setup(0, 0, CLAIM_ONLY),
    register(0, 16), dma_map(0), dmatest(0, 0, 0, 64),
    register(1, 16), dma_map(1), irq(1, 0, 1, 1),
    dmatest(1, 0, 0, 64), dmatest(0, 0, 5, 64),
    setup(1, 0, RELEASE_ONLY), setup(0, 0, CLAIM_ONLY),
    register(0, 16), dma_map(0), dmatest(0, 0, 5, 64), dmatest(0, 0, 0, 64),
])

# Clients leave with live mappings, bound vectors and a state page; the
# other keeps working, and one comes back for the other device.
seed("disconnect_live", [
    setup(0, DMATEST_DEV), register(0, 32), dma_map(0, 0, 0, 1),
    dma_map(0, 0, 1, 1), rec(0, MAP_BATCH, bytes([2, 0, 2, 0, 3, 0, 0, 3, 0, 1, 0])),
    irq(0, 0, 4, 0xf, 0x2), rec(0, STATE, bytes([MSIX, 1])),
    setup(1, NVME_DEV), register(1, 16), dma_map(1, 0, 0, 4),
    rec(0, DISCONNECT), dmatest(0, 0, 0, 64),
    setup(0, DMATEST_DEV), dmatest(0, 0, 5, 64), register(0, 1), dma_map(0),
    rec(1, UNMAP_BATCH, bytes([2, 0, 0, 0, 2])), rec(1, DISCONNECT),
    rec(0, DISCONNECT),
])

# sim:nvme brought up in a client's mapping: Identify, I/O queue pair.
seed("nvme_admin", [
    setup(1, NVME_DEV), register(1, 32), dma_map(1, 0, 0, 4),
    irq(1, 0, 3, 0x7, 0x4), rec(1, NVME_UP, bytes([0, 0])),
    rec(1, NVME_SQE, sqe(0x06, 1, 0x2000, 1)),
    rec(1, NVME_SQE, sqe(0x05, 2, 0x3000, 1 | 15 << 16, 0x3)),
    rec(1, NVME_SQE, sqe(0x01, 3, 0x4000, 1 | 15 << 16, 1 | 1 << 16)),
    rec(1, NVME_SQE, sqe(0x06, 4, 0xF000000000 - 0x1000, 1)),   # PRP unmapped
    rec(1, DEVICE, bytes([4])),                   # RESET
    rec(1, NVME_UP, bytes([0, 2])), rec(1, NVME_SQE, sqe(0x06, 5, 0x2000, 1)),
])

# Raw frames next to structured ones: the parser keeps every check.
seed("raw_frames", [
    rec(0, RAW, bytes([0]) + frame(0, (1 << 16, 0))),
    rec(0, RAW, bytes([0]) + frame(2, (0,))), rec(0, RAW, bytes([0]) + frame(4)),
    rec(0, RAW, bytes([0]) + frame(15, (64 << 10, 0, 1), nfds=1)),
    rec(0, RAW, bytes([2]) + frame(13, (2, 0, 0, 1, 1), nfds=1)),
    rec(0, RAW, bytes([0]) + frame(17, (1, 0, 16384, 3))),
    dmatest(0, 0, 6, 64, raw=0), rec(0, RAW, bytes([0]) + b"MVFQ" + bytes(30)),
    rec(1, RAW, bytes([1]) + frame(0, (2 << 16, 0))), rec(0, RAW, bytes([0]) + frame(5)),
])

# Posted writes (abi.h, "Posted requests") from both clients, good and
# failing, raw and structured, then synchronous calls that collect the
# latched failure.
POSTED = 0x80000000
def device(c, op, bar, off, width_log2, val):
    return rec(c, DEVICE, struct.pack("<BBHBQ", op, bar, off, width_log2, val))
seed("posted", [
    setup(0, DMATEST_DEV), setup(1, DMATEST_DEV, OPEN_ONLY),
    device(0, 8, 0, 0x008, 2, 0x1234), device(0, 1, 0, 0x008, 2, 0),
    device(0, 8, 0, 0x1000, 2, 1), device(0, 8, 6, 0, 2, 1),
    device(1, 8, 0, 0x008, 2, 7), device(0, 5, 0, 0, 0, 0),
    rec(0, RAW, bytes([0]) + frame(10 | POSTED, (0, 8, 4, 9))),
    rec(0, RAW, bytes([0]) + frame(9 | POSTED, (0, 8, 4))),
    rec(0, RAW, bytes([0]) + frame(10 | POSTED, (0, 8, 4, 9))[:-8]),
    rec(0, RAW, bytes([0]) + frame(10 | POSTED, (0, 8, 4, 9), nfds=1)),
    device(0, 1, 0, 0x008, 2, 0), device(0, 1, 0, 0x008, 2, 0),
])

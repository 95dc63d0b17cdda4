#!/usr/bin/env python3
"""Writes seed inputs for fuzz_dext_method (record layout: see fuzz_dext_method.cpp)."""
import os, struct, sys

out = sys.argv[1] if len(sys.argv) > 1 else "corpus/dext_method"
os.makedirs(out, exist_ok=True)

(CALL, SETUP, REGISTER, MAP, UNMAP, CLOSE, KILL, MAPMEM, DOORBELL, RAISE, TAKE,
 UNREGISTER, LASTERR) = range(13)
RAW_STRUCT, ASYNC = 0x20, 0x40
# Selectors (include/macvfio/abi.h).
HELLO, DEVICE_INFO, CLAIM, CONFIG_READ, MMIO_READ, IRQ_SET, RESET = 0, 3, 4, 6, 9, 13, 14
DMA_REGISTER, DMA_MAP, STATS, MAP_BATCH, UNMAP_BATCH, LAST_ERROR = 15, 17, 19, 20, 21, 22
ALL_STEPS, IRQ_STATE, RELEASE = 0x0f, 0x10, 0x20


def h(kind, c=0, bits=0):
    return bytes([kind | c << 4 | bits])


def small(v):       # scalar tag 0: a u8
    return bytes([0, v])


def handle(i=0):    # tag 1: a registered handle
    return bytes([1, i])


def iova(i=0):      # tag 2: a mapped IOVA
    return bytes([2, i])


def granules(n):    # tag 3
    return bytes([3, n])


def raw(v):         # tag 5: a u64
    return bytes([5]) + struct.pack("<Q", v & (2**64 - 1))


def call(c, sel, scalars=(), sin=0, ncap=16, scap=0, bits=0, payload=b""):
    s = bytes([sel]) if sel < 0xff else bytes([0xff]) + struct.pack("<I", sel)
    return (h(CALL, c, bits) + s + bytes([len(scalars)]) + b"".join(scalars) +
            struct.pack("<H", sin) + payload + bytes([ncap]) + struct.pack("<H", scap))


def setup(c, steps=0):
    return h(SETUP, c) + bytes([steps])


def register(c, page, pages, flags=0):
    return h(REGISTER, c) + bytes([page, pages - 1, flags])


def dma_map(c, hidx=0, off=0, n=1, dirs=3):
    return h(MAP, c) + bytes([hidx, off, n - 1, dirs])


def unmap(c, idx=0, v=0):
    return h(UNMAP, c) + bytes([idx, v])


def mapmem(c, t, again=False):
    return h(MAPMEM, c, RAW_STRUCT if again else 0) + bytes([t])


def doorbell(c, idx, length, flags):
    return h(DOORBELL, c) + bytes([idx]) + struct.pack("<H", length - 1) + bytes([flags])


def seed(name, records):
    with open(os.path.join(out, name), "wb") as f:
        f.write(b"".join(records))


FROM_DEVICE = 1
seed("dma_roundtrip", [setup(0, ALL_STEPS | IRQ_STATE), mapmem(0, 6), mapmem(0, 2),
                       register(0, 0, 16), dma_map(0, 0, 0, 4, 3),
                       doorbell(0, 0, 512, FROM_DEVICE), doorbell(0, 0, 512, 2),
                       doorbell(0, 0, 512, FROM_DEVICE | 8), h(RAISE) + bytes([1]), h(TAKE),
                       unmap(0), h(UNREGISTER) + bytes([0]), h(TAKE)])
seed("two_clients", [setup(0), register(0, 0, 8), dma_map(0), setup(1),
                     call(1, DMA_MAP, [handle(0), small(0), granules(1), small(3)], ncap=1),
                     h(CLOSE, 0), setup(1), register(1, 32, 4), dma_map(1, 0, 0, 1, 1),
                     doorbell(1, 0, 64, 0), h(KILL, 1), setup(0), call(0, STATS, scap=4096)])
seed("call_shapes", [setup(0),
                     call(0, DMA_MAP, [small(1)] * 17, ncap=16),
                     call(0, DMA_MAP, [small(1)] * 4, ncap=17),
                     call(0, MAP_BATCH, sin=4097, ncap=1, scap=8192),
                     call(0, DEVICE_INFO, ncap=0, scap=8),
                     call(0, DEVICE_INFO, ncap=0, scap=8192),
                     call(0, CONFIG_READ, [small(0), small(4)], ncap=0),
                     call(0, MMIO_READ, [small(0), small(0), small(4)], ncap=1, bits=ASYNC),
                     call(0, 0xffffffff), call(0, 0x1ff),
                     call(0, HELLO, [raw(0x10001), small(0)], ncap=4, sin=16,
                          bits=RAW_STRUCT, payload=b"\x01" * 16),
                     h(LASTERR) + struct.pack("<H", 4), h(LASTERR) + struct.pack("<H", 256)])
seed("batch", [setup(0), register(0, 0, 64), register(0, 64, 64), dma_map(0, 0, 4, 2),
               call(0, MAP_BATCH, sin=24 * 100, ncap=1, scap=16 * 100),
               call(0, MAP_BATCH, sin=4096, ncap=1, scap=2048),
               call(0, UNMAP_BATCH, sin=16 * 50, ncap=1, scap=4 * 50),
               call(0, RESET), doorbell(0, 1, 4096, FROM_DEVICE)])
seed("die_holding", [setup(0, ALL_STEPS | IRQ_STATE), mapmem(0, 2), mapmem(0, 6), mapmem(0, 0),
                     register(0, 0, 4), register(0, 4, 4, 1), register(0, 8, 4, 2),
                     register(0, 12, 4, 4), dma_map(0, 0, 0, 1, 1), dma_map(0, 0, 1, 1, 2),
                     call(0, IRQ_SET, [small(2), small(4), small(0), small(0), small(1)],
                          ncap=0, bits=ASYNC),
                     h(RAISE) + bytes([0]), h(RAISE) + bytes([3]), h(KILL, 0),
                     setup(0, ALL_STEPS | RELEASE), register(0, 0, 1), h(CLOSE, 0)])

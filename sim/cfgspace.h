/* SPDX-License-Identifier: MIT */
/*
 * A 4 KiB PCIe configuration space that behaves like hardware, for the
 * simulated devices (sim:dmatest, sim:nvme).
 *
 * Every byte has a power-on value, a writable mask and a
 * write-1-to-clear mask.  A client write changes only writable bits;
 * RW1C bits clear where the written value has a 1; everything else is
 * read-only and keeps its value.  BAR registers are plain writable
 * masks too: the bits below the BAR's size are read-only zero and the
 * type bits are read-only, so writing all-ones reads back the size mask
 * with the type bits, exactly what a sizing driver expects.
 *
 * Building: mvf_cfgspace_init() with the IDs, then BARs and
 * capabilities in any order.  Standard capabilities are appended from
 * 0x40 and extended ones from 0x100, each chained to the previous one.
 * Builder calls write the power-on image; mvf_cfgspace_reset() restores
 * it.  Device code that changes a status bit at run time uses the
 * poke calls, which bypass the masks and leave the power-on image alone.
 *
 * The names avoid the core's mvf_cfg_* (config_policy.h): the daemon
 * links both.
 */
#ifndef MACVFIO_SIM_CFGSPACE_H
#define MACVFIO_SIM_CFGSPACE_H

#include <stdbool.h>
#include <stdint.h>

#include "macvfio/abi.h"

#define MVF_CS_SIZE MVF_CONFIG_SPACE

/* Type 0 header offsets. */
#define MVF_CS_VENDOR_ID       0x00
#define MVF_CS_DEVICE_ID       0x02
#define MVF_CS_COMMAND         0x04
#define MVF_CS_STATUS          0x06
#define MVF_CS_REVISION        0x08
#define MVF_CS_CLASS_PROG      0x09   /* 24-bit class code from here */
#define MVF_CS_CACHE_LINE      0x0c
#define MVF_CS_LATENCY         0x0d
#define MVF_CS_HEADER_TYPE     0x0e
#define MVF_CS_BIST            0x0f
#define MVF_CS_BAR0            0x10   /* BAR n at 0x10 + 4n */
#define MVF_CS_SUBSYS_VENDOR   0x2c
#define MVF_CS_SUBSYS_ID       0x2e
#define MVF_CS_ROM             0x30
#define MVF_CS_CAP_PTR         0x34
#define MVF_CS_INT_LINE        0x3c
#define MVF_CS_INT_PIN         0x3d

#define MVF_CS_CMD_IO          0x0001
#define MVF_CS_CMD_MEMORY      0x0002
#define MVF_CS_CMD_MASTER      0x0004
#define MVF_CS_CMD_PARITY      0x0040
#define MVF_CS_CMD_SERR        0x0100
#define MVF_CS_CMD_INTX_OFF    0x0400

#define MVF_CS_STATUS_INTX     0x0008  /* RO: INTx asserted */
#define MVF_CS_STATUS_CAPLIST  0x0010  /* RO: capability list present */
#define MVF_CS_STATUS_RW1C     0xf900  /* error bits, write 1 to clear */

/* BAR register low bits. */
#define MVF_CS_BAR_IO          0x1
#define MVF_CS_BAR_MEM64       0x4
#define MVF_CS_BAR_PREFETCH    0x8

/* Capability IDs. */
#define MVF_CS_CAP_PM          0x01
#define MVF_CS_CAP_MSI         0x05
#define MVF_CS_CAP_PCIE        0x10
#define MVF_CS_CAP_MSIX        0x11
#define MVF_CS_EXT_DSN         0x0003

#define MVF_CS_CAP_START       0x40
#define MVF_CS_EXT_START       0x100

/* Register offsets inside the capabilities the builder adds. */
#define MVF_CS_PM_PMC          0x02
#define MVF_CS_PM_PMCSR        0x04
#define MVF_CS_PM_LEN          8
#define MVF_CS_MSIX_CTRL       0x02   /* bit 15 enable, 14 function mask */
#define MVF_CS_MSIX_TABLE      0x04   /* offset | BIR */
#define MVF_CS_MSIX_PBA        0x08
#define MVF_CS_MSIX_LEN        12
#define MVF_CS_MSIX_ENABLE     0x8000
#define MVF_CS_MSIX_MASKALL    0x4000
#define MVF_CS_PCIE_FLAGS      0x02
#define MVF_CS_PCIE_DEVCAP     0x04
#define MVF_CS_PCIE_DEVCTL     0x08
#define MVF_CS_PCIE_DEVSTA     0x0a
#define MVF_CS_PCIE_LNKCAP     0x0c
#define MVF_CS_PCIE_LNKCTL     0x10
#define MVF_CS_PCIE_LNKSTA     0x12
#define MVF_CS_PCIE_DEVCAP2    0x24
#define MVF_CS_PCIE_DEVCTL2    0x28
#define MVF_CS_PCIE_LNKCAP2    0x2c
#define MVF_CS_PCIE_LNKCTL2    0x30
#define MVF_CS_PCIE_LNKSTA2    0x32
#define MVF_CS_PCIE_LEN        0x3c   /* version 2 endpoint capability */
#define MVF_CS_DSN_LEN         12

struct mvf_cfgspace_ids {
    uint16_t vendor_id, device_id;
    uint16_t subsys_vendor_id, subsys_id;
    uint32_t class_code;   /* 24 bits: base << 16 | sub << 8 | prog-if */
    uint8_t revision;
    uint8_t irq_pin;       /* 0 none, 1..4 INTA#..INTD# */
    bool multi_function;
};

/* Link and payload parameters of the PCIe capability. */
struct mvf_cfgspace_pcie {
    uint8_t max_payload;   /* encoded: 0 = 128 B .. 5 = 4096 B */
    uint8_t link_speed;    /* 1 = 2.5 GT/s .. 5 = 32 GT/s */
    uint8_t link_width;    /* lanes: 1, 2, 4, 8, 12, 16, 32 */
};

struct mvf_cfgspace {
    uint8_t data[MVF_CS_SIZE];   /* what reads return */
    uint8_t reset[MVF_CS_SIZE];  /* power-on image */
    uint8_t wmask[MVF_CS_SIZE];  /* bits a write replaces */
    uint8_t w1c[MVF_CS_SIZE];    /* bits a written 1 clears */
    uint64_t bar_size[MVF_NUM_BARS];
    uint32_t bar_flags[MVF_NUM_BARS];  /* MVF_BAR_*; 0 for an upper half */
    bool bar_used[MVF_NUM_BARS];       /* includes upper halves */
    uint16_t cap_last, cap_next;       /* last standard cap, next free */
    uint16_t ext_last, ext_next;       /* 0 = none yet */
    uint16_t pm_off;                   /* 0 = no PM capability */
};

/* Clears everything and writes the header; sets the standard writable
 * bits (command, status RW1C, cache line, interrupt line). */
void mvf_cfgspace_init(struct mvf_cfgspace *cs,
                       const struct mvf_cfgspace_ids *ids);

/*
 * Declares BAR `bar` of `size` bytes (a power of two).  `flags` are
 * MVF_BAR_*: IO, 64BIT and PREFETCH shape the register; the others
 * (MAPPABLE, MSIX) are only remembered for mvf_cfgspace_bar_flags().
 * A 64-bit BAR takes `bar` and `bar + 1`.  Memory BARs are 16 bytes to
 * 2 GiB (32-bit) or 2^63 (64-bit); I/O BARs 4 to 256 bytes.
 * 0, -EINVAL (bad index, size or flags) or -EBUSY (slot taken).
 */
int mvf_cfgspace_add_bar(struct mvf_cfgspace *cs, unsigned bar,
                         uint64_t size, uint32_t flags);

/* Size and MVF_BAR_* flags (IMPLEMENTED added when size > 0) of a BAR;
 * the upper half of a 64-bit BAR reports 0. */
uint64_t mvf_cfgspace_bar_size(const struct mvf_cfgspace *cs, unsigned bar);
uint32_t mvf_cfgspace_bar_flags(const struct mvf_cfgspace *cs, unsigned bar);

/* Appends a standard capability of `len` bytes (>= 2: ID and next
 * pointer), zero-filled and read-only, and returns its offset in *off.
 * -EINVAL for a bad length, -ENOSPC when it does not fit below 0x100. */
int mvf_cfgspace_add_cap(struct mvf_cfgspace *cs, uint8_t id, unsigned len,
                         uint16_t *off);

/* Appends an extended capability (header: ID, version, next pointer)
 * of `len` bytes (>= 4).  -EINVAL, -ENOSPC as above. */
int mvf_cfgspace_add_ext_cap(struct mvf_cfgspace *cs, uint16_t id,
                             uint8_t version, unsigned len, uint16_t *off);

/* Power management, version 3, D0 and D3hot only, No_Soft_Reset set
 * (the D3hot -> D0 transition does not reset the function).  Writes of
 * an unsupported power state leave the state unchanged. */
int mvf_cfgspace_add_pm(struct mvf_cfgspace *cs, uint16_t *off);

/* MSI-X with `nvec` vectors (1..2048); table and PBA offsets must be
 * 8-byte aligned; enable and function mask are writable. */
int mvf_cfgspace_add_msix(struct mvf_cfgspace *cs, unsigned nvec,
                          unsigned table_bar, uint32_t table_off,
                          unsigned pba_bar, uint32_t pba_off, uint16_t *off);

/* PCI Express capability, version 2, endpoint.  p may be NULL for
 * 256 B payload on a 8 GT/s x4 link.  No FLR, no ASPM. */
int mvf_cfgspace_add_pcie(struct mvf_cfgspace *cs,
                          const struct mvf_cfgspace_pcie *p, uint16_t *off);

/* Device Serial Number extended capability. */
int mvf_cfgspace_add_dsn(struct mvf_cfgspace *cs, uint64_t serial,
                         uint16_t *off);

/* Power-on values and masks of existing bytes, for the fields a
 * builder helper does not cover.  Out-of-range calls do nothing.
 * A bit cannot be both writable and RW1C: setting one clears the other. */
void mvf_cfgspace_set_init(struct mvf_cfgspace *cs, uint32_t off,
                           unsigned width, uint32_t val);
void mvf_cfgspace_set_wmask(struct mvf_cfgspace *cs, uint32_t off,
                            unsigned width, uint32_t mask);
void mvf_cfgspace_set_w1c(struct mvf_cfgspace *cs, uint32_t off,
                          unsigned width, uint32_t mask);

/* Client access: width 1, 2 or 4, off + width <= 4096 (any alignment).
 * 0 or -EINVAL; a failed read leaves *val as all-ones, the value of a
 * master abort. */
int mvf_cfgspace_read(const struct mvf_cfgspace *cs, uint32_t off,
                      unsigned width, uint32_t *val);
int mvf_cfgspace_write(struct mvf_cfgspace *cs, uint32_t off,
                       unsigned width, uint32_t val);

/* Device-side access to the live image, masks ignored.  Out of range:
 * peek returns 0, poke does nothing. */
uint32_t mvf_cfgspace_peek(const struct mvf_cfgspace *cs, uint32_t off,
                           unsigned width);
void mvf_cfgspace_poke(struct mvf_cfgspace *cs, uint32_t off,
                       unsigned width, uint32_t val);

/* Offset of the first standard / extended capability with that ID, or
 * 0.  The walk is bounded, so a corrupt chain cannot loop. */
uint16_t mvf_cfgspace_find_cap(const struct mvf_cfgspace *cs, uint8_t id);
uint16_t mvf_cfgspace_find_ext_cap(const struct mvf_cfgspace *cs, uint16_t id);

/* Live image back to the power-on image. */
void mvf_cfgspace_reset(struct mvf_cfgspace *cs);

/* Command register bits, as last written. */
static inline bool mvf_cfgspace_bus_master(const struct mvf_cfgspace *cs)
{
    return (mvf_cfgspace_peek(cs, MVF_CS_COMMAND, 2) & MVF_CS_CMD_MASTER) != 0;
}

#endif /* MACVFIO_SIM_CFGSPACE_H */

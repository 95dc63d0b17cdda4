/* SPDX-License-Identifier: MIT */
/*
 * apple-dma-pci: the companion device through which a guest learns and
 * obtains host IOVAs for a passed-through PCI device.
 *
 * This is the guest-visible protocol (PCI identity, register map, ring
 * entry, status codes): the one header the guest kernel module includes,
 * so it uses only fixed-width types and no libc.  The host side, the
 * engine QEMU's device wraps, is <macvfio/companion.h>.
 *
 * docs/guest-protocol.md is the prose version and the specification.
 * Everything is little-endian; every register is 32 bits wide and is
 * accessed with naturally aligned 32-bit accesses only.
 */
#ifndef MACVFIO_GUEST_PROTO_H
#define MACVFIO_GUEST_PROTO_H

#ifdef __KERNEL__
#include <linux/types.h>
#else
#include <stdint.h>
#endif

/* ---- PCI identity (unallocated IDs under Red Hat's QEMU vendor ID:
 *      for local use only, never shipped as an allocation) ----------- */
#define MVF_GP_PCI_VENDOR   0x1b36u
#define MVF_GP_PCI_DEVICE   0x00e1u
#define MVF_GP_PCI_CLASS    0x088000u /* other system peripheral */
#define MVF_GP_PCI_REVISION 1u
#define MVF_GP_BAR0_SIZE    4096u

/* ---- identification ----------------------------------------------- */
#define MVF_GP_MAGIC         0x4D564750u /* "MVGP" */
#define MVF_GP_VERSION_MAJOR 1u
#define MVF_GP_VERSION_MINOR 0u
#define MVF_GP_VERSION ((MVF_GP_VERSION_MAJOR << 16) | MVF_GP_VERSION_MINOR)

/* FEATURES register bits. */
#define MVF_GP_FEAT_WINDOW          (1u << 0) /* window table valid */
#define MVF_GP_FEAT_POOL            (1u << 1) /* rings usable for one pool MAP */
#define MVF_GP_FEAT_ONDEMAND        (1u << 2) /* rings usable per buffer */
#define MVF_GP_FEAT_PERCPU_RINGS    (1u << 3) /* NUM_RINGS > 1 */
#define MVF_GP_FEAT_STRATEGY_SELECT (1u << 4) /* guest may write STRATEGY */

/* STRATEGY values: the one list of DMA strategies (QEMU's dma-strategy
 * property, the engine and the guest module's strategy= all use it). */
#define MVF_GP_STRATEGY_NONE     0u
#define MVF_GP_STRATEGY_WINDOW   1u
#define MVF_GP_STRATEGY_POOL     2u
#define MVF_GP_STRATEGY_ONDEMAND 3u
#define MVF_GP_STRATEGY_COUNT    4u

/* The strategy's name as users write it, or NULL if s is not one. */
static inline const char *mvf_gp_strategy_name(uint32_t s)
{
    switch (s) {
    case MVF_GP_STRATEGY_NONE: return "none";
    case MVF_GP_STRATEGY_WINDOW: return "window";
    case MVF_GP_STRATEGY_POOL: return "pool";
    case MVF_GP_STRATEGY_ONDEMAND: return "ondemand";
    default: return 0;
    }
}

/* ---- limits --------------------------------------------------------- */
#define MVF_GP_MAX_RINGS        64u
#define MVF_GP_MAX_WINDOWS      32u
#define MVF_GP_RING_MAX_ENTRIES 4096u
#define MVF_GP_DOORBELL_MAX     1024u /* entries processed per doorbell */

/* ---- register map (byte offsets in BAR0) ------------------------------ */
#define MVF_GP_REG_MAGIC            0x000u /* RO */
#define MVF_GP_REG_VERSION          0x004u /* RO major << 16 | minor */
#define MVF_GP_REG_FEATURES         0x008u /* RO MVF_GP_FEAT_* */
#define MVF_GP_REG_DEV_STATUS       0x00Cu /* RO last device-level error */
#define MVF_GP_REG_PCI_ADDR         0x010u /* RO managed device, see below */
#define MVF_GP_REG_GRANULE          0x014u /* RO bytes (16384) */
#define MVF_GP_REG_BUDGET_LO        0x018u /* RO bytes rings may map at once */
#define MVF_GP_REG_BUDGET_HI        0x01Cu
#define MVF_GP_REG_MAX_MAPPINGS     0x020u /* RO live ring mappings allowed */
#define MVF_GP_REG_NUM_RINGS        0x024u /* RO 0..MVF_GP_MAX_RINGS */
#define MVF_GP_REG_RING_MAX_ENTRIES 0x028u /* RO MVF_GP_RING_MAX_ENTRIES */
#define MVF_GP_REG_DOORBELL_MAX     0x02Cu /* RO MVF_GP_DOORBELL_MAX */
#define MVF_GP_REG_APERTURE_BASE_LO 0x030u /* RO IOVA aperture (0: unknown) */
#define MVF_GP_REG_APERTURE_BASE_HI 0x034u
#define MVF_GP_REG_APERTURE_SIZE_LO 0x038u
#define MVF_GP_REG_APERTURE_SIZE_HI 0x03Cu
#define MVF_GP_REG_STRATEGY         0x040u /* RW MVF_GP_STRATEGY_* */
#define MVF_GP_REG_WINDOW_COUNT     0x044u /* RO valid window entries */
#define MVF_GP_REG_RESET            0x048u /* WO write MVF_GP_RESET_VALUE */
#define MVF_GP_REG_LIVE_MAPPINGS    0x04Cu /* RO ring mappings now */
#define MVF_GP_REG_MAPPED_LO        0x050u /* RO bytes ring-mapped now */
#define MVF_GP_REG_MAPPED_HI        0x054u
/* 0x058..0x3FF reserved: read 0, writes ignored. */

#define MVF_GP_RESET_VALUE 1u

/* PCI_ADDR: domain << 16 | bus << 8 | devfn (devfn = slot << 3 | fn). */
#define MVF_GP_PCI_ADDR(domain, bus, devfn) \
    (((uint32_t)(domain) << 16) | ((uint32_t)(bus) << 8) | (uint32_t)(devfn))

/* Window table: MVF_GP_MAX_WINDOWS entries of 32 bytes at 0x400, all
 * read-only.  Entries at or beyond WINDOW_COUNT read as zero. */
#define MVF_GP_WIN_BASE     0x400u
#define MVF_GP_WIN_STRIDE   32u
#define MVF_GP_WIN_GPA_LO   0x00u
#define MVF_GP_WIN_GPA_HI   0x04u
#define MVF_GP_WIN_SIZE_LO  0x08u
#define MVF_GP_WIN_SIZE_HI  0x0Cu
#define MVF_GP_WIN_IOVA_LO  0x10u
#define MVF_GP_WIN_IOVA_HI  0x14u
#define MVF_GP_WIN_FLAGS    0x18u /* MVF_GP_F_READ | MVF_GP_F_WRITE */
#define MVF_GP_WIN_REG(i, field) \
    (MVF_GP_WIN_BASE + (uint32_t)(i) * MVF_GP_WIN_STRIDE + (field))

/* Ring blocks: MVF_GP_MAX_RINGS blocks of 32 bytes at 0x800. */
#define MVF_GP_RING_BASE       0x800u
#define MVF_GP_RING_STRIDE     32u
#define MVF_GP_RING_ADDR_LO    0x00u /* RW GPA of entry 0 (32-byte aligned) */
#define MVF_GP_RING_ADDR_HI    0x04u /* RW */
#define MVF_GP_RING_SIZE       0x08u /* RW entries, 1..RING_MAX_ENTRIES */
#define MVF_GP_RING_CTRL       0x0Cu /* RW bit 0: enable */
#define MVF_GP_RING_DOORBELL   0x10u /* WO start | count << 16 */
#define MVF_GP_RING_STATUS     0x14u /* RO last ring-level result */
#define MVF_GP_RING_PROCESSED  0x18u /* RO entries done by the last doorbell */
#define MVF_GP_RING_REG(r, field) \
    (MVF_GP_RING_BASE + (uint32_t)(r) * MVF_GP_RING_STRIDE + (field))

#define MVF_GP_RING_CTRL_ENABLE (1u << 0)

#define MVF_GP_DOORBELL(start, count) \
    (((uint32_t)(start) & 0xffffu) | ((uint32_t)(count) << 16))

/* ---- ring entry (32 bytes, in guest RAM, little-endian) -------------- */
#define MVF_GP_OP_MAP   1u
#define MVF_GP_OP_UNMAP 2u

/* Directions the device may use (same values as MVF_DMA_READ/WRITE). */
#define MVF_GP_F_READ  (1u << 0) /* device reads memory: DMA_TO_DEVICE */
#define MVF_GP_F_WRITE (1u << 1) /* device writes memory: DMA_FROM_DEVICE */

/* A guest presets status to PENDING; the device only writes 0 or a
 * negative status, so PENDING after the doorbell means "not processed". */
#define MVF_GP_STATUS_PENDING 1

struct mvf_gp_entry {
    uint64_t gpa;    /* MAP: guest-physical start; UNMAP: ignored */
    uint64_t len;    /* bytes, a granule multiple */
    uint16_t op;     /* MVF_GP_OP_* */
    uint16_t flags;  /* MAP: MVF_GP_F_*; UNMAP: 0 */
    int32_t status;  /* written back: 0 or MVF_GP_E* */
    uint64_t iova;   /* MAP: written back; UNMAP: the IOVA to unmap */
};
#define MVF_GP_ENTRY_SIZE       32u
#define MVF_GP_ENTRY_OFF_STATUS 20u /* status and iova: the 12 bytes the */
#define MVF_GP_ENTRY_OFF_IOVA   24u /* device writes back */

/* Window table entry as a structure (the register block has this layout). */
struct mvf_gp_window {
    uint64_t gpa, size, iova;
    uint32_t flags;     /* MVF_GP_F_* */
    uint32_t reserved;  /* 0 */
};

/* Status codes written to entries and status registers.  They are the
 * Linux errno values whatever the host is (macOS numbers differ). */
#define MVF_GP_EPERM      (-1)
#define MVF_GP_ENOENT     (-2)
#define MVF_GP_EIO        (-5)
#define MVF_GP_ENXIO      (-6)
#define MVF_GP_E2BIG      (-7)
#define MVF_GP_ENOMEM     (-12)
#define MVF_GP_EFAULT     (-14)
#define MVF_GP_EBUSY      (-16)
#define MVF_GP_ENODEV     (-19)
#define MVF_GP_EINVAL     (-22)
#define MVF_GP_EMFILE     (-24)
#define MVF_GP_ENOSPC     (-28)
#define MVF_GP_ERANGE     (-34)
#define MVF_GP_ENODATA    (-61)
#define MVF_GP_EOVERFLOW  (-75)
#define MVF_GP_EOPNOTSUPP (-95)

#endif /* MACVFIO_GUEST_PROTO_H */

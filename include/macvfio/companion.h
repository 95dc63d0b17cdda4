/* SPDX-License-Identifier: MIT */
/*
 * The apple-dma-pci engine: the host side of the guest protocol
 * (<macvfio/guest_proto.h>, specified in docs/guest-protocol.md), which
 * QEMU's companion device wraps.  Part of libmacvfio; the code is in
 * companion/.
 *
 * Not thread-safe: the caller serializes every call on one device (QEMU:
 * the BQL).  The set-up functions return 0 or a negative host errno and
 * set mvf_last_error(); the MMIO functions return protocol statuses.
 * Callbacks may read registers and call mvf_gp_reset (deferred until the
 * doorbell ends); MMIO writes and RAM/window changes from inside a
 * callback are refused, and mvf_gp_destroy must not be called there.
 */
#ifndef MACVFIO_COMPANION_H
#define MACVFIO_COMPANION_H

#include <stdint.h>

#include "macvfio/abi.h"
#include "macvfio/guest_proto.h"

#ifdef __cplusplus
extern "C" {
#endif

struct mvf_gp_dev;

/*
 * Callbacks QEMU implements.  The batch calls have the contract of
 * mvf_dma_map_batch and mvf_dma_unmap_batch, so QEMU passes them
 * straight to its session: every entry gets its own status (res[i].status
 * or status[i]) whatever the call returns; the return value is 0 or the
 * error of the host call that failed.  The engine makes at most one
 * unmap_batch and then at most one map_batch per doorbell (a host that
 * answers with an IOVA the engine cannot use costs one more unmap_batch).
 * Mapping requests name the registration handle and offset of the guest
 * RAM range they lie in (struct mvf_gp_range); unmapping requests name an
 * IOVA and length map_batch returned.
 */
struct mvf_gp_ops {
    /* Copy guest RAM (as the companion's bus master sees it); refuse
     * anything that is not RAM with -EFAULT. */
    int (*read_guest)(void *ctx, uint64_t gpa, void *buf, uint64_t len);
    int (*write_guest)(void *ctx, uint64_t gpa, const void *buf, uint64_t len);
    int (*map_batch)(void *ctx, const struct mvf_dma_map_req *reqs,
                     struct mvf_dma_map_res *res, uint32_t n);
    int (*unmap_batch)(void *ctx, const struct mvf_dma_unmap_req *reqs,
                       int32_t *status, uint32_t n);
    /* Optional: the managed device's address as the guest sees it now
     * (MVF_GP_PCI_ADDR), since the guest numbers buses; NULL: the value
     * in the config is used. */
    uint32_t (*pci_addr)(void *ctx);
};

/* Guest may write STRATEGY (else it reads only). */
#define MVF_GP_CFG_GUEST_SELECT (1u << 0)

/*
 * budget and max_mappings are what the guest is told (BUDGET and
 * MAX_MAPPINGS): the host's ledger is the only one, and its refusals
 * (-ENOSPC, -EMFILE) reach the guest as entry statuses.  The engine's
 * own table holds at most MVF_GP_MAX_MAPPINGS mappings.
 */
struct mvf_gp_config {
    uint32_t pci_addr;      /* MVF_GP_PCI_ADDR of the managed device */
    uint32_t num_rings;     /* 0..MVF_GP_MAX_RINGS; 0: no on-demand/pool */
    uint64_t granule;       /* power of two, 4 KiB..1 GiB; 0: 16 KiB */
    uint64_t budget;        /* bytes the rings may map at once, >= granule */
    uint32_t max_mappings;  /* live ring mappings, 1..MVF_GP_MAX_MAPPINGS */
    uint32_t flags;         /* MVF_GP_CFG_* */
    uint64_t aperture_base, aperture_size; /* 0 size: unknown; else every
                                            * IOVA the host returns must
                                            * lie inside */
};
#define MVF_GP_MAX_MAPPINGS (1u << 20)
#define MVF_GP_MAX_RAM      64u

/* One guest RAM range and the host registration that holds it: guest
 * address gpa is offset handle_offset of registration handle. */
struct mvf_gp_range {
    uint64_t gpa, size;
    uint64_t handle, handle_offset;
};

struct mvf_gp_stats {
    uint64_t doorbells;      /* doorbell writes, accepted or not */
    uint64_t entries;        /* entries processed (results written) */
    uint64_t maps, unmaps;   /* successful ring maps and unmaps */
    uint64_t map_calls;      /* map_batch calls (host round trips) */
    uint64_t unmap_calls;    /* unmap_batch calls */
    uint64_t errors;         /* error entries, refused doorbells and ring
                              * setups, refused register accesses, host
                              * unmaps that failed where the engine had
                              * to let go */
    uint64_t resets;
    uint64_t live_mappings;  /* now */
    uint64_t mapped_bytes;   /* now */
};

int mvf_gp_create(const struct mvf_gp_config *cfg, const struct mvf_gp_ops *ops,
                  void *ctx, struct mvf_gp_dev **out);
/* Frees the device without calling any callback; call mvf_gp_reset
 * first to release the ring mappings through unmap_batch.  NULL is a
 * no-op. */
void mvf_gp_destroy(struct mvf_gp_dev *dev);

/*
 * Guest RAM (at most MVF_GP_MAX_RAM non-overlapping ranges).  Ring
 * mappings no longer inside a range of the same registration are
 * unmapped (in batches) before this returns, so the caller may then
 * unregister what it removed; rings outside RAM are disabled.  Until
 * it is called, every guest address is refused.
 */
int mvf_gp_set_ram(struct mvf_gp_dev *dev, const struct mvf_gp_range *ram,
                   uint32_t n);
/* The window table QEMU mapped (at most MVF_GP_MAX_WINDOWS entries, each
 * granule aligned).  The engine never maps or unmaps windows. */
int mvf_gp_set_windows(struct mvf_gp_dev *dev, const struct mvf_gp_window *w,
                       uint32_t n);
/* The strategy in force, restored on every reset; it must be one whose
 * feature is present (NONE always is). */
int mvf_gp_set_strategy(struct mvf_gp_dev *dev, uint32_t strategy);
uint32_t mvf_gp_get_strategy(const struct mvf_gp_dev *dev);

/* BAR0 accesses.  Only aligned 4-byte accesses below 4 KiB are valid;
 * others read 0 or are ignored.  Both return 0 or the negative MVF_GP_E*
 * status the access produced (what the guest sees in DEV_STATUS or
 * RING_STATUS), for QEMU to log as a guest error; never fatal.  A
 * doorbell write processes its whole batch before returning. */
int mvf_gp_mmio_read(struct mvf_gp_dev *dev, uint64_t off, unsigned size,
                     uint64_t *val);
int mvf_gp_mmio_write(struct mvf_gp_dev *dev, uint64_t off, unsigned size,
                      uint64_t val);

/* Device reset: unmaps every ring mapping (in batches), forgets the
 * rings, restores the strategy.  Windows stay. */
void mvf_gp_reset(struct mvf_gp_dev *dev);

void mvf_gp_get_stats(const struct mvf_gp_dev *dev, struct mvf_gp_stats *out);

#ifdef __cplusplus
}
#endif

#endif /* MACVFIO_COMPANION_H */

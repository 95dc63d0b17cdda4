/* SPDX-License-Identifier: MIT */
/* Structures shared by the core's source files; not a public header. */
#ifndef MACVFIO_CORE_INTERNAL_H
#define MACVFIO_CORE_INTERNAL_H

#include "core.h"
#include "config_policy.h"
#include "ratelimit.h"

/* Bounds on what one client may register (daemon address space). */
#define MVF_MAX_REGIONS          4096u
#define MVF_MAX_REGISTERED_BYTES (1ull << 40)  /* 1 TiB of client memory */

/* Client memory registered with DMA_REGISTER. */
struct mvf_dma_region {
    uint64_t handle;
    struct mvf_client_mem *mem;
    uint32_t live_maps;
    struct mvf_dma_region *next;
};

/* Cookie of one DART mapping. */
struct mvf_dma_map_rec {
    struct mvf_dma_region *region;
    uint64_t offset;   /* into the region */
    uint64_t length;   /* bytes the device may touch */
    uint32_t flags;    /* MVF_DMA_READ / MVF_DMA_WRITE */
    void *token;       /* the provider's, when its dma_map placed it */
};

/* Device log rate limit (see mvf_device_log): lines per interval of
 * each cause; without a host clock the interval is counted in device
 * messages instead. */
#define MVF_LOG_BURST           10u
#define MVF_LOG_INTERVAL_MS     5000u
#define MVF_LOG_INTERVAL_EVENTS 1000u
/* Causes tracked per device: far more than the code has log sites; any
 * beyond share the last slot. */
#define MVF_LOG_SLOTS           32u

struct mvf_log_slot {
    const char *cause;       /* NULL: free */
    enum mvf_log_level lvl;  /* of the last suppressed line */
    struct mvf_ratelimit rl;
};

struct mvf_irq_vector {
    struct mvf_notifier *notifier;
    bool masked;
    bool pending;
};

struct mvf_device {
    struct mvf_core *core;
    uint32_t index;
    struct mvf_provider prov;
    struct mvf_dart *dart;
    struct mvf_session *owner;
    struct mvf_cfg_policy policy;

    /* Interrupts: one type at a time, as on PCI. */
    uint32_t irq_type;             /* valid when irq_enabled */
    bool irq_enabled;
    bool irq_state_mode;           /* deliver via the state page */
    uint32_t irq_nvec;
    struct mvf_irq_vector *irq_vec;
    struct mvf_notifier *state_wake;
    struct mvf_irq_state *state_page;
    int state_obj;

    struct mvf_dma_region *regions;
    uint32_t region_count;
    uint64_t registered_bytes;
    uint64_t next_handle;

    bool work_pending;             /* run_work has more to do */
    /* The last owner's BAR mappings could not be revoked: no claim
     * succeeds until mvf_device_revoke() does. */
    bool revoke_pending;

    struct mvf_log_slot log_slots[MVF_LOG_SLOTS];

    struct mvf_stats stats;
};

struct mvf_core {
    const struct mvf_host_ops *hops;
    void *host;
    struct mvf_device **devs;
    uint32_t ndevs;
    uint32_t work_devs;            /* devices with work_pending set */
    uint64_t log_events;           /* device messages: the clock-less
                                    * rate limit's time */
};

struct mvf_session {
    struct mvf_core *core;
    void *client;             /* the transport's context (host ops) */
    struct mvf_device *dev;   /* opened device, or NULL */
    bool hello;
    uint64_t client_features;
    char last_err[MVF_ERRMSG_MAX];  /* LAST_ERROR's answer */
    /* Posted requests that failed since the last report (posted.c) and
     * the first one's text. */
    uint64_t posted_failed;
    char posted_err[MVF_ERRMSG_MAX];
};

/* The transport context of the device's owner (for host ops). */
static inline void *mvf_owner_client(const struct mvf_device *dev)
{
    return dev->owner ? dev->owner->client : NULL;
}

/* Formats a failure into call->err and returns err. */
int mvf_fail(struct mvf_call *call, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

void mvf_core_log(struct mvf_core *c, enum mvf_log_level lvl,
                  const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* "MMIO_WRITE" etc., or NULL for a selector that does not exist. */
const char *mvf_core_selector_name(uint32_t selector);

/* irq.c */
int mvf_irq_info_call(struct mvf_device *dev, struct mvf_call *call);
int mvf_irq_set_call(struct mvf_device *dev, struct mvf_call *call);
void mvf_irq_teardown(struct mvf_device *dev);
int mvf_irq_state_object(struct mvf_device *dev, struct mvf_call *call);
void mvf_irq_state_release(struct mvf_device *dev);

/* dma.c */
int mvf_dma_register_call(struct mvf_device *dev, struct mvf_call *call);
int mvf_dma_unregister_call(struct mvf_device *dev, struct mvf_call *call);
int mvf_dma_map_call(struct mvf_device *dev, struct mvf_call *call);
int mvf_dma_unmap_call(struct mvf_device *dev, struct mvf_call *call);
int mvf_dma_map_batch_call(struct mvf_device *dev, struct mvf_call *call);
int mvf_dma_unmap_batch_call(struct mvf_device *dev, struct mvf_call *call);
void mvf_dma_teardown(struct mvf_device *dev);

/* core.c */
void mvf_device_cleanup(struct mvf_device *dev);
/* Makes the last owner's BAR mappings stop reaching the device; on
 * failure the device stays held back (revoke_pending). */
int mvf_device_revoke(struct mvf_device *dev);

/* log.c: one summary line per cause that has suppressed lines
 * not yet reported (at release and destruction). */
void mvf_device_log_flush(struct mvf_device *dev);

#endif /* MACVFIO_CORE_INTERNAL_H */

/* SPDX-License-Identifier: MIT */
/*
 * Driver core: owns one physical (or simulated) PCI function per
 * mvf_device, serves the ABI of include/macvfio/abi.h to sessions, and
 * trusts neither.  It makes no OS calls: everything platform specific
 * goes through two tables,
 *
 *   - mvf_provider_ops: the device backend (config, BARs, reset,
 *     interrupt programming, optionally DMA mapping), and
 *   - mvf_host_ops: the transport host (turning fds or client virtual
 *     addresses into client memory and notifiers, logging).
 *
 * Threading contract: the core is not internally locked.  The host runs
 * every call into one mvf_core, and every callback into it from its
 * devices (interrupts, DMA, deferred work), on ONE serial context:
 * macvfiod runs a single event loop; the dext runs one IODispatchQueue
 * that is both its user clients' ExternalMethod queue and the queue of
 * every interrupt source.  Nothing may call into a core from two threads
 * at once, and no op may call back into the core it was called from
 * except through the device services below.
 */
#ifndef MACVFIO_CORE_CORE_H
#define MACVFIO_CORE_CORE_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "macvfio/abi.h"
#include "dart.h"

struct mvf_core;
struct mvf_device;
struct mvf_session;

/* ---- client memory ------------------------------------------------ */

/* Memory a client registered for DMA (socket: a sealed memfd mapped by
 * the daemon; IOKit: an IOMemoryDescriptor over the client's VA). */
struct mvf_client_mem {
    uint64_t length;
    /* Host pointer for [off, off+len), already bounds-checked by the
     * core; NULL if the memory cannot be touched from here. */
    void *(*host_ptr)(struct mvf_client_mem *m, uint64_t off, uint64_t len);
    void (*release)(struct mvf_client_mem *m);
    void *priv;
    /* The platform's handle of this memory, for a provider's dma_map
     * (macOS: the IOMemoryDescriptor over the client's range); NULL where
     * the core's DART model maps it. */
    void *platform;
};

/* Something that wakes the client (socket: an eventfd). */
struct mvf_notifier {
    void (*signal)(struct mvf_notifier *n);
    void (*release)(struct mvf_notifier *n);
    void *priv;
};

/* ---- host ops ------------------------------------------------------ */

enum mvf_log_level { MVF_LOG_ERROR, MVF_LOG_WARN, MVF_LOG_INFO, MVF_LOG_DEBUG };

struct mvf_host_ops {
    /* Builds client memory from a DMA_REGISTER call.  `client` is the
     * calling session's context (mvf_session_create_for).  With
     * MVF_DMA_REG_FD, `fd` is the attached transport object and `arg`
     * the offset into it; with MVF_DMA_REG_VA, fd is -1 and `arg` the
     * client's virtual address.  The core has checked that arg and
     * length are 4 KiB aligned and the length non-zero.  Writes a reason
     * to err on failure. */
    int (*mem_create)(void *host, void *client, int fd, uint64_t arg,
                      uint64_t length, uint32_t flags,
                      struct mvf_client_mem **out, char *err, size_t errlen);
    /* Builds a notifier from an object attached to the calling session's
     * IRQ_SET (socket: an eventfd; IOKit: the call's async completion). */
    int (*notifier_create)(void *host, void *client, int obj,
                           struct mvf_notifier **out);
    /* Shared memory the core writes and the client maps read-write
     * (the interrupt state page).  *obj is the transport object handed
     * out by MAP_MEMORY (an fd the host keeps owning). */
    int (*shared_create)(void *host, size_t size, void **ptr, int *obj);
    void (*shared_release)(void *host, void *ptr, size_t size, int obj);
    /* Duplicates a transport object for handing out (socket: dup()). */
    int (*obj_dup)(void *host, int obj);
    /* One finished line (no newline).  Must not block: the core calls
     * it from the event loop that serves every client. */
    void (*log)(void *host, enum mvf_log_level lvl, const char *msg);
    /* A monotonic clock in milliseconds, for rate-limiting device
     * messages.  May be NULL: the limit then counts messages instead. */
    uint64_t (*now_ms)(void *host);
    /* What only the transport decides, announced by HELLO next to the
     * core's own features: which of MVF_FEAT_IRQ_EVENTFD,
     * MVF_FEAT_IRQ_STATE_PAGE, MVF_FEAT_DMA_FD and MVF_FEAT_DMA_VA it
     * carries (other bits are ignored), and the largest structure it
     * carries either way (0: MVF_MAX_STRUCT; IOKit: 4096 in band). */
    uint64_t transport_features;
    uint32_t max_struct;
};

/* ---- provider ops -------------------------------------------------- */

struct mvf_bar_desc {
    uint64_t size;   /* 0: not implemented */
    uint32_t flags;  /* MVF_BAR_* */
};

/* Every op returns 0 or a negative errno.  The core has already checked
 * bounds, width and alignment before calling. */
struct mvf_provider_ops {
    /* Called once when the core adopts the provider: the handle the
     * device side passes to mvf_device_irq_raise() and the DMA calls. */
    void (*attach)(void *p, struct mvf_device *dev);
    int (*config_read)(void *p, uint32_t off, uint32_t width, uint32_t *val);
    int (*config_write)(void *p, uint32_t off, uint32_t width, uint32_t val);
    int (*bar_read)(void *p, uint32_t bar, uint64_t off, uint32_t width,
                    uint64_t *val);
    int (*bar_write)(void *p, uint32_t bar, uint64_t off, uint32_t width,
                     uint64_t val);
    /* Transport object (fd) for mapping the BAR; the core dups it for
     * each MAP_MEMORY.  NULL or -ENOTSUP: trap only. */
    int (*bar_object)(void *p, uint32_t bar, int *obj);
    /* Function reset: registers and internal state back to power-on. */
    int (*reset)(void *p);
    /* The owner is changing: every mapping a client made of a
     * bar_object must stop reaching the device (socket: swap in fresh
     * backing memory; IOKit revokes a closed user client's mappings
     * itself).  Required if bar_object is provided. */
    int (*revoke_mappings)(void *p);
    /* Tells the device which interrupt type the client enabled, so it
     * raises that kind (nvec 0: disabled).  May be NULL. */
    int (*irq_configure)(void *p, uint32_t type, uint32_t nvec);
    /* Deferred work, such as the commands a doorbell queued: runs one
     * bounded slice of it and returns true while more remains.  The
     * host's event loop calls it between client calls (after the device
     * said mvf_device_work_pending()), so one device's load delays other
     * clients by at most a slice.  A slice should cost a few milliseconds
     * at most, and always make progress (sim:nvme: MVF_NVME_SLICE_*).
     * A reset must drop pending work, or leave it for a slice to find
     * nothing to do: the host may call run_work once more afterwards.
     * May be NULL. */
    bool (*run_work)(void *p);
    /* Platform DMA mapping (macOS: one IODMACommand per mapping and
     * PrepareForDMA), both or neither.  Without them the core's DART
     * model assigns IOVAs (macvfiod's simulated devices).  With them the
     * platform does, and a bad request may panic the host, so the core
     * checks everything it can first: the region's bounds, granule
     * alignment, the direction flags, the byte budget and the mapping
     * cap.  Only then dma_map is asked for [off, off+len) of `mem`
     * (mem->platform is the host's handle) for `dirs` (MVF_DMA_READ |
     * MVF_DMA_WRITE), and must return ONE contiguous IOVA range of len
     * bytes at *iova, granule aligned, and its own handle in *token.  The
     * core refuses (and unmaps) a range that is unaligned or overlaps a
     * live mapping.  dma_unmap(token) is called on DMA_UNMAP and on every
     * clean-up path (release, session end, device removal). */
    int (*dma_map)(void *p, struct mvf_client_mem *mem, uint64_t off,
                   uint64_t len, uint32_t dirs, uint64_t *iova, void **token,
                   char *err, size_t errlen);
    void (*dma_unmap)(void *p, void *token);
    void (*destroy)(void *p);
};

struct mvf_provider {
    const struct mvf_provider_ops *ops;
    void *priv;
    const char *name;                          /* "sim:dmatest" */
    uint16_t domain;
    uint8_t bus, devfn;
    struct mvf_bar_desc bars[MVF_NUM_BARS + 1]; /* + ROM */
    uint32_t irq_count[MVF_IRQ_NTYPES];        /* vectors per type */
    /* Extra config-write policy: bytes a provider lets through beyond
     * the generic policy (NULL: none). */
    const uint8_t *extra_write_mask;           /* MVF_CONFIG_SPACE bytes */
};

/* ---- services the core gives providers (device side) --------------- */

/* Raises vector `vec` of the enabled type: signals the client, or marks
 * it pending while masked.  Out-of-range vectors are counted, ignored. */
void mvf_device_irq_raise(struct mvf_device *dev, uint32_t type, uint32_t vec);

/* Device DMA through the DART: copies between an IOVA range and a
 * buffer in the device.  Every byte must be covered by live mappings
 * that permit the direction; otherwise nothing is copied, a DMA fault
 * is counted and logged, *fault_iova (if not NULL) gets the first bad
 * IOVA, and -EFAULT is returned. */
int mvf_device_dma_read(struct mvf_device *dev, uint64_t iova, void *dst,
                        size_t len, uint64_t *fault_iova);
int mvf_device_dma_write(struct mvf_device *dev, uint64_t iova,
                         const void *src, size_t len, uint64_t *fault_iova);

/* A piece of client memory, as the host maps it. */
struct mvf_dma_span {
    void *host;
    size_t len;
};

/* Spans of one or more transfers: `n` of `max` entries in use. */
struct mvf_dma_spans {
    struct mvf_dma_span *span;
    unsigned n, max;
};

/* The same checks as mvf_device_dma_read (to_device) or _write, but
 * instead of copying, appends the host memory behind [iova, iova+len) to
 * `out`, so a device can move data with one copy (a backing file's
 * preadv straight into guest memory) instead of two.  A span continuing
 * the last one is merged with it.  A fault is counted and logged as with
 * a copy and returns -EFAULT; more pieces than `out` has room for return
 * -E2BIG (not a fault: copy instead).  On any error `out` is unchanged.
 * The spans stay valid until the provider's op returns to the core: no
 * mapping can be removed before. */
int mvf_device_dma_spans(struct mvf_device *dev, uint64_t iova, size_t len,
                         bool to_device, struct mvf_dma_spans *out,
                         uint64_t *fault_iova);

/* The device has deferred work: the host will call its run_work op. */
void mvf_device_work_pending(struct mvf_device *dev);

/* True while the device's bus-master enable bit is set by the client. */
bool mvf_device_bus_master(const struct mvf_device *dev);

/*
 * Logs one line about the device, prefixed with its address and name.
 * Rate-limited per device and per cause, the cause being the message's
 * format string (its call site): at most MVF_LOG_BURST lines per
 * MVF_LOG_INTERVAL_MS of each cause, so a guest that makes a device
 * fault 20,000 times yields a handful of lines, and one cause's flood
 * cannot hide another's.  The next line let through, or the device's
 * release, reports how many were suppressed.
 */
void mvf_device_log(struct mvf_device *dev, enum mvf_log_level lvl,
                    const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The same with the cause named apart from the format: for wrappers
 * that format a message themselves and pass their caller's format.
 * Causes are told apart by address, and kept: use string literals. */
void mvf_device_log_cause(struct mvf_device *dev, const char *cause,
                          enum mvf_log_level lvl, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* ---- core API (host side) ------------------------------------------ */

struct mvf_core *mvf_core_create(const struct mvf_host_ops *hops, void *host);
/* Takes ownership of the provider (destroyed with the core). */
int mvf_core_add_device(struct mvf_core *c, const struct mvf_provider *p,
                        const struct mvf_dart_config *dart,
                        struct mvf_device **out);
void mvf_core_destroy(struct mvf_core *c);
uint32_t mvf_core_device_count(const struct mvf_core *c);
struct mvf_device *mvf_core_device(struct mvf_core *c, uint32_t index);

/* Runs one slice of deferred work on each device that has some, in
 * device order; returns true while any device still has work pending
 * (the host's loop then polls its clients without sleeping). */
bool mvf_core_run_work(struct mvf_core *c);
bool mvf_core_has_work(const struct mvf_core *c);

struct mvf_session *mvf_session_create(struct mvf_core *c);
/* The same with the transport's context for this client, handed to the
 * host ops that build client objects (the dext: its user client). */
struct mvf_session *mvf_session_create_for(struct mvf_core *c, void *client);
/* True once the session's HELLO succeeded. */
bool mvf_session_ready(const struct mvf_session *s);
/* The client went away: full cleanup (bus master off, IRQs off, every
 * mapping and registration released, function reset). */
void mvf_session_destroy(struct mvf_session *s);

/* One ABI call, transport neutral. */
struct mvf_call {
    uint32_t selector;
    const uint64_t *in;          /* scalar inputs */
    uint32_t n_in;
    const void *struct_in;
    uint32_t struct_in_len;
    const int *objs_in;          /* attached transport objects (fds) */
    uint32_t n_objs_in;          /* the transport keeps owning them */

    uint64_t out[MVF_MAX_SCALARS];
    uint32_t n_out;
    void *struct_out;            /* buffer from the transport */
    uint32_t struct_out_cap;
    uint32_t struct_out_len;
    int obj_out;                 /* -1, or an object the transport sends
                                  * and then closes */
    char err[MVF_ERRMSG_MAX];    /* reason, when the call fails */
};

/* Initialises the output side of a call. */
void mvf_call_init(struct mvf_call *call);

/* Runs the call; returns 0 or a negative errno (also left in err). */
int mvf_dispatch(struct mvf_session *s, struct mvf_call *call);

/*
 * Posted requests (abi.h, "Posted requests"; core/posted.c).
 * mvf_dispatch_posted runs a request that gets no reply, seq being its
 * frame's sequence number: only MMIO_WRITE, and only where the host
 * announces MVF_FEAT_POSTED_WRITE; a failure is latched on the session.
 * mvf_posted_refuse latches a posted request the transport could not
 * even parse.  Both count in the open device's stats.
 * mvf_session_take_posted: when a failure is latched, writes the report
 * into msg, clears the latch and returns -EIO; else returns 0.  The
 * transport calls it before each request that is not posted and, on
 * -EIO, answers with the report instead of running the request.
 */
int mvf_dispatch_posted(struct mvf_session *s, uint32_t seq,
                        struct mvf_call *call);
void mvf_posted_refuse(struct mvf_session *s, uint32_t seq, uint32_t selector,
                       int status, const char *why);
int mvf_session_take_posted(struct mvf_session *s, char *msg, size_t len);

/* The MVF_FEAT_* bits HELLO announces (the core's own and the host's
 * transport features) and its max_struct. */
uint64_t mvf_core_features(const struct mvf_core *c);
uint32_t mvf_core_max_struct(const struct mvf_core *c);

/* Stats of a device (the STATS call's data). */
void mvf_device_stats(const struct mvf_device *dev, struct mvf_stats *st);

#endif /* MACVFIO_CORE_CORE_H */

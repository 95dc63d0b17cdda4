/* SPDX-License-Identifier: MIT */
/*
 * macvfio ABI: the calls a client (a VMM) makes to the driver core.
 *
 * The shape follows IOUserClient external methods: every call is a
 * selector with up to MVF_MAX_SCALARS 64-bit scalar inputs, an optional
 * structure input, and returns a status, scalar outputs and an optional
 * structure output.  The socket transport frames exactly these calls
 * (see "Wire format" below); the IOKit transport maps them 1:1 onto
 * IOConnectCallMethod().  One dispatcher in core/ serves both.
 *
 * Everything here is fixed-width and little-endian on the wire.  The
 * version is negotiated by MVF_SEL_HELLO, which must be the first call;
 * the server answers with the feature bits it supports, and a client
 * must not use a call whose feature bit is clear.
 *
 * docs/abi.md is the prose version of this file.
 */
#ifndef MACVFIO_ABI_H
#define MACVFIO_ABI_H

#include <stdint.h>

#define MVF_ABI_VERSION_MAJOR 1
#define MVF_ABI_VERSION_MINOR 2
#define MVF_ABI_VERSION ((MVF_ABI_VERSION_MAJOR << 16) | MVF_ABI_VERSION_MINOR)

/* Feature bits returned by HELLO (scalar out 1). */
#define MVF_FEAT_CONFIG          (1ull << 0) /* config read/write */
#define MVF_FEAT_MMIO_TRAP       (1ull << 1) /* MMIO_READ/WRITE */
#define MVF_FEAT_MAP_MEMORY      (1ull << 2) /* MAP_MEMORY of BARs */
#define MVF_FEAT_IRQ_EVENTFD     (1ull << 3) /* per-vector eventfds */
#define MVF_FEAT_IRQ_STATE_PAGE  (1ull << 4) /* state page + one wake fd */
#define MVF_FEAT_RESET           (1ull << 5)
#define MVF_FEAT_DMA_FD          (1ull << 6) /* DMA_REGISTER with memfd */
#define MVF_FEAT_DMA_VA          (1ull << 7) /* DMA_REGISTER with client VA (IOKit) */
#define MVF_FEAT_DMA_BATCH       (1ull << 8) /* DMA_MAP_BATCH / DMA_UNMAP_BATCH */
#define MVF_FEAT_STATS           (1ull << 9)
#define MVF_FEAT_LAST_ERROR      (1ull << 10) /* LAST_ERROR (ABI 1.1) */
#define MVF_FEAT_POSTED_WRITE    (1ull << 11) /* socket: MMIO_WRITE may be
                                               * posted (ABI 1.2; see
                                               * "Posted requests" below) */

/* Selectors. Numbers are ABI: never renumber, only append. */
enum mvf_selector {
    MVF_SEL_HELLO = 0,        /* in: [client_version, client_features]
                               * out: [server_version, features,
                               *       max_struct, device_count] */
    MVF_SEL_DEVICE_LIST = 1,  /* out: [device_count]
                               * out struct: mvf_device_info[device_count] */
    MVF_SEL_DEVICE_OPEN = 2,  /* in: [index]  binds this session to a device */
    MVF_SEL_DEVICE_INFO = 3,  /* out struct: mvf_device_info */
    MVF_SEL_CLAIM = 4,        /* exclusive ownership; -EBUSY if taken */
    MVF_SEL_RELEASE = 5,      /* give ownership back (full cleanup) */
    MVF_SEL_CONFIG_READ = 6,  /* in: [offset, width] out: [value] */
    MVF_SEL_CONFIG_WRITE = 7, /* in: [offset, width, value] */
    MVF_SEL_BAR_INFO = 8,     /* in: [bar] out: [size, flags] */
    MVF_SEL_MMIO_READ = 9,    /* in: [bar, offset, width] out: [value] */
    MVF_SEL_MMIO_WRITE = 10,  /* in: [bar, offset, width, value] */
    MVF_SEL_MAP_MEMORY = 11,  /* in: [memory_type] out: [size, flags]
                               * socket: one fd (mmap it MAP_SHARED) */
    MVF_SEL_IRQ_INFO = 12,    /* in: [irq_type] out: [count, flags] */
    MVF_SEL_IRQ_SET = 13,     /* in: [irq_type, action, start, count, fd_mask]
                               * socket: popcount(fd_mask) eventfds */
    MVF_SEL_RESET = 14,       /* function reset */
    MVF_SEL_DMA_REGISTER = 15, /* in: [length, fd_offset_or_va, flags]
                                * socket: one memfd; out: [handle] */
    MVF_SEL_DMA_UNREGISTER = 16, /* in: [handle] */
    MVF_SEL_DMA_MAP = 17,     /* in: [handle, offset, length, flags] out: [iova] */
    MVF_SEL_DMA_UNMAP = 18,   /* in: [iova, length] */
    MVF_SEL_STATS = 19,       /* out struct: mvf_stats */
    MVF_SEL_DMA_MAP_BATCH = 20,   /* in struct: mvf_dma_map_req[n]
                                   * out: [entries that succeeded]
                                   * out struct: mvf_dma_map_res[n]; the call
                                   * succeeds, each entry has its status */
    MVF_SEL_DMA_UNMAP_BATCH = 21, /* in struct: mvf_dma_unmap_req[n]
                                   * out: [entries that succeeded]
                                   * out struct: int32_t status[n] */
    MVF_SEL_LAST_ERROR = 22,  /* ABI 1.1: out struct: this session's last
                               * failure's text, NUL-terminated ("" if
                               * none); for transports whose failed calls
                               * carry no outputs (IOKit) */
    MVF_SEL_COUNT
};

/* Limits every implementation enforces. */
#define MVF_MAX_SCALARS    16
#define MVF_MAX_STRUCT     65536   /* bytes, either direction */
#define MVF_MAX_FDS        64      /* fds attached to one call */
#define MVF_MAX_BATCH      1024    /* entries in one batch call */
#define MVF_ERRMSG_MAX     256     /* error text returned with a failure */
#define MVF_CONFIG_SPACE   4096    /* PCIe extended config space */
#define MVF_NUM_BARS       6
#define MVF_ROM_INDEX      6       /* BAR_INFO/MMIO_READ index of the ROM
                                    * (read-only, never mapped) */

/* Memory types for MAP_MEMORY. */
#define MVF_MEM_BAR(n)       ((uint64_t)(n))   /* 0..5 */
#define MVF_MEM_IRQ_STATE    0x100u            /* struct mvf_irq_state page */

/* BAR_INFO / MAP_MEMORY flags. */
#define MVF_BAR_IO           (1u << 0) /* I/O space (else memory) */
#define MVF_BAR_64BIT        (1u << 1)
#define MVF_BAR_PREFETCH     (1u << 2)
#define MVF_BAR_MAPPABLE     (1u << 3) /* MAP_MEMORY works; else trap only */
#define MVF_BAR_MSIX         (1u << 4) /* holds MSI-X table or PBA */
#define MVF_BAR_IMPLEMENTED  (1u << 5) /* size > 0 */

/* IRQ types (same numbering as VFIO_PCI_*_IRQ_INDEX). */
#define MVF_IRQ_INTX 0u
#define MVF_IRQ_MSI  1u
#define MVF_IRQ_MSIX 2u
#define MVF_IRQ_NTYPES 3u

/* IRQ_SET actions. */
#define MVF_IRQ_ACT_TRIGGER  0u /* bind fds (fd_mask bits) / unbind (clear) */
#define MVF_IRQ_ACT_DISABLE  1u /* disable the whole type (start, count
                                 * ignored); a no-op if it is not enabled */
#define MVF_IRQ_ACT_MASK     2u /* mask vectors [start, start+count) */
#define MVF_IRQ_ACT_UNMASK   3u /* unmask; a pending vector fires now */
#define MVF_IRQ_ACT_STATE    4u /* deliver via the state page; fd_mask 1:
                                 * one wake fd attached, 0: none (polling) */
#define MVF_IRQ_SET_MAX      64u /* vectors in one TRIGGER call (fd_mask width) */

/* IRQ_INFO flags. */
#define MVF_IRQ_INFO_MASKABLE (1u << 0)

/* DMA_REGISTER flags. */
#define MVF_DMA_REG_FD  (1u << 0) /* socket: memfd attached, scalar 1 = fd offset */
#define MVF_DMA_REG_VA  (1u << 1) /* IOKit: scalar 1 = client virtual address */

/* DMA_MAP flags: the directions the device may use. */
#define MVF_DMA_READ  (1u << 0) /* device reads memory (to device) */
#define MVF_DMA_WRITE (1u << 1) /* device writes memory (from device) */

/* Default DART model parameters (DESIGN.md section 3). */
#define MVF_DART_GRANULE        16384ull
#define MVF_DART_DEFAULT_BUDGET (1536ull << 20)   /* 1.5 GiB mapped */
#define MVF_DART_DEFAULT_MAXMAP 65536u            /* live mappings */
#define MVF_DART_DEFAULT_BASE   0xF000000000ull   /* 960 GiB: no plausible GPA */
#define MVF_DART_DEFAULT_SIZE   (64ull << 30)     /* aperture size */

/* Identity of one device: DEVICE_LIST entries and DEVICE_INFO. */
struct mvf_device_info {
    uint32_t index;          /* position in DEVICE_LIST */
    uint16_t domain;
    uint8_t bus, devfn;      /* devfn = slot << 3 | function */
    uint16_t vendor_id, device_id;
    uint16_t subsys_vendor_id, subsys_id;
    uint32_t class_code;     /* 24-bit base/sub/prog-if */
    uint8_t revision;
    uint8_t header_type;
    uint8_t irq_pin;         /* 0 none, 1 INTA# .. 4 INTD# */
    uint8_t claimed;         /* 1: some session owns it */
    uint64_t dma_granule;    /* bytes */
    uint64_t dma_budget;     /* bytes that may be mapped at once */
    uint32_t dma_max_mappings;
    uint32_t reserved0;
    uint64_t dma_aperture_base, dma_aperture_size;
    char name[32];           /* provider name, e.g. "sim:dmatest" */
};

/* STATS output. Counters are per device since the daemon started,
 * except the three "live" values. */
struct mvf_stats {
    uint64_t mapped_bytes;      /* live */
    uint64_t live_mappings;     /* live */
    uint64_t dma_maps, dma_unmaps, dma_faults;
    uint64_t irqs_delivered;    /* signalled to the client */
    uint64_t irqs_masked;       /* raised while masked (pending) */
    uint64_t trapped_reads, trapped_writes;
    uint64_t config_reads, config_writes, config_writes_dropped;
    uint64_t resets;
    uint64_t registered_bytes;  /* live client memory registered */
    /* ABI 1.2 (appended: a client that offers the 1.1 size gets the
     * fields above and nothing else). */
    uint64_t posted_writes;     /* posted requests received */
    uint64_t posted_errors;     /* posted requests that failed */
};
/* The STATS size before ABI 1.2. */
#define MVF_STATS_SIZE_1_1 112u

/* DMA_MAP_BATCH entries. */
struct mvf_dma_map_req {
    uint64_t handle, offset, length;
    uint32_t flags, reserved;
};
struct mvf_dma_map_res {
    uint64_t iova;
    int32_t status; /* 0 or negative errno */
    uint32_t reserved;
};
struct mvf_dma_unmap_req {
    uint64_t iova, length;
};

/* The interrupt state page (MVF_MEM_IRQ_STATE, MVF_IRQ_ACT_STATE).
 * The device side sets a bit in pending[] and bumps seq, then wakes the
 * client once; the client clears bits with atomic and-not, so no
 * synchronous "read pending" call exists. */
#define MVF_IRQ_STATE_VECTORS 2048u
struct mvf_irq_state {
    uint64_t seq;                                  /* bumped per raise */
    uint64_t pending[MVF_IRQ_STATE_VECTORS / 64];  /* bit per vector */
};

/*
 * Wire format (socket transport, AF_UNIX SOCK_SEQPACKET: one message is
 * one frame, so a frame can never be split or merged).
 *
 * request: mvf_wire_req, then n_scalars uint64_t, then struct_len bytes.
 * reply:   mvf_wire_rep, then n_scalars uint64_t, then struct_len bytes;
 *          when status < 0 there are no scalars and the struct bytes are
 *          a NUL-terminated message of at most MVF_ERRMSG_MAX bytes (sent
 *          whatever max_struct_out was).
 * IRQ_SET's eventfds are attached in ascending order of their fd_mask
 * bits.  A feature bit the server did not announce means the call fails
 * (-ENOTSUP or -ENOSYS); clients should not rely on that and check bits.
 * File descriptors ride in SCM_RIGHTS on the same message.
 *
 * Posted requests (ABI 1.2, only where HELLO announced
 * MVF_FEAT_POSTED_WRITE, i.e. macvfiod's socket): a request whose selector
 * word has MVF_WIRE_SEL_POSTED set gets no reply.  Only MMIO_WRITE may be
 * posted (PCIe writes are posted too).  The server runs it in order with
 * every other request of the connection, so a later request, posted or
 * not, sees its effect.  If it fails, whatever the reason (a malformed
 * frame whose header is intact, a selector that may not be posted, any
 * error of the write itself), the failure is latched on the connection:
 * the first one's text is kept, later ones are counted, all are counted in
 * STATS (posted_errors).  The next request that is not posted is then NOT
 * executed: its reply has status -EIO, MVF_WIRE_REP_POSTED_ERROR in flags,
 * and the message "posted MMIO_WRITE (seq S) of BAR B at 0xO failed:
 * <errno> <reason>", plus "(and N more)" when more failed.  That clears the
 * latch: each failure is reported once.  Sending that request again runs it.
 */
#define MVF_WIRE_MAGIC_REQ 0x4D564651u /* "MVFQ" */
#define MVF_WIRE_MAGIC_REP 0x4D564652u /* "MVFR" */
/* In mvf_wire_req.selector: posted, send no reply (see above). */
#define MVF_WIRE_SEL_POSTED 0x80000000u
/* In mvf_wire_rep.flags: this reply reports a latched posted failure; the
 * request it answers was not executed. */
#define MVF_WIRE_REP_POSTED_ERROR (1u << 0)
struct mvf_wire_req {
    uint32_t magic;
    uint32_t seq;            /* echoed in the reply */
    uint32_t selector;       /* enum mvf_selector | MVF_WIRE_SEL_POSTED */
    uint16_t n_scalars;      /* <= MVF_MAX_SCALARS */
    uint16_t n_fds;          /* fds the sender attached */
    uint32_t struct_len;     /* <= MVF_MAX_STRUCT */
    uint32_t max_struct_out; /* largest struct output the client accepts */
};

struct mvf_wire_rep {
    uint32_t magic;
    uint32_t seq;
    int32_t status;          /* 0 or negative errno */
    uint16_t n_scalars;
    uint16_t n_fds;
    uint32_t struct_len;
    uint32_t flags;          /* MVF_WIRE_REP_* (before ABI 1.2: reserved, 0) */
};

/* The largest valid frame in either direction: the larger header, every
 * scalar and the largest structure.  Every buffer that holds a frame is
 * sized from this one constant. */
#define MVF_WIRE_HEADER_MAX                                              \
    (sizeof(struct mvf_wire_req) > sizeof(struct mvf_wire_rep) ?         \
     sizeof(struct mvf_wire_req) : sizeof(struct mvf_wire_rep))
#define MVF_WIRE_MAX_FRAME                                               \
    (MVF_WIRE_HEADER_MAX + 8u * MVF_MAX_SCALARS + MVF_MAX_STRUCT)
#ifdef __cplusplus
#define MVF_ABI_STATIC_ASSERT static_assert
#else
#define MVF_ABI_STATIC_ASSERT _Static_assert
#endif
MVF_ABI_STATIC_ASSERT(sizeof(struct mvf_wire_req) <= MVF_WIRE_HEADER_MAX &&
                      sizeof(struct mvf_wire_rep) <= MVF_WIRE_HEADER_MAX &&
                      MVF_WIRE_MAX_FRAME <= UINT32_MAX,
                      "both frame headers fit MVF_WIRE_MAX_FRAME");

#endif /* MACVFIO_ABI_H */

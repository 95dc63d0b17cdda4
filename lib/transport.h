/* SPDX-License-Identifier: MIT */
/*
 * Transport seam between the client API (macvfio.c) and a way of
 * reaching the driver core: a UNIX socket to macvfiod
 * (transport_socket.c) or, on Darwin, an IOKit user client.
 *
 * A transport carries one ABI call at a time (the handle's lock
 * serialises them) and maps the server's memory types, which on IOKit
 * is IOConnectMapMemory64 rather than a call returning an fd.
 */
#ifndef MACVFIO_LIB_TRANSPORT_H
#define MACVFIO_LIB_TRANSPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "macvfio/abi.h"

/* One ABI call: what to send, what the caller accepts back, and what
 * came back.  Initialise with mvfl_xfer_init(). */
struct mvf_xfer {
    /* request */
    uint32_t selector;
    const uint64_t *in;
    uint32_t n_in;
    const void *struct_in;
    uint32_t struct_in_len;
    const int *fds_in;           /* the caller keeps owning them */
    uint32_t n_fds_in;
    bool posted;                 /* sent with MVF_WIRE_SEL_POSTED (post op) */

    /* what a successful reply must carry */
    uint32_t n_out_min;          /* scalar outputs the call needs */
    void *struct_out;            /* struct_out_cap bytes, or NULL */
    uint32_t struct_out_cap;     /* sent as max_struct_out */
    uint32_t n_fds_expect;       /* exact fds on success */

    /* reply */
    int32_t status;              /* server status (0 or -errno) */
    uint64_t out[MVF_MAX_SCALARS];
    uint32_t n_out;
    uint32_t struct_out_len;
    int fds_out[MVF_MAX_FDS];    /* the caller owns them on success */
    uint32_t n_fds_out;
    bool bad_reply;              /* the reply broke the protocol */
    bool posted_error;           /* the reply reports an earlier posted
                                  * request's failure; this call was not
                                  * carried out (MVF_WIRE_REP_POSTED_ERROR) */
    char err[MVF_ERRMSG_MAX];    /* why, when the call failed */
};

void mvfl_xfer_init(struct mvf_xfer *x, uint32_t selector);

struct mvf_transport;

/* Interrupt delivery a transport performs itself (IOKit: the dext only
 * has the state page and one completion per batch of raises, so the
 * transport turns completions into writes on the client's fds). */
struct mvfl_irq_req {
    uint32_t type;               /* MVF_IRQ_* */
    bool per_vector;             /* fds for [start, start+count), else wake */
    uint32_t start, count;
    const int *fds;              /* per_vector: -1 unbinds, NULL all */
    int wake_fd;                 /* !per_vector: signalled per completion,
                                  * -1: none (the client polls the page) */
};

struct mvf_transport_ops {
    /* Sends x and waits for its reply.  Returns x->status, or a local
     * negative errno (x->err says why; x->bad_reply when the server
     * broke the protocol, after which the transport refuses calls;
     * -ETIMEDOUT when timeout_ms ran out, likewise final). */
    int (*call)(struct mvf_transport *t, struct mvf_xfer *x);
    /* Optional (the socket; where HELLO announced MVF_FEAT_POSTED_WRITE):
     * sends x as a posted request and returns once it is sent, bounded
     * by timeout_ms like call; no reply comes.  A failure of it comes
     * back on a later call's reply (x->posted_error).  Returns 0 or a
     * local negative errno. */
    int (*post)(struct mvf_transport *t, struct mvf_xfer *x);
    /* Performs the MAP_MEMORY call prepared in x and maps the result
     * read-write, never executable: *ptr, size in x->out[0], flags in
     * x->out[1]. Same return convention as call. */
    int (*map_memory)(struct mvf_transport *t, struct mvf_xfer *x, void **ptr);
    int (*unmap_memory)(struct mvf_transport *t, void *ptr, uint64_t size);
    void (*close)(struct mvf_transport *t);
    /* Optional: an fd that is readable or hung up once the session is
     * over, for the caller to poll (never to read); -ENOTSUP if none. */
    int (*poll_fd)(struct mvf_transport *t);
    /* Optional: interrupts delivered by the transport (IOKit).  With it,
     * mvf_irq_set_eventfds and mvf_irq_set_state_page come here instead
     * of sending IRQ_SET with fds, and HELLO adds MVF_FEAT_IRQ_EVENTFD
     * when the server has MVF_FEAT_IRQ_STATE_PAGE.  Same return
     * convention as call. */
    int (*irq_notify)(struct mvf_transport *t, struct mvf_xfer *x,
                      const struct mvfl_irq_req *req);
    /* Optional: the cache mode of prefetchable BARs mapped from now on
     * (MVF_BAR_CACHE_*); -ENOTSUP where mappings have no such choice. */
    int (*set_bar_cache)(struct mvf_transport *t, uint32_t mode);
};

struct mvf_transport {
    const struct mvf_transport_ops *ops;
    uint64_t features;           /* MVF_FEAT_* this transport can carry */
    uint32_t max_struct;         /* largest structure it carries; 0: any
                                  * up to MVF_MAX_STRUCT */
    /* How long one call (send and reply) may take, in ms; 0: forever.
     * Set under the handle's lock.  A call that runs out of it fails with
     * -ETIMEDOUT and the transport refuses every later call: a late reply
     * would otherwise be taken for the next call's. */
    uint32_t timeout_ms;
};

/* Connects to macvfiod at path. On failure err holds the reason.  Linux
 * only (macOS's AF_UNIX has no SOCK_SEQPACKET): -EPROTONOSUPPORT there. */
int mvfl_transport_socket_open(const char *path, struct mvf_transport **out,
                               char *err, size_t errlen);

/* Opens the dext's user client for the device at bdf ("BB:DD.F" or
 * "DDDD:BB:DD.F"; NULL: the only one there is).  Darwin (or a build with
 * MVF_WITH_IOKIT and a test double of IOKitLib) only. */
int mvfl_transport_iokit_open(const char *bdf, struct mvf_transport **out,
                              char *err, size_t errlen);

#endif /* MACVFIO_LIB_TRANSPORT_H */

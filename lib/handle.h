/* SPDX-License-Identifier: MIT */
/* The client handle and the call helpers the API files share. */
#ifndef MACVFIO_LIB_HANDLE_H
#define MACVFIO_LIB_HANDLE_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "error.h"
#include "macvfio/macvfio.h"
#include "transport.h"

struct mvf_handle {
    pthread_mutex_t lock;          /* one request/reply at a time */
    struct mvf_transport *t;
    bool broken;                   /* a reply broke the protocol */
    bool posted_pending;           /* posted since the last reply */
    uint32_t server_version;
    uint64_t features;             /* MVF_FEAT_* both ends support */
    uint32_t max_struct;           /* min(server's, MVF_MAX_STRUCT) */
    uint32_t device_count;
};

/* Runs one call under the handle's lock.  On failure records
 * "<SELECTOR>: <reason>" as the thread's error and returns it. */
int mvfl_call(struct mvf_handle *h, struct mvf_xfer *x);

/* Posts x (no reply) where the server announced MVF_FEAT_POSTED_WRITE
 * and the transport can post; otherwise the same as mvfl_call.  A failure
 * of a posted request is reported by a later call (abi.h, "Posted
 * requests"). */
int mvfl_call_posted(struct mvf_handle *h, struct mvf_xfer *x);

/* MAP_MEMORY through the transport's map op: *ptr on success. */
int mvfl_call_map(struct mvf_handle *h, struct mvf_xfer *x, void **ptr);

/* Interrupt delivery through the transport's irq_notify op (IOKit),
 * under the handle's lock; errors recorded as mvfl_call does. */
int mvfl_call_irq(struct mvf_handle *h, const struct mvfl_irq_req *req);

/* Scalar-only call: in[0..n_in) -> out[0..n_out). */
int mvfl_call_scalars(struct mvf_handle *h, uint32_t selector,
                      const uint64_t *in, uint32_t n_in, uint64_t *out,
                      uint32_t n_out);

/* 0 if the server announced feature; else -EOPNOTSUPP (or -EINVAL for a
 * NULL handle) with a message naming what. */
int mvfl_need(const struct mvf_handle *h, uint64_t feature, const char *what);

/* A reply that passed the wire checks but makes no sense for the call:
 * poisons the handle and returns -EPROTO with the message. */
int mvfl_bad_reply(struct mvf_handle *h, uint32_t selector, const char *fmt,
                   ...) __attribute__((format(printf, 3, 4)));

#endif /* MACVFIO_LIB_HANDLE_H */

/* SPDX-License-Identifier: MIT */
/*
 * fuzz_server's client side: builds request frames, hands them to
 * mvf_frame_handle() exactly as macvfiod's socket loop would, and makes
 * the fds a real client attaches (sealed memfds, blocking eventfds).
 */
#ifndef MACVFIO_TESTS_FUZZ_SERVER_WIRE_H
#define MACVFIO_TESTS_FUZZ_SERVER_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core.h"

/* An eventfd counter one below its maximum: a further write blocks (on a
 * blocking fd) or fails with EAGAIN (non-blocking). */
#define FZ_FULL_COUNTER 0xfffffffffffffffeull

struct fz_reply {
    int status;
    uint16_t n_scalars;
    uint64_t scalars[MVF_MAX_SCALARS];
    const uint8_t *structure;   /* into the reply buffer; valid until the next call */
    uint32_t struct_len;
};

/* One call through the frame layer (selector may carry
 * MVF_WIRE_SEL_POSTED: then only out->status is set, from the frame
 * layer's return, as no reply exists).  The reply's fd, if any, is closed;
 * the attached fds stay the caller's (the daemon closes what it
 * receives, so the caller closes them right after, as it would). */
int fz_call(struct mvf_session *s, uint32_t selector, const uint64_t *scalars,
            unsigned n_scalars, const void *structure, uint32_t struct_len,
            const int *fds, unsigned nfds, struct fz_reply *out);

/* A raw frame, bytes as a socket would deliver them; returns the
 * call's status. */
int fz_raw_frame(struct mvf_session *s, const uint8_t *buf, size_t len,
                 const int *fds, unsigned nfds);

/* Trapped BAR accesses and the bus-master bit, status ignored (a failed
 * read gives 0). */
void fz_mmio_write(struct mvf_session *s, uint32_t bar, uint64_t off,
                   uint32_t width, uint64_t val);
/* The same, posted or not (abi.h, "Posted requests"). */
void fz_mmio_write_as(struct mvf_session *s, uint32_t bar, uint64_t off,
                      uint32_t width, uint64_t val, bool posted);
uint64_t fz_mmio_read(struct mvf_session *s, uint32_t bar, uint64_t off,
                      uint32_t width);
void fz_bus_master(struct mvf_session *s, bool on);

/* A memfd of `size` bytes; sealed against shrinking (and growing) unless
 * `unsealed`.  -1 on failure. */
int fz_memfd(uint64_t size, bool unsealed);

/* A BLOCKING eventfd (no EFD_NONBLOCK), as a careless or hostile client
 * may pass; with `full`, its counter is pre-filled so that the daemon's
 * next write would block.  -1 on failure. */
int fz_blocking_eventfd(bool full);

/* Number of open fds of this process. */
int fz_count_fds(void);

#endif

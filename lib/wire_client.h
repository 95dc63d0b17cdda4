/* SPDX-License-Identifier: MIT */
/*
 * Client side of the socket wire format (abi.h, "Wire format"): builds
 * request frames and checks reply frames.  Pure functions, no I/O, so
 * they are unit tested on good and malformed frames alike.
 */
#ifndef MACVFIO_LIB_WIRE_CLIENT_H
#define MACVFIO_LIB_WIRE_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include "transport.h"

/* Writes the request frame for x into buf (the selector word with
 * MVF_WIRE_SEL_POSTED when x->posted); returns its length, or -EINVAL /
 * -E2BIG (message in x->err) for a call that cannot be sent. */
int mvfl_wire_encode_req(void *buf, size_t cap, uint32_t seq,
                         struct mvf_xfer *x);

/*
 * Checks a reply frame of len bytes that arrived with n_fds descriptors
 * and fills x's reply fields (not the fds).  Returns 0 when the frame is
 * well formed (x->status then says how the call went, and on failure
 * x->err holds the server's message, made printable; x->posted_error
 * says the failure is an earlier posted request's), or -EPROTO with
 * x->bad_reply set and the reason in x->err.
 */
int mvfl_wire_decode_rep(const void *buf, size_t len, uint32_t seq,
                         uint32_t n_fds, struct mvf_xfer *x);

/* "CONFIG_READ" etc.; "selector N" for unknown ones (static storage
 * for known ones, a per-thread buffer otherwise). */
const char *mvfl_selector_name(uint32_t selector);

#endif /* MACVFIO_LIB_WIRE_CLIENT_H */

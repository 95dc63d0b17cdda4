/* SPDX-License-Identifier: MIT */
/*
 * Socket frames <-> core calls.  A frame is one SOCK_SEQPACKET message
 * (abi.h, "Wire format"); this file trusts nothing in it.  Kept free of
 * socket calls so the fuzzer drives exactly this code.
 */
#ifndef MACVFIO_DAEMON_FRAME_H
#define MACVFIO_DAEMON_FRAME_H

#include <stddef.h>
#include <stdint.h>

#include "core.h"

struct mvf_frame_reply {
    uint8_t buf[MVF_WIRE_MAX_FRAME];
    size_t len;           /* 0: a posted request, nothing to send */
    int obj;              /* fd to attach (owned: the caller closes it), or -1 */
};

/*
 * Parses the request in buf[0..len) with `nfds` fds attached, runs it
 * through the core and builds the reply.  Every request gets a reply
 * (malformed frames an error status) except a posted one (abi.h,
 * "Posted requests"): rep->len is then 0 and a failure is latched on the
 * session.  Returns the call's status.
 * `truncated` says the message did not fit the receive buffer or its
 * fds were cut (MSG_TRUNC / MSG_CTRUNC).
 */
int mvf_frame_handle(struct mvf_session *s, const uint8_t *buf, size_t len,
                     const int *fds, unsigned nfds, int truncated,
                     struct mvf_frame_reply *rep);

#endif /* MACVFIO_DAEMON_FRAME_H */

/* SPDX-License-Identifier: MIT */
/*
 * The test-only wire between the IOKitLib double (tests/dext/iokit/iokitlib_double.c, in
 * the client process) and dkhost (the dext's code on the DriverKit
 * double, in a process of its own, as on a Mac).  SOCK_SEQPACKET: one
 * request, one reply.  A dkhost serves one device on one socket,
 * $MVF_DKHOST_DIR/<name>.sock; each IOServiceOpen is a connection whose
 * first message says what it is.
 *
 *   CONN: a user client (IOServiceOpen).  Then CALL, MAP, UNMAP; CLOSE
 *         is IOServiceClose, and a connection that ends without it is a
 *         client task that died.
 *   PORT: a notification port.  Then RECV: the reply is the oldest
 *         completion on the port of a connection bound to it (an async
 *         CALL names its port), sent when there is one.  The port holds
 *         what the DriverKit double's port holds (5), so a client that
 *         does not receive loses completions the way Mach drops them.
 *         The port's end (dkhost gone) is the service's termination.
 *
 * Client memory is shared by address, as with the real dext: dkhost maps
 * the caller's range from /proc/<pid>/map_files, so it must be a shared
 * file mapping (a memfd, as QEMU's guest RAM is).  Memory dkhost hands
 * out (BARs, the state page) comes with its fd.
 */
#ifndef MACVFIO_TESTS_DKHOST_WIRE_H
#define MACVFIO_TESTS_DKHOST_WIRE_H

#include <stdint.h>

#define DKW_MAX_STRUCT 65536u   /* either way, in one message */
#define DKW_SCALARS 16u
#define DKW_ASYNC_REF 8u        /* io_async_ref64_t */

enum dkw_op {
    DKW_CONN = 1,
    DKW_PORT,
    DKW_CALL,
    DKW_MAP,
    DKW_UNMAP,
    DKW_CLOSE,
    DKW_RECV,
};

struct dkw_req {
    uint32_t op;
    uint32_t selector;
    uint32_t n_in, n_out_cap;
    uint64_t in[DKW_SCALARS + 1];   /* one more: the 17-scalar case */
    uint64_t sin_len, sout_cap;
    uint32_t async;                 /* CALL: 1 for IOConnectCallAsyncMethod */
    uint32_t port_id;               /* CALL async: the port's id */
    uint64_t async_ref[DKW_ASYNC_REF];
    uint64_t map_type;              /* MAP, UNMAP */
    uint32_t map_options;
    uint32_t pad;
    uint64_t cookie;                /* UNMAP: what MAP replied */
    /* then sin_len bytes */
};

struct dkw_rep {
    int32_t kr;
    uint32_t n_out;
    uint64_t out[DKW_SCALARS];
    uint64_t sout_len;
    uint32_t id;                    /* CONN, PORT: the connection's / port's */
    uint32_t pad;
    uint64_t map_len, map_offset;   /* MAP: the fd comes with the reply */
    uint64_t cookie;                /* MAP: for UNMAP */
    /* then sout_len bytes */
};

/* A completion on a port (the reply to RECV). */
struct dkw_msg {
    int32_t status;
    uint32_t n;
    uint64_t args[16];
    uint64_t async_ref[DKW_ASYNC_REF];
};

#endif

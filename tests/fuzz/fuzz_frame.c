/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: the daemon's frame parser and the core dispatcher,
 * with a real sim:dmatest device behind them.
 *
 * Input layout: byte 0 holds flags (bit 0: run the HELLO/OPEN/CLAIM
 * preamble first so deep states are reachable; bits 1-2: which kind of
 * fd to attach to frames that ask for one).  The rest is a sequence of
 * frames, each prefixed with a 16-bit little-endian length.  Frames
 * whose header says n_fds > 0 get that many fds (capped) of the chosen
 * kind, so memfd registration and eventfd binding run too.
 *
 * The session is destroyed after every input, which exercises the
 * cleanup path; the fuzzer then checks the device is clean again.
 * Every frame with an intact header must get a reply unless its selector
 * has MVF_WIRE_SEL_POSTED, which must get none; a reply that carries a
 * latched posted failure must say -EIO (abi.h, "Posted requests").
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include "frame.h"
#include "host_linux.h"
#include "registry.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct mvf_core *core;
static struct mvf_frame_reply rep;

static void setup(void)
{
    struct mvf_provider prov;
    struct mvf_dart_config dc;
    char err[256];

    mvf_linux_set_log_level(MVF_LOG_ERROR);
    mvf_dart_config_default(&dc);
    dc.budget_bytes = 64ull << 20;       /* small: reach -ENOSPC */
    dc.max_mappings = 64;                /* and -EMFILE */
    core = mvf_core_create(&mvf_linux_host_ops, NULL);
    memset(&prov, 0, sizeof(prov));
    if (!core || mvf_sim_create("sim:dmatest,window=64K", &prov, err, sizeof(err)) ||
        mvf_core_add_device(core, &prov, &dc, NULL)) {
        fprintf(stderr, "fuzz setup failed: %s\n", err);
        abort();
    }
}

static int make_fd(unsigned kind)
{
    int fd;

    switch (kind) {
    case 0:
        fd = memfd_create("fuzz", MFD_CLOEXEC | MFD_ALLOW_SEALING);
        if (fd >= 0 && (ftruncate(fd, 256 << 10) < 0 ||
                        fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW) < 0)) {
            close(fd);
            return -1;
        }
        return fd;
    case 1:
        return eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    case 2:
        return memfd_create("fuzz-unsealed", MFD_CLOEXEC);
    default:
        return open("/dev/null", O_RDWR | O_CLOEXEC);
    }
}

static void run_frame(struct mvf_session *s, const uint8_t *buf, size_t len,
                      unsigned fd_kind)
{
    struct mvf_wire_req h = { 0 };
    struct mvf_wire_rep r;
    int fds[4];
    unsigned nfds = 0;

    if (len >= sizeof(h)) {
        memcpy(&h, buf, sizeof(h));
        while (nfds < h.n_fds && nfds < 4) {
            int fd = make_fd(fd_kind);
            if (fd < 0)
                break;
            fds[nfds++] = fd;
        }
    }
    mvf_frame_handle(s, buf, len, fds, nfds, 0, &rep);
    if (rep.obj >= 0)
        close(rep.obj);
    if (h.magic == MVF_WIRE_MAGIC_REQ && (h.selector & MVF_WIRE_SEL_POSTED)) {
        if (rep.len != 0)
            abort();              /* a posted request was answered */
    } else {
        if (rep.len < sizeof(r))
            abort();              /* a request went unanswered */
        memcpy(&r, rep.buf, sizeof(r));
        if ((r.flags & ~MVF_WIRE_REP_POSTED_ERROR) ||
            ((r.flags & MVF_WIRE_REP_POSTED_ERROR) && r.status != -EIO))
            abort();
    }
    for (unsigned i = 0; i < nfds; i++)
        close(fds[i]);
}

static void preamble(struct mvf_session *s)
{
    static const struct { uint32_t sel; uint16_t n; uint64_t a[2]; } calls[] = {
        { MVF_SEL_HELLO, 2, { MVF_ABI_VERSION, 0 } },
        { MVF_SEL_DEVICE_OPEN, 1, { 0, 0 } },
        { MVF_SEL_CLAIM, 0, { 0, 0 } },
    };
    for (size_t i = 0; i < sizeof(calls) / sizeof(calls[0]); i++) {
        uint8_t buf[sizeof(struct mvf_wire_req) + 16];
        struct mvf_wire_req h = {
            .magic = MVF_WIRE_MAGIC_REQ, .seq = (uint32_t)i,
            .selector = calls[i].sel, .n_scalars = calls[i].n,
            .max_struct_out = MVF_MAX_STRUCT,
        };
        memcpy(buf, &h, sizeof(h));
        memcpy(buf + sizeof(h), calls[i].a, 8u * calls[i].n);
        run_frame(s, buf, sizeof(h) + 8u * calls[i].n, 0);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct mvf_session *s;
    struct mvf_stats st;
    unsigned flags;

    if (!core)
        setup();
    if (!size)
        return 0;
    flags = data[0];
    data++;
    size--;
    s = mvf_session_create(core);
    if (!s)
        abort();
    if (flags & 1)
        preamble(s);
    while (size >= 2) {
        size_t len = (size_t)data[0] | (size_t)data[1] << 8;
        data += 2;
        size -= 2;
        if (len > size)
            len = size;
        run_frame(s, data, len, (flags >> 1) & 3);
        data += len;
        size -= len;
    }
    mvf_session_destroy(s);

    /* Whatever the client did, its departure leaves nothing behind. */
    mvf_device_stats(mvf_core_device(core, 0), &st);
    if (st.live_mappings || st.mapped_bytes || st.registered_bytes)
        abort();
    return 0;
}

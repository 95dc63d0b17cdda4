/* SPDX-License-Identifier: MIT */
#include "wire_client.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the wire format is little-endian and frames are copied as is"
#endif

_Static_assert(sizeof(struct mvf_wire_req) == 24, "request header layout");
_Static_assert(sizeof(struct mvf_wire_rep) == 24, "reply header layout");

/* Largest errno a server may report (Linux uses up to 4095). */
#define MAX_ERRNO 4095

static const char *const selector_names[MVF_SEL_COUNT] = {
    [MVF_SEL_HELLO] = "HELLO",
    [MVF_SEL_DEVICE_LIST] = "DEVICE_LIST",
    [MVF_SEL_DEVICE_OPEN] = "DEVICE_OPEN",
    [MVF_SEL_DEVICE_INFO] = "DEVICE_INFO",
    [MVF_SEL_CLAIM] = "CLAIM",
    [MVF_SEL_RELEASE] = "RELEASE",
    [MVF_SEL_CONFIG_READ] = "CONFIG_READ",
    [MVF_SEL_CONFIG_WRITE] = "CONFIG_WRITE",
    [MVF_SEL_BAR_INFO] = "BAR_INFO",
    [MVF_SEL_MMIO_READ] = "MMIO_READ",
    [MVF_SEL_MMIO_WRITE] = "MMIO_WRITE",
    [MVF_SEL_MAP_MEMORY] = "MAP_MEMORY",
    [MVF_SEL_IRQ_INFO] = "IRQ_INFO",
    [MVF_SEL_IRQ_SET] = "IRQ_SET",
    [MVF_SEL_RESET] = "RESET",
    [MVF_SEL_DMA_REGISTER] = "DMA_REGISTER",
    [MVF_SEL_DMA_UNREGISTER] = "DMA_UNREGISTER",
    [MVF_SEL_DMA_MAP] = "DMA_MAP",
    [MVF_SEL_DMA_UNMAP] = "DMA_UNMAP",
    [MVF_SEL_STATS] = "STATS",
    [MVF_SEL_DMA_MAP_BATCH] = "DMA_MAP_BATCH",
    [MVF_SEL_DMA_UNMAP_BATCH] = "DMA_UNMAP_BATCH",
    [MVF_SEL_LAST_ERROR] = "LAST_ERROR",
};

const char *mvfl_selector_name(uint32_t selector)
{
    static _Thread_local char unknown[24];

    if (selector < MVF_SEL_COUNT && selector_names[selector])
        return selector_names[selector];
    snprintf(unknown, sizeof(unknown), "selector %u", selector);
    return unknown;
}

void mvfl_xfer_init(struct mvf_xfer *x, uint32_t selector)
{
    memset(x, 0, sizeof(*x));
    x->selector = selector;
    for (uint32_t i = 0; i < MVF_MAX_FDS; i++)
        x->fds_out[i] = -1;
}

static int set_err(struct mvf_xfer *x, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int set_err(struct mvf_xfer *x, int err, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(x->err, sizeof(x->err), fmt, ap);
    va_end(ap);
    return err;
}

static int bad_reply(struct mvf_xfer *x, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int bad_reply(struct mvf_xfer *x, const char *fmt, ...)
{
    va_list ap;
    int n;

    n = snprintf(x->err, sizeof(x->err), "malformed reply from server: ");
    va_start(ap, fmt);
    vsnprintf(x->err + n, sizeof(x->err) - (size_t)n, fmt, ap);
    va_end(ap);
    x->bad_reply = true;
    return -EPROTO;
}

int mvfl_wire_encode_req(void *buf, size_t cap, uint32_t seq,
                         struct mvf_xfer *x)
{
    struct mvf_wire_req req;
    size_t len;
    unsigned char *p = buf;

    if (x->selector & MVF_WIRE_SEL_POSTED)
        return set_err(x, -EINVAL, "selector 0x%x has the posted bit set",
                       x->selector);
    if (x->posted && (x->n_fds_in || x->struct_out_cap || x->n_out_min ||
                      x->n_fds_expect))
        return set_err(x, -EINVAL, "a posted request carries no fds and "
                       "expects nothing back");
    if (x->n_in > MVF_MAX_SCALARS || (x->n_in && !x->in))
        return set_err(x, -EINVAL, "%u scalar inputs (at most %u)", x->n_in,
                       MVF_MAX_SCALARS);
    if (x->struct_in_len > MVF_MAX_STRUCT || (x->struct_in_len && !x->struct_in))
        return set_err(x, -E2BIG, "struct input of %u bytes (at most %u)",
                       x->struct_in_len, MVF_MAX_STRUCT);
    if (x->n_fds_in > MVF_MAX_FDS || (x->n_fds_in && !x->fds_in))
        return set_err(x, -EINVAL, "%u fds attached (at most %u)", x->n_fds_in,
                       MVF_MAX_FDS);
    if (x->struct_out_cap > MVF_MAX_STRUCT ||
        (x->struct_out_cap && !x->struct_out))
        return set_err(x, -EINVAL, "struct output buffer of %u bytes",
                       x->struct_out_cap);
    if (x->n_out_min > MVF_MAX_SCALARS || x->n_fds_expect > MVF_MAX_FDS)
        return set_err(x, -EINVAL, "impossible reply expectations");

    len = sizeof(req) + 8u * x->n_in + x->struct_in_len;
    if (len > cap)
        return set_err(x, -E2BIG, "request frame of %zu bytes exceeds %zu",
                       len, cap);

    req.magic = MVF_WIRE_MAGIC_REQ;
    req.seq = seq;
    req.selector = x->selector | (x->posted ? MVF_WIRE_SEL_POSTED : 0);
    req.n_scalars = (uint16_t)x->n_in;
    req.n_fds = (uint16_t)x->n_fds_in;
    req.struct_len = x->struct_in_len;
    req.max_struct_out = x->struct_out_cap;
    memcpy(p, &req, sizeof(req));
    if (x->n_in)
        memcpy(p + sizeof(req), x->in, 8u * x->n_in);
    if (x->struct_in_len)
        memcpy(p + sizeof(req) + 8u * x->n_in, x->struct_in, x->struct_in_len);
    return (int)len;
}

/* Copies a server message into x->err: stops at NUL, and replaces any
 * byte that is not printable ASCII so it cannot steer a terminal. */
static void copy_server_message(struct mvf_xfer *x, const unsigned char *msg,
                                size_t len)
{
    size_t n = 0;

    for (size_t i = 0; i < len && msg[i] && n + 1 < sizeof(x->err); i++)
        x->err[n++] = (msg[i] >= 0x20 && msg[i] < 0x7f) ? (char)msg[i] : '?';
    x->err[n] = '\0';
    if (n == 0)
        snprintf(x->err, sizeof(x->err), "server error: %s",
                 strerror(-x->status));
}

int mvfl_wire_decode_rep(const void *buf, size_t len, uint32_t seq,
                         uint32_t n_fds, struct mvf_xfer *x)
{
    const unsigned char *p = buf;
    struct mvf_wire_rep rep;
    size_t want;

    x->bad_reply = false;
    x->posted_error = false;
    x->n_out = 0;
    x->struct_out_len = 0;
    x->status = 0;

    if (len < sizeof(rep))
        return bad_reply(x, "%zu bytes, shorter than a header", len);
    memcpy(&rep, p, sizeof(rep));
    if (rep.magic != MVF_WIRE_MAGIC_REP)
        return bad_reply(x, "bad magic 0x%08x", rep.magic);
    if (rep.seq != seq)
        return bad_reply(x, "sequence %u, expected %u", rep.seq, seq);
    if (rep.n_scalars > MVF_MAX_SCALARS)
        return bad_reply(x, "%u scalars (at most %u)", rep.n_scalars,
                         MVF_MAX_SCALARS);
    if (rep.struct_len > MVF_MAX_STRUCT)
        return bad_reply(x, "struct of %u bytes (at most %u)", rep.struct_len,
                         MVF_MAX_STRUCT);
    want = sizeof(rep) + 8u * rep.n_scalars + rep.struct_len;
    if (len != want)
        return bad_reply(x, "frame of %zu bytes, header says %zu", len, want);
    if (rep.n_fds != n_fds)
        return bad_reply(x, "header announces %u fds, %u arrived", rep.n_fds,
                         n_fds);
    if (rep.status > 0 || rep.status < -MAX_ERRNO)
        return bad_reply(x, "status %d is not 0 or a negative errno",
                         rep.status);

    if (rep.flags & MVF_WIRE_REP_POSTED_ERROR) {
        if (rep.status >= 0)
            return bad_reply(x, "posted-error flag on status %d", rep.status);
        x->posted_error = true;
    }

    const unsigned char *scalars = p + sizeof(rep);
    const unsigned char *sbytes = scalars + 8u * rep.n_scalars;

    x->status = rep.status;
    if (rep.status < 0) {
        uint32_t msg_cap = x->struct_out_cap > MVF_ERRMSG_MAX
                               ? x->struct_out_cap : MVF_ERRMSG_MAX;
        if (rep.struct_len > msg_cap)
            return bad_reply(x, "error message of %u bytes", rep.struct_len);
        copy_server_message(x, sbytes, rep.struct_len);
        return 0;
    }

    if (rep.n_scalars < x->n_out_min)
        return bad_reply(x, "%s returned %u scalars, needs %u",
                         mvfl_selector_name(x->selector), rep.n_scalars,
                         x->n_out_min);
    if (rep.struct_len > x->struct_out_cap)
        return bad_reply(x, "%s returned %u struct bytes, accepted %u",
                         mvfl_selector_name(x->selector), rep.struct_len,
                         x->struct_out_cap);
    if (rep.n_fds != x->n_fds_expect)
        return bad_reply(x, "%s returned %u fds, expected %u",
                         mvfl_selector_name(x->selector), rep.n_fds,
                         x->n_fds_expect);

    memcpy(x->out, scalars, 8u * rep.n_scalars);
    x->n_out = rep.n_scalars;
    if (rep.struct_len)
        memcpy(x->struct_out, sbytes, rep.struct_len);
    x->struct_out_len = rep.struct_len;
    return 0;
}

/* SPDX-License-Identifier: MIT */
#include "frame.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static void build_reply(struct mvf_frame_reply *rep, uint32_t seq, int status,
                        uint32_t flags, const struct mvf_call *call)
{
    struct mvf_wire_rep h = {
        .magic = MVF_WIRE_MAGIC_REP,
        .seq = seq,
        .status = status,
        .flags = flags,
    };
    uint8_t *p = rep->buf + sizeof(h);
    size_t slen;

    if (status < 0) {
        /* Failure: no outputs, the message is the structure. */
        slen = strnlen(call->err, sizeof(call->err) - 1);
        h.struct_len = (uint32_t)slen + 1;
        memcpy(p, call->err, slen);
        p[slen] = '\0';
        rep->obj = -1;
    } else {
        h.n_scalars = (uint16_t)call->n_out;
        memcpy(p, call->out, 8u * call->n_out);
        p += 8u * call->n_out;
        /* call->struct_out points at p already (see below). */
        h.struct_len = call->struct_out_len;
        h.n_fds = call->obj_out >= 0;
        rep->obj = call->obj_out;
    }
    memcpy(rep->buf, &h, sizeof(h));
    rep->len = sizeof(h) + 8u * h.n_scalars + h.struct_len;
}

static int reject(struct mvf_frame_reply *rep, uint32_t seq, int err,
                  const char *msg)
{
    struct mvf_call call;

    mvf_call_init(&call);
    snprintf(call.err, sizeof(call.err), "%s", msg);
    build_reply(rep, seq, err, 0, &call);
    return err;
}

/* A frame with an intact header that is wrong: answered if it waits for
 * an answer, latched if it was posted. */
static int refuse(struct mvf_session *s, const struct mvf_wire_req *h,
                  struct mvf_frame_reply *rep, int err, const char *msg)
{
    if (!(h->selector & MVF_WIRE_SEL_POSTED))
        return reject(rep, h->seq, err, msg);
    mvf_posted_refuse(s, h->seq, h->selector & ~MVF_WIRE_SEL_POSTED, err, msg);
    rep->len = 0;
    return err;
}

/* Before a request that waits for its reply: a latched posted failure
 * is reported instead of running it (abi.h, "Posted requests"). */
static int report_posted(struct mvf_session *s, uint32_t seq,
                         struct mvf_frame_reply *rep)
{
    struct mvf_call call;
    int err;

    mvf_call_init(&call);
    err = mvf_session_take_posted(s, call.err, sizeof(call.err));
    if (err)
        build_reply(rep, seq, err, MVF_WIRE_REP_POSTED_ERROR, &call);
    return err;
}

int mvf_frame_handle(struct mvf_session *s, const uint8_t *buf, size_t len,
                     const int *fds, unsigned nfds, int truncated,
                     struct mvf_frame_reply *rep)
{
    uint64_t scalars[MVF_MAX_SCALARS];
    struct mvf_wire_req h;
    struct mvf_call call;
    size_t need;
    bool posted;
    int ret;

    rep->obj = -1;
    if (len < sizeof(h))
        return reject(rep, 0, -EPROTO, "frame shorter than its header");
    memcpy(&h, buf, sizeof(h));
    if (h.magic != MVF_WIRE_MAGIC_REQ)
        return reject(rep, h.seq, -EPROTO, "bad frame magic");
    posted = (h.selector & MVF_WIRE_SEL_POSTED) != 0;
    if (!posted && (ret = report_posted(s, h.seq, rep)))
        return ret;
    if (truncated)
        return refuse(s, &h, rep, -EMSGSIZE, "frame or its fds were truncated");
    if (h.n_scalars > MVF_MAX_SCALARS || h.struct_len > MVF_MAX_STRUCT)
        return refuse(s, &h, rep, -E2BIG,
                      "too many scalars or structure too large");
    need = sizeof(h) + 8u * h.n_scalars + h.struct_len;
    if (len != need)
        return refuse(s, &h, rep, -EPROTO,
                      "frame length does not match its header");
    if (h.n_fds != nfds)
        return refuse(s, &h, rep, -EBADF, "header names a different fd count "
                      "than arrived");

    memcpy(scalars, buf + sizeof(h), 8u * h.n_scalars);
    memset(&call, 0, sizeof(call));
    call.selector = h.selector & ~MVF_WIRE_SEL_POSTED;
    call.in = scalars;
    call.n_in = h.n_scalars;
    call.struct_in = h.struct_len ? buf + sizeof(h) + 8u * h.n_scalars : NULL;
    call.struct_in_len = h.struct_len;
    call.objs_in = fds;
    call.n_objs_in = nfds;
    /* Structure output goes straight into the reply buffer after the
     * largest scalar area, then is moved down if fewer scalars came. */
    call.struct_out = rep->buf + sizeof(struct mvf_wire_rep) + 8 * MVF_MAX_SCALARS;
    call.struct_out_cap = h.max_struct_out < MVF_MAX_STRUCT ?
                          h.max_struct_out : MVF_MAX_STRUCT;

    if (posted) {
        ret = mvf_dispatch_posted(s, h.seq, &call);
        rep->obj = call.obj_out;  /* -1 for MMIO_WRITE; the caller closes it */
        rep->len = 0;
        return ret;
    }
    ret = mvf_dispatch(s, &call);
    if (ret >= 0 && call.struct_out_len && call.n_out < MVF_MAX_SCALARS)
        memmove(rep->buf + sizeof(struct mvf_wire_rep) + 8u * call.n_out,
                call.struct_out, call.struct_out_len);
    build_reply(rep, h.seq, ret, 0, &call);
    return ret;
}

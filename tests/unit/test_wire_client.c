/* SPDX-License-Identifier: MIT */
/*
 * libmacvfio's handling of the wire:
 *   1. the frame codec (lib/wire_client.c) on good and malformed frames;
 *   2. the whole client (lib/) against a scripted server on a real
 *      SOCK_SEQPACKET socket that misbehaves on purpose: wrong sequence
 *      numbers, stray fds, oversize frames, dying mid-call, bad values.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>

#include "wire_client.h"
#include "macvfio/macvfio.h"

/* ---- helpers --------------------------------------------------------- */

struct frame {
    unsigned char buf[MVF_WIRE_MAX_FRAME + 64];
    size_t len;
};

/* Builds a reply frame: header, scalars, struct bytes. */
static void build_rep(struct frame *f, uint32_t seq, int32_t status,
                      const uint64_t *sc, uint16_t n_sc, const void *st,
                      uint32_t st_len, uint16_t n_fds)
{
    struct mvf_wire_rep rep = {
        .magic = MVF_WIRE_MAGIC_REP, .seq = seq, .status = status,
        .n_scalars = n_sc, .n_fds = n_fds, .struct_len = st_len,
    };

    memcpy(f->buf, &rep, sizeof(rep));
    f->len = sizeof(rep);
    if (n_sc) {
        memcpy(f->buf + f->len, sc, 8u * n_sc);
        f->len += 8u * n_sc;
    }
    if (st_len) {
        memcpy(f->buf + f->len, st, st_len);
        f->len += st_len;
    }
}

static struct mvf_wire_rep *hdr(struct frame *f)
{
    return (struct mvf_wire_rep *)(void *)f->buf;
}

/* An xfer as a CONFIG_READ-like call would set it up. */
static void setup_scalar_call(struct mvf_xfer *x, uint32_t n_out_min)
{
    mvfl_xfer_init(x, MVF_SEL_CONFIG_READ);
    x->n_out_min = n_out_min;
}

static void assert_bad(const struct frame *f, uint32_t seq, uint32_t n_fds,
                       struct mvf_xfer *x, const char *needle)
{
    assert_int_equal(mvfl_wire_decode_rep(f->buf, f->len, seq, n_fds, x),
                     -EPROTO);
    assert_true(x->bad_reply);
    assert_non_null(strstr(x->err, "malformed reply"));
    if (needle)
        assert_non_null(strstr(x->err, needle));
}

/* ---- encoding ---------------------------------------------------------- */

static void encode_lays_out_header_scalars_struct(void **state)
{
    unsigned char buf[512];
    uint64_t in[3] = { 0x10, 4, 0xdeadbeef };
    const char payload[5] = "abcd";
    char out[40];
    struct mvf_xfer x;
    struct mvf_wire_req req;
    int fds[2] = { 7, 8 };

    (void)state;
    mvfl_xfer_init(&x, MVF_SEL_CONFIG_WRITE);
    x.in = in;
    x.n_in = 3;
    x.struct_in = payload;
    x.struct_in_len = 5;
    x.fds_in = fds;
    x.n_fds_in = 2;
    x.struct_out = out;
    x.struct_out_cap = sizeof(out);

    int len = mvfl_wire_encode_req(buf, sizeof(buf), 42, &x);
    assert_int_equal(len, (int)(sizeof(req) + 24 + 5));
    memcpy(&req, buf, sizeof(req));
    assert_int_equal(req.magic, MVF_WIRE_MAGIC_REQ);
    assert_int_equal(req.seq, 42);
    assert_int_equal(req.selector, MVF_SEL_CONFIG_WRITE);
    assert_int_equal(req.n_scalars, 3);
    assert_int_equal(req.n_fds, 2);
    assert_int_equal(req.struct_len, 5);
    assert_int_equal(req.max_struct_out, sizeof(out));
    assert_memory_equal(buf + sizeof(req), in, sizeof(in));
    assert_memory_equal(buf + sizeof(req) + sizeof(in), payload, 5);
}

static void encode_posted_sets_the_selector_bit(void **state)
{
    unsigned char buf[128];
    uint64_t in[4] = { 0, 8, 4, 1 };
    struct mvf_wire_req req;
    struct mvf_xfer x;

    (void)state;
    mvfl_xfer_init(&x, MVF_SEL_MMIO_WRITE);
    x.in = in;
    x.n_in = 4;
    x.posted = true;
    assert_int_equal(mvfl_wire_encode_req(buf, sizeof(buf), 9, &x),
                     (int)(sizeof(req) + 32));
    memcpy(&req, buf, sizeof(req));
    assert_int_equal(req.selector, MVF_SEL_MMIO_WRITE | MVF_WIRE_SEL_POSTED);
    assert_int_equal(req.max_struct_out, 0);
    x.posted = false;
    assert_true(mvfl_wire_encode_req(buf, sizeof(buf), 9, &x) > 0);
    memcpy(&req, buf, sizeof(req));
    assert_int_equal(req.selector, MVF_SEL_MMIO_WRITE);
    /* The bit is the encoder's to set, and a posted call expects nothing. */
    x.selector = MVF_SEL_MMIO_WRITE | MVF_WIRE_SEL_POSTED;
    assert_int_equal(mvfl_wire_encode_req(buf, sizeof(buf), 9, &x), -EINVAL);
    x.selector = MVF_SEL_MMIO_WRITE;
    x.posted = true;
    x.n_out_min = 1;
    assert_int_equal(mvfl_wire_encode_req(buf, sizeof(buf), 9, &x), -EINVAL);
    assert_non_null(strstr(x.err, "posted"));
}

static void decode_posted_error_flag(void **state)
{
    const char msg[] = "posted MMIO_WRITE (seq 3) failed (-34): no";
    struct frame f;
    struct mvf_xfer x;

    (void)state;
    setup_scalar_call(&x, 1);
    build_rep(&f, 5, -EIO, NULL, 0, msg, sizeof(msg), 0);
    hdr(&f)->flags = MVF_WIRE_REP_POSTED_ERROR;
    assert_int_equal(mvfl_wire_decode_rep(f.buf, f.len, 5, 0, &x), 0);
    assert_int_equal(x.status, -EIO);
    assert_true(x.posted_error);
    assert_string_equal(x.err, msg);
    /* Without the flag, the same failure is the call's own. */
    hdr(&f)->flags = 0;
    assert_int_equal(mvfl_wire_decode_rep(f.buf, f.len, 5, 0, &x), 0);
    assert_false(x.posted_error);
    /* The flag on a success makes no sense. */
    build_rep(&f, 5, 0, (uint64_t[]){ 1 }, 1, NULL, 0, 0);
    hdr(&f)->flags = MVF_WIRE_REP_POSTED_ERROR;
    assert_bad(&f, 5, 0, &x, "posted-error flag");
}

static void encode_refuses_impossible_calls(void **state)
{
    unsigned char buf[256];
    static unsigned char big[MVF_MAX_STRUCT + 1];
    uint64_t in[MVF_MAX_SCALARS + 1] = { 0 };
    struct mvf_xfer x;

    (void)state;
    mvfl_xfer_init(&x, MVF_SEL_HELLO);
    x.in = in;
    x.n_in = MVF_MAX_SCALARS + 1;
    assert_int_equal(mvfl_wire_encode_req(buf, sizeof(buf), 1, &x), -EINVAL);

    mvfl_xfer_init(&x, MVF_SEL_DMA_MAP_BATCH);
    x.struct_in = big;
    x.struct_in_len = sizeof(big);
    assert_int_equal(mvfl_wire_encode_req(buf, sizeof(buf), 1, &x), -E2BIG);

    /* Fits the ABI but not the buffer. */
    x.struct_in_len = 1000;
    assert_int_equal(mvfl_wire_encode_req(buf, sizeof(buf), 1, &x), -E2BIG);

    /* Scalars announced without an array. */
    mvfl_xfer_init(&x, MVF_SEL_HELLO);
    x.n_in = 2;
    assert_int_equal(mvfl_wire_encode_req(buf, sizeof(buf), 1, &x), -EINVAL);

    mvfl_xfer_init(&x, MVF_SEL_STATS);
    x.struct_out = big;
    x.struct_out_cap = MVF_MAX_STRUCT + 1;
    assert_int_equal(mvfl_wire_encode_req(buf, sizeof(buf), 1, &x), -EINVAL);

    mvfl_xfer_init(&x, MVF_SEL_IRQ_SET);
    x.n_fds_in = MVF_MAX_FDS + 1;
    x.fds_in = (const int *)in;
    assert_int_equal(mvfl_wire_encode_req(buf, sizeof(buf), 1, &x), -EINVAL);
    assert_false(x.bad_reply);
}

/* ---- good replies ------------------------------------------------------ */

static void decode_success_with_scalars_and_struct(void **state)
{
    static struct frame f;
    uint64_t sc[2] = { 0x1234, 0xffffffffffffffffull };
    unsigned char st[16], got[16];
    struct mvf_xfer x;

    (void)state;
    memset(st, 0xa5, sizeof(st));
    mvfl_xfer_init(&x, MVF_SEL_STATS);
    x.n_out_min = 2;
    x.struct_out = got;
    x.struct_out_cap = sizeof(got);
    build_rep(&f, 9, 0, sc, 2, st, sizeof(st), 0);
    assert_int_equal(mvfl_wire_decode_rep(f.buf, f.len, 9, 0, &x), 0);
    assert_int_equal(x.status, 0);
    assert_false(x.bad_reply);
    assert_int_equal(x.n_out, 2);
    assert_true(x.out[0] == 0x1234 && x.out[1] == sc[1]);
    assert_int_equal(x.struct_out_len, sizeof(st));
    assert_memory_equal(got, st, sizeof(st));
}

static void decode_accepts_extra_scalars_and_expected_fds(void **state)
{
    static struct frame f;
    uint64_t sc[4] = { 1, 2, 3, 4 };
    struct mvf_xfer x;

    (void)state;
    mvfl_xfer_init(&x, MVF_SEL_MAP_MEMORY);
    x.n_out_min = 2;
    x.n_fds_expect = 1;
    /* A newer minor version may append scalars: they are kept, not fatal. */
    build_rep(&f, 3, 0, sc, 4, NULL, 0, 1);
    assert_int_equal(mvfl_wire_decode_rep(f.buf, f.len, 3, 1, &x), 0);
    assert_int_equal(x.n_out, 4);
}

static void decode_error_reply_keeps_status_and_message(void **state)
{
    static struct frame f;
    const char msg[] = "offset 0x1000 beyond config space";
    struct mvf_xfer x;

    (void)state;
    setup_scalar_call(&x, 1);
    build_rep(&f, 5, -ERANGE, NULL, 0, msg, sizeof(msg), 0);
    assert_int_equal(mvfl_wire_decode_rep(f.buf, f.len, 5, 0, &x), 0);
    assert_int_equal(x.status, -ERANGE);
    assert_false(x.bad_reply);
    assert_string_equal(x.err, msg);
    /* A failure needs no scalars: n_out_min applies to success only. */
    assert_int_equal(x.n_out, 0);
}

static void decode_error_message_is_made_printable(void **state)
{
    static struct frame f;
    /* Terminal escape, newline, high byte, and no NUL at the end. */
    const char msg[] = { 'b', 'a', 'd', '\x1b', '[', '2', 'J', '\n', '\xff', 'x' };
    struct mvf_xfer x;

    (void)state;
    setup_scalar_call(&x, 1);
    build_rep(&f, 5, -EINVAL, NULL, 0, msg, sizeof(msg), 0);
    assert_int_equal(mvfl_wire_decode_rep(f.buf, f.len, 5, 0, &x), 0);
    assert_string_equal(x.err, "bad?[2J??x");
}

static void decode_empty_error_message_gets_errno_text(void **state)
{
    static struct frame f;
    struct mvf_xfer x;

    (void)state;
    setup_scalar_call(&x, 1);
    build_rep(&f, 5, -EBUSY, NULL, 0, NULL, 0, 0);
    assert_int_equal(mvfl_wire_decode_rep(f.buf, f.len, 5, 0, &x), 0);
    assert_int_equal(x.status, -EBUSY);
    assert_non_null(strstr(x.err, strerror(EBUSY)));
}

static void decode_error_message_may_exceed_small_struct_cap(void **state)
{
    static struct frame f;
    char msg[MVF_ERRMSG_MAX];
    struct mvf_xfer x;

    (void)state;
    memset(msg, 'm', sizeof(msg) - 1);
    msg[sizeof(msg) - 1] = '\0';
    setup_scalar_call(&x, 1); /* struct_out_cap is 0 */
    build_rep(&f, 5, -EIO, NULL, 0, msg, sizeof(msg), 0);
    assert_int_equal(mvfl_wire_decode_rep(f.buf, f.len, 5, 0, &x), 0);
    assert_int_equal(strlen(x.err), sizeof(x.err) - 1);
}

/* ---- malformed replies ------------------------------------------------- */

static void decode_rejects_short_frame(void **state)
{
    static struct frame f;
    struct mvf_xfer x;

    (void)state;
    setup_scalar_call(&x, 0);
    build_rep(&f, 1, 0, NULL, 0, NULL, 0, 0);
    f.len = sizeof(struct mvf_wire_rep) - 1;
    assert_bad(&f, 1, 0, &x, "shorter than a header");
    f.len = 0;
    assert_bad(&f, 1, 0, &x, NULL);
}

static void decode_rejects_bad_magic_and_seq(void **state)
{
    static struct frame f;
    struct mvf_xfer x;

    (void)state;
    setup_scalar_call(&x, 0);
    build_rep(&f, 1, 0, NULL, 0, NULL, 0, 0);
    hdr(&f)->magic = MVF_WIRE_MAGIC_REQ; /* a request echoed back */
    assert_bad(&f, 1, 0, &x, "magic");

    build_rep(&f, 1, 0, NULL, 0, NULL, 0, 0);
    assert_bad(&f, 2, 0, &x, "sequence");
}

static void decode_rejects_length_mismatch(void **state)
{
    static struct frame f;
    uint64_t sc[2] = { 1, 2 };
    struct mvf_xfer x;

    (void)state;
    setup_scalar_call(&x, 1);
    build_rep(&f, 1, 0, sc, 2, NULL, 0, 0);
    f.len += 1; /* trailing garbage */
    assert_bad(&f, 1, 0, &x, "header says");

    build_rep(&f, 1, 0, sc, 2, NULL, 0, 0);
    f.len -= 8; /* header announces more than arrived */
    assert_bad(&f, 1, 0, &x, "header says");

    build_rep(&f, 1, 0, sc, 2, NULL, 0, 0);
    hdr(&f)->n_scalars = MVF_MAX_SCALARS + 1;
    assert_bad(&f, 1, 0, &x, "scalars");

    build_rep(&f, 1, 0, sc, 2, NULL, 0, 0);
    hdr(&f)->struct_len = 0xffffffffu; /* would wrap a 32-bit sum */
    assert_bad(&f, 1, 0, &x, "struct of");
}

static void decode_rejects_fd_count_mismatch(void **state)
{
    static struct frame f;
    uint64_t sc[2] = { 4096, 0 };
    struct mvf_xfer x;

    (void)state;
    mvfl_xfer_init(&x, MVF_SEL_MAP_MEMORY);
    x.n_out_min = 2;
    x.n_fds_expect = 1;
    /* Header says one fd, none arrived (or the reverse). */
    build_rep(&f, 1, 0, sc, 2, NULL, 0, 1);
    assert_bad(&f, 1, 0, &x, "fds");
    build_rep(&f, 1, 0, sc, 2, NULL, 0, 0);
    assert_bad(&f, 1, 1, &x, "fds");
    /* Consistent, but the call expects exactly one. */
    build_rep(&f, 1, 0, sc, 2, NULL, 0, 2);
    assert_bad(&f, 1, 2, &x, "expected 1");
    build_rep(&f, 1, 0, sc, 2, NULL, 0, 0);
    assert_bad(&f, 1, 0, &x, "expected 1");
}

static void decode_rejects_bad_status(void **state)
{
    static struct frame f;
    struct mvf_xfer x;

    (void)state;
    setup_scalar_call(&x, 0);
    build_rep(&f, 1, 1, NULL, 0, NULL, 0, 0);
    assert_bad(&f, 1, 0, &x, "status");
    build_rep(&f, 1, -5000, NULL, 0, NULL, 0, 0);
    assert_bad(&f, 1, 0, &x, "status");
}

static void decode_rejects_missing_scalars_and_oversize_struct(void **state)
{
    static struct frame f;
    uint64_t sc[1] = { 7 };
    unsigned char st[17] = { 0 }, got[16];
    struct mvf_xfer x;

    (void)state;
    setup_scalar_call(&x, 2);
    build_rep(&f, 1, 0, sc, 1, NULL, 0, 0);
    assert_bad(&f, 1, 0, &x, "needs 2");

    mvfl_xfer_init(&x, MVF_SEL_STATS);
    x.struct_out = got;
    x.struct_out_cap = sizeof(got);
    build_rep(&f, 1, 0, NULL, 0, st, sizeof(st), 0);
    assert_bad(&f, 1, 0, &x, "accepted 16");
}

static void decode_rejects_oversize_error_message(void **state)
{
    static struct frame f;
    static char msg[MVF_ERRMSG_MAX + 1];
    struct mvf_xfer x;

    (void)state;
    memset(msg, 'e', sizeof(msg));
    setup_scalar_call(&x, 0);
    build_rep(&f, 1, -EIO, NULL, 0, msg, sizeof(msg), 0);
    assert_bad(&f, 1, 0, &x, "error message");
}

static void decode_largest_valid_reply(void **state)
{
    static struct frame f;
    static unsigned char st[MVF_MAX_STRUCT], got[MVF_MAX_STRUCT];
    uint64_t sc[MVF_MAX_SCALARS] = { 0 };
    struct mvf_xfer x;

    (void)state;
    memset(st, 0x5a, sizeof(st));
    mvfl_xfer_init(&x, MVF_SEL_DEVICE_LIST);
    x.struct_out = got;
    x.struct_out_cap = sizeof(got);
    build_rep(&f, 77, 0, sc, MVF_MAX_SCALARS, st, sizeof(st), 0);
    assert_int_equal(f.len, MVF_WIRE_MAX_FRAME);
    assert_int_equal(mvfl_wire_decode_rep(f.buf, f.len, 77, 0, &x), 0);
    assert_int_equal(x.struct_out_len, MVF_MAX_STRUCT);
    assert_memory_equal(got, st, sizeof(st));
}

static void selector_names(void **state)
{
    (void)state;
    assert_string_equal(mvfl_selector_name(MVF_SEL_HELLO), "HELLO");
    assert_string_equal(mvfl_selector_name(MVF_SEL_DMA_UNMAP_BATCH),
                        "DMA_UNMAP_BATCH");
    assert_string_equal(mvfl_selector_name(999), "selector 999");
}

/* ==== part 2: the client against a scripted server ===================== */

#define SRV_BUF_LEN (MVF_WIRE_MAX_FRAME + 64)
#define SRV_MAX_RECORDED 64
#define SRV_DEVICES 2

enum srv_action { SRV_REPLY, SRV_CLOSE };

/* One request as the server saw it. */
struct srv_req {
    uint32_t selector, seq;
    uint16_t n_scalars, n_fds;
    uint32_t struct_len, max_struct_out;
    uint64_t sc[MVF_MAX_SCALARS];
};

/* The reply a script builds; fds are sent, then closed by the server. */
struct srv_reply {
    unsigned char buf[SRV_BUF_LEN];
    size_t len;
    int fds[4];
    unsigned n_fds;
};

struct server;
typedef enum srv_action (*srv_script)(struct server *s, const struct srv_req *rq,
                                      const unsigned char *st,
                                      struct srv_reply *rp);

struct server {
    char dir[32], path[64];
    int lfd;
    pthread_t thread;
    srv_script script;
    uint32_t hello_version;
    uint32_t max_struct;
    bool close_after_hello;
    pthread_mutex_t lock;          /* guards what the thread records */
    unsigned n_reqs;
    struct srv_req reqs[SRV_MAX_RECORDED];
    uint32_t last_seq;
    bool seq_ok;                   /* every seq was last_seq + 1 */
    int aux_fd;                    /* the script's own fd, if any */
    int mode;                      /* a script's variant, set before start */
};

static size_t put_rep(unsigned char *buf, uint32_t seq, int32_t status,
                      const uint64_t *sc, uint16_t n_sc, const void *st,
                      uint32_t st_len, uint16_t n_fds)
{
    struct mvf_wire_rep rep = {
        .magic = MVF_WIRE_MAGIC_REP, .seq = seq, .status = status,
        .n_scalars = n_sc, .n_fds = n_fds, .struct_len = st_len,
    };
    size_t len = sizeof(rep);

    memcpy(buf, &rep, sizeof(rep));
    if (n_sc) {
        memcpy(buf + len, sc, 8u * n_sc);
        len += 8u * n_sc;
    }
    if (st_len) {
        memcpy(buf + len, st, st_len);
        len += st_len;
    }
    return len;
}

static void reply(struct srv_reply *rp, const struct srv_req *rq,
                  const uint64_t *sc, uint16_t n_sc, const void *st,
                  uint32_t st_len)
{
    rp->len = put_rep(rp->buf, rq->seq, 0, sc, n_sc, st, st_len,
                      (uint16_t)rp->n_fds);
}

static void reply_error(struct srv_reply *rp, const struct srv_req *rq,
                        int32_t status, const char *msg)
{
    rp->len = put_rep(rp->buf, rq->seq, status, NULL, 0, msg,
                      (uint32_t)strlen(msg) + 1, (uint16_t)rp->n_fds);
}

/* A well-behaved answer to every call, so scripts only override what
 * they test. CONFIG_READ returns the offset, DMA_MAP_BATCH maps each
 * entry at offset + 0x1000000. */
static enum srv_action script_ok(struct server *s, const struct srv_req *rq,
                                 const unsigned char *st, struct srv_reply *rp)
{
    static _Thread_local unsigned char out[MVF_MAX_STRUCT];
    uint64_t sc[2] = { 0, 0 };

    (void)s;
    switch (rq->selector) {
    case MVF_SEL_CONFIG_READ:
        sc[0] = rq->sc[0];
        reply(rp, rq, sc, 1, NULL, 0);
        break;
    case MVF_SEL_DMA_MAP_BATCH: {
        uint32_t n = rq->struct_len / sizeof(struct mvf_dma_map_req);
        for (uint32_t i = 0; i < n; i++) {
            struct mvf_dma_map_req q;
            struct mvf_dma_map_res r = { 0 };
            memcpy(&q, st + i * sizeof(q), sizeof(q));
            r.iova = q.offset + 0x1000000;
            memcpy(out + i * sizeof(r), &r, sizeof(r));
        }
        sc[0] = n;
        reply(rp, rq, sc, 1, out, n * (uint32_t)sizeof(struct mvf_dma_map_res));
        break;
    }
    case MVF_SEL_DMA_MAP:
        sc[0] = 0xf000000000ull;
        reply(rp, rq, sc, 1, NULL, 0);
        break;
    default:
        reply(rp, rq, NULL, 0, NULL, 0);
        break;
    }
    return SRV_REPLY;
}

static void hello_reply(struct server *s, const struct srv_req *rq,
                        struct srv_reply *rp)
{
    uint64_t sc[4] = { s->hello_version, ~0ull, s->max_struct, SRV_DEVICES };

    reply(rp, rq, sc, 4, NULL, 0);
}

static void record(struct server *s, const struct srv_req *rq)
{
    pthread_mutex_lock(&s->lock);
    if (s->n_reqs < SRV_MAX_RECORDED)
        s->reqs[s->n_reqs] = *rq;
    s->n_reqs++;
    if (rq->seq != s->last_seq + 1)
        s->seq_ok = false;
    s->last_seq = rq->seq;
    pthread_mutex_unlock(&s->lock);
}

static void *server_main(void *arg)
{
    struct server *s = arg;
    unsigned char *in = malloc(SRV_BUF_LEN);
    struct srv_reply *rp = malloc(sizeof(*rp));
    int c = accept(s->lfd, NULL, NULL);

    while (c >= 0 && in && rp) {
        union {
            struct cmsghdr h;
            char b[CMSG_SPACE(sizeof(int) * MVF_MAX_FDS)];
        } cm;
        struct iovec iov = { in, SRV_BUF_LEN };
        struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1,
                              .msg_control = cm.b,
                              .msg_controllen = sizeof(cm.b) };
        struct mvf_wire_req h;
        struct srv_req rq = { 0 };
        ssize_t r = recvmsg(c, &msg, 0);

        if (r < (ssize_t)sizeof(h))
            break;
        for (struct cmsghdr *cmh = CMSG_FIRSTHDR(&msg); cmh;
             cmh = CMSG_NXTHDR(&msg, cmh)) {
            size_t k = (cmh->cmsg_len - CMSG_LEN(0)) / sizeof(int);
            for (size_t i = 0; i < k; i++) {
                int fd;
                memcpy(&fd, CMSG_DATA(cmh) + i * sizeof(int), sizeof(int));
                close(fd);
            }
        }
        memcpy(&h, in, sizeof(h));
        rq.selector = h.selector;
        rq.seq = h.seq;
        rq.n_scalars = h.n_scalars;
        rq.n_fds = h.n_fds;
        rq.struct_len = h.struct_len;
        rq.max_struct_out = h.max_struct_out;
        memcpy(rq.sc, in + sizeof(h), 8u * (h.n_scalars <= MVF_MAX_SCALARS
                                            ? h.n_scalars : 0));
        record(s, &rq);

        memset(rp, 0, offsetof(struct srv_reply, buf));
        rp->len = 0;
        rp->n_fds = 0;
        if (rq.selector == MVF_SEL_HELLO) {
            hello_reply(s, &rq, rp);
        } else if (s->script(s, &rq, in + sizeof(h) + 8u * h.n_scalars, rp) ==
                   SRV_CLOSE) {
            break;
        }

        union {
            struct cmsghdr h;
            char b[CMSG_SPACE(sizeof(int) * 4)];
        } om;
        struct iovec oiov = { rp->buf, rp->len };
        struct msghdr out = { .msg_iov = &oiov, .msg_iovlen = 1 };
        if (rp->n_fds) {
            memset(&om, 0, sizeof(om));
            out.msg_control = om.b;
            out.msg_controllen = CMSG_SPACE(sizeof(int) * rp->n_fds);
            struct cmsghdr *oc = CMSG_FIRSTHDR(&out);
            oc->cmsg_level = SOL_SOCKET;
            oc->cmsg_type = SCM_RIGHTS;
            oc->cmsg_len = CMSG_LEN(sizeof(int) * rp->n_fds);
            memcpy(CMSG_DATA(oc), rp->fds, sizeof(int) * rp->n_fds);
        }
        if (sendmsg(c, &out, MSG_NOSIGNAL) < 0)
            break;
        for (unsigned i = 0; i < rp->n_fds; i++)
            close(rp->fds[i]);
        if (rq.selector == MVF_SEL_HELLO && s->close_after_hello)
            break;
    }
    if (c >= 0)
        close(c);
    free(in);
    free(rp);
    return NULL;
}

static void server_start(struct server *s, srv_script script)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };

    if (!s->hello_version)
        s->hello_version = MVF_ABI_VERSION;
    if (!s->max_struct)
        s->max_struct = MVF_MAX_STRUCT;
    s->script = script;
    s->seq_ok = true;
    s->aux_fd = -1;
    pthread_mutex_init(&s->lock, NULL);
    snprintf(s->dir, sizeof(s->dir), "/tmp/mvf-wc-XXXXXX");
    assert_non_null(mkdtemp(s->dir));
    snprintf(s->path, sizeof(s->path), "%s/s.sock", s->dir);
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", s->path);
    s->lfd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
    assert_true(s->lfd >= 0);
    assert_int_equal(bind(s->lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(listen(s->lfd, 1), 0);
    assert_int_equal(pthread_create(&s->thread, NULL, server_main, s), 0);
}

/* Waits for the server thread: the client must have closed already. */
static void server_stop(struct server *s)
{
    pthread_join(s->thread, NULL);
    close(s->lfd);
    if (s->aux_fd >= 0)
        close(s->aux_fd);
    unlink(s->path);
    rmdir(s->dir);
    pthread_mutex_destroy(&s->lock);
}

static unsigned server_requests(struct server *s)
{
    pthread_mutex_lock(&s->lock);
    unsigned n = s->n_reqs;
    pthread_mutex_unlock(&s->lock);
    return n;
}

static struct mvf_handle *connect_ok(struct server *s)
{
    struct mvf_handle *h = NULL;

    assert_int_equal(mvf_connect(s->path, &h), 0);
    assert_non_null(h);
    return h;
}

/* ---- scripts ------------------------------------------------------------ */

static enum srv_action script_close(struct server *s, const struct srv_req *rq,
                                    const unsigned char *st,
                                    struct srv_reply *rp)
{
    (void)s; (void)rq; (void)st; (void)rp;
    return SRV_CLOSE;
}

static enum srv_action script_wrong_seq(struct server *s,
                                        const struct srv_req *rq,
                                        const unsigned char *st,
                                        struct srv_reply *rp)
{
    struct srv_req other = *rq;

    (void)s; (void)st;
    other.seq = rq->seq + 1;
    uint64_t v = 0;
    reply(rp, &other, &v, 1, NULL, 0);
    return SRV_REPLY;
}

/* First call: an error carrying a stray fd; second: success with one. */
static enum srv_action script_stray_fd(struct server *s,
                                       const struct srv_req *rq,
                                       const unsigned char *st,
                                       struct srv_reply *rp)
{
    int p[2];
    uint64_t v = 0;

    (void)st;
    assert_int_equal(pipe(p), 0);
    if (s->aux_fd >= 0)
        close(s->aux_fd);
    s->aux_fd = p[1];          /* the test polls it to see p[0] closed */
    rp->fds[0] = p[0];
    rp->n_fds = 1;
    if (server_requests(s) == 2)
        reply_error(rp, rq, -EIO, "failed, with an fd for no reason");
    else
        reply(rp, rq, &v, 1, NULL, 0);
    return SRV_REPLY;
}

static enum srv_action script_oversize(struct server *s,
                                       const struct srv_req *rq,
                                       const unsigned char *st,
                                       struct srv_reply *rp)
{
    (void)s; (void)st;
    reply(rp, rq, NULL, 0, NULL, 0);
    rp->len = SRV_BUF_LEN;     /* beyond any valid reply */
    return SRV_REPLY;
}

static enum srv_action script_busy(struct server *s, const struct srv_req *rq,
                                   const unsigned char *st,
                                   struct srv_reply *rp)
{
    (void)s; (void)st;
    reply_error(rp, rq, -EBUSY, "device 0 is claimed by another client");
    return SRV_REPLY;
}

/* MAP_MEMORY: a memfd of map_real bytes announced as map_announce. */
static uint64_t map_announce, map_real;

static enum srv_action script_map(struct server *s, const struct srv_req *rq,
                                  const unsigned char *st,
                                  struct srv_reply *rp)
{
    uint64_t sc[2] = { map_announce, MVF_BAR_MAPPABLE | MVF_BAR_IMPLEMENTED };
    int fd = memfd_create("srv-bar", MFD_CLOEXEC);

    (void)s; (void)st;
    assert_true(fd >= 0);
    assert_int_equal(ftruncate(fd, (off_t)map_real), 0);
    rp->fds[0] = fd;
    rp->n_fds = 1;
    reply(rp, rq, sc, 2, NULL, 0);
    return SRV_REPLY;
}

static enum srv_action script_wide_value(struct server *s,
                                         const struct srv_req *rq,
                                         const unsigned char *st,
                                         struct srv_reply *rp)
{
    uint64_t v = 0x12345;      /* does not fit the 2-byte read */

    (void)s; (void)st;
    reply(rp, rq, &v, 1, NULL, 0);
    return SRV_REPLY;
}

static enum srv_action script_no_scalars(struct server *s,
                                         const struct srv_req *rq,
                                         const unsigned char *st,
                                         struct srv_reply *rp)
{
    (void)s; (void)st;
    reply(rp, rq, NULL, 0, NULL, 0);
    return SRV_REPLY;
}

static enum srv_action script_bad_batch_status(struct server *s,
                                               const struct srv_req *rq,
                                               const unsigned char *st,
                                               struct srv_reply *rp)
{
    static struct mvf_dma_map_res res[4];
    uint64_t n = 4;

    (void)s; (void)st;
    memset(res, 0, sizeof(res));
    res[2].status = 5;         /* positive: not an errno */
    reply(rp, rq, &n, 1, res, sizeof(res));
    return SRV_REPLY;
}

static enum srv_action script_list(struct server *s, const struct srv_req *rq,
                                   const unsigned char *st,
                                   struct srv_reply *rp)
{
    static struct mvf_device_info d[3];
    uint64_t n = 3;

    (void)st;
    memset(d, 0, sizeof(d));
    for (uint32_t i = 0; i < 3; i++) {
        d[i].index = i;
        d[i].bus = (uint8_t)(i + 1);
        snprintf(d[i].name, sizeof(d[i].name), "%s", i ? "dup" : "one");
    }
    d[2].devfn = 3 << 3 | 1;
    if (s->mode == 1)
        d[1].index = 7;        /* lies about its position */
    memset(d[0].name, 'x', sizeof(d[0].name)); /* no NUL at all */
    reply(rp, rq, &n, 1, d, sizeof(d));
    return SRV_REPLY;
}

/* ---- tests ---------------------------------------------------------------- */

static void client_hello_and_calls(void **state)
{
    struct server s = { 0 };
    struct mvf_handle *h;
    uint32_t v = 0;

    (void)state;
    server_start(&s, script_ok);
    h = connect_ok(&s);
    assert_int_equal(mvf_server_version(h), MVF_ABI_VERSION);
    assert_int_equal(mvf_server_max_struct(h), MVF_MAX_STRUCT);
    assert_int_equal(mvf_device_count(h), SRV_DEVICES);
    assert_int_equal(mvf_config_read(h, 0x40, 4, &v), 0);
    assert_int_equal(v, 0x40);
    assert_int_equal(mvf_claim(h), 0);
    mvf_close(h);
    server_stop(&s);

    assert_true(s.seq_ok);
    assert_int_equal(s.n_reqs, 3);
    assert_int_equal(s.reqs[0].selector, MVF_SEL_HELLO);
    assert_int_equal(s.reqs[0].n_scalars, 2);
    assert_true(s.reqs[0].sc[0] == MVF_ABI_VERSION);
    assert_int_equal(s.reqs[1].selector, MVF_SEL_CONFIG_READ);
    assert_true(s.reqs[1].sc[0] == 0x40 && s.reqs[1].sc[1] == 4);
}

static void client_refuses_other_major(void **state)
{
    struct server s = { .hello_version = 2u << 16 | 3 };
    struct mvf_handle *h = NULL;

    (void)state;
    server_start(&s, script_ok);
    assert_int_equal(mvf_connect(s.path, &h), -EPROTO);
    assert_null(h);
    assert_non_null(strstr(mvf_last_error(), "ABI 2.3"));
    server_stop(&s);
}

static void client_refuses_tiny_max_struct(void **state)
{
    struct server s = { .max_struct = 8 };
    struct mvf_handle *h = NULL;

    (void)state;
    server_start(&s, script_ok);
    assert_int_equal(mvf_connect(s.path, &h), -EPROTO);
    assert_non_null(strstr(mvf_last_error(), "max_struct"));
    server_stop(&s);
}

static void client_dead_server_mid_call(void **state)
{
    struct server s = { 0 };
    struct mvf_handle *h;
    uint32_t v;

    (void)state;
    server_start(&s, script_close);
    h = connect_ok(&s);
    assert_int_equal(mvf_config_read(h, 0, 4, &v), -ECONNRESET);
    assert_non_null(strstr(mvf_last_error(), "closed the connection"));
    /* Later calls fail at once, without touching the socket. */
    assert_int_equal(mvf_claim(h), -ECONNRESET);
    assert_non_null(strstr(mvf_last_error(), "unusable"));
    mvf_close(h);
    server_stop(&s);
}

/* Sending to a server that is gone must not raise SIGPIPE (which would
 * kill this test process) but fail with -EPIPE. */
static void client_dead_server_before_send(void **state)
{
    struct server s = { .close_after_hello = true };
    struct mvf_handle *h;

    (void)state;
    server_start(&s, script_ok);
    h = connect_ok(&s);
    pthread_join(s.thread, NULL);   /* the server has closed its end */
    int rc = mvf_claim(h);
    assert_true(rc == -EPIPE || rc == -ECONNRESET);
    assert_non_null(strstr(mvf_last_error(), "CLAIM"));
    mvf_close(h);
    close(s.lfd);
    unlink(s.path);
    rmdir(s.dir);
    pthread_mutex_destroy(&s.lock);
}

static void client_wrong_seq_poisons_handle(void **state)
{
    struct server s = { 0 };
    struct mvf_handle *h;
    uint32_t v;

    (void)state;
    server_start(&s, script_wrong_seq);
    h = connect_ok(&s);
    assert_int_equal(mvf_config_read(h, 0, 4, &v), -EPROTO);
    assert_non_null(strstr(mvf_last_error(), "sequence"));
    unsigned before = server_requests(&s);
    assert_int_equal(mvf_config_read(h, 0, 4, &v), -EPROTO);
    assert_int_equal(server_requests(&s), before);
    mvf_close(h);
    server_stop(&s);
}

/* True once no read end of the pipe is open anywhere.  The writable
 * pipe polls POLLOUT at once, so wait (up to a second) for POLLERR: the
 * server thread closes its own copy just after sending. */
static bool read_end_closed(int write_end)
{
    for (int i = 0; i < 1000; i++) {
        struct pollfd p = { .fd = write_end, .events = POLLOUT };
        if (poll(&p, 1, 0) == 1 && (p.revents & POLLERR))
            return true;
        usleep(1000);
    }
    return false;
}

static void client_closes_stray_fds(void **state)
{
    struct server s = { 0 };
    struct mvf_handle *h;
    uint32_t v;

    (void)state;
    server_start(&s, script_stray_fd);
    h = connect_ok(&s);
    /* A failure with an fd: the status stands, the fd is closed. */
    assert_int_equal(mvf_config_read(h, 0, 4, &v), -EIO);
    assert_non_null(strstr(mvf_last_error(), "for no reason"));
    assert_true(read_end_closed(s.aux_fd));
    /* A success with an fd the call does not take: protocol error. */
    assert_int_equal(mvf_config_read(h, 0, 4, &v), -EPROTO);
    assert_non_null(strstr(mvf_last_error(), "fds"));
    assert_true(read_end_closed(s.aux_fd));
    mvf_close(h);
    server_stop(&s);
}

static void client_rejects_oversize_frame(void **state)
{
    struct server s = { 0 };
    struct mvf_handle *h;

    (void)state;
    server_start(&s, script_oversize);
    h = connect_ok(&s);
    assert_int_equal(mvf_claim(h), -EPROTO);
    assert_non_null(strstr(mvf_last_error(), "truncated"));
    mvf_close(h);
    server_stop(&s);
}

static void client_reports_server_message(void **state)
{
    struct server s = { 0 };
    struct mvf_handle *h;

    (void)state;
    server_start(&s, script_busy);
    h = connect_ok(&s);
    assert_int_equal(mvf_claim(h), -EBUSY);
    assert_string_equal(mvf_last_error(),
                        "CLAIM: device 0 is claimed by another client");
    /* An error reply is not a protocol error: the handle still works. */
    assert_int_equal(mvf_release(h), -EBUSY);
    mvf_close(h);
    server_stop(&s);
}

static void client_map_checks_fd_size(void **state)
{
    struct server s = { 0 };
    struct mvf_handle *h;
    uint64_t size = 0;
    uint32_t flags = 0;
    void *p = NULL;

    (void)state;
    server_start(&s, script_map);
    h = connect_ok(&s);
    map_announce = 8192;
    map_real = 8192;
    assert_int_equal(mvf_map_memory(h, MVF_MEM_BAR(2), &p, &size, &flags), 0);
    assert_true(size == 8192 && (flags & MVF_BAR_MAPPABLE));
    memset(p, 0xab, 8192);     /* writable, and no SIGBUS */
    assert_int_equal(mvf_unmap_memory(h, p, size), 0);

    /* A BAR announced larger than its fd would SIGBUS on touch. */
    map_announce = 1u << 20;
    map_real = 4096;
    assert_int_equal(mvf_map_memory(h, MVF_MEM_BAR(2), &p, &size, &flags),
                     -EPROTO);
    assert_non_null(strstr(mvf_last_error(), "announced"));
    mvf_close(h);
    server_stop(&s);
}

static void client_rejects_value_wider_than_width(void **state)
{
    struct server s = { 0 };
    struct mvf_handle *h;
    uint32_t v = 0;

    (void)state;
    server_start(&s, script_wide_value);
    h = connect_ok(&s);
    assert_int_equal(mvf_config_read(h, 2, 2, &v), -EPROTO);
    assert_int_equal(v, 0);
    mvf_close(h);
    server_stop(&s);
}

static void client_rejects_missing_scalars(void **state)
{
    struct server s = { 0 };
    struct mvf_handle *h;
    uint64_t iova = 0;

    (void)state;
    server_start(&s, script_no_scalars);
    h = connect_ok(&s);
    assert_int_equal(mvf_dma_map(h, 1, 0, 16384, MVF_DMA_READ, &iova), -EPROTO);
    assert_non_null(strstr(mvf_last_error(), "needs 1"));
    mvf_close(h);
    server_stop(&s);
}

static void client_validates_locally(void **state)
{
    struct server s = { 0 };
    struct mvf_handle *h;
    uint64_t v64;
    uint32_t v;
    int fds[2] = { -1, -7 };

    (void)state;
    server_start(&s, script_ok);
    h = connect_ok(&s);
    assert_int_equal(mvf_config_read(h, 0, 3, &v), -EINVAL);
    assert_int_equal(mvf_config_read(h, 4096, 4, &v), -ERANGE);
    assert_int_equal(mvf_config_read(h, 4094, 4, &v), -ERANGE);
    assert_int_equal(mvf_config_read(h, 2, 4, &v), -EINVAL);
    assert_int_equal(mvf_config_read(h, 0, 4, NULL), -EINVAL);
    assert_int_equal(mvf_config_write(h, 0, 1, 0x100), -EINVAL);
    assert_int_equal(mvf_mmio_read(h, 0, 0, 16, &v64), -EINVAL);
    assert_int_equal(mvf_mmio_read(h, 7, 0, 4, &v64), -EINVAL);
    assert_int_equal(mvf_mmio_write(h, 0, 4, 8, 0), -EINVAL);
    assert_int_equal(mvf_mmio_write(h, 0, 0, 2, 0x10000), -EINVAL);
    assert_int_equal(mvf_irq_set_eventfds(h, 5, 0, 1, NULL), -EINVAL);
    assert_int_equal(mvf_irq_set_eventfds(h, MVF_IRQ_MSIX, 0, 0, NULL), -EINVAL);
    assert_int_equal(mvf_irq_set_eventfds(h, MVF_IRQ_MSIX, 0, 2, fds), -EBADF);
    /* DMA lengths, offsets and flags are left to the server, whose
     * distinct errors are the ABI (tests/integration checks them). */
    assert_int_equal(mvf_dma_map(h, 1, 0, 16384, MVF_DMA_READ, NULL), -EINVAL);
    assert_int_equal(mvf_dma_register_fd(h, -1, 0, 4096, &v64), -EINVAL);
    assert_int_equal(mvf_map_memory(h, 0x99, (void **)&v64, &v64, NULL), -EINVAL);
    assert_int_equal(mvf_bar_info(h, 9, &v64, &v), -EINVAL);
    /* The server offers every feature, but the socket transport cannot
     * register client VAs. */
    assert_int_equal(mvf_dma_register_va(h, &v, 4, &v64), -EOPNOTSUPP);
    assert_int_equal(server_requests(&s), 1);  /* HELLO only */
    mvf_close(h);
    server_stop(&s);
}

static void client_splits_irq_set(void **state)
{
    struct server s = { 0 };
    struct mvf_handle *h;
    int fds[70];
    int efd = eventfd(0, EFD_CLOEXEC);

    (void)state;
    assert_true(efd >= 0);
    for (int i = 0; i < 70; i++)
        fds[i] = i % 3 == 0 ? -1 : efd;
    server_start(&s, script_ok);
    h = connect_ok(&s);
    assert_int_equal(mvf_irq_set_eventfds(h, MVF_IRQ_MSIX, 10, 70, fds), 0);
    mvf_close(h);
    server_stop(&s);
    close(efd);

    assert_int_equal(s.n_reqs, 3);
    for (unsigned r = 1; r <= 2; r++) {
        const struct srv_req *q = &s.reqs[r];
        uint64_t start = r == 1 ? 10 : 74, count = r == 1 ? 64 : 6, mask = 0;
        for (uint64_t i = 0; i < count; i++)
            if ((start - 10 + i) % 3)
                mask |= 1ull << i;
        assert_int_equal(q->selector, MVF_SEL_IRQ_SET);
        assert_true(q->sc[0] == MVF_IRQ_MSIX && q->sc[1] == MVF_IRQ_ACT_TRIGGER);
        assert_true(q->sc[2] == start && q->sc[3] == count);
        assert_true(q->sc[4] == mask);
        assert_int_equal(q->n_fds, __builtin_popcountll(mask));
    }
}

static void run_batch(uint32_t max_struct, uint32_t n, unsigned want_calls)
{
    struct server s = { .max_struct = max_struct };
    struct mvf_dma_map_req *reqs = calloc(n, sizeof(*reqs));
    struct mvf_dma_map_res *res = calloc(n, sizeof(*res));
    struct mvf_handle *h;

    assert_non_null(reqs);
    assert_non_null(res);
    for (uint32_t i = 0; i < n; i++) {
        reqs[i].handle = 1;
        reqs[i].offset = (uint64_t)i * 16384;
        reqs[i].length = 16384;
        reqs[i].flags = MVF_DMA_READ;
    }
    server_start(&s, script_ok);
    h = connect_ok(&s);
    assert_int_equal(mvf_dma_map_batch(h, reqs, res, n), 0);
    mvf_close(h);
    server_stop(&s);
    for (uint32_t i = 0; i < n; i++) {
        assert_int_equal(res[i].status, 0);
        assert_true(res[i].iova == reqs[i].offset + 0x1000000);
    }
    assert_int_equal(s.n_reqs, 1 + want_calls);
    for (unsigned r = 1; r <= want_calls && r < SRV_MAX_RECORDED; r++) {
        assert_true(s.reqs[r].struct_len <= max_struct);
        assert_true(s.reqs[r].struct_len / sizeof(*reqs) <= MVF_MAX_BATCH);
    }
    free(reqs);
    free(res);
}

static void client_splits_batches(void **state)
{
    (void)state;
    run_batch(MVF_MAX_STRUCT, 1500, 2);   /* 1024 + 476: MVF_MAX_BATCH */
    run_batch(256, 20, 3);                /* 8 + 8 + 4: the server's size */
    run_batch(MVF_MAX_STRUCT, 1, 1);
}

static void client_rejects_bad_batch_status(void **state)
{
    struct server s = { 0 };
    struct mvf_dma_map_req reqs[4] = { 0 };
    struct mvf_dma_map_res res[4];
    struct mvf_handle *h;

    (void)state;
    server_start(&s, script_bad_batch_status);
    h = connect_ok(&s);
    assert_int_equal(mvf_dma_map_batch(h, reqs, res, 4), -EPROTO);
    for (int i = 0; i < 4; i++)
        assert_int_equal(res[i].status, -EPROTO);
    mvf_close(h);
    server_stop(&s);
}

static void client_finds_devices(void **state)
{
    struct server s = { 0 };
    struct mvf_device_info d[3];
    struct mvf_handle *h;
    uint32_t idx = 99;

    (void)state;
    server_start(&s, script_list);
    h = connect_ok(&s);
    assert_int_equal(mvf_device_list(h, d, 3), 3);
    assert_int_equal(d[0].name[sizeof(d[0].name) - 1], '\0');
    assert_int_equal(mvf_device_list(h, d, 1), 3);   /* like snprintf */
    assert_int_equal(mvf_device_find(h, "02:00.0", &idx), 0);
    assert_int_equal(idx, 1);
    assert_int_equal(mvf_device_find(h, "0000:03:03.1", &idx), 0);
    assert_int_equal(idx, 2);
    assert_int_equal(mvf_device_find(h, "dup", &idx), -EINVAL);
    assert_int_equal(mvf_device_find(h, "09:00.0", &idx), -ENODEV);
    assert_int_equal(mvf_device_find(h, "nothing", &idx), -ENODEV);
    mvf_close(h);
    server_stop(&s);

    struct server liar = { .mode = 1 };
    server_start(&liar, script_list);
    h = connect_ok(&liar);
    assert_int_equal(mvf_device_list(h, d, 3), -EPROTO);
    assert_non_null(strstr(mvf_last_error(), "claims index 7"));
    mvf_close(h);
    server_stop(&liar);
}

static void bdf_parse_and_format(void **state)
{
    struct mvf_device_info info = { .domain = 0xa, .bus = 0x3f, .devfn = 0x1f << 3 | 7 };
    char buf[MVF_BDF_STRLEN];
    uint16_t dom;
    uint8_t bus, devfn;

    (void)state;
    mvf_bdf_format(&info, buf);
    assert_string_equal(buf, "000a:3f:1f.7");
    assert_int_equal(mvf_bdf_parse(buf, &dom, &bus, &devfn), 0);
    assert_true(dom == 0xa && bus == 0x3f && devfn == info.devfn);
    assert_int_equal(mvf_bdf_parse("01:00.0", &dom, &bus, &devfn), 0);
    assert_true(dom == 0 && bus == 1 && devfn == 0);
    assert_int_equal(mvf_bdf_parse("00:20.0", &dom, &bus, &devfn), -EINVAL);
    assert_int_equal(mvf_bdf_parse("00:00.8", &dom, &bus, &devfn), -EINVAL);
    assert_int_equal(mvf_bdf_parse("00:00.0x", &dom, &bus, &devfn), -EINVAL);
    assert_int_equal(mvf_bdf_parse("10000:00:00.0", &dom, &bus, &devfn), -EINVAL);
    assert_int_equal(mvf_bdf_parse("100:00.0", &dom, &bus, &devfn), -EINVAL);
    assert_int_equal(mvf_bdf_parse("", &dom, &bus, &devfn), -EINVAL);
    assert_int_equal(mvf_bdf_parse("sim:dmatest", &dom, &bus, &devfn), -EINVAL);
}

/* Several threads on one handle: each reply reaches its own caller. */
struct reader {
    struct mvf_handle *h;
    uint32_t base;
    int errors;
};

static void *reader_main(void *arg)
{
    struct reader *r = arg;

    for (uint32_t i = 0; i < 200; i++) {
        uint32_t off = (r->base + i * 4) % MVF_CONFIG_SPACE, v = ~0u;
        if (mvf_config_read(r->h, off, 4, &v) != 0 || v != off)
            r->errors++;
    }
    return NULL;
}

static void client_is_thread_safe(void **state)
{
    struct server s = { 0 };
    struct reader rd[4];
    pthread_t t[4];
    struct mvf_handle *h;

    (void)state;
    server_start(&s, script_ok);
    h = connect_ok(&s);
    for (int i = 0; i < 4; i++) {
        rd[i] = (struct reader){ h, (uint32_t)i * 1024, 0 };
        assert_int_equal(pthread_create(&t[i], NULL, reader_main, &rd[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(t[i], NULL);
        assert_int_equal(rd[i].errors, 0);
    }
    mvf_close(h);
    server_stop(&s);
    assert_true(s.seq_ok);
    assert_int_equal(s.n_reqs, 1 + 4 * 200);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(encode_lays_out_header_scalars_struct),
        cmocka_unit_test(encode_refuses_impossible_calls),
        cmocka_unit_test(encode_posted_sets_the_selector_bit),
        cmocka_unit_test(decode_posted_error_flag),
        cmocka_unit_test(decode_success_with_scalars_and_struct),
        cmocka_unit_test(decode_accepts_extra_scalars_and_expected_fds),
        cmocka_unit_test(decode_error_reply_keeps_status_and_message),
        cmocka_unit_test(decode_error_message_is_made_printable),
        cmocka_unit_test(decode_empty_error_message_gets_errno_text),
        cmocka_unit_test(decode_error_message_may_exceed_small_struct_cap),
        cmocka_unit_test(decode_rejects_short_frame),
        cmocka_unit_test(decode_rejects_bad_magic_and_seq),
        cmocka_unit_test(decode_rejects_length_mismatch),
        cmocka_unit_test(decode_rejects_fd_count_mismatch),
        cmocka_unit_test(decode_rejects_bad_status),
        cmocka_unit_test(decode_rejects_missing_scalars_and_oversize_struct),
        cmocka_unit_test(decode_rejects_oversize_error_message),
        cmocka_unit_test(decode_largest_valid_reply),
        cmocka_unit_test(selector_names),
        cmocka_unit_test(bdf_parse_and_format),
        cmocka_unit_test(client_hello_and_calls),
        cmocka_unit_test(client_refuses_other_major),
        cmocka_unit_test(client_refuses_tiny_max_struct),
        cmocka_unit_test(client_dead_server_mid_call),
        cmocka_unit_test(client_dead_server_before_send),
        cmocka_unit_test(client_wrong_seq_poisons_handle),
        cmocka_unit_test(client_closes_stray_fds),
        cmocka_unit_test(client_rejects_oversize_frame),
        cmocka_unit_test(client_reports_server_message),
        cmocka_unit_test(client_map_checks_fd_size),
        cmocka_unit_test(client_rejects_value_wider_than_width),
        cmocka_unit_test(client_rejects_missing_scalars),
        cmocka_unit_test(client_validates_locally),
        cmocka_unit_test(client_splits_irq_set),
        cmocka_unit_test(client_splits_batches),
        cmocka_unit_test(client_rejects_bad_batch_status),
        cmocka_unit_test(client_finds_devices),
        cmocka_unit_test(client_is_thread_safe),
    };

    return cmocka_run_group_tests_name("wire_client", tests, NULL, NULL);
}

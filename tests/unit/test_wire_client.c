/* SPDX-License-Identifier: MIT */
/* Unit tests of the client frame codec (lib/wire_client.c): requests it
 * builds, and how it treats good and hostile replies. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "lib/wire_client.h"

/* ---- helpers --------------------------------------------------------- */

struct frame {
    unsigned char buf[MVFL_WIRE_MAX_REPLY + 64];
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
    assert_int_equal(f.len, MVFL_WIRE_MAX_REPLY);
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(encode_lays_out_header_scalars_struct),
        cmocka_unit_test(encode_refuses_impossible_calls),
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
    };

    return cmocka_run_group_tests_name("wire_client", tests, NULL, NULL);
}

/* SPDX-License-Identifier: MIT */
/*
 * The core in-process (no socket): dispatcher shape rules, the daemon's
 * frame codec, the config-space policy register by register, and
 * session cleanup.  Device: the real sim:dmatest; host ops: the real
 * Linux ones (memfd, eventfd).
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "config_policy.h"
#include "frame.h"
#include "host_linux.h"
#include "macvfio/dmatest.h"
#include "registry.h"

struct fixture {
    struct mvf_core *core;
    struct mvf_session *s;
};

static int setup(void **state)
{
    static struct fixture f;
    struct mvf_provider p;
    char err[256];

    mvf_linux_set_log_level(MVF_LOG_ERROR);
    memset(&p, 0, sizeof(p));
    f.core = mvf_core_create(&mvf_linux_host_ops, NULL);
    if (!f.core || mvf_sim_create("sim:dmatest", &p, err, sizeof(err)) ||
        mvf_core_add_device(f.core, &p, NULL, NULL))
        return -1;
    f.s = mvf_session_create(f.core);
    *state = &f;
    return f.s ? 0 : -1;
}

static int teardown(void **state)
{
    struct fixture *f = *state;

    mvf_session_destroy(f->s);
    mvf_core_destroy(f->core);
    return 0;
}

/* One call through the dispatcher; returns its status. */
static int call(struct mvf_session *s, uint32_t sel, const uint64_t *in,
                uint32_t n, uint64_t *out0)
{
    static uint8_t sbuf[MVF_MAX_STRUCT];
    struct mvf_call c;
    int ret;

    memset(&c, 0, sizeof(c));
    c.selector = sel;
    c.in = in;
    c.n_in = n;
    c.struct_out = sbuf;
    c.struct_out_cap = sizeof(sbuf);
    ret = mvf_dispatch(s, &c);
    if (ret)
        assert_true(c.err[0] != '\0');      /* every failure says why */
    if (!ret && out0 && c.n_out)
        *out0 = c.out[0];
    if (c.obj_out >= 0)
        close(c.obj_out);
    return ret;
}

static void open_claim(struct mvf_session *s)
{
    uint64_t hello[2] = { MVF_ABI_VERSION, 0 }, idx = 0;

    assert_int_equal(call(s, MVF_SEL_HELLO, hello, 2, NULL), 0);
    assert_int_equal(call(s, MVF_SEL_DEVICE_OPEN, &idx, 1, NULL), 0);
    assert_int_equal(call(s, MVF_SEL_CLAIM, NULL, 0, NULL), 0);
}

static uint32_t cfg_read(struct mvf_session *s, uint32_t off, uint32_t w)
{
    uint64_t in[2] = { off, w }, v = ~0ull;

    assert_int_equal(call(s, MVF_SEL_CONFIG_READ, in, 2, &v), 0);
    return (uint32_t)v;
}

static void cfg_write(struct mvf_session *s, uint32_t off, uint32_t w, uint32_t v)
{
    uint64_t in[3] = { off, w, v };

    assert_int_equal(call(s, MVF_SEL_CONFIG_WRITE, in, 3, NULL), 0);
}

static uint32_t find_cap(struct mvf_session *s, uint8_t id)
{
    uint32_t p = cfg_read(s, 0x34, 1);

    for (int i = 0; p && i < 48; i++) {
        if (cfg_read(s, p, 1) == id)
            return p;
        p = cfg_read(s, p + 1, 1);
    }
    fail_msg("capability 0x%x not found", id);
    return 0;
}

static void test_shape_rules(void **state)
{
    struct fixture *f = *state;
    struct mvf_session *s = mvf_session_create(f->core);
    uint64_t hello[2] = { MVF_ABI_VERSION, 0 }, bad[2] = { 2u << 16, 0 };
    uint64_t idx = 0, v;

    assert_int_equal(call(s, MVF_SEL_DEVICE_LIST, NULL, 0, NULL), -EPROTO);
    assert_int_equal(call(s, MVF_SEL_HELLO, bad, 2, NULL), -EPROTO);
    assert_int_equal(call(s, MVF_SEL_HELLO, hello, 1, NULL), -EINVAL);
    assert_int_equal(call(s, MVF_SEL_HELLO, hello, 2, &v), 0);
    assert_int_equal(v, MVF_ABI_VERSION);
    assert_int_equal(call(s, MVF_SEL_DEVICE_INFO, NULL, 0, NULL), -ENODEV);
    assert_int_equal(call(s, MVF_SEL_COUNT, NULL, 0, NULL), -ENOSYS);
    assert_int_equal(call(s, 0xffffffffu, NULL, 0, NULL), -ENOSYS);
    idx = 5;
    assert_int_equal(call(s, MVF_SEL_DEVICE_OPEN, &idx, 1, NULL), -ENODEV);
    idx = 0;
    assert_int_equal(call(s, MVF_SEL_DEVICE_OPEN, &idx, 1, NULL), 0);
    assert_int_equal(call(s, MVF_SEL_RESET, NULL, 0, NULL), -EACCES);
    assert_int_equal(call(s, MVF_SEL_RELEASE, NULL, 0, NULL), -EACCES);
    assert_int_equal(call(s, MVF_SEL_CLAIM, NULL, 0, NULL), 0);
    assert_int_equal(call(s, MVF_SEL_CLAIM, NULL, 0, NULL), 0);  /* idempotent */
    /* A second session is refused while this one owns the device. */
    assert_int_equal(call(f->s, MVF_SEL_HELLO, hello, 2, NULL), 0);
    assert_int_equal(call(f->s, MVF_SEL_DEVICE_OPEN, &idx, 1, NULL), 0);
    assert_int_equal(call(f->s, MVF_SEL_CLAIM, NULL, 0, NULL), -EBUSY);
    /* Re-opening while claimed is refused too. */
    assert_int_equal(call(s, MVF_SEL_DEVICE_OPEN, &idx, 1, NULL), -EBUSY);
    mvf_session_destroy(s);              /* implicit release */
    assert_int_equal(call(f->s, MVF_SEL_CLAIM, NULL, 0, NULL), 0);
    assert_int_equal(call(f->s, MVF_SEL_RELEASE, NULL, 0, NULL), 0);
}

static void test_frame_codec(void **state)
{
    struct fixture *f = *state;
    static struct mvf_frame_reply rep;
    uint8_t buf[sizeof(struct mvf_wire_req) + 16];
    struct mvf_wire_req h = {
        .magic = MVF_WIRE_MAGIC_REQ, .seq = 42, .selector = MVF_SEL_HELLO,
        .n_scalars = 2, .max_struct_out = 64,
    };
    uint64_t sc[2] = { MVF_ABI_VERSION, 0 };
    struct mvf_wire_rep r;

    memcpy(buf, &h, sizeof(h));
    memcpy(buf + sizeof(h), sc, sizeof(sc));
    assert_int_equal(mvf_frame_handle(f->s, buf, sizeof(buf), NULL, 0, 0, &rep), 0);
    memcpy(&r, rep.buf, sizeof(r));
    assert_int_equal(r.magic, MVF_WIRE_MAGIC_REP);
    assert_int_equal(r.seq, 42);
    assert_int_equal(r.n_scalars, 4);
    assert_int_equal(rep.len, sizeof(r) + 32);
    assert_int_equal(rep.obj, -1);

    /* DEVICE_LIST with too small an output buffer: -ENOBUFS, message. */
    h.selector = MVF_SEL_DEVICE_LIST;
    h.n_scalars = 0;
    h.max_struct_out = 16;
    memcpy(buf, &h, sizeof(h));
    assert_int_equal(mvf_frame_handle(f->s, buf, sizeof(h), NULL, 0, 0, &rep),
                     -ENOBUFS);
    memcpy(&r, rep.buf, sizeof(r));
    assert_int_equal(r.status, -ENOBUFS);
    assert_int_equal(r.n_scalars, 0);
    assert_true(r.struct_len > 1);
    assert_int_equal(rep.buf[sizeof(r) + r.struct_len - 1], '\0');
    /* A structure output lands right after the scalars. */
    h.max_struct_out = MVF_MAX_STRUCT;
    memcpy(buf, &h, sizeof(h));
    assert_int_equal(mvf_frame_handle(f->s, buf, sizeof(h), NULL, 0, 0, &rep), 0);
    memcpy(&r, rep.buf, sizeof(r));
    assert_int_equal(r.n_scalars, 1);
    assert_int_equal(r.struct_len, sizeof(struct mvf_device_info));
    assert_string_equal((const char *)rep.buf + sizeof(r) + 8 +
                        offsetof(struct mvf_device_info, name), "sim:dmatest");
    /* Length mismatch, truncation, fd count mismatch. */
    assert_int_equal(mvf_frame_handle(f->s, buf, sizeof(h) + 3, NULL, 0, 0, &rep),
                     -EPROTO);
    assert_int_equal(mvf_frame_handle(f->s, buf, sizeof(h), NULL, 0, 1, &rep),
                     -EMSGSIZE);
    assert_int_equal(mvf_frame_handle(f->s, buf, sizeof(h), (int[]){ 0 }, 1, 0, &rep),
                     -EBADF);
}

/* A request frame of n scalars into buf; returns its length. */
static size_t make_frame(uint8_t *buf, uint32_t seq, uint32_t sel,
                         const uint64_t *sc, uint16_t n)
{
    struct mvf_wire_req h = {
        .magic = MVF_WIRE_MAGIC_REQ, .seq = seq, .selector = sel,
        .n_scalars = n, .max_struct_out = MVF_MAX_STRUCT,
    };

    memcpy(buf, &h, sizeof(h));
    if (n)
        memcpy(buf + sizeof(h), sc, 8u * n);
    return sizeof(h) + 8u * n;
}

/* The scratch register through a synchronous MMIO_READ frame; asserts
 * the reply is a plain success. */
static uint64_t frame_read_scratch(struct mvf_session *s, uint32_t seq,
                                   struct mvf_frame_reply *rep)
{
    const uint64_t rd[3] = { 0, MVF_DMATEST_REG_SCRATCH, 4 };
    uint8_t buf[sizeof(struct mvf_wire_req) + 24];
    struct mvf_wire_rep r;
    uint64_t v;

    assert_int_equal(mvf_frame_handle(s, buf, make_frame(buf, seq,
                     MVF_SEL_MMIO_READ, rd, 3), NULL, 0, 0, rep), 0);
    memcpy(&r, rep->buf, sizeof(r));
    assert_int_equal(r.seq, seq);
    assert_int_equal(r.flags, 0);
    assert_int_equal(r.n_scalars, 1);
    memcpy(&v, rep->buf + sizeof(r), 8);
    return v;
}

/* Posted requests (abi.h, "Posted requests") at the frame layer. */
static void test_posted_frames(void **state)
{
    const uint32_t posted = MVF_WIRE_SEL_POSTED;
    struct fixture *f = *state;
    static struct mvf_frame_reply rep;
    uint8_t buf[sizeof(struct mvf_wire_req) + 32];
    uint64_t wr[4] = { 0, MVF_DMATEST_REG_SCRATCH, 4, 0x1234 };
    struct mvf_stats st0, st;
    struct mvf_wire_rep r;
    const char *msg;
    size_t len;

    open_claim(f->s);
    mvf_device_stats(mvf_core_device(f->core, 0), &st0);
    /* Run in order, no reply: the next read sees the write. */
    len = make_frame(buf, 1, MVF_SEL_MMIO_WRITE | posted, wr, 4);
    assert_int_equal(mvf_frame_handle(f->s, buf, len, NULL, 0, 0, &rep), 0);
    assert_int_equal(rep.len, 0);
    assert_int_equal(frame_read_scratch(f->s, 2, &rep), 0x1234);

    /* Three failures, none answered: outside the BAR, a selector that
     * may not be posted (not run), a frame whose length is wrong. */
    wr[1] = 1ull << 40;
    len = make_frame(buf, 3, MVF_SEL_MMIO_WRITE | posted, wr, 4);
    assert_int_equal(mvf_frame_handle(f->s, buf, len, NULL, 0, 0, &rep), -ERANGE);
    assert_int_equal(rep.len, 0);
    len = make_frame(buf, 4, MVF_SEL_RESET | posted, NULL, 0);
    assert_int_equal(mvf_frame_handle(f->s, buf, len, NULL, 0, 0, &rep), -EINVAL);
    assert_int_equal(rep.len, 0);
    assert_int_equal(rep.obj, -1);      /* nothing for the caller to close */
    wr[1] = MVF_DMATEST_REG_SCRATCH;
    wr[3] = 0x5678;
    len = make_frame(buf, 5, MVF_SEL_MMIO_WRITE | posted, wr, 4);
    assert_int_equal(mvf_frame_handle(f->s, buf, len - 1, NULL, 0, 0, &rep),
                     -EPROTO);
    assert_int_equal(rep.len, 0);
    mvf_device_stats(mvf_core_device(f->core, 0), &st);
    assert_int_equal(st.posted_writes - st0.posted_writes, 4);
    assert_int_equal(st.posted_errors - st0.posted_errors, 3);
    assert_int_equal(st.resets, st0.resets);

    /* The next synchronous request reports the first, is not run... */
    len = make_frame(buf, 6, MVF_SEL_MMIO_WRITE, wr, 4);
    assert_int_equal(mvf_frame_handle(f->s, buf, len, NULL, 0, 0, &rep), -EIO);
    memcpy(&r, rep.buf, sizeof(r));
    assert_int_equal(r.seq, 6);
    assert_int_equal(r.status, -EIO);
    assert_int_equal(r.flags, MVF_WIRE_REP_POSTED_ERROR);
    assert_int_equal(rep.len, sizeof(r) + r.struct_len);
    msg = (const char *)rep.buf + sizeof(r);
    assert_int_equal(msg[r.struct_len - 1], '\0');
    assert_non_null(strstr(msg, "posted MMIO_WRITE (seq 3) of BAR 0 at "
                           "0x10000000000 failed (-34): "));
    assert_non_null(strstr(msg, "outside BAR 0"));
    assert_non_null(strstr(msg, "(and 2 more)"));
    assert_int_equal(frame_read_scratch(f->s, 7, &rep), 0x1234);
    /* ...and the report comes once: the same write now runs. */
    assert_int_equal(mvf_frame_handle(f->s, buf, len, NULL, 0, 0, &rep), 0);
    memcpy(&r, rep.buf, sizeof(r));
    assert_int_equal(r.flags, 0);
    assert_int_equal(frame_read_scratch(f->s, 8, &rep), 0x5678);
    assert_int_equal(call(f->s, MVF_SEL_RELEASE, NULL, 0, NULL), 0);
}

static void test_config_policy_caps(void **state)
{
    struct fixture *f = *state;
    uint32_t pm, msix, pcie, v, before;

    open_claim(f->s);
    pm = find_cap(f->s, 0x01);
    msix = find_cap(f->s, 0x11);
    pcie = find_cap(f->s, 0x10);

    /* PM power state is virtualized: the guest's D3 never reaches the
     * device, but reads back. */
    cfg_write(f->s, pm + 4, 2, 0x0003);
    assert_int_equal(cfg_read(f->s, pm + 4, 2) & 3, 3);
    cfg_write(f->s, pm + 4, 2, 0x0000);
    assert_int_equal(cfg_read(f->s, pm + 4, 2) & 3, 0);

    /* MSI-X enable/mask are the client's view (enabling is IRQ_SET's
     * job); the table size stays read-only. */
    before = cfg_read(f->s, msix + 2, 2);
    cfg_write(f->s, msix + 2, 2, 0xc000 | 0x7ff);
    v = cfg_read(f->s, msix + 2, 2);
    assert_int_equal(v & 0xc000, 0xc000);
    assert_int_equal(v & 0x7ff, before & 0x7ff);

    /* PCIe device control: max payload is virtualized, initiate-FLR is
     * dropped (resets go through RESET). */
    cfg_write(f->s, pcie + 8, 2, 0x8000 | (5u << 5));
    v = cfg_read(f->s, pcie + 8, 2);
    assert_int_equal(v & 0x8000, 0);
    assert_int_equal((v >> 5) & 7, 5);

    /* Link control is the host's: virtualized. */
    cfg_write(f->s, pcie + 0x10, 2, 0x0003);
    assert_int_equal(cfg_read(f->s, pcie + 0x10, 2) & 3, 3);

    /* Capability pointers never change. */
    cfg_write(f->s, 0x34, 1, 0x80);
    assert_int_equal(cfg_read(f->s, 0x34, 1), pm);

    /* Unimplemented BAR1 sizes to 0; ROM BAR too. */
    cfg_write(f->s, 0x14, 4, 0xffffffff);
    assert_int_equal(cfg_read(f->s, 0x14, 4), 0);
    cfg_write(f->s, 0x30, 4, 0xffffffff);
    assert_int_equal(cfg_read(f->s, 0x30, 4), 0);
    /* Byte-wide BAR writes still keep the type bits. */
    cfg_write(f->s, 0x18, 1, 0xff);
    assert_int_equal(cfg_read(f->s, 0x18, 1) & 0xf, 0xc);

    /* Release resets the shadow: PM state and BARs back to power-on. */
    cfg_write(f->s, pm + 4, 2, 0x0003);
    assert_int_equal(call(f->s, MVF_SEL_RELEASE, NULL, 0, NULL), 0);
    assert_int_equal(call(f->s, MVF_SEL_CLAIM, NULL, 0, NULL), 0);
    assert_int_equal(cfg_read(f->s, pm + 4, 2) & 3, 0);
    assert_int_equal(cfg_read(f->s, 0x18, 4), 0xc);
    assert_int_equal(call(f->s, MVF_SEL_RELEASE, NULL, 0, NULL), 0);
}

/* The policy checks an access before it touches its tables, whoever
 * calls it (the dispatcher checks too, but the policy must not rely on
 * that). */
static void test_config_policy_checks_before_indexing(void **state)
{
    static const struct { uint32_t off, width; int err; } bad[] = {
        { 4096, 1, -ERANGE }, { 4094, 4, -ERANGE }, { 0xfffffff0u, 4, -ERANGE },
        { 0x7fffffffu, 1, -ERANGE }, { 2, 4, -EINVAL }, { 0, 3, -EINVAL },
        { 0x40, 0x80000000u, -EINVAL },
    };
    static struct mvf_cfg_policy pol;
    struct mvf_provider p;
    char err[256];

    memset(&p, 0, sizeof(p));
    assert_int_equal(mvf_sim_create("sim:dmatest", &p, err, sizeof(err)), 0);
    assert_int_equal(mvf_cfg_policy_init(&pol, &p, err, sizeof(err)), 0);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        uint32_t v = 0x1234;
        bool dropped = false;

        assert_int_equal(mvf_cfg_read(&pol, &p, bad[i].off, bad[i].width, &v),
                         bad[i].err);
        assert_int_equal(v, 0x1234);
        assert_int_equal(mvf_cfg_write(&pol, &p, bad[i].off, bad[i].width, 0,
                                       &dropped), bad[i].err);
    }
    p.ops->destroy(p.priv);
}

static void test_cleanup_releases_everything(void **state)
{
    struct fixture *f = *state;
    struct mvf_session *s = mvf_session_create(f->core);
    int mfd = memfd_create("t", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    struct mvf_stats st;
    struct mvf_call c;
    uint64_t reg[3] = { 1 << 20, 0, MVF_DMA_REG_FD }, handle = 0, iova;

    assert_int_equal(ftruncate(mfd, 1 << 20), 0);
    assert_int_equal(fcntl(mfd, F_ADD_SEALS, F_SEAL_SHRINK), 0);
    open_claim(s);
    memset(&c, 0, sizeof(c));
    c.selector = MVF_SEL_DMA_REGISTER;
    c.in = reg;
    c.n_in = 3;
    c.objs_in = &mfd;
    c.n_objs_in = 1;
    assert_int_equal(mvf_dispatch(s, &c), 0);
    handle = c.out[0];
    for (uint64_t i = 0; i < 4; i++) {
        uint64_t m[4] = { handle, i * MVF_DART_GRANULE, MVF_DART_GRANULE,
                          MVF_DMA_READ };
        assert_int_equal(call(s, MVF_SEL_DMA_MAP, m, 4, &iova), 0);
    }
    mvf_device_stats(mvf_core_device(f->core, 0), &st);
    assert_int_equal(st.live_mappings, 4);
    assert_int_equal(st.registered_bytes, 1 << 20);
    mvf_session_destroy(s);
    mvf_device_stats(mvf_core_device(f->core, 0), &st);
    assert_int_equal(st.live_mappings, 0);
    assert_int_equal(st.mapped_bytes, 0);
    assert_int_equal(st.registered_bytes, 0);
    close(mfd);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_shape_rules),
        cmocka_unit_test(test_frame_codec),
        cmocka_unit_test(test_posted_frames),
        cmocka_unit_test(test_config_policy_caps),
        cmocka_unit_test(test_config_policy_checks_before_indexing),
        cmocka_unit_test(test_cleanup_releases_everything),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

/* SPDX-License-Identifier: MIT */
/*
 * The core's seams for a host whose platform assigns IOVAs (the dext:
 * PrepareForDMA): the provider DMA hook and what the core checks before
 * calling it, memory registered by client virtual address, the client
 * context handed to host ops, transport features and max_struct taken
 * from the host, and LAST_ERROR.
 *
 * Device: the real sim:dmatest, its provider ops extended with a fake
 * platform mapper that records every call and hands out IOVAs the test
 * scripts (so the core's checks of what comes back can be driven).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "core.h"
#include "registry.h"

#define GRANULE  MVF_DART_GRANULE
#define PLAT_BASE 0x8000000000ull  /* where the fake platform places maps */
#define MEM_LEN  (8 * GRANULE)

/* ---- a fake platform mapper ---------------------------------------- */

struct plat_map {
    uint64_t iova, len;
    void *mem_platform;
    bool live;
};

static struct {
    unsigned maps, unmaps;        /* calls */
    uint64_t next_iova;           /* what the next dma_map returns */
    int fail;                     /* next dma_map fails with this */
    uint32_t last_dirs;
    uint64_t last_off, last_len;
    struct plat_map rec[64];
} plat;

static int plat_dma_map(void *p, struct mvf_client_mem *mem, uint64_t off,
                        uint64_t len, uint32_t dirs, uint64_t *iova,
                        void **token, char *err, size_t errlen)
{
    struct plat_map *m;

    plat.maps++;
    plat.last_off = off;
    plat.last_len = len;
    plat.last_dirs = dirs;
    if (plat.fail) {
        snprintf(err, errlen, "PrepareForDMA said no");
        return plat.fail;
    }
    assert_true(plat.maps <= 64);
    m = &plat.rec[plat.maps - 1];
    m->iova = plat.next_iova;
    m->len = len;
    m->mem_platform = mem->platform;
    m->live = true;
    plat.next_iova += (len + GRANULE - 1) / GRANULE * GRANULE;
    *iova = m->iova;
    *token = m;
    return 0;
}

static void plat_dma_unmap(void *p, void *token)
{
    struct plat_map *m = token;

    assert_true(m->live);       /* never twice */
    m->live = false;
    plat.unmaps++;
}

static unsigned plat_live(void)
{
    unsigned n = 0;

    for (unsigned i = 0; i < plat.maps && i < 64; i++)
        n += plat.rec[i].live;
    return n;
}

/* ---- host ops: memory by VA, a client context --------------------- */

static struct {
    void *last_client;
    unsigned mem_creates;
} hostrec;

static int marker_platform;   /* what mem->platform points at */

static void *va_host_ptr(struct mvf_client_mem *m, uint64_t off, uint64_t len)
{
    return (uint8_t *)m->priv + off;
}

static void va_release(struct mvf_client_mem *m)
{
    free(m);
}

static int va_mem_create(void *host, void *client, int fd, uint64_t arg,
                         uint64_t length, uint32_t flags,
                         struct mvf_client_mem **out, char *err, size_t errlen)
{
    struct mvf_client_mem *m;

    hostrec.last_client = client;
    hostrec.mem_creates++;
    assert_int_equal(fd, -1);
    assert_int_equal(flags, MVF_DMA_REG_VA);
    m = calloc(1, sizeof(*m));
    assert_non_null(m);
    m->length = length;
    m->host_ptr = va_host_ptr;
    m->release = va_release;
    m->priv = (void *)(uintptr_t)arg;
    m->platform = &marker_platform;
    *out = m;
    return 0;
}

static void quiet_log(void *host, enum mvf_log_level lvl, const char *msg)
{
}

/* What an IOKit host announces: state page and VA registration only,
 * structures up to 4096 bytes. */
static const struct mvf_host_ops va_hops = {
    .mem_create = va_mem_create,
    .log = quiet_log,
    .transport_features = MVF_FEAT_IRQ_STATE_PAGE | MVF_FEAT_DMA_VA |
                          MVF_FEAT_DMA_FD << 32,  /* not a transport bit */
    .max_struct = 4096,
};

/* ---- fixture -------------------------------------------------------- */

struct fixture {
    struct mvf_core *core;
    struct mvf_session *s;
    struct mvf_provider_ops ops;  /* sim:dmatest's plus the platform's */
    uint8_t *mem;                 /* "client memory" */
    int client_ctx;
};

static int setup_with(void **state, const struct mvf_dart_config *dart)
{
    struct fixture *f = calloc(1, sizeof(*f));
    struct mvf_provider p;
    char err[256];

    memset(&plat, 0, sizeof(plat));
    memset(&hostrec, 0, sizeof(hostrec));
    plat.next_iova = PLAT_BASE;
    if (!f || mvf_sim_create("sim:dmatest", &p, err, sizeof(err)))
        return -1;
    f->ops = *p.ops;
    f->ops.dma_map = plat_dma_map;
    f->ops.dma_unmap = plat_dma_unmap;
    p.ops = &f->ops;
    f->core = mvf_core_create(&va_hops, NULL);
    if (!f->core || mvf_core_add_device(f->core, &p, dart, NULL))
        return -1;
    f->s = mvf_session_create_for(f->core, &f->client_ctx);
    f->mem = aligned_alloc(4096, MEM_LEN);
    *state = f;
    return f->s && f->mem ? 0 : -1;
}

/* A DART config like the dext's: the platform places mappings anywhere
 * in the 64-bit space; the core keeps the budget and the cap. */
static void platform_dart(struct mvf_dart_config *dc)
{
    mvf_dart_config_default(dc);
    dc->base = 0;
    dc->size = -GRANULE;
}

static int setup(void **state)
{
    struct mvf_dart_config dc;

    platform_dart(&dc);
    return setup_with(state, &dc);
}

/* The same with a budget and a cap small enough to hit. */
static int setup_small(void **state)
{
    struct mvf_dart_config dc;

    platform_dart(&dc);
    dc.budget_bytes = 4 * GRANULE;
    dc.max_mappings = 3;
    return setup_with(state, &dc);
}

static int teardown(void **state)
{
    struct fixture *f = *state;

    mvf_session_destroy(f->s);
    mvf_core_destroy(f->core);
    free(f->mem);
    free(f);
    return 0;
}

struct res {
    int ret;
    uint64_t out[MVF_MAX_SCALARS];
    uint32_t n_out;
    char err[MVF_ERRMSG_MAX];
    _Alignas(16) char sbuf[MVF_MAX_STRUCT];  /* the core writes structs here */
    uint32_t slen;
};

static struct res do_call(struct mvf_session *s, uint32_t sel,
                          const uint64_t *in, uint32_t n)
{
    static struct res r;
    struct mvf_call c;

    memset(&r, 0, sizeof(r));
    memset(&c, 0, sizeof(c));
    c.selector = sel;
    c.in = in;
    c.n_in = n;
    c.struct_out = r.sbuf;
    c.struct_out_cap = sizeof(r.sbuf);
    r.ret = mvf_dispatch(s, &c);
    if (r.ret)
        assert_true(c.err[0] != '\0');
    memcpy(r.out, c.out, sizeof(r.out));
    r.n_out = c.n_out;
    r.slen = c.struct_out_len;
    memcpy(r.err, c.err, sizeof(r.err));
    return r;
}

static void open_claim(struct mvf_session *s)
{
    uint64_t hello[2] = { MVF_ABI_VERSION, ~0ull }, idx = 0;

    assert_int_equal(do_call(s, MVF_SEL_HELLO, hello, 2).ret, 0);
    assert_int_equal(do_call(s, MVF_SEL_DEVICE_OPEN, &idx, 1).ret, 0);
    assert_int_equal(do_call(s, MVF_SEL_CLAIM, NULL, 0).ret, 0);
}

static uint64_t reg_va(struct fixture *f)
{
    uint64_t in[3] = { MEM_LEN, (uintptr_t)f->mem, MVF_DMA_REG_VA };
    struct res r = do_call(f->s, MVF_SEL_DMA_REGISTER, in, 3);

    assert_int_equal(r.ret, 0);
    return r.out[0];
}

static int map(struct fixture *f, uint64_t h, uint64_t off, uint64_t len,
               uint64_t flags, uint64_t *iova)
{
    uint64_t in[4] = { h, off, len, flags };
    struct res r = do_call(f->s, MVF_SEL_DMA_MAP, in, 4);

    if (!r.ret && iova)
        *iova = r.out[0];
    return r.ret;
}

static int unmap(struct fixture *f, uint64_t iova, uint64_t len)
{
    uint64_t in[2] = { iova, len };

    return do_call(f->s, MVF_SEL_DMA_UNMAP, in, 2).ret;
}

/* ---- tests ------------------------------------------------------------ */

/* HELLO: the core's features plus only the transport bits the host
 * announced; max_struct is the host's. */
static void test_hello_features_from_host(void **state)
{
    struct fixture *f = *state;
    uint64_t hello[2] = { MVF_ABI_VERSION, 0 };
    struct res r = do_call(f->s, MVF_SEL_HELLO, hello, 2);

    assert_int_equal(r.ret, 0);
    assert_int_equal(r.out[0], MVF_ABI_VERSION);
    assert_true(r.out[1] & MVF_FEAT_IRQ_STATE_PAGE);
    assert_true(r.out[1] & MVF_FEAT_DMA_VA);
    assert_true(r.out[1] & MVF_FEAT_LAST_ERROR);
    assert_true(r.out[1] & MVF_FEAT_DMA_BATCH);
    assert_false(r.out[1] & MVF_FEAT_IRQ_EVENTFD);
    assert_false(r.out[1] & MVF_FEAT_DMA_FD);
    assert_false(r.out[1] >> 32);
    assert_int_equal(r.out[2], 4096);
}

/* What the transport lacks is refused before any host op runs. */
static void test_transport_gates(void **state)
{
    struct fixture *f = *state;
    uint64_t fdreg[3] = { MEM_LEN, 0, MVF_DMA_REG_FD };
    uint64_t trig[5] = { MVF_IRQ_MSIX, MVF_IRQ_ACT_TRIGGER, 0, 1, 1 };
    struct mvf_call c;
    int obj = 3;

    open_claim(f->s);
    memset(&c, 0, sizeof(c));
    c.selector = MVF_SEL_DMA_REGISTER;
    c.in = fdreg;
    c.n_in = 3;
    c.objs_in = &obj;
    c.n_objs_in = 1;
    assert_int_equal(mvf_dispatch(f->s, &c), -ENOTSUP);
    assert_non_null(strstr(c.err, "file descriptor"));
    assert_int_equal(hostrec.mem_creates, 0);

    memset(&c, 0, sizeof(c));
    c.selector = MVF_SEL_IRQ_SET;
    c.in = trig;
    c.n_in = 5;
    c.objs_in = &obj;
    c.n_objs_in = 1;
    assert_int_equal(mvf_dispatch(f->s, &c), -ENOTSUP);
    assert_non_null(strstr(c.err, "state page"));
}

/* DMA_REGISTER by VA reaches the host with the VA and the client's
 * context; a VA call carrying fds is refused. */
static void test_register_by_va(void **state)
{
    struct fixture *f = *state;
    uint64_t in[3] = { MEM_LEN, (uintptr_t)f->mem + 1, MVF_DMA_REG_VA };
    struct mvf_call c;
    int obj = 3;

    open_claim(f->s);
    assert_int_equal(do_call(f->s, MVF_SEL_DMA_REGISTER, in, 3).ret, -EINVAL);
    assert_int_equal(hostrec.mem_creates, 0);
    in[1] = (uintptr_t)f->mem;
    memset(&c, 0, sizeof(c));
    c.selector = MVF_SEL_DMA_REGISTER;
    c.in = in;
    c.n_in = 3;
    c.objs_in = &obj;
    c.n_objs_in = 1;
    assert_int_equal(mvf_dispatch(f->s, &c), -EBADF);
    assert_int_equal(hostrec.mem_creates, 0);
    reg_va(f);
    assert_int_equal(hostrec.mem_creates, 1);
    assert_ptr_equal(hostrec.last_client, &f->client_ctx);
}

/* A good map: the platform gets the range and directions, the client
 * gets the platform's IOVA, and the core's bookkeeping counts it. */
static void test_platform_assigns_iova(void **state)
{
    struct fixture *f = *state;
    uint64_t h, iova = 0;
    struct mvf_stats *st;
    struct res r;

    open_claim(f->s);
    h = reg_va(f);
    assert_int_equal(map(f, h, GRANULE, 2 * GRANULE, MVF_DMA_READ, &iova), 0);
    assert_int_equal(plat.maps, 1);
    assert_int_equal(iova, PLAT_BASE);
    assert_int_equal(plat.last_off, GRANULE);
    assert_int_equal(plat.last_len, 2 * GRANULE);
    assert_int_equal(plat.last_dirs, MVF_DMA_READ);
    assert_ptr_equal(plat.rec[0].mem_platform, &marker_platform);
    r = do_call(f->s, MVF_SEL_STATS, NULL, 0);
    assert_int_equal(r.ret, 0);
    st = (struct mvf_stats *)r.sbuf;
    assert_int_equal(st->live_mappings, 1);
    assert_int_equal(st->mapped_bytes, 2 * GRANULE);
    /* The region cannot go while mapped; unmap ends the platform side. */
    assert_int_equal(do_call(f->s, MVF_SEL_DMA_UNREGISTER, &h, 1).ret, -EBUSY);
    assert_int_equal(unmap(f, iova, GRANULE), -EINVAL);
    assert_int_equal(plat.unmaps, 0);
    assert_int_equal(unmap(f, iova, 2 * GRANULE), 0);
    assert_int_equal(plat.unmaps, 1);
    assert_int_equal(do_call(f->s, MVF_SEL_DMA_UNREGISTER, &h, 1).ret, 0);
}

/* Everything the core can check is checked before the platform is
 * asked: a bad PrepareForDMA can panic the host. */
static void test_hostile_maps_never_reach_platform(void **state)
{
    struct fixture *f = *state;
    uint64_t h, iova;

    open_claim(f->s);
    h = reg_va(f);
    assert_int_equal(map(f, h + 7, 0, GRANULE, MVF_DMA_READ, &iova), -ENOENT);
    assert_int_equal(map(f, h, 4096, GRANULE, MVF_DMA_READ, &iova), -EINVAL);
    assert_int_equal(map(f, h, 0, 4096, MVF_DMA_READ, &iova), -EINVAL);
    assert_int_equal(map(f, h, 0, 0, MVF_DMA_READ, &iova), -ENODATA);
    assert_int_equal(map(f, h, 0, MEM_LEN + GRANULE, MVF_DMA_READ, &iova),
                     -EOVERFLOW);
    assert_int_equal(map(f, h, -GRANULE, 2 * GRANULE, MVF_DMA_READ, &iova),
                     -EOVERFLOW);
    assert_int_equal(map(f, h, 0, GRANULE, 0, &iova), -EINVAL);
    assert_int_equal(map(f, h, 0, GRANULE, 4, &iova), -EINVAL);
    assert_int_equal(plat.maps, 0);
}

/* Budget and cap are the core's, checked before the platform. */
static void test_budget_and_cap_before_platform(void **state)
{
    struct fixture *f = *state;
    uint64_t h, iova[3];

    open_claim(f->s);
    h = reg_va(f);
    assert_int_equal(map(f, h, 0, 5 * GRANULE, MVF_DMA_READ, iova), -ENOSPC);
    assert_int_equal(plat.maps, 0);
    for (int i = 0; i < 3; i++)
        assert_int_equal(map(f, h, (uint64_t)i * GRANULE, GRANULE,
                             MVF_DMA_READ | MVF_DMA_WRITE, &iova[i]), 0);
    assert_int_equal(plat.maps, 3);
    assert_int_equal(map(f, h, 3 * GRANULE, GRANULE, MVF_DMA_READ, iova), -EMFILE);
    assert_int_equal(plat.maps, 3);
}

/* What the platform returns is checked too: an unaligned or overlapping
 * range is undone on the platform and refused. */
static void test_bad_platform_iova_refused(void **state)
{
    struct fixture *f = *state;
    uint64_t h, iova, again;

    open_claim(f->s);
    h = reg_va(f);
    assert_int_equal(map(f, h, 0, 2 * GRANULE, MVF_DMA_READ, &iova), 0);
    plat.next_iova = PLAT_BASE + GRANULE;      /* inside the first */
    assert_int_equal(map(f, h, 2 * GRANULE, GRANULE, MVF_DMA_READ, &again), -EIO);
    assert_int_equal(plat.unmaps, 1);
    assert_int_equal(plat_live(), 1);
    assert_non_null(strstr(do_call(f->s, MVF_SEL_LAST_ERROR, NULL, 0).sbuf,
                           "already mapped"));
    plat.next_iova = PLAT_BASE + 0x10000 + 4096;  /* not granule aligned */
    assert_int_equal(map(f, h, 2 * GRANULE, GRANULE, MVF_DMA_READ, &again), -EIO);
    assert_int_equal(plat_live(), 1);
    assert_non_null(strstr(do_call(f->s, MVF_SEL_LAST_ERROR, NULL, 0).sbuf,
                           "not granule aligned"));
}

/* A platform failure reaches the client with its errno and its text. */
static void test_platform_error_carried(void **state)
{
    struct fixture *f = *state;
    uint64_t in[4], h;
    struct res r;

    open_claim(f->s);
    h = reg_va(f);
    plat.fail = -ENOMEM;
    in[0] = h; in[1] = 0; in[2] = GRANULE; in[3] = MVF_DMA_WRITE;
    r = do_call(f->s, MVF_SEL_DMA_MAP, in, 4);
    assert_int_equal(r.ret, -ENOMEM);
    assert_string_equal(r.err, "PrepareForDMA said no");
    r = do_call(f->s, MVF_SEL_STATS, NULL, 0);
    assert_int_equal(((struct mvf_stats *)r.sbuf)->live_mappings, 0);
}

/* Every clean-up path ends every platform mapping exactly once. */
static void test_cleanup_unmaps_platform(void **state)
{
    struct fixture *f = *state;
    uint64_t h, iova;

    open_claim(f->s);
    h = reg_va(f);
    for (int i = 0; i < 3; i++)
        assert_int_equal(map(f, h, (uint64_t)i * 2 * GRANULE, GRANULE,
                             MVF_DMA_READ, &iova), 0);
    assert_int_equal(do_call(f->s, MVF_SEL_RELEASE, NULL, 0).ret, 0);
    assert_int_equal(plat.unmaps, 3);
    assert_int_equal(plat_live(), 0);

    assert_int_equal(do_call(f->s, MVF_SEL_CLAIM, NULL, 0).ret, 0);
    h = reg_va(f);
    assert_int_equal(map(f, h, 0, GRANULE, MVF_DMA_READ, &iova), 0);
    mvf_session_destroy(f->s);      /* the client died */
    f->s = mvf_session_create(f->core);
    assert_int_equal(plat.unmaps, 4);
    assert_int_equal(plat_live(), 0);
}

/* LAST_ERROR: the text of the session's last failure, kept across
 * successes and across LAST_ERROR itself; its own sessions only. */
static void test_last_error(void **state)
{
    struct fixture *f = *state;
    struct mvf_session *other = mvf_session_create(f->core);
    uint64_t hello[2] = { MVF_ABI_VERSION, 0 }, bad = 99;
    struct res r;

    assert_int_equal(do_call(f->s, MVF_SEL_HELLO, hello, 2).ret, 0);
    r = do_call(f->s, MVF_SEL_LAST_ERROR, NULL, 0);
    assert_int_equal(r.ret, 0);
    assert_int_equal(r.slen, 1);
    assert_string_equal(r.sbuf, "");
    assert_int_equal(do_call(f->s, MVF_SEL_DEVICE_OPEN, &bad, 1).ret, -ENODEV);
    assert_int_equal(do_call(f->s, MVF_SEL_DEVICE_LIST, NULL, 0).ret, 0);
    r = do_call(f->s, MVF_SEL_LAST_ERROR, NULL, 0);
    assert_int_equal(r.ret, 0);
    assert_non_null(strstr(r.sbuf, "no device 99"));
    assert_int_equal(r.slen, strlen(r.sbuf) + 1);
    r = do_call(f->s, MVF_SEL_LAST_ERROR, &bad, 1);   /* takes no scalars */
    assert_int_equal(r.ret, -EINVAL);
    r = do_call(f->s, MVF_SEL_LAST_ERROR, NULL, 0);
    assert_non_null(strstr(r.sbuf, "no device 99"));
    assert_int_equal(do_call(other, MVF_SEL_HELLO, hello, 2).ret, 0);
    assert_string_equal(do_call(other, MVF_SEL_LAST_ERROR, NULL, 0).sbuf, "");
    mvf_session_destroy(other);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_hello_features_from_host, setup, teardown),
        cmocka_unit_test_setup_teardown(test_transport_gates, setup, teardown),
        cmocka_unit_test_setup_teardown(test_register_by_va, setup, teardown),
        cmocka_unit_test_setup_teardown(test_platform_assigns_iova, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hostile_maps_never_reach_platform,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_budget_and_cap_before_platform,
                                        setup_small, teardown),
        cmocka_unit_test_setup_teardown(test_bad_platform_iova_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_platform_error_carried, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cleanup_unmaps_platform, setup, teardown),
        cmocka_unit_test_setup_teardown(test_last_error, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

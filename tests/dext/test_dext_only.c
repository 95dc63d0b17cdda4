/* SPDX-License-Identifier: MIT */
/*
 * What only the dext can get wrong, on the DriverKit double over
 * sim:dmatest:
 *   - dropped completions: more raises than the 5-deep notification port
 *     holds lose no interrupt, because the state page keeps every bit
 *     and the client re-reads it after each message;
 *   - a second session after the first (and a third): claim, use, close,
 *     then a new user client claims and gets interrupts and DMA again,
 *     so the one-shot ConfigureInterrupts does not bite;
 *   - hostile arguments never reach PrepareForDMA: unaligned, out of the
 *     region, zero length, wrapping, over the budget, over the mapping
 *     cap, bad directions, unknown handles, wrong scalar counts, more
 *     than 16 scalars, oversized structures, no claim.  The double
 *     counts PrepareForDMA calls and the count must not move; each case
 *     gets its own error.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "dext_client.h"
#include "dmatest.h"

#define G MVF_DART_GRANULE

static int setup(void **state)
{
    *state = rig_start("sim:dmatest");
    return *state ? 0 : -1;
}

static int teardown(void **state)
{
    return rig_stop(*state);
}

static void reg_wr(struct dxc *c, uint32_t reg, uint32_t v)
{
    assert_int_equal(dxc_mmio_write(c, 0, reg, 4, v), 0);
}

/* A doorbell with no valid buffer: the transfer faults and the device
 * raises `vec` (one MSI-X message). */
static void raise_vector(struct dxc *c, uint32_t vec)
{
    uint64_t status = 0;

    reg_wr(c, MVF_DMATEST_REG_DMA_IOVA_LO, 0);
    reg_wr(c, MVF_DMATEST_REG_DMA_IOVA_HI, 0);
    reg_wr(c, MVF_DMATEST_REG_DMA_LEN, 1);
    reg_wr(c, MVF_DMATEST_REG_DMA_DIR, MVF_DMATEST_DIR_FROM_DEVICE);
    reg_wr(c, MVF_DMATEST_REG_DMA_VECTOR, vec);
    reg_wr(c, MVF_DMATEST_REG_DOORBELL, MVF_DMATEST_DOORBELL_GO);
    assert_int_equal(dxc_mmio_read(c, 0, MVF_DMATEST_REG_STATUS, 4, &status), 0);
    assert_int_equal(status, MVF_DMATEST_STATUS_FAULT);
}

static bool take(struct dxc *c)
{
    int32_t status = -1;
    uint64_t args[16];
    uint32_t n = 0;

    if (!rig_port_take(c->conn, &status, args, &n))
        return false;
    assert_int_equal(status, 0);
    return true;
}

/* Client side of the state page: what it sees and clears. */
static uint64_t consume(struct mvf_irq_state *page)
{
    return __atomic_exchange_n(&page->pending[0], 0, __ATOMIC_ACQ_REL);
}

static struct mvf_irq_state *irq_state_on(struct dxc *c)
{
    struct mvf_irq_state *page = NULL;
    uint64_t size = 0;

    dxc_bus_master_on(c);
    assert_int_equal(dxc_irq_state(c, MVF_IRQ_MSIX), 0);
    assert_int_equal(dxc_map(c, MVF_MEM_IRQ_STATE, (void **)&page, &size, NULL), 0);
    assert_true(size >= sizeof(*page));
    return page;
}

static void test_dropped_completions_lose_nothing(void **state)
{
    struct rig_counters k0, k;
    struct mvf_irq_state *page;
    uint64_t seen = 0, seq0;
    unsigned messages = 0;
    struct dxc c;

    dxc_connect_claimed(&c, *state);
    page = irq_state_on(&c);
    rig_counters(*state, &k0);
    seq0 = page->seq;

    /* Five raises of vector 0 fill the port; the client is busy. */
    for (int i = 0; i < 5; i++)
        raise_vector(&c, 0);
    rig_run_queue(*state);
    /* These completions find the port full and are dropped. */
    raise_vector(&c, 3);
    raise_vector(&c, 2);
    raise_vector(&c, 3);
    rig_run_queue(*state);
    rig_counters(*state, &k);
    assert_int_equal(k.completions_sent - k0.completions_sent, 5);
    assert_int_equal(k.completions_dropped - k0.completions_dropped, 3);
    /* Every raise counted in the page, every vector pending. */
    assert_int_equal(page->seq - seq0, 8);

    /* The client: one message, one read of the page. */
    while (take(&c)) {
        uint64_t bits = consume(page);

        if (messages++ == 0)
            assert_int_equal(bits, 1u | 1u << 2 | 1u << 3);
        seen |= bits;
    }
    assert_int_equal(messages, 5);
    assert_int_equal(seen, 1u | 1u << 2 | 1u << 3);

    /* The port has room again: the next raise wakes the client. */
    raise_vector(&c, 1);
    rig_run_queue(*state);
    assert_true(take(&c));
    assert_int_equal(consume(page), 1u << 1);
    assert_false(take(&c));
    assert_int_equal(dxc_unmap(&c, MVF_MEM_IRQ_STATE, page), 0);
    dxc_close(&c);
}

/* Raises between messages: a bit set after the client read the page
 * comes with a message of its own. */
static void test_raise_after_read_wakes_again(void **state)
{
    struct mvf_irq_state *page;
    struct dxc c;

    dxc_connect_claimed(&c, *state);
    page = irq_state_on(&c);
    for (uint32_t v = 0; v < MVF_DMATEST_NVEC; v++) {
        raise_vector(&c, v);
        rig_run_queue(*state);
        assert_true(take(&c));
        assert_int_equal(consume(page), 1ull << v);
        assert_false(take(&c));
    }
    assert_int_equal(dxc_unmap(&c, MVF_MEM_IRQ_STATE, page), 0);
    dxc_close(&c);
}

/* One session of a VMM: claim, interrupts, DMA, close. */
static void one_session(struct rig *r, uint8_t pattern)
{
    struct mvf_irq_state *page;
    uint8_t *mem = dxc_alloc(G), *win;
    uint64_t handle, iova, size, st;
    struct dxc c;

    dxc_connect_claimed(&c, r);
    page = irq_state_on(&c);
    raise_vector(&c, 2);
    rig_run_queue(r);
    assert_true(take(&c));
    assert_int_equal(consume(page), 1u << 2);

    assert_int_equal(dxc_map(&c, MVF_MEM_BAR(2), (void **)&win, &size, NULL), 0);
    memset(win, pattern, 512);
    assert_int_equal(dxc_dma_register_va(&c, mem, G, &handle), 0);
    assert_int_equal(dxc_dma_map(&c, handle, 0, G, MVF_DMA_WRITE, &iova), 0);
    reg_wr(&c, MVF_DMATEST_REG_DMA_IOVA_LO, (uint32_t)iova);
    reg_wr(&c, MVF_DMATEST_REG_DMA_IOVA_HI, (uint32_t)(iova >> 32));
    reg_wr(&c, MVF_DMATEST_REG_DMA_OFFSET, 0);
    reg_wr(&c, MVF_DMATEST_REG_DMA_LEN, 512);
    reg_wr(&c, MVF_DMATEST_REG_DMA_DIR, MVF_DMATEST_DIR_FROM_DEVICE);
    reg_wr(&c, MVF_DMATEST_REG_DMA_VECTOR, 1);
    reg_wr(&c, MVF_DMATEST_REG_DOORBELL, MVF_DMATEST_DOORBELL_GO);
    assert_int_equal(dxc_mmio_read(&c, 0, MVF_DMATEST_REG_STATUS, 4, &st), 0);
    assert_int_equal(st, MVF_DMATEST_STATUS_DONE);
    rig_run_queue(r);
    assert_true(take(&c));
    assert_int_equal(consume(page), 1u << 1);
    for (int i = 0; i < 512; i++)
        assert_int_equal(mem[i], pattern);
    assert_int_equal(mem[512], 0);
    /* Left mapped on purpose: close cleans up. */
    dxc_close(&c);
    free(mem);
}

static void test_sessions_one_after_another(void **state)
{
    struct rig_counters k;

    for (int i = 0; i < 3; i++) {
        one_session(*state, (uint8_t)(0x31 + i));
        rig_run_queue(*state);
        rig_counters(*state, &k);
        assert_int_equal(k.live_dma, 0);
        assert_int_equal(k.live_client_mem, 0);
        assert_false(k.bus_master);
    }
    assert_int_equal(k.prepare_ok, k.complete_calls);
    assert_int_equal(k.rule_violations, 0);
}

/* Two user clients alive at once; ownership moves between them. */
static void test_claim_moves_between_live_clients(void **state)
{
    struct mvf_irq_state *page;
    struct dxc a, b;

    dxc_connect_claimed(&a, *state);
    page = irq_state_on(&a);
    raise_vector(&a, 0);
    rig_run_queue(*state);
    assert_true(take(&a));
    assert_int_equal(dxc_unmap(&a, MVF_MEM_IRQ_STATE, page), 0);
    assert_int_equal(dxc_release(&a), 0);

    dxc_connect_claimed(&b, *state);
    page = irq_state_on(&b);
    raise_vector(&b, 3);
    rig_run_queue(*state);
    /* The wake-up goes to the owner's port only. */
    assert_true(take(&b));
    assert_false(take(&a));
    assert_int_equal(consume(page), 1u << 3);
    assert_int_equal(dxc_unmap(&b, MVF_MEM_IRQ_STATE, page), 0);
    dxc_close(&b);
    dxc_close(&a);
}

/* ---- hostile arguments ------------------------------------------------ */

static uint64_t prepares(struct rig *r)
{
    struct rig_counters k;

    rig_counters(r, &k);
    return k.prepare_calls;
}

/* Reserves `len` bytes of address space, 16 KiB aligned (no backing is
 * touched: the double never copies client memory it is not asked to). */
static void *reserve(uint64_t len, void **base, uint64_t *base_len)
{
    *base_len = len + G;
    *base = mmap(NULL, *base_len, PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    assert_true(*base != MAP_FAILED);
    return (void *)(((uintptr_t)*base + G - 1) & ~(uintptr_t)(G - 1));
}

static void test_hostile_dma_map(void **state)
{
    uint8_t *mem = dxc_alloc(8 * G);
    uint64_t handle, iova = 0, p0;
    struct dxc c, other;

    dxc_connect_claimed(&c, *state);
    assert_int_equal(dxc_dma_register_va(&c, mem, 8 * G, &handle), 0);
    p0 = prepares(*state);

    assert_int_equal(dxc_dma_map(&c, handle, 4096, G, MVF_DMA_READ, &iova), -EINVAL);
    assert_non_null(strstr(c.err, "aligned"));
    assert_int_equal(dxc_dma_map(&c, handle, 0, G + 4096, MVF_DMA_READ, &iova), -EINVAL);
    assert_int_equal(dxc_dma_map(&c, handle, 4 * G, 8 * G, MVF_DMA_READ, &iova),
                     -EOVERFLOW);
    assert_int_equal(dxc_dma_map(&c, handle, 8 * G, G, MVF_DMA_READ, &iova),
                     -EOVERFLOW);
    assert_int_equal(dxc_dma_map(&c, handle, UINT64_MAX - G + 1, 2 * G,
                                 MVF_DMA_READ, &iova), -EOVERFLOW);
    assert_int_equal(dxc_dma_map(&c, handle, 0, 0, MVF_DMA_READ, &iova), -ENODATA);
    assert_int_equal(dxc_dma_map(&c, handle, 0, G, 0, &iova), -EINVAL);
    assert_non_null(strstr(c.err, "direction"));
    assert_int_equal(dxc_dma_map(&c, handle, 0, G, 4, &iova), -EINVAL);
    assert_int_equal(dxc_dma_map(&c, handle, 0, G, UINT64_MAX, &iova), -EINVAL);
    assert_int_equal(dxc_dma_map(&c, handle + 100, 0, G, MVF_DMA_READ, &iova), -ENOENT);
    assert_int_equal(dxc_dma_map(&c, 0, 0, G, MVF_DMA_READ, &iova), -ENOENT);
    /* The wrong number of scalars. */
    {
        uint64_t in[5] = { handle, 0, G, MVF_DMA_READ, 0 };
        assert_int_equal(dxc_call(&c, MVF_SEL_DMA_MAP, in, 3, NULL, 0, &iova, 1,
                                  NULL, NULL), -EINVAL);
        assert_int_equal(dxc_call(&c, MVF_SEL_DMA_MAP, in, 5, NULL, 0, &iova, 1,
                                  NULL, NULL), -EINVAL);
    }
    /* A structure with a scalar-only call. */
    assert_int_equal(dxc_call(&c, MVF_SEL_DMA_MAP, (uint64_t[4]){ handle, 0, G, 3 },
                              4, "xxxx", 4, &iova, 1, NULL, NULL), -EINVAL);
    /* No claim, no mapping. */
    assert_int_equal(dxc_connect(&other, *state), 0);
    assert_int_equal(dxc_device_open(&other, 0), 0);
    assert_int_equal(dxc_dma_map(&other, handle, 0, G, MVF_DMA_READ, &iova), -EACCES);
    assert_int_equal(dxc_dma_register_va(&other, mem, G, &iova), -EACCES);
    dxc_close(&other);
    /* Before HELLO, nothing. */
    {
        struct dxc raw = { .rig = *state, .conn = rig_open(*state) };
        assert_int_equal(dxc_dma_map(&raw, handle, 0, G, MVF_DMA_READ, &iova), -EPROTO);
        dxc_close(&raw);
    }
    assert_int_equal(prepares(*state), p0);

    /* A batch of bad entries: each refused alone, none prepared. */
    {
        struct mvf_dma_map_req req[6] = {
            { handle, 4096, G, MVF_DMA_READ, 0 },
            { handle, 0, 0, MVF_DMA_READ, 0 },
            { handle, 0, 16 * G, MVF_DMA_READ, 0 },
            { handle, 0, G, 0, 0 },
            { handle + 7, 0, G, MVF_DMA_READ, 0 },
            { handle, 0, G, 0x80000000u, 0 },
        };
        const int want[6] = { -EINVAL, -ENODATA, -EOVERFLOW, -EINVAL, -ENOENT,
                              -EINVAL };
        struct mvf_dma_map_res res[6];
        uint32_t len = sizeof(res);
        uint64_t ok = 99;

        assert_int_equal(dxc_call(&c, MVF_SEL_DMA_MAP_BATCH, NULL, 0, req,
                                  sizeof(req), &ok, 1, res, &len), 0);
        assert_int_equal(ok, 0);
        assert_int_equal(len, sizeof(res));
        for (int i = 0; i < 6; i++)
            assert_int_equal(res[i].status, want[i]);
        /* Not a whole number of entries. */
        assert_int_equal(dxc_call(&c, MVF_SEL_DMA_MAP_BATCH, NULL, 0, req,
                                  sizeof(req) - 1, &ok, 1, res, &len), -EINVAL);
    }
    assert_int_equal(prepares(*state), p0);
    /* A good one does reach it, once. */
    assert_int_equal(dxc_dma_map(&c, handle, 0, G, MVF_DMA_READ, &iova), 0);
    assert_int_equal(prepares(*state), p0 + 1);
    dxc_close(&c);
    free(mem);
}

/* Calls IOKit itself refuses, or that the dext must refuse before its
 * dispatcher: more than 16 scalars, structures beyond 4096 bytes. */
static void test_hostile_call_shapes(void **state)
{
    uint64_t in[17] = { 0 }, out[16];
    uint8_t *big = calloc(1, 8192);
    uint8_t *mem = dxc_alloc(4 * G);
    uint64_t handle, p0;
    uint32_t n_out;
    size_t slen;
    struct dxc c;
    int32_t kr;

    dxc_connect_claimed(&c, *state);
    assert_int_equal(dxc_dma_register_va(&c, mem, 4 * G, &handle), 0);
    p0 = prepares(*state);

    /* 17 scalars: refused, no outputs. */
    in[0] = handle; in[2] = G; in[3] = MVF_DMA_READ;
    n_out = 16;
    slen = 0;
    kr = rig_call(c.conn, MVF_SEL_DMA_MAP, in, 17, NULL, 0, out, &n_out, NULL, &slen);
    assert_int_not_equal(kr, 0);
    assert_int_equal(n_out, 0);

    /* A batch structure beyond 4096 bytes (out of line under IOKit):
     * refused whole, nothing prepared. */
    {
        struct mvf_dma_map_req *req = (struct mvf_dma_map_req *)big;
        uint8_t res[8192];

        for (int i = 0; i < 256; i++)
            req[i] = (struct mvf_dma_map_req){ handle, 0, G, MVF_DMA_READ, 0 };
        n_out = 16;
        slen = sizeof(res);
        kr = rig_call(c.conn, MVF_SEL_DMA_MAP_BATCH, NULL, 0, req, 8192, out,
                      &n_out, res, &slen);
        assert_int_not_equal(kr, 0);
        assert_int_equal(n_out, 0);
        assert_int_equal(slen, 0);
        /* 4096 bytes in (128 requests) need 2048 bytes of results; room
         * for 1024 is the core's ENOBUFS, with nothing prepared. */
        n_out = 16;
        slen = 1024;
        kr = rig_call(c.conn, MVF_SEL_DMA_MAP_BATCH, NULL, 0, req, 4096, out,
                      &n_out, res, &slen);
        assert_int_equal(rig_errno_of(kr), -ENOBUFS);
    }
    /* Unknown selectors. */
    assert_int_equal(dxc_call(&c, MVF_SEL_COUNT, NULL, 0, NULL, 0, NULL, 0,
                              NULL, NULL), -ENOSYS);
    assert_int_equal(dxc_call(&c, 0xffffffffu, NULL, 0, NULL, 0, NULL, 0,
                              NULL, NULL), -ENOSYS);
    assert_int_equal(prepares(*state), p0);
    /* The session still works. */
    {
        uint64_t iova;
        assert_int_equal(dxc_dma_map(&c, handle, 0, G, MVF_DMA_READ, &iova), 0);
        assert_int_equal(prepares(*state), p0 + 1);
    }
    dxc_close(&c);
    free(mem);
    free(big);
}

static void test_hostile_register(void **state)
{
    struct rig_counters k0, k;
    uint8_t *mem = dxc_alloc(4 * G);
    uint64_t handle;
    struct dxc c;

    dxc_connect_claimed(&c, *state);
    rig_counters(*state, &k0);
    assert_int_equal(dxc_dma_register_va(&c, mem + 100, 4096, &handle), -EINVAL);
    assert_int_equal(dxc_dma_register_va(&c, mem, 4096 + 1, &handle), -EINVAL);
    assert_int_equal(dxc_dma_register_va(&c, mem, 0, &handle), -ENODATA);
    /* A range that wraps the address space is no client memory. */
    assert_true(dxc_dma_register_va(&c, (void *)(uintptr_t)-4096, 2 * 4096,
                                    &handle) < 0);
    {
        uint64_t in[3] = { 4096, (uint64_t)(uintptr_t)mem, MVF_DMA_REG_VA | 8 };
        assert_int_equal(dxc_call(&c, MVF_SEL_DMA_REGISTER, in, 3, NULL, 0,
                                  &handle, 1, NULL, NULL), -EINVAL);
    }
    assert_int_equal(dxc_dma_unregister(&c, 12345), -ENOENT);
    rig_counters(*state, &k);
    assert_int_equal(k.live_client_mem, k0.live_client_mem);
    assert_int_equal(k.prepare_calls, k0.prepare_calls);
    dxc_close(&c);
    free(mem);
}

static void test_over_budget(void **state)
{
    struct mvf_device_info info;
    uint64_t handle, iova, base_len, p0;
    void *base, *va;
    struct dxc c;

    dxc_connect_claimed(&c, *state);
    assert_int_equal(dxc_device_info(&c, &info), 0);
    va = reserve(info.dma_budget + G, &base, &base_len);
    assert_int_equal(dxc_dma_register_va(&c, va, info.dma_budget + G, &handle), 0);
    p0 = prepares(*state);
    assert_int_equal(dxc_dma_map(&c, handle, 0, info.dma_budget + G,
                                 MVF_DMA_READ | MVF_DMA_WRITE, &iova), -ENOSPC);
    assert_non_null(strstr(c.err, "budget"));
    assert_int_equal(prepares(*state), p0);
    /* Up to the budget is fine, then not one granule more. */
    assert_int_equal(dxc_dma_map(&c, handle, 0, info.dma_budget,
                                 MVF_DMA_READ | MVF_DMA_WRITE, &iova), 0);
    assert_int_equal(prepares(*state), p0 + 1);
    assert_int_equal(dxc_dma_map(&c, handle, info.dma_budget, G,
                                 MVF_DMA_READ | MVF_DMA_WRITE, &iova), -ENOSPC);
    assert_int_equal(prepares(*state), p0 + 1);
    dxc_close(&c);
    munmap(base, base_len);
}

static void test_over_mapping_cap(void **state)
{
    enum { PER_CALL = 4096 / sizeof(struct mvf_dma_map_req) };
    struct mvf_dma_map_req req[PER_CALL];
    struct mvf_dma_map_res res[PER_CALL];
    struct mvf_device_info info;
    uint64_t handle, iova, base_len, p0, cap, done = 0;
    struct rig_counters k;
    void *base, *va;
    struct dxc c;

    dxc_connect_claimed(&c, *state);
    assert_int_equal(dxc_device_info(&c, &info), 0);
    cap = info.dma_max_mappings;
    assert_true(cap * G <= info.dma_budget);
    va = reserve((cap + 1) * G, &base, &base_len);
    assert_int_equal(dxc_dma_register_va(&c, va, (cap + 1) * G, &handle), 0);
    while (done < cap) {
        uint32_t n = cap - done < PER_CALL ? (uint32_t)(cap - done) : PER_CALL;
        uint32_t len = n * (uint32_t)sizeof(res[0]);
        uint64_t ok = 0;

        for (uint32_t i = 0; i < n; i++)
            req[i] = (struct mvf_dma_map_req){ handle, (done + i) * G, G,
                                               MVF_DMA_READ, 0 };
        assert_int_equal(dxc_call(&c, MVF_SEL_DMA_MAP_BATCH, NULL, 0, req,
                                  n * (uint32_t)sizeof(req[0]), &ok, 1, res,
                                  &len), 0);
        assert_int_equal(ok, n);
        done += n;
    }
    p0 = prepares(*state);
    assert_int_equal(dxc_dma_map(&c, handle, cap * G, G, MVF_DMA_READ, &iova),
                     -EMFILE);
    assert_non_null(strstr(c.err, "live mappings"));
    assert_int_equal(prepares(*state), p0);
    rig_counters(*state, &k);
    assert_int_equal(k.live_dma, cap);
    dxc_close(&c);
    rig_run_queue(*state);
    rig_counters(*state, &k);
    assert_int_equal(k.live_dma, 0);
    assert_int_equal(k.prepare_ok, k.complete_calls);
    munmap(base, base_len);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_dropped_completions_lose_nothing,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_raise_after_read_wakes_again,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_sessions_one_after_another,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_claim_moves_between_live_clients,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_hostile_dma_map, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hostile_call_shapes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hostile_register, setup, teardown),
        cmocka_unit_test_setup_teardown(test_over_budget, setup, teardown),
        cmocka_unit_test_setup_teardown(test_over_mapping_cap, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

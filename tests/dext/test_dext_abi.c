/* SPDX-License-Identifier: MIT */
/*
 * The ABI through the dext: MacvfioDriver and MacvfioUserClient running
 * on the DriverKit double over sim:dmatest, called the way IOKit calls
 * them.  Proves that the dext serves the existing ABI cases: HELLO with
 * the IOKit transport's features and 4096-byte structures, the device
 * list and info, config space through the core's policy, trapped BAR
 * access, BAR mapping through CopyClientMemoryForType (claimant only,
 * never a trap-only BAR), DMA into client memory registered by virtual
 * address at IOVAs the system assigned, MSI-X through the state page and
 * one completion per raise (with masking), reset, a second claimant
 * refused with its errno and text, and a killed client leaving nothing
 * mapped, prepared or bus-mastering.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "dext_client.h"
#include "dmatest.h"
#include "tests/common/dmatest_xfer.h"

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

static uint32_t reg_rd(void *ctx, uint32_t reg)
{
    uint64_t v = 0;

    assert_int_equal(dxc_mmio_read(ctx, 0, reg, 4, &v), 0);
    return (uint32_t)v;
}

static void reg_wr(void *ctx, uint32_t reg, uint32_t v)
{
    assert_int_equal(dxc_mmio_write(ctx, 0, reg, 4, v), 0);
}

/* One sim:dmatest transfer through its BAR0 registers; returns STATUS. */
static uint32_t dma_xfer(struct dxc *c, uint64_t iova, uint32_t off,
                         uint32_t len, uint32_t dir, uint32_t vec)
{
    const struct dmatest_regs r = { c, reg_wr, reg_rd };

    return dmatest_xfer(&r, iova, off, len, dir, vec);
}

/* Messages waiting on the connection's port (taken off it). */
static unsigned drain_port(struct dxc *c)
{
    int32_t status;
    uint64_t args[16];
    uint32_t n;
    unsigned count = 0;

    rig_run_queue(c->rig);
    while (rig_port_take(c->conn, &status, args, &n)) {
        assert_int_equal(status, 0);
        count++;
    }
    return count;
}

static void test_hello(void **state)
{
    struct dxc c;

    assert_int_equal(dxc_connect(&c, *state), 0);
    assert_int_equal(c.version, MVF_ABI_VERSION);
    assert_true(c.features & MVF_FEAT_IRQ_STATE_PAGE);
    assert_true(c.features & MVF_FEAT_DMA_VA);
    assert_true(c.features & MVF_FEAT_LAST_ERROR);
    assert_true(c.features & MVF_FEAT_MAP_MEMORY);
    /* No fds over IOKit: neither eventfds nor memfds. */
    assert_false(c.features & MVF_FEAT_IRQ_EVENTFD);
    assert_false(c.features & MVF_FEAT_DMA_FD);
    assert_int_equal(c.max_struct, 4096);
    /* One device per dext process. */
    assert_int_equal(c.device_count, 1);
    /* Another major is refused, with its errno and text. */
    assert_int_equal(dxc_hello(&c, 2u << 16), -EPROTO);
    assert_int_equal(c.last_kr, rig_ioreturn_of_errno(-EPROTO));
    assert_non_null(strstr(c.err, "server speaks 1."));
    dxc_close(&c);
}

static void test_list_and_info(void **state)
{
    struct mvf_device_info list[2], info;
    struct dxc c;
    uint64_t count = 0;

    assert_int_equal(dxc_connect(&c, *state), 0);
    assert_int_equal(dxc_device_info(&c, &info), -ENODEV);
    assert_int_equal(dxc_device_list(&c, list, 2, &count), 0);
    assert_int_equal(count, 1);
    assert_int_equal(list[0].vendor_id, MVF_DMATEST_VENDOR_ID);
    assert_int_equal(list[0].device_id, MVF_DMATEST_DEVICE_ID);
    assert_int_equal(list[0].class_code, MVF_DMATEST_CLASS);
    assert_int_equal(list[0].claimed, 0);
    assert_int_equal(dxc_device_open(&c, 1), -ENODEV);
    assert_int_equal(dxc_device_open(&c, 0), 0);
    assert_int_equal(dxc_device_info(&c, &info), 0);
    assert_memory_equal(&info, &list[0], sizeof(info));
    /* The dext names the function as IOKit does: "pci" vendor,device. */
    assert_string_equal(info.name, "pci1b36,e0");
    assert_int_equal(info.dma_granule, G);
    assert_true(info.dma_aperture_size > 0);
    assert_int_equal(info.dma_aperture_base % G, 0);
    /* A structure output that does not fit is refused, not cut. */
    {
        uint32_t len = sizeof(info) - 1;
        assert_int_equal(dxc_call(&c, MVF_SEL_DEVICE_INFO, NULL, 0, NULL, 0,
                                  NULL, 0, &info, &len), -ENOBUFS);
    }
    dxc_close(&c);
}

static void test_config_policy(void **state)
{
    struct dxc c, other;
    struct mvf_stats before, after;
    uint32_t v;

    dxc_connect_claimed(&c, *state);
    assert_int_equal(dxc_cfg_read(&c, 0, 4, &v), 0);
    assert_int_equal(v, (uint32_t)MVF_DMATEST_DEVICE_ID << 16 | MVF_DMATEST_VENDOR_ID);
    /* Read-only identity: dropped by the core's policy, and counted. */
    assert_int_equal(dxc_stats(&c, &before), 0);
    assert_int_equal(dxc_cfg_write(&c, 0x00, 2, 0x1234), 0);
    assert_int_equal(dxc_cfg_read(&c, 0x00, 2, &v), 0);
    assert_int_equal(v, MVF_DMATEST_VENDOR_ID);
    assert_int_equal(dxc_stats(&c, &after), 0);
    assert_int_equal(after.config_writes_dropped, before.config_writes_dropped + 1);
    /* Virtualised BAR: sizing reads back the size, never reaches the
     * function (macOS owns its BARs). */
    assert_int_equal(dxc_cfg_write(&c, 0x10, 4, 0xffffffff), 0);
    assert_int_equal(dxc_cfg_read(&c, 0x10, 4, &v), 0);
    assert_int_equal(v, ~(uint32_t)(MVF_DMATEST_REG_SIZE - 1));
    /* Command bits reach the device. */
    assert_int_equal(dxc_cfg_write(&c, 0x04, 2, 0x0006), 0);
    assert_int_equal(dxc_cfg_read(&c, 0x04, 2, &v), 0);
    assert_int_equal(v & 0x6, 0x6);
    /* Bad accesses. */
    assert_int_equal(dxc_cfg_read(&c, 4096, 4, &v), -ERANGE);
    assert_int_equal(dxc_cfg_read(&c, 2, 4, &v), -EINVAL);
    assert_int_equal(dxc_cfg_read(&c, 0, 3, &v), -EINVAL);
    assert_int_equal(dxc_cfg_write(&c, 0x04, 2, 0x10000), -EINVAL);
    /* Another client may read, not write. */
    assert_int_equal(dxc_connect(&other, *state), 0);
    assert_int_equal(dxc_device_open(&other, 0), 0);
    assert_int_equal(dxc_cfg_read(&other, 0, 2, &v), 0);
    assert_int_equal(v, MVF_DMATEST_VENDOR_ID);
    assert_int_equal(dxc_cfg_write(&other, 0x04, 2, 0), -EACCES);
    assert_non_null(strstr(other.err, "claimed"));
    dxc_close(&other);
    dxc_close(&c);
}

static void test_trapped_bar(void **state)
{
    struct dxc c;
    uint64_t v, size, flags;

    dxc_connect_claimed(&c, *state);
    assert_int_equal(reg_rd(&c, MVF_DMATEST_REG_ID), MVF_DMATEST_ID_VALUE);
    reg_wr(&c, MVF_DMATEST_REG_SCRATCH, 0xdeadbeef);
    assert_int_equal(reg_rd(&c, MVF_DMATEST_REG_SCRATCH), 0xdeadbeef);
    assert_int_equal(reg_rd(&c, MVF_DMATEST_REG_WIN_SIZE_LO), MVF_DMATEST_WIN_DEFAULT);
    /* 8-byte access to BAR2 through MemoryRead64/MemoryWrite64. */
    assert_int_equal(dxc_mmio_write(&c, 2, 0x40, 8, 0x0123456789abcdefull), 0);
    assert_int_equal(dxc_mmio_read(&c, 2, 0x40, 8, &v), 0);
    assert_int_equal(v, 0x0123456789abcdefull);
    assert_int_equal(dxc_bar_info(&c, 0, &size, &flags), 0);
    assert_int_equal(size, MVF_DMATEST_REG_SIZE);
    assert_false(flags & MVF_BAR_MAPPABLE);
    assert_int_equal(dxc_mmio_read(&c, 0, MVF_DMATEST_REG_SIZE, 4, &v), -ERANGE);
    assert_int_equal(dxc_mmio_read(&c, 0, 2, 4, &v), -EINVAL);
    assert_int_equal(dxc_mmio_read(&c, 1, 0, 4, &v), -EINVAL);
    assert_int_equal(dxc_mmio_write(&c, MVF_ROM_INDEX, 0, 4, 0), -EINVAL);
    dxc_close(&c);
}

static void test_mapped_bar(void **state)
{
    struct dxc c, other;
    uint64_t size = 0, flags = 0, v;
    uint8_t *win = NULL;
    void *p = NULL;

    dxc_connect_claimed(&c, *state);
    assert_int_equal(dxc_map(&c, MVF_MEM_BAR(2), (void **)&win, &size, &flags), 0);
    assert_int_equal(size, MVF_DMATEST_WIN_DEFAULT);
    assert_true(flags & MVF_BAR_MAPPABLE);
    memcpy(win + 0x100, "\x11\x22\x33\x44\x55\x66\x77\x88", 8);
    assert_int_equal(dxc_mmio_read(&c, 2, 0x100, 8, &v), 0);
    assert_int_equal(v, 0x8877665544332211ull);
    assert_int_equal(dxc_mmio_write(&c, 2, 0x200, 4, 0xcafef00d), 0);
    assert_int_equal(*(volatile uint32_t *)(win + 0x200), 0xcafef00d);
    /* The device sees the mapping's bytes. */
    assert_int_equal(dxc_mmio_read(&c, 0, MVF_DMATEST_REG_WIN_SUM, 4, &v), 0);
    assert_int_equal(v, 0x11 + 0x22 + 0x33 + 0x44 + 0x55 + 0x66 + 0x77 + 0x88 +
                        0x0d + 0xf0 + 0xfe + 0xca);
    /* Trap-only BARs are never handed out: not by MAP_MEMORY, and not by
     * a direct IOConnectMapMemory64 either. */
    assert_int_equal(dxc_map(&c, MVF_MEM_BAR(0), &p, &size, NULL), -ENOTSUP);
    assert_int_not_equal(rig_map(c.conn, MVF_MEM_BAR(0), &p, &size), 0);
    assert_int_not_equal(rig_map(c.conn, MVF_MEM_BAR(4), &p, &size), 0);
    assert_int_equal(dxc_map(&c, MVF_ROM_INDEX, &p, &size, NULL), -EINVAL);
    /* A client that does not hold the claim gets no BAR. */
    assert_int_equal(dxc_connect(&other, *state), 0);
    assert_int_equal(dxc_device_open(&other, 0), 0);
    assert_int_equal(dxc_map(&other, MVF_MEM_BAR(2), &p, &size, NULL), -EACCES);
    assert_int_not_equal(rig_map(other.conn, MVF_MEM_BAR(2), &p, &size), 0);
    dxc_close(&other);
    assert_int_equal(dxc_unmap(&c, MVF_MEM_BAR(2), win), 0);
    dxc_close(&c);
}

static void test_dma_at_system_iovas(void **state)
{
    const uint64_t len = 1u << 20;
    struct rig_counters k0, k1, k2;
    struct mvf_device_info info;
    uint64_t handle, iova, iova2, size;
    uint8_t *mem = dxc_alloc(len), *win;
    struct mvf_stats st;
    struct dxc c;

    dxc_connect_claimed(&c, *state);
    assert_int_equal(dxc_device_info(&c, &info), 0);
    assert_int_equal(dxc_map(&c, MVF_MEM_BAR(2), (void **)&win, &size, NULL), 0);
    dxc_bus_master_on(&c);
    assert_int_equal(dxc_irq_state(&c, MVF_IRQ_MSIX), 0);

    /* Memory comes by address here, never as an fd. */
    {
        uint64_t in[3] = { len, 0, MVF_DMA_REG_FD };
        assert_int_equal(dxc_call(&c, MVF_SEL_DMA_REGISTER, in, 3, NULL, 0,
                                  &handle, 1, NULL, NULL), -ENOTSUP);
    }
    rig_counters(*state, &k0);
    assert_int_equal(dxc_dma_register_va(&c, mem, len, &handle), 0);
    rig_counters(*state, &k1);
    assert_int_equal(k1.live_client_mem, k0.live_client_mem + 1);
    assert_int_equal(dxc_dma_map(&c, handle, 4 * G, 2 * G,
                                 MVF_DMA_READ | MVF_DMA_WRITE, &iova), 0);
    rig_counters(*state, &k2);
    assert_int_equal(k2.prepare_ok, k1.prepare_ok + 1);
    assert_int_equal(k2.live_dma, k1.live_dma + 1);
    /* The system's IOVA: granule aligned, in the DART window the device
     * reports, and neither the client's VA nor anything near it. */
    assert_int_equal(iova % G, 0);
    assert_true(iova >= info.dma_aperture_base);
    assert_true(iova + 2 * G <= info.dma_aperture_base + info.dma_aperture_size);
    assert_true(iova != (uint64_t)(uintptr_t)(mem + 4 * G));

    /* Device writes: window -> client memory. */
    for (int i = 0; i < 8192; i++)
        win[i] = (uint8_t)(i * 7 + 3);
    assert_int_equal(dma_xfer(&c, iova + 100, 0, 8192,
                              MVF_DMATEST_DIR_FROM_DEVICE, 1),
                     MVF_DMATEST_STATUS_DONE);
    assert_memory_equal(mem + 4 * G + 100, win, 8192);
    assert_int_equal(mem[4 * G + 99], 0);
    assert_int_equal(mem[4 * G + 100 + 8192], 0);
    /* Device reads: client memory -> window. */
    memset(mem + 4 * G, 0x5a, 4096);
    assert_int_equal(dma_xfer(&c, iova, 0x8000, 4096,
                              MVF_DMATEST_DIR_TO_DEVICE, 1),
                     MVF_DMATEST_STATUS_DONE);
    assert_int_equal(win[0x8000], 0x5a);
    assert_int_equal(win[0x8000 + 4095], 0x5a);

    /* A second mapping: its own range; read-only is enforced. */
    assert_int_equal(dxc_dma_map(&c, handle, 0, G, MVF_DMA_READ, &iova2), 0);
    assert_true(iova2 + G <= iova || iova2 >= iova + 2 * G);
    assert_int_equal(dma_xfer(&c, iova2, 0, 16, MVF_DMATEST_DIR_FROM_DEVICE, 1),
                     MVF_DMATEST_STATUS_FAULT);
    /* Beyond the mapping: a fault, nothing written. */
    memset(mem, 0, len);
    assert_int_equal(dma_xfer(&c, iova + 2 * G - 8, 0, 64,
                              MVF_DMATEST_DIR_FROM_DEVICE, 1),
                     MVF_DMATEST_STATUS_FAULT);
    for (uint64_t i = 0; i < len; i++)
        if (mem[i])
            fail_msg("a faulting DMA wrote byte %lu", (unsigned long)i);
    assert_int_equal(dxc_stats(&c, &st), 0);
    assert_int_equal(st.live_mappings, 2);
    assert_int_equal(st.mapped_bytes, 3 * G);

    /* Unmap: exact ranges only; CompleteDMA each; the old IOVA faults. */
    assert_int_equal(dxc_dma_unmap(&c, iova, G), -EINVAL);
    assert_int_equal(dxc_dma_unregister(&c, handle), -EBUSY);
    assert_int_equal(dxc_dma_unmap(&c, iova, 2 * G), 0);
    assert_int_equal(dxc_dma_unmap(&c, iova2, G), 0);
    assert_int_equal(dma_xfer(&c, iova, 0, 64, MVF_DMATEST_DIR_FROM_DEVICE, 1),
                     MVF_DMATEST_STATUS_FAULT);
    rig_counters(*state, &k2);
    assert_int_equal(k2.live_dma, k0.live_dma);
    assert_int_equal(k2.complete_calls - k0.complete_calls,
                     k2.prepare_ok - k0.prepare_ok);
    assert_int_equal(dxc_dma_unregister(&c, handle), 0);
    rig_counters(*state, &k2);
    assert_int_equal(k2.live_client_mem, k0.live_client_mem);
    assert_int_equal(k2.rule_violations, 0);
    drain_port(&c);
    assert_int_equal(dxc_unmap(&c, MVF_MEM_BAR(2), win), 0);
    dxc_close(&c);
    free(mem);
}

static void test_msix_state_page(void **state)
{
    struct mvf_irq_state *page;
    uint64_t size, count, flags;
    struct dxc c;

    dxc_connect_claimed(&c, *state);
    dxc_bus_master_on(&c);
    assert_int_equal(dxc_irq_info(&c, MVF_IRQ_MSIX, &count, &flags), 0);
    assert_int_equal(count, MVF_DMATEST_NVEC);
    assert_int_equal(dxc_irq_info(&c, MVF_IRQ_INTX, &count, &flags), 0);
    assert_int_equal(count, 0);
    /* Per-vector notifiers (eventfds) do not exist on this transport. */
    {
        uint64_t in[5] = { MVF_IRQ_MSIX, MVF_IRQ_ACT_TRIGGER, 0, 1, 1 };
        assert_int_equal(dxc_call(&c, MVF_SEL_IRQ_SET, in, 5, NULL, 0, NULL, 0,
                                  NULL, NULL), -ENOTSUP);
        assert_non_null(strstr(c.err, "state page"));
    }
    assert_int_equal(dxc_irq_state(&c, MVF_IRQ_MSIX), 0);
    assert_int_equal(dxc_map(&c, MVF_MEM_IRQ_STATE, (void **)&page, &size, &flags), 0);
    assert_true(size >= sizeof(*page));
    assert_int_equal(page->pending[0], 0);

    /* Each raise: its bit in the page and one completion. */
    assert_int_equal(dma_xfer(&c, 0, 0, 1, MVF_DMATEST_DIR_FROM_DEVICE, 1),
                     MVF_DMATEST_STATUS_FAULT);
    assert_int_equal(drain_port(&c), 1);
    assert_int_equal(__atomic_load_n(&page->pending[0], __ATOMIC_ACQUIRE), 1u << 1);
    assert_true(page->seq >= 1);
    __atomic_fetch_and(&page->pending[0], ~(1ull << 1), __ATOMIC_ACQ_REL);
    assert_int_equal(dma_xfer(&c, 0, 0, 1, MVF_DMATEST_DIR_FROM_DEVICE, 3),
                     MVF_DMATEST_STATUS_FAULT);
    assert_int_equal(drain_port(&c), 1);
    assert_int_equal(page->pending[0], 1u << 3);
    __atomic_fetch_and(&page->pending[0], ~(1ull << 3), __ATOMIC_ACQ_REL);

    /* Masked: nothing in the page, no message; unmask delivers it. */
    assert_int_equal(dxc_irq_set(&c, MVF_IRQ_MSIX, MVF_IRQ_ACT_MASK, 2, 1), 0);
    assert_int_equal(dma_xfer(&c, 0, 0, 1, MVF_DMATEST_DIR_FROM_DEVICE, 2),
                     MVF_DMATEST_STATUS_FAULT);
    assert_int_equal(drain_port(&c), 0);
    assert_int_equal(page->pending[0], 0);
    assert_int_equal(dxc_irq_set(&c, MVF_IRQ_MSIX, MVF_IRQ_ACT_UNMASK, 2, 1), 0);
    assert_int_equal(drain_port(&c), 1);
    assert_int_equal(page->pending[0], 1u << 2);

    /* Bus master off: the device cannot signal at all (MSI-X is a write). */
    __atomic_fetch_and(&page->pending[0], 0, __ATOMIC_ACQ_REL);
    assert_int_equal(dxc_cfg_write(&c, 0x04, 2, 0x2), 0);
    reg_wr(&c, MVF_DMATEST_REG_DMA_VECTOR, 1);
    reg_wr(&c, MVF_DMATEST_REG_DOORBELL, MVF_DMATEST_DOORBELL_GO);
    assert_int_equal(reg_rd(&c, MVF_DMATEST_REG_ERROR_CODE),
                     MVF_DMATEST_ERR_NO_BUS_MASTER);
    assert_int_equal(drain_port(&c), 0);
    assert_int_equal(page->pending[0], 0);
    assert_int_equal(dxc_unmap(&c, MVF_MEM_IRQ_STATE, page), 0);
    dxc_close(&c);
}

static void test_reset(void **state)
{
    struct mvf_stats a, b;
    struct dxc c;
    uint32_t v;

    dxc_connect_claimed(&c, *state);
    reg_wr(&c, MVF_DMATEST_REG_SCRATCH, 0x1234);
    assert_int_equal(dxc_cfg_write(&c, 0x10, 4, 0xfe000000), 0);
    assert_int_equal(dxc_stats(&c, &a), 0);
    assert_int_equal(dxc_reset(&c), 0);
    assert_int_equal(reg_rd(&c, MVF_DMATEST_REG_SCRATCH), 0);
    assert_int_equal(dxc_cfg_read(&c, 0x10, 4, &v), 0);
    assert_int_equal(v, 0);
    assert_int_equal(dxc_stats(&c, &b), 0);
    assert_int_equal(b.resets, a.resets + 1);
    dxc_close(&c);
}

static void test_second_claimant(void **state)
{
    struct mvf_device_info info;
    struct dxc a, b;

    dxc_connect_claimed(&a, *state);
    assert_int_equal(dxc_connect(&b, *state), 0);
    assert_int_equal(dxc_device_open(&b, 0), 0);
    assert_int_equal(dxc_claim(&b), -EBUSY);
    /* The errno travels losslessly in the IOReturn... */
    assert_int_equal(b.last_kr, rig_ioreturn_of_errno(-EBUSY));
    /* ...and the text through LAST_ERROR. */
    assert_non_null(strstr(b.err, "claimed by another"));
    assert_int_equal(dxc_device_info(&b, &info), 0);
    assert_int_equal(info.claimed, 1);
    /* A successful call leaves LAST_ERROR alone; the text stays. */
    {
        char text[MVF_ERRMSG_MAX];
        uint32_t len = sizeof(text);
        assert_int_equal(dxc_call(&b, MVF_SEL_LAST_ERROR, NULL, 0, NULL, 0,
                                  NULL, 0, text, &len), 0);
        assert_int_equal(len, strlen(text) + 1);
        assert_non_null(strstr(text, "claimed by another"));
    }
    assert_int_equal(dxc_mmio_read(&b, 0, 0, 4, &(uint64_t){ 0 }), -EACCES);
    assert_int_equal(dxc_release(&a), 0);
    assert_int_equal(dxc_claim(&b), 0);
    assert_int_equal(dxc_claim(&a), -EBUSY);
    dxc_close(&b);
    assert_int_equal(dxc_claim(&a), 0);
    dxc_close(&a);
}

/* A client killed while it holds everything: the session's clean-up
 * completes every DMA command, turns bus mastering off and resets. */
static void test_killed_client_leaves_nothing(void **state)
{
    const uint64_t len = 16 * G;
    struct rig_counters k0, k;
    uint64_t handle, iova[4], size, v;
    uint8_t *mem = dxc_alloc(len), *win;
    struct mvf_irq_state *page;
    struct dxc c, next;

    rig_counters(*state, &k0);
    dxc_connect_claimed(&c, *state);
    dxc_bus_master_on(&c);
    assert_int_equal(dxc_map(&c, MVF_MEM_BAR(2), (void **)&win, &size, NULL), 0);
    assert_int_equal(dxc_irq_state(&c, MVF_IRQ_MSIX), 0);
    assert_int_equal(dxc_map(&c, MVF_MEM_IRQ_STATE, (void **)&page, &size, NULL), 0);
    assert_int_equal(dxc_dma_register_va(&c, mem, len, &handle), 0);
    for (int i = 0; i < 4; i++)
        assert_int_equal(dxc_dma_map(&c, handle, (uint64_t)i * 4 * G, 2 * G,
                                     MVF_DMA_READ | MVF_DMA_WRITE, &iova[i]), 0);
    memset(win, 0xa5, 4096);
    reg_wr(&c, MVF_DMATEST_REG_SCRATCH, 0x5555);
    rig_counters(*state, &k);
    assert_int_equal(k.live_dma, k0.live_dma + 4);
    assert_true(k.bus_master);

    dxc_kill(&c);
    rig_run_queue(*state);
    rig_counters(*state, &k);
    assert_int_equal(k.live_dma, 0);
    assert_int_equal(k.prepare_ok - k0.prepare_ok, k.complete_calls - k0.complete_calls);
    assert_int_equal(k.live_client_mem, 0);
    assert_false(k.bus_master);
    assert_int_equal(k.rule_violations, 0);

    /* The next owner finds a clean device. */
    dxc_connect_claimed(&next, *state);
    assert_int_equal(reg_rd(&next, MVF_DMATEST_REG_SCRATCH), 0);
    assert_int_equal(dxc_mmio_read(&next, 2, 0, 8, &v), 0);
    assert_int_equal(v, 0);
    {
        struct mvf_stats st;
        assert_int_equal(dxc_stats(&next, &st), 0);
        assert_int_equal(st.live_mappings, 0);
        assert_int_equal(st.registered_bytes, 0);
    }
    dxc_close(&next);
    free(mem);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_hello, setup, teardown),
        cmocka_unit_test_setup_teardown(test_list_and_info, setup, teardown),
        cmocka_unit_test_setup_teardown(test_config_policy, setup, teardown),
        cmocka_unit_test_setup_teardown(test_trapped_bar, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mapped_bar, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dma_at_system_iovas, setup, teardown),
        cmocka_unit_test_setup_teardown(test_msix_state_page, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reset, setup, teardown),
        cmocka_unit_test_setup_teardown(test_second_claimant, setup, teardown),
        cmocka_unit_test_setup_teardown(test_killed_client_leaves_nothing, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

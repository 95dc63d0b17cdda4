/* SPDX-License-Identifier: MIT */
/*
 * libmacvfio <-> a real macvfiod over a real socket, serving sim:dmatest:
 * identity, config policy, trapped and mapped BARs, interrupts through
 * eventfds and the state page, DMA into memfd memory at host-assigned
 * IOVAs, reset, and ownership.
 *
 * With MVF_TEST_TRANSPORT=iokit the same cases run against the dext
 * (dkhost, one device) through the IOKit transport; what only the socket
 * has (a second device on one server, memfd seals, eventfd-only wake-ups,
 * mappings revoked by swapping a BAR's memfd, faults the server sees) is
 * skipped there, each case saying why.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "daemon_fixture.h"
#include "dmatest.h"

#define G MVF_DART_GRANULE

static struct test_daemon daemon_;

static int start(void **state)
{
    static const char *const args[] = { "--device", "sim:dmatest",
                                        "--device", "sim:dmatest,window=64K",
                                        NULL };
    static const char *const one[] = { "--device", "sim:dmatest", NULL };

    /* A dext serves one device. */
    return test_daemon_start(&daemon_, test_transport_iokit() ? one : args);
}

/* Skips the case over IOKit, where it does not apply (why: `reason`). */
#define SOCKET_ONLY(reason)                                                 \
    do {                                                                    \
        if (test_transport_iokit()) {                                       \
            print_message("skipped over IOKit: %s\n", reason);               \
            skip();                                                         \
        }                                                                   \
    } while (0)

static int stop(void **state)
{
    return test_daemon_stop(&daemon_);
}

static void enable_bus_master(struct mvf_handle *h)
{
    uint32_t cmd;
    assert_int_equal(mvf_config_read(h, 0x04, 2, &cmd), 0);
    assert_int_equal(mvf_config_write(h, 0x04, 2, cmd | 0x6), 0);
}

static void test_identity(void **state)
{
    struct mvf_device_info list[4], info;
    struct mvf_handle *h;
    uint32_t v;

    SOCKET_ONLY("two devices on one server, memfd registration "
                "(tests/dext/iokit/test_iokit_dext.c has the IOKit identity)");
    assert_int_equal(mvf_connect(daemon_.sock, &h), 0);
    assert_int_equal(mvf_server_version(h) >> 16, MVF_ABI_VERSION_MAJOR);
    assert_true(mvf_features(h) & MVF_FEAT_DMA_FD);
    assert_int_equal(mvf_device_list(h, list, 4), 2);
    assert_int_equal(list[1].bus, 2);
    assert_int_equal(mvf_device_open_spec(h, "01:00.0"), 0);
    assert_int_equal(mvf_device_get_info(h, &info), 0);
    assert_int_equal(info.vendor_id, MVF_DMATEST_VENDOR_ID);
    assert_int_equal(info.device_id, MVF_DMATEST_DEVICE_ID);
    assert_int_equal(info.class_code, MVF_DMATEST_CLASS);
    assert_int_equal(info.revision, MVF_DMATEST_REVISION);
    assert_int_equal(info.dma_granule, G);
    assert_int_equal(info.dma_budget, MVF_DART_DEFAULT_BUDGET);
    assert_int_equal(info.dma_max_mappings, MVF_DART_DEFAULT_MAXMAP);
    assert_string_equal(info.name, "sim:dmatest");
    /* Config reads work without claiming; they match DEVICE_INFO. */
    assert_int_equal(mvf_config_read(h, 0, 4, &v), 0);
    assert_int_equal(v, (uint32_t)MVF_DMATEST_DEVICE_ID << 16 | MVF_DMATEST_VENDOR_ID);
    /* Everything else needs a claim. */
    assert_int_equal(mvf_config_write(h, 0x04, 2, 2), -EACCES);
    assert_int_equal(mvf_mmio_read(h, 0, 0, 4, &(uint64_t){ 0 }), -EACCES);
    assert_non_null(strstr(mvf_last_error(), "CLAIM"));
    mvf_close(h);
}

static void test_capabilities(void **state)
{
    struct mvf_handle *h = test_open_claimed(&daemon_, 0);
    uint32_t status, ptr, id, found = 0, ctrl;

    assert_int_equal(mvf_config_read(h, 0x06, 2, &status), 0);
    assert_true(status & 0x10);
    assert_int_equal(mvf_config_read(h, 0x34, 1, &ptr), 0);
    for (int n = 0; ptr && n < 48; n++) {
        assert_int_equal(mvf_config_read(h, ptr, 1, &id), 0);
        found |= 1u << (id & 31);
        if (id == 0x11) {
            assert_int_equal(mvf_config_read(h, ptr + 2, 2, &ctrl), 0);
            assert_int_equal((ctrl & 0x7ff) + 1, MVF_DMATEST_NVEC);
        }
        assert_int_equal(mvf_config_read(h, ptr + 1, 1, &ptr), 0);
    }
    assert_true(found & (1u << 0x01));   /* PM */
    assert_true(found & (1u << 0x10));   /* PCIe */
    assert_true(found & (1u << 0x11));   /* MSI-X */
    mvf_close(h);
}

static void test_config_policy(void **state)
{
    struct mvf_handle *h = test_open_claimed(&daemon_, 0);
    struct mvf_stats before, after;
    uint32_t v, lo, hi;
    uint64_t size;

    assert_int_equal(mvf_get_stats(h, &before), 0);
    /* Identity is read-only: the write is dropped and counted. */
    assert_int_equal(mvf_config_write(h, 0x00, 2, 0x1234), 0);
    assert_int_equal(mvf_config_read(h, 0x00, 2, &v), 0);
    assert_int_equal(v, MVF_DMATEST_VENDOR_ID);
    assert_int_equal(mvf_get_stats(h, &after), 0);
    assert_int_equal(after.config_writes_dropped, before.config_writes_dropped + 1);

    /* BARs are virtualized: sizing reads back the size like hardware. */
    assert_int_equal(mvf_config_write(h, 0x10, 4, 0xffffffff), 0);
    assert_int_equal(mvf_config_read(h, 0x10, 4, &v), 0);
    assert_int_equal(v, ~(uint32_t)(MVF_DMATEST_REG_SIZE - 1));
    /* BAR2: 64-bit prefetchable 1 MiB window. */
    assert_int_equal(mvf_bar_info(h, 2, &size, &v), 0);
    assert_int_equal(size, MVF_DMATEST_WIN_DEFAULT);
    assert_true(v & MVF_BAR_64BIT && v & MVF_BAR_PREFETCH && v & MVF_BAR_MAPPABLE);
    assert_int_equal(mvf_config_write(h, 0x18, 4, 0xffffffff), 0);
    assert_int_equal(mvf_config_write(h, 0x1c, 4, 0xffffffff), 0);
    assert_int_equal(mvf_config_read(h, 0x18, 4, &lo), 0);
    assert_int_equal(mvf_config_read(h, 0x1c, 4, &hi), 0);
    assert_int_equal(lo, (uint32_t)~(MVF_DMATEST_WIN_DEFAULT - 1) | 0xc);
    assert_int_equal(hi, 0xffffffff);
    /* An address written is kept (in the shadow) for the client. */
    assert_int_equal(mvf_config_write(h, 0x10, 4, 0xfe001000), 0);
    assert_int_equal(mvf_config_read(h, 0x10, 4, &v), 0);
    assert_int_equal(v, 0xfe001000);

    /* Command bits reach the device; read-only ones are dropped. */
    assert_int_equal(mvf_config_write(h, 0x04, 2, 0x0006), 0);
    assert_int_equal(mvf_config_read(h, 0x04, 2, &v), 0);
    assert_int_equal(v & 0x0006, 0x0006);

    /* Bad accesses: clear errors. */
    assert_int_equal(mvf_config_read(h, 4096, 4, &v), -ERANGE);
    assert_int_equal(mvf_config_read(h, 2, 4, &v), -EINVAL);
    assert_int_equal(mvf_config_read(h, 0, 3, &v), -EINVAL);
    mvf_close(h);
}

static void test_trapped_bar(void **state)
{
    struct mvf_handle *h = test_open_claimed(&daemon_, 0);
    uint64_t v;

    assert_int_equal(test_dmatest_reg_read(h, MVF_DMATEST_REG_ID), MVF_DMATEST_ID_VALUE);
    test_dmatest_reg_write(h, MVF_DMATEST_REG_SCRATCH, 0xdeadbeef);
    assert_int_equal(test_dmatest_reg_read(h, MVF_DMATEST_REG_SCRATCH), 0xdeadbeef);
    /* BAR0 cannot be mapped: it has side effects. */
    assert_int_equal(mvf_map_memory(h, MVF_MEM_BAR(0), (void **)&v, &v, NULL),
                     -ENOTSUP);
    assert_int_equal(mvf_mmio_read(h, 0, MVF_DMATEST_REG_SIZE, 4, &v), -ERANGE);
    assert_int_equal(mvf_mmio_read(h, 0, 2, 4, &v), -EINVAL);
    assert_int_equal(mvf_mmio_read(h, 1, 0, 4, &v), -EINVAL);
    /* A write that waits is refused itself. */
    assert_int_equal(mvf_mmio_write(h, MVF_ROM_INDEX, 0, 4, 0), -EINVAL);
    assert_int_equal(mvf_flush(h), 0);
    /* Writes may be posted on the socket, never on IOKit: there the
     * refusal is the write's own, here it comes back on the next call. */
    assert_int_equal((mvf_features(h) & MVF_FEAT_POSTED_WRITE) != 0,
                     !test_transport_iokit());
    if (test_transport_iokit()) {
        assert_int_equal(mvf_mmio_write_posted(h, MVF_ROM_INDEX, 0, 4, 0),
                         -EINVAL);
        assert_int_equal(mvf_flush(h), 0);
    } else {
        assert_int_equal(mvf_mmio_write_posted(h, MVF_ROM_INDEX, 0, 4, 0), 0);
        assert_int_equal(mvf_flush(h), -EIO);
        assert_non_null(strstr(mvf_last_error(), "posted MMIO_WRITE"));
    }
    mvf_close(h);
}

static void test_mapped_bar(void **state)
{
    struct mvf_handle *h = test_open_claimed(&daemon_, 0);
    uint64_t size, v;
    uint8_t *win;

    assert_int_equal(mvf_map_memory(h, MVF_MEM_BAR(2), (void **)&win, &size, NULL), 0);
    assert_int_equal(size, MVF_DMATEST_WIN_DEFAULT);
    memcpy(win + 0x100, "\x11\x22\x33\x44\x55\x66\x77\x88", 8);
    assert_int_equal(mvf_mmio_read(h, 2, 0x100, 8, &v), 0);
    assert_int_equal(v, 0x8877665544332211ull);
    assert_int_equal(mvf_mmio_write(h, 2, 0x200, 4, 0xcafef00d), 0);
    /* An access through the mapping is plain memory, not ordered after a
     * posted write: mvf_flush is the barrier. */
    assert_int_equal(mvf_flush(h), 0);
    assert_int_equal(*(volatile uint32_t *)(win + 0x200), 0xcafef00d);
    /* The device itself sees what was written through the mapping. */
    assert_int_equal(mvf_mmio_read(h, 0, MVF_DMATEST_REG_WIN_SUM, 4, &v), 0);
    assert_int_equal(v, 0x11 + 0x22 + 0x33 + 0x44 + 0x55 + 0x66 + 0x77 + 0x88 +
                        0x0d + 0xf0 + 0xfe + 0xca);
    assert_int_equal(mvf_unmap_memory(h, win, size), 0);
    mvf_close(h);
}

/* DMA from the device into client memory at a host-assigned IOVA. */
static void test_dma_roundtrip(void **state)
{
    struct mvf_handle *h = test_open_claimed(&daemon_, 0);
    int mfd = test_sealed_memfd(1 << 20), efd = eventfd(0, EFD_CLOEXEC);
    int fds[MVF_DMATEST_NVEC] = { -1, efd, -1, -1 };
    uint64_t handle, iova, iova2, wsize;
    struct mvf_stats st;
    uint8_t *mem, *win;

    mem = test_map_memfd(mfd, 1 << 20);
    assert_int_equal(mvf_map_memory(h, MVF_MEM_BAR(2), (void **)&win, &wsize, NULL), 0);
    enable_bus_master(h);
    assert_int_equal(mvf_irq_set_eventfds(h, MVF_IRQ_MSIX, 0, MVF_DMATEST_NVEC, fds), 0);

    assert_int_equal(test_dma_register(h, mfd, mem, 1 << 20, &handle), 0);
    assert_int_equal(mvf_dma_map(h, handle, 4 * G, 2 * G,
                                 MVF_DMA_READ | MVF_DMA_WRITE, &iova), 0);
    /* Host-assigned, granule aligned, far from any guest-physical address. */
    assert_true(iova >= MVF_DART_DEFAULT_BASE);
    assert_int_equal(iova % G, 0);

    /* Device writes: window -> memory. */
    for (int i = 0; i < 8192; i++)
        win[i] = (uint8_t)(i * 7 + 3);
    assert_int_equal(test_dmatest_xfer(h, iova + 100, 0, 8192, MVF_DMATEST_DIR_FROM_DEVICE, 1),
                     MVF_DMATEST_STATUS_DONE);
    assert_int_equal(test_wait_eventfd(efd, 2000), 1);
    assert_memory_equal(mem + 4 * G + 100, win, 8192);
    assert_int_equal(mem[4 * G + 99], 0);           /* nothing outside */
    assert_int_equal(mem[4 * G + 100 + 8192], 0);

    /* Device reads: memory -> window. */
    memset(mem + 4 * G, 0x5a, 4096);
    assert_int_equal(test_dmatest_xfer(h, iova, 0x8000, 4096, MVF_DMATEST_DIR_TO_DEVICE, 1),
                     MVF_DMATEST_STATUS_DONE);
    assert_int_equal(test_wait_eventfd(efd, 2000), 1);
    assert_int_equal(win[0x8000], 0x5a);
    assert_int_equal(win[0x8000 + 4095], 0x5a);

    /* A second mapping gets its own, different IOVA range. */
    assert_int_equal(mvf_dma_map(h, handle, 0, G, MVF_DMA_READ, &iova2), 0);
    assert_true(iova2 + G <= iova || iova2 >= iova + 2 * G);
    /* Direction is enforced: a read-only mapping cannot be written. */
    assert_int_equal(test_dmatest_xfer(h, iova2, 0, 16, MVF_DMATEST_DIR_FROM_DEVICE, 1),
                     MVF_DMATEST_STATUS_FAULT);
    assert_int_equal(test_wait_eventfd(efd, 2000), 1);

    /* An IOVA never mapped is a fault: nothing copied, IOVA reported. */
    memset(mem, 0, 1 << 20);
    assert_int_equal(test_dmatest_xfer(h, iova + 2 * G - 8, 0, 64,
                              MVF_DMATEST_DIR_FROM_DEVICE, 1),
                     MVF_DMATEST_STATUS_FAULT);
    assert_int_equal(test_wait_eventfd(efd, 2000), 1);
    assert_int_equal(test_dmatest_reg_read(h, MVF_DMATEST_REG_FAULT_IOVA_LO),
                     (uint32_t)(iova + 2 * G));
    for (int i = 0; i < (1 << 20); i++)
        if (mem[i])
            fail_msg("DMA fault wrote byte %d", i);
    assert_int_equal(mvf_get_stats(h, &st), 0);
    assert_int_equal(st.live_mappings, 2);
    assert_int_equal(st.mapped_bytes, 3 * G);
    /* Over IOKit the DART's faults are the macOS kernel's, not the dext's. */
    if (!test_transport_iokit())
        assert_true(st.dma_faults >= 2);
    assert_true(st.irqs_delivered >= 4);

    /* Unmap: exact match only; then DMA to it faults. */
    assert_int_equal(mvf_dma_unmap(h, iova, G), -EINVAL);
    assert_int_equal(mvf_dma_unmap(h, iova + G, G), -ENOENT);
    assert_int_equal(mvf_dma_unregister(h, handle), -EBUSY);
    assert_int_equal(mvf_dma_unmap(h, iova, 2 * G), 0);
    assert_int_equal(mvf_dma_unmap(h, iova2, G), 0);
    assert_int_equal(test_dmatest_xfer(h, iova, 0, 64, MVF_DMATEST_DIR_FROM_DEVICE, 1),
                     MVF_DMATEST_STATUS_FAULT);
    assert_int_equal(mvf_dma_unregister(h, handle), 0);
    assert_int_equal(mvf_get_stats(h, &st), 0);
    assert_int_equal(st.live_mappings, 0);
    assert_int_equal(st.registered_bytes, 0);

    mvf_unmap_memory(h, win, wsize);
    munmap(mem, 1 << 20);
    close(mfd);
    close(efd);
    mvf_close(h);
}

static void test_dma_errors(void **state)
{
    struct mvf_handle *h;
    int mfd, loose;
    uint64_t handle, iova, bad;

    SOCKET_ONLY("registration by memfd (the dext's hostile registrations: "
                "tests/dext/test_dext_only.c)");
    h = test_open_claimed(&daemon_, 0);
    mfd = test_sealed_memfd(8 * G);
    loose = memfd_create("unsealed", MFD_CLOEXEC);

    assert_int_equal(ftruncate(loose, 8 * G), 0);
    assert_int_equal(mvf_dma_register_fd(h, loose, 0, 8 * G, &bad), -EPERM);
    assert_non_null(strstr(mvf_last_error(), "F_SEAL_SHRINK"));
    assert_int_equal(mvf_dma_register_fd(h, mfd, 0, 16 * G, &bad), -EOVERFLOW);
    assert_int_equal(mvf_dma_register_fd(h, mfd, 0, 0, &bad), -ENODATA);
    assert_int_equal(mvf_dma_register_fd(h, mfd, 100, 4096, &bad), -EINVAL);
    assert_int_equal(mvf_dma_register_fd(h, mfd, 0, 8 * G, &handle), 0);

    assert_int_equal(mvf_dma_map(h, handle, 0, 0, MVF_DMA_READ, &iova), -ENODATA);
    assert_int_equal(mvf_dma_map(h, handle, 4096, G, MVF_DMA_READ, &iova), -EINVAL);
    assert_int_equal(mvf_dma_map(h, handle, 0, G + 4096, MVF_DMA_READ, &iova), -EINVAL);
    assert_int_equal(mvf_dma_map(h, handle, 4 * G, 8 * G, MVF_DMA_READ, &iova),
                     -EOVERFLOW);
    assert_int_equal(mvf_dma_map(h, handle, UINT64_MAX - G + 1, 2 * G,
                                 MVF_DMA_READ, &iova), -EOVERFLOW);
    assert_int_equal(mvf_dma_map(h, handle + 100, 0, G, MVF_DMA_READ, &iova), -ENOENT);
    assert_int_equal(mvf_dma_map(h, handle, 0, G, 0, &iova), -EINVAL);
    assert_int_equal(mvf_dma_map(h, handle, 0, G, 8, &iova), -EINVAL);
    close(loose);
    close(mfd);
    mvf_close(h);   /* registration released by the daemon */
}

static void test_dma_batch(void **state)
{
    struct mvf_handle *h = test_open_claimed(&daemon_, 0);
    int mfd = test_sealed_memfd(64 * G);
    void *mem = test_map_memfd(mfd, 64 * G);
    struct mvf_dma_map_req req[40];
    struct mvf_dma_map_res res[40];
    struct mvf_dma_unmap_req ureq[40];
    int32_t ust[40];
    struct mvf_stats st;
    uint64_t handle;

    assert_int_equal(test_dma_register(h, mfd, mem, 64 * G, &handle), 0);
    for (int i = 0; i < 40; i++)
        req[i] = (struct mvf_dma_map_req){ handle, (uint64_t)i * G, G,
                                           MVF_DMA_READ | MVF_DMA_WRITE, 0 };
    req[7].length = 0;            /* one bad entry fails alone */
    assert_int_equal(mvf_dma_map_batch(h, req, res, 40), 0);
    for (int i = 0; i < 40; i++) {
        assert_int_equal(res[i].status, i == 7 ? -ENODATA : 0);
        ureq[i] = (struct mvf_dma_unmap_req){ res[i].iova, G };
    }
    assert_int_equal(mvf_get_stats(h, &st), 0);
    assert_int_equal(st.live_mappings, 39);
    assert_int_equal(mvf_dma_unmap_batch(h, ureq, ust, 40), 0);
    for (int i = 0; i < 40; i++)
        assert_int_equal(ust[i], i == 7 ? -ENOENT : 0);
    assert_int_equal(mvf_get_stats(h, &st), 0);
    assert_int_equal(st.live_mappings, 0);
    munmap(mem, 64 * G);
    close(mfd);
    mvf_close(h);
}

static void test_irq_mask_and_state_page(void **state)
{
    struct mvf_handle *h = test_open_claimed(&daemon_, 0);
    int efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK), wake;
    int fds[1] = { efd };
    struct mvf_irq_state *page;
    uint32_t count, flags;
    uint64_t size;

    enable_bus_master(h);
    assert_int_equal(mvf_irq_info(h, MVF_IRQ_MSIX, &count, &flags), 0);
    assert_int_equal(count, MVF_DMATEST_NVEC);
    assert_int_equal(mvf_irq_info(h, MVF_IRQ_INTX, &count, &flags), 0);
    assert_int_equal(count, 0);
    assert_int_equal(mvf_irq_set_eventfds(h, MVF_IRQ_MSIX, 2, 1, fds), 0);
    /* Only eventfds are accepted (a pipe could stall the daemon); over
     * IOKit libmacvfio does the writes, to any fd (a pipe on macOS). */
    if (!test_transport_iokit())
        assert_int_equal(mvf_irq_set_eventfds(h, MVF_IRQ_MSIX, 0, 1, (int[]){ 1 }),
                         -EBADF);
    assert_int_equal(mvf_irq_set_eventfds(h, MVF_IRQ_MSIX, 3, 2,
                                          (int[]){ efd, efd }), -ERANGE);

    /* Masked: the interrupt waits; unmasking delivers it. */
    assert_int_equal(mvf_irq_mask(h, MVF_IRQ_MSIX, 2, 1), 0);
    assert_int_equal(test_dmatest_xfer(h, 0, 0, 1, MVF_DMATEST_DIR_FROM_DEVICE, 2),
                     MVF_DMATEST_STATUS_FAULT);
    assert_int_equal(test_wait_eventfd(efd, 100), 0);
    assert_int_equal(mvf_irq_unmask(h, MVF_IRQ_MSIX, 2, 1), 0);
    assert_int_equal(test_wait_eventfd(efd, 2000), 1);

    /* Switching delivery mode needs a disable first. */
    wake = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    assert_int_equal(mvf_irq_set_state_page(h, MVF_IRQ_MSIX, wake), -EBUSY);
    assert_int_equal(mvf_irq_disable(h, MVF_IRQ_MSIX), 0);
    assert_int_equal(mvf_irq_set_state_page(h, MVF_IRQ_MSIX, wake), 0);
    assert_int_equal(mvf_map_memory(h, MVF_MEM_IRQ_STATE, (void **)&page, &size, NULL), 0);
    assert_true(size >= sizeof(*page));
    assert_int_equal(test_dmatest_xfer(h, 0, 0, 1, MVF_DMATEST_DIR_FROM_DEVICE, 3),
                     MVF_DMATEST_STATUS_FAULT);
    /* One wake-up per batch; over IOKit libmacvfio also signals once when
     * the page is set up (macvfio.h), so that one may be counted too. */
    if (test_transport_iokit())
        assert_true(test_wait_eventfd(wake, 2000) >= 1);
    else
        assert_int_equal(test_wait_eventfd(wake, 2000), 1);
    assert_int_equal(__atomic_load_n(&page->pending[0], __ATOMIC_ACQUIRE), 1u << 3);
    assert_true(page->seq >= 1);
    mvf_unmap_memory(h, page, size);
    close(wake);
    close(efd);
    mvf_close(h);
}

static void test_reset(void **state)
{
    struct mvf_handle *h = test_open_claimed(&daemon_, 0);
    struct mvf_stats a, b;
    uint32_t v;

    test_dmatest_reg_write(h, MVF_DMATEST_REG_SCRATCH, 0x1234);
    assert_int_equal(mvf_config_write(h, 0x10, 4, 0xfe000000), 0);
    assert_int_equal(mvf_get_stats(h, &a), 0);
    assert_int_equal(mvf_reset(h), 0);
    assert_int_equal(test_dmatest_reg_read(h, MVF_DMATEST_REG_SCRATCH), 0);
    assert_int_equal(mvf_config_read(h, 0x10, 4, &v), 0);
    assert_int_equal(v, 0);
    assert_int_equal(mvf_get_stats(h, &b), 0);
    assert_int_equal(b.resets, a.resets + 1);
    mvf_close(h);
}

static void test_ownership(void **state)
{
    struct mvf_handle *a = test_open_claimed(&daemon_, 0), *b;
    struct mvf_device_info info;

    assert_int_equal(test_connect(&daemon_, &b), 0);
    assert_int_equal(mvf_device_open(b, 0), 0);
    assert_int_equal(mvf_claim(b), -EBUSY);
    assert_non_null(strstr(mvf_last_error(), "claimed by another"));
    assert_int_equal(mvf_device_get_info(b, &info), 0);
    assert_int_equal(info.claimed, 1);
    /* The other device is free. */
    assert_int_equal(mvf_release(a), 0);
    assert_int_equal(mvf_claim(b), 0);
    assert_int_equal(mvf_claim(a), -EBUSY);
    mvf_close(b);
    assert_int_equal(mvf_claim(a), 0);
    mvf_close(a);
}

/* Nothing a former owner still has mapped reaches the next owner. */
static void test_release_revokes_mappings(void **state)
{
    struct mvf_handle *a, *b;
    struct mvf_irq_state *page;
    uint64_t size, psize, v;
    uint8_t *win;

    SOCKET_ONLY("IOKit cannot revoke a live client's mapping: the dext holds "
                "the device back instead (tests/dext/test_dext_only.c)");
    a = test_open_claimed(&daemon_, 0);

    assert_int_equal(mvf_map_memory(a, MVF_MEM_BAR(2), (void **)&win, &size, NULL), 0);
    assert_int_equal(mvf_irq_set_state_page(a, MVF_IRQ_MSIX, -1), 0);
    assert_int_equal(mvf_map_memory(a, MVF_MEM_IRQ_STATE, (void **)&page, &psize, NULL), 0);
    assert_int_equal(mvf_release(a), 0);

    b = test_open_claimed(&daemon_, 0);
    memset(win, 0x5a, 4096);                 /* the old owner scribbles */
    page->pending[0] = ~0ull;
    assert_int_equal(mvf_mmio_read(b, 2, 0, 8, &v), 0);
    assert_int_equal(v, 0);
    assert_int_equal(mvf_irq_set_state_page(b, MVF_IRQ_MSIX, -1), 0);
    {
        struct mvf_irq_state *bpage;
        uint64_t bsize;
        assert_int_equal(mvf_map_memory(b, MVF_MEM_IRQ_STATE, (void **)&bpage,
                                        &bsize, NULL), 0);
        assert_int_equal(bpage->pending[0], 0);
        mvf_unmap_memory(b, bpage, bsize);
    }
    mvf_unmap_memory(a, win, size);
    mvf_unmap_memory(a, page, psize);
    mvf_close(b);
    mvf_close(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_identity),
        cmocka_unit_test(test_capabilities),
        cmocka_unit_test(test_config_policy),
        cmocka_unit_test(test_trapped_bar),
        cmocka_unit_test(test_mapped_bar),
        cmocka_unit_test(test_dma_roundtrip),
        cmocka_unit_test(test_dma_errors),
        cmocka_unit_test(test_dma_batch),
        cmocka_unit_test(test_irq_mask_and_state_page),
        cmocka_unit_test(test_reset),
        cmocka_unit_test(test_ownership),
        cmocka_unit_test(test_release_revokes_mappings),
    };
    return cmocka_run_group_tests(tests, start, stop);
}

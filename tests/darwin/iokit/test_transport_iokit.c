/* SPDX-License-Identifier: MIT */
/*
 * lib/transport_iokit.c run on Linux against the scripted IOKitLib of
 * iokit_fake.c: finding the service by PCI address, errno carried back
 * losslessly with the dext's message, kIOReturn codes mapped, the end of
 * the dext seen through mvf_connection_fd, cache modes per BAR, batches
 * kept in band, and per-vector interrupt fds delivered from the state
 * page with completions dropped.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "iokit_fake.h"
#include "macvfio/macvfio.h"

static int setup_two(void **state)
{
    (void)state;
    unsetenv("MACVFIO_BAR_CACHE");
    fake_reset();
    fake_add_service(0, 3, 0x00);
    fake_add_service(0, 4, 0x08);   /* 04:01.0 */
    return 0;
}

static struct mvf_handle *connect_ok(const char *bdf)
{
    struct mvf_handle *h = NULL;

    assert_int_equal(mvf_connect_iokit(bdf, &h), 0);
    assert_non_null(h);
    return h;
}

static bool readable(int fd)
{
    struct pollfd p = { .fd = fd, .events = POLLIN };

    return poll(&p, 1, 0) == 1 && (p.revents & POLLIN);
}

static void picks_service_by_address(void **state)
{
    struct mvf_handle *h = connect_ok("0000:04:01.0");
    uint64_t f = mvf_features(h);

    (void)state;
    assert_int_equal(fake.session_service, 1);
    assert_int_equal(mvf_server_max_struct(h), 4096);
    assert_true(f & MVF_FEAT_DMA_VA);
    assert_false(f & MVF_FEAT_DMA_FD);
    /* Emulated on the state page by the transport. */
    assert_true(f & MVF_FEAT_IRQ_EVENTFD);
    assert_int_equal(mvf_device_open_spec(h, "04:01.0"), 0);
    mvf_close(h);

    h = connect_ok("03:00.0");
    assert_int_equal(fake.session_service, 0);
    mvf_close(h);
}

static void refuses_unknown_or_ambiguous(void **state)
{
    struct mvf_handle *h = (struct mvf_handle *)1;

    (void)state;
    assert_int_equal(mvf_connect_iokit("05:00.0", &h), -ENODEV);
    assert_null(h);
    assert_non_null(strstr(mvf_last_error(), "none of the 2"));
    assert_int_equal(mvf_connect_iokit("zz:00.0", &h), -EINVAL);
    assert_int_equal(mvf_connect_iokit(NULL, &h), -EINVAL);
    assert_non_null(strstr(mvf_last_error(), "2 macvfio devices"));
    fake.n_svc = 0;
    assert_int_equal(mvf_connect_iokit(NULL, &h), -ENODEV);
    assert_non_null(strstr(mvf_last_error(), "no macvfio service"));
    fake.n_svc = 1;
    h = connect_ok(NULL);
    mvf_close(h);
}

static void errno_and_message_from_the_dext(void **state)
{
    struct mvf_handle *h = connect_ok("03:00.0");

    (void)state;
    strcpy(fake.last_error, "the device is claimed by another session");
    fake.fail_next = iokit_vendor_specific_err(EBUSY);
    assert_int_equal(mvf_claim(h), -EBUSY);
    assert_non_null(strstr(mvf_last_error(), "CLAIM: the device is claimed "
                                             "by another session"));
    /* Any errno comes back as it was sent. */
    fake.fail_next = iokit_vendor_specific_err(ENOSPC);
    assert_int_equal(mvf_claim(h), -ENOSPC);
    /* No message: the errno's text. */
    fake.last_error[0] = '\0';
    fake.fail_next = iokit_vendor_specific_err(ERANGE);
    assert_int_equal(mvf_claim(h), -ERANGE);
    assert_non_null(strstr(mvf_last_error(), strerror(ERANGE)));
    /* The session goes on. */
    assert_int_equal(mvf_claim(h), 0);
    mvf_close(h);
}

static void ioreturn_codes_mapped(void **state)
{
    struct mvf_handle *h = connect_ok("03:00.0");

    (void)state;
    fake.fail_next = kIOReturnNotPrivileged;
    assert_int_equal(mvf_claim(h), -EPERM);
    assert_non_null(strstr(mvf_last_error(), "kIOReturnNotPrivileged"));
    fake.fail_next = kIOReturnNoMemory;
    assert_int_equal(mvf_claim(h), -ENOMEM);
    fake.fail_next = kIOReturnExclusiveAccess;
    assert_int_equal(mvf_claim(h), -EBUSY);
    fake.fail_next = (kern_return_t)0x12345;
    assert_int_equal(mvf_claim(h), -EIO);
    assert_non_null(strstr(mvf_last_error(), "0x00012345"));
    assert_false(readable(mvf_connection_fd(h)));
    mvf_close(h);
}

static void dext_gone_in_a_call(void **state)
{
    struct mvf_handle *h = connect_ok("03:00.0");
    unsigned calls;

    (void)state;
    assert_false(readable(mvf_connection_fd(h)));
    fake.fail_next = kIOReturnNotAttached;
    assert_int_equal(mvf_claim(h), -ECONNRESET);
    assert_true(readable(mvf_connection_fd(h)));
    calls = fake.calls;
    assert_int_equal(mvf_claim(h), -ECONNRESET);
    assert_int_equal(fake.calls, calls);      /* refused without a call */
    mvf_close(h);
}

static void dext_terminated(void **state)
{
    struct mvf_handle *h = connect_ok("04:01.0");
    unsigned calls;

    (void)state;
    fake_terminate();
    assert_true(readable(mvf_connection_fd(h)));
    calls = fake.calls;
    assert_int_equal(mvf_claim(h), -ECONNRESET);
    assert_non_null(strstr(mvf_last_error(), "terminated"));
    assert_int_equal(fake.calls, calls);
    mvf_close(h);
}

static void cache_mode_per_bar(void **state)
{
    struct mvf_handle *h;
    uint64_t size;
    uint32_t flags;
    void *p;

    (void)state;
    fake.bar_flags[0] = MVF_BAR_MAPPABLE | MVF_BAR_IMPLEMENTED;
    fake.bar_flags[2] = MVF_BAR_MAPPABLE | MVF_BAR_IMPLEMENTED |
                        MVF_BAR_PREFETCH | MVF_BAR_64BIT;
    h = connect_ok("03:00.0");
    assert_int_equal(mvf_map_memory(h, MVF_MEM_BAR(0), &p, &size, &flags), 0);
    assert_int_equal(fake.last_map_options, kIOMapAnywhere | kIOMapInhibitCache);
    assert_int_equal(mvf_unmap_memory(h, p, size), 0);
    assert_int_equal(fake.last_unmap_type, 0);
    assert_int_equal(mvf_map_memory(h, MVF_MEM_BAR(2), &p, &size, &flags), 0);
    assert_int_equal(fake.last_map_options,
                     kIOMapAnywhere | kIOMapWriteCombineCache);
    assert_int_equal(fake.last_map_type, 2);
    assert_int_equal(mvf_unmap_memory(h, p, size), 0);
    assert_int_equal(fake.last_unmap_type, 2);
    assert_int_equal(mvf_unmap_memory(h, p, size), -EINVAL);  /* gone */
    assert_int_equal(mvf_set_bar_cache(h, MVF_BAR_CACHE_UNCACHED), 0);
    assert_int_equal(mvf_map_memory(h, MVF_MEM_BAR(2), &p, &size, &flags), 0);
    assert_int_equal(fake.last_map_options, kIOMapAnywhere | kIOMapInhibitCache);
    assert_int_equal(mvf_set_bar_cache(h, 7), -EINVAL);
    mvf_close(h);                             /* unmaps what is left */
    assert_int_equal(fake.last_unmap_type, 2);

    setenv("MACVFIO_BAR_CACHE", "pcr", 1);
    h = connect_ok("03:00.0");
    assert_int_equal(mvf_map_memory(h, MVF_MEM_BAR(2), &p, &size, &flags), 0);
    assert_int_equal(fake.last_map_options,
                     kIOMapAnywhere | kIOMapPostedCombinedReordered);
    mvf_close(h);
    setenv("MACVFIO_BAR_CACHE", "fast", 1);
    assert_int_equal(mvf_connect_iokit("03:00.0", &h), -EINVAL);
    unsetenv("MACVFIO_BAR_CACHE");
}

static void batches_stay_in_band(void **state)
{
    enum { N = 300 };
    struct mvf_dma_map_req req[N];
    struct mvf_dma_map_res res[N];
    struct mvf_handle *h = connect_ok("03:00.0");

    (void)state;
    memset(req, 0, sizeof(req));
    assert_int_equal(mvf_dma_map_batch(h, req, res, N), 0);
    assert_int_equal(fake.batch_calls, 3);     /* 128 entries per 4096 bytes */
    assert_true(fake.max_struct_in <= 4096);
    assert_int_equal(res[N - 1].status, 0);
    mvf_close(h);

    /* A dext announcing more than IOKit carries in band is held to 4096. */
    fake.hello_max_struct = 65536;
    fake.batch_calls = 0;
    fake.max_struct_in = 0;
    h = connect_ok("03:00.0");
    assert_int_equal(mvf_server_max_struct(h), 4096);
    assert_int_equal(mvf_dma_map_batch(h, req, res, N), 0);
    assert_int_equal(fake.batch_calls, 3);
    assert_true(fake.max_struct_in <= 4096);
    mvf_close(h);
}

static void dma_by_address(void **state)
{
    static uint8_t guest_ram[3 * FAKE_PAGE];
    struct mvf_handle *h = connect_ok("03:00.0");
    uint64_t handle = 0;

    (void)state;
    assert_int_equal(mvf_dma_register_va(h, guest_ram, sizeof(guest_ram),
                                         &handle), 0);
    assert_int_equal(handle, 42);
    assert_int_equal(fake.dma_reg_in[0], sizeof(guest_ram));
    assert_int_equal(fake.dma_reg_in[1], (uint64_t)(uintptr_t)guest_ram);
    assert_int_equal(fake.dma_reg_in[2], MVF_DMA_REG_VA);
    /* No memfds over IOKit: refused before anything is sent. */
    unsigned calls = fake.calls;
    assert_int_equal(mvf_dma_register_fd(h, 0, 0, FAKE_PAGE, &handle),
                     -EOPNOTSUPP);
    assert_int_equal(fake.calls, calls);
    mvf_close(h);
}

static uint64_t read_count(int fd)
{
    uint64_t v = 0;

    assert_int_equal(read(fd, &v, sizeof(v)), (ssize_t)sizeof(v));
    return v;
}

static void vector_fds_from_the_state_page(void **state)
{
    struct mvf_handle *h = connect_ok("03:00.0");
    int p0[2], p1[2], p2[2];
    int fds[3];

    (void)state;
    assert_int_equal(pipe(p0), 0);
    assert_int_equal(pipe(p1), 0);
    assert_int_equal(pipe(p2), 0);
    for (int i = 0; i < 2; i++) {
        fcntl(p0[i], F_SETFL, O_NONBLOCK);
        fcntl(p1[i], F_SETFL, O_NONBLOCK);
        fcntl(p2[i], F_SETFL, O_NONBLOCK);
    }
    fds[0] = p0[1];
    fds[1] = -1;
    fds[2] = p2[1];
    assert_int_equal(mvf_irq_set_eventfds(h, MVF_IRQ_MSIX, 0, 3, fds), 0);
    /* IRQ_SET(MSI-X, STATE, 0, 0, fd_mask 1) as an async call. */
    assert_non_null(fake.irq_callback);
    assert_int_equal(fake.irq_in[0], MVF_IRQ_MSIX);
    assert_int_equal(fake.irq_in[1], MVF_IRQ_ACT_STATE);
    assert_int_equal(fake.irq_in[4], 1);
    assert_int_equal(fake.last_map_type, MVF_MEM_IRQ_STATE);

    /* Three raises, one completion (two dropped): nothing lost. */
    fake_raise(0);
    fake_raise(1);
    fake_raise(2);
    assert_false(readable(p0[0]));
    fake_complete();
    assert_true(readable(p0[0]));
    assert_true(readable(p2[0]));
    assert_int_equal(read_count(p0[0]), 1);
    assert_int_equal(read_count(p2[0]), 1);
    assert_false(readable(p0[0]));
    /* Vector 1 is unbound: it stays pending in the page... */
    assert_int_equal(fake.page->pending[0], 1ull << 1);
    /* ...and fires when it is bound. */
    fds[0] = p1[1];
    assert_int_equal(mvf_irq_set_eventfds(h, MVF_IRQ_MSIX, 1, 1, fds), 0);
    assert_true(readable(p1[0]));
    /* The vector count was asked once, not per binding. */
    assert_int_equal(fake.irq_info_calls, 1);
    assert_int_equal(fake.page->pending[0], 0);
    /* The transport keeps dups: closing ours does not unbind. */
    close(p2[1]);
    fake_raise(2);
    fake_complete();
    assert_true(readable(p2[0]));

    /* A full pipe does not block the queue: the reader is awake anyway. */
    while (write(p0[1], "xxxxxxxx", 8) == 8)
        ;
    fake_raise(0);
    fake_complete();
    assert_int_equal(fake.page->pending[0], 0);

    /* DISABLE ends delivery and unmaps the transport's page. */
    unsigned unmaps = fake.unmaps;
    assert_int_equal(mvf_irq_disable(h, MVF_IRQ_MSIX), 0);
    assert_int_equal(fake.unmaps, unmaps + 1);
    assert_int_equal(fake.last_unmap_type, MVF_MEM_IRQ_STATE);
    mvf_close(h);
    close(p0[0]);
    close(p0[1]);
    close(p1[0]);
    close(p1[1]);
    close(p2[0]);
}

static void wake_fd_mode(void **state)
{
    struct mvf_handle *h = connect_ok("03:00.0");
    int p[2];

    (void)state;
    assert_int_equal(pipe(p), 0);
    fcntl(p[0], F_SETFL, O_NONBLOCK);
    fcntl(p[1], F_SETFL, O_NONBLOCK);
    assert_int_equal(mvf_irq_set_state_page(h, MVF_IRQ_MSI, p[1]), 0);
    assert_int_equal(fake.irq_in[1], MVF_IRQ_ACT_STATE);
    assert_int_equal(fake.irq_in[4], 1);
    assert_int_equal(read_count(p[0]), 1);   /* one wake-up when set */
    fake_raise(5);
    fake_complete();
    assert_int_equal(read_count(p[0]), 1);
    /* The client clears the page itself in this mode. */
    assert_int_equal(fake.page->pending[0], 1ull << 5);
    /* -1: polling, a synchronous STATE with fd_mask 0. */
    assert_int_equal(mvf_irq_set_state_page(h, MVF_IRQ_MSI, -1), 0);
    assert_int_equal(fake.irq_in[4], 0);
    mvf_close(h);
    close(p[0]);
    close(p[1]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(picks_service_by_address, setup_two),
        cmocka_unit_test_setup(refuses_unknown_or_ambiguous, setup_two),
        cmocka_unit_test_setup(errno_and_message_from_the_dext, setup_two),
        cmocka_unit_test_setup(ioreturn_codes_mapped, setup_two),
        cmocka_unit_test_setup(dext_gone_in_a_call, setup_two),
        cmocka_unit_test_setup(dext_terminated, setup_two),
        cmocka_unit_test_setup(cache_mode_per_bar, setup_two),
        cmocka_unit_test_setup(batches_stay_in_band, setup_two),
        cmocka_unit_test_setup(dma_by_address, setup_two),
        cmocka_unit_test_setup(vector_fds_from_the_state_page, setup_two),
        cmocka_unit_test_setup(wake_fd_mode, setup_two),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}

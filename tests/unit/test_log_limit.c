/* SPDX-License-Identifier: MIT */
/*
 * Log rate limiting: the limiter itself on a fake clock (interval,
 * burst, the suppressed count, a clock going backwards), then the core's
 * device log on top of it (per device and per cause, the count carried
 * by the next line, the summary at release, the clock-less fallback).
 */
#include <stdio.h>
#include <string.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "core_internal.h"
#include "ratelimit.h"
#include "registry.h"

/* ---- the limiter ------------------------------------------------------ */

static const struct mvf_ratelimit_cfg cfg = { .burst = 3, .interval = 100 };

static void test_burst_then_suppressed(void **state)
{
    struct mvf_ratelimit rl = { 0 };
    uint64_t sup = 99;

    for (int i = 0; i < 3; i++) {
        assert_true(mvf_ratelimit_allow(&rl, &cfg, 10 + i, &sup));
        assert_int_equal(sup, 0);
    }
    for (int i = 0; i < 50; i++)
        assert_false(mvf_ratelimit_allow(&rl, &cfg, 20 + i, &sup));
    /* Still in the interval that began at 10. */
    assert_false(mvf_ratelimit_allow(&rl, &cfg, 109, &sup));
    /* A new interval: the first line carries the count. */
    assert_true(mvf_ratelimit_allow(&rl, &cfg, 110, &sup));
    assert_int_equal(sup, 51);
    assert_true(mvf_ratelimit_allow(&rl, &cfg, 111, &sup));
    assert_int_equal(sup, 0);
}

static void test_quiet_source_never_limited(void **state)
{
    struct mvf_ratelimit rl = { 0 };
    uint64_t sup;

    /* One event per interval, forever: every one goes out. */
    for (uint64_t t = 0; t < 100000; t += 100) {
        assert_true(mvf_ratelimit_allow(&rl, &cfg, t, &sup));
        assert_int_equal(sup, 0);
    }
}

static void test_flush(void **state)
{
    struct mvf_ratelimit rl = { 0 };
    uint64_t sup;

    assert_int_equal(mvf_ratelimit_flush(&rl), 0);
    for (int i = 0; i < 10; i++)
        mvf_ratelimit_allow(&rl, &cfg, 0, &sup);
    assert_int_equal(mvf_ratelimit_flush(&rl), 7);
    assert_int_equal(mvf_ratelimit_flush(&rl), 0);
    /* A flush reports; it does not open a new interval. */
    assert_false(mvf_ratelimit_allow(&rl, &cfg, 1, &sup));
    assert_true(mvf_ratelimit_allow(&rl, &cfg, 100, &sup));
    assert_int_equal(sup, 1);
}

static void test_clock_backwards(void **state)
{
    struct mvf_ratelimit rl = { 0 };
    uint64_t sup;

    for (int i = 0; i < 5; i++)
        mvf_ratelimit_allow(&rl, &cfg, 1000, &sup);
    /* Earlier than the interval's start: a new interval, not a stall
     * until the clock catches up. */
    assert_true(mvf_ratelimit_allow(&rl, &cfg, 5, &sup));
    assert_int_equal(sup, 2);
}

/* ---- the core's device log -------------------------------------------- */

struct log_host {
    bool has_clock;
    uint64_t now;
    unsigned lines;
    char last[512];
    unsigned suppressed_notes;     /* lines that report a count */
};

static void h_log(void *host, enum mvf_log_level lvl, const char *msg)
{
    struct log_host *h = host;

    h->lines++;
    snprintf(h->last, sizeof(h->last), "%s", msg);
    if (strstr(msg, "similar messages suppressed"))
        h->suppressed_notes++;
}

static uint64_t h_now(void *host)
{
    return ((struct log_host *)host)->now;
}

static const struct mvf_host_ops clock_hops = { .log = h_log, .now_ms = h_now };
static const struct mvf_host_ops count_hops = { .log = h_log };

struct fx {
    struct log_host host;
    struct mvf_core *core;
    struct mvf_device *dev[2];
};

static struct fx *fx_new(bool has_clock)
{
    static struct fx f;
    struct mvf_provider p;
    char err[256];

    memset(&f, 0, sizeof(f));
    f.host.has_clock = has_clock;
    f.core = mvf_core_create(has_clock ? &clock_hops : &count_hops, &f.host);
    assert_non_null(f.core);
    for (int i = 0; i < 2; i++) {
        memset(&p, 0, sizeof(p));
        assert_int_equal(mvf_sim_create("sim:dmatest", &p, err, sizeof(err)), 0);
        p.bus = (uint8_t)i;
        assert_int_equal(mvf_core_add_device(f.core, &p, NULL, &f.dev[i]), 0);
    }
    return &f;
}

static void fault(struct mvf_device *dev, unsigned i)
{
    mvf_device_log(dev, MVF_LOG_WARN, "DMA fault number %u", i);
}

static void test_device_flood_bounded(void **state)
{
    struct fx *f = fx_new(true);

    for (unsigned i = 0; i < 20000; i++)
        fault(f->dev[0], i);
    assert_int_equal(f->host.lines, MVF_LOG_BURST);
    assert_string_equal(f->host.last, "0000:00:00.0 sim:dmatest: DMA fault "
                        "number 9");
    /* After the interval the next line says what was dropped. */
    f->host.now += MVF_LOG_INTERVAL_MS;
    fault(f->dev[0], 20000);
    assert_int_equal(f->host.lines, MVF_LOG_BURST + 1);
    assert_non_null(strstr(f->host.last, "DMA fault number 20000 "
                           "[19990 similar messages suppressed]"));
    mvf_core_destroy(f->core);
}

static void test_causes_and_devices_independent(void **state)
{
    struct fx *f = fx_new(true);

    for (unsigned i = 0; i < 1000; i++)
        fault(f->dev[0], i);
    /* Another cause on the same device, the same cause on another
     * device: neither is hidden by the flood. */
    mvf_device_log(f->dev[0], MVF_LOG_ERROR, "reset after release failed");
    assert_string_equal(f->host.last, "0000:00:00.0 sim:dmatest: reset after "
                        "release failed");
    fault(f->dev[1], 7);
    assert_string_equal(f->host.last, "0000:01:00.0 sim:dmatest: DMA fault "
                        "number 7");
    /* A cause named apart from its format (a wrapper's caller). */
    for (unsigned i = 0; i < 100; i++)
        mvf_device_log_cause(f->dev[0], "doorbell %u ignored", MVF_LOG_WARN,
                             "%s", "doorbell 3 ignored");
    assert_int_equal(f->host.lines, MVF_LOG_BURST + 2 + MVF_LOG_BURST);
    mvf_core_destroy(f->core);
}

static int call(struct mvf_session *s, uint32_t sel, const uint64_t *in,
                uint32_t n)
{
    struct mvf_call c;

    memset(&c, 0, sizeof(c));
    mvf_call_init(&c);
    c.selector = sel;
    c.in = in;
    c.n_in = n;
    return mvf_dispatch(s, &c);
}

static void test_summary_at_release(void **state)
{
    struct fx *f = fx_new(true);
    struct mvf_session *s = mvf_session_create(f->core);
    uint64_t hello[2] = { MVF_ABI_VERSION, 0 }, idx = 0;

    assert_non_null(s);
    assert_int_equal(call(s, MVF_SEL_HELLO, hello, 2), 0);
    assert_int_equal(call(s, MVF_SEL_DEVICE_OPEN, &idx, 1), 0);
    assert_int_equal(call(s, MVF_SEL_CLAIM, NULL, 0), 0);
    for (unsigned i = 0; i < 500; i++)
        fault(f->dev[0], i);
    assert_int_equal(f->host.suppressed_notes, 0);
    /* The owner goes: what its flood hid is reported then. */
    mvf_session_destroy(s);
    assert_int_equal(f->host.suppressed_notes, 1);
    assert_non_null(strstr(f->host.last, "490 similar messages suppressed, "
                           "like \"DMA fault number %u\""));
    /* Reported once: the destruction has nothing more to say. */
    mvf_core_destroy(f->core);
    assert_int_equal(f->host.suppressed_notes, 1);
}

static void test_without_clock_counts(void **state)
{
    struct fx *f = fx_new(false);

    /* No clock: the interval is MVF_LOG_INTERVAL_EVENTS messages. */
    for (unsigned i = 0; i < 10 * MVF_LOG_INTERVAL_EVENTS; i++)
        fault(f->dev[0], i);
    assert_int_equal(f->host.lines, 10 * MVF_LOG_BURST);
    /* The first line of every interval but the first carries 990. */
    assert_int_equal(f->host.suppressed_notes, 9);
    mvf_core_destroy(f->core);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_burst_then_suppressed),
        cmocka_unit_test(test_quiet_source_never_limited),
        cmocka_unit_test(test_flush),
        cmocka_unit_test(test_clock_backwards),
        cmocka_unit_test(test_device_flood_bounded),
        cmocka_unit_test(test_causes_and_devices_independent),
        cmocka_unit_test(test_summary_at_release),
        cmocka_unit_test(test_without_clock_counts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

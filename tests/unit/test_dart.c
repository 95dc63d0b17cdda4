/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the DART model (core/dart.c): the config contract, each
 * error code, placement (lowest fit, aperture, alignment), exact-match
 * unmap, lookup boundaries, budget and cap limits, fragmentation,
 * unmap_all, a fill to the default 65,536 mappings, and randomized
 * stress runs against a granule-bitmap reference model.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "macvfio/abi.h"
#include "dart.h"

#define KiB 1024ull
#define MiB (1024ull * KiB)
#define GiB (1024ull * MiB)

/* A small aperture most tests use: 64 granules of 16 KiB at 1 GiB. */
static struct mvf_dart_config small_config(void)
{
    struct mvf_dart_config cfg = {
        .base = 1 * GiB,
        .size = 64 * MVF_DART_GRANULE,
        .granule = MVF_DART_GRANULE,
        .budget_bytes = 64 * MVF_DART_GRANULE,
        .max_mappings = 64,
    };
    return cfg;
}

static struct mvf_dart *create_or_fail(const struct mvf_dart_config *cfg)
{
    struct mvf_dart *d = NULL;

    assert_int_equal(mvf_dart_create(cfg, &d), 0);
    assert_non_null(d);
    assert_true(mvf_dart_check(d));
    return d;
}

/* Maps len bytes and returns the IOVA, failing the test on error. */
static uint64_t map_ok(struct mvf_dart *d, uint64_t len, void *cookie)
{
    uint64_t iova = 0;

    assert_int_equal(mvf_dart_map(d, len, cookie, &iova), 0);
    return iova;
}

static void *cookie_of(uintptr_t n)
{
    return (void *)(n * 16 + 8);
}

/* ---- config ----------------------------------------------------------- */

static void test_config_default(void **state)
{
    struct mvf_dart_config cfg;
    struct mvf_dart *d;
    const struct mvf_dart_config *got;

    memset(&cfg, 0xa5, sizeof(cfg));
    mvf_dart_config_default(&cfg);
    assert_int_equal(cfg.base, MVF_DART_DEFAULT_BASE);
    assert_int_equal(cfg.size, MVF_DART_DEFAULT_SIZE);
    assert_int_equal(cfg.granule, MVF_DART_GRANULE);
    assert_int_equal(cfg.budget_bytes, MVF_DART_DEFAULT_BUDGET);
    assert_int_equal(cfg.max_mappings, MVF_DART_DEFAULT_MAXMAP);

    d = create_or_fail(&cfg);
    got = mvf_dart_get_config(d);
    assert_memory_equal(got, &cfg, sizeof(cfg));
    assert_int_equal(mvf_dart_mapped_bytes(d), 0);
    assert_int_equal(mvf_dart_live_mappings(d), 0);
    mvf_dart_destroy(d);
}

static void expect_einval(const struct mvf_dart_config *cfg)
{
    struct mvf_dart *d = NULL;

    assert_int_equal(mvf_dart_create(cfg, &d), -EINVAL);
    assert_null(d);
}

static void test_config_invalid(void **state)
{
    struct mvf_dart_config good = small_config(), cfg;
    struct mvf_dart *d = NULL;

    expect_einval(NULL);
    assert_int_equal(mvf_dart_create(&good, NULL), -EINVAL);

    cfg = good; cfg.granule = 3 * 4096;          /* not a power of two */
    expect_einval(&cfg);
    cfg = good; cfg.granule = 2048;              /* below 4 KiB */
    expect_einval(&cfg);
    cfg = good; cfg.granule = 0;
    expect_einval(&cfg);
    cfg = good; cfg.base += 4096;                /* misaligned base */
    expect_einval(&cfg);
    cfg = good; cfg.size += 4096;                /* misaligned size */
    expect_einval(&cfg);
    cfg = good; cfg.size = 0;
    expect_einval(&cfg);
    cfg = good; cfg.budget_bytes = 0;
    expect_einval(&cfg);
    cfg = good; cfg.max_mappings = 0;
    expect_einval(&cfg);
    /* base + size wraps past 2^64 ... */
    cfg = good; cfg.base = UINT64_MAX - MVF_DART_GRANULE + 1;
    cfg.size = 2 * MVF_DART_GRANULE;
    expect_einval(&cfg);
    /* ... or ends exactly at 2^64 (its end is not representable). */
    cfg = good; cfg.base = UINT64_MAX - MVF_DART_GRANULE + 1;
    cfg.size = MVF_DART_GRANULE;
    expect_einval(&cfg);

    /* The smallest legal granule and an aperture ending just below 2^64. */
    cfg = good; cfg.granule = 4096;
    cfg.base = UINT64_MAX - 2 * 4096 + 1 - 4096; /* 3 pages below 2^64 */
    cfg.size = 2 * 4096;
    assert_int_equal(mvf_dart_create(&cfg, &d), 0);
    assert_int_equal(map_ok(d, 2 * 4096, NULL), cfg.base);
    assert_non_null(mvf_dart_lookup(d, cfg.base + cfg.size - 1));
    assert_null(mvf_dart_lookup(d, UINT64_MAX));
    assert_true(mvf_dart_check(d));
    mvf_dart_destroy(d);

    mvf_dart_destroy(NULL); /* harmless */
}

/* ---- map errors and placement ---------------------------------------- */

static void test_map_errors(void **state)
{
    struct mvf_dart_config cfg = small_config();
    struct mvf_dart *d;
    uint64_t iova = 0xdead;
    const uint64_t g = cfg.granule;

    cfg.budget_bytes = 8 * g;
    cfg.max_mappings = 3;
    d = create_or_fail(&cfg);

    assert_int_equal(mvf_dart_map(d, 0, NULL, &iova), -ENODATA);
    assert_int_equal(mvf_dart_map(d, 4096, NULL, &iova), -EINVAL);
    assert_int_equal(mvf_dart_map(d, g + 4096, NULL, &iova), -EINVAL);
    assert_int_equal(mvf_dart_map(d, cfg.size + g, NULL, &iova), -EOVERFLOW);
    assert_int_equal(mvf_dart_map(d, UINT64_MAX - g + 1, NULL, &iova),
                     -EOVERFLOW);
    assert_int_equal(mvf_dart_map(d, 9 * g, NULL, &iova), -ENOSPC);
    assert_int_equal(iova, 0xdead); /* untouched on failure */

    map_ok(d, g, NULL);
    map_ok(d, g, NULL);
    map_ok(d, g, NULL);
    assert_int_equal(mvf_dart_map(d, g, NULL, &iova), -EMFILE);
    assert_int_equal(mvf_dart_live_mappings(d), 3);
    assert_int_equal(mvf_dart_mapped_bytes(d), 3 * g);
    assert_true(mvf_dart_check(d));
    mvf_dart_destroy(d);

    /* -ENOMEM: budget and cap allow it, the aperture has no room. */
    cfg = small_config();
    cfg.budget_bytes = 2 * cfg.size;
    d = create_or_fail(&cfg);
    map_ok(d, cfg.size - g, NULL);
    assert_int_equal(mvf_dart_map(d, 2 * g, NULL, &iova), -ENOMEM);
    map_ok(d, g, NULL);
    assert_int_equal(mvf_dart_map(d, g, NULL, &iova), -ENOMEM);
    assert_true(mvf_dart_check(d));
    mvf_dart_destroy(d);
}

static void test_default_placement(void **state)
{
    struct mvf_dart_config cfg;
    struct mvf_dart *d;
    static const uint64_t lens[] = { 16 * KiB, 64 * KiB, 2 * MiB, 16 * KiB,
                                     1 * GiB, 48 * KiB };

    mvf_dart_config_default(&cfg);
    d = create_or_fail(&cfg);
    for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
        uint64_t iova = map_ok(d, lens[i], NULL);

        assert_true(iova >= 0xF000000000ull);
        assert_true(iova >= cfg.base);
        assert_true(iova + lens[i] <= cfg.base + cfg.size);
        assert_int_equal(iova % MVF_DART_GRANULE, 0);
    }
    assert_true(mvf_dart_check(d));
    mvf_dart_destroy(d);
}

/* Lowest fit packs from the aperture base and back-fills holes. */
static void test_lowest_fit_reuse(void **state)
{
    struct mvf_dart_config cfg = small_config();
    struct mvf_dart *d = create_or_fail(&cfg);
    const uint64_t g = cfg.granule, b = cfg.base;
    uint64_t a[6];

    for (int i = 0; i < 6; i++) {
        a[i] = map_ok(d, 2 * g, NULL);
        assert_int_equal(a[i], b + (uint64_t)i * 2 * g);
    }
    /* Holes: [0,2g) at the very base, and [6g,10g). */
    assert_int_equal(mvf_dart_unmap(d, a[0], 2 * g, NULL), 0);
    assert_int_equal(mvf_dart_unmap(d, a[3], 2 * g, NULL), 0);
    assert_int_equal(mvf_dart_unmap(d, a[4], 2 * g, NULL), 0);
    assert_true(mvf_dart_check(d));

    /* Too big for the base hole: goes to the inner hole. */
    assert_int_equal(map_ok(d, 3 * g, NULL), b + 6 * g);
    /* Fits the base hole, which is lowest. */
    assert_int_equal(map_ok(d, g, NULL), b);
    assert_int_equal(map_ok(d, g, NULL), b + g);
    /* Leftover granule at 9g, then after the last mapping (12g). */
    assert_int_equal(map_ok(d, g, NULL), b + 9 * g);
    assert_int_equal(map_ok(d, 2 * g, NULL), b + 12 * g);
    assert_true(mvf_dart_check(d));

    /* A freed mapping's exact slot is reused by an equal-size map. */
    assert_int_equal(mvf_dart_unmap(d, a[2], 2 * g, NULL), 0);
    assert_int_equal(map_ok(d, 2 * g, NULL), a[2]);

    /* Free everything but the last; the next map starts at base again. */
    assert_int_equal(mvf_dart_unmap(d, b, g, NULL), 0);
    assert_int_equal(map_ok(d, g, NULL), b);
    assert_true(mvf_dart_check(d));
    mvf_dart_destroy(d);
}

/* ---- unmap and lookup ------------------------------------------------- */

static void test_unmap_exact(void **state)
{
    struct mvf_dart_config cfg = small_config();
    struct mvf_dart *d = create_or_fail(&cfg);
    const uint64_t g = cfg.granule;
    uint64_t a = map_ok(d, 4 * g, cookie_of(1));
    uint64_t b = map_ok(d, g, cookie_of(2));
    void *cookie = NULL;

    assert_int_equal(mvf_dart_unmap(d, a + g, g, NULL), -ENOENT); /* inside */
    assert_int_equal(mvf_dart_unmap(d, a + 4096, 4 * g, NULL), -ENOENT);
    assert_int_equal(mvf_dart_unmap(d, b + g, g, NULL), -ENOENT); /* free */
    assert_int_equal(mvf_dart_unmap(d, 0, g, NULL), -ENOENT);
    assert_int_equal(mvf_dart_unmap(d, a, g, NULL), -EINVAL);    /* short */
    assert_int_equal(mvf_dart_unmap(d, a, 5 * g, NULL), -EINVAL);
    assert_int_equal(mvf_dart_unmap(d, a, 0, NULL), -EINVAL);
    assert_int_equal(mvf_dart_live_mappings(d), 2);
    assert_int_equal(mvf_dart_mapped_bytes(d), 5 * g);

    assert_int_equal(mvf_dart_unmap(d, a, 4 * g, &cookie), 0);
    assert_ptr_equal(cookie, cookie_of(1));
    assert_int_equal(mvf_dart_unmap(d, a, 4 * g, &cookie), -ENOENT); /* twice */
    assert_int_equal(mvf_dart_unmap(d, b, g, NULL), 0); /* NULL cookie_out */
    assert_int_equal(mvf_dart_live_mappings(d), 0);
    assert_int_equal(mvf_dart_mapped_bytes(d), 0);
    assert_true(mvf_dart_check(d));
    mvf_dart_destroy(d);
}

static void test_lookup_edges(void **state)
{
    struct mvf_dart_config cfg = small_config();
    struct mvf_dart *d = create_or_fail(&cfg);
    const uint64_t g = cfg.granule;
    uint64_t a = map_ok(d, 3 * g, cookie_of(1));
    uint64_t b = map_ok(d, g, cookie_of(2));
    uint64_t c;
    const struct mvf_dart_mapping *m;

    assert_int_equal(mvf_dart_unmap(d, b, g, NULL), 0);
    c = map_ok(d, 2 * g, cookie_of(3)); /* lands at b: adjacent to a */
    assert_int_equal(c, a + 3 * g);

    m = mvf_dart_lookup(d, a);
    assert_non_null(m);
    assert_int_equal(m->iova, a);
    assert_int_equal(m->length, 3 * g);
    assert_ptr_equal(m->cookie, cookie_of(1));
    m = mvf_dart_lookup(d, a + 3 * g - 1); /* last byte of a */
    assert_non_null(m);
    assert_int_equal(m->iova, a);
    m = mvf_dart_lookup(d, a + 3 * g); /* one past a = first byte of c */
    assert_non_null(m);
    assert_ptr_equal(m->cookie, cookie_of(3));
    m = mvf_dart_lookup(d, c + 2 * g - 1);
    assert_non_null(m);
    assert_int_equal(m->iova, c);

    assert_null(mvf_dart_lookup(d, c + 2 * g)); /* one past c: free */
    assert_null(mvf_dart_lookup(d, a - 1));     /* below the aperture */
    assert_null(mvf_dart_lookup(d, 0));
    assert_null(mvf_dart_lookup(d, UINT64_MAX));
    mvf_dart_destroy(d);

    d = create_or_fail(&cfg);
    assert_null(mvf_dart_lookup(d, cfg.base)); /* empty */
    mvf_dart_destroy(d);
}

/* ---- limits ----------------------------------------------------------- */

static void test_budget_exact(void **state)
{
    struct mvf_dart_config cfg = small_config();
    struct mvf_dart *d;
    const uint64_t g = cfg.granule;
    uint64_t iova, x;

    cfg.budget_bytes = 10 * g;
    d = create_or_fail(&cfg);
    map_ok(d, 4 * g, NULL);
    x = map_ok(d, 5 * g, NULL);
    assert_int_equal(mvf_dart_map(d, 2 * g, NULL, &iova), -ENOSPC);
    iova = map_ok(d, g, NULL); /* exactly at the budget */
    assert_int_equal(mvf_dart_mapped_bytes(d), 10 * g);
    assert_int_equal(mvf_dart_map(d, g, NULL, &iova), -ENOSPC);
    assert_int_equal(mvf_dart_unmap(d, x, 5 * g, NULL), 0);
    map_ok(d, 5 * g, NULL); /* budget freed by unmap is usable again */
    assert_int_equal(mvf_dart_map(d, g, NULL, &iova), -ENOSPC);
    assert_true(mvf_dart_check(d));
    mvf_dart_destroy(d);

    /* A single map of exactly the budget, and of one granule more. */
    d = create_or_fail(&cfg);
    assert_int_equal(mvf_dart_map(d, 11 * g, NULL, &iova), -ENOSPC);
    map_ok(d, 10 * g, NULL);
    mvf_dart_destroy(d);

    /* A budget that is not a granule multiple rounds down in effect. */
    cfg.budget_bytes = 2 * g + 4096;
    d = create_or_fail(&cfg);
    map_ok(d, 2 * g, NULL);
    assert_int_equal(mvf_dart_map(d, g, NULL, &iova), -ENOSPC);
    mvf_dart_destroy(d);
}

/* Mappings placed by someone else (a platform mapper): the same
 * accounting as map, refused when unaligned, outside the aperture or
 * overlapping; lookups and map's own placement see them. */
static void test_insert_fixed(void **state)
{
    struct mvf_dart_config cfg = small_config();
    struct mvf_dart *d;
    const uint64_t g = cfg.granule, b = cfg.base;
    const struct mvf_dart_mapping *m;
    uint64_t iova;

    cfg.budget_bytes = 8 * g;
    cfg.max_mappings = 4;
    d = create_or_fail(&cfg);
    assert_int_equal(mvf_dart_room(d, g), 0);
    assert_int_equal(mvf_dart_room(d, 0), -ENODATA);
    assert_int_equal(mvf_dart_room(d, 4096), -EINVAL);
    assert_int_equal(mvf_dart_room(d, 9 * g), -ENOSPC);
    assert_int_equal(mvf_dart_insert(d, b + 4 * g, 2 * g, cookie_of(1)), 0);
    assert_int_equal(mvf_dart_insert(d, b + 4 * g + 4096, g, NULL), -EINVAL);
    assert_int_equal(mvf_dart_insert(d, b - g, g, NULL), -ERANGE);
    assert_int_equal(mvf_dart_insert(d, b + cfg.size - g, 2 * g, NULL), -ERANGE);
    assert_int_equal(mvf_dart_insert(d, b + 5 * g, g, NULL), -EEXIST);  /* inside */
    assert_int_equal(mvf_dart_insert(d, b + 3 * g, 2 * g, NULL), -EEXIST); /* left */
    assert_int_equal(mvf_dart_insert(d, b + 5 * g, 2 * g, NULL), -EEXIST); /* right */
    assert_int_equal(mvf_dart_insert(d, b + 2 * g, 7 * g, NULL), -ENOSPC);
    assert_int_equal(mvf_dart_insert(d, b + 6 * g, g, cookie_of(2)), 0); /* touching */
    assert_int_equal(mvf_dart_insert(d, b + 3 * g, g, cookie_of(3)), 0);
    m = mvf_dart_lookup(d, b + 5 * g + 100);
    assert_non_null(m);
    assert_int_equal(m->iova, b + 4 * g);
    assert_ptr_equal(m->cookie, cookie_of(1));
    assert_int_equal(mvf_dart_mapped_bytes(d), 4 * g);
    assert_true(mvf_dart_check(d));
    /* map places around what was inserted (lowest fit). */
    iova = map_ok(d, 2 * g, NULL);
    assert_int_equal(iova, b);
    assert_int_equal(mvf_dart_insert(d, b + 10 * g, g, NULL), -EMFILE);
    assert_int_equal(mvf_dart_unmap(d, b + 4 * g, 2 * g, NULL), 0);
    assert_int_equal(mvf_dart_insert(d, b + 4 * g, g, NULL), 0);
    assert_true(mvf_dart_check(d));
    mvf_dart_destroy(d);
}

static void test_cap_exact(void **state)
{
    struct mvf_dart_config cfg = small_config();
    struct mvf_dart *d;
    const uint64_t g = cfg.granule;
    uint64_t iova, first = 0;

    cfg.max_mappings = 5;
    d = create_or_fail(&cfg);
    for (int i = 0; i < 5; i++) {
        iova = map_ok(d, g, NULL);
        if (i == 0)
            first = iova;
    }
    assert_int_equal(mvf_dart_live_mappings(d), 5);
    assert_int_equal(mvf_dart_map(d, g, NULL, &iova), -EMFILE);
    assert_int_equal(mvf_dart_unmap(d, first, g, NULL), 0);
    assert_int_equal(map_ok(d, g, NULL), first);
    assert_int_equal(mvf_dart_map(d, g, NULL, &iova), -EMFILE);
    assert_true(mvf_dart_check(d));
    mvf_dart_destroy(d);

    /* A cap of one. */
    cfg.max_mappings = 1;
    d = create_or_fail(&cfg);
    map_ok(d, g, NULL);
    assert_int_equal(mvf_dart_map(d, g, NULL, &iova), -EMFILE);
    assert_true(mvf_dart_check(d));
    mvf_dart_destroy(d);
}

/* Every other granule mapped: half the budget left, no 2-granule hole. */
static void test_fragmentation(void **state)
{
    struct mvf_dart_config cfg = small_config();
    struct mvf_dart *d = create_or_fail(&cfg);
    const uint64_t g = cfg.granule;
    const unsigned n = (unsigned)(cfg.size / g);
    uint64_t iova;

    for (unsigned i = 0; i < n; i++)
        assert_int_equal(map_ok(d, g, NULL), cfg.base + i * g);
    for (unsigned i = 0; i < n; i += 2)
        assert_int_equal(mvf_dart_unmap(d, cfg.base + i * g, g, NULL), 0);
    assert_true(mvf_dart_check(d));
    assert_int_equal(mvf_dart_mapped_bytes(d), cfg.size / 2);

    assert_int_equal(mvf_dart_map(d, 2 * g, NULL, &iova), -ENOMEM);
    assert_int_equal(mvf_dart_live_mappings(d), n / 2);

    /* Freeing granule 41 joins the holes at 40 and 42 into one of 3. */
    assert_int_equal(mvf_dart_unmap(d, cfg.base + 41 * g, g, NULL), 0);
    assert_int_equal(mvf_dart_map(d, 4 * g, NULL, &iova), -ENOMEM);
    assert_int_equal(map_ok(d, 3 * g, NULL), cfg.base + 40 * g);
    assert_int_equal(map_ok(d, g, NULL), cfg.base); /* lowest single */
    assert_int_equal(map_ok(d, g, NULL), cfg.base + 2 * g);
    assert_true(mvf_dart_check(d));
    mvf_dart_destroy(d);
}

/* ---- unmap_all -------------------------------------------------------- */

struct visit_log {
    uint64_t iova[64];
    void *cookie[64];
    unsigned n;
    const struct mvf_dart *d;
};

static void visit(const struct mvf_dart_mapping *m, void *ctx)
{
    struct visit_log *log = ctx;

    assert_true(log->n < 64);
    /* The tree is intact while visiting. */
    assert_ptr_equal(mvf_dart_lookup(log->d, m->iova), m);
    log->iova[log->n] = m->iova;
    log->cookie[log->n] = m->cookie;
    log->n++;
}

static void test_unmap_all(void **state)
{
    struct mvf_dart_config cfg = small_config();
    struct mvf_dart *d = create_or_fail(&cfg);
    const uint64_t g = cfg.granule;
    struct visit_log log = { .n = 0, .d = d };
    uint64_t a[20];

    /* Build a shuffled layout: map 20, free some, refill out of order. */
    for (unsigned i = 0; i < 20; i++)
        a[i] = map_ok(d, ((i % 3) + 1) * g, cookie_of(i));
    for (unsigned i = 0; i < 20; i += 3)
        assert_int_equal(mvf_dart_unmap(d, a[i], g, NULL), 0);
    for (unsigned i = 0; i < 5; i++)
        map_ok(d, g, cookie_of(100 + i));
    assert_true(mvf_dart_check(d));

    unsigned live = mvf_dart_live_mappings(d);
    mvf_dart_unmap_all(d, visit, &log);
    assert_int_equal(log.n, live);
    for (unsigned i = 1; i < log.n; i++)
        assert_true(log.iova[i - 1] < log.iova[i]);
    assert_int_equal(log.iova[0], cfg.base);
    assert_int_equal(mvf_dart_live_mappings(d), 0);
    assert_int_equal(mvf_dart_mapped_bytes(d), 0);
    assert_null(mvf_dart_lookup(d, log.iova[3]));
    assert_true(mvf_dart_check(d));

    /* Usable afterwards, from the base again; NULL fn is allowed. */
    assert_int_equal(map_ok(d, g, NULL), cfg.base);
    mvf_dart_unmap_all(d, NULL, NULL);
    assert_int_equal(mvf_dart_live_mappings(d), 0);
    log.n = 0;
    mvf_dart_unmap_all(d, visit, &log); /* empty: not called */
    assert_int_equal(log.n, 0);
    assert_true(mvf_dart_check(d));
    mvf_dart_destroy(d);
}

/* ---- the default config filled to its cap ----------------------------- */

static void test_fill_default(void **state)
{
    struct mvf_dart_config cfg;
    struct mvf_dart *d;
    const uint64_t g = MVF_DART_GRANULE;
    const uint32_t n = MVF_DART_DEFAULT_MAXMAP;
    uint64_t iova;
    void *cookie;

    mvf_dart_config_default(&cfg);
    d = create_or_fail(&cfg);
    for (uint32_t i = 0; i < n; i++)
        assert_int_equal(map_ok(d, g, cookie_of(i)), cfg.base + i * g);
    assert_int_equal(mvf_dart_live_mappings(d), n);
    assert_int_equal(mvf_dart_mapped_bytes(d), n * g);
    assert_int_equal(mvf_dart_map(d, g, NULL, &iova), -EMFILE);
    assert_true(mvf_dart_check(d));

    for (uint32_t i = 0; i < n; i += 997) {
        const struct mvf_dart_mapping *m =
            mvf_dart_lookup(d, cfg.base + i * g + g / 2);

        assert_non_null(m);
        assert_ptr_equal(m->cookie, cookie_of(i));
    }

    /* Punch holes from the top down; each refill takes the lowest. */
    for (uint32_t i = n - 1; i >= 1000; i -= 1000) {
        assert_int_equal(mvf_dart_unmap(d, cfg.base + i * g, g, &cookie), 0);
        assert_ptr_equal(cookie, cookie_of(i));
    }
    assert_int_equal(map_ok(d, g, NULL), cfg.base + 1535 * g);
    assert_true(mvf_dart_check(d));

    /* Free half, in a scattered order, then refill to the cap. */
    for (uint32_t i = 0; i < n; i += 2)
        mvf_dart_unmap(d, cfg.base + i * g, g, NULL);
    assert_true(mvf_dart_check(d));
    while (mvf_dart_map(d, g, NULL, &iova) == 0)
        ;
    assert_int_equal(mvf_dart_live_mappings(d), n);
    assert_int_equal(mvf_dart_map(d, g, NULL, &iova), -EMFILE);
    assert_true(mvf_dart_check(d));
    mvf_dart_unmap_all(d, NULL, NULL);
    mvf_dart_destroy(d);
}

/* ---- randomized stress against a reference model ---------------------- */

/* splitmix64: small, fixed-seed, good enough for test input. */
static uint64_t rng_next(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);

    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static uint64_t rng_below(uint64_t *s, uint64_t n)
{
    return rng_next(s) % n;
}

/*
 * The reference: owner[g] is 1 + the slot of the mapping covering
 * granule g, or 0.  Slots hold the mappings in no particular order.
 */
struct ref_slot {
    uint64_t iova, length;
    void *cookie;
};

struct ref_model {
    struct mvf_dart_config cfg;
    unsigned ngran;
    uint32_t *owner;
    struct ref_slot *slot;
    uint32_t live;
    uint64_t mapped;
};

struct stress_params {
    struct mvf_dart_config cfg;
    unsigned ops;
    unsigned check_every;
    unsigned max_map_granules; /* typical lengths are 1..this */
};

static unsigned ref_granule(const struct ref_model *r, uint64_t iova)
{
    return (unsigned)((iova - r->cfg.base) / r->cfg.granule);
}

/* Lowest run of k free granules, or -1. */
static long ref_find_fit(const struct ref_model *r, unsigned k)
{
    unsigned run = 0;

    for (unsigned g = 0; g < r->ngran; g++) {
        run = r->owner[g] ? 0 : run + 1;
        if (run == k)
            return (long)(g + 1 - k);
    }
    return -1;
}

static int ref_map(struct ref_model *r, uint64_t len, void *cookie,
                   uint64_t *iova)
{
    const uint64_t gran = r->cfg.granule;
    long at;
    unsigned k, s;

    if (len == 0)
        return -ENODATA;
    if (len % gran)
        return -EINVAL;
    if (len > r->cfg.size)
        return -EOVERFLOW;
    if (r->mapped + len > r->cfg.budget_bytes)
        return -ENOSPC;
    if (r->live >= r->cfg.max_mappings)
        return -EMFILE;
    k = (unsigned)(len / gran);
    at = ref_find_fit(r, k);
    if (at < 0)
        return -ENOMEM;

    s = r->live++;
    r->slot[s] = (struct ref_slot){ r->cfg.base + (uint64_t)at * gran, len,
                                    cookie };
    for (unsigned g = (unsigned)at; g < (unsigned)at + k; g++)
        r->owner[g] = s + 1;
    r->mapped += len;
    *iova = r->slot[s].iova;
    return 0;
}

/* The slot of the mapping covering iova, or -1. */
static long ref_lookup(const struct ref_model *r, uint64_t iova)
{
    if (iova < r->cfg.base || iova - r->cfg.base >= r->cfg.size)
        return -1;
    return (long)r->owner[ref_granule(r, iova)] - 1;
}

static void ref_remove_slot(struct ref_model *r, unsigned s)
{
    struct ref_slot *m = &r->slot[s];
    unsigned g0 = ref_granule(r, m->iova);
    unsigned k = (unsigned)(m->length / r->cfg.granule);
    unsigned last = --r->live;

    for (unsigned g = g0; g < g0 + k; g++)
        r->owner[g] = 0;
    r->mapped -= m->length;
    /* Move the last slot into the hole and repoint its granules. */
    if (s != last) {
        r->slot[s] = r->slot[last];
        g0 = ref_granule(r, r->slot[s].iova);
        k = (unsigned)(r->slot[s].length / r->cfg.granule);
        for (unsigned g = g0; g < g0 + k; g++)
            r->owner[g] = s + 1;
    }
}

static int ref_unmap(struct ref_model *r, uint64_t iova, uint64_t len,
                     void **cookie)
{
    long s = ref_lookup(r, iova);

    if (s < 0 || r->slot[s].iova != iova)
        return -ENOENT;
    if (r->slot[s].length != len)
        return -EINVAL;
    *cookie = r->slot[s].cookie;
    ref_remove_slot(r, (unsigned)s);
    return 0;
}

/* A length for map: mostly valid, sometimes each kind of invalid. */
static uint64_t pick_length(uint64_t *rng, const struct stress_params *p)
{
    const uint64_t g = p->cfg.granule;
    unsigned r = (unsigned)rng_below(rng, 100);

    if (r == 0)
        return 0;
    if (r == 1)
        return g * rng_below(rng, 4) + 1 + rng_below(rng, g - 1);
    if (r == 2)
        return p->cfg.size + g * (1 + rng_below(rng, 4));
    if (r < 6) /* large: forces -ENOSPC / -ENOMEM */
        return g * (1 + rng_below(rng, p->cfg.size / g));
    if (r < 50)
        return g;
    return g * (1 + rng_below(rng, p->max_map_granules));
}

/* An unmap target: mostly a live mapping, sometimes a wrong one. */
static void pick_unmap(uint64_t *rng, const struct ref_model *ref,
                       uint64_t *iova, uint64_t *len)
{
    const uint64_t g = ref->cfg.granule;
    unsigned r = (unsigned)rng_below(rng, 100);

    if (ref->live == 0 || r < 5) {
        *iova = ref->cfg.base + g * rng_below(rng, ref->ngran + 2);
        *len = g * (1 + rng_below(rng, 4));
        return;
    }
    const struct ref_slot *m = &ref->slot[rng_below(rng, ref->live)];

    *iova = m->iova;
    *len = m->length;
    if (r < 12)
        *len += g;             /* wrong length: -EINVAL */
    else if (r < 16 && m->length > g)
        *iova += g;            /* inside, not a start: -ENOENT */
}

static void check_lookup(uint64_t *rng, const struct mvf_dart *d,
                         const struct ref_model *ref)
{
    const struct mvf_dart_config *c = &ref->cfg;
    /* Anywhere from two granules below the aperture to two past it. */
    uint64_t span = c->size + 4 * c->granule;
    uint64_t iova = c->base - 2 * c->granule + rng_below(rng, span);
    const struct mvf_dart_mapping *m = mvf_dart_lookup(d, iova);
    long s = ref_lookup(ref, iova);

    if (s < 0) {
        assert_null(m);
        return;
    }
    assert_non_null(m);
    assert_int_equal(m->iova, ref->slot[s].iova);
    assert_int_equal(m->length, ref->slot[s].length);
    assert_ptr_equal(m->cookie, ref->slot[s].cookie);
}

struct order_check {
    const struct ref_model *ref;
    unsigned next_granule; /* where the next visited mapping may start */
    unsigned seen;
};

static void order_visit(const struct mvf_dart_mapping *m, void *ctx)
{
    struct order_check *oc = ctx;
    const struct ref_model *r = oc->ref;
    unsigned g = oc->next_granule;

    /* The next mapping in IOVA order is the next one the bitmap shows. */
    while (g < r->ngran && !r->owner[g])
        g++;
    assert_true(g < r->ngran);
    assert_int_equal(m->iova, r->slot[r->owner[g] - 1].iova);
    assert_ptr_equal(m->cookie, r->slot[r->owner[g] - 1].cookie);
    oc->next_granule = g + (unsigned)(m->length / r->cfg.granule);
    oc->seen++;
}

static void run_stress(const struct stress_params *p, uint64_t seed)
{
    struct mvf_dart *d = create_or_fail(&p->cfg);
    struct ref_model ref = { .cfg = p->cfg };
    uint64_t rng = seed;
    unsigned err_seen[6] = { 0 }; /* ENODATA EINVAL EOVERFLOW ENOSPC EMFILE ENOMEM */
    static const int errs[6] = { -ENODATA, -EINVAL, -EOVERFLOW,
                                 -ENOSPC, -EMFILE, -ENOMEM };
    uintptr_t serial = 0;

    ref.ngran = (unsigned)(p->cfg.size / p->cfg.granule);
    ref.owner = calloc(ref.ngran, sizeof(*ref.owner));
    ref.slot = calloc(p->cfg.max_mappings, sizeof(*ref.slot));
    assert_non_null(ref.owner);
    assert_non_null(ref.slot);

    for (unsigned op = 0; op < p->ops; op++) {
        unsigned r = (unsigned)rng_below(&rng, 10000);

        if (r < 4500) {
            uint64_t len = pick_length(&rng, p), got = 0, want = 0;
            void *cookie = cookie_of(++serial);
            int rc_ref = ref_map(&ref, len, cookie, &want);
            int rc = mvf_dart_map(d, len, cookie, &got);

            assert_int_equal(rc, rc_ref);
            if (rc == 0)
                assert_int_equal(got, want);
            for (unsigned e = 0; e < 6; e++)
                err_seen[e] += rc == errs[e];
        } else if (r < 8000) {
            uint64_t iova, len;
            void *c_ref = NULL, *c = NULL;

            pick_unmap(&rng, &ref, &iova, &len);
            int rc_ref = ref_unmap(&ref, iova, len, &c_ref);
            assert_int_equal(mvf_dart_unmap(d, iova, len, &c), rc_ref);
            assert_ptr_equal(c, c_ref);
        } else if (r < 9999) {
            check_lookup(&rng, d, &ref);
        } else {
            struct order_check oc = { .ref = &ref };

            mvf_dart_unmap_all(d, order_visit, &oc);
            assert_int_equal(oc.seen, ref.live);
            while (ref.live)
                ref_remove_slot(&ref, ref.live - 1);
        }
        assert_int_equal(mvf_dart_live_mappings(d), ref.live);
        assert_int_equal(mvf_dart_mapped_bytes(d), ref.mapped);
        if (op % p->check_every == 0)
            assert_true(mvf_dart_check(d));
    }
    assert_true(mvf_dart_check(d));

    /* The run must have exercised every outcome. */
    for (unsigned e = 0; e < 6; e++)
        assert_true(err_seen[e] > 0);

    free(ref.owner);
    free(ref.slot);
    mvf_dart_destroy(d);
}

/* A small aperture: the cap, the budget and fragmentation all bite. */
static void test_stress_small(void **state)
{
    struct stress_params p = {
        .cfg = {
            .base = 0x40000000ull,
            .size = 128 * 4096,
            .granule = 4096,
            .budget_bytes = 120 * 4096,
            .max_mappings = 40,
        },
        .ops = 200000,
        .check_every = 1000,
        .max_map_granules = 8,
    };

    run_stress(&p, 0x5eed0001ull);
}

/* A larger tree (hundreds of nodes) with the default 16 KiB granule. */
static void test_stress_large(void **state)
{
    struct stress_params p = {
        .cfg = {
            .base = MVF_DART_DEFAULT_BASE,
            .size = 1024 * MVF_DART_GRANULE,
            .granule = MVF_DART_GRANULE,
            .budget_bytes = 900 * MVF_DART_GRANULE,
            .max_mappings = 350,
        },
        .ops = 100000,
        .check_every = 2500,
        .max_map_granules = 6,
    };

    run_stress(&p, 0x5eed0002ull);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_config_default),
        cmocka_unit_test(test_config_invalid),
        cmocka_unit_test(test_map_errors),
        cmocka_unit_test(test_default_placement),
        cmocka_unit_test(test_lowest_fit_reuse),
        cmocka_unit_test(test_unmap_exact),
        cmocka_unit_test(test_lookup_edges),
        cmocka_unit_test(test_budget_exact),
        cmocka_unit_test(test_cap_exact),
        cmocka_unit_test(test_insert_fixed),
        cmocka_unit_test(test_fragmentation),
        cmocka_unit_test(test_unmap_all),
        cmocka_unit_test(test_fill_default),
        cmocka_unit_test(test_stress_small),
        cmocka_unit_test(test_stress_large),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}

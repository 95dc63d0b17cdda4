/* SPDX-License-Identifier: MIT */
/*
 * Micro-benchmark of the DART model (core/dart.c) with the default
 * config.  Prints ns/op; asserts nothing about speed.
 *
 *   map+unmap @N live: one unmap of a random live mapping followed by a
 *                      map of the same length (which lowest fit puts
 *                      back into the hole), with N mappings live before
 *                      each pair.
 *   lookup @N live:    mvf_dart_lookup() of a random byte inside a
 *                      random live mapping.
 *   fill:              the cost per map of going from 0 to 65,536 live.
 *
 * Random choices are precomputed so the timed loops measure the DART,
 * not the generator.  Exit status is non-zero only if a call fails.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "macvfio/abi.h"
#include "dart.h"

#define NRAND (1u << 20) /* precomputed random values, a power of two */

static uint64_t now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* xorshift64*: fixed seed, reproducible runs. */
static uint64_t rng_next(uint64_t *s)
{
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * 0x2545f4914f6cdd1dull;
}

static void report(const char *what, unsigned live, uint64_t ns, uint64_t ops)
{
    printf("dart %s @%u live: %.1f ns/op\n", what, live, (double)ns / (double)ops);
}

static int fail(const char *what, int rc)
{
    fprintf(stderr, "bench_dart: %s failed: %s\n", what, strerror(-rc));
    return 1;
}

/* Fills d with n granule-sized mappings; iova[i] receives each IOVA. */
static int fill(struct mvf_dart *d, uint32_t n, uint64_t *iova)
{
    for (uint32_t i = 0; i < n; i++) {
        int rc = mvf_dart_map(d, MVF_DART_GRANULE, NULL, &iova[i]);

        if (rc)
            return fail("map", rc);
    }
    return 0;
}

/* Unmap a random live mapping, map it back; n live before each pair. */
static int bench_pairs(struct mvf_dart *d, uint64_t *iova, uint32_t n,
                       const uint32_t *rnd, uint64_t ops)
{
    const uint64_t g = MVF_DART_GRANULE;
    uint64_t t0 = now_ns();

    for (uint64_t i = 0; i < ops; i++) {
        uint32_t k = rnd[i & (NRAND - 1)] % n;
        int rc = mvf_dart_unmap(d, iova[k], g, NULL);

        if (rc)
            return fail("unmap", rc);
        rc = mvf_dart_map(d, g, NULL, &iova[k]);
        if (rc)
            return fail("map", rc);
    }
    report("map+unmap", n, now_ns() - t0, ops);
    return 0;
}

/* Look up a random byte of a random live mapping. */
static int bench_lookups(const struct mvf_dart *d, const uint64_t *iova,
                         uint32_t n, const uint32_t *rnd, uint64_t ops)
{
    volatile uint64_t sink = 0;
    uint64_t t0 = now_ns();

    for (uint64_t i = 0; i < ops; i++) {
        uint32_t r = rnd[i & (NRAND - 1)];
        const struct mvf_dart_mapping *m =
            mvf_dart_lookup(d, iova[r % n] + (r >> 18) % MVF_DART_GRANULE);

        if (!m)
            return fail("lookup", -ENOENT);
        sink += m->length;
    }
    report("lookup", n, now_ns() - t0, ops);
    (void)sink;
    return 0;
}

/* One round at n live mappings on a fresh default-config DART. */
static int bench_at(uint32_t n, const uint32_t *rnd, uint64_t pairs,
                    uint64_t lookups)
{
    struct mvf_dart_config cfg;
    struct mvf_dart *d;
    uint64_t *iova = calloc(n, sizeof(*iova));
    uint64_t t0;
    int rc;

    mvf_dart_config_default(&cfg);
    if (!iova)
        return fail("calloc", -ENOMEM);
    rc = mvf_dart_create(&cfg, &d);
    if (rc) {
        free(iova);
        return fail("create", rc);
    }

    t0 = now_ns();
    rc = fill(d, n, iova);
    if (!rc && n > 1)
        printf("dart map (fill 0 -> %u live): %.1f ns/op\n", n,
               (double)(now_ns() - t0) / n);
    if (!rc)
        rc = bench_pairs(d, iova, n, rnd, pairs);
    if (!rc)
        rc = bench_lookups(d, iova, n, rnd, lookups);
    if (!rc && !mvf_dart_check(d))
        rc = fail("check", -EINVAL);

    mvf_dart_destroy(d);
    free(iova);
    return rc;
}

int main(void)
{
    uint32_t *rnd = malloc(NRAND * sizeof(*rnd));
    uint64_t seed = 0x0dda7bee5ull;
    int rc;

    if (!rnd)
        return fail("malloc", -ENOMEM);
    for (uint32_t i = 0; i < NRAND; i++)
        rnd[i] = (uint32_t)(rng_next(&seed) >> 32);

    rc = bench_at(1, rnd, 4000000, 20000000);
    if (!rc)
        rc = bench_at(MVF_DART_DEFAULT_MAXMAP, rnd, 2000000, 5000000);
    free(rnd);
    return rc;
}

/* SPDX-License-Identifier: MIT */
/*
 * DART model: the IOVA allocator the Linux providers use in place of
 * Apple's DART.  It imitates what matters about the real one: a 16 KiB
 * granule, one contiguous IOVA range per map call, a byte budget and a
 * cap on live mappings, and IOVAs placed far from any plausible
 * guest-physical address so a guest that forgets to translate fails
 * loudly.  Map, unmap and lookup are O(log n) in live mappings.
 *
 * Pure C, no OS calls, not thread-safe (the owner serialises).
 */
#ifndef MACVFIO_CORE_DART_H
#define MACVFIO_CORE_DART_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct mvf_dart_config {
    uint64_t base;         /* first IOVA of the aperture, granule aligned */
    uint64_t size;         /* aperture bytes, granule multiple, base+size no wrap */
    uint64_t granule;      /* power of two >= 4096 */
    uint64_t budget_bytes; /* max bytes mapped at once */
    uint32_t max_mappings; /* max live mappings */
};

/* One live mapping. */
struct mvf_dart_mapping {
    uint64_t iova;
    uint64_t length;
    void *cookie;  /* owner's data, returned on lookup/unmap */
};

struct mvf_dart;

/* Fills cfg with the defaults of abi.h (MVF_DART_DEFAULT_*). */
void mvf_dart_config_default(struct mvf_dart_config *cfg);

/* 0, or -EINVAL for a config that is not self-consistent, -ENOMEM. */
int mvf_dart_create(const struct mvf_dart_config *cfg, struct mvf_dart **out);
void mvf_dart_destroy(struct mvf_dart *d);

/*
 * Allocates one contiguous IOVA range of `length` bytes (lowest fit).
 * Errors, each distinct:
 *   -ENODATA   length is zero
 *   -EINVAL    length is not a multiple of the granule
 *   -EOVERFLOW length larger than the aperture (or would wrap)
 *   -ENOSPC    mapping it would exceed the byte budget
 *   -EMFILE    the live-mapping cap is reached
 *   -ENOMEM    no free range that large (fragmentation) or out of memory
 */
int mvf_dart_map(struct mvf_dart *d, uint64_t length, void *cookie,
                 uint64_t *iova_out);

/* Whether a mapping of `length` bytes would fit the budget and the cap:
 * 0, or the first five errors of mvf_dart_map. */
int mvf_dart_room(const struct mvf_dart *d, uint64_t length);

/*
 * Records a mapping at an IOVA someone else chose (the platform's mapper,
 * when it assigns IOVAs itself), with mvf_dart_map's accounting.  Errors:
 * mvf_dart_room's, and
 *   -EINVAL    iova is not granule aligned
 *   -ERANGE    the range is not inside the aperture
 *   -EEXIST    it overlaps a live mapping
 *   -ENOMEM    out of memory
 */
int mvf_dart_insert(struct mvf_dart *d, uint64_t iova, uint64_t length,
                    void *cookie);

/*
 * Removes the mapping that starts exactly at iova with exactly length.
 *   -ENOENT  no mapping starts at iova
 *   -EINVAL  a mapping starts there but its length differs
 * On success *cookie_out (if not NULL) receives the mapping's cookie.
 */
int mvf_dart_unmap(struct mvf_dart *d, uint64_t iova, uint64_t length,
                   void **cookie_out);

/* The mapping containing iova, or NULL. The pointer is valid until the
 * next map/unmap. */
const struct mvf_dart_mapping *mvf_dart_lookup(const struct mvf_dart *d,
                                               uint64_t iova);

/* Calls fn for every live mapping in IOVA order, then removes them all. */
void mvf_dart_unmap_all(struct mvf_dart *d,
                        void (*fn)(const struct mvf_dart_mapping *m, void *ctx),
                        void *ctx);

uint64_t mvf_dart_mapped_bytes(const struct mvf_dart *d);
uint32_t mvf_dart_live_mappings(const struct mvf_dart *d);
const struct mvf_dart_config *mvf_dart_get_config(const struct mvf_dart *d);

/* Internal consistency check for tests: true when every invariant of
 * the tree (order, balance, augmented gap data, counters) holds. */
bool mvf_dart_check(const struct mvf_dart *d);

#endif /* MACVFIO_CORE_DART_H */

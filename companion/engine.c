/* SPDX-License-Identifier: MIT */
/*
 * apple-dma-pci engine: the companion device's registers, its ring
 * doorbells and the ring mappings it owns.  Pure C: guest memory, host
 * mappings and the device address all come through the caller's ops, so
 * QEMU's device is a thin wrapper and everything here is unit-tested and
 * fuzzed.  Specification: docs/guest-protocol.md.
 *
 * Every value the guest controls (register writes, ring entries in
 * guest RAM) is hostile.  Each entry is copied out of guest RAM once
 * and judged on that copy; no callback sees an address outside guest
 * RAM, an unaligned or empty range, or an IOVA this engine did not get
 * from map_batch.  A doorbell costs the host at most two calls, one
 * unmap_batch and one map_batch, whatever the number of entries.
 */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "../lib/error.h" /* libmacvfio's mvfl_fail() and MVF_EXPORT */

_Static_assert(sizeof(struct mvf_gp_entry) == MVF_GP_ENTRY_SIZE, "entry size");
_Static_assert(offsetof(struct mvf_gp_entry, status) == MVF_GP_ENTRY_OFF_STATUS,
               "status offset");
_Static_assert(offsetof(struct mvf_gp_entry, iova) == MVF_GP_ENTRY_OFF_IOVA,
               "iova offset");
_Static_assert(sizeof(struct mvf_gp_window) == MVF_GP_WIN_STRIDE, "window size");
_Static_assert(MVF_GP_WIN_BASE + MVF_GP_MAX_WINDOWS * MVF_GP_WIN_STRIDE <=
               MVF_GP_RING_BASE, "window table overlaps the rings");
_Static_assert(MVF_GP_RING_BASE + MVF_GP_MAX_RINGS * MVF_GP_RING_STRIDE <=
               MVF_GP_BAR0_SIZE, "rings overflow BAR0");
_Static_assert(MVF_GP_RING_MAX_ENTRIES <= 0x10000, "doorbell start is 16 bits");
_Static_assert(MVF_GP_F_READ == MVF_DMA_READ && MVF_GP_F_WRITE == MVF_DMA_WRITE,
               "entry flags are DMA flags");
_Static_assert(MVF_GP_DOORBELL_MAX <= MVF_MAX_BATCH, "a doorbell fits a batch");

#define MIN_SLOTS     64u
#define RESULT_LEN    12u   /* status + iova, written back per entry */
#define DIRS          (MVF_GP_F_READ | MVF_GP_F_WRITE)

/* ---- little helpers ---------------------------------------------------- */

static uint64_t get_le(const uint8_t *p, unsigned n)
{
    uint64_t v = 0;

    while (n--)
        v = v << 8 | p[n];
    return v;
}

static void put_le(uint8_t *p, uint64_t v, unsigned n)
{
    for (unsigned i = 0; i < n; i++, v >>= 8)
        p[i] = (uint8_t)v;
}

/* [a, a+len) with len > 0 stays below 2^64. */
static bool range_ok(uint64_t a, uint64_t len)
{
    return len && len - 1 <= UINT64_MAX - a;
}

/* The RAM range holding all of [gpa, gpa+len), or NULL. */
static const struct mvf_gp_range *ram_find(const struct mvf_gp_dev *d,
                                           uint64_t gpa, uint64_t len)
{
    if (!range_ok(gpa, len))
        return NULL;
    for (uint32_t i = 0; i < d->n_ram; i++) {
        const struct mvf_gp_range *r = &d->ram[i];

        if (gpa >= r->gpa && gpa - r->gpa < r->size &&
            len <= r->size - (gpa - r->gpa))
            return r;
    }
    return NULL;
}

static bool in_ram(const struct mvf_gp_dev *d, uint64_t gpa, uint64_t len)
{
    return ram_find(d, gpa, len) != NULL;
}

/* A mapping may stay while its range is RAM of the same registration. */
static bool map_still_backed(const struct mvf_gp_dev *d,
                             const struct mvfl_gp_map *m)
{
    const struct mvf_gp_range *r = ram_find(d, m->gpa, m->len);

    return r && r->handle == m->handle &&
           r->handle_offset + (m->gpa - r->gpa) == m->hoff;
}


int32_t mvfl_gp_status(int e)
{
    if (e == 0)
        return 0;
    if (e > 0 || e < -4095)
        return MVF_GP_EIO;
    switch (-e) {
    case EPERM: case EACCES: return MVF_GP_EPERM;
    case ENOENT: return MVF_GP_ENOENT;
    case ENXIO: return MVF_GP_ENXIO;
    case E2BIG: return MVF_GP_E2BIG;
    case ENOMEM: return MVF_GP_ENOMEM;
    case EFAULT: return MVF_GP_EFAULT;
    case EBUSY: return MVF_GP_EBUSY;
    case ENODEV: return MVF_GP_ENODEV;
    case EINVAL: return MVF_GP_EINVAL;
    case EMFILE: return MVF_GP_EMFILE;
    case ENOSPC: return MVF_GP_ENOSPC;
    case ERANGE: return MVF_GP_ERANGE;
#ifdef ENODATA
    case ENODATA: return MVF_GP_ENODATA;
#endif
    case EOVERFLOW: return MVF_GP_EOVERFLOW;
    case EOPNOTSUPP: return MVF_GP_EOPNOTSUPP;
    default: break;
    }
    if (-e == ENOTSUP) /* == EOPNOTSUPP on Linux, not on macOS */
        return MVF_GP_EOPNOTSUPP;
    return MVF_GP_EIO;
}

/* ---- tracked mappings: open addressing keyed by iova ------------------- */

static uint32_t slot_of(uint64_t k, uint32_t cap)
{
    k ^= k >> 33;               /* murmur3 finalizer */
    k *= 0xff51afd7ed558ccdull;
    k ^= k >> 33;
    k *= 0xc4ceb9fe1a85ec53ull;
    k ^= k >> 33;
    return (uint32_t)k & (cap - 1);
}

static struct mvfl_gp_map *map_find(const struct mvf_gp_dev *d, uint64_t iova)
{
    if (!d->cap)
        return NULL;
    /* Load stays at most 1/2, so an empty slot ends every probe. */
    for (uint32_t i = slot_of(iova, d->cap);; i = (i + 1) & (d->cap - 1)) {
        if (!d->slots[i].used)
            return NULL;
        if (d->slots[i].iova == iova)
            return &d->slots[i];
    }
}

static void map_place(struct mvfl_gp_map *slots, uint32_t cap,
                      const struct mvfl_gp_map *m)
{
    uint32_t i = slot_of(m->iova, cap);

    while (slots[i].used)
        i = (i + 1) & (cap - 1);
    slots[i] = *m;
}

/* Makes room for n more mappings; false on allocation failure. */
static bool map_reserve(struct mvf_gp_dev *d, uint32_t n)
{
    struct mvfl_gp_map *ns;
    uint32_t ncap;

    if ((uint64_t)(d->live + n) * 2 <= d->cap)
        return true;
    ncap = d->cap ? d->cap : MIN_SLOTS;
    while ((uint64_t)(d->live + n) * 2 > ncap)
        ncap *= 2;
    ns = calloc(ncap, sizeof(*ns));
    if (!ns)
        return false;
    for (uint32_t i = 0; i < d->cap; i++)
        if (d->slots[i].used)
            map_place(ns, ncap, &d->slots[i]);
    free(d->slots);
    d->slots = ns;
    d->cap = ncap;
    return true;
}

static void map_insert(struct mvf_gp_dev *d, const struct mvfl_gp_map *m)
{
    map_place(d->slots, d->cap, m);
    d->live++;
    d->mapped_bytes += m->len;
}

/* Removes a slot, shifting later members of its probe run back so no
 * lookup ever stops early (no tombstones). */
static void map_remove(struct mvf_gp_dev *d, struct mvfl_gp_map *m)
{
    uint32_t mask = d->cap - 1, i = (uint32_t)(m - d->slots), j = i;

    d->live--;
    d->mapped_bytes -= m->len;
    d->stats.unmaps++;
    d->slots[i].used = 0;
    for (;;) {
        uint32_t k;

        j = (j + 1) & mask;
        if (!d->slots[j].used)
            return;
        k = slot_of(d->slots[j].iova, d->cap);
        /* The member at j may move to the hole at i unless its home k
         * lies cyclically in (i, j]. */
        if (i <= j ? (i < k && k <= j) : (i < k || k <= j))
            continue;
        d->slots[i] = d->slots[j];
        d->slots[j].used = 0;
        i = j;
    }
}

/* Unmaps reqs[0..n) in one host call; fills st.  Entries that are not
 * reported are failures. */
static void host_unmap(struct mvf_gp_dev *d, const struct mvf_dma_unmap_req *reqs,
                       int32_t *st, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++)
        st[i] = -EIO;
    d->stats.unmap_calls++;
    (void)d->ops.unmap_batch(d->ctx, reqs, st, n); /* statuses say it all */
}

static void drop_flush(struct mvf_gp_dev *d, uint32_t n)
{
    struct mvfl_gp_batch *b = d->batch;

    host_unmap(d, b->unmap_req, b->unmap_st, n);
    for (uint32_t i = 0; i < n; i++)
        if (b->unmap_st[i])
            d->stats.errors++;
}

/* Unmaps and forgets every mapping drop() selects, in batches of the
 * scratch's size, whatever the host says (reset and RAM removal cannot
 * keep them); a refusal is counted as an error.  The table is only
 * read while the host calls run, then the marked mappings go. */
static void drop_where(struct mvf_gp_dev *d,
                       bool (*drop)(const struct mvf_gp_dev *,
                                    const struct mvfl_gp_map *))
{
    struct mvfl_gp_batch *b = d->batch;
    uint32_t n = 0;
    bool removed;

    for (uint32_t i = 0; i < d->cap; i++) {
        struct mvfl_gp_map *m = &d->slots[i];

        if (!m->used || !drop(d, m))
            continue;
        m->dropping = 1;
        b->unmap_req[n++] = (struct mvf_dma_unmap_req){ .iova = m->iova,
                                                        .length = m->len };
        if (n == MVF_GP_DOORBELL_MAX) {
            drop_flush(d, n);
            n = 0;
        }
    }
    if (n)
        drop_flush(d, n);
    /* map_remove shifts later members back, past the scan if the probe
     * run wraps: recheck each slot, and rescan until none is left. */
    do {
        removed = false;
        for (uint32_t i = 0; i < d->cap; i++) {
            while (d->slots[i].used && d->slots[i].dropping) {
                map_remove(d, &d->slots[i]);
                removed = true;
            }
        }
    } while (removed);
}

static bool drop_all(const struct mvf_gp_dev *d, const struct mvfl_gp_map *m)
{
    return true;
}

static bool drop_unbacked(const struct mvf_gp_dev *d,
                          const struct mvfl_gp_map *m)
{
    return !map_still_backed(d, m);
}

/* ---- device-wide state ------------------------------------------------- */

static uint32_t features(const struct mvf_gp_dev *d)
{
    uint32_t f = 0;

    if (d->n_win)
        f |= MVF_GP_FEAT_WINDOW;
    if (d->cfg.num_rings)
        f |= MVF_GP_FEAT_POOL | MVF_GP_FEAT_ONDEMAND;
    if (d->cfg.num_rings > 1)
        f |= MVF_GP_FEAT_PERCPU_RINGS;
    if (d->cfg.flags & MVF_GP_CFG_GUEST_SELECT)
        f |= MVF_GP_FEAT_STRATEGY_SELECT;
    return f;
}

static bool strategy_ok(const struct mvf_gp_dev *d, uint32_t s)
{
    switch (s) {
    case MVF_GP_STRATEGY_NONE:
        return true;
    case MVF_GP_STRATEGY_WINDOW:
        return d->n_win > 0;
    case MVF_GP_STRATEGY_POOL:
    case MVF_GP_STRATEGY_ONDEMAND:
        return d->cfg.num_rings > 0;
    default:
        return false;
    }
}

static void do_reset(struct mvf_gp_dev *d)
{
    d->busy = true; /* a callback re-entering must not see a half reset */
    drop_where(d, drop_all);
    free(d->slots);
    d->slots = NULL;
    d->cap = d->live = 0;
    d->mapped_bytes = 0;
    memset(d->rings, 0, sizeof(d->rings));
    d->strategy = d->default_strategy;
    d->dev_status = 0;
    d->stats.resets++;
    d->busy = false;
    d->reset_pending = false;
}

/* ---- configuration (QEMU) ---------------------------------------------- */

MVF_EXPORT int mvf_gp_create(const struct mvf_gp_config *cfg,
                             const struct mvf_gp_ops *ops, void *ctx,
                             struct mvf_gp_dev **out)
{
    struct mvf_gp_dev *d;
    uint64_t g;

    if (!cfg || !ops || !out)
        return mvfl_fail(-EINVAL, "guest protocol: NULL argument");
    *out = NULL;
    if (!ops->read_guest || !ops->write_guest || !ops->map_batch ||
        !ops->unmap_batch)
        return mvfl_fail(-EINVAL, "guest protocol: read_guest, write_guest, "
                         "map_batch and unmap_batch are required");
    g = cfg->granule ? cfg->granule : MVF_DART_GRANULE;
    if (g < 4096 || g > (1ull << 30) || (g & (g - 1)))
        return mvfl_fail(-EINVAL, "guest protocol: granule 0x%llx is not a "
                         "power of two in 4K..1G", (unsigned long long)g);
    if (cfg->num_rings > MVF_GP_MAX_RINGS)
        return mvfl_fail(-EINVAL, "guest protocol: %u rings (max %u)",
                         cfg->num_rings, MVF_GP_MAX_RINGS);
    if (cfg->budget < g)
        return mvfl_fail(-EINVAL, "guest protocol: budget below one granule");
    if (!cfg->max_mappings || cfg->max_mappings > MVF_GP_MAX_MAPPINGS)
        return mvfl_fail(-EINVAL, "guest protocol: max_mappings %u not in 1..%u",
                         cfg->max_mappings, MVF_GP_MAX_MAPPINGS);
    if (cfg->flags & ~MVF_GP_CFG_GUEST_SELECT)
        return mvfl_fail(-EINVAL, "guest protocol: unknown config flags 0x%x",
                         cfg->flags);
    if (cfg->aperture_size && !range_ok(cfg->aperture_base, cfg->aperture_size))
        return mvfl_fail(-EINVAL, "guest protocol: aperture wraps");
    d = calloc(1, sizeof(*d));
    if (d)
        d->batch = malloc(sizeof(*d->batch));
    if (!d || !d->batch) {
        free(d);
        return mvfl_fail(-ENOMEM, "guest protocol: out of memory");
    }
    d->cfg = *cfg;
    d->cfg.granule = g;
    d->ops = *ops;
    d->ctx = ctx;
    while ((1ull << d->granule_shift) < g)
        d->granule_shift++;
    *out = d;
    return 0;
}

MVF_EXPORT void mvf_gp_destroy(struct mvf_gp_dev *dev)
{
    if (!dev)
        return;
    free(dev->slots);
    free(dev->batch);
    free(dev);
}

MVF_EXPORT int mvf_gp_set_ram(struct mvf_gp_dev *d,
                              const struct mvf_gp_range *ram, uint32_t n)
{
    if (!d || (n && !ram))
        return mvfl_fail(-EINVAL, "guest protocol: NULL argument");
    if (d->busy)
        return mvfl_fail(-EBUSY, "guest protocol: RAM changed inside a doorbell");
    if (n > MVF_GP_MAX_RAM)
        return mvfl_fail(-E2BIG, "guest protocol: %u RAM ranges (max %u)", n,
                         MVF_GP_MAX_RAM);
    for (uint32_t i = 0; i < n; i++) {
        if (!range_ok(ram[i].gpa, ram[i].size) ||
            !range_ok(ram[i].handle_offset, ram[i].size))
            return mvfl_fail(-EINVAL, "guest protocol: RAM range %u empty or "
                             "wraps", i);
        for (uint32_t j = 0; j < i; j++) {
            const struct mvf_gp_range *a = &ram[i], *b = &ram[j];

            if (a->gpa >= b->gpa ? a->gpa - b->gpa < b->size
                                 : b->gpa - a->gpa < a->size)
                return mvfl_fail(-EINVAL, "guest protocol: RAM ranges %u and "
                                 "%u overlap", j, i);
        }
    }
    if (n)  /* ram may be NULL when n is 0 */
        memcpy(d->ram, ram, n * sizeof(*ram));
    d->n_ram = n;
    d->busy = true;
    drop_where(d, drop_unbacked);
    d->busy = false;
    for (uint32_t r = 0; r < d->cfg.num_rings; r++) {
        struct mvfl_gp_ring *ring = &d->rings[r];

        if (ring->enabled &&
            !in_ram(d, ring->addr, (uint64_t)ring->size * MVF_GP_ENTRY_SIZE)) {
            ring->enabled = false;
            ring->status = MVF_GP_EFAULT;
        }
    }
    if (d->reset_pending)
        do_reset(d);
    return 0;
}

MVF_EXPORT int mvf_gp_set_windows(struct mvf_gp_dev *d,
                                  const struct mvf_gp_window *w, uint32_t n)
{
    uint64_t gm;

    if (!d || (n && !w))
        return mvfl_fail(-EINVAL, "guest protocol: NULL argument");
    if (d->busy)
        return mvfl_fail(-EBUSY, "guest protocol: windows changed inside a doorbell");
    if (n > MVF_GP_MAX_WINDOWS)
        return mvfl_fail(-E2BIG, "guest protocol: %u windows (max %u)", n,
                         MVF_GP_MAX_WINDOWS);
    gm = d->cfg.granule - 1;
    for (uint32_t i = 0; i < n; i++) {
        if (!range_ok(w[i].gpa, w[i].size) || !range_ok(w[i].iova, w[i].size) ||
            ((w[i].gpa | w[i].size | w[i].iova) & gm))
            return mvfl_fail(-EINVAL, "guest protocol: window %u is empty, "
                             "wraps or is not granule aligned", i);
        if (!w[i].flags || (w[i].flags & ~DIRS) || w[i].reserved)
            return mvfl_fail(-EINVAL, "guest protocol: window %u flags 0x%x",
                             i, w[i].flags);
    }
    memset(d->win, 0, sizeof(d->win));
    if (n)
        memcpy(d->win, w, n * sizeof(*w));
    d->n_win = n;
    if (!n && d->default_strategy == MVF_GP_STRATEGY_WINDOW)
        d->default_strategy = MVF_GP_STRATEGY_NONE;
    if (!n && d->strategy == MVF_GP_STRATEGY_WINDOW)
        d->strategy = MVF_GP_STRATEGY_NONE;
    return 0;
}

MVF_EXPORT int mvf_gp_set_strategy(struct mvf_gp_dev *d, uint32_t strategy)
{
    if (!d)
        return mvfl_fail(-EINVAL, "guest protocol: NULL device");
    if (!strategy_ok(d, strategy))
        return mvfl_fail(-EINVAL, "guest protocol: strategy %u is unknown or "
                         "its mechanism is not configured", strategy);
    d->strategy = d->default_strategy = strategy;
    return 0;
}

MVF_EXPORT uint32_t mvf_gp_get_strategy(const struct mvf_gp_dev *d)
{
    return d ? d->strategy : MVF_GP_STRATEGY_NONE;
}

MVF_EXPORT void mvf_gp_reset(struct mvf_gp_dev *d)
{
    if (!d)
        return;
    if (d->busy)
        d->reset_pending = true; /* finished when the doorbell returns */
    else
        do_reset(d);
}

MVF_EXPORT void mvf_gp_get_stats(const struct mvf_gp_dev *d,
                                 struct mvf_gp_stats *out)
{
    if (!d || !out)
        return;
    *out = d->stats;
    out->live_mappings = d->live;
    out->mapped_bytes = d->mapped_bytes;
}

/* ---- ring entries ------------------------------------------------------- */

#define NOT_QUEUED UINT32_MAX   /* mvfl_gp_work.req of an entry judged alone */

static void parse_entry(struct mvfl_gp_work *w, const uint8_t *raw)
{
    *w = (struct mvfl_gp_work){
        .gpa = get_le(raw + 0, 8),
        .len = get_le(raw + 8, 8),
        .op = (uint16_t)get_le(raw + 16, 2),
        .flags = (uint16_t)get_le(raw + 18, 2),
        .iova = get_le(raw + MVF_GP_ENTRY_OFF_IOVA, 8),
        .req = NOT_QUEUED,
    };
}

/* Judges a MAP entry and queues its host request; 0 or why not. */
static int32_t judge_map(struct mvf_gp_dev *d, struct mvfl_gp_work *w,
                         uint32_t *n_map)
{
    uint64_t gm = d->cfg.granule - 1;
    const struct mvf_gp_range *r;

    w->iova = UINT64_MAX; /* a guest ignoring status faults loudly */
    if (!w->flags || (w->flags & ~DIRS))
        return MVF_GP_EINVAL;
    if (!w->len)
        return MVF_GP_ENODATA;
    if ((w->gpa | w->len) & gm)
        return MVF_GP_EINVAL;
    if (!range_ok(w->gpa, w->len))
        return MVF_GP_EOVERFLOW;
    r = ram_find(d, w->gpa, w->len);
    if (!r)
        return MVF_GP_EFAULT;
    if ((uint64_t)d->live + *n_map >= MVF_GP_MAX_MAPPINGS)
        return MVF_GP_EMFILE;   /* the table's bound, not a budget */
    w->req = (*n_map)++;
    d->batch->map_req[w->req] = (struct mvf_dma_map_req){
        .handle = r->handle,
        .offset = r->handle_offset + (w->gpa - r->gpa),
        .length = w->len,
        .flags = w->flags,
    };
    return 0;
}

/* Judges an UNMAP entry and queues its host request; 0 or why not.  A
 * mapping named twice in one doorbell is unknown the second time. */
static int32_t judge_unmap(struct mvf_gp_dev *d, struct mvfl_gp_work *w,
                           uint32_t *n_unmap)
{
    uint64_t gm = d->cfg.granule - 1;
    struct mvfl_gp_map *m;

    if (w->flags)
        return MVF_GP_EINVAL;
    if (!w->len)
        return MVF_GP_ENODATA;
    if ((w->iova | w->len) & gm)
        return MVF_GP_EINVAL;
    if (!range_ok(w->iova, w->len))
        return MVF_GP_EOVERFLOW;
    m = map_find(d, w->iova);
    if (!m || m->unmapping)
        return MVF_GP_ENOENT;   /* never reaches the host */
    if (m->len != w->len)
        return MVF_GP_EINVAL;
    m->unmapping = 1;
    w->req = (*n_unmap)++;
    d->batch->unmap_req[w->req] = (struct mvf_dma_unmap_req){
        .iova = m->iova, .length = m->len };
    return 0;
}

/* Judges every entry; counts the host requests queued. */
static void judge_all(struct mvf_gp_dev *d, uint32_t count, uint32_t *n_map,
                      uint32_t *n_unmap)
{
    struct mvfl_gp_batch *b = d->batch;

    for (uint32_t k = 0; k < count; k++) {
        struct mvfl_gp_work *w = &b->work[k];

        parse_entry(w, b->raw + (size_t)k * MVF_GP_ENTRY_SIZE);
        if (w->op == MVF_GP_OP_MAP)
            w->st = judge_map(d, w, n_map);
        else if (w->op == MVF_GP_OP_UNMAP)
            w->st = judge_unmap(d, w, n_unmap);
        else
            w->st = MVF_GP_EOPNOTSUPP;
    }
}

/* The host's answers to the queued UNMAPs: done ones are forgotten,
 * refused ones stay tracked (still mapped). */
static void finish_unmaps(struct mvf_gp_dev *d, uint32_t count)
{
    struct mvfl_gp_batch *b = d->batch;

    for (uint32_t k = 0; k < count; k++) {
        struct mvfl_gp_work *w = &b->work[k];
        struct mvfl_gp_map *m;

        if (w->op != MVF_GP_OP_UNMAP || w->req == NOT_QUEUED)
            continue;
        m = map_find(d, w->iova); /* afresh: removals move slots */
        m->unmapping = 0;
        w->st = mvfl_gp_status(b->unmap_st[w->req]);
        if (!w->st)
            map_remove(d, m);
    }
}

/* An IOVA range the host may hand out: inside the aperture, if known. */
static bool in_aperture(const struct mvf_gp_dev *d, uint64_t iova, uint64_t len)
{
    uint64_t base = d->cfg.aperture_base, size = d->cfg.aperture_size;

    return !size || (iova >= base && iova - base < size &&
                     len <= size - (iova - base));
}

/* The host's answers to the queued MAPs.  An IOVA the engine cannot
 * track (unaligned, wrapping, outside the aperture, already live) fails
 * its entry with -EIO, and is queued in unmap_req to be released unless
 * releasing it would hit a live mapping; returns how many were queued. */
static uint32_t finish_maps(struct mvf_gp_dev *d, uint32_t count)
{
    struct mvfl_gp_batch *b = d->batch;
    uint64_t gm = d->cfg.granule - 1;
    uint32_t n_bad = 0;

    for (uint32_t k = 0; k < count; k++) {
        struct mvfl_gp_work *w = &b->work[k];
        const struct mvf_dma_map_req *rq;
        struct mvfl_gp_map m;
        uint64_t iova;
        bool dup, fits;

        if (w->op != MVF_GP_OP_MAP || w->req == NOT_QUEUED)
            continue;
        rq = &b->map_req[w->req];
        w->st = mvfl_gp_status(b->map_res[w->req].status);
        if (w->st)
            continue;
        iova = b->map_res[w->req].iova;
        dup = map_find(d, iova) != NULL;
        fits = range_ok(iova, w->len);
        if (dup || !fits || (iova & gm) || !in_aperture(d, iova, w->len)) {
            if (!dup && fits)
                b->unmap_req[n_bad++] = (struct mvf_dma_unmap_req){
                    .iova = iova, .length = w->len };
            w->st = MVF_GP_EIO;
            continue;
        }
        m = (struct mvfl_gp_map){ .iova = iova, .len = w->len, .gpa = w->gpa,
                                  .handle = rq->handle, .hoff = rq->offset,
                                  .flags = w->flags, .used = 1 };
        map_insert(d, &m);
        d->stats.maps++;
        w->iova = iova;
    }
    return n_bad;
}

static void host_map(struct mvf_gp_dev *d, uint32_t n)
{
    struct mvfl_gp_batch *b = d->batch;

    for (uint32_t i = 0; i < n; i++)
        b->map_res[i] = (struct mvf_dma_map_res){ .status = -EIO };
    d->stats.map_calls++;
    (void)d->ops.map_batch(d->ctx, b->map_req, b->map_res, n);
}

/* Runs the queued MAPs: one host call, then the IOVA checks. */
static void run_maps(struct mvf_gp_dev *d, uint32_t count, uint32_t n_map)
{
    struct mvfl_gp_batch *b = d->batch;
    uint32_t n_bad;

    if (!map_reserve(d, n_map)) {
        for (uint32_t k = 0; k < count; k++)
            if (b->work[k].op == MVF_GP_OP_MAP && b->work[k].req != NOT_QUEUED)
                b->work[k].st = MVF_GP_ENOMEM;
        return;
    }
    host_map(d, n_map);
    n_bad = finish_maps(d, count);
    if (n_bad)
        drop_flush(d, n_bad);
}

/* The guest cannot learn the IOVAs of entries [from, count): release
 * their mappings. */
static void undo_maps(struct mvf_gp_dev *d, uint32_t from, uint32_t count)
{
    struct mvfl_gp_batch *b = d->batch;
    uint32_t n = 0;

    for (uint32_t k = from; k < count; k++) {
        const struct mvfl_gp_work *w = &b->work[k];
        struct mvfl_gp_map *m;

        if (w->op != MVF_GP_OP_MAP || w->st || w->req == NOT_QUEUED)
            continue;
        m = map_find(d, w->iova);
        b->unmap_req[n++] = (struct mvf_dma_unmap_req){ .iova = m->iova,
                                                        .length = m->len };
    }
    if (!n)
        return;
    drop_flush(d, n);
    for (uint32_t i = 0; i < n; i++)
        map_remove(d, map_find(d, b->unmap_req[i].iova));
}

/* Writes each entry's status and IOVA back, in order; stores how many
 * were written.  0, or MVF_GP_EFAULT if one could not be. */
static int32_t write_results(struct mvf_gp_dev *d,
                             const struct mvfl_gp_ring *ring, uint32_t start,
                             uint32_t count, uint32_t *done)
{
    struct mvfl_gp_batch *b = d->batch;

    for (uint32_t k = 0; k < count && !d->reset_pending; k++) {
        const struct mvfl_gp_work *w = &b->work[k];
        uint64_t at = ring->addr +
                      (uint64_t)((start + k) % ring->size) * MVF_GP_ENTRY_SIZE;
        uint8_t res[RESULT_LEN];

        put_le(res, (uint32_t)w->st, 4);
        put_le(res + 4, w->iova, 8);
        if (d->ops.write_guest(d->ctx, at + MVF_GP_ENTRY_OFF_STATUS, res,
                               RESULT_LEN)) {
            undo_maps(d, k, count);
            return MVF_GP_EFAULT;
        }
        d->stats.entries++;
        if (w->st)
            d->stats.errors++;
        (*done)++;
    }
    return 0;
}

/* Why a doorbell cannot run, or 0. */
static int32_t doorbell_check(const struct mvfl_gp_ring *ring, uint32_t start,
                              uint32_t count)
{
    if (!ring->enabled)
        return MVF_GP_ENXIO;
    if (!count)
        return MVF_GP_EINVAL;
    if (count > ring->size || count > MVF_GP_DOORBELL_MAX)
        return MVF_GP_E2BIG;
    if (start >= ring->size)
        return MVF_GP_ERANGE;
    return 0;
}

/*
 * Runs entries [start, start+count) of an enabled ring, wrapping at its
 * end: copies them out (at most two reads), judges each, asks the host
 * for all UNMAPs in one call and then all MAPs in one call (UNMAPs
 * first, so that room they free serves the MAPs: a guest cannot name in
 * an UNMAP an IOVA that a MAP of the same doorbell returns), and writes
 * the results back.  Stores how many entries completed; 0 or
 * MVF_GP_EFAULT.  A reset asked for by a callback stops it (the reset
 * that follows releases whatever was mapped).
 */
static int32_t ring_run(struct mvf_gp_dev *d, const struct mvfl_gp_ring *ring,
                        uint32_t start, uint32_t count, uint32_t *done)
{
    struct mvfl_gp_batch *b = d->batch;
    uint32_t first = count < ring->size - start ? count : ring->size - start;
    uint32_t n_map = 0, n_unmap = 0;

    /* The enabled ring lies in guest RAM (checked at enable and on every
     * RAM change), so these are RAM addresses. */
    if (d->ops.read_guest(d->ctx, ring->addr + (uint64_t)start * MVF_GP_ENTRY_SIZE,
                          b->raw, (uint64_t)first * MVF_GP_ENTRY_SIZE) ||
        (count > first &&
         d->ops.read_guest(d->ctx, ring->addr, b->raw + (size_t)first * MVF_GP_ENTRY_SIZE,
                           (uint64_t)(count - first) * MVF_GP_ENTRY_SIZE)))
        return MVF_GP_EFAULT;
    judge_all(d, count, &n_map, &n_unmap);
    if (n_unmap) {
        host_unmap(d, b->unmap_req, b->unmap_st, n_unmap);
        finish_unmaps(d, count);
    }
    if (n_map && !d->reset_pending)
        run_maps(d, count, n_map);
    if (d->reset_pending)
        return 0;
    return write_results(d, ring, start, count, done);
}

/* A doorbell write: sets the ring's STATUS and PROCESSED, returns the
 * status. */
static int32_t ring_doorbell(struct mvf_gp_dev *d, struct mvfl_gp_ring *ring,
                             uint32_t v)
{
    uint32_t start = v & 0xffff, count = v >> 16, done = 0;
    int32_t st;

    d->stats.doorbells++;
    st = doorbell_check(ring, start, count);
    if (!st) {
        d->busy = true;
        st = ring_run(d, ring, start, count, &done);
        d->busy = false;
    }
    ring->processed = done;
    ring->status = st;
    if (d->reset_pending) { /* asked for by a callback: rings are gone */
        do_reset(d);
        st = MVF_GP_EBUSY;
    }
    return st;
}

static int32_t ring_enable(const struct mvf_gp_dev *d, struct mvfl_gp_ring *ring)
{
    uint64_t bytes = (uint64_t)ring->size * MVF_GP_ENTRY_SIZE;

    if (!ring->size || (ring->addr & (MVF_GP_ENTRY_SIZE - 1)))
        return MVF_GP_EINVAL;
    if (ring->size > MVF_GP_RING_MAX_ENTRIES)
        return MVF_GP_E2BIG;
    if (!range_ok(ring->addr, bytes))
        return MVF_GP_EOVERFLOW;
    if (!in_ram(d, ring->addr, bytes))
        return MVF_GP_EFAULT;
    ring->enabled = true;
    ring->processed = 0;
    return 0;
}

/* ---- registers ---------------------------------------------------------- */

static uint32_t lo(uint64_t v) { return (uint32_t)v; }
static uint32_t hi(uint64_t v) { return (uint32_t)(v >> 32); }

static uint32_t header_read(const struct mvf_gp_dev *d, uint32_t off)
{
    switch (off) {
    case MVF_GP_REG_MAGIC: return MVF_GP_MAGIC;
    case MVF_GP_REG_VERSION: return MVF_GP_VERSION;
    case MVF_GP_REG_FEATURES: return features(d);
    case MVF_GP_REG_DEV_STATUS: return (uint32_t)d->dev_status;
    case MVF_GP_REG_PCI_ADDR:
        return d->ops.pci_addr ? d->ops.pci_addr(d->ctx) : d->cfg.pci_addr;
    case MVF_GP_REG_GRANULE: return (uint32_t)d->cfg.granule;
    case MVF_GP_REG_BUDGET_LO: return lo(d->cfg.budget);
    case MVF_GP_REG_BUDGET_HI: return hi(d->cfg.budget);
    case MVF_GP_REG_MAX_MAPPINGS: return d->cfg.max_mappings;
    case MVF_GP_REG_NUM_RINGS: return d->cfg.num_rings;
    case MVF_GP_REG_RING_MAX_ENTRIES: return MVF_GP_RING_MAX_ENTRIES;
    case MVF_GP_REG_DOORBELL_MAX: return MVF_GP_DOORBELL_MAX;
    case MVF_GP_REG_APERTURE_BASE_LO: return lo(d->cfg.aperture_base);
    case MVF_GP_REG_APERTURE_BASE_HI: return hi(d->cfg.aperture_base);
    case MVF_GP_REG_APERTURE_SIZE_LO: return lo(d->cfg.aperture_size);
    case MVF_GP_REG_APERTURE_SIZE_HI: return hi(d->cfg.aperture_size);
    case MVF_GP_REG_STRATEGY: return d->strategy;
    case MVF_GP_REG_WINDOW_COUNT: return d->n_win;
    case MVF_GP_REG_LIVE_MAPPINGS: return d->live;
    case MVF_GP_REG_MAPPED_LO: return lo(d->mapped_bytes);
    case MVF_GP_REG_MAPPED_HI: return hi(d->mapped_bytes);
    default: return 0; /* RESET is write-only; the rest is reserved */
    }
}

static uint32_t window_read(const struct mvf_gp_dev *d, uint32_t off)
{
    uint32_t i = (off - MVF_GP_WIN_BASE) / MVF_GP_WIN_STRIDE;
    const struct mvf_gp_window *w = &d->win[i];

    if (i >= d->n_win)
        return 0;
    switch ((off - MVF_GP_WIN_BASE) % MVF_GP_WIN_STRIDE) {
    case MVF_GP_WIN_GPA_LO: return lo(w->gpa);
    case MVF_GP_WIN_GPA_HI: return hi(w->gpa);
    case MVF_GP_WIN_SIZE_LO: return lo(w->size);
    case MVF_GP_WIN_SIZE_HI: return hi(w->size);
    case MVF_GP_WIN_IOVA_LO: return lo(w->iova);
    case MVF_GP_WIN_IOVA_HI: return hi(w->iova);
    case MVF_GP_WIN_FLAGS: return w->flags;
    default: return 0;
    }
}

static uint32_t ring_read(const struct mvf_gp_dev *d, uint32_t off)
{
    uint32_t r = (off - MVF_GP_RING_BASE) / MVF_GP_RING_STRIDE;
    const struct mvfl_gp_ring *ring = &d->rings[r];

    if (r >= d->cfg.num_rings)
        return 0;
    switch ((off - MVF_GP_RING_BASE) % MVF_GP_RING_STRIDE) {
    case MVF_GP_RING_ADDR_LO: return lo(ring->addr);
    case MVF_GP_RING_ADDR_HI: return hi(ring->addr);
    case MVF_GP_RING_SIZE: return ring->size;
    case MVF_GP_RING_CTRL: return ring->enabled ? MVF_GP_RING_CTRL_ENABLE : 0;
    case MVF_GP_RING_STATUS: return (uint32_t)ring->status;
    case MVF_GP_RING_PROCESSED: return ring->processed;
    default: return 0; /* DOORBELL is write-only */
    }
}

MVF_EXPORT int mvf_gp_mmio_read(struct mvf_gp_dev *d, uint64_t off,
                                unsigned size, uint64_t *val)
{
    uint32_t o = (uint32_t)off;

    *val = 0;
    if (size != 4 || (off & 3) || off >= MVF_GP_BAR0_SIZE) {
        d->stats.errors++;
        return MVF_GP_EINVAL;
    }
    if (o < MVF_GP_WIN_BASE)
        *val = header_read(d, o);
    else if (o < MVF_GP_RING_BASE)
        *val = window_read(d, o);
    else
        *val = ring_read(d, o);
    return 0;
}

static int32_t header_write(struct mvf_gp_dev *d, uint32_t off, uint32_t v)
{
    switch (off) {
    case MVF_GP_REG_STRATEGY:
        if (!(d->cfg.flags & MVF_GP_CFG_GUEST_SELECT))
            return MVF_GP_EPERM;
        if (!strategy_ok(d, v))
            return MVF_GP_EINVAL;
        d->strategy = v;
        return 0;
    case MVF_GP_REG_RESET:
        if (v != MVF_GP_RESET_VALUE)
            return MVF_GP_EINVAL;
        do_reset(d);
        return 0;
    default:
        return MVF_GP_EPERM; /* read-only or reserved */
    }
}

/* Ring-level results go to RING_STATUS; a write to a read-only ring
 * register is a device-level error. */
static int32_t ring_write(struct mvf_gp_dev *d, uint32_t off, uint32_t v)
{
    uint32_t r = (off - MVF_GP_RING_BASE) / MVF_GP_RING_STRIDE;
    uint32_t field = (off - MVF_GP_RING_BASE) % MVF_GP_RING_STRIDE;
    struct mvfl_gp_ring *ring = &d->rings[r];
    int32_t st;

    if (r >= d->cfg.num_rings) {
        d->stats.errors++;
        return d->dev_status = MVF_GP_ENODEV;
    }
    switch (field) {
    case MVF_GP_RING_ADDR_LO:
    case MVF_GP_RING_ADDR_HI:
    case MVF_GP_RING_SIZE:
        if (ring->enabled) {
            st = MVF_GP_EBUSY;
            break;
        }
        if (field == MVF_GP_RING_ADDR_LO)
            ring->addr = (ring->addr & ~0xffffffffull) | v;
        else if (field == MVF_GP_RING_ADDR_HI)
            ring->addr = (ring->addr & 0xffffffffull) | (uint64_t)v << 32;
        else
            ring->size = v;
        return 0;
    case MVF_GP_RING_CTRL:
        if (v & ~MVF_GP_RING_CTRL_ENABLE)
            st = MVF_GP_EINVAL;
        else if (!v) {
            ring->enabled = false; /* mappings belong to the device: kept */
            st = 0;
        } else if (ring->enabled)
            st = MVF_GP_EBUSY;
        else
            st = ring_enable(d, ring);
        break;
    case MVF_GP_RING_DOORBELL:
        st = ring_doorbell(d, ring, v);
        if (st)
            d->stats.errors++;
        return st;
    default:
        d->stats.errors++;
        return d->dev_status = MVF_GP_EPERM;
    }
    ring->status = st;
    if (st)
        d->stats.errors++;
    return st;
}

MVF_EXPORT int mvf_gp_mmio_write(struct mvf_gp_dev *d, uint64_t off,
                                 unsigned size, uint64_t val)
{
    uint32_t o = (uint32_t)off;
    int32_t st;

    if (size != 4 || (off & 3) || off >= MVF_GP_BAR0_SIZE || val > UINT32_MAX) {
        d->stats.errors++;
        if (!d->busy)
            d->dev_status = MVF_GP_EINVAL;
        return MVF_GP_EINVAL;
    }
    if (d->busy) {  /* a callback wrote to us: refuse, never recurse */
        d->stats.errors++;
        return MVF_GP_EBUSY;
    }
    if (o >= MVF_GP_RING_BASE)
        return ring_write(d, o, (uint32_t)val);
    st = o < MVF_GP_WIN_BASE ? header_write(d, o, (uint32_t)val) : MVF_GP_EPERM;
    d->dev_status = st;
    if (st)
        d->stats.errors++;
    return st;
}

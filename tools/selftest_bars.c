/* SPDX-License-Identifier: MIT */
/*
 * Mappable BARs: the mapping and the trapped path (MMIO_READ/WRITE) must
 * show the same memory.  Writes a pattern at the start, middle and end
 * of each mappable BAR, reads it back trapped at several widths, then
 * the other way round, and restores what was there.  BARs that hold the
 * MSI-X table are left alone.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "selftest.h"

/* One offset: returns NULL if coherent, else what went wrong. */
static const char *probe(struct mvf_handle *h, unsigned bar, uint8_t *map,
                         uint64_t off, char *why, size_t whylen)
{
    volatile uint64_t *q = (volatile uint64_t *)(void *)(map + off);
    uint64_t saved = *q, pat = 0x5aa5f00dcafe0000ull ^ off ^ bar, v = 0;
    const char *res = NULL;

    *q = pat;
    if (mvf_mmio_read(h, bar, off, 8, &v) < 0) {
        snprintf(why, whylen, "%s", mvf_last_error());
        res = why;
    } else if (v != pat) {
        snprintf(why, whylen, "offset 0x%" PRIx64 ": wrote 0x%016" PRIx64
                 " through the mapping, MMIO_READ/8 gave 0x%016" PRIx64,
                 off, pat, v);
        res = why;
    } else if (mvf_mmio_read(h, bar, off + 4, 4, &v) < 0 ||
               v != (pat >> 32)) {
        snprintf(why, whylen, "offset 0x%" PRIx64 ": MMIO_READ/4 of the high "
                 "half gave 0x%" PRIx64, off + 4, v);
        res = why;
    } else if (mvf_mmio_read(h, bar, off + 1, 1, &v) < 0 ||
               v != ((pat >> 8) & 0xff)) {
        snprintf(why, whylen, "offset 0x%" PRIx64 ": MMIO_READ/1 gave 0x%"
                 PRIx64, off + 1, v);
        res = why;
    } else if (mvf_mmio_write(h, bar, off, 4, 0x600dd00du) < 0 ||
               mvf_flush(h) < 0 ||   /* the write may be posted */
               (*q & 0xffffffffu) != 0x600dd00du) {
        snprintf(why, whylen, "offset 0x%" PRIx64 ": MMIO_WRITE/4 not seen "
                 "through the mapping (0x%016" PRIx64 ")", off, *q);
        res = why;
    }
    *q = saved;
    return res;
}

static void test_bar(struct selftest *t, unsigned bar,
                     const struct bar_report *b)
{
    char name[24], why[320];
    const char *err = NULL;
    uint64_t size = 0, offs[3];
    uint32_t flags = 0;
    void *p = NULL;

    snprintf(name, sizeof(name), "bar%u_map", bar);
    if (!st_call(t, name, mvf_map_memory(t->h, MVF_MEM_BAR(bar), &p, &size,
                                         &flags)))
        return;
    st_check(t, name, size == b->size && (flags & MVF_BAR_MAPPABLE),
             "mapped 0x%" PRIx64 " bytes (BAR_INFO 0x%" PRIx64 "), flags 0x%x",
             size, b->size, flags);
    snprintf(name, sizeof(name), "bar%u_coherent", bar);
    if (size < 16) {
        st_skip(t, name, "BAR too small to probe");
    } else {
        offs[0] = 0;
        offs[1] = (size / 2) & ~7ull;
        offs[2] = size - 8;
        for (unsigned i = 0; i < 3 && !err; i++)
            err = probe(t->h, bar, p, offs[i], why, sizeof(why));
        st_check(t, name, !err, "%s", err ? err :
                 "trapped reads see mapped writes and back, at start, middle "
                 "and end, widths 8/4/1");
    }
    snprintf(name, sizeof(name), "bar%u_unmap", bar);
    if (st_call(t, name, mvf_unmap_memory(t->h, p, size)))
        st_check(t, name, true, "unmapped");
}

void selftest_bars(struct selftest *t)
{
    unsigned tested = 0;

    if (!(mvf_features(t->h) & MVF_FEAT_MAP_MEMORY) ||
        !(mvf_features(t->h) & MVF_FEAT_MMIO_TRAP)) {
        st_skip(t, "bar_map", "the server offers no BAR mapping or trapping");
        return;
    }
    for (unsigned i = 0; i < MVF_NUM_BARS; i++) {
        const struct bar_report *b = &t->r->bars[i];
        if (!b->present || !(b->flags & MVF_BAR_MAPPABLE) ||
            (b->flags & (MVF_BAR_MSIX | MVF_BAR_IO)))
            continue;
        test_bar(t, i, b);
        tested++;
    }
    if (!tested)
        st_skip(t, "bar_map", "no mappable BAR without MSI-X structures");
}

/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: the apple-dma-pci engine (companion/engine.c) driven
 * by a hostile guest, with the same kind of scripted QEMU as the unit
 * test behind it.
 *
 * Guest RAM is three ranges, one ending exactly at 2^64 so that address
 * arithmetic is tested at its edge.  The callbacks abort if the parser
 * ever hands them an address outside the RAM it was told about, an
 * unaligned or empty mapping, a registration that does not hold the
 * range, or an IOVA the host never mapped.  After
 * every command the parser's table of live mappings (read white-box)
 * must equal the host's, except mappings whose unmap the host refused
 * while the parser had to let go (reset, RAM removal); after the final
 * reset the host must hold nothing else.
 *
 * Input: 3 config bytes (rings/flags/granule, max mappings, budget),
 * then commands: an opcode byte (low nibble the command, high nibble
 * variant bits), a ring byte, and the command's arguments (run_cmd);
 * a short read pads with zeros.  Seeds: make_seeds.py.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NRAM      3
#define MAX_HMAPS 512
/* Host mapping i lives at IOVA_BASE + i * IOVA_STRIDE: O(1) lookups, and
 * IOVAs are reused after an unmap, as the DART does. */
#define IOVA_BASE   0xF000000000ull
#define IOVA_STRIDE (1ull << 20)   /* above any mapping in 320 KiB of RAM */

/* Each range is its own registration, at an offset in it; the handle
 * changes when the range is registered again (handle_of). */
static const struct mvf_gp_range all_ram[NRAM] = {
    { 0x0, 128 << 10, 0x100, 0x4000 },
    { 0x100000000ull, 128 << 10, 0x200, 0 },
    { 0xFFFFFFFFFFFF0000ull, 64 << 10, 0x300, 0x10000 },  /* ends at 2^64 */
};
static uint8_t mem0[128 << 10], mem1[128 << 10], mem2[64 << 10];
static uint8_t *const mem[NRAM] = { mem0, mem1, mem2 };

struct hmap {
    uint64_t iova, len;
    bool live;
    bool refused;   /* the host refused to unmap it once */
};

static struct {
    struct mvf_gp_dev *dev;
    uint64_t granule;
    unsigned present;        /* bit i: all_ram[i] is guest RAM now */
    struct hmap maps[MAX_HMAPS];
    unsigned free_ids[MAX_HMAPS], n_free;
    unsigned live_kept;        /* live and never refused */
    uint64_t live_bytes, host_budget;
    int map_err, unmap_err;
    unsigned read_fail_in, write_fail_in;
    unsigned bad_iova, reenter;
    unsigned gen[NRAM];        /* times each range was registered again */
    unsigned map_calls, unmap_calls;
} H;

#define CHECK(cond, ...) do { if (!(cond)) { \
        fprintf(stderr, "fuzz_guest_proto: " __VA_ARGS__); \
        fputc('\n', stderr); abort(); } } while (0)

/* Host memory of [gpa, gpa+len) if it lies in one present RAM range. */
static uint8_t *ram_at(uint64_t gpa, uint64_t len)
{
    if (!len || len - 1 > UINT64_MAX - gpa)
        return NULL;
    for (unsigned i = 0; i < NRAM; i++) {
        const struct mvf_gp_range *r = &all_ram[i];

        if ((H.present & (1u << i)) && gpa >= r->gpa &&
            gpa - r->gpa < r->size && len <= r->size - (gpa - r->gpa))
            return mem[i] + (gpa - r->gpa);
    }
    return NULL;
}

static uint64_t handle_of(unsigned i)
{
    return all_ram[i].handle + ((uint64_t)H.gen[i] << 16);
}

/* The range as QEMU registered it now. */
static struct mvf_gp_range range_now(unsigned i)
{
    struct mvf_gp_range r = all_ram[i];

    r.handle = handle_of(i);
    return r;
}

/* Guest address of [offset, offset+len) of registration handle, or
 * aborts: the engine may name only what QEMU registered. */
static uint64_t reg_gpa(uint64_t handle, uint64_t offset, uint64_t len)
{
    for (unsigned i = 0; i < NRAM; i++) {
        const struct mvf_gp_range *r = &all_ram[i];

        if (!(H.present & (1u << i)) || handle != handle_of(i) ||
            offset < r->handle_offset)
            continue;
        CHECK(offset - r->handle_offset < r->size &&
              len && len <= r->size - (offset - r->handle_offset),
              "map beyond registration 0x%llx", (unsigned long long)handle);
        return r->gpa + (offset - r->handle_offset);
    }
    CHECK(0, "map of handle 0x%llx offset 0x%llx: not registered",
          (unsigned long long)handle, (unsigned long long)offset);
    return 0;
}

/* ---- the scripted QEMU ------------------------------------------------ */

static void reenter(void)
{
    struct mvf_gp_range r = range_now(0);

    switch (H.reenter) {
    case 1:
        CHECK(mvf_gp_mmio_write(H.dev, MVF_GP_RING_REG(0, MVF_GP_RING_DOORBELL),
                                4, MVF_GP_DOORBELL(0, 1)) == MVF_GP_EBUSY,
              "re-entrant doorbell was not refused");
        break;
    case 2:
        H.reenter = 0;
        mvf_gp_reset(H.dev);
        break;
    case 3:
        CHECK(mvf_gp_set_ram(H.dev, &r, 1) == -EBUSY,
              "RAM change inside a doorbell was not refused");
        break;
    }
}

static int cb_read(void *ctx, uint64_t gpa, void *buf, uint64_t len)
{
    uint8_t *p = ram_at(gpa, len);

    CHECK(p, "read_guest outside RAM: 0x%llx+0x%llx",
          (unsigned long long)gpa, (unsigned long long)len);
    CHECK(len % MVF_GP_ENTRY_SIZE == 0 && gpa % MVF_GP_ENTRY_SIZE == 0,
          "read_guest of a partial entry");
    if (H.read_fail_in && --H.read_fail_in == 0)
        return -EFAULT;
    memcpy(buf, p, len);
    return 0;
}

static int cb_write(void *ctx, uint64_t gpa, const void *buf, uint64_t len)
{
    uint8_t *p = ram_at(gpa, len);

    CHECK(p, "write_guest outside RAM: 0x%llx+0x%llx",
          (unsigned long long)gpa, (unsigned long long)len);
    CHECK(len == 12 && gpa % MVF_GP_ENTRY_SIZE == MVF_GP_ENTRY_OFF_STATUS,
          "write_guest beyond an entry's result fields");
    reenter();
    if (H.write_fail_in && --H.write_fail_in == 0)
        return -EFAULT;
    memcpy(p, buf, len);
    return 0;
}

static struct hmap *hmap_find(uint64_t iova)
{
    struct hmap *m;

    if (iova < IOVA_BASE || (iova - IOVA_BASE) / IOVA_STRIDE >= MAX_HMAPS)
        return NULL;
    m = &H.maps[(iova - IOVA_BASE) / IOVA_STRIDE];
    return m->live && m->iova == iova ? m : NULL;
}

static int32_t map_one(const struct mvf_dma_map_req *rq, uint64_t *iova)
{
    uint64_t len = rq->length, gpa = reg_gpa(rq->handle, rq->offset, len);
    unsigned id;

    CHECK(ram_at(gpa, len), "map outside RAM: 0x%llx+0x%llx",
          (unsigned long long)gpa, (unsigned long long)len);
    CHECK(!((gpa | len) & (H.granule - 1)), "map not granule aligned");
    CHECK(rq->flags && !(rq->flags & ~3u) && !rq->reserved, "map flags 0x%x",
          rq->flags);
    if (H.map_err)
        return H.map_err;
    if (len > H.host_budget - H.live_bytes)
        return -ENOSPC;
    if (H.bad_iova == 2) { /* hand out an IOVA the engine tracks, again */
        for (unsigned i = 0; i < MAX_HMAPS; i++)
            if (H.maps[i].live && !H.maps[i].refused) {
                *iova = H.maps[i].iova;
                return 0;
            }
    }
    if (!H.n_free)
        return -EMFILE;
    id = H.free_ids[--H.n_free];
    H.maps[id] = (struct hmap){
        .iova = IOVA_BASE + id * IOVA_STRIDE + (H.bad_iova == 1 ? 512 : 0),
        .len = len, .live = true,
    };
    H.live_kept++;
    H.live_bytes += len;
    *iova = H.maps[id].iova;
    return 0;
}

static int cb_map_batch(void *ctx, const struct mvf_dma_map_req *reqs,
                        struct mvf_dma_map_res *res, uint32_t n)
{
    CHECK(n >= 1 && n <= MVF_GP_DOORBELL_MAX, "map batch of %u", n);
    H.map_calls++;
    for (uint32_t i = 0; i < n; i++)
        res[i].status = map_one(&reqs[i], &res[i].iova);
    return 0;
}

static int32_t unmap_one(uint64_t iova, uint64_t len)
{
    struct hmap *m = hmap_find(iova);

    CHECK(m && m->len == len, "unmap of 0x%llx+0x%llx, never mapped",
          (unsigned long long)iova, (unsigned long long)len);
    H.live_kept -= !m->refused;
    if (H.unmap_err) {
        m->refused = true;
        return H.unmap_err;
    }
    m->live = false;
    H.live_bytes -= len;
    H.free_ids[H.n_free++] = (unsigned)(m - H.maps);
    return 0;
}

static int cb_unmap_batch(void *ctx, const struct mvf_dma_unmap_req *reqs,
                          int32_t *status, uint32_t n)
{
    CHECK(n >= 1 && n <= MVF_GP_DOORBELL_MAX, "unmap batch of %u", n);
    H.unmap_calls++;
    for (uint32_t i = 0; i < n; i++)
        status[i] = unmap_one(reqs[i].iova, reqs[i].length);
    return 0;
}

static const struct mvf_gp_ops ops = {
    .read_guest = cb_read, .write_guest = cb_write,
    .map_batch = cb_map_batch, .unmap_batch = cb_unmap_batch,
};

/* ---- input ------------------------------------------------------------- */

struct input {
    const uint8_t *p;
    size_t n;
};

static uint64_t take(struct input *in, unsigned bytes)
{
    uint64_t v = 0;

    for (unsigned i = 0; i < bytes; i++) {
        uint64_t b = 0;

        if (in->n) {
            b = *in->p++;
            in->n--;
        }
        v |= b << (8 * i);
    }
    return v;
}

/* An address the guest might write: mostly near RAM, sometimes wild. */
static uint64_t pick_addr(struct input *in)
{
    unsigned sel = (unsigned)take(in, 1);
    uint64_t off = take(in, 3);
    const struct mvf_gp_range *r = &all_ram[sel % NRAM];

    switch (sel >> 4) {
    case 0: case 1: case 2: /* granule-aligned inside a range */
        return r->gpa + (off * H.granule) % r->size;
    case 3: case 4:         /* anywhere in or just past a range */
        return r->gpa + off % (r->size + 4 * H.granule);
    case 5:                 /* just before a range */
        return r->gpa - (off % (4 * H.granule));
    case 6:
        return UINT64_MAX - off;
    default:
        return take(in, 8);
    }
}

static uint64_t pick_len(struct input *in)
{
    unsigned sel = (unsigned)take(in, 1);

    switch (sel >> 5) {
    case 0: case 1: case 2:
        return (1 + sel % 16) * H.granule;
    case 3:
        return 0;
    case 4:
        return (sel % 8) * 4096;
    case 5:
        return UINT64_MAX - H.granule * (sel % 4) + 1;
    default:
        return take(in, 8);
    }
}

/* An IOVA for UNMAP: a live one, near a live one, or anything. */
static uint64_t pick_iova(struct input *in, uint64_t *len)
{
    unsigned sel = (unsigned)take(in, 1);
    const struct hmap *m = &H.maps[take(in, 2) % MAX_HMAPS];

    *len = m->len;
    switch (sel >> 6) {
    case 0: case 1:
        return m->iova;
    case 2:
        return m->iova + H.granule * (sel % 4);
    default:
        *len = pick_len(in);
        return take(in, 8);
    }
}

static uint32_t ring_reg(unsigned r, uint32_t field)
{
    uint64_t v = 0;

    mvf_gp_mmio_read(H.dev, MVF_GP_RING_REG(r, field), 4, &v);
    return (uint32_t)v;
}

static void put_le(uint8_t *p, uint64_t v, unsigned n)
{
    for (unsigned i = 0; i < n; i++, v >>= 8)
        p[i] = (uint8_t)v;
}

/* Writes one ring entry into guest RAM at entry idx of ring r. */
static void put_entry(struct input *in, unsigned r, uint32_t idx)
{
    uint64_t base = ring_reg(r, MVF_GP_RING_ADDR_LO) |
                    (uint64_t)ring_reg(r, MVF_GP_RING_ADDR_HI) << 32;
    uint32_t size = ring_reg(r, MVF_GP_RING_SIZE);
    unsigned kind = (unsigned)take(in, 1);
    uint64_t gpa = 0, len, iova = 0;
    uint16_t op, flags;
    uint8_t e[MVF_GP_ENTRY_SIZE], *p;

    if (kind % 4 < 2) {
        op = MVF_GP_OP_MAP;
        flags = kind & 4 ? (uint16_t)take(in, 2) : (uint16_t)(1 + kind / 8 % 3);
        gpa = pick_addr(in);
        len = pick_len(in);
    } else if (kind % 4 == 2) {
        op = MVF_GP_OP_UNMAP;
        flags = kind & 4 ? (uint16_t)take(in, 2) : 0;
        iova = pick_iova(in, &len);
    } else {
        op = (uint16_t)take(in, 2);
        flags = (uint16_t)take(in, 2);
        gpa = take(in, 8);
        len = take(in, 8);
        iova = take(in, 8);
    }
    put_le(e, gpa, 8);
    put_le(e + 8, len, 8);
    put_le(e + 16, op, 2);
    put_le(e + 18, flags, 2);
    put_le(e + 20, (uint32_t)MVF_GP_STATUS_PENDING, 4);
    put_le(e + 24, iova, 8);
    /* Parsed first, so the input means the same whatever the ring. */
    if (!size || size > MVF_GP_RING_MAX_ENTRIES)
        return;
    p = ram_at(base + (uint64_t)(idx % size) * MVF_GP_ENTRY_SIZE, sizeof(e));
    if (p)
        memcpy(p, e, sizeof(e));
}

static void wr(unsigned r, uint32_t field, uint32_t v)
{
    mvf_gp_mmio_write(H.dev, MVF_GP_RING_REG(r, field), 4, v);
}

/* Ranges in mask are RAM; reregister: range 0 gets a new registration
 * (the engine must unmap what the old one held before this returns). */
static void set_ram(unsigned mask, bool reregister)
{
    struct mvf_gp_range r[NRAM];
    uint32_t n = 0;
    unsigned old = H.present;

    if (reregister)
        H.gen[0]++;
    for (unsigned i = 0; i < NRAM; i++)
        if (mask & (1u << i))
            r[n++] = range_now(i);
    /* Ranges going away are still host memory while the engine prunes
     * them (QEMU calls set_ram before it unregisters); new ones are
     * RAM from the start. */
    H.present = old | mask;
    CHECK(mvf_gp_set_ram(H.dev, r, n) == 0, "set_ram failed");
    H.present = mask;
}

static void run_cmd(struct input *in)
{
    unsigned op = (unsigned)take(in, 1);
    unsigned r = (unsigned)take(in, 1) % (MVF_GP_MAX_RINGS + 2);
    uint64_t v = 0;

    /* Low nibble: the command; high nibble: its variant bits. */
    switch (op & 15) {
    case 0: { /* raw MMIO write */
        static const unsigned sizes[8] = { 4, 4, 4, 4, 4, 1, 2, 8 };
        uint64_t off = take(in, 2) & 0x1fff;
        unsigned sz = sizes[op / 16 % 8];

        mvf_gp_mmio_write(H.dev, off, sz, take(in, sz == 8 ? 8 : 4));
        break;
    }
    case 1: { /* raw MMIO read: values are 32-bit */
        uint64_t off = take(in, 2) & 0x1fff;

        mvf_gp_mmio_read(H.dev, off, op & 16 ? 4 : 1 + op / 32 % 8, &v);
        CHECK(v <= UINT32_MAX, "read returned 0x%llx", (unsigned long long)v);
        break;
    }
    case 2: { /* ring setup through registers */
        uint64_t base = pick_addr(in);

        if (op & 16)
            base &= ~(uint64_t)(MVF_GP_ENTRY_SIZE - 1);
        wr(r, MVF_GP_RING_ADDR_LO, (uint32_t)base);
        wr(r, MVF_GP_RING_ADDR_HI, (uint32_t)(base >> 32));
        wr(r, MVF_GP_RING_SIZE, op & 32 ? (uint32_t)take(in, 4)
                                        : 1 + (uint32_t)take(in, 1) * 16);
        wr(r, MVF_GP_RING_CTRL, op & 64 ? 0 : 1);
        break;
    }
    case 3: case 4: /* one entry */
        put_entry(in, r, (uint32_t)take(in, 2));
        break;
    case 5: { /* several consecutive entries */
        uint32_t idx = (uint32_t)take(in, 2), n = 1 + (uint32_t)take(in, 1) % 64;

        for (uint32_t i = 0; i < n; i++)
            put_entry(in, r, idx + i);
        break;
    }
    case 6: case 7: { /* doorbell */
        uint32_t start = (uint32_t)take(in, 2), count = (uint32_t)take(in, 2);
        unsigned maps = H.map_calls, unmaps = H.unmap_calls;

        if (op & 16)
            count %= 80;
        wr(r, MVF_GP_RING_DOORBELL, MVF_GP_DOORBELL(start, count));
        /* one map_batch; one unmap_batch, plus one each to release what
         * the host answered badly and what the guest cannot learn */
        CHECK(H.map_calls - maps <= 1 && H.unmap_calls - unmaps <= 3,
              "doorbell made %u map and %u unmap calls", H.map_calls - maps,
              H.unmap_calls - unmaps);
        break;
    }
    case 8: /* reset, by QEMU or by the guest */
        if (op & 16)
            mvf_gp_mmio_write(H.dev, MVF_GP_REG_RESET, 4, MVF_GP_RESET_VALUE);
        else
            mvf_gp_reset(H.dev);
        break;
    case 9: /* guest RAM changes (hot-unplug and back) */
        set_ram(op / 16 % 8, op & 128);
        break;
    case 10: { /* host behaviour */
        static const int errs[8] = { 0, 0, 0, -ENOSPC, -EMFILE, -ENOMEM, 7, -5000 };
        unsigned k = (unsigned)take(in, 1);

        H.map_err = errs[k % 8];
        H.unmap_err = (k >> 3) % 8 == 1 ? -EBUSY : 0;
        H.read_fail_in = (k >> 6) == 1 ? 1 + (unsigned)take(in, 1) % 8 : 0;
        H.write_fail_in = (k >> 6) == 2 ? 1 + (unsigned)take(in, 1) % 8 : 0;
        H.bad_iova = op / 16 % 4 == 3 ? 0 : op / 16 % 4;
        H.reenter = op / 64;
        H.host_budget = (k >> 6) == 3 ? take(in, 1) * H.granule : UINT64_MAX;
        break;
    }
    default: { /* windows and strategy, as QEMU */
        struct mvf_gp_window w = {
            .gpa = pick_addr(in), .size = pick_len(in),
            .iova = IOVA_BASE, .flags = 3,
        };

        mvf_gp_set_windows(H.dev, &w, op & 16 ? 1 : 0);
        mvf_gp_set_strategy(H.dev, (unsigned)take(in, 1) % 5);
        break;
    }
    }
}

/* The parser's bookkeeping must match the host's after every command:
 * every mapping it tracks is live on the host with the same length, and
 * every live host mapping is tracked unless the host refused its unmap
 * (reset and RAM removal forget such mappings by design).  Tracked IOVAs
 * are distinct, so counting the tracked never-refused ones suffices. */
static void check_consistent(void)
{
    const struct mvf_gp_dev *d = H.dev;
    struct mvf_gp_stats st;
    uint64_t v = 0, n = 0, kept = 0, bytes = 0;

    for (uint32_t i = 0; i < d->cap; i++) {
        const struct mvfl_gp_map *pm = &d->slots[i];
        const struct hmap *hm;

        if (!pm->used)
            continue;
        hm = hmap_find(pm->iova);
        CHECK(hm && hm->len == pm->len, "parser tracks 0x%llx, host does not",
              (unsigned long long)pm->iova);
        CHECK(ram_at(pm->gpa, pm->len), "tracked mapping outside RAM");
        CHECK(reg_gpa(pm->handle, pm->hoff, pm->len) == pm->gpa,
              "tracked mapping of a registration QEMU dropped");
        n++;
        kept += !hm->refused;
        bytes += pm->len;
    }
    CHECK(kept == H.live_kept, "%u host mappings unknown to the parser",
          H.live_kept - (unsigned)kept);
    mvf_gp_get_stats(d, &st);
    CHECK(st.live_mappings == n && d->live == n, "live count %llu, table %llu",
          (unsigned long long)st.live_mappings, (unsigned long long)n);
    CHECK(st.mapped_bytes == bytes, "mapped bytes disagree");
    CHECK(st.maps - st.unmaps == n, "maps - unmaps != live");
    CHECK(n <= MVF_GP_MAX_MAPPINGS, "table over its bound");
    CHECK(d->live * 2 <= d->cap || (!d->cap && !d->live), "table too full");
    mvf_gp_mmio_read(H.dev, MVF_GP_REG_LIVE_MAPPINGS, 4, &v);
    CHECK(v == n, "LIVE_MAPPINGS register disagrees");
    mvf_gp_mmio_read(H.dev, MVF_GP_REG_MAGIC, 4, &v);
    CHECK(v == MVF_GP_MAGIC, "magic changed");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const uint64_t granules[4] = { 16384, 16384, 4096, 65536 };
    struct input in = { data, size };
    struct mvf_gp_config cfg;
    unsigned c0 = (unsigned)take(&in, 1);

    memset(&H, 0, sizeof(H));
    memset(mem0, 0, sizeof(mem0));
    memset(mem1, 0, sizeof(mem1));
    memset(mem2, 0, sizeof(mem2));
    H.granule = granules[c0 >> 6];
    for (unsigned i = 0; i < MAX_HMAPS; i++)
        H.free_ids[i] = MAX_HMAPS - 1 - i;
    H.n_free = MAX_HMAPS;
    H.host_budget = UINT64_MAX;
    cfg = (struct mvf_gp_config){
        .pci_addr = MVF_GP_PCI_ADDR(0, 1, 0),
        .num_rings = c0 % 8 == 7 ? MVF_GP_MAX_RINGS : c0 % 8,
        .granule = H.granule,
        .max_mappings = 1 + (uint32_t)take(&in, 1) % 256,
        .flags = c0 & 8 ? MVF_GP_CFG_GUEST_SELECT : 0,
    };
    cfg.budget = (1 + take(&in, 1)) * H.granule * 4;
    CHECK(mvf_gp_create(&cfg, &ops, NULL, &H.dev) == 0, "create failed");
    set_ram(c0 & 16 ? 3 : 7, false);

    while (in.n) {
        run_cmd(&in);
        check_consistent();
    }

    /* A reset must leave the host with nothing mapped. */
    H.unmap_err = 0;
    H.reenter = 0;
    mvf_gp_reset(H.dev);
    check_consistent();
    CHECK(H.live_kept == 0, "reset left %u mappings", H.live_kept);
    mvf_gp_destroy(H.dev);
    return 0;
}

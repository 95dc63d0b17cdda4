/* SPDX-License-Identifier: MIT */
/*
 * The apple-dma-pci engine (companion/engine.c) against a scripted QEMU:
 * guest RAM is two arrays at two guest-physical ranges, each its own
 * host registration, and the map_batch callback is a bump IOVA
 * allocator with a host budget.  That scaffolding stands in for QEMU;
 * the engine under test is the real one.
 *
 * Every callback checks its arguments (a registration and offset inside
 * guest RAM, granule aligned, an IOVA it handed out...) and fails the
 * test otherwise, so every test also checks that no callback is ever
 * called out of bounds.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "engine.h"
#include "macvfio/macvfio.h"

#define G         16384ull
#define RAM0_GPA  0x0ull
#define RAM0_SIZE (1ull << 20)
#define RAM1_GPA  0x100000000ull
#define RAM1_SIZE (512ull << 10)
#define RAM0_HANDLE 0x10ull   /* registration handles and the offsets */
#define RAM0_HOFF   0x10000ull /* at which the ranges start in them */
#define RAM1_HANDLE 0x20ull
#define RAM1_HOFF   0x4000ull
#define IOVA_BASE 0xF000000000ull
#define MAX_HMAPS 8192
#define PENDING   ((int32_t)MVF_GP_STATUS_PENDING)

/* ---- the scripted QEMU -------------------------------------------------- */

struct hmap {
    uint64_t iova, len, gpa;
    uint32_t flags;
    bool live;
};

struct harness {
    uint8_t *ram0, *ram1;
    struct hmap maps[MAX_HMAPS];
    unsigned n_maps, live;
    uint64_t live_bytes, next_iova, host_budget, granule;
    int map_err;          /* returned by map if nonzero */
    int unmap_err;        /* returned by unmap if nonzero */
    int read_fail_in;     /* read_guest call that fails (1 = next), 0 never */
    int write_fail_in;
    int bad_iova;         /* 1: unaligned IOVA, 2: a live IOVA again */
    int reenter;          /* 1: write_guest rings a doorbell, 2: resets */
    int reenter_rc;
    unsigned reads, writes;
    unsigned map_calls, unmap_calls;  /* host round trips */
    unsigned map_reqs, unmap_reqs;    /* entries in them */
    struct mvf_gp_dev *dev;
};

static struct harness *H;

static bool within(uint64_t gpa, uint64_t len, uint64_t base, uint64_t size)
{
    return gpa >= base && gpa - base < size && len <= size - (gpa - base);
}

static uint8_t *ram_at(uint64_t gpa, uint64_t len)
{
    if (!len || len - 1 > UINT64_MAX - gpa)
        return NULL;
    if (within(gpa, len, RAM0_GPA, RAM0_SIZE))
        return H->ram0 + (gpa - RAM0_GPA);
    if (within(gpa, len, RAM1_GPA, RAM1_SIZE))
        return H->ram1 + (gpa - RAM1_GPA);
    return NULL;
}

static int cb_read(void *ctx, uint64_t gpa, void *buf, uint64_t len)
{
    uint8_t *p = ram_at(gpa, len);

    assert_ptr_equal(ctx, H);
    if (!p)
        fail_msg("read_guest out of RAM: 0x%llx+0x%llx",
                 (unsigned long long)gpa, (unsigned long long)len);
    H->reads++;
    if (H->read_fail_in && --H->read_fail_in == 0)
        return -EFAULT;
    memcpy(buf, p, len);
    return 0;
}

static int cb_write(void *ctx, uint64_t gpa, const void *buf, uint64_t len)
{
    uint8_t *p = ram_at(gpa, len);

    if (!p)
        fail_msg("write_guest out of RAM: 0x%llx+0x%llx",
                 (unsigned long long)gpa, (unsigned long long)len);
    assert_int_equal(len, 12); /* only status + iova are written back */
    assert_int_equal((gpa - MVF_GP_ENTRY_OFF_STATUS) % MVF_GP_ENTRY_SIZE, 0);
    H->writes++;
    if (H->reenter == 1) {
        H->reenter_rc = mvf_gp_mmio_write(H->dev, MVF_GP_RING_REG(0, MVF_GP_RING_DOORBELL),
                                          4, MVF_GP_DOORBELL(0, 1));
    } else if (H->reenter == 2) {
        H->reenter = 0;
        mvf_gp_reset(H->dev);
    }
    if (H->write_fail_in && --H->write_fail_in == 0)
        return -EFAULT;
    memcpy(p, buf, len);
    return 0;
}

static struct hmap *hmap_find(uint64_t iova)
{
    for (unsigned i = 0; i < H->n_maps; i++)
        if (H->maps[i].live && H->maps[i].iova == iova)
            return &H->maps[i];
    return NULL;
}

/* The guest-physical address a registration offset stands for. */
static uint64_t reg_gpa(uint64_t handle, uint64_t offset, uint64_t len)
{
    if (handle == RAM0_HANDLE && offset >= RAM0_HOFF &&
        within(offset - RAM0_HOFF, len, 0, RAM0_SIZE))
        return RAM0_GPA + (offset - RAM0_HOFF);
    if (handle == RAM1_HANDLE && offset >= RAM1_HOFF &&
        within(offset - RAM1_HOFF, len, 0, RAM1_SIZE))
        return RAM1_GPA + (offset - RAM1_HOFF);
    fail_msg("map of handle 0x%llx offset 0x%llx+0x%llx: not registered",
             (unsigned long long)handle, (unsigned long long)offset,
             (unsigned long long)len);
    return 0;
}

static int32_t map_one(const struct mvf_dma_map_req *rq, uint64_t *iova)
{
    uint64_t len = rq->length, gpa = reg_gpa(rq->handle, rq->offset, len);
    uint32_t flags = rq->flags;
    struct hmap *m;

    if ((gpa | len) % H->granule || !flags || (flags & ~3u) || rq->reserved)
        fail_msg("map called with 0x%llx+0x%llx flags %u",
                 (unsigned long long)gpa, (unsigned long long)len, flags);
    if (H->map_err)
        return H->map_err;
    if (len > H->host_budget - H->live_bytes)
        return -ENOSPC;
    assert_true(H->n_maps < MAX_HMAPS);
    m = &H->maps[H->n_maps++];
    *m = (struct hmap){ .iova = H->next_iova, .len = len, .gpa = gpa,
                        .flags = flags, .live = true };
    if (H->bad_iova == 1)
        m->iova += 4096;
    else if (H->bad_iova == 3)
        m->iova = IOVA_BASE - 2 * G;    /* below the aperture */
    H->next_iova += len + G; /* a gap: adjacent IOVAs would hide bugs */
    if (H->bad_iova == 2 && H->n_maps > 1) { /* hand out a live IOVA again */
        H->n_maps--;
        *iova = H->maps[0].iova;
        return 0;
    }
    H->live++;
    H->live_bytes += len;
    *iova = m->iova;
    return 0;
}

static int cb_map_batch(void *ctx, const struct mvf_dma_map_req *reqs,
                        struct mvf_dma_map_res *res, uint32_t n)
{
    assert_ptr_equal(ctx, H);
    assert_true(n >= 1 && n <= MVF_GP_DOORBELL_MAX);
    H->map_calls++;
    H->map_reqs += n;
    for (uint32_t i = 0; i < n; i++) {
        res[i].iova = 0;
        res[i].status = map_one(&reqs[i], &res[i].iova);
    }
    return 0;
}

static int cb_unmap_batch(void *ctx, const struct mvf_dma_unmap_req *reqs,
                          int32_t *status, uint32_t n)
{
    assert_ptr_equal(ctx, H);
    assert_true(n >= 1 && n <= MVF_GP_DOORBELL_MAX);
    H->unmap_calls++;
    H->unmap_reqs += n;
    for (uint32_t i = 0; i < n; i++) {
        struct hmap *m = hmap_find(reqs[i].iova);

        if (!m || m->len != reqs[i].length)
            fail_msg("unmap of 0x%llx+0x%llx, which the host never mapped",
                     (unsigned long long)reqs[i].iova,
                     (unsigned long long)reqs[i].length);
        status[i] = H->unmap_err;
        if (H->unmap_err)
            continue;
        m->live = false;
        H->live--;
        H->live_bytes -= reqs[i].length;
    }
    return 0;
}

static uint32_t cb_pci_addr(void *ctx)
{
    return MVF_GP_PCI_ADDR(1, 0x42, 0x18);
}

static const struct mvf_gp_ops ops = {
    .read_guest = cb_read, .write_guest = cb_write,
    .map_batch = cb_map_batch, .unmap_batch = cb_unmap_batch,
};

static const struct mvf_gp_range ram[2] = {
    { RAM0_GPA, RAM0_SIZE, RAM0_HANDLE, RAM0_HOFF },
    { RAM1_GPA, RAM1_SIZE, RAM1_HANDLE, RAM1_HOFF },
};

static struct mvf_gp_config default_cfg(void)
{
    return (struct mvf_gp_config){
        .pci_addr = MVF_GP_PCI_ADDR(0, 3, 0x10),
        .num_rings = 4,
        .granule = G,
        .budget = (4ull << 30) + (8ull << 20),
        .max_mappings = 4096,
        .flags = MVF_GP_CFG_GUEST_SELECT,
        .aperture_base = IOVA_BASE,
        .aperture_size = 64ull << 30,
    };
}

static struct mvf_gp_dev *make_dev(const struct mvf_gp_config *cfg)
{
    struct mvf_gp_dev *d = NULL;

    assert_int_equal(mvf_gp_create(cfg, &ops, H, &d), 0);
    assert_int_equal(mvf_gp_set_ram(d, ram, 2), 0);
    return d;
}

static int setup(void **state)
{
    struct mvf_gp_config cfg = default_cfg();

    H = calloc(1, sizeof(*H));
    assert_non_null(H);
    H->ram0 = calloc(1, RAM0_SIZE);
    H->ram1 = calloc(1, RAM1_SIZE);
    assert_true(H->ram0 && H->ram1);
    H->next_iova = IOVA_BASE;
    H->host_budget = UINT64_MAX;
    H->granule = G;
    H->dev = make_dev(&cfg);
    *state = H;
    return 0;
}

static int teardown(void **state)
{
    mvf_gp_destroy(H->dev);
    free(H->ram0);
    free(H->ram1);
    free(H);
    H = NULL;
    return 0;
}

/* ---- guest-side helpers -------------------------------------------------- */

static uint32_t rd(uint32_t off)
{
    uint64_t v = 0xdead;

    assert_int_equal(mvf_gp_mmio_read(H->dev, off, 4, &v), 0);
    assert_true(v <= UINT32_MAX);
    return (uint32_t)v;
}

static int wr(uint32_t off, uint32_t v)
{
    return mvf_gp_mmio_write(H->dev, off, 4, v);
}

static uint64_t rd64(uint32_t lo_off)
{
    return rd(lo_off) | (uint64_t)rd(lo_off + 4) << 32;
}

static void put_le(uint8_t *p, uint64_t v, unsigned n)
{
    for (unsigned i = 0; i < n; i++, v >>= 8)
        p[i] = (uint8_t)v;
}

static uint64_t get_le(const uint8_t *p, unsigned n)
{
    uint64_t v = 0;

    while (n--)
        v = v << 8 | p[n];
    return v;
}

/* Guest-physical address of entry i of a ring at base. */
static uint64_t ent(uint64_t base, unsigned i)
{
    return base + (uint64_t)i * MVF_GP_ENTRY_SIZE;
}

static void put_entry(uint64_t at, uint16_t op, uint16_t flags, uint64_t gpa,
                      uint64_t len, uint64_t iova)
{
    uint8_t *p = ram_at(at, 32);

    assert_non_null(p);
    put_le(p, gpa, 8);
    put_le(p + 8, len, 8);
    put_le(p + 16, op, 2);
    put_le(p + 18, flags, 2);
    put_le(p + 20, (uint32_t)PENDING, 4);
    put_le(p + 24, iova, 8);
}

static int32_t ent_status(uint64_t at)
{
    return (int32_t)(uint32_t)get_le(ram_at(at, 32) + 20, 4);
}

static uint64_t ent_iova(uint64_t at)
{
    return get_le(ram_at(at, 32) + 24, 8);
}

static int32_t ring_setup(unsigned r, uint64_t base, uint32_t size)
{
    wr(MVF_GP_RING_REG(r, MVF_GP_RING_ADDR_LO), (uint32_t)base);
    wr(MVF_GP_RING_REG(r, MVF_GP_RING_ADDR_HI), (uint32_t)(base >> 32));
    wr(MVF_GP_RING_REG(r, MVF_GP_RING_SIZE), size);
    wr(MVF_GP_RING_REG(r, MVF_GP_RING_CTRL), MVF_GP_RING_CTRL_ENABLE);
    return (int32_t)rd(MVF_GP_RING_REG(r, MVF_GP_RING_STATUS));
}

static int32_t doorbell(unsigned r, uint32_t start, uint32_t count)
{
    return wr(MVF_GP_RING_REG(r, MVF_GP_RING_DOORBELL),
              MVF_GP_DOORBELL(start, count));
}

static int32_t ring_status(unsigned r)
{
    return (int32_t)rd(MVF_GP_RING_REG(r, MVF_GP_RING_STATUS));
}

static uint32_t processed(unsigned r)
{
    return rd(MVF_GP_RING_REG(r, MVF_GP_RING_PROCESSED));
}

/* The parser's view of live mappings equals the host's. */
static void check_consistent(void)
{
    struct mvf_gp_stats st;

    mvf_gp_get_stats(H->dev, &st);
    assert_int_equal(st.live_mappings, H->live);
    assert_int_equal(st.mapped_bytes, H->live_bytes);
    assert_int_equal(rd(MVF_GP_REG_LIVE_MAPPINGS), H->live);
    assert_int_equal(rd64(MVF_GP_REG_MAPPED_LO), H->live_bytes);
    assert_int_equal(st.maps - st.unmaps, st.live_mappings);
}

/* Maps [gpa, gpa+len) through ring r (set up at base, entry slot i);
 * returns the status, stores the IOVA. */
static int32_t map1(unsigned r, uint64_t base, unsigned i, uint64_t gpa,
                    uint64_t len, uint64_t *iova)
{
    put_entry(ent(base, i), MVF_GP_OP_MAP, MVF_GP_F_READ | MVF_GP_F_WRITE,
              gpa, len, 0);
    assert_int_equal(doorbell(r, i, 1), 0);
    if (iova)
        *iova = ent_iova(ent(base, i));
    return ent_status(ent(base, i));
}

static int32_t unmap1(unsigned r, uint64_t base, unsigned i, uint64_t iova,
                      uint64_t len)
{
    put_entry(ent(base, i), MVF_GP_OP_UNMAP, 0, 0, len, iova);
    assert_int_equal(doorbell(r, i, 1), 0);
    return ent_status(ent(base, i));
}

#define RING0 (RAM0_GPA + 0xC0000) /* RAM0's last 256 KiB hold rings */
#define RING1 (RAM0_GPA + 0xD0000)
#define RING2 (RAM0_GPA + 0xE0000)

/* ---- registers ------------------------------------------------------------ */

static void test_identity_registers(void **state)
{
    struct mvf_gp_config cfg = default_cfg();
    struct mvf_gp_ops o2 = ops;
    struct mvf_gp_dev *d2;
    uint64_t v;

    assert_int_equal(rd(MVF_GP_REG_MAGIC), 0x4D564750);
    assert_int_equal(rd(MVF_GP_REG_VERSION), 0x00010000);
    assert_int_equal(rd(MVF_GP_REG_FEATURES),
                     MVF_GP_FEAT_POOL | MVF_GP_FEAT_ONDEMAND |
                     MVF_GP_FEAT_PERCPU_RINGS | MVF_GP_FEAT_STRATEGY_SELECT);
    assert_int_equal(rd(MVF_GP_REG_DEV_STATUS), 0);
    assert_int_equal(rd(MVF_GP_REG_PCI_ADDR), 0x0310);
    assert_int_equal(rd(MVF_GP_REG_GRANULE), 16384);
    assert_int_equal(rd64(MVF_GP_REG_BUDGET_LO), (4ull << 30) + (8ull << 20));
    assert_int_equal(rd(MVF_GP_REG_MAX_MAPPINGS), 4096);
    assert_int_equal(rd(MVF_GP_REG_NUM_RINGS), 4);
    assert_int_equal(rd(MVF_GP_REG_RING_MAX_ENTRIES), 4096);
    assert_int_equal(rd(MVF_GP_REG_DOORBELL_MAX), 1024);
    assert_int_equal(rd64(MVF_GP_REG_APERTURE_BASE_LO), IOVA_BASE);
    assert_int_equal(rd64(MVF_GP_REG_APERTURE_SIZE_LO), 64ull << 30);
    assert_int_equal(rd(MVF_GP_REG_STRATEGY), MVF_GP_STRATEGY_NONE);
    assert_int_equal(rd(MVF_GP_REG_WINDOW_COUNT), 0);
    assert_int_equal(rd(MVF_GP_REG_LIVE_MAPPINGS), 0);
    assert_int_equal(rd64(MVF_GP_REG_MAPPED_LO), 0);
    /* write-only and reserved registers, absent rings, empty table */
    assert_int_equal(rd(MVF_GP_REG_RESET), 0);
    for (uint32_t off = 0x058; off < 0x400; off += 4)
        assert_int_equal(rd(off), 0);
    assert_int_equal(rd(MVF_GP_WIN_REG(0, MVF_GP_WIN_GPA_LO)), 0);
    assert_int_equal(rd(MVF_GP_RING_REG(4, MVF_GP_RING_SIZE)), 0);
    assert_int_equal(rd(MVF_GP_RING_REG(63, MVF_GP_RING_PROCESSED)), 0);
    assert_int_equal(rd(MVF_GP_RING_REG(0, MVF_GP_RING_DOORBELL)), 0);

    /* a live PCI address from the callback wins over the config */
    o2.pci_addr = cb_pci_addr;
    assert_int_equal(mvf_gp_create(&cfg, &o2, H, &d2), 0);
    assert_int_equal(mvf_gp_mmio_read(d2, MVF_GP_REG_PCI_ADDR, 4, &v), 0);
    assert_int_equal(v, 0x00014218);
    mvf_gp_destroy(d2);

    /* one ring, no select: features shrink accordingly */
    cfg.num_rings = 1;
    cfg.flags = 0;
    assert_int_equal(mvf_gp_create(&cfg, &ops, H, &d2), 0);
    assert_int_equal(mvf_gp_mmio_read(d2, MVF_GP_REG_FEATURES, 4, &v), 0);
    assert_int_equal(v, MVF_GP_FEAT_POOL | MVF_GP_FEAT_ONDEMAND);
    mvf_gp_destroy(d2);
}

static void test_mmio_access_rules(void **state)
{
    struct mvf_gp_stats st;
    uint64_t v;
    unsigned sizes[] = { 1, 2, 8, 0, 3 };

    for (unsigned i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        v = 77;
        assert_int_equal(mvf_gp_mmio_read(H->dev, 0, sizes[i], &v), MVF_GP_EINVAL);
        assert_int_equal(v, 0);
        assert_int_equal(mvf_gp_mmio_write(H->dev, MVF_GP_REG_STRATEGY, sizes[i], 1),
                         MVF_GP_EINVAL);
    }
    assert_int_equal(mvf_gp_mmio_read(H->dev, 2, 4, &v), MVF_GP_EINVAL);
    assert_int_equal(mvf_gp_mmio_read(H->dev, 4096, 4, &v), MVF_GP_EINVAL);
    assert_int_equal(mvf_gp_mmio_read(H->dev, UINT64_MAX - 3, 4, &v), MVF_GP_EINVAL);
    assert_int_equal(mvf_gp_mmio_read(H->dev, 1ull << 32, 4, &v), MVF_GP_EINVAL);
    assert_int_equal(mvf_gp_mmio_write(H->dev, 4096, 4, 0), MVF_GP_EINVAL);
    assert_int_equal(mvf_gp_mmio_write(H->dev, 1ull << 32 | MVF_GP_REG_RESET, 4, 1),
                     MVF_GP_EINVAL);
    assert_int_equal(mvf_gp_mmio_write(H->dev, MVF_GP_REG_STRATEGY, 4, 1ull << 32),
                     MVF_GP_EINVAL);
    assert_int_equal((int32_t)rd(MVF_GP_REG_DEV_STATUS), MVF_GP_EINVAL);
    assert_int_equal(rd(MVF_GP_REG_STRATEGY), MVF_GP_STRATEGY_NONE);

    /* read-only and reserved registers, the table, absent rings */
    assert_int_equal(wr(MVF_GP_REG_MAGIC, 0), MVF_GP_EPERM);
    assert_int_equal(rd(MVF_GP_REG_MAGIC), MVF_GP_MAGIC);
    assert_int_equal(wr(MVF_GP_REG_GRANULE, 4096), MVF_GP_EPERM);
    assert_int_equal(rd(MVF_GP_REG_GRANULE), 16384);
    assert_int_equal(wr(0x200, 1), MVF_GP_EPERM);
    assert_int_equal(wr(MVF_GP_WIN_REG(3, MVF_GP_WIN_IOVA_LO), 1), MVF_GP_EPERM);
    assert_int_equal((int32_t)rd(MVF_GP_REG_DEV_STATUS), MVF_GP_EPERM);
    assert_int_equal(wr(MVF_GP_RING_REG(4, MVF_GP_RING_CTRL), 1), MVF_GP_ENODEV);
    assert_int_equal((int32_t)rd(MVF_GP_REG_DEV_STATUS), MVF_GP_ENODEV);
    assert_int_equal(wr(MVF_GP_RING_REG(0, MVF_GP_RING_STATUS), 0), MVF_GP_EPERM);
    assert_int_equal(wr(MVF_GP_RING_REG(0, MVF_GP_RING_PROCESSED), 0), MVF_GP_EPERM);
    assert_int_equal(wr(MVF_GP_RING_REG(0, 0x1C), 0), MVF_GP_EPERM);
    assert_int_equal((int32_t)rd(MVF_GP_REG_DEV_STATUS), MVF_GP_EPERM);
    assert_int_equal(wr(MVF_GP_REG_RESET, 2), MVF_GP_EINVAL);
    /* an accepted device-level write clears DEV_STATUS */
    assert_int_equal(wr(MVF_GP_REG_STRATEGY, MVF_GP_STRATEGY_ONDEMAND), 0);
    assert_int_equal(rd(MVF_GP_REG_DEV_STATUS), 0);
    mvf_gp_get_stats(H->dev, &st);
    assert_int_equal(st.errors, 26);
    assert_int_equal(H->reads + H->writes + H->map_calls + H->unmap_calls, 0);
}

static void test_window_table(void **state)
{
    struct mvf_gp_window w[2] = {
        { .gpa = 0, .size = 2ull << 30, .iova = IOVA_BASE, .flags = 3 },
        { .gpa = 4ull << 30, .size = 6ull << 30, .iova = IOVA_BASE + (2ull << 30),
          .flags = MVF_GP_F_READ },
    }, bad;
    struct mvf_gp_window many[MVF_GP_MAX_WINDOWS + 1];

    assert_int_equal(mvf_gp_set_windows(H->dev, w, 2), 0);
    assert_int_equal(rd(MVF_GP_REG_WINDOW_COUNT), 2);
    assert_true(rd(MVF_GP_REG_FEATURES) & MVF_GP_FEAT_WINDOW);
    for (unsigned i = 0; i < 2; i++) {
        assert_int_equal(rd64(MVF_GP_WIN_REG(i, MVF_GP_WIN_GPA_LO)), w[i].gpa);
        assert_int_equal(rd64(MVF_GP_WIN_REG(i, MVF_GP_WIN_SIZE_LO)), w[i].size);
        assert_int_equal(rd64(MVF_GP_WIN_REG(i, MVF_GP_WIN_IOVA_LO)), w[i].iova);
        assert_int_equal(rd(MVF_GP_WIN_REG(i, MVF_GP_WIN_FLAGS)), w[i].flags);
        assert_int_equal(rd(MVF_GP_WIN_REG(i, 0x1C)), 0);
    }
    for (uint32_t off = MVF_GP_WIN_REG(2, 0); off < MVF_GP_RING_BASE; off += 4)
        assert_int_equal(rd(off), 0);
    assert_int_equal(mvf_gp_set_strategy(H->dev, MVF_GP_STRATEGY_WINDOW), 0);
    assert_int_equal(rd(MVF_GP_REG_STRATEGY), MVF_GP_STRATEGY_WINDOW);

    /* QEMU's table is checked too */
    bad = w[0]; bad.size = 0;
    assert_int_equal(mvf_gp_set_windows(H->dev, &bad, 1), -EINVAL);
    bad = w[0]; bad.gpa = 4096;
    assert_int_equal(mvf_gp_set_windows(H->dev, &bad, 1), -EINVAL);
    bad = w[0]; bad.iova = UINT64_MAX - G + 1;
    assert_int_equal(mvf_gp_set_windows(H->dev, &bad, 1), -EINVAL);
    bad = w[0]; bad.flags = 0;
    assert_int_equal(mvf_gp_set_windows(H->dev, &bad, 1), -EINVAL);
    bad = w[0]; bad.flags = 4;
    assert_int_equal(mvf_gp_set_windows(H->dev, &bad, 1), -EINVAL);
    bad = w[0]; bad.reserved = 1;
    assert_int_equal(mvf_gp_set_windows(H->dev, &bad, 1), -EINVAL);
    memset(many, 0, sizeof(many));
    assert_int_equal(mvf_gp_set_windows(H->dev, many, MVF_GP_MAX_WINDOWS + 1), -E2BIG);
    assert_int_equal(mvf_gp_set_windows(H->dev, NULL, 1), -EINVAL);
    assert_true(strlen(mvf_last_error()) > 0);
    assert_int_equal(rd(MVF_GP_REG_WINDOW_COUNT), 2); /* unchanged */

    /* dropping the windows drops the WINDOW strategy */
    assert_int_equal(mvf_gp_set_windows(H->dev, NULL, 0), 0);
    assert_int_equal(rd(MVF_GP_REG_WINDOW_COUNT), 0);
    assert_int_equal(rd(MVF_GP_WIN_REG(0, MVF_GP_WIN_SIZE_LO)), 0);
    assert_int_equal(rd(MVF_GP_REG_STRATEGY), MVF_GP_STRATEGY_NONE);
    assert_false(rd(MVF_GP_REG_FEATURES) & MVF_GP_FEAT_WINDOW);
    assert_int_equal(H->map_calls + H->unmap_calls, 0);
}

static void test_strategy(void **state)
{
    struct mvf_gp_window w = { .gpa = 0, .size = RAM0_SIZE, .iova = IOVA_BASE, .flags = 3 };
    struct mvf_gp_config cfg = default_cfg();
    struct mvf_gp_dev *d2;
    uint64_t v;

    assert_int_equal(mvf_gp_set_strategy(H->dev, MVF_GP_STRATEGY_WINDOW), -EINVAL);
    assert_int_equal(mvf_gp_set_strategy(H->dev, 4), -EINVAL);
    assert_int_equal(mvf_gp_set_strategy(H->dev, MVF_GP_STRATEGY_ONDEMAND), 0);
    assert_int_equal(mvf_gp_get_strategy(H->dev), MVF_GP_STRATEGY_ONDEMAND);

    /* guest requests */
    assert_int_equal(wr(MVF_GP_REG_STRATEGY, MVF_GP_STRATEGY_POOL), 0);
    assert_int_equal(rd(MVF_GP_REG_STRATEGY), MVF_GP_STRATEGY_POOL);
    assert_int_equal(mvf_gp_get_strategy(H->dev), MVF_GP_STRATEGY_POOL);
    assert_int_equal(wr(MVF_GP_REG_STRATEGY, MVF_GP_STRATEGY_WINDOW), MVF_GP_EINVAL);
    assert_int_equal(wr(MVF_GP_REG_STRATEGY, 0xffffffff), MVF_GP_EINVAL);
    assert_int_equal((int32_t)rd(MVF_GP_REG_DEV_STATUS), MVF_GP_EINVAL);
    assert_int_equal(rd(MVF_GP_REG_STRATEGY), MVF_GP_STRATEGY_POOL);
    assert_int_equal(mvf_gp_set_windows(H->dev, &w, 1), 0);
    assert_int_equal(wr(MVF_GP_REG_STRATEGY, MVF_GP_STRATEGY_WINDOW), 0);
    assert_int_equal(wr(MVF_GP_REG_STRATEGY, MVF_GP_STRATEGY_NONE), 0);
    assert_int_equal(rd(MVF_GP_REG_DEV_STATUS), 0);
    /* reset restores QEMU's choice */
    mvf_gp_reset(H->dev);
    assert_int_equal(rd(MVF_GP_REG_STRATEGY), MVF_GP_STRATEGY_ONDEMAND);

    /* without GUEST_SELECT the guest only reads */
    cfg.flags = 0;
    cfg.num_rings = 0;
    assert_int_equal(mvf_gp_create(&cfg, &ops, H, &d2), 0);
    assert_int_equal(mvf_gp_set_strategy(d2, MVF_GP_STRATEGY_ONDEMAND), -EINVAL);
    assert_int_equal(mvf_gp_mmio_write(d2, MVF_GP_REG_STRATEGY, 4, 0), MVF_GP_EPERM);
    assert_int_equal(mvf_gp_mmio_read(d2, MVF_GP_REG_FEATURES, 4, &v), 0);
    assert_int_equal(v, 0);
    assert_int_equal(mvf_gp_get_strategy(d2), MVF_GP_STRATEGY_NONE);
    mvf_gp_destroy(d2);
    assert_int_equal(mvf_gp_get_strategy(NULL), MVF_GP_STRATEGY_NONE);
}

/* ---- rings ----------------------------------------------------------------- */

static void test_map_unmap_batch(void **state)
{
    struct { uint64_t gpa, len; uint16_t flags; } req[16];
    uint64_t iova[16];
    struct mvf_gp_stats st;
    uint8_t before[20];

    assert_int_equal(ring_setup(0, RING0, 64), 0);
    assert_int_equal(rd(MVF_GP_RING_REG(0, MVF_GP_RING_CTRL)), 1);
    assert_int_equal(rd64(MVF_GP_RING_REG(0, MVF_GP_RING_ADDR_LO)), RING0);
    assert_int_equal(rd(MVF_GP_RING_REG(0, MVF_GP_RING_SIZE)), 64);
    for (unsigned i = 0; i < 16; i++) {
        req[i].gpa = i < 8 ? RAM0_GPA + i * 4 * G : RAM1_GPA + (i - 8) * 2 * G;
        req[i].len = i < 8 ? (i % 4 + 1) * G : G;
        req[i].flags = (uint16_t)(i % 3 + 1);
        put_entry(ent(RING0, i), MVF_GP_OP_MAP, req[i].flags, req[i].gpa,
                  req[i].len, 0x1234);
    }
    memcpy(before, ram_at(ent(RING0, 5), 20), 20);
    assert_int_equal(doorbell(0, 0, 16), 0);
    assert_int_equal(ring_status(0), 0);
    assert_int_equal(processed(0), 16);
    assert_int_equal(H->map_calls, 1);      /* one host call per doorbell */
    assert_int_equal(H->map_reqs, 16);
    for (unsigned i = 0; i < 16; i++) {
        struct hmap *m;

        assert_int_equal(ent_status(ent(RING0, i)), 0);
        iova[i] = ent_iova(ent(RING0, i));
        assert_int_equal(iova[i] % G, 0);
        m = hmap_find(iova[i]);
        assert_non_null(m);
        assert_int_equal(m->gpa, req[i].gpa);
        assert_int_equal(m->len, req[i].len);
        assert_int_equal(m->flags, req[i].flags);
        for (unsigned j = 0; j < i; j++)
            assert_true(iova[i] != iova[j]);
    }
    /* the device wrote only status and iova */
    assert_memory_equal(before, ram_at(ent(RING0, 5), 20), 20);
    check_consistent();
    assert_int_equal(rd(MVF_GP_REG_LIVE_MAPPINGS), 16);

    /* unmap them all, in another order, in one batch */
    for (unsigned i = 0; i < 16; i++) {
        unsigned k = (i * 7) % 16;

        put_entry(ent(RING0, 16 + i), MVF_GP_OP_UNMAP, 0, 0, req[k].len, iova[k]);
    }
    assert_int_equal(doorbell(0, 16, 16), 0);
    assert_int_equal(processed(0), 16);
    for (unsigned i = 0; i < 16; i++) {
        assert_int_equal(ent_status(ent(RING0, 16 + i)), 0);
        assert_int_equal(ent_iova(ent(RING0, 16 + i)), iova[(i * 7) % 16]);
    }
    assert_int_equal(H->unmap_calls, 1);
    assert_int_equal(H->unmap_reqs, 16);
    assert_int_equal(H->live, 0);
    check_consistent();
    mvf_gp_get_stats(H->dev, &st);
    assert_int_equal(st.doorbells, 2);
    assert_int_equal(st.entries, 32);
    assert_int_equal(st.maps, 16);
    assert_int_equal(st.unmaps, 16);
    assert_int_equal(st.map_calls, 1);
    assert_int_equal(st.unmap_calls, 1);
    assert_int_equal(st.errors, 0);
}

/* One doorbell mixing UNMAPs and MAPs: the host sees one unmap_batch,
 * then one map_batch, so the room the UNMAPs free serves the MAPs. */
static void test_mixed_doorbell(void **state)
{
    uint64_t iova[4];
    struct mvf_gp_stats st;

    assert_int_equal(ring_setup(0, RING0, 16), 0);
    H->host_budget = 4 * G;
    for (unsigned i = 0; i < 4; i++)
        assert_int_equal(map1(0, RING0, i, i * G, G, &iova[i]), 0);
    assert_int_equal(map1(0, RING0, 4, 8 * G, G, NULL), MVF_GP_ENOSPC);
    H->map_calls = H->unmap_calls = 0;

    /* MAP, UNMAP, MAP, UNMAP (twice the same), junk: the host budget is
     * full, so the MAPs succeed only because the UNMAPs ran first */
    put_entry(ent(RING0, 5), MVF_GP_OP_MAP, 1, 8 * G, G, 0);
    put_entry(ent(RING0, 6), MVF_GP_OP_UNMAP, 0, 0, G, iova[1]);
    put_entry(ent(RING0, 7), MVF_GP_OP_MAP, 2, RAM1_GPA, G, 0);
    put_entry(ent(RING0, 8), MVF_GP_OP_UNMAP, 0, 0, G, iova[3]);
    put_entry(ent(RING0, 9), MVF_GP_OP_UNMAP, 0, 0, G, iova[3]);
    put_entry(ent(RING0, 10), 9, 0, 0, G, 0);
    assert_int_equal(doorbell(0, 5, 6), 0);
    assert_int_equal(processed(0), 6);
    assert_int_equal(H->unmap_calls, 1);
    assert_int_equal(H->unmap_reqs, 2);
    assert_int_equal(H->map_calls, 1);
    assert_int_equal(ent_status(ent(RING0, 5)), 0);
    assert_int_equal(ent_status(ent(RING0, 6)), 0);
    assert_int_equal(ent_status(ent(RING0, 7)), 0);
    assert_int_equal(ent_status(ent(RING0, 8)), 0);
    assert_int_equal(ent_status(ent(RING0, 9)), MVF_GP_ENOENT);
    assert_int_equal(ent_status(ent(RING0, 10)), MVF_GP_EOPNOTSUPP);
    assert_int_equal(hmap_find(ent_iova(ent(RING0, 7)))->gpa, RAM1_GPA);
    assert_int_equal(H->live, 4);
    check_consistent();

    /* a doorbell of refusals alone never reaches the host */
    put_entry(ent(RING0, 11), MVF_GP_OP_UNMAP, 0, 0, G, iova[1]);
    put_entry(ent(RING0, 12), MVF_GP_OP_MAP, 1, RAM1_GPA + RAM1_SIZE, G, 0);
    assert_int_equal(doorbell(0, 11, 2), 0);
    assert_int_equal(ent_status(ent(RING0, 11)), MVF_GP_ENOENT);
    assert_int_equal(ent_status(ent(RING0, 12)), MVF_GP_EFAULT);
    assert_int_equal(H->unmap_calls + H->map_calls, 2);
    mvf_gp_get_stats(H->dev, &st);
    assert_int_equal(st.map_calls, 6);
    assert_int_equal(st.unmap_calls, 1);
}

static void test_percpu_rings_independent(void **state)
{
    uint64_t iova;

    assert_int_equal(ring_setup(0, RING0, 16), 0);
    assert_int_equal(ring_setup(1, RING1, 16), 0);
    assert_int_equal(ring_setup(2, RAM1_GPA + RAM1_SIZE - 16 * 32, 16), 0);
    put_entry(ent(RING0, 0), MVF_GP_OP_MAP, MVF_GP_F_READ, 0, G, 0);
    put_entry(ent(RING1, 0), MVF_GP_OP_MAP, MVF_GP_F_WRITE, G, G, 0);
    put_entry(ent(RING1, 1), MVF_GP_OP_MAP, MVF_GP_F_WRITE, 2 * G, G, 0);

    assert_int_equal(doorbell(1, 0, 2), 0);
    assert_int_equal(processed(1), 2);
    assert_int_equal(ent_status(ent(RING1, 0)), 0);
    assert_int_equal(ent_status(ent(RING1, 1)), 0);
    assert_int_equal(ent_status(ent(RING0, 0)), PENDING); /* ring 0 not read */
    assert_int_equal(processed(0), 0);

    /* a refused doorbell on ring 3 (disabled) touches only ring 3 */
    assert_int_equal(doorbell(3, 0, 1), MVF_GP_ENXIO);
    assert_int_equal(ring_status(3), MVF_GP_ENXIO);
    assert_int_equal(ring_status(1), 0);
    assert_int_equal(processed(1), 2);

    assert_int_equal(doorbell(0, 0, 1), 0);
    assert_int_equal(ent_status(ent(RING0, 0)), 0);
    iova = ent_iova(ent(RING0, 0));

    /* mappings are the device's: ring 2 unmaps what ring 0 mapped */
    assert_int_equal(unmap1(2, RAM1_GPA + RAM1_SIZE - 16 * 32, 5, iova, G), 0);
    assert_int_equal(H->live, 2);
    /* disabling a ring keeps its mappings */
    assert_int_equal(wr(MVF_GP_RING_REG(1, MVF_GP_RING_CTRL), 0), 0);
    assert_int_equal(rd(MVF_GP_RING_REG(1, MVF_GP_RING_CTRL)), 0);
    assert_int_equal(H->live, 2);
    check_consistent();
}

static void test_ring_setup_errors(void **state)
{
    assert_int_equal(ring_setup(0, 0x200000, 16), MVF_GP_EFAULT);       /* hole */
    assert_int_equal(rd(MVF_GP_RING_REG(0, MVF_GP_RING_CTRL)), 0);
    assert_int_equal(ring_setup(0, RAM0_SIZE - 8 * 32, 16), MVF_GP_EFAULT); /* past end */
    assert_int_equal(ring_setup(0, RAM1_GPA - 32, 2), MVF_GP_EFAULT);
    assert_int_equal(ring_setup(0, RING0, 0), MVF_GP_EINVAL);
    assert_int_equal(ring_setup(0, RING0, 4097), MVF_GP_E2BIG);
    assert_int_equal(ring_setup(0, RING0, 0xffffffff), MVF_GP_E2BIG);
    assert_int_equal(ring_setup(0, RING0 + 16, 4), MVF_GP_EINVAL);
    assert_int_equal(ring_setup(0, UINT64_MAX - 31, 2), MVF_GP_EOVERFLOW);
    assert_int_equal(ring_setup(0, UINT64_MAX - 31, 1), MVF_GP_EFAULT);
    assert_int_equal(wr(MVF_GP_RING_REG(0, MVF_GP_RING_CTRL), 3), MVF_GP_EINVAL);
    assert_int_equal(ring_status(0), MVF_GP_EINVAL);
    assert_int_equal(rd(MVF_GP_RING_REG(0, MVF_GP_RING_CTRL)), 0);

    /* a maximal ring filling RAM1 exactly is fine */
    assert_int_equal(ring_setup(1, RAM1_GPA + RAM1_SIZE - 4096 * 32, 4096), 0);
    /* while enabled: no re-enable, no moving it */
    assert_int_equal(ring_setup(0, RING0, 16), 0);
    assert_int_equal(wr(MVF_GP_RING_REG(0, MVF_GP_RING_CTRL), 1), MVF_GP_EBUSY);
    assert_int_equal(wr(MVF_GP_RING_REG(0, MVF_GP_RING_ADDR_LO), 0x1000), MVF_GP_EBUSY);
    assert_int_equal(wr(MVF_GP_RING_REG(0, MVF_GP_RING_ADDR_HI), 1), MVF_GP_EBUSY);
    assert_int_equal(wr(MVF_GP_RING_REG(0, MVF_GP_RING_SIZE), 4000), MVF_GP_EBUSY);
    assert_int_equal(ring_status(0), MVF_GP_EBUSY);
    assert_int_equal(rd64(MVF_GP_RING_REG(0, MVF_GP_RING_ADDR_LO)), RING0);
    assert_int_equal(rd(MVF_GP_RING_REG(0, MVF_GP_RING_SIZE)), 16);
    assert_int_equal(rd(MVF_GP_RING_REG(0, MVF_GP_RING_CTRL)), 1);
    /* disable, move, enable */
    assert_int_equal(wr(MVF_GP_RING_REG(0, MVF_GP_RING_CTRL), 0), 0);
    assert_int_equal(ring_setup(0, RING1, 8), 0);
    assert_int_equal(H->reads + H->writes + H->map_calls + H->unmap_calls, 0);
}

static void test_doorbell_errors(void **state)
{
    struct mvf_gp_stats st;

    assert_int_equal(ring_setup(1, RING1, 16), 0);
    for (unsigned i = 0; i < 16; i++)
        put_entry(ent(RING1, i), MVF_GP_OP_MAP, 1, 0, G, 0);
    assert_int_equal(doorbell(0, 0, 1), MVF_GP_ENXIO);       /* ring 0 not enabled */
    assert_int_equal(doorbell(1, 0, 0), MVF_GP_EINVAL);
    assert_int_equal(ring_status(1), MVF_GP_EINVAL);
    assert_int_equal(doorbell(1, 0, 17), MVF_GP_E2BIG);      /* count > size */
    assert_int_equal(doorbell(1, 16, 1), MVF_GP_ERANGE);     /* start >= size */
    assert_int_equal(doorbell(1, 0xffff, 1), MVF_GP_ERANGE);
    assert_int_equal(wr(MVF_GP_RING_REG(1, MVF_GP_RING_DOORBELL), 0xffffffff),
                     MVF_GP_E2BIG);
    assert_int_equal(processed(1), 0);
    for (unsigned i = 0; i < 16; i++)
        assert_int_equal(ent_status(ent(RING1, i)), PENDING);
    /* count above DOORBELL_MAX on a big ring */
    assert_int_equal(ring_setup(2, RAM1_GPA, 4096), 0);
    assert_int_equal(doorbell(2, 0, 1025), MVF_GP_E2BIG);
    assert_int_equal(H->reads + H->writes + H->map_calls + H->unmap_calls, 0);
    /* errors are not sticky */
    assert_int_equal(doorbell(1, 3, 1), 0);
    assert_int_equal(ring_status(1), 0);
    assert_int_equal(ent_status(ent(RING1, 3)), 0);
    mvf_gp_get_stats(H->dev, &st);
    assert_int_equal(st.doorbells, 8);
    assert_int_equal(st.errors, 7);
}

static void test_doorbell_wrap(void **state)
{
    const uint64_t big = RAM1_GPA; /* a 4096-entry ring fills RAM1 */
    unsigned reads;

    assert_int_equal(ring_setup(0, RING0, 8), 0);
    for (unsigned i = 0; i < 8; i++)
        put_entry(ent(RING0, i), MVF_GP_OP_MAP, 1, i * G, G, 0);
    assert_int_equal(doorbell(0, 6, 4), 0);           /* 6, 7, 0, 1 */
    assert_int_equal(processed(0), 4);
    assert_int_equal(H->reads, 2);                    /* split at the wrap */
    for (unsigned i = 0; i < 8; i++)
        assert_int_equal(ent_status(ent(RING0, i)),
                         (i >= 6 || i <= 1) ? 0 : PENDING);
    assert_int_equal(hmap_find(ent_iova(ent(RING0, 7)))->gpa, 7 * G);
    assert_int_equal(hmap_find(ent_iova(ent(RING0, 0)))->gpa, 0);
    /* a whole ring in one doorbell, wrapping: 4 unmaps, 4 never mapped */
    for (unsigned i = 0; i < 8; i++)
        put_entry(ent(RING0, i), MVF_GP_OP_UNMAP, 0, 0, G, ent_iova(ent(RING0, i)));
    assert_int_equal(doorbell(0, 6, 8), 0);
    for (unsigned i = 0; i < 8; i++)
        assert_int_equal(ent_status(ent(RING0, i)),
                         (i >= 6 || i <= 1) ? 0 : MVF_GP_ENOENT);
    assert_int_equal(H->live, 0);

    /* DOORBELL_MAX entries, wrapping around a maximal ring */
    assert_int_equal(ring_setup(1, big, 4096), 0);
    put_entry(ent(big, 3999), MVF_GP_OP_MAP, 1, 0, G, 0);
    for (unsigned i = 0; i < 1024; i++)
        put_entry(ent(big, (4000 + i) % 4096), MVF_GP_OP_MAP, 1,
                  (i % 48) * G, G, 0);
    reads = H->reads;
    H->map_calls = 0;
    assert_int_equal(doorbell(1, 4000, 1024), 0);
    assert_int_equal(processed(1), 1024);
    /* one read up to the wrap, one after it; one host call */
    assert_int_equal(H->reads - reads, 2);
    assert_int_equal(H->map_calls, 1);
    for (unsigned i = 0; i < 1024; i++)
        assert_int_equal(ent_status(ent(big, (4000 + i) % 4096)), 0);
    assert_int_equal(ent_status(ent(big, 3999)), PENDING); /* not in the batch */
    assert_int_equal(H->live, 1024);
    check_consistent();
}

static void test_entry_validation(void **state)
{
    /* op, flags, gpa, len, expected status */
    static const struct {
        uint16_t op, flags;
        uint64_t gpa, len;
        int32_t st;
    } cases[] = {
        { MVF_GP_OP_MAP, 1, 0, 4096, MVF_GP_EINVAL },            /* unaligned len */
        { MVF_GP_OP_MAP, 1, G + 4096, G, MVF_GP_EINVAL },        /* unaligned gpa */
        { MVF_GP_OP_MAP, 1, 0, 0, MVF_GP_ENODATA },              /* zero length */
        { MVF_GP_OP_MAP, 1, UINT64_MAX - G + 1, 2 * G, MVF_GP_EOVERFLOW },
        { MVF_GP_OP_MAP, 1, 0, UINT64_MAX - G + 1, MVF_GP_EFAULT },
        { MVF_GP_OP_MAP, 1, 0x200000, G, MVF_GP_EFAULT },        /* hole */
        { MVF_GP_OP_MAP, 1, RAM0_SIZE - G, 2 * G, MVF_GP_EFAULT },/* past RAM0 */
        { MVF_GP_OP_MAP, 1, RAM1_GPA - G, 2 * G, MVF_GP_EFAULT },
        { MVF_GP_OP_MAP, 1, 0, RAM1_GPA + RAM1_SIZE, MVF_GP_EFAULT }, /* spans both */
        { MVF_GP_OP_MAP, 0, 0, G, MVF_GP_EINVAL },               /* no direction */
        { MVF_GP_OP_MAP, 4, 0, G, MVF_GP_EINVAL },
        { MVF_GP_OP_MAP, 0xffff, 0, G, MVF_GP_EINVAL },
        { 0, 1, 0, G, MVF_GP_EOPNOTSUPP },
        { 3, 1, 0, G, MVF_GP_EOPNOTSUPP },
        { 0xffff, 0, 0, G, MVF_GP_EOPNOTSUPP },
        { MVF_GP_OP_MAP, 3, RAM1_GPA, RAM1_SIZE, 0 },            /* fine */
    };
    const unsigned n = sizeof(cases) / sizeof(cases[0]);

    assert_int_equal(ring_setup(0, RING0, 32), 0);
    for (unsigned i = 0; i < n; i++)
        put_entry(ent(RING0, i), cases[i].op, cases[i].flags, cases[i].gpa,
                  cases[i].len, 0x5555);
    assert_int_equal(doorbell(0, 0, n), 0);
    assert_int_equal(ring_status(0), 0);
    assert_int_equal(processed(0), n);
    for (unsigned i = 0; i < n; i++) {
        int32_t st = ent_status(ent(RING0, i));
        uint64_t iova = ent_iova(ent(RING0, i));

        if (st != cases[i].st)
            fail_msg("case %u: status %d, expected %d", i, st, cases[i].st);
        if (cases[i].op != MVF_GP_OP_MAP)
            assert_int_equal(iova, 0x5555);      /* unknown op: unchanged */
        else if (cases[i].st)
            assert_int_equal(iova, UINT64_MAX);  /* failed MAP: all ones */
    }
    assert_int_equal(H->map_calls, 1);           /* only the good one */
    check_consistent();
}

static void test_unmap_validation(void **state)
{
    uint64_t a, b;
    struct mvf_gp_stats st;

    assert_int_equal(ring_setup(0, RING0, 32), 0);
    assert_int_equal(map1(0, RING0, 0, 0, 2 * G, &a), 0);
    assert_int_equal(map1(0, RING0, 1, 4 * G, G, &b), 0);
    H->map_calls = 0;

    assert_int_equal(unmap1(0, RING0, 2, IOVA_BASE + (1ull << 30), G), MVF_GP_ENOENT);
    assert_int_equal(unmap1(0, RING0, 2, a + G, G), MVF_GP_ENOENT); /* inside */
    assert_int_equal(unmap1(0, RING0, 2, a, G), MVF_GP_EINVAL);     /* wrong len */
    assert_int_equal(unmap1(0, RING0, 2, a, 3 * G), MVF_GP_EINVAL);
    assert_int_equal(unmap1(0, RING0, 2, a + 4096, G), MVF_GP_EINVAL);
    assert_int_equal(unmap1(0, RING0, 2, a, 4096), MVF_GP_EINVAL);
    assert_int_equal(unmap1(0, RING0, 2, a, 0), MVF_GP_ENODATA);
    assert_int_equal(unmap1(0, RING0, 2, UINT64_MAX - G + 1, 2 * G), MVF_GP_EOVERFLOW);
    put_entry(ent(RING0, 3), MVF_GP_OP_UNMAP, MVF_GP_F_READ, 0, 2 * G, a);
    assert_int_equal(doorbell(0, 3, 1), 0);
    assert_int_equal(ent_status(ent(RING0, 3)), MVF_GP_EINVAL);     /* flags */
    assert_int_equal(H->unmap_calls, 0);   /* none of those reached the host */

    assert_int_equal(unmap1(0, RING0, 4, a, 2 * G), 0);
    assert_int_equal(unmap1(0, RING0, 5, a, 2 * G), MVF_GP_ENOENT); /* double */
    assert_int_equal(H->unmap_calls, 1);
    /* a double unmap inside one batch */
    put_entry(ent(RING0, 6), MVF_GP_OP_UNMAP, 0, 0, G, b);
    put_entry(ent(RING0, 7), MVF_GP_OP_UNMAP, 0, 0, G, b);
    assert_int_equal(doorbell(0, 6, 2), 0);
    assert_int_equal(ent_status(ent(RING0, 6)), 0);
    assert_int_equal(ent_status(ent(RING0, 7)), MVF_GP_ENOENT);
    assert_int_equal(H->unmap_calls, 2);
    assert_int_equal(H->map_calls, 0);
    check_consistent();
    mvf_gp_get_stats(H->dev, &st);
    assert_int_equal(st.errors, 11);
}

static void test_host_errors_surface(void **state)
{
    uint64_t iova[5];
    int32_t expect_st[] = { 0, 0, 0, MVF_GP_ENOSPC, MVF_GP_ENOSPC };

    assert_int_equal(ring_setup(0, RING0, 32), 0);
    /* host budget of 3 granules, shared with whatever else the host has */
    H->host_budget = 3 * G;
    for (unsigned i = 0; i < 5; i++)
        put_entry(ent(RING0, i), MVF_GP_OP_MAP, 1, i * G, G, 0);
    assert_int_equal(doorbell(0, 0, 5), 0);
    for (unsigned i = 0; i < 5; i++) {
        assert_int_equal(ent_status(ent(RING0, i)), expect_st[i]);
        iova[i] = ent_iova(ent(RING0, i));
    }
    assert_int_equal(iova[4], UINT64_MAX);
    check_consistent();
    /* freeing one makes room again */
    assert_int_equal(unmap1(0, RING0, 5, iova[1], G), 0);
    assert_int_equal(map1(0, RING0, 6, 9 * G, G, NULL), 0);
    assert_int_equal(map1(0, RING0, 7, 9 * G, G, NULL), MVF_GP_ENOSPC);

    /* host errnos become Linux numbers; junk becomes -EIO */
    H->host_budget = UINT64_MAX;
    H->map_err = -EMFILE;
    assert_int_equal(map1(0, RING0, 8, 0, G, NULL), MVF_GP_EMFILE);
    H->map_err = -EOVERFLOW;
    assert_int_equal(map1(0, RING0, 8, 0, G, NULL), -75);
    H->map_err = -ENOTSUP;
    assert_int_equal(map1(0, RING0, 8, 0, G, NULL), -95);
    H->map_err = -EBADF;
    assert_int_equal(map1(0, RING0, 8, 0, G, NULL), MVF_GP_EIO);
    H->map_err = 5;
    assert_int_equal(map1(0, RING0, 8, 0, G, NULL), MVF_GP_EIO);
    H->map_err = -100000;
    assert_int_equal(map1(0, RING0, 8, 0, G, NULL), MVF_GP_EIO);
    H->map_err = 0;
    check_consistent();

    /* a refused unmap keeps the mapping; it can be unmapped later */
    H->unmap_err = -EBUSY;
    assert_int_equal(unmap1(0, RING0, 9, iova[0], G), MVF_GP_EBUSY);
    assert_int_equal(rd(MVF_GP_REG_LIVE_MAPPINGS), 3);
    H->unmap_err = 0;
    assert_int_equal(unmap1(0, RING0, 9, iova[0], G), 0);
    check_consistent();
}

static void test_status_translation(void **state)
{
    assert_int_equal(mvfl_gp_status(0), 0);
    assert_int_equal(mvfl_gp_status(-EPERM), -1);
    assert_int_equal(mvfl_gp_status(-EACCES), -1);
    assert_int_equal(mvfl_gp_status(-ENOENT), -2);
    assert_int_equal(mvfl_gp_status(-EIO), -5);
    assert_int_equal(mvfl_gp_status(-ENXIO), -6);
    assert_int_equal(mvfl_gp_status(-E2BIG), -7);
    assert_int_equal(mvfl_gp_status(-ENOMEM), -12);
    assert_int_equal(mvfl_gp_status(-EFAULT), -14);
    assert_int_equal(mvfl_gp_status(-EBUSY), -16);
    assert_int_equal(mvfl_gp_status(-ENODEV), -19);
    assert_int_equal(mvfl_gp_status(-EINVAL), -22);
    assert_int_equal(mvfl_gp_status(-EMFILE), -24);
    assert_int_equal(mvfl_gp_status(-ENOSPC), -28);
    assert_int_equal(mvfl_gp_status(-ERANGE), -34);
    assert_int_equal(mvfl_gp_status(-ENODATA), -61);
    assert_int_equal(mvfl_gp_status(-EOVERFLOW), -75);
    assert_int_equal(mvfl_gp_status(-EOPNOTSUPP), -95);
    assert_int_equal(mvfl_gp_status(-ENOTSUP), -95);
    assert_int_equal(mvfl_gp_status(-EAGAIN), -5);
    assert_int_equal(mvfl_gp_status(1), -5);
    assert_int_equal(mvfl_gp_status(-4096), -5);
}

/* BUDGET and MAX_MAPPINGS tell the guest the host's limits, but the
 * host's ledger is the only one: its answers decide, and pass through. */
static void test_host_is_the_ledger(void **state)
{
    struct mvf_gp_config cfg = default_cfg();
    uint64_t big;

    mvf_gp_destroy(H->dev);
    cfg.budget = 4 * G;
    cfg.max_mappings = 3;
    H->dev = make_dev(&cfg);
    H->host_budget = 6 * G;
    assert_int_equal(rd64(MVF_GP_REG_BUDGET_LO), 4 * G);
    assert_int_equal(rd(MVF_GP_REG_MAX_MAPPINGS), 3);
    assert_int_equal(ring_setup(0, RING0, 16), 0);
    assert_int_equal(map1(0, RING0, 0, 0, 5 * G, &big), 0);
    assert_int_equal(map1(0, RING0, 1, 0, 2 * G, NULL), MVF_GP_ENOSPC);
    assert_int_equal(map1(0, RING0, 2, 0, G, NULL), 0);
    assert_int_equal(map1(0, RING0, 3, 0, G, NULL), MVF_GP_ENOSPC);
    assert_int_equal(unmap1(0, RING0, 4, big, 5 * G), 0);
    for (unsigned i = 0; i < 4; i++)      /* more than MAX_MAPPINGS says */
        assert_int_equal(map1(0, RING0, 5 + i, i * G, G, NULL), 0);
    assert_int_equal(H->map_calls, 8);    /* every MAP reached the host */
    assert_int_equal(rd(MVF_GP_REG_LIVE_MAPPINGS), 5);
    assert_int_equal(rd64(MVF_GP_REG_MAPPED_LO), 5 * G);
    check_consistent();
}

static void test_reset(void **state)
{
    struct mvf_gp_window w = { .gpa = 0, .size = RAM0_SIZE, .iova = IOVA_BASE, .flags = 3 };
    struct mvf_gp_stats st;

    assert_int_equal(mvf_gp_set_windows(H->dev, &w, 1), 0);
    assert_int_equal(mvf_gp_set_strategy(H->dev, MVF_GP_STRATEGY_WINDOW), 0);
    assert_int_equal(wr(MVF_GP_REG_STRATEGY, MVF_GP_STRATEGY_ONDEMAND), 0);
    assert_int_equal(ring_setup(0, RING0, 16), 0);
    assert_int_equal(ring_setup(3, RING2, 16), 0);
    for (unsigned i = 0; i < 10; i++)
        assert_int_equal(map1(i % 2 ? 3 : 0, i % 2 ? RING2 : RING0, i, i * G, G, NULL), 0);
    assert_int_equal(H->live, 10);

    mvf_gp_reset(H->dev);
    assert_int_equal(H->live, 0);
    assert_int_equal(H->unmap_calls, 1);    /* one batch */
    assert_int_equal(H->unmap_reqs, 10);
    check_consistent();
    for (unsigned r = 0; r < 4; r++)
        for (uint32_t f = 0; f < MVF_GP_RING_STRIDE; f += 4)
            assert_int_equal(rd(MVF_GP_RING_REG(r, f)), 0);
    assert_int_equal(doorbell(0, 0, 1), MVF_GP_ENXIO);
    assert_int_equal(rd(MVF_GP_REG_STRATEGY), MVF_GP_STRATEGY_WINDOW);
    assert_int_equal(rd(MVF_GP_REG_WINDOW_COUNT), 1);          /* windows stay */
    assert_int_equal(rd64(MVF_GP_WIN_REG(0, MVF_GP_WIN_IOVA_LO)), IOVA_BASE);
    assert_int_equal(rd(MVF_GP_REG_DEV_STATUS), 0);
    mvf_gp_get_stats(H->dev, &st);
    assert_int_equal(st.resets, 1);

    /* the guest's RESET register does the same; a reset of nothing is fine */
    assert_int_equal(ring_setup(2, RING1, 16), 0);
    assert_int_equal(map1(2, RING1, 0, 0, 4 * G, NULL), 0);
    assert_int_equal(wr(MVF_GP_REG_RESET, MVF_GP_RESET_VALUE), 0);
    assert_int_equal(H->live, 0);
    assert_int_equal(rd(MVF_GP_RING_REG(2, MVF_GP_RING_CTRL)), 0);
    mvf_gp_reset(H->dev);
    mvf_gp_get_stats(H->dev, &st);
    assert_int_equal(st.resets, 3);
    assert_int_equal(H->unmap_calls, 2);    /* nothing to unmap: no call */
    check_consistent();
    mvf_gp_reset(NULL);
}

static void test_guest_memory_failures(void **state)
{
    assert_int_equal(ring_setup(0, RING0, 16), 0);
    for (unsigned i = 0; i < 5; i++)
        put_entry(ent(RING0, i), MVF_GP_OP_MAP, 1, i * G, G, 0);

    /* reading the entries fails: nothing runs */
    H->read_fail_in = 1;
    assert_int_equal(doorbell(0, 0, 5), MVF_GP_EFAULT);
    assert_int_equal(ring_status(0), MVF_GP_EFAULT);
    assert_int_equal(processed(0), 0);
    assert_int_equal(H->map_calls, 0);

    /* the third write-back fails: the results stop there, and the MAPs
     * whose IOVAs the guest cannot learn are undone in one call */
    H->write_fail_in = 3;
    assert_int_equal(doorbell(0, 0, 5), MVF_GP_EFAULT);
    assert_int_equal(processed(0), 2);
    assert_int_equal(H->map_calls, 1);
    assert_int_equal(H->map_reqs, 5);
    assert_int_equal(H->unmap_calls, 1);
    assert_int_equal(H->unmap_reqs, 3);
    assert_int_equal(H->live, 2);
    assert_int_equal(ent_status(ent(RING0, 2)), PENDING);
    assert_int_equal(ent_status(ent(RING0, 3)), PENDING);
    check_consistent();
    /* the next doorbell is judged on its own */
    assert_int_equal(doorbell(0, 2, 3), 0);
    assert_int_equal(ring_status(0), 0);
    assert_int_equal(H->live, 5);
    check_consistent();
}

static void test_bad_host_iova(void **state)
{
    uint64_t first;

    assert_int_equal(ring_setup(0, RING0, 16), 0);
    assert_int_equal(map1(0, RING0, 0, 0, G, &first), 0);
    /* unaligned IOVA from the host: refused and released */
    H->bad_iova = 1;
    assert_int_equal(map1(0, RING0, 1, G, G, NULL), MVF_GP_EIO);
    assert_int_equal(H->unmap_calls, 1);
    assert_int_equal(H->live, 1);
    /* a live IOVA handed out again: refused, the live one is kept */
    H->bad_iova = 2;
    assert_int_equal(map1(0, RING0, 2, G, G, NULL), MVF_GP_EIO);
    assert_int_equal(H->unmap_calls, 1);
    H->bad_iova = 0;
    assert_int_equal(unmap1(0, RING0, 3, first, G), 0);
    check_consistent();
}

static void test_reentrancy(void **state)
{
    assert_int_equal(ring_setup(0, RING0, 16), 0);
    for (unsigned i = 0; i < 4; i++)
        put_entry(ent(RING0, i), MVF_GP_OP_MAP, 1, i * G, G, 0);
    /* a callback writing to the device is refused, never recursed into */
    H->reenter = 1;
    assert_int_equal(doorbell(0, 0, 2), 0);
    assert_int_equal(H->reenter_rc, MVF_GP_EBUSY);
    assert_int_equal(H->map_calls, 1);
    H->reenter = 0;
    assert_int_equal(mvf_gp_set_ram(H->dev, ram, 2), 0);
    /* a reset from inside a callback waits for the doorbell, then runs */
    H->reenter = 2;
    assert_int_equal(doorbell(0, 2, 2), MVF_GP_EBUSY);
    assert_int_equal(H->map_calls, 2);
    assert_int_equal(ent_status(ent(RING0, 3)), PENDING); /* not written */
    assert_int_equal(H->live, 0);           /* the reset released both */
    assert_int_equal(rd(MVF_GP_RING_REG(0, MVF_GP_RING_CTRL)), 0);
    assert_int_equal(rd(MVF_GP_RING_REG(0, MVF_GP_RING_STATUS)), 0);
    check_consistent();
}

static void test_set_ram(void **state)
{
    struct mvf_gp_range bad[2], many[MVF_GP_MAX_RAM + 1], moved;
    struct mvf_gp_config cfg = default_cfg();
    struct mvf_gp_dev *d2;
    uint64_t v;

    bad[0] = (struct mvf_gp_range){ 0, 0, 1, 0 };
    assert_int_equal(mvf_gp_set_ram(H->dev, bad, 1), -EINVAL);
    bad[0] = (struct mvf_gp_range){ UINT64_MAX - 4095, 8192, 1, 0 };
    assert_int_equal(mvf_gp_set_ram(H->dev, bad, 1), -EINVAL);
    bad[0] = (struct mvf_gp_range){ 0, 8192, 1, UINT64_MAX - 4095 };
    assert_int_equal(mvf_gp_set_ram(H->dev, bad, 1), -EINVAL);
    bad[0] = (struct mvf_gp_range){ 0x1000, 0x2000, 1, 0 };
    bad[1] = (struct mvf_gp_range){ 0x2000, 0x1000, 1, 0 };
    assert_int_equal(mvf_gp_set_ram(H->dev, bad, 2), -EINVAL);
    bad[1] = (struct mvf_gp_range){ 0, 0x1001, 1, 0 };
    assert_int_equal(mvf_gp_set_ram(H->dev, bad, 2), -EINVAL);
    bad[1] = (struct mvf_gp_range){ 0, 0x1000, 1, 0 };               /* adjacent: ok */
    assert_int_equal(mvf_gp_set_ram(H->dev, bad, 2), 0);
    for (unsigned i = 0; i <= MVF_GP_MAX_RAM; i++)
        many[i] = (struct mvf_gp_range){ i * 0x10000ull, 0x1000, 1, 0 };
    assert_int_equal(mvf_gp_set_ram(H->dev, many, MVF_GP_MAX_RAM + 1), -E2BIG);
    assert_int_equal(mvf_gp_set_ram(H->dev, many, MVF_GP_MAX_RAM), 0);
    bad[0] = (struct mvf_gp_range){ UINT64_MAX - 4095, 4096, 1, 0 }; /* up to 2^64: ok */
    assert_int_equal(mvf_gp_set_ram(H->dev, bad, 1), 0);
    assert_int_equal(mvf_gp_set_ram(H->dev, NULL, 1), -EINVAL);
    assert_int_equal(mvf_gp_set_ram(H->dev, ram, 2), 0);

    /* RAM1 goes away: its mappings are unmapped, a ring in it disabled */
    assert_int_equal(ring_setup(0, RING0, 16), 0);
    assert_int_equal(ring_setup(1, RAM1_GPA, 16), 0);
    assert_int_equal(map1(0, RING0, 0, 0, G, NULL), 0);
    for (unsigned i = 0; i < 6; i++)
        assert_int_equal(map1(0, RING0, 1 + i, RAM1_GPA + i * G, G, NULL), 0);
    assert_int_equal(map1(0, RING0, 7, 2 * G, 2 * G, NULL), 0);
    assert_int_equal(mvf_gp_set_ram(H->dev, ram, 1), 0);
    assert_int_equal(H->live, 2);
    assert_int_equal(H->unmap_calls, 1);    /* one batch, before it returns */
    assert_int_equal(H->unmap_reqs, 6);
    check_consistent();
    assert_int_equal(rd(MVF_GP_RING_REG(1, MVF_GP_RING_CTRL)), 0);
    assert_int_equal(ring_status(1), MVF_GP_EFAULT);
    assert_int_equal(rd(MVF_GP_RING_REG(0, MVF_GP_RING_CTRL)), 1);
    assert_int_equal(map1(0, RING0, 8, RAM1_GPA, G, NULL), MVF_GP_EFAULT);
    assert_int_equal(H->map_calls, 8);

    /* the same RAM again: nothing moves; the same range in another
     * registration (re-registered): its mappings go */
    assert_int_equal(mvf_gp_set_ram(H->dev, ram, 1), 0);
    assert_int_equal(H->live, 2);
    moved = ram[0];
    moved.handle_offset += G;
    assert_int_equal(mvf_gp_set_ram(H->dev, &moved, 1), 0);
    assert_int_equal(H->live, 0);
    assert_int_equal(H->unmap_calls, 2);
    moved.handle_offset -= G;
    assert_int_equal(mvf_gp_set_ram(H->dev, &moved, 1), 0);
    assert_int_equal(map1(0, RING0, 9, 0, G, NULL), 0);
    moved.handle = 0x99;
    assert_int_equal(mvf_gp_set_ram(H->dev, &moved, 1), 0);
    assert_int_equal(H->live, 0);
    check_consistent();
    assert_int_equal(mvf_gp_set_ram(H->dev, ram, 2), 0);

    /* no RAM given yet: every address is refused */
    assert_int_equal(mvf_gp_create(&cfg, &ops, H, &d2), 0);
    assert_int_equal(mvf_gp_mmio_write(d2, MVF_GP_RING_REG(0, MVF_GP_RING_SIZE), 4, 1), 0);
    assert_int_equal(mvf_gp_mmio_write(d2, MVF_GP_RING_REG(0, MVF_GP_RING_CTRL), 4, 1),
                     MVF_GP_EFAULT);
    assert_int_equal(mvf_gp_mmio_read(d2, MVF_GP_RING_REG(0, MVF_GP_RING_CTRL), 4, &v), 0);
    assert_int_equal(v, 0);
    mvf_gp_destroy(d2);
}

/* Thousands of mappings through the table's growth and deletions. */
static void test_many_mappings(void **state)
{
    enum { N = 3000 };
    static uint64_t iova[N];
    static unsigned order[N];
    const uint64_t big = RAM1_GPA;
    unsigned done = 0;

    assert_int_equal(ring_setup(0, big, 1024), 0);
    while (done < N) {
        unsigned n = N - done < 1024 ? N - done : 1024;

        for (unsigned i = 0; i < n; i++)
            put_entry(ent(big, i), MVF_GP_OP_MAP, 1, ((done + i) % 32) * G, G, 0);
        assert_int_equal(doorbell(0, 0, n), 0);
        for (unsigned i = 0; i < n; i++) {
            assert_int_equal(ent_status(ent(big, i)), 0);
            iova[done + i] = ent_iova(ent(big, i));
        }
        done += n;
    }
    check_consistent();
    /* unmap in a scrambled order, checking lookups after each batch */
    for (unsigned i = 0; i < N; i++)
        order[i] = (unsigned)((i * 1237ull + 11) % N);
    for (done = 0; done < N;) {
        unsigned n = N - done < 700 ? N - done : 700;

        for (unsigned i = 0; i < n; i++)
            put_entry(ent(big, i), MVF_GP_OP_UNMAP, 0, 0, G, iova[order[done + i]]);
        assert_int_equal(doorbell(0, 0, n), 0);
        for (unsigned i = 0; i < n; i++)
            assert_int_equal(ent_status(ent(big, i)), 0);
        done += n;
        check_consistent();
    }
    assert_int_equal(H->live, 0);
    assert_int_equal(H->unmap_calls, (N + 699) / 700);
    assert_int_equal(H->unmap_reqs, N);
}

static void test_create_validation(void **state)
{
    struct mvf_gp_config cfg;
    struct mvf_gp_ops o = ops;
    struct mvf_gp_dev *d = (struct mvf_gp_dev *)1;
    uint64_t v;

#define BAD(stmt) do { cfg = default_cfg(); stmt; \
        assert_int_equal(mvf_gp_create(&cfg, &ops, H, &d), -EINVAL); \
        assert_null(d); } while (0)
    BAD(cfg.granule = 8192 + 4096);
    BAD(cfg.granule = 2048);
    BAD(cfg.granule = 1ull << 31);
    BAD(cfg.num_rings = MVF_GP_MAX_RINGS + 1);
    BAD(cfg.budget = G - 1);
    BAD(cfg.max_mappings = 0);
    BAD(cfg.max_mappings = MVF_GP_MAX_MAPPINGS + 1);
    BAD(cfg.flags = 2);
    BAD((cfg.aperture_base = UINT64_MAX - 4095, cfg.aperture_size = 8192));
#undef BAD
    cfg = default_cfg();
    o.unmap_batch = NULL;
    assert_int_equal(mvf_gp_create(&cfg, &o, H, &d), -EINVAL);
    assert_true(strlen(mvf_last_error()) > 0);
    assert_int_equal(mvf_gp_create(NULL, &ops, H, &d), -EINVAL);
    assert_int_equal(mvf_gp_create(&cfg, NULL, H, &d), -EINVAL);
    assert_int_equal(mvf_gp_create(&cfg, &ops, H, NULL), -EINVAL);
    /* granule 0 means the DART's */
    cfg.granule = 0;
    cfg.num_rings = MVF_GP_MAX_RINGS;
    assert_int_equal(mvf_gp_create(&cfg, &ops, H, &d), 0);
    assert_int_equal(mvf_gp_mmio_read(d, MVF_GP_REG_GRANULE, 4, &v), 0);
    assert_int_equal(v, MVF_DART_GRANULE);
    assert_int_equal(mvf_gp_mmio_read(d, MVF_GP_REG_NUM_RINGS, 4, &v), 0);
    assert_int_equal(v, 64);
    mvf_gp_destroy(d);
    mvf_gp_destroy(NULL);
}

static void test_other_granule(void **state)
{
    struct mvf_gp_config cfg = default_cfg();

    mvf_gp_destroy(H->dev);
    cfg.granule = 4096;
    H->granule = 4096;
    H->dev = make_dev(&cfg);
    assert_int_equal(ring_setup(0, RING0, 8), 0);
    put_entry(ent(RING0, 0), MVF_GP_OP_MAP, 1, 4096, 4096, 0);
    put_entry(ent(RING0, 1), MVF_GP_OP_MAP, 1, 2048, 4096, 0);
    assert_int_equal(doorbell(0, 0, 2), 0);
    assert_int_equal(ent_status(ent(RING0, 0)), 0);
    assert_int_equal(ent_status(ent(RING0, 1)), MVF_GP_EINVAL);
    /* the harness allocator is 16K-aligned, so IOVAs pass the check */
    check_consistent();
    mvf_gp_reset(H->dev);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
        T(test_identity_registers),
        T(test_mmio_access_rules),
        T(test_window_table),
        T(test_strategy),
        T(test_map_unmap_batch),
        T(test_mixed_doorbell),
        T(test_percpu_rings_independent),
        T(test_ring_setup_errors),
        T(test_doorbell_errors),
        T(test_doorbell_wrap),
        T(test_entry_validation),
        T(test_unmap_validation),
        T(test_host_errors_surface),
        T(test_status_translation),
        T(test_host_is_the_ledger),
        T(test_reset),
        T(test_guest_memory_failures),
        T(test_bad_host_iova),
        T(test_reentrancy),
        T(test_set_ram),
        T(test_many_mappings),
        T(test_create_validation),
        T(test_other_granule),
#undef T
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}

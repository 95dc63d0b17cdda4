/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: the dext's ExternalMethod through the DriverKit
 * double (issue #9).  Each input gets a fresh machine with sim:dmatest
 * (64 KiB window) and the MacvfioDriver started on it, then a sequence of
 * records drives up to two connections (IOServiceOpen'd user clients)
 * with IOKit's call rules (tests/dkdouble/dkdouble.h, dk_connect_call).
 *
 * Input: records, each a header byte then its fields (missing bytes read
 * 0).  Header bits 0-3: the kind; bit 4: the connection (0 or 1); bits
 * 5-7: the kind's variant bits.  A record for a connection that is not
 * open first opens it (a new user client).
 *   0 CALL     u8 selector (0xff: a u32 follows), u8 scalars in (mod 18),
 *              a scalar per input (see scalar()), u16 structure in length
 *              (mod 8193) whose bytes are the input's next bytes (bit 5)
 *              or DMA batch entries built from the pools, u8 scalar out
 *              capacity (mod 18), u16 structure out capacity (mod 8193);
 *              bit 6: async (the call carries a completion)
 *   1 SETUP    u8 steps (bit 0 HELLO, 1 DEVICE_OPEN, 2 CLAIM, 3 bus
 *              master on, 4 IRQ_SET STATE async on MSI-X, 5 RELEASE;
 *              0 means 0-3)
 *   2 REGISTER u8 page (4 KiB) offset into the harness buffer, u8 length
 *              in pages (+1), u8 flags (bit 0 +100 bytes misaligned, bit 1
 *              length +1, bit 2 no VA flag): DMA_REGISTER of harness
 *              memory, the handle into the pool
 *   3 MAP      u8 handle index, u8 offset granules, u8 length granules
 *              (+1), u8 dirs: DMA_MAP, the IOVA into the pool
 *   4 UNMAP    u8 IOVA index, u8 variant (exact, short, off by 4 KiB)
 *   5 CLOSE    IOServiceClose (a later record reopens)
 *   6 KILL     the client task dies
 *   7 MAPMEM   u8 type (0-5 a BAR, 6 the IRQ state page, 7 raw u8):
 *              MAP_MEMORY then IOConnectMapMemory64; bit 5 unmaps again
 *   8 DOORBELL u8 IOVA index, u16 length, u8 flags (bit 0 from device,
 *              bits 1-2 vector, bit 3 IOVA + 4 KiB): sim:dmatest DMA
 *              programmed through MMIO_WRITE calls
 *   9 RAISE    u8 vector (mod 5): the device raises it
 *  10 TAKE     drains the connection's notification port
 *  11 UNREGISTER u8 handle index
 *  12 LASTERR  LAST_ERROR with u16 room
 * After each record the queues run and no kernel rule may be broken;
 * whenever no connection is open, no DMA mapping and no client
 * descriptor may be alive.  At the end every connection closes; then there must be no live DMA
 * mapping and no client descriptor, the driver must stop, and
 * dk_machine_destroy must find no DriverKit object alive.
 *
 * DMA_REGISTER's address is always made to point into the harness's own
 * buffer (granule aligned, a whole number of granules), so registered
 * memory is real and device DMA into it cannot reach anything else.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern "C" {
#include "macvfio/abi.h"
#include "dmatest.h"
#include "tests/dkdouble/dkdouble.h"
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define G MVF_DART_GRANULE
#define BUF_GRANULES 64u
#define BUF_SIZE ((uint64_t)BUF_GRANULES * G)
#define NCONN 2
#define POOL 16
#define MAX_RECORDS 96
#define MAPS_PER_CONN 8

struct reader {
    const uint8_t *p;
    size_t n;
};

static uint8_t u8(struct reader *r)
{
    if (!r->n)
        return 0;
    r->n--;
    return *r->p++;
}
static uint16_t u16(struct reader *r) { return (uint16_t)(u8(r) | u8(r) << 8); }
static uint32_t u32(struct reader *r) { return (uint32_t)u16(r) | (uint32_t)u16(r) << 16; }
static uint64_t u64(struct reader *r) { return (uint64_t)u32(r) | (uint64_t)u32(r) << 32; }

struct mapping {
    void *addr;
    uint64_t type;
};

struct conn {
    struct dk_conn *dk;   /* NULL: not open */
    struct mapping maps[MAPS_PER_CONN];
    unsigned nmaps;
};

struct state {
    struct dk_machine *m;
    struct dk_service *svc;
    struct conn conns[NCONN];
    uint64_t handles[POOL], iovas[POOL], lens[POOL];
    unsigned nh, ni;
};

/* FUZZ_DEXT_REPORT=1: per input, what reached the kernel. */
static bool gReport;
static uint64_t gCallsOk[MVF_SEL_COUNT + 1], gCallsFailed[MVF_SEL_COUNT + 1];

static uint8_t *gBuf;   /* the client memory the harness owns */
static uint8_t gBig[8192], gOut[8192];

static void fail(const char *what, unsigned long long v)
{
    fprintf(stderr, "fuzz_dext_method: %s (%llu)\n", what, v);
    abort();
}

static void check_rules(struct state *s)
{
    struct dk_counters k;
    dk_counters(s->m, &k);
    if (k.rule_violations)
        fail("the dext broke a kernel rule", (unsigned long long)k.rule_violations);
}

/* No connection open: nothing of any client may be left in the kernel. */
static void check_idle(struct state *s)
{
    struct dk_counters k;
    dk_counters(s->m, &k);
    if (k.live_dma_mappings)
        fail("DMA mappings alive after every connection closed", k.live_dma_mappings);
    if (k.client_descriptors)
        fail("client descriptors alive after every connection closed", k.client_descriptors);
}

static struct dk_conn *conn_of(struct state *s, unsigned i)
{
    struct conn *c = &s->conns[i];
    if (!c->dk && dk_client_open(s->svc, 0, &c->dk) != 0)
        c->dk = nullptr;
    return c->dk;
}

static int32_t call(struct dk_conn *c, uint32_t sel, const uint64_t *in, uint32_t n_in,
                    uint64_t *out, uint32_t n_out_cap, uint32_t *n_out, bool async = false,
                    const void *sin = nullptr, size_t sin_len = 0, void *sout = nullptr,
                    size_t sout_cap = 0, size_t *sout_len = nullptr)
{
    uint32_t n = n_out_cap;
    size_t sl = sout_cap;
    struct dk_call k = {};
    k.selector = sel;
    k.in = in;
    k.n_in = n_in;
    k.sin = sin;
    k.sin_len = sin_len;
    k.out = out;
    k.n_out = &n;
    k.sout = sout;
    k.sout_len = &sl;
    k.async = async;
    int32_t kr = dk_connect_call(c, &k);
    uint32_t slot = sel < MVF_SEL_COUNT ? sel : MVF_SEL_COUNT;
    (kr ? gCallsFailed : gCallsOk)[slot]++;
    if (kr != 0 && (n || sl))
        fail("outputs returned with an error", (unsigned long long)n);
    if (n > n_out_cap || sl > sout_cap)
        fail("more outputs than room", (unsigned long long)n);
    if (n_out)
        *n_out = n;
    if (sout_len)
        *sout_len = sl;
    return kr;
}

static void pool_add(uint64_t *pool, unsigned *n, uint64_t v, uint64_t *lens = nullptr,
                     uint64_t len = 0)
{
    unsigned i = *n % POOL;
    pool[i] = v;
    if (lens)
        lens[i] = len;
    (*n)++;
}

static uint64_t pool_get(const uint64_t *pool, unsigned n, uint8_t idx)
{
    if (!n)
        return idx;   /* nothing yet: a made-up one */
    return pool[idx % (n < POOL ? n : POOL)];
}

/* A scalar: mostly values the dext can act on. */
static uint64_t scalar(struct state *s, struct reader *r)
{
    uint8_t tag = u8(r);
    switch (tag & 7) {
    case 0: return u8(r);
    case 1: return pool_get(s->handles, s->nh, u8(r));
    case 2: return pool_get(s->iovas, s->ni, u8(r)) + (tag & 8 ? 4096 : 0);
    case 3: return (uint64_t)u8(r) * G;
    case 4: return (uint64_t)(uintptr_t)gBuf + (uint64_t)u8(r) * 4096;
    case 5: return u64(r);
    case 6: return u8(r) & 3;   /* directions */
    default: return u32(r);
    }
}

/* DMA_REGISTER by address: the address is the harness's memory, always. */
static void confine_register(uint64_t *in, uint32_t n_in)
{
    if (n_in < 2)
        return;
    uint64_t base = (uint64_t)(uintptr_t)gBuf;
    uint64_t off = in[1] - base;
    if (in[1] < base || off >= BUF_SIZE)
        off = in[1] % BUF_SIZE;
    in[1] = base + off;
    if (in[0] > BUF_SIZE - off)
        in[0] = BUF_SIZE - off;
}

static void do_call(struct state *s, struct dk_conn *c, uint8_t hdr, struct reader *r)
{
    uint64_t in[17], out[17];
    uint32_t sel = u8(r);
    if (sel == 0xff)
        sel = u32(r);
    uint32_t n_in = u8(r) % 18;
    for (uint32_t i = 0; i < n_in; i++)
        in[i] = scalar(s, r);
    if (sel == MVF_SEL_DMA_REGISTER)
        confine_register(in, n_in);
    size_t sin_len = u16(r) % 8193;
    if (hdr & 0x20) {
        size_t take = sin_len < r->n ? sin_len : r->n;
        memcpy(gBig, r->p, take);
        memset(gBig + take, 0, sin_len - take);
        r->p += take;
        r->n -= take;
    } else if (sel == MVF_SEL_DMA_UNMAP_BATCH) {
        struct mvf_dma_unmap_req *u = reinterpret_cast<struct mvf_dma_unmap_req *>(gBig);
        for (size_t i = 0; i < sin_len / sizeof(*u); i++)
            u[i] = {pool_get(s->iovas, s->ni, (uint8_t)i), G};
    } else {
        struct mvf_dma_map_req *q = reinterpret_cast<struct mvf_dma_map_req *>(gBig);
        for (size_t i = 0; i < sin_len / sizeof(*q); i++)
            q[i] = {pool_get(s->handles, s->nh, (uint8_t)i), (i % 4) * G, G,
                    (uint32_t)(1 + i % 3), 0};
    }
    uint32_t n_cap = u8(r) % 18;
    size_t sout_cap = u16(r) % 8193;
    uint32_t n_out = 0;
    size_t sout_len = 0;
    int32_t kr = call(c, sel, in, n_in, out, n_cap, &n_out, hdr & 0x40, sin_len ? gBig : nullptr,
                      sin_len, sout_cap ? gOut : nullptr, sout_cap, &sout_len);
    if (kr == 0 && sel == MVF_SEL_DMA_REGISTER && n_out >= 1)
        pool_add(s->handles, &s->nh, out[0]);
    if (kr == 0 && sel == MVF_SEL_DMA_MAP && n_out >= 1 && n_in >= 3)
        pool_add(s->iovas, &s->ni, out[0], s->lens, in[2]);
}

static void do_setup(struct dk_conn *c, struct reader *r)
{
    uint8_t steps = u8(r);
    uint64_t out[4];
    if (!steps)
        steps = 0x0f;
    if (steps & 1) {
        const uint64_t hello[2] = {MVF_ABI_VERSION, 0};
        call(c, MVF_SEL_HELLO, hello, 2, out, 4, nullptr);
    }
    if (steps & 2) {
        const uint64_t index = 0;
        call(c, MVF_SEL_DEVICE_OPEN, &index, 1, out, 0, nullptr);
    }
    if (steps & 4)
        call(c, MVF_SEL_CLAIM, nullptr, 0, out, 0, nullptr);
    if (steps & 8) {
        const uint64_t w[3] = {4, 2, 0x6};
        call(c, MVF_SEL_CONFIG_WRITE, w, 3, out, 0, nullptr);
    }
    if (steps & 0x10) {
        const uint64_t irq[5] = {MVF_IRQ_MSIX, MVF_IRQ_ACT_STATE, 0, 0, 1};
        call(c, MVF_SEL_IRQ_SET, irq, 5, out, 0, nullptr, true);
    }
    if (steps & 0x20)
        call(c, MVF_SEL_RELEASE, nullptr, 0, out, 0, nullptr);
}

static void do_register(struct state *s, struct dk_conn *c, struct reader *r)
{
    uint64_t page = u8(r) % (BUF_SIZE / 4096), pages = u8(r) + 1u;
    uint8_t flags = u8(r);
    uint64_t va = (uint64_t)(uintptr_t)gBuf + page * 4096 + (flags & 1 ? 100 : 0);
    uint64_t len = pages * 4096 + (flags & 2 ? 1 : 0);
    uint64_t in[3] = {len, va, flags & 4 ? 0u : MVF_DMA_REG_VA}, out[1];
    uint32_t n_out = 0;
    confine_register(in, 3);
    if (call(c, MVF_SEL_DMA_REGISTER, in, 3, out, 1, &n_out) == 0 && n_out == 1)
        pool_add(s->handles, &s->nh, out[0]);
}

static void do_map(struct state *s, struct dk_conn *c, struct reader *r)
{
    uint64_t h = pool_get(s->handles, s->nh, u8(r));
    uint64_t off = (uint64_t)u8(r) * G, len = (uint64_t)(u8(r) % 32 + 1) * G;
    uint64_t in[4] = {h, off, len, (uint64_t)(u8(r) % 4)}, out[1];
    uint32_t n_out = 0;
    if (call(c, MVF_SEL_DMA_MAP, in, 4, out, 1, &n_out) == 0 && n_out == 1)
        pool_add(s->iovas, &s->ni, out[0], s->lens, len);
}

static void do_unmap(struct state *s, struct dk_conn *c, struct reader *r)
{
    uint8_t idx = u8(r), v = u8(r);
    uint64_t iova = pool_get(s->iovas, s->ni, idx);
    uint64_t len = s->ni ? s->lens[idx % (s->ni < POOL ? s->ni : POOL)] : G;
    uint64_t in[2] = {iova + (v % 3 == 2 ? 4096 : 0), v % 3 == 1 && len > G ? len - G : len};
    call(c, MVF_SEL_DMA_UNMAP, in, 2, nullptr, 0, nullptr);
}

static void do_mapmem(struct conn *cs, struct dk_conn *c, uint8_t hdr, struct reader *r)
{
    uint8_t t = u8(r);
    uint64_t type = t % 8 < 6 ? t % 8 : t % 8 == 6 ? MVF_MEM_IRQ_STATE : u8(r);
    uint64_t out[2];
    void *addr = nullptr;
    uint64_t len = 0;
    call(c, MVF_SEL_MAP_MEMORY, &type, 1, out, 2, nullptr);
    if (dk_connect_map_memory(c, type, 0, &addr, &len) == 0) {
        if (hdr & 0x20 || cs->nmaps == MAPS_PER_CONN) {
            if (dk_connect_unmap_memory(c, type, addr) != 0)
                fail("a mapping just made does not unmap", type);
        } else {
            cs->maps[cs->nmaps++] = {addr, type};
        }
    }
}

static void mmio(struct dk_conn *c, uint32_t reg, uint32_t v)
{
    const uint64_t in[4] = {MVF_DMATEST_REG_BAR, reg, 4, v};
    call(c, MVF_SEL_MMIO_WRITE, in, 4, nullptr, 0, nullptr);
}

static void do_doorbell(struct state *s, struct dk_conn *c, struct reader *r)
{
    uint64_t iova = pool_get(s->iovas, s->ni, u8(r));
    uint32_t len = u16(r) % 32768 + 1;
    uint8_t flags = u8(r);
    if (flags & 8)
        iova += 4096;
    mmio(c, MVF_DMATEST_REG_DMA_IOVA_LO, (uint32_t)iova);
    mmio(c, MVF_DMATEST_REG_DMA_IOVA_HI, (uint32_t)(iova >> 32));
    mmio(c, MVF_DMATEST_REG_DMA_OFFSET, 0);
    mmio(c, MVF_DMATEST_REG_DMA_LEN, len);
    mmio(c, MVF_DMATEST_REG_DMA_DIR, flags & 1);
    mmio(c, MVF_DMATEST_REG_DMA_VECTOR, (flags >> 1) & 3);
    mmio(c, MVF_DMATEST_REG_DOORBELL, MVF_DMATEST_DOORBELL_GO);
}

static void close_conn(struct conn *cs, bool die)
{
    if (!cs->dk)
        return;
    if (die)
        dk_client_die(cs->dk);
    else
        dk_client_close(cs->dk);
    /* The kernel ended the connection's mappings with it. */
    for (unsigned i = 0; i < cs->nmaps; i++)
        if (dk_connect_unmap_memory(cs->dk, cs->maps[i].type, cs->maps[i].addr) == 0)
            fail("a mapping outlived its connection", cs->maps[i].type);
    cs->nmaps = 0;
    cs->dk = nullptr;   /* the double keeps the record until the machine goes */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct reader r = {data, size};
    struct state s = {};
    char err[256] = "";

    if (!gBuf) {
        gReport = getenv("FUZZ_DEXT_REPORT") != nullptr;
        gBuf = static_cast<uint8_t *>(aligned_alloc(G, BUF_SIZE));
        if (!gBuf)
            abort();
        memset(gBuf, 0, BUF_SIZE);
    }
    s.m = dk_machine_create("sim:dmatest,window=64K", nullptr, err, sizeof(err));
    if (!s.m)
        fail(err, 0);
    dk_machine_add_class(s.m, "MacvfioUserClientProperties", "MacvfioUserClient");
    if (dk_match_start(s.m, "MacvfioDriver", &s.svc) != 0)
        fail("MacvfioDriver did not start", 0);

    for (unsigned rec = 0; rec < MAX_RECORDS && r.n; rec++) {
        uint8_t hdr = u8(&r);
        unsigned kind = hdr & 0x0f, ci = (hdr >> 4) & 1;
        struct conn *cs = &s.conns[ci];
        if (kind == 5 || kind == 6) {
            close_conn(cs, kind == 6);
            dk_run_until_idle(s.m);
            if (!s.conns[0].dk && !s.conns[1].dk)
                check_idle(&s);
        } else if (kind == 9) {
            dk_device_raise(s.m, u8(&r) % 5);
        } else {
            struct dk_conn *c = conn_of(&s, ci);
            if (!c)
                fail("IOServiceOpen failed", ci);
            switch (kind) {
            case 0: do_call(&s, c, hdr, &r); break;
            case 1: do_setup(c, &r); break;
            case 2: do_register(&s, c, &r); break;
            case 3: do_map(&s, c, &r); break;
            case 4: do_unmap(&s, c, &r); break;
            case 7: do_mapmem(cs, c, hdr, &r); break;
            case 8: do_doorbell(&s, c, &r); break;
            case 10:
                while (dk_port_take(c, nullptr, nullptr, nullptr))
                    ;
                break;
            case 11: {
                uint64_t h = pool_get(s.handles, s.nh, u8(&r));
                call(c, MVF_SEL_DMA_UNREGISTER, &h, 1, nullptr, 0, nullptr);
                break;
            }
            case 12: {
                size_t len = 0;
                call(c, MVF_SEL_LAST_ERROR, nullptr, 0, nullptr, 0, nullptr, false, nullptr, 0,
                     gOut, u16(&r) % 8193, &len);
                break;
            }
            default:
                break;
            }
        }
        dk_run_until_idle(s.m);
        check_rules(&s);
    }

    for (unsigned i = 0; i < NCONN; i++)
        close_conn(&s.conns[i], false);
    dk_run_until_idle(s.m);
    check_idle(&s);
    struct dk_counters k;
    dk_counters(s.m, &k);
    if (k.rule_violations)
        fail("the dext broke a kernel rule", k.rule_violations);
    if (gReport) {
        fprintf(stderr, "fuzz_dext_method: %llu prepared, %llu completed, %llu DMA faults, "
                "%llu completions (%llu dropped); calls ok/failed by selector:",
                (unsigned long long)k.prepare_ok, (unsigned long long)k.complete_calls,
                (unsigned long long)k.dma_faults, (unsigned long long)k.completions_sent,
                (unsigned long long)k.completions_dropped);
        for (unsigned i = 0; i <= MVF_SEL_COUNT; i++)
            if (gCallsOk[i] || gCallsFailed[i])
                fprintf(stderr, " %u:%llu/%llu", i, (unsigned long long)gCallsOk[i],
                        (unsigned long long)gCallsFailed[i]);
        fprintf(stderr, "\n");
        memset(gCallsOk, 0, sizeof(gCallsOk));
        memset(gCallsFailed, 0, sizeof(gCallsFailed));
    }
    if (dk_service_stop(s.svc) != 0)
        fail("the driver's Stop failed", 0);
    uint64_t leaked = dk_machine_destroy(s.m);
    if (leaked)
        fail("DriverKit objects leaked", leaked);
    return 0;
}

/* SPDX-License-Identifier: MIT */
/*
 * `macvfio selftest`: claims the device and checks what any device must
 * satisfy (identity, BARs, capabilities, config policy, reset), then the
 * device-specific checks it knows (sim:dmatest).  Prints one PASS/FAIL
 * line per check and a summary; exits 1 if anything failed.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "selftest.h"

static void emit(struct selftest *t, const char *verdict, const char *name,
                 const char *fmt, va_list ap)
{
    char detail[512];

    vsnprintf(detail, sizeof(detail), fmt, ap);
    if (t->j) {
        json_begin_object(t->j);
        json_kv_string(t->j, "check", name);
        json_kv_string(t->j, "result", verdict);
        json_kv_string(t->j, "detail", detail);
        json_end_object(t->j);
    } else {
        printf("%s %s%s%s\n", verdict, name, detail[0] ? ": " : "", detail);
        fflush(stdout);
    }
}

bool st_check(struct selftest *t, const char *name, bool ok, const char *fmt,
              ...)
{
    va_list ap;

    va_start(ap, fmt);
    emit(t, ok ? "PASS" : "FAIL", name, fmt, ap);
    va_end(ap);
    if (ok)
        t->passed++;
    else
        t->failed++;
    return ok;
}

void st_skip(struct selftest *t, const char *name, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    emit(t, "SKIP", name, fmt, ap);
    va_end(ap);
    t->skipped++;
}

bool st_call(struct selftest *t, const char *name, int rc)
{
    if (rc >= 0)
        return true;
    return st_check(t, name, false, "%s", mvf_last_error());
}

static bool is_pow2(uint64_t v)
{
    return v && !(v & (v - 1));
}

/* Config header and DEVICE_INFO describe the same function. */
static void check_identity(struct selftest *t)
{
    const struct dev_report *r = t->r;
    const struct mvf_device_info *in = &r->info;
    const struct {
        const char *name;
        unsigned off, width;
        uint32_t info;
    } fields[] = {
        { "vendor", 0x00, 2, in->vendor_id },
        { "device", 0x02, 2, in->device_id },
        { "revision", 0x08, 1, in->revision },
        { "class", 0x09, 3, in->class_code },
        { "header_type", 0x0e, 1, in->header_type },
        { "subsys_vendor", 0x2c, 2, in->subsys_vendor_id },
        { "subsys", 0x2e, 2, in->subsys_id },
        { "irq_pin", 0x3d, 1, in->irq_pin },
    };
    char bad[256] = "";
    size_t used = 0;

    if (!st_check(t, "config_read", r->cfg_len >= 256, "%zu bytes of config "
                  "space read", r->cfg_len))
        return;
    for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
        uint32_t v = cfg_get(r->cfg, r->cfg_len, fields[i].off, fields[i].width);
        if (v != fields[i].info && used < sizeof(bad))
            used += (size_t)snprintf(bad + used, sizeof(bad) - used,
                                     " %s: config 0x%x, info 0x%x",
                                     fields[i].name, v, fields[i].info);
    }
    st_check(t, "identity", bad[0] == '\0', "%s",
             bad[0] ? bad + 1 : "config header matches DEVICE_INFO");
    st_check(t, "claimed_flag", in->claimed, "DEVICE_INFO says %s after CLAIM",
             in->claimed ? "claimed" : "not claimed");
}

/* Power-of-two sizes and config-space type bits that agree with the
 * flags BAR_INFO reports. */
static void check_bars(struct selftest *t)
{
    unsigned count = 0;

    for (unsigned i = 0; i <= MVF_ROM_INDEX; i++) {
        const struct bar_report *b = &t->r->bars[i];
        char name[32];

        snprintf(name, sizeof(name), "bar%u", i);
        if (i == MVF_ROM_INDEX)
            snprintf(name, sizeof(name), "rom");
        if (b->err) {
            st_check(t, name, false, "BAR_INFO failed: %s", strerror(-b->err));
            continue;
        }
        if (!b->present)
            continue;
        count++;
        if (!st_check(t, name, is_pow2(b->size), "size 0x%" PRIx64 " %s a "
                      "power of two", b->size, is_pow2(b->size) ? "is" : "is not"))
            continue;
        if (i == MVF_ROM_INDEX)
            continue;
        bool io = b->flags & MVF_BAR_IO, is64 = b->flags & MVF_BAR_64BIT;
        bool pf = b->flags & MVF_BAR_PREFETCH;
        st_check(t, name, io == b->cfg_io && (io || (is64 == b->cfg_64bit &&
                                                     pf == b->cfg_prefetch)),
                 "config type bits (%s%s%s) agree with BAR_INFO flags 0x%x",
                 b->cfg_io ? "io" : "mem", b->cfg_64bit ? ",64-bit" : "",
                 b->cfg_prefetch ? ",prefetchable" : "", b->flags);
        if (is64 && i + 1 < MVF_NUM_BARS)
            st_check(t, name, !t->r->bars[i + 1].present,
                     "the high half (BAR %u) is not reported as a BAR", i + 1);
    }
    if (count == 0)
        st_skip(t, "bars", "the device implements no BARs");
}

/* The capability list is well formed and agrees with IRQ_INFO. */
static void check_caps(struct selftest *t)
{
    const struct dev_report *r = t->r;
    const struct pci_cap *msix = pci_caps_find(&r->caps, false, PCI_CAP_ID_MSIX);
    const struct pci_cap *msi = pci_caps_find(&r->caps, false, PCI_CAP_ID_MSI);
    const struct irq_report *qx = &r->irqs[MVF_IRQ_MSIX];
    const struct irq_report *qm = &r->irqs[MVF_IRQ_MSI];

    st_check(t, "cap_list", r->caps.problem[0] == '\0', "%u capabilities%s%s",
             r->caps.n, r->caps.problem[0] ? "; " : "", r->caps.problem);
    if (qx->err || qm->err) {
        st_check(t, "irq_info", false, "IRQ_INFO failed for %s",
                 qx->err ? "MSI-X" : "MSI");
        return;
    }
    uint64_t tsize = pci_cap_field(msix, "table_size", 0);
    st_check(t, "irq_msix", tsize == qx->count, "MSI-X capability has %" PRIu64
             " vectors, IRQ_INFO %u", tsize, qx->count);
    if (msix) {
        uint64_t bir = pci_cap_field(msix, "table_bar", 0);
        bool flagged = bir < MVF_NUM_BARS &&
                       (r->bars[bir].flags & MVF_BAR_MSIX);
        st_check(t, "msix_bar", flagged, "table BAR %" PRIu64 " is %sflagged "
                 "MVF_BAR_MSIX", bir, flagged ? "" : "not ");
    }
    uint64_t mvec = msi ? pci_cap_field(msi, "vectors", 0) : 0;
    st_check(t, "irq_msi", mvec == qm->count, "MSI capability has %" PRIu64
             " vectors, IRQ_INFO %u", mvec, qm->count);
}

/* Writing the read-only vendor ID changes nothing. */
static void check_config_policy(struct selftest *t)
{
    uint32_t before = 0, after = 0;
    uint16_t vendor = t->r->info.vendor_id;

    if (!st_call(t, "config_readonly",
                 mvf_config_write(t->h, 0x00, 2, (uint16_t)~vendor)) ||
        !st_call(t, "config_readonly", mvf_config_read(t->h, 0x00, 2, &after)))
        return;
    before = vendor;
    st_check(t, "config_readonly", after == before, "vendor ID 0x%04x after "
             "writing 0x%04x (read-only bits must drop writes)", after,
             (uint16_t)~vendor);
}

static void check_reset(struct selftest *t)
{
    struct mvf_device_info info;
    uint32_t id = 0;

    if (!(mvf_features(t->h) & MVF_FEAT_RESET)) {
        st_skip(t, "reset", "the server offers no reset");
        return;
    }
    if (!st_call(t, "reset", mvf_reset(t->h)) ||
        !st_call(t, "reset", mvf_config_read(t->h, 0, 4, &id)) ||
        !st_call(t, "reset", mvf_device_get_info(t->h, &info)))
        return;
    st_check(t, "reset", id == ((uint32_t)info.device_id << 16 | info.vendor_id)
             && info.claimed, "function reset; identity 0x%08x still readable, "
             "still claimed", id);
}

static void run_checks(struct selftest *t)
{
    if (!st_call(t, "claim", mvf_claim(t->h)))
        return;
    st_check(t, "claim", true, "device claimed");
    if (!st_call(t, "collect", report_collect(t->h, t->r)))
        return;
    check_identity(t);
    check_bars(t);
    if (t->r->cfg_len) {
        check_caps(t);
        check_config_policy(t);
    }
    selftest_bars(t);
    if (selftest_is_dmatest(&t->r->info))
        selftest_dmatest(t);
    else
        st_skip(t, "dma", "no DMA test for %04x:%04x (only sim:dmatest)",
                t->r->info.vendor_id, t->r->info.device_id);
    check_reset(t);
    if (st_call(t, "release", mvf_release(t->h)))
        st_check(t, "release", true, "device released");
}

int cmd_selftest(const struct cli_opts *o)
{
    struct selftest t = { .o = o };
    struct json j;

    if (cli_connect(o, &t.h) < 0)
        return EXIT_FAILED;
    if (cli_open_device(o, t.h) < 0) {
        mvf_close(t.h);
        return EXIT_FAILED;
    }
    t.r = calloc(1, sizeof(*t.r));
    if (!t.r) {
        mvf_close(t.h);
        fprintf(stderr, "macvfio: out of memory\n");
        return EXIT_FAILED;
    }
    if (o->json) {
        t.j = &j;
        json_init(&j, stdout);
        json_begin_object(&j);
        json_key(&j, "results");
        json_begin_array(&j);
    }
    run_checks(&t);
    if (o->json) {
        json_end_array(&j);
        if (t.r->info.vendor_id || t.r->info.device_id) {
            json_key(&j, "device");
            json_begin_object(&j);
            report_json_identity(&t.r->info, &j);
            json_end_object(&j);
        }
        json_kv_uint(&j, "passed", t.passed);
        json_kv_uint(&j, "failed", t.failed);
        json_kv_uint(&j, "skipped", t.skipped);
        json_end_object(&j);
        json_finish(&j);
    } else {
        printf("%u passed, %u failed, %u skipped\n", t.passed, t.failed,
               t.skipped);
    }
    free(t.r);
    mvf_close(t.h);
    return t.failed ? EXIT_FAILED : EXIT_OK;
}

/* SPDX-License-Identifier: MIT */
#include "report.h"

#include <errno.h>
#include <inttypes.h>
#include <string.h>

int report_read_config(struct mvf_handle *h, uint8_t *cfg, size_t from,
                       size_t to)
{
    for (size_t off = from; off < to; off += 4) {
        uint32_t v;
        int rc = mvf_config_read(h, (uint32_t)off, 4, &v);
        if (rc < 0)
            return rc;
        memcpy(cfg + off, &v, 4);
    }
    return 0;
}

/* BAR address and type bits from config space; a 64-bit memory BAR
 * takes the next slot as its high half. */
static void decode_bars(struct dev_report *r)
{
    for (unsigned i = 0; i < MVF_NUM_BARS; i++) {
        struct bar_report *b = &r->bars[i];
        uint32_t lo = cfg_get(r->cfg, r->cfg_len, PCI_BAR0 + 4 * i, 4);

        b->cfg_io = lo & 1;
        if (b->cfg_io) {
            b->address = lo & ~3u;
            continue;
        }
        b->cfg_64bit = ((lo >> 1) & 3) == 2;
        b->cfg_prefetch = (lo >> 3) & 1;
        b->address = lo & ~0xfu;
        if (b->cfg_64bit && i + 1 < MVF_NUM_BARS) {
            b->address |= (uint64_t)cfg_get(r->cfg, r->cfg_len,
                                            PCI_BAR0 + 4 * (i + 1), 4) << 32;
            i++;  /* the high half is not a BAR of its own */
        }
    }
    r->bars[MVF_ROM_INDEX].address =
        cfg_get(r->cfg, r->cfg_len, PCI_ROM, 4) & ~0x7ffu;
}

int report_collect(struct mvf_handle *h, struct dev_report *r)
{
    int rc;

    memset(r, 0, sizeof(*r));
    rc = mvf_device_get_info(h, &r->info);
    if (rc < 0)
        return rc;
    mvf_bdf_format(&r->info, r->bdf);

    /* The standard header first; extended space only for PCIe devices
     * (conventional ones may fail or read all-ones there). */
    r->cfg_err = report_read_config(h, r->cfg, 0, 256);
    if (r->cfg_err == 0) {
        r->cfg_len = 256;
        pci_caps_walk(r->cfg, r->cfg_len, &r->caps);
        if (pci_caps_find(&r->caps, false, PCI_CAP_ID_EXP) &&
            report_read_config(h, r->cfg, 256, MVF_CONFIG_SPACE) == 0) {
            r->cfg_len = MVF_CONFIG_SPACE;
            pci_caps_walk(r->cfg, r->cfg_len, &r->caps);
        }
        r->command = (uint16_t)cfg_get(r->cfg, r->cfg_len, PCI_COMMAND, 2);
        r->status = (uint16_t)cfg_get(r->cfg, r->cfg_len, PCI_STATUS, 2);
        decode_bars(r);
    }

    for (uint32_t i = 0; i <= MVF_ROM_INDEX; i++) {
        struct bar_report *b = &r->bars[i];
        b->err = mvf_bar_info(h, i, &b->size, &b->flags);
        b->present = b->err == 0 && (b->flags & MVF_BAR_IMPLEMENTED) && b->size;
    }
    for (uint32_t t = 0; t < MVF_IRQ_NTYPES; t++)
        r->irqs[t].err = mvf_irq_info(h, t, &r->irqs[t].count, &r->irqs[t].flags);
    if (mvf_features(h) & MVF_FEAT_STATS)
        r->have_stats = mvf_get_stats(h, &r->stats) == 0;
    return 0;
}

void format_size(uint64_t bytes, char *buf, size_t len)
{
    static const char units[] = "KMGTPE";
    unsigned u = 0;

    if (bytes == 0 || bytes % 1024) {
        snprintf(buf, len, "%" PRIu64, bytes);
        return;
    }
    bytes /= 1024;
    while (bytes % 1024 == 0 && bytes >= 1024 && u + 1 < sizeof(units) - 1) {
        bytes /= 1024;
        u++;
    }
    snprintf(buf, len, "%" PRIu64 "%c", bytes, units[u]);
}

void sanitize(const char *s, char *buf, size_t len)
{
    size_t n = 0;

    for (; *s && n + 1 < len; s++)
        buf[n++] = (*s >= 0x20 && *s < 0x7f) ? *s : '?';
    buf[n] = '\0';
}

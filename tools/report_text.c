/* SPDX-License-Identifier: MIT */
/* `macvfio info` as text, in the spirit of `lspci -vv`. */
#include <inttypes.h>
#include <string.h>

#include "report.h"

static const char *const irq_names[MVF_IRQ_NTYPES] = { "INTx", "MSI", "MSI-X" };

static char pm(unsigned v)
{
    return v ? '+' : '-';
}

static void print_command_status(const struct dev_report *r, FILE *f)
{
    unsigned c = r->command, s = r->status;

    fprintf(f, "\tControl: I/O%c Mem%c BusMaster%c SpecCycle%c MemWINV%c "
            "VGASnoop%c ParErr%c SERR%c FastB2B%c DisINTx%c\n",
            pm(c & 1), pm(c & 2), pm(c & 4), pm(c & 8), pm(c & 0x10),
            pm(c & 0x20), pm(c & 0x40), pm(c & 0x100), pm(c & 0x200),
            pm(c & 0x400));
    fprintf(f, "\tStatus: Cap%c 66MHz%c FastB2B%c ParErr%c DEVSEL=%s "
            ">TAbort%c <TAbort%c <MAbort%c >SERR%c <PERR%c INTx%c\n",
            pm(s & 0x10), pm(s & 0x20), pm(s & 0x80), pm(s & 0x100),
            ((s >> 9) & 3) == 0 ? "fast" : ((s >> 9) & 3) == 1 ? "medium"
                                                               : "slow",
            pm(s & 0x800), pm(s & 0x1000), pm(s & 0x2000), pm(s & 0x4000),
            pm(s & 0x8000), pm(s & 0x8));
}

static void print_bar(const struct bar_report *b, unsigned i, FILE *f)
{
    char size[24];

    if (b->err) {
        fprintf(f, "\tRegion %u: BAR_INFO failed (%s)\n", i, strerror(-b->err));
        return;
    }
    if (!b->present)
        return;
    format_size(b->size, size, sizeof(size));
    if (i == MVF_ROM_INDEX)
        fprintf(f, "\tExpansion ROM at 0x%08" PRIx64 " [size=%s]", b->address,
                size);
    else if (b->flags & MVF_BAR_IO)
        fprintf(f, "\tRegion %u: I/O ports at 0x%" PRIx64 " [size=%s]", i,
                b->address, size);
    else
        fprintf(f, "\tRegion %u: Memory at 0x%" PRIx64 " (%s, %s) [size=%s]",
                i, b->address, (b->flags & MVF_BAR_64BIT) ? "64-bit" : "32-bit",
                (b->flags & MVF_BAR_PREFETCH) ? "prefetchable"
                                              : "non-prefetchable", size);
    fprintf(f, " [%s%s]\n", (b->flags & MVF_BAR_MAPPABLE) ? "mappable" : "trapped",
            (b->flags & MVF_BAR_MSIX) ? ", MSI-X" : "");
}

static void print_cap(const struct pci_cap *c, FILE *f)
{
    if (c->extended)
        fprintf(f, "\t\t[%03x v%u] ", c->offset, c->version);
    else
        fprintf(f, "\t\t[%02x] ", c->offset);
    if (c->name)
        fprintf(f, "%s:", c->name);
    else
        fprintf(f, "%scap ID 0x%0*x:", c->extended ? "ext " : "",
                c->extended ? 4 : 2, c->id);
    for (unsigned i = 0; i < c->n_fields; i++) {
        const struct cap_field *fl = &c->fields[i];
        switch (fl->kind) {
        case CAP_UINT: fprintf(f, " %s=%" PRIu64, fl->key, fl->u); break;
        case CAP_HEX: fprintf(f, " %s=0x%" PRIx64, fl->key, fl->u); break;
        case CAP_BOOL: fprintf(f, " %s=%s", fl->key, fl->u ? "yes" : "no"); break;
        case CAP_STR: fprintf(f, " %s=%s", fl->key, fl->s); break;
        }
    }
    fputc('\n', f);
}

static void print_stats(const struct mvf_stats *s, FILE *f)
{
    fprintf(f, "\tStats: mapped %" PRIu64 " bytes in %" PRIu64 " mappings, "
            "registered %" PRIu64 " bytes\n", s->mapped_bytes,
            s->live_mappings, s->registered_bytes);
    fprintf(f, "\t       dma maps %" PRIu64 " unmaps %" PRIu64 " faults %"
            PRIu64 "; irqs delivered %" PRIu64 " masked %" PRIu64 "\n",
            s->dma_maps, s->dma_unmaps, s->dma_faults, s->irqs_delivered,
            s->irqs_masked);
    fprintf(f, "\t       trapped reads %" PRIu64 " writes %" PRIu64
            "; config reads %" PRIu64 " writes %" PRIu64 " (dropped %" PRIu64
            "); resets %" PRIu64 "\n", s->trapped_reads, s->trapped_writes,
            s->config_reads, s->config_writes, s->config_writes_dropped,
            s->resets);
}

void report_print_text(const struct dev_report *r, FILE *f)
{
    const struct mvf_device_info *in = &r->info;
    static const char *const pins[] = { "none", "INTA#", "INTB#", "INTC#", "INTD#" };
    char name[sizeof(in->name)], budget[24], aper[24], gran[24];

    sanitize(in->name, name, sizeof(name));
    fprintf(f, "%s %s [%04x]: Device %04x:%04x (rev %02x) \"%s\"\n", r->bdf,
            pci_class_name(in->class_code), in->class_code >> 8,
            in->vendor_id, in->device_id, in->revision, name);
    fprintf(f, "\tIndex: %u, claimed: %s\n", in->index, in->claimed ? "yes" : "no");
    fprintf(f, "\tClass code: 0x%06x, header type 0x%02x, interrupt pin %s\n",
            in->class_code, in->header_type,
            in->irq_pin < 5 ? pins[in->irq_pin] : "invalid");
    fprintf(f, "\tSubsystem: %04x:%04x\n", in->subsys_vendor_id, in->subsys_id);

    if (r->cfg_len == 0) {
        fprintf(f, "\tConfig space: unreadable (%s)\n", strerror(-r->cfg_err));
    } else {
        print_command_status(r, f);
    }
    for (unsigned i = 0; i <= MVF_ROM_INDEX; i++)
        print_bar(&r->bars[i], i, f);

    if (r->cfg_len) {
        fprintf(f, "\tCapabilities:%s\n", r->caps.n ? "" : " none");
        for (unsigned i = 0; i < r->caps.n; i++)
            print_cap(&r->caps.caps[i], f);
        if (r->caps.problem[0])
            fprintf(f, "\t\t(malformed list: %s)\n", r->caps.problem);
    }

    fprintf(f, "\tInterrupts:");
    for (unsigned t = 0; t < MVF_IRQ_NTYPES; t++) {
        const struct irq_report *q = &r->irqs[t];
        if (q->err)
            fprintf(f, " %s ?", irq_names[t]);
        else
            fprintf(f, " %s %u%s", irq_names[t], q->count,
                    (q->count && (q->flags & MVF_IRQ_INFO_MASKABLE))
                        ? " (maskable)" : "");
        fputc(t + 1 < MVF_IRQ_NTYPES ? ',' : '\n', f);
    }

    format_size(in->dma_granule, gran, sizeof(gran));
    format_size(in->dma_budget, budget, sizeof(budget));
    format_size(in->dma_aperture_size, aper, sizeof(aper));
    fprintf(f, "\tDMA: granule %s, budget %s in at most %u mappings, "
            "IOVA aperture 0x%" PRIx64 " + %s\n", gran, budget,
            in->dma_max_mappings, in->dma_aperture_base, aper);
    if (r->have_stats)
        print_stats(&r->stats, f);
}

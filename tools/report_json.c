/* SPDX-License-Identifier: MIT */
/* `macvfio info --json`: the same report as one JSON object. */
#include "json.h"
#include "report.h"

static const char *const irq_keys[MVF_IRQ_NTYPES] = { "intx", "msi", "msix" };

void report_json_identity(const struct mvf_device_info *in, struct json *j)
{
    char bdf[MVF_BDF_STRLEN];

    mvf_bdf_format(in, bdf);
    json_kv_uint(j, "index", in->index);
    json_kv_string(j, "bdf", bdf);
    json_kv_string(j, "name", in->name);
    json_kv_hexw(j, "vendor_id", in->vendor_id, 4);
    json_kv_hexw(j, "device_id", in->device_id, 4);
    json_kv_hexw(j, "subsys_vendor_id", in->subsys_vendor_id, 4);
    json_kv_hexw(j, "subsys_id", in->subsys_id, 4);
    json_kv_hexw(j, "class_code", in->class_code, 6);
    json_kv_string(j, "class_name", pci_class_name(in->class_code));
    json_kv_hexw(j, "revision", in->revision, 2);
    json_kv_hexw(j, "header_type", in->header_type, 2);
    json_kv_uint(j, "irq_pin", in->irq_pin);
    json_kv_bool(j, "claimed", in->claimed);
}

static void command_status(const struct dev_report *r, struct json *j)
{
    json_key(j, "command");
    json_begin_object(j);
    json_kv_hex(j, "raw", r->command);
    json_kv_bool(j, "io", r->command & 1);
    json_kv_bool(j, "memory", r->command & 2);
    json_kv_bool(j, "bus_master", r->command & 4);
    json_kv_bool(j, "serr", r->command & 0x100);
    json_kv_bool(j, "intx_disable", r->command & 0x400);
    json_end_object(j);

    json_key(j, "status");
    json_begin_object(j);
    json_kv_hex(j, "raw", r->status);
    json_kv_bool(j, "intx", r->status & 0x8);
    json_kv_bool(j, "cap_list", r->status & 0x10);
    json_kv_bool(j, "master_abort", r->status & 0x2000);
    json_kv_bool(j, "parity_error", r->status & 0x8000);
    json_end_object(j);
}

static void bars(const struct dev_report *r, struct json *j)
{
    json_key(j, "bars");
    json_begin_array(j);
    for (unsigned i = 0; i <= MVF_ROM_INDEX; i++) {
        const struct bar_report *b = &r->bars[i];
        if (!b->present && !b->err)
            continue;
        json_begin_object(j);
        if (i == MVF_ROM_INDEX)
            json_kv_string(j, "region", "rom");
        else
            json_kv_uint(j, "region", i);
        if (b->err) {
            json_kv_int(j, "error", b->err);
            json_end_object(j);
            continue;
        }
        json_kv_hex(j, "address", b->address);
        json_kv_uint(j, "size", b->size);
        json_kv_string(j, "type", (b->flags & MVF_BAR_IO) ? "io" : "memory");
        json_kv_bool(j, "64bit", b->flags & MVF_BAR_64BIT);
        json_kv_bool(j, "prefetchable", b->flags & MVF_BAR_PREFETCH);
        json_kv_bool(j, "mappable", b->flags & MVF_BAR_MAPPABLE);
        json_kv_bool(j, "msix", b->flags & MVF_BAR_MSIX);
        json_kv_hex(j, "flags", b->flags);
        json_end_object(j);
    }
    json_end_array(j);
}

static void caps(const struct dev_report *r, struct json *j)
{
    json_key(j, "capabilities");
    json_begin_array(j);
    for (unsigned i = 0; i < r->caps.n; i++) {
        const struct pci_cap *c = &r->caps.caps[i];
        json_begin_object(j);
        json_kv_hex(j, "offset", c->offset);
        json_kv_hex(j, "id", c->id);
        json_kv_bool(j, "extended", c->extended);
        if (c->extended)
            json_kv_uint(j, "version", c->version);
        if (c->name)
            json_kv_string(j, "name", c->name);
        else {
            json_key(j, "name");
            json_null(j);
        }
        for (unsigned k = 0; k < c->n_fields; k++) {
            const struct cap_field *fl = &c->fields[k];
            switch (fl->kind) {
            case CAP_UINT: json_kv_uint(j, fl->key, fl->u); break;
            case CAP_HEX: json_kv_hex(j, fl->key, fl->u); break;
            case CAP_BOOL: json_kv_bool(j, fl->key, fl->u); break;
            case CAP_STR: json_kv_string(j, fl->key, fl->s); break;
            }
        }
        json_end_object(j);
    }
    json_end_array(j);
    if (r->caps.problem[0])
        json_kv_string(j, "capabilities_problem", r->caps.problem);
}

static void irqs(const struct dev_report *r, struct json *j)
{
    json_key(j, "interrupts");
    json_begin_object(j);
    for (unsigned t = 0; t < MVF_IRQ_NTYPES; t++) {
        const struct irq_report *q = &r->irqs[t];
        json_key(j, irq_keys[t]);
        json_begin_object(j);
        if (q->err) {
            json_kv_int(j, "error", q->err);
        } else {
            json_kv_uint(j, "count", q->count);
            json_kv_bool(j, "maskable", q->flags & MVF_IRQ_INFO_MASKABLE);
        }
        json_end_object(j);
    }
    json_end_object(j);
}

static void dma_and_stats(const struct dev_report *r, struct json *j)
{
    const struct mvf_device_info *in = &r->info;
    const struct mvf_stats *s = &r->stats;

    json_key(j, "dma");
    json_begin_object(j);
    json_kv_uint(j, "granule", in->dma_granule);
    json_kv_uint(j, "budget", in->dma_budget);
    json_kv_uint(j, "max_mappings", in->dma_max_mappings);
    json_kv_hex(j, "aperture_base", in->dma_aperture_base);
    json_kv_uint(j, "aperture_size", in->dma_aperture_size);
    json_end_object(j);

    if (!r->have_stats)
        return;
    json_key(j, "stats");
    json_begin_object(j);
    json_kv_uint(j, "mapped_bytes", s->mapped_bytes);
    json_kv_uint(j, "live_mappings", s->live_mappings);
    json_kv_uint(j, "dma_maps", s->dma_maps);
    json_kv_uint(j, "dma_unmaps", s->dma_unmaps);
    json_kv_uint(j, "dma_faults", s->dma_faults);
    json_kv_uint(j, "irqs_delivered", s->irqs_delivered);
    json_kv_uint(j, "irqs_masked", s->irqs_masked);
    json_kv_uint(j, "trapped_reads", s->trapped_reads);
    json_kv_uint(j, "trapped_writes", s->trapped_writes);
    json_kv_uint(j, "config_reads", s->config_reads);
    json_kv_uint(j, "config_writes", s->config_writes);
    json_kv_uint(j, "config_writes_dropped", s->config_writes_dropped);
    json_kv_uint(j, "resets", s->resets);
    json_kv_uint(j, "registered_bytes", s->registered_bytes);
    json_end_object(j);
}

void report_print_json(const struct dev_report *r, struct json *j)
{
    json_begin_object(j);
    report_json_identity(&r->info, j);
    if (r->cfg_len) {
        command_status(r, j);
    } else {
        json_kv_int(j, "config_error", r->cfg_err);
    }
    bars(r, j);
    if (r->cfg_len)
        caps(r, j);
    irqs(r, j);
    dma_and_stats(r, j);
    json_end_object(j);
}

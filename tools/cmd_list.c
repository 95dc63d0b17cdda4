/* SPDX-License-Identifier: MIT */
/* `macvfio list`: the server and its devices, one line each. */
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"
#include "json.h"
#include "report.h"

static const struct {
    uint64_t bit;
    const char *name;
} feature_names[] = {
    { MVF_FEAT_CONFIG, "config" },
    { MVF_FEAT_MMIO_TRAP, "mmio_trap" },
    { MVF_FEAT_MAP_MEMORY, "map_memory" },
    { MVF_FEAT_IRQ_EVENTFD, "irq_eventfd" },
    { MVF_FEAT_IRQ_STATE_PAGE, "irq_state_page" },
    { MVF_FEAT_RESET, "reset" },
    { MVF_FEAT_DMA_FD, "dma_fd" },
    { MVF_FEAT_DMA_VA, "dma_va" },
    { MVF_FEAT_DMA_BATCH, "dma_batch" },
    { MVF_FEAT_STATS, "stats" },
};

static void print_json(struct mvf_handle *h, const struct mvf_device_info *devs,
                       int n)
{
    uint32_t v = mvf_server_version(h);
    char ver[16];
    struct json j;

    snprintf(ver, sizeof(ver), "%u.%u", v >> 16, v & 0xffff);
    json_init(&j, stdout);
    json_begin_object(&j);
    json_key(&j, "server");
    json_begin_object(&j);
    json_kv_string(&j, "abi_version", ver);
    json_kv_hex(&j, "features", mvf_features(h));
    json_key(&j, "feature_names");
    json_begin_array(&j);
    for (size_t i = 0; i < sizeof(feature_names) / sizeof(feature_names[0]); i++)
        if (mvf_features(h) & feature_names[i].bit)
            json_string(&j, feature_names[i].name);
    json_end_array(&j);
    json_kv_uint(&j, "max_struct", mvf_server_max_struct(h));
    json_end_object(&j);
    json_key(&j, "devices");
    json_begin_array(&j);
    for (int i = 0; i < n; i++) {
        json_begin_object(&j);
        report_json_identity(&devs[i], &j);
        json_end_object(&j);
    }
    json_end_array(&j);
    json_end_object(&j);
    json_finish(&j);
}

static void print_text(const struct mvf_device_info *devs, int n)
{
    if (n == 0) {
        printf("no devices\n");
        return;
    }
    printf("%-5s %-12s %-9s %-6s %-8s %s\n", "INDEX", "BDF", "ID", "CLASS",
           "CLAIMED", "NAME");
    for (int i = 0; i < n; i++) {
        const struct mvf_device_info *d = &devs[i];
        char bdf[MVF_BDF_STRLEN], name[sizeof(d->name)];

        mvf_bdf_format(d, bdf);
        sanitize(d->name, name, sizeof(name));
        printf("%-5u %-12s %04x:%04x %06x %-8s %s\n", d->index, bdf,
               d->vendor_id, d->device_id, d->class_code,
               d->claimed ? "yes" : "no", name);
    }
}

int cmd_list(const struct cli_opts *o)
{
    struct mvf_device_info *devs;
    struct mvf_handle *h;
    uint32_t cap;
    int n;

    if (cli_connect(o, &h) < 0)
        return EXIT_FAILED;
    cap = mvf_device_count(h);
    devs = calloc(cap ? cap : 1, sizeof(*devs));
    if (!devs) {
        mvf_close(h);
        fprintf(stderr, "macvfio: out of memory\n");
        return EXIT_FAILED;
    }
    n = mvf_device_list(h, devs, cap);
    if (n < 0) {
        fprintf(stderr, "macvfio: %s\n", mvf_last_error());
    } else {
        if ((uint32_t)n > cap)
            n = (int)cap;  /* devices appeared since HELLO: show what fits */
        if (o->json)
            print_json(h, devs, n);
        else
            print_text(devs, n);
    }
    free(devs);
    mvf_close(h);
    return n < 0 ? EXIT_FAILED : EXIT_OK;
}

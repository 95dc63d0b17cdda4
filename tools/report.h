/* SPDX-License-Identifier: MIT */
/*
 * Everything `macvfio info` shows about one device, gathered once and
 * then printed as text (report_text.c) or JSON (report_json.c).
 */
#ifndef MACVFIO_TOOLS_REPORT_H
#define MACVFIO_TOOLS_REPORT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "macvfio/macvfio.h"
#include "pci_caps.h"

#define PCI_COMMAND 0x04
#define PCI_STATUS  0x06
#define PCI_BAR0    0x10
#define PCI_ROM     0x30

struct bar_report {
    bool present;            /* BAR_INFO reports it implemented */
    uint64_t size;
    uint32_t flags;          /* MVF_BAR_* from BAR_INFO */
    uint64_t address;        /* from config space */
    bool cfg_io, cfg_64bit, cfg_prefetch;  /* type bits in config space */
    int err;                 /* BAR_INFO failure, 0 if none */
};

struct irq_report {
    uint32_t count, flags;
    int err;
};

struct dev_report {
    struct mvf_device_info info;
    char bdf[MVF_BDF_STRLEN];
    uint8_t cfg[MVF_CONFIG_SPACE];
    size_t cfg_len;          /* bytes read successfully (0, 256 or 4096) */
    int cfg_err;             /* why config could not be read, if so */
    uint16_t command, status;
    struct bar_report bars[MVF_NUM_BARS + 1];  /* + ROM */
    struct pci_cap_list caps;
    struct irq_report irqs[MVF_IRQ_NTYPES];
    bool have_stats;
    struct mvf_stats stats;
};

/* Fills r for the device the session has opened. Sub-steps that fail
 * are recorded in r (and shown) rather than aborting; returns an error
 * only if even DEVICE_INFO fails. */
int report_collect(struct mvf_handle *h, struct dev_report *r);

/* Reads config space [from, to) by dwords into the same range of cfg. */
int report_read_config(struct mvf_handle *h, uint8_t *cfg, size_t from,
                       size_t to);

void report_print_text(const struct dev_report *r, FILE *f);
struct json;
void report_print_json(const struct dev_report *r, struct json *j);
/* The device_info fields as JSON members of the current object. */
void report_json_identity(const struct mvf_device_info *info, struct json *j);

/* "4K", "1M", "1536M": sizes the way lspci prints them. */
void format_size(uint64_t bytes, char *buf, size_t len);
/* Copies s with anything but printable ASCII replaced by '?'. */
void sanitize(const char *s, char *buf, size_t len);

#endif /* MACVFIO_TOOLS_REPORT_H */

/* SPDX-License-Identifier: MIT */
#include "pci_caps.h"

#include <stdio.h>
#include <string.h>

#define PCI_STATUS          0x06
#define PCI_STATUS_CAP_LIST 0x10
#define PCI_CAP_PTR         0x34
#define PCI_STD_HEADER_END  0x40
#define PCI_STD_SPACE       0x100
#define PCI_EXT_SPACE       0x1000

uint32_t cfg_get(const uint8_t *cfg, size_t len, size_t off, unsigned width)
{
    uint32_t v = 0;

    if (off > len || width > len - off)
        return 0;
    for (unsigned i = 0; i < width; i++)
        v |= (uint32_t)cfg[off + i] << (8 * i);
    return v;
}

static void add(struct pci_cap *c, const char *key, enum cap_field_kind kind,
                uint64_t u, const char *s)
{
    if (c->n_fields == PCI_CAP_MAX_FIELDS)
        return;
    c->fields[c->n_fields++] = (struct cap_field){ key, kind, u, s };
}

/* True when the capability's registers [off, off+size) are in the
 * snapshot and in the space the list belongs to. */
static bool fits(const struct pci_cap *c, size_t len, size_t size)
{
    size_t end = c->extended ? PCI_EXT_SPACE : PCI_STD_SPACE;

    return c->offset + size <= len && c->offset + size <= end;
}

static void decode_pm(struct pci_cap *c, const uint8_t *cfg, size_t len)
{
    static const char *const states[4] = { "D0", "D1", "D2", "D3hot" };
    uint32_t pmc, csr;

    c->name = "Power Management";
    if (!fits(c, len, 8))
        return;
    pmc = cfg_get(cfg, len, c->offset + 2, 2);
    csr = cfg_get(cfg, len, c->offset + 4, 2);
    add(c, "version", CAP_UINT, pmc & 7, NULL);
    add(c, "power_state", CAP_STR, 0, states[csr & 3]);
    add(c, "no_soft_reset", CAP_BOOL, (csr >> 3) & 1, NULL);
    add(c, "pme_enabled", CAP_BOOL, (csr >> 8) & 1, NULL);
}

static void decode_msi(struct pci_cap *c, const uint8_t *cfg, size_t len)
{
    uint32_t ctl;

    c->name = "MSI";
    if (!fits(c, len, 4))
        return;
    ctl = cfg_get(cfg, len, c->offset + 2, 2);
    add(c, "enabled", CAP_BOOL, ctl & 1, NULL);
    add(c, "vectors", CAP_UINT, 1u << ((ctl >> 1) & 7), NULL);
    add(c, "enabled_vectors", CAP_UINT, 1u << ((ctl >> 4) & 7), NULL);
    add(c, "64bit", CAP_BOOL, (ctl >> 7) & 1, NULL);
    add(c, "per_vector_mask", CAP_BOOL, (ctl >> 8) & 1, NULL);
}

static void decode_msix(struct pci_cap *c, const uint8_t *cfg, size_t len)
{
    uint32_t ctl, table, pba;

    c->name = "MSI-X";
    if (!fits(c, len, 12))
        return;
    ctl = cfg_get(cfg, len, c->offset + 2, 2);
    table = cfg_get(cfg, len, c->offset + 4, 4);
    pba = cfg_get(cfg, len, c->offset + 8, 4);
    add(c, "enabled", CAP_BOOL, (ctl >> 15) & 1, NULL);
    add(c, "function_mask", CAP_BOOL, (ctl >> 14) & 1, NULL);
    add(c, "table_size", CAP_UINT, (ctl & 0x7ff) + 1, NULL);
    add(c, "table_bar", CAP_UINT, table & 7, NULL);
    add(c, "table_offset", CAP_HEX, table & ~7u, NULL);
    add(c, "pba_bar", CAP_UINT, pba & 7, NULL);
    add(c, "pba_offset", CAP_HEX, pba & ~7u, NULL);
}

static const char *pcie_type_name(unsigned t)
{
    static const char *const names[] = {
        [0x0] = "Endpoint", [0x1] = "Legacy Endpoint",
        [0x4] = "Root Port", [0x5] = "Upstream Port",
        [0x6] = "Downstream Port", [0x7] = "PCIe to PCI Bridge",
        [0x8] = "PCI to PCIe Bridge", [0x9] = "Root Complex Integrated Endpoint",
        [0xa] = "Root Complex Event Collector",
    };

    if (t < sizeof(names) / sizeof(names[0]) && names[t])
        return names[t];
    return "Unknown";
}

static const char *link_speed_name(unsigned s)
{
    static const char *const names[] = {
        NULL, "2.5GT/s", "5GT/s", "8GT/s", "16GT/s", "32GT/s", "64GT/s",
    };

    if (s < sizeof(names) / sizeof(names[0]) && names[s])
        return names[s];
    return "unknown";
}

static void decode_pcie(struct pci_cap *c, const uint8_t *cfg, size_t len)
{
    uint32_t caps, devcap, lnkcap, lnksta;
    unsigned type;

    c->name = "PCI Express";
    if (!fits(c, len, 0x14))
        return;
    caps = cfg_get(cfg, len, c->offset + 2, 2);
    devcap = cfg_get(cfg, len, c->offset + 4, 4);
    type = (caps >> 4) & 0xf;
    add(c, "version", CAP_UINT, caps & 0xf, NULL);
    add(c, "type", CAP_STR, type, pcie_type_name(type));
    add(c, "max_payload", CAP_UINT, 128u << (devcap & 7), NULL);
    /* Integrated endpoints and event collectors have no link. */
    if (type == 0x9 || type == 0xa)
        return;
    lnkcap = cfg_get(cfg, len, c->offset + 0x0c, 4);
    lnksta = cfg_get(cfg, len, c->offset + 0x12, 2);
    add(c, "link_cap_speed", CAP_STR, lnkcap & 0xf, link_speed_name(lnkcap & 0xf));
    add(c, "link_cap_width", CAP_UINT, (lnkcap >> 4) & 0x3f, NULL);
    add(c, "link_speed", CAP_STR, lnksta & 0xf, link_speed_name(lnksta & 0xf));
    add(c, "link_width", CAP_UINT, (lnksta >> 4) & 0x3f, NULL);
}

static void decode_std(struct pci_cap *c, const uint8_t *cfg, size_t len)
{
    switch (c->id) {
    case PCI_CAP_ID_PM: decode_pm(c, cfg, len); break;
    case PCI_CAP_ID_MSI: decode_msi(c, cfg, len); break;
    case PCI_CAP_ID_MSIX: decode_msix(c, cfg, len); break;
    case PCI_CAP_ID_EXP: decode_pcie(c, cfg, len); break;
    case PCI_CAP_ID_VNDR:
        c->name = "Vendor Specific";
        if (fits(c, len, 3))
            add(c, "length", CAP_UINT, cfg_get(cfg, len, c->offset + 2, 1), NULL);
        break;
    default:
        break;
    }
}

static const char *ext_name(uint16_t id)
{
    switch (id) {
    case 0x0001: return "Advanced Error Reporting";
    case 0x0002: return "Virtual Channel";
    case PCI_EXT_CAP_ID_DSN: return "Device Serial Number";
    case 0x000b: return "Vendor Specific";
    case 0x000e: return "Alternative Routing-ID";
    case 0x0010: return "SR-IOV";
    case 0x0015: return "Resizable BAR";
    case 0x0018: return "Latency Tolerance Reporting";
    case 0x0019: return "Secondary PCI Express";
    case 0x001e: return "L1 PM Substates";
    case 0x0023: return "Designated Vendor-Specific";
    default: return NULL;
    }
}

static void decode_ext(struct pci_cap *c, const uint8_t *cfg, size_t len)
{
    c->name = ext_name(c->id);
    if (c->id == PCI_EXT_CAP_ID_DSN && fits(c, len, 12)) {
        uint64_t lo = cfg_get(cfg, len, c->offset + 4, 4);
        uint64_t hi = cfg_get(cfg, len, c->offset + 8, 4);
        add(c, "serial", CAP_HEX, hi << 32 | lo, NULL);
    }
}

static struct pci_cap *new_cap(struct pci_cap_list *l, bool ext, uint16_t off,
                               uint16_t id)
{
    struct pci_cap *c;

    if (l->n == PCI_MAX_CAPS) {
        snprintf(l->problem, sizeof(l->problem),
                 "more than %d capabilities; the rest are not shown",
                 PCI_MAX_CAPS);
        return NULL;
    }
    c = &l->caps[l->n++];
    memset(c, 0, sizeof(*c));
    c->extended = ext;
    c->offset = off;
    c->id = id;
    return c;
}

static void walk_std(const uint8_t *cfg, size_t len, struct pci_cap_list *l)
{
    bool seen[PCI_STD_SPACE / 4] = { false };
    unsigned ptr;

    if (len < PCI_STD_HEADER_END ||
        !(cfg_get(cfg, len, PCI_STATUS, 2) & PCI_STATUS_CAP_LIST))
        return;
    ptr = cfg_get(cfg, len, PCI_CAP_PTR, 1) & 0xfc;
    while (ptr) {
        struct pci_cap *c;

        if (ptr < PCI_STD_HEADER_END || ptr + 2 > len) {
            snprintf(l->problem, sizeof(l->problem),
                     "capability pointer 0x%02x is outside the list area", ptr);
            return;
        }
        if (seen[ptr / 4]) {
            snprintf(l->problem, sizeof(l->problem),
                     "capability list loops back to 0x%02x", ptr);
            return;
        }
        seen[ptr / 4] = true;
        c = new_cap(l, false, (uint16_t)ptr, (uint16_t)cfg_get(cfg, len, ptr, 1));
        if (!c)
            return;
        decode_std(c, cfg, len);
        ptr = cfg_get(cfg, len, ptr + 1, 1) & 0xfc;
    }
}

static void walk_ext(const uint8_t *cfg, size_t len, struct pci_cap_list *l)
{
    bool seen[(PCI_EXT_SPACE - PCI_STD_SPACE) / 4] = { false };
    unsigned off = PCI_STD_SPACE;

    if (len < PCI_STD_SPACE + 4)
        return;
    for (;;) {
        uint32_t hdr = cfg_get(cfg, len, off, 4);
        struct pci_cap *c;
        unsigned next;

        /* An empty header at 0x100 means no extended capabilities. */
        if (hdr == 0 || hdr == 0xffffffffu)
            return;
        if (seen[(off - PCI_STD_SPACE) / 4]) {
            snprintf(l->problem, sizeof(l->problem),
                     "extended capability list loops back to 0x%03x", off);
            return;
        }
        seen[(off - PCI_STD_SPACE) / 4] = true;
        c = new_cap(l, true, (uint16_t)off, (uint16_t)(hdr & 0xffff));
        if (!c)
            return;
        c->version = (uint8_t)((hdr >> 16) & 0xf);
        decode_ext(c, cfg, len);
        next = (hdr >> 20) & 0xffc;
        if (next == 0)
            return;
        if (next < PCI_STD_SPACE || next + 4 > len) {
            snprintf(l->problem, sizeof(l->problem),
                     "extended capability pointer 0x%03x is out of range", next);
            return;
        }
        off = next;
    }
}

void pci_caps_walk(const uint8_t *cfg, size_t len, struct pci_cap_list *out)
{
    memset(out, 0, sizeof(*out));
    walk_std(cfg, len, out);
    walk_ext(cfg, len, out);
}

const struct pci_cap *pci_caps_find(const struct pci_cap_list *l,
                                    bool extended, uint16_t id)
{
    for (unsigned i = 0; i < l->n; i++)
        if (l->caps[i].extended == extended && l->caps[i].id == id)
            return &l->caps[i];
    return NULL;
}

uint64_t pci_cap_field(const struct pci_cap *c, const char *key, uint64_t dflt)
{
    for (unsigned i = 0; c && i < c->n_fields; i++)
        if (strcmp(c->fields[i].key, key) == 0)
            return c->fields[i].u;
    return dflt;
}

const char *pci_class_name(uint32_t class_code)
{
    unsigned base = (class_code >> 16) & 0xff, sub = (class_code >> 8) & 0xff;

    switch (base) {
    case 0x00: return "Unclassified device";
    case 0x01:
        return sub == 0x08 ? "Non-Volatile memory controller"
                           : "Mass storage controller";
    case 0x02: return sub == 0x00 ? "Ethernet controller" : "Network controller";
    case 0x03: return sub == 0x02 ? "3D controller" : "Display controller";
    case 0x04: return "Multimedia controller";
    case 0x05: return "Memory controller";
    case 0x06: return "Bridge";
    case 0x07: return "Communication controller";
    case 0x08: return "Generic system peripheral";
    case 0x09: return "Input device controller";
    case 0x0c: return sub == 0x03 ? "USB controller" : "Serial bus controller";
    case 0x12: return "Processing accelerators";
    case 0xff: return "Unassigned class";
    default: return "Device";
    }
}

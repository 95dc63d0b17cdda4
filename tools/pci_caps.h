/* SPDX-License-Identifier: MIT */
/*
 * PCI capability walker and decoder over a config-space snapshot.  Pure
 * code: the snapshot came from a device (or a hostile daemon), so every
 * pointer is bounds-checked and loops are detected.
 */
#ifndef MACVFIO_TOOLS_PCI_CAPS_H
#define MACVFIO_TOOLS_PCI_CAPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PCI_CAP_MAX_FIELDS 10
#define PCI_MAX_CAPS 64

/* Standard capability IDs decoded here. */
#define PCI_CAP_ID_PM    0x01
#define PCI_CAP_ID_MSI   0x05
#define PCI_CAP_ID_VNDR  0x09
#define PCI_CAP_ID_EXP   0x10
#define PCI_CAP_ID_MSIX  0x11
#define PCI_EXT_CAP_ID_DSN 0x0003

enum cap_field_kind { CAP_UINT, CAP_HEX, CAP_BOOL, CAP_STR };

/* One decoded value, e.g. table_size=4. Strings are static. */
struct cap_field {
    const char *key;
    enum cap_field_kind kind;
    uint64_t u;
    const char *s;
};

struct pci_cap {
    bool extended;
    uint16_t offset;
    uint16_t id;
    uint8_t version;        /* extended capabilities only */
    const char *name;       /* NULL: not one we know */
    unsigned n_fields;
    struct cap_field fields[PCI_CAP_MAX_FIELDS];
};

struct pci_cap_list {
    unsigned n;
    struct pci_cap caps[PCI_MAX_CAPS];
    /* Set when a list was malformed (loop, bad pointer, too long). */
    char problem[96];
};

/* Little-endian reads from the snapshot; 0 beyond len. */
uint32_t cfg_get(const uint8_t *cfg, size_t len, size_t off, unsigned width);

/* Walks the standard list (from 0x34) and, when len > 0x100, the
 * extended list (from 0x100). */
void pci_caps_walk(const uint8_t *cfg, size_t len, struct pci_cap_list *out);

/* The first capability with this id, or NULL. */
const struct pci_cap *pci_caps_find(const struct pci_cap_list *l,
                                    bool extended, uint16_t id);
/* A field's value by key, or `dflt`. */
uint64_t pci_cap_field(const struct pci_cap *c, const char *key, uint64_t dflt);

/* Human names for a class code (static strings). */
const char *pci_class_name(uint32_t class_code);

#endif /* MACVFIO_TOOLS_PCI_CAPS_H */

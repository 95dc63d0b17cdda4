/* SPDX-License-Identifier: MIT */
/*
 * Config-space write policy.  Every byte of the 4 KiB config space gets
 * three bit masks, built once from the device's capability list:
 *
 *   pass  bits a client write reaches the device with;
 *   virt  bits read from a per-device shadow instead of the device;
 *   vwr   bits of the shadow a client write may change.
 *
 * Bits in none of them are read-only: writes are dropped (and counted),
 * as real hardware drops writes to read-only bits.  docs/abi.md lists
 * which registers fall where.
 */
#ifndef MACVFIO_CORE_CONFIG_POLICY_H
#define MACVFIO_CORE_CONFIG_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "macvfio/abi.h"

struct mvf_provider;

struct mvf_cfg_policy {
    uint8_t pass[MVF_CONFIG_SPACE];
    uint8_t rw1c[MVF_CONFIG_SPACE];   /* write-1-to-clear among pass */
    uint8_t virt[MVF_CONFIG_SPACE];
    uint8_t vwr[MVF_CONFIG_SPACE];
    uint8_t shadow[MVF_CONFIG_SPACE];
    uint8_t shadow_reset[MVF_CONFIG_SPACE];
    uint64_t bar_size[MVF_NUM_BARS + 1];  /* + ROM */
    uint32_t bar_type_bits[MVF_NUM_BARS + 1]; /* low BAR bits (RO) */
    bool bar_upper[MVF_NUM_BARS];         /* BAR n is the high half of n-1 */
    uint8_t pm_cap, msi_cap, msix_cap, pcie_cap;
    uint16_t aer_cap;
};

/* Reads the device's power-on config space through the provider and
 * builds the masks.  Refuses devices that are not type 0 endpoints
 * (-ENOTSUP) and malformed capability lists (-EINVAL). */
int mvf_cfg_policy_init(struct mvf_cfg_policy *pol,
                        const struct mvf_provider *prov,
                        char *err, size_t errlen);

/* Shadow back to its power-on image (after a function reset). */
void mvf_cfg_policy_reset(struct mvf_cfg_policy *pol);

/* Checked access: offset + width inside config space, width 1/2/4,
 * naturally aligned (-EINVAL / -ERANGE otherwise). */
int mvf_cfg_check_access(uint64_t off, uint64_t width);

int mvf_cfg_read(const struct mvf_cfg_policy *pol,
                 const struct mvf_provider *prov,
                 uint32_t off, uint32_t width, uint32_t *val);

/* *dropped is set when some written bits were read-only. */
int mvf_cfg_write(struct mvf_cfg_policy *pol, const struct mvf_provider *prov,
                  uint32_t off, uint32_t width, uint32_t val, bool *dropped);

/* The command register's bus-master bit as the device sees it. */
#define MVF_PCI_COMMAND        0x04
#define MVF_PCI_COMMAND_MEMORY 0x0002
#define MVF_PCI_COMMAND_MASTER 0x0004

#endif /* MACVFIO_CORE_CONFIG_POLICY_H */

/* SPDX-License-Identifier: MIT */
#include "config_policy.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "core.h"

/* Standard capability IDs and registers we need (PCI spec). */
#define CAP_ID_PM    0x01
#define CAP_ID_MSI   0x05
#define CAP_ID_PCIE  0x10
#define CAP_ID_MSIX  0x11
#define EXT_CAP_ID_AER 0x0001

#define CFG_HEADER_END   0x40
#define CFG_LEGACY_END   0x100
#define CAP_WALK_LIMIT   48   /* more caps than fit: a loop */

static void set_mask(uint8_t *m, uint32_t off, uint32_t len, uint8_t v)
{
    if (off >= MVF_CONFIG_SPACE)
        return;
    if (len > MVF_CONFIG_SPACE - off)
        len = MVF_CONFIG_SPACE - off;
    memset(m + off, v, len);
}

static void set16(uint8_t *m, uint32_t off, uint16_t v)
{
    if (off + 1 < MVF_CONFIG_SPACE) {
        m[off] = (uint8_t)v;
        m[off + 1] = (uint8_t)(v >> 8);
    }
}

static uint32_t image32(const uint8_t *img, uint32_t off)
{
    return (uint32_t)img[off] | (uint32_t)img[off + 1] << 8 |
           (uint32_t)img[off + 2] << 16 | (uint32_t)img[off + 3] << 24;
}

static uint16_t image16(const uint8_t *img, uint32_t off)
{
    return (uint16_t)(img[off] | img[off + 1] << 8);
}

/* Virtualize [off, off+len): read from shadow, writable by `wr` mask. */
static void virtualize(struct mvf_cfg_policy *pol, uint32_t off, uint32_t len,
                       uint8_t wr)
{
    set_mask(pol->virt, off, len, 0xff);
    set_mask(pol->vwr, off, len, wr);
    set_mask(pol->pass, off, len, 0);
}

static void header_policy(struct mvf_cfg_policy *pol)
{
    /* Command: I/O, memory, bus master, parity response, SERR, INTx
     * disable reach the device; the rest is dropped. */
    set16(pol->pass, 0x04, 0x0547);
    /* Status: only the error bits, which are write-1-to-clear. */
    set16(pol->pass, 0x06, 0xf900);
    set16(pol->rw1c, 0x06, 0xf900);
    virtualize(pol, 0x0c, 2, 0xff);          /* cache line, latency timer */
    virtualize(pol, 0x10, 24, 0xff);         /* BARs: host owns addresses */
    virtualize(pol, 0x30, 4, 0xff);          /* expansion ROM BAR */
    virtualize(pol, 0x3c, 1, 0xff);          /* interrupt line */
    /* Device-specific registers 0x40..0xff outside any capability pass
     * through, as under kernel VFIO; capabilities overwrite below. */
    set_mask(pol->pass, CFG_HEADER_END, CFG_LEGACY_END - CFG_HEADER_END, 0xff);
}

static void pm_policy(struct mvf_cfg_policy *pol, uint32_t cap)
{
    set_mask(pol->pass, cap, 8, 0);
    /* PMCSR: the power state is the host's (a guest D3 would cut the
     * host off the device), PME enable/status pass. */
    virtualize(pol, cap + 4, 1, 0x03);
    pol->virt[cap + 4] = 0x03;
    pol->pass[cap + 5] = 0x81;
    pol->rw1c[cap + 5] = 0x80;
}

static uint32_t msi_size(uint16_t ctrl)
{
    uint32_t size = 10;
    if (ctrl & 0x0080)
        size += 4;                  /* 64-bit address */
    if (ctrl & 0x0100)
        size += 10;                 /* mask + pending, padded */
    return size;
}

static void msi_policy(struct mvf_cfg_policy *pol, const uint8_t *img,
                       uint32_t cap)
{
    uint16_t ctrl = image16(img, cap + 2);
    uint32_t size = msi_size(ctrl);

    /* The host programs message address/data; the client's view is a
     * shadow, enabled through IRQ_SET. */
    virtualize(pol, cap + 2, size - 2, 0xff);
    set16(pol->vwr, cap + 2, 0x0071);        /* enable + multiple enable */
    if (ctrl & 0x0100) {
        uint32_t pend = cap + ((ctrl & 0x0080) ? 0x14 : 0x10);
        set_mask(pol->vwr, pend, 4, 0);      /* pending bits: read-only */
    }
}

static void msix_policy(struct mvf_cfg_policy *pol, uint32_t cap)
{
    set_mask(pol->pass, cap, 12, 0);
    virtualize(pol, cap + 2, 2, 0);
    pol->vwr[cap + 3] = 0xc0;                /* enable, function mask */
}

static void pcie_policy(struct mvf_cfg_policy *pol, const uint8_t *img,
                        uint32_t cap)
{
    uint8_t version = img[cap + 2] & 0x0f;

    set_mask(pol->pass, cap, version >= 2 ? 0x3c : 0x24, 0);
    /* Device control: error reporting, relaxed ordering, extended tag,
     * no snoop and max read request pass; max payload is fabric-wide
     * (virtualized); initiating FLR goes through RESET (dropped). */
    set16(pol->pass, cap + 0x08, 0x791f);
    set16(pol->virt, cap + 0x08, 0x00e0);
    set16(pol->vwr, cap + 0x08, 0x00e0);
    set16(pol->pass, cap + 0x0a, 0x000f);    /* device status errors */
    set16(pol->rw1c, cap + 0x0a, 0x000f);
    virtualize(pol, cap + 0x10, 2, 0xff);    /* link control: host's link */
    if (version >= 2) {
        set16(pol->pass, cap + 0x28, 0x001f); /* completion timeout */
        virtualize(pol, cap + 0x30, 2, 0xff); /* link control 2 */
    }
}

static void aer_policy(struct mvf_cfg_policy *pol, uint32_t cap)
{
    set_mask(pol->pass, cap + 0x04, 4, 0xff); /* uncorrectable status */
    set_mask(pol->rw1c, cap + 0x04, 4, 0xff);
    set_mask(pol->pass, cap + 0x08, 8, 0xff); /* mask, severity */
    set_mask(pol->pass, cap + 0x10, 4, 0xff); /* correctable status */
    set_mask(pol->rw1c, cap + 0x10, 4, 0xff);
    set_mask(pol->pass, cap + 0x14, 4, 0xff); /* correctable mask */
    pol->pass[cap + 0x18] = 0x40;             /* ECRC generation enable */
    pol->pass[cap + 0x19] = 0x01;             /* ECRC check enable */
}

static int walk_caps(struct mvf_cfg_policy *pol, const uint8_t *img,
                     char *err, size_t errlen)
{
    uint32_t ptr, n = 0;

    if (!(image16(img, 0x06) & 0x0010))
        return 0;                             /* no capability list */
    ptr = img[0x34] & 0xfc;
    while (ptr) {
        uint8_t id;

        if (ptr < CFG_HEADER_END || ptr > CFG_LEGACY_END - 4 ||
            ++n > CAP_WALK_LIMIT) {
            snprintf(err, errlen, "malformed capability list at 0x%x", ptr);
            return -EINVAL;
        }
        id = img[ptr];
        /* Cap ID and next pointer are read-only everywhere. */
        set_mask(pol->pass, ptr, 2, 0);
        switch (id) {
        case CAP_ID_PM:
            pol->pm_cap = (uint8_t)ptr;
            pm_policy(pol, ptr);
            break;
        case CAP_ID_MSI:
            pol->msi_cap = (uint8_t)ptr;
            msi_policy(pol, img, ptr);
            break;
        case CAP_ID_MSIX:
            pol->msix_cap = (uint8_t)ptr;
            msix_policy(pol, ptr);
            break;
        case CAP_ID_PCIE:
            pol->pcie_cap = (uint8_t)ptr;
            pcie_policy(pol, img, ptr);
            break;
        default:
            break;  /* unknown caps: body passes like device-specific space */
        }
        ptr = img[ptr + 1] & 0xfc;
    }

    /* Extended capabilities: read-only unless known. */
    if (!pol->pcie_cap)
        return 0;
    ptr = CFG_LEGACY_END;
    n = 0;
    while (ptr) {
        uint32_t hdr = image32(img, ptr);

        if (hdr == 0 || hdr == 0xffffffff)
            break;
        if (ptr < CFG_LEGACY_END || ptr > MVF_CONFIG_SPACE - 4 ||
            ++n > 512 / 4) {
            snprintf(err, errlen, "malformed extended capability list at 0x%x",
                     ptr);
            return -EINVAL;
        }
        if ((hdr & 0xffff) == EXT_CAP_ID_AER && ptr + 0x1c <= MVF_CONFIG_SPACE) {
            pol->aer_cap = (uint16_t)ptr;
            aer_policy(pol, ptr);
        }
        ptr = (hdr >> 20) & 0xffc;
    }
    return 0;
}

/* Resolves BAR sizes from the provider's description and builds the
 * shadow's BAR words with their read-only type bits. */
static int bar_policy(struct mvf_cfg_policy *pol, const struct mvf_provider *prov,
                      char *err, size_t errlen)
{
    for (uint32_t i = 0; i < MVF_NUM_BARS; i++) {
        const struct mvf_bar_desc *b = &prov->bars[i];
        uint32_t off = 0x10 + 4 * i;

        if (pol->bar_upper[i])
            continue;
        if (!b->size)
            continue;
        if (b->size & (b->size - 1) || b->size < 16) {
            snprintf(err, errlen, "BAR%u size 0x%llx is not a power of two >= 16",
                     i, (unsigned long long)b->size);
            return -EINVAL;
        }
        pol->bar_size[i] = b->size;
        if (b->flags & MVF_BAR_IO) {
            pol->bar_type_bits[i] = 0x1;
        } else {
            pol->bar_type_bits[i] = (b->flags & MVF_BAR_PREFETCH) ? 0x8 : 0;
            if (b->flags & MVF_BAR_64BIT) {
                if (i == MVF_NUM_BARS - 1) {
                    snprintf(err, errlen, "BAR5 cannot be 64-bit");
                    return -EINVAL;
                }
                pol->bar_type_bits[i] |= 0x4;
                pol->bar_upper[i + 1] = true;
            }
        }
        memset(pol->shadow_reset + off, 0, 4);
        pol->shadow_reset[off] = (uint8_t)pol->bar_type_bits[i];
    }
    pol->bar_size[MVF_ROM_INDEX] = prov->bars[MVF_ROM_INDEX].size;
    return 0;
}

int mvf_cfg_policy_init(struct mvf_cfg_policy *pol,
                        const struct mvf_provider *prov,
                        char *err, size_t errlen)
{
    uint8_t img[MVF_CONFIG_SPACE];
    int ret;

    memset(pol, 0, sizeof(*pol));
    for (uint32_t off = 0; off < MVF_CONFIG_SPACE; off += 4) {
        uint32_t v = 0;
        ret = prov->ops->config_read(prov->priv, off, 4, &v);
        if (ret) {
            snprintf(err, errlen, "config read at 0x%x failed (%d)", off, ret);
            return ret;
        }
        memcpy(img + off, &v, 4);
    }
    if ((img[0x0e] & 0x7f) != 0) {
        snprintf(err, errlen, "header type %u: only endpoints (type 0) can be "
                 "passed through; bridges and their windows are the host's",
                 img[0x0e] & 0x7f);
        return -ENOTSUP;
    }
    header_policy(pol);
    ret = walk_caps(pol, img, err, errlen);
    if (ret)
        return ret;
    memcpy(pol->shadow_reset, img, sizeof(img));
    ret = bar_policy(pol, prov, err, errlen);
    if (ret)
        return ret;
    memset(pol->shadow_reset + 0x30, 0, 4);  /* ROM BAR: disabled, no address */
    if (prov->extra_write_mask) {
        for (uint32_t i = 0; i < MVF_CONFIG_SPACE; i++)
            pol->pass[i] |= prov->extra_write_mask[i] & ~pol->virt[i];
    }
    mvf_cfg_policy_reset(pol);
    return 0;
}

void mvf_cfg_policy_reset(struct mvf_cfg_policy *pol)
{
    memcpy(pol->shadow, pol->shadow_reset, sizeof(pol->shadow));
}

int mvf_cfg_check_access(uint64_t off, uint64_t width)
{
    if (width != 1 && width != 2 && width != 4)
        return -EINVAL;
    if (off >= MVF_CONFIG_SPACE || off + width > MVF_CONFIG_SPACE)
        return -ERANGE;
    if (off & (width - 1))
        return -EINVAL;
    return 0;
}

static uint32_t load(const uint8_t *a, uint32_t off, uint32_t width)
{
    uint32_t v = 0;
    for (uint32_t i = 0; i < width; i++)
        v |= (uint32_t)a[off + i] << (8 * i);
    return v;
}

int mvf_cfg_read(const struct mvf_cfg_policy *pol,
                 const struct mvf_provider *prov,
                 uint32_t off, uint32_t width, uint32_t *val)
{
    uint32_t hw = 0, virt;
    int ret = mvf_cfg_check_access(off, width);

    if (ret)
        return ret;
    virt = load(pol->virt, off, width);
    if (virt != (width == 4 ? 0xffffffffu : (1u << (8 * width)) - 1)) {
        ret = prov->ops->config_read(prov->priv, off, width, &hw);
        if (ret)
            return ret;
    }
    *val = (hw & ~virt) | (load(pol->shadow, off, width) & virt);
    return 0;
}

/* Re-applies a BAR's size mask and type bits after a shadow write, so
 * sizing (writing all ones) reads back the size like hardware. */
static void fixup_bar_dword(struct mvf_cfg_policy *pol, uint32_t dw_off)
{
    uint32_t v = load(pol->shadow, dw_off, 4), mask;

    if (dw_off == 0x30) {
        uint64_t size = pol->bar_size[MVF_ROM_INDEX];
        mask = size ? ((uint32_t)~(size - 1) & 0xfffff800u) | 0x1 : 0;
    } else {
        uint32_t i = (dw_off - 0x10) / 4;
        if (pol->bar_upper[i]) {
            uint64_t size = pol->bar_size[i - 1];
            mask = (uint32_t)(~(size - 1) >> 32);
        } else if (!pol->bar_size[i]) {
            mask = 0;
        } else if (pol->bar_type_bits[i] & 0x1) {
            mask = (uint32_t)~(pol->bar_size[i] - 1) & 0xfffffffcu;
        } else {
            mask = (uint32_t)~(pol->bar_size[i] - 1) & 0xfffffff0u;
        }
        v = (v & mask) | (pol->bar_upper[i] ? 0 : pol->bar_type_bits[i]);
        memcpy(pol->shadow + dw_off, &v, 4);
        return;
    }
    v &= mask;
    memcpy(pol->shadow + dw_off, &v, 4);
}

int mvf_cfg_write(struct mvf_cfg_policy *pol, const struct mvf_provider *prov,
                  uint32_t off, uint32_t width, uint32_t val, bool *dropped)
{
    uint32_t pass, vwr, cur;
    int ret = mvf_cfg_read(pol, prov, off, width, &cur);  /* checks first */

    if (ret)
        return ret;
    pass = load(pol->pass, off, width);
    vwr = load(pol->vwr, off, width);
    /* Only a change to a read-only bit counts as dropped: clients
     * (QEMU among them) write whole registers back routinely. */
    *dropped = ((val ^ cur) & ~(pass | vwr)) != 0;

    for (uint32_t i = 0; i < width; i++) {
        uint8_t b = (uint8_t)(val >> (8 * i)), w = pol->vwr[off + i];
        pol->shadow[off + i] = (uint8_t)((pol->shadow[off + i] & ~w) | (b & w));
    }
    for (uint32_t dw = off & ~3u; dw < off + width; dw += 4) {
        if ((dw >= 0x10 && dw < 0x28) || dw == 0x30)
            fixup_bar_dword(pol, dw);
    }

    if (pass) {
        uint32_t hw = 0, rw1c = load(pol->rw1c, off, width);

        if (pass != (width == 4 ? 0xffffffffu : (1u << (8 * width)) - 1)) {
            ret = prov->ops->config_read(prov->priv, off, width, &hw);
            if (ret)
                return ret;
        }
        /* Keep the device's other bits, but never write back a 1 into
         * a write-1-to-clear bit the client did not write. */
        hw = (hw & ~pass & ~rw1c) | (val & pass);
        return prov->ops->config_write(prov->priv, off, width, hw);
    }
    return 0;
}

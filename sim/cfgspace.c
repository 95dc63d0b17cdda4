/* SPDX-License-Identifier: MIT */
/* Hardware-like PCIe config space for simulated devices (cfgspace.h). */
#include "cfgspace.h"

#include <errno.h>
#include <string.h>

/* Bounded chain walks: at most this many capabilities can fit. */
#define CAP_WALK_MAX ((0x100 - MVF_CS_CAP_START) / 4)
#define EXT_WALK_MAX ((MVF_CS_SIZE - MVF_CS_EXT_START) / 4)

static bool range_ok(uint32_t off, unsigned width)
{
    return width >= 1 && width <= 4 && off < MVF_CS_SIZE &&
           width <= MVF_CS_SIZE - off;
}

static bool width_ok(unsigned width)
{
    return width == 1 || width == 2 || width == 4;
}

/* Little-endian store of `width` bytes into one of the images. */
static void put(uint8_t *img, uint32_t off, unsigned width, uint32_t val)
{
    for (unsigned i = 0; i < width; i++)
        img[off + i] = (uint8_t)(val >> (8 * i));
}

static uint32_t get(const uint8_t *img, uint32_t off, unsigned width)
{
    uint32_t v = 0;

    for (unsigned i = 0; i < width; i++)
        v |= (uint32_t)img[off + i] << (8 * i);
    return v;
}

void mvf_cfgspace_set_init(struct mvf_cfgspace *cs, uint32_t off,
                           unsigned width, uint32_t val)
{
    if (!range_ok(off, width))
        return;
    put(cs->data, off, width, val);
    put(cs->reset, off, width, val);
}

void mvf_cfgspace_set_wmask(struct mvf_cfgspace *cs, uint32_t off,
                            unsigned width, uint32_t mask)
{
    if (!range_ok(off, width))
        return;
    for (unsigned i = 0; i < width; i++) {
        uint8_t m = (uint8_t)(mask >> (8 * i));

        cs->wmask[off + i] = m;
        cs->w1c[off + i] &= (uint8_t)~m;
    }
}

void mvf_cfgspace_set_w1c(struct mvf_cfgspace *cs, uint32_t off,
                          unsigned width, uint32_t mask)
{
    if (!range_ok(off, width))
        return;
    for (unsigned i = 0; i < width; i++) {
        uint8_t m = (uint8_t)(mask >> (8 * i));

        cs->w1c[off + i] = m;
        cs->wmask[off + i] &= (uint8_t)~m;
    }
}

void mvf_cfgspace_init(struct mvf_cfgspace *cs,
                       const struct mvf_cfgspace_ids *ids)
{
    uint16_t cmd_mask = MVF_CS_CMD_MEMORY | MVF_CS_CMD_MASTER |
                        MVF_CS_CMD_PARITY | MVF_CS_CMD_SERR;

    memset(cs, 0, sizeof(*cs));
    mvf_cfgspace_set_init(cs, MVF_CS_VENDOR_ID, 2, ids->vendor_id);
    mvf_cfgspace_set_init(cs, MVF_CS_DEVICE_ID, 2, ids->device_id);
    mvf_cfgspace_set_init(cs, MVF_CS_REVISION, 1, ids->revision);
    mvf_cfgspace_set_init(cs, MVF_CS_CLASS_PROG, 1, ids->class_code & 0xff);
    mvf_cfgspace_set_init(cs, MVF_CS_CLASS_PROG + 1, 2,
                          (ids->class_code >> 8) & 0xffff);
    mvf_cfgspace_set_init(cs, MVF_CS_HEADER_TYPE, 1,
                          ids->multi_function ? 0x80 : 0x00);
    mvf_cfgspace_set_init(cs, MVF_CS_SUBSYS_VENDOR, 2, ids->subsys_vendor_id);
    mvf_cfgspace_set_init(cs, MVF_CS_SUBSYS_ID, 2, ids->subsys_id);
    mvf_cfgspace_set_init(cs, MVF_CS_INT_PIN, 1,
                          ids->irq_pin <= 4 ? ids->irq_pin : 0);

    /* INTx disable is hardwired to 0 on a function without INTx. */
    if (ids->irq_pin >= 1 && ids->irq_pin <= 4)
        cmd_mask |= MVF_CS_CMD_INTX_OFF;
    mvf_cfgspace_set_wmask(cs, MVF_CS_COMMAND, 2, cmd_mask);
    mvf_cfgspace_set_w1c(cs, MVF_CS_STATUS, 2, MVF_CS_STATUS_RW1C);
    mvf_cfgspace_set_wmask(cs, MVF_CS_CACHE_LINE, 1, 0xff);
    mvf_cfgspace_set_wmask(cs, MVF_CS_INT_LINE, 1, 0xff);
    cs->cap_next = MVF_CS_CAP_START;
    cs->ext_next = MVF_CS_EXT_START;
}

static bool pow2(uint64_t v)
{
    return v != 0 && (v & (v - 1)) == 0;
}

int mvf_cfgspace_add_bar(struct mvf_cfgspace *cs, unsigned bar,
                         uint64_t size, uint32_t flags)
{
    bool io = flags & MVF_BAR_IO, is64 = flags & MVF_BAR_64BIT;
    uint32_t reg = MVF_CS_BAR0 + 4 * bar, type;
    uint64_t mask;

    if (bar >= MVF_NUM_BARS || !pow2(size))
        return -EINVAL;
    if (io && (is64 || (flags & MVF_BAR_PREFETCH) || size < 4 || size > 256))
        return -EINVAL;
    if (!io && (size < 16 || (!is64 && size > (1ull << 31)) ||
                size > (1ull << 63)))
        return -EINVAL;
    if (is64 && bar + 1 >= MVF_NUM_BARS)
        return -EINVAL;
    if (cs->bar_used[bar] || (is64 && cs->bar_used[bar + 1]))
        return -EBUSY;

    if (io)
        type = MVF_CS_BAR_IO;
    else
        type = (is64 ? MVF_CS_BAR_MEM64 : 0) |
               ((flags & MVF_BAR_PREFETCH) ? MVF_CS_BAR_PREFETCH : 0);
    /* Address bits at and above the size are writable; the rest, type
     * bits included, read back as their power-on value. */
    mask = ~(size - 1) & ~(uint64_t)(io ? 0x3 : 0xf);
    mvf_cfgspace_set_init(cs, reg, 4, type);
    mvf_cfgspace_set_wmask(cs, reg, 4, (uint32_t)mask);
    if (is64) {
        mvf_cfgspace_set_init(cs, reg + 4, 4, 0);
        mvf_cfgspace_set_wmask(cs, reg + 4, 4, (uint32_t)(mask >> 32));
        cs->bar_used[bar + 1] = true;
    }
    /* The command register decodes I/O only if some BAR needs it. */
    if (io)
        cs->wmask[MVF_CS_COMMAND] |= MVF_CS_CMD_IO;
    cs->bar_used[bar] = true;
    cs->bar_size[bar] = size;
    cs->bar_flags[bar] = (flags & ~MVF_BAR_IMPLEMENTED) | MVF_BAR_IMPLEMENTED;
    return 0;
}

uint64_t mvf_cfgspace_bar_size(const struct mvf_cfgspace *cs, unsigned bar)
{
    return bar < MVF_NUM_BARS ? cs->bar_size[bar] : 0;
}

uint32_t mvf_cfgspace_bar_flags(const struct mvf_cfgspace *cs, unsigned bar)
{
    return bar < MVF_NUM_BARS ? cs->bar_flags[bar] : 0;
}

int mvf_cfgspace_add_cap(struct mvf_cfgspace *cs, uint8_t id, unsigned len,
                         uint16_t *off)
{
    uint16_t at = cs->cap_next;

    if (len < 2 || len > 0x100 - MVF_CS_CAP_START)
        return -EINVAL;
    if (at < MVF_CS_CAP_START || at + len > 0x100)
        return -ENOSPC;
    memset(cs->data + at, 0, len);
    memset(cs->reset + at, 0, len);
    memset(cs->wmask + at, 0, len);
    memset(cs->w1c + at, 0, len);
    mvf_cfgspace_set_init(cs, at, 1, id);
    if (cs->cap_last == 0) {
        mvf_cfgspace_set_init(cs, MVF_CS_CAP_PTR, 1, at);
        cs->data[MVF_CS_STATUS] |= MVF_CS_STATUS_CAPLIST;
        cs->reset[MVF_CS_STATUS] |= MVF_CS_STATUS_CAPLIST;
    } else {
        mvf_cfgspace_set_init(cs, cs->cap_last + 1u, 1, at);
    }
    cs->cap_last = at;
    cs->cap_next = (uint16_t)((at + len + 3) & ~3u);  /* DWORD aligned */
    if (off)
        *off = at;
    return 0;
}

int mvf_cfgspace_add_ext_cap(struct mvf_cfgspace *cs, uint16_t id,
                             uint8_t version, unsigned len, uint16_t *off)
{
    uint16_t at = cs->ext_next;

    if (len < 4 || len > MVF_CS_SIZE - MVF_CS_EXT_START || version > 0xf)
        return -EINVAL;
    if (at < MVF_CS_EXT_START || at + len > MVF_CS_SIZE)
        return -ENOSPC;
    memset(cs->data + at, 0, len);
    memset(cs->reset + at, 0, len);
    memset(cs->wmask + at, 0, len);
    memset(cs->w1c + at, 0, len);
    mvf_cfgspace_set_init(cs, at, 4, id | (uint32_t)version << 16);
    if (cs->ext_last != 0) {
        uint32_t hdr = get(cs->reset, cs->ext_last, 4);

        hdr = (hdr & 0x000fffff) | (uint32_t)at << 20;
        mvf_cfgspace_set_init(cs, cs->ext_last, 4, hdr);
    }
    cs->ext_last = at;
    cs->ext_next = (uint16_t)((at + len + 3) & ~3u);
    if (off)
        *off = at;
    return 0;
}

int mvf_cfgspace_add_pm(struct mvf_cfgspace *cs, uint16_t *off)
{
    uint16_t at;
    int rc = mvf_cfgspace_add_cap(cs, MVF_CS_CAP_PM, MVF_CS_PM_LEN, &at);

    if (rc)
        return rc;
    mvf_cfgspace_set_init(cs, at + MVF_CS_PM_PMC, 2, 0x0003);  /* v3 */
    mvf_cfgspace_set_init(cs, at + MVF_CS_PM_PMCSR, 2, 0x0008); /* NSR, D0 */
    mvf_cfgspace_set_wmask(cs, at + MVF_CS_PM_PMCSR, 2, 0x0003);
    cs->pm_off = at;
    if (off)
        *off = at;
    return 0;
}

int mvf_cfgspace_add_msix(struct mvf_cfgspace *cs, unsigned nvec,
                          unsigned table_bar, uint32_t table_off,
                          unsigned pba_bar, uint32_t pba_off, uint16_t *off)
{
    uint16_t at;
    int rc;

    if (nvec < 1 || nvec > 2048 || table_bar >= MVF_NUM_BARS ||
        pba_bar >= MVF_NUM_BARS || (table_off & 7) || (pba_off & 7))
        return -EINVAL;
    rc = mvf_cfgspace_add_cap(cs, MVF_CS_CAP_MSIX, MVF_CS_MSIX_LEN, &at);
    if (rc)
        return rc;
    mvf_cfgspace_set_init(cs, at + MVF_CS_MSIX_CTRL, 2, nvec - 1);
    mvf_cfgspace_set_wmask(cs, at + MVF_CS_MSIX_CTRL, 2,
                           MVF_CS_MSIX_ENABLE | MVF_CS_MSIX_MASKALL);
    mvf_cfgspace_set_init(cs, at + MVF_CS_MSIX_TABLE, 4, table_off | table_bar);
    mvf_cfgspace_set_init(cs, at + MVF_CS_MSIX_PBA, 4, pba_off | pba_bar);
    if (off)
        *off = at;
    return 0;
}

int mvf_cfgspace_add_pcie(struct mvf_cfgspace *cs,
                          const struct mvf_cfgspace_pcie *p, uint16_t *off)
{
    static const struct mvf_cfgspace_pcie defaults = {
        .max_payload = 1, .link_speed = 3, .link_width = 4,
    };
    uint16_t at;
    uint32_t speed, width;
    int rc;

    if (!p)
        p = &defaults;
    speed = p->link_speed;
    width = p->link_width;
    if (p->max_payload > 5 || speed < 1 || speed > 5 || width < 1 ||
        width > 32 || !(pow2(width) || width == 12))
        return -EINVAL;
    rc = mvf_cfgspace_add_cap(cs, MVF_CS_CAP_PCIE, MVF_CS_PCIE_LEN, &at);
    if (rc)
        return rc;
    /* Version 2, device/port type 0 (PCI Express endpoint). */
    mvf_cfgspace_set_init(cs, at + MVF_CS_PCIE_FLAGS, 2, 0x0002);
    /* Max payload supported; role-based error reporting (bit 15). */
    mvf_cfgspace_set_init(cs, at + MVF_CS_PCIE_DEVCAP, 4,
                          p->max_payload | 0x8000);
    /* Device control: error reporting enables, relaxed ordering, MPS,
     * extended tag, phantom, aux power, no snoop, MRRS.  Bit 15
     * (initiate FLR) stays 0: FLR is not advertised.  Power-on: relaxed
     * ordering and no snoop on, 128 B payload, 512 B read requests. */
    mvf_cfgspace_set_init(cs, at + MVF_CS_PCIE_DEVCTL, 2, 0x2810);
    mvf_cfgspace_set_wmask(cs, at + MVF_CS_PCIE_DEVCTL, 2, 0x7fff);
    /* Device status: the four "error detected" bits are RW1C. */
    mvf_cfgspace_set_w1c(cs, at + MVF_CS_PCIE_DEVSTA, 2, 0x000f);
    mvf_cfgspace_set_init(cs, at + MVF_CS_PCIE_LNKCAP, 4, speed | width << 4);
    /* Link control: common clock configuration, extended synch. */
    mvf_cfgspace_set_wmask(cs, at + MVF_CS_PCIE_LNKCTL, 2, 0x00c0);
    mvf_cfgspace_set_init(cs, at + MVF_CS_PCIE_LNKSTA, 2, speed | width << 4);
    /* Supported link speeds vector: every speed up to the maximum. */
    mvf_cfgspace_set_init(cs, at + MVF_CS_PCIE_LNKCAP2, 4,
                          ((1u << speed) - 1) << 1);
    /* Link control 2: target link speed. */
    mvf_cfgspace_set_init(cs, at + MVF_CS_PCIE_LNKCTL2, 2, speed);
    mvf_cfgspace_set_wmask(cs, at + MVF_CS_PCIE_LNKCTL2, 2, 0x000f);
    if (off)
        *off = at;
    return 0;
}

int mvf_cfgspace_add_dsn(struct mvf_cfgspace *cs, uint64_t serial,
                         uint16_t *off)
{
    uint16_t at;
    int rc = mvf_cfgspace_add_ext_cap(cs, MVF_CS_EXT_DSN, 1, MVF_CS_DSN_LEN,
                                      &at);

    if (rc)
        return rc;
    mvf_cfgspace_set_init(cs, at + 4u, 4, (uint32_t)serial);
    mvf_cfgspace_set_init(cs, at + 8u, 4, (uint32_t)(serial >> 32));
    if (off)
        *off = at;
    return 0;
}

int mvf_cfgspace_read(const struct mvf_cfgspace *cs, uint32_t off,
                      unsigned width, uint32_t *val)
{
    if (!width_ok(width) || !range_ok(off, width)) {
        *val = 0xffffffffu;
        return -EINVAL;
    }
    *val = get(cs->data, off, width);
    return 0;
}

/* PMCSR power state: only D0 (0) and D3hot (3) exist; writes of D1/D2
 * are ignored as the spec asks for unsupported states. */
static void pm_fixup(struct mvf_cfgspace *cs, uint8_t old_state)
{
    uint32_t at = cs->pm_off + MVF_CS_PM_PMCSR;
    uint8_t st = cs->data[at] & 0x3;

    if (st == 1 || st == 2)
        cs->data[at] = (uint8_t)((cs->data[at] & ~0x3) | (old_state & 0x3));
}

int mvf_cfgspace_write(struct mvf_cfgspace *cs, uint32_t off,
                       unsigned width, uint32_t val)
{
    uint8_t old_pm = 0;

    if (!width_ok(width) || !range_ok(off, width))
        return -EINVAL;
    if (cs->pm_off)
        old_pm = cs->data[cs->pm_off + MVF_CS_PM_PMCSR];
    for (unsigned i = 0; i < width; i++) {
        uint32_t a = off + i;
        uint8_t b = (uint8_t)(val >> (8 * i));
        uint8_t v = cs->data[a];

        v = (uint8_t)((v & ~cs->wmask[a]) | (b & cs->wmask[a]));
        v &= (uint8_t)~(b & cs->w1c[a]);
        cs->data[a] = v;
    }
    if (cs->pm_off)
        pm_fixup(cs, old_pm);
    return 0;
}

uint32_t mvf_cfgspace_peek(const struct mvf_cfgspace *cs, uint32_t off,
                           unsigned width)
{
    return range_ok(off, width) ? get(cs->data, off, width) : 0;
}

void mvf_cfgspace_poke(struct mvf_cfgspace *cs, uint32_t off,
                       unsigned width, uint32_t val)
{
    if (range_ok(off, width))
        put(cs->data, off, width, val);
}

uint16_t mvf_cfgspace_find_cap(const struct mvf_cfgspace *cs, uint8_t id)
{
    uint8_t at;

    if (!(cs->data[MVF_CS_STATUS] & MVF_CS_STATUS_CAPLIST))
        return 0;
    at = cs->data[MVF_CS_CAP_PTR] & 0xfc;
    for (unsigned n = 0; n < CAP_WALK_MAX && at >= MVF_CS_CAP_START; n++) {
        if (cs->data[at] == id)
            return at;
        at = cs->data[at + 1] & 0xfc;
    }
    return 0;
}

uint16_t mvf_cfgspace_find_ext_cap(const struct mvf_cfgspace *cs, uint16_t id)
{
    uint32_t at = MVF_CS_EXT_START;

    for (unsigned n = 0; n < EXT_WALK_MAX && at >= MVF_CS_EXT_START; n++) {
        uint32_t hdr = get(cs->data, at, 4);

        if (hdr == 0 || hdr == 0xffffffffu)
            return 0;
        if ((hdr & 0xffff) == id)
            return (uint16_t)at;
        at = (hdr >> 20) & 0xffc;
    }
    return 0;
}

void mvf_cfgspace_reset(struct mvf_cfgspace *cs)
{
    memcpy(cs->data, cs->reset, sizeof(cs->data));
}

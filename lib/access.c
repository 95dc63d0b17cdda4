/* SPDX-License-Identifier: MIT */
/* Device access: config space, BAR information, trapped MMIO, and
 * mapping memory types into the client. */
#include <errno.h>
#include <stdbool.h>

#include "handle.h"

/* ---- config space ---------------------------------------------------- */

static bool fits_width(uint64_t v, uint32_t width)
{
    return width >= 8 || (v >> (8 * width)) == 0;
}

static int check_config_access(const char *what, uint32_t offset,
                               uint32_t width)
{
    if (width != 1 && width != 2 && width != 4)
        return mvfl_fail(-EINVAL, "%s: width %u (must be 1, 2 or 4)", what,
                         width);
    if (offset >= MVF_CONFIG_SPACE || offset + width > MVF_CONFIG_SPACE)
        return mvfl_fail(-ERANGE, "%s: offset 0x%x beyond config space",
                         what, offset);
    if (offset % width)
        return mvfl_fail(-EINVAL, "%s: offset 0x%x not aligned to %u", what,
                         offset, width);
    return 0;
}

MVF_EXPORT int mvf_config_read(struct mvf_handle *h, uint32_t offset,
                               uint32_t width, uint32_t *value)
{
    uint64_t in[2] = { offset, width }, out = 0;
    int rc;

    if ((rc = mvfl_need(h, MVF_FEAT_CONFIG, "config read")) ||
        (rc = check_config_access("config read", offset, width)))
        return rc;
    if (!value)
        return mvfl_fail(-EINVAL, "config read: NULL value");
    rc = mvfl_call_scalars(h, MVF_SEL_CONFIG_READ, in, 2, &out, 1);
    if (rc < 0)
        return rc;
    if (!fits_width(out, width))
        return mvfl_bad_reply(h, MVF_SEL_CONFIG_READ,
                              "value 0x%llx wider than %u bytes",
                              (unsigned long long)out, width);
    *value = (uint32_t)out;
    return 0;
}

MVF_EXPORT int mvf_config_write(struct mvf_handle *h, uint32_t offset,
                                uint32_t width, uint32_t value)
{
    uint64_t in[3] = { offset, width, value };
    int rc;

    if ((rc = mvfl_need(h, MVF_FEAT_CONFIG, "config write")) ||
        (rc = check_config_access("config write", offset, width)))
        return rc;
    if (!fits_width(value, width))
        return mvfl_fail(-EINVAL, "config write: value 0x%x wider than %u "
                         "bytes", value, width);
    return mvfl_call_scalars(h, MVF_SEL_CONFIG_WRITE, in, 3, NULL, 0);
}

/* ---- BARs ------------------------------------------------------------ */

MVF_EXPORT int mvf_bar_info(struct mvf_handle *h, uint32_t bar, uint64_t *size,
                            uint32_t *flags)
{
    uint64_t in[1] = { bar }, out[2] = { 0 };
    int rc;

    if (bar > MVF_ROM_INDEX)
        return mvfl_fail(-EINVAL, "bar info: BAR %u (0..5, or %u for the ROM)",
                         bar, MVF_ROM_INDEX);
    if (!size || !flags)
        return mvfl_fail(-EINVAL, "bar info: NULL output");
    rc = mvfl_call_scalars(h, MVF_SEL_BAR_INFO, in, 1, out, 2);
    if (rc < 0)
        return rc;
    if (out[1] > UINT32_MAX)
        return mvfl_bad_reply(h, MVF_SEL_BAR_INFO, "flags 0x%llx",
                              (unsigned long long)out[1]);
    *size = out[0];
    *flags = (uint32_t)out[1];
    return 0;
}

static int check_mmio_access(const char *what, uint32_t bar, uint64_t offset,
                             uint32_t width)
{
    if (bar > MVF_ROM_INDEX)
        return mvfl_fail(-EINVAL, "%s: BAR %u (0..5, or %u for the ROM)",
                         what, bar, MVF_ROM_INDEX);
    if (width != 1 && width != 2 && width != 4 && width != 8)
        return mvfl_fail(-EINVAL, "%s: width %u (must be 1, 2, 4 or 8)",
                         what, width);
    if (offset % width)
        return mvfl_fail(-EINVAL, "%s: offset 0x%llx not aligned to %u",
                         what, (unsigned long long)offset, width);
    return 0;
}

MVF_EXPORT int mvf_mmio_read(struct mvf_handle *h, uint32_t bar,
                             uint64_t offset, uint32_t width, uint64_t *value)
{
    uint64_t in[3] = { bar, offset, width }, out = 0;
    int rc;

    if ((rc = mvfl_need(h, MVF_FEAT_MMIO_TRAP, "MMIO read")) ||
        (rc = check_mmio_access("MMIO read", bar, offset, width)))
        return rc;
    if (!value)
        return mvfl_fail(-EINVAL, "MMIO read: NULL value");
    rc = mvfl_call_scalars(h, MVF_SEL_MMIO_READ, in, 3, &out, 1);
    if (rc < 0)
        return rc;
    if (!fits_width(out, width))
        return mvfl_bad_reply(h, MVF_SEL_MMIO_READ,
                              "value 0x%llx wider than %u bytes",
                              (unsigned long long)out, width);
    *value = out;
    return 0;
}

static int mmio_write(struct mvf_handle *h, uint32_t bar, uint64_t offset,
                      uint32_t width, uint64_t value, bool posted)
{
    uint64_t in[4] = { bar, offset, width, value };
    struct mvf_xfer x;
    int rc;

    if ((rc = mvfl_need(h, MVF_FEAT_MMIO_TRAP, "MMIO write")) ||
        (rc = check_mmio_access("MMIO write", bar, offset, width)))
        return rc;
    if (!fits_width(value, width))
        return mvfl_fail(-EINVAL, "MMIO write: value 0x%llx wider than %u "
                         "bytes", (unsigned long long)value, width);
    mvfl_xfer_init(&x, MVF_SEL_MMIO_WRITE);
    x.in = in;
    x.n_in = 4;
    return posted ? mvfl_call_posted(h, &x) : mvfl_call(h, &x);
}

MVF_EXPORT int mvf_mmio_write(struct mvf_handle *h, uint32_t bar,
                              uint64_t offset, uint32_t width, uint64_t value)
{
    return mmio_write(h, bar, offset, width, value, false);
}

MVF_EXPORT int mvf_mmio_write_posted(struct mvf_handle *h, uint32_t bar,
                                     uint64_t offset, uint32_t width,
                                     uint64_t value)
{
    return mmio_write(h, bar, offset, width, value, true);
}

/* ---- memory mapping -------------------------------------------------- */

MVF_EXPORT int mvf_map_memory(struct mvf_handle *h, uint64_t memory_type,
                              void **ptr, uint64_t *size, uint32_t *flags)
{
    uint64_t in[1] = { memory_type };
    bool state_page = memory_type == MVF_MEM_IRQ_STATE;
    struct mvf_xfer x;
    void *p = NULL;
    int rc;

    if (!state_page && memory_type > MVF_ROM_INDEX)
        return mvfl_fail(-EINVAL, "map memory: unknown memory type 0x%llx",
                         (unsigned long long)memory_type);
    rc = state_page ? mvfl_need(h, MVF_FEAT_IRQ_STATE_PAGE, "map IRQ state page")
                    : mvfl_need(h, MVF_FEAT_MAP_MEMORY, "map BAR");
    if (rc)
        return rc;
    if (!ptr || !size)
        return mvfl_fail(-EINVAL, "map memory: NULL output");

    mvfl_xfer_init(&x, MVF_SEL_MAP_MEMORY);
    x.in = in;
    x.n_in = 1;
    x.n_out_min = 2;
    rc = mvfl_call_map(h, &x, &p);
    if (rc < 0)
        return rc;
    if (x.out[1] > UINT32_MAX ||
        (state_page && x.out[0] < sizeof(struct mvf_irq_state))) {
        h->t->ops->unmap_memory(h->t, p, x.out[0]);
        return mvfl_bad_reply(h, MVF_SEL_MAP_MEMORY, "size %llu, flags 0x%llx",
                              (unsigned long long)x.out[0],
                              (unsigned long long)x.out[1]);
    }
    *ptr = p;
    *size = x.out[0];
    if (flags)
        *flags = (uint32_t)x.out[1];
    return 0;
}

MVF_EXPORT int mvf_unmap_memory(struct mvf_handle *h, void *ptr, uint64_t size)
{
    int rc;

    if (!h || !ptr || !size)
        return mvfl_fail(-EINVAL, "unmap memory: NULL handle or empty range");
    rc = h->t->ops->unmap_memory(h->t, ptr, size);
    if (rc < 0)
        return mvfl_fail(rc, "unmap memory: %p (+%llu) is not a mapping", ptr,
                         (unsigned long long)size);
    return 0;
}

/* SPDX-License-Identifier: MIT */
#include "msix_table.h"

#include <errno.h>
#include <string.h>

#include "core.h"

/* Writable bits of one entry: the message address is DWORD aligned
 * (bits 1:0 read 0), vector control has only the mask bit. */
static const uint8_t entry_wmask[MVF_MSIX_ENTRY_SIZE] = {
    0xfc, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0x01, 0x00, 0x00, 0x00,
};

/* True when byte off+i lies in the table (no wrap-around). */
static int in_table(uint32_t nvec, uint64_t off, uint32_t i)
{
    uint64_t a = off + i;

    return a >= off && a < (uint64_t)MVF_MSIX_ENTRY_SIZE * nvec;
}

void mvf_msix_table_reset(uint8_t *table, uint32_t nvec)
{
    memset(table, 0, (size_t)MVF_MSIX_ENTRY_SIZE * nvec);
    for (uint32_t v = 0; v < nvec; v++)
        table[MVF_MSIX_ENTRY_SIZE * v + 12] = 0x01;   /* masked */
}

uint64_t mvf_msix_table_read(const uint8_t *table, uint32_t nvec, uint64_t off,
                             uint32_t width)
{
    uint64_t v = 0;

    for (uint32_t i = 0; i < width && i < 8; i++)
        if (in_table(nvec, off, i))
            v |= (uint64_t)table[off + i] << (8 * i);
    return v;
}

void mvf_msix_table_write(uint8_t *table, uint32_t nvec, uint64_t off,
                          uint32_t width, uint64_t val)
{
    for (uint32_t i = 0; i < width && i < 8; i++) {
        uint8_t m, b = (uint8_t)(val >> (8 * i));

        if (!in_table(nvec, off, i))
            continue;
        m = entry_wmask[(off + i) % MVF_MSIX_ENTRY_SIZE];
        table[off + i] = (uint8_t)((table[off + i] & ~m) | (b & m));
    }
}

int mvf_msix_only_configure(bool *enabled, uint32_t max, uint32_t type,
                            uint32_t nvec)
{
    if (nvec == 0) {
        if (type == MVF_IRQ_MSIX)
            *enabled = false;
        return 0;
    }
    if (type != MVF_IRQ_MSIX || nvec > max)
        return -EINVAL;
    *enabled = true;
    return 0;
}

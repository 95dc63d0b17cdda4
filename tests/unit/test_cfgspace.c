/* SPDX-License-Identifier: MIT */
/* Unit tests of the simulated config space builder (sim/cfgspace.c). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cfgspace.h"

static const struct mvf_cfgspace_ids test_ids = {
    .vendor_id = 0x1b36, .device_id = 0x00e0,
    .subsys_vendor_id = 0x1af4, .subsys_id = 0x1100,
    .class_code = 0x010802, .revision = 7, .irq_pin = 1,
};

static uint32_t rd(const struct mvf_cfgspace *cs, uint32_t off, unsigned w)
{
    uint32_t v = 0;

    assert_int_equal(mvf_cfgspace_read(cs, off, w, &v), 0);
    return v;
}

static void wr(struct mvf_cfgspace *cs, uint32_t off, unsigned w, uint32_t v)
{
    assert_int_equal(mvf_cfgspace_write(cs, off, w, v), 0);
}

static struct mvf_cfgspace *new_cs(void)
{
    struct mvf_cfgspace *cs = malloc(sizeof(*cs));

    assert_non_null(cs);
    mvf_cfgspace_init(cs, &test_ids);
    return cs;
}

static void test_header(void **state)
{
    struct mvf_cfgspace *cs = new_cs();

    assert_int_equal(rd(cs, 0x00, 4), 0x00e01b36);
    assert_int_equal(rd(cs, 0x08, 4), 0x01080207);
    assert_int_equal(rd(cs, 0x2c, 4), 0x11001af4);
    assert_int_equal(rd(cs, MVF_CS_INT_PIN, 1), 1);
    assert_int_equal(rd(cs, MVF_CS_HEADER_TYPE, 1), 0);
    /* No capability yet: no list bit, null pointer. */
    assert_int_equal(rd(cs, MVF_CS_STATUS, 2) & MVF_CS_STATUS_CAPLIST, 0);
    assert_int_equal(rd(cs, MVF_CS_CAP_PTR, 1), 0);
    assert_int_equal(mvf_cfgspace_find_cap(cs, MVF_CS_CAP_PM), 0);
    assert_int_equal(mvf_cfgspace_find_ext_cap(cs, MVF_CS_EXT_DSN), 0);
    /* Unaligned reads inside the space are fine (bytewise). */
    assert_int_equal(rd(cs, 0x01, 2), 0xe01b);
    free(cs);
}

static void test_cap_chain(void **state)
{
    struct mvf_cfgspace *cs = new_cs();
    uint16_t pm, msix, pcie, vnd, dsn, ext2;
    uint8_t ids[8];
    unsigned n = 0;

    assert_int_equal(mvf_cfgspace_add_pm(cs, &pm), 0);
    assert_int_equal(mvf_cfgspace_add_msix(cs, 4, 4, 0, 4, 0x800, &msix), 0);
    assert_int_equal(mvf_cfgspace_add_pcie(cs, NULL, &pcie), 0);
    assert_int_equal(mvf_cfgspace_add_cap(cs, 0x09, 6, &vnd), 0); /* vendor */
    assert_int_equal(mvf_cfgspace_add_dsn(cs, 0x1122334455667788ull, &dsn), 0);
    assert_int_equal(mvf_cfgspace_add_ext_cap(cs, 0x000b, 1, 8, &ext2), 0);

    assert_int_equal(pm, 0x40);
    assert_int_equal(msix, 0x48);
    assert_int_equal(pcie, 0x54);
    assert_int_equal(vnd, 0x54 + MVF_CS_PCIE_LEN);
    assert_int_equal(dsn, 0x100);
    assert_int_equal(ext2, 0x10c);

    /* Walk the standard list the way a driver does. */
    assert_true(rd(cs, MVF_CS_STATUS, 2) & MVF_CS_STATUS_CAPLIST);
    for (uint32_t p = rd(cs, MVF_CS_CAP_PTR, 1); p; p = rd(cs, p + 1, 1)) {
        assert_true(p >= 0x40 && p < 0x100 && (p & 3) == 0);
        assert_true(n < 8);
        ids[n++] = (uint8_t)rd(cs, p, 1);
    }
    assert_int_equal(n, 4);
    assert_int_equal(ids[0], MVF_CS_CAP_PM);
    assert_int_equal(ids[1], MVF_CS_CAP_MSIX);
    assert_int_equal(ids[2], MVF_CS_CAP_PCIE);
    assert_int_equal(ids[3], 0x09);
    assert_int_equal(mvf_cfgspace_find_cap(cs, MVF_CS_CAP_PCIE), pcie);
    assert_int_equal(mvf_cfgspace_find_cap(cs, MVF_CS_CAP_MSI), 0);

    /* Extended: ID, version, next. */
    assert_int_equal(rd(cs, 0x100, 4), 0x003 | 1u << 16 | 0x10cu << 20);
    assert_int_equal(rd(cs, 0x104, 4), 0x55667788);
    assert_int_equal(rd(cs, 0x108, 4), 0x11223344);
    assert_int_equal(rd(cs, 0x10c, 4), 0x000b | 1u << 16);
    assert_int_equal(mvf_cfgspace_find_ext_cap(cs, 0x000b), 0x10c);
    assert_int_equal(mvf_cfgspace_find_ext_cap(cs, MVF_CS_EXT_DSN), 0x100);
    assert_int_equal(mvf_cfgspace_find_ext_cap(cs, 0x0001), 0);

    /* Contents of the standard caps. */
    assert_int_equal(rd(cs, pm + MVF_CS_PM_PMC, 2) & 7, 3);
    assert_int_equal(rd(cs, msix + MVF_CS_MSIX_CTRL, 2), 3);
    assert_int_equal(rd(cs, msix + MVF_CS_MSIX_TABLE, 4), 4);
    assert_int_equal(rd(cs, msix + MVF_CS_MSIX_PBA, 4), 0x804);
    assert_int_equal(rd(cs, pcie + MVF_CS_PCIE_FLAGS, 2), 0x0002);
    assert_int_equal(rd(cs, pcie + MVF_CS_PCIE_LNKCAP, 4) & 0x3ff, 0x43);
    assert_int_equal(rd(cs, pcie + MVF_CS_PCIE_LNKCAP2, 4), 0x0e);
    free(cs);
}

static void test_cap_limits(void **state)
{
    struct mvf_cfgspace *cs = new_cs();
    struct mvf_cfgspace_pcie bad = { .max_payload = 6, .link_speed = 3,
                                     .link_width = 4 };
    uint16_t off;
    int rc, n = 0;

    assert_int_equal(mvf_cfgspace_add_cap(cs, 0x09, 1, &off), -EINVAL);
    assert_int_equal(mvf_cfgspace_add_ext_cap(cs, 1, 1, 3, &off), -EINVAL);
    assert_int_equal(mvf_cfgspace_add_ext_cap(cs, 1, 16, 8, &off), -EINVAL);
    assert_int_equal(mvf_cfgspace_add_msix(cs, 0, 0, 0, 0, 0, &off), -EINVAL);
    assert_int_equal(mvf_cfgspace_add_msix(cs, 2049, 0, 0, 0, 0, &off), -EINVAL);
    assert_int_equal(mvf_cfgspace_add_msix(cs, 4, 6, 0, 0, 0, &off), -EINVAL);
    assert_int_equal(mvf_cfgspace_add_msix(cs, 4, 0, 4, 0, 0, &off), -EINVAL);
    assert_int_equal(mvf_cfgspace_add_pcie(cs, &bad, &off), -EINVAL);
    bad.max_payload = 0;
    bad.link_width = 3;
    assert_int_equal(mvf_cfgspace_add_pcie(cs, &bad, &off), -EINVAL);
    /* Nothing above was linked in. */
    assert_int_equal(rd(cs, MVF_CS_CAP_PTR, 1), 0);

    /* Fill the standard area: 48 caps of 4 bytes, then no room. */
    while ((rc = mvf_cfgspace_add_cap(cs, 0x09, 4, &off)) == 0)
        n++;
    assert_int_equal(rc, -ENOSPC);
    assert_int_equal(n, 48);
    assert_int_equal(off, 0xfc);
    assert_int_equal(mvf_cfgspace_find_cap(cs, 0x0a), 0);  /* walk ends */

    n = 0;
    while ((rc = mvf_cfgspace_add_ext_cap(cs, 0x0b, 1, 0x100, &off)) == 0)
        n++;
    assert_int_equal(rc, -ENOSPC);
    assert_int_equal(n, 15);
    assert_int_equal(mvf_cfgspace_find_ext_cap(cs, 0x0c), 0);
    free(cs);
}

/* A corrupt chain (a device bug, or poke) must not loop the walk. */
static void test_cap_loop_bounded(void **state)
{
    struct mvf_cfgspace *cs = new_cs();
    uint16_t a, b;

    assert_int_equal(mvf_cfgspace_add_cap(cs, 0x09, 4, &a), 0);
    assert_int_equal(mvf_cfgspace_add_cap(cs, 0x09, 4, &b), 0);
    mvf_cfgspace_poke(cs, b + 1u, 1, a);             /* b -> a -> b ... */
    assert_int_equal(mvf_cfgspace_find_cap(cs, 0x11), 0);
    assert_int_equal(mvf_cfgspace_add_ext_cap(cs, 0x0b, 1, 4, &a), 0);
    mvf_cfgspace_poke(cs, a, 4, 0x000b | 0x100u << 20);  /* self loop */
    assert_int_equal(mvf_cfgspace_find_ext_cap(cs, 0x0c), 0);
    free(cs);
}

static void test_bar32(void **state)
{
    struct mvf_cfgspace *cs = new_cs();

    assert_int_equal(mvf_cfgspace_add_bar(cs, 0, 4096, 0), 0);
    assert_int_equal(mvf_cfgspace_add_bar(cs, 1, 1u << 20, MVF_BAR_PREFETCH), 0);
    assert_int_equal(mvf_cfgspace_add_bar(cs, 5, 1ull << 31, 0), 0);
    assert_int_equal(rd(cs, 0x10, 4), 0);
    assert_int_equal(rd(cs, 0x14, 4), 0x8);

    /* Sizing: all ones reads back the size mask with the type bits. */
    wr(cs, 0x10, 4, 0xffffffff);
    assert_int_equal(rd(cs, 0x10, 4), 0xfffff000);
    wr(cs, 0x14, 4, 0xffffffff);
    assert_int_equal(rd(cs, 0x14, 4), 0xfff00008);
    wr(cs, 0x24, 4, 0xffffffff);
    assert_int_equal(rd(cs, 0x24, 4), 0x80000000);
    /* An address keeps its bits above the size; type bits stay. */
    wr(cs, 0x10, 4, 0xfebc1234);
    assert_int_equal(rd(cs, 0x10, 4), 0xfebc1000);
    wr(cs, 0x14, 4, 0xe0000007);
    assert_int_equal(rd(cs, 0x14, 4), 0xe0000008);
    /* Byte writes behave the same. */
    wr(cs, 0x11, 1, 0xff);
    assert_int_equal(rd(cs, 0x10, 4), 0xfebcf000);
    /* Unimplemented BAR: reads 0 whatever is written. */
    wr(cs, 0x18, 4, 0xffffffff);
    assert_int_equal(rd(cs, 0x18, 4), 0);

    assert_int_equal(mvf_cfgspace_bar_size(cs, 0), 4096);
    assert_int_equal(mvf_cfgspace_bar_flags(cs, 0), MVF_BAR_IMPLEMENTED);
    assert_int_equal(mvf_cfgspace_bar_flags(cs, 1),
                     MVF_BAR_PREFETCH | MVF_BAR_IMPLEMENTED);
    assert_int_equal(mvf_cfgspace_bar_size(cs, 2), 0);
    assert_int_equal(mvf_cfgspace_bar_flags(cs, 2), 0);
    assert_int_equal(mvf_cfgspace_bar_size(cs, 6), 0);
    free(cs);
}

static void test_bar64(void **state)
{
    struct mvf_cfgspace *cs = new_cs();

    assert_int_equal(mvf_cfgspace_add_bar(cs, 0, 1u << 20, MVF_BAR_64BIT |
                                          MVF_BAR_PREFETCH | MVF_BAR_MAPPABLE),
                     0);
    assert_int_equal(mvf_cfgspace_add_bar(cs, 2, 8ull << 30, MVF_BAR_64BIT), 0);
    assert_int_equal(rd(cs, 0x10, 4), 0xc);
    assert_int_equal(rd(cs, 0x14, 4), 0);
    assert_int_equal(rd(cs, 0x18, 4), 0x4);

    wr(cs, 0x10, 4, 0xffffffff);
    wr(cs, 0x14, 4, 0xffffffff);
    assert_int_equal(rd(cs, 0x10, 4), 0xfff0000c);
    assert_int_equal(rd(cs, 0x14, 4), 0xffffffff);
    /* 8 GiB: nothing writable in the low dword, bit 0 of high is size. */
    wr(cs, 0x18, 4, 0xffffffff);
    wr(cs, 0x1c, 4, 0xffffffff);
    assert_int_equal(rd(cs, 0x18, 4), 0x00000004);
    assert_int_equal(rd(cs, 0x1c, 4), 0xfffffffe);
    /* Program an address above 4 GiB. */
    wr(cs, 0x10, 4, 0x12345678);
    wr(cs, 0x14, 4, 0x00000080);
    assert_int_equal(rd(cs, 0x10, 4), 0x1230000c);
    assert_int_equal(rd(cs, 0x14, 4), 0x80);

    assert_int_equal(mvf_cfgspace_bar_flags(cs, 0), MVF_BAR_64BIT |
                     MVF_BAR_PREFETCH | MVF_BAR_MAPPABLE | MVF_BAR_IMPLEMENTED);
    assert_int_equal(mvf_cfgspace_bar_size(cs, 1), 0);   /* upper half */
    assert_int_equal(mvf_cfgspace_bar_flags(cs, 1), 0);
    assert_int_equal(mvf_cfgspace_bar_size(cs, 2), 8ull << 30);
    free(cs);
}

static void test_bar_io_and_errors(void **state)
{
    struct mvf_cfgspace *cs = new_cs();

    assert_int_equal(mvf_cfgspace_add_bar(cs, 4, 32, MVF_BAR_IO), 0);
    assert_int_equal(rd(cs, 0x20, 4), 1);
    wr(cs, 0x20, 4, 0xffffffff);
    assert_int_equal(rd(cs, 0x20, 4), 0xffffffe1);
    /* The command register now decodes I/O. */
    wr(cs, MVF_CS_COMMAND, 2, 0xffff);
    assert_int_equal(rd(cs, MVF_CS_COMMAND, 2),
                     MVF_CS_CMD_IO | MVF_CS_CMD_MEMORY | MVF_CS_CMD_MASTER |
                     MVF_CS_CMD_PARITY | MVF_CS_CMD_SERR | MVF_CS_CMD_INTX_OFF);

    assert_int_equal(mvf_cfgspace_add_bar(cs, 4, 32, 0), -EBUSY);
    assert_int_equal(mvf_cfgspace_add_bar(cs, 3, 4096, MVF_BAR_64BIT), -EBUSY);
    assert_int_equal(mvf_cfgspace_add_bar(cs, 5, 4096, MVF_BAR_64BIT), -EINVAL);
    assert_int_equal(mvf_cfgspace_add_bar(cs, 6, 4096, 0), -EINVAL);
    assert_int_equal(mvf_cfgspace_add_bar(cs, 0, 3000, 0), -EINVAL);
    assert_int_equal(mvf_cfgspace_add_bar(cs, 0, 0, 0), -EINVAL);
    assert_int_equal(mvf_cfgspace_add_bar(cs, 0, 8, 0), -EINVAL);
    assert_int_equal(mvf_cfgspace_add_bar(cs, 0, 4ull << 30, 0), -EINVAL);
    assert_int_equal(mvf_cfgspace_add_bar(cs, 0, 512, MVF_BAR_IO), -EINVAL);
    assert_int_equal(mvf_cfgspace_add_bar(cs, 0, 16, MVF_BAR_IO |
                                          MVF_BAR_PREFETCH), -EINVAL);
    assert_int_equal(mvf_cfgspace_add_bar(cs, 0, 16, MVF_BAR_IO |
                                          MVF_BAR_64BIT), -EINVAL);
    assert_int_equal(mvf_cfgspace_add_bar(cs, 0, 1ull << 63, MVF_BAR_64BIT), 0);
    wr(cs, 0x10, 4, 0xffffffff);
    wr(cs, 0x14, 4, 0xffffffff);
    assert_int_equal(rd(cs, 0x10, 4), 0x4);
    assert_int_equal(rd(cs, 0x14, 4), 0x80000000);
    free(cs);
}

static void test_readonly(void **state)
{
    struct mvf_cfgspace *cs = new_cs();
    struct mvf_cfgspace_ids noint = test_ids;
    uint16_t msix, dsn;
    uint32_t before;

    assert_int_equal(mvf_cfgspace_add_msix(cs, 8, 2, 0x1000, 2, 0x2000, &msix), 0);
    assert_int_equal(mvf_cfgspace_add_dsn(cs, 42, &dsn), 0);

    wr(cs, 0x00, 4, 0xffffffff);                       /* IDs */
    wr(cs, 0x08, 4, 0);                                /* class, revision */
    wr(cs, MVF_CS_CAP_PTR, 1, 0x80);
    wr(cs, MVF_CS_INT_PIN, 1, 3);
    wr(cs, MVF_CS_HEADER_TYPE, 1, 0x81);
    wr(cs, msix + MVF_CS_MSIX_TABLE, 4, 0);
    wr(cs, dsn + 4u, 4, 0);
    assert_int_equal(rd(cs, 0x00, 4), 0x00e01b36);
    assert_int_equal(rd(cs, 0x08, 4), 0x01080207);
    assert_int_equal(rd(cs, MVF_CS_CAP_PTR, 1), msix);
    assert_int_equal(rd(cs, MVF_CS_INT_PIN, 1), 1);
    assert_int_equal(rd(cs, MVF_CS_HEADER_TYPE, 1), 0);
    assert_int_equal(rd(cs, msix + MVF_CS_MSIX_TABLE, 4), 0x1002);
    assert_int_equal(rd(cs, dsn + 4u, 4), 42);

    /* Mixed register: MSI-X control, only enable and mask change. */
    wr(cs, msix + MVF_CS_MSIX_CTRL, 2, 0xffff);
    assert_int_equal(rd(cs, msix + MVF_CS_MSIX_CTRL, 2), 0xc007);
    wr(cs, msix + MVF_CS_MSIX_CTRL, 2, 0);
    assert_int_equal(rd(cs, msix + MVF_CS_MSIX_CTRL, 2), 0x0007);

    /* Writable scratch-like fields. */
    wr(cs, MVF_CS_INT_LINE, 1, 0x0b);
    wr(cs, MVF_CS_CACHE_LINE, 1, 0x10);
    wr(cs, MVF_CS_LATENCY, 1, 0x40);                   /* RO on PCIe */
    assert_int_equal(rd(cs, MVF_CS_INT_LINE, 1), 0x0b);
    assert_int_equal(rd(cs, MVF_CS_CACHE_LINE, 2), 0x0010);

    /* Out of range and bad widths: refused, nothing changes. */
    before = rd(cs, 0xffc, 4);
    assert_int_equal(mvf_cfgspace_write(cs, 0xffe, 4, 0xffffffff), -EINVAL);
    assert_int_equal(mvf_cfgspace_write(cs, 0x1000, 1, 0xff), -EINVAL);
    assert_int_equal(mvf_cfgspace_write(cs, 0x04, 3, 0xff), -EINVAL);
    assert_int_equal(mvf_cfgspace_write(cs, UINT32_MAX, 4, 0), -EINVAL);
    assert_int_equal(rd(cs, 0xffc, 4), before);
    {
        uint32_t v = 0;

        assert_int_equal(mvf_cfgspace_read(cs, 0xfff, 2, &v), -EINVAL);
        assert_int_equal(v, 0xffffffff);
        assert_int_equal(mvf_cfgspace_read(cs, 0, 0, &v), -EINVAL);
        assert_int_equal(mvf_cfgspace_read(cs, 0, 8, &v), -EINVAL);
    }
    assert_int_equal(mvf_cfgspace_peek(cs, 0x1000, 1), 0);
    mvf_cfgspace_poke(cs, 0xfff, 4, 0xffffffff);         /* ignored */
    assert_int_equal(rd(cs, 0xffc, 4), before);

    /* A function without INTx hardwires INTx disable to 0. */
    noint.irq_pin = 0;
    mvf_cfgspace_init(cs, &noint);
    wr(cs, MVF_CS_COMMAND, 2, 0xffff);
    assert_int_equal(rd(cs, MVF_CS_COMMAND, 2),
                     MVF_CS_CMD_MEMORY | MVF_CS_CMD_MASTER |
                     MVF_CS_CMD_PARITY | MVF_CS_CMD_SERR);
    assert_true(mvf_cfgspace_bus_master(cs));
    free(cs);
}

static void test_rw1c(void **state)
{
    struct mvf_cfgspace *cs = new_cs();
    uint16_t pcie;

    assert_int_equal(mvf_cfgspace_add_pcie(cs, NULL, &pcie), 0);
    /* The device latches errors (device side, masks bypassed). */
    mvf_cfgspace_poke(cs, MVF_CS_STATUS, 2,
                      mvf_cfgspace_peek(cs, MVF_CS_STATUS, 2) | 0xf900);
    assert_int_equal(rd(cs, MVF_CS_STATUS, 2), 0xf910);
    wr(cs, MVF_CS_STATUS, 2, 0);                     /* 0s change nothing */
    assert_int_equal(rd(cs, MVF_CS_STATUS, 2), 0xf910);
    wr(cs, MVF_CS_STATUS, 2, 0x2000);                /* clear one */
    assert_int_equal(rd(cs, MVF_CS_STATUS, 2), 0xd910);
    wr(cs, MVF_CS_STATUS, 2, 0xffff);                /* cap list bit stays */
    assert_int_equal(rd(cs, MVF_CS_STATUS, 2), 0x0010);
    /* A byte write to the command register leaves status alone. */
    mvf_cfgspace_poke(cs, MVF_CS_STATUS + 1, 1, 0x80);
    wr(cs, MVF_CS_COMMAND, 1, 0x06);
    assert_int_equal(rd(cs, MVF_CS_COMMAND, 4), 0x80100006);
    /* A dword write of command + status: clears what it writes 1 to. */
    wr(cs, MVF_CS_COMMAND, 4, 0x80000006);
    assert_int_equal(rd(cs, MVF_CS_COMMAND, 4), 0x00100006);

    /* PCIe device status: four RW1C error bits, rest RO. */
    mvf_cfgspace_poke(cs, pcie + MVF_CS_PCIE_DEVSTA, 2, 0x002f);
    wr(cs, pcie + MVF_CS_PCIE_DEVSTA, 2, 0x0025);
    assert_int_equal(rd(cs, pcie + MVF_CS_PCIE_DEVSTA, 2), 0x002a);

    /* A bit set both ways ends up RW1C only. */
    mvf_cfgspace_set_wmask(cs, 0xe0, 1, 0xff);
    mvf_cfgspace_set_w1c(cs, 0xe0, 1, 0x0f);
    mvf_cfgspace_poke(cs, 0xe0, 1, 0x0f);
    wr(cs, 0xe0, 1, 0x33);
    assert_int_equal(rd(cs, 0xe0, 1), 0x3c);
    free(cs);
}

static void test_pm_states(void **state)
{
    struct mvf_cfgspace *cs = new_cs();
    uint16_t pm;

    assert_int_equal(mvf_cfgspace_add_pm(cs, &pm), 0);
    assert_int_equal(rd(cs, pm + MVF_CS_PM_PMCSR, 2), 0x0008);  /* D0, NSR */
    wr(cs, pm + MVF_CS_PM_PMCSR, 2, 0x0003);
    assert_int_equal(rd(cs, pm + MVF_CS_PM_PMCSR, 2), 0x000b);  /* D3hot */
    wr(cs, pm + MVF_CS_PM_PMCSR, 2, 0x0001);                    /* D1: no */
    assert_int_equal(rd(cs, pm + MVF_CS_PM_PMCSR, 2), 0x000b);
    wr(cs, pm + MVF_CS_PM_PMCSR, 1, 0x02);                      /* D2: no */
    assert_int_equal(rd(cs, pm + MVF_CS_PM_PMCSR, 2), 0x000b);
    wr(cs, pm + MVF_CS_PM_PMCSR, 2, 0xfff0);                    /* to D0 */
    assert_int_equal(rd(cs, pm + MVF_CS_PM_PMCSR, 2), 0x0008);
    free(cs);
}

static void test_reset(void **state)
{
    struct mvf_cfgspace *cs = new_cs();
    struct mvf_cfgspace *copy = malloc(sizeof(*copy));
    uint16_t msix;

    assert_non_null(copy);
    assert_int_equal(mvf_cfgspace_add_bar(cs, 0, 4096, 0), 0);
    assert_int_equal(mvf_cfgspace_add_msix(cs, 4, 0, 0, 0, 0x800, &msix), 0);
    memcpy(copy, cs, sizeof(*cs));

    wr(cs, MVF_CS_COMMAND, 2, 0x0006);
    wr(cs, 0x10, 4, 0xfe000000);
    wr(cs, msix + MVF_CS_MSIX_CTRL, 2, MVF_CS_MSIX_ENABLE);
    wr(cs, MVF_CS_INT_LINE, 1, 9);
    mvf_cfgspace_poke(cs, MVF_CS_STATUS, 2, 0xffff);
    mvf_cfgspace_poke(cs, 0x800, 4, 0xdeadbeef);
    assert_int_not_equal(memcmp(cs->data, copy->data, sizeof(cs->data)), 0);

    mvf_cfgspace_reset(cs);
    assert_memory_equal(cs->data, copy->data, sizeof(cs->data));
    assert_int_equal(rd(cs, MVF_CS_COMMAND, 2), 0);
    assert_int_equal(rd(cs, 0x10, 4), 0);
    assert_int_equal(rd(cs, msix + MVF_CS_MSIX_CTRL, 2), 3);
    assert_false(mvf_cfgspace_bus_master(cs));
    /* Masks survive the reset: sizing still works. */
    wr(cs, 0x10, 4, 0xffffffff);
    assert_int_equal(rd(cs, 0x10, 4), 0xfffff000);
    free(copy);
    free(cs);
}

/* Random writes and reads anywhere: never touch memory out of bounds,
 * never change a read-only bit (ASan/UBSan watch the former). */
static void test_random_writes(void **state)
{
    struct mvf_cfgspace *cs = new_cs();
    uint8_t ro_img[MVF_CS_SIZE];
    unsigned seed = 12345;

    assert_int_equal(mvf_cfgspace_add_bar(cs, 0, 4096, 0), 0);
    assert_int_equal(mvf_cfgspace_add_bar(cs, 2, 1u << 20, MVF_BAR_64BIT), 0);
    assert_int_equal(mvf_cfgspace_add_pm(cs, NULL), 0);
    assert_int_equal(mvf_cfgspace_add_msix(cs, 4, 4, 0, 4, 0x800, NULL), 0);
    assert_int_equal(mvf_cfgspace_add_pcie(cs, NULL, NULL), 0);
    assert_int_equal(mvf_cfgspace_add_dsn(cs, 1, NULL), 0);
    for (unsigned i = 0; i < MVF_CS_SIZE; i++)
        ro_img[i] = cs->data[i] & ~(cs->wmask[i] | cs->w1c[i]);
    for (unsigned i = 0; i < 200000; i++) {
        uint32_t off, val, v;
        unsigned w;

        seed = seed * 1103515245u + 12345u;
        off = (seed >> 8) % (MVF_CS_SIZE + 16);
        w = 1u << ((seed >> 4) & 3);               /* 1, 2, 4, 8 */
        seed = seed * 1103515245u + 12345u;
        val = seed ^ (seed << 7);
        (void)mvf_cfgspace_write(cs, off, w, val);
        (void)mvf_cfgspace_read(cs, off, w, &v);
    }
    for (unsigned i = 0; i < MVF_CS_SIZE; i++)
        assert_int_equal(cs->data[i] & ~(cs->wmask[i] | cs->w1c[i]), ro_img[i]);
    free(cs);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_header),
        cmocka_unit_test(test_cap_chain),
        cmocka_unit_test(test_cap_limits),
        cmocka_unit_test(test_cap_loop_bounded),
        cmocka_unit_test(test_bar32),
        cmocka_unit_test(test_bar64),
        cmocka_unit_test(test_bar_io_and_errors),
        cmocka_unit_test(test_readonly),
        cmocka_unit_test(test_rw1c),
        cmocka_unit_test(test_pm_states),
        cmocka_unit_test(test_reset),
        cmocka_unit_test(test_random_writes),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* SPDX-License-Identifier: MIT */
/* sim:dmatest: creation, options, config space, BAR2/BAR4, lifecycle. */
#include "dmatest.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "dmatest_priv.h"
#include "msix_table.h"
#include "options.h"

#ifndef FALLOC_FL_KEEP_SIZE
#include <linux/falloc.h>
#endif

static bool width_ok(uint32_t width)
{
    return width == 1 || width == 2 || width == 4 || width == 8;
}

static bool in_range(uint64_t off, uint32_t width, uint64_t size)
{
    return width_ok(width) && off < size && width <= size - off;
}

/* ---- config space ---------------------------------------------------- */

static int build_config(struct dmatest *d)
{
    static const struct mvf_cfgspace_ids ids = {
        .vendor_id = MVF_DMATEST_VENDOR_ID,
        .device_id = MVF_DMATEST_DEVICE_ID,
        .subsys_vendor_id = MVF_DMATEST_VENDOR_ID,
        .subsys_id = MVF_DMATEST_DEVICE_ID,
        .class_code = MVF_DMATEST_CLASS,
        .revision = MVF_DMATEST_REVISION,
        .irq_pin = 0,
    };
    struct mvf_cfgspace *cs = &d->cfg;
    int rc;

    mvf_cfgspace_init(cs, &ids);
    rc = mvf_cfgspace_add_bar(cs, MVF_DMATEST_REG_BAR, MVF_DMATEST_REG_SIZE, 0);
    if (!rc)
        rc = mvf_cfgspace_add_bar(cs, MVF_DMATEST_WIN_BAR, d->win_size,
                                  MVF_BAR_64BIT | MVF_BAR_PREFETCH |
                                  MVF_BAR_MAPPABLE);
    if (!rc)
        rc = mvf_cfgspace_add_bar(cs, MVF_DMATEST_MSIX_BAR,
                                  MVF_DMATEST_MSIX_SIZE, MVF_BAR_MSIX);
    if (!rc)
        rc = mvf_cfgspace_add_pm(cs, NULL);
    if (!rc)
        rc = mvf_cfgspace_add_msix(cs, MVF_DMATEST_NVEC, MVF_DMATEST_MSIX_BAR,
                                   MVF_DMATEST_MSIX_TABLE, MVF_DMATEST_MSIX_BAR,
                                   MVF_DMATEST_MSIX_PBA, NULL);
    if (!rc)
        rc = mvf_cfgspace_add_pcie(cs, NULL, NULL);
    if (!rc)
        rc = mvf_cfgspace_add_dsn(cs, d->serial, NULL);
    return rc;
}

static int dt_config_read(void *p, uint32_t off, uint32_t width, uint32_t *val)
{
    struct dmatest *d = p;

    return mvf_cfgspace_read(&d->cfg, off, width, val);
}

static int dt_config_write(void *p, uint32_t off, uint32_t width, uint32_t val)
{
    struct dmatest *d = p;

    return mvf_cfgspace_write(&d->cfg, off, width, val);
}

/* ---- BAR2: the RAM window -------------------------------------------- */

static int win_read(struct dmatest *d, uint64_t off, uint32_t width,
                    uint64_t *val)
{
    uint64_t v = 0;

    if (!in_range(off, width, d->win_size))
        return 0;
    memcpy(&v, d->win + off, width);   /* little-endian host assumed */
    *val = v;
    return 0;
}

static int win_write(struct dmatest *d, uint64_t off, uint32_t width,
                     uint64_t val)
{
    if (in_range(off, width, d->win_size))
        memcpy(d->win + off, &val, width);
    return 0;
}

/* Zeroes the window.  Punching a hole frees the pages instead of
 * touching every one of them; memset is the fallback. */
static void win_clear(struct dmatest *d)
{
    if (fallocate(d->win_fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0,
                  (off_t)d->win_size) != 0)
        memset(d->win, 0, d->win_size);
}

static int win_create(struct dmatest *d, char *err, size_t errlen)
{
    void *p;

    d->win_fd = memfd_create("mvf-dmatest-bar2", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    if (d->win_fd < 0) {
        int e = errno;

        snprintf(err, errlen, "sim:dmatest: memfd_create: %s", strerror(e));
        return -e;
    }
    /* Sealed at its size so no client holding the fd can shrink it
     * under the daemon's mapping (SIGBUS) or grow it. */
    if (ftruncate(d->win_fd, (off_t)d->win_size) != 0 ||
        fcntl(d->win_fd, F_ADD_SEALS,
              F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) != 0) {
        int e = errno;

        snprintf(err, errlen, "sim:dmatest: sizing/sealing the window: %s",
                 strerror(e));
        return -e;
    }
    p = mmap(NULL, d->win_size, PROT_READ | PROT_WRITE, MAP_SHARED,
             d->win_fd, 0);
    if (p == MAP_FAILED) {
        int e = errno;

        snprintf(err, errlen, "sim:dmatest: mmap of the window: %s",
                 strerror(e));
        return -e;
    }
    d->win = p;
    return 0;
}

/* ---- BAR4: MSI-X table and PBA ------------------------------------- */

static void msix_reset(struct dmatest *d)
{
    memset(d->msix, 0, sizeof(d->msix));
    mvf_msix_table_reset(d->msix + MVF_DMATEST_MSIX_TABLE, MVF_DMATEST_NVEC);
}

/* Table bytes as stored; the PBA and the gaps read 0. */
static int msix_read(struct dmatest *d, uint64_t off, uint32_t width,
                     uint64_t *val)
{
    if (in_range(off, width, MVF_DMATEST_MSIX_SIZE))
        *val = mvf_msix_table_read(d->msix + MVF_DMATEST_MSIX_TABLE,
                                   MVF_DMATEST_NVEC,
                                   off - MVF_DMATEST_MSIX_TABLE, width);
    return 0;
}

static int msix_write(struct dmatest *d, uint64_t off, uint32_t width,
                      uint64_t val)
{
    if (in_range(off, width, MVF_DMATEST_MSIX_SIZE))
        mvf_msix_table_write(d->msix + MVF_DMATEST_MSIX_TABLE, MVF_DMATEST_NVEC,
                             off - MVF_DMATEST_MSIX_TABLE, width, val);
    return 0;
}

/* ---- provider ops ---------------------------------------------------- */

/* Bad BAR numbers, widths and offsets read 0 and drop writes: the core
 * checks them first, this is the second line. */
static int dt_bar_read(void *p, uint32_t bar, uint64_t off, uint32_t width,
                       uint64_t *val)
{
    struct dmatest *d = p;

    *val = 0;
    switch (bar) {
    case MVF_DMATEST_REG_BAR:  return dmatest_regs_read(d, off, width, val);
    case MVF_DMATEST_WIN_BAR:  return win_read(d, off, width, val);
    case MVF_DMATEST_MSIX_BAR: return msix_read(d, off, width, val);
    default:                   return 0;
    }
}

static int dt_bar_write(void *p, uint32_t bar, uint64_t off, uint32_t width,
                        uint64_t val)
{
    struct dmatest *d = p;

    switch (bar) {
    case MVF_DMATEST_REG_BAR:  return dmatest_regs_write(d, off, width, val);
    case MVF_DMATEST_WIN_BAR:  return win_write(d, off, width, val);
    case MVF_DMATEST_MSIX_BAR: return msix_write(d, off, width, val);
    default:                   return 0;
    }
}

static int dt_bar_object(void *p, uint32_t bar, int *obj)
{
    struct dmatest *d = p;

    if (bar != MVF_DMATEST_WIN_BAR)
        return -ENOTSUP;
    *obj = d->win_fd;
    return 0;
}

/* The owner changed: the old owner may still have BAR2 mapped, so the
 * device moves to a fresh memfd and the old one is left to it, detached
 * and inert. */
static int dt_revoke_mappings(void *p)
{
    struct dmatest *d = p;
    uint8_t *old_win = d->win;
    int old_fd = d->win_fd, ret;
    char err[128];

    ret = win_create(d, err, sizeof(err));
    if (ret) {
        /* win_create may fail after creating the memfd: drop it. */
        if (d->win_fd >= 0 && d->win_fd != old_fd)
            close(d->win_fd);
        d->win = old_win;
        d->win_fd = old_fd;
        return ret;
    }
    munmap(old_win, d->win_size);
    close(old_fd);
    return 0;
}

static void dt_attach(void *p, struct mvf_device *dev)
{
    struct dmatest *d = p;

    d->dev = dev;
}

static int dt_reset(void *p)
{
    struct dmatest *d = p;

    mvf_cfgspace_reset(&d->cfg);
    dmatest_regs_reset(d);
    msix_reset(d);
    win_clear(d);
    /* msix_enabled is the host's interrupt setup, not device state: it
     * survives a reset the way Linux restores MSI-X around a VFIO reset. */
    return 0;
}

static int dt_irq_configure(void *p, uint32_t type, uint32_t nvec)
{
    struct dmatest *d = p;

    return mvf_msix_only_configure(&d->msix_enabled, MVF_DMATEST_NVEC, type,
                                   nvec);
}

static void dt_free(struct dmatest *d)
{
    if (d->win)
        munmap(d->win, d->win_size);
    if (d->win_fd >= 0)
        close(d->win_fd);
    free(d);
}

static void dt_destroy(void *p)
{
    if (p)
        dt_free(p);
}

static const struct mvf_provider_ops dmatest_ops = {
    .attach = dt_attach,
    .config_read = dt_config_read,
    .config_write = dt_config_write,
    .bar_read = dt_bar_read,
    .bar_write = dt_bar_write,
    .bar_object = dt_bar_object,
    .reset = dt_reset,
    .revoke_mappings = dt_revoke_mappings,
    .irq_configure = dt_irq_configure,
    /* No DMA mapping hooks: the core's DART model assigns IOVAs. */
    .destroy = dt_destroy,
};

/* ---- creation ---------------------------------------------------------- */

static int parse_args(const char *args, uint64_t *win, uint64_t *serial,
                      char *err, size_t errlen)
{
    bool have_win = false, have_serial = false;
    const char *cur = args ? args : "";
    struct mvf_sim_opt o;
    int rc;

    while ((rc = mvf_sim_opt_next(&cur, &o, err, errlen)) > 0) {
        if (strcmp(o.key, "window") == 0) {
            if (have_win)
                goto dup;
            have_win = true;
            if (mvf_sim_parse_u64(o.val, 1, win) != 0 ||
                *win < MVF_DMATEST_WIN_MIN || *win > MVF_DMATEST_WIN_MAX ||
                (*win & (*win - 1)) != 0) {
                snprintf(err, errlen, "sim:dmatest: window=%.40s: need a "
                         "power of two from 4K to 1G (e.g. window=1M)", o.val);
                return -EINVAL;
            }
        } else if (strcmp(o.key, "serial") == 0) {
            if (have_serial)
                goto dup;
            have_serial = true;
            if (mvf_sim_parse_u64(o.val, 0, serial) != 0) {
                snprintf(err, errlen, "sim:dmatest: serial=%.40s: need a "
                         "64-bit number (decimal or 0x hex)", o.val);
                return -EINVAL;
            }
        } else {
            snprintf(err, errlen, "sim:dmatest: unknown option \"%s\" "
                     "(known: window, serial)", o.key);
            return -EINVAL;
        }
    }
    if (rc < 0) {
        /* Prefix the parser's reason with the device name. */
        char why[MVF_ERRMSG_MAX];

        snprintf(why, sizeof(why), "%s", errlen ? err : "");
        snprintf(err, errlen, "sim:dmatest: %s", why);
    }
    return rc;
dup:
    snprintf(err, errlen, "sim:dmatest: option \"%s\" given twice", o.key);
    return -EINVAL;
}

int mvf_sim_dmatest_create(const char *args, struct mvf_provider *out,
                           char *err, size_t errlen)
{
    uint64_t win = MVF_DMATEST_WIN_DEFAULT, serial = MVF_DMATEST_DEFAULT_SERIAL;
    struct dmatest *d;
    int rc;

    if (!err)
        errlen = 0;     /* snprintf(NULL, 0, ...) is a no-op */
    else if (errlen)
        err[0] = '\0';
    if (!out)
        return -EINVAL;
    memset(out, 0, sizeof(*out));
    rc = parse_args(args, &win, &serial, err, errlen);
    if (rc < 0)
        return rc;

    d = calloc(1, sizeof(*d));
    if (!d) {
        snprintf(err, errlen, "sim:dmatest: out of memory");
        return -ENOMEM;
    }
    d->win_fd = -1;
    d->win_size = win;
    d->serial = serial;
    rc = win_create(d, err, errlen);
    if (rc < 0) {
        dt_free(d);
        return rc;
    }
    rc = build_config(d);
    if (rc < 0) {
        snprintf(err, errlen, "sim:dmatest: building config space: %s",
                 strerror(-rc));
        dt_free(d);
        return rc;
    }
    dmatest_regs_reset(d);
    msix_reset(d);

    out->ops = &dmatest_ops;
    out->priv = d;
    out->name = "sim:dmatest";
    for (unsigned b = 0; b < MVF_NUM_BARS; b++) {
        out->bars[b].size = mvf_cfgspace_bar_size(&d->cfg, b);
        out->bars[b].flags = mvf_cfgspace_bar_flags(&d->cfg, b);
    }
    out->irq_count[MVF_IRQ_MSIX] = MVF_DMATEST_NVEC;
    return 0;
}

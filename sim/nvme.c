/* SPDX-License-Identifier: MIT */
/* sim:nvme: creation, options, config space, the MSI-X table, lifecycle. */
#include "nvme.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "msix_table.h"
#include "nvme_priv.h"
#include "options.h"

/* Default serials number the devices of one daemon in creation order. */
static unsigned instances;

void nvme_warn(struct nvme *n, const char *fmt, ...)
{
    char msg[256];
    va_list ap;

    if (!n->dev)
        return;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    /* The caller's format is the cause the core rate-limits by. */
    mvf_device_log_cause(n->dev, fmt, MVF_LOG_WARN, "%s", msg);
}

/* ---- config space ---------------------------------------------------- */

static int build_config(struct nvme *n)
{
    static const struct mvf_cfgspace_ids ids = {
        .vendor_id = MVF_NVME_VENDOR_ID,
        .device_id = MVF_NVME_DEVICE_ID,
        .subsys_vendor_id = MVF_NVME_VENDOR_ID,
        .subsys_id = MVF_NVME_DEVICE_ID,
        .class_code = MVF_NVME_CLASS,
        .revision = MVF_NVME_REVISION,
        .irq_pin = 0,
    };
    struct mvf_cfgspace *cs = &n->cfg;
    int rc;

    mvf_cfgspace_init(cs, &ids);
    rc = mvf_cfgspace_add_bar(cs, MVF_NVME_BAR, MVF_NVME_BAR_SIZE,
                              MVF_BAR_64BIT | MVF_BAR_MSIX);
    if (!rc)
        rc = mvf_cfgspace_add_pm(cs, NULL);
    if (!rc)
        rc = mvf_cfgspace_add_msix(cs, n->nvec, MVF_NVME_BAR,
                                   MVF_NVME_MSIX_TABLE, MVF_NVME_BAR,
                                   MVF_NVME_MSIX_PBA, NULL);
    if (!rc)
        rc = mvf_cfgspace_add_pcie(cs, NULL, NULL);
    return rc;
}

static int nv_config_read(void *p, uint32_t off, uint32_t width, uint32_t *val)
{
    struct nvme *n = p;

    return mvf_cfgspace_read(&n->cfg, off, width, val);
}

static int nv_config_write(void *p, uint32_t off, uint32_t width, uint32_t val)
{
    struct nvme *n = p;

    return mvf_cfgspace_write(&n->cfg, off, width, val);
}

/* ---- MSI-X table and PBA (BAR0 from 0x2000) ---------------------------- */

static bool width_ok(uint32_t width)
{
    return width == 1 || width == 2 || width == 4 || width == 8;
}

/* Offset a of BAR0 is inside the table (unsigned wrap below it). */
static void msix_reset(struct nvme *n)
{
    memset(n->msix, 0, sizeof(n->msix));
    mvf_msix_table_reset(n->msix, n->nvec);
}

/* Table bytes as stored; the PBA and the gaps read 0. */
static void msix_read(const struct nvme *n, uint64_t off, uint32_t width,
                      uint64_t *val)
{
    *val = mvf_msix_table_read(n->msix, n->nvec, off - MVF_NVME_MSIX_TABLE,
                               width);
}

static void msix_write(struct nvme *n, uint64_t off, uint32_t width,
                       uint64_t val)
{
    mvf_msix_table_write(n->msix, n->nvec, off - MVF_NVME_MSIX_TABLE, width,
                         val);
}

/* ---- provider ops ------------------------------------------------------ */

/* Bad BAR numbers, widths and offsets read 0 and drop writes: the core
 * checks them first, this is the second line. */
static int nv_bar_read(void *p, uint32_t bar, uint64_t off, uint32_t width,
                       uint64_t *val)
{
    struct nvme *n = p;

    *val = 0;
    if (bar != MVF_NVME_BAR || !width_ok(width) || off >= MVF_NVME_BAR_SIZE ||
        width > MVF_NVME_BAR_SIZE - off)
        return 0;
    if (off < MVF_NVME_MSIX_TABLE)
        return nvme_regs_read(n, off, width, val);
    msix_read(n, off, width, val);
    return 0;
}

static int nv_bar_write(void *p, uint32_t bar, uint64_t off, uint32_t width,
                        uint64_t val)
{
    struct nvme *n = p;

    if (bar != MVF_NVME_BAR || !width_ok(width) || off >= MVF_NVME_BAR_SIZE ||
        width > MVF_NVME_BAR_SIZE - off)
        return 0;
    if (off < MVF_NVME_MSIX_TABLE)
        return nvme_regs_write(n, off, width, val);
    msix_write(n, off, width, val);
    return 0;
}

static void nv_attach(void *p, struct mvf_device *dev)
{
    struct nvme *n = p;

    n->dev = dev;
}

static int nv_reset(void *p)
{
    struct nvme *n = p;

    mvf_cfgspace_reset(&n->cfg);
    nvme_regs_power_on(n);
    msix_reset(n);
    /* The namespace keeps its data, as a drive does across resets.
     * msix_enabled is the host's interrupt setup, not device state: it
     * survives, the way Linux restores MSI-X around a VFIO reset. */
    return 0;
}

static int nv_irq_configure(void *p, uint32_t type, uint32_t nvec)
{
    struct nvme *n = p;

    return mvf_msix_only_configure(&n->msix_enabled, n->nvec, type, nvec);
}

/* The transfer buffer: MDTS bytes mapped on demand (a device that only
 * ever moves 4 KiB never commits the rest), followed by an inaccessible
 * guard page so that an overrun faults at once. */
#define BUF_MAP_SIZE (MVF_NVME_MAX_XFER + MVF_NVME_PAGE_SIZE)

static uint8_t *buf_create(void)
{
    uint8_t *p = mmap(NULL, BUF_MAP_SIZE, PROT_READ | PROT_WRITE,
                      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

    if (p == MAP_FAILED)
        return NULL;
    if (mprotect(p + MVF_NVME_MAX_XFER, MVF_NVME_PAGE_SIZE, PROT_NONE) != 0) {
        munmap(p, BUF_MAP_SIZE);
        return NULL;
    }
    return p;
}

static void nv_free(struct nvme *n)
{
    nvme_store_close(&n->store);
    free(n->sq);
    free(n->cq);
    if (n->buf)
        munmap(n->buf, BUF_MAP_SIZE);
    free(n->segs);
    free(n->spans.span);
    free(n);
}

static void nv_destroy(void *p)
{
    if (p)
        nv_free(p);
}

static bool nv_run_work(void *p)
{
    return nvme_run_work(p);
}

static const struct mvf_provider_ops nvme_ops = {
    .attach = nv_attach,
    .config_read = nv_config_read,
    .config_write = nv_config_write,
    .bar_read = nv_bar_read,
    .bar_write = nv_bar_write,
    /* No bar_object: BAR0 has side effects and is trapped only, so
     * there is no client mapping to revoke either. */
    .reset = nv_reset,
    .irq_configure = nv_irq_configure,
    .run_work = nv_run_work,
    .destroy = nv_destroy,
};

/* ---- options ----------------------------------------------------------- */

struct nvme_opts {
    char file[MVF_SIM_OPT_VAL_MAX];   /* "" for RAM */
    uint64_t size;
    bool have_size;
    uint32_t queues;
    char serial[MVF_NVME_SERIAL_MAX + 1];  /* "" for the default */
};

static int parse_value(struct nvme_opts *o, const struct mvf_sim_opt *opt,
                       char *err, size_t errlen)
{
    uint64_t v;

    if (strcmp(opt->key, "file") == 0) {
        snprintf(o->file, sizeof(o->file), "%s", opt->val);
    } else if (strcmp(opt->key, "size") == 0) {
        if (mvf_sim_parse_u64(opt->val, 1, &v) != 0 || v < 4096 ||
            v > MVF_NVME_RAM_MAX || v % 4096) {
            snprintf(err, errlen, "sim:nvme: size=%.40s: need a multiple of "
                     "4K from 4K to 1T (e.g. size=64M)", opt->val);
            return -EINVAL;
        }
        o->size = v;
        o->have_size = true;
    } else if (strcmp(opt->key, "queues") == 0) {
        if (mvf_sim_parse_u64(opt->val, 0, &v) != 0 || v < 1 ||
            v > MVF_NVME_QUEUES_MAX) {
            snprintf(err, errlen, "sim:nvme: queues=%.40s: need 1 to %u I/O "
                     "queue pairs", opt->val, MVF_NVME_QUEUES_MAX);
            return -EINVAL;
        }
        o->queues = (uint32_t)v;
    } else if (strcmp(opt->key, "serial") == 0) {
        if (strlen(opt->val) > MVF_NVME_SERIAL_MAX) {
            snprintf(err, errlen, "sim:nvme: serial=%.40s: at most %u "
                     "characters", opt->val, MVF_NVME_SERIAL_MAX);
            return -EINVAL;
        }
        snprintf(o->serial, sizeof(o->serial), "%s", opt->val);
    } else {
        snprintf(err, errlen, "sim:nvme: unknown option \"%s\" (known: file, "
                 "size, queues, serial)", opt->key);
        return -EINVAL;
    }
    return 0;
}

static int parse_args(const char *args, struct nvme_opts *o, char *err,
                      size_t errlen)
{
    static const char *const keys[] = { "file", "size", "queues", "serial" };
    const char *cur = args ? args : "";
    unsigned seen = 0;
    struct mvf_sim_opt opt;
    int rc;

    while ((rc = mvf_sim_opt_next(&cur, &opt, err, errlen)) > 0) {
        for (unsigned k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) {
            if (strcmp(opt.key, keys[k]) != 0)
                continue;
            if (seen & (1u << k)) {
                snprintf(err, errlen, "sim:nvme: option \"%s\" given twice",
                         opt.key);
                return -EINVAL;
            }
            seen |= 1u << k;
        }
        rc = parse_value(o, &opt, err, errlen);
        if (rc)
            return rc;
    }
    if (rc < 0) {
        /* Prefix the parser's reason with the device name. */
        char why[MVF_ERRMSG_MAX];

        snprintf(why, sizeof(why), "%s", errlen ? err : "");
        snprintf(err, errlen, "sim:nvme: %s", why);
        return rc;
    }
    if (o->file[0] && o->have_size) {
        snprintf(err, errlen, "sim:nvme: size= is for RAM-backed devices; "
                 "with file= the namespace is the file's size");
        return -EINVAL;
    }
    return 0;
}

/* ---- identity ---------------------------------------------------------- */

static uint64_t fnv1a(const char *s, uint64_t seed)
{
    uint64_t h = 0xcbf29ce484222325ull ^ seed;

    for (; *s; s++) {
        h ^= (uint8_t)*s;
        h *= 0x100000001b3ull;
    }
    return h;
}

/* NGUID and UUID derive from the serial, so they are stable for a given
 * command line and differ between devices. */
static void derive_ids(struct nvme *n)
{
    for (unsigned i = 0; i < 2; i++) {
        nvme_put_le64(n->nguid + 8 * i, fnv1a(n->serial, 0x4e47 + i));
        nvme_put_le64(n->uuid + 8 * i, fnv1a(n->serial, 0x5555 + i));
    }
    n->uuid[6] = (uint8_t)((n->uuid[6] & 0x0f) | 0x40);  /* version 4 */
    n->uuid[8] = (uint8_t)((n->uuid[8] & 0x3f) | 0x80);  /* RFC 4122 */
}

/* ---- creation ---------------------------------------------------------- */

static int nvme_alloc(struct nvme *n, const struct nvme_opts *o, char *err,
                      size_t errlen)
{
    n->nqueues = o->queues;
    n->nvec = o->queues + 1;
    n->sq = calloc(n->nqueues + 1, sizeof(*n->sq));
    n->cq = calloc(n->nqueues + 1, sizeof(*n->cq));
    n->buf = buf_create();
    n->segs = calloc(NVME_SEGS_MAX, sizeof(*n->segs));
    n->spans.span = calloc(NVME_SPANS_MAX, sizeof(*n->spans.span));
    n->spans.max = NVME_SPANS_MAX;
    if (!n->sq || !n->cq || !n->buf || !n->segs || !n->spans.span) {
        snprintf(err, errlen, "sim:nvme: out of memory");
        return -ENOMEM;
    }
    return nvme_store_open(&n->store, o->file[0] ? o->file : NULL, o->size,
                           err, errlen);
}

int mvf_sim_nvme_create(const char *args, struct mvf_provider *out,
                        char *err, size_t errlen)
{
    struct nvme_opts o;
    struct nvme *n;
    int rc;

    if (!err)
        errlen = 0;     /* snprintf(NULL, 0, ...) is a no-op */
    else if (errlen)
        err[0] = '\0';
    if (!out)
        return -EINVAL;
    memset(out, 0, sizeof(*out));
    memset(&o, 0, sizeof(o));
    o.size = MVF_NVME_RAM_DEFAULT;
    o.queues = MVF_NVME_QUEUES_DEFAULT;
    rc = parse_args(args, &o, err, errlen);
    if (rc < 0)
        return rc;

    n = calloc(1, sizeof(*n));
    if (!n) {
        snprintf(err, errlen, "sim:nvme: out of memory");
        return -ENOMEM;
    }
    n->store.fd = -1;
    rc = nvme_alloc(n, &o, err, errlen);
    if (rc < 0) {
        nv_free(n);
        return rc;
    }
    rc = build_config(n);
    if (rc < 0) {
        snprintf(err, errlen, "sim:nvme: building config space: %s",
                 strerror(-rc));
        nv_free(n);
        return rc;
    }
    instances++;
    if (o.serial[0])
        snprintf(n->serial, sizeof(n->serial), "%s", o.serial);
    else
        snprintf(n->serial, sizeof(n->serial), "MVFNVME%04u", instances);
    derive_ids(n);
    n->nsze = n->store.size >> MVF_NVME_LBA_SHIFT;
    nv_reset(n);

    out->ops = &nvme_ops;
    out->priv = n;
    out->name = "sim:nvme";
    for (unsigned b = 0; b < MVF_NUM_BARS; b++) {
        out->bars[b].size = mvf_cfgspace_bar_size(&n->cfg, b);
        out->bars[b].flags = mvf_cfgspace_bar_flags(&n->cfg, b);
    }
    out->irq_count[MVF_IRQ_MSIX] = n->nvec;
    return 0;
}

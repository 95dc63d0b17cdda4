/* SPDX-License-Identifier: MIT */
/* Device discovery and binding: DEVICE_LIST, DEVICE_OPEN, DEVICE_INFO,
 * and "BB:DD.F" addresses. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "handle.h"

#define INFO_SIZE ((uint32_t)sizeof(struct mvf_device_info))

/* Parses min_digits..max_digits hex digits at *s and advances it. */
static int parse_hex(const char **s, unsigned min_digits, unsigned max_digits,
                     unsigned *val)
{
    unsigned n = 0, v = 0;

    while (n < max_digits) {
        char c = (*s)[n];
        unsigned d;
        if (c >= '0' && c <= '9')
            d = (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f')
            d = (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            d = (unsigned)(c - 'A' + 10);
        else
            break;
        v = v * 16 + d;
        n++;
    }
    if (n < min_digits)
        return -EINVAL;
    *s += n;
    *val = v;
    return 0;
}

MVF_EXPORT int mvf_bdf_parse(const char *s, uint16_t *domain, uint8_t *bus,
                             uint8_t *devfn)
{
    unsigned a, b, dev, fn, dom = 0, bu;
    const char *p = s;

    if (!s || !domain || !bus || !devfn)
        return -EINVAL;
    /* Either dom:bus:dev.fn or bus:dev.fn: read two fields, then decide. */
    if (parse_hex(&p, 1, 4, &a) || *p++ != ':' || parse_hex(&p, 1, 2, &b))
        return -EINVAL;
    if (*p == ':') {
        p++;
        dom = a;
        bu = b;
        if (parse_hex(&p, 1, 2, &dev))
            return -EINVAL;
    } else {
        if (a > 0xff)
            return -EINVAL;
        bu = a;
        dev = b;
    }
    if (*p++ != '.' || parse_hex(&p, 1, 1, &fn) || *p != '\0')
        return -EINVAL;
    if (dev > 0x1f || fn > 7)
        return -EINVAL;
    *domain = (uint16_t)dom;
    *bus = (uint8_t)bu;
    *devfn = (uint8_t)(dev << 3 | fn);
    return 0;
}

MVF_EXPORT void mvf_bdf_format(const struct mvf_device_info *info,
                               char buf[MVF_BDF_STRLEN])
{
    snprintf(buf, MVF_BDF_STRLEN, "%04x:%02x:%02x.%x", info->domain & 0xffffu,
             info->bus & 0xffu, (info->devfn >> 3) & 0x1fu, info->devfn & 7u);
}

/* Fetches the whole list into a fresh array; returns the count. */
static int fetch_list(struct mvf_handle *h, struct mvf_device_info **list)
{
    struct mvf_xfer x;
    uint32_t cap, n;
    unsigned char *buf;
    int rc;

    cap = h->max_struct / INFO_SIZE * INFO_SIZE;
    buf = malloc(cap);
    if (!buf)
        return mvfl_fail(-ENOMEM, "device list: out of memory");
    mvfl_xfer_init(&x, MVF_SEL_DEVICE_LIST);
    x.struct_out = buf;
    x.struct_out_cap = cap;
    rc = mvfl_call(h, &x);
    if (rc < 0) {
        free(buf);
        return rc;
    }
    if (x.struct_out_len % INFO_SIZE) {
        free(buf);
        return mvfl_bad_reply(h, MVF_SEL_DEVICE_LIST,
                              "%u bytes is not a whole number of entries",
                              x.struct_out_len);
    }
    n = x.struct_out_len / INFO_SIZE;
    *list = (struct mvf_device_info *)(void *)buf;
    for (uint32_t i = 0; i < n; i++) {
        struct mvf_device_info *d = &(*list)[i];
        d->name[sizeof(d->name) - 1] = '\0';
        if (d->index != i) {
            uint32_t claimed = d->index;
            free(buf);
            *list = NULL;
            return mvfl_bad_reply(h, MVF_SEL_DEVICE_LIST,
                                  "entry %u claims index %u", i, claimed);
        }
    }
    return (int)n;
}

MVF_EXPORT int mvf_device_list(struct mvf_handle *h, struct mvf_device_info *out,
                               uint32_t cap)
{
    struct mvf_device_info *list = NULL;
    int n;

    if (!h || (cap && !out))
        return mvfl_fail(-EINVAL, "device list: NULL argument");
    n = fetch_list(h, &list);
    if (n < 0)
        return n;
    if (n)
        memcpy(out, list, sizeof(*list) * ((uint32_t)n < cap ? (uint32_t)n : cap));
    free(list);
    return n;
}

MVF_EXPORT int mvf_device_find(struct mvf_handle *h, const char *spec,
                               uint32_t *index)
{
    struct mvf_device_info *list = NULL;
    uint16_t dom;
    uint8_t bus, devfn;
    bool by_bdf;
    int n, found = -1, matches = 0;

    if (!h || !spec || !index)
        return mvfl_fail(-EINVAL, "device find: NULL argument");
    by_bdf = mvf_bdf_parse(spec, &dom, &bus, &devfn) == 0;
    n = fetch_list(h, &list);
    if (n < 0)
        return n;
    for (int i = 0; i < n; i++) {
        const struct mvf_device_info *d = &list[i];
        bool hit = by_bdf ? (d->domain == dom && d->bus == bus &&
                             d->devfn == devfn)
                          : strcmp(d->name, spec) == 0;
        if (hit && matches++ == 0)
            found = i;
    }
    free(list);
    if (matches == 0)
        return mvfl_fail(-ENODEV, "no device %s \"%s\" among %d",
                         by_bdf ? "at" : "named", spec, n);
    if (matches > 1)
        return mvfl_fail(-EINVAL, "%d devices match \"%s\"; use a BB:DD.F "
                         "address", matches, spec);
    *index = (uint32_t)found;
    return 0;
}

MVF_EXPORT int mvf_device_open(struct mvf_handle *h, uint32_t index)
{
    uint64_t in[1] = { index };

    return mvfl_call_scalars(h, MVF_SEL_DEVICE_OPEN, in, 1, NULL, 0);
}

MVF_EXPORT int mvf_device_open_spec(struct mvf_handle *h, const char *spec)
{
    uint32_t index;
    int rc = mvf_device_find(h, spec, &index);

    return rc ? rc : mvf_device_open(h, index);
}

MVF_EXPORT int mvf_device_get_info(struct mvf_handle *h,
                                   struct mvf_device_info *out)
{
    struct mvf_device_info info;
    struct mvf_xfer x;
    int rc;

    if (!h || !out)
        return mvfl_fail(-EINVAL, "device info: NULL argument");
    mvfl_xfer_init(&x, MVF_SEL_DEVICE_INFO);
    x.struct_out = &info;
    x.struct_out_cap = sizeof(info);
    rc = mvfl_call(h, &x);
    if (rc < 0)
        return rc;
    if (x.struct_out_len != sizeof(info))
        return mvfl_bad_reply(h, MVF_SEL_DEVICE_INFO, "%u bytes, not %zu",
                              x.struct_out_len, sizeof(info));
    info.name[sizeof(info.name) - 1] = '\0';
    *out = info;
    return 0;
}

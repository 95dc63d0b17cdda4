/* SPDX-License-Identifier: MIT */
/* Strict ",key=value" option parsing for simulated devices (options.h). */
#include "options.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

static bool key_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-';
}

/* Printable ASCII except ',' (the separator) and '=' (ambiguous). */
static bool val_char(char c)
{
    return c > ' ' && c < 0x7f && c != ',' && c != '=';
}

int mvf_sim_opt_next(const char **cur, struct mvf_sim_opt *opt, char *err,
                     size_t errlen)
{
    const char *p = *cur, *key, *val;
    size_t klen = 0, vlen = 0;

    if (*p == '\0')
        return 0;
    if (*p != ',') {
        snprintf(err, errlen, "options must follow the device name as "
                 "\",key=value\", got \"%.40s\"", p);
        return -EINVAL;
    }
    key = ++p;
    while (key_char(*p) && klen < sizeof(opt->key)) {
        p++;
        klen++;
    }
    if (klen == 0) {
        snprintf(err, errlen, "empty or malformed option name at \"%.40s\"",
                 key);
        return -EINVAL;
    }
    if (klen >= sizeof(opt->key)) {
        snprintf(err, errlen, "option name too long at \"%.40s\"", key);
        return -EINVAL;
    }
    if (*p != '=') {
        snprintf(err, errlen, "option \"%.*s\" needs \"=value\" (names "
                 "use a-z, 0-9, '_', '-')", (int)klen, key);
        return -EINVAL;
    }
    val = ++p;
    while (val_char(*p) && vlen < sizeof(opt->val)) {
        p++;
        vlen++;
    }
    if (vlen == 0) {
        snprintf(err, errlen, "option \"%.*s\" has an empty value",
                 (int)klen, key);
        return -EINVAL;
    }
    if (vlen >= sizeof(opt->val)) {
        snprintf(err, errlen, "value of option \"%.*s\" is too long",
                 (int)klen, key);
        return -EINVAL;
    }
    if (*p != '\0' && *p != ',') {
        snprintf(err, errlen, "bad character in the value of option "
                 "\"%.*s\"", (int)klen, key);
        return -EINVAL;
    }
    memcpy(opt->key, key, klen);
    opt->key[klen] = '\0';
    memcpy(opt->val, val, vlen);
    opt->val[vlen] = '\0';
    *cur = p;
    return 1;
}

static int digit(char c, unsigned base)
{
    int d;

    if (c >= '0' && c <= '9')
        d = c - '0';
    else if (c >= 'a' && c <= 'f')
        d = c - 'a' + 10;
    else if (c >= 'A' && c <= 'F')
        d = c - 'A' + 10;
    else
        return -1;
    return (unsigned)d < base ? d : -1;
}

int mvf_sim_parse_u64(const char *s, int suffixes, uint64_t *out)
{
    unsigned base = 10, shift = 0;
    uint64_t v = 0;
    const char *p = s;
    int d, n = 0;

    if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
        base = 16;
        p += 2;
    }
    for (; (d = digit(*p, base)) >= 0; p++, n++) {
        if (v > (UINT64_MAX - (uint64_t)d) / base)
            return -ERANGE;
        v = v * base + (uint64_t)d;
    }
    if (n == 0)
        return -EINVAL;
    if (suffixes && *p != '\0') {
        switch (*p) {
        case 'k': case 'K': shift = 10; break;
        case 'm': case 'M': shift = 20; break;
        case 'g': case 'G': shift = 30; break;
        case 't': case 'T': shift = 40; break;
        default: return -EINVAL;
        }
        p++;
    }
    if (*p != '\0')
        return -EINVAL;
    if (shift && v > (UINT64_MAX >> shift))
        return -ERANGE;
    *out = v << shift;
    return 0;
}

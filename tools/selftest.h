/* SPDX-License-Identifier: MIT */
/* `macvfio selftest`: shared state and the check groups. */
#ifndef MACVFIO_TOOLS_SELFTEST_H
#define MACVFIO_TOOLS_SELFTEST_H

#include <stdbool.h>

#include "cli.h"
#include "json.h"
#include "report.h"

struct selftest {
    struct mvf_handle *h;
    const struct cli_opts *o;
    struct dev_report *r;     /* collected after CLAIM */
    struct json *j;           /* NULL: text output */
    unsigned passed, failed, skipped;
};

/* Records one check: prints "PASS name: detail" or "FAIL ..." (or a
 * JSON result object).  Returns ok, so checks can chain on it. */
bool st_check(struct selftest *t, const char *name, bool ok, const char *fmt,
              ...) __attribute__((format(printf, 4, 5)));
void st_skip(struct selftest *t, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* A failed library call: FAIL with mvf_last_error(); returns false. */
bool st_call(struct selftest *t, const char *name, int rc);

/* Mappable BARs: map, write through the mapping, read back trapped. */
void selftest_bars(struct selftest *t);
/* The sim:dmatest device: registers, DMA round trip, faults, IRQs. */
bool selftest_is_dmatest(const struct mvf_device_info *info);
void selftest_dmatest(struct selftest *t);

#endif /* MACVFIO_TOOLS_SELFTEST_H */

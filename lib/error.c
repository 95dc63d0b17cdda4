/* SPDX-License-Identifier: MIT */
#include "error.h"

#include <stdarg.h>
#include <stdio.h>

#include "macvfio/macvfio.h"

/* Room for a server message plus the context we prefix it with. */
#define ERROR_BUF_LEN (MVF_ERRMSG_MAX + 96)

static _Thread_local char last_error[ERROR_BUF_LEN];

MVF_EXPORT const char *mvf_last_error(void)
{
    return last_error;
}

int mvfl_fail(int err, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(last_error, sizeof(last_error), fmt, ap);
    va_end(ap);
    return err;
}

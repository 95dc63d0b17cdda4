/* SPDX-License-Identifier: MIT */
/* Linux host ops for the core: memfd client memory, eventfd notifiers. */
#ifndef MACVFIO_DAEMON_HOST_LINUX_H
#define MACVFIO_DAEMON_HOST_LINUX_H

#include <stdbool.h>

#include "core/core.h"

extern const struct mvf_host_ops mvf_linux_host_ops;

/* Log verbosity for mvf_linux_host_ops.log: messages above it are not
 * printed.  Default MVF_LOG_INFO. */
void mvf_linux_set_log_level(enum mvf_log_level lvl);

/* printf-style logging in the daemon's format, to stderr. */
void mvf_log(enum mvf_log_level lvl, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif

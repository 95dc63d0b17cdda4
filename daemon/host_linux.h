/* SPDX-License-Identifier: MIT */
/* Linux host ops for the core: memfd client memory, eventfd notifiers. */
#ifndef MACVFIO_DAEMON_HOST_LINUX_H
#define MACVFIO_DAEMON_HOST_LINUX_H

#include <stdbool.h>

#include "core.h"
#include "log_linux.h"

extern const struct mvf_host_ops mvf_linux_host_ops;

/* Logging (mvf_log, the level) lives in log_linux.h. */

#endif

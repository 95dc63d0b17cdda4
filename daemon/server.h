/* SPDX-License-Identifier: MIT */
#ifndef MACVFIO_DAEMON_SERVER_H
#define MACVFIO_DAEMON_SERVER_H

#include "core.h"

/* Serves `core` on a UNIX socket at `path` (created 0600) until SIGTERM,
 * SIGINT or SIGHUP; returns the process exit code. */
int mvf_server_run(struct mvf_core *core, const char *path);

#endif

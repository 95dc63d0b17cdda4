/* SPDX-License-Identifier: MIT */
/*
 * macvfiod's log: lines to stderr that never block the event loop,
 * whatever stderr is (a pipe nobody reads, a tty, journald's socket, a
 * file, /dev/null, or closed).  A line that cannot be written at once
 * is dropped and counted; the next one that gets through says so.
 */
#ifndef MACVFIO_DAEMON_LOG_LINUX_H
#define MACVFIO_DAEMON_LOG_LINUX_H

#include <stdint.h>

#include "core.h"

/* Sets up the non-blocking sink for whatever fd 2 is; call first thing
 * in main.  A closed fd 2 (and 0, 1) is filled with /dev/null, so no
 * client socket or memfd can later land there and receive log lines.
 * Logging calls it themselves if main did not. */
void mvf_log_init(void);

/* Log verbosity: messages above it are not printed.  Default INFO. */
void mvf_linux_set_log_level(enum mvf_log_level lvl);

/* printf-style logging in the daemon's format, to stderr. */
void mvf_log(enum mvf_log_level lvl, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* The core's log and now_ms host ops. */
void mvf_linux_host_log(void *host, enum mvf_log_level lvl, const char *msg);
uint64_t mvf_linux_now_ms(void *host);

#endif

/* SPDX-License-Identifier: MIT */
/* Eventfd notifiers whose writes never block the daemon (see the .c). */
#ifndef MACVFIO_DAEMON_NOTIFIER_LINUX_H
#define MACVFIO_DAEMON_NOTIFIER_LINUX_H

#include <signal.h>

#include "core.h"

/* The watchdog's signal.  It is aimed at the thread that created the
 * first notifier, which must be the thread that signals them all (the
 * daemon's single event loop). */
#define MVF_NOTIFIER_WATCHDOG_SIGNAL (SIGRTMIN + 1)

/* The host op: a notifier from an eventfd the client attached. */
int mvf_linux_notifier_create(void *host, void *client, int fd,
                              struct mvf_notifier **out);

/* One wake-up: 0, -EAGAIN (counter full: the client is awake), -EINTR
 * (the write blocked and was cut short), or another negative errno. */
int mvf_notifier_write(int fd);

#endif

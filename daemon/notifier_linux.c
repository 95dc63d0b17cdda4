/* SPDX-License-Identifier: MIT */
/*
 * Notifiers on Linux: the eventfds a client binds to interrupt vectors
 * and to the state page's wake-up.
 *
 * A write to an eventfd blocks while its counter is full.  The daemon
 * holds a dup of the client's fd, which shares the client's file
 * description, so the client can clear O_NONBLOCK and fill the counter
 * at any moment, even between a check and our write.  No check can
 * close that race; instead every write runs under a one-shot watchdog
 * timer whose signal (installed without SA_RESTART) interrupts a write
 * that blocks.  A full counter means the client is awake already, so a
 * skipped or interrupted write loses nothing; a notifier whose write
 * had to be interrupted was made blocking and filled on purpose, and is
 * not written again.
 */
#include "notifier_linux.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "host_linux.h"

/* Far longer than an eventfd write takes, short enough that a hostile
 * client costs the loop no more than this once per notifier. */
#define WATCHDOG_NS 1000000L

struct fd_notifier {
    struct mvf_notifier n;
    int fd;
    bool stalled;      /* a write blocked: the client filled it on purpose */
};

static timer_t watchdog;
static int watchdog_state;   /* 0: not set up, 1: ready, -1: failed */

static void watchdog_fired(int sig)
{
    (void)sig;   /* only here to interrupt the blocked write */
}

/* The timer signals this thread (the daemon's event loop) only. */
static int watchdog_setup(void)
{
    struct sigaction sa;
    struct sigevent sev;

    if (watchdog_state)
        return watchdog_state > 0 ? 0 : -1;
    watchdog_state = -1;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = watchdog_fired;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0;                        /* no SA_RESTART, on purpose */
    if (sigaction(MVF_NOTIFIER_WATCHDOG_SIGNAL, &sa, NULL) < 0)
        return -1;
    memset(&sev, 0, sizeof(sev));
    sev.sigev_notify = SIGEV_THREAD_ID;
    sev.sigev_signo = MVF_NOTIFIER_WATCHDOG_SIGNAL;
    sev._sigev_un._tid = gettid();  /* sigev_notify_thread_id */
    if (timer_create(CLOCK_MONOTONIC, &sev, &watchdog) < 0)
        return -1;
    watchdog_state = 1;
    return 0;
}

static void watchdog_arm(long ns)
{
    struct itimerspec its = { .it_value = { .tv_sec = 0, .tv_nsec = ns } };

    timer_settime(watchdog, 0, &its, NULL);
}

/* Writes one wake-up to fd; returns 0, -EAGAIN when the counter is
 * full (the client is awake), or -EINTR when the write blocked and the
 * watchdog cut it short. */
int mvf_notifier_write(int fd)
{
    struct pollfd p = { .fd = fd, .events = POLLOUT };
    uint64_t one = 1;
    ssize_t n;
    int e;

    if (watchdog_setup() < 0)
        return -ENOSYS;
    /* Cheap and almost always right; the watchdog covers the race. */
    if (poll(&p, 1, 0) != 1 || !(p.revents & POLLOUT))
        return (p.revents & (POLLERR | POLLNVAL)) ? -EBADF : -EAGAIN;
    watchdog_arm(WATCHDOG_NS);
    n = write(fd, &one, sizeof(one));
    e = errno;
    watchdog_arm(0);
    if (n == (ssize_t)sizeof(one))
        return 0;
    return n < 0 ? -e : -EIO;
}

static void fd_signal(struct mvf_notifier *n)
{
    struct fd_notifier *f = (struct fd_notifier *)n;
    int rc;

    if (f->stalled)
        return;
    rc = mvf_notifier_write(f->fd);
    if (rc == -EINTR) {
        f->stalled = true;
        mvf_log(MVF_LOG_WARN, "interrupt eventfd %d blocked a write (the "
                "client made it blocking and filled its counter): not "
                "written again", f->fd);
    } else if (rc && rc != -EAGAIN) {
        mvf_log(MVF_LOG_DEBUG, "interrupt fd %d: %s", f->fd, strerror(-rc));
    }
}

static void fd_release(struct mvf_notifier *n)
{
    struct fd_notifier *f = (struct fd_notifier *)n;

    close(f->fd);
    free(f);
}

/* Only eventfds: a pipe's reader could stall writes in ways an eventfd
 * cannot (and the watchdog would cost every write then). */
static bool is_eventfd(int fd)
{
    char path[64], target[64];
    ssize_t n;

    snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
    n = readlink(path, target, sizeof(target) - 1);
    if (n < 0)
        return false;
    target[n] = '\0';
    return strcmp(target, "anon_inode:[eventfd]") == 0;
}

int mvf_linux_notifier_create(void *host, int fd, struct mvf_notifier **out)
{
    struct fd_notifier *f;
    int dup_fd;

    (void)host;
    if (fd < 0 || !is_eventfd(fd))
        return -EBADF;
    if (watchdog_setup() < 0)
        return -ENOSYS;
    dup_fd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
    if (dup_fd < 0)
        return -EMFILE;
    f = calloc(1, sizeof(*f));
    if (!f) {
        close(dup_fd);
        return -ENOMEM;
    }
    f->fd = dup_fd;
    f->n.signal = fd_signal;
    f->n.release = fd_release;
    *out = &f->n;
    return 0;
}

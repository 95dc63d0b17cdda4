/* SPDX-License-Identifier: MIT */
/*
 * Notifiers on Linux: the eventfds a client binds to interrupt vectors
 * and to the state page's wake-up.
 *
 * A write to an eventfd blocks while its counter is full.  The daemon
 * holds a dup of the client's fd, which shares the client's file
 * description, so the client can clear O_NONBLOCK and fill the counter
 * at any moment, even between a check and our write.  No check can
 * close that race, so every write is covered by a watchdog: a one-shot
 * timer that is kept armed while notifiers are written (re-armed only
 * when it is about to expire, so a write costs no timer call in the
 * common case), whose handler jumps out of a write that it finds
 * blocked.  A full counter means the client is awake already, so a
 * skipped or abandoned write loses nothing; a notifier whose write had
 * to be abandoned twice in a row was made blocking and filled on
 * purpose, and is not written again.
 */
#include "notifier_linux.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "host_linux.h"

/* The longest a write can block: far longer than an eventfd write
 * takes, short enough that a hostile client costs the loop little. */
#define WATCHDOG_NS     2000000ull
/* Re-armed when less than this is left, so that a write that starts
 * has at least this long before the watchdog calls it blocked. */
#define WATCHDOG_MIN_NS 1000000ull

struct fd_notifier {
    struct mvf_notifier n;
    int fd;
    bool stalled;      /* writes blocked: the client filled it on purpose */
};

static timer_t watchdog;
static int watchdog_state;   /* 0: not set up, 1: ready, -1: failed */
static uint64_t watchdog_expiry_ns;
static sigjmp_buf write_jmp;
static volatile sig_atomic_t in_write;

static uint64_t mono_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Fires at most once per WATCHDOG_NS while notifiers are written.
 * Outside a write it does nothing (SA_RESTART restarts whatever it
 * interrupted, and the loop's poll() takes EINTR in its stride); in a
 * write it abandons the write. */
static void watchdog_fired(int sig)
{
    (void)sig;
    if (in_write)
        siglongjmp(write_jmp, 1);
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
    sa.sa_flags = SA_RESTART;
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

static void watchdog_keep_armed(void)
{
    struct itimerspec its = { .it_value = { .tv_nsec = WATCHDOG_NS } };
    uint64_t now = mono_ns();

    if (watchdog_expiry_ns > now + WATCHDOG_MIN_NS)
        return;
    timer_settime(watchdog, 0, &its, NULL);
    watchdog_expiry_ns = now + WATCHDOG_NS;
}

/* One write under the watchdog: 0, -EINTR if it was abandoned (blocked,
 * or by rare chance just done when the watchdog fired), or -errno. */
static int guarded_write(int fd)
{
    static const uint64_t one = 1;
    sigset_t wd;
    ssize_t n;
    int e;

    /* No mask saved: that would cost a syscall per write.  The handler
     * runs with its signal blocked, so unblock it after a jump. */
    if (sigsetjmp(write_jmp, 0)) {
        in_write = 0;
        watchdog_expiry_ns = 0;   /* one-shot: it has fired */
        sigemptyset(&wd);
        sigaddset(&wd, MVF_NOTIFIER_WATCHDOG_SIGNAL);
        sigprocmask(SIG_UNBLOCK, &wd, NULL);
        return -EINTR;
    }
    /* Armed after in_write is set: a timer that fires in between finds
     * it set and jumps (a retry), rather than leaving the write below
     * uncovered. */
    in_write = 1;
    watchdog_keep_armed();
    n = write(fd, &one, sizeof(one));
    e = errno;
    in_write = 0;
    if (n == (ssize_t)sizeof(one))
        return 0;
    return n < 0 ? -e : -EIO;
}

/* Writes one wake-up to fd; returns 0, -EAGAIN when the counter is
 * full (the client is awake), or -EINTR when the write blocked and the
 * watchdog abandoned it twice. */
int mvf_notifier_write(int fd)
{
    int rc = -EINTR;

    if (watchdog_setup() < 0)
        return -ENOSYS;
    /* Cheap and almost always right; the watchdog covers the race.  A
     * write abandoned once may have been the watchdog firing at the
     * wrong moment: look again and retry once. */
    for (int attempt = 0; attempt < 2 && rc == -EINTR; attempt++) {
        struct pollfd p = { .fd = fd, .events = POLLOUT };

        if (poll(&p, 1, 0) != 1 || !(p.revents & POLLOUT))
            return (p.revents & (POLLERR | POLLNVAL)) ? -EBADF : -EAGAIN;
        rc = guarded_write(fd);
    }
    return rc;
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
        mvf_log(MVF_LOG_WARN, "interrupt eventfd %d blocked writes (the "
                "client made it blocking and keeps its counter full): not "
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

int mvf_linux_notifier_create(void *host, void *client, int fd,
                              struct mvf_notifier **out)
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

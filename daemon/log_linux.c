/* SPDX-License-Identifier: MIT */
/*
 * Non-blocking log lines on stderr.
 *
 * fd 2 is shared with whoever started us, so we never set O_NONBLOCK on
 * it (that would change the caller's terminal or pipe too).  Instead,
 * by what fd 2 is:
 *   - a regular file: plain write() (a file never waits for a reader);
 *   - a socket (journald): send(MSG_DONTWAIT | MSG_NOSIGNAL);
 *   - a pipe, FIFO or character device (tty, /dev/null): a file
 *     description of our own, reopened from /proc/self/fd/2 with
 *     O_NONBLOCK; if that cannot be opened, write only when poll() says
 *     fd 2 has room;
 *   - closed: nothing is written.
 * Each line is one write(), so lines neither interleave nor split.
 */
#include "log_linux.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define LOG_MSG_MAX 512

enum sink { SINK_UNSET, SINK_NONE, SINK_FILE, SINK_SOCKET, SINK_OWN_FD,
            SINK_POLL };

static enum mvf_log_level log_level = MVF_LOG_INFO;
static enum sink sink = SINK_UNSET;
static int sink_fd = -1;
static uint64_t dropped;     /* lines not written since the last one */
static bool cut;             /* the last write ended mid-line */

void mvf_linux_set_log_level(enum mvf_log_level lvl)
{
    log_level = lvl;
}

/* Opens /dev/null until fds 0, 1 and 2 are all taken; false if fd 2
 * was closed. */
static bool fill_closed_std_fds(void)
{
    bool had_stderr = fcntl(2, F_GETFD) >= 0;
    int fd;

    while ((fd = open("/dev/null", O_RDWR)) >= 0 && fd < 2)
        ;
    if (fd > 2)
        close(fd);
    return had_stderr;
}

void mvf_log_init(void)
{
    struct stat st;

    if (sink != SINK_UNSET)
        return;
    /* A log whose reader went away is an EPIPE, not a reason to die
     * (the server ignores SIGPIPE too; this covers start-up). */
    signal(SIGPIPE, SIG_IGN);
    sink = SINK_NONE;
    if (!fill_closed_std_fds() || fstat(2, &st) < 0)
        return;
    if (S_ISREG(st.st_mode)) {
        sink = SINK_FILE;
        sink_fd = 2;
    } else if (S_ISSOCK(st.st_mode)) {
        sink = SINK_SOCKET;
        sink_fd = 2;
    } else {
        sink_fd = open("/proc/self/fd/2",
                       O_WRONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY | O_APPEND);
        sink = sink_fd >= 0 ? SINK_OWN_FD : SINK_POLL;
        if (sink_fd < 0)
            sink_fd = 2;
    }
}

static ssize_t write_once(const char *buf, size_t len)
{
    struct pollfd p = { .fd = sink_fd, .events = POLLOUT };
    ssize_t n;

    do {
        switch (sink) {
        case SINK_SOCKET:
            n = send(sink_fd, buf, len, MSG_DONTWAIT | MSG_NOSIGNAL);
            break;
        case SINK_POLL:
            n = poll(&p, 1, 0);
            if (n == 1 && (p.revents & POLLOUT))
                n = write(sink_fd, buf, len);
            else if (n >= 0) {
                errno = EAGAIN;
                n = -1;
            }
            break;
        case SINK_FILE:
        case SINK_OWN_FD:
            n = write(sink_fd, buf, len);
            break;
        default:
            return (ssize_t)len;
        }
    } while (n < 0 && errno == EINTR);
    return n;
}

/* One write of a whole line (ending in '\n'); true if all of it went. */
static bool put_line(const char *line, size_t len)
{
    ssize_t n;

    if (cut) {
        /* Finish the line a partial write left open, so the next one
         * starts on its own line. */
        if (write_once("\n", 1) != 1)
            return false;
        cut = false;
    }
    n = write_once(line, len);
    if (n > 0 && (size_t)n < len)
        cut = true;
    return n == (ssize_t)len;
}

static void format_line(char *out, size_t size, enum mvf_log_level lvl,
                        const char *msg)
{
    static const char *const names[] = { "error", "warn", "info", "debug" };
    struct timespec ts;
    char when[16] = "";
    struct tm tm;

    clock_gettime(CLOCK_REALTIME, &ts);
    if (localtime_r(&ts.tv_sec, &tm))
        strftime(when, sizeof(when), "%H:%M:%S", &tm);
    snprintf(out, size, "macvfiod %s.%03ld %s: %.*s\n", when,
             ts.tv_nsec / 1000000, names[lvl], LOG_MSG_MAX, msg);
}

static void emit(enum mvf_log_level lvl, const char *msg)
{
    char line[LOG_MSG_MAX + 64];

    if (lvl > log_level)
        return;
    mvf_log_init();
    if (sink == SINK_NONE)
        return;
    if (dropped) {
        char note[96];

        snprintf(note, sizeof(note), "%llu log lines dropped (stderr was full)",
                 (unsigned long long)dropped);
        format_line(line, sizeof(line), MVF_LOG_WARN, note);
        if (!put_line(line, strlen(line))) {
            dropped++;
            return;
        }
        dropped = 0;
    }
    format_line(line, sizeof(line), lvl, msg);
    if (!put_line(line, strlen(line)))
        dropped++;
}

void mvf_log(enum mvf_log_level lvl, const char *fmt, ...)
{
    char msg[LOG_MSG_MAX];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    emit(lvl, msg);
}

void mvf_linux_host_log(void *host, enum mvf_log_level lvl, const char *msg)
{
    emit(lvl, msg);
}

uint64_t mvf_linux_now_ms(void *host)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

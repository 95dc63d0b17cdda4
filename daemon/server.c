/* SPDX-License-Identifier: MIT */
/*
 * macvfiod's socket server: one single-threaded poll loop, so the core
 * needs no locks.  Clients use AF_UNIX SOCK_SEQPACKET, so every frame
 * arrives whole or not at all; a client that misbehaves is answered
 * with an error or dropped, and its session is cleaned up either way.
 */
#include "server.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "frame.h"
#include "host_linux.h"

#define MAX_CLIENTS 256
/* A connection must say HELLO within this time, and while the table is
 * full the oldest connection that has not said it makes room for a new
 * one: connections that never speak cannot lock real clients out. */
#define HELLO_DEADLINE_MS 2000
/* accept() out of fds or memory leaves the connection pending, so the
 * listener would poll readable forever: it rests this long instead. */
#define ACCEPT_BACKOFF_MS 100

struct client {
    int fd;
    pid_t pid;
    uid_t uid;
    struct mvf_session *session;
    uint64_t since_ms;           /* accepted at */
};

struct server {
    struct mvf_core *core;
    int listen_fd, sig_fd;
    struct client clients[MAX_CLIENTS];
    unsigned nclients;
    uint64_t accept_resume_ms;   /* listener resting until then, or 0 */
    uint8_t rx[MVF_WIRE_MAX_FRAME + 1];
    struct mvf_frame_reply rep;
};

static uint64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Refuses to steal a live daemon's socket; removes a stale one. */
static int prepare_path(const char *path, struct sockaddr_un *sa)
{
    struct stat st;
    int fd;

    if (strlen(path) >= sizeof(sa->sun_path)) {
        mvf_log(MVF_LOG_ERROR, "socket path too long: %s", path);
        return -1;
    }
    memset(sa, 0, sizeof(*sa));
    sa->sun_family = AF_UNIX;
    strcpy(sa->sun_path, path);
    if (lstat(path, &st) < 0)
        return errno == ENOENT ? 0 : -1;
    if (!S_ISSOCK(st.st_mode)) {
        mvf_log(MVF_LOG_ERROR, "%s exists and is not a socket", path);
        return -1;
    }
    fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    if (connect(fd, (struct sockaddr *)sa, sizeof(*sa)) == 0) {
        close(fd);
        mvf_log(MVF_LOG_ERROR, "another macvfiod is serving %s", path);
        return -1;
    }
    close(fd);
    return unlink(path);
}

static int open_listener(const char *path)
{
    struct sockaddr_un sa;
    mode_t old;
    int fd, ret;

    if (prepare_path(path, &sa) < 0)
        return -1;
    fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return -1;
    old = umask(0177);                 /* the socket is born 0600 */
    ret = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
    umask(old);
    if (ret < 0 || chmod(path, 0600) < 0 || listen(fd, 16) < 0) {
        mvf_log(MVF_LOG_ERROR, "cannot listen on %s: %s", path, strerror(errno));
        close(fd);
        return -1;
    }
    return fd;
}

static int open_signals(void)
{
    sigset_t set;

    signal(SIGPIPE, SIG_IGN);
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
        return -1;
    return signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
}

static void drop_client(struct server *sv, unsigned i, const char *why)
{
    struct client *c = &sv->clients[i];

    mvf_log(MVF_LOG_INFO, "client pid %d disconnected (%s)", (int)c->pid, why);
    mvf_session_destroy(c->session);
    close(c->fd);
    sv->clients[i] = sv->clients[--sv->nclients];
}

/* The oldest connection that has not said HELLO, or -1. */
static int oldest_silent(const struct server *sv)
{
    int best = -1;

    for (unsigned i = 0; i < sv->nclients; i++) {
        const struct client *c = &sv->clients[i];

        if (!mvf_session_ready(c->session) &&
            (best < 0 || c->since_ms < sv->clients[best].since_ms))
            best = (int)i;
    }
    return best;
}

static void accept_client(struct server *sv)
{
    struct ucred cred;
    socklen_t len = sizeof(cred);
    struct client *c;
    int fd = accept4(sv->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);

    if (fd < 0) {
        if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
            errno == ENOMEM) {
            if (!sv->accept_resume_ms)
                mvf_log(MVF_LOG_WARN, "cannot accept connections (%s): "
                        "retrying every %d ms", strerror(errno),
                        ACCEPT_BACKOFF_MS);
            sv->accept_resume_ms = now_ms() + ACCEPT_BACKOFF_MS;
        }
        return;
    }
    if (sv->accept_resume_ms) {
        mvf_log(MVF_LOG_INFO, "accepting connections again");
        sv->accept_resume_ms = 0;
    }
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0) {
        close(fd);
        return;
    }
    /* The socket is 0600 already; this also covers a path whose mode
     * was loosened by hand. */
    if (cred.uid != 0 && cred.uid != geteuid()) {
        mvf_log(MVF_LOG_WARN, "refused client pid %d: uid %u is not allowed",
                (int)cred.pid, (unsigned)cred.uid);
        close(fd);
        return;
    }
    if (sv->nclients == MAX_CLIENTS) {
        int victim = oldest_silent(sv);

        if (victim < 0) {
            mvf_log(MVF_LOG_WARN, "refused client pid %d: %d clients already",
                    (int)cred.pid, MAX_CLIENTS);
            close(fd);
            return;
        }
        drop_client(sv, (unsigned)victim, "no HELLO yet; its slot went to a "
                    "new connection");
    }
    c = &sv->clients[sv->nclients];
    c->session = mvf_session_create(sv->core);
    if (!c->session) {
        close(fd);
        return;
    }
    c->fd = fd;
    c->pid = cred.pid;
    c->uid = cred.uid;
    c->since_ms = now_ms();
    sv->nclients++;
    mvf_log(MVF_LOG_INFO, "client pid %d uid %u connected", (int)cred.pid,
            (unsigned)cred.uid);
}

/* Drops connections that have not said HELLO in time; returns the ms
 * until the next deadline, or -1 if there is none. */
static int expire_silent(struct server *sv, uint64_t now)
{
    int next = -1;

    for (unsigned i = sv->nclients; i-- > 0;) {
        struct client *c = &sv->clients[i];
        uint64_t age = now - c->since_ms;

        if (mvf_session_ready(c->session))
            continue;
        if (age >= HELLO_DEADLINE_MS) {
            drop_client(sv, i, "no HELLO within 2 s");
            continue;
        }
        if (next < 0 || HELLO_DEADLINE_MS - age < (uint64_t)next)
            next = (int)(HELLO_DEADLINE_MS - age);
    }
    return next;
}

/* poll()'s timeout: 0 while device work waits, else the nearest of the
 * HELLO deadlines and the listener's rest, else forever. */
static int loop_timeout(const struct server *sv, int hello_ms, uint64_t now)
{
    int t = hello_ms;

    if (mvf_core_has_work(sv->core))
        return 0;
    if (sv->accept_resume_ms) {
        int rest = sv->accept_resume_ms > now ?
                   (int)(sv->accept_resume_ms - now) : 0;
        if (t < 0 || rest < t)
            t = rest;
    }
    return t;
}

static unsigned collect_fds(struct msghdr *msg, int *fds)
{
    unsigned n = 0;

    for (struct cmsghdr *cm = CMSG_FIRSTHDR(msg); cm; cm = CMSG_NXTHDR(msg, cm)) {
        size_t k;

        if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
            continue;
        k = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        for (size_t j = 0; j < k; j++) {
            int fd;
            memcpy(&fd, CMSG_DATA(cm) + j * sizeof(int), sizeof(int));
            if (n < MVF_MAX_FDS)
                fds[n++] = fd;
            else
                close(fd);
        }
    }
    return n;
}

/* Handles one frame; returns false when the client must be dropped.
 * One frame per ready client per turn of the loop, posted or not, so a
 * client flooding posted writes waits for its turn like everyone else and
 * its socket buffer, not the daemon's memory, holds its backlog.
 * `hup` says the peer has shut down: a read of 0 bytes is then its end,
 * otherwise it is a zero-length frame, which is answered like any other
 * malformed frame. */
static bool serve_client(struct server *sv, struct client *c, bool hup,
                         const char **why)
{
    union {
        char buf[CMSG_SPACE(MVF_MAX_FDS * sizeof(int))];
        struct cmsghdr align;
    } ctl;
    struct iovec iov = { sv->rx, sizeof(sv->rx) };
    struct msghdr msg = {
        .msg_iov = &iov, .msg_iovlen = 1,
        .msg_control = ctl.buf, .msg_controllen = sizeof(ctl.buf),
    };
    int fds[MVF_MAX_FDS];
    unsigned nfds;
    ssize_t n = recvmsg(c->fd, &msg, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
    bool ok = true;

    if (n == 0 && hup) {
        *why = "closed";
        return false;
    }
    if (n < 0) {
        *why = strerror(errno);
        return errno == EAGAIN || errno == EINTR;
    }
    nfds = collect_fds(&msg, fds);
    mvf_frame_handle(c->session, sv->rx, (size_t)n, fds, nfds,
                     (msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) != 0 ||
                     (size_t)n > MVF_WIRE_MAX_FRAME, &sv->rep);
    for (unsigned i = 0; i < nfds; i++)
        close(fds[i]);

    if (sv->rep.len == 0) {
        /* Posted: no reply (abi.h, "Posted requests"). */
        if (sv->rep.obj >= 0)
            close(sv->rep.obj);
    } else {
        union {
            char buf[CMSG_SPACE(sizeof(int))];
            struct cmsghdr align;
        } out;
        struct iovec riov = { sv->rep.buf, sv->rep.len };
        struct msghdr rmsg = { .msg_iov = &riov, .msg_iovlen = 1 };

        if (sv->rep.obj >= 0) {
            struct cmsghdr *cm;
            memset(&out, 0, sizeof(out));
            rmsg.msg_control = out.buf;
            rmsg.msg_controllen = sizeof(out.buf);
            cm = CMSG_FIRSTHDR(&rmsg);
            cm->cmsg_level = SOL_SOCKET;
            cm->cmsg_type = SCM_RIGHTS;
            cm->cmsg_len = CMSG_LEN(sizeof(int));
            memcpy(CMSG_DATA(cm), &sv->rep.obj, sizeof(int));
        }
        /* A client that does not read its replies is dropped rather
         * than allowed to stall the loop. */
        if (sendmsg(c->fd, &rmsg, MSG_NOSIGNAL | MSG_DONTWAIT) < 0) {
            *why = errno == EAGAIN ? "not reading replies" : strerror(errno);
            ok = false;
        }
        if (sv->rep.obj >= 0)
            close(sv->rep.obj);
    }
    return ok;
}

static void log_stats(struct mvf_core *core)
{
    for (uint32_t i = 0; i < mvf_core_device_count(core); i++) {
        struct mvf_stats st;
        mvf_device_stats(mvf_core_device(core, i), &st);
        mvf_log(MVF_LOG_INFO, "device %u: %llu live mappings, %llu maps, "
                "%llu DMA faults, %llu interrupts, %llu trapped accesses", i,
                (unsigned long long)st.live_mappings,
                (unsigned long long)st.dma_maps,
                (unsigned long long)st.dma_faults,
                (unsigned long long)st.irqs_delivered,
                (unsigned long long)(st.trapped_reads + st.trapped_writes));
    }
}

int mvf_server_run(struct mvf_core *core, const char *path)
{
    struct server *sv = calloc(1, sizeof(*sv));
    struct pollfd pfd[MAX_CLIENTS + 2];
    bool running = true;
    int rc = 1;

    if (!sv)
        return 1;
    sv->core = core;
    sv->sig_fd = open_signals();
    sv->listen_fd = open_listener(path);
    if (sv->sig_fd < 0 || sv->listen_fd < 0)
        goto out;
    mvf_log(MVF_LOG_INFO, "serving %u device(s) on %s",
            mvf_core_device_count(core), path);
    while (running) {
        uint64_t now = now_ms();
        int hello_ms = expire_silent(sv, now);
        unsigned n = sv->nclients;
        bool listening = sv->accept_resume_ms <= now;

        pfd[0] = (struct pollfd){ .fd = sv->sig_fd, .events = POLLIN };
        /* A negative fd is skipped by poll(): the listener rests. */
        pfd[1] = (struct pollfd){ .fd = listening ? sv->listen_fd : -1,
                                  .events = POLLIN };
        for (unsigned i = 0; i < n; i++)
            pfd[i + 2] = (struct pollfd){ .fd = sv->clients[i].fd,
                                          .events = POLLIN | POLLRDHUP };
        /* Device work pending: look at the clients without sleeping,
         * then run one slice of it, so calls and device work alternate. */
        if (poll(pfd, n + 2, loop_timeout(sv, hello_ms, now)) < 0) {
            if (errno == EINTR)
                continue;
            mvf_log(MVF_LOG_ERROR, "poll: %s", strerror(errno));
            goto out;
        }
        if (pfd[0].revents) {
            struct signalfd_siginfo si;
            if (read(sv->sig_fd, &si, sizeof(si)) == sizeof(si)) {
                mvf_log(MVF_LOG_INFO, "signal %u: shutting down", si.ssi_signo);
                running = false;
            }
        }
        /* Walk clients from the end: drop_client moves the last one. */
        for (unsigned i = n; i-- > 0;) {
            const char *why = "hung up";
            short ev = pfd[i + 2].revents;
            bool hup = (ev & (POLLRDHUP | POLLHUP)) != 0;

            if (!ev)
                continue;
            if ((ev & POLLIN) && serve_client(sv, &sv->clients[i], hup, &why))
                continue;
            if (ev & (POLLIN | POLLHUP | POLLERR | POLLNVAL | POLLRDHUP))
                drop_client(sv, i, why);
        }
        if (listening && (pfd[1].revents & POLLIN))
            accept_client(sv);
        mvf_core_run_work(sv->core);
    }
    rc = 0;
out:
    while (sv->nclients)
        drop_client(sv, sv->nclients - 1, "daemon shutting down");
    if (sv->listen_fd >= 0) {
        close(sv->listen_fd);
        unlink(path);
    }
    if (sv->sig_fd >= 0)
        close(sv->sig_fd);
    log_stats(core);
    free(sv);
    return rc;
}

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
#include <unistd.h>

#include "frame.h"
#include "host_linux.h"

#define MAX_CLIENTS 64

struct client {
    int fd;
    pid_t pid;
    uid_t uid;
    struct mvf_session *session;
};

struct server {
    struct mvf_core *core;
    int listen_fd, sig_fd;
    struct client clients[MAX_CLIENTS];
    unsigned nclients;
    uint8_t rx[MVF_WIRE_MAX_FRAME + 1];
    struct mvf_frame_reply rep;
};

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

static void accept_client(struct server *sv)
{
    struct ucred cred;
    socklen_t len = sizeof(cred);
    struct client *c;
    int fd = accept4(sv->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);

    if (fd < 0)
        return;
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
        mvf_log(MVF_LOG_WARN, "refused client pid %d: %d clients already",
                (int)cred.pid, MAX_CLIENTS);
        close(fd);
        return;
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
    sv->nclients++;
    mvf_log(MVF_LOG_INFO, "client pid %d uid %u connected", (int)cred.pid,
            (unsigned)cred.uid);
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

/* Handles one frame; returns false when the client must be dropped. */
static bool serve_client(struct server *sv, struct client *c, const char **why)
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

    if (n == 0) {
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

    {
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
        unsigned n = sv->nclients;

        pfd[0] = (struct pollfd){ .fd = sv->sig_fd, .events = POLLIN };
        pfd[1] = (struct pollfd){ .fd = sv->listen_fd, .events = POLLIN };
        for (unsigned i = 0; i < n; i++)
            pfd[i + 2] = (struct pollfd){ .fd = sv->clients[i].fd, .events = POLLIN };
        /* Device work pending: look at the clients without sleeping,
         * then run one slice of it, so calls and device work alternate. */
        if (poll(pfd, n + 2, mvf_core_has_work(sv->core) ? 0 : -1) < 0) {
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

            if (!ev)
                continue;
            if ((ev & POLLIN) && serve_client(sv, &sv->clients[i], &why))
                continue;
            if (ev & (POLLIN | POLLHUP | POLLERR | POLLNVAL))
                drop_client(sv, i, why);
        }
        if (pfd[1].revents & POLLIN)
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

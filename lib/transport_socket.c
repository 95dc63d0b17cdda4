/* SPDX-License-Identifier: MIT */
/*
 * Socket transport: one AF_UNIX SOCK_SEQPACKET connection to macvfiod,
 * one frame per message, fds in SCM_RIGHTS (abi.h, "Wire format").
 *
 * The caller (macvfio.c) serialises calls, so one buffer serves both
 * directions.  The server replies to every request that is not posted
 * (abi.h, "Posted requests"), in order, so the reply read after a send
 * is that request's; if it dies, recvmsg returns 0
 * and the call fails with -ECONNRESET instead of hanging.  A server that
 * is alive but stuck (stopped, deadlocked) is bounded by the transport's
 * timeout: the call fails with -ETIMEDOUT.  Once the connection is dead,
 * the server broke the protocol or timed out, every later call fails at
 * once.
 *
 * The socket stays blocking, but every sendmsg/recvmsg is MSG_DONTWAIT
 * after a poll() for the time left, so neither a server that stops
 * reading (full socket buffer) nor one that stops replying holds a call
 * past its deadline.
 *
 * Linux only: macOS's AF_UNIX has no SOCK_SEQPACKET (nor MSG_NOSIGNAL,
 * MSG_CMSG_CLOEXEC, SOCK_CLOEXEC), and macvfiod does not run there; on
 * macOS libmacvfio talks to the dext (transport_iokit.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "transport.h"

#ifdef __linux__
#include "deadline.h"
#include "wire_client.h"

/* Everything but DMA_VA, which needs the client's address space. */
#define SOCKET_FEATURES                                                     \
    (MVF_FEAT_CONFIG | MVF_FEAT_MMIO_TRAP | MVF_FEAT_MAP_MEMORY |           \
     MVF_FEAT_IRQ_EVENTFD | MVF_FEAT_IRQ_STATE_PAGE | MVF_FEAT_RESET |      \
     MVF_FEAT_DMA_FD | MVF_FEAT_DMA_BATCH | MVF_FEAT_STATS |               \
     MVF_FEAT_POSTED_WRITE)

/* One byte beyond the largest valid frame (abi.h), so oversize replies
 * show up as MSG_TRUNC rather than fitting by accident; any request fits. */
#define FRAME_BUF_LEN (MVF_WIRE_MAX_FRAME + 1)

struct sock_transport {
    struct mvf_transport base;
    int fd;
    uint32_t seq;
    int dead;                     /* 0, or the error every call gets now */
    char dead_msg[MVF_ERRMSG_MAX];
    unsigned char frame[FRAME_BUF_LEN];
};

union fd_cmsg {
    struct cmsghdr hdr;
    char buf[CMSG_SPACE(sizeof(int) * MVF_MAX_FDS)];
};

static struct sock_transport *to_sock(struct mvf_transport *t)
{
    return (struct sock_transport *)t;
}

static void close_fds(int *fds, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++) {
        if (fds[i] >= 0)
            close(fds[i]);
        fds[i] = -1;
    }
}

/* Marks the connection unusable; returns err with x->err explaining. */
static int kill_conn(struct sock_transport *s, struct mvf_xfer *x, int err)
{
    s->dead = err;
    snprintf(s->dead_msg, sizeof(s->dead_msg), "%s", x->err);
    return err;
}

/*
 * The call ran out of time.  The server may still answer it, and that
 * late reply would be read as the next call's, so the connection is
 * finished: later calls fail at once with -ENOTCONN, and shutting the
 * socket down makes the connection fd readable and hung up (an fd watcher
 * notices, as when the server dies) and tells the server the session is
 * over, so it cleans it up once it runs again.
 */
static int timed_out(struct sock_transport *s, struct mvf_xfer *x,
                     bool sending)
{
    const char *name = mvfl_selector_name(x->selector);
    const char *what = sending ? "take the request" : "reply";

    snprintf(x->err, sizeof(x->err),
             "macvfiod did not %s within %u ms; the connection is closed "
             "(is the server stopped or stuck?)", what, s->base.timeout_ms);
    s->dead = -ENOTCONN;
    snprintf(s->dead_msg, sizeof(s->dead_msg),
             sending ? "the server timed out earlier (it did not take the "
                       "%s request within %u ms)"
                     : "the server timed out earlier (it did not reply to "
                       "%s within %u ms)", name, s->base.timeout_ms);
    shutdown(s->fd, SHUT_RDWR);
    return -ETIMEDOUT;
}

/*
 * After a MSG_DONTWAIT sendmsg/recvmsg that returned r: 1 to try it
 * again (interrupted, or the socket became ready before the deadline),
 * 0 when r (and errno) is the result to look at, or the negative status
 * of a wait that ran out of time or failed (the connection is then
 * finished).  errno is left as the call set it when 0 is returned.
 */
static int again(struct sock_transport *s, struct mvf_xfer *x, ssize_t r,
                 bool sending, const struct mvfl_deadline *dl)
{
    int w;

    if (r >= 0 || (errno != EINTR && errno != EAGAIN && errno != EWOULDBLOCK))
        return 0;
    if (errno == EINTR)
        return 1;
    w = mvfl_wait_fd(s->fd, sending ? POLLOUT : POLLIN, dl);
    if (w == -ETIMEDOUT)
        return timed_out(s, x, sending);
    if (w < 0) {
        snprintf(x->err, sizeof(x->err), "%s: %s",
                 sending ? "waiting to send" : "waiting for the reply",
                 strerror(-w));
        return kill_conn(s, x, w);
    }
    return 1;
}

static int send_request(struct sock_transport *s, struct mvf_xfer *x,
                        size_t len, const struct mvfl_deadline *dl)
{
    struct iovec iov = { .iov_base = s->frame, .iov_len = len };
    struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
    union fd_cmsg cm;
    ssize_t r;
    int w;

    if (x->n_fds_in) {
        for (uint32_t i = 0; i < x->n_fds_in; i++) {
            if (x->fds_in[i] < 0) {
                snprintf(x->err, sizeof(x->err), "invalid fd %d attached",
                         x->fds_in[i]);
                return -EBADF;
            }
        }
        memset(&cm, 0, sizeof(cm));
        msg.msg_control = cm.buf;
        msg.msg_controllen = CMSG_SPACE(sizeof(int) * x->n_fds_in);
        struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int) * x->n_fds_in);
        memcpy(CMSG_DATA(c), x->fds_in, sizeof(int) * x->n_fds_in);
    }

    do {
        r = sendmsg(s->fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
    } while ((w = again(s, x, r, true, dl)) == 1);
    if (w < 0)
        return w;
    if (r < 0) {
        int e = errno;
        snprintf(x->err, sizeof(x->err), "sending to macvfiod: %s%s",
                 strerror(e),
                 (e == EPIPE || e == ECONNRESET || e == ENOTCONN)
                     ? " (the daemon is gone)" : "");
        if (e == EBADF || e == EMSGSIZE || e == ENOBUFS || e == ENOMEM)
            return -e;  /* this call's problem, the connection is fine */
        return kill_conn(s, x, -e);
    }
    if ((size_t)r != len) {
        snprintf(x->err, sizeof(x->err), "short send (%zd of %zu bytes)", r,
                 len);
        return kill_conn(s, x, -EPIPE);
    }
    return 0;
}

/* Collects SCM_RIGHTS fds into fds[]; returns how many arrived. */
static uint32_t take_fds(struct msghdr *msg, int *fds)
{
    uint32_t n = 0;

    for (struct cmsghdr *c = CMSG_FIRSTHDR(msg); c; c = CMSG_NXTHDR(msg, c)) {
        if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS ||
            c->cmsg_len < CMSG_LEN(0))
            continue;
        size_t k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        for (size_t i = 0; i < k && n < MVF_MAX_FDS; i++)
            memcpy(&fds[n++], CMSG_DATA(c) + i * sizeof(int), sizeof(int));
    }
    return n;
}

static int receive_reply(struct sock_transport *s, struct mvf_xfer *x,
                         uint32_t seq, const struct mvfl_deadline *dl)
{
    struct iovec iov = { .iov_base = s->frame, .iov_len = sizeof(s->frame) };
    union fd_cmsg cm;
    struct msghdr msg = {
        .msg_iov = &iov, .msg_iovlen = 1,
        .msg_control = cm.buf, .msg_controllen = sizeof(cm.buf),
    };
    int fds[MVF_MAX_FDS];
    uint32_t n_fds;
    ssize_t r;
    int rc, w;

    do {
        r = recvmsg(s->fd, &msg, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
    } while ((w = again(s, x, r, false, dl)) == 1);
    if (w < 0)
        return w;
    if (r == 0) {
        snprintf(x->err, sizeof(x->err),
                 "macvfiod closed the connection (did it exit?)");
        return kill_conn(s, x, -ECONNRESET);
    }
    if (r < 0) {
        int e = errno;
        snprintf(x->err, sizeof(x->err), "receiving from macvfiod: %s",
                 strerror(e));
        return kill_conn(s, x, -e);
    }

    n_fds = take_fds(&msg, fds);
    if (msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) {
        close_fds(fds, n_fds);
        snprintf(x->err, sizeof(x->err),
                 "malformed reply from server: %s truncated",
                 (msg.msg_flags & MSG_TRUNC) ? "frame" : "fd list");
        x->bad_reply = true;
        return kill_conn(s, x, -EPROTO);
    }

    rc = mvfl_wire_decode_rep(s->frame, (size_t)r, seq, n_fds, x);
    if (rc < 0) {
        close_fds(fds, n_fds);
        return kill_conn(s, x, rc);
    }
    if (x->status < 0) {
        close_fds(fds, n_fds);  /* a failed call hands out nothing */
        return x->status;
    }
    memcpy(x->fds_out, fds, sizeof(int) * n_fds);
    x->n_fds_out = n_fds;
    return 0;
}

/* Encodes and sends x; *seq is its sequence number.  The deadline
 * starts here. */
static int send_xfer(struct sock_transport *s, struct mvf_xfer *x,
                     uint32_t *seq, struct mvfl_deadline *dl)
{
    int len;

    x->bad_reply = false;
    x->posted_error = false;
    x->n_fds_out = 0;
    if (s->dead) {
        snprintf(x->err, sizeof(x->err), "connection unusable: %.200s",
                 s->dead_msg);
        return s->dead;
    }
    *seq = ++s->seq;
    len = mvfl_wire_encode_req(s->frame, sizeof(s->frame), *seq, x);
    if (len < 0)
        return len;
    /* One limit for the whole exchange: the caller waits at most
     * timeout_ms, however the time splits between sending and waiting. */
    *dl = mvfl_deadline_in(s->base.timeout_ms);
    return send_request(s, x, (size_t)len, dl);
}

static int sock_call(struct mvf_transport *t, struct mvf_xfer *x)
{
    struct sock_transport *s = to_sock(t);
    struct mvfl_deadline dl;
    uint32_t seq = 0;
    int rc;

    x->posted = false;
    rc = send_xfer(s, x, &seq, &dl);
    if (rc < 0)
        return rc;
    return receive_reply(s, x, seq, &dl);
}

/* A full socket buffer blocks the send (until the deadline): that is
 * the backpressure on a client posting faster than the server runs. */
static int sock_post(struct mvf_transport *t, struct mvf_xfer *x)
{
    struct mvfl_deadline dl;
    uint32_t seq = 0;

    x->posted = true;
    return send_xfer(to_sock(t), x, &seq, &dl);
}

static int sock_map_memory(struct mvf_transport *t, struct mvf_xfer *x,
                           void **ptr)
{
    struct stat st;
    uint64_t size;
    void *p;
    int fd, rc;

    x->n_fds_expect = 1;
    if (x->n_out_min < 2)
        x->n_out_min = 2;
    rc = sock_call(t, x);
    if (rc < 0)
        return rc;
    fd = x->fds_out[0];
    x->fds_out[0] = -1;
    x->n_fds_out = 0;
    size = x->out[0];

    rc = 0;
    if (size == 0 || size > SIZE_MAX || size > (uint64_t)INT64_MAX) {
        snprintf(x->err, sizeof(x->err),
                 "malformed reply from server: mapping of %llu bytes",
                 (unsigned long long)size);
        x->bad_reply = true;
        rc = -EPROTO;
    } else if (fstat(fd, &st) < 0) {
        rc = -errno;
        snprintf(x->err, sizeof(x->err), "fstat on mapped fd: %s",
                 strerror(-rc));
    } else if (S_ISREG(st.st_mode) && (uint64_t)st.st_size < size) {
        /* Touching pages past the end of a file raises SIGBUS. */
        snprintf(x->err, sizeof(x->err),
                 "malformed reply from server: fd holds %lld bytes, "
                 "%llu announced", (long long)st.st_size,
                 (unsigned long long)size);
        x->bad_reply = true;
        rc = -EPROTO;
    }
    if (rc == 0) {
        /* Never PROT_EXEC: executable device memory panics Apple hosts,
         * and nothing here needs it anywhere. */
        p = mmap(NULL, (size_t)size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        if (p == MAP_FAILED) {
            rc = -errno;
            snprintf(x->err, sizeof(x->err), "mmap of %llu bytes: %s",
                     (unsigned long long)size, strerror(-rc));
        } else {
            *ptr = p;
        }
    }
    close(fd);
    return rc;
}

static int sock_unmap_memory(struct mvf_transport *t, void *ptr,
                             uint64_t size)
{
    (void)t;
    if (size > SIZE_MAX || munmap(ptr, (size_t)size) < 0)
        return -EINVAL;
    return 0;
}

static void sock_close(struct mvf_transport *t)
{
    struct sock_transport *s = to_sock(t);

    if (s->fd >= 0)
        close(s->fd);
    free(s);
}

/* The server never sends unsolicited frames: between calls, the socket
 * is readable only at end of file (the server closed or died, or a call
 * timed out and timed_out() shut the socket down). */
static int sock_poll_fd(struct mvf_transport *t)
{
    return to_sock(t)->fd;
}

static const struct mvf_transport_ops sock_ops = {
    .call = sock_call,
    .post = sock_post,
    .map_memory = sock_map_memory,
    .unmap_memory = sock_unmap_memory,
    .close = sock_close,
    .poll_fd = sock_poll_fd,
};

int mvfl_transport_socket_open(const char *path, struct mvf_transport **out,
                               char *err, size_t errlen)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    struct sock_transport *s;
    int e;

    if (strlen(path) >= sizeof(sa.sun_path)) {
        snprintf(err, errlen, "socket path longer than %zu bytes",
                 sizeof(sa.sun_path) - 1);
        return -ENAMETOOLONG;
    }
    memcpy(sa.sun_path, path, strlen(path) + 1);

    s = calloc(1, sizeof(*s));
    if (!s) {
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    s->base.ops = &sock_ops;
    s->base.features = SOCKET_FEATURES;
    s->fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
    if (s->fd < 0) {
        e = errno;
        snprintf(err, errlen, "socket: %s", strerror(e));
        free(s);
        return -e;
    }
    if (connect(s->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        e = errno;
        snprintf(err, errlen, "connecting to %s: %s%s", path, strerror(e),
                 (e == ENOENT || e == ECONNREFUSED)
                     ? " (is macvfiod running?)" : "");
        close(s->fd);
        free(s);
        return -e;
    }
    *out = &s->base;
    return 0;
}

#else /* !__linux__ */

int mvfl_transport_socket_open(const char *path, struct mvf_transport **out,
                               char *err, size_t errlen)
{
    (void)path;
    (void)out;
    snprintf(err, errlen, "the socket transport to macvfiod needs Linux "
             "(AF_UNIX SOCK_SEQPACKET); on macOS use mvf_connect_iokit");
    return -EPROTONOSUPPORT;
}

#endif

/* SPDX-License-Identifier: MIT */
/*
 * dkhost (test-only): the dext's own code (dext/) on the DriverKit double
 * with one simulated device, in a process of its own as it is on a Mac,
 * served to IOKitLib double clients over tests/dext/iokit/dkhost_wire.h.
 *
 *   dkhost --socket PATH --device SPEC [--ready-fd FD]
 *
 * One thread, one poll loop: every request runs to its end, then the
 * double's queues and the device's deferred work run until idle, then
 * waiting notification ports get what completed.  SIGTERM or SIGINT: every
 * client is closed, the dext stopped, and the exit status is 0 only if the
 * double saw no kernel rule broken and nothing left alive.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "dkhost_wire.h"
#include "tests/dkdouble/dkdouble.h"

#define MAX_CLIENTS 64
#define MAX_TASK_MAPS 256
#define GRANULE 16384u

struct task_map {
    void *reserve;       /* the whole reservation, unmapped at the end */
    size_t reserve_len;
};

struct client {
    int fd;
    uint32_t op;                 /* 0 until the first message, then CONN/PORT */
    uint32_t id;
    pid_t pid;
    struct dk_conn *conn;        /* CONN */
    uint32_t port_id;            /* CONN: the port its completions go to */
    bool recv_waiting;           /* PORT: a RECV is waiting for a message */
    struct task_map maps[MAX_TASK_MAPS];
    unsigned n_maps;
};

static struct dk_machine *machine;
static struct dk_service *service;
static struct client *clients[MAX_CLIENTS];
static uint32_t next_id = 1;
static volatile sig_atomic_t stopping;
static int wake_pipe[2] = {-1, -1};
static uint8_t buf_in[sizeof(struct dkw_req) + DKW_MAX_STRUCT];
static uint8_t buf_out[sizeof(struct dkw_rep) + DKW_MAX_STRUCT];

static void on_signal(int sig)
{
    (void)sig;
    stopping = 1;
    if (write(wake_pipe[1], "x", 1) < 0) {
        /* the loop also checks the flag */
    }
}

/* ---- the client task's memory ---------------------------------------- */

/* The mapping of `pid` that holds [addr, addr+len): its start and end,
 * file offset, and whether it is a shared one. */
static int find_mapping(pid_t pid, uint64_t addr, uint64_t len, uint64_t *start,
                        uint64_t *end, uint64_t *offset, bool *shared)
{
    char path[64], line[512];
    FILE *f;
    int rc = -ENOENT;

    snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
    f = fopen(path, "re");
    if (!f)
        return -errno;
    while (fgets(line, sizeof(line), f)) {
        uint64_t s, e, off;
        char perms[8];
        if (sscanf(line, "%" SCNx64 "-%" SCNx64 " %7s %" SCNx64, &s, &e, perms, &off) != 4)
            continue;
        if (addr >= s && addr < e) {
            if (len > e - addr)
                break;   /* the range spans mappings: not one object */
            *start = s;
            *end = e;
            *offset = off;
            *shared = perms[3] == 's';
            rc = 0;
            break;
        }
    }
    fclose(f);
    return rc;
}

/* The task's [address, address+length) in this process: the same pages,
 * through /proc/<pid>/map_files, with the range's first page at a 16 KiB
 * boundary, as a Mac's 16 KiB pages would have it.  A Linux client's
 * memory is only 4 KiB aligned; placed this way, offsets the dext maps in
 * granules of the registration still get granule-aligned IOVAs, and byte
 * x of the range is the task's byte x.  NULL if it is not a shared file
 * mapping of the task. */
static void *task_map(void *ctx, uint64_t address, uint64_t length)
{
    struct client *c = ctx;
    uint64_t start, end, offset, page_off, map_len;
    char path[96];
    bool shared;
    int fd;

    if (c->n_maps == MAX_TASK_MAPS ||
        find_mapping(c->pid, address, length, &start, &end, &offset, &shared) || !shared)
        return NULL;
    snprintf(path, sizeof(path), "/proc/%d/map_files/%" PRIx64 "-%" PRIx64, (int)c->pid,
             start, end);
    fd = open(path, O_RDWR | O_CLOEXEC);
    if (fd < 0)
        return NULL;
    page_off = address & 4095u;
    map_len = (page_off + length + 4095u) & ~(uint64_t)4095u;
    size_t reserve_len = (size_t)map_len + GRANULE;
    uint8_t *r = mmap(NULL, reserve_len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (r == MAP_FAILED) {
        close(fd);
        return NULL;
    }
    uint8_t *at = (uint8_t *)(((uintptr_t)r + GRANULE - 1) & ~(uintptr_t)(GRANULE - 1));
    void *p = mmap(at, (size_t)map_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, fd,
                   (off_t)(offset + ((address & ~(uint64_t)4095u) - start)));
    close(fd);
    if (p == MAP_FAILED) {
        munmap(r, reserve_len);
        return NULL;
    }
    c->maps[c->n_maps++] = (struct task_map){r, reserve_len};
    return at + page_off;
}

static void task_unmap_all(struct client *c)
{
    for (unsigned i = 0; i < c->n_maps; i++)
        munmap(c->maps[i].reserve, c->maps[i].reserve_len);
    c->n_maps = 0;
}

/* An fd for this process's memory at p, and p's offset in it. */
static int memory_fd(void *p, uint64_t *offset)
{
    uint64_t start, end, off;
    char path[96];
    bool shared;

    if (find_mapping(getpid(), (uint64_t)(uintptr_t)p, 1, &start, &end, &off, &shared) ||
        !shared)
        return -1;
    snprintf(path, sizeof(path), "/proc/self/map_files/%" PRIx64 "-%" PRIx64, start, end);
    *offset = off + ((uint64_t)(uintptr_t)p - start);
    return open(path, O_RDWR | O_CLOEXEC);
}

/* ---- replies ----------------------------------------------------------- */

static int send_reply(struct client *c, const struct dkw_rep *rep, const void *data,
                      size_t len, int fd)
{
    struct iovec iov[2] = {{(void *)rep, sizeof(*rep)}, {(void *)data, len}};
    char ctl[CMSG_SPACE(sizeof(int))];
    struct msghdr mh = {.msg_iov = iov, .msg_iovlen = len ? 2 : 1};

    if (fd >= 0) {
        memset(ctl, 0, sizeof(ctl));
        mh.msg_control = ctl;
        mh.msg_controllen = sizeof(ctl);
        struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
        cm->cmsg_level = SOL_SOCKET;
        cm->cmsg_type = SCM_RIGHTS;
        cm->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(cm), &fd, sizeof(int));
    }
    return sendmsg(c->fd, &mh, MSG_NOSIGNAL) < 0 ? -errno : 0;
}

static int reply_kr(struct client *c, int32_t kr)
{
    struct dkw_rep rep = {.kr = kr, .id = c->id};
    return send_reply(c, &rep, NULL, 0, -1);
}

/* ---- requests ---------------------------------------------------------- */

static int on_call(struct client *c, const struct dkw_req *req, const uint8_t *sin)
{
    struct dkw_rep *rep = (struct dkw_rep *)buf_out;
    uint32_t n_out = req->n_out_cap;
    size_t sout_len = req->sout_cap;

    if (req->sout_cap > DKW_MAX_STRUCT)
        return reply_kr(c, (int32_t)0xe00002c2);   /* kIOReturnBadArgument */
    memset(rep, 0, sizeof(*rep));
    const struct dk_call call = {
        .selector = req->selector,
        .in = req->in,
        .n_in = req->n_in,
        .sin = req->sin_len ? sin : NULL,
        .sin_len = req->sin_len,
        .out = rep->out,
        .n_out = &n_out,
        .sout = buf_out + sizeof(*rep),
        .sout_len = &sout_len,
        .async = req->async != 0,
        .async_ref = req->async_ref,
    };
    if (req->async)
        c->port_id = req->port_id;
    rep->kr = dk_connect_call(c->conn, &call);
    rep->n_out = n_out;
    rep->sout_len = sout_len;
    return send_reply(c, rep, buf_out + sizeof(*rep), sout_len, -1);
}

static int on_map(struct client *c, const struct dkw_req *req)
{
    struct dkw_rep rep = {.id = c->id};
    void *addr = NULL;
    uint64_t len = 0, off = 0;
    int fd = -1, rc;

    rep.kr = dk_connect_map_memory(c->conn, req->map_type, req->map_options, &addr, &len);
    if (rep.kr == 0) {
        fd = memory_fd(addr, &off);
        if (fd < 0) {
            dk_connect_unmap_memory(c->conn, req->map_type, addr);
            rep.kr = (int32_t)0xe00002bd;   /* kIOReturnNoMemory */
        }
    }
    rep.map_len = len;
    rep.map_offset = off;
    rep.cookie = (uint64_t)(uintptr_t)addr;
    rc = send_reply(c, &rep, NULL, 0, fd);
    if (fd >= 0)
        close(fd);
    return rc;
}

static int on_first(struct client *c, const struct dkw_req *req)
{
    struct ucred cred;
    socklen_t clen = sizeof(cred);

    if (getsockopt(c->fd, SOL_SOCKET, SO_PEERCRED, &cred, &clen))
        return -errno;
    c->pid = cred.pid;
    c->id = next_id++;
    c->op = req->op;
    if (req->op == DKW_PORT)
        return reply_kr(c, 0);
    if (req->op != DKW_CONN)
        return -EPROTO;
    int32_t kr = dk_client_open(service, 0, &c->conn);
    if (kr == 0)
        dk_conn_set_task(c->conn, task_map, c);
    return reply_kr(c, kr);
}

/* One message from c; a negative return ends the client. */
static int on_message(struct client *c)
{
    ssize_t n = recv(c->fd, buf_in, sizeof(buf_in), 0);
    const struct dkw_req *req = (const struct dkw_req *)buf_in;

    if (n <= 0)
        return -EPIPE;
    if ((size_t)n < sizeof(*req) || req->sin_len != (size_t)n - sizeof(*req) ||
        req->n_in > DKW_SCALARS + 1)
        return -EPROTO;
    if (!c->op)
        return on_first(c, req);
    if (c->op == DKW_PORT) {
        if (req->op != DKW_RECV)
            return -EPROTO;
        c->recv_waiting = true;
        return 0;
    }
    switch (req->op) {
    case DKW_CALL:
        return on_call(c, req, buf_in + sizeof(*req));
    case DKW_MAP:
        return on_map(c, req);
    case DKW_UNMAP:
        return reply_kr(c, dk_connect_unmap_memory(c->conn, req->map_type,
                                                   (void *)(uintptr_t)req->cookie));
    case DKW_CLOSE:
        dk_client_close(c->conn);
        task_unmap_all(c);
        reply_kr(c, 0);
        return -EPIPE;   /* closed: the connection ends here */
    default:
        return -EPROTO;
    }
}

static void drop(int i)
{
    struct client *c = clients[i];

    if (c->op == DKW_CONN && c->conn)
        dk_client_die(c->conn);   /* no-op after a CLOSE */
    task_unmap_all(c);
    close(c->fd);
    free(c);
    clients[i] = NULL;
}

/* Waiting ports get the oldest completion of a connection bound to them. */
static void deliver(void)
{
    for (int p = 0; p < MAX_CLIENTS; p++) {
        struct client *port = clients[p];
        if (!port || port->op != DKW_PORT || !port->recv_waiting)
            continue;
        for (int i = 0; i < MAX_CLIENTS; i++) {
            struct client *c = clients[i];
            struct dkw_msg msg = {0};
            if (!c || c->op != DKW_CONN || c->port_id != port->id ||
                !dk_port_take_ref(c->conn, &msg.status, msg.args, &msg.n, msg.async_ref))
                continue;
            port->recv_waiting = false;
            if (send(port->fd, &msg, sizeof(msg), MSG_NOSIGNAL) < 0)
                fprintf(stderr, "dkhost: a port went away: %s\n", strerror(errno));
            break;
        }
    }
}

static int listen_on(const char *path)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    int fd;

    if (strlen(path) >= sizeof(sa.sun_path))
        return -ENAMETOOLONG;
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
    fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    unlink(path);
    if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) || listen(fd, 16)) {
        int e = -errno;
        close(fd);
        return e;
    }
    return fd;
}

static void serve(int lfd)
{
    while (!stopping) {
        struct pollfd pfd[MAX_CLIENTS + 2];
        int idx[MAX_CLIENTS + 2], n = 0;

        pfd[n] = (struct pollfd){.fd = wake_pipe[0], .events = POLLIN};
        idx[n++] = -2;
        pfd[n] = (struct pollfd){.fd = lfd, .events = POLLIN};
        idx[n++] = -1;
        for (int i = 0; i < MAX_CLIENTS; i++)
            if (clients[i]) {
                pfd[n] = (struct pollfd){.fd = clients[i]->fd, .events = POLLIN};
                idx[n++] = i;
            }
        if (poll(pfd, (nfds_t)n, dk_machine_has_work(machine) ? 0 : -1) < 0 && errno != EINTR)
            break;
        for (int k = 0; k < n; k++) {
            if (!pfd[k].revents)
                continue;
            if (idx[k] == -1) {
                int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
                int slot = -1;
                for (int i = 0; i < MAX_CLIENTS && slot < 0 && fd >= 0; i++)
                    if (!clients[i])
                        slot = i;
                struct client *c = slot >= 0 ? calloc(1, sizeof(*c)) : NULL;
                if (!c) {
                    if (fd >= 0)
                        close(fd);
                    continue;
                }
                c->fd = fd;
                clients[slot] = c;
            } else if (idx[k] >= 0 && clients[idx[k]]) {
                if (on_message(clients[idx[k]]) < 0)
                    drop(idx[k]);
            }
            dk_run_until_idle(machine);
        }
        dk_run_until_idle(machine);
        deliver();
    }
}

int main(int argc, char **argv)
{
    const char *sock = NULL, *spec = NULL;
    int ready_fd = -1, lfd;
    char err[256] = "";

    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--socket"))
            sock = argv[i + 1];
        else if (!strcmp(argv[i], "--device"))
            spec = argv[i + 1];
        else if (!strcmp(argv[i], "--ready-fd"))
            ready_fd = atoi(argv[i + 1]);
    }
    if (!sock || !spec) {
        fprintf(stderr, "usage: dkhost --socket PATH --device SPEC [--ready-fd FD]\n");
        return 2;
    }
    if (pipe2(wake_pipe, O_CLOEXEC))
        return 1;
    signal(SIGTERM, on_signal);
    signal(SIGINT, on_signal);
    signal(SIGPIPE, SIG_IGN);
    machine = dk_machine_create(spec, NULL, err, sizeof(err));
    if (!machine) {
        fprintf(stderr, "dkhost: %s: %s\n", spec, err);
        return 1;
    }
    dk_machine_add_class(machine, "MacvfioUserClientProperties", "MacvfioUserClient");
    if (dk_match_start(machine, "MacvfioDriver", &service) != 0) {
        fprintf(stderr, "dkhost: the dext did not start on %s\n", spec);
        dk_machine_destroy(machine);
        return 1;
    }
    lfd = listen_on(sock);
    if (lfd < 0) {
        fprintf(stderr, "dkhost: %s: %s\n", sock, strerror(-lfd));
        return 1;
    }
    if (ready_fd >= 0) {
        if (write(ready_fd, "R", 1) != 1)
            return 1;
        close(ready_fd);
    }
    serve(lfd);

    for (int i = 0; i < MAX_CLIENTS; i++)
        if (clients[i])
            drop(i);
    close(lfd);
    unlink(sock);
    struct dk_counters k;
    dk_counters(machine, &k);
    int32_t kr = dk_service_stop(service);
    uint64_t left = dk_machine_destroy(machine);
    if (k.rule_violations || k.live_dma_mappings || k.client_descriptors || kr || left) {
        fprintf(stderr, "dkhost: %" PRIu64 " rule(s) broken, %" PRIu64 " DMA mapping(s) and %"
                PRIu64 " client descriptor(s) left, Stop 0x%x, %" PRIu64 " object(s) alive\n",
                k.rule_violations, k.live_dma_mappings, k.client_descriptors, (unsigned)kr, left);
        return 1;
    }
    return 0;
}

/* SPDX-License-Identifier: MIT */
/*
 * The IOKitLib double (test-only, Linux): the IOKitLib, Mach and
 * libdispatch calls lib/transport_iokit.c makes, forwarded to dkhost
 * processes (the dext's code on the DriverKit double) over
 * tests/dext/iokit/dkhost_wire.h.  The services are the dkhost sockets in
 * $MVF_DKHOST_DIR.  What IOKit itself decides is decided there, by the
 * DriverKit double: 16 scalars, 4096 bytes in band, larger structures out
 * of line, no outputs on error, a 5-deep completion port.  What is the
 * client library's is done here as IOKitLib does it: mapping the memory a
 * connection hands out, calling async callbacks on the notification
 * port's dispatch queue, and telling interest callbacks when a service
 * terminates (its dkhost went away).
 *
 * Objects are small integers (Mach port names).  A notification port is
 * one dkhost connection, so it serves the connections of one service.
 */
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <IOKit/IOKitLib.h>
#include <IOKit/IOMessage.h>
#include <dispatch/dispatch.h>
#include <mach/mach.h>

#include "dkhost_wire.h"

const mach_port_t kIOMainPortDefault = MACH_PORT_NULL;
mach_port_t mach_task_self_ = 1;
struct dispatch_queue_s _dispatch_main_q;

#define MAX_OBJECTS 256
#define MAX_SERVICES 16
#define MAX_MAPS 16
#define KR_BAD_ARGUMENT ((kern_return_t)kIOReturnBadArgument)

/* ---- dispatch: a serial queue is a thread and a FIFO ----------------- */

struct work {
    dispatch_function_t fn;
    void *ctx;
    bool *done;          /* dispatch_sync_f: set when run */
    struct work *next;
};

struct dispatch_queue_s {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    pthread_t thread;
    struct work *head, *tail;
    bool stop;
};

static void *queue_main(void *arg)
{
    struct dispatch_queue_s *q = arg;

    pthread_mutex_lock(&q->lock);
    for (;;) {
        while (!q->head && !q->stop)
            pthread_cond_wait(&q->cond, &q->lock);
        if (!q->head)
            break;
        struct work *w = q->head;
        q->head = w->next;
        if (!q->head)
            q->tail = NULL;
        pthread_mutex_unlock(&q->lock);
        w->fn(w->ctx);
        pthread_mutex_lock(&q->lock);
        if (w->done) {
            *w->done = true;
            pthread_cond_broadcast(&q->cond);
        }
        free(w);
    }
    pthread_mutex_unlock(&q->lock);
    return NULL;
}

dispatch_queue_t dispatch_queue_create(const char *label, dispatch_queue_attr_t attr)
{
    struct dispatch_queue_s *q = calloc(1, sizeof(*q));

    (void)label;
    (void)attr;
    if (!q)
        return NULL;
    pthread_mutex_init(&q->lock, NULL);
    pthread_cond_init(&q->cond, NULL);
    if (pthread_create(&q->thread, NULL, queue_main, q)) {
        free(q);
        return NULL;
    }
    return q;
}

static void enqueue(dispatch_queue_t q, void *ctx, dispatch_function_t fn, bool *done)
{
    struct work *w = calloc(1, sizeof(*w));

    if (!w)
        abort();
    *w = (struct work){fn, ctx, done, NULL};
    pthread_mutex_lock(&q->lock);
    if (q->tail)
        q->tail->next = w;
    else
        q->head = w;
    q->tail = w;
    pthread_cond_broadcast(&q->cond);
    if (done)
        while (!*done)
            pthread_cond_wait(&q->cond, &q->lock);
    pthread_mutex_unlock(&q->lock);
}

void dispatch_async_f(dispatch_queue_t queue, void *context, dispatch_function_t work)
{
    enqueue(queue, context, work, NULL);
}

void dispatch_sync_f(dispatch_queue_t queue, void *context, dispatch_function_t work)
{
    bool done = false;

    if (pthread_equal(pthread_self(), queue->thread)) {
        fprintf(stderr, "iokitlib double: dispatch_sync_f onto the current queue deadlocks\n");
        abort();
    }
    enqueue(queue, context, work, &done);
}

/* Runs what is queued, then ends the queue (the last reference). */
void dispatch_release(dispatch_object_t object)
{
    struct dispatch_queue_s *q = object._dq;

    pthread_mutex_lock(&q->lock);
    q->stop = true;
    pthread_cond_broadcast(&q->cond);
    pthread_mutex_unlock(&q->lock);
    pthread_join(q->thread, NULL);
    pthread_mutex_destroy(&q->lock);
    pthread_cond_destroy(&q->cond);
    free(q);
}

/* ---- CoreFoundation: a matching dictionary is a service name ---------- */

void CFRelease(CFTypeRef cf)
{
    free((void *)cf);
}

CFTypeRef CFRetain(CFTypeRef cf)
{
    return cf;
}

CFMutableDictionaryRef IOServiceNameMatching(const char *name)
{
    return (CFMutableDictionaryRef)(void *)strdup(name);
}

/* ---- objects ------------------------------------------------------------ */

enum obj_kind { OBJ_FREE, OBJ_ITERATOR, OBJ_SERVICE, OBJ_CONNECT, OBJ_PORT, OBJ_INTEREST };

struct mapping {
    void *addr;
    size_t len;
    uint32_t type;
    uint64_t cookie;
};

struct object {
    enum obj_kind kind;
    char path[108];                       /* SERVICE, CONNECT: the dkhost socket */
    /* ITERATOR */
    char services[MAX_SERVICES][108];
    unsigned n_services, next;
    /* CONNECT */
    int fd;
    pthread_mutex_t lock;                 /* one request at a time */
    struct mapping maps[MAX_MAPS];
    /* PORT */
    struct IONotificationPort *port;
    /* INTEREST */
    IOServiceInterestCallback interest;
    void *refcon;
    io_service_t service;
};

struct IONotificationPort {
    mach_port_t name;
    int fd;                               /* the dkhost PORT connection, or -1 */
    char path[108];
    uint32_t id;                          /* dkhost's */
    dispatch_queue_t queue;
    pthread_t thread;
    bool running, destroying;
    pthread_mutex_t lock;
    struct object *interest;              /* one interest notification */
};

static struct object objects[MAX_OBJECTS];
static pthread_mutex_t objects_lock = PTHREAD_MUTEX_INITIALIZER;

/* Paths are kept NUL-terminated within their 108 bytes (sun_path's). */
static void copy_path(char dst[108], const char *src)
{
    size_t n = strnlen(src, 107);
    memmove(dst, src, n);
    dst[n] = '\0';
}

static io_object_t obj_new(enum obj_kind kind)
{
    pthread_mutex_lock(&objects_lock);
    for (unsigned i = 1; i < MAX_OBJECTS; i++)
        if (objects[i].kind == OBJ_FREE) {
            memset(&objects[i], 0, sizeof(objects[i]));
            objects[i].kind = kind;
            objects[i].fd = -1;
            pthread_mutex_unlock(&objects_lock);
            return 1000 + i;
        }
    pthread_mutex_unlock(&objects_lock);
    return 0;
}

static struct object *obj_get(io_object_t o, enum obj_kind kind)
{
    if (o < 1001 || o >= 1000 + MAX_OBJECTS || objects[o - 1000].kind != kind)
        return NULL;
    return &objects[o - 1000];
}

kern_return_t IOObjectRelease(io_object_t object)
{
    if (object < 1001 || object >= 1000 + MAX_OBJECTS)
        return KR_BAD_ARGUMENT;
    struct object *o = &objects[object - 1000];
    if (o->kind == OBJ_INTEREST && o->port) {
        pthread_mutex_lock(&o->port->lock);
        o->port->interest = NULL;
        pthread_mutex_unlock(&o->port->lock);
    }
    pthread_mutex_lock(&objects_lock);
    o->kind = OBJ_FREE;
    pthread_mutex_unlock(&objects_lock);
    return KERN_SUCCESS;
}

/* ---- services ---------------------------------------------------------- */

kern_return_t IOServiceGetMatchingServices(mach_port_t mainPort, CFDictionaryRef matching,
                                           io_iterator_t *existing)
{
    const char *dir = getenv("MVF_DKHOST_DIR");
    io_iterator_t it;
    struct object *o;

    (void)mainPort;
    if (!existing)
        return KR_BAD_ARGUMENT;
    it = obj_new(OBJ_ITERATOR);
    o = obj_get(it, OBJ_ITERATOR);
    if (!o) {
        CFRelease(matching);
        return kIOReturnNoMemory;
    }
    /* Every dkhost serves one "macvfio" service, as each dext does. */
    DIR *d = dir && matching && !strcmp((const char *)matching, "macvfio") ? opendir(dir) : NULL;
    struct dirent *e;
    while (d && (e = readdir(d)) && o->n_services < MAX_SERVICES) {
        size_t n = strlen(e->d_name);
        if (n > 5 && !strcmp(e->d_name + n - 5, ".sock") &&
            strlen(dir) + n + 2 <= sizeof(o->services[0]))
            snprintf(o->services[o->n_services++], sizeof(o->services[0]), "%s/%s", dir,
                     e->d_name);
    }
    if (d)
        closedir(d);
    CFRelease(matching);
    *existing = it;
    return KERN_SUCCESS;
}

io_service_t IOServiceGetMatchingService(mach_port_t mainPort, CFDictionaryRef matching)
{
    io_iterator_t it;
    if (IOServiceGetMatchingServices(mainPort, matching, &it) != KERN_SUCCESS)
        return 0;
    io_service_t s = IOIteratorNext(it);
    IOObjectRelease(it);
    return s;
}

io_object_t IOIteratorNext(io_iterator_t iterator)
{
    struct object *it = obj_get(iterator, OBJ_ITERATOR);
    if (!it || it->next >= it->n_services)
        return 0;
    io_service_t s = obj_new(OBJ_SERVICE);
    struct object *o = obj_get(s, OBJ_SERVICE);
    if (o)
        copy_path(o->path, it->services[it->next++]);
    return s;
}

/* ---- the wire ------------------------------------------------------------ */

static int dial(const char *path)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);

    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
    if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
        close(fd);
        return -1;
    }
    return fd;
}

/* One request and its reply (and the fd that may come with it).  A dead
 * dkhost is a dead port: MACH_SEND_INVALID_DEST. */
static kern_return_t transact(int fd, const struct dkw_req *req, const void *sin,
                              struct dkw_rep *rep, void *sout, size_t sout_cap, int *fd_out)
{
    static __thread uint8_t buf[sizeof(struct dkw_rep) + DKW_MAX_STRUCT];
    struct iovec iov[2] = {{(void *)req, sizeof(*req)}, {(void *)sin, req->sin_len}};
    struct msghdr mh = {.msg_iov = iov, .msg_iovlen = req->sin_len ? 2 : 1};
    char ctl[CMSG_SPACE(sizeof(int))];
    ssize_t n;

    if (fd_out)
        *fd_out = -1;
    if (sendmsg(fd, &mh, MSG_NOSIGNAL) < 0)
        return MACH_SEND_INVALID_DEST;
    struct iovec riov = {buf, sizeof(buf)};
    struct msghdr rh = {.msg_iov = &riov, .msg_iovlen = 1, .msg_control = ctl,
                        .msg_controllen = sizeof(ctl)};
    do
        n = recvmsg(fd, &rh, MSG_CMSG_CLOEXEC);
    while (n < 0 && errno == EINTR);
    if (n < (ssize_t)sizeof(*rep))
        return MACH_SEND_INVALID_DEST;
    memcpy(rep, buf, sizeof(*rep));
    for (struct cmsghdr *cm = CMSG_FIRSTHDR(&rh); cm; cm = CMSG_NXTHDR(&rh, cm))
        if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS && fd_out)
            memcpy(fd_out, CMSG_DATA(cm), sizeof(int));
    if (rep->sout_len > sout_cap || (size_t)n - sizeof(*rep) != rep->sout_len)
        return MIG_TYPE_ERROR;
    if (rep->sout_len)
        memcpy(sout, buf + sizeof(*rep), rep->sout_len);
    return KERN_SUCCESS;
}

kern_return_t IOServiceOpen(io_service_t service, task_port_t owningTask, uint32_t type,
                            io_connect_t *connect)
{
    struct object *s = obj_get(service, OBJ_SERVICE);
    struct dkw_req req = {.op = DKW_CONN};
    struct dkw_rep rep;

    if (!s || owningTask != mach_task_self() || type != 0 || !connect)
        return KR_BAD_ARGUMENT;
    io_connect_t c = obj_new(OBJ_CONNECT);
    struct object *o = obj_get(c, OBJ_CONNECT);
    if (!o)
        return kIOReturnNoMemory;
    copy_path(o->path, s->path);
    pthread_mutex_init(&o->lock, NULL);
    o->fd = dial(s->path);
    kern_return_t kr = o->fd < 0 ? kIOReturnNotFound
                                 : transact(o->fd, &req, NULL, &rep, NULL, 0, NULL);
    if (kr == KERN_SUCCESS)
        kr = rep.kr;
    if (kr != KERN_SUCCESS) {
        if (o->fd >= 0)
            close(o->fd);
        IOObjectRelease(c);
        return kr;
    }
    *connect = c;
    return KERN_SUCCESS;
}

kern_return_t IOServiceClose(io_connect_t connect)
{
    struct object *o = obj_get(connect, OBJ_CONNECT);
    struct dkw_req req = {.op = DKW_CLOSE};
    struct dkw_rep rep;

    if (!o)
        return KR_BAD_ARGUMENT;
    for (unsigned i = 0; i < MAX_MAPS; i++)
        if (o->maps[i].addr) {
            munmap(o->maps[i].addr, o->maps[i].len);   /* the task's mappings go too */
            o->maps[i].addr = NULL;
        }
    pthread_mutex_lock(&o->lock);
    transact(o->fd, &req, NULL, &rep, NULL, 0, NULL);
    close(o->fd);
    pthread_mutex_unlock(&o->lock);
    pthread_mutex_destroy(&o->lock);
    return IOObjectRelease(connect);
}

static kern_return_t call(io_connect_t connection, uint32_t selector,
                          struct IONotificationPort *port, const uint64_t *reference,
                          uint32_t referenceCnt, const uint64_t *input, uint32_t inputCnt,
                          const void *inputStruct, size_t inputStructCnt, uint64_t *output,
                          uint32_t *outputCnt, void *outputStruct, size_t *outputStructCnt)
{
    struct object *o = obj_get(connection, OBJ_CONNECT);
    struct dkw_req req = {.op = DKW_CALL, .selector = selector};
    struct dkw_rep rep;
    size_t sout_cap = outputStructCnt ? *outputStructCnt : 0;
    kern_return_t kr;

    if (!o || inputCnt > DKW_SCALARS + 1 || inputStructCnt > DKW_MAX_STRUCT ||
        sout_cap > DKW_MAX_STRUCT || referenceCnt > DKW_ASYNC_REF)
        return o ? (kern_return_t)MIG_ARRAY_TOO_LARGE : MACH_SEND_INVALID_DEST;
    req.n_in = inputCnt;
    if (inputCnt)
        memcpy(req.in, input, inputCnt * sizeof(uint64_t));
    req.n_out_cap = outputCnt ? *outputCnt : 0;
    req.sin_len = inputStructCnt;
    req.sout_cap = sout_cap;
    if (port) {
        req.async = 1;
        req.port_id = port->id;
        memcpy(req.async_ref, reference, referenceCnt * sizeof(uint64_t));
    }
    pthread_mutex_lock(&o->lock);
    kr = transact(o->fd, &req, inputStruct, &rep, outputStruct, sout_cap, NULL);
    pthread_mutex_unlock(&o->lock);
    if (kr == KERN_SUCCESS)
        kr = rep.kr;
    if (outputCnt)
        *outputCnt = kr == KERN_SUCCESS ? rep.n_out : 0;
    if (outputStructCnt)
        *outputStructCnt = kr == KERN_SUCCESS ? rep.sout_len : 0;
    if (kr == KERN_SUCCESS && rep.n_out)
        memcpy(output, rep.out, rep.n_out * sizeof(uint64_t));
    return kr;
}

kern_return_t IOConnectCallMethod(mach_port_t connection, uint32_t selector,
                                  const uint64_t *input, uint32_t inputCnt,
                                  const void *inputStruct, size_t inputStructCnt,
                                  uint64_t *output, uint32_t *outputCnt, void *outputStruct,
                                  size_t *outputStructCnt)
{
    return call(connection, selector, NULL, NULL, 0, input, inputCnt, inputStruct,
                inputStructCnt, output, outputCnt, outputStruct, outputStructCnt);
}

kern_return_t IOConnectCallScalarMethod(mach_port_t connection, uint32_t selector,
                                        const uint64_t *input, uint32_t inputCnt,
                                        uint64_t *output, uint32_t *outputCnt)
{
    return call(connection, selector, NULL, NULL, 0, input, inputCnt, NULL, 0, output,
                outputCnt, NULL, NULL);
}

static struct IONotificationPort *port_of(mach_port_t name);
static kern_return_t port_attach(struct IONotificationPort *p, const char *path);

kern_return_t IOConnectCallAsyncMethod(mach_port_t connection, uint32_t selector,
                                       mach_port_t wake_port, uint64_t *reference,
                                       uint32_t referenceCnt, const uint64_t *input,
                                       uint32_t inputCnt, const void *inputStruct,
                                       size_t inputStructCnt, uint64_t *output,
                                       uint32_t *outputCnt, void *outputStruct,
                                       size_t *outputStructCnt)
{
    struct object *o = obj_get(connection, OBJ_CONNECT);
    struct IONotificationPort *p = port_of(wake_port);

    if (!o || !p || !reference || !referenceCnt)
        return KR_BAD_ARGUMENT;
    kern_return_t kr = port_attach(p, o->path);
    if (kr != KERN_SUCCESS)
        return kr;
    return call(connection, selector, p, reference, referenceCnt, input, inputCnt,
                inputStruct, inputStructCnt, output, outputCnt, outputStruct, outputStructCnt);
}

/* ---- memory -------------------------------------------------------------- */

kern_return_t IOConnectMapMemory64(io_connect_t connect, uint32_t memoryType,
                                   task_port_t intoTask, mach_vm_address_t *atAddress,
                                   mach_vm_size_t *ofSize, IOOptionBits options)
{
    struct object *o = obj_get(connect, OBJ_CONNECT);
    struct dkw_req req = {.op = DKW_MAP, .map_type = memoryType, .map_options = options};
    struct dkw_rep rep;
    struct mapping *slot = NULL;
    int fd = -1;

    if (!o || intoTask != mach_task_self() || !atAddress || !ofSize ||
        !(options & kIOMapAnywhere))
        return KR_BAD_ARGUMENT;
    for (unsigned i = 0; i < MAX_MAPS && !slot; i++)
        if (!o->maps[i].addr)
            slot = &o->maps[i];
    if (!slot)
        return kIOReturnNoResources;
    pthread_mutex_lock(&o->lock);
    kern_return_t kr = transact(o->fd, &req, NULL, &rep, NULL, 0, &fd);
    pthread_mutex_unlock(&o->lock);
    if (kr == KERN_SUCCESS)
        kr = rep.kr;
    if (kr == KERN_SUCCESS && fd < 0)
        kr = kIOReturnInternalError;
    if (kr != KERN_SUCCESS) {
        if (fd >= 0)
            close(fd);
        return kr;
    }
    int prot = (options & kIOMapReadOnly) ? PROT_READ : PROT_READ | PROT_WRITE;
    void *p = mmap(NULL, rep.map_len, prot, MAP_SHARED, fd, (off_t)rep.map_offset);
    close(fd);
    if (p == MAP_FAILED) {
        struct dkw_req un = {.op = DKW_UNMAP, .map_type = memoryType, .cookie = rep.cookie};
        pthread_mutex_lock(&o->lock);
        transact(o->fd, &un, NULL, &rep, NULL, 0, NULL);
        pthread_mutex_unlock(&o->lock);
        return kIOReturnVMError;
    }
    *slot = (struct mapping){p, rep.map_len, memoryType, rep.cookie};
    *atAddress = (mach_vm_address_t)(uintptr_t)p;
    *ofSize = rep.map_len;
    return KERN_SUCCESS;
}

kern_return_t IOConnectUnmapMemory64(io_connect_t connect, uint32_t memoryType,
                                     task_port_t fromTask, mach_vm_address_t atAddress)
{
    struct object *o = obj_get(connect, OBJ_CONNECT);

    if (!o || fromTask != mach_task_self())
        return KR_BAD_ARGUMENT;
    for (unsigned i = 0; i < MAX_MAPS; i++) {
        struct mapping *m = &o->maps[i];
        if (m->addr && (uintptr_t)m->addr == atAddress && m->type == memoryType) {
            struct dkw_req req = {.op = DKW_UNMAP, .map_type = memoryType, .cookie = m->cookie};
            struct dkw_rep rep;
            munmap(m->addr, m->len);
            m->addr = NULL;
            pthread_mutex_lock(&o->lock);
            kern_return_t kr = transact(o->fd, &req, NULL, &rep, NULL, 0, NULL);
            pthread_mutex_unlock(&o->lock);
            return kr == KERN_SUCCESS ? rep.kr : kr;
        }
    }
    return KR_BAD_ARGUMENT;
}

/* ---- notification ports -------------------------------------------------- */

static struct IONotificationPort *port_of(mach_port_t name)
{
    struct object *o = obj_get(name, OBJ_PORT);
    return o ? o->port : NULL;
}

IONotificationPortRef IONotificationPortCreate(mach_port_t mainPort)
{
    (void)mainPort;
    mach_port_t name = obj_new(OBJ_PORT);
    struct object *o = obj_get(name, OBJ_PORT);
    struct IONotificationPort *p = o ? calloc(1, sizeof(*p)) : NULL;
    if (!p) {
        if (o)
            IOObjectRelease(name);
        return NULL;
    }
    p->name = name;
    p->fd = -1;
    pthread_mutex_init(&p->lock, NULL);
    o->port = p;
    return p;
}

mach_port_t IONotificationPortGetMachPort(IONotificationPortRef notify)
{
    return notify ? notify->name : MACH_PORT_NULL;
}

void IONotificationPortSetDispatchQueue(IONotificationPortRef notify, dispatch_queue_t queue)
{
    notify->queue = queue;
}

struct delivery {
    IOAsyncCallback cb;
    void *refcon;
    struct dkw_msg msg;
};

static void run_async(void *arg)
{
    struct delivery *d = arg;
    void *args[16];
    for (uint32_t i = 0; i < d->msg.n && i < 16; i++)
        args[i] = (void *)(uintptr_t)d->msg.args[i];
    d->cb(d->refcon, d->msg.status, args, d->msg.n);
}

struct termination {
    IOServiceInterestCallback cb;
    void *refcon;
    io_service_t service;
};

static void run_terminated(void *arg)
{
    struct termination *t = arg;
    t->cb(t->refcon, t->service, kIOMessageServiceIsTerminated, NULL);
}

/* The port's receiver: one message at a time, each handled on the port's
 * queue before the next is taken off the port (as a dispatch source
 * does), so a slow client lets the port fill. */
static void *port_main(void *arg)
{
    struct IONotificationPort *p = arg;
    struct dkw_req recv_req = {.op = DKW_RECV};

    for (;;) {
        struct delivery d = {0};
        if (send(p->fd, &recv_req, sizeof(recv_req), MSG_NOSIGNAL) < 0 ||
            recv(p->fd, &d.msg, sizeof(d.msg), 0) != (ssize_t)sizeof(d.msg))
            break;
        d.cb = (IOAsyncCallback)(uintptr_t)d.msg.async_ref[kIOAsyncCalloutFuncIndex];
        d.refcon = (void *)(uintptr_t)d.msg.async_ref[kIOAsyncCalloutRefconIndex];
        if (d.cb && p->queue)
            dispatch_sync_f(p->queue, &d, run_async);
    }
    pthread_mutex_lock(&p->lock);
    bool tell = !p->destroying && p->interest && p->interest->interest && p->queue;
    struct termination t = {0};
    if (tell)
        t = (struct termination){p->interest->interest, p->interest->refcon,
                                 p->interest->service};
    pthread_mutex_unlock(&p->lock);
    if (tell)
        dispatch_sync_f(p->queue, &t, run_terminated);
    return NULL;
}

/* Connects the port to the service's dkhost (once) and starts its
 * receiver. */
static kern_return_t port_attach(struct IONotificationPort *p, const char *path)
{
    struct dkw_req req = {.op = DKW_PORT};
    struct dkw_rep rep;

    pthread_mutex_lock(&p->lock);
    if (p->fd >= 0) {
        kern_return_t kr = strcmp(p->path, path) ? KR_BAD_ARGUMENT : KERN_SUCCESS;
        pthread_mutex_unlock(&p->lock);
        return kr;   /* one service per port in this double */
    }
    p->fd = dial(path);
    kern_return_t kr = p->fd < 0 ? kIOReturnNotFound
                                 : transact(p->fd, &req, NULL, &rep, NULL, 0, NULL);
    if (kr == KERN_SUCCESS)
        kr = rep.kr;
    if (kr == KERN_SUCCESS) {
        p->id = rep.id;
        snprintf(p->path, sizeof(p->path), "%s", path);
        if (pthread_create(&p->thread, NULL, port_main, p) == 0)
            p->running = true;
        else
            kr = kIOReturnNoResources;
    }
    if (kr != KERN_SUCCESS && p->fd >= 0) {
        close(p->fd);
        p->fd = -1;
    }
    pthread_mutex_unlock(&p->lock);
    return kr;
}

kern_return_t IOServiceAddInterestNotification(IONotificationPortRef notifyPort,
                                               io_service_t service,
                                               const io_name_t interestType,
                                               IOServiceInterestCallback callback,
                                               void *refCon, io_object_t *notification)
{
    struct object *s = obj_get(service, OBJ_SERVICE);

    if (!notifyPort || !s || !callback || !notification ||
        strcmp(interestType, kIOGeneralInterest))
        return KR_BAD_ARGUMENT;
    kern_return_t kr = port_attach(notifyPort, s->path);
    if (kr != KERN_SUCCESS)
        return kr;
    io_object_t n = obj_new(OBJ_INTEREST);
    struct object *o = obj_get(n, OBJ_INTEREST);
    if (!o)
        return kIOReturnNoMemory;
    o->interest = callback;
    o->refcon = refCon;
    o->service = service;
    o->port = notifyPort;
    pthread_mutex_lock(&notifyPort->lock);
    notifyPort->interest = o;
    pthread_mutex_unlock(&notifyPort->lock);
    *notification = n;
    return KERN_SUCCESS;
}

void IONotificationPortDestroy(IONotificationPortRef notify)
{
    if (!notify)
        return;
    pthread_mutex_lock(&notify->lock);
    notify->destroying = true;
    if (notify->fd >= 0)
        shutdown(notify->fd, SHUT_RDWR);
    pthread_mutex_unlock(&notify->lock);
    if (notify->running)
        pthread_join(notify->thread, NULL);
    if (notify->fd >= 0)
        close(notify->fd);
    IOObjectRelease(notify->name);
    pthread_mutex_destroy(&notify->lock);
    free(notify);
}

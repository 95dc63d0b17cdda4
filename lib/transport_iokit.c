/* SPDX-License-Identifier: MIT */
/*
 * IOKit transport: the DriverKit extension's user client, reached with
 * IOKitLib (macOS).  One dext service per device, named "macvfio"; this
 * transport finds the one serving the wanted PCI address and opens it.
 *
 * Calls map 1:1 onto IOConnectCallMethod: scalars (at most 16) and
 * structures in band (at most 4096 bytes; HELLO announces that limit on
 * this transport and libmacvfio's batch code splits to it).  A failed
 * external method returns no outputs, only its status: the dext returns
 * iokit_vendor_specific_err(errno), turned back into -errno here, and
 * the message is fetched with LAST_ERROR.  Plain kIOReturn codes come from
 * IOKit or the kernel and are mapped to the nearest errno.
 *
 * BARs and the interrupt state page are mapped with IOConnectMapMemory64,
 * never executable: register BARs uncached, prefetchable BARs with the
 * cache mode the user picked (write-combining by default; whether HVF
 * honours it is not known).
 *
 * Interrupts: the dext only delivers through the state page, waking the
 * client with one asynchronous completion per batch of raises, and the
 * kernel drops a completion when the port's queue (5 messages) is full.
 * Every completion makes this transport re-read the page, so a dropped
 * one loses nothing: a full queue means later messages are on their way.
 * Per-vector fds (what a VMM has: on macOS QEMU hands over the write side
 * of its EventNotifier pipes) are emulated on top.
 *
 * Server death: a termination interest notification on the service
 * writes the death pipe, whose read end is mvf_connection_fd().
 *
 * Not enforced here: the handle's timeout.  IOConnectCallMethod has none;
 * a stuck dext holds the call, a dead one ends it (the kernel fails it).
 *
 * Every IOKitLib, Mach and dispatch call goes by its real name, so a test
 * double of IOKitLib can stand in for them on Linux (MVF_WITH_IOKIT).
 * Nothing in this file has run on a Mac.
 */
#if defined(__APPLE__) || defined(MVF_WITH_IOKIT)

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <IOKit/IOKitLib.h>
#include <IOKit/IOMessage.h>
#include <dispatch/dispatch.h>
#include <mach/mach.h>

#include "macvfio/macvfio.h"
#include "transport.h"
#include "wire_client.h"

/* What the dext can carry: no fds, so no eventfds and no memfds. */
#define IOKIT_FEATURES                                                      \
    (MVF_FEAT_CONFIG | MVF_FEAT_MMIO_TRAP | MVF_FEAT_MAP_MEMORY |           \
     MVF_FEAT_IRQ_STATE_PAGE | MVF_FEAT_RESET | MVF_FEAT_DMA_VA |           \
     MVF_FEAT_DMA_BATCH | MVF_FEAT_STATS | MVF_FEAT_LAST_ERROR)

#define IOKIT_SERVICE_NAME "macvfio"
#define IOKIT_MAX_INBAND 4096u     /* io_struct_inband_t */
#define IRQ_WORDS (MVF_IRQ_STATE_VECTORS / 64)

struct iokit_mapping {
    mach_vm_address_t addr;
    mach_vm_size_t size;
    uint32_t type;
};

/* Interrupt delivery done here.  irq_lock guards it: the completion
 * callback runs on the transport's dispatch queue, calls on the client's
 * threads. */
struct iokit_irq {
    bool armed;                    /* an async STATE is in place for type */
    uint32_t type;
    int wake_fd;                   /* our dup; -1: none */
    struct mvf_irq_state *page;    /* mapped for per-vector emulation */
    mach_vm_size_t page_size;
    int vec_fd[MVF_IRQ_STATE_VECTORS]; /* our dups; -1: unbound */
    uint64_t bound[IRQ_WORDS];
};

struct iokit_transport {
    struct mvf_transport base;
    io_service_t service;
    io_connect_t conn;
    IONotificationPortRef port;
    dispatch_queue_t queue;
    io_object_t interest;
    int death_pipe[2];             /* [0] is poll_fd, [1] written on death */
    uint64_t server_features;      /* from HELLO */
    uint32_t bar_cache;            /* MVF_BAR_CACHE_* */

    pthread_mutex_t state_lock;    /* dead, dead_msg: the queue writes too */
    int dead;                      /* 0, or what every call gets now */
    char dead_msg[MVF_ERRMSG_MAX];

    pthread_mutex_t maps_lock;     /* mvf_unmap_memory takes no handle lock */
    struct iokit_mapping *maps;
    size_t n_maps, cap_maps;

    pthread_mutex_t irq_lock;
    struct iokit_irq irq;

    /* IRQ_INFO's vector count per type (INTx, MSI, MSI-X), once known:
     * a device's counts do not change while it is open, and QEMU binds
     * MSI-X vectors one at a time as the guest unmasks them. */
    uint32_t irq_vectors[MVF_IRQ_MSIX + 1];
    uint32_t irq_vectors_known;    /* bit per type */
};

static struct iokit_transport *to_iokit(struct mvf_transport *t)
{
    return (struct iokit_transport *)t;
}

/* ---- errors ---------------------------------------------------------- */

static bool is_vendor_errno(kern_return_t kr)
{
    return err_get_system(kr) == err_get_system(sys_iokit) &&
           err_get_sub(kr) == err_get_sub(sub_iokit_vendor_specific) &&
           err_get_code(kr) != 0;
}

/* True for the returns that mean the dext (or its service) is gone. */
static bool is_server_gone(kern_return_t kr)
{
    return kr == kIOReturnNotAttached || kr == kIOReturnNoDevice ||
           kr == kIOReturnOffline || kr == MACH_SEND_INVALID_DEST ||
           kr == MACH_RCV_PORT_DIED || kr == MIG_SERVER_DIED;
}

struct ioreturn_name {
    kern_return_t kr;
    int err;
    const char *name;
};

static const struct ioreturn_name ioreturn_names[] = {
    { kIOReturnError, -EIO, "kIOReturnError" },
    { kIOReturnNoMemory, -ENOMEM, "kIOReturnNoMemory" },
    { kIOReturnNoResources, -EAGAIN, "kIOReturnNoResources" },
    { kIOReturnIPCError, -EIO, "kIOReturnIPCError" },
    { kIOReturnNoDevice, -ECONNRESET, "kIOReturnNoDevice" },
    { kIOReturnNotPrivileged, -EPERM, "kIOReturnNotPrivileged" },
    { kIOReturnBadArgument, -EINVAL, "kIOReturnBadArgument" },
    { kIOReturnExclusiveAccess, -EBUSY, "kIOReturnExclusiveAccess" },
    { kIOReturnUnsupported, -ENOTSUP, "kIOReturnUnsupported" },
    { kIOReturnVMError, -EFAULT, "kIOReturnVMError" },
    { kIOReturnInternalError, -EIO, "kIOReturnInternalError" },
    { kIOReturnIOError, -EIO, "kIOReturnIOError" },
    { kIOReturnNotOpen, -ENXIO, "kIOReturnNotOpen" },
    { kIOReturnNotAligned, -EINVAL, "kIOReturnNotAligned" },
    { kIOReturnBusy, -EBUSY, "kIOReturnBusy" },
    { kIOReturnTimeout, -ETIMEDOUT, "kIOReturnTimeout" },
    { kIOReturnOffline, -ECONNRESET, "kIOReturnOffline" },
    { kIOReturnNotReady, -EAGAIN, "kIOReturnNotReady" },
    { kIOReturnNotAttached, -ECONNRESET, "kIOReturnNotAttached" },
    { kIOReturnNoSpace, -ENOSPC, "kIOReturnNoSpace" },
    { kIOReturnCannotWire, -ENOMEM, "kIOReturnCannotWire" },
    { kIOReturnMessageTooLarge, -EMSGSIZE, "kIOReturnMessageTooLarge" },
    { kIOReturnNotPermitted, -EPERM, "kIOReturnNotPermitted" },
    { kIOReturnDeviceError, -EIO, "kIOReturnDeviceError" },
    { kIOReturnAborted, -ECANCELED, "kIOReturnAborted" },
    { kIOReturnNotResponding, -EIO, "kIOReturnNotResponding" },
    { kIOReturnNotFound, -ENOENT, "kIOReturnNotFound" },
    { KERN_INVALID_ARGUMENT, -EINVAL, "KERN_INVALID_ARGUMENT" },
    { KERN_RESOURCE_SHORTAGE, -ENOMEM, "KERN_RESOURCE_SHORTAGE" },
    { KERN_NO_SPACE, -ENOMEM, "KERN_NO_SPACE" },
    { MACH_SEND_INVALID_DEST, -ECONNRESET, "MACH_SEND_INVALID_DEST" },
    { MACH_RCV_PORT_DIED, -ECONNRESET, "MACH_RCV_PORT_DIED" },
    { MIG_SERVER_DIED, -ECONNRESET, "MIG_SERVER_DIED" },
    { MIG_ARRAY_TOO_LARGE, -E2BIG, "MIG_ARRAY_TOO_LARGE" },
    { MIG_BAD_ARGUMENTS, -EINVAL, "MIG_BAD_ARGUMENTS" },
};

/*
 * The errno for an IOKit return: the dext's own (vendor-specific code,
 * lossless), else the nearest one for IOKit's and Mach's codes; *name
 * gets the code's name ("" for the dext's, NULL for an unknown code).
 */
static int errno_of(kern_return_t kr, const char **name)
{
    *name = "";
    if (is_vendor_errno(kr))
        return -(int)err_get_code(kr);
    for (size_t i = 0; i < sizeof(ioreturn_names) / sizeof(ioreturn_names[0]);
         i++) {
        if (ioreturn_names[i].kr == kr) {
            *name = ioreturn_names[i].name;
            return ioreturn_names[i].err;
        }
    }
    *name = NULL;
    return -EIO;
}

/* ---- the death pipe --------------------------------------------------- */

static void mark_dead(struct iokit_transport *k, int err, const char *why)
{
    static const char byte = 1;
    bool first;

    pthread_mutex_lock(&k->state_lock);
    first = !k->dead;
    if (first) {
        k->dead = err;
        snprintf(k->dead_msg, sizeof(k->dead_msg), "%s", why);
    }
    pthread_mutex_unlock(&k->state_lock);
    /* One byte is enough: poll_fd is watched, never read. */
    if (first && write(k->death_pipe[1], &byte, 1) < 0) {
        /* The pipe cannot be full (one byte ever); nothing else to do. */
    }
}

/* Runs on the queue when the dext's service changes state. */
static void service_interest(void *refcon, io_service_t service,
                             uint32_t message_type, void *argument)
{
    struct iokit_transport *k = refcon;

    (void)service;
    (void)argument;
    if (message_type == kIOMessageServiceIsTerminated)
        mark_dead(k, -ECONNRESET, "the macvfio driver extension's service "
                  "was terminated (device unplugged, or the dext exited)");
}

static int set_cloexec(int fd)
{
    int flags = fcntl(fd, F_GETFD);

    return flags < 0 || fcntl(fd, F_SETFD, flags | FD_CLOEXEC) < 0 ? -errno : 0;
}

static int make_death_pipe(int p[2])
{
    int rc;

    if (pipe(p) < 0)
        return -errno;
    rc = set_cloexec(p[0]);
    if (!rc)
        rc = set_cloexec(p[1]);
    if (!rc && fcntl(p[1], F_SETFL, O_NONBLOCK) < 0)
        rc = -errno;
    if (rc) {
        close(p[0]);
        close(p[1]);
    }
    return rc;
}

/* ---- calls ------------------------------------------------------------ */

/* One external method, outputs checked; kr is IOKit's answer. */
static kern_return_t raw_call(io_connect_t conn, struct mvf_xfer *x)
{
    uint32_t n_out = MVF_MAX_SCALARS;
    size_t out_len = x->struct_out ? x->struct_out_cap : 0;
    kern_return_t kr;

    if (out_len > IOKIT_MAX_INBAND)
        out_len = IOKIT_MAX_INBAND;
    memset(x->out, 0, sizeof(x->out));
    kr = IOConnectCallMethod(conn, x->selector, x->in, x->n_in, x->struct_in,
                             x->struct_in_len, x->out, &n_out, x->struct_out,
                             x->struct_out ? &out_len : NULL);
    if (kr != kIOReturnSuccess)
        return kr;
    if (n_out > MVF_MAX_SCALARS || n_out < x->n_out_min ||
        out_len > (x->struct_out ? x->struct_out_cap : 0)) {
        snprintf(x->err, sizeof(x->err), "malformed reply from the dext: "
                 "%u scalars (at least %u wanted), %zu structure bytes "
                 "(at most %u)", n_out, x->n_out_min, out_len,
                 x->struct_out ? x->struct_out_cap : 0);
        x->bad_reply = true;
        return kIOReturnSuccess;
    }
    x->n_out = n_out;
    x->struct_out_len = (uint32_t)out_len;
    return kIOReturnSuccess;
}

/* Asks the dext why the last call failed, into x->err; false if it
 * cannot tell. */
static bool fetch_last_error(struct iokit_transport *k, struct mvf_xfer *x)
{
    char msg[MVF_ERRMSG_MAX];
    struct mvf_xfer q;

    if (!(k->server_features & MVF_FEAT_LAST_ERROR))
        return false;
    mvfl_xfer_init(&q, MVF_SEL_LAST_ERROR);
    q.struct_out = msg;
    q.struct_out_cap = sizeof(msg);
    if (raw_call(k->conn, &q) != kIOReturnSuccess || q.bad_reply ||
        q.struct_out_len == 0)
        return false;
    msg[q.struct_out_len < sizeof(msg) ? q.struct_out_len : sizeof(msg) - 1] =
        '\0';
    for (char *p = msg; *p; p++)    /* the text is the dext's: printable */
        if (*p < 0x20 || *p == 0x7f)
            *p = '?';
    if (!msg[0])
        return false;
    snprintf(x->err, sizeof(x->err), "%s", msg);
    return true;
}

/* Turns a failed kr into x's error and a negative errno. */
static int failed(struct iokit_transport *k, struct mvf_xfer *x,
                  kern_return_t kr)
{
    const char *name;
    int err = errno_of(kr, &name);

    if (is_server_gone(kr)) {
        snprintf(x->err, sizeof(x->err), "the macvfio driver extension is "
                 "gone (%s)", name);
        mark_dead(k, -ECONNRESET, x->err);
        return -ECONNRESET;
    }
    if (name && !*name) {
        if (!fetch_last_error(k, x))
            snprintf(x->err, sizeof(x->err), "%s", strerror(-err));
    } else if (name) {
        snprintf(x->err, sizeof(x->err), "IOKit: %s (0x%08x)", name,
                 (unsigned)kr);
    } else {
        snprintf(x->err, sizeof(x->err), "IOKit: return 0x%08x", (unsigned)kr);
    }
    return err;
}

static int check_alive(struct iokit_transport *k, struct mvf_xfer *x)
{
    int dead;

    pthread_mutex_lock(&k->state_lock);
    dead = k->dead;
    if (dead)
        snprintf(x->err, sizeof(x->err), "connection unusable: %.200s",
                 k->dead_msg);
    pthread_mutex_unlock(&k->state_lock);
    return dead;
}

static void irq_drop(struct iokit_transport *k);

/*
 * What the dext does to interrupts on its own side, followed here: a
 * DISABLE of the type this transport delivers, or a RELEASE (the dext's
 * clean-up disables interrupts and retires the state page), ends the
 * delivery set up by irq_notify.
 */
/* IRQ_INFO's count as the state page can carry it. */
static uint32_t page_vectors(uint64_t count)
{
    return count > MVF_IRQ_STATE_VECTORS ? MVF_IRQ_STATE_VECTORS
                                         : (uint32_t)count;
}

static void follow_call(struct iokit_transport *k, const struct mvf_xfer *x)
{
    if (x->selector == MVF_SEL_HELLO && x->n_out >= 2)
        k->server_features = x->out[1];
    if (x->selector == MVF_SEL_DEVICE_OPEN)
        k->irq_vectors_known = 0;
    if (x->selector == MVF_SEL_IRQ_INFO && x->n_in >= 1 && x->n_out >= 2 &&
        x->in[0] <= MVF_IRQ_MSIX) {
        k->irq_vectors[x->in[0]] = page_vectors(x->out[0]);
        k->irq_vectors_known |= 1u << x->in[0];
    }
    if (x->selector == MVF_SEL_RELEASE ||
        (x->selector == MVF_SEL_IRQ_SET && x->n_in >= 2 &&
         x->in[1] == MVF_IRQ_ACT_DISABLE && x->in[0] == k->irq.type))
        irq_drop(k);
}

static int iokit_call(struct mvf_transport *t, struct mvf_xfer *x)
{
    struct iokit_transport *k = to_iokit(t);
    kern_return_t kr;
    int rc;

    x->bad_reply = false;
    x->n_fds_out = 0;
    x->n_out = 0;
    x->struct_out_len = 0;
    if ((rc = check_alive(k, x)))
        return rc;
    if (x->n_fds_in || x->n_fds_expect) {
        snprintf(x->err, sizeof(x->err), "IOKit carries no file descriptors");
        return -ENOTSUP;
    }
    if (x->n_in > MVF_MAX_SCALARS) {
        snprintf(x->err, sizeof(x->err), "%u scalars (IOKit takes at most %u)",
                 x->n_in, MVF_MAX_SCALARS);
        return -E2BIG;
    }
    if (x->struct_in_len > IOKIT_MAX_INBAND) {
        /* Larger structures would go out of line, which the dext does not
         * take; libmacvfio splits batches to HELLO's max_struct (4096). */
        snprintf(x->err, sizeof(x->err), "a %u-byte structure exceeds IOKit's "
                 "%u bytes in band", x->struct_in_len, IOKIT_MAX_INBAND);
        return -EMSGSIZE;
    }
    kr = raw_call(k->conn, x);
    if (kr != kIOReturnSuccess)
        return x->status = failed(k, x, kr);
    if (x->bad_reply) {
        mark_dead(k, -EPROTO, x->err);
        return -EPROTO;
    }
    x->status = 0;
    follow_call(k, x);
    return 0;
}

/* ---- memory ----------------------------------------------------------- */

/* IOConnectUnmapMemory64 wants the memory type back: kept per mapping. */
static int remember_mapping(struct iokit_transport *k, mach_vm_address_t addr,
                            mach_vm_size_t size, uint32_t type)
{
    int rc = 0;

    pthread_mutex_lock(&k->maps_lock);
    if (k->n_maps == k->cap_maps) {
        size_t cap = k->cap_maps ? k->cap_maps * 2 : 8;
        struct iokit_mapping *m = realloc(k->maps, cap * sizeof(*m));
        if (!m) {
            rc = -ENOMEM;
            goto out;
        }
        k->maps = m;
        k->cap_maps = cap;
    }
    k->maps[k->n_maps++] = (struct iokit_mapping){ addr, size, type };
out:
    pthread_mutex_unlock(&k->maps_lock);
    return rc;
}

/* The cache mode of a mapping: device registers uncached (Device-nGnRnE),
 * prefetchable BARs as the user chose, the state page normal memory. */
static IOOptionBits cache_mode(const struct iokit_transport *k, uint64_t type,
                               uint32_t flags)
{
    if (type >= MVF_NUM_BARS)
        return kIOMapDefaultCache;
    if (!(flags & MVF_BAR_PREFETCH))
        return kIOMapInhibitCache;
    switch (k->bar_cache) {
    case MVF_BAR_CACHE_PCR:
        return kIOMapPostedCombinedReordered;
    case MVF_BAR_CACHE_UNCACHED:
        return kIOMapInhibitCache;
    default:
        return kIOMapWriteCombineCache;
    }
}

/* MAP_MEMORY for its size and flags (the dext checks the claim and the
 * type), then IOConnectMapMemory64 of the same type.  Mappings are
 * read-write and never executable: IOKit has no executable user mapping
 * option, and kIOMapReadOnly is the only protection flag. */
static int iokit_map_memory(struct mvf_transport *t, struct mvf_xfer *x,
                            void **ptr)
{
    struct iokit_transport *k = to_iokit(t);
    mach_vm_address_t addr = 0;
    mach_vm_size_t size = 0;
    uint64_t type;
    kern_return_t kr;
    int rc;

    if (x->n_in < 1 || x->in[0] > UINT32_MAX) {
        snprintf(x->err, sizeof(x->err), "memory type 0x%llx does not fit "
                 "IOKit's 32 bits", x->n_in ? (unsigned long long)x->in[0] : 0);
        return -EINVAL;
    }
    type = x->in[0];
    x->n_fds_expect = 0;
    if (x->n_out_min < 2)
        x->n_out_min = 2;
    if ((rc = iokit_call(t, x)))
        return rc;
    if (x->out[0] == 0 || x->out[0] > SIZE_MAX || x->out[1] > UINT32_MAX) {
        snprintf(x->err, sizeof(x->err), "malformed reply from the dext: "
                 "mapping of %llu bytes, flags 0x%llx",
                 (unsigned long long)x->out[0], (unsigned long long)x->out[1]);
        x->bad_reply = true;
        mark_dead(k, -EPROTO, x->err);
        return -EPROTO;
    }
    kr = IOConnectMapMemory64(k->conn, (uint32_t)type, mach_task_self(), &addr,
                              &size, kIOMapAnywhere |
                              cache_mode(k, type, (uint32_t)x->out[1]));
    if (kr != kIOReturnSuccess)
        return failed(k, x, kr);
    if (size < x->out[0]) {
        IOConnectUnmapMemory64(k->conn, (uint32_t)type, mach_task_self(), addr);
        snprintf(x->err, sizeof(x->err), "IOKit mapped %llu bytes of memory "
                 "type 0x%llx, the dext announced %llu",
                 (unsigned long long)size, (unsigned long long)type,
                 (unsigned long long)x->out[0]);
        return -EPROTO;
    }
    if ((rc = remember_mapping(k, addr, size, (uint32_t)type))) {
        IOConnectUnmapMemory64(k->conn, (uint32_t)type, mach_task_self(), addr);
        snprintf(x->err, sizeof(x->err), "out of memory");
        return rc;
    }
    *ptr = (void *)(uintptr_t)addr;
    return 0;
}

static int iokit_unmap_memory(struct mvf_transport *t, void *ptr,
                              uint64_t size)
{
    struct iokit_transport *k = to_iokit(t);
    mach_vm_address_t addr = (mach_vm_address_t)(uintptr_t)ptr;
    struct iokit_mapping m = { 0, 0, 0 };
    bool found = false;

    pthread_mutex_lock(&k->maps_lock);
    for (size_t i = 0; i < k->n_maps; i++) {
        if (k->maps[i].addr != addr || size > k->maps[i].size)
            continue;
        m = k->maps[i];
        k->maps[i] = k->maps[--k->n_maps];
        found = true;
        break;
    }
    pthread_mutex_unlock(&k->maps_lock);
    if (!found)
        return -EINVAL;   /* not a mapping of this connection */
    if (IOConnectUnmapMemory64(k->conn, m.type, mach_task_self(), addr) !=
        kIOReturnSuccess)
        return -EINVAL;
    return 0;
}

static int iokit_set_bar_cache(struct mvf_transport *t, uint32_t mode)
{
    if (mode != MVF_BAR_CACHE_WC && mode != MVF_BAR_CACHE_PCR &&
        mode != MVF_BAR_CACHE_UNCACHED)
        return -EINVAL;
    to_iokit(t)->bar_cache = mode;
    return 0;
}

/* ---- interrupts -------------------------------------------------------- */

/* Signals a client fd: an 8-byte counter write, as QEMU's EventNotifier
 * and an eventfd both take.  Never blocks the queue: a pipe without room
 * already holds a wake-up the client has not read, so skipping is fine. */
static void signal_fd(int fd)
{
    static const uint64_t one = 1;
    struct pollfd p = { .fd = fd, .events = POLLOUT };

    if (poll(&p, 1, 0) == 1 && (p.revents & POLLOUT)) {
        if (write(fd, &one, sizeof(one)) < 0) {
            /* EAGAIN: the client is woken already; others: nothing to do */
        }
    }
}

/* Hands every pending, bound vector to its fd, clearing exactly the bits
 * it hands on; loops until no raise came in meanwhile (seq unchanged).
 * Unbound vectors stay pending in the page until they are bound.  Called
 * with irq_lock held. */
static void irq_scan(struct iokit_irq *q)
{
    struct mvf_irq_state *page = q->page;
    uint64_t seq;

    if (!page)
        return;
    do {
        seq = __atomic_load_n(&page->seq, __ATOMIC_ACQUIRE);
        for (uint32_t w = 0; w < IRQ_WORDS; w++) {
            uint64_t want = q->bound[w], got;
            if (!want)
                continue;
            got = __atomic_load_n(&page->pending[w], __ATOMIC_ACQUIRE) & want;
            if (!got)
                continue;
            got &= __atomic_fetch_and(&page->pending[w], ~got,
                                      __ATOMIC_ACQ_REL);
            while (got) {
                uint32_t bit = (uint32_t)__builtin_ctzll(got);
                signal_fd(q->vec_fd[w * 64 + bit]);
                got &= got - 1;
            }
        }
    } while (__atomic_load_n(&page->seq, __ATOMIC_ACQUIRE) != seq);
}

/* The dext's AsyncCompletion, on the queue: one per batch of raises (or
 * fewer: the kernel drops them when the port's queue is full). */
static void irq_completion(void *refcon, IOReturn result, void **args,
                           uint32_t n_args)
{
    struct iokit_transport *k = refcon;

    (void)result;
    (void)args;
    (void)n_args;
    pthread_mutex_lock(&k->irq_lock);
    if (k->irq.armed) {
        if (k->irq.wake_fd >= 0)
            signal_fd(k->irq.wake_fd);
        irq_scan(&k->irq);
    }
    pthread_mutex_unlock(&k->irq_lock);
}

static void close_vectors(struct iokit_irq *q)
{
    for (uint32_t i = 0; i < MVF_IRQ_STATE_VECTORS; i++) {
        if (q->vec_fd[i] >= 0)
            close(q->vec_fd[i]);
        q->vec_fd[i] = -1;
    }
    memset(q->bound, 0, sizeof(q->bound));
}

/* Ends this transport's delivery (the dext's side is already off, or is
 * being switched by the caller); irq_lock held. */
static void irq_drop_locked(struct iokit_transport *k)
{
    struct iokit_irq *q = &k->irq;

    close_vectors(q);
    if (q->wake_fd >= 0)
        close(q->wake_fd);
    q->wake_fd = -1;
    if (q->page) {
        iokit_unmap_memory(&k->base, q->page, q->page_size);
        q->page = NULL;
    }
    q->armed = false;
}

static void irq_drop(struct iokit_transport *k)
{
    pthread_mutex_lock(&k->irq_lock);
    irq_drop_locked(k);
    pthread_mutex_unlock(&k->irq_lock);
}

/* IRQ_SET(type, STATE, fd_mask 1) as an async method: the dext keeps the
 * completion and sends one per batch of raises to our port. */
static int irq_arm(struct iokit_transport *k, struct mvf_xfer *x,
                   uint32_t type)
{
    uint64_t in[5] = { type, MVF_IRQ_ACT_STATE, 0, 0, 1 };
    uint64_t ref[kOSAsyncRef64Count] = { 0 };
    uint64_t out[MVF_MAX_SCALARS];
    uint32_t n_out = MVF_MAX_SCALARS;
    size_t out_len = 0;
    kern_return_t kr;

    ref[kIOAsyncCalloutFuncIndex] = (uint64_t)(uintptr_t)irq_completion;
    ref[kIOAsyncCalloutRefconIndex] = (uint64_t)(uintptr_t)k;
    kr = IOConnectCallAsyncMethod(k->conn, MVF_SEL_IRQ_SET,
                                  IONotificationPortGetMachPort(k->port), ref,
                                  kOSAsyncRef64Count, in, 5, NULL, 0, out,
                                  &n_out, NULL, &out_len);
    return kr == kIOReturnSuccess ? 0 : failed(k, x, kr);
}

/* Maps the state page for per-vector emulation if it is not yet. */
static int irq_map_page(struct iokit_transport *k, struct mvf_xfer *x)
{
    uint64_t in[1] = { MVF_MEM_IRQ_STATE };
    struct mvf_xfer m;
    void *p;
    int rc;

    if (k->irq.page)
        return 0;
    mvfl_xfer_init(&m, MVF_SEL_MAP_MEMORY);
    m.in = in;
    m.n_in = 1;
    rc = iokit_map_memory(&k->base, &m, &p);
    if (rc == 0 && m.out[0] < sizeof(struct mvf_irq_state)) {
        iokit_unmap_memory(&k->base, p, m.out[0]);
        snprintf(m.err, sizeof(m.err), "the state page is %llu bytes, "
                 "below %zu", (unsigned long long)m.out[0],
                 sizeof(struct mvf_irq_state));
        rc = -EPROTO;
    }
    if (rc) {
        snprintf(x->err, sizeof(x->err), "mapping the interrupt state page: "
                 "%.200s", m.err);
        x->bad_reply = m.bad_reply;
        return rc;
    }
    pthread_mutex_lock(&k->irq_lock);
    k->irq.page = p;
    k->irq.page_size = m.out[0];
    pthread_mutex_unlock(&k->irq_lock);
    return 0;
}

static int dup_cloexec(int fd)
{
    return fcntl(fd, F_DUPFD_CLOEXEC, 0);
}

/* The vectors the device has of `type` (IRQ_INFO, asked once per type
 * and device): a binding beyond them is refused here as macvfiod refuses
 * it, since the dext never sees the emulated fds. */
static int irq_vector_count(struct iokit_transport *k, struct mvf_xfer *x,
                            uint32_t type, uint32_t *count)
{
    uint64_t in[1] = { type };
    struct mvf_xfer q;
    int rc;

    if (type <= MVF_IRQ_MSIX && (k->irq_vectors_known & (1u << type))) {
        *count = k->irq_vectors[type];
        return 0;
    }
    mvfl_xfer_init(&q, MVF_SEL_IRQ_INFO);
    q.in = in;
    q.n_in = 1;
    q.n_out_min = 2;
    rc = iokit_call(&k->base, &q);   /* follow_call remembers it */
    if (rc) {
        snprintf(x->err, sizeof(x->err), "%s", q.err);
        x->bad_reply = q.bad_reply;
        return rc;
    }
    *count = page_vectors(q.out[0]);
    return 0;
}

/* Per-vector fds: all dups made before anything changes, so a bad fd
 * leaves the bindings as they were. */
static int irq_set_vectors(struct iokit_transport *k, struct mvf_xfer *x,
                           const struct mvfl_irq_req *r)
{
    uint32_t nvec = 0;
    int *dups;
    int rc;

    if ((rc = irq_vector_count(k, x, r->type, &nvec)))
        return rc;
    if (r->start >= nvec || r->count > nvec - r->start) {
        snprintf(x->err, sizeof(x->err), "vectors %u+%u: the device has %u "
                 "of type %u", r->start, r->count, nvec, r->type);
        return -ERANGE;
    }
    dups = malloc(sizeof(int) * r->count);
    if (!dups) {
        snprintf(x->err, sizeof(x->err), "out of memory");
        return -ENOMEM;
    }
    for (uint32_t i = 0; i < r->count; i++) {
        int fd = r->fds ? r->fds[i] : -1;
        dups[i] = fd < 0 ? -1 : dup_cloexec(fd);
        if (fd >= 0 && dups[i] < 0) {
            rc = -errno;
            snprintf(x->err, sizeof(x->err), "fd %d for vector %u: %s", fd,
                     r->start + i, strerror(-rc));
            while (i--)
                if (dups[i] >= 0)
                    close(dups[i]);
            free(dups);
            return rc;
        }
    }

    rc = irq_map_page(k, x);
    if (!rc && !(k->irq.armed && k->irq.type == r->type &&
                 k->irq.wake_fd < 0))
        rc = irq_arm(k, x, r->type);
    if (rc) {
        for (uint32_t i = 0; i < r->count; i++)
            if (dups[i] >= 0)
                close(dups[i]);
        free(dups);
        return rc;
    }

    pthread_mutex_lock(&k->irq_lock);
    if (k->irq.armed && k->irq.type != r->type)
        close_vectors(&k->irq);          /* the dext switched types */
    if (k->irq.wake_fd >= 0)
        close(k->irq.wake_fd);
    k->irq.wake_fd = -1;
    k->irq.armed = true;
    k->irq.type = r->type;
    for (uint32_t i = 0; i < r->count; i++) {
        uint32_t v = r->start + i;
        if (k->irq.vec_fd[v] >= 0)
            close(k->irq.vec_fd[v]);
        k->irq.vec_fd[v] = dups[i];
        if (dups[i] >= 0)
            k->irq.bound[v / 64] |= 1ull << (v % 64);
        else
            k->irq.bound[v / 64] &= ~(1ull << (v % 64));
    }
    irq_scan(&k->irq);   /* vectors raised before they were bound fire now */
    pthread_mutex_unlock(&k->irq_lock);
    free(dups);
    return 0;
}

/* State-page mode for the client itself: it maps and clears the page; we
 * signal its wake fd on every completion. */
static int irq_set_wake(struct iokit_transport *k, struct mvf_xfer *x,
                        const struct mvfl_irq_req *r)
{
    uint64_t in[5] = { r->type, MVF_IRQ_ACT_STATE, 0, 0, 0 };
    struct mvf_xfer s;
    bool vectors_bound = false;
    int dup = -1, rc;

    /* As macvfiod: per-vector fds and the state page do not mix; the
     * client disables the type first. */
    pthread_mutex_lock(&k->irq_lock);
    for (uint32_t w = 0; w < IRQ_WORDS; w++)
        vectors_bound |= k->irq.bound[w] != 0;
    pthread_mutex_unlock(&k->irq_lock);
    if (vectors_bound) {
        snprintf(x->err, sizeof(x->err), "vectors are bound to fds: disable "
                 "the type before switching to the state page");
        return -EBUSY;
    }
    if (r->wake_fd >= 0 && (dup = dup_cloexec(r->wake_fd)) < 0) {
        rc = -errno;
        snprintf(x->err, sizeof(x->err), "wake fd %d: %s", r->wake_fd,
                 strerror(-rc));
        return rc;
    }
    if (dup >= 0) {
        rc = irq_arm(k, x, r->type);
    } else {
        /* No wake fd: the client polls; the dext drops its completion. */
        mvfl_xfer_init(&s, MVF_SEL_IRQ_SET);
        s.in = in;
        s.n_in = 5;
        rc = iokit_call(&k->base, &s);
        if (rc) {
            memcpy(x->err, s.err, sizeof(x->err));
            x->bad_reply = s.bad_reply;
        }
    }
    if (rc) {
        if (dup >= 0)
            close(dup);
        return rc;
    }
    /* One switch under the lock, so no completion falls between the old
     * delivery and the new; then one wake-up for raises that came before
     * the dext had the new completion (a spurious one is harmless). */
    pthread_mutex_lock(&k->irq_lock);
    irq_drop_locked(k);          /* no per-vector emulation in this mode */
    k->irq.armed = dup >= 0;
    k->irq.type = r->type;
    k->irq.wake_fd = dup;
    if (dup >= 0)
        signal_fd(dup);
    pthread_mutex_unlock(&k->irq_lock);
    return 0;
}

static int iokit_irq_notify(struct mvf_transport *t, struct mvf_xfer *x,
                            const struct mvfl_irq_req *r)
{
    struct iokit_transport *k = to_iokit(t);
    int rc;

    x->bad_reply = false;
    if ((rc = check_alive(k, x)))
        return rc;
    return r->per_vector ? irq_set_vectors(k, x, r) : irq_set_wake(k, x, r);
}

/* ---- life cycle -------------------------------------------------------- */

static int iokit_poll_fd(struct mvf_transport *t)
{
    return to_iokit(t)->death_pipe[0];
}

static void drain_queue(void *context)
{
    (void)context;
}

static void iokit_close(struct mvf_transport *t)
{
    struct iokit_transport *k = to_iokit(t);

    irq_drop(k);
    /* The mappings belong to the connection; none outlives it. */
    while (k->n_maps)
        iokit_unmap_memory(t, (void *)(uintptr_t)k->maps[0].addr,
                           k->maps[0].size);
    if (k->conn)
        IOServiceClose(k->conn);
    if (k->interest)
        IOObjectRelease(k->interest);
    if (k->port)
        IONotificationPortDestroy(k->port);
    if (k->queue) {
        /* A callback already queued runs before this returns. */
        dispatch_sync_f(k->queue, NULL, drain_queue);
        dispatch_release(k->queue);
    }
    if (k->service)
        IOObjectRelease(k->service);
    close(k->death_pipe[0]);
    close(k->death_pipe[1]);
    pthread_mutex_destroy(&k->irq_lock);
    pthread_mutex_destroy(&k->maps_lock);
    pthread_mutex_destroy(&k->state_lock);
    free(k->maps);
    free(k);
}

static const struct mvf_transport_ops iokit_ops = {
    .call = iokit_call,
    .map_memory = iokit_map_memory,
    .unmap_memory = iokit_unmap_memory,
    .close = iokit_close,
    .poll_fd = iokit_poll_fd,
    .irq_notify = iokit_irq_notify,
    .set_bar_cache = iokit_set_bar_cache,
};

/* MACVFIO_BAR_CACHE: wc (default), pcr or uncached. */
static int bar_cache_from_env(uint32_t *mode, char *err, size_t errlen)
{
    const char *env = getenv("MACVFIO_BAR_CACHE");

    *mode = MVF_BAR_CACHE_WC;
    if (!env || !strcmp(env, "wc"))
        return 0;
    if (!strcmp(env, "pcr")) {
        *mode = MVF_BAR_CACHE_PCR;
        return 0;
    }
    if (!strcmp(env, "uncached")) {
        *mode = MVF_BAR_CACHE_UNCACHED;
        return 0;
    }
    snprintf(err, errlen, "MACVFIO_BAR_CACHE must be wc, pcr or uncached, "
             "not \"%.64s\"", env);
    return -EINVAL;
}

/*
 * Whether service serves the device at dom:bus:devfn (any, when !want):
 * a throw-away session (HELLO, DEVICE_LIST) on its own connection, so the
 * real session still starts with HELLO.  Returns 1, 0, or a negative
 * errno with err set.
 */
static int service_matches(io_service_t service, bool want, uint16_t dom,
                           uint8_t bus, uint8_t devfn, char *err,
                           size_t errlen)
{
    uint64_t hello_in[2] = { MVF_ABI_VERSION, IOKIT_FEATURES };
    struct mvf_device_info list[IOKIT_MAX_INBAND /
                                sizeof(struct mvf_device_info)];
    struct mvf_xfer x;
    io_connect_t conn = 0;
    kern_return_t kr;
    const char *name;
    int hit = 0;

    kr = IOServiceOpen(service, mach_task_self(), 0, &conn);
    if (kr != kIOReturnSuccess) {
        int e = errno_of(kr, &name);
        snprintf(err, errlen, "IOServiceOpen of the macvfio service: %s "
                 "(0x%08x)%s", name && *name ? name : strerror(-e),
                 (unsigned)kr, kr == kIOReturnNotPermitted ||
                 kr == kIOReturnNotPrivileged ? " (does this program have "
                 "the com.apple.developer.driverkit.userclient-access "
                 "entitlement for the dext?)" : "");
        return e;
    }
    mvfl_xfer_init(&x, MVF_SEL_HELLO);
    x.in = hello_in;
    x.n_in = 2;
    x.n_out_min = 4;
    kr = raw_call(conn, &x);
    if (kr == kIOReturnSuccess && !x.bad_reply) {
        mvfl_xfer_init(&x, MVF_SEL_DEVICE_LIST);
        x.struct_out = list;
        x.struct_out_cap = sizeof(list);
        kr = raw_call(conn, &x);
    }
    if (kr != kIOReturnSuccess || x.bad_reply) {
        int e = kr != kIOReturnSuccess ? errno_of(kr, &name) : -EPROTO;
        snprintf(err, errlen, "asking a macvfio service for its device: %s",
                 x.bad_reply ? x.err : strerror(-e));
        IOServiceClose(conn);
        return e;
    }
    for (uint32_t i = 0; i < x.struct_out_len / sizeof(list[0]); i++)
        if (!want || (list[i].domain == dom && list[i].bus == bus &&
                      list[i].devfn == devfn))
            hit = 1;
    IOServiceClose(conn);
    return hit;
}

/* The service serving bdf, or the only one when bdf is NULL. */
static int find_service(const char *bdf, io_service_t *out, char *err,
                        size_t errlen)
{
    uint16_t dom = 0;
    uint8_t bus = 0, devfn = 0;
    io_iterator_t it = 0;
    io_service_t s, found = 0;
    unsigned seen = 0, hits = 0;
    kern_return_t kr;
    int rc = 0;

    if (bdf && mvf_bdf_parse(bdf, &dom, &bus, &devfn)) {
        snprintf(err, errlen, "\"%.64s\" is not a PCI address "
                 "(BB:DD.F or DDDD:BB:DD.F)", bdf);
        return -EINVAL;
    }
    kr = IOServiceGetMatchingServices(kIOMainPortDefault,
                                      IOServiceNameMatching(IOKIT_SERVICE_NAME),
                                      &it);
    if (kr != kIOReturnSuccess) {
        const char *name;
        int e = errno_of(kr, &name);
        snprintf(err, errlen, "looking up the macvfio services: %s",
                 name && *name ? name : strerror(-e));
        return e;
    }
    while ((s = IOIteratorNext(it))) {
        int m;
        seen++;
        m = service_matches(s, bdf != NULL, dom, bus, devfn, err, errlen);
        if (m == 1 && hits++ == 0) {
            found = s;
            continue;
        }
        if (m < 0 && !rc)
            rc = m;
        IOObjectRelease(s);
    }
    IOObjectRelease(it);
    if (hits == 1) {
        *out = found;
        return 0;
    }
    if (found)
        IOObjectRelease(found);
    if (hits > 1) {
        snprintf(err, errlen, "%u macvfio devices are attached; name one "
                 "with its PCI address (BB:DD.F)", hits);
        return -EINVAL;
    }
    if (rc)
        return rc;         /* err says why the one that failed did */
    if (!seen)
        snprintf(err, errlen, "no macvfio service: is the driver extension "
                 "installed and approved, and does it match the device? "
                 "(systemextensionsctl list; ioreg -n macvfio)");
    else
        snprintf(err, errlen, "none of the %u macvfio services serves %s",
                 seen, bdf);
    return -ENODEV;
}

int mvfl_transport_iokit_open(const char *bdf, struct mvf_transport **out,
                              char *err, size_t errlen)
{
    struct iokit_transport *k;
    io_name_t interest_type;
    kern_return_t kr;
    int rc;

    k = calloc(1, sizeof(*k));
    if (!k) {
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    k->base.ops = &iokit_ops;
    k->base.features = IOKIT_FEATURES;
    k->base.max_struct = IOKIT_MAX_INBAND;
    k->irq.wake_fd = -1;
    for (uint32_t i = 0; i < MVF_IRQ_STATE_VECTORS; i++)
        k->irq.vec_fd[i] = -1;
    if ((rc = bar_cache_from_env(&k->bar_cache, err, errlen))) {
        free(k);
        return rc;
    }
    if ((rc = make_death_pipe(k->death_pipe))) {
        snprintf(err, errlen, "pipe: %s", strerror(-rc));
        free(k);
        return rc;
    }
    pthread_mutex_init(&k->state_lock, NULL);
    pthread_mutex_init(&k->maps_lock, NULL);
    pthread_mutex_init(&k->irq_lock, NULL);

    if ((rc = find_service(bdf, &k->service, err, errlen)))
        goto fail;
    k->queue = dispatch_queue_create("org.macvfio.lib.iokit",
                                     DISPATCH_QUEUE_SERIAL);
    k->port = IONotificationPortCreate(kIOMainPortDefault);
    if (!k->queue || !k->port) {
        snprintf(err, errlen, "cannot create the notification port");
        rc = -ENOMEM;
        goto fail;
    }
    IONotificationPortSetDispatchQueue(k->port, k->queue);
    /* The parameter is an io_name_t (128 bytes): pass a whole one. */
    snprintf(interest_type, sizeof(interest_type), "%s", kIOGeneralInterest);
    kr = IOServiceAddInterestNotification(k->port, k->service, interest_type,
                                          service_interest, k, &k->interest);
    if (kr != kIOReturnSuccess) {
        const char *name;
        rc = errno_of(kr, &name);
        snprintf(err, errlen, "watching the macvfio service: %s",
                 name && *name ? name : strerror(-rc));
        goto fail;
    }
    kr = IOServiceOpen(k->service, mach_task_self(), 0, &k->conn);
    if (kr != kIOReturnSuccess) {
        const char *name;
        rc = errno_of(kr, &name);
        snprintf(err, errlen, "IOServiceOpen of the macvfio service: %s",
                 name && *name ? name : strerror(-rc));
        k->conn = 0;
        goto fail;
    }
    *out = &k->base;
    return 0;
fail:
    iokit_close(&k->base);
    return rc;
}

#else
/* Not Darwin: libmacvfio has no IOKit transport (macvfio.c says so). */
typedef int mvfl_transport_iokit_unavailable;
#endif

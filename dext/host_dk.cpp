/* SPDX-License-Identifier: MIT */
/*
 * The core's host ops on IOKit objects: client memory from the calling
 * user client's address space, the IRQ_SET async completion as the one
 * wake-up, the interrupt state page as an IOBufferMemoryDescriptor, and
 * os_log.
 */
#include "macvfio_device.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <DriverKit/IOMemoryMap.h>
#include <DriverKit/OSAction.h>
#include <os/log.h>

#include "MacvfioUserClient.h"

static struct MacvfioDevice *device_of(void *host)
{
    return static_cast<struct MacvfioDevice *>(host);
}

void macvfio_log(const char *fmt, ...)
{
    char line[MVF_ERRMSG_MAX];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    os_log(OS_LOG_DEFAULT, "macvfio: %{public}s", line);
}

IOReturn macvfio_ioreturn(int neg_errno)
{
    /* errno values are small and positive: they fit the code field. */
    return iokit_vendor_specific_err(neg_errno < 0 ? -neg_errno : EIO);
}

/* ---- client memory (DMA_REGISTER by address) ------------------------- */

struct MacvfioClientMem {
    struct mvf_client_mem mem;
    IOMemoryDescriptor *descriptor;  /* over the client's range */
    IOMemoryMap *map;                /* into the dext, on first host_ptr */
};

static void *client_mem_host_ptr(struct mvf_client_mem *m, uint64_t off,
                                 uint64_t len)
{
    struct MacvfioClientMem *cm = static_cast<struct MacvfioClientMem *>(m->priv);

    (void)len;   /* the core checked [off, off+len) against m->length */
    if (!cm->map &&
        cm->descriptor->CreateMapping(0, 0, 0, m->length, 0, &cm->map) !=
            kIOReturnSuccess) {
        cm->map = nullptr;
        return nullptr;
    }
    return reinterpret_cast<uint8_t *>(cm->map->GetAddress()) + off;
}

static void client_mem_release(struct mvf_client_mem *m)
{
    struct MacvfioClientMem *cm = static_cast<struct MacvfioClientMem *>(m->priv);

    OSSafeReleaseNULL(cm->map);
    OSSafeReleaseNULL(cm->descriptor);
    IOSafeDeleteNULL(cm, struct MacvfioClientMem, 1);
}

static int mem_create(void *host, void *client, int fd, uint64_t arg,
                      uint64_t length, uint32_t flags,
                      struct mvf_client_mem **out, char *err, size_t errlen)
{
    MacvfioUserClient *userClient = static_cast<MacvfioUserClient *>(client);
    struct MacvfioClientMem *cm;
    IOAddressSegment segment = { arg, length };
    IOMemoryDescriptor *md = nullptr;
    kern_return_t kr;

    (void)host;
    (void)fd;
    if (flags != MVF_DMA_REG_VA || !userClient) {
        snprintf(err, errlen, "the dext registers memory by address only");
        return -ENOTSUP;
    }
    if (arg + length < arg) {
        snprintf(err, errlen, "range 0x%llx+0x%llx wraps",
                 (unsigned long long)arg, (unsigned long long)length);
        return -EINVAL;
    }
    /* OutIn: the device reads and writes it.  No copy-on-write, so the
     * device sees the client's pages, not a snapshot. */
    kr = userClient->CreateMemoryDescriptorFromClient(
        kIOMemoryDirectionOutIn | kIOMemoryDisableCopyOnWrite, 1, &segment, &md);
    if (kr != kIOReturnSuccess) {
        snprintf(err, errlen, "cannot wire 0x%llx bytes at 0x%llx of the "
                 "caller (0x%x)", (unsigned long long)length,
                 (unsigned long long)arg, kr);
        return kr == kIOReturnNoMemory ? -ENOMEM : -EFAULT;
    }
    cm = IONewZero(struct MacvfioClientMem, 1);
    if (!cm) {
        OSSafeReleaseNULL(md);
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    cm->descriptor = md;
    cm->mem.length = length;
    cm->mem.host_ptr = client_mem_host_ptr;
    cm->mem.release = client_mem_release;
    cm->mem.priv = cm;
    cm->mem.platform = md;
    *out = &cm->mem;
    return 0;
}

/* ---- the wake-up: IRQ_SET's async completion ------------------------- */

struct MacvfioWake {
    struct mvf_notifier notifier;
    MacvfioUserClient *client;   /* retained */
    OSAction *action;            /* retained */
};

/* One completion per signal.  A completion the port drops (its queue is
 * full) loses no interrupt: the client reads the state page. */
static void wake_signal(struct mvf_notifier *n)
{
    struct MacvfioWake *w = static_cast<struct MacvfioWake *>(n->priv);

    w->client->AsyncCompletion(w->action, kIOReturnSuccess, nullptr, 0);
}

static void wake_release(struct mvf_notifier *n)
{
    struct MacvfioWake *w = static_cast<struct MacvfioWake *>(n->priv);

    OSSafeReleaseNULL(w->action);
    OSSafeReleaseNULL(w->client);
    IOSafeDeleteNULL(w, struct MacvfioWake, 1);
}

static int notifier_create(void *host, void *client, int obj,
                           struct mvf_notifier **out)
{
    MacvfioUserClient *userClient = static_cast<MacvfioUserClient *>(client);
    OSAction *action;
    struct MacvfioWake *w;

    (void)host;
    if (obj != MACVFIO_OBJ_COMPLETION || !userClient)
        return -EBADF;
    action = userClient->CurrentCompletion();
    if (!action)
        return -EBADF;   /* IRQ_SET STATE with fd_mask 1 must be async */
    w = IONewZero(struct MacvfioWake, 1);
    if (!w)
        return -ENOMEM;
    /* IOKit keeps the completion only for the call: keep it longer. */
    action->retain();
    userClient->retain();
    w->action = action;
    w->client = userClient;
    w->notifier.signal = wake_signal;
    w->notifier.release = wake_release;
    w->notifier.priv = w;
    *out = &w->notifier;
    return 0;
}

/* ---- the interrupt state page ---------------------------------------- */

static int shared_create(void *host, size_t size, void **ptr, int *obj)
{
    struct MacvfioDevice *dev = device_of(host);
    IOBufferMemoryDescriptor *md = nullptr;
    IOAddressSegment range = {};

    if (size > MACVFIO_STATE_PAGE_SIZE || dev->statePage)
        return -EINVAL;
    if (IOBufferMemoryDescriptor::Create(kIOMemoryDirectionInOut,
                                         MACVFIO_STATE_PAGE_SIZE,
                                         MACVFIO_STATE_PAGE_SIZE, &md) !=
        kIOReturnSuccess)
        return -ENOMEM;
    if (md->SetLength(MACVFIO_STATE_PAGE_SIZE) != kIOReturnSuccess ||
        md->GetAddressRange(&range) != kIOReturnSuccess || !range.address ||
        range.length < MACVFIO_STATE_PAGE_SIZE) {
        OSSafeReleaseNULL(md);
        return -ENOMEM;
    }
    memset(reinterpret_cast<void *>(range.address), 0, MACVFIO_STATE_PAGE_SIZE);
    dev->statePage = md;
    *ptr = reinterpret_cast<void *>(range.address);
    *obj = MACVFIO_OBJ_STATE_PAGE;
    return 0;
}

static void shared_release(void *host, void *ptr, size_t size, int obj)
{
    (void)ptr;
    (void)size;
    (void)obj;
    OSSafeReleaseNULL(device_of(host)->statePage);
}

/* Objects are small integers the user client maps back to memory
 * (CopyClientMemoryForType): handing one out copies nothing. */
static int obj_dup(void *host, int obj)
{
    (void)host;
    return obj;
}

static void host_log(void *host, enum mvf_log_level lvl, const char *msg)
{
    (void)host;
    switch (lvl) {
    case MVF_LOG_ERROR:
        os_log_error(OS_LOG_DEFAULT, "macvfio: %{public}s", msg);
        break;
    case MVF_LOG_DEBUG:
        os_log_debug(OS_LOG_DEFAULT, "macvfio: %{public}s", msg);
        break;
    default:
        os_log(OS_LOG_DEFAULT, "macvfio: %{public}s", msg);
        break;
    }
}

const struct mvf_host_ops macvfio_host_ops = {
    .mem_create = mem_create,
    .notifier_create = notifier_create,
    .shared_create = shared_create,
    .shared_release = shared_release,
    .obj_dup = obj_dup,
    .log = host_log,
    .now_ms = nullptr,   /* the core's log limit then counts messages */
    .transport_features = MVF_FEAT_IRQ_STATE_PAGE | MVF_FEAT_DMA_VA,
    .max_struct = 4096,
};

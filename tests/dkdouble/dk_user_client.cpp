/* SPDX-License-Identifier: MIT */
/*
 * IOUserClient and the client side of a connection, with the rules of
 * xnu's IOUserClient.cpp / IOUserServer.cpp and IOKitLib.c:
 *
 *   - IOServiceOpen: the service's NewUserClient, which Create()s and
 *     starts the user client; IOServiceClose and the client task's death
 *     terminate it (Stop, then the kernel's reference goes), and the
 *     task's mappings end with the connection;
 *   - IOConnectCallMethod: at most 16 scalars each way (else BadArgument
 *     before the dext runs), the caller's scalar outputs zeroed with their
 *     count the caller's capacity, structures of up to 4096 bytes in band
 *     (OSData) and larger ones out of line as descriptors (input
 *     kIOMemoryDirectionOut, output kIOMemoryDirectionIn), an OSData
 *     reply longer than the caller's room is BadArgument, and on any error
 *     no outputs at all (MIG sends no reply body);
 *   - the call runs on the user client's ExternalMethod queue, after
 *     whatever that queue already had;
 *   - async calls: the completion (an OSAction) is the caller's only for
 *     the call; each AsyncCompletion is one message of at most 16
 *     arguments into the connection's port, which holds 5
 *     (MACH_PORT_QLIMIT_DEFAULT) and drops the rest;
 *   - CreateMemoryDescriptorFromClient: 1 to 32 segments of the calling
 *     task, NotReady once the task is gone.
 */
#include <DriverKit/IOUserClient.h>
#include <DriverKit/IOMemoryMap.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "dk_internal.h"

OSMetaClass gIOUserClientMetaClass = {"IOUserClient", IOService::sGetMetaClass(), nullptr};

#define DK_INBAND_MAX 4096u
#define DK_MAX_MAPPINGS 16
/* The reference of a completion the kernel made for a connection. */
#define DK_COMPLETION_MAGIC 0x646b636f6d706cull

struct dk_port_msg {
    int32_t status;
    uint64_t args[kIOUserClientAsyncArgumentsCountMax];
    uint32_t n;
    uint64_t ref[DK_ASYNC_REF];
};

struct dk_mapping {
    IOMemoryDescriptor *md;   /* the kernel's reference for the mapping */
    void *addr;
    uint64_t type;
};

struct dk_conn {
    IOUserClient *uc;         /* the kernel's reference, until terminated */
    IOService *service;       /* what was opened (not retained) */
    bool open;
    struct dk_port_msg port[DK_PORT_DEPTH];
    unsigned head, count;
    uint64_t sent, dropped;
    struct dk_mapping maps[DK_MAX_MAPPINGS];
    uint64_t last_map_options;
    dk_task_map_fn task_map;  /* the client task's memory, when remote */
    void *task_ctx;
    struct dk_conn *next;
};

struct dk_completion_ref {
    uint64_t magic;
    struct dk_conn *conn;
    uint64_t ref[DK_ASYNC_REF];   /* the caller's, given back each time */
};

static struct dk_conn *gConns;

static struct dk_conn *conn_of(IOUserClient *uc)
{
    for (struct dk_conn *c = gConns; c; c = c->next)
        if (c->uc == uc && c->open)
            return c;
    return nullptr;
}

/* ---- IOUserClient ---------------------------------------------------- */

kern_return_t IOUserClient::ExternalMethod(uint64_t selector, IOUserClientMethodArguments *arguments,
                                           const IOUserClientMethodDispatch *dispatch,
                                           OSObject *target, void *reference)
{
    (void)selector;
    /* IOUserClient.iig: with a dispatch entry, its checks, then its
     * function; without one there is nothing to run. */
    if (!dispatch || !dispatch->function)
        return kIOReturnUnsupported;
    if (dispatch->checkScalarInputCount != kIOUserClientVariableStructureSize &&
        dispatch->checkScalarInputCount != arguments->scalarInputCount)
        return kIOReturnBadArgument;
    if (dispatch->checkCompletionExists && !arguments->completion)
        return kIOReturnBadArgument;
    return dispatch->function(target ? target : this, reference, arguments);
}

void IOUserClient::AsyncCompletion(OSAction *action, IOReturn status,
                                   const IOUserClientAsyncArgumentsArray asyncData,
                                   uint32_t asyncDataCount, OSDispatchMethod supermethod)
{
    (void)supermethod;
    struct dk_completion_ref *ref =
        action ? static_cast<struct dk_completion_ref *>(action->GetReference()) : nullptr;
    if (!ref || ref->magic != DK_COMPLETION_MAGIC) {
        dk_violation("AsyncCompletion with an action that is no call's completion",
                     "IOUserClient.cpp _sendAsyncResult64");
        return;
    }
    if (asyncDataCount > kIOUserClientAsyncArgumentsCountMax || (asyncDataCount && !asyncData)) {
        dk_violation("AsyncCompletion with more than 16 arguments",
                     "IOUserClient.iig kIOUserClientAsyncArgumentsCountMax");
        return;
    }
    struct dk_conn *c = ref->conn;
    if (!c || !c->open)
        return;   /* the port is gone with the connection */
    if (c->count == DK_PORT_DEPTH) {
        c->dropped++;   /* a full port drops the message (mach_msg timeout 0) */
        return;
    }
    c->sent++;
    struct dk_port_msg *m = &c->port[(c->head + c->count) % DK_PORT_DEPTH];
    c->count++;
    m->status = status;
    m->n = asyncDataCount;
    memcpy(m->ref, ref->ref, sizeof(m->ref));
    for (uint32_t i = 0; i < asyncDataCount; i++)
        m->args[i] = asyncData[i];
}

kern_return_t IOUserClient::CopyClientMemoryForType(uint64_t type, uint64_t *options,
                                                    IOMemoryDescriptor **memory,
                                                    OSDispatchMethod supermethod)
{
    IOUserClient_CopyClientMemoryForType_Msg msg = {type, options, memory};
    IORPC rpc = {IOUserClient_CopyClientMemoryForType_ID, &msg};
    return supermethod ? supermethod(this, rpc) : Dispatch(rpc);
}

kern_return_t IOUserClient::CopyClientMemoryForType_Impl(uint64_t type, uint64_t *options,
                                                         IOMemoryDescriptor **memory)
{
    (void)type;
    (void)options;
    (void)memory;
    return kIOReturnUnsupported;
}

/* IOUserServer.cpp: a descriptor over ranges of the calling task; the
 * double keeps one segment per descriptor (what the dext asks for), and
 * refuses ranges that wrap or are not mapped in this process. */
kern_return_t IOUserClient::CreateMemoryDescriptorFromClient(uint64_t memoryDescriptorCreateOptions,
                                                             uint32_t segmentsCount,
                                                             const IOAddressSegment segments[32],
                                                             IOMemoryDescriptor **memory,
                                                             OSDispatchMethod supermethod)
{
    (void)supermethod;
    if (!memory || !segments || !segmentsCount || segmentsCount > 32)
        return kIOReturnBadArgument;
    *memory = nullptr;
    if (memoryDescriptorCreateOptions &
        ~(uint64_t)(kIOMemoryDirectionOutIn | kIOMemoryDisableCopyOnWrite))
        return kIOReturnBadArgument;
    struct dk_conn *c = conn_of(this);
    if (!c)
        return kIOReturnNotReady;   /* no task: the client is gone */
    if (segmentsCount != 1)
        return kIOReturnUnsupported;   /* the double's limit, not IOKit's */
    uint64_t addr = segments[0].address, len = segments[0].length;
    long page = sysconf(_SC_PAGESIZE);
    uint64_t first = addr & ~(uint64_t)(page - 1);
    if (!len || addr + len < addr || addr + len + page < addr)
        return kIOReturnBadArgument;
    uint64_t end = (addr + len + page - 1) & ~(uint64_t)(page - 1);
    void *bytes = reinterpret_cast<void *>(addr);
    if (c->task_map)
        bytes = c->task_map(c->task_ctx, addr, len);
    else if (msync(reinterpret_cast<void *>(first), end - first, MS_ASYNC) != 0)
        bytes = nullptr;
    if (!bytes)
        return kIOReturnBadArgument;   /* not the task's memory */
    IOMemoryDescriptor *md = dk_memory_wrap(bytes, len, memoryDescriptorCreateOptions, c);
    if (!md)
        return kIOReturnNoMemory;
    *memory = md;
    return kIOReturnSuccess;
}

kern_return_t IOUserClient::Dispatch(const IORPC rpc) { return _Dispatch(this, rpc); }

kern_return_t IOUserClient::_Dispatch(IOUserClient *self, const IORPC rpc)
{
    if (rpc.msgid == IOUserClient_CopyClientMemoryForType_ID) {
        IOUserClient_CopyClientMemoryForType_Msg *m =
            static_cast<IOUserClient_CopyClientMemoryForType_Msg *>(rpc.message);
        return self->CopyClientMemoryForType_Impl(m->a0, m->a1, m->a2);
    }
    return IOService::_Dispatch(self, rpc);
}
OSMetaClass *IOUserClient::sGetMetaClass() { return &gIOUserClientMetaClass; }
const OSMetaClass *IOUserClient::getMetaClass() const { return &gIOUserClientMetaClass; }

/* ---- the client side ------------------------------------------------- */

int32_t dk_client_open(struct dk_service *svc, uint32_t type, struct dk_conn **out)
{
    IOService *s = reinterpret_cast<IOService *>(svc);
    IOUserClient *uc = nullptr;

    if (!out)
        return kIOReturnBadArgument;
    kern_return_t kr = s->NewUserClient(type, &uc);
    if (kr != kIOReturnSuccess)
        return kr;
    if (!uc || !dk_service_started(uc)) {
        dk_violation("NewUserClient succeeded without a started user client",
                     "IOService.iig NewUserClient");
        if (uc)
            uc->release();
        return kIOReturnError;
    }
    struct dk_conn *c = static_cast<struct dk_conn *>(calloc(1, sizeof(*c)));
    if (!c) {
        uc->Stop(s);
        uc->release();
        return kIOReturnNoMemory;
    }
    c->uc = uc;
    c->service = s;
    c->open = true;
    c->next = gConns;
    gConns = c;
    *out = c;
    return kIOReturnSuccess;
}

/* clientClose / clientDied: the mappings go, then terminate: Stop on the
 * user client, and the kernel's reference. */
static void terminate(struct dk_conn *c)
{
    if (!c->open)
        return;
    for (struct dk_mapping &m : c->maps)
        if (m.md) {
            m.md->release();
            m = {};
        }
    IOUserClient *uc = c->uc;
    uc->Stop(uc->GetProvider());
    c->open = false;   /* after Stop: the dext may still complete calls */
    c->uc = nullptr;
    dk_run_until_idle(dk_current());
    uc->release();
}

void dk_client_close(struct dk_conn *c)
{
    terminate(c);
}

void dk_client_die(struct dk_conn *c)
{
    if (c->open)
        dk_memory_task_gone(c);
    terminate(c);
}

void dk_connections_close_for(IOService *service)
{
    for (struct dk_conn *c = gConns; c; c = c->next)
        if (c->open && c->service == service)
            terminate(c);
}

void dk_connections_free(void)
{
    while (gConns) {
        struct dk_conn *c = gConns;
        terminate(c);
        gConns = c->next;
        free(c);
    }
}

void dk_connection_counters(uint64_t *sent, uint64_t *dropped)
{
    *sent = *dropped = 0;
    for (struct dk_conn *c = gConns; c; c = c->next) {
        *sent += c->sent;
        *dropped += c->dropped;
    }
}

/* The completion the kernel makes for an async call, aimed at the
 * connection's port; its target is the user client, which never gets it
 * as a method call. */
static OSAction *make_completion(struct dk_conn *c, const uint64_t *caller_ref)
{
    OSAction *a = nullptr;
    if (OSAction::Create(c->uc, 0, 0, sizeof(struct dk_completion_ref), &a) != kIOReturnSuccess)
        return nullptr;
    struct dk_completion_ref *ref = static_cast<struct dk_completion_ref *>(a->GetReference());
    ref->magic = DK_COMPLETION_MAGIC;
    ref->conn = c;
    if (caller_ref)
        memcpy(ref->ref, caller_ref, sizeof(ref->ref));
    return a;
}

int32_t dk_connect_call(struct dk_conn *c, const struct dk_call *call)
{
    uint32_t scalar_cap = call->n_out ? *call->n_out : 0;
    size_t struct_cap = call->sout_len ? *call->sout_len : 0;
    uint64_t scalars[kIOUserClientScalarArrayCountMax] = {};
    IOUserClientMethodArguments args = {};
    OSData *in_data = nullptr;
    IOMemoryDescriptor *in_md = nullptr, *out_md = nullptr;
    OSAction *completion = nullptr;
    __block kern_return_t kr = kIOReturnSuccess;

    if (call->n_out)
        *call->n_out = 0;
    if (call->sout_len)
        *call->sout_len = 0;
    if (!c->open)
        return kIOReturnNotOpen;
    if (call->n_in > kIOUserClientScalarArrayCountMax ||
        scalar_cap > kIOUserClientScalarArrayCountMax || (call->n_in && !call->in) ||
        (call->sin_len && !call->sin) || (struct_cap && !call->sout))
        return kIOReturnBadArgument;

    args.version = kIOUserClientMethodArgumentsCurrentVersion;
    args.selector = call->selector;
    args.scalarInput = call->n_in ? call->in : nullptr;
    args.scalarInputCount = call->n_in;
    if (call->sin_len > DK_INBAND_MAX) {
        in_md = dk_memory_wrap(const_cast<void *>(call->sin), call->sin_len,
                               kIOMemoryDirectionOut, nullptr);
        if (!in_md)
            return kIOReturnNoMemory;
        args.structureInputDescriptor = in_md;
    } else if (call->sin_len) {
        in_data = OSData::withBytes(call->sin, call->sin_len);
        if (!in_data)
            return kIOReturnNoMemory;
        args.structureInput = in_data;
    }
    args.scalarOutput = scalars;
    args.scalarOutputCount = scalar_cap;
    args.structureOutputMaximumSize = struct_cap;
    if (struct_cap > DK_INBAND_MAX) {
        out_md = dk_memory_wrap(call->sout, struct_cap, kIOMemoryDirectionIn, nullptr);
        if (!out_md) {
            OSSafeReleaseNULL(in_data);
            OSSafeReleaseNULL(in_md);
            return kIOReturnNoMemory;
        }
        args.structureOutputDescriptor = out_md;
    }
    if (call->async) {
        completion = make_completion(c, call->async_ref);
        if (!completion)
            kr = kIOReturnNoMemory;
        args.completion = completion;
    }

    IOUserClient *uc = c->uc;
    IOUserClientMethodArguments *argp = &args;
    if (kr == kIOReturnSuccess)
        dk_queue_run_on(dk_service_queue(uc, kIOUserClientQueueNameExternalMethod), ^{
            kr = uc->ExternalMethod(call->selector, argp, nullptr, nullptr, nullptr);
        });

    OSSafeReleaseNULL(completion);   /* the dext retained it if it keeps it */
    OSSafeReleaseNULL(in_data);
    OSSafeReleaseNULL(in_md);
    OSSafeReleaseNULL(out_md);
    if (kr == kIOReturnSuccess && args.scalarOutputCount > scalar_cap)
        kr = kIOReturnBadArgument;
    size_t out_len = 0;
    if (args.structureOutput) {
        out_len = args.structureOutput->getLength();
        if (kr == kIOReturnSuccess && out_len > struct_cap)
            kr = kIOReturnBadArgument;   /* IOUserUserClient::externalMethod */
        if (kr == kIOReturnSuccess && out_len)
            memcpy(call->sout, args.structureOutput->getBytesNoCopy(), out_len);
        OSSafeReleaseNULL(args.structureOutput);
    } else if (out_md) {
        out_len = struct_cap;   /* out of line: the caller's whole buffer */
    }
    if (kr != kIOReturnSuccess)
        return kr;   /* MIG: no outputs on error */
    for (uint32_t i = 0; i < args.scalarOutputCount; i++)
        call->out[i] = scalars[i];
    if (call->n_out)
        *call->n_out = args.scalarOutputCount;
    if (call->sout_len)
        *call->sout_len = out_len;
    return kIOReturnSuccess;
}

/* IOConnectMapMemory64: clientMemoryForType honours only read-only of
 * the dext's options; the caller's cache mode passes through. */
int32_t dk_connect_map_memory(struct dk_conn *c, uint64_t type, uint32_t options, void **addr,
                              uint64_t *len)
{
    IOMemoryDescriptor *md = nullptr;
    uint64_t dext_options = 0, length = 0;
    struct dk_mapping *slot = nullptr;

    if (!c->open || !addr || !len)
        return kIOReturnBadArgument;
    for (struct dk_mapping &m : c->maps)
        if (!m.md) {
            slot = &m;
            break;
        }
    if (!slot)
        return kIOReturnNoResources;
    kern_return_t kr = c->uc->CopyClientMemoryForType(type, &dext_options, &md);
    if (kr != kIOReturnSuccess) {
        if (md) {
            dk_violation("CopyClientMemoryForType failed but returned memory",
                         "IOUserClient.iig CopyClientMemoryForType");
            md->release();
        }
        return kr;
    }
    if (!md)
        return kIOReturnError;
    void *bytes = dk_memory_bytes(md, &length, nullptr);
    if (!bytes) {
        md->release();
        return kIOReturnNotReady;
    }
    c->last_map_options = (dext_options & kIOUserClientMemoryReadOnly) |
                          ((uint64_t)(options & kIOMemoryMapCacheModeMask) << 32);
    *slot = {md, bytes, type};
    *addr = bytes;
    *len = length;
    return kIOReturnSuccess;
}

int32_t dk_connect_unmap_memory(struct dk_conn *c, uint64_t type, void *addr)
{
    for (struct dk_mapping &m : c->maps)
        if (m.md && m.addr == addr && m.type == type) {
            m.md->release();
            m = {};
            return kIOReturnSuccess;
        }
    return kIOReturnBadArgument;
}

uint64_t dk_last_map_options(struct dk_conn *c) { return c->last_map_options; }

bool dk_port_take(struct dk_conn *c, int32_t *status, uint64_t args[16], uint32_t *n_args)
{
    return dk_port_take_ref(c, status, args, n_args, nullptr);
}

bool dk_port_take_ref(struct dk_conn *c, int32_t *status, uint64_t args[16], uint32_t *n_args,
                      uint64_t ref[DK_ASYNC_REF])
{
    if (!c->count)
        return false;
    struct dk_port_msg *m = &c->port[c->head];
    c->head = (c->head + 1) % DK_PORT_DEPTH;
    c->count--;
    if (status)
        *status = m->status;
    if (args)
        memcpy(args, m->args, sizeof(m->args));
    if (n_args)
        *n_args = m->n;
    if (ref)
        memcpy(ref, m->ref, sizeof(m->ref));
    return true;
}

void dk_conn_set_task(struct dk_conn *c, dk_task_map_fn map, void *ctx)
{
    c->task_map = map;
    c->task_ctx = ctx;
}

uint64_t dk_port_dropped(struct dk_conn *c) { return c->dropped; }

/* SPDX-License-Identifier: MIT */
/*
 * Memory descriptors (buffers the double allocates, client task ranges,
 * BAR memory) and IODMACommand with the kernel's rules, mapping through
 * the machine's system mapper (dk_mapper_map: the kernel core's DART,
 * 16 KiB granule, IOVAs far above any guest-physical address).
 * Counters: PrepareForDMA / CompleteDMA calls, live mappings
 * (dk_dma_counters).
 */
#include <DriverKit/IOBufferMemoryDescriptor.h>
#include <DriverKit/IODMACommand.h>
#include <DriverKit/IOMemoryMap.h>
#include <DriverKit/IOService.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

extern "C" {
#include "macvfio/abi.h"
}
#include "dk_internal.h"

OSMetaClass gIOMemoryDescriptorMetaClass = {"IOMemoryDescriptor", OSObject::sGetMetaClass(), nullptr};
OSMetaClass gIOBufferMemoryDescriptorMetaClass = {"IOBufferMemoryDescriptor",
                                                   &gIOMemoryDescriptorMetaClass, nullptr};
OSMetaClass gIODMACommandMetaClass = {"IODMACommand", OSObject::sGetMetaClass(), nullptr};

struct IOMemoryDescriptor::State {
    uint8_t *bytes;
    uint64_t length, capacity;
    uint64_t options;        /* kIOMemoryDirection*, kIOMemoryDisableCopyOnWrite */
    struct dk_conn *task;    /* a client task's range, or NULL */
    bool task_gone;          /* that task died: NotReady from now on */
    IOMemoryDescriptor *parent; /* a sub-descriptor's, retained */
    void (*on_free)(void *); /* e.g. a BAR mmap's munmap */
    void *on_free_arg;
    IOMemoryDescriptor *next_client; /* every client descriptor alive */
    /* Wired for the device while prepared: the kernel registration of
     * the granule-aligned span around the bytes, one per descriptor. */
    uint64_t wired_handle, wired_base, wired_refs;
};

static struct dk_dma_counters gCounters;
static IOMemoryDescriptor *gClientDescriptors;
static uint64_t gClientDescriptorCount;

void dk_dma_counters(struct dk_dma_counters *out)
{
    *out = gCounters;
    out->live_mappings = dk_mapper_live();
}

kern_return_t IOMemoryDescriptor::GetLength(uint64_t *returnLength)
{
    if (!returnLength)
        return kIOReturnBadArgument;
    *returnLength = state_->length;
    return kIOReturnSuccess;
}

struct DkMemoryAccess {
    using State = IOMemoryDescriptor::State;
    static State *md(IOMemoryDescriptor *m) { return m->state_; }
    static void set(IOMemoryDescriptor *m, State *s) { m->state_ = s; }
    static void set_map(IOMemoryMap *map, uint64_t address, uint64_t length,
                        uint64_t offset, OSObject *memory)
    {
        map->address_ = address;
        map->length_ = length;
        map->offset_ = offset;
        map->memory_ = memory;
    }
    static OSObject *map_memory(IOMemoryMap *map) { return map->memory_; }
};

IOMemoryDescriptor *dk_memory_wrap(void *bytes, uint64_t length, uint64_t options,
                                   struct dk_conn *task)
{
    IOMemoryDescriptor *md = new IOMemoryDescriptor;
    DkMemoryAccess::State *s =
        static_cast<DkMemoryAccess::State *>(calloc(1, sizeof(DkMemoryAccess::State)));
    if (!s) {
        md->release();
        return nullptr;
    }
    s->bytes = static_cast<uint8_t *>(bytes);
    s->length = s->capacity = length;
    s->options = options;
    s->task = task;
    if (task) {
        s->next_client = gClientDescriptors;
        gClientDescriptors = md;
        gClientDescriptorCount++;
    }
    DkMemoryAccess::set(md, s);
    return md;
}

/* A client range (or a part of one) whose task died. */
static bool gone(IOMemoryDescriptor *md)
{
    for (; md; md = DkMemoryAccess::md(md)->parent)
        if (DkMemoryAccess::md(md)->task_gone)
            return true;
    return false;
}

void *dk_memory_bytes(IOMemoryDescriptor *md, uint64_t *length, uint64_t *options)
{
    DkMemoryAccess::State *s = DkMemoryAccess::md(md);
    if (length)
        *length = s->length;
    if (options)
        *options = s->options;
    return gone(md) ? nullptr : s->bytes;
}

/* IOMemoryDescriptor.iig CreateSubMemoryDescriptor: [offset, offset +
 * length) of ofDescriptor, with directions that are a subset of its own
 * (what the device may do there); it keeps its parent alive. */
kern_return_t IOMemoryDescriptor::CreateSubMemoryDescriptor(uint64_t memoryDescriptorCreateOptions,
                                                            uint64_t offset, uint64_t length,
                                                            IOMemoryDescriptor *ofDescriptor,
                                                            IOMemoryDescriptor **memory)
{
    if (!memory || !ofDescriptor)
        return kIOReturnBadArgument;
    *memory = nullptr;
    DkMemoryAccess::State *ps = DkMemoryAccess::md(ofDescriptor);
    uint64_t dirs = memoryDescriptorCreateOptions;
    if ((dirs & ~(uint64_t)kIOMemoryDirectionOutIn) || !dirs ||
        (dirs & ~ps->options & kIOMemoryDirectionOutIn) || !length ||
        offset > ps->length || length > ps->length - offset)
        return kIOReturnBadArgument;
    IOMemoryDescriptor *md = dk_memory_wrap(ps->bytes + offset, length,
                                            dirs | (ps->options & kIOMemoryDisableCopyOnWrite),
                                            nullptr);
    if (!md)
        return kIOReturnNoMemory;
    ofDescriptor->retain();
    DkMemoryAccess::State *s = DkMemoryAccess::md(md);
    s->parent = ofDescriptor;
    s->task = ps->task;   /* the same task's memory, not counted twice */
    *memory = md;
    return kIOReturnSuccess;
}

void dk_memory_task_gone(struct dk_conn *task)
{
    for (IOMemoryDescriptor *md = gClientDescriptors; md;
         md = DkMemoryAccess::md(md)->next_client)
        if (DkMemoryAccess::md(md)->task == task)
            DkMemoryAccess::md(md)->task_gone = true;
}

uint64_t dk_client_descriptors_alive(void) { return gClientDescriptorCount; }

void dk_memory_on_free(IOMemoryDescriptor *md, void (*fn)(void *), void *arg)
{
    DkMemoryAccess::md(md)->on_free = fn;
    DkMemoryAccess::md(md)->on_free_arg = arg;
}

void IOMemoryDescriptor::free()
{
    if (state_) {
        if (state_->task && !state_->parent) {
            for (IOMemoryDescriptor **p = &gClientDescriptors; *p;
                 p = &DkMemoryAccess::md(*p)->next_client)
                if (*p == this) {
                    *p = state_->next_client;
                    break;
                }
            gClientDescriptorCount--;
        }
        if (state_->on_free)
            state_->on_free(state_->on_free_arg);
        if (state_->parent)
            state_->parent->release();
        ::free(state_);
    }
    OSObject::free();
}
OSMetaClass *IOMemoryDescriptor::sGetMetaClass() { return &gIOMemoryDescriptorMetaClass; }
const OSMetaClass *IOMemoryDescriptor::getMetaClass() const { return &gIOMemoryDescriptorMetaClass; }

/* IOMemoryDescriptor.iig CreateMapping: a mapping of [offset, offset +
 * length) into the dext (length 0: to the end); the map keeps the
 * descriptor alive.  A client range whose task died is NotReady. */
kern_return_t IOMemoryDescriptor::CreateMapping(uint64_t options, uint64_t address,
                                                uint64_t offset, uint64_t length,
                                                uint64_t alignment, IOMemoryMap **map,
                                                OSDispatchMethod supermethod)
{
    (void)supermethod;
    (void)alignment;
    if (!map || (options & kIOMemoryMapFixedAddress) || address)
        return kIOReturnBadArgument;
    if (gone(this))
        return kIOReturnNotReady;
    if (offset > state_->length)
        return kIOReturnBadArgument;
    if (!length)
        length = state_->length - offset;
    if (length > state_->length - offset)
        return kIOReturnBadArgument;
    IOMemoryMap *m = new IOMemoryMap;
    retain();
    DkMemoryAccess::set_map(m, (uint64_t)(uintptr_t)(state_->bytes + offset), length, offset,
                            this);
    *map = m;
    return kIOReturnSuccess;
}

OSMetaClass gIOMemoryMapMetaClass = {"IOMemoryMap", OSObject::sGetMetaClass(), nullptr};
uint64_t IOMemoryMap::GetAddress() { return address_; }
uint64_t IOMemoryMap::GetLength() { return length_; }
uint64_t IOMemoryMap::GetOffset() { return offset_; }
void IOMemoryMap::free()
{
    if (memory_)
        memory_->release();
    OSObject::free();
}
OSMetaClass *IOMemoryMap::sGetMetaClass() { return &gIOMemoryMapMetaClass; }
const OSMetaClass *IOMemoryMap::getMetaClass() const { return &gIOMemoryMapMetaClass; }

/* IOBufferMemoryDescriptor.iig: page-aligned kernel memory, length =
 * capacity until SetLength.  Backed by a memfd, as kernel memory a task
 * may map is shared: dkhost hands it to another process by its fd. */
struct dk_buffer {
    void *addr;
    size_t len;
};

/* A 16 KiB-aligned shared mapping of fd (Apple Silicon's page). */
static void *map_aligned(int fd, size_t len)
{
    const size_t align = 16384;
    uint8_t *r = static_cast<uint8_t *>(
        mmap(nullptr, len + align, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
    if (r == MAP_FAILED)
        return MAP_FAILED;
    uint8_t *a = reinterpret_cast<uint8_t *>(((uintptr_t)r + align - 1) & ~(uintptr_t)(align - 1));
    void *p = mmap(a, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, fd, 0);
    if (p == MAP_FAILED) {
        munmap(r, len + align);
        return MAP_FAILED;
    }
    if (a > r)
        munmap(r, (size_t)(a - r));
    if (r + len + align > a + len)
        munmap(a + len, (size_t)(r + len + align - (a + len)));
    return p;
}

static void buffer_unmap(void *arg)
{
    struct dk_buffer *b = static_cast<struct dk_buffer *>(arg);
    munmap(b->addr, b->len);
    ::free(b);
}

kern_return_t IOBufferMemoryDescriptor::Create(uint64_t options, uint64_t capacity,
                                               uint64_t alignment,
                                               IOBufferMemoryDescriptor **memory)
{
    (void)alignment;
    if (!memory || !capacity || capacity > (1ull << 32) ||
        (options & ~(uint64_t)kIOMemoryDirectionOutIn))
        return kIOReturnBadArgument;
    IOBufferMemoryDescriptor *md = new IOBufferMemoryDescriptor;
    md->state_ = static_cast<State *>(calloc(1, sizeof(State)));
    uint64_t rounded = (capacity + 16383) & ~16383ull;
    struct dk_buffer *b = static_cast<struct dk_buffer *>(calloc(1, sizeof(*b)));
    int fd = memfd_create("dkdouble-buffer", MFD_CLOEXEC);
    void *p = MAP_FAILED;
    if (fd >= 0 && ftruncate(fd, (off_t)rounded) == 0)
        p = map_aligned(fd, rounded);
    if (fd >= 0)
        close(fd);   /* the mapping keeps the memory */
    if (!md->state_ || !b || p == MAP_FAILED) {
        if (p != MAP_FAILED)
            munmap(p, rounded);
        ::free(b);
        md->release();
        return kIOReturnNoMemory;
    }
    *b = {p, rounded};
    md->state_->bytes = static_cast<uint8_t *>(p);
    dk_memory_on_free(md, buffer_unmap, b);
    md->state_->length = md->state_->capacity = capacity;
    md->state_->options = options;
    *memory = md;
    return kIOReturnSuccess;
}

kern_return_t IOBufferMemoryDescriptor::GetAddressRange(IOAddressSegment *range)
{
    if (!range)
        return kIOReturnBadArgument;
    range->address = (uint64_t)(uintptr_t)state_->bytes;
    range->length = state_->length;
    return kIOReturnSuccess;
}

kern_return_t IOBufferMemoryDescriptor::SetLength(uint64_t length, OSDispatchMethod supermethod)
{
    (void)supermethod;
    if (length > state_->capacity)
        return kIOReturnNoSpace;
    state_->length = length;
    return kIOReturnSuccess;
}
OSMetaClass *IOBufferMemoryDescriptor::sGetMetaClass() { return &gIOBufferMemoryDescriptorMetaClass; }
const OSMetaClass *IOBufferMemoryDescriptor::getMetaClass() const
{
    return &gIOBufferMemoryDescriptorMetaClass;
}

struct IODMACommand::State {
    IOMemoryDescriptor *memory;  /* retained while prepared */
    uint64_t offset, length;
    uint64_t iova, mapped;       /* the mapper's range */
};

/* xnu IODMACommand.cpp Create_Impl: a device and a specification are
 * required, no options are defined; setSpecification refuses more than
 * 255 address bits or fewer than a page's shift (0 means 64). */
kern_return_t IODMACommand::Create(IOService *device, uint64_t options,
                                   const IODMACommandSpecification *specification,
                                   IODMACommand **command)
{
    if (!device || !specification || !command || options != kIODMACommandCreateNoOptions ||
        specification->maxAddressBits > 255 ||
        (specification->maxAddressBits && specification->maxAddressBits < 14))
        return kIOReturnBadArgument;
    IODMACommand *c = new IODMACommand;
    c->state_ = static_cast<State *>(calloc(1, sizeof(State)));
    if (!c->state_) {
        c->release();
        return kIOReturnNoMemory;
    }
    *command = c;
    return kIOReturnSuccess;
}

struct DkDMAAccess {
    using State = IODMACommand::State;
    static State *state(IODMACommand *c) { return c->state_; }
};

/* A sub-descriptor's memory is its root's: wired (registered) there. */
static DkMemoryAccess::State *root_of(IOMemoryDescriptor *md)
{
    while (DkMemoryAccess::md(md)->parent)
        md = DkMemoryAccess::md(md)->parent;
    return DkMemoryAccess::md(md);
}

/* Wires the descriptor (registers its span) for one more preparation. */
static int wire(DkMemoryAccess::State *ms, uint64_t granule)
{
    if (ms->wired_refs) {
        ms->wired_refs++;
        return 0;
    }
    uint64_t va = (uint64_t)(uintptr_t)ms->bytes;
    uint64_t base = va & ~(granule - 1);
    uint64_t end = (va + ms->length + granule - 1) & ~(granule - 1);
    int err = dk_mapper_register(base, end - base, &ms->wired_handle);
    if (err)
        return err;
    ms->wired_base = base;
    ms->wired_refs = 1;
    return 0;
}

static void unwire(DkMemoryAccess::State *ms)
{
    if (--ms->wired_refs == 0)
        dk_mapper_unregister(ms->wired_handle);
}

static void unmap(DkDMAAccess::State *s)
{
    if (!s->memory)
        return;
    dk_mapper_unmap(s->iova, s->mapped);
    unwire(root_of(s->memory));
    s->memory->release();
    s->memory = nullptr;
}

/* xnu IODMACommand.cpp PrepareForDMA_Impl: options must be 0 and memory
 * given; one preparation per command (another descriptor while prepared
 * is Busy; the same one drops the old mapping); one segment. */
kern_return_t IODMACommand::PrepareForDMA(uint64_t options, IOMemoryDescriptor *memory,
                                          uint64_t offset, uint64_t length, uint64_t *flags,
                                          uint32_t *segmentsCount, IOAddressSegment segments[32],
                                          OSDispatchMethod supermethod)
{
    (void)supermethod;
    gCounters.prepare_calls++;
    if (options != kIODMACommandPrepareForDMANoOptions || !memory || !segmentsCount ||
        !segments || *segmentsCount < 1)
        return kIOReturnBadArgument;
    DkMemoryAccess::State *ms = DkMemoryAccess::md(memory);
    if (!length)
        length = ms->length - (offset < ms->length ? offset : ms->length);
    if (offset > ms->length || length > ms->length - offset || !length)
        return kIOReturnBadArgument;
    if (state_->memory && state_->memory != memory)
        return kIOReturnBusy;
    unmap(state_);  /* same descriptor: the old mapping goes */

    if (gone(memory))
        return kIOReturnNotReady;
    /* Device access to a copy-on-write range sees the old pages after the
     * task writes: IOUserServer only shares them with the flag. */
    if (ms->task && !(ms->options & kIOMemoryDisableCopyOnWrite))
        dk_violation("client memory prepared for DMA without kIOMemoryDisableCopyOnWrite",
                     "IOUserServer.cpp CreateMemoryDescriptorFromClient");
    uint64_t granule = dk_mapper_granule();
    uint64_t va = (uint64_t)(uintptr_t)ms->bytes + offset;
    uint64_t first = va & ~(granule - 1);
    uint64_t mapped = ((va + length + granule - 1) & ~(granule - 1)) - first;
    uint32_t dirs = 0;
    if (ms->options & kIOMemoryDirectionOut)
        dirs |= MVF_DMA_READ;   /* the device reads */
    if (ms->options & kIOMemoryDirectionIn)
        dirs |= MVF_DMA_WRITE;  /* the device writes */
    uint64_t iova;
    DkMemoryAccess::State *root = root_of(memory);
    int err = wire(root, granule);
    if (!err) {
        err = dk_mapper_map(root->wired_handle, first - root->wired_base, mapped, dirs, &iova);
        if (err)
            unwire(root);
    }
    if (err == -ENOSPC || err == -EMFILE || err == -ENOMEM)
        return kIOReturnNoResources;
    if (err)
        return kIOReturnBadArgument;
    memory->retain();
    state_->memory = memory;
    state_->offset = offset;
    state_->length = length;
    state_->iova = iova;
    state_->mapped = mapped;
    segments[0].address = iova + (va - first);
    segments[0].length = length;
    *segmentsCount = 1;
    if (flags)
        *flags = ms->options & kIOMemoryDirectionOutIn;
    gCounters.prepare_ok++;
    return kIOReturnSuccess;
}

/* xnu IODMACommand.cpp CompleteDMA_Impl: NotReady when not prepared. */
kern_return_t IODMACommand::CompleteDMA(uint64_t options, OSDispatchMethod supermethod)
{
    (void)supermethod;
    gCounters.complete_calls++;
    if (options != kIODMACommandCompleteDMANoOptions)
        return kIOReturnBadArgument;
    if (!state_->memory)
        return kIOReturnNotReady;
    unmap(state_);
    return kIOReturnSuccess;
}

void IODMACommand::free()
{
    if (state_) {
        unmap(state_);  /* a command freed while prepared is completed */
        ::free(state_);
    }
    OSObject::free();
}
OSMetaClass *IODMACommand::sGetMetaClass() { return &gIODMACommandMetaClass; }
const OSMetaClass *IODMACommand::getMetaClass() const { return &gIODMACommandMetaClass; }

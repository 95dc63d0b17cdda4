/* SPDX-License-Identifier: MIT */
/*
 * Memory descriptors and IODMACommand with the kernel's rules, mapping
 * through a DART model (core/dart.c: 16 KiB granule, IOVAs far above any
 * guest-physical address).  Counters: PrepareForDMA / CompleteDMA calls,
 * live mappings (dk_dma_counters).
 */
#include <DriverKit/IOBufferMemoryDescriptor.h>
#include <DriverKit/IODMACommand.h>
#include <DriverKit/IOService.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

extern "C" {
#include "core/dart.h"
}
#include "dk_internal.h"

OSMetaClass gIOMemoryDescriptorMetaClass = {"IOMemoryDescriptor", OSObject::sGetMetaClass(), nullptr};
OSMetaClass gIOBufferMemoryDescriptorMetaClass = {"IOBufferMemoryDescriptor",
                                                   &gIOMemoryDescriptorMetaClass, nullptr};
OSMetaClass gIODMACommandMetaClass = {"IODMACommand", OSObject::sGetMetaClass(), nullptr};

struct IOMemoryDescriptor::State {
    uint8_t *bytes;
    uint64_t length, capacity;
    uint64_t options;  /* kIOMemoryDirection* */
};

static struct mvf_dart *gDart;
static struct dk_dma_counters gCounters;

static struct mvf_dart *dart(void)
{
    if (!gDart) {
        struct mvf_dart_config cfg;
        mvf_dart_config_default(&cfg);
        if (mvf_dart_create(&cfg, &gDart) != 0)
            abort();
    }
    return gDart;
}

void dk_dma_counters(struct dk_dma_counters *out)
{
    *out = gCounters;
    out->live_mappings = gDart ? mvf_dart_live_mappings(gDart) : 0;
}

kern_return_t IOMemoryDescriptor::GetLength(uint64_t *returnLength)
{
    if (!returnLength)
        return kIOReturnBadArgument;
    *returnLength = state_->length;
    return kIOReturnSuccess;
}

void IOMemoryDescriptor::free()
{
    if (state_) {
        ::free(state_->bytes);
        ::free(state_);
    }
    OSObject::free();
}
OSMetaClass *IOMemoryDescriptor::sGetMetaClass() { return &gIOMemoryDescriptorMetaClass; }
const OSMetaClass *IOMemoryDescriptor::getMetaClass() const { return &gIOMemoryDescriptorMetaClass; }

/* IOBufferMemoryDescriptor.iig: page-aligned kernel memory, length =
 * capacity until SetLength. */
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
    if (md->state_)
        md->state_->bytes = static_cast<uint8_t *>(aligned_alloc(16384, rounded));
    if (!md->state_ || !md->state_->bytes) {
        md->release();
        return kIOReturnNoMemory;
    }
    memset(md->state_->bytes, 0, rounded);
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
    uint64_t iova, mapped;       /* the DART range (granule multiple) */
};

/* xnu IODMACommand.cpp Create_Impl: a device and a specification are
 * required, no options are defined. */
kern_return_t IODMACommand::Create(IOService *device, uint64_t options,
                                   const IODMACommandSpecification *specification,
                                   IODMACommand **command)
{
    if (!device || !specification || !command || options != kIODMACommandCreateNoOptions)
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

struct DkMemoryAccess {
    using State = IOMemoryDescriptor::State;
    static State *md(IOMemoryDescriptor *m) { return m->state_; }
};

struct DkDMAAccess {
    using State = IODMACommand::State;
    static State *state(IODMACommand *c) { return c->state_; }
};

static void unmap(DkDMAAccess::State *s)
{
    if (!s->memory)
        return;
    if (mvf_dart_unmap(gDart, s->iova, s->mapped, nullptr) != 0)
        abort();  /* the double's own books are wrong */
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

    uint64_t granule = mvf_dart_get_config(dart())->granule;
    uint64_t first = offset & ~(granule - 1);
    uint64_t mapped = ((offset + length + granule - 1) & ~(granule - 1)) - first;
    uint64_t iova;
    int err = mvf_dart_map(gDart, mapped, this, &iova);
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
    segments[0].address = iova + (offset - first);
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

/* SPDX-License-Identifier: MIT */
/*
 * The object model of the double: OSObject reference counting, the
 * metaclass registry (classes by name, as the kernel finds a
 * personality's IOClass), OSAction, OSData, IOLib and os_log.
 */
#include <DriverKit/IOLib.h>
#include <DriverKit/OSAction.h>
#include <DriverKit/OSData.h>
#include <os/log.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dk_internal.h"

static uint64_t gLiveObjects;
uint64_t dk_live_objects(void) { return gLiveObjects; }

/* ---- metaclasses ---- */
OSMetaClass gOSObjectMetaClass = {"OSObject", nullptr, nullptr};
OSMetaClass gOSActionMetaClass = {"OSAction", &gOSObjectMetaClass, nullptr};
OSMetaClass gOSDataMetaClass = {"OSData", &gOSObjectMetaClass, nullptr};

#define DK_MAX_CLASSES 64
static OSMetaClass *gClasses[DK_MAX_CLASSES];
static unsigned gClassCount;

bool OSMetaClass::Register(OSMetaClass *meta)
{
    if (gClassCount == DK_MAX_CLASSES)
        abort();  /* a test build with more classes than the double knows */
    gClasses[gClassCount++] = meta;
    return true;
}

const OSMetaClass *OSMetaClass::ForName(const char *name)
{
    for (unsigned i = 0; i < gClassCount; i++)
        if (strcmp(gClasses[i]->name, name) == 0)
            return gClasses[i];
    return nullptr;
}

bool OSMetaClass::IsKindOf(const OSMetaClass *meta, const OSMetaClass *of)
{
    for (; meta; meta = meta->superClass)
        if (meta == of)
            return true;
    return false;
}

/* ---- OSObject ---- */
bool OSMetaClassBase::isEqualTo(const OSMetaClassBase *other) const { return this == other; }

OSObject::OSObject() : retainCount_(1) { gLiveObjects++; }
OSObject::~OSObject() { gLiveObjects--; }
bool OSObject::init() { return true; }
void OSObject::free() { delete this; }
void OSObject::retain() const { retainCount_++; }
void OSObject::release() const
{
    if (retainCount_ <= 0)
        abort();  /* over-release: the kernel would crash the dext too */
    if (--retainCount_ == 0)
        const_cast<OSObject *>(this)->free();
}
kern_return_t OSObject::Dispatch(const IORPC rpc) { return _Dispatch(this, rpc); }
kern_return_t OSObject::_Dispatch(OSObject *, const IORPC) { return kIOReturnUnsupported; }
OSMetaClass *OSObject::sGetMetaClass() { return &gOSObjectMetaClass; }
const OSMetaClass *OSObject::getMetaClass() const { return &gOSObjectMetaClass; }

/* ---- OSAction ---- */
kern_return_t OSAction::Create(OSObject *target, uint64_t targetmsgid, uint64_t msgid,
                               size_t referenceSize, OSAction **action)
{
    (void)msgid;  /* the TYPE's id: the target's method id is what is sent */
    if (!target || !action)
        return kIOReturnBadArgument;
    OSAction *a = new OSAction;
    a->reference_ = referenceSize ? calloc(1, referenceSize) : nullptr;
    if (referenceSize && !a->reference_) {
        a->release();
        return kIOReturnNoMemory;
    }
    a->referenceSize_ = referenceSize;
    a->msgid_ = targetmsgid;
    target->retain();
    a->target_ = target;
    *action = a;
    return kIOReturnSuccess;
}
void *OSAction::GetReference() { return reference_; }
OSObject *OSAction::GetTarget() const { return target_; }
uint64_t OSAction::GetMsgID() const { return msgid_; }
kern_return_t OSAction::Cancel(OSActionCancelHandler handler)
{
    if (handler)
        handler();
    return kIOReturnSuccess;
}
void OSAction::free()
{
    if (target_)
        target_->release();
    ::free(reference_);
    OSObject::free();
}
OSMetaClass *OSAction::sGetMetaClass() { return &gOSActionMetaClass; }
const OSMetaClass *OSAction::getMetaClass() const { return &gOSActionMetaClass; }

kern_return_t dk_action_invoke(OSAction *action, void *message)
{
    IORPC rpc = {action->GetMsgID(), message};
    return action->GetTarget()->Dispatch(rpc);
}

/* ---- OSData ---- */
OSData *OSData::withCapacity(uint32_t capacity)
{
    OSData *d = new OSData;
    d->bytes_ = capacity ? malloc(capacity) : nullptr;
    if (capacity && !d->bytes_) {
        d->release();
        return nullptr;
    }
    d->length_ = 0;
    d->capacity_ = capacity;
    return d;
}
OSData *OSData::withBytes(const void *bytes, size_t numBytes)
{
    if (numBytes > UINT32_MAX || (numBytes && !bytes))
        return nullptr;
    OSData *d = withCapacity((uint32_t)numBytes);
    if (d && numBytes) {
        memcpy(d->bytes_, bytes, numBytes);
        d->length_ = numBytes;
    }
    return d;
}
bool OSData::appendBytes(const void *bytes, size_t numBytes)
{
    if (numBytes > SIZE_MAX - length_)
        return false;
    if (length_ + numBytes > capacity_) {
        void *n = realloc(bytes_, length_ + numBytes);
        if (!n)
            return false;
        bytes_ = n;
        capacity_ = length_ + numBytes;
    }
    if (numBytes)
        memcpy(static_cast<char *>(bytes_) + length_, bytes, numBytes);
    length_ += numBytes;
    return true;
}
size_t OSData::getLength() const { return length_; }
const void *OSData::getBytesNoCopy() const { return length_ ? bytes_ : nullptr; }
const void *OSData::getBytesNoCopy(size_t start, size_t numBytes) const
{
    if (start > length_ || numBytes > length_ - start || !numBytes)
        return nullptr;
    return static_cast<const char *>(bytes_) + start;
}
void OSData::free()
{
    ::free(bytes_);
    OSObject::free();
}
OSMetaClass *OSData::sGetMetaClass() { return &gOSDataMetaClass; }
const OSMetaClass *OSData::getMetaClass() const { return &gOSDataMetaClass; }

/* ---- IOLib, os_log ---- */
extern "C" {
void *IOMalloc(size_t length) { return malloc(length ? length : 1); }
void *IOMallocZero(size_t length) { return calloc(1, length ? length : 1); }
void IOFree(void *address, size_t length)
{
    (void)length;
    free(address);
}
void IOLog(const char *format, ...)
{
    va_list ap;
    va_start(ap, format);
    vfprintf(stderr, format, ap);
    va_end(ap);
}

struct os_log_s {
    int unused;
};
struct os_log_s _os_log_default;

/* Drops os_log's privacy annotations ("%{public}s" -> "%s") and prints. */
void _os_log_impl_printf(os_log_t log, os_log_type_t type, const char *format, ...)
{
    char fmt[512];
    size_t o = 0;
    va_list ap;

    (void)log;
    (void)type;
    for (const char *p = format; *p && o + 1 < sizeof(fmt); p++) {
        fmt[o++] = *p;
        if (*p == '%' && p[1] == '{') {
            const char *close = strchr(p, '}');
            if (close)
                p = close;
        }
    }
    fmt[o] = '\0';
    va_start(ap, format);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}
}

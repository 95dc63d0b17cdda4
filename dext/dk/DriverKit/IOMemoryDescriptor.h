/* SPDX-License-Identifier: MIT */
#ifndef _MVF_DK_IOMEMORYDESCRIPTOR_H
#define _MVF_DK_IOMEMORYDESCRIPTOR_H
#include <DriverKit/OSObject.h>

class IOMemoryMap;

enum {
    kIOMemoryDirectionNone = 0x00000000,
    kIOMemoryDirectionIn = 0x00000001,    /* the device writes */
    kIOMemoryDirectionOut = 0x00000002,   /* the device reads */
    kIOMemoryDirectionOutIn = 0x00000003,
    kIOMemoryDirectionInOut = kIOMemoryDirectionOutIn,
    kIOMemoryDisableCopyOnWrite = 0x00000010,
};
enum {
    kIOMemoryMapFixedAddress = 0x00000001,
    kIOMemoryMapReadOnly = 0x00000002,
    kIOMemoryMapCacheModeMask = 0x00000700,
    kIOMemoryMapCacheModeDefault = 0x00000000,
    kIOMemoryMapCacheModeInhibit = 0x00000100,
    kIOMemoryMapCacheModeCopyback = 0x00000300,
    kIOMemoryMapCacheModeWriteThrough = 0x00000200,
    kIOMemoryMapCacheModeRealTime = 0x00000700,
};

class IOMemoryDescriptor : public OSObject {
public:
    using super = OSObject;
    kern_return_t GetLength(uint64_t *returnLength) LOCALONLY;
    kern_return_t CreateMapping(uint64_t options, uint64_t address, uint64_t offset,
                                uint64_t length, uint64_t alignment, IOMemoryMap **map,
                                OSDispatchMethod supermethod = NULL);
    static kern_return_t CreateSubMemoryDescriptor(uint64_t memoryDescriptorCreateOptions,
                                                   uint64_t offset, uint64_t length,
                                                   IOMemoryDescriptor *ofDescriptor,
                                                   IOMemoryDescriptor **memory);
    static kern_return_t CreateWithMemoryDescriptors(uint64_t memoryDescriptorCreateOptions,
                                                     uint32_t withDescriptorsCount,
                                                     IOMemoryDescriptor *const withDescriptors[32],
                                                     IOMemoryDescriptor **memory);
    static OSMetaClass *sGetMetaClass();
    virtual const OSMetaClass *getMetaClass() const override;
    virtual void free() override;

protected:
    struct State;
    State *state_;
    friend struct DkMemoryAccess;
};
#endif

/* SPDX-License-Identifier: MIT */
#ifndef _MVF_DK_IOBUFFERMEMORYDESCRIPTOR_H
#define _MVF_DK_IOBUFFERMEMORYDESCRIPTOR_H
#include <DriverKit/IOMemoryDescriptor.h>

class IOBufferMemoryDescriptor : public IOMemoryDescriptor {
public:
    using super = IOMemoryDescriptor;
    static kern_return_t Create(uint64_t options, uint64_t capacity, uint64_t alignment,
                                IOBufferMemoryDescriptor **memory);
    kern_return_t GetAddressRange(IOAddressSegment *range) LOCALONLY;
    kern_return_t SetLength(uint64_t length, OSDispatchMethod supermethod = NULL);
    static OSMetaClass *sGetMetaClass();
    virtual const OSMetaClass *getMetaClass() const override;
};
#endif

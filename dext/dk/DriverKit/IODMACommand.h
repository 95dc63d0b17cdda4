/* SPDX-License-Identifier: MIT */
#ifndef _MVF_DK_IODMACOMMAND_H
#define _MVF_DK_IODMACOMMAND_H
#include <DriverKit/IOMemoryDescriptor.h>

class IOService;

enum {
    kIODMACommandCreateNoOptions = 0,
    kIODMACommandPrepareForDMANoOptions = 0,
    kIODMACommandCompleteDMANoOptions = 0,
    kIODMACommandSpecificationNoOptions = 0,
};

struct IODMACommandSpecification {
    uint64_t options;
    uint64_t maxAddressBits;
    uint64_t _resv[16];
};

class IODMACommand : public OSObject {
public:
    using super = OSObject;
    static kern_return_t Create(IOService *device, uint64_t options,
                                const IODMACommandSpecification *specification,
                                IODMACommand **command);
    kern_return_t PrepareForDMA(uint64_t options, IOMemoryDescriptor *memory, uint64_t offset,
                                uint64_t length, uint64_t *flags, uint32_t *segmentsCount,
                                IOAddressSegment segments[32],
                                OSDispatchMethod supermethod = NULL);
    kern_return_t CompleteDMA(uint64_t options, OSDispatchMethod supermethod = NULL);
    kern_return_t GetPreparation(uint64_t *offset, uint64_t *length, IOMemoryDescriptor **memory,
                                 OSDispatchMethod supermethod = NULL);
    static OSMetaClass *sGetMetaClass();
    virtual const OSMetaClass *getMetaClass() const override;
    virtual void free() override;

private:
    struct State;
    State *state_;
    friend struct DkDMAAccess;
};
#endif

/* SPDX-License-Identifier: MIT */
#ifndef _MVF_DK_IOUSERCLIENT_H
#define _MVF_DK_IOUSERCLIENT_H
#include <DriverKit/IOService.h>
#include <DriverKit/OSAction.h>
#include <DriverKit/OSData.h>
#include <DriverKit/IOMemoryDescriptor.h>

#define kIOUserClientScalarArrayCountMax 16
#define kIOUserClientAsyncReferenceCountMax 16
#define kIOUserClientAsyncArgumentsCountMax 16
#define kIOUserClientMemoryReadOnly 0x00000001
#define kIOUserClientQueueNameExternalMethod "IOUserClientQueueExternalMethod"
#define kIOUserClientMethodArgumentsCurrentVersion 2

typedef uint64_t IOUserClientAsyncArgumentsArray[kIOUserClientAsyncArgumentsCountMax];
typedef uint64_t IOUserClientAsyncReferenceArray[kIOUserClientAsyncReferenceCountMax];

struct IOUserClientMethodArguments {
    uint64_t version;
    uint64_t selector;
    OSAction *completion;
    const uint64_t *scalarInput;
    uint32_t scalarInputCount;
    OSData *structureInput;
    IOMemoryDescriptor *structureInputDescriptor;
    uint64_t *scalarOutput;
    uint32_t scalarOutputCount;
    OSData *structureOutput;
    IOMemoryDescriptor *structureOutputDescriptor;
    uint64_t structureOutputMaximumSize;
    uint64_t __reserved[30];
};

typedef kern_return_t (*IOUserClientMethodFunction)(OSObject *target, void *reference,
                                                    IOUserClientMethodArguments *arguments);
struct IOUserClientMethodDispatch {
    IOUserClientMethodFunction function;
    uint32_t checkCompletionExists;
    uint32_t checkScalarInputCount;
    uint32_t checkStructureInputSize;
    uint32_t checkScalarOutputCount;
    uint32_t checkStructureOutputSize;
};
#define kIOUserClientVariableStructureSize 0xffffffff

#define IOUserClient_CopyClientMemoryForType_ID 0x6d76660000000401ULL
#define IOUserClient_CopyClientMemoryForType_Args \
    uint64_t type, uint64_t *options, IOMemoryDescriptor **memory
struct IOUserClient_CopyClientMemoryForType_Msg {
    uint64_t a0;
    uint64_t *a1;
    IOMemoryDescriptor **a2;
};

class IOUserClient : public IOService {
public:
    using super = IOService;
    virtual kern_return_t ExternalMethod(uint64_t selector, IOUserClientMethodArguments *arguments,
                                         const IOUserClientMethodDispatch *dispatch,
                                         OSObject *target, void *reference) LOCALONLY;
    void AsyncCompletion(OSAction *action, IOReturn status, const IOUserClientAsyncArgumentsArray asyncData,
                         uint32_t asyncDataCount, OSDispatchMethod supermethod = NULL);
    kern_return_t CopyClientMemoryForType(uint64_t type, uint64_t *options,
                                          IOMemoryDescriptor **memory,
                                          OSDispatchMethod supermethod = NULL);
    kern_return_t CreateMemoryDescriptorFromClient(uint64_t memoryDescriptorCreateOptions,
                                                   uint32_t segmentsCount,
                                                   const IOAddressSegment segments[32],
                                                   IOMemoryDescriptor **memory,
                                                   OSDispatchMethod supermethod = NULL);

    virtual kern_return_t Dispatch(const IORPC rpc) override;
    static kern_return_t _Dispatch(IOUserClient *self, const IORPC rpc);
    static OSMetaClass *sGetMetaClass();
    virtual const OSMetaClass *getMetaClass() const override;

protected:
    kern_return_t CopyClientMemoryForType_Impl(IOUserClient_CopyClientMemoryForType_Args);
};
#endif

/* SPDX-License-Identifier: MIT */
/*
 * IOService.  Start, Stop and NewUserClient are what a driver overrides
 * (IMPL(MyDriver, Start) with MyDriver_Start_Args = IOService_Start_Args).
 */
#ifndef _MVF_DK_IOSERVICE_H
#define _MVF_DK_IOSERVICE_H
#include <DriverKit/OSObject.h>
#include <DriverKit/IODispatchQueue.h>

class IOService;
class IOUserClient;
class IOMemoryDescriptor;
class OSDictionary;

#define IOService_Start_ID 0x6d76660000000301ULL
#define IOService_Stop_ID 0x6d76660000000302ULL
#define IOService_NewUserClient_ID 0x6d76660000000303ULL
#define IOService_Start_Args IOService *provider
#define IOService_Stop_Args IOService *provider
#define IOService_NewUserClient_Args uint32_t type, IOUserClient **userClient
struct IOService_Start_Msg { IOService *a0; };
struct IOService_Stop_Msg { IOService *a0; };
struct IOService_NewUserClient_Msg { uint32_t a0; IOUserClient **a1; };

class IOService : public OSObject {
public:
    using super = OSObject;
    virtual bool init() override LOCALONLY;
    virtual void free() override LOCALONLY;

    kern_return_t Start(IOService *provider, OSDispatchMethod supermethod = NULL);
    kern_return_t Stop(IOService *provider, OSDispatchMethod supermethod = NULL);
    kern_return_t NewUserClient(uint32_t type, IOUserClient **userClient,
                                OSDispatchMethod supermethod = NULL);
    kern_return_t Create(IOService *provider, const IOPropertyName propertiesKey,
                         IOService **result, OSDispatchMethod supermethod = NULL);
    kern_return_t RegisterService(OSDispatchMethod supermethod = NULL);
    kern_return_t SetName(const IOServiceName name, OSDispatchMethod supermethod = NULL);
    kern_return_t Terminate(uint64_t options, OSDispatchMethod supermethod = NULL);
    kern_return_t SetDispatchQueue(const IODispatchQueueName name, IODispatchQueue *queue,
                                   OSDispatchMethod supermethod = NULL);
    kern_return_t CopyDispatchQueue(const IODispatchQueueName name, IODispatchQueue **queue,
                                    OSDispatchMethod supermethod = NULL);
    kern_return_t CopyProperties(OSDictionary **properties,
                                 OSDispatchMethod supermethod = NULL);
    IOService *GetProvider() const LOCALONLY;

    virtual kern_return_t Dispatch(const IORPC rpc) override;
    static kern_return_t _Dispatch(IOService *self, const IORPC rpc);
    static OSMetaClass *sGetMetaClass();
    virtual const OSMetaClass *getMetaClass() const override;

protected:
    /* "The kernel's" implementations (the double). */
    kern_return_t Start_Impl(IOService_Start_Args);
    kern_return_t Stop_Impl(IOService_Stop_Args);
    kern_return_t NewUserClient_Impl(IOService_NewUserClient_Args);

private:
    struct State;
    State *state_;
    friend struct DkServiceAccess;
};
#endif

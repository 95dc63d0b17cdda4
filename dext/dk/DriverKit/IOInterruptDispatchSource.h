/* SPDX-License-Identifier: MIT */
#ifndef _MVF_DK_IOINTERRUPTDISPATCHSOURCE_H
#define _MVF_DK_IOINTERRUPTDISPATCHSOURCE_H
#include <DriverKit/IODispatchSource.h>

class IOService;

#define kIOInterruptDispatchSourceTypeEdge 0x00000000
#define kIOInterruptDispatchSourceTypeLevel 0x00000001
#define kIOInterruptSourceContinuousTime 0x00010000

/* The handler's method, which a driver declares with
 * TYPE(IOInterruptDispatchSource::InterruptOccurred). */
#define IOInterruptDispatchSource_InterruptOccurred_ID 0x6d76660000000201ULL
#define IOInterruptDispatchSource_InterruptOccurred_Args \
    OSAction *action, uint64_t count, uint64_t time
struct IOInterruptDispatchSource_InterruptOccurred_Msg {
    OSAction *a0;
    uint64_t a1;
    uint64_t a2;
};

class IOInterruptDispatchSource : public IODispatchSource {
public:
    using super = IODispatchSource;
    static kern_return_t Create(IOService *provider, uint32_t index, IODispatchQueue *queue,
                                IOInterruptDispatchSource **source);
    static kern_return_t GetInterruptType(IOService *provider, uint32_t index,
                                          uint64_t *interruptType);
    kern_return_t SetHandler(OSAction *action, OSDispatchMethod supermethod = NULL);
    static OSMetaClass *sGetMetaClass();
    virtual const OSMetaClass *getMetaClass() const override;
    virtual void free() override;

private:
    struct State;
    State *state_;
    friend struct DkInterruptAccess;
};
#endif

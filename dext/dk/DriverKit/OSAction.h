/* SPDX-License-Identifier: MIT */
/* OSAction: a target object, a method id, and a reference block. */
#ifndef _MVF_DK_OSACTION_H
#define _MVF_DK_OSACTION_H
#include <DriverKit/OSObject.h>

typedef void (^OSActionCancelHandler)(void);
typedef void (^OSActionAbortedHandler)(void);

class OSAction : public OSObject {
public:
    using super = OSObject;
    static kern_return_t Create(OSObject *target, uint64_t targetmsgid, uint64_t msgid,
                                size_t referenceSize, OSAction **action) LOCALONLY;
    void *GetReference() LOCALONLY;
    kern_return_t Cancel(OSActionCancelHandler handler) LOCALONLY;
    /* For the double: the method this action sends to its target. */
    OSObject *GetTarget() const LOCALONLY;
    uint64_t GetMsgID() const LOCALONLY;
    static OSMetaClass *sGetMetaClass();
    virtual const OSMetaClass *getMetaClass() const override;
    virtual void free() override;

private:
    OSObject *target_;
    uint64_t msgid_;
    void *reference_;
    size_t referenceSize_;
};
#endif

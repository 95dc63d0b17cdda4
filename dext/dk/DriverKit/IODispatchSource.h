/* SPDX-License-Identifier: MIT */
#ifndef _MVF_DK_IODISPATCHSOURCE_H
#define _MVF_DK_IODISPATCHSOURCE_H
#include <DriverKit/OSObject.h>
#include <DriverKit/OSAction.h>
#include <DriverKit/IODispatchQueue.h>

typedef void (^IODispatchSourceCancelHandler)(void);

#define IODispatchSource_SetEnable_ID 0x6d76660000000101ULL
#define IODispatchSource_Cancel_ID 0x6d76660000000102ULL
#define IODispatchSource_SetEnable_Args bool enable
#define IODispatchSource_Cancel_Args IODispatchSourceCancelHandler handler

class IODispatchSource : public OSObject {
public:
    using super = OSObject;
    kern_return_t SetEnable(bool enable, OSDispatchMethod supermethod = NULL);
    kern_return_t Cancel(IODispatchSourceCancelHandler handler,
                         OSDispatchMethod supermethod = NULL);
    static OSMetaClass *sGetMetaClass();
    virtual const OSMetaClass *getMetaClass() const override;
};
#endif

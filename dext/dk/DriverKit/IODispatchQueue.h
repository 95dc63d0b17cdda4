/* SPDX-License-Identifier: MIT */
#ifndef _MVF_DK_IODISPATCHQUEUE_H
#define _MVF_DK_IODISPATCHQUEUE_H
#include <DriverKit/OSObject.h>

typedef void (^IODispatchBlock)(void);

class IODispatchQueue : public OSObject {
public:
    using super = OSObject;
    static kern_return_t Create(const IODispatchQueueName name, uint64_t options,
                                uint64_t priority, IODispatchQueue **queue) LOCALONLY;
    void DispatchAsync(IODispatchBlock block) LOCALONLY;
    void DispatchSync(IODispatchBlock block) LOCALONLY;
    bool OnQueue() LOCALONLY;
    static OSMetaClass *sGetMetaClass();
    virtual const OSMetaClass *getMetaClass() const override;
    virtual void free() override;

private:
    struct State;
    State *state_;
    friend struct DkQueueAccess;
};
#endif

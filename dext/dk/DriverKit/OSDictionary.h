/* SPDX-License-Identifier: MIT */
#ifndef _MVF_DK_OSDICTIONARY_H
#define _MVF_DK_OSDICTIONARY_H
#include <DriverKit/OSObject.h>

class OSDictionary : public OSObject {
public:
    using super = OSObject;
    static OSDictionary *withCapacity(uint32_t capacity);
    bool setObject(const char *aKey, const OSMetaClassBase *anObject);
    OSObject *getObject(const char *aKey) const;
    static OSMetaClass *sGetMetaClass();
    virtual const OSMetaClass *getMetaClass() const override;
    virtual void free() override;

private:
    struct Entry;
    Entry *entries_;
    uint32_t count_, capacity_;
};
#endif

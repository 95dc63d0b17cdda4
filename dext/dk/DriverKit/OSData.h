/* SPDX-License-Identifier: MIT */
#ifndef _MVF_DK_OSDATA_H
#define _MVF_DK_OSDATA_H
#include <DriverKit/OSObject.h>

class OSData : public OSObject {
public:
    using super = OSObject;
    static OSData *withCapacity(uint32_t capacity);
    static OSData *withBytes(const void *bytes, size_t numBytes);
    size_t getLength() const;
    const void *getBytesNoCopy() const;
    const void *getBytesNoCopy(size_t start, size_t numBytes) const;
    bool appendBytes(const void *bytes, size_t numBytes);
    static OSMetaClass *sGetMetaClass();
    virtual const OSMetaClass *getMetaClass() const override;
    virtual void free() override;

private:
    void *bytes_;
    size_t length_;
    size_t capacity_;
};
#endif

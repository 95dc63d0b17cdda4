/* SPDX-License-Identifier: MIT */
#ifndef _MVF_DK_IOMEMORYMAP_H
#define _MVF_DK_IOMEMORYMAP_H
#include <DriverKit/OSObject.h>

class IOMemoryMap : public OSObject {
public:
    using super = OSObject;
    uint64_t GetAddress() LOCALONLY;
    uint64_t GetLength() LOCALONLY;
    uint64_t GetOffset() LOCALONLY;
    static OSMetaClass *sGetMetaClass();
    virtual const OSMetaClass *getMetaClass() const override;
    virtual void free() override;

private:
    uint64_t address_, length_, offset_;
    OSObject *memory_;  /* retained */
    friend struct DkMemoryAccess;
};
#endif

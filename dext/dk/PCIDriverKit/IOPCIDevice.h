/* SPDX-License-Identifier: MIT */
#ifndef _MVF_DK_IOPCIDEVICE_H
#define _MVF_DK_IOPCIDEVICE_H
#include <DriverKit/IOService.h>
#include <DriverKit/IOMemoryDescriptor.h>
#include <PCIDriverKit/IOPCIFamilyDefinitions.h>

class IOPCIDevice : public IOService {
public:
    using super = IOService;
    kern_return_t Open(IOService *forClient, IOOptionBits options = 0) LOCALONLY;
    void Close(IOService *forClient, IOOptionBits options = 0) LOCALONLY;

    void ConfigurationRead32(uint64_t offset, uint32_t *readData) LOCALONLY;
    void ConfigurationRead16(uint64_t offset, uint16_t *readData) LOCALONLY;
    void ConfigurationRead8(uint64_t offset, uint8_t *readData) LOCALONLY;
    void ConfigurationWrite32(uint64_t offset, uint32_t data) LOCALONLY;
    void ConfigurationWrite16(uint64_t offset, uint16_t data) LOCALONLY;
    void ConfigurationWrite8(uint64_t offset, uint8_t data) LOCALONLY;

    void MemoryRead64(uint8_t memoryIndex, uint64_t offset, uint64_t *readData) LOCALONLY;
    void MemoryRead32(uint8_t memoryIndex, uint64_t offset, uint32_t *readData) LOCALONLY;
    void MemoryRead16(uint8_t memoryIndex, uint64_t offset, uint16_t *readData) LOCALONLY;
    void MemoryRead8(uint8_t memoryIndex, uint64_t offset, uint8_t *readData) LOCALONLY;
    void MemoryWrite64(uint8_t memoryIndex, uint64_t offset, uint64_t data) LOCALONLY;
    void MemoryWrite32(uint8_t memoryIndex, uint64_t offset, uint32_t data) LOCALONLY;
    void MemoryWrite16(uint8_t memoryIndex, uint64_t offset, uint16_t data) LOCALONLY;
    void MemoryWrite8(uint8_t memoryIndex, uint64_t offset, uint8_t data) LOCALONLY;

    kern_return_t FindPCICapability(uint32_t capabilityID, uint64_t searchOffset,
                                    uint64_t *foundCapabilityOffset,
                                    OSDispatchMethod supermethod = NULL);
    kern_return_t GetBusDeviceFunction(uint8_t *returnBusNumber, uint8_t *returnDeviceNumber,
                                       uint8_t *returnFunctionNumber,
                                       OSDispatchMethod supermethod = NULL);
    kern_return_t GetBARInfo(uint8_t barIndex, uint8_t *memoryIndex, uint64_t *barSize = 0,
                             uint8_t *barType = 0);
    kern_return_t ConfigureInterrupts(uint32_t interruptType, uint32_t numRequired = 1,
                                      uint32_t numRequested = 1, IOOptionBits options = 0);
    kern_return_t Reset(IOOptionBits type, IOOptionBits options = 0);
    /* IOPCIDevicePrivate (EXTENDS): only for the Open()er. */
    kern_return_t _CopyDeviceMemoryWithIndex(uint64_t memoryIndex,
                                             IOMemoryDescriptor **returnMemory,
                                             IOService *forClient,
                                             OSDispatchMethod supermethod = NULL);

    static OSMetaClass *sGetMetaClass();
    virtual const OSMetaClass *getMetaClass() const override;
    virtual void free() override;

private:
    struct State;
    State *state_;
    friend struct DkPCIAccess;
};
#endif

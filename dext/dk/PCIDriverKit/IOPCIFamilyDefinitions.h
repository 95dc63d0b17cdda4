/* SPDX-License-Identifier: MIT */
/* PCI constants of PCIDriverKit (values from IOPCIFamily). */
#ifndef _MVF_DK_IOPCIFAMILYDEFINITIONS_H
#define _MVF_DK_IOPCIFAMILYDEFINITIONS_H

#define kIOPCIConfigurationOffsetCommand 0x04
#define kIOPCICommandIOSpace 0x0001
#define kIOPCICommandMemorySpace 0x0002
#define kIOPCICommandBusLead 0x0004
#define kIOPCICommandBusMaster kIOPCICommandBusLead
#define kIOPCICommandInterruptDisable 0x0400

#define kIOInterruptTypePCIMessaged 0x00010000
#define kIOInterruptTypePCIMessagedX 0x00020000

enum {
    kPCIMemoryRangeBAR0 = 0,
    kPCIMemoryRangeBAR1 = 1,
    kPCIMemoryRangeBAR2 = 2,
    kPCIMemoryRangeBAR3 = 3,
    kPCIMemoryRangeBAR4 = 4,
    kPCIMemoryRangeBAR5 = 5,
    kPCIMemoryRangeBAR0ExpansionROM = 6,
    kPCIMemoryRangeExpansionROM = 6,
};
enum {
    kPCIBARTypeM32 = 0x0,
    kPCIBARTypeIO = 0x1,
    kPCIBARTypeM64 = 0x4,
    kPCIBARTypeM32PF = 0x8,
    kPCIBARTypeM64PF = 0xc,
};
enum {
    kIOPCIDeviceResetTypeHotReset = 0x1,
    kIOPCIDeviceResetTypeWarmReset = 0x2,
    kIOPCIDeviceResetTypeWarmResetDisable = 0x4,
    kIOPCIDeviceResetTypeWarmResetEnable = 0x8,
    kIOPCIDeviceResetTypeFunctionReset = 0x10,
};
enum {
    kIOPCIDeviceResetOptionNone = 0,
    kIOPCIDeviceResetOptionTerminate = 1,
};
#define kIOPCIAccessLatencyTolerantHint 0x1
#endif

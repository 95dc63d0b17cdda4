/* SPDX-License-Identifier: MIT */
/*
 * What the macvfio dext knows about the one PCI function it serves,
 * shared by the driver, its user clients and the core's ops.
 *
 * Threading: everything here that changes after Start (the core, the
 * interrupt bookkeeping, the BAR descriptors) is only
 * touched on `queue`, the one serial queue that runs every user client's
 * ExternalMethod and every interrupt handler (core/core.h's contract).
 */
#ifndef MACVFIO_DEXT_DEVICE_H
#define MACVFIO_DEXT_DEVICE_H

#include <DriverKit/IOLib.h>
#include <DriverKit/IODispatchQueue.h>
#include <DriverKit/IOMemoryDescriptor.h>
#include <DriverKit/IOBufferMemoryDescriptor.h>
#include <DriverKit/IOInterruptDispatchSource.h>
#include <PCIDriverKit/IOPCIDevice.h>

/* The core is C. */
extern "C" {
#include "core.h"
}

class MacvfioUserClient;

/* BAR slots: BAR0..5 and the expansion ROM (MVF_ROM_INDEX). */
#define MACVFIO_BAR_SLOTS (MVF_NUM_BARS + 1)
/* The IRQ state page: a 16 KiB buffer (one Apple Silicon page). */
#define MACVFIO_STATE_PAGE_SIZE 16384u
/* Transport objects the core hands around (mvf_provider_ops.bar_object,
 * shared_create, the IRQ_SET wake-up): small integers, mapped back to
 * IOKit objects by the dext.  BAR n is object n; the state page is its
 * memory type; the completion stands for the async call's OSAction. */
#define MACVFIO_OBJ_STATE_PAGE 0x100
#define MACVFIO_OBJ_COMPLETION 0x200

struct MacvfioBar {
    uint64_t size;             /* 0: not implemented */
    uint8_t memoryIndex;       /* GetBARInfo's, for MemoryRead / mapping */
    uint8_t barType;           /* kPCIBARType* */
    uint32_t flags;            /* MVF_BAR_* */
    IOMemoryDescriptor *memory; /* _CopyDeviceMemoryWithIndex, on first map */
};

struct MacvfioDevice {
    IOPCIDevice *pci;          /* retained */
    IOService *opener;         /* the driver: it called pci->Open() */
    IODispatchQueue *queue;    /* retained */

    uint8_t bus, device, function;
    uint16_t vendorID, deviceID;
    char name[16];             /* the core's device name: "pci1b36,e0" */
    uint32_t classCode;        /* base << 16 | sub << 8 | prog-if */
    bool multiFunction;
    bool hasFLR;               /* PCIe Device Capabilities: FLR */

    struct MacvfioBar bars[MACVFIO_BAR_SLOTS];
    uint32_t irqCount[MVF_IRQ_NTYPES]; /* what the capabilities offer */

    /* What macOS configured at Start (ConfigureInterrupts, once). */
    uint32_t hwIrqType;        /* MVF_IRQ_* */
    uint32_t sourceCount;
    uint32_t sourceCapacity;
    IOInterruptDispatchSource **sources; /* sourceCapacity slots */
    /* What the owning client enabled (irq_configure). */
    bool irqEnabled;
    uint32_t irqType, irqVectors;
    uint64_t irqDropped;       /* interrupts with no type enabled */

    struct mvf_core *core;
    struct mvf_device *mvfDevice;

    IOBufferMemoryDescriptor *statePage; /* shared_create's, or NULL */
    /* The client that was handed BAR memory and is still connected:
     * IOKit gives no way to revoke a live client's mapping, so the
     * device is held back from new owners until it closes. */
    MacvfioUserClient *barClient;
};

/* The core's ops on PCIDriverKit (provider_dk.cpp, host_dk.cpp). */
extern const struct mvf_provider_ops macvfio_provider_ops;
extern const struct mvf_host_ops macvfio_host_ops;

/* Reads identity, BARs and capabilities into dev (probe_dk.cpp).  Returns
 * kIOReturnSuccess, or an error with the reason logged. */
kern_return_t macvfio_probe(struct MacvfioDevice *dev);
/* Builds the mvf_provider for dev (after macvfio_probe). */
void macvfio_provider_fill(struct MacvfioDevice *dev, struct mvf_provider *p);
/* One interrupt from the hardware, on the queue (provider_dk.cpp). */
void macvfio_device_interrupt(struct MacvfioDevice *dev, uint32_t vector);

/* The status an external method returns for a core error: the errno
 * itself, in IOKit's vendor-specific range, so the client recovers it
 * exactly (docs/abi.md). */
IOReturn macvfio_ioreturn(int neg_errno);

/* os_log with the dext's prefix. */
void macvfio_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif /* MACVFIO_DEXT_DEVICE_H */

/* SPDX-License-Identifier: MIT */
/* The IOKitLib stand-in of iokit_fake.h. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <IOKit/IOKitLib.h>
#include <IOKit/IOMessage.h>
#include <dispatch/dispatch.h>
#include <mach/mach.h>

#include "iokit_fake.h"

struct fake_iokit fake;

const mach_port_t kIOMainPortDefault = MACH_PORT_NULL;
mach_port_t mach_task_self_ = 1;

#define SERVICE_BASE 100u
#define CONNECT_BASE 200u
#define ITERATOR     50u

static unsigned next_service;
static char matching_name[64];
struct IONotificationPort { int unused; };
struct dispatch_queue_s { int unused; };
struct dispatch_queue_s _dispatch_main_q;

void fake_reset(void)
{
    free(fake.page);
    memset(&fake, 0, sizeof(fake));
    fake.session_service = -1;
    fake.page = aligned_alloc(FAKE_PAGE, FAKE_PAGE);
    memset(fake.page, 0, FAKE_PAGE);
}

void fake_add_service(uint16_t domain, uint8_t bus, uint8_t devfn)
{
    fake.svc[fake.n_svc++] = (struct fake_service){ domain, bus, devfn,
                                                    NULL, NULL };
}

void fake_terminate(void)
{
    struct fake_service *s = &fake.svc[fake.session_service];

    s->interest(s->interest_refcon, SERVICE_BASE + (unsigned)fake.session_service,
                kIOMessageServiceIsTerminated, NULL);
}

void fake_raise(uint32_t vec)
{
    __atomic_fetch_or(&fake.page->pending[vec / 64], 1ull << (vec % 64),
                      __ATOMIC_RELEASE);
    __atomic_fetch_add(&fake.page->seq, 1, __ATOMIC_RELEASE);
}

void fake_complete(void)
{
    fake.irq_callback(fake.irq_refcon, kIOReturnSuccess, NULL, 0);
}

/* ---- Mach, CoreFoundation, dispatch ---------------------------------- */

void CFRelease(CFTypeRef cf)
{
    (void)cf;
}

CFTypeRef CFRetain(CFTypeRef cf)
{
    return cf;
}

dispatch_queue_t dispatch_queue_create(const char *label,
                                       dispatch_queue_attr_t attr)
{
    (void)label;
    (void)attr;
    return calloc(1, sizeof(struct dispatch_queue_s));
}

void dispatch_release(dispatch_object_t object)
{
    free(object._dq);
}

void dispatch_sync_f(dispatch_queue_t queue, void *context,
                     dispatch_function_t work)
{
    (void)queue;
    work(context);
}

void dispatch_async_f(dispatch_queue_t queue, void *context,
                      dispatch_function_t work)
{
    (void)queue;
    work(context);
}

/* ---- IOKitLib --------------------------------------------------------- */

IONotificationPortRef IONotificationPortCreate(mach_port_t mainPort)
{
    (void)mainPort;
    return calloc(1, sizeof(struct IONotificationPort));
}

void IONotificationPortDestroy(IONotificationPortRef notify)
{
    free(notify);
}

mach_port_t IONotificationPortGetMachPort(IONotificationPortRef notify)
{
    return notify ? 77 : MACH_PORT_NULL;
}

void IONotificationPortSetDispatchQueue(IONotificationPortRef notify,
                                        dispatch_queue_t queue)
{
    (void)notify;
    (void)queue;
}

kern_return_t IOObjectRelease(io_object_t object)
{
    (void)object;
    return KERN_SUCCESS;
}

CFMutableDictionaryRef IOServiceNameMatching(const char *name)
{
    strncpy(matching_name, name, sizeof(matching_name) - 1);
    return (CFMutableDictionaryRef)(void *)matching_name;
}

kern_return_t IOServiceGetMatchingServices(mach_port_t mainPort,
                                           CFDictionaryRef matching,
                                           io_iterator_t *existing)
{
    (void)mainPort;
    (void)matching;
    next_service = strcmp(matching_name, "macvfio") ? fake.n_svc : 0;
    *existing = ITERATOR;
    return KERN_SUCCESS;
}

io_service_t IOServiceGetMatchingService(mach_port_t mainPort,
                                         CFDictionaryRef matching)
{
    (void)mainPort;
    (void)matching;
    return fake.n_svc ? SERVICE_BASE : 0;
}

io_object_t IOIteratorNext(io_iterator_t iterator)
{
    if (iterator != ITERATOR || next_service >= fake.n_svc)
        return 0;
    return SERVICE_BASE + next_service++;
}

kern_return_t IOServiceAddInterestNotification(
    IONotificationPortRef notifyPort, io_service_t service,
    const io_name_t interestType, IOServiceInterestCallback callback,
    void *refCon, io_object_t *notification)
{
    struct fake_service *s = &fake.svc[service - SERVICE_BASE];

    if (!notifyPort || strcmp(interestType, kIOGeneralInterest))
        return kIOReturnBadArgument;
    s->interest = callback;
    s->interest_refcon = refCon;
    *notification = 300;
    return KERN_SUCCESS;
}

kern_return_t IOServiceOpen(io_service_t service, task_port_t owningTask,
                            uint32_t type, io_connect_t *connect)
{
    if (service < SERVICE_BASE || service >= SERVICE_BASE + fake.n_svc ||
        owningTask != mach_task_self() || type != 0)
        return kIOReturnBadArgument;
    fake.session_service = (int)(service - SERVICE_BASE);
    *connect = CONNECT_BASE + (service - SERVICE_BASE);
    return KERN_SUCCESS;
}

kern_return_t IOServiceClose(io_connect_t connect)
{
    (void)connect;
    return KERN_SUCCESS;
}

/* The user client: what the dext answers. */
static kern_return_t user_client(io_connect_t conn, uint32_t selector,
                                 const uint64_t *in, uint32_t n_in,
                                 const void *sin, size_t sin_len,
                                 uint64_t *out, uint32_t *n_out, void *sout,
                                 size_t *sout_len)
{
    const struct fake_service *s = &fake.svc[conn - CONNECT_BASE];
    uint32_t cap = *n_out;
    size_t scap = sout_len ? *sout_len : 0;
    kern_return_t kr;

    *n_out = 0;
    if (sout_len)
        *sout_len = 0;
    if (n_in > 16 || cap > 16 || sin_len > 4096 || scap > 4096)
        return kIOReturnBadArgument;   /* in band only, as the dext is used */
    if (sin_len > fake.max_struct_in)
        fake.max_struct_in = sin_len;
    if (fake.fail_next && selector != MVF_SEL_LAST_ERROR) {
        kr = fake.fail_next;
        fake.fail_next = 0;
        return kr;                      /* no outputs on error */
    }
    switch (selector) {
    case MVF_SEL_HELLO:
        out[0] = MVF_ABI_VERSION;
        out[1] = 0x7b7;
        out[2] = fake.hello_max_struct ? fake.hello_max_struct : 4096;
        out[3] = 1;
        *n_out = 4;
        return KERN_SUCCESS;
    case MVF_SEL_DEVICE_LIST: {
        struct mvf_device_info d;
        if (scap < sizeof(d))
            return iokit_vendor_specific_err(ENOBUFS);
        memset(&d, 0, sizeof(d));
        d.domain = s->domain;
        d.bus = s->bus;
        d.devfn = s->devfn;
        strcpy(d.name, "fake");
        memcpy(sout, &d, sizeof(d));
        *sout_len = sizeof(d);
        out[0] = 1;
        *n_out = 1;
        return KERN_SUCCESS;
    }
    case MVF_SEL_LAST_ERROR: {
        size_t len = strlen(fake.last_error) + 1;
        if (scap < len)
            return iokit_vendor_specific_err(ENOBUFS);
        memcpy(sout, fake.last_error, len);
        *sout_len = len;
        return KERN_SUCCESS;
    }
    case MVF_SEL_MAP_MEMORY:
        out[0] = FAKE_PAGE;
        out[1] = in[0] < MVF_NUM_BARS ? fake.bar_flags[in[0]] : 0;
        *n_out = 2;
        return KERN_SUCCESS;
    case MVF_SEL_IRQ_INFO:
        fake.irq_info_calls++;
        out[0] = FAKE_VECTORS;
        out[1] = MVF_IRQ_INFO_MASKABLE;
        *n_out = 2;
        return KERN_SUCCESS;
    case MVF_SEL_IRQ_SET:
        memcpy(fake.irq_in, in, sizeof(fake.irq_in));
        return KERN_SUCCESS;
    case MVF_SEL_DMA_REGISTER:
        if (n_in != 3)
            return iokit_vendor_specific_err(EINVAL);
        memcpy(fake.dma_reg_in, in, sizeof(fake.dma_reg_in));
        out[0] = 42;
        *n_out = 1;
        return KERN_SUCCESS;
    case MVF_SEL_DMA_MAP_BATCH: {
        size_t n = sin_len / sizeof(struct mvf_dma_map_req);
        struct mvf_dma_map_res *r = sout;
        if (scap < n * sizeof(*r))
            return iokit_vendor_specific_err(ENOBUFS);
        for (size_t i = 0; i < n; i++)
            r[i] = (struct mvf_dma_map_res){ 0x1000000 + i * FAKE_PAGE, 0, 0 };
        *sout_len = n * sizeof(*r);
        out[0] = n;
        *n_out = 1;
        fake.batch_calls++;
        return KERN_SUCCESS;
    }
    default:
        return KERN_SUCCESS;
    }
}

kern_return_t IOConnectCallMethod(mach_port_t connection, uint32_t selector,
                                  const uint64_t *input, uint32_t inputCnt,
                                  const void *inputStruct,
                                  size_t inputStructCnt, uint64_t *output,
                                  uint32_t *outputCnt, void *outputStruct,
                                  size_t *outputStructCnt)
{
    fake.calls++;
    return user_client(connection, selector, input, inputCnt, inputStruct,
                       inputStructCnt, output, outputCnt, outputStruct,
                       outputStructCnt);
}

kern_return_t IOConnectCallAsyncMethod(
    mach_port_t connection, uint32_t selector, mach_port_t wake_port,
    uint64_t *reference, uint32_t referenceCnt, const uint64_t *input,
    uint32_t inputCnt, const void *inputStruct, size_t inputStructCnt,
    uint64_t *output, uint32_t *outputCnt, void *outputStruct,
    size_t *outputStructCnt)
{
    kern_return_t kr;

    if (wake_port == MACH_PORT_NULL || referenceCnt != kOSAsyncRef64Count)
        return kIOReturnBadArgument;
    kr = IOConnectCallMethod(connection, selector, input, inputCnt,
                             inputStruct, inputStructCnt, output, outputCnt,
                             outputStruct, outputStructCnt);
    if (kr == KERN_SUCCESS) {
        fake.irq_callback =
            (IOAsyncCallback)(uintptr_t)reference[kIOAsyncCalloutFuncIndex];
        fake.irq_refcon = (void *)(uintptr_t)reference[kIOAsyncCalloutRefconIndex];
    }
    return kr;
}

kern_return_t IOConnectCallScalarMethod(mach_port_t connection,
                                        uint32_t selector,
                                        const uint64_t *input,
                                        uint32_t inputCnt, uint64_t *output,
                                        uint32_t *outputCnt)
{
    return IOConnectCallMethod(connection, selector, input, inputCnt, NULL, 0,
                               output, outputCnt, NULL, NULL);
}

kern_return_t IOConnectMapMemory64(io_connect_t connect, uint32_t memoryType,
                                   task_port_t intoTask,
                                   mach_vm_address_t *atAddress,
                                   mach_vm_size_t *ofSize,
                                   IOOptionBits options)
{
    void *p;

    (void)connect;
    if (intoTask != mach_task_self() || !(options & kIOMapAnywhere))
        return kIOReturnBadArgument;
    fake.last_map_type = memoryType;
    fake.last_map_options = options;
    p = memoryType == MVF_MEM_IRQ_STATE ? (void *)fake.page
                                        : aligned_alloc(FAKE_PAGE, FAKE_PAGE);
    *atAddress = (mach_vm_address_t)(uintptr_t)p;
    *ofSize = FAKE_PAGE;
    return KERN_SUCCESS;
}

kern_return_t IOConnectUnmapMemory64(io_connect_t connect,
                                     uint32_t memoryType,
                                     task_port_t fromTask,
                                     mach_vm_address_t atAddress)
{
    (void)connect;
    (void)fromTask;
    fake.unmaps++;
    fake.last_unmap_type = memoryType;
    if (memoryType != MVF_MEM_IRQ_STATE)
        free((void *)(uintptr_t)atAddress);
    return KERN_SUCCESS;
}

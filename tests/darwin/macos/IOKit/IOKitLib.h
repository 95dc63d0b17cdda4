/* Test-only Darwin header (see ../README.md): the IOKitLib calls
 * libmacvfio's IOKit transport makes, with the signatures IOKitUser
 * publishes. */
#ifndef MVF_TEST_IOKIT_IOKITLIB_H
#define MVF_TEST_IOKIT_IOKITLIB_H

#include <stddef.h>
#include <stdint.h>

#include <CoreFoundation/CoreFoundation.h>
#include <IOKit/IOKitKeys.h>
#include <IOKit/IOReturn.h>
#include <IOKit/IOTypes.h>
#include <IOKit/OSMessageNotification.h>
#include <dispatch/dispatch.h>
#include <mach/mach_types.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct IONotificationPort *IONotificationPortRef;

typedef void (*IOServiceInterestCallback)(void *refcon, io_service_t service,
                                          uint32_t messageType,
                                          void *messageArgument);
typedef void (*IOAsyncCallback)(void *refcon, IOReturn result, void **args,
                                uint32_t numArgs);

/* The default main port (macOS 12 and later; MACH_PORT_NULL works too). */
extern const mach_port_t kIOMainPortDefault;

IONotificationPortRef IONotificationPortCreate(mach_port_t mainPort);
void IONotificationPortDestroy(IONotificationPortRef notify);
mach_port_t IONotificationPortGetMachPort(IONotificationPortRef notify);
void IONotificationPortSetDispatchQueue(IONotificationPortRef notify,
                                        dispatch_queue_t queue);

kern_return_t IOObjectRelease(io_object_t object);
io_object_t IOIteratorNext(io_iterator_t iterator);

/* Consumes one reference to matching. */
kern_return_t IOServiceGetMatchingServices(mach_port_t mainPort,
                                           CFDictionaryRef matching,
                                           io_iterator_t *existing);
io_service_t IOServiceGetMatchingService(mach_port_t mainPort,
                                         CFDictionaryRef matching);
CFMutableDictionaryRef IOServiceNameMatching(const char *name);

kern_return_t IOServiceAddInterestNotification(
    IONotificationPortRef notifyPort, io_service_t service,
    const io_name_t interestType, IOServiceInterestCallback callback,
    void *refCon, io_object_t *notification);

kern_return_t IOServiceOpen(io_service_t service, task_port_t owningTask,
                            uint32_t type, io_connect_t *connect);
kern_return_t IOServiceClose(io_connect_t connect);

kern_return_t IOConnectCallMethod(mach_port_t connection, uint32_t selector,
                                  const uint64_t *input, uint32_t inputCnt,
                                  const void *inputStruct,
                                  size_t inputStructCnt, uint64_t *output,
                                  uint32_t *outputCnt, void *outputStruct,
                                  size_t *outputStructCnt);
kern_return_t IOConnectCallAsyncMethod(
    mach_port_t connection, uint32_t selector, mach_port_t wake_port,
    uint64_t *reference, uint32_t referenceCnt, const uint64_t *input,
    uint32_t inputCnt, const void *inputStruct, size_t inputStructCnt,
    uint64_t *output, uint32_t *outputCnt, void *outputStruct,
    size_t *outputStructCnt);
kern_return_t IOConnectCallScalarMethod(mach_port_t connection,
                                        uint32_t selector,
                                        const uint64_t *input,
                                        uint32_t inputCnt, uint64_t *output,
                                        uint32_t *outputCnt);

kern_return_t IOConnectMapMemory64(io_connect_t connect, uint32_t memoryType,
                                   task_port_t intoTask,
                                   mach_vm_address_t *atAddress,
                                   mach_vm_size_t *ofSize,
                                   IOOptionBits options);
kern_return_t IOConnectUnmapMemory64(io_connect_t connect,
                                     uint32_t memoryType,
                                     task_port_t fromTask,
                                     mach_vm_address_t atAddress);

#ifdef __cplusplus
}
#endif

#endif

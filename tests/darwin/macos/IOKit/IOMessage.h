/* Test-only Darwin header (see ../README.md): interest messages. */
#ifndef MVF_TEST_IOKIT_IOMESSAGE_H
#define MVF_TEST_IOKIT_IOMESSAGE_H

#include <stdint.h>

#include <IOKit/IOReturn.h>

typedef uint32_t IOMessage;

#define iokit_common_msg(message) \
    ((uint32_t)(sys_iokit | sub_iokit_common | (message)))

#define kIOMessageServiceIsTerminated      iokit_common_msg(0x010)
#define kIOMessageServiceIsSuspended       iokit_common_msg(0x020)
#define kIOMessageServiceIsResumed         iokit_common_msg(0x030)
#define kIOMessageServiceIsRequestingClose iokit_common_msg(0x100)
#define kIOMessageServiceWasClosed         iokit_common_msg(0x110)

#endif

/* SPDX-License-Identifier: MIT */
/* IOReturn codes (values from IOKit's IOReturn.h). */
#ifndef _MVF_DK_IORETURN_H
#define _MVF_DK_IORETURN_H
#include <stdint.h>

typedef int kern_return_t;
typedef kern_return_t IOReturn;

#define KERN_SUCCESS 0
#define err_system(x) ((int)(((unsigned)(x) & 0x3f) << 26))
#define err_sub(x) ((int)(((unsigned)(x) & 0xfff) << 14))
#define sys_iokit err_system(0x38)
#define sub_iokit_common err_sub(0)
#define sub_iokit_vendor_specific err_sub(-2)
#define iokit_common_err(r) ((IOReturn)(sys_iokit | sub_iokit_common | (r)))
/* The low 14 bits are the vendor's: the dext puts the errno there. */
#define iokit_vendor_specific_err(r) \
    ((IOReturn)(sys_iokit | sub_iokit_vendor_specific | ((r) & 0x3fff)))

#define kIOReturnSuccess KERN_SUCCESS
#define kIOReturnError iokit_common_err(0x2bc)
#define kIOReturnNoMemory iokit_common_err(0x2bd)
#define kIOReturnNoResources iokit_common_err(0x2be)
#define kIOReturnIPCError iokit_common_err(0x2bf)
#define kIOReturnNoDevice iokit_common_err(0x2c0)
#define kIOReturnNotPrivileged iokit_common_err(0x2c1)
#define kIOReturnBadArgument iokit_common_err(0x2c2)
#define kIOReturnExclusiveAccess iokit_common_err(0x2c5)
#define kIOReturnUnsupported iokit_common_err(0x2c7)
#define kIOReturnIOError iokit_common_err(0x2ca)
#define kIOReturnNotOpen iokit_common_err(0x2cd)
#define kIOReturnNotAligned iokit_common_err(0x2d0)
#define kIOReturnStillOpen iokit_common_err(0x2d2)
#define kIOReturnBusy iokit_common_err(0x2d5)
#define kIOReturnTimeout iokit_common_err(0x2d6)
#define kIOReturnNotReady iokit_common_err(0x2d8)
#define kIOReturnNotAttached iokit_common_err(0x2d9)
#define kIOReturnNoSpace iokit_common_err(0x2db)
#define kIOReturnMessageTooLarge iokit_common_err(0x2e1)
#define kIOReturnNotPermitted iokit_common_err(0x2e2)
#define kIOReturnNotFound iokit_common_err(0x2f0)
#define kIOReturnAborted iokit_common_err(0x2eb)
#endif

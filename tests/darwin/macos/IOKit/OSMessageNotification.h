/* Test-only Darwin header (see ../README.md): the asynchronous reference
 * an async external method carries (slot 1 the callback, slot 2 its
 * refcon; 8 slots of 64 bits). */
#ifndef MVF_TEST_IOKIT_OSMESSAGENOTIFICATION_H
#define MVF_TEST_IOKIT_OSMESSAGENOTIFICATION_H

#include <stdint.h>

#include <IOKit/IOReturn.h>

enum {
    kOSAsyncRef64Count = 8,
    kOSAsyncRefCount = 8,
    kMaxAsyncArgs = 16,
};

enum {
    kIOAsyncReservedIndex = 0,
    kIOAsyncReservedCount,
    kIOAsyncCalloutFuncIndex = kIOAsyncReservedCount,
    kIOAsyncCalloutRefconIndex,
    kIOAsyncCalloutCount,
};

typedef uint64_t io_user_reference_t;
typedef io_user_reference_t OSAsyncReference64[kOSAsyncRef64Count];

#endif

/* Test-only Darwin header (see ../README.md): IOKit object handles and
 * the IOConnectMapMemory64 options (cache modes are shifted by 8). */
#ifndef MVF_TEST_IOKIT_IOTYPES_H
#define MVF_TEST_IOKIT_IOTYPES_H

#include <stdint.h>

#include <IOKit/IOReturn.h>
#include <mach/mach_types.h>

typedef uint32_t IOOptionBits;
typedef mach_port_t io_object_t;
typedef io_object_t io_connect_t;
typedef io_object_t io_iterator_t;
typedef io_object_t io_registry_entry_t;
typedef io_object_t io_service_t;
typedef char io_name_t[128];

#define IO_OBJECT_NULL ((io_object_t)0)

/* Mapping options. */
enum {
    kIODefaultCache             = 0,
    kIOInhibitCache             = 1,
    kIOWriteThruCache           = 2,
    kIOCopybackCache            = 3,
    kIOWriteCombineCache        = 4,
    kIOCopybackInnerCache       = 5,
    kIOPostedWrite              = 6,
    kIORealTimeCache            = 7,
    kIOPostedReordered          = 8,
    kIOPostedCombinedReordered  = 9,
};

enum {
    kIOMapAnywhere              = 0x00000001,
    kIOMapCacheMask             = 0x00000f00,
    kIOMapCacheShift            = 8,
    kIOMapDefaultCache          = kIODefaultCache << kIOMapCacheShift,
    kIOMapInhibitCache          = kIOInhibitCache << kIOMapCacheShift,
    kIOMapWriteThruCache        = kIOWriteThruCache << kIOMapCacheShift,
    kIOMapCopybackCache         = kIOCopybackCache << kIOMapCacheShift,
    kIOMapWriteCombineCache     = kIOWriteCombineCache << kIOMapCacheShift,
    kIOMapPostedWrite           = kIOPostedWrite << kIOMapCacheShift,
    kIOMapRealTimeCache         = kIORealTimeCache << kIOMapCacheShift,
    kIOMapPostedReordered       = kIOPostedReordered << kIOMapCacheShift,
    kIOMapPostedCombinedReordered = kIOPostedCombinedReordered << kIOMapCacheShift,
    kIOMapUserOptionsMask       = 0x00000fff,
    kIOMapReadOnly              = 0x00001000,
};

#endif

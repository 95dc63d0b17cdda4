/* SPDX-License-Identifier: MIT */
/* Basic DriverKit types. */
#ifndef _MVF_DK_IOTYPES_H
#define _MVF_DK_IOTYPES_H
#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>
#include <DriverKit/IOReturn.h>

typedef uint32_t IOOptionBits;
typedef uint64_t IOVirtualAddress;
typedef uint64_t IOByteCount;

struct IOAddressSegment {
    uint64_t address;
    uint64_t length;
};

typedef char IOServiceName[128];
typedef char IOPropertyName[128];
typedef char IORegistryPlaneName[128];
typedef char IODispatchQueueName[256];
#endif

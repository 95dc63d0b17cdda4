/* SPDX-License-Identifier: MIT */
#ifndef _MVF_DK_IOLIB_H
#define _MVF_DK_IOLIB_H
#include <DriverKit/IOTypes.h>
#include <string.h>

#ifdef __cplusplus
extern "C" {
#endif
void *IOMalloc(size_t length);
void *IOMallocZero(size_t length);
void IOFree(void *address, size_t length);
void IOLog(const char *format, ...) __attribute__((format(printf, 1, 2)));
void IOSleep(uint64_t ms);
#ifdef __cplusplus
}
#endif

/* count objects of type, zeroed (NULL on overflow or no memory). */
#define IONewZero(type, count)                                                    \
    (((size_t)(count) > ((size_t)-1) / sizeof(type))                              \
         ? (type *)nullptr                                                        \
         : (type *)IOMallocZero(sizeof(type) * (size_t)(count)))
#define IONew(type, count)                                                        \
    (((size_t)(count) > ((size_t)-1) / sizeof(type))                              \
         ? (type *)nullptr                                                        \
         : (type *)IOMalloc(sizeof(type) * (size_t)(count)))
#define IOSafeDeleteNULL(ptr, type, count)                                        \
    do {                                                                          \
        if ((ptr) != nullptr)                                                     \
            IOFree((ptr), sizeof(type) * (size_t)(count));                        \
        (ptr) = nullptr;                                                          \
    } while (0)
#endif

/* Test-only Darwin header (see ../README.md): the CoreFoundation types
 * IOKitLib's matching calls take. */
#ifndef MVF_TEST_COREFOUNDATION_H
#define MVF_TEST_COREFOUNDATION_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef uint32_t UInt32;
typedef int32_t SInt32;
typedef unsigned char Boolean;
typedef const void *CFTypeRef;
typedef const struct __CFDictionary *CFDictionaryRef;
typedef struct __CFDictionary *CFMutableDictionaryRef;
typedef const struct __CFString *CFStringRef;
typedef const struct __CFAllocator *CFAllocatorRef;

void CFRelease(CFTypeRef cf);
CFTypeRef CFRetain(CFTypeRef cf);

#ifdef __cplusplus
}
#endif

#endif

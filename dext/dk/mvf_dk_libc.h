/* SPDX-License-Identifier: MIT */
/*
 * The few C library calls a dext may make, for the freestanding DriverKit
 * compile check (-nostdinc: no SDK libc here).  On Linux (the double) the
 * wrappers string.h / stdio.h / errno.h below defer to the real libc.
 */
#ifndef MVF_DK_LIBC_H
#define MVF_DK_LIBC_H
#include <stdarg.h>
#include <stddef.h>
#ifdef __cplusplus
extern "C" {
#endif
void *memset(void *s, int c, size_t n);
void *memcpy(void *dst, const void *src, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
size_t strlcpy(char *dst, const char *src, size_t size);
int snprintf(char *buf, size_t size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));
#ifdef __cplusplus
}
#endif
#endif

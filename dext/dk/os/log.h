/* SPDX-License-Identifier: MIT */
/*
 * os_log.  The format is checked by clang's os_log builtins (which accept
 * %{public}s and the like).  DriverKit: the SDK's calling convention
 * (__builtin_os_log_format into a buffer, _os_log_impl).  Linux (the
 * double): _os_log_impl_printf formats it (privacy annotations dropped).
 */
#ifndef _MVF_DK_OS_LOG_H
#define _MVF_DK_OS_LOG_H
#include <stdint.h>

struct os_log_s;
typedef struct os_log_s *os_log_t;
typedef uint8_t os_log_type_t;
#define OS_LOG_TYPE_DEFAULT ((os_log_type_t)0x00)
#define OS_LOG_TYPE_INFO ((os_log_type_t)0x01)
#define OS_LOG_TYPE_DEBUG ((os_log_type_t)0x02)
#define OS_LOG_TYPE_ERROR ((os_log_type_t)0x10)
#define OS_LOG_TYPE_FAULT ((os_log_type_t)0x11)

#ifdef __cplusplus
extern "C" {
#endif
extern struct os_log_s _os_log_default;
#define OS_LOG_DEFAULT (&_os_log_default)
#ifdef __APPLE__
extern void *__dso_handle;
void _os_log_impl(void *dso, os_log_t log, os_log_type_t type, const char *format,
                  uint8_t *buf, uint32_t size);
#define os_log_with_type(log, type, format, ...)                                      \
    do {                                                                              \
        uint8_t _os_log_buf[__builtin_os_log_format_buffer_size(format, ##__VA_ARGS__)] \
            __attribute__((aligned(16)));                                             \
        _os_log_impl(&__dso_handle, (log), (type), (format),                          \
                     (uint8_t *)__builtin_os_log_format(_os_log_buf, format,          \
                                                        ##__VA_ARGS__),               \
                     (uint32_t)sizeof(_os_log_buf));                                  \
    } while (0)
#else
void _os_log_impl_printf(os_log_t log, os_log_type_t type, const char *format, ...);
#define os_log_with_type(log, type, format, ...)                                      \
    do {                                                                              \
        (void)sizeof(char[__builtin_os_log_format_buffer_size(format, ##__VA_ARGS__)]); \
        _os_log_impl_printf((log), (type), (format), ##__VA_ARGS__);                  \
    } while (0)
#endif
#ifdef __cplusplus
}
#endif

#define os_log(log, format, ...) os_log_with_type(log, OS_LOG_TYPE_DEFAULT, format, ##__VA_ARGS__)
#define os_log_info(log, format, ...) os_log_with_type(log, OS_LOG_TYPE_INFO, format, ##__VA_ARGS__)
#define os_log_debug(log, format, ...) os_log_with_type(log, OS_LOG_TYPE_DEBUG, format, ##__VA_ARGS__)
#define os_log_error(log, format, ...) os_log_with_type(log, OS_LOG_TYPE_ERROR, format, ##__VA_ARGS__)
#define os_log_fault(log, format, ...) os_log_with_type(log, OS_LOG_TYPE_FAULT, format, ##__VA_ARGS__)
#endif

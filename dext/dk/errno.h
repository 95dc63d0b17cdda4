/* SPDX-License-Identifier: MIT */
/* DriverKit target: Darwin's errno values (sys/errno.h); elsewhere the
 * real <errno.h>. */
#if defined(__ENVIRONMENT_DRIVERKIT_VERSION_MIN_REQUIRED__) || (defined(__STDC_HOSTED__) && !__STDC_HOSTED__)
#ifndef MVF_DK_ERRNO_H
#define MVF_DK_ERRNO_H
#define EPERM 1
#define ENOENT 2
#define EIO 5
#define ENXIO 6
#define E2BIG 7
#define EBADF 9
#define EAGAIN 35
#define ENOMEM 12
#define EACCES 13
#define EFAULT 14
#define EBUSY 16
#define EEXIST 17
#define ENODEV 19
#define EINVAL 22
#define ENOSPC 28
#define ERANGE 34
#define ENOBUFS 55
#define ENOTSUP 45
#define EOPNOTSUPP 102
#define ETIMEDOUT 60
#define ENOSYS 78
#define EOVERFLOW 84
#define ECANCELED 89
#endif
#else
#include_next <errno.h>
#endif

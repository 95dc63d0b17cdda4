/* SPDX-License-Identifier: MIT */
/* DriverKit target: the dext's libc surface; elsewhere the real <string.h>. */
#if defined(__ENVIRONMENT_DRIVERKIT_VERSION_MIN_REQUIRED__) || (defined(__STDC_HOSTED__) && !__STDC_HOSTED__)
#include "mvf_dk_libc.h"
#else
#include_next <string.h>
#endif

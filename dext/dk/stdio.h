/* SPDX-License-Identifier: MIT */
/* DriverKit target: the dext's libc surface; elsewhere the real <stdio.h>. */
#if defined(__ENVIRONMENT_DRIVERKIT_VERSION_MIN_REQUIRED__) || (defined(__STDC_HOSTED__) && !__STDC_HOSTED__)
#include "mvf_dk_libc.h"
#else
#include_next <stdio.h>
#endif

/* SPDX-License-Identifier: MIT */
/* The double's own tests: CHECK counts a failed condition and goes on;
 * dk_check_exit() prints the total and gives main's exit status. */
#ifndef MACVFIO_DKDOUBLE_CHECK_H
#define MACVFIO_DKDOUBLE_CHECK_H
#include <stdio.h>

static int dk_check_failures;

#define CHECK(cond)                                                                  \
    do {                                                                             \
        if (!(cond)) {                                                               \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
            dk_check_failures++;                                                     \
        }                                                                            \
    } while (0)

static inline int dk_check_exit(const char *test)
{
    if (dk_check_failures)
        fprintf(stderr, "%s: %d check(s) failed\n", test, dk_check_failures);
    return dk_check_failures ? 1 : 0;
}
#endif

/* SPDX-License-Identifier: MIT */
/* libmacvfio as built for Linux: no IOKit transport, and it says so. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "macvfio/macvfio.h"

static void connect_iokit_refused(void **state)
{
    struct mvf_handle *h = (struct mvf_handle *)1;

    (void)state;
    assert_int_equal(mvf_connect_iokit("03:00.0", &h), -ENOTSUP);
    assert_null(h);
    assert_non_null(strstr(mvf_last_error(), "macOS only"));
    assert_int_equal(mvf_connect_iokit(NULL, NULL), -EINVAL);
}

static void bar_cache_needs_a_handle(void **state)
{
    (void)state;
    assert_int_equal(mvf_set_bar_cache(NULL, MVF_BAR_CACHE_WC), -EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(connect_iokit_refused),
        cmocka_unit_test(bar_cache_needs_a_handle),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}

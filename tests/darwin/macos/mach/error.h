/* Test-only Darwin header (see ../README.md): the error number layout,
 * | system (6 bits) | subsystem (12 bits) | code (14 bits) |. */
#ifndef MVF_TEST_MACH_ERROR_H
#define MVF_TEST_MACH_ERROR_H

#include <mach/kern_return.h>

#define err_system(x)       ((signed)((((unsigned)(x)) & 0x3f) << 26))
#define err_sub(x)          (((x) & 0xfff) << 14)
#define err_get_system(err) (((err) >> 26) & 0x3f)
#define err_get_sub(err)    (((err) >> 14) & 0xfff)
#define err_get_code(err)   ((err) & 0x3fff)

#endif

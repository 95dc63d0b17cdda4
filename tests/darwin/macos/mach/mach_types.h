/* Test-only Darwin header (see ../README.md): the Mach types user space
 * sees (a port is a 32-bit name). */
#ifndef MVF_TEST_MACH_MACH_TYPES_H
#define MVF_TEST_MACH_MACH_TYPES_H

#include <stdint.h>

#include <mach/kern_return.h>

typedef unsigned int natural_t;
typedef int integer_t;
typedef natural_t mach_port_name_t;
typedef mach_port_name_t mach_port_t;
typedef mach_port_t task_t;
typedef task_t task_port_t;
typedef uint64_t mach_vm_address_t;
typedef uint64_t mach_vm_size_t;

#define MACH_PORT_NULL ((mach_port_t)0)

#endif

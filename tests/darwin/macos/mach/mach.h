/* Test-only Darwin header (see ../README.md): what <mach/mach.h> gives
 * the code here: the types, mach_task_self() and the message errors a
 * call to a dead port returns. */
#ifndef MVF_TEST_MACH_MACH_H
#define MVF_TEST_MACH_MACH_H

#include <mach/error.h>
#include <mach/kern_return.h>
#include <mach/mach_types.h>

#ifdef __cplusplus
extern "C" {
#endif

/* <mach/mach_init.h>: the task's own port, a variable behind a macro. */
extern mach_port_t mach_task_self_;
#define mach_task_self() mach_task_self_

#ifdef __cplusplus
}
#endif

/* <mach/message.h> */
#define MACH_SEND_INVALID_DATA  0x10000002
#define MACH_SEND_INVALID_DEST  0x10000003
#define MACH_SEND_TIMED_OUT     0x10000004
#define MACH_SEND_INTERRUPTED   0x10000007
#define MACH_SEND_MSG_TOO_SMALL 0x10000008
#define MACH_SEND_NO_BUFFER     0x1000000d
#define MACH_SEND_TOO_LARGE     0x1000000e
#define MACH_RCV_TIMED_OUT      0x10004003
#define MACH_RCV_PORT_DIED      0x10004009

/* <mach/mig_errors.h> */
#define MIG_TYPE_ERROR          (-300)
#define MIG_REPLY_MISMATCH      (-301)
#define MIG_REMOTE_ERROR        (-302)
#define MIG_BAD_ID              (-303)
#define MIG_BAD_ARGUMENTS       (-304)
#define MIG_NO_REPLY            (-305)
#define MIG_EXCEPTION           (-306)
#define MIG_ARRAY_TOO_LARGE     (-307)
#define MIG_SERVER_DIED         (-308)

#endif

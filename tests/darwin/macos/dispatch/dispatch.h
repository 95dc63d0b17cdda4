/* Test-only Darwin header (see ../README.md): the libdispatch calls the
 * code here uses.  In C a queue is a pointer to an opaque struct and
 * dispatch_release takes a transparent union; in Objective-C (ARC) queues
 * are objects and are never released by hand. */
#ifndef MVF_TEST_DISPATCH_H
#define MVF_TEST_DISPATCH_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct dispatch_queue_s;
struct dispatch_queue_attr_s;
extern struct dispatch_queue_s _dispatch_main_q;

#ifdef __OBJC__
@class NSObject;
@protocol OS_dispatch_queue;
@protocol OS_dispatch_queue_attr;
typedef NSObject<OS_dispatch_queue> *dispatch_queue_t;
typedef NSObject<OS_dispatch_queue_attr> *dispatch_queue_attr_t;
#define dispatch_get_main_queue() \
    ((__bridge dispatch_queue_t)(void *)&_dispatch_main_q)
#else
typedef struct dispatch_queue_s *dispatch_queue_t;
typedef struct dispatch_queue_attr_s *dispatch_queue_attr_t;
typedef union {
    struct dispatch_object_s *_do;
    struct dispatch_queue_s *_dq;
} dispatch_object_t __attribute__((__transparent_union__));
#define dispatch_get_main_queue() (&_dispatch_main_q)
void dispatch_release(dispatch_object_t object);
#endif

typedef void (*dispatch_function_t)(void *context);
typedef uint64_t dispatch_time_t;

#define DISPATCH_QUEUE_SERIAL NULL
#define DISPATCH_TIME_NOW     (0ull)
#define DISPATCH_TIME_FOREVER (~0ull)
#define NSEC_PER_SEC          1000000000ull

dispatch_queue_t dispatch_queue_create(const char *label,
                                       dispatch_queue_attr_t attr);
void dispatch_sync_f(dispatch_queue_t queue, void *context,
                     dispatch_function_t work);
void dispatch_async_f(dispatch_queue_t queue, void *context,
                      dispatch_function_t work);
dispatch_time_t dispatch_time(dispatch_time_t when, int64_t delta);
void dispatch_after_f(dispatch_time_t when, dispatch_queue_t queue,
                      void *context, dispatch_function_t work);
void dispatch_main(void) __attribute__((__noreturn__));

#ifdef __cplusplus
}
#endif

#endif

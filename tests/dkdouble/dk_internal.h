/* SPDX-License-Identifier: MIT */
/* The double's own bookkeeping, shared by its source files. */
#ifndef MACVFIO_DKDOUBLE_INTERNAL_H
#define MACVFIO_DKDOUBLE_INTERNAL_H
#include <DriverKit/OSObject.h>

/* OSObjects alive (constructed, not yet destroyed): leak checks. */
uint64_t dk_live_objects(void);
/* Runs every queue's pending blocks until none is left; the count run. */
uint64_t dk_queues_run_until_idle(void);
/* Invokes an OSAction's method on its target with `message` (the
 * TYPE's Msg struct), as the kernel does when the action fires. */
kern_return_t dk_action_invoke(class OSAction *action, void *message);
/* DMA bookkeeping (dk_dma.cpp). */
struct dk_dma_counters {
    uint64_t prepare_calls, prepare_ok, complete_calls, live_mappings;
};
void dk_dma_counters(struct dk_dma_counters *out);
#endif

/* SPDX-License-Identifier: MIT */
/*
 * IODispatchQueue: blocks wait until the test runs the queues
 * (dk_queues_run_until_idle), so every test is deterministic.  A queue
 * is serial: DispatchSync (and a call the kernel delivers on a queue,
 * dk_queue_run_on) first runs what is already queued on it, then the
 * block, with OnQueue() true inside.  DispatchSync onto the queue the
 * caller is running on deadlocks on a Mac: the double counts it as a
 * rule broken and runs the block in place.
 */
#include <DriverKit/IODispatchQueue.h>
#include <Block.h>
#include <stdlib.h>

#include "dk_internal.h"

OSMetaClass gIODispatchQueueMetaClass = {"IODispatchQueue", OSObject::sGetMetaClass(), nullptr};

struct IODispatchQueue::State {
    IODispatchBlock *blocks;
    size_t count, capacity;
    IODispatchQueue *next;  /* every live queue */
};
static IODispatchQueue *gQueues;
static IODispatchQueue *gCurrent;   /* the queue whose block is running */

struct DkQueueAccess {
    using State = IODispatchQueue::State;
    static State *state(IODispatchQueue *q) { return q->state_; }
};

kern_return_t IODispatchQueue::Create(const IODispatchQueueName name, uint64_t options,
                                      uint64_t priority, IODispatchQueue **queue)
{
    (void)name;
    (void)options;
    (void)priority;
    if (!queue)
        return kIOReturnBadArgument;
    IODispatchQueue *q = new IODispatchQueue;
    q->state_ = static_cast<State *>(calloc(1, sizeof(State)));
    if (!q->state_) {
        q->release();
        return kIOReturnNoMemory;
    }
    q->state_->next = gQueues;
    gQueues = q;
    *queue = q;
    return kIOReturnSuccess;
}

void IODispatchQueue::DispatchAsync(IODispatchBlock block)
{
    State *s = state_;
    if (s->count == s->capacity) {
        size_t n = s->capacity ? 2 * s->capacity : 8;
        void *b = realloc(s->blocks, n * sizeof(*s->blocks));
        if (!b)
            abort();
        s->blocks = static_cast<IODispatchBlock *>(b);
        s->capacity = n;
    }
    s->blocks[s->count++] = Block_copy(block);
}

/* Runs the oldest block queued on q; false if there is none. */
static bool run_one(IODispatchQueue *q)
{
    DkQueueAccess::State *s = DkQueueAccess::state(q);
    if (!s->count)
        return false;
    IODispatchBlock b = s->blocks[0];
    for (size_t i = 1; i < s->count; i++)
        s->blocks[i - 1] = s->blocks[i];
    s->count--;
    IODispatchQueue *was = gCurrent;
    q->retain();
    gCurrent = q;
    b();
    gCurrent = was;
    Block_release(b);
    q->release();
    return true;
}

void dk_queue_run_on(IODispatchQueue *q, void (^block)(void))
{
    if (!q) {
        block();
        return;
    }
    q->retain();
    while (run_one(q))
        ;
    IODispatchQueue *was = gCurrent;
    gCurrent = q;
    block();
    gCurrent = was;
    q->release();
}

void IODispatchQueue::DispatchSync(IODispatchBlock block)
{
    if (gCurrent == this) {
        dk_violation("DispatchSync onto the queue the caller runs on (deadlock)",
                     "IODispatchQueue.iig DispatchSync");
        block();
        return;
    }
    dk_queue_run_on(this, block);
}
bool IODispatchQueue::OnQueue() { return gCurrent == this; }

void IODispatchQueue::free()
{
    if (state_) {
        for (IODispatchQueue **p = &gQueues; *p; p = &(*p)->state_->next)
            if (*p == this) {
                *p = state_->next;
                break;
            }
        /* Blocks never run: dropped, as when a dext's queue goes away. */
        for (size_t i = 0; i < state_->count; i++)
            Block_release(state_->blocks[i]);
        ::free(state_->blocks);
        ::free(state_);
    }
    OSObject::free();
}
OSMetaClass *IODispatchQueue::sGetMetaClass() { return &gIODispatchQueueMetaClass; }
const OSMetaClass *IODispatchQueue::getMetaClass() const { return &gIODispatchQueueMetaClass; }

uint64_t dk_queues_run_until_idle(void)
{
    uint64_t ran = 0;
    bool again = true;

    while (again) {
        again = false;
        for (IODispatchQueue *q = gQueues; q; q = DkQueueAccess::state(q)->next) {
            if (run_one(q)) {
                ran++;
                again = true;
                break;  /* the queue list may have changed */
            }
        }
    }
    return ran;
}

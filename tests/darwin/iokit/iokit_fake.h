/* SPDX-License-Identifier: MIT */
/*
 * A scripted stand-in for IOKitLib, Mach and dispatch, just enough to run
 * lib/transport_iokit.c on Linux in a unit test: a few "macvfio" services
 * with a PCI address each, whose user client answers HELLO, DEVICE_LIST,
 * LAST_ERROR, MAP_MEMORY, IRQ_SET and the DMA batch calls the way the dext
 * does, and fails the next call with a chosen IOReturn on request.  It
 * runs nothing of the dext: the IOKitLib double that forwards to the
 * dext's code on the DriverKit double is a separate, later piece.
 * Dispatch queues run work at once on the caller's thread.
 */
#ifndef MVF_TESTS_DARWIN_IOKIT_FAKE_H
#define MVF_TESTS_DARWIN_IOKIT_FAKE_H

#include <stdbool.h>
#include <stdint.h>

#include <IOKit/IOKitLib.h>

#include "macvfio/abi.h"

#define FAKE_MAX_SERVICES 4
#define FAKE_PAGE 16384u
#define FAKE_VECTORS 16u    /* what IRQ_INFO answers for any type */

struct fake_service {
    uint16_t domain;
    uint8_t bus, devfn;
    IOServiceInterestCallback interest;
    void *interest_refcon;
};

struct fake_iokit {
    struct fake_service svc[FAKE_MAX_SERVICES];
    unsigned n_svc;
    int session_service;            /* service of the last IOServiceOpen */
    unsigned calls;                 /* IOConnectCallMethod calls */
    uint64_t hello_max_struct;      /* what HELLO announces (0: 4096) */
    kern_return_t fail_next;        /* returned by the next call, then 0 */
    char last_error[MVF_ERRMSG_MAX];
    uint32_t bar_flags[MVF_NUM_BARS];
    uint32_t last_map_type;
    IOOptionBits last_map_options;
    unsigned unmaps;
    uint32_t last_unmap_type;
    struct mvf_irq_state *page;     /* the dext's state page */
    IOAsyncCallback irq_callback;   /* from the async IRQ_SET */
    void *irq_refcon;
    uint64_t irq_in[5];
    uint64_t dma_reg_in[3];         /* the last DMA_REGISTER */
    unsigned batch_calls;
    unsigned irq_info_calls;
    size_t max_struct_in;
};

extern struct fake_iokit fake;

/* Empties the fake and adds services at the given addresses. */
void fake_reset(void);
void fake_add_service(uint16_t domain, uint8_t bus, uint8_t devfn);
/* Sends kIOMessageServiceIsTerminated to the session's watcher. */
void fake_terminate(void);
/* Raises vector vec the way the dext does: bit, seq, no completion. */
void fake_raise(uint32_t vec);
/* One completion from the dext (the others were dropped). */
void fake_complete(void);

#endif

/* SPDX-License-Identifier: MIT */
/*
 * The rig the dext tests stand on: the DriverKit double with one
 * simulated device and the dext (MacvfioDriver) started on it, and
 * clients that reach the dext the way a process reaches it through
 * IOKit (IOServiceOpen, IOConnectCallMethod with its limits and "no
 * outputs on error", IOConnectMapMemory64, async completions into a
 * notification port).  Everything here goes through the double's test
 * API (tests/dkdouble/dkdouble.h); the tests only see this header and
 * dext_client.h, so the double's spelling lives in one file.
 */
#ifndef MACVFIO_TESTS_DEXT_RIG_H
#define MACVFIO_TESTS_DEXT_RIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct rig;
struct rig_conn;

/* Counters kept by the double (the "kernel"): what the dext did. */
struct rig_counters {
    uint64_t prepare_calls;       /* IODMACommand::PrepareForDMA calls */
    uint64_t prepare_ok;          /* ... that succeeded */
    uint64_t complete_calls;      /* IODMACommand::CompleteDMA that unmapped */
    uint64_t live_dma;            /* prepared and not completed */
    uint64_t live_client_mem;     /* descriptors from CreateMemoryDescriptorFromClient alive */
    uint64_t rule_violations;     /* kernel rules the dext broke */
    uint64_t completions_sent;    /* AsyncCompletion messages queued */
    uint64_t completions_dropped; /* ... dropped on a full port */
    bool bus_master;              /* the function's command register bit 2 */
    bool memory_enable;           /* command register bit 1 */
};

/* Starts the double with the device `spec` ("sim:dmatest", "sim:nvme,...")
 * and the dext matched to it.  Fails the test on error. */
struct rig *rig_start(const char *spec);
/* Closes every client, stops the dext, checks the double for leaks
 * (objects alive, mappings, wired memory) and frees it.  Returns 0 when
 * nothing leaked, else -1 with a message printed. */
int rig_stop(struct rig *r);
void rig_counters(struct rig *r, struct rig_counters *c);
/* Runs what the dext's queue has pending (interrupt handlers, deferred
 * device work) until it is idle. */
void rig_run_queue(struct rig *r);

/* IOServiceOpen on the dext's service: a new MacvfioUserClient. */
struct rig_conn *rig_open(struct rig *r);
/* IOServiceClose: the user client is stopped and freed. */
void rig_close(struct rig_conn *c);
/* The client process dies (no close call): the kernel terminates its
 * user clients. */
void rig_kill(struct rig_conn *c);

/* IOConnectCallMethod, with IOKit's rules (<= 16 scalars either way, a
 * structure of <= 4096 bytes in band, no outputs on error).  *n_out is
 * in: capacity, out: count; *sout_len likewise.  Returns the IOReturn. */
int32_t rig_call(struct rig_conn *c, uint32_t sel,
                 const uint64_t *in, uint32_t n_in,
                 const void *sin, size_t sin_len,
                 uint64_t *out, uint32_t *n_out,
                 void *sout, size_t *sout_len);

/* IOConnectCallAsyncMethod with the connection's notification port:
 * the call's OSAction completes into that port (5 messages deep). */
int32_t rig_call_async(struct rig_conn *c, uint32_t sel,
                       const uint64_t *in, uint32_t n_in,
                       uint64_t *out, uint32_t *n_out);
/* Takes the oldest message off the connection's port; false if none.
 * `args` (16 entries) gets its arguments. */
bool rig_port_take(struct rig_conn *c, int32_t *status, uint64_t *args,
                   uint32_t *n_args);

/* IOConnectMapMemory64 / IOConnectUnmapMemory64 (memory type as the
 * dext numbers it: MVF_MEM_BAR(n), MVF_MEM_IRQ_STATE). */
int32_t rig_map(struct rig_conn *c, uint32_t type, void **addr,
                uint64_t *size);
int32_t rig_unmap(struct rig_conn *c, uint32_t type, void *addr);

/* IOReturn for a negative errno, as the dext reports it
 * (iokit_vendor_specific_err), and back (0 for success, -EIO for an
 * IOReturn that does not carry an errno). */
int32_t rig_ioreturn_of_errno(int neg_errno);
int rig_errno_of(int32_t kr);

#ifdef __cplusplus
}
#endif

#endif

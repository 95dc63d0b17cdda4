/* SPDX-License-Identifier: MIT */
/*
 * The DriverKit double's test API (Linux, test-only).
 *
 * The double plays the kernel and libDriverKit for a dext built from
 * dext/ against the declaration headers in dext/dk: one "machine" with
 * one PCI function backed by a simulated device (sim/registry.h), whose
 * DMA goes through the kernel's own core instance (core/dart.c as the
 * DART: 16 KiB granule, IOVAs from 0xF0_0000_0000, never a GPA).
 *
 * Everything runs on the calling thread: queues only run when the test
 * says so (dk_run_until_idle), so every test is deterministic.
 *
 * One machine at a time.  C-callable, so C tests (tests/dext) can use it.
 * Where each kernel rule is imitated: dk_pci.cpp (IOPCIDevice),
 * dk_interrupt.cpp (interrupt sources), dk_dma.cpp (descriptors,
 * IODMACommand), dk_user_client.cpp (IOUserClient, connections),
 * dk_machine.cpp (the kernel's core instance under all of it).
 */
#ifndef MACVFIO_TESTS_DKDOUBLE_H
#define MACVFIO_TESTS_DKDOUBLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct dk_machine;
struct dk_service;  /* a started driver instance (the IOService) */
struct dk_conn;     /* one IOServiceOpen connection (a user client) */

/* DART overrides for the machine's function (0 fields: core/dart.c's
 * defaults). */
struct dk_dart_config {
    uint64_t granule;     /* bytes; power of 2 */
    uint64_t budget;      /* bytes mappable at once */
    uint32_t max_mappings;
};

/* A machine with one PCI function from a sim spec ("sim:dmatest",
 * "sim:nvme,...").  NULL with err filled on failure. */
struct dk_machine *dk_machine_create(const char *sim_spec,
                                     const struct dk_dart_config *dart,
                                     char *err, size_t errlen);
/* The same on a provider the caller built (e.g. a test function with an
 * I/O BAR, an INTx pin or MSI that no sim device has): the machine takes
 * it over (ops->destroy), also when it fails. */
struct mvf_provider;
struct dk_machine *dk_machine_create_provider(const struct mvf_provider *prov,
                                              const struct dk_dart_config *dart,
                                              char *err, size_t errlen);
/* What the dext's Info.plist says: IOService::Create(provider, key)
 * instantiates class_name (e.g. "MacvfioUserClientProperties" ->
 * "MacvfioUserClient"). */
void dk_machine_add_class(struct dk_machine *m, const char *properties_key,
                          const char *class_name);
/* Stops whatever still runs (as a dext exit would), frees the machine.
 * Returns the number of DriverKit objects still alive (0: no leaks). */
uint64_t dk_machine_destroy(struct dk_machine *m);

/* What the kernel does from the personality: instantiate the registered
 * class `class_name` (mini_iig's metaclass), init(), Start(provider = the
 * PCI nub).  Returns the IOReturn of Start; *out the service on success. */
int32_t dk_match_start(struct dk_machine *m, const char *class_name,
                       struct dk_service **out);
/* Terminate → Stop → release. */
int32_t dk_service_stop(struct dk_service *s);

/* IOServiceOpen(type): NewUserClient(type), then the user client's
 * Start(service).  Returns the IOReturn; *out the connection. */
int32_t dk_client_open(struct dk_service *s, uint32_t type,
                       struct dk_conn **out);
/* IOServiceClose: terminate → user client Stop → release. */
void dk_client_close(struct dk_conn *c);
/* The client task dies: same kernel path as close, and memory
 * descriptors created from that task fail with NotReady afterwards. */
void dk_client_die(struct dk_conn *c);

/* IOConnectCallMethod / IOConnectCallAsyncMethod with IOKit's rules:
 * at most 16 scalars each way (else BadArgument before the dext runs);
 * structures of <= 4096 bytes in band (OSData), larger ones out of line
 * as memory descriptors (input kIODirectionOut read-only to the device,
 * output kIODirectionIn); *n_out / *sout_len are capacity in and count
 * out; on error no outputs are copied and *n_out = *sout_len = 0.
 * async: the call carries an OSAction completing into the connection's
 * port.  Returns the IOReturn. */
struct dk_call {
    uint32_t selector;
    const uint64_t *in;
    uint32_t n_in;
    const void *sin;
    size_t sin_len;
    uint64_t *out;
    uint32_t *n_out;
    void *sout;
    size_t *sout_len;
    bool async;
    /* async: the caller's reference (io_async_ref64_t), given back with
     * every completion of the call (dk_port_take_ref); NULL: zeros. */
    const uint64_t *async_ref;
};
#define DK_ASYNC_REF 8
int32_t dk_connect_call(struct dk_conn *c, const struct dk_call *call);

/* IOConnectMapMemory64(type, options): CopyClientMemoryForType, then the
 * descriptor mapped into the test ("client") address space.  The
 * options the dext returned and the cache mode asked for are recorded
 * (dk_last_map_options). */
int32_t dk_connect_map_memory(struct dk_conn *c, uint64_t type, uint32_t options,
                              void **addr, uint64_t *len);
/* IOConnectUnmapMemory64 of a mapping made by dk_connect_map_memory. */
int32_t dk_connect_unmap_memory(struct dk_conn *c, uint64_t type, void *addr);
/* kIOUserClientMemoryReadOnly if the dext asked for it, and the caller's
 * cache mode (kIOMemoryMapCacheModeMask bits) shifted up by 32. */
uint64_t dk_last_map_options(struct dk_conn *c);

/* The connection's notification port: 5 messages deep, one more is
 * dropped and counted.  Takes the oldest; false when empty. */
#define DK_PORT_DEPTH 5
bool dk_port_take(struct dk_conn *c, int32_t *status, uint64_t args[16],
                  uint32_t *n_args);
/* The same with the reference of the call the completion belongs to. */
bool dk_port_take_ref(struct dk_conn *c, int32_t *status, uint64_t args[16],
                      uint32_t *n_args, uint64_t ref[DK_ASYNC_REF]);
uint64_t dk_port_dropped(struct dk_conn *c);

/* The connection's client task lives in another process (dkhost): its
 * addresses are turned into this process's by `map` (NULL: the range is
 * not the task's memory), called by CreateMemoryDescriptorFromClient.
 * Without it the task is this process. */
typedef void *(*dk_task_map_fn)(void *ctx, uint64_t address, uint64_t length);
void dk_conn_set_task(struct dk_conn *c, dk_task_map_fn map, void *ctx);

/* The simulated device has deferred work for dk_run_until_idle. */
bool dk_machine_has_work(struct dk_machine *m);

/* Runs every queue's pending blocks (interrupt handlers, Cancel
 * handlers, deferred device work) until nothing is pending.  Returns the
 * number of blocks run. */
uint64_t dk_run_until_idle(struct dk_machine *m);

/* The device raises one of the vectors ConfigureInterrupts enabled (the
 * simulated device does the same on its own); -EINVAL for others. */
int dk_device_raise(struct dk_machine *m, uint32_t vector);
uint16_t dk_device_command(struct dk_machine *m); /* config command register */

struct dk_counters {
    uint64_t prepare_calls;        /* IODMACommand::PrepareForDMA */
    uint64_t prepare_ok;
    uint64_t complete_calls;       /* IODMACommand::CompleteDMA */
    uint64_t live_dma_mappings;
    uint64_t configure_interrupts_calls;
    uint64_t interrupts_delivered; /* InterruptOccurred handlers run */
    uint64_t client_descriptors;   /* CreateMemoryDescriptorFromClient alive */
    uint64_t dma_faults;           /* device DMA to an unmapped IOVA */
    uint64_t rule_violations;      /* kernel rules the dext broke */
    uint64_t live_objects;         /* OSObjects alive (leak checks) */
    uint64_t completions_sent;     /* AsyncCompletion messages, every port */
    uint64_t completions_dropped;  /* ... of which a full port dropped */
};
void dk_counters(struct dk_machine *m, struct dk_counters *out);

#ifdef __cplusplus
}
#endif

#endif /* MACVFIO_TESTS_DKDOUBLE_H */

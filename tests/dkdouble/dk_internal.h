/* SPDX-License-Identifier: MIT */
/* The double's own bookkeeping, shared by its source files. */
#ifndef MACVFIO_DKDOUBLE_INTERNAL_H
#define MACVFIO_DKDOUBLE_INTERNAL_H
#include <DriverKit/OSObject.h>

#include "dkdouble.h"

class IOService;
class IOPCIDevice;
class IOMemoryDescriptor;
class IODispatchQueue;
class IOInterruptDispatchSource;

/* OSObjects alive (constructed, not yet destroyed): leak checks. */
uint64_t dk_live_objects(void);
/* Runs every queue's pending blocks until none is left; the count run. */
uint64_t dk_queues_run_until_idle(void);
/* Invokes an OSAction's method on its target with `message` (the
 * TYPE's Msg struct), as the kernel does when the action fires. */
kern_return_t dk_action_invoke(class OSAction *action, void *message);

/* Runs `block` on serial queue q as the kernel delivers a call there:
 * after what q already has queued, with q as the current queue. */
void dk_queue_run_on(IODispatchQueue *q, void (^block)(void));

/* Connections (dk_user_client.cpp). */
/* Closes every connection to `service` (its termination). */
void dk_connections_close_for(IOService *service);
/* Frees every connection record (the machine is going). */
void dk_connections_free(void);
/* AsyncCompletion messages sent, and dropped on full ports. */
void dk_connection_counters(uint64_t *sent, uint64_t *dropped);
/* The named queue a service set (SetDispatchQueue), or NULL. */
IODispatchQueue *dk_service_queue(IOService *s, const char *name);

/* DMA bookkeeping (dk_dma.cpp). */
struct dk_dma_counters {
    uint64_t prepare_calls, prepare_ok, complete_calls, live_mappings;
};
void dk_dma_counters(struct dk_dma_counters *out);

/* ---- the machine (dk_machine.cpp): one at a time ------------------- */

/* The live machine, or NULL: objects the dext creates find "the kernel"
 * through it, as they would through the one kernel of a Mac. */
struct dk_machine *dk_current(void);
/* A kernel rule the dext broke: counted, and printed with its source. */
void dk_violation(const char *rule, const char *source);

/* The system mapper (the DART of the function), through the kernel's
 * own core instance, so the simulated device's DMA is checked by
 * core/dart.c: a wired range of this process is registered once
 * (granule aligned), and each preparation maps part of it for `dirs`
 * (MVF_DMA_READ/WRITE).  0 or a negative errno; unmapping or
 * unregistering what is not there aborts (the double's books are wrong). */
int dk_mapper_register(uint64_t va, uint64_t len, uint64_t *handle);
void dk_mapper_unregister(uint64_t handle);
int dk_mapper_map(uint64_t handle, uint64_t off, uint64_t len, uint32_t dirs, uint64_t *iova);
void dk_mapper_unmap(uint64_t iova, uint64_t len);
uint64_t dk_mapper_granule(void);
uint64_t dk_mapper_live(void);

/* The machine's PCI nub, and the messaged vectors ConfigureInterrupts
 * set up on it (0 before; *type its kIOInterruptTypePCIMessaged(X)). */
IOPCIDevice *dk_machine_pci(void);
/* A new PCI nub (dk_pci.cpp), or NULL. */
IOPCIDevice *dk_pci_nub_create(void);
uint32_t dk_pci_messaged_vectors(IOPCIDevice *nub, uint64_t *type);
/* The PCI nub's backing (dk_machine.cpp), for dk_pci.cpp. */
struct mvf_provider;
const struct mvf_provider *dk_pci_backing(void);
/* ConfigureInterrupts' kernel side: enables `type` (MVF_IRQ_*) with
 * `count` vectors on the device.  0 or a negative errno. */
int dk_kernel_irq_enable(uint32_t type, uint32_t count);
/* Interrupt sources (dk_interrupt.cpp): the specifier at `index` of the
 * nub (index 0 INTx when the function has a pin, then the messaged
 * vectors ConfigureInterrupts set up), false past the last. */
bool dk_interrupt_specifier(uint32_t index, uint64_t *type, uint32_t *vector);
/* The device raised `vector` of the enabled type: the source that
 * stands for it gets its handler queued (dk_interrupt.cpp). */
void dk_interrupt_fire(uint32_t vector);
/* The machine is going: forget every interrupt source. */
void dk_interrupts_reset(void);
void dk_count_configure_interrupts(void);
void dk_count_interrupt_delivered(void);

/* Memory descriptors (dk_dma.cpp). */
/* A descriptor over memory the double does not own (a client task's
 * range, a BAR mapping).  `task` is the owning connection or NULL. */
IOMemoryDescriptor *dk_memory_wrap(void *bytes, uint64_t length, uint64_t options,
                                   struct dk_conn *task);
/* The bytes behind a descriptor, NULL if its task is gone. */
void *dk_memory_bytes(IOMemoryDescriptor *md, uint64_t *length, uint64_t *options);
/* The client task died: its descriptors stop working (NotReady). */
void dk_memory_task_gone(struct dk_conn *task);
uint64_t dk_client_descriptors_alive(void);
/* A cleanup run once when the last reference goes (BAR mmaps). */
void dk_memory_on_free(IOMemoryDescriptor *md, void (*fn)(void *), void *arg);

/* Services (dk_service.cpp). */
/* RegisterService was called; *name is the SetName one ("" if none). */
bool dk_service_registered(IOService *s, const char **name);
/* A new instance of the registered IOService class `class_name`, init()ed
 * and Start()ed on provider; BadArgument for a class that is not one. */
kern_return_t dk_service_instantiate(const char *class_name, IOService *provider,
                                     IOService **out);
/* Properties key -> class a Create() instantiates (dk_machine_add_class). */
const char *dk_class_for_properties(const char *key);
/* The service's state: stopped services refuse Create/RegisterService. */
bool dk_service_started(IOService *s);
#endif

/* SPDX-License-Identifier: MIT */
/*
 * The double's "kernel": one machine with one PCI function backed by a
 * simulated device, owned by a kernel-side instance of our own core
 * (core/), which plays the parts of macOS the dext cannot see:
 *
 *   - the system mapper: IODMACommand::PrepareForDMA registers the
 *     wired range with the kernel session (DMA_REGISTER by address) and
 *     maps it (DMA_MAP), so the device's DMA goes through core/dart.c at
 *     an IOVA the dext never chose, and CompleteDMA's unmap makes the old
 *     IOVA fault;
 *   - interrupt programming: ConfigureInterrupts enables the vectors on
 *     the kernel session, whose notifiers queue the interrupt sources'
 *     handlers;
 *   - the device's deferred work (sim:nvme's command slices), run with
 *     the queues by dk_run_until_idle.
 *
 * Configuration and BAR accesses do not go through that session: the
 * kernel never filters them (dk_pci.cpp calls the provider directly).
 */
#include <DriverKit/IOService.h>
#include <PCIDriverKit/IOPCIDevice.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern "C" {
#include "core.h"
#include "registry.h"
}
#include "dk_internal.h"

#define DK_MAX_CLASSES 8
#define DK_MAX_SERVICES 8
#define DK_PCI_COMMAND 0x04   /* configuration space command register */

struct dk_class_entry {
    char key[128];
    char cls[128];
};

struct dk_machine {
    struct mvf_provider prov;   /* a copy: the core owns the provider */
    struct mvf_core *core;
    struct mvf_device *dev;
    struct mvf_session *ks;     /* the kernel's session: owns the device */
    IOPCIDevice *pci;           /* the nub drivers start on */
    struct dk_class_entry classes[DK_MAX_CLASSES];
    unsigned nclasses;
    IOService *services[DK_MAX_SERVICES];
    uint64_t violations;
    uint64_t configure_calls, delivered;
    uint64_t granule;               /* the DART's */
    uint32_t irq_type, irq_count;   /* what ConfigureInterrupts enabled */
    bool irq_enabled;
};

static struct dk_machine *gMachine;

struct dk_machine *dk_current(void) { return gMachine; }

void dk_violation(const char *rule, const char *source)
{
    fprintf(stderr, "dkdouble: kernel rule broken: %s (%s)\n", rule, source);
    if (gMachine)
        gMachine->violations++;
}

/* ---- the kernel core's host ops ------------------------------------ */

struct dk_kmem {
    struct mvf_client_mem mem;
    uint8_t *base;
};

static void *kmem_host_ptr(struct mvf_client_mem *m, uint64_t off, uint64_t len)
{
    (void)len;
    return static_cast<struct dk_kmem *>(m->priv)->base + off;
}

static void kmem_release(struct mvf_client_mem *m)
{
    free(m->priv);
}

/* The kernel maps wired memory of this process: the address is a
 * pointer (dk_mapper_map has already checked it came from a descriptor). */
static int kmem_create(void *host, void *client, int fd, uint64_t arg, uint64_t length,
                       uint32_t flags, struct mvf_client_mem **out, char *err, size_t errlen)
{
    (void)host;
    (void)client;
    (void)fd;
    if (!(flags & MVF_DMA_REG_VA)) {
        snprintf(err, errlen, "the kernel registers by address only");
        return -EINVAL;
    }
    struct dk_kmem *k = static_cast<struct dk_kmem *>(calloc(1, sizeof(*k)));
    if (!k)
        return -ENOMEM;
    k->base = reinterpret_cast<uint8_t *>(arg);
    k->mem.length = length;
    k->mem.host_ptr = kmem_host_ptr;
    k->mem.release = kmem_release;
    k->mem.priv = k;
    *out = &k->mem;
    return 0;
}

/* One notifier per vector: the transport object is the vector number. */
struct dk_knotifier {
    struct mvf_notifier n;
    uint32_t vector;
};

static void knotifier_signal(struct mvf_notifier *n)
{
    dk_interrupt_fire(static_cast<struct dk_knotifier *>(n->priv)->vector);
}

static void knotifier_release(struct mvf_notifier *n)
{
    free(n->priv);
}

static int knotifier_create(void *host, void *client, int obj, struct mvf_notifier **out)
{
    (void)host;
    (void)client;
    if (obj < 0)
        return -EBADF;
    struct dk_knotifier *k = static_cast<struct dk_knotifier *>(calloc(1, sizeof(*k)));
    if (!k)
        return -ENOMEM;
    k->vector = (uint32_t)obj;
    k->n.signal = knotifier_signal;
    k->n.release = knotifier_release;
    k->n.priv = k;
    *out = &k->n;
    return 0;
}

static int kshared_create(void *host, size_t size, void **ptr, int *obj)
{
    (void)host;
    *ptr = calloc(1, size);
    *obj = 0;
    return *ptr ? 0 : -ENOMEM;
}

static void kshared_release(void *host, void *ptr, size_t size, int obj)
{
    (void)host;
    (void)size;
    (void)obj;
    free(ptr);
}

static int kobj_dup(void *host, int obj)
{
    (void)host;
    return obj;
}

static void klog(void *host, enum mvf_log_level lvl, const char *msg)
{
    (void)host;
    /* Device faults are the tests' to check, through the counters. */
    if (lvl == MVF_LOG_ERROR)
        fprintf(stderr, "dkdouble kernel: %s\n", msg);
}

static const struct mvf_host_ops kernel_host_ops = {
    .mem_create = kmem_create,
    .notifier_create = knotifier_create,
    .shared_create = kshared_create,
    .shared_release = kshared_release,
    .obj_dup = kobj_dup,
    .log = klog,
    .now_ms = nullptr,
    .transport_features = MVF_FEAT_IRQ_EVENTFD | MVF_FEAT_DMA_VA,
    .max_struct = 0,
};

/* One call on the kernel session. */
static int kcall(uint32_t sel, const uint64_t *in, uint32_t n_in, uint64_t *out,
                 uint32_t n_out, const int *objs, uint32_t n_objs)
{
    struct mvf_call call = {};

    if (!gMachine)
        return -ENODEV;
    mvf_call_init(&call);
    call.selector = sel;
    call.in = in;
    call.n_in = n_in;
    call.objs_in = objs;
    call.n_objs_in = n_objs;
    int ret = mvf_dispatch(gMachine->ks, &call);
    if (ret) {
        fprintf(stderr, "dkdouble kernel: call %u: %s\n", sel, call.err);
        return ret;
    }
    for (uint32_t i = 0; i < n_out && i < call.n_out; i++)
        out[i] = call.out[i];
    return 0;
}

/* ---- the system mapper --------------------------------------------- */

int dk_mapper_register(uint64_t va, uint64_t len, uint64_t *handle)
{
    const uint64_t reg[3] = {len, va, MVF_DMA_REG_VA};
    return kcall(MVF_SEL_DMA_REGISTER, reg, 3, handle, 1, nullptr, 0);
}

void dk_mapper_unregister(uint64_t handle)
{
    if (kcall(MVF_SEL_DMA_UNREGISTER, &handle, 1, nullptr, 0, nullptr, 0))
        abort();   /* the double's own books disagree with its kernel core */
}

int dk_mapper_map(uint64_t handle, uint64_t off, uint64_t len, uint32_t dirs, uint64_t *iova)
{
    const uint64_t map[4] = {handle, off, len, dirs};
    return kcall(MVF_SEL_DMA_MAP, map, 4, iova, 1, nullptr, 0);
}

void dk_mapper_unmap(uint64_t iova, uint64_t len)
{
    const uint64_t unmap[2] = {iova, len};
    if (kcall(MVF_SEL_DMA_UNMAP, unmap, 2, nullptr, 0, nullptr, 0))
        abort();
}

uint64_t dk_mapper_granule(void)
{
    return gMachine ? gMachine->granule : MVF_DART_GRANULE;
}

uint64_t dk_mapper_live(void)
{
    struct mvf_stats st;

    if (!gMachine)
        return 0;
    mvf_device_stats(gMachine->dev, &st);
    return st.live_mappings;
}

/* ---- PCI and interrupts --------------------------------------------- */

IOPCIDevice *dk_machine_pci(void)
{
    return gMachine ? gMachine->pci : nullptr;
}

const struct mvf_provider *dk_pci_backing(void)
{
    return gMachine ? &gMachine->prov : nullptr;
}

int dk_kernel_irq_enable(uint32_t type, uint32_t count)
{
    if (!gMachine)
        return -ENODEV;
    for (uint32_t start = 0; start < count; start += MVF_IRQ_SET_MAX) {
        uint32_t n = count - start < MVF_IRQ_SET_MAX ? count - start : MVF_IRQ_SET_MAX;
        int objs[MVF_IRQ_SET_MAX];
        for (uint32_t i = 0; i < n; i++)
            objs[i] = (int)(start + i);
        const uint64_t in[5] = {type, MVF_IRQ_ACT_TRIGGER, start, n,
                                n == 64 ? ~0ull : (1ull << n) - 1};
        int ret = kcall(MVF_SEL_IRQ_SET, in, 5, nullptr, 0, objs, n);
        if (ret)
            return ret;
    }
    gMachine->irq_type = type;
    gMachine->irq_count = count;
    gMachine->irq_enabled = true;
    return 0;
}

void dk_count_configure_interrupts(void)
{
    if (gMachine)
        gMachine->configure_calls++;
}

void dk_count_interrupt_delivered(void)
{
    if (gMachine)
        gMachine->delivered++;
}

const char *dk_class_for_properties(const char *key)
{
    if (!gMachine || !key)
        return nullptr;
    for (unsigned i = 0; i < gMachine->nclasses; i++)
        if (strcmp(gMachine->classes[i].key, key) == 0)
            return gMachine->classes[i].cls;
    return nullptr;
}

/* ---- the test API ---------------------------------------------------- */

struct dk_machine *dk_machine_create(const char *sim_spec, const struct dk_dart_config *dart,
                                     char *err, size_t errlen)
{
    struct mvf_provider prov;

    if (gMachine) {
        snprintf(err, errlen, "one machine at a time");
        return nullptr;
    }
    if (mvf_sim_create(sim_spec, &prov, err, errlen) != 0)
        return nullptr;
    return dk_machine_create_provider(&prov, dart, err, errlen);
}

struct dk_machine *dk_machine_create_provider(const struct mvf_provider *provider,
                                              const struct dk_dart_config *dart,
                                              char *err, size_t errlen)
{
    struct mvf_provider prov = *provider;
    struct mvf_dart_config dc;
    uint64_t out[2];
    const char *sim_spec = prov.name ? prov.name : "the device";

    if (gMachine) {
        snprintf(err, errlen, "one machine at a time");
        prov.ops->destroy(prov.priv);
        return nullptr;
    }
    struct dk_machine *m = static_cast<struct dk_machine *>(calloc(1, sizeof(*m)));
    if (!m) {
        prov.ops->destroy(prov.priv);
        snprintf(err, errlen, "out of memory");
        return nullptr;
    }
    m->prov = prov;
    mvf_dart_config_default(&dc);
    if (dart && dart->granule)
        dc.granule = dart->granule;
    if (dart && dart->budget)
        dc.budget_bytes = dart->budget;
    if (dart && dart->max_mappings)
        dc.max_mappings = dart->max_mappings;
    m->granule = dc.granule;
    m->core = mvf_core_create(&kernel_host_ops, m);
    if (!m->core || mvf_core_add_device(m->core, &prov, &dc, &m->dev) != 0) {
        snprintf(err, errlen, "the kernel core refused %s", sim_spec);
        if (m->core)
            mvf_core_destroy(m->core);
        else
            prov.ops->destroy(prov.priv);
        free(m);
        return nullptr;
    }
    gMachine = m;
    m->ks = mvf_session_create_for(m->core, m);
    const uint64_t hello[2] = {MVF_ABI_VERSION, 0};
    const uint64_t index = 0;
    if (!m->ks || kcall(MVF_SEL_HELLO, hello, 2, out, 2, nullptr, 0) ||
        kcall(MVF_SEL_DEVICE_OPEN, &index, 1, nullptr, 0, nullptr, 0) ||
        kcall(MVF_SEL_CLAIM, nullptr, 0, nullptr, 0, nullptr, 0)) {
        snprintf(err, errlen, "the kernel session could not claim %s", sim_spec);
        dk_machine_destroy(m);
        return nullptr;
    }
    m->pci = dk_pci_nub_create();
    if (!m->pci) {
        snprintf(err, errlen, "the PCI nub did not initialise");
        dk_machine_destroy(m);
        return nullptr;
    }
    return m;
}

void dk_machine_add_class(struct dk_machine *m, const char *properties_key,
                          const char *class_name)
{
    if (m->nclasses == DK_MAX_CLASSES)
        abort();
    snprintf(m->classes[m->nclasses].key, sizeof(m->classes[0].key), "%s", properties_key);
    snprintf(m->classes[m->nclasses].cls, sizeof(m->classes[0].cls), "%s", class_name);
    m->nclasses++;
}

uint64_t dk_machine_destroy(struct dk_machine *m)
{
    if (!m)
        return 0;
    for (unsigned i = 0; i < DK_MAX_SERVICES; i++)
        if (m->services[i])
            dk_service_stop(reinterpret_cast<struct dk_service *>(m->services[i]));
    dk_run_until_idle(m);
    dk_connections_free();
    OSSafeReleaseNULL(m->pci);
    dk_interrupts_reset();
    if (m->ks)
        mvf_session_destroy(m->ks);
    mvf_core_destroy(m->core);
    gMachine = nullptr;
    free(m);
    return dk_live_objects();
}

int32_t dk_match_start(struct dk_machine *m, const char *class_name, struct dk_service **out)
{
    IOService *s = nullptr;

    for (unsigned i = 0; i < DK_MAX_SERVICES; i++)
        if (!m->services[i]) {
            kern_return_t kr = dk_service_instantiate(class_name, m->pci, &s);
            if (kr != kIOReturnSuccess)
                return kr;
            m->services[i] = s;
            *out = reinterpret_cast<struct dk_service *>(s);
            return kIOReturnSuccess;
        }
    return kIOReturnBadArgument;   /* more drivers than the double keeps */
}

/* Terminate: the service's user clients go first, then Stop, then the
 * kernel's reference. */
int32_t dk_service_stop(struct dk_service *svc)
{
    IOService *s = reinterpret_cast<IOService *>(svc);
    struct dk_machine *m = gMachine;

    dk_connections_close_for(s);
    kern_return_t kr = s->Stop(s->GetProvider());
    dk_run_until_idle(m);
    for (unsigned i = 0; m && i < DK_MAX_SERVICES; i++)
        if (m->services[i] == s)
            m->services[i] = nullptr;
    s->release();
    return kr;
}

uint64_t dk_run_until_idle(struct dk_machine *m)
{
    uint64_t ran = 0;

    for (;;) {
        uint64_t n = dk_queues_run_until_idle();
        ran += n;
        if (m && mvf_core_has_work(m->core)) {
            mvf_core_run_work(m->core);
            ran++;
            continue;
        }
        if (!n)
            return ran;
    }
}

bool dk_machine_has_work(struct dk_machine *m)
{
    return mvf_core_has_work(m->core);
}

int dk_device_raise(struct dk_machine *m, uint32_t vector)
{
    if (!m->irq_enabled || vector >= m->irq_count)
        return -EINVAL;
    mvf_device_irq_raise(m->dev, m->irq_type, vector);
    return 0;
}

uint16_t dk_device_command(struct dk_machine *m)
{
    uint32_t v = 0;

    m->prov.ops->config_read(m->prov.priv, DK_PCI_COMMAND, 2, &v);
    return (uint16_t)v;
}

void dk_counters(struct dk_machine *m, struct dk_counters *out)
{
    struct dk_dma_counters d;
    struct mvf_stats st;

    dk_dma_counters(&d);
    mvf_device_stats(m->dev, &st);
    *out = {};
    out->prepare_calls = d.prepare_calls;
    out->prepare_ok = d.prepare_ok;
    out->complete_calls = d.complete_calls;
    out->live_dma_mappings = st.live_mappings;
    out->configure_interrupts_calls = m->configure_calls;
    out->interrupts_delivered = m->delivered;
    out->client_descriptors = dk_client_descriptors_alive();
    out->dma_faults = st.dma_faults;
    out->rule_violations = m->violations;
    out->live_objects = dk_live_objects();
    dk_connection_counters(&out->completions_sent, &out->completions_dropped);
}

/* SPDX-License-Identifier: MIT */
/*
 * One test per kernel rule the double imitates (issue #9), each naming
 * where the rule comes from (xnu / IOPCIFamily file and function, or the
 * DriverKit .iig; /work/shared/research/macos-plan.md section 5.3 has the
 * table).  They drive the double through dkdouble.h and the DriverKit
 * classes, with a driver and a user client written as a dext writes them
 * (DkKernelDriver.iig, DkTestUserClient.iig, through tools/mini_iig.py).
 *
 * Devices: sim:dmatest (BAR0 registers and BAR4 MSI-X trapped only, BAR2
 * a mappable 64-bit window, so BAR1/3/5 are missing; MSI-X 4 vectors, no
 * INTx, no FLR), and a small function built here ("fixture": an INTx
 * pin, MSI with 5 vectors, an I/O BAR, FLR) for what no sim device has.
 */
#include <DriverKit/IOBufferMemoryDescriptor.h>
#include <DriverKit/IODMACommand.h>
#include <DriverKit/IODispatchQueue.h>
#include <DriverKit/IOInterruptDispatchSource.h>
#include <DriverKit/IOMemoryMap.h>
#include <DriverKit/IOUserClient.h>
#include <DriverKit/OSAction.h>
#include <PCIDriverKit/IOPCIDevice.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern "C" {
#include "core.h"
#include "cfgspace.h"
#include "dmatest.h"
}
#include "DkKernelDriver.h"
#include "DkTestUserClient.h"
#include "dk_check.h"
#include "dk_internal.h"
#include "dk_test_uc.h"

#define G 16384u   /* the machine's DART granule */
#define CMD_MEM_MASTER (kIOPCICommandMemorySpace | kIOPCICommandBusMaster)

/* ---- machines ---------------------------------------------------------- */

/* The fixture function: config space from sim/cfgspace, BARs that trap
 * to nothing (reads 0), reset back to power-on. */
struct fixture {
    struct mvf_cfgspace cs;
};

static int fx_config_read(void *p, uint32_t off, uint32_t width, uint32_t *val)
{
    return mvf_cfgspace_read(&static_cast<fixture *>(p)->cs, off, width, val);
}
static int fx_config_write(void *p, uint32_t off, uint32_t width, uint32_t val)
{
    return mvf_cfgspace_write(&static_cast<fixture *>(p)->cs, off, width, val);
}
static int fx_bar_read(void *, uint32_t, uint64_t, uint32_t, uint64_t *val)
{
    *val = 0;
    return 0;
}
static int fx_bar_write(void *, uint32_t, uint64_t, uint32_t, uint64_t) { return 0; }
static int fx_reset(void *p)
{
    mvf_cfgspace_reset(&static_cast<fixture *>(p)->cs);
    return 0;
}
static void fx_destroy(void *p) { free(p); }

static const struct mvf_provider_ops fixture_ops = {
    .attach = nullptr,
    .config_read = fx_config_read,
    .config_write = fx_config_write,
    .bar_read = fx_bar_read,
    .bar_write = fx_bar_write,
    .bar_object = nullptr,
    .reset = fx_reset,
    .revoke_mappings = nullptr,
    .irq_configure = nullptr,
    .run_work = nullptr,
    .dma_map = nullptr,
    .dma_unmap = nullptr,
    .destroy = fx_destroy,
};

#define FX_MSI_VECTORS 5   /* not a power of two */

static struct dk_machine *fixture_machine(void)
{
    static const struct mvf_cfgspace_ids ids = {
        .vendor_id = 0x1b36, .device_id = 0x00e7, .subsys_vendor_id = 0x1b36,
        .subsys_id = 0x00e7, .class_code = 0xff0000, .revision = 1, .irq_pin = 1,
        .multi_function = false,
    };
    struct fixture *f = static_cast<fixture *>(calloc(1, sizeof(*f)));
    struct mvf_provider p = {};
    uint16_t msi = 0, pcie = 0;
    char err[256] = "";

    if (!f)
        return nullptr;
    mvf_cfgspace_init(&f->cs, &ids);
    CHECK(mvf_cfgspace_add_bar(&f->cs, 0, 4096, 0) == 0);
    CHECK(mvf_cfgspace_add_bar(&f->cs, 1, 32, MVF_BAR_IO) == 0);
    CHECK(mvf_cfgspace_add_cap(&f->cs, MVF_CS_CAP_MSI, 10, &msi) == 0);
    mvf_cfgspace_set_init(&f->cs, msi + 2, 2, 3u << 1);   /* 8 messages capable */
    CHECK(mvf_cfgspace_add_pcie(&f->cs, nullptr, &pcie) == 0);
    mvf_cfgspace_set_init(&f->cs, pcie + MVF_CS_PCIE_DEVCAP, 4,
                          mvf_cfgspace_peek(&f->cs, pcie + MVF_CS_PCIE_DEVCAP, 4) | 1u << 28);
    mvf_cfgspace_reset(&f->cs);
    p.ops = &fixture_ops;
    p.priv = f;
    p.name = "test:fixture";
    for (unsigned b = 0; b < MVF_NUM_BARS; b++) {
        p.bars[b].size = mvf_cfgspace_bar_size(&f->cs, b);
        p.bars[b].flags = mvf_cfgspace_bar_flags(&f->cs, b);
    }
    p.irq_count[MVF_IRQ_INTX] = 1;
    p.irq_count[MVF_IRQ_MSI] = FX_MSI_VECTORS;
    struct dk_machine *m = dk_machine_create_provider(&p, nullptr, err, sizeof(err));
    if (!m)
        fprintf(stderr, "test_dk_kernel: no fixture machine: %s\n", err);
    return m;
}

static struct dk_machine *dmatest_machine(void)
{
    char err[256] = "";
    struct dk_machine *m = dk_machine_create("sim:dmatest", nullptr, err, sizeof(err));
    if (!m)
        fprintf(stderr, "test_dk_kernel: no machine: %s\n", err);
    return m;
}

static struct dk_counters counters(struct dk_machine *m)
{
    struct dk_counters k;
    dk_counters(m, &k);
    return k;
}

static uint64_t violations(struct dk_machine *m) { return counters(m).rule_violations; }

/* A client of the nub that is just an IOService. */
static IOService *plain_service(void)
{
    IOService *s = new IOService;
    CHECK(s->init());
    return s;
}

static void finish(struct dk_machine *m)
{
    CHECK(dk_machine_destroy(m) == 0);
}

/* ---- IOPCIDevice ------------------------------------------------------- */

/* IOPCIDevice.iig Open (IOPCIFamily IOPCIDevice::Open, exclusive open of
 * the nub): a second client gets kIOReturnExclusiveAccess until the first
 * closes. */
static void test_pci_open_exclusive(void)
{
    struct dk_machine *m = dmatest_machine();
    if (!m)
        return;
    IOPCIDevice *nub = dk_machine_pci();
    IOService *a = plain_service(), *b = plain_service();
    CHECK(nub->Open(a, 0) == kIOReturnSuccess);
    CHECK(nub->Open(b, 0) == kIOReturnExclusiveAccess);
    nub->Close(a, 0);
    CHECK(nub->Open(b, 0) == kIOReturnSuccess);
    CHECK(nub->Open(a, 0) == kIOReturnExclusiveAccess);
    nub->Close(b, 0);
    CHECK(violations(m) == 0);
    a->release();
    b->release();
    finish(m);
}

/* IOPCIDevice.iig: the accessors are for the client that opened the nub
 * (IOPCIFamily checks the opener); before Open a configuration or BAR
 * read is a rule broken and reads all-ones, a write does nothing. */
static void test_pci_access_before_open(void)
{
    struct dk_machine *m = dmatest_machine();
    if (!m)
        return;
    IOPCIDevice *nub = dk_machine_pci();
    IOService *a = plain_service();
    uint32_t v32 = 0;
    uint16_t v16 = 0;

    nub->ConfigurationRead32(0, &v32);
    CHECK(v32 == 0xffffffffu);
    CHECK(violations(m) == 1);
    nub->ConfigurationRead16(0, &v16);
    CHECK(v16 == 0xffff);
    nub->MemoryRead32(0, MVF_DMATEST_REG_ID, &v32);
    CHECK(v32 == 0xffffffffu);
    CHECK(violations(m) == 3);
    nub->ConfigurationWrite16(kIOPCIConfigurationOffsetCommand, CMD_MEM_MASTER);
    CHECK(violations(m) == 4);
    CHECK((dk_device_command(m) & CMD_MEM_MASTER) == 0);   /* not written */

    CHECK(nub->Open(a, 0) == kIOReturnSuccess);
    nub->ConfigurationRead32(0, &v32);
    CHECK(v32 == (MVF_DMATEST_DEVICE_ID << 16 | MVF_DMATEST_VENDOR_ID));
    nub->MemoryRead32(0, MVF_DMATEST_REG_ID, &v32);
    CHECK(v32 == MVF_DMATEST_ID_VALUE);
    CHECK(violations(m) == 4);
    nub->Close(a, 0);
    a->release();
    finish(m);
}

/* IOPCIFamily IOPCIDevice close (apple-apis.md: Close or a dext crash
 * clears MSE/BME): memory space and bus mastering are off afterwards. */
static void test_pci_close_clears_command(void)
{
    struct dk_machine *m = dmatest_machine();
    if (!m)
        return;
    IOPCIDevice *nub = dk_machine_pci();
    IOService *a = plain_service();
    uint16_t cmd = 0;

    CHECK(nub->Open(a, 0) == kIOReturnSuccess);
    nub->ConfigurationWrite16(kIOPCIConfigurationOffsetCommand, CMD_MEM_MASTER);
    nub->ConfigurationRead16(kIOPCIConfigurationOffsetCommand, &cmd);
    CHECK((cmd & CMD_MEM_MASTER) == CMD_MEM_MASTER);
    nub->Close(a, 0);
    CHECK((dk_device_command(m) & CMD_MEM_MASTER) == 0);
    CHECK(violations(m) == 0);
    a->release();
    finish(m);
}

/* IOPCIDevice.iig GetBARInfo / MemoryRead*: the nub's memory ranges are
 * the implemented BARs in order, so the memory index skips missing BARs
 * (sim:dmatest: BAR0 -> 0, BAR2 -> 1, BAR4 -> 2) and MemoryRead with an
 * index reaches that BAR. */
static void test_pci_bar_info_memory_index(void)
{
    struct dk_machine *m = dmatest_machine();
    if (!m)
        return;
    IOPCIDevice *nub = dk_machine_pci();
    IOService *a = plain_service();
    uint8_t idx = 0xff, type = 0xff;
    uint64_t size = 0;
    uint32_t v = 0;

    CHECK(nub->GetBARInfo(0, &idx, &size, &type) == kIOReturnSuccess);
    CHECK(idx == 0 && size == MVF_DMATEST_REG_SIZE && type == kPCIBARTypeM32);
    CHECK(nub->GetBARInfo(1, &idx, &size, &type) == kIOReturnNotFound);
    CHECK(nub->GetBARInfo(2, &idx, &size, &type) == kIOReturnSuccess);
    CHECK(idx == 1 && size == MVF_DMATEST_WIN_DEFAULT && type == kPCIBARTypeM64PF);
    CHECK(nub->GetBARInfo(3, &idx, &size, &type) == kIOReturnNotFound);   /* upper half */
    CHECK(nub->GetBARInfo(4, &idx, &size, &type) == kIOReturnSuccess);
    CHECK(idx == 2 && size == MVF_DMATEST_MSIX_SIZE);
    CHECK(nub->GetBARInfo(5, &idx, &size, &type) == kIOReturnNotFound);
    CHECK(nub->GetBARInfo(7, &idx, &size, &type) == kIOReturnBadArgument);

    CHECK(nub->Open(a, 0) == kIOReturnSuccess);
    nub->MemoryWrite32(1, 0x10, 0x12345678);        /* BAR2: the window */
    nub->MemoryRead32(1, 0x10, &v);
    CHECK(v == 0x12345678);
    nub->MemoryRead32(0, MVF_DMATEST_REG_ID, &v);   /* BAR0: registers */
    CHECK(v == MVF_DMATEST_ID_VALUE);
    nub->MemoryRead32(0, 0x10, &v);                 /* BAR0 0x10: WIN_SIZE_LO */
    CHECK(v == (uint32_t)MVF_DMATEST_WIN_DEFAULT);
    nub->MemoryWrite32(2, 8, 0xabcd);               /* BAR4: MSI-X table */
    nub->MemoryRead32(2, 8, &v);
    CHECK(v == 0xabcd);
    nub->MemoryRead32(1, 8, &v);
    CHECK(v == 0);
    CHECK(violations(m) == 0);
    nub->MemoryRead32(3, 0, &v);                    /* no fourth range */
    CHECK(v == 0xffffffffu && violations(m) == 1);
    nub->Close(a, 0);
    a->release();
    finish(m);
}

/* IOPCIDevicePrivate _CopyDeviceMemoryWithIndex (apple-apis.md): only for
 * forClient == the opener (else NotOpen); a BAR with no memory to map
 * (I/O, or one the device only traps) has no descriptor. */
static void test_pci_copy_device_memory(void)
{
    struct dk_machine *m = dmatest_machine();
    if (!m)
        return;
    IOPCIDevice *nub = dk_machine_pci();
    IOService *a = plain_service(), *b = plain_service();
    IOMemoryDescriptor *md = reinterpret_cast<IOMemoryDescriptor *>(1);
    IOMemoryMap *map = nullptr;

    CHECK(nub->_CopyDeviceMemoryWithIndex(1, &md, a) == kIOReturnNotOpen && !md);
    CHECK(nub->Open(a, 0) == kIOReturnSuccess);
    CHECK(nub->_CopyDeviceMemoryWithIndex(1, &md, b) == kIOReturnNotOpen && !md);
    CHECK(nub->_CopyDeviceMemoryWithIndex(0, &md, a) == kIOReturnUnsupported && !md);
    CHECK(nub->_CopyDeviceMemoryWithIndex(2, &md, a) == kIOReturnUnsupported && !md);
    nub->MemoryWrite32(1, 0x40, 0xfeedf00d);
    CHECK(nub->_CopyDeviceMemoryWithIndex(1, &md, a) == kIOReturnSuccess && md);
    if (md && md->CreateMapping(0, 0, 0, 0, 0, &map) == kIOReturnSuccess) {
        CHECK(map->GetLength() == MVF_DMATEST_WIN_DEFAULT);
        CHECK(*reinterpret_cast<volatile uint32_t *>(map->GetAddress() + 0x40) == 0xfeedf00d);
        map->release();
    }
    OSSafeReleaseNULL(md);
    nub->Close(a, 0);
    a->release();
    b->release();
    finish(m);

    /* The fixture's BAR1 is I/O (and its BAR0 is trap-only). */
    m = fixture_machine();
    if (!m)
        return;
    nub = dk_machine_pci();
    a = plain_service();
    uint8_t idx = 0xff, type = 0;
    CHECK(nub->GetBARInfo(1, &idx, nullptr, &type) == kIOReturnSuccess);
    CHECK(idx == 1 && type == kPCIBARTypeIO);
    CHECK(nub->Open(a, 0) == kIOReturnSuccess);
    md = nullptr;
    CHECK(nub->_CopyDeviceMemoryWithIndex(1, &md, a) == kIOReturnUnsupported && !md);
    CHECK(nub->_CopyDeviceMemoryWithIndex(0, &md, a) == kIOReturnUnsupported && !md);
    nub->Close(a, 0);
    a->release();
    finish(m);
}

/* IOPCIFamily ConfigureInterrupts (apple-apis.md): once per nub; a later
 * call succeeds only when what is set up satisfies it, else it fails (the
 * double counts it); bad types, options and counts are refused; it needs
 * the nub open. */
static void test_pci_configure_interrupts_one_shot(void)
{
    struct dk_machine *m = dmatest_machine();
    if (!m)
        return;
    IOPCIDevice *nub = dk_machine_pci();
    IOService *a = plain_service();
    uint64_t type = 0;

    CHECK(nub->ConfigureInterrupts(kIOInterruptTypePCIMessagedX, 1, 4, 0) == kIOReturnNotOpen);
    CHECK(violations(m) == 1);
    CHECK(nub->Open(a, 0) == kIOReturnSuccess);
    CHECK(nub->ConfigureInterrupts(0x30000, 1, 4, 0) == kIOReturnBadArgument);
    CHECK(nub->ConfigureInterrupts(kIOInterruptTypePCIMessagedX, 1, 4, 1) == kIOReturnBadArgument);
    CHECK(nub->ConfigureInterrupts(kIOInterruptTypePCIMessagedX, 0, 4, 0) == kIOReturnBadArgument);
    CHECK(nub->ConfigureInterrupts(kIOInterruptTypePCIMessagedX, 3, 2, 0) == kIOReturnBadArgument);
    CHECK(nub->ConfigureInterrupts(kIOInterruptTypePCIMessagedX, 5, 8, 0) == kIOReturnNoResources);
    CHECK(dk_pci_messaged_vectors(nub, nullptr) == 0);   /* nothing set up yet */
    CHECK(nub->ConfigureInterrupts(kIOInterruptTypePCIMessagedX, 1, 4, 0) == kIOReturnSuccess);
    CHECK(dk_pci_messaged_vectors(nub, &type) == 4 && type == kIOInterruptTypePCIMessagedX);
    CHECK(violations(m) == 1);
    /* Satisfied by what is set up: fine, nothing counted. */
    CHECK(nub->ConfigureInterrupts(kIOInterruptTypePCIMessagedX, 2, 2, 0) == kIOReturnSuccess);
    CHECK(violations(m) == 1);
    /* Different: refused and counted. */
    CHECK(nub->ConfigureInterrupts(kIOInterruptTypePCIMessagedX, 8, 8, 0) != kIOReturnSuccess);
    CHECK(violations(m) == 2);
    CHECK(nub->ConfigureInterrupts(kIOInterruptTypePCIMessaged, 1, 1, 0) != kIOReturnSuccess);
    CHECK(violations(m) == 3);
    CHECK(dk_pci_messaged_vectors(nub, nullptr) == 4);
    CHECK(counters(m).configure_interrupts_calls == 10);
    nub->Close(a, 0);
    a->release();
    finish(m);
}

/* IOPCIFamily ConfigureInterrupts (apple-apis.md): MSI gets a power of
 * two of vectors (the capability's Multiple Message Enable), rounded
 * down from what the function has (fixture: 5 -> 4). */
static void test_pci_msi_power_of_two(void)
{
    struct dk_machine *m = fixture_machine();
    if (!m)
        return;
    IOPCIDevice *nub = dk_machine_pci();
    IOService *a = plain_service();
    uint64_t type = 0;

    CHECK(nub->Open(a, 0) == kIOReturnSuccess);
    CHECK(nub->ConfigureInterrupts(kIOInterruptTypePCIMessaged, 5, 5, 0) == kIOReturnNoResources);
    CHECK(nub->ConfigureInterrupts(kIOInterruptTypePCIMessagedX, 1, 1, 0) == kIOReturnNoResources);
    CHECK(nub->ConfigureInterrupts(kIOInterruptTypePCIMessaged, 1, 5, 0) == kIOReturnSuccess);
    CHECK(dk_pci_messaged_vectors(nub, &type) == 4 && type == kIOInterruptTypePCIMessaged);
    CHECK(dk_device_raise(m, 3) == 0);
    CHECK(dk_device_raise(m, 4) == -EINVAL);
    CHECK(violations(m) == 0);
    nub->Close(a, 0);
    a->release();
    finish(m);
}

/* IOPCIDevice.iig Reset: a function level reset needs the FLR capability
 * (PCIe Device Capabilities bit 28), else Unsupported; a hot reset does
 * not; it needs the nub open. */
static void test_pci_reset_flr(void)
{
    struct dk_machine *m = dmatest_machine();
    if (!m)
        return;
    IOPCIDevice *nub = dk_machine_pci();
    IOService *a = plain_service();
    CHECK(nub->Reset(kIOPCIDeviceResetTypeFunctionReset) == kIOReturnNotOpen);
    CHECK(nub->Open(a, 0) == kIOReturnSuccess);
    CHECK(nub->Reset(kIOPCIDeviceResetTypeFunctionReset) == kIOReturnUnsupported);
    CHECK(nub->Reset(kIOPCIDeviceResetTypeHotReset) == kIOReturnSuccess);
    CHECK(nub->Reset(kIOPCIDeviceResetTypeHotReset, 1) == kIOReturnBadArgument);
    nub->Close(a, 0);
    a->release();
    finish(m);

    m = fixture_machine();   /* advertises FLR */
    if (!m)
        return;
    nub = dk_machine_pci();
    a = plain_service();
    CHECK(nub->Open(a, 0) == kIOReturnSuccess);
    CHECK(nub->Reset(kIOPCIDeviceResetTypeFunctionReset) == kIOReturnSuccess);
    nub->Close(a, 0);
    a->release();
    finish(m);
}

/* ---- interrupt sources ------------------------------------------------- */

struct irq_rig {
    struct dk_machine *m;
    struct dk_service *svc;
    DkKernelDriver *drv;
    IOPCIDevice *nub;
};

static bool irq_rig_start(struct irq_rig *r, bool fixture)
{
    *r = {};
    r->m = fixture ? fixture_machine() : dmatest_machine();
    if (!r->m)
        return false;
    CHECK(dk_match_start(r->m, "DkKernelDriver", &r->svc) == kIOReturnSuccess);
    r->drv = r->svc ? OSDynamicCast(DkKernelDriver, reinterpret_cast<IOService *>(r->svc))
                    : nullptr;
    r->nub = dk_machine_pci();
    if (!r->drv) {
        finish(r->m);
        return false;
    }
    CHECK(r->nub->Open(r->drv, 0) == kIOReturnSuccess);
    return true;
}

static void irq_rig_stop(struct irq_rig *r)
{
    r->nub->Close(r->drv, 0);
    finish(r->m);
}

/* A source on `index` with the driver's handler (reference = vector). */
static IOInterruptDispatchSource *source(struct irq_rig *r, uint32_t index, uint32_t vector)
{
    IOInterruptDispatchSource *s = nullptr;
    OSAction *action = nullptr;
    CHECK(IOInterruptDispatchSource::Create(r->nub, index, r->drv->Queue(), &s) ==
          kIOReturnSuccess);
    CHECK(r->drv->CreateActionInterruptOccurred(sizeof(uint32_t), &action) == kIOReturnSuccess);
    if (!s || !action) {
        OSSafeReleaseNULL(s);
        OSSafeReleaseNULL(action);
        return nullptr;
    }
    *static_cast<uint32_t *>(action->GetReference()) = vector;
    CHECK(s->SetHandler(action) == kIOReturnSuccess);
    action->release();
    CHECK(s->SetEnable(true) == kIOReturnSuccess);
    return s;
}

static void cancel(IOInterruptDispatchSource *s)
{
    if (s)
        s->Cancel(^{ s->release(); });
}

/* IOPCIFamily (apple-apis.md): the nub's interrupt specifiers are the
 * legacy one at index 0 when the function has an interrupt pin, then the
 * messaged vectors ConfigureInterrupts set up; past them NotFound. */
static void test_irq_interrupt_type_order(void)
{
    struct irq_rig r;
    uint64_t type = 0;
    if (!irq_rig_start(&r, true))
        return;
    CHECK(IOInterruptDispatchSource::GetInterruptType(r.nub, 0, &type) == kIOReturnSuccess);
    CHECK(type == kIOInterruptDispatchSourceTypeLevel);
    CHECK(IOInterruptDispatchSource::GetInterruptType(r.nub, 1, &type) == kIOReturnNotFound);
    CHECK(r.nub->ConfigureInterrupts(kIOInterruptTypePCIMessaged, 1, 4, 0) == kIOReturnSuccess);
    CHECK(IOInterruptDispatchSource::GetInterruptType(r.nub, 0, &type) == kIOReturnSuccess);
    CHECK(type == kIOInterruptDispatchSourceTypeLevel);
    for (uint32_t i = 1; i <= 4; i++) {
        type = 0;
        CHECK(IOInterruptDispatchSource::GetInterruptType(r.nub, i, &type) == kIOReturnSuccess);
        CHECK(type & kIOInterruptTypePCIMessaged);
        CHECK(!(type & kIOInterruptDispatchSourceTypeLevel));
    }
    CHECK(IOInterruptDispatchSource::GetInterruptType(r.nub, 5, &type) == kIOReturnNotFound);
    /* Index 2 is MSI vector 1. */
    IOInterruptDispatchSource *s = source(&r, 2, 1);
    CHECK(dk_device_raise(r.m, 0) == 0);
    dk_run_until_idle(r.m);
    CHECK(r.drv->Stats()->handlerCalls == 0);
    CHECK(dk_device_raise(r.m, 1) == 0);
    dk_run_until_idle(r.m);
    CHECK(r.drv->Stats()->handlerCalls == 1 && r.drv->Stats()->lastVector == 1);
    cancel(s);
    irq_rig_stop(&r);
}

/* apple-apis.md (IOInterruptDispatchSource.iig): the handler runs on the
 * source's queue, when that queue runs; interrupts that arrive before it
 * runs are one call whose count says how many. */
static void test_irq_handler_on_queue_coalesced(void)
{
    struct irq_rig r;
    if (!irq_rig_start(&r, false))
        return;
    CHECK(r.nub->ConfigureInterrupts(kIOInterruptTypePCIMessagedX, 1, 4, 0) == kIOReturnSuccess);
    IOInterruptDispatchSource *s = source(&r, 0, 0);
    for (int i = 0; i < 3; i++)
        CHECK(dk_device_raise(r.m, 0) == 0);
    CHECK(r.drv->Stats()->handlerCalls == 0);   /* the queue has not run */
    dk_run_until_idle(r.m);
    CHECK(r.drv->Stats()->handlerCalls == 1);
    CHECK(r.drv->Stats()->lastCount == 3);
    CHECK(r.drv->Stats()->offQueue == 0);
    CHECK(dk_device_raise(r.m, 0) == 0);
    dk_run_until_idle(r.m);
    CHECK(r.drv->Stats()->handlerCalls == 2 && r.drv->Stats()->lastCount == 1);
    CHECK(counters(r.m).interrupts_delivered == 2);
    cancel(s);
    irq_rig_stop(&r);
}

/* IODispatchSource.iig SetEnable: a disabled source keeps what arrives
 * and delivers it when enabled again. */
static void test_irq_disabled_keeps(void)
{
    struct irq_rig r;
    if (!irq_rig_start(&r, false))
        return;
    CHECK(r.nub->ConfigureInterrupts(kIOInterruptTypePCIMessagedX, 1, 4, 0) == kIOReturnSuccess);
    IOInterruptDispatchSource *s = source(&r, 1, 1);
    if (s) {
        CHECK(s->SetEnable(false) == kIOReturnSuccess);
        CHECK(dk_device_raise(r.m, 1) == 0);
        CHECK(dk_device_raise(r.m, 1) == 0);
        dk_run_until_idle(r.m);
        CHECK(r.drv->Stats()->handlerCalls == 0);
        CHECK(s->SetEnable(true) == kIOReturnSuccess);
        dk_run_until_idle(r.m);
        CHECK(r.drv->Stats()->handlerCalls == 1 && r.drv->Stats()->lastCount == 2);
    }
    cancel(s);
    irq_rig_stop(&r);
}

/* IODispatchSource.iig Cancel (apple-apis.md: asynchronous, the handler
 * on the source's queue): nothing is delivered after it, including what
 * was pending, and the cancel handler runs on the queue when it runs. */
static void test_irq_cancel(void)
{
    struct irq_rig r;
    __block int cancelled = 0, cancelledOnQueue = 0;
    if (!irq_rig_start(&r, false))
        return;
    CHECK(r.nub->ConfigureInterrupts(kIOInterruptTypePCIMessagedX, 1, 4, 0) == kIOReturnSuccess);
    IOInterruptDispatchSource *s = source(&r, 2, 2);
    IODispatchQueue *q = r.drv->Queue();
    if (s) {
        CHECK(dk_device_raise(r.m, 2) == 0);   /* pending when cancelled */
        CHECK(s->Cancel(^{
            cancelled++;
            cancelledOnQueue += q->OnQueue();
            s->release();
        }) == kIOReturnSuccess);
        CHECK(cancelled == 0);
        CHECK(dk_device_raise(r.m, 2) == 0);
        dk_run_until_idle(r.m);
        CHECK(cancelled == 1 && cancelledOnQueue == 1);
        CHECK(r.drv->Stats()->handlerCalls == 0);
    }
    irq_rig_stop(&r);
}

/* ---- queues ------------------------------------------------------------ */

/* IODispatchQueue.iig DispatchSync: onto the queue the caller runs on it
 * deadlocks on a Mac (the double counts it, and runs the block). */
static void test_queue_sync_onto_self(void)
{
    struct dk_machine *m = dmatest_machine();
    IODispatchQueue *q = nullptr;
    __block int ran = 0;
    if (!m)
        return;
    CHECK(IODispatchQueue::Create("self", 0, 0, &q) == kIOReturnSuccess);
    if (q) {
        q->DispatchAsync(^{
            q->DispatchSync(^{ ran++; });
        });
        dk_run_until_idle(m);
        CHECK(ran == 1);
        CHECK(violations(m) == 1);
        q->release();
    }
    finish(m);
}

/* IODispatchQueue.iig: a serial FIFO queue, so DispatchSync runs after
 * what is already queued there. */
static void test_queue_sync_after_queued(void)
{
    struct dk_machine *m = dmatest_machine();
    IODispatchQueue *q = nullptr;
    static int order[3];
    __block int n = 0;
    if (!m)
        return;
    CHECK(IODispatchQueue::Create("fifo", 0, 0, &q) == kIOReturnSuccess);
    if (q) {
        q->DispatchAsync(^{ order[n++] = 1; });
        q->DispatchAsync(^{ order[n++] = 2; });
        q->DispatchSync(^{
            CHECK(q->OnQueue());
            order[n++] = 3;
        });
        CHECK(n == 3 && order[0] == 1 && order[1] == 2 && order[2] == 3);
        CHECK(!q->OnQueue());
        CHECK(violations(m) == 0);
        q->release();
    }
    finish(m);
}

/* ---- IODMACommand ------------------------------------------------------ */

/* sim:dmatest's engine, through BAR0 by the opener. */
static uint32_t dt_dma(IOPCIDevice *nub, uint64_t iova, uint32_t len, uint32_t dir)
{
    uint32_t st = 0;
    nub->MemoryWrite32(0, MVF_DMATEST_REG_DMA_IOVA_LO, (uint32_t)iova);
    nub->MemoryWrite32(0, MVF_DMATEST_REG_DMA_IOVA_HI, (uint32_t)(iova >> 32));
    nub->MemoryWrite32(0, MVF_DMATEST_REG_DMA_OFFSET, 0);
    nub->MemoryWrite32(0, MVF_DMATEST_REG_DMA_LEN, len);
    nub->MemoryWrite32(0, MVF_DMATEST_REG_DMA_DIR, dir);
    nub->MemoryWrite32(0, MVF_DMATEST_REG_DMA_VECTOR, 0);
    nub->MemoryWrite32(0, MVF_DMATEST_REG_DOORBELL, MVF_DMATEST_DOORBELL_GO);
    nub->MemoryRead32(0, MVF_DMATEST_REG_STATUS, &st);
    return st;
}

/* xnu IODMACommand.cpp CompleteDMA_Impl: unmaps from the system mapper,
 * so the device's DMA to the old IOVA faults. */
static void test_dma_complete_faults_old_iova(void)
{
    struct dk_machine *m = dmatest_machine();
    if (!m)
        return;
    IOPCIDevice *nub = dk_machine_pci();
    IOService *a = plain_service();
    IODMACommandSpecification spec = {};
    IODMACommand *cmd = nullptr;
    IOBufferMemoryDescriptor *buf = nullptr;
    IOAddressSegment seg[32], range = {};
    uint32_t nseg = 32;
    uint64_t flags = 0;

    spec.maxAddressBits = 64;
    CHECK(nub->Open(a, 0) == kIOReturnSuccess);
    nub->ConfigurationWrite16(kIOPCIConfigurationOffsetCommand, CMD_MEM_MASTER);
    for (uint32_t off = 0; off < 64; off += 4)
        nub->MemoryWrite32(1, off, 0xa5000000u | off);
    CHECK(IODMACommand::Create(a, 0, &spec, &cmd) == kIOReturnSuccess);
    CHECK(IOBufferMemoryDescriptor::Create(kIOMemoryDirectionInOut, G, 0, &buf) == kIOReturnSuccess);
    if (cmd && buf) {
        CHECK(buf->GetAddressRange(&range) == kIOReturnSuccess);
        CHECK(cmd->PrepareForDMA(0, buf, 0, G, &flags, &nseg, seg) == kIOReturnSuccess);
        uint64_t iova = seg[0].address;
        CHECK(dt_dma(nub, iova, 64, MVF_DMATEST_DIR_FROM_DEVICE) == MVF_DMATEST_STATUS_DONE);
        const uint32_t *w = reinterpret_cast<const uint32_t *>(range.address);
        CHECK(w[0] == 0xa5000000u && w[15] == 0xa500003cu);
        CHECK(counters(m).dma_faults == 0);
        CHECK(cmd->CompleteDMA(0) == kIOReturnSuccess);
        CHECK(dt_dma(nub, iova, 64, MVF_DMATEST_DIR_FROM_DEVICE) == MVF_DMATEST_STATUS_FAULT);
        CHECK(dt_dma(nub, iova, 64, MVF_DMATEST_DIR_TO_DEVICE) == MVF_DMATEST_STATUS_FAULT);
        CHECK(counters(m).dma_faults == 2);
    }
    OSSafeReleaseNULL(cmd);
    OSSafeReleaseNULL(buf);
    nub->Close(a, 0);
    a->release();
    CHECK(violations(m) == 0);
    finish(m);
}

/* IOMemoryDescriptor.iig CreateSubMemoryDescriptor + xnu
 * IODMACommand.cpp PrepareForDMA_Impl (the mapping's directions are the
 * descriptor's): a kIOMemoryDirectionOut part maps read-only for the
 * device, so a device write faults and a device read works. */
static void test_dma_one_way_sub_descriptor(void)
{
    struct dk_machine *m = dmatest_machine();
    if (!m)
        return;
    IOPCIDevice *nub = dk_machine_pci();
    IOService *a = plain_service();
    IODMACommandSpecification spec = {};
    IODMACommand *cmd = nullptr;
    IOBufferMemoryDescriptor *buf = nullptr;
    IOMemoryDescriptor *sub = nullptr;
    IOAddressSegment seg[32];
    uint32_t nseg = 32;
    uint64_t flags = 0;

    spec.maxAddressBits = 64;
    CHECK(nub->Open(a, 0) == kIOReturnSuccess);
    nub->ConfigurationWrite16(kIOPCIConfigurationOffsetCommand, CMD_MEM_MASTER);
    CHECK(IODMACommand::Create(a, 0, &spec, &cmd) == kIOReturnSuccess);
    CHECK(IOBufferMemoryDescriptor::Create(kIOMemoryDirectionInOut, 2 * G, 0, &buf) ==
          kIOReturnSuccess);
    if (cmd && buf) {
        CHECK(IOMemoryDescriptor::CreateSubMemoryDescriptor(kIOMemoryDirectionOut, G, G, buf,
                                                            &sub) == kIOReturnSuccess);
        CHECK(cmd->PrepareForDMA(0, sub, 0, 0, &flags, &nseg, seg) == kIOReturnSuccess);
        CHECK(flags == kIOMemoryDirectionOut && nseg == 1 && seg[0].length == G);
        CHECK(dt_dma(nub, seg[0].address, 64, MVF_DMATEST_DIR_FROM_DEVICE) ==
              MVF_DMATEST_STATUS_FAULT);
        CHECK(counters(m).dma_faults == 1);
        CHECK(dt_dma(nub, seg[0].address, 64, MVF_DMATEST_DIR_TO_DEVICE) ==
              MVF_DMATEST_STATUS_DONE);
        CHECK(cmd->CompleteDMA(0) == kIOReturnSuccess);
    }
    OSSafeReleaseNULL(cmd);
    OSSafeReleaseNULL(sub);
    OSSafeReleaseNULL(buf);
    CHECK(counters(m).live_dma_mappings == 0);
    nub->Close(a, 0);
    a->release();
    finish(m);
}

/* xnu IODMACommand.cpp Create_Impl / setSpecification: more than 255
 * address bits, or fewer than a page's shift (14), is BadArgument; 0
 * means 64. */
static void test_dma_create_address_bits(void)
{
    struct dk_machine *m = dmatest_machine();
    if (!m)
        return;
    IOService *a = plain_service();
    IODMACommandSpecification spec = {};
    IODMACommand *cmd = nullptr;
    const uint64_t bad[] = {300, 256, 8, 13}, good[] = {0, 14, 39, 64, 255};
    for (uint64_t bits : bad) {
        spec.maxAddressBits = bits;
        cmd = nullptr;
        CHECK(IODMACommand::Create(a, 0, &spec, &cmd) == kIOReturnBadArgument && !cmd);
    }
    for (uint64_t bits : good) {
        spec.maxAddressBits = bits;
        cmd = nullptr;
        CHECK(IODMACommand::Create(a, 0, &spec, &cmd) == kIOReturnSuccess && cmd);
        OSSafeReleaseNULL(cmd);
    }
    a->release();
    finish(m);
}

/* ---- IOUserClient ------------------------------------------------------ */

struct uc_rig {
    struct dk_machine *m;
    struct dk_service *svc;
    struct dk_conn *c;
    uint64_t live_before_open;
};

static bool uc_start(struct uc_rig *r)
{
    *r = {};
    r->m = dmatest_machine();
    if (!r->m)
        return false;
    dk_machine_add_class(r->m, "DkTestUserClientProperties", "DkTestUserClient");
    CHECK(dk_match_start(r->m, "DkKernelDriver", &r->svc) == kIOReturnSuccess);
    r->live_before_open = counters(r->m).live_objects;
    if (r->svc)
        CHECK(dk_client_open(r->svc, 0, &r->c) == kIOReturnSuccess);
    if (!r->c) {
        finish(r->m);
        return false;
    }
    return true;
}

static void uc_stop(struct uc_rig *r)
{
    dk_client_close(r->c);
    finish(r->m);
}

static int32_t call(struct dk_conn *c, uint32_t sel, const uint64_t *in, uint32_t n_in,
                    uint64_t *out, uint32_t *n_out, const void *sin = nullptr,
                    size_t sin_len = 0, void *sout = nullptr, size_t *sout_len = nullptr,
                    bool async = false)
{
    struct dk_call k = {};
    k.selector = sel;
    k.in = in;
    k.n_in = n_in;
    k.sin = sin;
    k.sin_len = sin_len;
    k.out = out;
    k.n_out = n_out;
    k.sout = sout;
    k.sout_len = sout_len;
    k.async = async;
    return dk_connect_call(c, &k);
}

/* IOUserClient.iig kIOUserClientScalarArrayCountMax / xnu
 * is_io_connect_method: more than 16 scalars either way is BadArgument
 * before the dext runs. */
static void test_uc_17_scalars(void)
{
    struct uc_rig r;
    uint64_t in[17] = {}, out[17];
    uint32_t n_out = 16;
    if (!uc_start(&r))
        return;
    uint64_t calls = gDkUcSeen.calls;
    CHECK(call(r.c, kDkUcEcho, in, 17, out, &n_out) == kIOReturnBadArgument);
    CHECK(n_out == 0 && gDkUcSeen.calls == calls);
    n_out = 17;
    CHECK(call(r.c, kDkUcEcho, in, 1, out, &n_out) == kIOReturnBadArgument);
    CHECK(n_out == 0 && gDkUcSeen.calls == calls);
    n_out = 16;
    CHECK(call(r.c, kDkUcEcho, in, 16, out, &n_out) == kIOReturnSuccess);
    CHECK(n_out == 16 && gDkUcSeen.calls == calls + 1);
    uc_stop(&r);
}

/* xnu is_io_connect_method: the dext's scalar output array is zeroed and
 * its count is the caller's capacity on entry; the caller gets the count
 * the dext set. */
static void test_uc_scalar_outputs_zeroed(void)
{
    struct uc_rig r;
    const uint64_t in[2] = {11, 22};
    uint64_t out[8] = {7, 7, 7, 7, 7, 7, 7, 7};
    uint32_t n_out = 5;
    if (!uc_start(&r))
        return;
    CHECK(call(r.c, kDkUcEcho, in, 2, out, &n_out) == kIOReturnSuccess);
    CHECK(gDkUcSeen.scalarOutputCount == 5 && gDkUcSeen.scalarOutputZero);
    CHECK(gDkUcSeen.scalarInputCount == 2 && !gDkUcSeen.completion);
    CHECK(n_out == 2 && out[0] == 11 && out[1] == 22 && out[2] == 7);
    uc_stop(&r);
}

/* IOKitLib.c IOConnectCallMethod (<= sizeof(io_struct_inband_t) in band)
 * and is_io_connect_method: up to 4096 bytes of structure input arrive
 * as OSData, more as a structureInputDescriptor the device may only read
 * (kIODirectionOut). */
static void test_uc_struct_input_inband_or_descriptor(void)
{
    struct uc_rig r;
    static uint8_t big[8192];
    uint32_t n_out = 0;
    if (!uc_start(&r))
        return;
    CHECK(call(r.c, kDkUcEcho, nullptr, 0, nullptr, &n_out, big, 4096) == kIOReturnSuccess);
    CHECK(gDkUcSeen.structInLen == 4096 && gDkUcSeen.structInDescLen == 0);
    CHECK(call(r.c, kDkUcEcho, nullptr, 0, nullptr, &n_out, big, 4097) == kIOReturnSuccess);
    CHECK(gDkUcSeen.structInLen == 0 && gDkUcSeen.structInDescLen == 4097);
    CHECK(gDkUcSeen.structInDescReadOnly);
    CHECK(call(r.c, kDkUcEcho, nullptr, 0, nullptr, &n_out, big, 8192) == kIOReturnSuccess);
    CHECK(gDkUcSeen.structInDescLen == 8192);
    uc_stop(&r);
}

/* xnu IOUserUserClient::externalMethod: an OSData reply longer than the
 * caller's structure room is BadArgument, and then nothing is returned. */
static void test_uc_reply_too_long(void)
{
    struct uc_rig r;
    uint64_t in = 100, out[2] = {5, 5};
    uint32_t n_out = 2;
    uint8_t sout[128];
    size_t sout_len = 50;
    if (!uc_start(&r))
        return;
    memset(sout, 0xee, sizeof(sout));
    CHECK(call(r.c, kDkUcProduce, &in, 1, out, &n_out, nullptr, 0, sout, &sout_len) ==
          kIOReturnBadArgument);
    CHECK(n_out == 0 && sout_len == 0 && sout[0] == 0xee && sout[49] == 0xee);
    n_out = 2;
    sout_len = 100;
    CHECK(call(r.c, kDkUcProduce, &in, 1, out, &n_out, nullptr, 0, sout, &sout_len) ==
          kIOReturnSuccess);
    CHECK(n_out == 0 && sout_len == 100 && sout[0] == 0 && sout[99] == 99 && sout[100] == 0xee);
    uc_stop(&r);
}

/* MIG reply rule (macos-plan 5.3 [INFER], is_io_connect_method): on any
 * error no outputs come back: no scalars, no structure, both counts 0. */
static void test_uc_error_no_outputs(void)
{
    struct uc_rig r;
    uint64_t out[4] = {1, 2, 3, 4};
    uint32_t n_out = 4;
    uint8_t sout[64];
    size_t sout_len = sizeof(sout);
    if (!uc_start(&r))
        return;
    memset(sout, 0xee, sizeof(sout));
    CHECK(call(r.c, kDkUcFail, nullptr, 0, out, &n_out, nullptr, 0, sout, &sout_len) ==
          kIOReturnIOError);
    CHECK(n_out == 0 && sout_len == 0);
    CHECK(out[0] == 1 && out[3] == 4 && sout[0] == 0xee);
    uc_stop(&r);
}

/* xnu IOUserClient.cpp (the completion is retained for the call only):
 * an async call's OSAction goes away after the call unless the dext
 * retained it. */
static void test_uc_async_completion_lifetime(void)
{
    struct uc_rig r;
    uint32_t n_out = 0;
    if (!uc_start(&r))
        return;
    uint64_t live = counters(r.m).live_objects;
    CHECK(call(r.c, kDkUcEcho, nullptr, 0, nullptr, &n_out, nullptr, 0, nullptr, nullptr,
               true) == kIOReturnSuccess);
    CHECK(gDkUcSeen.completion);
    CHECK(counters(r.m).live_objects == live);
    CHECK(call(r.c, kDkUcKeep, nullptr, 0, nullptr, &n_out, nullptr, 0, nullptr, nullptr,
               true) == kIOReturnSuccess);
    CHECK(counters(r.m).live_objects == live + 1);   /* the kept OSAction */
    uc_stop(&r);
}

/* xnu IOUserClient.cpp _sendAsyncResult64 + osfmk port.h
 * MACH_PORT_QLIMIT_DEFAULT (5): each AsyncCompletion is one message; a
 * full port drops the message (counted); taking one frees a slot. */
static void test_uc_port_depth(void)
{
    struct uc_rig r;
    uint32_t n_out = 0;
    uint64_t n = 6, args[16];
    int32_t status = -1;
    uint32_t n_args = 0;
    if (!uc_start(&r))
        return;
    CHECK(call(r.c, kDkUcKeep, nullptr, 0, nullptr, &n_out, nullptr, 0, nullptr, nullptr,
               true) == kIOReturnSuccess);
    CHECK(call(r.c, kDkUcSend, &n, 1, nullptr, &n_out) == kIOReturnSuccess);
    CHECK(counters(r.m).completions_sent == 5 && counters(r.m).completions_dropped == 1);
    CHECK(dk_port_dropped(r.c) == 1);
    CHECK(dk_port_take(r.c, &status, args, &n_args));
    CHECK(status == kIOReturnSuccess && n_args == 1 && args[0] == 0);
    n = 2;   /* one fits, one is dropped */
    CHECK(call(r.c, kDkUcSend, &n, 1, nullptr, &n_out) == kIOReturnSuccess);
    CHECK(counters(r.m).completions_sent == 6 && counters(r.m).completions_dropped == 2);
    int taken = 0;
    uint64_t last = 0;
    while (dk_port_take(r.c, &status, args, &n_args)) {
        taken++;
        last = args[0];
    }
    CHECK(taken == 5 && last == 0);   /* the oldest first; the last is the new call's 0 */
    uc_stop(&r);
}

/* xnu IOUserServer.cpp CreateMemoryDescriptorFromClient: 1..32 segments
 * (0 or 33 is BadArgument); without kIOMemoryDisableCopyOnWrite the
 * device would see copy-on-write pages, so preparing such a descriptor
 * for DMA is a rule broken. */
static void test_uc_client_memory_segments_and_cow(void)
{
    struct uc_rig r;
    uint32_t n_out = 0;
    uint8_t *mem = static_cast<uint8_t *>(aligned_alloc(G, G));
    if (!mem || !uc_start(&r)) {
        free(mem);
        return;
    }
    uint64_t va = reinterpret_cast<uint64_t>(mem);
    uint64_t in[4] = {kIOMemoryDirectionInOut | kIOMemoryDisableCopyOnWrite, 0, G, va};
    CHECK(call(r.c, kDkUcClientMem, in, 4, nullptr, &n_out) == kIOReturnBadArgument);
    in[1] = 33;
    CHECK(call(r.c, kDkUcClientMem, in, 4, nullptr, &n_out) == kIOReturnBadArgument);
    CHECK(counters(r.m).client_descriptors == 0);
    in[1] = 1;
    CHECK(call(r.c, kDkUcClientMem, in, 4, nullptr, &n_out) == kIOReturnSuccess);
    CHECK(counters(r.m).client_descriptors == 1);
    CHECK(call(r.c, kDkUcPrepareMem, nullptr, 0, nullptr, &n_out) == kIOReturnSuccess);
    CHECK(violations(r.m) == 0 && counters(r.m).live_dma_mappings == 1);
    in[0] = kIOMemoryDirectionInOut;   /* copy-on-write */
    CHECK(call(r.c, kDkUcClientMem, in, 4, nullptr, &n_out) == kIOReturnSuccess);
    CHECK(counters(r.m).client_descriptors == 1 && counters(r.m).live_dma_mappings == 0);
    CHECK(violations(r.m) == 0);
    CHECK(call(r.c, kDkUcPrepareMem, nullptr, 0, nullptr, &n_out) == kIOReturnSuccess);
    CHECK(violations(r.m) == 1);
    dk_client_close(r.c);
    CHECK(counters(r.m).client_descriptors == 0 && counters(r.m).live_dma_mappings == 0);
    finish(r.m);
    free(mem);
}

/* xnu IOUserServer.cpp (clientDied -> terminate, fTask cleared):
 * once the client task is gone, CreateMemoryDescriptorFromClient is
 * NotReady, and so are CreateMapping and PrepareForDMA of a descriptor
 * made from that task earlier. */
static void test_uc_client_memory_after_death(void)
{
    struct uc_rig r;
    uint32_t n_out = 0;
    uint8_t *mem = static_cast<uint8_t *>(aligned_alloc(G, G));
    if (!mem || !uc_start(&r)) {
        free(mem);
        return;
    }
    uint64_t va = reinterpret_cast<uint64_t>(mem);
    uint64_t in[4] = {kIOMemoryDirectionInOut | kIOMemoryDisableCopyOnWrite, 1, G, va};
    CHECK(call(r.c, kDkUcClientMem, in, 4, nullptr, &n_out) == kIOReturnSuccess);
    CHECK(call(r.c, kDkUcMapMem, nullptr, 0, nullptr, &n_out) == kIOReturnSuccess);
    DkTestUserClient *uc = gDkUcLast;
    IOMemoryDescriptor *md = uc ? uc->ClientMemory() : nullptr;
    CHECK(uc && md);
    if (!uc || !md) {
        uc_stop(&r);
        free(mem);
        return;
    }
    uc->retain();
    md->retain();
    dk_client_die(r.c);

    IOAddressSegment seg[32] = {{va, G}};
    IOMemoryDescriptor *md2 = nullptr;
    CHECK(uc->CreateMemoryDescriptorFromClient(in[0], 1, seg, &md2) == kIOReturnNotReady);
    CHECK(md2 == nullptr);
    IOMemoryMap *map = nullptr;
    CHECK(md->CreateMapping(0, 0, 0, 0, 0, &map) == kIOReturnNotReady && !map);
    IODMACommandSpecification spec = {};
    IODMACommand *cmd = nullptr;
    uint32_t nseg = 32;
    uint64_t flags = 0;
    spec.maxAddressBits = 64;
    CHECK(IODMACommand::Create(uc, 0, &spec, &cmd) == kIOReturnSuccess);
    if (cmd)
        CHECK(cmd->PrepareForDMA(0, md, 0, 0, &flags, &nseg, seg) == kIOReturnNotReady);
    CHECK(counters(r.m).live_dma_mappings == 0);
    OSSafeReleaseNULL(cmd);
    md->release();
    uc->release();
    CHECK(counters(r.m).client_descriptors == 0);
    CHECK(violations(r.m) == 0);
    finish(r.m);
    free(mem);
}

/* xnu IOUserClient.cpp clientClose (the task's mappings of the
 * connection go with it): after IOServiceClose the memory the client
 * mapped with IOConnectMapMemory64 is no longer held for it. */
static void test_uc_close_ends_mappings(void)
{
    struct uc_rig r;
    void *addr = nullptr;
    uint64_t len = 0;
    if (!uc_start(&r))
        return;
    CHECK(dk_connect_map_memory(r.c, 0, 0, &addr, &len) == kIOReturnSuccess);
    CHECK(addr && len == G);
    CHECK(counters(r.m).live_objects > r.live_before_open);
    dk_client_close(r.c);
    /* The user client, its buffer and the mapping's reference: all gone. */
    CHECK(counters(r.m).live_objects == r.live_before_open);
    CHECK(dk_connect_unmap_memory(r.c, 0, addr) == kIOReturnBadArgument);
    finish(r.m);
}

int main(void)
{
    test_pci_open_exclusive();
    test_pci_access_before_open();
    test_pci_close_clears_command();
    test_pci_bar_info_memory_index();
    test_pci_copy_device_memory();
    test_pci_configure_interrupts_one_shot();
    test_pci_msi_power_of_two();
    test_pci_reset_flr();
    test_irq_interrupt_type_order();
    test_irq_handler_on_queue_coalesced();
    test_irq_disabled_keeps();
    test_irq_cancel();
    test_queue_sync_onto_self();
    test_queue_sync_after_queued();
    test_dma_complete_faults_old_iova();
    test_dma_one_way_sub_descriptor();
    test_dma_create_address_bits();
    test_uc_17_scalars();
    test_uc_scalar_outputs_zeroed();
    test_uc_struct_input_inband_or_descriptor();
    test_uc_reply_too_long();
    test_uc_error_no_outputs();
    test_uc_async_completion_lifetime();
    test_uc_port_depth();
    test_uc_client_memory_segments_and_cow();
    test_uc_client_memory_after_death();
    test_uc_close_ends_mappings();
    CHECK(dk_live_objects() == 0);
    return dk_check_exit("test_dk_kernel");
}

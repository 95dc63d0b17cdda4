/* SPDX-License-Identifier: MIT */
/* IODMACommand and buffer descriptors on the double: the kernel's rules,
 * each check naming where the rule comes from. */
#include <DriverKit/IOBufferMemoryDescriptor.h>
#include <DriverKit/IODMACommand.h>
#include <DriverKit/IOService.h>
#include <stdio.h>

#include "dk_check.h"
#include "dk_internal.h"


int main(void)
{
    IOService *dev = new IOService;
    IODMACommandSpecification spec = {};
    IODMACommand *cmd = nullptr;
    IOBufferMemoryDescriptor *a = nullptr, *b = nullptr;
    IOAddressSegment seg[32];
    uint32_t nseg = 32;
    uint64_t flags = 0;
    struct dk_dma_counters c;
    char err[256] = "";
    /* The system mapper is the machine's (its kernel core's DART). */
    struct dk_machine *m = dk_machine_create("sim:dmatest", nullptr, err, sizeof(err));

    if (!m) {
        fprintf(stderr, "test_dk_dma: no machine: %s\n", err);
        return 1;
    }
    CHECK(dev->init());
    spec.maxAddressBits = 64;
    /* xnu IODMACommand.cpp Create_Impl: no device, no specification or
     * options are refused. */
    CHECK(IODMACommand::Create(nullptr, 0, &spec, &cmd) == kIOReturnBadArgument);
    CHECK(IODMACommand::Create(dev, 0, nullptr, &cmd) == kIOReturnBadArgument);
    CHECK(IODMACommand::Create(dev, 1, &spec, &cmd) == kIOReturnBadArgument);
    CHECK(IODMACommand::Create(dev, 0, &spec, &cmd) == kIOReturnSuccess);
    CHECK(IOBufferMemoryDescriptor::Create(kIOMemoryDirectionInOut, 20000, 0, &a) == kIOReturnSuccess);
    CHECK(IOBufferMemoryDescriptor::Create(kIOMemoryDirectionOut, 4096, 0, &b) == kIOReturnSuccess);
    if (!cmd || !a || !b)
        return 1;

    /* xnu IODMACommand.cpp PrepareForDMA_Impl: options != 0 and NULL
     * memory are BadArgument. */
    CHECK(cmd->PrepareForDMA(1, a, 0, 4096, &flags, &nseg, seg) == kIOReturnBadArgument);
    nseg = 32;
    CHECK(cmd->PrepareForDMA(0, nullptr, 0, 4096, &flags, &nseg, seg) == kIOReturnBadArgument);
    /* Out of the descriptor's bounds. */
    nseg = 32;
    CHECK(cmd->PrepareForDMA(0, a, 16384, 8192, &flags, &nseg, seg) == kIOReturnBadArgument);
    /* CompleteDMA_Impl: not prepared is NotReady. */
    CHECK(cmd->CompleteDMA(0) == kIOReturnNotReady);

    /* One segment, an IOVA in the DART's aperture (never the buffer's
     * address), keeping the in-granule offset. */
    nseg = 32;
    CHECK(cmd->PrepareForDMA(0, a, 100, 4096, &flags, &nseg, seg) == kIOReturnSuccess);
    CHECK(nseg == 1 && seg[0].length == 4096);
    CHECK(seg[0].address >= 0xF000000000ull && (seg[0].address & 16383) == 100);
    CHECK(flags == kIOMemoryDirectionInOut);
    uint64_t first = seg[0].address;
    dk_dma_counters(&c);
    CHECK(c.live_mappings == 1);

    /* One preparation per command: another descriptor is Busy. */
    nseg = 32;
    CHECK(cmd->PrepareForDMA(0, b, 0, 4096, &flags, &nseg, seg) == kIOReturnBusy);
    /* The same descriptor silently drops the old mapping. */
    nseg = 32;
    CHECK(cmd->PrepareForDMA(0, a, 0, 20000, &flags, &nseg, seg) == kIOReturnSuccess);
    dk_dma_counters(&c);
    CHECK(c.live_mappings == 1);
    (void)first;

    CHECK(cmd->CompleteDMA(0) == kIOReturnSuccess);
    dk_dma_counters(&c);
    CHECK(c.live_mappings == 0);
    CHECK(cmd->CompleteDMA(0) == kIOReturnNotReady);

    /* A command released while prepared gives its mapping back. */
    nseg = 32;
    CHECK(cmd->PrepareForDMA(0, b, 0, 0, &flags, &nseg, seg) == kIOReturnSuccess);
    CHECK(seg[0].length == 4096 && flags == kIOMemoryDirectionOut);
    cmd->release();
    dk_dma_counters(&c);
    CHECK(c.live_mappings == 0);
    CHECK(c.prepare_calls == 7 && c.prepare_ok == 3 && c.complete_calls == 3);

    a->release();
    b->release();
    dev->release();
    CHECK(dk_machine_destroy(m) == 0);
    return dk_check_exit("test_dk_dma");
}

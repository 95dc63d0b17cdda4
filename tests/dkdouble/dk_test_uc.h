/* SPDX-License-Identifier: MIT */
/* What test_dk_kernel.cpp and its driver and user client share. */
#ifndef MACVFIO_DKDOUBLE_TEST_UC_H
#define MACVFIO_DKDOUBLE_TEST_UC_H
#include <stdint.h>

class DkTestUserClient;

/* DkTestUserClient's selectors. */
enum {
    kDkUcEcho = 0,        /* scalar outputs = the inputs */
    kDkUcProduce = 1,     /* structure output: in[0] bytes, byte i = i & 0xff */
    kDkUcFail = 2,        /* sets every output, then fails (kIOReturnIOError) */
    kDkUcKeep = 3,        /* retains the call's completion */
    kDkUcSend = 4,        /* in[0] AsyncCompletions on the kept one */
    kDkUcClientMem = 5,   /* CreateMemoryDescriptorFromClient(options in[0],
                           * in[1] segments of in[2] bytes at in[3]), kept */
    kDkUcMapMem = 6,      /* CreateMapping of the kept descriptor */
    kDkUcPrepareMem = 7,  /* PrepareForDMA of the kept descriptor */
};
/* CopyClientMemoryForType type 0: the user client's 16 KiB buffer. */

/* What the user client saw on entry to ExternalMethod. */
struct DkUcSeen {
    uint64_t calls;
    uint64_t selector;
    uint32_t scalarInputCount;
    uint32_t scalarOutputCount;   /* the capacity the kernel passed */
    bool scalarOutputZero;        /* every slot of it was 0 */
    uint64_t structInLen;         /* OSData, or 0 */
    uint64_t structInDescLen;     /* structureInputDescriptor, or 0 */
    bool structInDescReadOnly;    /* ... has kIOMemoryDirectionOut only */
    uint64_t structOutMax;
    bool completion;
};
extern struct DkUcSeen gDkUcSeen;
/* The last user client started (not retained). */
extern DkTestUserClient *gDkUcLast;

/* DkKernelDriver's interrupt handler record. */
struct DkKernelDriverStats {
    uint64_t handlerCalls;        /* InterruptOccurred runs */
    uint64_t lastCount, totalCount;
    uint64_t offQueue;            /* runs not on the driver's queue */
    uint32_t lastVector;          /* the action's reference */
};
#endif

/* SPDX-License-Identifier: MIT */
/*
 * sim:nvme, a simulated NVMe 1.4 controller with one namespace, built so
 * that the stock Linux nvme driver (Debian's 6.1) binds to it through
 * QEMU's vfio-apple-pci and uses it as a disk.  All of its DMA goes
 * through the core's DART model: queue entries, PRP lists and admin data
 * are copied (mvf_device_dma_read/write); a Read's or Write's data moves
 * in one copy between the store and the host memory the DART resolves
 * (mvf_device_dma_spans), as an emulated controller's preadv does.
 *
 * Spec: "sim:nvme[,file=PATH][,size=SIZE][,queues=N][,serial=S]"
 *   file    backing file; it must exist and be a regular file.  The
 *           namespace is its size rounded down to 4 KiB (at least
 *           4 KiB); the file is never resized.  It is locked (flock,
 *           exclusive) while the daemon runs.  Paths cannot contain ','.
 *   size    RAM-backed namespace of SIZE bytes (no file): a multiple of
 *           4 KiB from 4K to 1T, with an optional K, M, G or T suffix.
 *           Default 64M.  Pages are allocated as they are written.
 *           size= and file= exclude each other.
 *   queues  I/O queue pairs, 1..64 (default 4); MSI-X has queues+1
 *           vectors (vector 0 for the admin queue, as Linux uses it).
 *           Linux asks for one pair per CPU (Set Features Number of
 *           Queues) and gives each its own vector: a guest of up to 4
 *           vCPUs gets a pair per vCPU by default; more need queues=.
 *   serial  serial number, 1..20 printable characters; the namespace's
 *           NGUID and UUID derive from it.  Default "MVFNVME" plus a
 *           4-digit instance number, so two devices in one daemon
 *           never look like one subsystem to a guest.
 *
 * Identity: vendor 0x1b36, device 0x00e2 (a local, unallocated ID next
 * to sim:dmatest's 0x00e0: not QEMU's own 0x0010, so nothing mistakes it
 * for QEMU's emulated controller), class 0x010802 (mass storage, NVM,
 * NVMe), revision 1, subsystem 0x1b36:0x00e2, no INTx.  Capabilities:
 * PM, MSI-X, PCIe endpoint v2.
 *
 * BAR0: 16 KiB, 64-bit memory, trapped only (doorbell writes have side
 * effects).  Layout, like QEMU's emulated controller:
 *   0x0000  controller registers (CAP, VS, INTMS, INTMC, CC, CSTS, AQA,
 *           ASQ, ACQ; everything else in the page reads 0)
 *   0x1000  doorbells, stride 4 (CAP.DSTRD 0): SQ y tail at
 *           0x1000 + 8y, CQ y head at 0x1000 + 8y + 4
 *   0x2000  MSI-X table (queues+1 entries: at most 65 * 16 bytes)
 *   0x3000  MSI-X PBA
 * Linux maps BAR0 only as far as the doorbells it uses (4 KiB + 8 bytes
 * per queue pair), so the table never overlaps them.  Registers decode
 * 4-byte accesses at 4-byte alignment and 8-byte ones at 8-byte
 * alignment (low dword first); reads of 1 or 2 bytes return part of a
 * register; narrower writes and unaligned accesses are ignored.  MSI-X
 * table writes are stored and read back (the VMM emulates the table);
 * the PBA reads 0.
 *
 * Controller: NVMe 1.4, CAP.MQES 1023 (1024-entry queues), CQR 1
 * (physically contiguous queues only), DSTRD 0, TO 10 s, CSS NVM, only
 * 4 KiB memory pages (MPSMIN = MPSMAX = 0), MDTS 4 MiB.  One namespace
 * (NSID 1) with 512-byte LBAs: Linux then accepts 512-byte direct I/O,
 * and a 4 KiB-aligned backing size is still a whole number of LBAs.
 * Volatile write cache reported present: Flush fsyncs a file.
 *
 * Processing is deferred: an SQ tail doorbell only records the tail;
 * the commands run afterwards in bounded slices (MVF_NVME_SLICE_*) that
 * the daemon interleaves with every client's calls, one command per
 * submission queue in turn.  A full completion queue stops its SQs,
 * which resume on that CQ's next head doorbell; disabling or resetting
 * the controller, or deleting the SQ, drops entries not yet fetched.
 * A client sees a command done by its completion entry (or interrupt),
 * never by the doorbell write returning.  Invalid doorbell writes are
 * ignored and logged.  A fault fetching a submission entry or posting a
 * completion sets CSTS.CFS (the host must reset the controller); a fault
 * on a data buffer or PRP list completes the command with Data Transfer
 * Error.  Interrupts are MSI-X only, one message per slice per CQ that
 * got completions, when that CQ has interrupts enabled.
 *
 * Doorbell Buffer Config (admin 7Ch, Identify OACS bit 8; nvme_dbbuf.c):
 * the host's shadow doorbell and EventIdx pages, reached by DMA like any
 * other memory, for every queue, the admin queue included.  Every slice
 * first takes the tails and heads the host changed in the shadow page
 * since the controller last read it (a stale shadow never undoes an MMIO
 * doorbell: Linux rings the admin queue by MMIO only); a slice that
 * leaves no work writes the EventIdx page so the host's next submission
 * rings the MMIO doorbell (and a CQ head update only when an SQ waits on
 * that full CQ), then looks at the shadows once more, and if that look
 * moved a queue another slice runs and arms again.  Nothing runs while
 * idle.  No doorbell moves an SQ tail back over submitted commands.  A
 * fault on either page sets CSTS.CFS (the host, which keeps to the
 * EventIdx, would otherwise wait forever) and forgets the pages; a
 * controller reset or a shutdown notification forgets them too.
 *
 * Reset (function reset, or the client going away): config space,
 * registers, queues, features and the MSI-X table back to power-on.
 * The namespace's data persists, as on a real drive.
 */
#ifndef MACVFIO_SIM_NVME_H
#define MACVFIO_SIM_NVME_H

#include <stddef.h>
#include <stdint.h>

#include "core.h"

#define MVF_NVME_VENDOR_ID      0x1b36
#define MVF_NVME_DEVICE_ID      0x00e2
#define MVF_NVME_CLASS          0x010802
#define MVF_NVME_REVISION       1

#define MVF_NVME_BAR            0
#define MVF_NVME_BAR_SIZE       0x4000
#define MVF_NVME_REGS_SIZE      0x1000
#define MVF_NVME_DB_BASE        0x1000
#define MVF_NVME_MSIX_TABLE     0x2000
#define MVF_NVME_MSIX_PBA       0x3000

#define MVF_NVME_QUEUES_DEFAULT 4
#define MVF_NVME_QUEUES_MAX     64
#define MVF_NVME_NVEC_MAX       (MVF_NVME_QUEUES_MAX + 1)
#define MVF_NVME_RAM_DEFAULT    (64ull << 20)
#define MVF_NVME_RAM_MAX        (1ull << 40)
#define MVF_NVME_SERIAL_MAX     20

#define MVF_NVME_LBA_SHIFT      9           /* 512-byte LBAs */
#define MVF_NVME_LBA_SIZE       (1u << MVF_NVME_LBA_SHIFT)
#define MVF_NVME_PAGE_SIZE      4096u       /* the only memory page size */
#define MVF_NVME_MQES           1023u       /* CAP.MQES: 1024 entries */
#define MVF_NVME_ADMIN_MAX      4096u       /* AQA allows 12 bits */
#define MVF_NVME_MDTS           10          /* 2^10 pages = 4 MiB */
#define MVF_NVME_MAX_XFER       (MVF_NVME_PAGE_SIZE << MVF_NVME_MDTS)
/* One slice of deferred work (the run_work op, between client calls):
 * at most MVF_NVME_SLICE_CMDS commands, one per submission queue in
 * turn, ending once their data reaches MVF_NVME_SLICE_BYTES.  A 4 MiB
 * read is a slice of its own (a few milliseconds), and so is a command
 * that syncs a file-backed namespace (Flush, FUA, write cache off);
 * small commands share one.  Every slice runs at least one command. */
#define MVF_NVME_SLICE_CMDS     8
#define MVF_NVME_SLICE_BYTES    (256u << 10)
#define MVF_NVME_CAP_TO         20          /* 10 s, in 500 ms units */
#define MVF_NVME_AERL           3           /* 4 outstanding AERs */
#define MVF_NVME_ACL            3
#define MVF_NVME_FW_REV         "1.0"
#define MVF_NVME_MODEL          "macvfio simulated NVMe"

/*
 * Creates the device.  `args` is the spec text after "sim:nvme": "" or
 * ",key=value[,key=value]".  Unknown or repeated keys, malformed values
 * and unusable files fail with -EINVAL (or the errno of the failed
 * system call) and a reason in err.  On success `out` is filled as
 * mvf_sim_dmatest_create() describes.  err may be NULL.
 */
int mvf_sim_nvme_create(const char *args, struct mvf_provider *out,
                        char *err, size_t errlen);

#endif /* MACVFIO_SIM_NVME_H */

/* SPDX-License-Identifier: MIT */
/*
 * sim:dmatest as software sees it: identity, BARs, BAR0 registers and
 * the DMA engine.  The device is simulated by macvfiod (sim/dmatest.c);
 * clients, the macvfio tool, benchmarks and guest test drivers program
 * it from this header alone.  Constants only, usable from C, C++ and a
 * Linux kernel module.
 *
 * Identity: vendor 0x1b36, device 0x00e0, class 0xff0000, revision 1,
 * subsystem 0x1b36:0x00e0, no INTx.  Capabilities: PM, MSI-X (4
 * vectors), PCIe endpoint v2; extended: Device Serial Number at 0x100.
 *
 * BARs:
 *   BAR0  4 KiB, 32-bit memory, registers below.  Trapped only.
 *   BAR2  the RAM window, 64-bit prefetchable memory, mappable (memfd).
 *         Trapped accesses (any width 1/2/4/8) hit the same memory.
 *   BAR4  4 KiB, 32-bit memory: MSI-X table at 0, PBA at 0x800.
 *         Trapped only.  Table writes are stored and read back; delivery
 *         ignores them (the VMM emulates the table and masks through the
 *         core).  The PBA reads 0.
 *
 * BAR0 registers are 32 bits wide and decode 4-byte accesses at 4-byte
 * aligned offsets, and 8-byte accesses at 8-byte aligned offsets (as the
 * low register then the high one).  Narrower accesses, unaligned ones,
 * and offsets with no register read 0 and ignore writes.
 *
 * DMA: program IOVA, OFFSET (into the window), LEN, DIR and VECTOR, then
 * write DOORBELL_GO to DOORBELL.  The engine runs synchronously within
 * that write, so BUSY is never seen set.  A doorbell first clears DONE,
 * FAULT and ERROR (STATUS describes the last doorbell; software may also
 * clear them by writing 1s), then:
 *   - bus mastering off: ERROR, ERROR_CODE = NO_BUS_MASTER, no interrupt
 *     (an MSI-X message is itself a bus-master write);
 *   - VECTOR >= 4: ERROR, ERROR_CODE = VECTOR, no interrupt (none to raise);
 *   - other bad parameters: ERROR with the code, and the vector is raised;
 *   - a DART fault: FAULT, FAULT_IOVA = first bad IOVA, FAULT_COUNT + 1,
 *     nothing copied, the vector is raised;
 *   - success: DONE, XFER_COUNT + 1, the vector is raised.
 * Interrupts go out only while the client has MSI-X enabled (the core's
 * irq_configure); masking and pending bits are the core's business.
 * Every finished doorbell adds 1 to EVENTS, which clears when read.
 *
 * WIN_SUM: a read returns the byte sum (mod 2^32) of the sum range,
 * [WIN_SUM_OFFSET, WIN_SUM_OFFSET + WIN_SUM_LEN), as the device sees its
 * window at that moment.  The range is clipped to MVF_DMATEST_MAX_SUM
 * (4 MiB) bytes and to the window's end; WIN_SUM_LEN 0 (its reset
 * value) stands for MVF_DMATEST_MAX_SUM, so with both registers at reset
 * a window of up to 4 MiB is summed whole.  An offset at or past the
 * end sums nothing (reads 0).  One read therefore costs at most 4 MiB of
 * work on the daemon's event loop, however big the window; a client
 * sums a larger window range by range and adds the results (mod 2^32).
 *
 * Reset (function reset, or the client going away): registers back to
 * the values below, config space to its power-on image, the MSI-X table
 * to masked zeros, and the window zeroed, so nothing one client left in
 * the device is visible to the next.
 */
#ifndef MACVFIO_DMATEST_H
#define MACVFIO_DMATEST_H

#define MVF_DMATEST_VENDOR_ID   0x1b36
#define MVF_DMATEST_DEVICE_ID   0x00e0
#define MVF_DMATEST_CLASS       0xff0000
#define MVF_DMATEST_REVISION    1
#define MVF_DMATEST_NVEC        4
#define MVF_DMATEST_DEFAULT_SERIAL 0x1b3600e000000001ull

#define MVF_DMATEST_REG_BAR     0
#define MVF_DMATEST_REG_SIZE    0x1000
#define MVF_DMATEST_WIN_BAR     2
#define MVF_DMATEST_WIN_DEFAULT (1ull << 20)
#define MVF_DMATEST_WIN_MIN     (4ull << 10)
#define MVF_DMATEST_WIN_MAX     (1ull << 30)
#define MVF_DMATEST_MSIX_BAR    4
#define MVF_DMATEST_MSIX_SIZE   0x1000
#define MVF_DMATEST_MSIX_TABLE  0x000
#define MVF_DMATEST_MSIX_PBA    0x800
/* Largest single transfer: one doorbell copies synchronously on the
 * daemon's event loop, so keep it short. */
#define MVF_DMATEST_MAX_XFER    (4u << 20)
/* Largest range one WIN_SUM read sums, for the same reason. */
#define MVF_DMATEST_MAX_SUM     (4u << 20)

/* BAR0 register offsets.  Access: RO read-only, RW read-write,
 * RC read-to-clear, WO write-only (reads 0), RW1C write-1-to-clear. */
#define MVF_DMATEST_REG_ID          0x000 /* RO  MVF_DMATEST_ID_VALUE */
#define MVF_DMATEST_REG_VERSION     0x004 /* RO  major << 16 | minor */
#define MVF_DMATEST_REG_SCRATCH     0x008 /* RW  0 at reset */
#define MVF_DMATEST_REG_EVENTS      0x00c /* RC  doorbells finished since last read */
#define MVF_DMATEST_REG_WIN_SIZE_LO 0x010 /* RO  window size, bytes */
#define MVF_DMATEST_REG_WIN_SIZE_HI 0x014 /* RO */
#define MVF_DMATEST_REG_MAX_LEN     0x018 /* RO  MVF_DMATEST_MAX_XFER */
#define MVF_DMATEST_REG_DMA_IOVA_LO 0x020 /* RW  bus address of the buffer */
#define MVF_DMATEST_REG_DMA_IOVA_HI 0x024 /* RW */
#define MVF_DMATEST_REG_DMA_OFFSET  0x028 /* RW  byte offset into the window */
#define MVF_DMATEST_REG_DMA_LEN     0x02c /* RW  bytes, 1..MAX_LEN */
#define MVF_DMATEST_REG_DMA_DIR     0x030 /* RW  MVF_DMATEST_DIR_* */
#define MVF_DMATEST_REG_DMA_VECTOR  0x034 /* RW  MSI-X vector on completion */
#define MVF_DMATEST_REG_DOORBELL    0x038 /* WO  write MVF_DMATEST_DOORBELL_GO */
#define MVF_DMATEST_REG_STATUS      0x040 /* RW1C (BUSY is RO) */
#define MVF_DMATEST_REG_ERROR_CODE  0x044 /* RO  MVF_DMATEST_ERR_* of last doorbell */
#define MVF_DMATEST_REG_FAULT_IOVA_LO 0x048 /* RO  first faulting IOVA */
#define MVF_DMATEST_REG_FAULT_IOVA_HI 0x04c /* RO */
#define MVF_DMATEST_REG_FAULT_COUNT 0x050 /* RO  faults since reset */
#define MVF_DMATEST_REG_XFER_COUNT  0x054 /* RO  completed transfers since reset */
#define MVF_DMATEST_REG_WIN_SUM     0x058 /* RO  byte sum (mod 2^32) of the sum range,
                                           * computed by the device on read */
#define MVF_DMATEST_REG_WIN_SUM_OFFSET 0x05c /* RW  first byte of the sum range */
#define MVF_DMATEST_REG_WIN_SUM_LEN 0x060 /* RW  bytes in the sum range; 0: MAX_SUM */

#define MVF_DMATEST_ID_VALUE        0x54414d44u  /* bytes "DMAT" (little endian) */
#define MVF_DMATEST_VERSION_VALUE   0x00010001u  /* 1.1: WIN_SUM range */

#define MVF_DMATEST_DIR_TO_DEVICE   0u /* memory at IOVA -> window (device reads) */
#define MVF_DMATEST_DIR_FROM_DEVICE 1u /* window -> memory at IOVA (device writes) */

#define MVF_DMATEST_DOORBELL_GO     1u /* bit 0 starts; other bits ignored */

#define MVF_DMATEST_STATUS_BUSY     (1u << 0)
#define MVF_DMATEST_STATUS_DONE     (1u << 1)
#define MVF_DMATEST_STATUS_FAULT    (1u << 2)
#define MVF_DMATEST_STATUS_ERROR    (1u << 3)

#define MVF_DMATEST_ERR_NONE          0u
#define MVF_DMATEST_ERR_NO_BUS_MASTER 1u /* command register bit 2 clear */
#define MVF_DMATEST_ERR_LEN           2u /* 0 or > MAX_LEN */
#define MVF_DMATEST_ERR_RANGE         3u /* OFFSET + LEN beyond the window */
#define MVF_DMATEST_ERR_DIR           4u /* unknown direction */
#define MVF_DMATEST_ERR_IOVA          5u /* IOVA + LEN wraps */
#define MVF_DMATEST_ERR_VECTOR        6u /* VECTOR >= MVF_DMATEST_NVEC (no interrupt) */
#define MVF_DMATEST_ERR_HOST          7u /* the core refused the transfer (not a fault) */

#endif /* MACVFIO_DMATEST_H */

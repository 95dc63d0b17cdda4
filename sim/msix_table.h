/* SPDX-License-Identifier: MIT */
/*
 * An MSI-X table as a simulated device stores it: nvec entries of 16
 * bytes.  The VMM emulates the table for the guest; the device keeps its
 * own copy with hardware-like writable bits so a client reads back what a
 * real function would.  Offsets are relative to the table's start; bytes
 * outside it (the PBA, gaps) read 0 and ignore writes.
 */
#ifndef MACVFIO_SIM_MSIX_TABLE_H
#define MACVFIO_SIM_MSIX_TABLE_H

#include <stdbool.h>
#include <stdint.h>

#define MVF_MSIX_ENTRY_SIZE 16u

/* Every entry zeroed and masked. */
void mvf_msix_table_reset(uint8_t *table, uint32_t nvec);
uint64_t mvf_msix_table_read(const uint8_t *table, uint32_t nvec, uint64_t off,
                             uint32_t width);
void mvf_msix_table_write(uint8_t *table, uint32_t nvec, uint64_t off,
                          uint32_t width, uint64_t val);

/* irq_configure of a device that only has MSI-X with `max` vectors:
 * records in *enabled whether it may raise them.  A device reset leaves
 * it alone: it is the host's interrupt setup, not device state (Linux
 * restores MSI-X around a VFIO reset the same way). */
int mvf_msix_only_configure(bool *enabled, uint32_t max, uint32_t type,
                            uint32_t nvec);

#endif

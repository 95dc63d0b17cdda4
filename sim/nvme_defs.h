/* SPDX-License-Identifier: MIT */
/*
 * NVM Express definitions used by sim:nvme and its tests: controller
 * registers, queue entry layouts, opcodes, status codes and the offsets
 * of the data structures the controller reports.  Section numbers refer
 * to NVM Express Base Specification revision 1.4c.
 *
 * Everything on the wire is little endian; nvme_get_le* / nvme_put_le*
 * read and write it independently of the host's byte order.
 */
#ifndef MACVFIO_SIM_NVME_DEFS_H
#define MACVFIO_SIM_NVME_DEFS_H

#include <stdint.h>

/* ---- controller registers (3.1) ---------------------------------------- */

#define NVME_REG_CAP     0x00   /* 64-bit, RO */
#define NVME_REG_VS      0x08
#define NVME_REG_INTMS   0x0c   /* RW1S */
#define NVME_REG_INTMC   0x10   /* RW1C */
#define NVME_REG_CC      0x14
#define NVME_REG_CSTS    0x1c
#define NVME_REG_NSSR    0x20
#define NVME_REG_AQA     0x24
#define NVME_REG_ASQ     0x28   /* 64-bit */
#define NVME_REG_ACQ     0x30   /* 64-bit */
#define NVME_REG_CMBLOC  0x38
#define NVME_REG_CMBSZ   0x3c
#define NVME_REG_DBS     0x1000 /* SQ 0 tail doorbell */

/* CAP fields (3.1.1). */
#define NVME_CAP_MQES(v)     ((uint64_t)(v) & 0xffff)   /* 0-based */
#define NVME_CAP_CQR         (1ull << 16)
#define NVME_CAP_AMS(v)      ((uint64_t)(v) << 17)
#define NVME_CAP_TO(v)       ((uint64_t)(v) << 24)      /* 500 ms units */
#define NVME_CAP_DSTRD(v)    ((uint64_t)(v) << 32)
#define NVME_CAP_NSSRS       (1ull << 36)
#define NVME_CAP_CSS_NVM     (1ull << 37)
#define NVME_CAP_MPSMIN(v)   ((uint64_t)(v) << 48)
#define NVME_CAP_MPSMAX(v)   ((uint64_t)(v) << 52)

#define NVME_VS(mjr, mnr, ter) ((uint32_t)(mjr) << 16 | (mnr) << 8 | (ter))

/* CC fields (3.1.5). */
#define NVME_CC_EN           (1u << 0)
#define NVME_CC_CSS(cc)      (((cc) >> 4) & 0x7)
#define NVME_CC_MPS(cc)      (((cc) >> 7) & 0xf)
#define NVME_CC_AMS(cc)      (((cc) >> 11) & 0x7)
#define NVME_CC_SHN(cc)      (((cc) >> 14) & 0x3)
#define NVME_CC_IOSQES(cc)   (((cc) >> 16) & 0xf)
#define NVME_CC_IOCQES(cc)   (((cc) >> 20) & 0xf)
#define NVME_CC_CSS_MASK     (0x7u << 4)
#define NVME_CC_MPS_MASK     (0xfu << 7)
#define NVME_CC_AMS_MASK     (0x7u << 11)
#define NVME_CC_SHN_MASK     (0x3u << 14)
#define NVME_CC_SHN_NORMAL   (1u << 14)
#define NVME_CC_SHN_ABRUPT   (2u << 14)
#define NVME_CC_IOSQES_6     (6u << 16)  /* 64-byte SQ entries */
#define NVME_CC_IOCQES_4     (4u << 20)  /* 16-byte CQ entries */
#define NVME_CC_WRITABLE     0x00fffff1u /* EN, CSS..IOCQES */

/* CSTS fields (3.1.6). */
#define NVME_CSTS_RDY        (1u << 0)
#define NVME_CSTS_CFS        (1u << 1)
#define NVME_CSTS_SHST_MASK  (3u << 2)
#define NVME_CSTS_SHST_DONE  (2u << 2)

/* AQA (3.1.8). */
#define NVME_AQA_ASQS(v)     ((v) & 0xfff)         /* 0-based */
#define NVME_AQA_ACQS(v)     (((v) >> 16) & 0xfff) /* 0-based */
#define NVME_AQA_MASK        0x0fff0fffu

/* ---- queue entries (4.2, 4.6) -------------------------------------------- */

#define NVME_SQE_SIZE        64
#define NVME_CQE_SIZE        16

/* Byte offsets in a submission queue entry. */
#define NVME_SQE_CDW0        0   /* OPC 7:0, FUSE 9:8, PSDT 15:14, CID 31:16 */
#define NVME_SQE_NSID        4
#define NVME_SQE_MPTR        16
#define NVME_SQE_PRP1        24
#define NVME_SQE_PRP2        32
#define NVME_SQE_CDW10       40  /* CDW10..15 follow, 4 bytes each */

/* Byte offsets in a completion queue entry. */
#define NVME_CQE_DW0         0
#define NVME_CQE_SQHD        8
#define NVME_CQE_SQID        10
#define NVME_CQE_CID         12
#define NVME_CQE_STATUS      14  /* phase tag bit 0, status field 15:1 */

/* ---- status (4.6.1.2) -------------------------------------------------- */

/* A status as carried here is the 15-bit Status Field: SC 7:0, SCT 10:8,
 * CRD 12:11, M 13, DNR 14.  In the entry it sits above the phase tag. */
#define NVME_SCT_GENERIC     0
#define NVME_SCT_CMD         1
#define NVME_SCT_MEDIA       2
#define NVME_STATUS(sct, sc) ((uint16_t)((sct) << 8 | (sc)))
#define NVME_DNR             0x4000u
#define NVME_STATUS_SC(s)    ((s) & 0xff)
#define NVME_STATUS_SCT(s)   (((s) >> 8) & 0x7)

/* Generic command status (figure 126, 127). */
#define NVME_SC_SUCCESS           0x00
#define NVME_SC_INVALID_OPCODE    0x01
#define NVME_SC_INVALID_FIELD     0x02
#define NVME_SC_DATA_XFER_ERROR   0x04
#define NVME_SC_INTERNAL          0x06
#define NVME_SC_INVALID_NS        0x0b
#define NVME_SC_CMD_SEQ_ERROR     0x0c
#define NVME_SC_PRP_OFFSET        0x13
#define NVME_SC_LBA_RANGE         0x80

/* Command specific status (figure 128). */
#define NVME_SC_CQ_INVALID        0x00
#define NVME_SC_QID_INVALID       0x01
#define NVME_SC_QSIZE_INVALID     0x02
#define NVME_SC_AER_LIMIT         0x05
#define NVME_SC_IV_INVALID        0x08
#define NVME_SC_LOG_INVALID       0x09
#define NVME_SC_QDELETE_INVALID   0x0c
#define NVME_SC_FEAT_NOT_SAVEABLE 0x0d

/* Media and data integrity errors (figure 130). */
#define NVME_SC_WRITE_FAULT       0x80
#define NVME_SC_READ_ERROR        0x81

/* ---- opcodes (figures 139, 346) ------------------------------------------ */

#define NVME_ADM_DELETE_SQ   0x00
#define NVME_ADM_CREATE_SQ   0x01
#define NVME_ADM_GET_LOG     0x02
#define NVME_ADM_DELETE_CQ   0x04
#define NVME_ADM_CREATE_CQ   0x05
#define NVME_ADM_IDENTIFY    0x06
#define NVME_ADM_ABORT       0x08
#define NVME_ADM_SET_FEAT    0x09
#define NVME_ADM_GET_FEAT    0x0a
#define NVME_ADM_AER         0x0c
#define NVME_ADM_KEEP_ALIVE  0x18
#define NVME_ADM_DBBUF_CONFIG 0x7c  /* Doorbell Buffer Config */

#define NVME_IO_FLUSH        0x00
#define NVME_IO_WRITE        0x01
#define NVME_IO_READ         0x02
#define NVME_IO_WRITE_ZEROES 0x08
#define NVME_IO_DSM          0x09

/* Create I/O queue dword 11 (5.4, 5.5). */
#define NVME_QUEUE_PC        (1u << 0)
#define NVME_CQ_IEN          (1u << 1)

/* Identify CNS values (figure 244). */
#define NVME_CNS_NS          0x00
#define NVME_CNS_CTRL        0x01
#define NVME_CNS_NS_LIST     0x02
#define NVME_CNS_NS_DESCS    0x03
#define NVME_CNS_CS_NS       0x05  /* command set specific (CSI in CDW11) */
#define NVME_CNS_CS_CTRL     0x06
#define NVME_CSI_NVM         0x00

/* Feature identifiers (figure 271). */
#define NVME_FEAT_ARBITRATION  0x01
#define NVME_FEAT_POWER_MGMT   0x02
#define NVME_FEAT_TEMP_THRESH  0x04
#define NVME_FEAT_ERR_RECOVERY 0x05
#define NVME_FEAT_VWC          0x06
#define NVME_FEAT_NUM_QUEUES   0x07
#define NVME_FEAT_IRQ_COALESCE 0x08
#define NVME_FEAT_IRQ_CONFIG   0x09
#define NVME_FEAT_WRITE_ATOMIC 0x0a
#define NVME_FEAT_ASYNC_EVENT  0x0b
#define NVME_FEAT_HOST_BEHAVIOR 0x16

/* Log page identifiers (figure 191). */
#define NVME_LOG_ERROR       0x01
#define NVME_LOG_SMART       0x02
#define NVME_LOG_FW_SLOT     0x03

/* Namespace identification descriptor types (figure 249). */
#define NVME_NIDT_EUI64      0x01
#define NVME_NIDT_NGUID      0x02
#define NVME_NIDT_UUID       0x03

#define NVME_NSID_ALL        0xffffffffu

/* ---- data structure offsets ------------------------------------------- */

#define NVME_IDENTIFY_SIZE   4096

/* Identify Controller (figure 247). */
#define NVME_IDC_VID         0
#define NVME_IDC_SSVID       2
#define NVME_IDC_SN          4     /* 20 bytes ASCII, space padded */
#define NVME_IDC_MN          24    /* 40 bytes */
#define NVME_IDC_FR          64    /* 8 bytes */
#define NVME_IDC_RAB         72
#define NVME_IDC_CMIC        76
#define NVME_IDC_MDTS        77
#define NVME_IDC_CNTLID      78
#define NVME_IDC_VER         80
#define NVME_IDC_CNTRLTYPE   111
#define NVME_IDC_OACS        256
#define NVME_IDC_ACL         258
#define NVME_IDC_AERL        259
#define NVME_IDC_FRMW        260
#define NVME_IDC_LPA         261
#define NVME_IDC_ELPE        262
#define NVME_IDC_NPSS        263
#define NVME_IDC_WCTEMP      266
#define NVME_IDC_CCTEMP      268
#define NVME_IDC_KAS         320
#define NVME_IDC_SQES        512
#define NVME_IDC_CQES        513
#define NVME_IDC_NN          516
#define NVME_IDC_ONCS        520
#define NVME_IDC_VWC         525
#define NVME_IDC_SGLS        536
#define NVME_IDC_SUBNQN      768   /* 256 bytes, NUL padded */
#define NVME_IDC_PSD0        2048  /* 32-byte power state descriptors */

/* OACS (figure 247): Doorbell Buffer Config supported. */
#define NVME_OACS_DBBUF        (1u << 8)

#define NVME_ONCS_DSM          (1u << 2)
#define NVME_ONCS_WRITE_ZEROES (1u << 3)

/* Identify Namespace (figure 245). */
#define NVME_IDNS_NSZE       0
#define NVME_IDNS_NCAP       8
#define NVME_IDNS_NUSE       16
#define NVME_IDNS_NSFEAT     24
#define NVME_IDNS_NLBAF      25
#define NVME_IDNS_FLBAS      26
#define NVME_IDNS_DLFEAT     33
#define NVME_IDNS_NGUID      104
#define NVME_IDNS_EUI64      120
#define NVME_IDNS_LBAF0      128   /* MS 15:0, LBADS 23:16, RP 25:24 */

/* Log pages. */
#define NVME_LOG_ERROR_ENTRY 64
#define NVME_LOG_SMART_SIZE  512
#define NVME_SMART_TEMP      1     /* composite temperature, kelvin, 2 bytes */
#define NVME_SMART_SPARE     3
#define NVME_SMART_SPARE_TH  4
#define NVME_SMART_UNITS_RD  32    /* 16-byte counters from here */
#define NVME_SMART_UNITS_WR  48
#define NVME_SMART_READS     64
#define NVME_SMART_WRITES    80
#define NVME_LOG_FW_SIZE     512
#define NVME_FW_AFI          0
#define NVME_FW_FRS1         8

/* Dataset Management range (figure 364). */
#define NVME_DSM_RANGE_SIZE  16
#define NVME_DSM_AD          (1u << 2)

/* ---- little-endian access ------------------------------------------ */

static inline uint16_t nvme_get_le16(const uint8_t *p)
{
    return (uint16_t)(p[0] | p[1] << 8);
}

static inline uint32_t nvme_get_le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
           (uint32_t)p[3] << 24;
}

static inline uint64_t nvme_get_le64(const uint8_t *p)
{
    return (uint64_t)nvme_get_le32(p) | (uint64_t)nvme_get_le32(p + 4) << 32;
}

static inline void nvme_put_le16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static inline void nvme_put_le32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static inline void nvme_put_le64(uint8_t *p, uint64_t v)
{
    nvme_put_le32(p, (uint32_t)v);
    nvme_put_le32(p + 4, (uint32_t)(v >> 32));
}

#endif /* MACVFIO_SIM_NVME_DEFS_H */

/* SPDX-License-Identifier: MIT */
/*
 * sim:nvme data structures reported to the host: Identify Controller,
 * Identify Namespace, the active namespace list, the namespace
 * identification descriptors (NVMe 1.4 section 5.15.2) and the log
 * pages (5.14.1).  Every buffer starts zeroed by the caller.
 */
#include <string.h>

#include "nvme_priv.h"

#define WCTEMP 343   /* kelvin: 70 C */
#define CCTEMP 373   /* 100 C */
#define TEMP   313   /* 40 C, the composite temperature reported */

/* ASCII fields are space padded, not NUL terminated (1.5 "ASCII"). */
static void put_ascii(uint8_t *dst, size_t len, const char *s)
{
    size_t n = strlen(s);

    memset(dst, ' ', len);
    memcpy(dst, s, n < len ? n : len);
}

void nvme_identify_ctrl(const struct nvme *n, uint8_t *d)
{
    static const char nqn_prefix[] = "nqn.2024-01.io.github.macvfio:nvme:";
    uint8_t *psd0 = d + NVME_IDC_PSD0;

    nvme_put_le16(d + NVME_IDC_VID, MVF_NVME_VENDOR_ID);
    nvme_put_le16(d + NVME_IDC_SSVID, MVF_NVME_VENDOR_ID);
    put_ascii(d + NVME_IDC_SN, 20, n->serial);
    put_ascii(d + NVME_IDC_MN, 40, MVF_NVME_MODEL);
    put_ascii(d + NVME_IDC_FR, 8, MVF_NVME_FW_REV);
    d[NVME_IDC_RAB] = 6;                    /* arbitration burst 64 */
    d[NVME_IDC_CMIC] = 0;                   /* one port, one controller */
    d[NVME_IDC_MDTS] = MVF_NVME_MDTS;
    nvme_put_le16(d + NVME_IDC_CNTLID, 0);
    nvme_put_le32(d + NVME_IDC_VER, NVME_VS(1, 4, 0));
    d[NVME_IDC_CNTRLTYPE] = 1;              /* I/O controller */
    nvme_put_le16(d + NVME_IDC_OACS, NVME_OACS_DBBUF);
    d[NVME_IDC_ACL] = MVF_NVME_ACL;
    d[NVME_IDC_AERL] = MVF_NVME_AERL;
    d[NVME_IDC_FRMW] = 0x03;                /* one slot, read only */
    d[NVME_IDC_LPA] = 0x04;                 /* extended Get Log Page data */
    d[NVME_IDC_ELPE] = 0;                   /* one error log entry */
    d[NVME_IDC_NPSS] = 0;                   /* one power state */
    nvme_put_le16(d + NVME_IDC_WCTEMP, WCTEMP);
    nvme_put_le16(d + NVME_IDC_CCTEMP, CCTEMP);
    nvme_put_le16(d + NVME_IDC_KAS, 0);     /* no keep alive timer */
    d[NVME_IDC_SQES] = 0x66;                /* 64-byte entries only */
    d[NVME_IDC_CQES] = 0x44;                /* 16-byte entries only */
    nvme_put_le32(d + NVME_IDC_NN, 1);
    nvme_put_le16(d + NVME_IDC_ONCS, NVME_ONCS_DSM | NVME_ONCS_WRITE_ZEROES);
    d[NVME_IDC_VWC] = 0x01;                 /* volatile write cache */
    nvme_put_le32(d + NVME_IDC_SGLS, 0);    /* PRPs only */
    /* A subsystem NQN is required from 1.2.1 on; the serial makes it
     * unique per device (the serial is at most 20 characters). */
    memcpy(d + NVME_IDC_SUBNQN, nqn_prefix, sizeof(nqn_prefix) - 1);
    memcpy(d + NVME_IDC_SUBNQN + sizeof(nqn_prefix) - 1, n->serial,
           strlen(n->serial));
    /* Power state 0: 25 W, entry/exit latencies as QEMU's controller. */
    nvme_put_le16(psd0 + 0, 2500);
    nvme_put_le32(psd0 + 4, 16);
    nvme_put_le32(psd0 + 8, 4);
}

void nvme_identify_ns(const struct nvme *n, uint8_t *d)
{
    nvme_put_le64(d + NVME_IDNS_NSZE, n->nsze);
    nvme_put_le64(d + NVME_IDNS_NCAP, n->nsze);
    nvme_put_le64(d + NVME_IDNS_NUSE, n->nsze);
    d[NVME_IDNS_NSFEAT] = 0;
    d[NVME_IDNS_NLBAF] = 0;                 /* one LBA format (0-based) */
    d[NVME_IDNS_FLBAS] = 0;                 /* format 0, no metadata */
    d[NVME_IDNS_DLFEAT] = 0;                /* deallocated reads: unspecified */
    memcpy(d + NVME_IDNS_NGUID, n->nguid, sizeof(n->nguid));
    /* EUI64 stays 0 (not reported): it needs an IEEE OUI. */
    nvme_put_le32(d + NVME_IDNS_LBAF0, (uint32_t)MVF_NVME_LBA_SHIFT << 16);
}

void nvme_identify_ns_list(const struct nvme *n, uint32_t after, uint8_t *d)
{
    (void)n;
    if (after < 1)
        nvme_put_le32(d, 1);    /* active NSIDs above `after`, ascending */
}

void nvme_identify_ns_descs(const struct nvme *n, uint8_t *d)
{
    /* Descriptor: NIDT, NIDL, 2 reserved bytes, NID; a zero NIDT ends
     * the list.  Linux reads these from 1.3 on and insists on exact
     * lengths per type. */
    d[0] = NVME_NIDT_NGUID;
    d[1] = sizeof(n->nguid);
    memcpy(d + 4, n->nguid, sizeof(n->nguid));
    d[20] = NVME_NIDT_UUID;
    d[21] = sizeof(n->uuid);
    memcpy(d + 24, n->uuid, sizeof(n->uuid));
}

/* 16-byte little-endian counter (only the low 64 bits are ever used). */
static void put_u128(uint8_t *p, uint64_t v)
{
    nvme_put_le64(p, v);
    nvme_put_le64(p + 8, 0);
}

uint32_t nvme_log_page(const struct nvme *n, uint8_t lid, uint8_t *out,
                       uint32_t cap)
{
    const struct nvme_stats *st = &n->stats;
    uint32_t size;

    switch (lid) {
    case NVME_LOG_ERROR:
        size = NVME_LOG_ERROR_ENTRY * 1;   /* ELPE 0: no errors recorded */
        break;
    case NVME_LOG_SMART:
    case NVME_LOG_FW_SLOT:
        size = NVME_LOG_SMART_SIZE;        /* both are 512 bytes */
        break;
    default:
        return 0;
    }
    if (size > cap)
        return 0;
    memset(out, 0, size);
    if (lid == NVME_LOG_SMART) {
        /* Data units are thousands of 512-byte units, rounded up. */
        nvme_put_le16(out + NVME_SMART_TEMP, TEMP);
        out[NVME_SMART_SPARE] = 100;
        out[NVME_SMART_SPARE_TH] = 10;
        put_u128(out + NVME_SMART_UNITS_RD, (st->blocks_read + 999) / 1000);
        put_u128(out + NVME_SMART_UNITS_WR, (st->blocks_written + 999) / 1000);
        put_u128(out + NVME_SMART_READS, st->read_cmds);
        put_u128(out + NVME_SMART_WRITES, st->write_cmds);
    } else if (lid == NVME_LOG_FW_SLOT) {
        out[NVME_FW_AFI] = 1;              /* slot 1 active */
        put_ascii(out + NVME_FW_FRS1, 8, MVF_NVME_FW_REV);
    }
    return size;
}

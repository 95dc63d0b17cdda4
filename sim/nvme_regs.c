/* SPDX-License-Identifier: MIT */
/*
 * sim:nvme BAR0 below the MSI-X table: the controller registers (NVMe
 * 1.4 section 3.1) and the doorbells, with the CC state machine: enable,
 * controller reset, shutdown (7.3, 7.6).
 */
#include "nvme_priv.h"

#define CAP_VALUE (NVME_CAP_MQES(MVF_NVME_MQES) | NVME_CAP_CQR |          \
                   NVME_CAP_TO(MVF_NVME_CAP_TO) | NVME_CAP_DSTRD(0) |      \
                   NVME_CAP_CSS_NVM | NVME_CAP_MPSMIN(0) | NVME_CAP_MPSMAX(0))
#define VS_VALUE  NVME_VS(1, 4, 0)

/* Fields of CC that only change while CC.EN is 0 (3.1.5). */
#define CC_FROZEN (NVME_CC_CSS_MASK | NVME_CC_MPS_MASK | NVME_CC_AMS_MASK)

/* Controller Level Reset (7.3.2): queues deleted, features back to
 * defaults, the doorbell buffers forgotten, status cleared.  AQA, ASQ,
 * ACQ and CC keep their values. */
static void ctrl_reset(struct nvme *n)
{
    nvme_queues_reset(n);
    nvme_features_reset(n);
    nvme_dbbuf_reset(n);
    n->csts = 0;
}

void nvme_regs_power_on(struct nvme *n)
{
    n->cc = 0;
    n->aqa = 0;
    n->intms = 0;
    n->asq = 0;
    n->acq = 0;
    ctrl_reset(n);
}

/* CC.EN 0 -> 1 (7.6.1): validates the configuration and the admin
 * queues; on failure the controller reports CSTS.CFS and stays not
 * ready, as QEMU's controller does, and the host must clear CC.EN. */
static void ctrl_enable(struct nvme *n)
{
    uint32_t asqs = NVME_AQA_ASQS(n->aqa) + 1, acqs = NVME_AQA_ACQS(n->aqa) + 1;
    const char *why = NULL;

    if (NVME_CC_CSS(n->cc) != 0)
        why = "CC.CSS selects a command set other than NVM";
    else if (NVME_CC_MPS(n->cc) != 0)
        why = "CC.MPS: only 4 KiB memory pages are supported";
    else if (NVME_CC_AMS(n->cc) != 0)
        why = "CC.AMS: only round robin arbitration is supported";
    else if (!n->asq || !n->acq)
        why = "ASQ or ACQ is not set";
    else if (asqs < 2 || acqs < 2)
        why = "AQA: the admin queues need at least 2 entries each";
    else if (n->asq + (uint64_t)asqs * NVME_SQE_SIZE < n->asq ||
             n->acq + (uint64_t)acqs * NVME_CQE_SIZE < n->acq)
        why = "ASQ or ACQ wraps around the end of the address space";
    if (why) {
        n->csts = NVME_CSTS_CFS;
        nvme_warn(n, "controller enable failed: %s", why);
        return;
    }
    nvme_cq_create(n, 0, n->acq, acqs, true, 0);
    nvme_sq_create(n, 0, n->asq, asqs, 0);
    n->csts = NVME_CSTS_RDY;
}

static void cc_write(struct nvme *n, uint32_t v)
{
    uint32_t old = n->cc, cc = v & NVME_CC_WRITABLE;

    if ((old & NVME_CC_EN) && (cc & NVME_CC_EN))
        cc = (cc & ~CC_FROZEN) | (old & CC_FROZEN);
    n->cc = cc;
    if (!(cc & NVME_CC_EN))
        ctrl_reset(n);          /* also clears CFS after a failed enable */
    else if (!(old & NVME_CC_EN))
        ctrl_enable(n);

    /* Shutdown notification (7.6.2): nothing is in flight, so it
     * completes at once, after the data is made durable.  The doorbell
     * buffers go too: Linux frees them next, without clearing CC.EN, and
     * a host must reset the controller before using it again. */
    if (NVME_CC_SHN(cc) && !NVME_CC_SHN(old)) {
        int rc = nvme_store_flush(&n->store);

        nvme_dbbuf_reset(n);

        if (rc && n->dev)
            mvf_device_log(n->dev, MVF_LOG_ERROR, "flushing the backing "
                           "file at shutdown failed (%d)", rc);
        n->csts = (n->csts & ~NVME_CSTS_SHST_MASK) | NVME_CSTS_SHST_DONE;
    } else if (!NVME_CC_SHN(cc) && NVME_CC_SHN(old)) {
        n->csts &= ~NVME_CSTS_SHST_MASK;
    }
}

static uint32_t reg_read(const struct nvme *n, uint32_t off)
{
    switch (off) {
    case NVME_REG_CAP:      return (uint32_t)CAP_VALUE;
    case NVME_REG_CAP + 4:  return (uint32_t)(CAP_VALUE >> 32);
    case NVME_REG_VS:       return VS_VALUE;
    case NVME_REG_INTMS:    /* both read the mask */
    case NVME_REG_INTMC:    return n->intms;
    case NVME_REG_CC:       return n->cc;
    case NVME_REG_CSTS:     return n->csts;
    case NVME_REG_AQA:      return n->aqa;
    case NVME_REG_ASQ:      return (uint32_t)n->asq;
    case NVME_REG_ASQ + 4:  return (uint32_t)(n->asq >> 32);
    case NVME_REG_ACQ:      return (uint32_t)n->acq;
    case NVME_REG_ACQ + 4:  return (uint32_t)(n->acq >> 32);
    default:                return 0;   /* NSSR, CMB, BP, PMR: absent */
    }
}

/* Sets the low (hi false) or high dword of a queue base; the low 12
 * bits are reserved (page aligned, 3.1.9). */
static void set_base(uint64_t *reg, bool hi, uint32_t v)
{
    if (hi)
        *reg = (*reg & 0xffffffffull) | (uint64_t)v << 32;
    else
        *reg = (*reg & ~0xffffffffull) | (v & ~0xfffu);
}

static void reg_write(struct nvme *n, uint32_t off, uint32_t v)
{
    switch (off) {
    case NVME_REG_INTMS:
        /* Meaningful for pin-based and MSI only (3.1.3); kept so that
         * the register reads back what was set. */
        n->intms |= v;
        break;
    case NVME_REG_INTMC:
        n->intms &= ~v;
        break;
    case NVME_REG_CC:
        cc_write(n, v);
        break;
    case NVME_REG_AQA:
        n->aqa = v & NVME_AQA_MASK;
        break;
    case NVME_REG_ASQ:
    case NVME_REG_ASQ + 4:
        set_base(&n->asq, off != NVME_REG_ASQ, v);
        break;
    case NVME_REG_ACQ:
    case NVME_REG_ACQ + 4:
        set_base(&n->acq, off != NVME_REG_ACQ, v);
        break;
    default:
        break;  /* CAP, VS, CSTS, NSSR (unsupported) and reserved: RO */
    }
}

/* Doorbell dword `idx` from 0x1000 (stride 4): even SQ tail, odd CQ head. */
static void doorbell_write(struct nvme *n, uint32_t idx, uint32_t v)
{
    if (idx & 1)
        nvme_cq_doorbell(n, idx / 2, v);
    else
        nvme_sq_doorbell(n, idx / 2, v);
}

int nvme_regs_read(struct nvme *n, uint64_t off, uint32_t width,
                   uint64_t *val)
{
    uint64_t v;

    *val = 0;
    if (off >= MVF_NVME_REGS_SIZE || (width != 1 && width != 2 &&
        width != 4 && width != 8) || (off & (width - 1)))
        return 0;   /* doorbells read 0 (write-only), as do bad accesses */
    v = reg_read(n, (uint32_t)off & ~3u);
    if (width == 8)
        v |= (uint64_t)reg_read(n, (uint32_t)off + 4) << 32;
    else if (width < 4)
        v = (v >> (8 * (off & 3))) & ((1u << (8 * width)) - 1);
    *val = v;
    return 0;
}

int nvme_regs_write(struct nvme *n, uint64_t off, uint32_t width,
                    uint64_t val)
{
    if ((width != 4 && width != 8) || (off & (width - 1)) ||
        off >= MVF_NVME_MSIX_TABLE)
        return 0;   /* narrower and unaligned writes are ignored */
    if (off < MVF_NVME_REGS_SIZE) {
        reg_write(n, (uint32_t)off, (uint32_t)val);
        if (width == 8)
            reg_write(n, (uint32_t)off + 4, (uint32_t)(val >> 32));
        return 0;
    }
    off -= MVF_NVME_DB_BASE;
    doorbell_write(n, (uint32_t)off / 4, (uint32_t)val);
    if (width == 8)
        doorbell_write(n, (uint32_t)off / 4 + 1, (uint32_t)(val >> 32));
    return 0;
}

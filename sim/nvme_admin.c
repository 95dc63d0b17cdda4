/* SPDX-License-Identifier: MIT */
/*
 * sim:nvme admin commands (NVMe 1.4 section 5): queue management,
 * Identify, Get Log Page, Set/Get Features, Asynchronous Event Request,
 * Abort, Keep Alive, Doorbell Buffer Config (nvme_dbbuf.c).  Optional
 * commands the controller does not claim in Identify (OACS has only the
 * doorbell buffer: no namespace management, firmware download, format,
 * security, self-test, directives) fail with Invalid Command Opcode.
 */
#include <string.h>

#include "nvme_priv.h"

#define PS ((uint64_t)MVF_NVME_PAGE_SIZE)

static uint16_t invalid_field(void)
{
    return nvme_err(NVME_SCT_GENERIC, NVME_SC_INVALID_FIELD);
}

/* ---- queue management (5.3, 5.4, 5.5, 5.6) ------------------------------ */

/* A queue base: page aligned (the low bits would be a PRP offset) and
 * not wrapping past the end of the address space. */
static uint16_t check_base(uint64_t base, uint32_t entries, uint32_t esize)
{
    if (base & (PS - 1))
        return nvme_err(NVME_SCT_GENERIC, NVME_SC_PRP_OFFSET);
    if (base + (uint64_t)entries * esize < base)
        return invalid_field();
    return 0;
}

static uint16_t create_cq(struct nvme *n, const struct nvme_cmd *c)
{
    uint32_t qid = c->cdw10 & 0xffff, size = (c->cdw10 >> 16) + 1;
    uint32_t vector = c->cdw11 >> 16;
    bool ien = c->cdw11 & NVME_CQ_IEN;
    uint16_t st;

    if (qid == 0 || qid > n->nqueues || n->cq[qid].size)
        return nvme_err(NVME_SCT_CMD, NVME_SC_QID_INVALID);
    if (size < 2 || size > MVF_NVME_MQES + 1)
        return nvme_err(NVME_SCT_CMD, NVME_SC_QSIZE_INVALID);
    if (!(c->cdw11 & NVME_QUEUE_PC))
        return invalid_field();     /* CAP.CQR: contiguous queues only */
    if (ien && vector >= n->nvec)
        return nvme_err(NVME_SCT_CMD, NVME_SC_IV_INVALID);
    if (NVME_CC_IOCQES(n->cc) != 4)
        return invalid_field();     /* 16-byte entries, Identify CQES */
    st = check_base(c->prp1, size, NVME_CQE_SIZE);
    if (st)
        return st;
    nvme_cq_create(n, (uint16_t)qid, c->prp1, size, ien,
                   ien ? (uint16_t)vector : 0);
    return 0;
}

static uint16_t create_sq(struct nvme *n, const struct nvme_cmd *c)
{
    uint32_t qid = c->cdw10 & 0xffff, size = (c->cdw10 >> 16) + 1;
    uint32_t cqid = c->cdw11 >> 16;
    uint16_t st;

    if (qid == 0 || qid > n->nqueues || n->sq[qid].size)
        return nvme_err(NVME_SCT_CMD, NVME_SC_QID_INVALID);
    if (size < 2 || size > MVF_NVME_MQES + 1)
        return nvme_err(NVME_SCT_CMD, NVME_SC_QSIZE_INVALID);
    if (!(c->cdw11 & NVME_QUEUE_PC))
        return invalid_field();
    /* An I/O SQ may not complete into the admin CQ (5.4). */
    if (cqid == 0 || cqid > n->nqueues || !n->cq[cqid].size)
        return nvme_err(NVME_SCT_CMD, NVME_SC_CQ_INVALID);
    if (NVME_CC_IOSQES(n->cc) != 6)
        return invalid_field();     /* 64-byte entries, Identify SQES */
    st = check_base(c->prp1, size, NVME_SQE_SIZE);
    if (st)
        return st;
    nvme_sq_create(n, (uint16_t)qid, c->prp1, size, (uint16_t)cqid);
    return 0;
}

static uint16_t delete_sq(struct nvme *n, const struct nvme_cmd *c)
{
    uint32_t qid = c->cdw10 & 0xffff;

    if (qid == 0 || qid > n->nqueues || !n->sq[qid].size)
        return nvme_err(NVME_SCT_CMD, NVME_SC_QID_INVALID);
    nvme_sq_delete(n, (uint16_t)qid);
    return 0;
}

static uint16_t delete_cq(struct nvme *n, const struct nvme_cmd *c)
{
    uint32_t qid = c->cdw10 & 0xffff;

    if (qid == 0 || qid > n->nqueues || !n->cq[qid].size)
        return nvme_err(NVME_SCT_CMD, NVME_SC_QID_INVALID);
    if (n->cq[qid].sq_count)
        return nvme_err(NVME_SCT_CMD, NVME_SC_QDELETE_INVALID);
    nvme_cq_delete(n, (uint16_t)qid);
    return 0;
}

/* ---- Identify (5.15) and Get Log Page (5.14) ------------------------------ */

static uint16_t identify(struct nvme *n, const struct nvme_cmd *c)
{
    uint8_t *d = n->buf;

    memset(d, 0, NVME_IDENTIFY_SIZE);
    switch (c->cdw10 & 0xff) {
    case NVME_CNS_NS:
        if (c->nsid != 1)
            return nvme_err(NVME_SCT_GENERIC, NVME_SC_INVALID_NS);
        nvme_identify_ns(n, d);
        break;
    case NVME_CNS_CTRL:
        nvme_identify_ctrl(n, d);
        break;
    case NVME_CNS_NS_LIST:
        if (c->nsid >= 0xfffffffeu)
            return nvme_err(NVME_SCT_GENERIC, NVME_SC_INVALID_NS);
        nvme_identify_ns_list(n, c->nsid, d);
        break;
    case NVME_CNS_NS_DESCS:
        if (c->nsid != 1)
            return nvme_err(NVME_SCT_GENERIC, NVME_SC_INVALID_NS);
        nvme_identify_ns_descs(n, d);
        break;
    /* The NVM command set's own structures (from TP 4056, which Linux
     * asks for whatever the version): all zero, i.e. no extended LBA
     * formats and no Write Zeroes/DSM limits beyond MDTS. */
    case NVME_CNS_CS_NS:
        if (c->nsid != 1)
            return nvme_err(NVME_SCT_GENERIC, NVME_SC_INVALID_NS);
        /* fall through */
    case NVME_CNS_CS_CTRL:
        if ((c->cdw11 >> 24) != NVME_CSI_NVM)
            return invalid_field();
        break;
    default:
        return invalid_field();
    }
    return nvme_dma_to_host(n, c, d, NVME_IDENTIFY_SIZE);
}

static uint16_t get_log(struct nvme *n, const struct nvme_cmd *c)
{
    uint8_t log[NVME_LOG_SMART_SIZE];
    uint8_t lid = (uint8_t)c->cdw10;
    uint64_t numd = ((uint64_t)(c->cdw11 & 0xffff) << 16 | c->cdw10 >> 16) + 1;
    uint64_t len = numd * 4, off = (uint64_t)c->cdw13 << 32 | c->cdw12;
    uint32_t size;

    if (len > MVF_NVME_MAX_XFER || (off & 3))
        return invalid_field();
    /* No per-namespace SMART data (LPA bit 0 clear). */
    if (lid == NVME_LOG_SMART && c->nsid != 0 && c->nsid != NVME_NSID_ALL)
        return invalid_field();
    size = nvme_log_page(n, lid, log, sizeof(log));
    if (!size)
        return nvme_err(NVME_SCT_CMD, NVME_SC_LOG_INVALID);
    if (off > size)
        return invalid_field();
    /* Reading past the end of a log page returns zeroes. */
    memset(n->buf, 0, (size_t)len);
    memcpy(n->buf, log + off, (size_t)(size - off < len ? size - off : len));
    return nvme_dma_to_host(n, c, n->buf, (uint32_t)len);
}

/* ---- features (5.21, 5.27) ------------------------------------------------ */

static void features_default(struct nvme_features *f)
{
    memset(f, 0, sizeof(*f));
    f->temp_over = 343;     /* 70 C, as Identify's WCTEMP */
    f->vwc = 1;             /* write cache enabled */
}

void nvme_features_reset(struct nvme *n)
{
    features_default(&n->feat);
}

static uint32_t num_queues_value(const struct nvme *n)
{
    return (n->nqueues - 1) | (n->nqueues - 1) << 16;  /* 0-based */
}

/* Temperature Threshold: composite sensor only (TMPSEL 0, or 0xf "all"),
 * THSEL 0 over or 1 under.  NULL for anything else. */
static uint32_t *temp_slot(struct nvme_features *f, uint32_t cdw11)
{
    uint32_t tmpsel = (cdw11 >> 16) & 0xf, thsel = (cdw11 >> 20) & 3;

    if (tmpsel != 0 && tmpsel != 0xf)
        return NULL;
    return thsel == 0 ? &f->temp_over : thsel == 1 ? &f->temp_under : NULL;
}

static void set_features(struct nvme *n, const struct nvme_cmd *c,
                         struct nvme_result *r)
{
    struct nvme_features *f = &n->feat;
    uint32_t v = c->cdw11, *slot;

    if (c->cdw10 & (1u << 31)) {   /* SV: nothing is saveable */
        r->status = nvme_err(NVME_SCT_CMD, NVME_SC_FEAT_NOT_SAVEABLE);
        return;
    }
    switch (c->cdw10 & 0xff) {
    case NVME_FEAT_ARBITRATION:  f->arbitration = v; break;
    case NVME_FEAT_IRQ_COALESCE: f->irq_coalesce = v & 0xffff; break;
    case NVME_FEAT_WRITE_ATOMIC: f->write_atomic = v & 1; break;
    case NVME_FEAT_ASYNC_EVENT:  f->async_event = v; break;
    case NVME_FEAT_VWC:          f->vwc = v & 1; break;
    case NVME_FEAT_HOST_BEHAVIOR: break;   /* accepted, nothing to change */
    case NVME_FEAT_POWER_MGMT:
        if (v & 0x1f)                      /* only power state 0 (NPSS 0) */
            r->status = invalid_field();
        else
            f->power_mgmt = v & 0xff;
        break;
    case NVME_FEAT_TEMP_THRESH:
        slot = temp_slot(f, v);
        if (!slot)
            r->status = invalid_field();
        else
            *slot = v & 0xffff;
        break;
    case NVME_FEAT_ERR_RECOVERY:
        if (v & (1u << 16))                /* DULBE: no deallocated errors */
            r->status = invalid_field();
        else
            f->err_recovery = v & 0xffff;
        break;
    case NVME_FEAT_IRQ_CONFIG:
        if ((v & 0xffff) >= n->nvec)
            r->status = invalid_field();
        break;
    case NVME_FEAT_NUM_QUEUES:
        /* 65535 is invalid (5.21.1.7); any other request gets what the
         * controller has, which the host then takes the minimum of. */
        if ((v & 0xffff) == 0xffff || (v >> 16) == 0xffff)
            r->status = invalid_field();
        else
            r->dw0 = num_queues_value(n);
        break;
    default:
        r->status = invalid_field();
        break;
    }
}

static void get_features(struct nvme *n, const struct nvme_cmd *c,
                         struct nvme_result *r)
{
    uint32_t sel = (c->cdw10 >> 8) & 7, *slot;
    struct nvme_features def, *f = &n->feat;

    features_default(&def);
    if (sel > 3) {
        r->status = invalid_field();
        return;
    }
    if (sel != 0)   /* default, or saved (= default: nothing is saveable) */
        f = &def;
    switch (c->cdw10 & 0xff) {
    case NVME_FEAT_ARBITRATION:  r->dw0 = f->arbitration; break;
    case NVME_FEAT_POWER_MGMT:   r->dw0 = f->power_mgmt; break;
    case NVME_FEAT_ERR_RECOVERY: r->dw0 = f->err_recovery; break;
    case NVME_FEAT_VWC:          r->dw0 = f->vwc; break;
    case NVME_FEAT_IRQ_COALESCE: r->dw0 = f->irq_coalesce; break;
    case NVME_FEAT_WRITE_ATOMIC: r->dw0 = f->write_atomic; break;
    case NVME_FEAT_ASYNC_EVENT:  r->dw0 = f->async_event; break;
    case NVME_FEAT_NUM_QUEUES:   r->dw0 = num_queues_value(n); break;
    case NVME_FEAT_TEMP_THRESH:
        slot = temp_slot(f, c->cdw11);
        if (!slot)
            r->status = invalid_field();
        else
            r->dw0 = *slot;
        break;
    case NVME_FEAT_IRQ_CONFIG:
        if ((c->cdw11 & 0xffff) >= n->nvec)
            r->status = invalid_field();
        else
            r->dw0 = c->cdw11 & 0xffff;    /* coalescing never disabled */
        break;
    case NVME_FEAT_HOST_BEHAVIOR:
        /* A 512-byte structure, all zeroes: nothing enabled. */
        if (sel != 3) {
            memset(n->buf, 0, 512);
            r->status = nvme_dma_to_host(n, c, n->buf, 512);
        }
        break;
    default:
        r->status = invalid_field();
        return;
    }
    /* Supported capabilities: changeable, not saveable, not per
     * namespace (figure 269). */
    if (sel == 3 && !r->status)
        r->dw0 = 1u << 2;
}

/* ---- dispatch -------------------------------------------------------------- */

void nvme_admin_exec(struct nvme *n, const struct nvme_cmd *c,
                     struct nvme_result *r)
{
    /* No fused operations (FUSES 0) and no SGLs (SGLS 0). */
    if (c->fuse || c->psdt) {
        r->status = invalid_field();
        return;
    }
    switch (c->opc) {
    case NVME_ADM_DELETE_SQ: r->status = delete_sq(n, c); break;
    case NVME_ADM_CREATE_SQ: r->status = create_sq(n, c); break;
    case NVME_ADM_GET_LOG:   r->status = get_log(n, c); break;
    case NVME_ADM_DELETE_CQ: r->status = delete_cq(n, c); break;
    case NVME_ADM_CREATE_CQ: r->status = create_cq(n, c); break;
    case NVME_ADM_IDENTIFY:  r->status = identify(n, c); break;
    case NVME_ADM_SET_FEAT:  set_features(n, c, r); break;
    case NVME_ADM_GET_FEAT:  get_features(n, c, r); break;
    case NVME_ADM_KEEP_ALIVE: break;    /* KAS 0: no timer to restart */
    case NVME_ADM_DBBUF_CONFIG: r->status = nvme_dbbuf_config(n, c); break;
    case NVME_ADM_ABORT:
        /* Commands run to completion before the next one is fetched,
         * so there is never anything left to abort (5.1: DW0 bit 0 set
         * means "not aborted"). */
        r->dw0 = 1;
        break;
    case NVME_ADM_AER:
        /* Held until an event occurs; this controller raises none, so
         * the request stays outstanding until a controller reset. */
        if (n->aer_outstanding > MVF_NVME_AERL)
            r->status = nvme_err(NVME_SCT_CMD, NVME_SC_AER_LIMIT);
        else {
            n->aer_outstanding++;
            r->post = false;
        }
        break;
    default:
        if (n->dev)
            mvf_device_log(n->dev, MVF_LOG_DEBUG, "admin opcode 0x%02x not "
                           "supported: Invalid Command Opcode", c->opc);
        r->status = nvme_err(NVME_SCT_GENERIC, NVME_SC_INVALID_OPCODE);
        break;
    }
}

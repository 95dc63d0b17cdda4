/* SPDX-License-Identifier: MIT */
/* The dext tests' client (see dext_client.h). */
#include "dext_client.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

static void fetch_last_error(struct dxc *c)
{
    char text[MVF_ERRMSG_MAX];
    uint32_t n_out = 0;
    size_t len = sizeof(text);
    int32_t kr;

    kr = rig_call(c->conn, MVF_SEL_LAST_ERROR, NULL, 0, NULL, 0, NULL, &n_out,
                  text, &len);
    c->err[0] = '\0';
    if (kr != 0 || len == 0)
        return;
    /* Hostile until checked: the text must be NUL-terminated in len. */
    if (memchr(text, '\0', len) == NULL)
        fail_msg("LAST_ERROR text is not NUL-terminated (%zu bytes)", len);
    memcpy(c->err, text, len);
}

int dxc_call(struct dxc *c, uint32_t sel, const uint64_t *in, uint32_t n_in,
             const void *sin, uint32_t sin_len, uint64_t *out, uint32_t n_out,
             void *sout, uint32_t *sout_len)
{
    uint64_t scalars[MVF_MAX_SCALARS];
    uint32_t got = MVF_MAX_SCALARS;
    size_t slen = sout_len ? *sout_len : 0;
    int rc;

    c->last_kr = rig_call(c->conn, sel, in, n_in, sin, sin_len, scalars, &got,
                          sout, &slen);
    rc = rig_errno_of(c->last_kr);
    if (rc < 0) {
        /* IOKit's rule, kept by the double: no outputs on error. */
        assert_int_equal(got, 0);
        assert_int_equal(slen, 0);
        fetch_last_error(c);
        if (sout_len)
            *sout_len = 0;
        return rc;
    }
    assert_int_equal(got, n_out);
    if (n_out)
        memcpy(out, scalars, n_out * sizeof(uint64_t));
    if (sout_len)
        *sout_len = (uint32_t)slen;
    c->err[0] = '\0';
    return 0;
}

int dxc_hello(struct dxc *c, uint64_t version)
{
    uint64_t in[2] = { version, 0 }, out[4];
    int rc = dxc_call(c, MVF_SEL_HELLO, in, 2, NULL, 0, out, 4, NULL, NULL);

    if (rc == 0) {
        c->version = out[0];
        c->features = out[1];
        c->max_struct = out[2];
        c->device_count = out[3];
    }
    return rc;
}

int dxc_connect(struct dxc *c, struct rig *r)
{
    memset(c, 0, sizeof(*c));
    c->rig = r;
    c->conn = rig_open(r);
    assert_non_null(c->conn);
    return dxc_hello(c, MVF_ABI_VERSION);
}

void dxc_connect_claimed(struct dxc *c, struct rig *r)
{
    assert_int_equal(dxc_connect(c, r), 0);
    assert_int_equal(dxc_device_open(c, 0), 0);
    assert_int_equal(dxc_claim(c), 0);
}

void dxc_close(struct dxc *c)
{
    rig_close(c->conn);
    c->conn = NULL;
}

void dxc_kill(struct dxc *c)
{
    rig_kill(c->conn);
    c->conn = NULL;
}

int dxc_device_list(struct dxc *c, struct mvf_device_info *list,
                    uint32_t cap, uint64_t *count)
{
    uint32_t len = cap * (uint32_t)sizeof(*list);
    int rc = dxc_call(c, MVF_SEL_DEVICE_LIST, NULL, 0, NULL, 0, count, 1,
                      list, &len);

    if (rc == 0)
        assert_int_equal(len, *count * sizeof(*list));
    return rc;
}

int dxc_device_open(struct dxc *c, uint32_t index)
{
    uint64_t in = index;
    return dxc_call(c, MVF_SEL_DEVICE_OPEN, &in, 1, NULL, 0, NULL, 0, NULL, NULL);
}

int dxc_device_info(struct dxc *c, struct mvf_device_info *info)
{
    uint32_t len = sizeof(*info);
    int rc = dxc_call(c, MVF_SEL_DEVICE_INFO, NULL, 0, NULL, 0, NULL, 0, info,
                      &len);

    if (rc == 0)
        assert_int_equal(len, sizeof(*info));
    return rc;
}

int dxc_claim(struct dxc *c)
{
    return dxc_call(c, MVF_SEL_CLAIM, NULL, 0, NULL, 0, NULL, 0, NULL, NULL);
}

int dxc_release(struct dxc *c)
{
    return dxc_call(c, MVF_SEL_RELEASE, NULL, 0, NULL, 0, NULL, 0, NULL, NULL);
}

int dxc_cfg_read(struct dxc *c, uint32_t off, uint32_t width, uint32_t *v)
{
    uint64_t in[2] = { off, width }, out = 0;
    int rc = dxc_call(c, MVF_SEL_CONFIG_READ, in, 2, NULL, 0, &out, 1, NULL, NULL);

    *v = (uint32_t)out;
    return rc;
}

int dxc_cfg_write(struct dxc *c, uint32_t off, uint32_t width, uint32_t v)
{
    uint64_t in[3] = { off, width, v };
    return dxc_call(c, MVF_SEL_CONFIG_WRITE, in, 3, NULL, 0, NULL, 0, NULL, NULL);
}

int dxc_bar_info(struct dxc *c, uint32_t bar, uint64_t *size, uint64_t *flags)
{
    uint64_t in = bar, out[2] = { 0, 0 };
    int rc = dxc_call(c, MVF_SEL_BAR_INFO, &in, 1, NULL, 0, out, 2, NULL, NULL);

    *size = out[0];
    *flags = out[1];
    return rc;
}

int dxc_mmio_read(struct dxc *c, uint32_t bar, uint64_t off, uint32_t width,
                  uint64_t *v)
{
    uint64_t in[3] = { bar, off, width };
    return dxc_call(c, MVF_SEL_MMIO_READ, in, 3, NULL, 0, v, 1, NULL, NULL);
}

int dxc_mmio_write(struct dxc *c, uint32_t bar, uint64_t off, uint32_t width,
                   uint64_t v)
{
    uint64_t in[4] = { bar, off, width, v };
    return dxc_call(c, MVF_SEL_MMIO_WRITE, in, 4, NULL, 0, NULL, 0, NULL, NULL);
}

int dxc_map(struct dxc *c, uint32_t type, void **addr, uint64_t *size,
            uint64_t *flags)
{
    uint64_t in = type, out[2] = { 0, 0 }, msize = 0;
    int rc = dxc_call(c, MVF_SEL_MAP_MEMORY, &in, 1, NULL, 0, out, 2, NULL, NULL);

    if (rc < 0)
        return rc;
    *size = out[0];
    if (flags)
        *flags = out[1];
    c->last_kr = rig_map(c->conn, type, addr, &msize);
    rc = rig_errno_of(c->last_kr);
    if (rc == 0)
        assert_true(msize >= out[0]);
    return rc;
}

int dxc_unmap(struct dxc *c, uint32_t type, void *addr)
{
    c->last_kr = rig_unmap(c->conn, type, addr);
    return rig_errno_of(c->last_kr);
}

int dxc_irq_info(struct dxc *c, uint32_t type, uint64_t *count,
                 uint64_t *flags)
{
    uint64_t in = type, out[2] = { 0, 0 };
    int rc = dxc_call(c, MVF_SEL_IRQ_INFO, &in, 1, NULL, 0, out, 2, NULL, NULL);

    *count = out[0];
    *flags = out[1];
    return rc;
}

int dxc_irq_state(struct dxc *c, uint32_t type)
{
    uint64_t in[5] = { type, MVF_IRQ_ACT_STATE, 0, 0, 1 };
    uint32_t n_out = 0;
    int rc;

    c->last_kr = rig_call_async(c->conn, MVF_SEL_IRQ_SET, in, 5, NULL, &n_out);
    rc = rig_errno_of(c->last_kr);
    if (rc < 0)
        fetch_last_error(c);
    return rc;
}

int dxc_irq_set(struct dxc *c, uint32_t type, uint32_t action,
                uint32_t start, uint32_t count)
{
    uint64_t in[5] = { type, action, start, count, 0 };
    return dxc_call(c, MVF_SEL_IRQ_SET, in, 5, NULL, 0, NULL, 0, NULL, NULL);
}

int dxc_reset(struct dxc *c)
{
    return dxc_call(c, MVF_SEL_RESET, NULL, 0, NULL, 0, NULL, 0, NULL, NULL);
}

int dxc_dma_register_va(struct dxc *c, const void *va, uint64_t len,
                        uint64_t *handle)
{
    uint64_t in[3] = { len, (uint64_t)(uintptr_t)va, MVF_DMA_REG_VA };
    return dxc_call(c, MVF_SEL_DMA_REGISTER, in, 3, NULL, 0, handle, 1, NULL, NULL);
}

int dxc_dma_unregister(struct dxc *c, uint64_t handle)
{
    return dxc_call(c, MVF_SEL_DMA_UNREGISTER, &handle, 1, NULL, 0, NULL, 0,
                    NULL, NULL);
}

int dxc_dma_map(struct dxc *c, uint64_t handle, uint64_t off, uint64_t len,
                uint64_t dirs, uint64_t *iova)
{
    uint64_t in[4] = { handle, off, len, dirs };
    return dxc_call(c, MVF_SEL_DMA_MAP, in, 4, NULL, 0, iova, 1, NULL, NULL);
}

int dxc_dma_unmap(struct dxc *c, uint64_t iova, uint64_t len)
{
    uint64_t in[2] = { iova, len };
    return dxc_call(c, MVF_SEL_DMA_UNMAP, in, 2, NULL, 0, NULL, 0, NULL, NULL);
}

int dxc_stats(struct dxc *c, struct mvf_stats *st)
{
    uint32_t len = sizeof(*st);
    int rc = dxc_call(c, MVF_SEL_STATS, NULL, 0, NULL, 0, NULL, 0, st, &len);

    if (rc == 0)
        assert_int_equal(len, sizeof(*st));
    return rc;
}

void dxc_bus_master_on(struct dxc *c)
{
    uint32_t cmd = 0;

    assert_int_equal(dxc_cfg_read(c, 0x04, 2, &cmd), 0);
    assert_int_equal(dxc_cfg_write(c, 0x04, 2, cmd | 0x6), 0);
}

void *dxc_alloc(uint64_t len)
{
    void *p = NULL;

    assert_int_equal(posix_memalign(&p, MVF_DART_GRANULE, len), 0);
    memset(p, 0, len);
    return p;
}

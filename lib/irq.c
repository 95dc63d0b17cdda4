/* SPDX-License-Identifier: MIT */
/* Interrupts: IRQ_INFO and the IRQ_SET actions. */
#include <errno.h>

#include "handle.h"

static int check_type(const char *what, uint32_t irq_type)
{
    if (irq_type >= MVF_IRQ_NTYPES)
        return mvfl_fail(-EINVAL, "%s: IRQ type %u (INTx 0, MSI 1, MSI-X 2)",
                         what, irq_type);
    return 0;
}

static int check_range(const char *what, uint32_t start, uint32_t count)
{
    if (count == 0 || start + count < start)
        return mvfl_fail(-EINVAL, "%s: vector range %u+%u", what, start,
                         count);
    return 0;
}

MVF_EXPORT int mvf_irq_info(struct mvf_handle *h, uint32_t irq_type,
                            uint32_t *count, uint32_t *flags)
{
    uint64_t in[1] = { irq_type }, out[2] = { 0 };
    int rc;

    if ((rc = check_type("IRQ info", irq_type)))
        return rc;
    if (!count || !flags)
        return mvfl_fail(-EINVAL, "IRQ info: NULL output");
    rc = mvfl_call_scalars(h, MVF_SEL_IRQ_INFO, in, 1, out, 2);
    if (rc < 0)
        return rc;
    if (out[0] > UINT32_MAX || out[1] > UINT32_MAX)
        return mvfl_bad_reply(h, MVF_SEL_IRQ_INFO, "count %llu, flags 0x%llx",
                              (unsigned long long)out[0],
                              (unsigned long long)out[1]);
    *count = (uint32_t)out[0];
    *flags = (uint32_t)out[1];
    return 0;
}

static int irq_set(struct mvf_handle *h, uint32_t irq_type, uint32_t action,
                   uint32_t start, uint32_t count, uint64_t fd_mask,
                   const int *fds, uint32_t n_fds)
{
    uint64_t in[5] = { irq_type, action, start, count, fd_mask };
    struct mvf_xfer x;

    mvfl_xfer_init(&x, MVF_SEL_IRQ_SET);
    x.in = in;
    x.n_in = 5;
    x.fds_in = fds;
    x.n_fds_in = n_fds;
    return mvfl_call(h, &x);
}

MVF_EXPORT int mvf_irq_set_eventfds(struct mvf_handle *h, uint32_t irq_type,
                                    uint32_t start, uint32_t count,
                                    const int *fds)
{
    const char *what = "IRQ set eventfds";
    int rc;

    if ((rc = mvfl_need(h, MVF_FEAT_IRQ_EVENTFD, what)) ||
        (rc = check_type(what, irq_type)) ||
        (rc = check_range(what, start, count)))
        return rc;
    for (uint32_t i = 0; fds && i < count; i++)
        if (fds[i] < -1)
            return mvfl_fail(-EBADF, "%s: fd %d for vector %u (use -1 to "
                             "unbind)", what, fds[i], start + i);
    if (h->t->ops->irq_notify) {
        /* The transport delivers (IOKit): the whole range at once. */
        struct mvfl_irq_req req = { .type = irq_type, .per_vector = true,
                                    .start = start, .count = count,
                                    .fds = fds, .wake_fd = -1 };
        return mvfl_call_irq(h, &req);
    }

    /* fd_mask is 64 bits wide: one call per 64 vectors, fds attached in
     * ascending vector order. */
    for (uint32_t done = 0; done < count;) {
        uint32_t n = count - done < MVF_IRQ_SET_MAX ? count - done
                                                    : MVF_IRQ_SET_MAX;
        int chunk[MVF_IRQ_SET_MAX];
        uint32_t n_fds = 0;
        uint64_t mask = 0;

        for (uint32_t i = 0; fds && i < n; i++) {
            if (fds[done + i] >= 0) {
                mask |= 1ull << i;
                chunk[n_fds++] = fds[done + i];
            }
        }
        rc = irq_set(h, irq_type, MVF_IRQ_ACT_TRIGGER, start + done, n, mask,
                     chunk, n_fds);
        if (rc < 0)
            return rc;
        done += n;
    }
    return 0;
}

MVF_EXPORT int mvf_irq_disable(struct mvf_handle *h, uint32_t irq_type)
{
    int rc = check_type("IRQ disable", irq_type);

    return rc ? rc : irq_set(h, irq_type, MVF_IRQ_ACT_DISABLE, 0, 0, 0, NULL, 0);
}

static int mask_or_unmask(struct mvf_handle *h, const char *what,
                          uint32_t action, uint32_t irq_type, uint32_t start,
                          uint32_t count)
{
    int rc;

    if ((rc = check_type(what, irq_type)) ||
        (rc = check_range(what, start, count)))
        return rc;
    return irq_set(h, irq_type, action, start, count, 0, NULL, 0);
}

MVF_EXPORT int mvf_irq_mask(struct mvf_handle *h, uint32_t irq_type,
                            uint32_t start, uint32_t count)
{
    return mask_or_unmask(h, "IRQ mask", MVF_IRQ_ACT_MASK, irq_type, start,
                          count);
}

MVF_EXPORT int mvf_irq_unmask(struct mvf_handle *h, uint32_t irq_type,
                              uint32_t start, uint32_t count)
{
    return mask_or_unmask(h, "IRQ unmask", MVF_IRQ_ACT_UNMASK, irq_type, start,
                          count);
}

MVF_EXPORT int mvf_irq_set_state_page(struct mvf_handle *h, uint32_t irq_type,
                                      int wake_fd)
{
    const char *what = "IRQ state page";
    int rc;

    if ((rc = mvfl_need(h, MVF_FEAT_IRQ_STATE_PAGE, what)) ||
        (rc = check_type(what, irq_type)))
        return rc;
    if (wake_fd < -1)
        return mvfl_fail(-EBADF, "%s: wake fd %d", what, wake_fd);
    if (h->t->ops->irq_notify) {
        struct mvfl_irq_req req = { .type = irq_type, .per_vector = false,
                                    .wake_fd = wake_fd };
        return mvfl_call_irq(h, &req);
    }
    return irq_set(h, irq_type, MVF_IRQ_ACT_STATE, 0, 0, wake_fd >= 0 ? 1 : 0,
                   wake_fd >= 0 ? &wake_fd : NULL, wake_fd >= 0 ? 1 : 0);
}

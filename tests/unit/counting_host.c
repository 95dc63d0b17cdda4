/* SPDX-License-Identifier: MIT */
#include "counting_host.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

struct test_mem {
    struct mvf_client_mem m;
    uint8_t *base;
};

struct test_notifier {
    struct mvf_notifier n;
    struct test_host *h;
    int idx;
};

static void *tm_host_ptr(struct mvf_client_mem *m, uint64_t off, uint64_t len)
{
    struct test_mem *t = m->priv;

    return t->base + off;
}

static void tm_release(struct mvf_client_mem *m)
{
    struct test_mem *t = m->priv;

    munmap(t->base, m->length);
    free(t);
}

static int h_mem_create(void *host, void *client, int fd, uint64_t arg,
                        uint64_t length, uint32_t flags, struct mvf_client_mem **out,
                        char *err, size_t errlen)
{
    struct test_mem *t;
    void *base;

    if (fd < 0 || flags != MVF_DMA_REG_FD) {
        snprintf(err, errlen, "test host takes memfds only");
        return -EINVAL;
    }
    base = mmap(NULL, length, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
                (off_t)arg);
    if (base == MAP_FAILED) {
        snprintf(err, errlen, "mmap failed");
        return -errno;
    }
    t = calloc(1, sizeof(*t));
    assert_non_null(t);
    t->base = base;
    t->m.length = length;
    t->m.host_ptr = tm_host_ptr;
    t->m.release = tm_release;
    t->m.priv = t;
    *out = &t->m;
    return 0;
}

static void tn_signal(struct mvf_notifier *n)
{
    struct test_notifier *t = n->priv;

    t->h->irq[t->idx]++;
    if (t->h->on_signal)
        t->h->on_signal(t->h->ctx, t->idx);
}

static void tn_release(struct mvf_notifier *n)
{
    free(n->priv);
}

/* The "fd" of a notifier is just an index into test_host.irq. */
static int h_notifier_create(void *host, void *client, int obj,
                             struct mvf_notifier **out)
{
    struct test_notifier *t;

    if (obj < 0 || obj >= NOBJ)
        return -EBADF;
    t = calloc(1, sizeof(*t));
    assert_non_null(t);
    t->h = host;
    t->idx = obj;
    t->n.signal = tn_signal;
    t->n.release = tn_release;
    t->n.priv = t;
    *out = &t->n;
    return 0;
}

static int h_obj_dup(void *host, int obj)
{
    return dup(obj);
}

static void h_log(void *host, enum mvf_log_level lvl, const char *msg)
{
    struct test_host *h = host;

    if (lvl <= MVF_LOG_WARN)
        h->warnings++;
    snprintf(h->last_log, sizeof(h->last_log), "%s", msg);
}

const struct mvf_host_ops test_hops = {
    .mem_create = h_mem_create,
    .notifier_create = h_notifier_create,
    .obj_dup = h_obj_dup,
    .log = h_log,
    .transport_features = MVF_FEAT_IRQ_EVENTFD | MVF_FEAT_IRQ_STATE_PAGE |
                          MVF_FEAT_DMA_FD,
};

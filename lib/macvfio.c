/* SPDX-License-Identifier: MIT */
/*
 * libmacvfio: the shared call path, session set-up (HELLO), ownership
 * and statistics.  Device lookup, config/BAR access, interrupts and DMA
 * live in device.c, access.c, irq.c and dma.c.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "handle.h"
#include "wire_client.h"

/* Smallest max_struct we work with: room for any fixed struct of the
 * ABI and for an error message. */
#define MIN_SERVER_MAX_STRUCT MVF_ERRMSG_MAX
_Static_assert(sizeof(struct mvf_device_info) <= MIN_SERVER_MAX_STRUCT &&
               sizeof(struct mvf_stats) <= MIN_SERVER_MAX_STRUCT,
               "fixed ABI structs fit the smallest accepted max_struct");

/* ---- the call path -------------------------------------------------- */

/* How one exchange goes: through the transport's post, irq_notify,
 * map_memory or call op. */
enum how { HOW_CALL, HOW_POST, HOW_MAP, HOW_IRQ };

static int run_locked(struct mvf_handle *h, struct mvf_xfer *x, enum how how,
                      void **map, const struct mvfl_irq_req *irq)
{
    const char *name = mvfl_selector_name(x->selector);
    int rc;

    if (!h)
        return mvfl_fail(-EINVAL, "%s: NULL handle", name);
    pthread_mutex_lock(&h->lock);
    if (h->broken) {
        pthread_mutex_unlock(&h->lock);
        return mvfl_fail(-EPROTO,
                         "%s: connection unusable after a malformed reply",
                         name);
    }
    if (how == HOW_POST && !(h->t->ops->post &&
                             (h->features & MVF_FEAT_POSTED_WRITE)))
        how = HOW_CALL;
    switch (how) {
    case HOW_POST:
        rc = h->t->ops->post(h->t, x);
        h->posted_pending |= rc == 0;
        break;
    case HOW_IRQ:
        rc = h->t->ops->irq_notify(h->t, x, irq);
        break;
    case HOW_MAP:
        rc = h->t->ops->map_memory(h->t, x, map);
        break;
    default:
        rc = h->t->ops->call(h->t, x);
        break;
    }
    /* A reply (even a failure's) means the server has run every
     * request posted before it. */
    if (how != HOW_POST && (rc == 0 || x->status < 0))
        h->posted_pending = false;
    if (x->bad_reply)
        h->broken = true;
    pthread_mutex_unlock(&h->lock);
    if (rc < 0 && x->posted_error)
        return mvfl_fail(rc, "%s was not carried out: %s", name, x->err);
    if (rc < 0)
        return mvfl_fail(rc, "%s: %s", name, x->err);
    return 0;
}

int mvfl_call(struct mvf_handle *h, struct mvf_xfer *x)
{
    return run_locked(h, x, HOW_CALL, NULL, NULL);
}

int mvfl_call_posted(struct mvf_handle *h, struct mvf_xfer *x)
{
    return run_locked(h, x, HOW_POST, NULL, NULL);
}

int mvfl_call_map(struct mvf_handle *h, struct mvf_xfer *x, void **ptr)
{
    return run_locked(h, x, HOW_MAP, ptr, NULL);
}

int mvfl_call_irq(struct mvf_handle *h, const struct mvfl_irq_req *req)
{
    struct mvf_xfer x;

    mvfl_xfer_init(&x, MVF_SEL_IRQ_SET);
    return run_locked(h, &x, HOW_IRQ, NULL, req);
}

int mvfl_call_scalars(struct mvf_handle *h, uint32_t selector,
                      const uint64_t *in, uint32_t n_in, uint64_t *out,
                      uint32_t n_out)
{
    struct mvf_xfer x;
    int rc;

    mvfl_xfer_init(&x, selector);
    x.in = in;
    x.n_in = n_in;
    x.n_out_min = n_out;
    rc = mvfl_call(h, &x);
    if (rc == 0 && n_out)
        memcpy(out, x.out, sizeof(uint64_t) * n_out);
    return rc;
}

int mvfl_need(const struct mvf_handle *h, uint64_t feature, const char *what)
{
    if (!h)
        return mvfl_fail(-EINVAL, "%s: NULL handle", what);
    if (!(h->features & feature))
        return mvfl_fail(-EOPNOTSUPP, "%s: the server does not offer it "
                         "(feature 0x%llx missing)", what,
                         (unsigned long long)feature);
    return 0;
}

int mvfl_bad_reply(struct mvf_handle *h, uint32_t selector, const char *fmt,
                   ...)
{
    char msg[MVF_ERRMSG_MAX];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    pthread_mutex_lock(&h->lock);
    h->broken = true;
    pthread_mutex_unlock(&h->lock);
    return mvfl_fail(-EPROTO, "%s: malformed reply from server: %s",
                     mvfl_selector_name(selector), msg);
}

/* ---- session -------------------------------------------------------- */

static int hello(struct mvf_handle *h)
{
    uint64_t in[2] = { MVF_ABI_VERSION, h->t->features };
    uint64_t out[4] = { 0 };
    int rc;

    rc = mvfl_call_scalars(h, MVF_SEL_HELLO, in, 2, out, 4);
    if (rc < 0)
        return rc;
    if (out[0] > UINT32_MAX)
        return mvfl_bad_reply(h, MVF_SEL_HELLO, "version 0x%llx",
                              (unsigned long long)out[0]);
    if ((out[0] >> 16) != MVF_ABI_VERSION_MAJOR) {
        h->broken = true;
        return mvfl_fail(-EPROTO, "HELLO: the server speaks ABI %llu.%llu, "
                         "this libmacvfio speaks %u.%u; major versions must "
                         "match (update one of them)",
                         (unsigned long long)(out[0] >> 16),
                         (unsigned long long)(out[0] & 0xffff),
                         MVF_ABI_VERSION_MAJOR, MVF_ABI_VERSION_MINOR);
    }
    if (out[2] < MIN_SERVER_MAX_STRUCT)
        return mvfl_bad_reply(h, MVF_SEL_HELLO, "max_struct %llu below %u",
                              (unsigned long long)out[2],
                              MIN_SERVER_MAX_STRUCT);
    if (out[3] > UINT32_MAX)
        return mvfl_bad_reply(h, MVF_SEL_HELLO, "device count %llu",
                              (unsigned long long)out[3]);
    h->server_version = (uint32_t)out[0];
    /* Usable = offered by the server and carried by this transport, plus
     * per-vector fds where the transport delivers them on the state page. */
    h->features = out[1] & h->t->features;
    if (h->t->ops->irq_notify && (h->features & MVF_FEAT_IRQ_STATE_PAGE))
        h->features |= MVF_FEAT_IRQ_EVENTFD;
    h->max_struct = out[2] > MVF_MAX_STRUCT ? MVF_MAX_STRUCT : (uint32_t)out[2];
    if (h->t->max_struct && h->max_struct > h->t->max_struct)
        h->max_struct = h->t->max_struct;   /* IOKit: 4096 in band */
    h->device_count = (uint32_t)out[3];
    return 0;
}

/*
 * The timeout a new handle starts with: MACVFIO_TIMEOUT_MS when set (for
 * tools and scripts that cannot call mvf_set_timeout), else the default.
 * A value that is not a plain decimal number of milliseconds is refused
 * rather than silently replaced, so a typo cannot leave calls unbounded.
 */
static int initial_timeout(uint32_t *ms)
{
    const char *env = getenv("MACVFIO_TIMEOUT_MS");
    uint64_t v = 0;

    *ms = MVF_DEFAULT_TIMEOUT_MS;
    if (!env)
        return 0;
    if (!*env)
        goto bad;
    for (const char *p = env; *p; p++) {
        if (*p < '0' || *p > '9')
            goto bad;
        v = v * 10 + (uint64_t)(*p - '0');
        if (v > UINT32_MAX)
            goto bad;
    }
    *ms = (uint32_t)v;
    return 0;
bad:
    return mvfl_fail(-EINVAL, "mvf_connect: MACVFIO_TIMEOUT_MS must be a "
                     "decimal number of milliseconds up to %" PRIu32
                     " (0: no timeout)", UINT32_MAX);
}

typedef int (*transport_open_fn)(const char *where, struct mvf_transport **out,
                                 char *err, size_t errlen);

/* A handle on a new transport, after HELLO. */
static int connect_with(transport_open_fn open_transport, const char *where,
                        struct mvf_handle **out)
{
    char err[MVF_ERRMSG_MAX];
    struct mvf_handle *h;
    uint32_t timeout_ms;
    int rc;

    *out = NULL;
    if ((rc = initial_timeout(&timeout_ms)))
        return rc;
    h = calloc(1, sizeof(*h));
    if (!h)
        return mvfl_fail(-ENOMEM, "mvf_connect: out of memory");
    pthread_mutex_init(&h->lock, NULL);
    rc = open_transport(where, &h->t, err, sizeof(err));
    if (rc < 0) {
        pthread_mutex_destroy(&h->lock);
        free(h);
        return mvfl_fail(rc, "%s", err);
    }
    h->t->timeout_ms = timeout_ms;  /* HELLO is bounded too */
    rc = hello(h);
    if (rc < 0) {
        mvf_close(h);
        return rc;
    }
    *out = h;
    return 0;
}

MVF_EXPORT int mvf_connect(const char *socket_path, struct mvf_handle **out)
{
    if (!socket_path || !out)
        return mvfl_fail(-EINVAL, "mvf_connect: NULL argument");
    return connect_with(mvfl_transport_socket_open, socket_path, out);
}

MVF_EXPORT int mvf_connect_iokit(const char *bdf, struct mvf_handle **out)
{
    if (!out)
        return mvfl_fail(-EINVAL, "mvf_connect_iokit: NULL argument");
#if defined(__APPLE__) || defined(MVF_WITH_IOKIT)
    return connect_with(mvfl_transport_iokit_open, bdf, out);
#else
    (void)bdf;
    *out = NULL;
    return mvfl_fail(-ENOTSUP, "mvf_connect_iokit: the IOKit transport "
                     "exists on macOS only; use mvf_connect with macvfiod's "
                     "socket");
#endif
}

MVF_EXPORT int mvf_set_bar_cache(struct mvf_handle *h, uint32_t mode)
{
    int rc;

    if (!h)
        return mvfl_fail(-EINVAL, "set BAR cache: NULL handle");
    if (!h->t->ops->set_bar_cache)
        return mvfl_fail(-ENOTSUP, "set BAR cache: this transport maps BARs "
                         "through an fd, with no cache mode to choose");
    pthread_mutex_lock(&h->lock);
    rc = h->t->ops->set_bar_cache(h->t, mode);
    pthread_mutex_unlock(&h->lock);
    if (rc)
        return mvfl_fail(rc, "set BAR cache: mode %u (wc %u, pcr %u, "
                         "uncached %u)", mode, MVF_BAR_CACHE_WC,
                         MVF_BAR_CACHE_PCR, MVF_BAR_CACHE_UNCACHED);
    return 0;
}

MVF_EXPORT void mvf_close(struct mvf_handle *h)
{
    if (!h)
        return;
    /* Posted writes run before the session ends, as if they had been
     * answered; a failure among them has nobody to go to. */
    (void)mvf_flush(h);
    h->t->ops->close(h->t);
    pthread_mutex_destroy(&h->lock);
    free(h);
}

MVF_EXPORT int mvf_connection_fd(const struct mvf_handle *h)
{
    if (!h)
        return mvfl_fail(-EINVAL, "mvf_connection_fd: NULL handle");
    if (!h->t->ops->poll_fd)
        return mvfl_fail(-ENOTSUP, "mvf_connection_fd: this transport has "
                         "no file descriptor to poll");
    return h->t->ops->poll_fd(h->t);
}

MVF_EXPORT int mvf_set_timeout(struct mvf_handle *h, uint32_t timeout_ms)
{
    if (!h)
        return mvfl_fail(-EINVAL, "mvf_set_timeout: NULL handle");
    /* Under the lock: a call in progress keeps the deadline it started
     * with, the next one uses the new value. */
    pthread_mutex_lock(&h->lock);
    h->t->timeout_ms = timeout_ms;
    pthread_mutex_unlock(&h->lock);
    return 0;
}

MVF_EXPORT uint32_t mvf_get_timeout(struct mvf_handle *h)
{
    uint32_t ms;

    if (!h)
        return 0;
    pthread_mutex_lock(&h->lock);
    ms = h->t->timeout_ms;
    pthread_mutex_unlock(&h->lock);
    return ms;
}

MVF_EXPORT uint64_t mvf_features(const struct mvf_handle *h)
{
    return h ? h->features : 0;
}

MVF_EXPORT uint32_t mvf_server_version(const struct mvf_handle *h)
{
    return h ? h->server_version : 0;
}

MVF_EXPORT uint32_t mvf_server_max_struct(const struct mvf_handle *h)
{
    return h ? h->max_struct : 0;
}

MVF_EXPORT uint32_t mvf_device_count(const struct mvf_handle *h)
{
    return h ? h->device_count : 0;
}

/* ---- ownership ------------------------------------------------------ */

MVF_EXPORT int mvf_claim(struct mvf_handle *h)
{
    return mvfl_call_scalars(h, MVF_SEL_CLAIM, NULL, 0, NULL, 0);
}

MVF_EXPORT int mvf_release(struct mvf_handle *h)
{
    return mvfl_call_scalars(h, MVF_SEL_RELEASE, NULL, 0, NULL, 0);
}

MVF_EXPORT int mvf_reset(struct mvf_handle *h)
{
    int rc = mvfl_need(h, MVF_FEAT_RESET, "reset");

    return rc ? rc : mvfl_call_scalars(h, MVF_SEL_RESET, NULL, 0, NULL, 0);
}

/* ---- statistics ------------------------------------------------------ */

MVF_EXPORT int mvf_get_stats(struct mvf_handle *h, struct mvf_stats *out)
{
    struct mvf_stats st;
    struct mvf_xfer x;
    int rc;

    if ((rc = mvfl_need(h, MVF_FEAT_STATS, "stats")))
        return rc;
    if (!out)
        return mvfl_fail(-EINVAL, "stats: NULL output");
    memset(&st, 0, sizeof(st));
    mvfl_xfer_init(&x, MVF_SEL_STATS);
    x.struct_out = &st;
    x.struct_out_cap = sizeof(st);
    rc = mvfl_call(h, &x);
    if (rc < 0)
        return rc;
    /* A 1.1 server has no posted counters: they stay 0. */
    if (x.struct_out_len != sizeof(st) &&
        x.struct_out_len != MVF_STATS_SIZE_1_1)
        return mvfl_bad_reply(h, MVF_SEL_STATS, "%u bytes of stats, not %zu",
                              x.struct_out_len, sizeof(st));
    *out = st;
    return 0;
}

/* ---- posted writes --------------------------------------------------- */

MVF_EXPORT int mvf_flush(struct mvf_handle *h)
{
    char text[MVF_ERRMSG_MAX];
    struct mvf_xfer x;
    bool pending;

    if (!h)
        return mvfl_fail(-EINVAL, "flush: NULL handle");
    pthread_mutex_lock(&h->lock);
    pending = h->posted_pending;
    pthread_mutex_unlock(&h->lock);
    if (!pending)
        return 0;
    /* Any call that waits for its reply is a barrier; LAST_ERROR changes
     * nothing on the server (every server that posts has it). */
    mvfl_xfer_init(&x, MVF_SEL_LAST_ERROR);
    x.struct_out = text;
    x.struct_out_cap = sizeof(text);
    return mvfl_call(h, &x);
}

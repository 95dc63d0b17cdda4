/* SPDX-License-Identifier: MIT */
/*
 * The core's log lines: formatting, the device prefix, and the rate
 * limit per device and per cause that keeps a client from flooding the
 * daemon's log through its device.
 */
#include <stdio.h>
#include <string.h>

#include "core_internal.h"

#define LOG_LINE_MAX 512

static void emit(struct mvf_core *c, enum mvf_log_level lvl, const char *msg)
{
    if (c->hops && c->hops->log)
        c->hops->log(c->host, lvl, msg);
}

static void vformat(char *msg, size_t size, const char *prefix,
                    const char *fmt, va_list ap)
{
    int n = snprintf(msg, size, "%s", prefix);

    if (n < 0 || (size_t)n >= size)
        n = 0;
    vsnprintf(msg + n, size - (size_t)n, fmt, ap);
}

void mvf_core_log(struct mvf_core *c, enum mvf_log_level lvl,
                  const char *fmt, ...)
{
    char msg[LOG_LINE_MAX];
    va_list ap;

    va_start(ap, fmt);
    vformat(msg, sizeof(msg), "", fmt, ap);
    va_end(ap);
    emit(c, lvl, msg);
}

static void device_prefix(const struct mvf_device *dev, char *buf, size_t size)
{
    snprintf(buf, size, "%04x:%02x:%02x.%u %s: ",
             dev->prov.domain, dev->prov.bus, dev->prov.devfn >> 3,
             dev->prov.devfn & 7, dev->prov.name ? dev->prov.name : "?");
}

/* The slot of `cause`, taking a free one for a new cause; when all are
 * taken, the last is shared by the rest. */
static struct mvf_log_slot *slot_of(struct mvf_device *dev, const char *cause)
{
    for (uint32_t i = 0; i < MVF_LOG_SLOTS; i++) {
        struct mvf_log_slot *s = &dev->log_slots[i];

        if (s->cause == cause)
            return s;
        if (!s->cause) {
            s->cause = cause;
            return s;
        }
    }
    return &dev->log_slots[MVF_LOG_SLOTS - 1];
}

/* True if a line of `cause` may go out now; *suppressed gets the count
 * of this cause's lines dropped since the last one that went out. */
static bool allow(struct mvf_device *dev, const char *cause,
                  enum mvf_log_level lvl, uint64_t *suppressed)
{
    static const struct mvf_ratelimit_cfg by_clock = {
        MVF_LOG_BURST, MVF_LOG_INTERVAL_MS
    };
    static const struct mvf_ratelimit_cfg by_count = {
        MVF_LOG_BURST, MVF_LOG_INTERVAL_EVENTS
    };
    struct mvf_core *c = dev->core;
    struct mvf_log_slot *s = slot_of(dev, cause);
    bool have_clock = c->hops && c->hops->now_ms;
    uint64_t now = have_clock ? c->hops->now_ms(c->host) : c->log_events;

    c->log_events++;
    if (mvf_ratelimit_allow(&s->rl, have_clock ? &by_clock : &by_count, now,
                            suppressed))
        return true;
    s->lvl = lvl;
    return false;
}

/* Appends the suppressed count, cutting the message short if need be
 * so the count is never the part that is lost. */
static void append_suppressed(char *msg, size_t size, uint64_t n)
{
    char note[64];
    size_t len = strlen(msg), nlen;

    snprintf(note, sizeof(note), " [%llu similar messages suppressed]",
             (unsigned long long)n);
    nlen = strlen(note);
    if (len + nlen >= size)
        len = size - 1 - nlen;
    memcpy(msg + len, note, nlen + 1);
}

static void device_vlog(struct mvf_device *dev, const char *cause,
                        enum mvf_log_level lvl, const char *fmt, va_list ap)
{
    char prefix[64], msg[LOG_LINE_MAX];
    uint64_t suppressed = 0;

    if (!allow(dev, cause, lvl, &suppressed))
        return;
    device_prefix(dev, prefix, sizeof(prefix));
    vformat(msg, sizeof(msg), prefix, fmt, ap);
    if (suppressed)
        append_suppressed(msg, sizeof(msg), suppressed);
    emit(dev->core, lvl, msg);
}

void mvf_device_log(struct mvf_device *dev, enum mvf_log_level lvl,
                    const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    device_vlog(dev, fmt, lvl, fmt, ap);
    va_end(ap);
}

void mvf_device_log_cause(struct mvf_device *dev, const char *cause,
                          enum mvf_log_level lvl, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    device_vlog(dev, cause, lvl, fmt, ap);
    va_end(ap);
}

void mvf_device_log_flush(struct mvf_device *dev)
{
    char prefix[64];

    device_prefix(dev, prefix, sizeof(prefix));
    for (uint32_t i = 0; i < MVF_LOG_SLOTS && dev->log_slots[i].cause; i++) {
        struct mvf_log_slot *s = &dev->log_slots[i];
        uint64_t n = mvf_ratelimit_flush(&s->rl);

        if (n)
            /* The cause is a format: quoted, never used as one. */
            mvf_core_log(dev->core, s->lvl, "%s%llu similar messages "
                         "suppressed, like \"%.200s\"", prefix,
                         (unsigned long long)n, s->cause);
    }
}

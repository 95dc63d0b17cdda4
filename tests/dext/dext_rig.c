/* SPDX-License-Identifier: MIT */
/* The rig over the DriverKit double's test API (see dext_rig.h). */
#include "dext_rig.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "tests/dkdouble/dkdouble.h"

#define RIG_MAX_CONNS 16

/* iokit_vendor_specific_err(): sys_iokit | sub_iokit_vendor | code,
 * with the 14-bit code field (IOReturn.h's layout). */
#define RIG_IOKIT_VENDOR 0xe3ff8000u   /* sys_iokit | err_sub(-2) */
#define RIG_CODE_MASK    0x3fffu

struct rig_conn {
    struct rig *rig;
    struct dk_conn *dk;
};

struct rig {
    struct dk_machine *m;
    struct dk_service *svc;
    struct rig_conn *conns[RIG_MAX_CONNS];
};

struct rig *rig_start(const char *spec)
{
    struct rig *r = calloc(1, sizeof(*r));
    char err[256] = "";

    if (!r)
        return NULL;
    r->m = dk_machine_create(spec, NULL, err, sizeof(err));
    if (!r->m) {
        fprintf(stderr, "rig: machine for %s: %s\n", spec, err);
        free(r);
        return NULL;
    }
    /* What dext/Info.plist's user client properties name (tests/plist
     * checks the driver's Create() key against the plist). */
    dk_machine_add_class(r->m, "MacvfioUserClientProperties",
                         "MacvfioUserClient");
    if (dk_match_start(r->m, "MacvfioDriver", &r->svc) != 0) {
        fprintf(stderr, "rig: MacvfioDriver did not start on %s\n", spec);
        dk_machine_destroy(r->m);
        free(r);
        return NULL;
    }
    return r;
}

static void forget(struct rig_conn *c)
{
    for (int i = 0; i < RIG_MAX_CONNS; i++)
        if (c->rig->conns[i] == c)
            c->rig->conns[i] = NULL;
    free(c);   /* the double keeps its connection record until the end */
}

int rig_stop(struct rig *r)
{
    struct dk_counters k;
    uint64_t leaked;
    int rc = 0;

    for (int i = 0; i < RIG_MAX_CONNS; i++)
        if (r->conns[i])
            rig_close(r->conns[i]);
    dk_run_until_idle(r->m);
    dk_counters(r->m, &k);
    if (k.live_dma_mappings || k.client_descriptors || k.rule_violations) {
        fprintf(stderr, "rig: after every client closed: %llu DMA mappings, "
                "%llu client descriptors, %llu rule violations\n",
                (unsigned long long)k.live_dma_mappings,
                (unsigned long long)k.client_descriptors,
                (unsigned long long)k.rule_violations);
        rc = -1;
    }
    if (dk_service_stop(r->svc) != 0) {
        fprintf(stderr, "rig: the driver's Stop failed\n");
        rc = -1;
    }
    leaked = dk_machine_destroy(r->m);
    if (leaked) {
        fprintf(stderr, "rig: %llu DriverKit objects leaked\n",
                (unsigned long long)leaked);
        rc = -1;
    }
    free(r);
    return rc;
}

void rig_counters(struct rig *r, struct rig_counters *c)
{
    struct dk_counters k;

    dk_counters(r->m, &k);
    *c = (struct rig_counters){
        .prepare_calls = k.prepare_calls,
        .prepare_ok = k.prepare_ok,
        .complete_calls = k.complete_calls,
        .live_dma = k.live_dma_mappings,
        .live_client_mem = k.client_descriptors,
        .rule_violations = k.rule_violations,
        .bus_master = dk_device_command(r->m) & 0x4,
        .memory_enable = dk_device_command(r->m) & 0x2,
    };
    c->completions_sent = k.completions_sent;
    c->completions_dropped = k.completions_dropped;
}

void rig_run_queue(struct rig *r)
{
    dk_run_until_idle(r->m);
}

struct rig_conn *rig_open(struct rig *r)
{
    struct rig_conn *c = calloc(1, sizeof(*c));
    int slot = -1;

    for (int i = 0; i < RIG_MAX_CONNS && slot < 0; i++)
        if (!r->conns[i])
            slot = i;
    if (!c || slot < 0 || dk_client_open(r->svc, 0, &c->dk) != 0) {
        free(c);
        return NULL;
    }
    c->rig = r;
    r->conns[slot] = c;
    return c;
}

void rig_close(struct rig_conn *c)
{
    dk_client_close(c->dk);
    forget(c);
}

void rig_kill(struct rig_conn *c)
{
    dk_client_die(c->dk);
    forget(c);
}

int32_t rig_call(struct rig_conn *c, uint32_t sel,
                 const uint64_t *in, uint32_t n_in,
                 const void *sin, size_t sin_len,
                 uint64_t *out, uint32_t *n_out,
                 void *sout, size_t *sout_len)
{
    const struct dk_call call = {
        .selector = sel, .in = in, .n_in = n_in, .sin = sin,
        .sin_len = sin_len, .out = out, .n_out = n_out, .sout = sout,
        .sout_len = sout_len, .async = false,
    };
    return dk_connect_call(c->dk, &call);
}

int32_t rig_call_async(struct rig_conn *c, uint32_t sel,
                       const uint64_t *in, uint32_t n_in,
                       uint64_t *out, uint32_t *n_out)
{
    size_t slen = 0;
    const struct dk_call call = {
        .selector = sel, .in = in, .n_in = n_in, .out = out, .n_out = n_out,
        .sout_len = &slen, .async = true,
    };
    return dk_connect_call(c->dk, &call);
}

bool rig_port_take(struct rig_conn *c, int32_t *status, uint64_t *args,
                   uint32_t *n_args)
{
    return dk_port_take(c->dk, status, args, n_args);
}

int32_t rig_map(struct rig_conn *c, uint32_t type, void **addr,
                uint64_t *size)
{
    return dk_connect_map_memory(c->dk, type, 0, addr, size);
}

int32_t rig_unmap(struct rig_conn *c, uint32_t type, void *addr)
{
    return dk_connect_unmap_memory(c->dk, type, addr);
}

int32_t rig_ioreturn_of_errno(int neg_errno)
{
    return (int32_t)(RIG_IOKIT_VENDOR | ((uint32_t)-neg_errno & RIG_CODE_MASK));
}

int rig_errno_of(int32_t kr)
{
    if (kr == 0)
        return 0;
    if (((uint32_t)kr & ~RIG_CODE_MASK) == RIG_IOKIT_VENDOR)
        return -(int)((uint32_t)kr & RIG_CODE_MASK);
    return -EIO;
}

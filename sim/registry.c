/* SPDX-License-Identifier: MIT */
/* Simulated devices by name (registry.h). */
#include "registry.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "dmatest.h"
#include "nvme.h"

#define SIM_PREFIX "sim:"

struct sim_entry {
    const char *name;   /* after "sim:" */
    int (*create)(const char *args, struct mvf_provider *out, char *err,
                  size_t errlen);
};

static const struct sim_entry sims[] = {
    { "dmatest", mvf_sim_dmatest_create },
    { "nvme", mvf_sim_nvme_create },
};

const char *mvf_sim_known_devices(void)
{
    return "sim:dmatest, sim:nvme";
}

bool mvf_sim_is_spec(const char *spec)
{
    return spec && strncmp(spec, SIM_PREFIX, strlen(SIM_PREFIX)) == 0;
}

int mvf_sim_create(const char *spec, struct mvf_provider *out, char *err,
                   size_t errlen)
{
    const char *name, *args;
    size_t len;

    if (!err)
        errlen = 0;     /* snprintf(NULL, 0, ...) is a no-op */
    else if (errlen)
        err[0] = '\0';
    if (!spec || !out) {
        snprintf(err, errlen, "no device spec given");
        return -EINVAL;
    }
    if (!mvf_sim_is_spec(spec)) {
        snprintf(err, errlen, "\"%.40s\" is not a simulated device spec "
                 "(expected sim:NAME[,key=value...]; known: %s)", spec,
                 mvf_sim_known_devices());
        return -EINVAL;
    }
    name = spec + strlen(SIM_PREFIX);
    args = strchr(name, ',');
    len = args ? (size_t)(args - name) : strlen(name);
    if (!args)
        args = name + len;   /* "" */
    for (size_t i = 0; i < sizeof(sims) / sizeof(sims[0]); i++) {
        if (strlen(sims[i].name) == len &&
            memcmp(sims[i].name, name, len) == 0)
            return sims[i].create(args, out, err, errlen);
    }
    snprintf(err, errlen, "unknown simulated device \"sim:%.*s\" (known: %s)",
             (int)(len > 40 ? 40 : len), name, mvf_sim_known_devices());
    return -ENOENT;
}

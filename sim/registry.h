/* SPDX-License-Identifier: MIT */
/* Simulated devices by name: "sim:<device>[,key=value...]". */
#ifndef MACVFIO_SIM_REGISTRY_H
#define MACVFIO_SIM_REGISTRY_H

#include <stdbool.h>
#include <stddef.h>

#include "core.h"

/* True when spec names a simulated device ("sim:" prefix). */
bool mvf_sim_is_spec(const char *spec);

/*
 * Creates the simulated device `spec` names, e.g. "sim:dmatest" or
 * "sim:dmatest,window=4M".  -ENOENT with a reason (listing the known
 * devices) for an unknown name, -EINVAL for a malformed spec or bad
 * options, or the device's own error.  On success see
 * mvf_sim_dmatest_create() for what `out` holds.
 */
int mvf_sim_create(const char *spec, struct mvf_provider *out, char *err,
                   size_t errlen);

/* Comma-separated names of the devices mvf_sim_create() knows. */
const char *mvf_sim_known_devices(void);

#endif /* MACVFIO_SIM_REGISTRY_H */

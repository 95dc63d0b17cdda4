/* SPDX-License-Identifier: MIT */
/* The macvfio tool's commands and their shared options. */
#ifndef MACVFIO_TOOLS_CLI_H
#define MACVFIO_TOOLS_CLI_H

#include <stdbool.h>

#include "macvfio/macvfio.h"

struct cli_opts {
    const char *socket;
    bool iokit;              /* the dext through IOKit (macOS) */
    const char *device;      /* index, BB:DD.F or name; NULL: index 0 */
    bool json;
    int timeout_ms;          /* selftest: wait for one interrupt */
};

/* Exit codes. */
#define EXIT_OK      0
#define EXIT_FAILED  1   /* a selftest check failed, or a call failed */
#define EXIT_USAGE   2

/* Connects and opens the device named by o->device (prints the error). */
int cli_connect(const struct cli_opts *o, struct mvf_handle **h);
int cli_open_device(const struct cli_opts *o, struct mvf_handle *h);

int cmd_list(const struct cli_opts *o);
int cmd_info(const struct cli_opts *o);
int cmd_selftest(const struct cli_opts *o);

#endif /* MACVFIO_TOOLS_CLI_H */

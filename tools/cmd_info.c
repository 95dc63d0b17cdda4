/* SPDX-License-Identifier: MIT */
/* `macvfio info`: one device in detail. Reads only: it never claims. */
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"
#include "json.h"
#include "report.h"

int cmd_info(const struct cli_opts *o)
{
    struct dev_report *r;
    struct mvf_handle *h;
    int rc = EXIT_FAILED;

    if (cli_connect(o, &h) < 0)
        return EXIT_FAILED;
    r = malloc(sizeof(*r));
    if (!r) {
        fprintf(stderr, "macvfio: out of memory\n");
    } else if (cli_open_device(o, h) == 0) {
        if (report_collect(h, r) < 0) {
            fprintf(stderr, "macvfio: %s\n", mvf_last_error());
        } else if (o->json) {
            struct json j;
            json_init(&j, stdout);
            report_print_json(r, &j);
            json_finish(&j);
            rc = EXIT_OK;
        } else {
            report_print_text(r, stdout);
            rc = EXIT_OK;
        }
    }
    free(r);
    mvf_close(h);
    return rc;
}

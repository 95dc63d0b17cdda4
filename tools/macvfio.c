/* SPDX-License-Identifier: MIT */
/* macvfio: inspect and self-test devices served by macvfiod. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static void usage(FILE *f)
{
    fprintf(f,
        "usage: macvfio list|info|selftest --socket PATH|--iokit [--device DEV] [--json]\n"
        "\n"
        "  list       one line per device the server offers\n"
        "  info       identity, BARs, capabilities, interrupts, DMA limits, stats\n"
        "  selftest   claim the device and check it end to end (exits 1 on failure)\n"
        "\n"
        "  -s, --socket PATH   macvfiod's socket (default: $MACVFIO_SOCKET)\n"
        "  -k, --iokit         macOS: the macvfio driver extension (the default\n"
        "                      there without --socket); --device BB:DD.F picks\n"
        "                      its service when it serves several devices\n"
        "  -d, --device DEV    index, [DDDD:]BB:DD.F or provider name (default 0)\n"
        "  -j, --json          print one JSON object\n"
        "  -t, --timeout MS    selftest: how long to wait for an interrupt (2000)\n"
        "  -h, --help          this text\n");
}

/* True for a plain decimal index. */
static bool is_index(const char *s)
{
    if (!*s)
        return false;
    for (; *s; s++)
        if (*s < '0' || *s > '9')
            return false;
    return true;
}

int cli_connect(const struct cli_opts *o, struct mvf_handle **h)
{
    uint16_t dom;
    uint8_t bus, devfn;
    int rc;

    if (o->iokit) {
        /* One dext service per device: a PCI address selects it. */
        bool bdf = o->device && mvf_bdf_parse(o->device, &dom, &bus, &devfn) == 0;
        rc = mvf_connect_iokit(bdf ? o->device : NULL, h);
    } else {
        rc = mvf_connect(o->socket, h);
    }

    if (rc < 0)
        fprintf(stderr, "macvfio: %s\n", mvf_last_error());
    return rc;
}

int cli_open_device(const struct cli_opts *o, struct mvf_handle *h)
{
    int rc;

    if (!o->device) {
        rc = mvf_device_open(h, 0);
    } else if (is_index(o->device)) {
        errno = 0;
        unsigned long v = strtoul(o->device, NULL, 10);
        if (errno || v > UINT32_MAX) {
            fprintf(stderr, "macvfio: device index %s out of range\n", o->device);
            return -EINVAL;
        }
        rc = mvf_device_open(h, (uint32_t)v);
    } else {
        rc = mvf_device_open_spec(h, o->device);
    }
    if (rc < 0)
        fprintf(stderr, "macvfio: %s\n", mvf_last_error());
    return rc;
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        { "socket", required_argument, NULL, 's' },
        { "iokit", no_argument, NULL, 'k' },
        { "device", required_argument, NULL, 'd' },
        { "json", no_argument, NULL, 'j' },
        { "timeout", required_argument, NULL, 't' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    struct cli_opts o = { .socket = getenv("MACVFIO_SOCKET"), .timeout_ms = 2000 };
    const char *cmd;
    char *end;
    int opt;

    while ((opt = getopt_long(argc, argv, "s:kd:jt:h", opts, NULL)) != -1) {
        switch (opt) {
        case 's':
            o.socket = optarg;
            break;
        case 'k':
            o.iokit = true;
            break;
        case 'd':
            o.device = optarg;
            break;
        case 'j':
            o.json = true;
            break;
        case 't':
            errno = 0;
            long v = strtol(optarg, &end, 10);
            if (errno || *end || end == optarg || v < 1 || v > 600000) {
                fprintf(stderr, "macvfio: bad --timeout '%s' (1..600000 ms)\n",
                        optarg);
                return EXIT_USAGE;
            }
            o.timeout_ms = (int)v;
            break;
        case 'h':
            usage(stdout);
            return EXIT_OK;
        default:
            usage(stderr);
            return EXIT_USAGE;
        }
    }
    if (optind + 1 != argc) {
        usage(stderr);
        return EXIT_USAGE;
    }
#ifdef __APPLE__
    if (!o.socket || !*o.socket)
        o.iokit = true;
#endif
    if (!o.iokit && (!o.socket || !*o.socket)) {
        fprintf(stderr, "macvfio: no socket: pass --socket PATH or set "
                "MACVFIO_SOCKET\n");
        return EXIT_USAGE;
    }
    cmd = argv[optind];
    if (strcmp(cmd, "list") == 0)
        return cmd_list(&o);
    if (strcmp(cmd, "info") == 0)
        return cmd_info(&o);
    if (strcmp(cmd, "selftest") == 0)
        return cmd_selftest(&o);
    fprintf(stderr, "macvfio: unknown command '%s'\n", cmd);
    usage(stderr);
    return EXIT_USAGE;
}

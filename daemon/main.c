/* SPDX-License-Identifier: MIT */
/* macvfiod: serves PCI devices to VMMs over a UNIX socket. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core.h"
#include "host_linux.h"
#include "server.h"
#include "registry.h"

#define MAX_DEVICE_ARGS 32

static void usage(FILE *f)
{
    fprintf(f,
        "usage: macvfiod --socket PATH --device SPEC [--device SPEC ...] [options]\n"
        "\n"
        "Serves PCI functions to VMMs (QEMU's vfio-apple-pci) over a UNIX socket.\n"
        "\n"
        "  -s, --socket PATH          socket to create (mode 0600)\n"
        "  -d, --device SPEC          a device to serve, e.g. sim:dmatest;\n"
        "                             repeat for more (bus 1, 2, ... in order)\n"
        "      --dma-budget BYTES     bytes mappable at once per device\n"
        "                             (default 1536M; K/M/G/T suffixes)\n"
        "      --dma-max-mappings N   live mappings per device (default 65536)\n"
        "      --dma-aperture-base A  first IOVA (default 0xf000000000)\n"
        "      --dma-aperture-size S  IOVA space size (default 64G)\n"
        "      --no-posted-writes     do not offer posted MMIO writes: clients\n"
        "                             wait for every write's reply (as with\n"
        "                             a server before ABI 1.2)\n"
        "  -v, --verbose              log debug messages\n"
        "  -q, --quiet                log errors and warnings only\n"
        "  -h, --help                 this text\n");
}

/* Parses a byte count with an optional K/M/G/T suffix, strictly. */
static int parse_size(const char *s, uint64_t *out)
{
    char *end;
    unsigned long long v;
    unsigned shift = 0;

    errno = 0;
    v = strtoull(s, &end, 0);
    if (errno || end == s || *s == '-')
        return -1;
    switch (*end) {
    case 'K': case 'k': shift = 10; end++; break;
    case 'M': case 'm': shift = 20; end++; break;
    case 'G': case 'g': shift = 30; end++; break;
    case 'T': case 't': shift = 40; end++; break;
    default: break;
    }
    if (*end || (shift && v > (~0ull >> shift)))
        return -1;
    *out = (uint64_t)v << shift;
    return 0;
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        { "socket", required_argument, NULL, 's' },
        { "device", required_argument, NULL, 'd' },
        { "dma-budget", required_argument, NULL, 'B' },
        { "dma-max-mappings", required_argument, NULL, 'M' },
        { "dma-aperture-base", required_argument, NULL, 'A' },
        { "dma-aperture-size", required_argument, NULL, 'S' },
        { "no-posted-writes", no_argument, NULL, 'P' },
        { "verbose", no_argument, NULL, 'v' },
        { "quiet", no_argument, NULL, 'q' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    const char *socket_path = NULL, *devices[MAX_DEVICE_ARGS];
    unsigned ndevices = 0;
    static struct mvf_host_ops hops;  /* outlives the core */
    struct mvf_dart_config dart;
    struct mvf_core *core;
    uint64_t v;
    int opt, rc;

    /* Before anything opens an fd: a closed stderr gets /dev/null. */
    mvf_log_init();
    mvf_dart_config_default(&dart);
    hops = mvf_linux_host_ops;
    while ((opt = getopt_long(argc, argv, "s:d:vqh", opts, NULL)) != -1) {
        switch (opt) {
        case 's':
            socket_path = optarg;
            break;
        case 'd':
            if (ndevices == MAX_DEVICE_ARGS) {
                fprintf(stderr, "macvfiod: at most %d devices\n", MAX_DEVICE_ARGS);
                return 2;
            }
            devices[ndevices++] = optarg;
            break;
        case 'B': case 'M': case 'A': case 'S':
            if (parse_size(optarg, &v) < 0 ||
                (opt == 'M' && (v == 0 || v > UINT32_MAX))) {
                fprintf(stderr, "macvfiod: bad value '%s' for --%s\n", optarg,
                        opt == 'B' ? "dma-budget" : opt == 'M' ? "dma-max-mappings" :
                        opt == 'A' ? "dma-aperture-base" : "dma-aperture-size");
                return 2;
            }
            if (opt == 'B')
                dart.budget_bytes = v;
            else if (opt == 'M')
                dart.max_mappings = (uint32_t)v;
            else if (opt == 'A')
                dart.base = v;
            else
                dart.size = v;
            break;
        case 'P':
            hops.transport_features &= ~MVF_FEAT_POSTED_WRITE;
            break;
        case 'v':
            mvf_linux_set_log_level(MVF_LOG_DEBUG);
            break;
        case 'q':
            mvf_linux_set_log_level(MVF_LOG_WARN);
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (!socket_path || !ndevices || optind != argc) {
        usage(stderr);
        return 2;
    }

    core = mvf_core_create(&hops, NULL);
    if (!core)
        return 1;
    for (unsigned i = 0; i < ndevices; i++) {
        struct mvf_provider prov;
        char err[256] = "";

        memset(&prov, 0, sizeof(prov));
        rc = mvf_sim_create(devices[i], &prov, err, sizeof(err));
        if (rc) {
            mvf_log(MVF_LOG_ERROR, "--device %s: %s", devices[i], err);
            mvf_core_destroy(core);
            return 2;
        }
        prov.bus = (uint8_t)(i + 1);
        rc = mvf_core_add_device(core, &prov, &dart, NULL);
        if (rc) {
            mvf_log(MVF_LOG_ERROR, "--device %s: cannot serve it (%s); see "
                    "the messages above, and the --dma-* values if any",
                    devices[i], strerror(-rc));
            mvf_core_destroy(core);
            return 2;
        }
        mvf_log(MVF_LOG_INFO, "device %u: %s at 0000:%02x:00.0", i, devices[i],
                i + 1);
    }
    rc = mvf_server_run(core, socket_path);
    mvf_core_destroy(core);
    return rc;
}

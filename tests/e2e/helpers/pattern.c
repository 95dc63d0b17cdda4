// SPDX-License-Identifier: MIT
/*
 * pattern: writes and verifies a reproducible data pattern on a block
 * device or file, with O_DIRECT, so a guest and the host can agree on
 * what a disk must hold without shipping the data.
 *
 *   pattern write  PATH --seed S --offset MIB --size MIB [--bs KIB]
 *   pattern verify PATH --seed S --offset MIB --size MIB [--bs KIB] [--buffered]
 *
 * Each 64-bit word at absolute byte offset o holds splitmix64(seed ^ o),
 * so a block written to the wrong place does not verify.  Prints one
 * line with the bytes and the time taken; exits 1 on the first mismatch
 * (with its offset) or I/O error, 2 on a usage error.
 *
 * Built static for the guests (tests/e2e/test-nvme.sh) and natively to
 * check the host's backing file.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static uint64_t splitmix64(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

static void fill(uint64_t *buf, size_t len, uint64_t seed, uint64_t off)
{
    for (size_t i = 0; i < len / 8; i++)
        buf[i] = splitmix64(seed ^ (off + 8 * i));
}

static double now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int usage(void)
{
    fprintf(stderr, "usage: pattern write|verify PATH --seed S --offset MIB "
                    "--size MIB [--bs KIB] [--buffered]\n");
    return 2;
}

static int parse_u64(const char *s, uint64_t *out)
{
    char *end;

    errno = 0;
    *out = strtoull(s, &end, 0);
    return errno || !*s || *end ? -1 : 0;
}

int main(int argc, char **argv)
{
    uint64_t seed = 0, off_mib = 0, size_mib = 0, bs_kib = 1024;
    int buffered = 0, writing, fd;
    uint64_t *buf, *want, done;
    double t0, dt;

    if (argc < 3)
        return usage();
    if (!strcmp(argv[1], "write"))
        writing = 1;
    else if (!strcmp(argv[1], "verify"))
        writing = 0;
    else
        return usage();
    for (int i = 3; i < argc; i++) {
        uint64_t *dst = NULL;

        if (!strcmp(argv[i], "--buffered")) {
            buffered = 1;
            continue;
        }
        if (!strcmp(argv[i], "--seed"))
            dst = &seed;
        else if (!strcmp(argv[i], "--offset"))
            dst = &off_mib;
        else if (!strcmp(argv[i], "--size"))
            dst = &size_mib;
        else if (!strcmp(argv[i], "--bs"))
            dst = &bs_kib;
        if (!dst || i + 1 >= argc || parse_u64(argv[++i], dst))
            return usage();
    }
    if (!size_mib || !bs_kib || bs_kib > 65536 || (size_mib * 1024) % bs_kib ||
        off_mib > (1ull << 40) || size_mib > (1ull << 40))
        return usage();

    size_t bs = bs_kib * 1024;
    uint64_t start = off_mib << 20, total = size_mib << 20;

    fd = open(argv[2], (writing ? O_WRONLY : O_RDONLY) | (buffered ? 0 : O_DIRECT));
    if (fd < 0) {
        fprintf(stderr, "pattern: %s: %s\n", argv[2], strerror(errno));
        return 1;
    }
    if (posix_memalign((void **)&buf, 4096, bs) || posix_memalign((void **)&want, 4096, bs)) {
        fprintf(stderr, "pattern: out of memory\n");
        return 1;
    }
    t0 = now();
    for (done = 0; done < total; done += bs) {
        uint64_t at = start + done;
        ssize_t n;

        fill(want, bs, seed, at);
        if (writing)
            n = pwrite(fd, want, bs, (off_t)at);
        else
            n = pread(fd, buf, bs, (off_t)at);
        if (n != (ssize_t)bs) {
            fprintf(stderr, "pattern: %s at byte %" PRIu64 ": %s\n",
                    writing ? "write" : "read", at,
                    n < 0 ? strerror(errno) : "short transfer");
            return 1;
        }
        if (!writing && memcmp(buf, want, bs)) {
            size_t i = 0;

            while (buf[i] == want[i])
                i++;
            fprintf(stderr, "pattern: mismatch at byte %" PRIu64 ": 0x%016" PRIx64
                            ", expected 0x%016" PRIx64 "\n",
                    at + 8 * i, buf[i], want[i]);
            return 1;
        }
    }
    if (writing && fsync(fd)) {
        fprintf(stderr, "pattern: fsync: %s\n", strerror(errno));
        return 1;
    }
    dt = now() - t0;
    if (dt <= 0)
        dt = 1e-6;
    printf("pattern %s %" PRIu64 " MiB at %" PRIu64 " MiB, %zu KiB blocks%s: "
           "%.2f s, %.1f MiB/s\n", writing ? "write" : "verify", size_mib,
           off_mib, bs / 1024, buffered ? "" : ", O_DIRECT", dt, size_mib / dt);
    close(fd);
    free(buf);
    free(want);
    return 0;
}

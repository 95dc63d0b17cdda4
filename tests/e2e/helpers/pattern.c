// SPDX-License-Identifier: MIT
/*
 * pattern: writes and verifies a reproducible data pattern on a block
 * device or file, with O_DIRECT, so a guest and the host can agree on
 * what a disk must hold without shipping the data.
 *
 *   pattern write  PATH --seed S --offset MIB --size MIB [--bs KIB]
 *   pattern verify PATH --seed S --offset MIB --size MIB [--bs KIB] [--buffered]
 *   pattern random PATH --seed S --offset MIB --size MIB [--bs KIB]
 *                  --threads N --ios N [--pool MIB]
 *
 * random: N threads issue --ios O_DIRECT I/Os in all, each of --bs KiB
 * (default 4) at a random block of a region that holds the pattern
 * already: a third are writes of the pattern itself (so the region keeps
 * its content whatever the order), the rest reads compared byte for byte.
 * Each I/O uses a random slot of its thread's share of a --pool MiB buffer
 * pool (default 16), so DMA buffers come and go like a page cache's.
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
#include <pthread.h>
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
                    "--size MIB [--bs KIB] [--buffered]\n"
                    "       pattern random PATH --seed S --offset MIB --size MIB "
                    "[--bs KIB] --threads N --ios N [--pool MIB]\n");
    return 2;
}

static int parse_u64(const char *s, uint64_t *out)
{
    char *end;

    errno = 0;
    *out = strtoull(s, &end, 0);
    return errno || !*s || *end ? -1 : 0;
}

struct rnd {
    int fd;
    uint64_t seed, start, total, bs, pool, ios;
    uint64_t rng, reads, writes;
    int failed;
    pthread_t th;
};

static void *rnd_worker(void *arg)
{
    struct rnd *r = arg;
    uint64_t nslots = r->pool / r->bs, nblk = r->total / r->bs, k;
    unsigned char *pool;
    uint64_t *want;

    if (posix_memalign((void **)&pool, 4096, r->pool) ||
        posix_memalign((void **)&want, 4096, r->bs)) {
        fprintf(stderr, "pattern: out of memory\n");
        r->failed = 1;
        return NULL;
    }
    memset(pool, 0, r->pool);
    for (k = 0; k < r->ios && !r->failed; k++) {
        uint64_t x = splitmix64(r->rng++);
        uint64_t at = r->start + (x % nblk) * r->bs;
        uint64_t *buf = (uint64_t *)(pool + ((x >> 32) % nslots) * r->bs);
        int w = (x >> 20) % 3 == 0;
        ssize_t n;

        fill(want, r->bs, r->seed, at);
        if (w) {
            memcpy(buf, want, r->bs);
            n = pwrite(r->fd, buf, r->bs, (off_t)at);
        } else {
            memset(buf, 0xa5, r->bs);
            n = pread(r->fd, buf, r->bs, (off_t)at);
        }
        if (n != (ssize_t)r->bs) {
            fprintf(stderr, "pattern: random %s at byte %" PRIu64 ": %s\n",
                    w ? "write" : "read", at, n < 0 ? strerror(errno) : "short transfer");
            r->failed = 1;
            break;
        }
        if (w) {
            r->writes++;
        } else if (memcmp(buf, want, r->bs)) {
            size_t i = 0;

            while (buf[i] == want[i])
                i++;
            fprintf(stderr, "pattern: random read mismatch at byte %" PRIu64
                            ": 0x%016" PRIx64 ", expected 0x%016" PRIx64 "\n",
                    at + 8 * i, buf[i], want[i]);
            r->failed = 1;
        } else {
            r->reads++;
        }
    }
    free(pool);
    free(want);
    return NULL;
}

static int random_io(const char *path, uint64_t seed, uint64_t start, uint64_t total,
                     uint64_t bs, uint64_t threads, uint64_t ios, uint64_t pool)
{
    struct rnd r[64];
    uint64_t reads = 0, writes = 0, i;
    int fd, failed = 0;
    double t0, dt;

    if (!threads || threads > 64 || !ios || pool / threads < bs || total < bs)
        return usage();
    fd = open(path, O_RDWR | O_DIRECT);
    if (fd < 0) {
        fprintf(stderr, "pattern: %s: %s\n", path, strerror(errno));
        return 1;
    }
    t0 = now();
    for (i = 0; i < threads; i++) {
        r[i] = (struct rnd){ .fd = fd, .seed = seed, .start = start, .total = total,
                             .bs = bs, .pool = pool / threads / bs * bs,
                             .ios = ios / threads + (i < ios % threads),
                             .rng = seed * 0x100000001b3ull + i * 0x9e3779b97f4a7c15ull };
        if (pthread_create(&r[i].th, NULL, rnd_worker, &r[i])) {
            fprintf(stderr, "pattern: cannot start thread %" PRIu64 "\n", i);
            return 1;
        }
    }
    for (i = 0; i < threads; i++) {
        pthread_join(r[i].th, NULL);
        failed |= r[i].failed;
        reads += r[i].reads;
        writes += r[i].writes;
    }
    if (failed)
        return 1;
    if (fsync(fd)) {
        fprintf(stderr, "pattern: fsync: %s\n", strerror(errno));
        return 1;
    }
    dt = now() - t0;
    if (dt <= 0)
        dt = 1e-6;
    printf("pattern random %" PRIu64 " I/Os (%" PRIu64 " reads verified, %" PRIu64
           " writes) of %" PRIu64 " KiB in %" PRIu64 " MiB at %" PRIu64 " MiB, %" PRIu64
           " threads, %" PRIu64 " MiB of buffers, O_DIRECT: %.2f s, %.0f IOPS\n",
           reads + writes, reads, writes, bs >> 10, total >> 20, start >> 20, threads,
           pool >> 20, dt, (reads + writes) / dt);
    close(fd);
    return 0;
}

int main(int argc, char **argv)
{
    uint64_t seed = 0, off_mib = 0, size_mib = 0, bs_kib = 1024;
    uint64_t threads = 0, ios = 0, pool_mib = 16;
    int buffered = 0, writing, rnd = 0, fd;
    uint64_t *buf, *want, done;
    double t0, dt;

    if (argc < 3)
        return usage();
    if (!strcmp(argv[1], "write"))
        writing = 1;
    else if (!strcmp(argv[1], "verify"))
        writing = 0;
    else if (!strcmp(argv[1], "random"))
        writing = 0, rnd = 1, bs_kib = 4;
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
        else if (!strcmp(argv[i], "--threads"))
            dst = &threads;
        else if (!strcmp(argv[i], "--ios"))
            dst = &ios;
        else if (!strcmp(argv[i], "--pool"))
            dst = &pool_mib;
        if (!dst || i + 1 >= argc || parse_u64(argv[++i], dst))
            return usage();
    }
    if (!size_mib || !bs_kib || bs_kib > 65536 || (size_mib * 1024) % bs_kib ||
        off_mib > (1ull << 40) || size_mib > (1ull << 40))
        return usage();

    size_t bs = bs_kib * 1024;
    uint64_t start = off_mib << 20, total = size_mib << 20;

    if (rnd)
        return random_io(argv[2], seed, start, total, bs, threads, ios,
                         pool_mib > 4096 ? 0 : pool_mib << 20);

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

// SPDX-License-Identifier: MIT
/*
 * iogen: a tiny O_DIRECT load generator for the guest I/O benchmark
 * (bench/guest-io.sh, tests/e2e/tests/bench-io.sh).  Built static, shipped
 * in the busybox initramfs as /bin/iogen.  fio would do, but Debian's is
 * dynamically linked against librados, librbd, libgfapi, libibverbs, ...:
 * far too much to carry into an initramfs, and one missing library ends the
 * benchmark.  This does the loads the benchmark needs and nothing else.
 *
 *   iogen [options] DEVICE           a load; prints one result line
 *   iogen fill FILE SIZE [SEED]      host side: write the benchmark pattern
 *
 * Options:
 *   -m randread|seqread|randwrite|verify
 *                         randread: random BS-aligned offsets from a fixed
 *                         seed; seqread: consecutive blocks, wrapping at the
 *                         end; randwrite: random offsets, each 4 KiB block
 *                         written starting with its own offset, so the
 *                         device keeps the fill pattern; verify: reads back
 *                         the blocks a randwrite listed in -W FILE and
 *                         checks them as -V does (default randread)
 *   -b BYTES              block size (default 4096; 131072 for seqread)
 *   -q N                  I/Os in flight (default 4)
 *   -e aio|sync           aio (default): one thread, Linux native AIO by raw
 *                         syscalls (io_setup/io_submit/io_getevents), N
 *                         in flight; sync: N threads, each pread() in turn
 *   -t SECONDS            run time (default 10; ignored with -n)
 *   -n IOS                stop after this many I/Os instead
 *   -s SEED               random seed (default 1)
 *   -P MIB                sync engine: each I/O of a thread uses a random
 *                         BS slot of its share of a MIB buffer pool (a read
 *                         lands in it; a randwrite stamps it and writes it
 *                         out), so DMA buffers come and go like a page
 *                         cache's (default 0: one fixed buffer per thread)
 *   -V                    verify: every 4 KiB block read must start with its
 *                         own byte offset (little-endian u64), as `iogen
 *                         fill` writes it; mismatches are counted in errors=
 *   -W FILE               randwrite: the blocks written, as a bitmap, for
 *                         a later `-m verify -W FILE` (outside the load
 *                         being measured); verify: the bitmap to check
 *
 * Output (one line, for scripts):
 *   iogen mode=randread engine=aio bs=4096 qd=4 ios=N bytes=B secs=S
 *         iops=X mbps=Y errors=E lat_p50_us=P lat_p99_us=Q
 * where mbps is 10^6 bytes per second and lat_* the time from submitting
 * an I/O to seeing it complete, in 1 us steps (100000 = 100 ms or more).  Exit status 0 unless an I/O failed
 * or (with -V) a block held the wrong data.
 *
 * Fill pattern: each 4 KiB block starts with its offset (u64 LE), the rest is
 * xorshift64 output from SEED ^ offset, so reads move real, incompressible
 * data and a misdirected DMA shows up as a wrong offset.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/aio_abi.h>
#include <linux/fs.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define BLK 4096u
#define MAXQD 256

static const char *mode = "randread";
static const char *engine = "aio";
static uint64_t bs;
static unsigned qd = 4;
static double secs = 10;
static uint64_t max_ios;
static uint64_t seed = 1;
static uint64_t pool_mib;
static int verify;

static int fd;
static uint64_t dev_size, nblocks;
static double t_start, t_end;

/* Latency histogram, 1 us buckets; the last one holds the rest. */
#define LAT_BUCKETS 100001u
static uint32_t lat_hist[LAT_BUCKETS];

/* Shared progress, guarded by lock in the sync engine. */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static uint64_t issued, done_ios, done_bytes, errors, io_failures;
static uint64_t rng, seq_next;
static unsigned char *written;  /* randwrite -W: blocks to read back */
static const char *written_file;

static double now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static uint64_t xorshift(uint64_t *s)
{
    uint64_t x = *s;

    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return *s = x;
}

static int writing(void)
{
    return !strcmp(mode, "randwrite");
}

/* Records one I/O's latency (seconds).  Locked in the sync engine. */
static void lat_add(double t)
{
    double us = t * 1e6;

    lat_hist[us < LAT_BUCKETS - 1 ? (unsigned)us : LAT_BUCKETS - 1]++;
}

static unsigned lat_pct(double p)
{
    uint64_t total = 0, want, run = 0;
    unsigned i;

    for (i = 0; i < LAT_BUCKETS; i++)
        total += lat_hist[i];
    if (!total)
        return 0;
    want = (uint64_t)(p * total + 0.999999);
    for (i = 0; i < LAT_BUCKETS; i++) {
        run += lat_hist[i];
        if (run >= want)
            return i;
    }
    return LAT_BUCKETS - 1;
}

/* A write buffer for offset off: each 4 KiB block starts with its own
 * offset, the rest is what the buffer held (random from alloc_buf). */
static void stamp(unsigned char *buf, uint64_t off)
{
    for (uint64_t i = 0; i < bs; i += BLK) {
        uint64_t v = off + i;

        memcpy(buf + i, &v, sizeof(v));
    }
}

/* The next offset to read, or -1 when no more I/O should start. Locked. */
static int64_t next_offset(void)
{
    uint64_t blk;

    if (max_ios ? issued >= max_ios : now() >= t_end)
        return -1;
    issued++;
    if (strcmp(mode, "seqread")) {
        blk = xorshift(&rng) % nblocks;
        if (written)
            written[blk / 8] |= (unsigned char)(1u << (blk % 8));
    } else {
        blk = seq_next;
        seq_next = (seq_next + 1) % nblocks;
    }
    return (int64_t)(blk * bs);
}

static void check(const unsigned char *buf, uint64_t off, long n)
{
    uint64_t v, i;

    if (n != (long)bs) {
        errors++;
        return;
    }
    if (!verify)
        return;
    for (i = 0; i + BLK <= (uint64_t)n; i += BLK) {
        memcpy(&v, buf + i, sizeof(v));
        if (v != off + i)
            errors++;
    }
}

static void *alloc_bytes(uint64_t len)
{
    uint64_t r = 0x2545f4914f6cdd1dull;
    void *p;

    if (posix_memalign(&p, BLK, len)) {
        perror("iogen: posix_memalign");
        exit(2);
    }
    /* Incompressible data for writes; reads overwrite it. */
    for (uint64_t i = 0; i + 8 <= len; i += 8) {
        uint64_t v = xorshift(&r);

        memcpy((unsigned char *)p + i, &v, 8);
    }
    return p;
}

static void *alloc_buf(void)
{
    return alloc_bytes(bs);
}

/* verify: every block a randwrite wrote reads back with its offsets. */
static void verify_written(void)
{
    unsigned char *buf = alloc_buf();

    verify = 1;
    t_start = now();
    for (uint64_t blk = 0; blk < nblocks; blk++) {
        ssize_t n;

        if (!(written[blk / 8] & (1u << (blk % 8))))
            continue;
        n = pread(fd, buf, bs, (off_t)(blk * bs));
        if (n < 0) {
            if (!io_failures++)
                fprintf(stderr, "iogen: read back at %" PRIu64 ": %s\n", blk * bs,
                        strerror(errno));
            continue;
        }
        check(buf, blk * bs, (long)n);
        done_ios++;
        done_bytes += (uint64_t)n;
    }
    free(buf);
}

static int bitmap_io(int write)
{
    size_t len = (size_t)(nblocks + 7) / 8;
    FILE *f = fopen(written_file, write ? "wb" : "rb");
    int ok;

    if (!f) {
        fprintf(stderr, "iogen: %s: %s\n", written_file, strerror(errno));
        return -1;
    }
    ok = (write ? fwrite(written, 1, len, f) : fread(written, 1, len, f)) == len;
    ok = (fclose(f) == 0) && ok;
    if (!ok)
        fprintf(stderr, "iogen: %s: short %s\n", written_file, write ? "write" : "read");
    return ok ? 0 : -1;
}

/* --- sync engine: qd threads, one pread at a time each ------------------- */

static void *sync_worker(void *arg)
{
    uint64_t share = pool_mib ? (pool_mib << 20) / qd / bs * bs : 0;
    uint64_t nslots = share ? share / bs : 1, r = seed ^ (uintptr_t)arg ^ 0x5bd1e995u;
    unsigned char *pool, *buf;
    int64_t off;
    ssize_t n;

    double t0;

    if (nslots < 1)
        nslots = 1;
    pool = alloc_bytes(nslots * bs);
    for (;;) {
        pthread_mutex_lock(&lock);
        off = next_offset();
        pthread_mutex_unlock(&lock);
        if (off < 0)
            break;
        buf = pool + (nslots > 1 ? xorshift(&r) % nslots : 0) * bs;
        if (writing())
            stamp(buf, (uint64_t)off);
        t0 = now();
        n = writing() ? pwrite(fd, buf, bs, off) : pread(fd, buf, bs, off);
        t0 = now() - t0;
        pthread_mutex_lock(&lock);
        if (n < 0) {
            if (!io_failures++)
                fprintf(stderr, "iogen: %s at %" PRId64 ": %s\n",
                        writing() ? "pwrite" : "pread", off, strerror(errno));
        } else {
            lat_add(t0);
            if (writing()) {
                if (n != (ssize_t)bs)
                    errors++;
            } else {
                check(buf, (uint64_t)off, (long)n);
            }
            done_ios++;
            done_bytes += (uint64_t)n;
        }
        pthread_mutex_unlock(&lock);
    }
    free(pool);
    return NULL;
}

static void run_sync(void)
{
    pthread_t th[MAXQD];
    unsigned i;

    for (i = 0; i < qd; i++)
        if (pthread_create(&th[i], NULL, sync_worker, (void *)(uintptr_t)(i + 1))) {
            fprintf(stderr, "iogen: cannot start thread %u\n", i);
            exit(2);
        }
    for (i = 0; i < qd; i++)
        pthread_join(th[i], NULL);
}

/* --- aio engine: native AIO through raw syscalls (no libaio) ------------- */

static double submitted_at[MAXQD];

static int submit_one(aio_context_t ctx, struct iocb *cb, unsigned idx,
                      unsigned char *buf)
{
    struct iocb *list[1] = { cb };
    int64_t off = next_offset();

    if (off < 0)
        return 0;
    memset(cb, 0, sizeof(*cb));
    cb->aio_fildes = (uint32_t)fd;
    cb->aio_lio_opcode = writing() ? IOCB_CMD_PWRITE : IOCB_CMD_PREAD;
    if (writing())
        stamp(buf, (uint64_t)off);
    cb->aio_buf = (uint64_t)(uintptr_t)buf;
    cb->aio_nbytes = bs;
    cb->aio_offset = off;
    cb->aio_data = (uint64_t)(uintptr_t)cb;
    submitted_at[idx] = now();
    if (syscall(SYS_io_submit, ctx, 1L, list) != 1) {
        fprintf(stderr, "iogen: io_submit: %s\n", strerror(errno));
        exit(2);
    }
    return 1;
}

static void run_aio(void)
{
    aio_context_t ctx = 0;
    struct iocb cbs[MAXQD];
    unsigned char *bufs[MAXQD];
    struct io_event ev[MAXQD];
    unsigned i, inflight = 0;
    long n, k;

    if (syscall(SYS_io_setup, qd, &ctx) < 0) {
        fprintf(stderr, "iogen: io_setup(%u): %s\n", qd, strerror(errno));
        exit(2);
    }
    for (i = 0; i < qd; i++) {
        bufs[i] = alloc_buf();
        inflight += submit_one(ctx, &cbs[i], i, bufs[i]);
    }
    while (inflight) {
        n = syscall(SYS_io_getevents, ctx, 1L, (long)qd, ev, NULL);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            fprintf(stderr, "iogen: io_getevents: %s\n", strerror(errno));
            exit(2);
        }
        for (k = 0; k < n; k++) {
            struct iocb *cb = (struct iocb *)(uintptr_t)ev[k].data;
            unsigned idx = (unsigned)(cb - cbs);

            inflight--;
            lat_add(now() - submitted_at[idx]);
            if (ev[k].res < 0) {
                if (!io_failures++)
                    fprintf(stderr, "iogen: %s at %lld: %s\n", writing() ? "write" : "read",
                            (long long)cb->aio_offset, strerror((int)-ev[k].res));
            } else if (writing()) {
                if (ev[k].res != (long long)bs)
                    errors++;
                done_ios++;
                done_bytes += (uint64_t)ev[k].res;
            } else {
                check(bufs[idx], (uint64_t)cb->aio_offset, (long)ev[k].res);
                done_ios++;
                done_bytes += (uint64_t)ev[k].res;
            }
            inflight += submit_one(ctx, cb, idx, bufs[idx]);
        }
    }
    syscall(SYS_io_destroy, ctx);
    for (i = 0; i < qd; i++)
        free(bufs[i]);
}

/* --- fill: the host writes the pattern into the backing file ------------- */

static uint64_t parse_size(const char *s)
{
    char *end;
    uint64_t v = strtoull(s, &end, 0);

    switch (*end) {
    case 'k': case 'K': v <<= 10; end++; break;
    case 'm': case 'M': v <<= 20; end++; break;
    case 'g': case 'G': v <<= 30; end++; break;
    }
    if (*end || !v) {
        fprintf(stderr, "iogen: bad size '%s'\n", s);
        exit(2);
    }
    return v;
}

static int fill(const char *path, uint64_t size, uint64_t s)
{
    static unsigned char buf[1 << 20];
    uint64_t off, i, j, r;
    FILE *f;

    if (size % BLK) {
        fprintf(stderr, "iogen: fill size must be a multiple of %u\n", BLK);
        return 2;
    }
    f = fopen(path, "wb");
    if (!f) {
        perror(path);
        return 2;
    }
    for (off = 0; off < size; off += sizeof(buf)) {
        uint64_t len = size - off < sizeof(buf) ? size - off : sizeof(buf);

        for (i = 0; i < len; i += BLK) {
            uint64_t o = off + i;

            memcpy(buf + i, &o, 8);
            r = (s ^ o) * 0x9e3779b97f4a7c15ull | 1;
            for (j = 8; j < BLK; j += 8) {
                xorshift(&r);
                memcpy(buf + i + j, &r, 8);
            }
        }
        if (fwrite(buf, 1, len, f) != len) {
            perror(path);
            return 2;
        }
    }
    if (fclose(f)) {
        perror(path);
        return 2;
    }
    return 0;
}

static void usage(void)
{
    fprintf(stderr,
            "usage: iogen [-m randread|seqread|randwrite|verify] [-b BYTES] [-q N] [-e aio|sync]\n"
            "             [-t SECS | -n IOS] [-s SEED] [-P MIB] [-V] [-W FILE] DEVICE\n"
            "       iogen fill FILE SIZE [SEED]\n");
    exit(2);
}

int main(int argc, char **argv)
{
    double elapsed;
    int c;

    if (argc >= 2 && !strcmp(argv[1], "fill")) {
        if (argc < 4 || argc > 5)
            usage();
        return fill(argv[2], parse_size(argv[3]), argc == 5 ? strtoull(argv[4], NULL, 0) : 1);
    }
    while ((c = getopt(argc, argv, "m:b:q:e:t:n:s:P:VW:h")) != -1) {
        switch (c) {
        case 'm': mode = optarg; break;
        case 'b': bs = parse_size(optarg); break;
        case 'q': qd = (unsigned)atoi(optarg); break;
        case 'e': engine = optarg; break;
        case 't': secs = atof(optarg); break;
        case 'n': max_ios = strtoull(optarg, NULL, 0); break;
        case 's': seed = strtoull(optarg, NULL, 0); break;
        case 'P': pool_mib = strtoull(optarg, NULL, 0); break;
        case 'V': verify = 1; break;
        case 'W': written_file = optarg; break;
        default: usage();
        }
    }
    if (optind != argc - 1)
        usage();
    if (strcmp(mode, "randread") && strcmp(mode, "seqread") && !writing() &&
        strcmp(mode, "verify")) {
        fprintf(stderr, "iogen: -m randread, seqread, randwrite or verify\n");
        return 2;
    }
    if (!strcmp(mode, "verify") && !written_file) {
        fprintf(stderr, "iogen: -m verify needs -W FILE\n");
        return 2;
    }
    if (strcmp(engine, "aio") && strcmp(engine, "sync")) {
        fprintf(stderr, "iogen: -e aio or sync\n");
        return 2;
    }
    if (!bs)
        bs = strcmp(mode, "seqread") ? 4096 : 131072;
    if (bs % 512 || qd < 1 || qd > MAXQD || (!max_ios && secs <= 0)) {
        fprintf(stderr, "iogen: need -b a multiple of 512, 1 <= -q <= %d, -t > 0\n", MAXQD);
        return 2;
    }

    fd = open(argv[optind], (writing() ? O_RDWR : O_RDONLY) | O_DIRECT);
    if (fd < 0) {
        fprintf(stderr, "iogen: %s: %s\n", argv[optind], strerror(errno));
        return 2;
    }
    {
        struct stat st;

        if (fstat(fd, &st) == 0 && S_ISBLK(st.st_mode)) {
            if (ioctl(fd, BLKGETSIZE64, &dev_size)) {
                perror("iogen: BLKGETSIZE64");
                return 2;
            }
        } else {
            dev_size = (uint64_t)st.st_size;
        }
    }
    nblocks = dev_size / bs;
    if (!nblocks) {
        fprintf(stderr, "iogen: %s is smaller than one block\n", argv[optind]);
        return 2;
    }
    if (written_file && (writing() || !strcmp(mode, "verify"))) {
        written = calloc((size_t)(nblocks + 7) / 8, 1);
        if (!written) {
            perror("iogen: calloc");
            return 2;
        }
    }
    if (!strcmp(mode, "verify")) {
        if (bitmap_io(0))
            return 2;
        verify_written();
        printf("iogen mode=verify bs=%" PRIu64 " ios=%" PRIu64 " secs=%.3f errors=%" PRIu64 "\n",
               bs, done_ios, now() - t_start, errors + io_failures);
        close(fd);
        return io_failures || errors ? 1 : 0;
    }
    rng = seed * 0x9e3779b97f4a7c15ull | 1;

    t_start = now();
    t_end = t_start + secs;
    if (engine[0] == 'a')
        run_aio();
    else
        run_sync();
    elapsed = now() - t_start;
    if (elapsed <= 0)
        elapsed = 1e-9;
    if (written && bitmap_io(1))
        io_failures++;

    printf("iogen mode=%s engine=%s bs=%" PRIu64 " qd=%u ios=%" PRIu64 " bytes=%" PRIu64
           " secs=%.3f iops=%.0f mbps=%.2f errors=%" PRIu64 " lat_p50_us=%u lat_p99_us=%u\n",
           mode, engine, bs, qd, done_ios, done_bytes, elapsed, done_ios / elapsed,
           done_bytes / elapsed / 1e6, errors + io_failures, lat_pct(0.50), lat_pct(0.99));
    close(fd);
    return io_failures || errors ? 1 : 0;
}

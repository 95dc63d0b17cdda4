/* SPDX-License-Identifier: MIT */
/* sim:nvme backing store: a regular file (preadv/pwritev) or anonymous RAM. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "nvme_priv.h"

#ifndef FALLOC_FL_ZERO_RANGE
#include <linux/falloc.h>
#endif

#define STORE_ALIGN 4096ull

static int open_file(struct nvme_store *s, const char *path, char *err,
                     size_t errlen)
{
    struct stat st;
    int e;

    s->fd = open(path, O_RDWR | O_CLOEXEC);
    if (s->fd < 0 && errno == EISDIR)
        goto not_regular;
    if (s->fd < 0) {
        e = errno;
        snprintf(err, errlen, "sim:nvme: file=%.120s: %s", path, strerror(e));
        return -e;
    }
    if (fstat(s->fd, &st) != 0) {
        e = errno;
        snprintf(err, errlen, "sim:nvme: file=%.120s: %s", path, strerror(e));
        return -e;
    }
    if (!S_ISREG(st.st_mode))
        goto not_regular;
    s->size = (uint64_t)st.st_size & ~(STORE_ALIGN - 1);
    if (s->size == 0) {
        snprintf(err, errlen, "sim:nvme: file=%.120s is smaller than 4 KiB "
                 "(%lld bytes); create it with the disk size first, e.g. "
                 "truncate -s 64M", path, (long long)st.st_size);
        return -EINVAL;
    }
    /* Two daemons (or a daemon and QEMU) writing one image corrupt it. */
    if (flock(s->fd, LOCK_EX | LOCK_NB) != 0) {
        e = errno;
        snprintf(err, errlen, "sim:nvme: file=%.120s is in use by another "
                 "process (%s)", path, strerror(e));
        return e == EWOULDBLOCK ? -EBUSY : -e;
    }
    return 0;
not_regular:
    snprintf(err, errlen, "sim:nvme: file=%.120s is not a regular file", path);
    return -EINVAL;
}

static int open_ram(struct nvme_store *s, uint64_t size, char *err,
                    size_t errlen)
{
    void *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

    if (p == MAP_FAILED) {
        int e = errno;

        snprintf(err, errlen, "sim:nvme: cannot reserve %llu bytes of RAM: %s",
                 (unsigned long long)size, strerror(e));
        return -e;
    }
    s->ram = p;
    s->size = size;
    return 0;
}

int nvme_store_open(struct nvme_store *s, const char *path, uint64_t ram_size,
                    char *err, size_t errlen)
{
    int rc;

    s->fd = -1;
    s->ram = NULL;
    s->size = 0;
    rc = path ? open_file(s, path, err, errlen)
              : open_ram(s, ram_size, err, errlen);
    if (rc)
        nvme_store_close(s);
    return rc;
}

void nvme_store_close(struct nvme_store *s)
{
    if (s->fd >= 0)
        close(s->fd);   /* drops the lock */
    if (s->ram)
        munmap(s->ram, s->size);
    s->fd = -1;
    s->ram = NULL;
}

static bool in_store(const struct nvme_store *s, uint64_t off, uint64_t len)
{
    return off <= s->size && len <= s->size - off;
}

static uint64_t spans_bytes(const struct mvf_dma_spans *v)
{
    uint64_t total = 0;

    for (unsigned i = 0; i < v->n; i++)
        total += v->span[i].len;
    return total;
}

/* preadv/pwritev over the spans, IOV_CHUNK at a time, until every byte
 * has moved: short transfers go on where they stopped. */
#define IOV_CHUNK 64

static int file_io(int fd, uint64_t off, const struct mvf_dma_spans *v,
                   bool write)
{
    unsigned i = 0;
    size_t done = 0;    /* bytes of span i already moved */

    for (;;) {
        struct iovec iov[IOV_CHUNK];
        int cnt = 0;
        ssize_t got;

        while (i < v->n && done == v->span[i].len) {
            i++;
            done = 0;
        }
        if (i == v->n)
            return 0;
        for (unsigned j = i; j < v->n && cnt < IOV_CHUNK; j++, cnt++) {
            size_t skip = j == i ? done : 0;

            iov[cnt].iov_base = (uint8_t *)v->span[j].host + skip;
            iov[cnt].iov_len = v->span[j].len - skip;
        }
        got = write ? pwritev(fd, iov, cnt, (off_t)off)
                    : preadv(fd, iov, cnt, (off_t)off);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0)
            return -errno;
        if (got == 0)
            return -EIO;    /* the file shrank under us */
        off += (uint64_t)got;
        for (size_t left = (size_t)got; left;) {
            size_t step = v->span[i].len - done;

            if (step > left)
                step = left;
            done += step;
            left -= step;
            if (done == v->span[i].len) {
                i++;
                done = 0;
            }
        }
    }
}

static int store_io(struct nvme_store *s, uint64_t off,
                    const struct mvf_dma_spans *v, bool write)
{
    if (!in_store(s, off, spans_bytes(v)))
        return -EINVAL;
    if (!s->ram)
        return file_io(s->fd, off, v, write);
    for (unsigned i = 0; i < v->n; i++) {
        if (write)
            memcpy(s->ram + off, v->span[i].host, v->span[i].len);
        else
            memcpy(v->span[i].host, s->ram + off, v->span[i].len);
        off += v->span[i].len;
    }
    return 0;
}

int nvme_store_readv(struct nvme_store *s, uint64_t off,
                     const struct mvf_dma_spans *v)
{
    return store_io(s, off, v, false);
}

int nvme_store_writev(struct nvme_store *s, uint64_t off,
                      const struct mvf_dma_spans *v)
{
    return store_io(s, off, v, true);
}

int nvme_store_write(struct nvme_store *s, uint64_t off, const void *buf,
                     size_t len)
{
    struct mvf_dma_span one = { (void *)(uintptr_t)buf, len };
    struct mvf_dma_spans v = { &one, 1, 1 };

    return store_io(s, off, &v, true);
}

/* RAM: pages wholly inside the range are dropped (the private anonymous
 * mapping reads them back as zeros, and frees their memory), so a 32 MiB
 * Write Zeroes costs a system call rather than 32 MiB of stores. */
static void zero_ram(struct nvme_store *s, uint64_t off, uint64_t len)
{
    uint64_t pg = (uint64_t)sysconf(_SC_PAGESIZE);
    uint64_t a = (off + pg - 1) / pg * pg, b = (off + len) / pg * pg;

    if (a < b && madvise(s->ram + a, b - a, MADV_DONTNEED) == 0) {
        memset(s->ram + off, 0, a - off);
        memset(s->ram + b, 0, off + len - b);
        return;
    }
    memset(s->ram + off, 0, len);
}

int nvme_store_zero(struct nvme_store *s, uint64_t off, uint64_t len)
{
    static const uint8_t zeros[64 << 10];

    if (!in_store(s, off, len))
        return -EINVAL;
    if (s->ram) {
        zero_ram(s, off, len);
        return 0;
    }
    /* Cheap where the file system can do it (tmpfs can punch holes but
     * not zero ranges); written out otherwise. */
    if (fallocate(s->fd, FALLOC_FL_ZERO_RANGE, (off_t)off, (off_t)len) == 0 ||
        fallocate(s->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
                  (off_t)off, (off_t)len) == 0)
        return 0;
    while (len) {
        size_t chunk = len < sizeof(zeros) ? (size_t)len : sizeof(zeros);
        int rc = nvme_store_write(s, off, zeros, chunk);

        if (rc)
            return rc;
        off += chunk;
        len -= chunk;
    }
    return 0;
}

int nvme_store_flush(struct nvme_store *s)
{
    if (s->fd < 0)
        return 0;
    return fdatasync(s->fd) == 0 ? 0 : -errno;
}

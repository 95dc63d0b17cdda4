/* SPDX-License-Identifier: MIT */
/*
 * The core's host ops on Linux.
 *
 * Client memory is a memfd the client passes with DMA_REGISTER.  The
 * daemon maps it and the simulated devices copy into it, so a client
 * that could shrink the file afterwards would make the daemon fault
 * (SIGBUS) on its next DMA.  We therefore require F_SEAL_SHRINK, which
 * QEMU's memory-backend-memfd sets by default (seal=on).
 */
#include "host_linux.h"
#include "log_linux.h"
#include "notifier_linux.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* ---- client memory ------------------------------------------------ */

struct memfd_mem {
    struct mvf_client_mem mem;
    uint8_t *base;
};

static void *memfd_host_ptr(struct mvf_client_mem *m, uint64_t off,
                            uint64_t len)
{
    struct memfd_mem *mm = (struct memfd_mem *)m;

    if (off > m->length || len > m->length - off)
        return NULL;
    return mm->base + off;
}

static void memfd_release(struct mvf_client_mem *m)
{
    struct memfd_mem *mm = (struct memfd_mem *)m;

    munmap(mm->base, m->length);
    free(mm);
}

static int mem_create(void *host, void *client, int fd, uint64_t off,
                      uint64_t length, uint32_t flags, struct mvf_client_mem **out,
                      char *err, size_t errlen)
{
    struct memfd_mem *mm;
    struct stat st;
    int seals;
    void *base;

    if (flags != MVF_DMA_REG_FD) {
        snprintf(err, errlen, "this host registers memfds only, not VAs");
        return -ENOTSUP;
    }
    if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        snprintf(err, errlen, "attached fd is not a memory file");
        return -EBADF;
    }
    seals = fcntl(fd, F_GET_SEALS);
    if (seals < 0 || !(seals & F_SEAL_SHRINK)) {
        snprintf(err, errlen, "memfd must carry F_SEAL_SHRINK (QEMU: "
                 "memory-backend-memfd with seal=on, the default)");
        return -EPERM;
    }
    if (off > (uint64_t)st.st_size || length > (uint64_t)st.st_size - off) {
        snprintf(err, errlen, "0x%llx+0x%llx is beyond the file's 0x%llx bytes",
                 (unsigned long long)off, (unsigned long long)length,
                 (unsigned long long)st.st_size);
        return -EOVERFLOW;
    }
    base = mmap(NULL, length, PROT_READ | PROT_WRITE, MAP_SHARED, fd, (off_t)off);
    if (base == MAP_FAILED) {
        int e = errno;
        snprintf(err, errlen, "cannot map the memfd: %s", strerror(e));
        return e == EACCES ? -EACCES : -ENOMEM;
    }
    mm = calloc(1, sizeof(*mm));
    if (!mm) {
        munmap(base, length);
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    mm->base = base;
    mm->mem.length = length;
    mm->mem.host_ptr = memfd_host_ptr;
    mm->mem.release = memfd_release;
    *out = &mm->mem;
    return 0;
}

/* ---- shared memory, objects ----------------------------------------- */

static int shared_create(void *host, size_t size, void **ptr, int *obj)
{
    size_t len = (size + 4095) & ~(size_t)4095;
    int fd = memfd_create("macvfio-irq-state", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    void *p;

    if (fd < 0)
        return -errno;
    if (ftruncate(fd, (off_t)len) < 0 ||
        fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) < 0) {
        close(fd);
        return -EIO;
    }
    p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED) {
        close(fd);
        return -ENOMEM;
    }
    *ptr = p;
    *obj = fd;
    return 0;
}

static void shared_release(void *host, void *ptr, size_t size, int obj)
{
    munmap(ptr, (size + 4095) & ~(size_t)4095);
    close(obj);
}

static int obj_dup(void *host, int obj)
{
    return fcntl(obj, F_DUPFD_CLOEXEC, 3);
}

const struct mvf_host_ops mvf_linux_host_ops = {
    .mem_create = mem_create,
    .notifier_create = mvf_linux_notifier_create,
    .shared_create = shared_create,
    .shared_release = shared_release,
    .obj_dup = obj_dup,
    .log = mvf_linux_host_log,
    .now_ms = mvf_linux_now_ms,
    /* Eventfds and memfds ride in SCM_RIGHTS; the state page is a memfd;
     * a socket frame can go without a reply (posted writes). */
    .transport_features = MVF_FEAT_POSTED_WRITE |
                          MVF_FEAT_IRQ_EVENTFD | MVF_FEAT_IRQ_STATE_PAGE |
                          MVF_FEAT_DMA_FD,
};

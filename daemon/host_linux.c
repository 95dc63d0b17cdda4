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

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
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

static int mem_create(void *host, int fd, uint64_t off, uint64_t length,
                      uint32_t flags, struct mvf_client_mem **out,
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

/* ---- notifiers ------------------------------------------------------ */

struct fd_notifier {
    struct mvf_notifier n;
    int fd;
};

static void fd_signal(struct mvf_notifier *n)
{
    struct fd_notifier *f = (struct fd_notifier *)n;
    uint64_t one = 1;

    /* EAGAIN means the counter is saturated: the client is already
     * woken, nothing is lost. */
    if (write(f->fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
        mvf_log(MVF_LOG_DEBUG, "interrupt fd %d: %s", f->fd, strerror(errno));
}

static void fd_release(struct mvf_notifier *n)
{
    struct fd_notifier *f = (struct fd_notifier *)n;

    close(f->fd);
    free(f);
}

/* True when fd is an eventfd: its writes never block (the counter
 * cannot realistically saturate), unlike a pipe a client never reads. */
static bool is_eventfd(int fd)
{
    char path[64], target[64];
    ssize_t n;

    snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
    n = readlink(path, target, sizeof(target) - 1);
    if (n < 0)
        return false;
    target[n] = '\0';
    return strcmp(target, "anon_inode:[eventfd]") == 0;
}

static int notifier_create(void *host, int fd, struct mvf_notifier **out)
{
    struct fd_notifier *f;
    int dup_fd;

    if (fd < 0 || !is_eventfd(fd))
        return -EBADF;
    dup_fd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
    if (dup_fd < 0)
        return -EMFILE;
    f = calloc(1, sizeof(*f));
    if (!f) {
        close(dup_fd);
        return -ENOMEM;
    }
    f->fd = dup_fd;
    f->n.signal = fd_signal;
    f->n.release = fd_release;
    *out = &f->n;
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
    .notifier_create = notifier_create,
    .shared_create = shared_create,
    .shared_release = shared_release,
    .obj_dup = obj_dup,
    .log = mvf_linux_host_log,
    .now_ms = mvf_linux_now_ms,
};

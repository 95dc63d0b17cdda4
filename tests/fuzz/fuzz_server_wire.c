/* SPDX-License-Identifier: MIT */
#include "fuzz_server_wire.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include "frame.h"

/* Big (64 KiB): static, one at a time, as the daemon's loop has it. */
static struct mvf_frame_reply rep;
static uint32_t next_seq;

/* Posted requests get no reply, every other request one. */
static void check_reply(const uint8_t *buf, size_t len)
{
    struct mvf_wire_req h;

    if (len < sizeof(h))
        return;
    memcpy(&h, buf, sizeof(h));
    if (h.magic != MVF_WIRE_MAGIC_REQ)
        return;
    if ((h.selector & MVF_WIRE_SEL_POSTED) ? rep.len != 0 :
                                             rep.len < sizeof(struct mvf_wire_rep))
        abort();
}

int fz_raw_frame(struct mvf_session *s, const uint8_t *buf, size_t len,
                 const int *fds, unsigned nfds)
{
    int status = mvf_frame_handle(s, buf, len, fds, nfds, 0, &rep);

    if (rep.obj >= 0)
        close(rep.obj);
    check_reply(buf, len);
    return status;
}

int fz_call(struct mvf_session *s, uint32_t selector, const uint64_t *scalars,
            unsigned n_scalars, const void *structure, uint32_t struct_len,
            const int *fds, unsigned nfds, struct fz_reply *out)
{
    static uint8_t buf[MVF_WIRE_MAX_FRAME];
    struct mvf_wire_req h = {
        .magic = MVF_WIRE_MAGIC_REQ,
        .seq = ++next_seq,
        .selector = selector,
        .n_scalars = (uint16_t)n_scalars,
        .n_fds = (uint16_t)nfds,
        .struct_len = struct_len,
        .max_struct_out = MVF_MAX_STRUCT,
    };
    struct mvf_wire_rep rh;
    size_t len = sizeof(h);
    int status;

    if (n_scalars > MVF_MAX_SCALARS || struct_len > MVF_MAX_STRUCT)
        return -1;
    memcpy(buf, &h, sizeof(h));
    if (n_scalars)
        memcpy(buf + len, scalars, 8u * n_scalars);
    len += 8u * n_scalars;
    if (struct_len)
        memcpy(buf + len, structure, struct_len);
    len += struct_len;
    status = mvf_frame_handle(s, buf, len, fds, nfds, 0, &rep);
    if (rep.obj >= 0)
        close(rep.obj);
    check_reply(buf, len);
    if (rep.len == 0) {           /* posted: the status is all there is */
        if (out) {
            memset(out, 0, sizeof(*out));
            out->status = status;
        }
        return status;
    }

    memcpy(&rh, rep.buf, sizeof(rh));
    if (out) {
        memset(out, 0, sizeof(*out));
        out->status = rh.status;
        out->n_scalars = rh.n_scalars <= MVF_MAX_SCALARS ? rh.n_scalars : 0;
        memcpy(out->scalars, rep.buf + sizeof(rh), 8u * out->n_scalars);
        out->structure = rep.buf + sizeof(rh) + 8u * out->n_scalars;
        out->struct_len = rh.struct_len;
    }
    return rh.status;
}

int fz_memfd(uint64_t size, bool unsealed)
{
    int fd = memfd_create("fuzz-server-dma", MFD_CLOEXEC | MFD_ALLOW_SEALING);

    if (fd < 0)
        return -1;
    if (ftruncate(fd, (off_t)size) < 0 ||
        (!unsealed && fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW) < 0)) {
        close(fd);
        return -1;
    }
    return fd;
}

int fz_blocking_eventfd(bool full)
{
    uint64_t fill = FZ_FULL_COUNTER;
    int fd = eventfd(0, EFD_CLOEXEC);

    if (fd >= 0 && full && write(fd, &fill, sizeof(fill)) != sizeof(fill)) {
        close(fd);
        return -1;
    }
    return fd;
}

int fz_count_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    struct dirent *e;
    int n = 0;

    if (!d)
        return -1;
    while ((e = readdir(d)))
        if (e->d_name[0] != '.')
            n++;
    closedir(d);
    return n - 1;   /* the directory's own fd */
}

void fz_mmio_write(struct mvf_session *s, uint32_t bar, uint64_t off,
                   uint32_t width, uint64_t val)
{
    fz_mmio_write_as(s, bar, off, width, val, false);
}

void fz_mmio_write_as(struct mvf_session *s, uint32_t bar, uint64_t off,
                      uint32_t width, uint64_t val, bool posted)
{
    const uint64_t sc[4] = { bar, off, width, val };

    fz_call(s, MVF_SEL_MMIO_WRITE | (posted ? MVF_WIRE_SEL_POSTED : 0), sc, 4,
            NULL, 0, NULL, 0, NULL);
}

uint64_t fz_mmio_read(struct mvf_session *s, uint32_t bar, uint64_t off,
                      uint32_t width)
{
    const uint64_t sc[3] = { bar, off, width };
    struct fz_reply r;

    return fz_call(s, MVF_SEL_MMIO_READ, sc, 3, NULL, 0, NULL, 0, &r) == 0 ?
           r.scalars[0] : 0;
}

void fz_bus_master(struct mvf_session *s, bool on)
{
    /* Command register: memory space, and bus master if `on`. */
    const uint64_t sc[3] = { 4, 2, on ? 0x0006u : 0x0002u };

    fz_call(s, MVF_SEL_CONFIG_WRITE, sc, 3, NULL, 0, NULL, 0, NULL);
}

/* SPDX-License-Identifier: MIT */
#include "raw_wire.h"

#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <setjmp.h>
#include <stdarg.h>
#include <cmocka.h>

int raw_connect(const struct test_daemon *d)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);

    assert_true(fd >= 0);
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", d->sock);
    assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    return fd;
}

int raw_call(int fd, const void *buf, size_t len, int attach)
{
    union { char b[CMSG_SPACE(sizeof(int))]; struct cmsghdr a; } ctl;
    struct iovec iov = { (void *)buf, len };
    struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
    struct mvf_wire_rep rep;
    uint8_t in[512];
    ssize_t n;

    if (attach >= 0) {
        struct cmsghdr *cm;
        memset(&ctl, 0, sizeof(ctl));
        msg.msg_control = ctl.b;
        msg.msg_controllen = sizeof(ctl.b);
        cm = CMSG_FIRSTHDR(&msg);
        cm->cmsg_level = SOL_SOCKET;
        cm->cmsg_type = SCM_RIGHTS;
        cm->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(cm), &attach, sizeof(int));
    }
    assert_true(sendmsg(fd, &msg, MSG_NOSIGNAL) == (ssize_t)len);
    n = recv(fd, in, sizeof(in), 0);
    if (n <= 0)
        return 1;
    assert_true((size_t)n >= sizeof(rep));
    memcpy(&rep, in, sizeof(rep));
    assert_int_equal(rep.magic, MVF_WIRE_MAGIC_REP);
    return rep.status;
}

size_t raw_frame(uint8_t *buf, uint32_t sel, const uint64_t *sc, uint16_t n,
                 uint16_t nfds)
{
    struct mvf_wire_req h = {
        .magic = MVF_WIRE_MAGIC_REQ, .seq = 7, .selector = sel,
        .n_scalars = n, .n_fds = nfds, .max_struct_out = 4096,
    };
    memcpy(buf, &h, sizeof(h));
    if (n)
        memcpy(buf + sizeof(h), sc, 8u * n);
    return sizeof(h) + 8u * n;
}

void raw_hello(int fd)
{
    uint64_t hello[2] = { MVF_ABI_VERSION, 0 };
    uint8_t buf[64];

    assert_int_equal(raw_call(fd, buf, raw_frame(buf, MVF_SEL_HELLO, hello, 2, 0),
                              -1), 0);
}

/* SPDX-License-Identifier: MIT */
/* Hand-made frames for tests that speak to macvfiod below libmacvfio. */
#ifndef MACVFIO_TESTS_RAW_WIRE_H
#define MACVFIO_TESTS_RAW_WIRE_H

#include <stddef.h>
#include <stdint.h>

#include "daemon_fixture.h"

/* A SOCK_SEQPACKET connection to the daemon that has said nothing. */
int raw_connect(const struct test_daemon *d);

/* Sends raw bytes (and optionally one fd); returns the reply status, or
 * 1 if the daemon closed the connection instead. */
int raw_call(int fd, const void *buf, size_t len, int attach);

/* Builds a request header with `n` scalars into buf; returns its size. */
size_t raw_frame(uint8_t *buf, uint32_t sel, const uint64_t *sc, uint16_t n,
                 uint16_t nfds);

/* HELLO with this ABI version on a raw connection; asserts it succeeds. */
void raw_hello(int fd);

#endif

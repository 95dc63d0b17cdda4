/* SPDX-License-Identifier: MIT */
/*
 * Force-included (-include) into every file of the macOS-target compile
 * check (check-macos.sh): makes each Linux-only call, flag or header a
 * compile error, so a Linux-ism in code built for macOS fails here and not
 * first on a Mac.  The compile check uses the arm64 glibc headers in place
 * of Darwin's libc, and glibc declares all of these; the poison is what
 * tells the two apart.
 *
 * The system headers that mention these names are included first (glibc
 * declares memfd_create in <sys/mman.h>, accept4 and SOCK_CLOEXEC in
 * <sys/socket.h>, and so on): a poisoned name is refused wherever it
 * appears after the pragma, in our code or in a Linux-only header such as
 * <sys/eventfd.h> or <sys/epoll.h>.
 *
 * Why each name (macOS has none of them):
 *   memfd_create, MFD_*, F_ADD_SEALS, F_GET_SEALS, F_SEAL_*: memfds and
 *     file seals (macOS shares memory by address: MVF_DMA_REG_VA);
 *   eventfd*, EFD_*: eventfds (macOS: a pipe's write end);
 *   epoll_*, signalfd, timerfd_*, inotify_*: Linux event interfaces
 *     (macOS: kqueue, dispatch);
 *   accept4, pipe2, dup3, SOCK_CLOEXEC, SOCK_NONBLOCK, MSG_CMSG_CLOEXEC,
 *     O_PATH: atomic close-on-exec variants (macOS: fcntl FD_CLOEXEC);
 *   MSG_NOSIGNAL: macOS has SO_NOSIGPIPE instead;
 *   POLLRDHUP: Linux's half-close poll bit;
 *   SOCK_SEQPACKET: defined on macOS, but its AF_UNIX domain has only
 *     SOCK_STREAM and SOCK_DGRAM, so a socket() with it fails at run time;
 *   prctl, gettid, sched_getaffinity, MAP_POPULATE, MREMAP_MAYMOVE, mremap:
 *     Linux-only process and memory calls.
 */
#ifndef MVF_TESTS_DARWIN_POISON_LINUX_H
#define MVF_TESTS_DARWIN_POISON_LINUX_H

#ifndef __APPLE__
#error "poison-linux.h is for the macOS-target compile check (-target arm64-apple-macos13)"
#endif

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

/* glibc makes some of them macros too (often of themselves, over an enum
 * constant); poisoning a defined macro is itself an error, so they go
 * first. */
#undef SOCK_CLOEXEC
#undef SOCK_NONBLOCK
#undef SOCK_SEQPACKET
#undef MSG_CMSG_CLOEXEC
#undef MSG_NOSIGNAL
#undef POLLRDHUP
#undef O_PATH
#undef MAP_POPULATE
#undef MREMAP_MAYMOVE
#undef MFD_CLOEXEC
#undef MFD_ALLOW_SEALING
#undef F_ADD_SEALS
#undef F_GET_SEALS
#undef F_SEAL_SEAL
#undef F_SEAL_SHRINK
#undef F_SEAL_GROW
#undef F_SEAL_WRITE

#pragma GCC poison memfd_create MFD_CLOEXEC MFD_ALLOW_SEALING
#pragma GCC poison F_ADD_SEALS F_GET_SEALS F_SEAL_SEAL F_SEAL_SHRINK F_SEAL_GROW F_SEAL_WRITE
#pragma GCC poison eventfd eventfd_read eventfd_write EFD_CLOEXEC EFD_NONBLOCK EFD_SEMAPHORE
#pragma GCC poison epoll_create epoll_create1 epoll_ctl epoll_wait epoll_pwait
#pragma GCC poison signalfd timerfd_create timerfd_settime timerfd_gettime
#pragma GCC poison inotify_init inotify_init1 inotify_add_watch
#pragma GCC poison accept4 pipe2 dup3 SOCK_CLOEXEC SOCK_NONBLOCK MSG_CMSG_CLOEXEC O_PATH
#pragma GCC poison MSG_NOSIGNAL POLLRDHUP SOCK_SEQPACKET
#pragma GCC poison prctl gettid sched_getaffinity MAP_POPULATE mremap MREMAP_MAYMOVE

#endif

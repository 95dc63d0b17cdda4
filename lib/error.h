/* SPDX-License-Identifier: MIT */
/*
 * Library-internal helpers: the per-thread error message behind
 * mvf_last_error(), and the export marker.  Internal symbols use the
 * mvfl_ prefix so a static libmacvfio never collides with core/ (whose
 * own mvf_fail differs) in one binary.
 */
#ifndef MACVFIO_LIB_ERROR_H
#define MACVFIO_LIB_ERROR_H

/* The shared library is built with hidden visibility; only functions
 * marked MVF_EXPORT are part of its ABI. */
#define MVF_EXPORT __attribute__((visibility("default")))

/* Records a message for the calling thread and returns err (a negative
 * errno), so failures read `return mvfl_fail(-EINVAL, "...")`. */
int mvfl_fail(int err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif /* MACVFIO_LIB_ERROR_H */

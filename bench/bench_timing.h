/* SPDX-License-Identifier: MIT */
/* Clock and percentile report shared by the host benchmarks. */
#ifndef MACVFIO_BENCH_TIMING_H
#define MACVFIO_BENCH_TIMING_H

/* CLOCK_MONOTONIC in nanoseconds. */
double bench_now_ns(void);
/* Sorts ns[0..n) and returns its p-th percentile (0 <= p < 1). */
double bench_percentile(double *ns, int n, double p);
/* Prints "what  p50 .. us  p99 .. us  (n samples)"; sorts ns. */
void bench_report(const char *what, double *ns, int n);

#endif

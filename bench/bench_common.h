/* SPDX-License-Identifier: MIT */
/* What the host benchmarks share: arguments, clock, percentiles. */
#ifndef MACVFIO_BENCH_COMMON_H
#define MACVFIO_BENCH_COMMON_H

/* CLOCK_MONOTONIC in nanoseconds. */
double bench_now_ns(void);
/* Sorts ns[0..n) and returns its p-th percentile (0 <= p < 1). */
double bench_percentile(double *ns, int n, double p);
/* Prints "what  p50 .. us  p99 .. us  (n samples)"; sorts ns. */
void bench_report(const char *what, double *ns, int n);

/* Parses "--socket PATH [--iterations N]" (N >= 100, default 20000);
 * prints the usage line and returns -1 if they are not that. */
int bench_args(int argc, char **argv, const char *prog, const char **sock,
               int *iters);

#endif

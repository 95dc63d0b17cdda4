/* SPDX-License-Identifier: MIT */
#include "bench_common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

double bench_now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return (x > y) - (x < y);
}

double bench_percentile(double *ns, int n, double p)
{
    qsort(ns, (size_t)n, sizeof(*ns), cmp_double);
    return ns[(int)(n * p)];
}

void bench_report(const char *what, double *ns, int n)
{
    double p50 = bench_percentile(ns, n, 0.5);

    printf("%-44s p50 %7.2f us  p99 %7.2f us  (%d samples)\n", what,
           p50 / 1e3, ns[(int)(n * 0.99)] / 1e3, n);
}

int bench_args(int argc, char **argv, const char *prog, const char **sock,
               int *iters)
{
    *sock = NULL;
    *iters = 20000;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--socket") && i + 1 < argc)
            *sock = argv[++i];
        else if (!strcmp(argv[i], "--iterations") && i + 1 < argc)
            *iters = atoi(argv[++i]);
        else
            *iters = 0;
    }
    if (!*sock || *iters < 100) {
        fprintf(stderr, "usage: %s --socket PATH [--iterations N>=100]\n", prog);
        return -1;
    }
    return 0;
}

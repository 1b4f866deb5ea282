/* The clock and the sort the C baselines of bench/ share. */
#ifndef BPFMAP_BENCH_TIMING_H
#define BPFMAP_BENCH_TIMING_H

#include <time.h>

static inline double now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e9 + ts.tv_nsec;
}

/* qsort's comparison of doubles, for the best and median of the runs. */
static inline int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

#endif

/*
 * The C baselines for reading an mmapable array through its memory: the loops a C program would
 * write over the same mapping bpfmap reads. Opens the map by id, maps its values read-only and
 * prints one line of JSON:
 *   mmap sum ID REPS    adds every u64 value (the map's values must be 8 bytes)
 *   mmap copy ID REPS   writes the index keys and copies the values packed into preallocated
 *                       buffers, what a dump holds (the buffers are reused: no page faults)
 * Reported: the best and median nanoseconds per entry over REPS runs, and the entries per run.
 */
#define _GNU_SOURCE
#include <linux/bpf.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "map.h"
#include "timing.h"

int main(int argc, char **argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: mmap sum|copy ID REPS\n");
    return 2;
  }
  int sum = strcmp(argv[1], "sum") == 0;
  struct bpf_map_info info;
  int fd = map_by_id(argv[2], &info);
  if (fd < 0) return 1;
  int reps = atoi(argv[3]);
  if (reps < 1 || (sum && info.value_size != 8)) { fprintf(stderr, "bad REPS, or sum of values that are not 8 bytes\n"); return 2; }
  size_t n = info.max_entries, vs = info.value_size, stride = (vs + 7) & ~(size_t)7;
  long page = sysconf(_SC_PAGESIZE);
  size_t len = (n * stride + (size_t)page - 1) / (size_t)page * (size_t)page;
  const char *mem = mmap(NULL, len, PROT_READ, MAP_SHARED, fd, 0);
  if (mem == MAP_FAILED) { perror("mmap"); return 1; }
  uint32_t *keys = malloc(n * 4);
  char *values = malloc(n * vs);
  double *runs = calloc((size_t)reps, sizeof(double));
  if (!keys || !values || !runs) return 1;
  memset(keys, 0, n * 4);
  memset(values, 0, n * vs);
  volatile uint64_t sink = 0;
  for (int r = 0; r < reps; r++) {
    double t0 = now_ns();
    if (sum) {
      const uint64_t *v = (const uint64_t *)mem;
      uint64_t total = 0;
      for (size_t i = 0; i < n; i++) total += v[i];
      sink += total;
    } else {
      for (size_t i = 0; i < n; i++) keys[i] = (uint32_t)i;
      if (stride == vs) memcpy(values, mem, n * vs);
      else for (size_t i = 0; i < n; i++) memcpy(values + i * vs, mem + i * stride, vs);
      sink += (uint64_t)values[n * vs - 1] + keys[n - 1];
    }
    runs[r] = (now_ns() - t0) / (double)n;
  }
  qsort(runs, (size_t)reps, sizeof(double), cmp_double);
  printf("{\"best_ns\":%.3f,\"median_ns\":%.3f,\"entries\":%zu}\n", runs[0], runs[reps / 2], n);
  return 0;
}

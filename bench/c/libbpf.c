/*
 * libbpf's bpf_map_lookup_batch over a u32 -> u64 map (bench/peers.ts), as a libbpf user would
 * write it: one batch buffer, the cursor libbpf hands back. Opens the map by id, reads it REPS
 * times (timed), then once more (not timed) checking that it sees every key 0..N-1 once with
 * value == key.
 *   libbpf ID BATCH N REPS
 * Prints one line of JSON: the median nanoseconds per entry, the entries, and the check.
 */
#define _GNU_SOURCE
#include <bpf/bpf.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "timing.h"

int main(int argc, char **argv) {
  if (argc != 5) {
    fprintf(stderr, "usage: libbpf ID BATCH N REPS\n");
    return 2;
  }
  uint32_t id = (uint32_t)atoi(argv[1]), batch = (uint32_t)atoi(argv[2]);
  long n = atol(argv[3]);
  int reps = atoi(argv[4]);
  int fd = bpf_map_get_fd_by_id(id);
  if (fd < 0) { perror("bpf_map_get_fd_by_id"); return 1; }
  uint32_t *keys = malloc(batch * sizeof *keys);
  uint64_t *values = malloc(batch * sizeof *values);
  unsigned char *seen = calloc((size_t)n, 1);
  double *runs = calloc((size_t)reps, sizeof(double));
  if (!keys || !values || !seen || !runs) return 1;
  long entries = 0, bad = 0;
  LIBBPF_OPTS(bpf_map_batch_opts, opts);
  for (int r = 0; r <= reps; r++) {
    int last = r == reps;
    double t0 = now_ns();
    uint32_t cursor = 0;
    void *in = NULL;
    entries = 0;
    for (;;) {
      uint32_t count = batch;
      int err = bpf_map_lookup_batch(fd, in, &cursor, keys, values, &count, &opts);
      if (err && errno != ENOENT) { perror("bpf_map_lookup_batch"); return 1; }
      if (last)
        for (uint32_t i = 0; i < count; i++) {
          if (keys[i] >= n || seen[keys[i]] || values[i] != keys[i]) bad++;
          else seen[keys[i]] = 1;
        }
      entries += count;
      if (err) break;
      in = &cursor;
    }
    if (!last) runs[r] = (now_ns() - t0) / (entries ? entries : 1);
  }
  qsort(runs, (size_t)reps, sizeof(double), cmp_double);
  int ok = entries == n && bad == 0;
  printf("{\"entries\":%ld,\"median_ns\":%.2f,\"ok\":%s,\"why\":\"%ld entries, %ld wrong or repeated\"}\n", entries,
         runs[reps / 2], ok ? "true" : "false", entries, bad);
  return 0;
}

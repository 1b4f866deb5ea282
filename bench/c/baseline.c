/*
 * The C baselines bpfmap's benchmarks are measured against: the raw bpf(2) loops a C program
 * would write, with preallocated buffers. Opens the map by id and prints one line of JSON:
 *   baseline lookup-batch ID BATCH REPS   LOOKUP_BATCH from start to ENOENT, into one batch buffer
 *   baseline lookup-batch-all ID BATCH REPS  the same, each batch written after the last into
 *                                         buffers of max_entries (fresh memory each run), as a dump keeps them
 *   baseline per-element ID REPS          GET_NEXT_KEY + LOOKUP_ELEM walk
 *   baseline update-batch ID BATCH REPS   UPDATE_BATCH of every key 0..max_entries-1 (u32 keys)
 * Reported: the best and median nanoseconds per entry over REPS runs, and the entries per run.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/bpf.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "map.h"
#include "timing.h"

static int possible_cpus(void) {
  FILE *f = fopen("/sys/devices/system/cpu/possible", "r");
  int lo, hi, n = 0;
  char sep;
  if (!f) return 1;
  while (fscanf(f, "%d", &lo) == 1) {
    hi = lo;
    if (fscanf(f, "%c", &sep) == 1 && sep == '-') {
      if (fscanf(f, "%d", &hi) != 1) break;
      if (fscanf(f, "%c", &sep) != 1) sep = '\n';
    }
    n += hi - lo + 1;
    if (sep != ',') break;
  }
  fclose(f);
  return n ? n : 1;
}

int main(int argc, char **argv) {
  if (argc < 4) {
    fprintf(stderr, "usage: baseline lookup-batch|per-element|update-batch ID [BATCH] REPS\n");
    return 2;
  }
  const char *mode = argv[1];
  struct bpf_map_info info;
  int fd = map_by_id(argv[2], &info);
  if (fd < 0) return 1;
  union bpf_attr a;
  int percpu = info.type == BPF_MAP_TYPE_PERCPU_HASH || info.type == BPF_MAP_TYPE_PERCPU_ARRAY ||
               info.type == BPF_MAP_TYPE_LRU_PERCPU_HASH;
  size_t vbytes = percpu ? ((info.value_size + 7) & ~7u) * (size_t)possible_cpus() : info.value_size;
  int per_element = strcmp(mode, "per-element") == 0;
  uint32_t batch = per_element ? 1 : (uint32_t)atoi(argv[3]);
  int reps = atoi(argv[per_element ? 3 : 4]);
  if (reps < 1 || batch < 1) { fprintf(stderr, "bad BATCH or REPS\n"); return 2; }
  size_t cap = info.max_entries;
  char *keys = malloc(cap * info.key_size + 64), *values = malloc(cap * vbytes + 64);
  char *key = malloc(info.key_size + 8), *next = malloc(info.key_size + 8);
  uint64_t in_batch = 0, out_batch = 0;
  double *runs = calloc((size_t)reps, sizeof(double));
  long entries = 0;
  if (!keys || !values || !runs) return 1;
  if (strcmp(mode, "update-batch") == 0) {
    for (size_t i = 0; i < cap; i++) {
      uint32_t k = (uint32_t)i;
      memcpy(keys + i * info.key_size, &k, 4);
      memset(values + i * vbytes, (int)(i & 0xff), vbytes);
    }
  }
  for (int r = 0; r < reps; r++) {
    double t0 = now_ns();
    entries = 0;
    if (per_element) {
      void *prev = NULL;
      for (;;) {
        memset(&a, 0, sizeof a);
        a.map_fd = fd;
        a.key = (uint64_t)(uintptr_t)prev;
        a.next_key = (uint64_t)(uintptr_t)next;
        if (sys_bpf(BPF_MAP_GET_NEXT_KEY, &a)) break;
        memcpy(key, next, info.key_size);
        prev = key;
        memset(&a, 0, sizeof a);
        a.map_fd = fd;
        a.key = (uint64_t)(uintptr_t)key;
        a.value = (uint64_t)(uintptr_t)values;
        if (sys_bpf(BPF_MAP_LOOKUP_ELEM, &a) == 0) entries++;
      }
    } else if (strcmp(mode, "lookup-batch") == 0 || strcmp(mode, "lookup-batch-all") == 0) {
      int first = 1, all = mode[12] == '-';
      char *k = keys, *v = values;
      if (all) {
        /* Fresh pages for every run, as a dump gets: the kernel's writes fault them in. */
        free(keys);
        free(values);
        k = keys = malloc(cap * info.key_size + 64);
        v = values = malloc(cap * vbytes + 64);
        if (!keys || !values) return 1;
      }
      for (;;) {
        uint32_t n = batch;
        if (all && (size_t)entries + n > cap) n = (uint32_t)(cap - (size_t)entries);
        if (n == 0) break;
        memset(&a, 0, sizeof a);
        a.batch.in_batch = first ? 0 : (uint64_t)(uintptr_t)&in_batch;
        a.batch.out_batch = (uint64_t)(uintptr_t)&out_batch;
        a.batch.keys = (uint64_t)(uintptr_t)(all ? k + (size_t)entries * info.key_size : keys);
        a.batch.values = (uint64_t)(uintptr_t)(all ? v + (size_t)entries * vbytes : values);
        a.batch.count = n;
        a.batch.map_fd = fd;
        long rc = sys_bpf(BPF_MAP_LOOKUP_BATCH, &a);
        if (rc && errno == ENOSPC) { fprintf(stderr, "ENOSPC: use a larger batch\n"); return 1; }
        entries += a.batch.count;
        if (rc) break;
        in_batch = out_batch;
        first = 0;
      }
    } else if (strcmp(mode, "update-batch") == 0) {
      for (size_t off = 0; off < cap; off += batch) {
        uint32_t n = (uint32_t)(cap - off < batch ? cap - off : batch);
        memset(&a, 0, sizeof a);
        a.batch.keys = (uint64_t)(uintptr_t)(keys + off * info.key_size);
        a.batch.values = (uint64_t)(uintptr_t)(values + off * vbytes);
        a.batch.count = n;
        a.batch.map_fd = fd;
        if (sys_bpf(BPF_MAP_UPDATE_BATCH, &a)) { perror("BPF_MAP_UPDATE_BATCH"); return 1; }
        entries += a.batch.count;
      }
    } else {
      fprintf(stderr, "unknown mode %s\n", mode);
      return 2;
    }
    runs[r] = (now_ns() - t0) / (entries ? entries : 1);
  }
  qsort(runs, (size_t)reps, sizeof(double), cmp_double);
  printf("{\"mode\":\"%s\",\"entries\":%ld,\"best_ns\":%.2f,\"median_ns\":%.2f,\"reps\":%d}\n", mode, entries,
         runs[0], runs[reps / 2], reps);
  return 0;
}

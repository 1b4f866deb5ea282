/*
 * The C consumer the ring buffer benchmark measures bpfmap against: libbpf's ring_buffer__consume on
 * the ring buffer map with this id, once, timed; the callback reads each record's first byte, as the
 * JS side does. Prints one line of JSON: {"records": N, "ns": T}.
 *   ringbuf ID
 */
#define _GNU_SOURCE
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <stdio.h>
#include <stdlib.h>

#include "timing.h"

static unsigned long sum;

static int on_record(void *ctx, void *data, size_t len) {
  (void)ctx;
  sum += ((unsigned char *)data)[0] + len;
  return 0;
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: ringbuf MAP-ID\n");
    return 2;
  }
  int fd = bpf_map_get_fd_by_id((unsigned)atoi(argv[1]));
  if (fd < 0) {
    perror("bpf_map_get_fd_by_id");
    return 1;
  }
  struct ring_buffer *rb = ring_buffer__new(fd, on_record, NULL, NULL);
  if (rb == NULL) {
    perror("ring_buffer__new");
    return 1;
  }
  double t0 = now_ns();
  int n = ring_buffer__consume(rb);
  double t1 = now_ns();
  printf("{\"records\": %d, \"ns\": %.0f, \"sum\": %lu}\n", n, t1 - t0, sum);
  ring_buffer__free(rb);
  return n < 0;
}

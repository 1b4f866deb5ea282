/* The raw bpf(2) call and the opening of a map by id that the C baselines of bench/ share. */
#ifndef BPFMAP_BENCH_MAP_H
#define BPFMAP_BENCH_MAP_H

#include <linux/bpf.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

static inline long sys_bpf(int cmd, union bpf_attr *attr) {
  return syscall(__NR_bpf, cmd, attr, sizeof(*attr));
}

/* The map with the id written in `id` and its info; the fd, or -1 after saying why on stderr. */
static inline int map_by_id(const char *id, struct bpf_map_info *info) {
  union bpf_attr a;
  memset(&a, 0, sizeof a);
  a.map_id = (uint32_t)atoi(id);
  int fd = (int)sys_bpf(BPF_MAP_GET_FD_BY_ID, &a);
  if (fd < 0) { perror("BPF_MAP_GET_FD_BY_ID"); return -1; }
  memset(info, 0, sizeof *info);
  memset(&a, 0, sizeof a);
  a.info.bpf_fd = fd;
  a.info.info_len = sizeof *info;
  a.info.info = (uint64_t)(uintptr_t)info;
  if (sys_bpf(BPF_OBJ_GET_INFO_BY_FD, &a)) { perror("BPF_OBJ_GET_INFO_BY_FD"); return -1; }
  return fd;
}

#endif

// Kernel constants under their kernel names (include/uapi/linux/bpf.h).

/** bpf(2) commands. */
export const BPF_MAP_CREATE = 0;
export const BPF_MAP_LOOKUP_ELEM = 1;
export const BPF_MAP_UPDATE_ELEM = 2;
export const BPF_MAP_DELETE_ELEM = 3;
export const BPF_MAP_GET_NEXT_KEY = 4;
export const BPF_PROG_LOAD = 5;
export const BPF_OBJ_PIN = 6;
export const BPF_OBJ_GET = 7;
export const BPF_PROG_TEST_RUN = 10;
export const BPF_MAP_GET_NEXT_ID = 12;
export const BPF_MAP_GET_FD_BY_ID = 14;
export const BPF_OBJ_GET_INFO_BY_FD = 15;
export const BPF_BTF_LOAD = 18;
export const BPF_BTF_GET_FD_BY_ID = 19;
export const BPF_MAP_LOOKUP_AND_DELETE_ELEM = 21;
export const BPF_BTF_GET_NEXT_ID = 23;
export const BPF_MAP_FREEZE = 22;
export const BPF_MAP_LOOKUP_BATCH = 24;
export const BPF_MAP_LOOKUP_AND_DELETE_BATCH = 25;
export const BPF_MAP_UPDATE_BATCH = 26;
export const BPF_MAP_DELETE_BATCH = 27;

export const COMMAND_NAMES: Readonly<Record<number, string>> = {
  [BPF_MAP_CREATE]: 'BPF_MAP_CREATE',
  [BPF_MAP_LOOKUP_ELEM]: 'BPF_MAP_LOOKUP_ELEM',
  [BPF_MAP_UPDATE_ELEM]: 'BPF_MAP_UPDATE_ELEM',
  [BPF_MAP_DELETE_ELEM]: 'BPF_MAP_DELETE_ELEM',
  [BPF_MAP_GET_NEXT_KEY]: 'BPF_MAP_GET_NEXT_KEY',
  [BPF_PROG_LOAD]: 'BPF_PROG_LOAD',
  [BPF_OBJ_PIN]: 'BPF_OBJ_PIN',
  [BPF_OBJ_GET]: 'BPF_OBJ_GET',
  [BPF_PROG_TEST_RUN]: 'BPF_PROG_TEST_RUN',
  [BPF_MAP_GET_NEXT_ID]: 'BPF_MAP_GET_NEXT_ID',
  [BPF_MAP_GET_FD_BY_ID]: 'BPF_MAP_GET_FD_BY_ID',
  [BPF_OBJ_GET_INFO_BY_FD]: 'BPF_OBJ_GET_INFO_BY_FD',
  [BPF_BTF_LOAD]: 'BPF_BTF_LOAD',
  [BPF_BTF_GET_FD_BY_ID]: 'BPF_BTF_GET_FD_BY_ID',
  [BPF_MAP_LOOKUP_AND_DELETE_ELEM]: 'BPF_MAP_LOOKUP_AND_DELETE_ELEM',
  [BPF_BTF_GET_NEXT_ID]: 'BPF_BTF_GET_NEXT_ID',
  [BPF_MAP_FREEZE]: 'BPF_MAP_FREEZE',
  [BPF_MAP_LOOKUP_BATCH]: 'BPF_MAP_LOOKUP_BATCH',
  [BPF_MAP_LOOKUP_AND_DELETE_BATCH]: 'BPF_MAP_LOOKUP_AND_DELETE_BATCH',
  [BPF_MAP_UPDATE_BATCH]: 'BPF_MAP_UPDATE_BATCH',
  [BPF_MAP_DELETE_BATCH]: 'BPF_MAP_DELETE_BATCH',
};

export const BATCH_COMMANDS: ReadonlySet<number> = new Set([
  BPF_MAP_LOOKUP_BATCH,
  BPF_MAP_LOOKUP_AND_DELETE_BATCH,
  BPF_MAP_UPDATE_BATCH,
  BPF_MAP_DELETE_BATCH,
]);

/** enum bpf_map_type. */
export const BPF_MAP_TYPE_UNSPEC = 0;
export const BPF_MAP_TYPE_HASH = 1;
export const BPF_MAP_TYPE_ARRAY = 2;
export const BPF_MAP_TYPE_PROG_ARRAY = 3;
export const BPF_MAP_TYPE_PERF_EVENT_ARRAY = 4;
export const BPF_MAP_TYPE_PERCPU_HASH = 5;
export const BPF_MAP_TYPE_PERCPU_ARRAY = 6;
export const BPF_MAP_TYPE_STACK_TRACE = 7;
export const BPF_MAP_TYPE_CGROUP_ARRAY = 8;
export const BPF_MAP_TYPE_LRU_HASH = 9;
export const BPF_MAP_TYPE_LRU_PERCPU_HASH = 10;
export const BPF_MAP_TYPE_LPM_TRIE = 11;
export const BPF_MAP_TYPE_ARRAY_OF_MAPS = 12;
export const BPF_MAP_TYPE_HASH_OF_MAPS = 13;
export const BPF_MAP_TYPE_PERCPU_CGROUP_STORAGE = 21;
export const BPF_MAP_TYPE_QUEUE = 22;
export const BPF_MAP_TYPE_STACK = 23;
export const BPF_MAP_TYPE_RINGBUF = 27;
export const BPF_MAP_TYPE_BLOOM_FILTER = 30;
export const BPF_MAP_TYPE_USER_RINGBUF = 31;

/** Ring buffer record header (struct bpf_ringbuf_hdr, 8 bytes): u32 len with these two bits on top, u32 pg_off. */
export const BPF_RINGBUF_BUSY_BIT = 0x80000000;
export const BPF_RINGBUF_DISCARD_BIT = 0x40000000;
export const BPF_RINGBUF_HDR_SZ = 8;
/** Producer flags of bpf_ringbuf_output/submit/discard and bpf_user_ringbuf_drain. */
export const BPF_RB_NO_WAKEUP = 1;
export const BPF_RB_FORCE_WAKEUP = 2;

/** Names as bpftool prints them, indexed by enum bpf_map_type. */
export const MAP_TYPE_NAMES: readonly string[] = [
  'unspec', 'hash', 'array', 'prog_array', 'perf_event_array', 'percpu_hash', 'percpu_array',
  'stack_trace', 'cgroup_array', 'lru_hash', 'lru_percpu_hash', 'lpm_trie', 'array_of_maps',
  'hash_of_maps', 'devmap', 'sockmap', 'cpumap', 'xskmap', 'sockhash', 'cgroup_storage',
  'reuseport_sockarray', 'percpu_cgroup_storage', 'queue', 'stack', 'sk_storage', 'devmap_hash',
  'struct_ops', 'ringbuf', 'inode_storage', 'task_storage', 'bloom_filter', 'user_ringbuf',
  'cgrp_storage', 'arena', 'insn_array',
];

/** MAP_CREATE map_flags. */
export const BPF_F_NO_PREALLOC = 1 << 0;
export const BPF_F_NO_COMMON_LRU = 1 << 1;
export const BPF_F_NUMA_NODE = 1 << 2;
export const BPF_F_RDONLY = 1 << 3;
export const BPF_F_WRONLY = 1 << 4;
export const BPF_F_ZERO_SEED = 1 << 6;
export const BPF_F_RDONLY_PROG = 1 << 7;
export const BPF_F_WRONLY_PROG = 1 << 8;
export const BPF_F_MMAPABLE = 1 << 10;
export const BPF_F_INNER_MAP = 1 << 12;

export const MAP_FLAG_NAMES = [
  [BPF_F_NO_PREALLOC, 'no_prealloc'],
  [BPF_F_NO_COMMON_LRU, 'no_common_lru'],
  [BPF_F_NUMA_NODE, 'numa_node'],
  [BPF_F_RDONLY, 'rdonly'],
  [BPF_F_WRONLY, 'wronly'],
  [BPF_F_ZERO_SEED, 'zero_seed'],
  [BPF_F_RDONLY_PROG, 'rdonly_prog'],
  [BPF_F_WRONLY_PROG, 'wronly_prog'],
  [BPF_F_MMAPABLE, 'mmapable'],
  [BPF_F_INNER_MAP, 'inner_map'],
] as const satisfies ReadonlyArray<readonly [number, string]>;

/** Element flags (MAP_UPDATE_ELEM flags, MAP_LOOKUP_ELEM flags, batch elem_flags). */
export const BPF_ANY = 0;
export const BPF_NOEXIST = 1;
export const BPF_EXIST = 2;
export const BPF_F_LOCK = 4;

/** OBJ_GET file_flags. */
export const BPF_OBJ_NAME_LEN = 16;

/** enum bpf_prog_type (the ones bpfmap loads). */
export const BPF_PROG_TYPE_SOCKET_FILTER = 1;
export const BPF_PROG_TYPE_XDP = 6;

/** BPF_PROG_LOAD log_level: verbose verifier log. */
export const BPF_LOG_LEVEL1 = 1;

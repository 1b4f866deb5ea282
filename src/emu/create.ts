// MAP_CREATE as the kernel checks it (kernel/bpf/syscall.c map_create and each type's
// map_alloc_check/map_alloc), for the emulated map types.
import { writeObjName } from '../sys/attr.js';
import type { MapCreateAttr } from '../sys/map-create.js';
import {
  BPF_F_INNER_MAP,
  BPF_F_MMAPABLE,
  BPF_F_NO_COMMON_LRU,
  BPF_F_NO_PREALLOC,
  BPF_F_NUMA_NODE,
  BPF_F_RDONLY,
  BPF_F_RDONLY_PROG,
  BPF_F_WRONLY,
  BPF_F_WRONLY_PROG,
  BPF_F_ZERO_SEED,
  BPF_MAP_TYPE_ARRAY,
  BPF_MAP_TYPE_ARRAY_OF_MAPS,
  BPF_MAP_TYPE_HASH,
  BPF_MAP_TYPE_HASH_OF_MAPS,
  BPF_MAP_TYPE_LPM_TRIE,
  BPF_MAP_TYPE_LRU_HASH,
  BPF_MAP_TYPE_LRU_PERCPU_HASH,
  BPF_MAP_TYPE_PERCPU_ARRAY,
  BPF_MAP_TYPE_PERCPU_HASH,
  BPF_MAP_TYPE_PROG_ARRAY,
  BPF_MAP_TYPE_QUEUE,
  BPF_MAP_TYPE_STACK,
  BPF_OBJ_NAME_LEN,
} from '../sys/constants.js';
import { errno } from '../sys/errno.js';
import { ArrayMap } from './arraymap.js';
import { fail } from './errno.js';
import { HashTab, roundupPow2 } from './hashtab.js';
import { LpmTrie } from './lpm-trie.js';
import { InnerMeta, isMapInMap, type InnerMaps } from './map-in-map.js';
import type { EmuMap, EmuMapAttr } from './map.js';
import { QueueStack } from './queue-stack.js';
import { checkMapBtf, type EmuBtf, type EmuMapBtf } from './btf.js';

/** MAP_CREATE's attributes, as the Kernel interface passes them. */
export type EmuCreateAttr = MapCreateAttr;

export const EMULATED_TYPES: ReadonlySet<number> = new Set([
  BPF_MAP_TYPE_HASH, BPF_MAP_TYPE_ARRAY, BPF_MAP_TYPE_PERCPU_HASH, BPF_MAP_TYPE_PERCPU_ARRAY,
  BPF_MAP_TYPE_LRU_HASH, BPF_MAP_TYPE_LRU_PERCPU_HASH, BPF_MAP_TYPE_LPM_TRIE,
  BPF_MAP_TYPE_ARRAY_OF_MAPS, BPF_MAP_TYPE_HASH_OF_MAPS, BPF_MAP_TYPE_QUEUE, BPF_MAP_TYPE_STACK, BPF_MAP_TYPE_PROG_ARRAY,
]);

const ACCESS_MASK = BPF_F_RDONLY | BPF_F_RDONLY_PROG | BPF_F_WRONLY | BPF_F_WRONLY_PROG;
const HTAB_FLAGS = BPF_F_NO_PREALLOC | BPF_F_NO_COMMON_LRU | BPF_F_NUMA_NODE | ACCESS_MASK | BPF_F_ZERO_SEED;
const BPF_F_PRESERVE_ELEMS = 1 << 11;
const ARRAY_FLAGS = BPF_F_NUMA_NODE | BPF_F_MMAPABLE | ACCESS_MASK | BPF_F_PRESERVE_ELEMS | BPF_F_INNER_MAP;
const LPM_FLAGS = BPF_F_NO_PREALLOC | BPF_F_NUMA_NODE | ACCESS_MASK;
const QUEUE_FLAGS = BPF_F_NUMA_NODE | ACCESS_MASK;
/** KMALLOC_MAX_SIZE on x86_64 (4 MiB) and PCPU_MIN_UNIT_SIZE (32 KiB): the kernel's size limits. */
const KMALLOC_MAX_SIZE = 4 << 20;
const HTAB_ELEM_SIZE = 48;
const PCPU_MIN_UNIT_SIZE = 32 << 10;
const LPM_DATA_SIZE_MAX = 256;
const LPM_NODE_SIZE = 32;
/** The largest hash table the emulator builds: its bucket array is allocated up front. */
const EMU_MAX_BUCKETS = 1 << 24;

function accessOk(flags: number): boolean {
  return (flags & (BPF_F_RDONLY_PROG | BPF_F_WRONLY_PROG)) !== (BPF_F_RDONLY_PROG | BPF_F_WRONLY_PROG);
}

export function perCpuType(type: number): boolean {
  return type === BPF_MAP_TYPE_PERCPU_HASH || type === BPF_MAP_TYPE_LRU_PERCPU_HASH || type === BPF_MAP_TYPE_PERCPU_ARRAY;
}

function checkHash(a: EmuCreateAttr, numa: boolean): void {
  const percpu = a.mapType === BPF_MAP_TYPE_PERCPU_HASH || a.mapType === BPF_MAP_TYPE_LRU_PERCPU_HASH;
  const lru = a.mapType === BPF_MAP_TYPE_LRU_HASH || a.mapType === BPF_MAP_TYPE_LRU_PERCPU_HASH;
  const percpuLru = (a.mapFlags & BPF_F_NO_COMMON_LRU) !== 0;
  const prealloc = (a.mapFlags & BPF_F_NO_PREALLOC) === 0;
  if (a.mapFlags & ~HTAB_FLAGS || !accessOk(a.mapFlags)) fail(errno.EINVAL);
  if (!lru && percpuLru) fail(errno.EINVAL);
  if (lru && !prealloc) fail(524);
  if (numa && (percpu || percpuLru)) fail(errno.EINVAL);
  if (a.maxEntries === 0 || a.keySize === 0 || a.valueSize === 0) fail(errno.EINVAL);
  if (a.keySize + a.valueSize >= KMALLOC_MAX_SIZE - HTAB_ELEM_SIZE) fail(errno.E2BIG);
  if (percpu && ((a.valueSize + 7) & ~7) > PCPU_MIN_UNIT_SIZE) fail(errno.E2BIG);
}

function checkArray(a: EmuCreateAttr, numa: boolean): void {
  const percpu = a.mapType === BPF_MAP_TYPE_PERCPU_ARRAY;
  if (a.maxEntries === 0 || a.keySize !== 4 || a.valueSize === 0 || a.mapFlags & ~ARRAY_FLAGS || !accessOk(a.mapFlags) || (percpu && numa))
    fail(errno.EINVAL);
  if (a.mapType !== BPF_MAP_TYPE_ARRAY && a.mapFlags & (BPF_F_MMAPABLE | BPF_F_INNER_MAP)) fail(errno.EINVAL);
  if (a.mapFlags & BPF_F_PRESERVE_ELEMS) fail(errno.EINVAL);
  if (a.valueSize > 0x7fffffff) fail(errno.E2BIG);
  if (percpu && ((a.valueSize + 7) & ~7) > PCPU_MIN_UNIT_SIZE) fail(errno.E2BIG);
}

/** The type's map_alloc_check, then map_alloc's own checks. */
function checkType(a: EmuCreateAttr, numa: boolean): void {
  switch (a.mapType) {
    case BPF_MAP_TYPE_HASH:
    case BPF_MAP_TYPE_PERCPU_HASH:
    case BPF_MAP_TYPE_LRU_HASH:
    case BPF_MAP_TYPE_LRU_PERCPU_HASH:
      checkHash(a, numa);
      break;
    case BPF_MAP_TYPE_HASH_OF_MAPS:
      if (a.valueSize !== 4) fail(errno.EINVAL);
      checkHash(a, numa);
      break;
    case BPF_MAP_TYPE_ARRAY:
    case BPF_MAP_TYPE_PERCPU_ARRAY:
      checkArray(a, numa);
      break;
    case BPF_MAP_TYPE_ARRAY_OF_MAPS:
    case BPF_MAP_TYPE_PROG_ARRAY:
      if (a.valueSize !== 4) fail(errno.EINVAL);
      if (a.mapFlags & (BPF_F_RDONLY_PROG | BPF_F_WRONLY_PROG)) fail(errno.EINVAL);
      checkArray(a, numa);
      break;
    case BPF_MAP_TYPE_QUEUE:
    case BPF_MAP_TYPE_STACK:
      if (a.maxEntries === 0 || a.keySize !== 0 || a.valueSize === 0 || a.mapFlags & ~QUEUE_FLAGS || !accessOk(a.mapFlags))
        fail(errno.EINVAL);
      if (a.valueSize > KMALLOC_MAX_SIZE) fail(errno.E2BIG);
      break;
    case BPF_MAP_TYPE_LPM_TRIE:
      if (a.maxEntries === 0 || !(a.mapFlags & BPF_F_NO_PREALLOC) || a.mapFlags & ~LPM_FLAGS || !accessOk(a.mapFlags) ||
        a.keySize < 4 + 1 || a.keySize > 4 + LPM_DATA_SIZE_MAX || a.valueSize < 1 ||
        a.valueSize > KMALLOC_MAX_SIZE - LPM_DATA_SIZE_MAX - LPM_NODE_SIZE)
        fail(errno.EINVAL);
      break;
    default:
      fail(errno.EINVAL);
  }
}

/** bpf_obj_name_cpy: the name as the attr carries it (15 bytes and a NUL), only [A-Za-z0-9_.]. */
function checkName(name: string): string {
  const buf = Buffer.alloc(BPF_OBJ_NAME_LEN);
  writeObjName(buf, 0, name, BPF_OBJ_NAME_LEN);
  let end = 0;
  while (end < BPF_OBJ_NAME_LEN && buf[end] !== 0) {
    const c = buf[end] as number;
    const ok = (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95 || c === 46;
    if (!ok) fail(errno.EINVAL);
    end++;
  }
  return buf.toString('latin1', 0, end);
}

/** What creating a map needs from the kernel around it. */
export interface CreateContext {
  cpus: number;
  inners: InnerMaps;
  /** The BTF object behind btf_fd (EBADF/EINVAL as the kernel's btf_get_by_fd). */
  btf?: (fd: number) => EmuBtf;
}

/** Checks attr as the kernel does and builds the map; throws EmuErrno. */
export function createMap(a: EmuCreateAttr, ctx: CreateContext): EmuMap {
  const { attr, meta } = checkCreate(a, ctx);
  return buildMap(attr, { ...(meta ? { meta } : {}), inners: ctx.inners });
}

/** MAP_CREATE's checks (also of a map loaded from the store): the map's attributes; throws EmuErrno. */
export function checkCreate(a: EmuCreateAttr, ctx: CreateContext): { attr: EmuMapAttr; meta?: InnerMeta } {
  // map_create's first check: a key type needs a value type.
  if ((a.btfKeyTypeId ?? 0) !== 0 && (a.btfValueTypeId ?? 0) === 0) fail(errno.EINVAL);
  if ((a.mapExtra ?? 0n) !== 0n) fail(errno.EINVAL);
  if ((a.mapFlags & BPF_F_RDONLY) && (a.mapFlags & BPF_F_WRONLY)) fail(errno.EINVAL);
  const numa = (a.mapFlags & BPF_F_NUMA_NODE) !== 0;
  // The emulated machine has one NUMA node, node 0.
  if (numa && (a.numaNode ?? 0) !== 0) fail(errno.EINVAL);
  checkType(a, numa);
  let maxEntries = a.maxEntries;
  if (a.mapType === BPF_MAP_TYPE_LRU_PERCPU_HASH && a.mapFlags & BPF_F_NO_COMMON_LRU) {
    // Each CPU gets an equal share of the LRU: max_entries rounds up to a multiple of the CPUs.
    maxEntries = Math.ceil(maxEntries / ctx.cpus) * ctx.cpus;
    if (maxEntries > 0xffffffff) maxEntries = Math.floor(a.maxEntries / ctx.cpus) * ctx.cpus;
  }
  const hashLike = a.mapType === BPF_MAP_TYPE_HASH || a.mapType === BPF_MAP_TYPE_PERCPU_HASH || a.mapType === BPF_MAP_TYPE_LRU_HASH ||
    a.mapType === BPF_MAP_TYPE_LRU_PERCPU_HASH || a.mapType === BPF_MAP_TYPE_HASH_OF_MAPS;
  if (hashLike && maxEntries > 2 ** 31) fail(errno.E2BIG);
  if (hashLike && roundupPow2(maxEntries) > EMU_MAX_BUCKETS) fail(errno.ENOMEM);
  let meta: InnerMeta | undefined;
  if (isMapInMap(a.mapType)) meta = new InnerMeta(ctx.inners.resolve(a.innerMapFd ?? 0));
  const name = checkName(a.name ?? '');
  let btf: EmuMapBtf | undefined;
  if ((a.btfKeyTypeId ?? 0) !== 0 || (a.btfValueTypeId ?? 0) !== 0) {
    if (!ctx.btf) fail(errno.EINVAL);
    btf = checkMapBtf(ctx.btf(a.btfFd ?? 0), a.mapType, a.keySize, a.valueSize, a.btfKeyTypeId ?? 0, a.btfValueTypeId ?? 0);
  }
  const attr: EmuMapAttr = {
    type: a.mapType,
    keySize: a.keySize,
    valueSize: a.valueSize,
    maxEntries,
    // BPF_F_RDONLY/WRONLY describe the creating fd, not the map (bpf_map_flags_retain_permanent).
    flags: a.mapFlags & ~(BPF_F_RDONLY | BPF_F_WRONLY),
    name,
    valueBytes: perCpuType(a.mapType) ? ((a.valueSize + 7) & ~7) * ctx.cpus : a.valueSize,
    ...(btf ? { btf } : {}),
  };
  return meta ? { attr, meta } : { attr };
}

/** The map object for checked attributes (also for a map loaded from its pin). */
export function buildMap(attr: EmuMapAttr, opts: { seed?: number; meta?: InnerMeta; inners?: InnerMaps }): EmuMap {
  switch (attr.type) {
    case BPF_MAP_TYPE_ARRAY:
    case BPF_MAP_TYPE_PERCPU_ARRAY:
    case BPF_MAP_TYPE_ARRAY_OF_MAPS:
    case BPF_MAP_TYPE_PROG_ARRAY:
      return new ArrayMap(attr, opts);
    case BPF_MAP_TYPE_LPM_TRIE:
      return new LpmTrie(attr);
    case BPF_MAP_TYPE_QUEUE:
    case BPF_MAP_TYPE_STACK:
      return new QueueStack(attr);
    default:
      return new HashTab(attr, opts);
  }
}

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
  BPF_MAP_TYPE_RINGBUF,
  BPF_MAP_TYPE_STACK,
  BPF_MAP_TYPE_USER_RINGBUF,
  BPF_OBJ_NAME_LEN,
} from '../sys/constants.js';
import { errno } from '../sys/errno.js';
import { ArrayMap } from './arraymap.js';
import { fail } from './errno.js';
import { HashTab, roundupPow2, type HashTabOptions } from './hashtab.js';
import { LpmTrie } from './lpm-trie.js';
import { InnerMeta, isMapInMap, type InnerMaps } from './map-in-map.js';
import type { EmuMap, EmuMapAttr } from './map.js';
import { QueueStack } from './queue-stack.js';
import { EMU_PAGE, EmuRingBuf } from './ringbuf.js';
import { checkMapBtf, type EmuBtf, type EmuMapBtf } from './btf.js';

/** MAP_CREATE's attributes, as the Kernel interface passes them. */
export type EmuCreateAttr = MapCreateAttr;

export const EMULATED_TYPES: ReadonlySet<number> = new Set([
  BPF_MAP_TYPE_HASH, BPF_MAP_TYPE_ARRAY, BPF_MAP_TYPE_PERCPU_HASH, BPF_MAP_TYPE_PERCPU_ARRAY,
  BPF_MAP_TYPE_LRU_HASH, BPF_MAP_TYPE_LRU_PERCPU_HASH, BPF_MAP_TYPE_LPM_TRIE,
  BPF_MAP_TYPE_ARRAY_OF_MAPS, BPF_MAP_TYPE_HASH_OF_MAPS, BPF_MAP_TYPE_QUEUE, BPF_MAP_TYPE_STACK, BPF_MAP_TYPE_PROG_ARRAY,
  BPF_MAP_TYPE_RINGBUF, BPF_MAP_TYPE_USER_RINGBUF,
]);

const ACCESS_MASK = BPF_F_RDONLY | BPF_F_RDONLY_PROG | BPF_F_WRONLY | BPF_F_WRONLY_PROG;
const HTAB_FLAGS = BPF_F_NO_PREALLOC | BPF_F_NO_COMMON_LRU | BPF_F_NUMA_NODE | ACCESS_MASK | BPF_F_ZERO_SEED;
const BPF_F_PRESERVE_ELEMS = 1 << 11;
const ARRAY_FLAGS = BPF_F_NUMA_NODE | BPF_F_MMAPABLE | ACCESS_MASK | BPF_F_PRESERVE_ELEMS | BPF_F_INNER_MAP;
const LPM_FLAGS = BPF_F_NO_PREALLOC | BPF_F_NUMA_NODE | ACCESS_MASK;
const QUEUE_FLAGS = BPF_F_NUMA_NODE | ACCESS_MASK;
/** KMALLOC_MAX_SIZE on x86_64 (4 MiB) and PCPU_MIN_UNIT_SIZE (32 KiB): the kernel's size limits. */
const KMALLOC_MAX_SIZE = 4 << 20;
/** Sizes of the kernel's structs on x86_64 6.18 (vmlinux BTF): htab_elem, bucket, bpf_array, bpf_queue_stack. */
const HTAB_ELEM_SIZE = 48;
const HTAB_BUCKET_SIZE = 16;
const BPF_ARRAY_SIZE = 312;
const BPF_QUEUE_STACK_SIZE = 312;
const PAGE_SIZE = 4096;
const PCPU_MIN_UNIT_SIZE = 32 << 10;
const LPM_DATA_SIZE_MAX = 256;
/** sizeof(struct lpm_trie_node) since 6.13 (it lost its rcu_head). */
const LPM_NODE_SIZE = 24;

function accessOk(flags: number): boolean {
  return (flags & (BPF_F_RDONLY_PROG | BPF_F_WRONLY_PROG)) !== (BPF_F_RDONLY_PROG | BPF_F_WRONLY_PROG);
}

/** round_up(v, 8) without 32-bit overflow (value sizes reach 2^32-1). */
export function roundUp8(v: number): number {
  return Math.ceil(v / 8) * 8;
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
  if (percpu && roundUp8(a.valueSize) > PCPU_MIN_UNIT_SIZE) fail(errno.E2BIG);
}

function checkArray(a: EmuCreateAttr, numa: boolean): void {
  const percpu = a.mapType === BPF_MAP_TYPE_PERCPU_ARRAY;
  if (a.maxEntries === 0 || a.keySize !== 4 || a.valueSize === 0 || a.mapFlags & ~ARRAY_FLAGS || !accessOk(a.mapFlags) || (percpu && numa))
    fail(errno.EINVAL);
  if (a.mapType !== BPF_MAP_TYPE_ARRAY && a.mapFlags & (BPF_F_MMAPABLE | BPF_F_INNER_MAP)) fail(errno.EINVAL);
  if (a.mapFlags & BPF_F_PRESERVE_ELEMS) fail(errno.EINVAL);
  if (a.valueSize > 0x7fffffff) fail(errno.E2BIG);
  if (percpu && roundUp8(a.valueSize) > PCPU_MIN_UNIT_SIZE) fail(errno.E2BIG);
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
    case BPF_MAP_TYPE_RINGBUF:
    case BPF_MAP_TYPE_USER_RINGBUF: {
      // ringbuf_map_alloc: no key or value, a power-of-two number of whole pages, NUMA node as the only flag.
      const n = a.maxEntries;
      if (a.mapFlags & ~BPF_F_NUMA_NODE || a.keySize !== 0 || a.valueSize !== 0 || n === 0 || (n & (n - 1)) !== 0 || n % EMU_PAGE !== 0)
        fail(errno.EINVAL);
      break;
    }
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

/**
 * bpf_map_area_alloc: vmalloc refuses an area of more pages than the machine has RAM, before
 * trying. (Smaller areas depend on free memory and memory cgroups: the emulator grants them.)
 */
function areaAlloc(bytes: number, ctx: CreateContext): void {
  if (Math.floor(bytes / PAGE_SIZE) > Math.floor(ctx.totalRam / PAGE_SIZE)) fail(errno.ENOMEM);
}

/** The sizes map_alloc checks and the areas it allocates up front; returns the map's max_entries. */
function allocCheck(a: EmuCreateAttr, ctx: CreateContext): number {
  switch (a.mapType) {
    case BPF_MAP_TYPE_HASH:
    case BPF_MAP_TYPE_PERCPU_HASH:
    case BPF_MAP_TYPE_LRU_HASH:
    case BPF_MAP_TYPE_LRU_PERCPU_HASH:
    case BPF_MAP_TYPE_HASH_OF_MAPS: {
      let maxEntries = a.maxEntries;
      if (a.mapFlags & BPF_F_NO_COMMON_LRU) {
        // Each CPU gets an equal share of the LRU: max_entries rounds up to a multiple of the
        // CPUs (down when that overflows u32), for lru_hash and lru_percpu_hash alike.
        maxEntries = Math.ceil(maxEntries / ctx.cpus) * ctx.cpus;
        if (maxEntries > 0xffffffff) maxEntries = Math.floor(a.maxEntries / ctx.cpus) * ctx.cpus;
      }
      if (maxEntries > 2 ** 31) fail(errno.E2BIG);
      const nBuckets = roundupPow2(maxEntries);
      // The bucket array's size must fit in a u32.
      if (nBuckets > Math.floor(0xffffffff / HTAB_BUCKET_SIZE)) fail(errno.E2BIG);
      areaAlloc(nBuckets * HTAB_BUCKET_SIZE, ctx);
      if ((a.mapFlags & BPF_F_NO_PREALLOC) === 0) {
        const percpu = a.mapType === BPF_MAP_TYPE_PERCPU_HASH || a.mapType === BPF_MAP_TYPE_LRU_PERCPU_HASH;
        const lru = a.mapType === BPF_MAP_TYPE_LRU_HASH || a.mapType === BPF_MAP_TYPE_LRU_PERCPU_HASH;
        const elemSize = HTAB_ELEM_SIZE + roundUp8(a.keySize) + (percpu ? 8 : roundUp8(a.valueSize));
        // Plain prealloc hashes keep one spare element per CPU (htab_has_extra_elems).
        areaAlloc(elemSize * (maxEntries + (percpu || lru ? 0 : ctx.cpus)), ctx);
      }
      return maxEntries;
    }
    case BPF_MAP_TYPE_ARRAY:
    case BPF_MAP_TYPE_PERCPU_ARRAY:
    case BPF_MAP_TYPE_ARRAY_OF_MAPS:
    case BPF_MAP_TYPE_PROG_ARRAY: {
      // As root (bpf_bypass_spec_v1) the array is not rounded up to a power of two.
      const elems = a.mapType === BPF_MAP_TYPE_PERCPU_ARRAY ? 8 : roundUp8(a.valueSize);
      const mmap = (a.mapFlags & BPF_F_MMAPABLE) !== 0;
      const head = mmap ? pageAlign(BPF_ARRAY_SIZE) : BPF_ARRAY_SIZE;
      areaAlloc(head + (mmap ? pageAlign(a.maxEntries * elems) : a.maxEntries * elems), ctx);
      return a.maxEntries;
    }
    case BPF_MAP_TYPE_RINGBUF:
    case BPF_MAP_TYPE_USER_RINGBUF:
      // The meta pages, then the data pages (mapped twice, allocated once).
      areaAlloc(a.maxEntries + 3 * EMU_PAGE, ctx);
      return a.maxEntries;
    case BPF_MAP_TYPE_QUEUE:
    case BPF_MAP_TYPE_STACK:
      // One slot more than max_entries: the ring keeps one free.
      areaAlloc(BPF_QUEUE_STACK_SIZE + (a.maxEntries + 1) * a.valueSize, ctx);
      return a.maxEntries;
    default:
      return a.maxEntries;
  }
}

function pageAlign(n: number): number {
  return Math.ceil(n / PAGE_SIZE) * PAGE_SIZE;
}

/** What creating a map needs from the kernel around it. */
export interface CreateContext {
  cpus: number;
  /** The machine's RAM in bytes (sysinfo's totalram): vmalloc refuses any larger area outright. */
  totalRam: number;
  inners: InnerMaps;
  /** The CPU the calls on the map run on (the LRU's per-CPU lists). */
  cpu: () => number;
  /** The BTF object behind btf_fd (EBADF/EINVAL as the kernel's btf_get_by_fd). */
  btf?: (fd: number) => EmuBtf;
}

/** Checks attr as the kernel does and builds the map; throws EmuErrno. */
export function createMap(a: EmuCreateAttr, ctx: CreateContext): EmuMap {
  const { attr, meta } = checkCreate(a, ctx);
  return buildMap(attr, { ...(meta ? { meta } : {}), inners: ctx.inners, cpus: ctx.cpus, cpu: ctx.cpu });
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
  // htab_of_map_alloc and array_of_map_alloc build the inner template before the table.
  let meta: InnerMeta | undefined;
  if (isMapInMap(a.mapType)) meta = new InnerMeta(ctx.inners.resolve(a.innerMapFd ?? 0));
  const maxEntries = allocCheck(a, ctx);
  const name = checkName(a.name ?? '');
  let btf: EmuMapBtf | undefined;
  if ((a.btfKeyTypeId ?? 0) !== 0 || (a.btfValueTypeId ?? 0) !== 0) {
    if (!ctx.btf) fail(errno.EINVAL);
    btf = checkMapBtf(ctx.btf(a.btfFd ?? 0), a.mapType, a.mapFlags, a.keySize, a.valueSize, a.btfKeyTypeId ?? 0, a.btfValueTypeId ?? 0);
  }
  const attr: EmuMapAttr = {
    type: a.mapType,
    keySize: a.keySize,
    valueSize: a.valueSize,
    maxEntries,
    // BPF_F_RDONLY/WRONLY describe the creating fd, not the map (bpf_map_flags_retain_permanent).
    flags: a.mapFlags & ~(BPF_F_RDONLY | BPF_F_WRONLY),
    name,
    valueBytes: perCpuType(a.mapType) ? roundUp8(a.valueSize) * ctx.cpus : a.valueSize,
    ...(btf ? { btf } : {}),
  };
  return meta ? { attr, meta } : { attr };
}

/** The map object for checked attributes (also for a map loaded from its pin). */
export function buildMap(attr: EmuMapAttr, opts: HashTabOptions): EmuMap {
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
    case BPF_MAP_TYPE_RINGBUF:
    case BPF_MAP_TYPE_USER_RINGBUF:
      return new EmuRingBuf(attr);
    default:
      return new HashTab(attr, opts);
  }
}

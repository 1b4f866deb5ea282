import { BPF_EXIST, BPF_F_LOCK } from '../sys/constants.js';
import { ENOTSUPP, errno } from '../sys/errno.js';
import type { EmuMapBtf } from './btf.js';
import { fail } from './errno.js';

/** A map's creation attributes as the emulator keeps them. */
export interface EmuMapAttr {
  type: number;
  keySize: number;
  valueSize: number;
  maxEntries: number;
  /** map_flags as the kernel reports them (BPF_F_RDONLY/WRONLY belong to the fd, not the map). */
  flags: number;
  name: string;
  /** Bytes of a value as the syscalls see it (per-CPU: stride times possible CPUs). */
  valueBytes: number;
  /** The map's BTF, when created with one. */
  btf?: EmuMapBtf;
}

/** Which batch commands a map type has, and which implementation (the kernel's map ops). */
export interface BatchOps {
  lookup: 'bucket' | 'generic' | null;
  lookupAndDelete: 'bucket' | null;
  update: boolean;
  delete: boolean;
}

/** One element as a map lists it for persistence: raw key and value bytes. */
export interface EmuEntry {
  key: Uint8Array;
  value: Uint8Array;
  /** LRU maps: the element's place in the recency order (0: least recently used). */
  rank?: number;
}

/**
 * One emulated map: the element operations of its kernel map ops. Each throws EmuErrno with the
 * errno the kernel's op returns; the syscall-level checks (permissions, flags) are the kernel's job.
 */
export abstract class EmuMap {
  readonly attr: EmuMapAttr;
  id = 0;
  frozen = false;
  /** Open fds, pins and outer maps holding this map: at 0 the map is freed. */
  refs = 0;
  abstract readonly batchOps: BatchOps;

  constructor(attr: EmuMapAttr) {
    this.attr = attr;
  }

  /** Copies the value of key into out (per-CPU: every CPU's slot). */
  abstract lookup(key: Uint8Array | null, out: Uint8Array): void;
  abstract update(key: Uint8Array | null, value: Uint8Array, flags: number): void;
  abstract delete(key: Uint8Array | null): void;
  /** Writes the key after key (null or not found: the first) into out. */
  abstract nextKey(key: Uint8Array | null, out: Uint8Array): void;
  /** The syscall's LOOKUP_AND_DELETE_ELEM; only the hash family and queue/stack have it. */
  lookupAndDelete(_key: Uint8Array | null, _out: Uint8Array, _flags: number): void {
    fail(ENOTSUPP);
  }
  /** Every element, in an order that restore() turns back into the same observable state. */
  abstract dump(): EmuEntry[];
  abstract restore(entries: readonly EmuEntry[]): void;
  /** Empties the map (before restoring a newer stored state). */
  abstract clear(): void;
  /** Maps this one holds references to (map-in-map), released when it is freed. */
  innerMaps(): EmuMap[] {
    return [];
  }
}

/** Whether a u64 flags word has BPF_F_LOCK (flags may exceed 32 bits, so no bitwise ops). */
export function hasLock(flags: number): boolean {
  return Math.floor(flags / BPF_F_LOCK) % 2 === 1;
}

/** flags without BPF_F_LOCK. */
export function withoutLock(flags: number): number {
  return hasLock(flags) ? flags - BPF_F_LOCK : flags;
}

/** The update flags a map's update rejects with EINVAL: past BPF_EXIST (BPF_F_LOCK set aside where allowed). */
export function checkUpdateFlags(flags: number, allowLock: boolean): void {
  const f = allowLock ? withoutLock(flags) : flags;
  if (f > BPF_EXIST) fail(errno.EINVAL);
}

/**
 * A copy of bytes [start, end) as a plain Uint8Array. (Buffer#slice shares memory with the
 * Buffer, so a map must never keep what the caller passed, nor a slice of it.)
 */
export function copyBytes(b: Uint8Array, start = 0, end = b.length): Uint8Array {
  return Uint8Array.prototype.slice.call(b, start, end);
}

/**
 * A plain Uint8Array over the caller's bytes. The maps keep copies made with slice(), and
 * Buffer#slice() shares memory instead of copying: a Buffer handed in (BpfMap's scratch key and
 * value buffers) would otherwise stay aliased inside the map.
 */
export function plain<T extends Uint8Array | null>(b: T): T {
  return (b instanceof Buffer ? new Uint8Array(b.buffer, b.byteOffset, b.length) : b) as T;
}

/** Whether the map's value holds a bpf_spin_lock (what BPF_F_LOCK needs). */
export function locked(m: EmuMap): boolean {
  return m.attr.btf?.spinLock !== undefined;
}

/**
 * Values as a locked map stores them: the kernel copies values around their bpf_spin_lock,
 * which userspace never sets (it reads back as zero).
 */
export function withLockZeroed(m: EmuMap, values: Uint8Array, count: number): Uint8Array {
  const off = m.attr.btf?.spinLock;
  if (off === undefined) return values;
  const copy = Uint8Array.from(values);
  for (let i = 0; i < count; i++) copy.fill(0, i * m.attr.valueBytes + off, i * m.attr.valueBytes + off + 4);
  return copy;
}

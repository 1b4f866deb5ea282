import { allocAttr } from './attr.js';
import {
  BPF_MAP_DELETE_ELEM,
  BPF_MAP_FREEZE,
  BPF_MAP_GET_NEXT_KEY,
  BPF_MAP_LOOKUP_AND_DELETE_ELEM,
  BPF_MAP_LOOKUP_ELEM,
  BPF_MAP_UPDATE_ELEM,
} from './constants.js';
import { nativeBpf, nativeBpfSequence } from './native.js';

/** The single-element part of union bpf_attr (LOOKUP/UPDATE/DELETE_ELEM, GET_NEXT_KEY, FREEZE). */
export const MAP_ELEM_ATTR = {
  map_fd: 0,
  key: 8,
  value: 16, // also next_key
  flags: 24,
  size: 32,
} as const;

const L = MAP_ELEM_ATTR;
// One attr reused by every element call: calls are synchronous. The pointers are written by the
// addon on every call; fd and flags only when they differ from the last call's (a walk repeats them).
// The cache must always say what the attr holds, or every later call sends stale bytes: values
// are checked before any byte is written, and a failure anywhere forgets the cache.
const attr = allocAttr(L.size);
let lastFd = 0;
let lastFlags = 0;

/** Writes fd and flags into the element attr unless it holds them already. */
function setElemAttr(fd: number, flags: number): void {
  if (fd === lastFd && flags === lastFlags) return;
  try {
    if (!Number.isInteger(fd) || fd < 0 || fd > 0xffffffff) throw new RangeError(`map fd must be a u32, got ${fd}`);
    if (!Number.isInteger(flags) || flags < 0 || flags >= 2 ** 64) throw new RangeError(`flags must be a u64, got ${flags}`);
    attr.writeUInt32LE(fd, L.map_fd);
    // flags as two u32 halves: no BigInt on the per-element hot path.
    attr.writeUInt32LE(flags >>> 0, L.flags);
    attr.writeUInt32LE(Math.floor(flags / 0x100000000), L.flags + 4);
    lastFd = fd;
    lastFlags = flags;
  } catch (e) {
    lastFd = lastFlags = Number.NaN;
    throw e;
  }
}

function elemCall(cmd: number, fd: number, key: Uint8Array | null, keyLen: number,
  value: Uint8Array | null, valueLen: number, flags: number): number {
  setElemAttr(fd, flags);
  try {
    return nativeBpf()(cmd, attr, L.key, key, keyLen, L.value, value, valueLen);
  } catch (e) {
    lastFd = lastFlags = Number.NaN;
    throw e;
  }
}

/** BPF_MAP_LOOKUP_ELEM: 0 or -errno; the kernel writes valueLen bytes into value. */
export function sysMapLookupElem(fd: number, key: Uint8Array | null, keyLen: number,
  value: Uint8Array, valueLen: number, flags: number): number {
  return elemCall(BPF_MAP_LOOKUP_ELEM, fd, key, keyLen, value, valueLen, flags);
}

/** BPF_MAP_UPDATE_ELEM: 0 or -errno. */
export function sysMapUpdateElem(fd: number, key: Uint8Array | null, keyLen: number,
  value: Uint8Array, valueLen: number, flags: number): number {
  return elemCall(BPF_MAP_UPDATE_ELEM, fd, key, keyLen, value, valueLen, flags);
}

/** BPF_MAP_DELETE_ELEM: 0 or -errno. */
export function sysMapDeleteElem(fd: number, key: Uint8Array, keyLen: number): number {
  return elemCall(BPF_MAP_DELETE_ELEM, fd, key, keyLen, null, 0, 0);
}

/** BPF_MAP_GET_NEXT_KEY: key null asks for the first key; 0 or -errno (ENOENT at the end). */
export function sysMapGetNextKey(fd: number, key: Uint8Array | null, keyLen: number,
  nextKey: Uint8Array): number {
  return elemCall(BPF_MAP_GET_NEXT_KEY, fd, key, key ? keyLen : 0, nextKey, keyLen, 0);
}

/** Where a pointer of a sequence's call points: [index in its buffers, byte offset, bytes the kernel may access]. */
export type SeqRef = readonly [buffer: number, offset: number, length: number];

/** One element call of a sequence (sysElemSequence): an element attr's command, flags, key and value (GET_NEXT_KEY: next key). */
export interface SeqCall {
  cmd: number;
  flags: number;
  key: SeqRef;
  value: SeqRef;
}

/**
 * Element calls on fd laid out once: an attr per call, and the relocations of its key and value
 * pointers into buffers. The returned function makes them in order in one call into the addon,
 * until one fails: errno * 65536 + the number that succeeded (errno 0: all did). The addon checks
 * every relocation against its buffer's length before the first call, on every run.
 */
export function sysElemSequence(fd: number, buffers: readonly Uint8Array[], calls: readonly SeqCall[]): () => number {
  const call = nativeBpfSequence();
  const attrs = allocAttr(calls.length * L.size);
  const cmds = new Uint32Array(calls.length);
  const relocs = new Uint32Array(calls.length * 8);
  calls.forEach((c, i) => {
    const at = i * L.size;
    cmds[i] = c.cmd;
    attrs.writeUInt32LE(fd, at + L.map_fd);
    attrs.writeUInt32LE(c.flags >>> 0, at + L.flags);
    attrs.writeUInt32LE(Math.floor(c.flags / 0x100000000), at + L.flags + 4);
    relocs.set([at + L.key, ...c.key, at + L.value, ...c.value], i * 8);
  });
  return () => call(cmds, attrs, L.size, relocs, buffers);
}

/** BPF_MAP_LOOKUP_AND_DELETE_ELEM (key null for queue/stack pop): 0 or -errno. */
export function sysMapLookupAndDeleteElem(fd: number, key: Uint8Array | null, keyLen: number,
  value: Uint8Array, valueLen: number, flags: number): number {
  return elemCall(BPF_MAP_LOOKUP_AND_DELETE_ELEM, fd, key, keyLen, value, valueLen, flags);
}

/** BPF_MAP_FREEZE: 0 or -errno. */
export function sysMapFreeze(fd: number): number {
  return elemCall(BPF_MAP_FREEZE, fd, null, 0, null, 0, 0);
}

import { allocAttr } from './attr.js';
import {
  BPF_MAP_DELETE_ELEM,
  BPF_MAP_FREEZE,
  BPF_MAP_GET_NEXT_KEY,
  BPF_MAP_LOOKUP_AND_DELETE_ELEM,
  BPF_MAP_LOOKUP_ELEM,
  BPF_MAP_UPDATE_ELEM,
} from './constants.js';
import { nativeBpf, nativeBpfPair } from './native.js';

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

// GET_NEXT_KEY's attr of a paired call: the kernel wants its flags zero, and the pair's two attrs
// must be apart.
const nextAttr = allocAttr(L.size);
let nextFd = 0;

/**
 * BPF_MAP_LOOKUP_ELEM of key, then BPF_MAP_GET_NEXT_KEY from the same key into next, in one call
 * into the addon (a per-element walk's step): lookupErrno + nextErrno * 4096, 0 for success.
 */
export function sysMapLookupNextKey(fd: number, key: Uint8Array, keyLen: number,
  value: Uint8Array, valueLen: number, flags: number, next: Uint8Array): number {
  const pair = nativeBpfPair();
  if (pair === undefined) {
    const l = sysMapLookupElem(fd, key, keyLen, value, valueLen, flags);
    const n = sysMapGetNextKey(fd, key, keyLen, next);
    return -l + -n * 4096;
  }
  setElemAttr(fd, flags);
  try {
    if (fd !== nextFd) {
      nextAttr.writeUInt32LE(fd, L.map_fd);
      nextFd = fd;
    }
    return pair(BPF_MAP_LOOKUP_ELEM, attr, L.key, key, keyLen, L.value, value, valueLen,
      BPF_MAP_GET_NEXT_KEY, nextAttr, L.key, key, keyLen, L.value, next, keyLen);
  } catch (e) {
    lastFd = lastFlags = nextFd = Number.NaN;
    throw e;
  }
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

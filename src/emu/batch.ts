// The batch commands' arguments and outcome inside the emulator, and the kernel's generic batch
// walks (kernel/bpf/syscall.c generic_map_*_batch) over a map's element operations.
import { errno } from '../sys/errno.js';
import { EmuErrno } from './errno.js';
import { copyBytes, hasLock, withoutLock, type EmuMap } from './map.js';

export interface EmuLookupBatchArgs {
  inBatch: Uint8Array | null;
  outBatch: Uint8Array;
  keys: Uint8Array;
  values: Uint8Array;
  count: number;
  elemFlags: number;
  flags: number;
}

export interface EmuWriteBatchArgs {
  keys: Uint8Array;
  values: Uint8Array | null;
  count: number;
  elemFlags: number;
  flags: number;
}

/** 0 or the errno, and the count the kernel leaves in the attr. */
export interface EmuBatchResult {
  errno: number;
  count: number;
}

/** elem_flags other than BPF_F_LOCK, or BPF_F_LOCK on a map whose value has no spin lock: EINVAL. */
export function badElemFlags(elemFlags: number, map: EmuMap): boolean {
  return withoutLock(elemFlags) !== 0 || (hasLock(elemFlags) && map.attr.btf?.spinLock === undefined);
}

function errnoOf(e: unknown): number {
  if (e instanceof EmuErrno) return e.errno;
  throw e;
}

/** generic_map_lookup_batch: a GET_NEXT_KEY walk from the last key; slots that vanish (ENOENT) are skipped. */
export function genericLookupBatch(map: EmuMap, a: EmuLookupBatchArgs): EmuBatchResult {
  if (badElemFlags(a.elemFlags, map)) return { errno: errno.EINVAL, count: a.count };
  if (a.count === 0) return { errno: 0, count: 0 };
  const { keySize } = map.attr;
  const valueBytes = map.attr.valueBytes;
  let prev: Uint8Array | null = a.inBatch ? copyBytes(a.inBatch, 0, keySize) : null;
  const key = new Uint8Array(keySize);
  const value = new Uint8Array(valueBytes);
  let cp = 0;
  let err = 0;
  while (cp < a.count) {
    try {
      map.nextKey(prev, key);
    } catch (e) {
      err = errnoOf(e);
      break;
    }
    err = 0;
    try {
      map.lookup(key, value);
      a.keys.set(key, cp * keySize);
      a.values.set(value, cp * valueBytes);
      cp++;
    } catch (e) {
      err = errnoOf(e);
      if (err !== errno.ENOENT) return { errno: err, count: 0 };
    }
    prev = copyBytes(key);
  }
  if (cp > 0 && prev) a.outBatch.set(prev, 0);
  return { errno: err, count: cp };
}

/** generic_map_update_batch: element after element, stopping at the first error. */
export function genericUpdateBatch(map: EmuMap, a: EmuWriteBatchArgs): EmuBatchResult {
  if (badElemFlags(a.elemFlags, map)) return { errno: errno.EINVAL, count: a.count };
  if (a.count === 0) return { errno: 0, count: 0 };
  const { keySize, valueBytes } = map.attr;
  const values = a.values ?? new Uint8Array(0);
  for (let cp = 0; cp < a.count; cp++) {
    try {
      map.update(a.keys.subarray(cp * keySize, (cp + 1) * keySize), values.subarray(cp * valueBytes, (cp + 1) * valueBytes), a.elemFlags);
    } catch (e) {
      return { errno: errnoOf(e), count: cp };
    }
  }
  return { errno: 0, count: a.count };
}

/** generic_map_delete_batch. */
export function genericDeleteBatch(map: EmuMap, a: EmuWriteBatchArgs): EmuBatchResult {
  if (badElemFlags(a.elemFlags, map)) return { errno: errno.EINVAL, count: a.count };
  if (a.count === 0) return { errno: 0, count: 0 };
  const { keySize } = map.attr;
  for (let cp = 0; cp < a.count; cp++) {
    try {
      map.delete(a.keys.subarray(cp * keySize, (cp + 1) * keySize));
    } catch (e) {
      return { errno: errnoOf(e), count: cp };
    }
  }
  return { errno: 0, count: a.count };
}

// The batch commands in the emulator: bpf_map_do_batch's dispatch to a map type's batch op, and
// the kernel's generic batch walks (kernel/bpf/syscall.c generic_map_*_batch) over a map's
// element operations.
import type { BatchReply, LookupBatchArgs, WriteBatchArgs } from '../sys/batch.js';
import { BPF_MAP_LOOKUP_AND_DELETE_BATCH, BPF_MAP_LOOKUP_BATCH, BPF_MAP_UPDATE_BATCH } from '../sys/constants.js';
import { ENOTSUPP, errno } from '../sys/errno.js';
import { EmuErrno } from './errno.js';
import type { FdEntry } from './fd-table.js';
import type { HashTab } from './hashtab.js';
import { copyBytes, hasLock, plain, withLockZeroed, withoutLock, type EmuMap } from './map.js';

/** elem_flags other than BPF_F_LOCK, or BPF_F_LOCK on a map whose value has no spin lock: EINVAL. */
export function badElemFlags(elemFlags: number, map: EmuMap): boolean {
  return withoutLock(elemFlags) !== 0 || (hasLock(elemFlags) && map.attr.btf?.spinLock === undefined);
}

function errnoOf(e: unknown): number {
  if (e instanceof EmuErrno) return e.errno;
  throw e;
}

/** generic_map_lookup_batch: a GET_NEXT_KEY walk from the last key; slots that vanish (ENOENT) are skipped. */
export function genericLookupBatch(map: EmuMap, a: LookupBatchArgs): BatchReply {
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
export function genericUpdateBatch(map: EmuMap, a: WriteBatchArgs): BatchReply {
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
export function genericDeleteBatch(map: EmuMap, a: WriteBatchArgs): BatchReply {
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

/**
 * bpf_map_do_batch on fd's entry: the fd's access, then the map type's batch op or ENOTSUPP.
 * Ops that change the map run inside mutate (the emulated kernel stores a pinned map's result).
 */
export function doBatch(cmd: number, e: FdEntry, args: LookupBatchArgs | WriteBatchArgs, lookup: LookupBatchArgs | null, mutate: <T>(op: () => T) => T): BatchReply {
  const m = e.map;
  const hasRead = cmd === BPF_MAP_LOOKUP_BATCH || cmd === BPF_MAP_LOOKUP_AND_DELETE_BATCH;
  const hasWrite = cmd !== BPF_MAP_LOOKUP_BATCH;
  if (hasRead && !e.read) return { errno: errno.EPERM, count: args.count };
  if (hasWrite && (!e.write || m.frozen)) return { errno: errno.EPERM, count: args.count };
  const ops = m.batchOps;
  const unsupported = { errno: ENOTSUPP, count: args.count };
  switch (cmd) {
    case BPF_MAP_LOOKUP_BATCH:
      if (ops.lookup === 'bucket') return (m as HashTab).bucketBatch(lookup!, false);
      if (ops.lookup === 'generic') return genericLookupBatch(m, lookup!);
      return unsupported;
    case BPF_MAP_LOOKUP_AND_DELETE_BATCH:
      if (ops.lookupAndDelete !== 'bucket') return unsupported;
      return mutate(() => (m as HashTab).bucketBatch(lookup!, true));
    case BPF_MAP_UPDATE_BATCH:
      if (!ops.update) return unsupported;
      return mutate(() => genericUpdateBatch(m, { ...args, keys: plain(args.keys), values: plain(args.values && withLockZeroed(m, args.values, args.count)) }));
    default:
      if (!ops.delete) return unsupported;
      return mutate(() => genericDeleteBatch(m, args));
  }
}

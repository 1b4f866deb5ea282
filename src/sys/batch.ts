import { allocAttr } from './attr.js';
import { nativeBpf } from './native.js';

/** The batch part of union bpf_attr, shared by the four MAP_*_BATCH commands. */
export const BATCH_ATTR = {
  in_batch: 0,
  out_batch: 8,
  keys: 16,
  values: 24,
  count: 32,
  map_fd: 36,
  elem_flags: 40,
  flags: 48,
  size: 56,
} as const;

const L = BATCH_ATTR;
const attr = allocAttr(L.size);

/**
 * Arguments of a lookup or lookup-and-delete batch, as both kernels take them. Lengths are
 * checked against the map's sizes (kernel/checks.ts) before any call.
 */
export interface LookupBatchArgs {
  /** Cursor to resume from; null starts at the beginning. */
  inBatch: Uint8Array | null;
  /** Receives the cursor to resume from (cursorSize bytes). */
  outBatch: Uint8Array;
  /** Receives count keys. */
  keys: Uint8Array;
  /** Receives count values (per-CPU maps: valueBytes per entry). */
  values: Uint8Array;
  /** Capacity in entries. */
  count: number;
  elemFlags: number;
  flags: number;
}

/** Arguments of an update or delete batch (values ignored by delete). */
export interface WriteBatchArgs {
  keys: Uint8Array;
  values: Uint8Array | null;
  count: number;
  elemFlags: number;
  flags: number;
}

/** What one batch call leaves: 0 or the errno, and the count the kernel wrote back into the attr. */
export interface BatchReply {
  errno: number;
  count: number;
}

/** Buffers and lengths of one batch call; each length is what the kernel may touch through it. */
export interface SysBatchArgs {
  cmd: number;
  fd: number;
  inBatch: Uint8Array | null;
  outBatch: Uint8Array | null;
  cursorLen: number;
  keys: Uint8Array | null;
  keysLen: number;
  values: Uint8Array | null;
  valuesLen: number;
  count: number;
  elemFlags: bigint;
  flags: bigint;
}

/** One batch call. */
export function sysMapBatch(a: SysBatchArgs): BatchReply {
  attr.writeUInt32LE(a.count, L.count);
  attr.writeUInt32LE(a.fd, L.map_fd);
  attr.writeBigUInt64LE(a.elemFlags, L.elem_flags);
  attr.writeBigUInt64LE(a.flags, L.flags);
  const r = nativeBpf()(a.cmd, attr,
    L.in_batch, a.inBatch, a.inBatch ? a.cursorLen : 0,
    L.out_batch, a.outBatch, a.outBatch ? a.cursorLen : 0,
    L.keys, a.keys, a.keysLen,
    L.values, a.values, a.valuesLen);
  return { errno: r < 0 ? -r : 0, count: attr.readUInt32LE(L.count) };
}

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

/** One batch call: returns [0 or -errno, count as the kernel left it]. */
export function sysMapBatch(a: SysBatchArgs): [number, number] {
  attr.writeUInt32LE(a.count, L.count);
  attr.writeUInt32LE(a.fd, L.map_fd);
  attr.writeBigUInt64LE(a.elemFlags, L.elem_flags);
  attr.writeBigUInt64LE(a.flags, L.flags);
  const r = nativeBpf()(a.cmd, attr,
    L.in_batch, a.inBatch, a.inBatch ? a.cursorLen : 0,
    L.out_batch, a.outBatch, a.outBatch ? a.cursorLen : 0,
    L.keys, a.keys, a.keysLen,
    L.values, a.values, a.valuesLen);
  return [r, attr.readUInt32LE(L.count)];
}

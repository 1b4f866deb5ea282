import { BpfError, type MapRef } from '../kernel/error.js';
import type { HintContext } from '../kernel/hints.js';
import {
  BPF_F_LOCK,
  BPF_MAP_DELETE_BATCH,
  BPF_MAP_LOOKUP_BATCH,
  BPF_MAP_UPDATE_BATCH,
} from '../sys/constants.js';
import type { BatchTarget, LookupCmd, WalkedMap } from './batch-walk.js';
import { BatchCursor, cursorBytes } from './cursor.js';
import { internal } from './internal.js';
import type { BpfMap } from './map.js';

/** The flag attributes every batch command has. */
export interface BatchFlags {
  /** BPF_F_LOCK in elem_flags: copy values under their bpf_spin_lock. */
  lock?: boolean;
  /** Raw elem_flags (overrides lock); the kernel accepts only BPF_F_LOCK. */
  elemFlags?: number;
  /** Raw flags; the kernel requires 0. */
  flags?: number;
}

/** Options of lookupBatch and lookupAndDeleteBatch. */
export interface LookupBatchOptions extends BatchFlags {
  /** Where to resume; omitted or null starts at the beginning. */
  cursor?: BatchCursor | null;
  /** Capacity in entries (the attr's count on input). */
  count?: number;
}

/** One lookup batch, as raw bytes: `count` keys and values packed at the map's sizes. */
export interface RawLookupBatch {
  keys: Buffer;
  values: Buffer;
  /** Entries returned (the attr's count on output). */
  count: number;
  /** Pass as `cursor` to continue after these entries. */
  cursor: BatchCursor;
  /** The kernel said ENOENT: nothing follows these entries. */
  done: boolean;
}

/** One lookup batch, decoded. */
export interface LookupBatchResult<K, V> {
  keys: K[];
  values: V[];
  count: number;
  cursor: BatchCursor;
  done: boolean;
}

/** Options of updateBatch and deleteBatch. */
export interface WriteBatchOptions extends BatchFlags {
  /** Entries per syscall for large inputs (default 4096). */
  chunkSize?: number;
}

/** Entries already laid out as the kernel reads them: count keys, then count values, packed. */
export interface PackedEntries {
  keys: Uint8Array;
  values: Uint8Array;
}

/** Entries to write: [key, value] pairs, parallel key and value lists, or packed bytes. */
export type UpdateBatchInput<K, V> = Iterable<readonly [K, V]> | { keys: readonly K[]; values: readonly V[] } | PackedEntries;
/** Keys to delete: any iterable of keys, or packed key bytes. */
export type DeleteBatchInput<K> = Iterable<K> | { keys: Uint8Array };

export const DEFAULT_BATCH_SIZE = 1024;
const DEFAULT_CHUNK = 4096;
// Buffers for one batch stay below Node's single-allocation limit with room to spare.
const MAX_BATCH_BYTES = 2 ** 31;

export function elemFlagsOf(o: BatchFlags | undefined): number {
  if (o?.elemFlags !== undefined) return o.elemFlags;
  return o?.lock ? BPF_F_LOCK : 0;
}

/** A batch capacity: a u32 whose buffers can be allocated. */
export function checkCount(map: Pick<WalkedMap, 'keySize' | 'valueBytes' | typeof internal>, count: number, what = 'count'): number {
  if (typeof count !== 'number' || !Number.isInteger(count) || count < 0 || count > 0xffffffff)
    throw new RangeError(`${what} must be an integer from 0 to 2^32-1, got ${String(count)}`);
  if (count * Math.max(map.keySize, map.valueBytes) > MAX_BATCH_BYTES)
    throw new RangeError(`${what} ${count} needs more than 2 GiB of buffers for map ${map[internal].label()}: use a smaller batch`);
  return count;
}

/**
 * Buffers for batch lookups, reused while they hold the batch: a walk's chunks, or the exporter's
 * reads, kept from one map to the next (setSizes) and one scrape to the next.
 */
export class BatchBuffers implements BatchTarget {
  keys: Buffer = Buffer.alloc(0);
  values: Buffer = Buffer.alloc(0);

  constructor(
    private keySize: number,
    private valueBytes: number,
  ) {}

  /** Holds entries of another map from now on, keeping the buffers. */
  setSizes(keySize: number, valueBytes: number): void {
    this.keySize = keySize;
    this.valueBytes = valueBytes;
  }

  place(batch: number): number {
    // allocUnsafe: the kernel writes every byte a caller reads.
    if (this.keys.length < batch * this.keySize) this.keys = Buffer.allocUnsafe(batch * this.keySize);
    if (this.values.length < batch * this.valueBytes) this.values = Buffer.allocUnsafe(batch * this.valueBytes);
    return batch;
  }

  took(): void {}
}

export function lookupBatchRaw(map: BpfMap<unknown, unknown>, cmd: LookupCmd, opts: LookupBatchOptions = {}): RawLookupBatch {
  const count = checkCount(map, opts.count ?? DEFAULT_BATCH_SIZE);
  const inBatch = cursorBytes(map[internal], opts.cursor);
  const bufs = new BatchBuffers(map.keySize, map.valueBytes);
  bufs.place(count);
  const outBatch = Buffer.alloc(map[internal].cursorSize);
  const args = { inBatch, outBatch, keys: bufs.keys, values: bufs.values, count, elemFlags: elemFlagsOf(opts), flags: opts.flags ?? 0 };
  let r;
  try {
    r = cmd === BPF_MAP_LOOKUP_BATCH ? map.kernel.lookupBatch(map.fd, args) : map.kernel.lookupAndDeleteBatch(map.fd, args);
  } catch (e) {
    throw map[internal].annotate(e);
  }
  return {
    keys: bufs.keys.subarray(0, r.count * map.keySize),
    values: bufs.values.subarray(0, r.count * map.valueBytes),
    count: r.count,
    cursor: new BatchCursor(map.kernel, map.id, outBatch),
    done: r.done,
  };
}

export function decodeBatch<K, V>(map: BpfMap<K, V>, raw: RawLookupBatch): LookupBatchResult<K, V> {
  const keys = new Array<K>(raw.count);
  const values = new Array<V>(raw.count);
  for (let i = 0; i < raw.count; i++) {
    keys[i] = map.keyCodec.decode(raw.keys, i * map.keySize);
    values[i] = map.valueCodec.decode(raw.values, i * map.valueBytes);
  }
  return { keys, values, count: raw.count, cursor: raw.cursor, done: raw.done };
}

function isPacked<K, V>(input: UpdateBatchInput<K, V>): input is PackedEntries {
  const p = input as Partial<PackedEntries>;
  return p.keys instanceof Uint8Array && p.values instanceof Uint8Array;
}

function isColumns<K, V>(input: UpdateBatchInput<K, V>): input is { keys: readonly K[]; values: readonly V[] } {
  const c = input as { keys?: unknown; values?: unknown };
  return Array.isArray(c.keys) && Array.isArray(c.values);
}

/** Rethrows a failed chunk's error with the count applied over the whole call. */
function totalError(map: BpfMap<unknown, unknown>, e: unknown, applied: number): unknown {
  if (!(e instanceof BpfError)) return map[internal].annotate(e);
  const opts: { map: MapRef; count?: number; applied: number; hint?: string; context: HintContext } = {
    map: map[internal].ref,
    applied: applied + (e.applied ?? 0),
    context: e.context,
  };
  if (e.count !== undefined) opts.count = e.count;
  // A hint the thrower gave is kept; one from the table is chosen again from the same context.
  if (e.hint !== undefined && e.hintId === undefined) opts.hint = e.hint;
  return new BpfError(e.cmd, e.errno, opts);
}

/** Runs one encode of a batch input; a codec's refusal names the side, the map and the entry's index. */
function encodeAt(map: BpfMap<unknown, unknown>, side: 'key' | 'value', entry: number, encode: () => void): void {
  try {
    encode();
  } catch (e) {
    throw map[internal].codecError(e, side, entry);
  }
}

/** Sends one chunk, adding what was applied; throws with the total applied on failure. */
function sendChunk(map: BpfMap<unknown, unknown>, cmd: number, keys: Uint8Array, values: Uint8Array | null,
  count: number, elemFlags: number, flags: number, applied: number): number {
  const args = { keys, values, count, elemFlags, flags };
  try {
    return applied + (cmd === BPF_MAP_UPDATE_BATCH ? map.kernel.updateBatch(map.fd, args) : map.kernel.deleteBatch(map.fd, args));
  } catch (e) {
    throw totalError(map, e, applied);
  }
}

function chunkSizeOf(map: BpfMap<unknown, unknown>, o: WriteBatchOptions | undefined): number {
  const n = o?.chunkSize ?? DEFAULT_CHUNK;
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`chunkSize must be a positive integer, got ${String(n)}`);
  return checkCount(map, n, 'chunkSize');
}

/**
 * UPDATE_BATCH over any number of entries, chunkSize per syscall. Stops at the first failing
 * element: the BpfError's count says how many entries were applied (all before it, none after).
 */
export function updateBatch<K, V>(map: BpfMap<K, V>, input: UpdateBatchInput<K, V>, opts?: WriteBatchOptions): number {
  const elemFlags = elemFlagsOf(opts);
  const flags = opts?.flags ?? 0;
  map[internal].assertOpen();
  if (isPacked(input)) {
    const n = input.keys.length / map.keySize;
    if (!Number.isInteger(n) || input.values.length !== n * map.valueBytes)
      throw new TypeError(`packed entries: keys must be a multiple of ${map.keySize} bytes and values ${map.valueBytes} bytes per key; got ${input.keys.length} and ${input.values.length}`);
    const chunk = chunkSizeOf(map, opts);
    let applied = 0;
    for (let i = 0; i < n; i += chunk) {
      const c = Math.min(chunk, n - i);
      applied = sendChunk(map, BPF_MAP_UPDATE_BATCH, input.keys.subarray(i * map.keySize, (i + c) * map.keySize),
        input.values.subarray(i * map.valueBytes, (i + c) * map.valueBytes), c, elemFlags, flags, applied);
    }
    return applied;
  }
  const chunk = chunkSizeOf(map, opts);
  const keys = Buffer.alloc(chunk * map.keySize);
  const values = Buffer.alloc(chunk * map.valueBytes);
  let applied = 0;
  let c = 0;
  let entry = 0;
  const add = (k: K, v: V): void => {
    encodeAt(map, 'key', entry, () => map.keyCodec.encode(k, keys, c * map.keySize));
    encodeAt(map, 'value', entry++, () => map.valueCodec.encode(v, values, c * map.valueBytes));
    if (++c === chunk) {
      applied = sendChunk(map, BPF_MAP_UPDATE_BATCH, keys, values, c, elemFlags, flags, applied);
      c = 0;
    }
  };
  if (isColumns(input)) {
    if (input.keys.length !== input.values.length)
      throw new TypeError(`updateBatch: ${input.keys.length} keys but ${input.values.length} values`);
    for (let i = 0; i < input.keys.length; i++) add(input.keys[i] as K, input.values[i] as V);
  } else {
    if (input === null || typeof (input as Iterable<unknown>)[Symbol.iterator] !== 'function')
      throw new TypeError('updateBatch: expected an iterable of [key, value], { keys, values } arrays, or packed { keys, values } buffers');
    for (const e of input) {
      if (!Array.isArray(e) || e.length !== 2) throw new TypeError('updateBatch: each entry must be a [key, value] pair');
      add(e[0] as K, e[1] as V);
    }
  }
  if (c > 0) applied = sendChunk(map, BPF_MAP_UPDATE_BATCH, keys, values, c, elemFlags, flags, applied);
  return applied;
}

/**
 * DELETE_BATCH over any number of keys. A missing key stops it with ENOENT; the BpfError's count
 * says how many keys were deleted before it.
 */
export function deleteBatch<K>(map: BpfMap<K, unknown>, input: DeleteBatchInput<K>, opts?: WriteBatchOptions): number {
  const elemFlags = elemFlagsOf(opts);
  const flags = opts?.flags ?? 0;
  const chunk = chunkSizeOf(map, opts);
  map[internal].assertOpen();
  const packed = (input as { keys?: unknown }).keys;
  if (packed instanceof Uint8Array) {
    const n = packed.length / map.keySize;
    if (!Number.isInteger(n)) throw new TypeError(`packed keys must be a multiple of ${map.keySize} bytes, got ${packed.length}`);
    let applied = 0;
    for (let i = 0; i < n; i += chunk) {
      const c = Math.min(chunk, n - i);
      applied = sendChunk(map, BPF_MAP_DELETE_BATCH, packed.subarray(i * map.keySize, (i + c) * map.keySize), null, c, elemFlags, flags, applied);
    }
    return applied;
  }
  if (input === null || typeof (input as Iterable<K>)[Symbol.iterator] !== 'function')
    throw new TypeError('deleteBatch: expected an iterable of keys or packed { keys } bytes');
  const keys = Buffer.alloc(chunk * map.keySize);
  let applied = 0;
  let c = 0;
  let entry = 0;
  for (const k of input as Iterable<K>) {
    encodeAt(map, 'key', entry++, () => map.keyCodec.encode(k, keys, c * map.keySize));
    if (++c === chunk) {
      applied = sendChunk(map, BPF_MAP_DELETE_BATCH, keys, null, c, elemFlags, flags, applied);
      c = 0;
    }
  }
  if (c > 0) applied = sendChunk(map, BPF_MAP_DELETE_BATCH, keys, null, c, elemFlags, flags, applied);
  return applied;
}

// The argument checks and the errno-to-outcome rules of both kernels, in one place: a bad buffer,
// number or flag fails the same way on each, before any byte of an attr is written or any map is
// touched, and the same errno becomes the same return value or BpfError.
import type { BatchReply, LookupBatchArgs, WriteBatchArgs } from '../sys/batch.js';
import type { MapCreateAttr } from '../sys/map-create.js';
import { BPF_EXIST, BPF_F_LOCK, BPF_MAP_DELETE_BATCH, BPF_MAP_LOOKUP_ELEM, BPF_MAP_UPDATE_ELEM, BPF_NOEXIST } from '../sys/constants.js';
import { errno } from '../sys/errno.js';
import { BpfError } from './error.js';
import type { HintContext } from './hints.js';
import { MAX_SEQUENCE_CALLS, type ElemCall, type LookupBatchStep, type MapSizes } from './kernel.js';

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (typeof v !== 'object') return typeof v;
  return v.constructor?.name ?? 'object';
}

/**
 * A buffer the kernel reads or writes: null, or a Uint8Array (Buffer included) holding at least
 * len bytes (len 0 accepts null). Other typed arrays are refused rather than viewed as bytes: the
 * addon refuses them, and an element count is not a byte count.
 */
export function need(buf: Uint8Array | null, len: number, what: string): void {
  if (buf !== null && !(buf instanceof Uint8Array)) throw new TypeError(`${what} must be a Uint8Array (or Buffer), got ${describe(buf)}`);
  if (len > 0 && (buf === null || buf.length < len))
    throw new RangeError(`${what} must hold ${len} bytes, got ${buf === null ? 'none' : buf.length}`);
}

/** A RangeError unless n is a u32. */
export function u32(n: number, what: string): void {
  if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) throw new RangeError(`${what} must be a u32, got ${n}`);
}

/** The flag bits the kernel knows for an element command: updates take BPF_ANY/NOEXIST/EXIST and F_LOCK, lookups F_LOCK only. */
function knownElemFlags(cmd: number): number {
  return cmd === BPF_MAP_UPDATE_ELEM ? BPF_NOEXIST | BPF_EXIST | BPF_F_LOCK : BPF_F_LOCK;
}

/**
 * The flags of an element lookup, update or lookup-and-delete: a RangeError unless they are a
 * u64, and the kernel's EINVAL for bits it does not know for cmd (it refuses them the same way).
 */
export function elemFlags(cmd: number, flags: number): void {
  if (typeof flags !== 'number') throw new TypeError(`flags must be a number, got ${describe(flags)}`);
  if (!Number.isInteger(flags) || flags < 0 || flags >= 2 ** 64) throw new RangeError(`flags must be a u64, got ${flags}`);
  const known = knownElemFlags(cmd);
  // Compared as a number first: bitwise operators keep only the low 32 bits.
  if (flags > known || (flags & ~known) !== 0)
    throw new BpfError(cmd, errno.EINVAL, {
      elemFlags: flags,
      hint: `unknown flag bits in ${flags} (this command takes ${known === BPF_F_LOCK ? 'only BPF_F_LOCK (4)' : 'BPF_NOEXIST (1), BPF_EXIST (2) and BPF_F_LOCK (4)'})`,
    });
}

/** What a MAP_CREATE's hint can tell from its attributes. */
export function createContext(a: MapCreateAttr): HintContext {
  return { mapType: a.mapType, mapFlags: a.mapFlags, maxEntries: a.maxEntries, keySize: a.keySize, valueSize: a.valueSize };
}

/** BPF_MAP_CREATE: the attr's numbers are u32s. */
export function mapCreateArgs(attr: MapCreateAttr): void {
  for (const k of ['mapType', 'keySize', 'valueSize', 'maxEntries', 'mapFlags'] as const) u32(attr[k], k);
}

/** A lookup, update or lookup-and-delete of one element: its flags, then a key and a value of the map's sizes. */
export function elemArgs(
  cmd: number,
  s: Pick<MapSizes, 'keySize' | 'valueBytes'>,
  key: Uint8Array | null,
  value: Uint8Array,
  flags: number,
): void {
  elemFlags(cmd, flags);
  need(key, s.keySize, 'key');
  need(value, s.valueBytes, 'value');
}

/** GET_NEXT_KEY: the key (null: the first) and the room for the next one. */
export function nextKeyArgs(s: Pick<MapSizes, 'keySize'>, key: Uint8Array | null, next: Uint8Array): void {
  if (key) need(key, s.keySize, 'key');
  need(next, s.keySize, 'next key');
}

/**
 * An element sequence: the lookups' flags, then every call's key and output inside its buffer (a
 * nextKey writes a key into keys, a lookup a value into values), at most MAX_SEQUENCE_CALLS.
 */
export function elemSequenceArgs(
  s: Pick<MapSizes, 'keySize' | 'valueBytes'>,
  keys: Uint8Array,
  values: Uint8Array,
  calls: readonly ElemCall[],
  flags: number,
): void {
  elemFlags(BPF_MAP_LOOKUP_ELEM, flags);
  need(keys, 0, 'keys');
  need(values, 0, 'values');
  if (!Array.isArray(calls) || calls.length === 0 || calls.length > MAX_SEQUENCE_CALLS)
    throw new RangeError(
      `an element sequence holds 1 to ${MAX_SEQUENCE_CALLS} calls, got ${Array.isArray(calls) ? calls.length : describe(calls)}`,
    );
  const within = (at: number, len: number, buf: Uint8Array, what: string, i: number): void => {
    if (!Number.isInteger(at) || at < 0 || at + len > buf.length)
      throw new RangeError(`call ${i}: ${what} at byte ${at} needs ${len} bytes, but its buffer holds ${buf.length}`);
  };
  calls.forEach((c, i) => {
    if (c.op !== 'lookup' && c.op !== 'nextKey') throw new TypeError(`call ${i}: op must be "lookup" or "nextKey", got ${String(c.op)}`);
    within(c.key, s.keySize, keys, 'the key', i);
    if (c.op === 'lookup') within(c.out, s.valueBytes, values, 'the value', i);
    else within(c.out, s.keySize, keys, 'the next key', i);
  });
}

/** A batch call: u32 numbers, count keys and values (none for delete), and cursors for a lookup. */
export function batchArgs(
  cmd: number,
  s: Pick<MapSizes, 'keySize' | 'valueBytes' | 'cursorSize'>,
  args: LookupBatchArgs | WriteBatchArgs,
  lookup: LookupBatchArgs | null,
): void {
  u32(args.count, 'count');
  u32(args.elemFlags, 'elemFlags');
  u32(args.flags, 'flags');
  need(args.keys, args.count * s.keySize, 'keys');
  if (cmd !== BPF_MAP_DELETE_BATCH) need(args.values, args.count * s.valueBytes, 'values');
  if (lookup) {
    need(lookup.outBatch, s.cursorSize, 'out_batch cursor');
    if (lookup.inBatch) need(lookup.inBatch, s.cursorSize, 'in_batch cursor');
  }
}

/** BPF_BTF_LOAD: a non-empty blob. */
export function btfBlob(blob: Uint8Array): void {
  if (!(blob instanceof Uint8Array) || blob.length === 0) throw new TypeError('btfLoad: the blob must be a non-empty Uint8Array');
}

/** What a failing element command adds to its BpfError. */
export interface ElemContext {
  /** ENOENT is an expected outcome (missing key, end of walk): false, not an error. */
  enoentFalse?: boolean;
  elemFlags?: number;
  path?: string;
  hint?: string;
}

/** An element command's errno (0: success) as its outcome: true, false for an expected ENOENT, else a BpfError. */
export function elemOutcome(cmd: number, err: number, ctx: ElemContext = {}): boolean {
  if (err === 0) return true;
  if (ctx.enoentFalse && err === errno.ENOENT) return false;
  throw new BpfError(cmd, err, {
    ...(ctx.elemFlags === undefined ? {} : { elemFlags: ctx.elemFlags }),
    ...(ctx.path === undefined ? {} : { map: { path: ctx.path } }),
    ...(ctx.hint === undefined ? {} : { hint: ctx.hint }),
  });
}

/** A lookup batch's reply: ENOENT ends the walk with the entries copied so far; other errnos throw with the count. */
export function lookupStep(cmd: number, r: BatchReply, args: LookupBatchArgs): LookupBatchStep {
  if (r.errno === 0) return { count: r.count, done: false };
  if (r.errno === errno.ENOENT) return { count: r.count, done: true };
  throw new BpfError(cmd, r.errno, { count: r.count, elemFlags: args.elemFlags });
}

/**
 * An update or delete batch's reply: the count applied. A failing element leaves count = the
 * elements before it, always fewer than asked; a count still as written means the kernel refused
 * the call before touching any element.
 */
export function writeCount(cmd: number, r: BatchReply, args: WriteBatchArgs): number {
  if (r.errno !== 0)
    throw new BpfError(cmd, r.errno, { count: r.count, applied: r.count === args.count ? 0 : r.count, elemFlags: args.elemFlags });
  return r.count;
}

/**
 * A pin path as both kernels take it: a string without NUL. The kernel reads a C string, so a
 * NUL would silently cut the path short there: refused before any syscall, on either kernel.
 */
export function checkObjPath(path: unknown): asserts path is string {
  if (typeof path !== 'string') throw new TypeError(`a pin path must be a string, got ${typeof path}`);
  if (path.includes('\0'))
    throw new TypeError(`pin path ${JSON.stringify(path)} contains a NUL byte (the kernel would cut the path there)`);
}

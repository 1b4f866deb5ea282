// One range of a parallel dump (map/parallel.ts), walked by the calling thread or a worker thread
// (map/dump-worker.ts) with the same batch-walk engine as every other walk.
import { BPF_MAP_LOOKUP_BATCH } from '../sys/constants.js';
import { BatchWalk, type BatchTarget, type WalkedMap } from './batch-walk.js';
import { internal } from './internal.js';

/**
 * A part of the map: hash buckets [start, end) (the hash cursor is a bucket index), or array
 * indexes [start, end) (the generic cursor is the last index read). end null: to the map's end.
 */
export interface RangeSpec {
  kind: 'bucket' | 'index';
  start: number;
  end: number | null;
}

/** What a range walk read, as plain data (posted back from a worker thread). */
export interface RangeResult {
  /** Entries read: the first inRegion in the range's region of the shared output, the rest in spill. */
  count: number;
  inRegion: number;
  /** Entries past the region, in buffers of their own (transferred, not copied, from a worker). */
  spillKeys: Uint8Array | null;
  spillValues: Uint8Array | null;
  /** Bucket ranges, per call: the cursor it started from and the entries read after it. */
  starts: number[];
  totals: number[];
  /**
   * Bucket ranges whose last call returned buckets past end (the kernel returns whole buckets, up
   * to count entries): the index of that call's first entry and the cursor after it (Infinity at
   * the map's end). Its entries from buckets at or past end are also another range's.
   */
  overshoot: { from: number; cursor: number } | null;
}

/** Entries that did not fit a range's region: buffers over ArrayBuffers of their own, doubled as needed. */
class Spill {
  keys: Buffer;
  values: Buffer;
  n = 0;

  constructor(
    private readonly ks: number,
    private readonly vs: number,
    private cap: number,
  ) {
    this.keys = Buffer.from(new ArrayBuffer(cap * ks));
    this.values = Buffer.from(new ArrayBuffer(cap * vs));
  }

  reserve(more: number): void {
    if (this.n + more <= this.cap) return;
    while (this.cap < this.n + more) this.cap *= 2;
    const k = Buffer.from(new ArrayBuffer(this.cap * this.ks));
    const v = Buffer.from(new ArrayBuffer(this.cap * this.vs));
    this.keys.copy(k, 0, 0, this.n * this.ks);
    this.values.copy(v, 0, 0, this.n * this.vs);
    this.keys = k;
    this.values = v;
  }
}

/**
 * The batch target of one range: the kernel writes straight into the range's region of the shared
 * output; once the region is full (or a bucket larger than the room left needs the whole batch),
 * the rest goes to the spill. Index ranges never ask for more entries than the range has left.
 */
class RegionTarget implements BatchTarget {
  keys: Buffer;
  values: Buffer;
  inRegion = 0;
  spill: Spill | null = null;
  private toSpill = false;

  constructor(
    private readonly ks: number,
    private readonly vs: number,
    private readonly regionKeys: Buffer,
    private readonly regionValues: Buffer,
    private readonly limit: number,
  ) {
    this.keys = regionKeys;
    this.values = regionValues;
  }

  get total(): number {
    return this.inRegion + (this.spill?.n ?? 0);
  }

  place(batch: number, full: boolean): number {
    const want = Math.min(batch, this.limit - this.total);
    const room = this.regionKeys.length / this.ks - this.inRegion;
    this.toSpill = this.spill !== null || room === 0 || (full && room < want);
    if (!this.toSpill) {
      this.keys = this.regionKeys.subarray(this.inRegion * this.ks);
      this.values = this.regionValues.subarray(this.inRegion * this.vs);
      return Math.min(want, room);
    }
    const s = (this.spill ??= new Spill(this.ks, this.vs, Math.max(want, 64)));
    s.reserve(want);
    this.keys = s.keys.subarray(s.n * this.ks);
    this.values = s.values.subarray(s.n * this.vs);
    return want;
  }

  took(n: number): void {
    if (this.toSpill) (this.spill as Spill).n += n;
    else this.inRegion += n;
  }
}

/** The cursor a walk of spec starts from: null at the map's start. */
function startCursor(map: WalkedMap, spec: RangeSpec): Buffer | null {
  if (spec.start === 0) return null;
  const c = Buffer.alloc(map[internal].cursorSize);
  // Hash: the bucket to start at. Generic walk: the key read last, so the index before start.
  c.writeUInt32LE(spec.kind === 'bucket' ? spec.start : spec.start - 1, 0);
  return c;
}

/**
 * Walks one range with LOOKUP_BATCH into its region (regionKeys/regionValues: a part of the
 * shared output, sized by the caller) and stops by the cursor: a bucket range once the kernel's
 * cursor reaches end, an index range after end - start entries.
 */
export function walkRange(
  map: WalkedMap,
  spec: RangeSpec,
  regionKeys: Buffer,
  regionValues: Buffer,
  batch: number,
  elemFlags: number,
): RangeResult {
  const limit = spec.kind === 'index' && spec.end !== null ? spec.end - spec.start : Infinity;
  const target = new RegionTarget(map.keySize, map.valueBytes, regionKeys, regionValues, limit);
  const walk = new BatchWalk(map, BPF_MAP_LOOKUP_BATCH, target, batch, elemFlags, startCursor(map, spec));
  const starts: number[] = [];
  const totals: number[] = [];
  let overshoot: RangeResult['overshoot'] = null;
  let cursor = spec.start;
  while (!walk.done && target.total < limit) {
    const before = target.total;
    walk.step();
    if (spec.kind === 'index') continue;
    const next = walk.done ? Infinity : walk.position.readUInt32LE(0);
    starts.push(cursor);
    totals.push(target.total);
    cursor = next;
    if (spec.end !== null && next >= spec.end) {
      if (next > spec.end && target.total > before) overshoot = { from: before, cursor: next };
      break;
    }
  }
  const s = target.spill;
  return {
    count: target.total,
    inRegion: target.inRegion,
    spillKeys: s && s.keys.subarray(0, s.n * map.keySize),
    spillValues: s && s.values.subarray(0, s.n * map.valueBytes),
    starts,
    totals,
    overshoot,
  };
}

/** The ranges of a parallel dump, each with its region of the shared output (first entry, entries it holds). */
export interface RangePlan {
  specs: RangeSpec[];
  regions: number[];
  capacities: number[];
  /** The next range to take, shared by every thread of the dump. */
  next: Int32Array;
}

/**
 * Takes ranges from the plan until none is left and walks each into its region of keys and values
 * (the whole shared output). Threads that take ranges as they finish them end together even when
 * some ranges, or some threads, are slower than others.
 */
export function walkRanges(
  map: WalkedMap,
  plan: RangePlan,
  keys: Buffer,
  values: Buffer,
  batch: number,
  elemFlags: number,
): Array<{ range: number; result: RangeResult }> {
  const { keySize: ks, valueBytes: vs } = map;
  const out: Array<{ range: number; result: RangeResult }> = [];
  for (let r = Atomics.add(plan.next, 0, 1); r < plan.specs.length; r = Atomics.add(plan.next, 0, 1)) {
    const at = plan.regions[r] as number;
    const end = at + (plan.capacities[r] as number);
    const result = walkRange(
      map,
      plan.specs[r] as RangeSpec,
      keys.subarray(at * ks, end * ks),
      values.subarray(at * vs, end * vs),
      batch,
      elemFlags,
    );
    out.push({ range: r, result });
  }
  return out;
}

import { typedView, type AnyTypedArray } from '../codec/view.js';
import { BPF_MAP_LOOKUP_BATCH } from '../sys/constants.js';
import { allocOutput } from '../sys/huge.js';
import { BatchBuffers, elemFlagsOf } from './batch.js';
import { BatchWalk, type BatchTarget } from './batch-walk.js';
import { internal } from './internal.js';
import type { BpfMap } from './map.js';
import { copyMemory } from './memory.js';
import { parallelDump, threadsOf, type ParallelOptions } from './parallel.js';
import { elementChunks, firstBatch, mappedOf, resolveMode, type WalkMode, type WalkOptions } from './walk.js';

/** A whole map read into two contiguous buffers: no object per entry. */
export interface Dump<K, V> {
  mode: WalkMode;
  count: number;
  /** count keys of keySize bytes, packed. */
  keys: Buffer;
  /** count values of valueBytes bytes (per-CPU: the kernel's padded layout for every CPU). */
  values: Buffer;
  keySize: number;
  valueBytes: number;
  /**
   * How many ranges the walk was split into (4 per thread of `threads`, fewer on a small map),
   * walked at once; 1: one walk (no `threads`, a map type that cannot be split, or a kernel whose
   * cursors failed the probe).
   */
  ranges: number;
  /** A zero-copy TypedArray over the keys when the key codec is a plain number (u32 keys: Uint32Array). */
  keyView: AnyTypedArray | undefined;
  /**
   * A zero-copy TypedArray over the values when the value codec is a plain number; per-CPU maps:
   * count * cpus elements, entry after entry, when each CPU's value fills its 8-byte slot (u64).
   */
  valueView: AnyTypedArray | undefined;
  /** The i-th key, decoded. */
  key(i: number): K;
  /** The i-th value, decoded. */
  value(i: number): V;
}

/** dump()'s options: a walk's, and buffers to reuse. */
export interface DumpOptions<K, V> extends WalkOptions, ParallelOptions {
  /**
   * An earlier dump of this map whose buffers this one reuses (its contents are overwritten): a
   * loop that dumps the same map again and again then allocates nothing, and the kernel writes
   * into pages already mapped instead of faulting fresh ones in.
   */
  into?: Dump<K, V>;
}

class Columns<K, V> implements Dump<K, V> {
  constructor(
    readonly map: BpfMap<K, V>,
    readonly mode: WalkMode,
    readonly count: number,
    readonly keys: Buffer,
    readonly values: Buffer,
    /** The whole buffers behind keys and values, for a later dump to reuse (none for a parallel dump's shared output). */
    readonly storage: Growable | undefined,
    readonly ranges = 1,
  ) {}

  get keyView(): AnyTypedArray | undefined {
    return typedView(this.map.keyCodec, this.keys);
  }

  get valueView(): AnyTypedArray | undefined {
    const { cpuCodec, valueCodec, valueBytes, cpus } = this.map;
    if (cpuCodec === undefined) return typedView(valueCodec, this.values);
    return cpuCodec.size * cpus === valueBytes ? typedView(cpuCodec, this.values) : undefined;
  }

  get keySize(): number {
    return this.map.keySize;
  }

  get valueBytes(): number {
    return this.map.valueBytes;
  }

  private check(i: number): void {
    if (!Number.isInteger(i) || i < 0 || i >= this.count) throw new RangeError(`entry ${i} is outside the dump (0..${this.count - 1})`);
  }

  key(i: number): K {
    this.check(i);
    return this.map.keyCodec.decode(this.keys, i * this.map.keySize);
  }

  value(i: number): V {
    this.check(i);
    return this.map.valueCodec.decode(this.values, i * this.map.valueBytes);
  }
}

/** Output buffers that grow by doubling when a walk returns more than they hold. */
export class Growable {
  keys: Buffer;
  values: Buffer;
  n = 0;

  constructor(
    private readonly ks: number,
    private readonly vs: number,
    private capacity: number,
  ) {
    // Uninitialised: pages of a large capacity the walk never reaches are never touched.
    this.keys = allocOutput(capacity * ks);
    this.values = allocOutput(capacity * vs);
  }

  /** The same buffers, emptied, for another walk of a map with these sizes. */
  reuse(ks: number, vs: number): Growable | undefined {
    if (ks !== this.ks || vs !== this.vs) return undefined;
    this.n = 0;
    return this;
  }

  /** Entries that still fit without growing. */
  get room(): number {
    return this.capacity - this.n;
  }

  /** Copies count packed entries to the end, growing as needed. */
  append(keys: Buffer, values: Buffer, count: number): void {
    this.reserve(count);
    keys.copy(this.keys, this.n * this.ks, 0, count * this.ks);
    values.copy(this.values, this.n * this.vs, 0, count * this.vs);
    this.n += count;
  }

  reserve(more: number): void {
    if (this.n + more <= this.capacity) return;
    let cap = Math.max(1, this.capacity * 2);
    while (cap < this.n + more) cap *= 2;
    const k = allocOutput(cap * this.ks);
    const v = allocOutput(cap * this.vs);
    this.keys.copy(k, 0, 0, this.n * this.ks);
    this.values.copy(v, 0, 0, this.n * this.vs);
    this.keys = k;
    this.values = v;
    this.capacity = cap;
  }
}

/**
 * A dump's batch target. Where the output has room, the kernel writes straight into it; the last
 * batches ask only for what still fits, so a map holding max_entries never makes the output double
 * (and copy) for a batch the kernel cannot fill. Past that, or when a bucket is larger than the
 * room left, a batch goes through scratch buffers and the output grows only by what the kernel
 * returned.
 */
class IntoOutput implements BatchTarget {
  keys: Buffer;
  values: Buffer;
  private scratch: BatchBuffers | undefined;
  private viaScratch = false;

  constructor(
    private readonly map: BpfMap<unknown, unknown>,
    private readonly out: Growable,
  ) {
    this.keys = out.keys;
    this.values = out.values;
  }

  place(batch: number, full: boolean): number {
    const { out } = this;
    const room = out.room;
    this.viaScratch = full || room === 0;
    if (this.viaScratch) {
      const scratch = (this.scratch ??= new BatchBuffers(this.map.keySize, this.map.valueBytes));
      scratch.place(batch);
      this.keys = scratch.keys;
      this.values = scratch.values;
      return batch;
    }
    this.keys = out.keys.subarray(out.n * this.map.keySize);
    this.values = out.values.subarray(out.n * this.map.valueBytes);
    return Math.min(batch, room);
  }

  took(n: number): void {
    const { out } = this;
    if (this.viaScratch) out.append(this.keys, this.values, n);
    else out.n += n;
  }
}

/**
 * Reads the whole map into contiguous key and value buffers. The batch walk writes straight into
 * them (IntoOutput); buffers start at max_entries (the usual bound) and grow only when concurrent
 * writers make a walk return more.
 */
export function dump<K, V>(map: BpfMap<K, V>, opts?: DumpOptions<K, V>): Dump<K, V> {
  const mode = resolveMode(map, opts);
  const { keySize: ks, valueBytes: vs } = map;
  const into = opts?.into;
  if (into !== undefined && !(into instanceof Columns && into.map === map))
    throw new TypeError(`dump({ into }): pass an earlier dump of this same map (${map[internal].label()})`);
  const threads = threadsOf(opts);
  if (threads > 1 && mode === 'batch') {
    if (into !== undefined) throw new TypeError('dump: into and threads cannot be combined (a parallel dump writes into shared memory of its own)');
    const p = parallelDump(map as BpfMap<unknown, unknown>, threads, firstBatch(map, opts), elemFlagsOf(opts));
    if (p !== undefined) return new Columns(map, mode, p.count, p.keys, p.values, undefined, p.ranges);
  }
  const out = into?.storage?.reuse(ks, vs) ?? new Growable(ks, vs, Math.max(map.maxEntries, 1));
  if (mode === 'memory') {
    const mem = mappedOf(map);
    out.reserve(mem.length);
    copyMemory(mem, map.valueSize, out.keys, out.values);
    out.n = mem.length;
  } else if (mode === 'per-element') {
    for (const c of elementChunks(map, opts)) out.append(c.keys, c.values, c.count);
  } else {
    const walk = new BatchWalk(map, BPF_MAP_LOOKUP_BATCH, new IntoOutput(map, out), firstBatch(map, opts), elemFlagsOf(opts));
    while (!walk.done) walk.step();
  }
  return new Columns(map, mode, out.n, out.keys.subarray(0, out.n * ks), out.values.subarray(0, out.n * vs), out);
}

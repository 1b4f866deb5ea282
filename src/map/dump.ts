import { typedView, type AnyTypedArray } from '../codec/view.js';
import { BpfError } from '../kernel/error.js';
import { errno } from '../sys/errno.js';
import { BatchBuffers, checkCount, DEFAULT_BATCH_SIZE, elemFlagsOf } from './batch.js';
import type { BpfMap } from './map.js';
import { elementChunks, resolveMode, type WalkMode, type WalkOptions } from './walk.js';

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
  /** A zero-copy TypedArray over the keys when the key codec is a plain number (u32 keys: Uint32Array). */
  keyView: AnyTypedArray | undefined;
  /**
   * A zero-copy TypedArray over the values when the value codec is a plain number; per-CPU maps:
   * count * cpus elements, entry after entry, when each CPU's value fills its 8-byte slot (u64).
   */
  valueView: AnyTypedArray | undefined;
  key(i: number): K;
  value(i: number): V;
}

/** dump()'s options: a walk's, and buffers to reuse. */
export interface DumpOptions<K, V> extends WalkOptions {
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
    /** The whole buffers behind keys and values, for a later dump to reuse. */
    readonly storage: Growable,
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
    // allocUnsafe: pages of a large capacity the walk never reaches are never touched.
    this.keys = Buffer.allocUnsafe(capacity * ks);
    this.values = Buffer.allocUnsafe(capacity * vs);
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

  reserve(more: number): void {
    if (this.n + more <= this.capacity) return;
    let cap = Math.max(1, this.capacity * 2);
    while (cap < this.n + more) cap *= 2;
    const k = Buffer.allocUnsafe(cap * this.ks);
    const v = Buffer.allocUnsafe(cap * this.vs);
    this.keys.copy(k, 0, 0, this.n * this.ks);
    this.values.copy(v, 0, 0, this.n * this.vs);
    this.keys = k;
    this.values = v;
    this.capacity = cap;
  }
}

/**
 * Reads the whole map into contiguous key and value buffers. The batch walk writes straight into
 * them; buffers start at max_entries (the usual bound) and grow only when concurrent writers make
 * a walk return more.
 */
export function dump<K, V>(map: BpfMap<K, V>, opts?: DumpOptions<K, V>): Dump<K, V> {
  const mode = resolveMode(map, opts);
  const { keySize: ks, valueBytes: vs } = map;
  const into = opts?.into;
  if (into !== undefined && !(into instanceof Columns && into.map === map))
    throw new TypeError(`dump({ into }): pass an earlier dump of this same map (${map.label()})`);
  const out = into?.storage.reuse(ks, vs) ?? new Growable(ks, vs, Math.max(map.maxEntries, 1));
  if (mode === 'per-element') {
    for (const c of elementChunks(map, opts)) {
      out.reserve(c.count);
      c.keys.copy(out.keys, out.n * ks, 0, c.count * ks);
      c.values.copy(out.values, out.n * vs, 0, c.count * vs);
      out.n += c.count;
    }
  } else {
    let batch = checkCount(map, opts?.batchSize ?? DEFAULT_BATCH_SIZE, 'batchSize');
    if (batch === 0) throw new RangeError('batchSize must be at least 1');
    const elemFlags = elemFlagsOf(opts);
    const cursor = Buffer.alloc(map.cursorSize);
    const next = Buffer.alloc(map.cursorSize);
    let started = false;
    const { kernel } = map;
    const fd = map.fd;
    // Where the buffers have room, the kernel writes straight into them; the last batches ask only
    // for what still fits, so a map holding max_entries never makes them double (and copy) for a
    // batch the kernel cannot fill. Past that, or when a bucket is larger than the room left, a
    // batch goes through scratch buffers and the output grows only by what the kernel returned.
    let scratch: BatchBuffers | undefined;
    let viaScratch = false;
    for (;;) {
      const room = out.room;
      viaScratch ||= room === 0;
      if (viaScratch) (scratch ??= new BatchBuffers(map)).ensure(batch);
      const count = viaScratch ? batch : Math.min(batch, room);
      let r;
      try {
        r = kernel.lookupBatch(fd, {
          inBatch: started ? cursor : null,
          outBatch: next,
          keys: viaScratch ? (scratch as BatchBuffers).keys : out.keys.subarray(out.n * ks),
          values: viaScratch ? (scratch as BatchBuffers).values : out.values.subarray(out.n * vs),
          count,
          elemFlags,
          flags: 0,
        });
      } catch (e) {
        if (e instanceof BpfError && e.errno === errno.ENOSPC) {
          if (count < batch) viaScratch = true;
          else batch = checkCount(map, batch * 2, 'batchSize');
          continue;
        }
        throw map.annotate(e);
      }
      if (viaScratch && r.count > 0) {
        const from = scratch as BatchBuffers;
        out.reserve(r.count);
        from.keys.copy(out.keys, out.n * ks, 0, r.count * ks);
        from.values.copy(out.values, out.n * vs, 0, r.count * vs);
      }
      viaScratch = false;
      out.n += r.count;
      if (r.done) break;
      next.copy(cursor);
      started = true;
    }
  }
  return new Columns(map, mode, out.n, out.keys.subarray(0, out.n * ks), out.values.subarray(0, out.n * vs), out);
}

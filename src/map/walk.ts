import { BpfError } from '../kernel/error.js';
import type { ElemCall } from '../kernel/kernel.js';
import { BPF_MAP_LOOKUP_BATCH } from '../sys/constants.js';
import { errno, ENOTSUPP } from '../sys/errno.js';
import { BatchBuffers, checkCount, DEFAULT_BATCH_SIZE, elemFlagsOf } from './batch.js';
import { BatchWalk, type LookupCmd } from './batch-walk.js';
import { internal } from './internal.js';
import type { BpfMap } from './map.js';
import { memoryChunks, type ArrayMemory } from './memory.js';
import { ChunkReader } from './reader.js';

/**
 * How a walk reads the map: `batch` is LOOKUP_BATCH (each key at most once, buckets read
 * consistently); `per-element` is GET_NEXT_KEY + LOOKUP_ELEM, two syscalls per entry, which can
 * repeat keys (and skip others) when entries are deleted during the walk; `memory` reads an
 * mmapable array's memory (map.memory()), no syscall at all.
 */
export type WalkMode = 'batch' | 'per-element' | 'memory';

/** Options of the iterators (entries, keys, values) and dump. */
export interface WalkOptions {
  /**
   * Entries per LOOKUP_BATCH (default 1024); grows geometrically on ENOSPC. The per-element walk
   * makes min(batchSize, 256) steps per call into the addon.
   */
  batchSize?: number;
  /**
   * auto (default): memory for an mmapable array, else batch where the kernel and map type
   * support it, else per-element; batch: never fall back (the kernel's error instead);
   * per-element: force the classic walk; memory: an mmapable array's memory, or a TypeError.
   */
  mode?: 'auto' | WalkMode;
  /** BPF_F_LOCK: read values under their bpf_spin_lock. */
  lock?: boolean;
}

/** A run of entries read by one syscall (or gathered one by one), packed at the map's sizes. */
export interface Chunk {
  keys: Buffer;
  values: Buffer;
  count: number;
  /** Batch walks: the kernel's cursor after this chunk (a hash bucket index, or an array's last index). */
  cursor?: Buffer;
}

const support = new WeakMap<object, Map<number, number>>();

/**
 * 0 when the kernel runs cmd on this map, else the errno that says it does not: a call with
 * count 0 has no effect but fails exactly where the command or map type is unsupported (EINVAL
 * before Linux 5.6, ENOTSUPP per map type). Cached per map.
 */
export function batchUnsupported(map: BpfMap<unknown, unknown>, cmd: LookupCmd): number {
  let known = support.get(map);
  if (!known) support.set(map, (known = new Map()));
  const cached = known.get(cmd);
  if (cached !== undefined) return cached;
  const empty = Buffer.alloc(0);
  const args = { inBatch: null, outBatch: Buffer.alloc(map[internal].cursorSize), keys: empty, values: empty, count: 0, elemFlags: 0, flags: 0 };
  let result = 0;
  try {
    if (cmd === BPF_MAP_LOOKUP_BATCH) map.kernel.lookupBatch(map.fd, args);
    else map.kernel.lookupAndDeleteBatch(map.fd, args);
  } catch (e) {
    if (!(e instanceof BpfError) || ![ENOTSUPP, errno.EOPNOTSUPP, errno.EINVAL].includes(e.errno)) throw map[internal].annotate(e);
    result = e.errno;
  }
  known.set(cmd, result);
  return result;
}

/** The mode a walk will use, probing the kernel when asked for auto. */
export function resolveMode(map: BpfMap<unknown, unknown>, opts: WalkOptions | undefined): WalkMode {
  map[internal].assertOpen();
  const want = opts?.mode ?? 'auto';
  if (want === 'batch' || want === 'per-element') return want;
  if (want === 'memory') {
    mappedOf(map);
    return want;
  }
  if (want !== 'auto') throw new TypeError(`mode must be "auto", "batch", "per-element" or "memory", got "${String(want)}"`);
  if (map[internal].mapped() !== undefined) return 'memory';
  return batchUnsupported(map, BPF_MAP_LOOKUP_BATCH) === 0 ? 'batch' : 'per-element';
}

/** The first batch size of a walk: the option's, checked. */
export function firstBatch(map: BpfMap<unknown, unknown>, opts: WalkOptions | undefined): number {
  return checkCount(map, opts?.batchSize ?? DEFAULT_BATCH_SIZE, 'batchSize');
}

/** Chunks of a batch walk from the start to the kernel's ENOENT. The chunk's buffers are reused: consume a chunk before asking for the next. */
export function* batchChunks(map: BpfMap<unknown, unknown>, cmd: LookupCmd, opts: WalkOptions | undefined): Generator<Chunk, void, void> {
  const bufs = new BatchBuffers(map.keySize, map.valueBytes);
  const walk = new BatchWalk(map, cmd, bufs, firstBatch(map, opts), elemFlagsOf(opts));
  while (!walk.done) {
    const count = walk.step();
    if (count > 0) yield { keys: bufs.keys, values: bufs.values, count, cursor: walk.position };
  }
}

/** The most steps of a per-element walk made in one run of its sequence: one crossing into the addon. */
export const WALK_STEPS = 256;

/**
 * Chunks of the classic walk: GET_NEXT_KEY then LOOKUP_ELEM per key; keys gone in between are
 * skipped. The steps of a chunk are one element sequence (Kernel.elemSequence), laid out once per
 * walk: step i looks up key slot i into value slot i, then asks for the key after it into slot
 * i + 1, so the keys and values land packed where the chunk hands them out, and the last slot holds
 * the key the next run starts from (copied to slot 0). A key gone before its lookup ends the run;
 * the walk goes on from it with one GET_NEXT_KEY, as a walk of single calls would.
 */
export function* elementChunks(map: BpfMap<unknown, unknown>, opts: WalkOptions | undefined): Generator<Chunk, void, void> {
  const steps = Math.min(firstBatch(map, opts) || 1, WALK_STEPS);
  const { kernel, keySize, valueBytes } = map;
  const keys = Buffer.alloc((steps + 1) * keySize);
  const values = Buffer.alloc(steps * valueBytes);
  const last = keys.subarray(steps * keySize);
  const next = Buffer.alloc(keySize);
  const calls: ElemCall[] = [];
  for (let i = 0; i < steps; i++)
    calls.push({ op: 'lookup', key: i * keySize, out: i * valueBytes }, { op: 'nextKey', key: i * keySize, out: (i + 1) * keySize });
  try {
    const fd = map.fd;
    const seq = kernel.elemSequence(fd, keys, values, calls, elemFlagsOf(opts));
    let more = kernel.nextKey(fd, null, keys);
    while (more) {
      map[internal].assertOpen();
      const made = seq.run();
      // Calls 2i are lookups, 2i + 1 GET_NEXT_KEYs: a stop at an even call is a key gone before its
      // lookup, at an odd one the end of the map.
      const count = (made + 1) >> 1;
      let resume = last;
      if (made < calls.length) {
        more = made % 2 === 0 && kernel.nextKey(fd, keys.subarray(count * keySize, (count + 1) * keySize), next);
        resume = next;
      }
      if (count > 0) yield { keys, values, count };
      if (more) keys.set(resume, 0);
    }
  } catch (e) {
    throw map[internal].annotate(e);
  }
}

/** The memory of a map read in mode memory; a TypeError for a map that has none. */
export function mappedOf(map: BpfMap<unknown, unknown>): ArrayMemory<unknown> {
  const mem = map[internal].mapped();
  if (mem === undefined) throw new TypeError(`mode "memory" is for arrays created with BPF_F_MMAPABLE that this process can map; map ${map[internal].label()} is not one`);
  return mem;
}

/** The chunks of a read of the whole map in the resolved mode. */
export function walkChunks(map: BpfMap<unknown, unknown>, mode: WalkMode, opts: WalkOptions | undefined): Generator<Chunk, void, void> {
  if (mode === 'memory') return memoryChunks(mappedOf(map), map.valueSize, firstBatch(map, opts));
  return mode === 'batch' ? batchChunks(map, BPF_MAP_LOOKUP_BATCH, opts) : elementChunks(map, opts);
}

/** An iterator that can also hand its remaining items to a callback, or return them in an array, in one pass (Decoded). */
interface Drainable<T> extends Iterator<T> {
  forEachRest?(f: (item: T) => void): void;
  toArrayRest?(): T[];
  /** The remaining entries in a Map; undefined (nothing read) where the iterator has no entries. */
  toMapRest?(): Map<unknown, unknown> | undefined;
}

/** A sync iterator that also tells which mode it reads with. */
export class MapIterator<T> implements IterableIterator<T> {
  constructor(
    readonly mode: WalkMode,
    private readonly inner: Drainable<T>,
  ) {}

  /** The next item. */
  next(): IteratorResult<T> {
    return this.inner.next();
  }

  /** Calls f with every remaining item, in one pass: no iterator result object per item. */
  forEach(f: (item: T) => void): void {
    if (this.inner.forEachRest !== undefined) return this.inner.forEachRest(f);
    for (let r = this.inner.next(); r.done !== true; r = this.inner.next()) f(r.value);
  }

  /** The remaining items in an array, built in one pass (what [...it] makes, without a result object per item). */
  toArray(): T[] {
    if (this.inner.toArrayRest !== undefined) return this.inner.toArrayRest();
    const out: T[] = [];
    this.forEach((item) => out.push(item));
    return out;
  }

  /** The remaining [key, value] entries in a Map, built in one pass; a later duplicate key wins. */
  toMap<K, V>(this: MapIterator<[K, V]>): Map<K, V> {
    const direct = this.inner.toMapRest?.();
    if (direct !== undefined) return direct as Map<K, V>;
    const out = new Map<K, V>();
    this.forEach((e) => out.set(e[0], e[1]));
    return out;
  }

  /** Stops the walk early (a break out of for...of). */
  return(): IteratorResult<T> {
    return this.inner.return?.() ?? { done: true, value: undefined };
  }

  /** The iterator itself, for for...of. */
  [Symbol.iterator](): this {
    return this;
  }
}

/** An async iterator that yields to the event loop between chunks and tells its mode. */
export class MapAsyncIterator<T> implements AsyncIterableIterator<T> {
  constructor(
    readonly mode: WalkMode,
    private readonly inner: AsyncIterator<T>,
  ) {}

  /** The next item. */
  next(): Promise<IteratorResult<T>> {
    return this.inner.next();
  }

  /** Stops the walk early (a break out of for await...of). */
  async return(): Promise<IteratorResult<T>> {
    return (await this.inner.return?.()) ?? { done: true, value: undefined };
  }

  /** The iterator itself, for for await...of. */
  [Symbol.asyncIterator](): this {
    return this;
  }
}

/** What an iterator makes of entry i of the chunk the reader holds. */
export type Pick<K, V, T> = (r: ChunkReader<K, V>, i: number) => T;

/** Decoded entries of a chunk walk, one next() per entry without a generator frame. */
class Decoded<K, V, T> implements IterableIterator<T> {
  private readonly reader: ChunkReader<K, V>;
  private i = 0;
  private n = 0;

  constructor(
    map: BpfMap<K, V>,
    private readonly chunks: Iterator<Chunk>,
    private readonly pick: Pick<K, V, T>,
    /** Entry iterators (T is [key, this value]): the value alone, for toMapRest. */
    private readonly value?: Pick<K, V, unknown>,
  ) {
    this.reader = new ChunkReader(map);
  }

  /** Loads the walk's next chunk into the reader; false at the walk's end. */
  private nextChunk(): boolean {
    const r = this.chunks.next();
    if (r.done === true) return false;
    this.reader.load(r.value);
    this.i = 0;
    this.n = r.value.count;
    return true;
  }

  next(): IteratorResult<T> {
    while (this.i === this.n) if (!this.nextChunk()) return { value: undefined, done: true };
    return { value: this.pick(this.reader, this.i++), done: false };
  }

  forEachRest(f: (item: T) => void): void {
    const { reader, pick } = this;
    for (;;) {
      // this.i moves with each item, so an f that throws leaves the iterator after that item.
      while (this.i < this.n) f(pick(reader, this.i++));
      if (!this.nextChunk()) return;
    }
  }

  /**
   * The remaining items, each chunk decoded into an array of its own and the arrays joined once
   * at the end: the result is allocated at its final size instead of growing by copies (each
   * copy of a million-entry array is megabytes of freshly faulted memory).
   */
  toArrayRest(): T[] {
    const { reader, pick } = this;
    const parts: T[][] = [];
    for (;;) {
      if (this.i < this.n) {
        const part: T[] = [];
        while (this.i < this.n) part.push(pick(reader, this.i++));
        parts.push(part);
      }
      if (!this.nextChunk()) return joined(parts);
    }
  }

  /**
   * Entry iterators: the remaining entries in a Map, set from the key and the value read apart,
   * with no [key, value] array made per entry just to be taken apart again.
   */
  toMapRest(): Map<K, unknown> | undefined {
    const { reader, value } = this;
    if (value === undefined) return undefined;
    const out = new Map<K, unknown>();
    for (;;) {
      while (this.i < this.n) {
        const i = this.i++;
        out.set(reader.key(i), value(reader, i));
      }
      if (!this.nextChunk()) return out;
    }
  }

  return(): IteratorResult<T> {
    this.i = this.n = 0;
    this.chunks.return?.();
    return { value: undefined, done: true };
  }

  [Symbol.iterator](): this {
    return this;
  }
}

/** Arrays joined into one by concat, which sizes its result once; in groups, as concat's arguments are bounded by the stack. */
function joined<T>(parts: T[][]): T[] {
  if (parts.length === 1) return parts[0] as T[];
  const GROUP = 4096;
  if (parts.length <= GROUP) return ([] as T[]).concat(...parts);
  const groups: T[][] = [];
  for (let g = 0; g < parts.length; g += GROUP) groups.push(([] as T[]).concat(...parts.slice(g, g + GROUP)));
  return joined(groups);
}

export function decodeChunks<K, V, T>(map: BpfMap<K, V>, chunks: Iterator<Chunk>, pick: Pick<K, V, T>): IterableIterator<T> {
  return new Decoded(map, chunks, pick);
}

/** Decoded [key, value] entries whose value is value(r, i): toMap() sets each without making the entry. */
export function decodeEntries<K, V, W>(map: BpfMap<K, V>, chunks: Iterator<Chunk>, pick: Pick<K, V, [K, W]>, value: Pick<K, V, W>): IterableIterator<[K, W]> {
  return new Decoded(map, chunks, pick, value);
}

/**
 * Decoded entries of a chunk walk, asynchronously: entries of the chunk in hand resolve at once,
 * and each further chunk is read only after a turn of the event loop (setImmediate), so a walk of
 * millions of entries never holds the loop for more than one batch. No async generator: one
 * settled promise per entry, not a generator resumption and its promises.
 */
class DecodedAsync<K, V, T> implements AsyncIterableIterator<T> {
  private readonly reader: ChunkReader<K, V>;
  private i = 0;
  private n = 0;
  private started = false;
  private finished = false;

  constructor(
    map: BpfMap<K, V>,
    private readonly chunks: Iterator<Chunk>,
    private readonly pick: Pick<K, V, T>,
  ) {
    this.reader = new ChunkReader(map);
  }

  /** The next entry, reading chunks as needed; done at the end of the walk. */
  private take(): IteratorResult<T> {
    while (this.i === this.n) {
      if (this.finished) return { value: undefined, done: true };
      const r = this.chunks.next();
      if (r.done === true) {
        this.finished = true;
        return { value: undefined, done: true };
      }
      this.reader.load(r.value);
      this.i = 0;
      this.n = r.value.count;
    }
    return { value: this.pick(this.reader, this.i++), done: false };
  }

  next(): Promise<IteratorResult<T>> {
    if (this.i < this.n || this.finished || !this.started) {
      this.started = true;
      try {
        return Promise.resolve(this.take());
      } catch (e) {
        return Promise.reject(e);
      }
    }
    return new Promise((resolve, reject) =>
      setImmediate(() => {
        try {
          resolve(this.take());
        } catch (e) {
          reject(e);
        }
      }));
  }

  return(): Promise<IteratorResult<T>> {
    this.finished = true;
    this.i = this.n = 0;
    this.chunks.return?.();
    return Promise.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): this {
    return this;
  }
}

export function decodeChunksAsync<K, V, T>(map: BpfMap<K, V>, chunks: Iterator<Chunk>, pick: Pick<K, V, T>): AsyncIterableIterator<T> {
  return new DecodedAsync(map, chunks, pick);
}

// Ring buffers (BPF_MAP_TYPE_RINGBUF): the events BPF programs send, read in place from the memory
// the kernel shares (see sys/ringbuf.ts for the layout). One consumer per ring: the consumer
// position lives in the ring itself, so two readers of the same ring would steal each other's records.
import { codecFromBtf } from '../btf/codec.js';
import type { Btf } from '../btf/btf.js';
import type { Codec } from '../codec/codec.js';
import { vmlinuxBtf } from '../kernel/btf.js';
import type { FdWatch, Kernel, RingMemory } from '../kernel/kernel.js';
import {
  BPF_MAP_TYPE_RINGBUF,
  BPF_MAP_TYPE_USER_RINGBUF,
  BPF_RINGBUF_BUSY_BIT,
  BPF_RINGBUF_DISCARD_BIT,
  BPF_RINGBUF_HDR_SZ,
} from '../sys/constants.js';
import { BpfMap, MapClosedError } from './map.js';
import { mapTypeName } from './types.js';

/** A ring buffer refused, or found in a state the kernel never leaves it in. */
export class RingBufferError extends Error {
  override readonly name = 'RingBufferError';
  readonly code = 'ERR_BPFMAP_RINGBUF';
}

/** Rings are read through typed arrays indexed by 32-bit offsets: 1 GiB of data is the most this reader maps. */
export const MAX_RING_SIZE = 1 << 30;
/**
 * Whether a plain load of a record header is already an acquire load: on x86 every load is one in
 * hardware (TSO), and V8 keeps typed-array loads in program order. Atomics.load is not inlined by
 * V8's optimizing compiler (a builtin call, about 10 ns per record); elsewhere (arm64) it is what
 * makes the record's bytes visible once its header is, so it stays.
 */
const PLAIN_ACQUIRE = process.arch === 'x64' || process.arch === 'ia32';

/** How a RingBuffer is opened: its kernel, how records decode, and the size the caller expects. */
export interface RingBufferOptions<T> {
  kernel?: Kernel;
  /** Decodes each record (which must hold at least codec.size bytes); records are views of the ring without one. */
  codec?: Codec<T>;
  /** Decodes each record as this BTF type ("struct event"), looked up in btf (the running kernel's by default). */
  type?: string;
  btf?: Btf;
  /** The ring's size as the caller expects it: a ring of another size is refused. */
  size?: number;
}

/** What one read() returns: how many records at most, and whether as copies. */
export interface ReadOptions {
  /** At most this many records (default: all there are now). */
  max?: number;
  /** Copies of the records, valid for good, instead of views of the ring valid until the next read. */
  copy?: boolean;
}

/** What a ring's consumer has seen, and the kernel's positions: loss shows as reservations the producer saw fail. */
export interface RingStats {
  /** Records delivered. */
  records: number;
  /** Records the producer discarded (bpf_ringbuf_discard), skipped. */
  discarded: number;
  /** Bytes of delivered records (without headers). */
  bytes: number;
  /** consumer_pos as published to the kernel: bytes consumed since the ring was made (headers and padding included); records read as views count once the next read gives their space back. */
  consumerPos: number;
  /** producer_pos: bytes reserved since the ring was made. */
  producerPos: number;
  /** Bytes produced and not yet consumed. */
  pending: number;
  /** The data area's size. */
  size: number;
}

function ringCodec<T>(o: RingBufferOptions<T>): Codec<T> | undefined {
  if (o.codec && o.type) throw new TypeError('RingBuffer: give a codec or a BTF type name, not both');
  if (o.codec) return o.codec;
  if (o.type === undefined) return undefined;
  const btf = o.btf ?? vmlinuxBtf();
  const id = btf.find(o.type);
  if (id === undefined)
    throw new RingBufferError(`no BTF type named "${o.type}"${o.btf ? '' : ' in the running kernel'}: name one like "struct task_struct"`);
  return codecFromBtf(btf, id) as unknown as Codec<T>;
}

/** The map opened as a ring of the wanted type, or a RingBufferError naming what it is instead. */
function checkRing(map: BpfMap<unknown, unknown>, want: number, size: number | undefined): void {
  if (map.closed) throw new MapClosedError(`map ${map.name || map.id} is closed`);
  if (map.type !== want)
    throw new RingBufferError(
      `map ${map.id}${map.name ? ` "${map.name}"` : ''} is a ${mapTypeName(map.type)} map, not a ${mapTypeName(want)}`,
    );
  if (size !== undefined && size !== map.maxEntries)
    throw new RingBufferError(
      `map ${map.id} is a ring of ${map.maxEntries} bytes, not ${size}: the kernel sizes the ring, open it without a size`,
    );
  if (map.maxEntries > MAX_RING_SIZE)
    throw new RingBufferError(`map ${map.id} is a ring of ${map.maxEntries} bytes; bpfmap reads rings of up to ${MAX_RING_SIZE} bytes`);
}

type RawFn = (bytes: Uint8Array, offset: number, length: number) => void;
type ViewFn = (record: Uint8Array) => void;
/** Where walk() delivers records: consumeRaw's callback, consume's (a view each), or the library's own. */
const enum Sink {
  Raw,
  View,
  Internal,
}

/** A ring's mapping, read as the kernel lays it out. */
class RingView {
  readonly mem: RingMemory;
  readonly size: number;
  readonly page: number;
  /** consumer_pos and producer_pos, u64 each. */
  readonly cons: BigInt64Array;
  readonly prod: BigInt64Array;
  /** The producer mapping as u32s (record headers) and bytes (records). */
  readonly words: Int32Array;
  readonly bytes: Uint8Array;

  constructor(mem: RingMemory) {
    this.mem = mem;
    this.size = mem.dataSize;
    this.page = mem.pageSize;
    this.cons = new BigInt64Array(mem.consumer, 0, 1);
    this.prod = new BigInt64Array(mem.producer, 0, 1);
    this.words = new Int32Array(mem.producer);
    this.bytes = new Uint8Array(mem.producer);
  }
}

/**
 * The consumer of a RINGBUF map. Records come out in order, exactly once, as zero-copy views of the
 * ring valid until the next read (or copies, or decoded by a codec); discarded ones are counted.
 *
 * Memory ordering, as the kernel's own consumer (and libbpf's) does it: producer_pos and each record
 * header are read with an acquire load, so the record's bytes are seen complete; consumer_pos is
 * written with a release store, so the producer reuses the space only after the reads of it. From
 * JS, Atomics.load and Atomics.store are sequentially consistent, which is stronger than both (on
 * arm64 V8 emits ldar/stlr for them), so this holds on weakly ordered CPUs as well as on x86, where
 * headers are read with plain loads (PLAIN_ACQUIRE).
 */
export class RingBuffer<T = Uint8Array> implements Disposable, AsyncIterable<T> {
  readonly map: BpfMap<unknown, unknown>;
  readonly codec: Codec<T> | undefined;
  private readonly ownsMap: boolean;
  private view: RingView | undefined;
  private watch: FdWatch | undefined;
  private readonly waiters = new Set<() => void>();
  /** Where the consumer is (consumed, not yet published while views of the last read are out). */
  private consPos: number;
  private published: number;
  private records = 0;
  private discardedCount = 0;
  private bytesRead = 0;

  private constructor(map: BpfMap<unknown, unknown>, ownsMap: boolean, opts: RingBufferOptions<T>) {
    this.map = map;
    this.ownsMap = ownsMap;
    try {
      checkRing(map, BPF_MAP_TYPE_RINGBUF, opts.size);
      this.codec = ringCodec(opts);
      this.view = new RingView(map.kernel.ringMemory(map.fd));
    } catch (e) {
      if (ownsMap) map.close();
      throw e;
    }
    this.consPos = Number(Atomics.load(this.view.cons, 0));
    this.published = this.consPos;
  }

  /** Reads a RINGBUF map opened by the caller (who keeps it open while the reader lives). */
  static fromMap<T = Uint8Array>(map: BpfMap<unknown, unknown>, opts: RingBufferOptions<T> = {}): RingBuffer<T> {
    return new RingBuffer(map, false, opts);
  }

  /** Creates a RINGBUF map of size bytes (a power of two, a multiple of the page size) and reads it. */
  static create<T = Uint8Array>(opts: RingBufferOptions<T> & { size: number; name?: string }): RingBuffer<T> {
    const map = BpfMap.create({
      type: BPF_MAP_TYPE_RINGBUF,
      keySize: 0,
      valueSize: 0,
      maxEntries: opts.size,
      ...(opts.name ? { name: opts.name } : {}),
      ...(opts.kernel ? { kernel: opts.kernel } : {}),
    });
    return new RingBuffer(map as BpfMap<unknown, unknown>, true, opts);
  }

  /** Reads the RINGBUF pinned at path (another process's ring included). */
  static openPinned<T = Uint8Array>(path: string, opts: RingBufferOptions<T> = {}): RingBuffer<T> {
    return new RingBuffer(
      BpfMap.openPinned(path, { raw: true, ...(opts.kernel ? { kernel: opts.kernel } : {}) }) as BpfMap<unknown, unknown>,
      true,
      opts,
    );
  }

  /** Reads the RINGBUF map with this id. */
  static fromId<T = Uint8Array>(id: number, opts: RingBufferOptions<T> = {}): RingBuffer<T> {
    return new RingBuffer(
      BpfMap.fromId(id, { raw: true, ...(opts.kernel ? { kernel: opts.kernel } : {}) }) as BpfMap<unknown, unknown>,
      true,
      opts,
    );
  }

  /** Reads the RINGBUF map with this name (one map must have it). */
  static fromName<T = Uint8Array>(name: string, opts: RingBufferOptions<T> = {}): RingBuffer<T> {
    return new RingBuffer(
      BpfMap.fromName(name, { raw: true, ...(opts.kernel ? { kernel: opts.kernel } : {}) }) as BpfMap<unknown, unknown>,
      true,
      opts,
    );
  }

  /** The map's fd, for a program to write to (Assembler.ldMapFd). */
  get fd(): number {
    return this.map.fd;
  }

  get closed(): boolean {
    return this.view === undefined;
  }

  /** The data area's size in bytes. */
  get size(): number {
    return this.open().size;
  }

  private open(): RingView {
    if (!this.view) throw new MapClosedError(`ring buffer ${this.map.name || this.map.id} is closed`);
    return this.view;
  }

  /** Gives the space of the records read so far back to producers (a release store of consumer_pos). */
  release(): void {
    const v = this.open();
    if (this.published === this.consPos) return;
    Atomics.store(v.cons, 0, BigInt(this.consPos));
    this.published = this.consPos;
  }

  /**
   * Walks the records there are now, calling fn(offset, length) for each submitted one (offset into
   * the producer mapping) and skipping discarded ones; stops at a record still being written, after
   * max records. Returns how many it delivered. The space stays the reader's until release().
   */
  private walk(max: number, sink: Sink, fn: RawFn | ViewFn): number {
    const v = this.open();
    this.release();
    // The ring's consumer_pos is past ours only when another reader of the ring read on (one reader
    // per ring is the rule, not something the kernel enforces): start from there, so those records do
    // not come out twice and the producer is never handed back space it may already have reused.
    const ringPos = Number(Atomics.load(v.cons, 0));
    if (ringPos > this.consPos) this.consPos = this.published = ringPos;
    const { words, bytes, page, size } = v;
    const buffer = v.mem.producer;
    const mask = size - 1;
    const start = this.consPos;
    // Bytes produced and not yet walked; the offset of the next header in the data (rings are at most 2^30 bytes: int32 math).
    const produced = Number(Atomics.load(v.prod, 0)) - start;
    let left = produced;
    let off = start % size;
    let n = 0;
    let bytesRead = 0;
    // The kernel never lets producer_pos pass the consumer's by more than the ring, nor writes a
    // record longer than what was produced; a mapping of the wrong size or a foreign writer could.
    // Reading on would leave the ring's data (and the mapping, past twice the ring), so stop there.
    if (produced > size) throw this.corrupt(size, start, `${produced} bytes produced and not consumed`);
    // Locals the loop compares as int32s: a module binding is reloaded (and checked) on every use,
    // and max may be Infinity, a double.
    const plain = PLAIN_ACQUIRE;
    const most = max >= 0x7fffffff ? 0x7fffffff : Math.ceil(max);
    while (left > 0 && n < most) {
      const at = (page + off) >> 2;
      const hdr = plain ? (words[at] as number) : Atomics.load(words, at);
      // The header's bits (kernel UAPI, fixed) as literals: immediates in the loop, where named
      // values would each take one of the few registers the loop has, or a reload per record.
      if (hdr < 0) break; // BPF_RINGBUF_BUSY_BIT, the int32's sign bit
      const len = hdr & 0x3fffffff; // without the busy and discard bits
      const total = (len + 8 + 7) & ~7; // BPF_RINGBUF_HDR_SZ, rounded up to 8
      if (total > left) {
        this.advance(start + (produced - left), n, bytesRead);
        throw this.corrupt(size, this.consPos, `a record of ${len} bytes with ${left} produced`);
      }
      if (hdr & 0x40000000 /* BPF_RINGBUF_DISCARD_BIT */) this.discardedCount++;
      else {
        const data = page + off + 8; // past the BPF_RINGBUF_HDR_SZ header
        // One call site per sink, so each stays monomorphic and V8 can inline the caller's callback.
        if (sink === Sink.Raw) (fn as RawFn)(bytes, data, len);
        else if (sink === Sink.View) (fn as ViewFn)(new Uint8Array(buffer, data, len));
        else (fn as RawFn)(bytes, data, len);
        bytesRead += len;
        n++;
      }
      left -= total;
      off = (off + total) & mask;
    }
    this.advance(start + (produced - left), n, bytesRead);
    return n;
  }

  /** Where a walk ends: no closure over the walk's counters, which would move them out of registers. */
  private advance(consPos: number, records: number, bytes: number): void {
    this.consPos = consPos;
    this.records += records;
    this.bytesRead += bytes;
  }

  private corrupt(size: number, at: number, what: string): RingBufferError {
    return new RingBufferError(`ring ${this.map.id}: ${what} at position ${at} (ring of ${size} bytes): the ring is corrupt`);
  }

  /**
   * Like consume, without making a view per record: fn gets the ring's whole mapping (the data twice,
   * so a record never wraps) and the record's offset and length in it, as libbpf's callback gets a
   * pointer and a size. Valid during the call. The fastest way through a ring.
   */
  consumeRaw(fn: (bytes: Uint8Array, offset: number, length: number) => void, max = Infinity): number {
    const n = this.walk(max, Sink.Raw, fn);
    this.release();
    return n;
  }

  /**
   * The records there are now, oldest first: views of the ring valid until the next read (each read
   * gives the last one's space back), copies with `copy: true`, decoded values with a codec.
   */
  read(opts: ReadOptions = {}): T[] {
    const max = opts.max ?? Infinity;
    if (!(max >= 0)) throw new RangeError(`read: max must be a non-negative number, got ${String(opts.max)}`);
    const out: T[] = [];
    const codec = this.codec;
    const copy = opts.copy === true;
    this.walk(max, Sink.Internal, (bytes, off, len) => out.push(this.decodeAt(codec, copy, bytes, off, len)));
    if (copy || codec) this.release();
    return out;
  }

  private decodeAt(codec: Codec<T> | undefined, copy: boolean, bytes: Uint8Array, off: number, len: number): T {
    if (!codec) return (copy ? bytes.slice(off, off + len) : new Uint8Array(bytes.buffer, off, len)) as T;
    if (len < codec.size)
      throw new RingBufferError(`ring ${this.map.id}: a record of ${len} bytes is shorter than ${codec.name} (${codec.size} bytes)`);
    return codec.decode(Buffer.from(bytes.buffer, off, len), 0);
  }

  /**
   * Calls fn for each record there is now (at most max), like libbpf's ring_buffer__consume: the
   * record is a view valid during the call (decoded with a codec). Returns how many; the space is
   * given back before it returns.
   */
  consume(fn: (record: T) => void, max = Infinity): number {
    const codec = this.codec;
    const n = codec
      ? this.walk(max, Sink.Internal, (bytes, off, len) => fn(this.decodeAt(codec, false, bytes, off, len)))
      : this.walk(max, Sink.View, fn as ViewFn);
    this.release();
    return n;
  }

  /** @internal Whether records may be there (producer_pos is past the reader's position). */
  hasPending(): boolean {
    return this.pendingBytes() > 0;
  }

  private pendingBytes(): number {
    const v = this.open();
    return Number(Atomics.load(v.prod, 0)) - this.consPos;
  }

  /**
   * Resolves when records may be there: at once if some are, else when the kernel signals the map fd
   * (epoll, on the event loop: no thread, no syscall while idle, none per record). Gives the space of
   * the last read back first, since the kernel wakes a reader only once it has caught up. Resolves
   * (without records) when the ring is closed.
   */
  wait(): Promise<void> {
    this.release();
    if (this.pendingBytes() > 0) return Promise.resolve();
    return new Promise((resolve) => {
      this.onceReady(resolve);
    });
  }

  /** @internal Calls fn once when the ring may hold records (or is closed); returns a cancel function. */
  onceReady(fn: () => void): () => void {
    this.open();
    this.waiters.add(fn);
    this.watch ??= this.map.kernel.ringWatch(this.map.fd, () => this.wake());
    this.watch.start();
    return () => {
      this.waiters.delete(fn);
      if (this.waiters.size === 0) this.watch?.stop();
    };
  }

  private wake(): void {
    // The poll is level-triggered: it would call again while data is there and nobody reads.
    this.watch?.stop();
    const ws = [...this.waiters];
    this.waiters.clear();
    for (const w of ws) w();
  }

  /** Records as they come, waiting (without spinning) when there are none; ends when the ring is closed. */
  async *[Symbol.asyncIterator](): AsyncIterator<T> {
    while (!this.closed) {
      const batch = this.read({ max: 1024 });
      for (const r of batch) yield r;
      if (batch.length === 0 && !this.closed) await this.wait();
    }
  }

  /** Counts and the kernel's positions (which, read together, show how far behind the reader is). */
  stats(): RingStats {
    const v = this.open();
    const producerPos = Number(Atomics.load(v.prod, 0));
    const consumerPos = Number(Atomics.load(v.cons, 0));
    return {
      records: this.records,
      discarded: this.discardedCount,
      bytes: this.bytesRead,
      consumerPos,
      producerPos,
      pending: producerPos - consumerPos,
      size: v.size,
    };
  }

  /** Unmaps the ring (views of it become empty) and closes the map if the reader opened it. Idempotent. */
  close(): void {
    const v = this.view;
    if (!v) return;
    try {
      if (this.consPos > Number(Atomics.load(v.cons, 0))) Atomics.store(v.cons, 0, BigInt(this.consPos));
    } catch {
      // The map may already be gone; nothing is left to give back.
    }
    this.view = undefined;
    this.watch?.close();
    this.watch = undefined;
    v.mem.unmap();
    if (this.ownsMap) this.map.close();
    this.wake();
  }

  /** Closes the reader (using declarations). */
  [Symbol.dispose](): void {
    this.close();
  }
}

/** One record of a RingReader, with the ring it came from. */
export interface RingEvent<T> {
  ring: RingBuffer<T>;
  record: T;
}

/**
 * One reader over several rings, like libbpf's ring_buffer__add: records of each ring in order,
 * each with its ring; waits on all of them at once.
 */
export class RingReader<T = Uint8Array> implements AsyncIterable<RingEvent<T>> {
  private readonly rings: RingBuffer<T>[] = [];
  private next = 0;

  constructor(rings: Iterable<RingBuffer<T>> = []) {
    for (const r of rings) this.add(r);
  }

  /** Adds a ring to read; records come with the ring they came from. */
  add(ring: RingBuffer<T>): this {
    if (ring.closed) throw new MapClosedError('RingReader.add: the ring is closed');
    if (this.rings.includes(ring)) throw new RingBufferError('RingReader.add: this ring is already read here');
    this.rings.push(ring);
    return this;
  }

  /** Stops reading ring (it stays open). */
  remove(ring: RingBuffer<T>): boolean {
    const i = this.rings.indexOf(ring);
    if (i < 0) return false;
    this.rings.splice(i, 1);
    return true;
  }

  get size(): number {
    return this.rings.length;
  }

  private live(): RingBuffer<T>[] {
    return this.rings.filter((r) => !r.closed);
  }

  /** Calls fn for each record of every ring there is now (a round over the rings, at most max in all). */
  consume(fn: (record: T, ring: RingBuffer<T>) => void, max = Infinity): number {
    let n = 0;
    const rings = this.live();
    // Start where the last call stopped, so one busy ring cannot starve the others under a max.
    for (let k = 0; k < rings.length && n < max; k++) {
      const ring = rings[(this.next + k) % rings.length] as RingBuffer<T>;
      n += ring.consume((rec) => fn(rec, ring), max - n);
    }
    this.next = rings.length > 0 ? (this.next + 1) % rings.length : 0;
    return n;
  }

  /** The records there are now, copied (views of several rings could not share one lifetime), each with its ring. */
  read(opts: { max?: number } = {}): RingEvent<T>[] {
    const out: RingEvent<T>[] = [];
    this.consume(
      (record, ring) => out.push({ ring, record: ring.codec ? record : ((record as Uint8Array).slice() as T) }),
      opts.max ?? Infinity,
    );
    return out;
  }

  /** Resolves when any ring may hold records, or when all are closed. */
  wait(): Promise<void> {
    const rings = this.live();
    if (rings.length === 0) return Promise.resolve();
    for (const r of rings) r.release();
    if (rings.some((r) => r.hasPending())) return Promise.resolve();
    return new Promise((resolve) => {
      const cancels: Array<() => void> = [];
      const done = (): void => {
        for (const c of cancels) c();
        resolve();
      };
      for (const r of rings) cancels.push(r.onceReady(done));
    });
  }

  /** Records of every ring as they come, each with its ring, waiting (without spinning) when there are none. */
  async *[Symbol.asyncIterator](): AsyncIterator<RingEvent<T>> {
    while (this.live().length > 0) {
      const batch: RingEvent<T>[] = [];
      this.consume((record, ring) => batch.push({ ring, record: ring.codec ? record : ((record as Uint8Array).slice() as T) }), 1024);
      for (const e of batch) yield e;
      if (batch.length === 0) await this.wait();
    }
  }
}

/**
 * The producer side of a USER_RINGBUF map: userspace writes records for a BPF program to take with
 * bpf_user_ringbuf_drain. One producer per ring (as libbpf's user_ring_buffer).
 */
export class UserRingBuffer implements Disposable {
  readonly map: BpfMap<unknown, unknown>;
  private readonly ownsMap: boolean;
  private view: RingView | undefined;
  private prodPos: number;
  /** Reserved records not yet submitted or discarded, by their data offset: their header position. */
  private readonly reserved = new Map<number, number>();

  private constructor(map: BpfMap<unknown, unknown>, ownsMap: boolean, size: number | undefined) {
    this.map = map;
    this.ownsMap = ownsMap;
    try {
      checkRing(map, BPF_MAP_TYPE_USER_RINGBUF, size);
      this.view = new RingView(map.kernel.ringMemory(map.fd));
    } catch (e) {
      if (ownsMap) map.close();
      throw e;
    }
    this.prodPos = Number(Atomics.load(this.view.prod, 0));
  }

  /** Writes into a USER_RINGBUF map opened by the caller (who keeps it open while the writer lives). */
  static fromMap(map: BpfMap<unknown, unknown>, opts: { size?: number } = {}): UserRingBuffer {
    return new UserRingBuffer(map, false, opts.size);
  }

  /** Creates a USER_RINGBUF map of size bytes (a power of two, a multiple of the page size) and writes into it. */
  static create(opts: { size: number; name?: string; kernel?: Kernel }): UserRingBuffer {
    const map = BpfMap.create({
      type: BPF_MAP_TYPE_USER_RINGBUF,
      keySize: 0,
      valueSize: 0,
      maxEntries: opts.size,
      ...(opts.name ? { name: opts.name } : {}),
      ...(opts.kernel ? { kernel: opts.kernel } : {}),
    });
    return new UserRingBuffer(map as BpfMap<unknown, unknown>, true, undefined);
  }

  /** Writes into the USER_RINGBUF pinned at path. */
  static openPinned(path: string, opts: { kernel?: Kernel; size?: number } = {}): UserRingBuffer {
    return new UserRingBuffer(
      BpfMap.openPinned(path, { raw: true, ...(opts.kernel ? { kernel: opts.kernel } : {}) }) as BpfMap<unknown, unknown>,
      true,
      opts.size,
    );
  }

  get fd(): number {
    return this.map.fd;
  }

  get closed(): boolean {
    return this.view === undefined;
  }

  private open(): RingView {
    if (!this.view) throw new MapClosedError(`user ring buffer ${this.map.name || this.map.id} is closed`);
    return this.view;
  }

  /** Bytes free for records (headers included), as of the consumer's last published position. */
  free(): number {
    const v = this.open();
    return v.size - (this.prodPos - Number(Atomics.load(v.cons, 0)));
  }

  /**
   * Reserves a record of size bytes: a view of the ring to write it through, then submit() or
   * discard() it. Null when the ring has no room now (the program has not drained it yet).
   * A record that could never fit throws RingBufferError.
   */
  reserve(size: number): Uint8Array | null {
    const v = this.open();
    const total = (size + BPF_RINGBUF_HDR_SZ + 7) & ~7;
    if (!Number.isInteger(size) || size < 0) throw new RangeError(`reserve: size must be a non-negative integer, got ${String(size)}`);
    // The kernel takes records of at most the ring's size and of a dynptr's size (2^24 - 1 bytes).
    if (size + BPF_RINGBUF_HDR_SZ > v.size || size >= 1 << 24)
      throw new RingBufferError(
        `reserve: a record of ${size} bytes cannot fit a ring of ${v.size} bytes (each record also takes an 8-byte header)`,
      );
    const cons = Number(Atomics.load(v.cons, 0));
    if (this.prodPos + total - cons > v.size) return null;
    const at = v.page + (this.prodPos % v.size);
    // Busy until submitted: the kernel stops at a busy header. The position is published after the
    // header (a release store), so the kernel never sees the new position with an old header.
    v.words[(at >> 2) + 1] = 0;
    Atomics.store(v.words, at >> 2, size | BPF_RINGBUF_BUSY_BIT | 0);
    this.prodPos += total;
    Atomics.store(v.prod, 0, BigInt(this.prodPos));
    this.reserved.set(at + BPF_RINGBUF_HDR_SZ, at);
    return new Uint8Array(v.bytes.buffer, at + BPF_RINGBUF_HDR_SZ, size);
  }

  private commit(rec: Uint8Array, discard: boolean): void {
    const v = this.open();
    const at = rec.buffer === v.bytes.buffer ? this.reserved.get(rec.byteOffset) : undefined;
    if (at === undefined) throw new RingBufferError('submit/discard: not a record reserved from this ring (or already submitted)');
    this.reserved.delete(rec.byteOffset);
    // A release store: the record's bytes are visible before the header says it is complete.
    Atomics.store(v.words, at >> 2, rec.length | (discard ? BPF_RINGBUF_DISCARD_BIT : 0) | 0);
  }

  /** Hands a reserved record to the BPF program that drains the ring. */
  submit(rec: Uint8Array): void {
    this.commit(rec, false);
  }

  /** Gives a reserved record back unused: the program skips it. */
  discard(rec: Uint8Array): void {
    this.commit(rec, true);
  }

  /** Reserves, copies data in and submits; false when there is no room now. */
  write(data: Uint8Array): boolean {
    const rec = this.reserve(data.length);
    if (!rec) return false;
    rec.set(data);
    this.submit(rec);
    return true;
  }

  /** Unmaps the ring (and closes its map when this writer created or opened it). */
  close(): void {
    const v = this.view;
    if (!v) return;
    this.view = undefined;
    v.mem.unmap();
    if (this.ownsMap) this.map.close();
  }

  /** Closes the writer (using declarations). */
  [Symbol.dispose](): void {
    this.close();
  }
}

import type { Codec } from '../codec/codec.js';
import { typedView, type AnyTypedArray } from '../codec/view.js';
import type { Kernel } from '../kernel/kernel.js';
import { roundUpValueSize } from '../sys/value-size.js';
import type { Chunk } from './walk.js';

/**
 * The memory of an mmapable array (BPF_F_MMAPABLE), shared with the kernel and BPF programs: a
 * write through it is seen by programs at once, and theirs by it. Value i lives at byte
 * i * stride. Unmapped once the map is closed or frozen: its methods then throw, and its views no
 * longer reach the map (they read zeros).
 */
export interface MapMemory<V> {
  /** The mapping: length values at stride-byte steps, in whole pages. */
  readonly buffer: ArrayBuffer;
  /** The values' bytes: length * stride. */
  readonly bytes: Buffer;
  /** Entries: the array's max_entries. */
  readonly length: number;
  /** Bytes from one value to the next: round_up(value_size, 8), the kernel's layout. */
  readonly stride: number;
  /**
   * False for frozen maps and maps opened read-only. On the real kernel such a mapping is
   * read-only to the CPU: a write through bytes or view kills the process (SIGSEGV), so use set().
   */
  readonly writable: boolean;
  /**
   * A TypedArray over the memory when the value codec is a plain number (u64 counters: a
   * BigUint64Array); value i is view[i * step].
   */
  readonly view: AnyTypedArray | undefined;
  /** Elements of view from one value to the next: stride / the codec's size (1 for 8-byte values). */
  readonly step: number;
  /** The value at index i, decoded from memory. */
  get(i: number): V;
  /** Writes the value at index i (a TypeError on a read-only mapping). */
  set(i: number, value: V): void;
  /**
   * The total of every value where view is defined (counters): a bigint for 64-bit integers,
   * exact (added 32 bits at a time, no BigInt per value); a number for smaller integers and floats,
   * with a RangeError where an integer total passes 2^53 rather than a rounded one.
   */
  sum(): bigint | number;
  /** True once unmapped (the map closed or frozen): map.memory() maps again where the map is still open. */
  readonly detached: boolean;
}

/** Values added as numbers before the partial sums are folded: 2^20 values below 2^32 stay below 2^52, exact. */
const BLOCK = 1 << 20;

/**
 * Adds the low and high 32-bit halves of the 64-bit values in words (one block) into sums[0] and
 * sums[1]. A function of its own, with nothing after its loop but two stores: once it has run,
 * V8 has type feedback for all of it and its optimized code is kept from call to call. The sums
 * start as float64 (read from a Float64Array), so the optimizer never adds in int32 with overflow
 * checks (which throw the code away when a sum passes 2^31); four values per turn in separate
 * sums, so fewer loop checks and adds that do not wait on each other. One array for both halves,
 * and the end masked below 2^30 (a block holds 2^21 words): the optimizer then checks one array
 * per turn and computes i + 7 with no overflow check and no sign extension.
 */
function addHalves(words: Uint32Array, sums: Float64Array): void {
  const end = words.length & 0x3fffffff;
  let l = sums[0] as number;
  let h = sums[1] as number;
  let l2 = l - l;
  let h2 = l2;
  let l3 = l2;
  let h3 = l2;
  let l4 = l2;
  let h4 = l2;
  let i = 0;
  for (; i < end && (end - i) % 8 !== 0; i += 2) {
    l += words[i] as number;
    h += words[i + 1] as number;
  }
  for (; i < end; i += 8) {
    l += words[i] as number;
    h += words[i + 1] as number;
    l2 += words[i + 2] as number;
    h2 += words[i + 3] as number;
    l3 += words[i + 4] as number;
    h3 += words[i + 5] as number;
    l4 += words[i + 6] as number;
    h4 += words[i + 7] as number;
  }
  sums[0] = l + l2 + l3 + l4;
  sums[1] = h + h2 + h3 + h4;
}

/** How many of the 64-bit values in words are negative as i64 (their high word's top bit). */
function negatives(words: Uint32Array): number {
  let n = 0;
  for (let i = 1; i < words.length; i += 2) n += (words[i] as number) >>> 31;
  return n;
}

/**
 * Exact total of n 64-bit integers at 8-byte steps, from their 32-bit halves, a block at a time
 * (a view of its own each, so indexes stay small). An i64 is its u64 bits less 2^64 when
 * negative, so signed totals take the unsigned one less 2^64 per negative value.
 */
function sum64(buffer: ArrayBuffer, n: number, signed: boolean): bigint {
  const sums = new Float64Array(2);
  let total = 0n;
  for (let start = 0; start < n; start += BLOCK) {
    const words = new Uint32Array(buffer, start * 8, 2 * Math.min(BLOCK, n - start));
    sums[0] = 0;
    sums[1] = 0;
    addHalves(words, sums);
    total += BigInt(sums[0] as number) + (BigInt(sums[1] as number) << 32n);
    if (signed) total -= BigInt(negatives(words)) << 64n;
  }
  return total;
}

/** MapMemory over one mapping, for a map whose values are `codec`. */
export class ArrayMemory<V> implements MapMemory<V> {
  readonly bytes: Buffer;
  readonly stride: number;
  readonly step: number;
  readonly view: AnyTypedArray | undefined;
  private readonly scratch: Buffer;

  constructor(
    readonly buffer: ArrayBuffer,
    readonly length: number,
    private readonly codec: Codec<V>,
    readonly writable: boolean,
    private readonly label: string,
    private readonly kernel: Pick<Kernel, 'mapMemoryLive'>,
  ) {
    this.stride = roundUpValueSize(codec.size);
    this.bytes = Buffer.from(buffer, 0, length * this.stride);
    this.view = this.stride % codec.size === 0 ? typedView(codec as Codec<unknown>, this.bytes) : undefined;
    this.step = this.view === undefined ? 0 : this.stride / codec.size;
    this.scratch = Buffer.alloc(codec.size);
  }

  private unmapped = false;

  /** @internal Marks the memory unmapped by its own handle (its buffer keeps its length and reads zeros). */
  release(): void {
    this.unmapped = true;
  }

  get detached(): boolean {
    // The emulated kernel ends every handle's mapping of a map when one unmaps.
    return this.unmapped || !this.kernel.mapMemoryLive(this.buffer);
  }

  private check(i: number): number {
    if (this.detached)
      throw new RangeError(`the memory of map ${this.label} is unmapped (the map was closed or frozen): call memory() again`);
    if (!Number.isInteger(i) || i < 0 || i >= this.length) throw new RangeError(`index ${i} is outside the array (0..${this.length - 1})`);
    return i * this.stride;
  }

  get(i: number): V {
    return this.codec.decode(this.bytes, this.check(i));
  }

  sum(): bigint | number {
    const view = this.view;
    if (view === undefined) throw new TypeError(`sum(): the values of map ${this.label} (${this.codec.name}) are not plain numbers`);
    if (this.detached) this.check(0);
    if (view instanceof BigUint64Array || view instanceof BigInt64Array)
      return sum64(this.buffer, this.length, view instanceof BigInt64Array);
    const float = view instanceof Float32Array || view instanceof Float64Array;
    const { step, length } = this;
    let total = 0;
    for (let start = 0; start < length; start += BLOCK) {
      // A block of values below 2^32 in size adds up exactly; so does the total while it stays safe.
      let block = 0;
      for (let i = start * step, end = Math.min(length, start + BLOCK) * step; i < end; i += step) block += view[i] as number;
      total += block;
      if (!float && !Number.isSafeInteger(total))
        throw new RangeError(`sum(): the total of map ${this.label} passes 2^53, past what a number holds exactly`);
    }
    return total;
  }

  set(i: number, value: V): void {
    const at = this.check(i);
    if (!this.writable)
      throw new TypeError(`the memory of map ${this.label} is mapped read-only (the map is frozen or was opened read-only)`);
    // Encoded aside first: a value the codec refuses half-way leaves memory as it was.
    this.codec.encode(value, this.scratch, 0);
    this.bytes.set(this.scratch, at);
  }
}

/**
 * Chunks of an mmapable array read from memory: index keys, and values packed at value_size (the
 * memory itself where the stride is value_size, so decoding reads it in place). No syscall.
 */
export function* memoryChunks(mem: ArrayMemory<unknown>, valueSize: number, batch: number): Generator<Chunk, void, void> {
  const size = Math.max(1, Math.min(batch, mem.length));
  const keys = Buffer.alloc(size * 4);
  const index = new Uint32Array(keys.buffer, keys.byteOffset, size);
  const inPlace = mem.stride === valueSize;
  const packed = inPlace ? undefined : Buffer.alloc(size * valueSize);
  for (let start = 0; start < mem.length; start += size) {
    if (mem.detached) return;
    const count = Math.min(size, mem.length - start);
    for (let i = 0; i < count; i++) index[i] = start + i;
    let values: Buffer;
    if (packed === undefined) values = mem.bytes.subarray(start * valueSize, (start + count) * valueSize);
    else {
      values = packed;
      for (let i = 0; i < count; i++) mem.bytes.copy(packed, i * valueSize, (start + i) * mem.stride, (start + i) * mem.stride + valueSize);
    }
    yield { keys, values, count };
  }
}

/** Writes the index keys 0..n-1 (host-order u32, as the kernel takes an array's key) and the n values packed into keys and values. */
export function copyMemory(mem: ArrayMemory<unknown>, valueSize: number, keys: Buffer, values: Buffer): void {
  const n = mem.length;
  const aligned = keys.byteOffset % 4 === 0;
  const index = aligned ? new Uint32Array(keys.buffer, keys.byteOffset, n) : new Uint32Array(n);
  for (let i = 0; i < n; i++) index[i] = i;
  if (!aligned) keys.set(new Uint8Array(index.buffer), 0);
  if (mem.stride === valueSize) mem.bytes.copy(values, 0, 0, n * valueSize);
  else for (let i = 0; i < n; i++) mem.bytes.copy(values, i * valueSize, i * mem.stride, i * mem.stride + valueSize);
}

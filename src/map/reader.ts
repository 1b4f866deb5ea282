import { endianness } from 'node:os';
import type { Codec } from '../codec/codec.js';
import { fromHalves } from '../codec/int.js';
import { typedView } from '../codec/view.js';
import type { BpfMap } from './map.js';
import type { Chunk } from './walk.js';

/** Indexed reads of the elements a TypedArray view holds (number or bigint, as the codec decodes them). */
type Column = { readonly [i: number]: unknown };

/** A TypedArray over count elements of codec packed at the start of buf, when the codec's element is one. */
function column(codec: Codec<unknown>, buf: Buffer, count: number): Column | undefined {
  if (codec.typedArray === undefined) return undefined;
  return typedView(codec, buf.subarray(0, count * codec.size));
}

const HOST_LE = endianness() === 'LE';

/**
 * u64n/i64n values (numbers) read from their 32-bit halves: no BigInt made per value, the range
 * checked by fromHalves. lo[2i] and hi[2i + 1] are value i's halves on a little-endian host.
 */
class Halves {
  private lo: Uint32Array<ArrayBufferLike> = new Uint32Array(0);
  private hi: Uint32Array<ArrayBufferLike> | Int32Array<ArrayBufferLike> = this.lo;

  constructor(
    private readonly name: string,
    private readonly signed: boolean,
  ) {}

  /** Points at count values packed at the start of buf; false where buf is not 4-byte aligned. */
  load(buf: Buffer, count: number): boolean {
    if (buf.byteOffset % 4 !== 0) return false;
    this.lo = new Uint32Array(buf.buffer, buf.byteOffset, count * 2);
    this.hi = this.signed ? new Int32Array(buf.buffer, buf.byteOffset, count * 2) : this.lo;
    return true;
  }

  /** Value at element index i (of 8-byte values). */
  at(i: number): number {
    return fromHalves(this.name, this.lo[2 * i] as number, this.hi[2 * i + 1] as number);
  }
}

function halvesOf(codec: Codec<unknown> | undefined): Halves | undefined {
  return codec?.halves !== undefined && HOST_LE ? new Halves(codec.name, codec.halves === 'signed') : undefined;
}

/**
 * Decodes the entries of one chunk. Keys and values whose codec is exactly a TypedArray element
 * (u32, u64, ... on this host) are read through one view over the chunk's buffer, made once per
 * chunk: no Buffer read per entry, and one BigInt per u64 instead of the three readBigUInt64LE
 * makes. Other codecs decode from the same buffer at the entry's offset.
 */
export class ChunkReader<K, V> {
  private keys: Buffer = Buffer.alloc(0);
  private values: Buffer = Buffer.alloc(0);
  private keyColumn: Column | undefined;
  private valueColumn: Column | undefined;
  private cpuColumn: Column | undefined;
  /** u64n/i64n values and per-CPU values read from their halves (undefined for other codecs). */
  private readonly valueHalves: Halves | undefined;
  private readonly cpuHalves: Halves | undefined;
  private valueHalvesOn = false;
  private cpuHalvesOn = false;
  private readonly keyCodec: Codec<K>;
  private readonly valueCodec: Codec<V>;
  private readonly ks: number;
  private readonly vs: number;
  /** Per-CPU maps: one CPU's codec, and the entry and CPU strides in its elements when a view can hold it. */
  private readonly cpuCodec: Codec<unknown> | undefined;
  private readonly cpuStride: number;
  private readonly entryStep: number;
  private readonly cpuStep: number;
  private readonly cpuViewable: boolean;

  constructor(map: BpfMap<K, V>) {
    this.keyCodec = map.keyCodec;
    this.valueCodec = map.valueCodec;
    this.ks = map.keySize;
    this.vs = map.valueBytes;
    this.cpuCodec = map.cpuCodec;
    const size = this.cpuCodec?.size ?? 1;
    const stride = map.perCpu ? map.valueBytes / map.cpus : 0;
    this.cpuStride = stride;
    this.entryStep = map.valueBytes / size;
    this.cpuStep = stride / size;
    this.cpuViewable = this.cpuCodec !== undefined && stride % size === 0 && map.valueBytes % size === 0;
    this.valueHalves = halvesOf(this.valueCodec as Codec<unknown>);
    this.cpuHalves = this.cpuViewable ? halvesOf(this.cpuCodec) : undefined;
  }

  /** Points the reader at a chunk. */
  load(c: Chunk): void {
    this.keys = c.keys;
    this.values = c.values;
    this.keyColumn = column(this.keyCodec, c.keys, c.count);
    this.valueColumn = column(this.valueCodec, c.values, c.count);
    this.cpuColumn = this.cpuViewable ? column(this.cpuCodec as Codec<unknown>, c.values, (c.count * this.vs) / (this.cpuCodec as Codec<unknown>).size) : undefined;
    this.valueHalvesOn = this.valueHalves?.load(c.values, c.count) ?? false;
    this.cpuHalvesOn = this.cpuHalves?.load(c.values, (c.count * this.vs) / 8) ?? false;
  }

  key(i: number): K {
    const col = this.keyColumn;
    return col === undefined ? this.keyCodec.decode(this.keys, i * this.ks) : (col[i] as K);
  }

  value(i: number): V {
    if (this.valueHalvesOn) return (this.valueHalves as Halves).at(i) as V;
    const col = this.valueColumn;
    return col === undefined ? this.valueCodec.decode(this.values, i * this.vs) : (col[i] as V);
  }

  /** The u32 at the start of entry i's value, undecoded: the map id an outer map's lookup gives. */
  valueU32(i: number): number {
    return this.values.readUInt32LE(i * this.vs);
  }

  /** Per-CPU maps: CPU cpu's value of entry i. */
  cpuValue(i: number, cpu: number): unknown {
    if (this.cpuHalvesOn) return (this.cpuHalves as Halves).at(i * this.entryStep + cpu * this.cpuStep);
    const col = this.cpuColumn;
    if (col !== undefined) return col[i * this.entryStep + cpu * this.cpuStep];
    return (this.cpuCodec as Codec<unknown>).decode(this.values, i * this.vs + cpu * this.cpuStride);
  }
}

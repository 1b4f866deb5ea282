import type { Codec } from '../codec/codec.js';
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
  }

  /** Points the reader at a chunk. */
  load(c: Chunk): void {
    this.keys = c.keys;
    this.values = c.values;
    this.keyColumn = column(this.keyCodec, c.keys, c.count);
    this.valueColumn = column(this.valueCodec, c.values, c.count);
    this.cpuColumn = this.cpuViewable ? column(this.cpuCodec as Codec<unknown>, c.values, (c.count * this.vs) / (this.cpuCodec as Codec<unknown>).size) : undefined;
  }

  key(i: number): K {
    const col = this.keyColumn;
    return col === undefined ? this.keyCodec.decode(this.keys, i * this.ks) : (col[i] as K);
  }

  value(i: number): V {
    const col = this.valueColumn;
    return col === undefined ? this.valueCodec.decode(this.values, i * this.vs) : (col[i] as V);
  }

  /** The u32 at the start of entry i's value, undecoded: the map id an outer map's lookup gives. */
  valueU32(i: number): number {
    return this.values.readUInt32LE(i * this.vs);
  }

  /** Per-CPU maps: CPU cpu's value of entry i. */
  cpuValue(i: number, cpu: number): unknown {
    const col = this.cpuColumn;
    if (col !== undefined) return col[i * this.entryStep + cpu * this.cpuStep];
    return (this.cpuCodec as Codec<unknown>).decode(this.values, i * this.vs + cpu * this.cpuStride);
  }
}

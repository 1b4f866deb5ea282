import type { Btf } from '../btf/btf.js';
import { codecFromBtf, type BtfValue } from '../btf/codec.js';
import { displayCodec } from '../btf/display.js';
import { BtfBuilder } from '../btf/encode.js';
import { BtfError } from '../btf/error.js';
import { missingField } from '../btf/missing.js';
import { btfTypeOfCodec } from '../btf/from-codec.js';
import { loadBtf, openBtf, type LoadedBtf } from '../kernel/btf.js';
import type { Codec } from '../codec/codec.js';
import { u32 } from '../codec/int.js';
import { isPerCpu, perCpu, type PerCpu, type PerCpuValue } from '../codec/percpu.js';
import { BpfError } from '../kernel/error.js';
import type { Kernel, MapInfo } from '../kernel/kernel.js';
import { isPerCpuType } from '../kernel/sizes.js';
import {
  BPF_MAP_TYPE_ARRAY,
  BPF_MAP_TYPE_BLOOM_FILTER,
  BPF_MAP_TYPE_PERCPU_ARRAY,
  BPF_MAP_TYPE_QUEUE,
  BPF_MAP_TYPE_STACK,
} from '../sys/constants.js';

/** A type of some Btf (a builder's, a program's, or the kernel's vmlinuxBtf()), by id or name. */
export interface BtfTypeRef {
  btf: Btf;
  /** A type id of btf, or a name such as "struct flow" or "__u32". */
  type: number | string;
}

/** A key or value type: a BTF type, or a codec whose layout is described as BTF. */
export type MapBtfType = BtfTypeRef | Codec<unknown>;

function isRef(t: MapBtfType): t is BtfTypeRef {
  return typeof (t as BtfTypeRef).btf === 'object' && (t as BtfTypeRef).btf !== null && 'type' in t;
}

/** The C types of a map's keys and values. */
export interface MapBtf {
  /**
   * Defaults to an unsigned int of the key size (unsigned char[n] for odd sizes); array maps
   * have 4-byte keys, queues, stacks and bloom filters none.
   */
  key?: MapBtfType;
  value: MapBtfType;
}

/** Key size implied by the map type when a map is typed by its value alone. */
export function impliedKeySize(mapType: number): number | undefined {
  if (mapType === BPF_MAP_TYPE_ARRAY || mapType === BPF_MAP_TYPE_PERCPU_ARRAY) return 4;
  if (mapType === BPF_MAP_TYPE_QUEUE || mapType === BPF_MAP_TYPE_STACK || mapType === BPF_MAP_TYPE_BLOOM_FILTER) return 0;
  return undefined;
}

/** BTF loaded for a new map: what MAP_CREATE needs, and the sizes the types imply. */
export interface PreparedMapBtf {
  loaded: LoadedBtf;
  keyTypeId: number;
  valueTypeId: number;
  keySize: number;
  valueSize: number;
}

function typeId(ref: BtfTypeRef, what: string): number {
  if (typeof ref.type === 'number') {
    ref.btf.type(ref.type);
    return ref.type;
  }
  const id = ref.btf.find(ref.type);
  if (id === undefined) throw new BtfError(`${what} type "${ref.type}" is not in the given BTF`);
  return id;
}

/** The BTF a map's key should carry when only its size is known. */
function plainKey(b: BtfBuilder, size: number): number {
  const names: Record<number, string> = { 1: 'unsigned char', 2: 'short unsigned int', 4: 'unsigned int', 8: 'long long unsigned int' };
  const name = names[size];
  if (name) return b.int(name, size);
  return b.array(b.int('unsigned char', 1), size);
}

/**
 * Copies the key and value types into one fresh blob and loads it. keySize is used when no
 * key type is given (0: the map has no keys, as queues and stacks).
 */
export function prepareMapBtf(kernel: Kernel, spec: MapBtf, keySize: number | undefined): PreparedMapBtf {
  if (spec.value === undefined) throw new TypeError('create: btf.value (the value\'s BTF type) is required with btf');
  const b = new BtfBuilder();
  let keyTypeId = 0;
  const add = (t: MapBtfType, what: string): number => (isRef(t) ? b.import(t.btf, typeId(t, what)) : btfTypeOfCodec(b, t));
  if (spec.key) keyTypeId = add(spec.key, 'key');
  else if (keySize === undefined) throw new TypeError('create: keySize (or a key codec, or btf.key) is required');
  else if (keySize > 0) keyTypeId = plainKey(b, keySize);
  const valueTypeId = add(spec.value, 'value');
  const btf = b.btf();
  const loaded = loadBtf(b.build(), kernel);
  return {
    loaded,
    keyTypeId,
    valueTypeId,
    keySize: keyTypeId === 0 ? 0 : btf.sizeOf(keyTypeId),
    valueSize: btf.sizeOf(valueTypeId),
  };
}

/** The BTF spec of create(): as given, or (true) described from the key and value codecs. */
export function mapBtfSpec(btf: MapBtf | true, key: Codec<unknown> | undefined, value: Codec<unknown> | PerCpuValue<unknown> | undefined): MapBtf {
  if (btf !== true) return btf;
  if (value === undefined) throw new TypeError('create: btf: true describes the key and value codecs, but no value codec is given');
  const v = isPerCpu(value) ? value.elem : value;
  return key === undefined ? { value: v } : { key, value: v };
}

/** Options with the codecs a BTF spec names directly (a side given as a codec is also the map's codec). */
export function withCodecsOf<K, V>(spec: MapBtf, opts: { key?: Codec<K>; value?: Codec<V> | PerCpuValue<V> }, perCpuMap: boolean): {
  key?: Codec<K>;
  value?: Codec<V> | PerCpuValue<V>;
} {
  const out: { key?: Codec<K>; value?: Codec<V> | PerCpuValue<V> } = {};
  const key = opts.key ?? (spec.key && !isRef(spec.key) ? (spec.key as Codec<K>) : undefined);
  if (key) out.key = key;
  let value = opts.value;
  if (value === undefined && !isRef(spec.value)) value = (perCpuMap ? perCpu(spec.value) : spec.value) as Codec<V> | PerCpuValue<V>;
  if (value) out.value = value;
  return out;
}

/** The BTF type each codec readMapCodecs made speaks (a map opened with its BTF). */
const typeOfCodec = new WeakMap<Codec<unknown>, { btf: Btf; typeId: number }>();

/** Marks codec as speaking type typeId of btf (a display codec over a map's BTF), so missingBtfField checks it; returns it. */
export function speaksBtfType<C extends Codec<unknown>>(codec: C, btf: Btf, typeId: number): C {
  typeOfCodec.set(codec, { btf, typeId });
  return codec;
}

/**
 * The first field of a map's key or value that json leaves out ("proto", "inner.port"), when
 * codec was made from the map's BTF; undefined when every field is given or the codec is not
 * BTF's (other codecs refuse missing fields themselves, or have none).
 */
export function missingBtfField(codec: Codec<unknown>, json: unknown): string | undefined {
  const t = typeOfCodec.get(codec);
  return t === undefined ? undefined : missingField(t.btf, t.typeId, json);
}

/**
 * Codecs from a map's own BTF (its btf_id). A side without BTF, or whose type has no codec,
 * stays raw; so do both when the BTF cannot be read (privileges, a freed object).
 */
export function readMapCodecs(
  kernel: Kernel,
  info: MapInfo,
  how: { byteOrder: 'btf' | 'host'; display: boolean } = { byteOrder: 'btf', display: false },
): { key?: Codec<BtfValue>; value?: Codec<BtfValue> | PerCpu<BtfValue> } {
  try {
    return codecsFromMapBtf(kernel, info, isPerCpuType(info.type), how);
  } catch (e) {
    if (e instanceof BpfError || e instanceof BtfError) return {};
    throw e;
  }
}

function codecsFromMapBtf(kernel: Kernel, info: MapInfo, isPerCpu: boolean, how: { byteOrder: 'btf' | 'host'; display: boolean }): {
  key?: Codec<BtfValue>;
  value?: Codec<BtfValue> | PerCpu<BtfValue>;
} {
  if (info.btfId === 0) return {};
  let btf: Btf;
  {
    using obj = openBtf(info.btfId, kernel);
    btf = obj.read();
  }
  const make = (id: number, size: number): Codec<BtfValue> | undefined => {
    if (id === 0) return undefined;
    try {
      const c = how.display ? displayCodec(btf, id, { byteOrder: how.byteOrder }) : codecFromBtf(btf, id, { byteOrder: how.byteOrder });
      if (c.size !== size) return undefined;
      typeOfCodec.set(c, { btf, typeId: id });
      return c;
    } catch (e) {
      if (e instanceof BtfError) return undefined;
      throw e;
    }
  };
  const value = make(info.btfValueTypeId, info.valueSize);
  // An array's key is its index even where BTF leaves it out (libbpf's .bss, .data and .rodata maps).
  const index = value && info.btfKeyTypeId === 0 && info.keySize === 4 && impliedKeySize(info.type) === 4;
  const key = index ? (u32 as Codec<BtfValue>) : make(info.btfKeyTypeId, info.keySize);
  const out: { key?: Codec<BtfValue>; value?: Codec<BtfValue> | PerCpu<BtfValue> } = {};
  if (key) out.key = key;
  if (value) out.value = isPerCpu ? perCpu(value) : value;
  return out;
}

// The options of BpfMap's constructors and verbs, apart from the class so that its file holds
// only the map itself.
import type { Codec } from '../codec/codec.js';
import type { PerCpuValue } from '../codec/percpu.js';
import type { Kernel } from '../kernel/kernel.js';
import type { MapBtf } from './btf.js';
import type { BpfMap } from './map.js';
import type { MapFlagName, MapTypeName } from './types.js';

/** A value codec: plain, or per-CPU (the map's value is then one element per possible CPU). */
export type ValueCodec<V> = Codec<V> | PerCpuValue<V>;

/** Options of the BpfMap constructors that open an existing map (fromId, fromName, openPinned). */
export interface OpenOptions<K, V> {
  /** Key codec; raw bytes of the map's key size by default. */
  key?: Codec<K>;
  /** Value codec; raw bytes by default (an array of per-CPU Buffers on per-CPU maps). */
  value?: ValueCodec<V>;
  /** The kernel to use; openKernel() by default. */
  kernel?: Kernel;
  /**
   * Raw bytes even when the map carries BTF. Without codecs, a map with BTF decodes its keys and
   * values through it (objects, numbers, strings: see codecFromBtf).
   */
  raw?: boolean;
  /**
   * How BTF-typed integers decode: 'btf' (default) reads __be16/__be32/__be64/__sum16 members in
   * network order; 'host' gives every integer as the host-order number a BPF program sees.
   */
  byteOrder?: 'btf' | 'host';
  /**
   * Decode BTF-typed keys and values for people (see displayCodec): addresses as text, ports as
   * numbers in network order, as `bpfmap dump` shows them. Both forms encode.
   */
  display?: boolean;
}

/** Options of BpfMap.openPinned: the fd can be opened read-only or write-only. */
export interface OpenPinnedOptions<K, V> extends OpenOptions<K, V> {
  readOnly?: boolean;
  writeOnly?: boolean;
}

/** Options of BpfMap.create: the map's attributes, its codecs and its BTF. */
export interface CreateOptions<K, V> extends OpenOptions<K, V> {
  type: MapTypeName | number;
  /** Defaults to the key codec's size. */
  keySize?: number;
  /** Defaults to the value codec's (per-CPU: element's) size. */
  valueSize?: number;
  maxEntries: number;
  flags?: number | readonly MapFlagName[];
  /** At most 15 characters of [A-Za-z0-9_.] (as the kernel takes them); anything else is a TypeError before any syscall. */
  name?: string;
  /** For hash_of_maps/array_of_maps: a map of the shape every inner map will have. */
  innerMap?: BpfMap<unknown, unknown>;
  numaNode?: number;
  /** map_extra (bloom filter: number of hash functions). */
  mapExtra?: bigint;
  btfFd?: number;
  btfKeyTypeId?: number;
  btfValueTypeId?: number;
  /**
   * C types of keys and values, loaded as BTF for the map (so bpftool and BPF programs see
   * them). BTF types decode keys and values unless codecs are given; a codec given here is also
   * the map's codec. true: describe the key and value codecs.
   */
  btf?: MapBtf | true;
}

/** How set and updateBatch treat keys that exist or not (BPF_ANY, BPF_NOEXIST, BPF_EXIST). */
export type UpdateFlag = 'any' | 'noexist' | 'exist';

/** Options of BpfMap.set. */
export interface SetOptions {
  /** any (default): create or replace; noexist: only create; exist: only replace. */
  flags?: UpdateFlag;
  /** BPF_F_LOCK: update under the value's bpf_spin_lock. */
  lock?: boolean;
}

/** Options of BpfMap.get. */
export interface GetOptions {
  /** BPF_F_LOCK: read under the value's bpf_spin_lock. */
  lock?: boolean;
}

import type { BtfValue } from '../btf/codec.js';
import { bytes } from '../codec/bytes.js';
import { type Codec, CodecError } from '../codec/codec.js';
import { cannotAdd, isPerCpu, perCpu, perCpuLayout, sumPerCpu, type PerCpuValue } from '../codec/percpu.js';
import { BpfError, type MapRef } from '../kernel/error.js';
import type { Kernel, MapInfo } from '../kernel/kernel.js';
import { openKernel } from '../kernel/open.js';
import { isPerCpuType } from '../kernel/sizes.js';
import {
  BPF_ANY,
  BPF_EXIST,
  BPF_F_LOCK,
  BPF_MAP_LOOKUP_AND_DELETE_BATCH,
  BPF_MAP_LOOKUP_BATCH,
  BPF_F_RDONLY,
  BPF_F_MMAPABLE,
  BPF_F_WRONLY,
  BPF_MAP_TYPE_ARRAY_OF_MAPS,
  BPF_MAP_TYPE_HASH_OF_MAPS,
  BPF_MAP_TYPE_ARRAY,
  BPF_MAP_TYPE_QUEUE,
  BPF_MAP_TYPE_STACK,
  BPF_NOEXIST,
} from '../sys/constants.js';
import { errno } from '../sys/errno.js';
import {
  decodeBatch,
  deleteBatch,
  lookupBatchRaw,
  updateBatch,
  type DeleteBatchInput,
  type LookupBatchOptions,
  type LookupBatchResult,
  type RawLookupBatch,
  type UpdateBatchInput,
  type WriteBatchOptions,
} from './batch.js';
import { drain, type DrainOptions } from './drain.js';
import { dump, type Dump, type DumpOptions } from './dump.js';
import {
  decodeChunks,
  decodeChunksAsync,
  decodeEntries,
  MapAsyncIterator,
  MapIterator,
  resolveMode,
  walkChunks,
  type Chunk,
  type WalkMode,
  type WalkOptions,
} from './walk.js';
import { threadsOf, type ParallelOptions } from './parallel.js';
import { impliedKeySize, readMapCodecs, mapBtfSpec, prepareMapBtf, withCodecsOf, type PreparedMapBtf } from './btf.js';
import { globalsOf, type GlobalValues } from './globals.js';
import { internal, type MapInternals } from './internal.js';
import { describeMap, eachMap, type MapDescription } from './list.js';
import { pinsByMapId } from './pins.js';
import { ArrayMemory, type MapMemory } from './memory.js';
import { MmapError } from '../sys/mmap-error.js';
import type { CreateOptions, GetOptions, OpenOptions, OpenPinnedOptions, SetOptions, UpdateFlag, ValueCodec } from './options.js';
import { mapFlagsNumber, mapNameProblem, mapTypeName, mapTypeNumber } from './types.js';

/** Options of the sync walks: a walk's, and threads (a parallel dump first). */
export type EntriesOptions = WalkOptions & ParallelOptions;

/** One CPU's value of a per-CPU map whose values are V (arrays, one element per CPU). */
export type CpuValue<V> = V extends ReadonlyArray<infer E> ? E : never;

/** A value of a map opened without codecs: one Buffer, or one Buffer per possible CPU on per-CPU maps. */
export type RawValue = Buffer | Buffer[];

/**
 * What an opened map speaks when no codecs are given: BTF-decoded values where the map has BTF,
 * raw bytes otherwise. Pass codecs (or `raw: true`) for a precise type.
 */
export type OpenedKey = Buffer | BtfValue;
/** The value of a map opened without codecs: decoded through its BTF, else raw bytes. */
export type OpenedValue = RawValue | BtfValue;

export type { MapDescription } from './list.js';

/** What info() says: the description, with the memory the kernel charges and the frozen state. */
export interface MapDetails extends MapDescription {
  /** Bytes the kernel charges for the map (fdinfo memlock; an estimate where that cannot be read). */
  memlock: number;
  /** Frozen (BPF_MAP_FREEZE): read-only to userspace for good. */
  frozen: boolean;
}

/** Thrown when a closed map is used. */
export class MapClosedError extends Error {
  override readonly name = 'MapClosedError';
  readonly code = 'ERR_BPFMAP_CLOSED';
}

interface FdHandle {
  kernel: Kernel;
  fd: number;
}

// A map dropped without close() still gives its fd back when it is garbage collected.
const leaked = new FinalizationRegistry<FdHandle>((h) => {
  try {
    h.kernel.close(h.fd);
  } catch {
    // The process may be exiting; nothing useful to report from a finalizer.
  }
});

const UPDATE_FLAGS: Record<UpdateFlag, number> = { any: BPF_ANY, noexist: BPF_NOEXIST, exist: BPF_EXIST };

function updateFlags(o: SetOptions | undefined): number {
  const f = o?.flags ?? 'any';
  const n = UPDATE_FLAGS[f];
  if (n === undefined) throw new TypeError(`set flags must be "any", "noexist" or "exist", got "${String(f)}"`);
  return o?.lock ? n | BPF_F_LOCK : n;
}


/**
 * One kernel map, open by fd. Keys and values go through codecs (raw bytes by default); every
 * buffer handed to the kernel is sized from the map's own info.
 */
export class BpfMap<K = Buffer, V = RawValue> implements Disposable {
  readonly kernel: Kernel;
  readonly type: number;
  readonly typeName: string;
  readonly id: number;
  readonly name: string;
  readonly keySize: number;
  readonly valueSize: number;
  readonly maxEntries: number;
  readonly flags: number;
  readonly perCpu: boolean;
  /** Possible CPUs: the number of slots of a per-CPU value (1 for other maps). */
  readonly cpus: number;
  readonly keyCodec: Codec<K>;
  /** Codec of one whole value as the syscalls see it (per-CPU: all CPUs' slots). */
  readonly valueCodec: Codec<V>;
  /** Bytes of one value as the syscalls see it. */
  readonly valueBytes: number;
  /** Per-CPU maps: the codec of one CPU's value (each CPU's slot is round_up(valueSize, 8) bytes). */
  readonly cpuCodec: Codec<unknown> | undefined;
  /** @internal What the files beside the class call (map/internal.ts). */
  readonly [internal]: MapInternals<K, V>;
  private fdValue: number;
  private readonly handle: FdHandle;
  private readonly keyBuf: Buffer;
  private readonly nextBuf: Buffer;
  private readonly valueBuf: Buffer;
  private readonly path: string | undefined;
  /** An array created with BPF_F_MMAPABLE: its memory can be mapped (memory()). */
  readonly mmapable: boolean;
  /** The mapping memory() made, read by get/set/has/entries/dump; undefined until first used. */
  private mapping: ArrayMemory<V> | undefined;
  /** mmap was refused (a write-only fd): element calls and batches instead. */
  private mappingRefused = false;
  private readonly readOnlyFd: boolean;

  private constructor(kernel: Kernel, fd: number, info: MapInfo, opts: OpenOptions<K, V>, path?: string, readOnlyFd = false) {
    this.kernel = kernel;
    this.fdValue = fd;
    this.type = info.type;
    this.typeName = mapTypeName(info.type);
    this.id = info.id;
    this.name = info.name;
    this.keySize = info.keySize;
    this.valueSize = info.valueSize;
    this.maxEntries = info.maxEntries;
    this.flags = info.flags;
    this.perCpu = isPerCpuType(info.type);
    this.cpus = this.perCpu ? kernel.possibleCpus() : 1;
    this.path = path;
    this.mmapable = info.type === BPF_MAP_TYPE_ARRAY && (info.flags & BPF_F_MMAPABLE) !== 0;
    this.readOnlyFd = readOnlyFd;
    this.handle = { kernel, fd };
    leaked.register(this, this.handle, this.handle);
    try {
      this.keyCodec = (opts.key ?? bytes(info.keySize)) as Codec<K>;
      if (this.keyCodec.size !== info.keySize)
        throw new TypeError(`key codec ${this.keyCodec.name} is ${this.keyCodec.size} bytes, but the map's keys are ${info.keySize}`);
      this.valueCodec = this.makeValueCodec(opts.value, info);
      const v = opts.value as Codec<unknown> | PerCpuValue<unknown> | undefined;
      this.cpuCodec = !this.perCpu ? undefined : v !== undefined && isPerCpu(v) ? v.elem : bytes(info.valueSize);
    } catch (e) {
      this.close();
      throw e;
    }
    this.valueBytes = this.valueCodec.size;
    this.keyBuf = Buffer.alloc(info.keySize);
    this.nextBuf = Buffer.alloc(info.keySize);
    this.valueBuf = Buffer.alloc(this.valueBytes);
    const self = this;
    this[internal] = {
      kernel,
      id: this.id,
      cursorSize: Math.max(this.keySize, 4),
      get ref() {
        return self.ref;
      },
      assertOpen: () => void this.fd,
      label: () => this.label(),
      annotate: (e) => this.annotate(e),
      codecError: (e, side, entry) => this.codecError(e, side, entry),
      encodeKey: (key, buf) => this.encodeKey(key, buf),
      encodeValue: (value, buf) => this.encodeValue(value, buf),
      mapped: () => this.mapped(),
    };
  }

  private makeValueCodec(given: ValueCodec<V> | undefined, info: MapInfo): Codec<V> {
    const raw = given === undefined;
    const c: Codec<unknown> | PerCpuValue<unknown> = given ?? (this.perCpu ? { perCpu: true, elem: bytes(info.valueSize) } : bytes(info.valueSize));
    if (isPerCpu(c)) {
      if (!this.perCpu) throw new TypeError(`perCpu() value codec given for a ${this.typeName} map, which is not per-CPU`);
      if (c.elem.size !== info.valueSize)
        throw new TypeError(`value codec ${c.elem.name} is ${c.elem.size} bytes, but the map's values are ${info.valueSize}`);
      return perCpuLayout(c.elem, this.cpus) as Codec<V>;
    }
    if (this.perCpu && !raw)
      throw new TypeError(`${this.typeName} map: wrap the value codec with perCpu(), its values are one per CPU`);
    if (c.size !== info.valueSize)
      throw new TypeError(`value codec ${c.name} is ${c.size} bytes, but the map's values are ${info.valueSize}`);
    return c as Codec<V>;
  }

  private static wrap<K, V>(kernel: Kernel, fd: number, opts: OpenOptions<K, V>, path?: string, readOnlyFd = false): BpfMap<K, V> {
    let info: MapInfo;
    try {
      info = kernel.mapInfo(fd);
    } catch (e) {
      kernel.close(fd);
      throw e;
    }
    let o = opts;
    if (!opts.raw && info.btfId !== 0 && (opts.key === undefined || opts.value === undefined)) {
      // Reading BTF may be refused where the map is not (BTF_GET_FD_BY_ID wants CAP_SYS_ADMIN):
      // the map then opens with raw bytes, as without BTF.
      const typed = readMapCodecs(kernel, info, { byteOrder: opts.byteOrder ?? 'btf', display: opts.display === true }) as OpenOptions<K, V>;
      o = { ...opts, key: opts.key ?? typed.key, value: opts.value ?? typed.value };
    }
    return new BpfMap<K, V>(kernel, fd, info, o, path, readOnlyFd);
  }

  /** Creates a map. Key/value sizes default to the codecs' sizes. */
  static create<K = Buffer, V = RawValue>(opts: CreateOptions<K, V>): BpfMap<K, V> {
    const nameProblem = opts.name === undefined ? undefined : mapNameProblem(opts.name);
    if (nameProblem !== undefined) throw new TypeError(`create: name ${nameProblem}`);
    const kernel = opts.kernel ?? openKernel();
    const mapType = mapTypeNumber(opts.type);
    const value = opts.value as Codec<unknown> | PerCpuValue<unknown> | undefined;
    let typed: PreparedMapBtf | undefined;
    let o = opts;
    if (opts.btf) {
      const spec = mapBtfSpec(opts.btf, opts.key, value);
      o = { ...opts, ...withCodecsOf(spec, opts, isPerCpuType(mapType)) };
      typed = prepareMapBtf(kernel, spec, opts.keySize ?? o.key?.size ?? impliedKeySize(mapType));
    }
    try {
      return BpfMap.createWith(kernel, mapType, o, (o.value ?? value) as Codec<unknown> | PerCpuValue<unknown> | undefined, typed);
    } finally {
      // The map holds its own reference to the BTF.
      typed?.loaded.close();
    }
  }

  private static createWith<K, V>(kernel: Kernel, mapType: number, opts: CreateOptions<K, V>,
    value: Codec<unknown> | PerCpuValue<unknown> | undefined, typed: PreparedMapBtf | undefined): BpfMap<K, V> {
    const keySize = opts.keySize ?? opts.key?.size ?? typed?.keySize;
    const valueSize = opts.valueSize ?? (value === undefined ? undefined : isPerCpu(value) ? value.elem.size : value.size) ?? typed?.valueSize;
    if (keySize === undefined) throw new TypeError('create: keySize (or a key codec) is required');
    if (valueSize === undefined) throw new TypeError('create: valueSize (or a value codec) is required');
    if (typed && (valueSize !== typed.valueSize || (typed.keyTypeId !== 0 && keySize !== typed.keySize)))
      throw new TypeError(`create: the BTF types are ${typed.keySize}-byte keys and ${typed.valueSize}-byte values, but the map would have ${keySize} and ${valueSize}`);
    const fd = kernel.mapCreate({
      mapType,
      keySize,
      valueSize,
      maxEntries: opts.maxEntries,
      mapFlags: mapFlagsNumber(opts.flags),
      name: opts.name ?? '',
      innerMapFd: opts.innerMap?.fd ?? 0,
      numaNode: opts.numaNode ?? 0,
      mapExtra: opts.mapExtra ?? 0n,
      btfFd: typed?.loaded.fd ?? opts.btfFd ?? 0,
      btfKeyTypeId: typed?.keyTypeId ?? opts.btfKeyTypeId ?? 0,
      btfValueTypeId: typed?.valueTypeId ?? opts.btfValueTypeId ?? 0,
    });
    return BpfMap.wrap(kernel, fd, opts);
  }

  /** Opens a map pinned on a bpf filesystem. */
  static openPinned(path: string, opts: OpenPinnedOptions<Buffer, RawValue> & { raw: true }): BpfMap<Buffer, RawValue>;
  static openPinned<K = OpenedKey, V = OpenedValue>(path: string, opts?: OpenPinnedOptions<K, V>): BpfMap<K, V>;
  static openPinned<K, V>(path: string, opts: OpenPinnedOptions<K, V> = {}): BpfMap<K, V> {
    if (typeof path !== 'string' || path === '') throw new TypeError('openPinned: path must be a non-empty string');
    const kernel = opts.kernel ?? openKernel();
    const fileFlags = (opts.readOnly ? BPF_F_RDONLY : 0) | (opts.writeOnly ? BPF_F_WRONLY : 0);
    return BpfMap.wrap(kernel, kernel.objGet(path, fileFlags), opts, path, opts.readOnly === true);
  }

  /** Opens a map by its kernel id. */
  static fromId(id: number, opts: OpenOptions<Buffer, RawValue> & { raw: true }): BpfMap<Buffer, RawValue>;
  static fromId<K = OpenedKey, V = OpenedValue>(id: number, opts?: OpenOptions<K, V>): BpfMap<K, V>;
  static fromId<K, V>(id: number, opts: OpenOptions<K, V> = {}): BpfMap<K, V> {
    if (!Number.isInteger(id) || id <= 0 || id > 0xffffffff) throw new TypeError(`fromId: a map id is a positive integer, got ${String(id)}`);
    const kernel = opts.kernel ?? openKernel();
    return BpfMap.wrap(kernel, kernel.mapFdById(id), opts);
  }

  /**
   * Adopts a map fd opened elsewhere (another library, a parent process): the map gets its own
   * duplicate, so the caller still owns fd and both can close theirs.
   */
  static fromFd(fd: number, opts: OpenOptions<Buffer, RawValue> & { raw: true }): BpfMap<Buffer, RawValue>;
  static fromFd<K = OpenedKey, V = OpenedValue>(fd: number, opts?: OpenOptions<K, V>): BpfMap<K, V>;
  static fromFd<K, V>(fd: number, opts: OpenOptions<K, V> = {}): BpfMap<K, V> {
    if (!Number.isInteger(fd) || fd < 0 || fd > 0x7fffffff) throw new TypeError(`fromFd: an fd is a non-negative integer, got ${String(fd)}`);
    const kernel = opts.kernel ?? openKernel();
    return BpfMap.wrap(kernel, kernel.mapDup(fd), opts);
  }

  /** Opens the one map with this name; an error when none or several have it. */
  static fromName(name: string, opts: OpenOptions<Buffer, RawValue> & { raw: true }): BpfMap<Buffer, RawValue>;
  static fromName<K = OpenedKey, V = OpenedValue>(name: string, opts?: OpenOptions<K, V>): BpfMap<K, V>;
  static fromName<K, V>(name: string, opts: OpenOptions<K, V> = {}): BpfMap<K, V> {
    if (typeof name !== 'string' || name === '') throw new TypeError('fromName: name must be a non-empty string');
    const kernel = opts.kernel ?? openKernel();
    const matches = listMaps(kernel).filter((m) => m.name === name);
    if (matches.length === 0) throw new Error(`no map is named "${name}" (names are at most 15 bytes; see listMaps())`);
    if (matches.length > 1)
      throw new Error(`${matches.length} maps are named "${name}" (ids ${matches.map((m) => m.id).join(', ')}): open one by id`);
    return BpfMap.fromId((matches[0] as MapDescription).id, opts);
  }

  /** The map's fd; throws when closed. */
  get fd(): number {
    if (this.fdValue < 0) throw new MapClosedError(`map ${this.label()} is closed`);
    return this.fdValue;
  }

  get closed(): boolean {
    return this.fdValue < 0;
  }

  private get ref(): MapRef {
    const r: MapRef = { id: this.id };
    if (this.name) r.name = this.name;
    if (this.path) r.path = this.path;
    return r;
  }

  private label(): string {
    return `id ${this.id}${this.name ? ` "${this.name}"` : ''}`;
  }

  private annotate(e: unknown): unknown {
    return e instanceof BpfError ? e.withMap(this.ref) : e;
  }

  /** Fresh info from the kernel, with its memory charge and frozen state. */
  info(): MapDetails {
    const fd = this.fd;
    try {
      return { ...describeMap(this.kernel.mapInfo(fd)), memlock: this.kernel.mapMemory(fd), frozen: this.kernel.mapFrozen(fd) };
    } catch (e) {
      throw this.annotate(e);
    }
  }

  private encodeKey(key: K, buf: Buffer = this.keyBuf): Buffer {
    try {
      this.keyCodec.encode(key, buf, 0);
    } catch (e) {
      throw this.codecError(e, 'key');
    }
    return buf;
  }

  private encodeValue(value: V, buf: Buffer = this.valueBuf): Buffer {
    try {
      this.valueCodec.encode(value, buf, 0);
    } catch (e) {
      throw this.codecError(e, 'value');
    }
    return buf;
  }

  /** A codec's refusal, saying key or value and this map (entry: its index in a batch). */
  private codecError(e: unknown, side: 'key' | 'value', entry?: number): unknown {
    return e instanceof CodecError && e.map === undefined ? e.of(side, this.label(), entry) : e;
  }

  /** The value under key, or undefined when there is none (BPF_MAP_LOOKUP_ELEM). */
  get(key: K, opts?: GetOptions): V | undefined {
    const fd = this.fd;
    const k = this.encodeKey(key);
    const mem = opts?.lock ? undefined : this.mapped();
    if (mem !== undefined) {
      const i = k.readUInt32LE(0);
      // Past the end: the kernel's answer (ENOENT: undefined) through the syscall.
      if (i < mem.length) return this.valueCodec.decode(mem.bytes, i * mem.stride);
    }
    try {
      if (!this.kernel.lookup(fd, k, this.valueBuf, opts?.lock ? BPF_F_LOCK : 0)) return undefined;
    } catch (e) {
      throw this.annotate(e);
    }
    return this.valueCodec.decode(this.valueBuf, 0);
  }

  /** Whether the map holds key. */
  has(key: K): boolean {
    const fd = this.fd;
    const k = this.encodeKey(key);
    const mem = this.mapped();
    if (mem !== undefined && k.readUInt32LE(0) < mem.length) return true;
    try {
      return this.kernel.lookup(fd, k, this.valueBuf, 0);
    } catch (e) {
      throw this.annotate(e);
    }
  }

  /** Writes value under key (BPF_MAP_UPDATE_ELEM); flags choose create, replace or either. */
  set(key: K, value: V, opts?: SetOptions): void;
  /** Outer maps (array_of_maps, hash_of_maps): puts inner in the slot (the kernel takes its own reference). */
  set(key: K, inner: BpfMap<unknown, unknown>, opts?: SetOptions): void;
  set(key: K, value: V | BpfMap<unknown, unknown>, opts?: SetOptions): void {
    const fd = this.fd;
    const flags = updateFlags(opts);
    const k = this.encodeKey(key);
    const v = value instanceof BpfMap ? this.innerFd(value) : this.encodeValue(value);
    // 'any' or 'exist' on a writable mapping: a store. Anything else gets the kernel's answer.
    const mem = flags === BPF_ANY || flags === BPF_EXIST ? this.mapped() : undefined;
    if (mem !== undefined && mem.writable) {
      const i = k.readUInt32LE(0);
      if (i < mem.length) {
        mem.bytes.set(v.subarray(0, this.valueSize), i * mem.stride);
        return;
      }
    }
    try {
      this.kernel.update(fd, k, v, flags);
    } catch (e) {
      throw this.annotate(e);
    }
  }

  private requireOuter(op: string): void {
    if (this.type !== BPF_MAP_TYPE_ARRAY_OF_MAPS && this.type !== BPF_MAP_TYPE_HASH_OF_MAPS)
      throw new TypeError(`${op}: only array_of_maps and hash_of_maps hold maps; this map is ${this.typeName}`);
  }

  /** An outer map's slot value for inner: its fd (the kernel answers lookups with ids). */
  private innerFd(inner: BpfMap<unknown, unknown>): Buffer {
    this.requireOuter('set(key, map)');
    this.valueBuf.writeUInt32LE(inner.fd, 0);
    return this.valueBuf;
  }

  /** Outer maps: the id of the map in key's slot; undefined when the slot is empty. */
  innerMapId(key: K): number | undefined {
    this.requireOuter('innerMapId');
    const fd = this.fd;
    const k = this.encodeKey(key);
    try {
      return this.kernel.lookup(fd, k, this.valueBuf, 0) ? this.valueBuf.readUInt32LE(0) : undefined;
    } catch (e) {
      throw this.annotate(e);
    }
  }

  /**
   * Outer maps: the map in key's slot, opened by the id the kernel gives (typed by its BTF, or by
   * the codecs in opts); undefined when the slot is empty. Close it when done.
   */
  getMap(key: K, opts: OpenOptions<Buffer, RawValue> & { raw: true }): BpfMap<Buffer, RawValue> | undefined;
  getMap<IK = OpenedKey, IV = OpenedValue>(key: K, opts?: OpenOptions<IK, IV>): BpfMap<IK, IV> | undefined;
  getMap<IK, IV>(key: K, opts: OpenOptions<IK, IV> = {}): BpfMap<IK, IV> | undefined {
    this.requireOuter('getMap');
    const id = this.innerMapId(key);
    return id === undefined ? undefined : BpfMap.fromId<IK, IV>(id, { kernel: this.kernel, ...opts });
  }

  /**
   * Outer maps: every slot with the map in it, opened by id as the walk reaches it (typed as
   * getMap types it). Close each when done; a map freed during the walk ends it with ENOENT.
   */
  innerMaps(opts: OpenOptions<Buffer, RawValue> & WalkOptions & { raw: true }): MapIterator<[K, BpfMap<Buffer, RawValue>]>;
  innerMaps<IK = OpenedKey, IV = OpenedValue>(opts?: OpenOptions<IK, IV> & WalkOptions): MapIterator<[K, BpfMap<IK, IV>]>;
  innerMaps<IK, IV>(opts: OpenOptions<IK, IV> & WalkOptions = {}): MapIterator<[K, BpfMap<IK, IV>]> {
    this.requireOuter('innerMaps');
    const mode = resolveMode(this, opts);
    const open: OpenOptions<IK, IV> = { kernel: this.kernel, ...opts };
    return new MapIterator(mode, decodeChunks(this, walkChunks(this, mode, opts), (r, i): [K, BpfMap<IK, IV>] => [r.key(i), BpfMap.fromId<IK, IV>(r.valueU32(i), open)]));
  }

  /**
   * Global data (a program's .bss, .data or .rodata; the value is a BTF DATASEC): its variables
   * as properties, read and written one at a time (through the mapped memory where the map is
   * mmapable). .rodata is frozen: its properties only read.
   */
  globals<T extends object = GlobalValues>(): T {
    return globalsOf<T>(this as BpfMap<unknown, unknown>);
  }

  /** Removes key; false when it was not there. */
  delete(key: K): boolean {
    const fd = this.fd;
    const k = this.encodeKey(key);
    try {
      return this.kernel.delete(fd, k);
    } catch (e) {
      throw this.annotate(e);
    }
  }

  /** Reads and removes key in one syscall; undefined when it was not there. */
  getAndDelete(key: K): V | undefined {
    const fd = this.fd;
    const k = this.encodeKey(key);
    try {
      if (!this.kernel.lookupAndDelete(fd, k, this.valueBuf, 0)) return undefined;
    } catch (e) {
      throw this.annotate(e);
    }
    return this.valueCodec.decode(this.valueBuf, 0);
  }

  /**
   * The key after key in the kernel's order (the first key when key is undefined); undefined at
   * the end. A key no longer in the map restarts the hash walk from the first bucket.
   */
  nextKey(key?: K): K | undefined {
    const fd = this.fd;
    const k = key === undefined ? null : this.encodeKey(key);
    try {
      if (!this.kernel.nextKey(fd, k, this.nextBuf)) return undefined;
    } catch (e) {
      throw this.annotate(e);
    }
    return this.keyCodec.decode(this.nextBuf, 0);
  }

  private requireQueue(op: string): void {
    if (this.type !== BPF_MAP_TYPE_QUEUE && this.type !== BPF_MAP_TYPE_STACK)
      throw new TypeError(`${op}() is for queue and stack maps; this map is ${this.typeName}`);
  }

  /** Queue/stack: adds value; when full, overwrite: true drops the oldest instead of failing. */
  push(value: V, opts?: { overwrite?: boolean }): void {
    this.requireQueue('push');
    const fd = this.fd;
    const v = this.encodeValue(value);
    try {
      this.kernel.update(fd, null, v, opts?.overwrite ? BPF_EXIST : BPF_ANY);
    } catch (e) {
      throw this.annotate(e);
    }
  }

  /** Queue/stack: removes and returns the next value; undefined when empty. */
  pop(): V | undefined {
    this.requireQueue('pop');
    const fd = this.fd;
    try {
      if (!this.kernel.lookupAndDelete(fd, null, this.valueBuf, 0)) return undefined;
    } catch (e) {
      throw this.annotate(e);
    }
    return this.valueCodec.decode(this.valueBuf, 0);
  }

  /** Queue/stack: the next value without removing it; undefined when empty. */
  peek(): V | undefined {
    this.requireQueue('peek');
    const fd = this.fd;
    try {
      if (!this.kernel.lookup(fd, null, this.valueBuf, 0)) return undefined;
    } catch (e) {
      throw this.annotate(e);
    }
    return this.valueCodec.decode(this.valueBuf, 0);
  }

  /** One BPF_MAP_LOOKUP_BATCH call, decoded. `done` (the kernel's ENOENT) ends the walk. */
  lookupBatch(opts?: LookupBatchOptions): LookupBatchResult<K, V> {
    return decodeBatch(this, lookupBatchRaw(this, BPF_MAP_LOOKUP_BATCH, opts));
  }

  /** One BPF_MAP_LOOKUP_BATCH call, as packed bytes. */
  lookupBatchRaw(opts?: LookupBatchOptions): RawLookupBatch {
    return lookupBatchRaw(this, BPF_MAP_LOOKUP_BATCH, opts);
  }

  /** One BPF_MAP_LOOKUP_AND_DELETE_BATCH call, decoded: the entries returned are gone from the map. */
  lookupAndDeleteBatch(opts?: LookupBatchOptions): LookupBatchResult<K, V> {
    return decodeBatch(this, lookupBatchRaw(this, BPF_MAP_LOOKUP_AND_DELETE_BATCH, opts));
  }

  /** lookupAndDeleteBatch without decoding: the packed key and value bytes. */
  lookupAndDeleteBatchRaw(opts?: LookupBatchOptions): RawLookupBatch {
    return lookupBatchRaw(this, BPF_MAP_LOOKUP_AND_DELETE_BATCH, opts);
  }

  /** BPF_MAP_UPDATE_BATCH over any number of entries; returns how many were applied. */
  updateBatch(input: UpdateBatchInput<K, V>, opts?: WriteBatchOptions): number {
    return updateBatch(this, input, opts);
  }

  /** BPF_MAP_DELETE_BATCH over any number of keys; returns how many were deleted. */
  deleteBatch(input: DeleteBatchInput<K>, opts?: WriteBatchOptions): number {
    return deleteBatch(this, input, opts);
  }

  /**
   * Every entry, read with LOOKUP_BATCH (or the per-element walk where batch is unsupported: see
   * `mode`). With `threads`, the map is first dumped in ranges at once (see dump()).
   */
  entries(opts?: EntriesOptions): MapIterator<[K, V]> {
    const w = this.walk(opts);
    return new MapIterator(w.mode, decodeEntries(this, w.chunks, (r, i): [K, V] => [r.key(i), r.value(i)], (r, i) => r.value(i)));
  }

  /** Every key, read in batches where the kernel supports it (with `threads`, as entries()). */
  keys(opts?: EntriesOptions): MapIterator<K> {
    const w = this.walk(opts);
    return new MapIterator(w.mode, decodeChunks(this, w.chunks, (r, i) => r.key(i)));
  }

  /** Every value, read in batches where the kernel supports it (with `threads`, as entries()). */
  values(opts?: EntriesOptions): MapIterator<V> {
    const w = this.walk(opts);
    return new MapIterator(w.mode, decodeChunks(this, w.chunks, (r, i) => r.value(i)));
  }

  /** The chunks of a walk: one walk, or (threads) a parallel dump as one chunk. */
  private walk(opts: EntriesOptions | undefined): { mode: WalkMode; chunks: Iterator<Chunk> } {
    if (threadsOf(opts) > 1) {
      const d = dump(this, opts);
      return { mode: d.mode, chunks: [{ keys: d.keys, values: d.values, count: d.count }].values() };
    }
    const mode = resolveMode(this, opts);
    return { mode, chunks: walkChunks(this, mode, opts) };
  }

  /** The entries, as entries() gives them: `for (const [k, v] of map)`. */
  [Symbol.iterator](): MapIterator<[K, V]> {
    return this.entries();
  }

  /** The total over CPUs of a per-CPU value (integers, floats, and structs/arrays of them). */
  sumCpus(value: V): CpuValue<V> {
    return sumPerCpu(this.requireCpuCodec('sumCpus'), value as unknown[]) as CpuValue<V>;
  }

  /** Per-CPU maps: every entry with its value summed over CPUs, decoded straight from the batch buffers. */
  entriesSummed(opts?: EntriesOptions): MapIterator<[K, CpuValue<V>]> {
    const elem = this.requireCpuCodec('entriesSummed');
    const add = elem.add;
    if (add === undefined) throw cannotAdd('entriesSummed', elem);
    const w = this.walk(opts);
    const { cpus } = this;
    return new MapIterator(w.mode, decodeChunks(this, w.chunks, (r, i): [K, CpuValue<V>] => {
      let total = r.cpuValue(i, 0);
      for (let c = 1; c < cpus; c++) total = add(total, r.cpuValue(i, c));
      return [r.key(i), total as CpuValue<V>];
    }));
  }

  private requireCpuCodec(op: string): Codec<unknown> {
    if (this.cpuCodec === undefined) throw new TypeError(`${op}() is for per-CPU maps; this map is ${this.typeName}`);
    return this.cpuCodec;
  }

  /** Like entries(), yielding to the event loop after each batch so a large map never stalls it. */
  entriesAsync(opts?: WalkOptions): MapAsyncIterator<[K, V]> {
    const mode = resolveMode(this, opts);
    return new MapAsyncIterator(mode, decodeChunksAsync(this, walkChunks(this, mode, opts), (r, i): [K, V] => [r.key(i), r.value(i)]));
  }

  /** keys(), yielding to the event loop between batches. */
  keysAsync(opts?: WalkOptions): MapAsyncIterator<K> {
    const mode = resolveMode(this, opts);
    return new MapAsyncIterator(mode, decodeChunksAsync(this, walkChunks(this, mode, opts), (r, i) => r.key(i)));
  }

  /** values(), yielding to the event loop between batches. */
  valuesAsync(opts?: WalkOptions): MapAsyncIterator<V> {
    const mode = resolveMode(this, opts);
    return new MapAsyncIterator(mode, decodeChunksAsync(this, walkChunks(this, mode, opts), (r, i) => r.value(i)));
  }

  /** Removes and returns every entry exactly once (LOOKUP_AND_DELETE_BATCH; no per-element fallback). */
  drain(opts?: DrainOptions): Array<[K, V]> {
    return drain(this, opts);
  }

  /** The whole map in two contiguous buffers, for millions of entries without an object each. */
  dump(opts?: DumpOptions<K, V>): Dump<K, V> {
    return dump(this, opts);
  }

  /**
   * The memory of an mmapable array (created with flags: ['mmapable']), shared with the kernel and
   * BPF programs without a syscall: see MapMemory. Mapped read-write, or read-only where the map
   * is frozen or was opened read-only. While the map has it, get/set/has, entries()/keys()/values()
   * and dump() read and write it directly (mode 'memory'). Unmapped by close() and freeze().
   */
  memory(): MapMemory<V> {
    this.assertMmapable();
    const mem = this.mapped(true);
    if (mem === undefined) throw new Error(`map ${this.label()} could not be mapped`);
    return mem;
  }

  private assertMmapable(): void {
    void this.fd;
    if (!this.mmapable)
      throw new TypeError(`memory() is for arrays created with BPF_F_MMAPABLE (flags: ['mmapable']); map ${this.label()} is ${this.typeName}${this.type === BPF_MAP_TYPE_ARRAY ? ' without the flag' : ''}`);
  }

  /**
   * The mapping, made on first use: read-write, or read-only when the kernel refuses writes
   * (frozen, read-only fd). Undefined for maps that are not mmapable, and where mmap is refused
   * altogether (a write-only fd), unless mustMap (memory()), which throws the kernel's refusal.
   */
  private mapped(mustMap = false): ArrayMemory<V> | undefined {
    if (!this.mmapable) return undefined;
    const m = this.mapping;
    // The emulated kernel ends every mapping of a map when one handle unmaps: map again.
    if (m !== undefined && !m.detached) return m;
    if (this.mappingRefused && !mustMap) return undefined;
    const fd = this.fd;
    let buf: ArrayBuffer | undefined;
    let writable = !this.readOnlyFd;
    try {
      try {
        buf = this.readOnlyFd && this.path !== undefined ? this.mapReadOnly(this.path) : this.kernel.mapMmap(fd, writable);
      } catch (e) {
        if (!writable || !(e instanceof MmapError) || (e.errno !== errno.EPERM && e.errno !== errno.EACCES)) throw e;
        writable = false;
        buf = this.kernel.mapMmap(fd, false);
      }
    } catch (e) {
      this.mappingRefused = true;
      if (mustMap) throw e instanceof MmapError ? e.withMap(this.label()) : e;
      return undefined;
    }
    this.mappingRefused = false;
    this.mapping = new ArrayMemory(buf, this.maxEntries, this.valueCodec, writable, this.label(), this.kernel);
    return this.mapping;
  }

  /**
   * The kernel maps no fd opened read-only (mmap(2) drops VM_SHARED for it): a pinned map opened
   * read-only is mapped read-only through a read-write fd of the same pin, closed at once (the
   * mapping holds the map). Where that fd is refused, so is the mapping.
   */
  private mapReadOnly(path: string): ArrayBuffer {
    const rw = this.kernel.objGet(path, 0);
    try {
      return this.kernel.mapMmap(rw, false);
    } finally {
      this.kernel.close(rw);
    }
  }

  private unmap(fd: number): void {
    const m = this.mapping;
    this.mapping = undefined;
    if (m === undefined || m.detached) return;
    this.kernel.mapMunmap(fd, m.buffer);
    m.release();
  }

  /** Pins the map at path on a bpf filesystem. */
  pin(path: string): void {
    if (typeof path !== 'string' || path === '') throw new TypeError('pin: path must be a non-empty string');
    try {
      this.kernel.pin(this.fd, path);
    } catch (e) {
      throw this.annotate(e);
    }
  }

  /** A second handle on the same map (its own fd, the same codecs), to close independently. */
  clone(): BpfMap<K, V> {
    const fd = this.fd;
    let dup: number;
    try {
      dup = this.kernel.mapDup(fd);
    } catch (e) {
      throw this.annotate(e);
    }
    const opts: OpenOptions<K, V> = { kernel: this.kernel, key: this.keyCodec, value: this.valueOption() };
    return BpfMap.wrap(this.kernel, dup, opts, this.path);
  }

  /** The value codec as create/open take it: per-CPU maps, the codec of one CPU's value. */
  private valueOption(): ValueCodec<V> {
    return (this.cpuCodec ? perCpu(this.cpuCodec) : this.valueCodec) as ValueCodec<V>;
  }

  /**
   * Removes this map's pin at path (by default the path it was opened from); false when nothing
   * is pinned there. A pin of another map is refused: it is not this map's to remove.
   */
  unpin(path: string | undefined = this.path): boolean {
    if (typeof path !== 'string' || path === '') throw new TypeError('unpin: give the pin path (this map was not opened from one)');
    void this.fd;
    let other: number;
    try {
      other = this.kernel.objGet(path, 0);
    } catch (e) {
      if (e instanceof BpfError && e.errno === errno.ENOENT) return false;
      throw this.annotate(e);
    }
    let id: number;
    try {
      id = this.kernel.mapInfo(other).id;
    } finally {
      this.kernel.close(other);
    }
    if (id !== this.id) throw new Error(`unpin: ${path} pins map id ${id}, not this map (${this.label()})`);
    return this.kernel.unpin(path);
  }

  /**
   * The paths this map is pinned at, sorted: found by opening every pin on the bpf filesystems
   * mounted here (or the emulator's pins), so it costs a few syscalls per pin.
   */
  pins(): string[] {
    return pinsByMapId(this.kernel).get(this.id) ?? [];
  }

  /** Makes the map read-only to userspace for good (programs may still write). */
  freeze(): void {
    const fd = this.fd;
    // The kernel refuses to freeze a map with a writable mapping (EBUSY): this one's goes first.
    if (this.mapping?.writable) this.unmap(fd);
    try {
      this.kernel.freeze(fd);
    } catch (e) {
      throw this.annotate(e);
    }
  }

  /** Releases the fd; the map lives on while pinned or used by programs. Idempotent. */
  close(): void {
    if (this.fdValue < 0) return;
    leaked.unregister(this.handle);
    const fd = this.fdValue;
    this.unmap(fd);
    this.fdValue = -1;
    this.kernel.close(fd);
  }

  /** Closes the map: `using map = BpfMap.fromId(42)`. */
  [Symbol.dispose](): void {
    this.close();
  }
}

/** Every map on the system, with its info. Maps freed while listing are skipped. */
export function listMaps(kernel: Kernel = openKernel()): MapDescription[] {
  return eachMap(kernel, (_fd, info) => info);
}

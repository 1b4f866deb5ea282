import { lstatSync } from 'node:fs';
import { resolve } from 'node:path';
import { availableParallelism, totalmem } from 'node:os';
import { doBatch } from '../emu/batch.js';
import { BtfTable, EmuBtfRefused } from '../emu/btf.js';
import { createMap, EMULATED_TYPES } from '../emu/create.js';
import { EmuErrno, EmuErrnoHint, fail } from '../emu/errno.js';
import { FdTable, isStdio, type FdEntry } from '../emu/fd-table.js';
import type { InnerMaps } from '../emu/map-in-map.js';
import { ArrayMap } from '../emu/arraymap.js';
import { hasLock, locked, plain, withLockZeroed, type EmuMap } from '../emu/map.js';
import { EMU_BPFFS } from '../emu/pin-path.js';
import { PinnedMaps } from '../emu/pinned-maps.js';
import { EMU_PAGE, EmuRingBuf, type EmuRingRecord } from '../emu/ringbuf.js';
import { defaultEmuDir, type PinStore } from '../emu/pins.js';
import type { BatchReply } from '../sys/batch.js';
import {
  BPF_BTF_GET_FD_BY_ID,
  BPF_BTF_LOAD,
  BPF_F_RDONLY,
  BPF_F_WRONLY,
  BPF_MAP_CREATE,
  BPF_MAP_DELETE_ELEM,
  BPF_MAP_FREEZE,
  BPF_MAP_GET_FD_BY_ID,
  BPF_MAP_GET_NEXT_ID,
  BPF_MAP_GET_NEXT_KEY,
  BPF_MAP_LOOKUP_AND_DELETE_ELEM,
  BPF_MAP_LOOKUP_ELEM,
  BPF_MAP_TYPE_HASH,
  BPF_MAP_TYPE_LRU_HASH,
  BPF_MAP_TYPE_LRU_PERCPU_HASH,
  BPF_MAP_TYPE_PERCPU_HASH,
  BPF_MAP_TYPE_QUEUE,
  BPF_MAP_TYPE_STACK,
  BPF_MAP_UPDATE_ELEM,
  BPF_OBJ_GET,
  BPF_OBJ_GET_INFO_BY_FD,
  BPF_OBJ_PIN,
  MAP_TYPE_NAMES,
} from '../sys/constants.js';
import { EBADFD, ENOTSUPP, errno } from '../sys/errno.js';
import { MmapError, mmapBytes } from '../sys/mmap-error.js';

import { type ElemContext, batchArgs, btfBlob, checkObjPath, createContext, elemArgs, elemOutcome, elemSequenceArgs, mapCreateArgs, need, nextKeyArgs, u32 } from './checks.js';
import { possibleCpus } from './cpus.js';
import { pathContext } from './bpffs.js';
import { BatchCommands } from './adapter.js';
import { BpfError } from './error.js';
import type { HintContext } from './hints.js';
import type { AsyncUpdater, BtfInfo, ElemCall, ElemSequence, FdWatch, Kernel, LookupBatchArgs, MapCreateAttr, MapInfo, MapSizes, RingMemory, WriteBatchArgs } from './kernel.js';
import { memoryEstimate, sizesOf } from './sizes.js';

/** Options of the EmulatedKernel constructor. */
export interface EmulatedKernelOptions {
  /** Possible CPUs of the emulated machine (per-CPU values have one slot each); this machine's by default. */
  cpus?: number;
  /** Where pinned maps are stored; by default BPFMAP_EMU_DIR, else a private per-user directory (src/emu/store-dir.ts). */
  dir?: string;
  /** Why the emulator answers (Kernel.reason); openKernel() sets it. */
  reason?: string;
  /**
   * The emulator stands in for a real kernel this process cannot use (openKernel() fell back):
   * a path or id it does not know gets a hint that the real kernel may have it.
   */
  standsIn?: boolean;
  /**
   * The CPU calls run on, as for a process pinned to it (taskset): the LRU maps' per-CPU lists
   * depend on it. CPU 0 by default; `EmulatedKernel.cpu` changes it between calls.
   */
  cpu?: number;
  /**
   * The emulated machine's RAM in bytes; this machine's by default. The kernel refuses (ENOMEM) a
   * map whose up-front allocation has more pages than that.
   */
  totalRam?: number;
}

/** What the real filesystem says of a path the emulator has no pin at. */
function realPin(path: string): string {
  try {
    lstatSync(path);
    return 'something is pinned there on the real kernel';
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EACCES'
      ? 'the real kernel may have a pin there (its bpf filesystem is not readable by this user)'
      : 'nothing is pinned there on the real kernel either';
  }
}

/** Whether path is in the emulated bpffs (a directory or pin the emulator answers for itself). */
function underEmuBpffs(path: string): boolean {
  const p = resolve(path);
  return p === EMU_BPFFS || p.startsWith(`${EMU_BPFFS}/`);
}

const LOOKUP_AND_DELETE_TYPES = new Set([BPF_MAP_TYPE_HASH, BPF_MAP_TYPE_PERCPU_HASH, BPF_MAP_TYPE_LRU_HASH, BPF_MAP_TYPE_LRU_PERCPU_HASH]);
const OBJ_FLAG_MASK = BPF_F_RDONLY | BPF_F_WRONLY;
const EMULATED_NAMES = [...EMULATED_TYPES].map((t) => MAP_TYPE_NAMES[t]).join(', ');

function defaultCpus(): number {
  try {
    return possibleCpus();
  } catch {
    return availableParallelism();
  }
}

/**
 * The kernel's map commands in memory (src/emu), with the kernel's answers: same return values,
 * errnos, counts, cursors and bytes as LinuxKernel, without privileges or even Linux.
 */
export class EmulatedKernel extends BatchCommands implements Kernel {
  readonly kind = 'emulated' as const;
  readonly reason: string;
  private readonly standsIn: boolean;
  readonly cpus: number;
  readonly totalRam: number;
  private currentCpu = 0;
  private readonly onCpu = (): number => this.currentCpu;
  private readonly table = new FdTable();
  private readonly pins: PinnedMaps;
  private readonly inners: InnerMaps;
  private readonly btfs = new BtfTable(this.table);
  private readonly mapAlive = (m: EmuMap): boolean => this.table.byId(m.id) === m;
  /** Memory of mmapable arrays that some handle unmapped (mapMunmap): every handle's mapping of it ended. */
  private readonly retired = new WeakSet<ArrayBuffer>();
  /** Writable mappings (mapMmap) of each map, which make freeze() EBUSY. */
  private readonly writableMappings = new WeakMap<EmuMap, number>();
  /** The map_flags of fds this object created (as LinuxKernel keeps them, for hints). */
  private readonly createFlags = new Map<number, number>();

  constructor(opts: EmulatedKernelOptions = {}) {
    super();
    const cpus = opts.cpus ?? defaultCpus();
    if (!Number.isInteger(cpus) || cpus < 1) throw new RangeError(`cpus must be a positive integer, got ${cpus}`);
    this.cpus = cpus;
    this.reason = opts.reason ?? 'created directly (new EmulatedKernel())';
    this.standsIn = opts.standsIn ?? false;
    this.totalRam = opts.totalRam ?? totalmem();
    this.cpu = opts.cpu ?? 0;
    this.inners = {
      resolve: (fd) => this.table.get(fd).map,
      hold: (m) => this.table.hold(m),
      release: (m) => this.table.release(m),
    };
    this.pins = new PinnedMaps(opts.dir ?? defaultEmuDir(), {
      cpus: this.cpus, totalRam: this.totalRam, cpu: this.onCpu, inners: this.inners, table: this.table, btfs: this.btfs,
    });
  }

  /** Where pinned maps are stored (shared with other processes through BPFMAP_EMU_DIR). */
  get store(): PinStore {
    return this.pins.store;
  }

  /** The CPU the next calls run on (0 to cpus-1). */
  get cpu(): number {
    return this.currentCpu;
  }

  set cpu(cpu: number) {
    if (!Number.isInteger(cpu) || cpu < 0 || cpu >= this.cpus) throw new RangeError(`cpu must be an integer from 0 to ${this.cpus - 1}, got ${cpu}`);
    this.currentCpu = cpu;
  }

  possibleCpus(): number {
    return this.cpus;
  }

  /** The fd's entry, brought up to date with its pin; EBADF as LinuxKernel.sizes() throws it. */
  private entry(fd: number, cmd: number): FdEntry {
    let e: FdEntry;
    try {
      e = this.table.get(fd);
    } catch {
      throw new BpfError(BPF_OBJ_GET_INFO_BY_FD, errno.EBADF);
    }
    this.withStore(cmd, undefined, () => this.pins.sync(e.map));
    return e;
  }

  /** Runs fn, turning what the pin store refuses (or its file system) into the command's BpfError, with a hint. */
  private withStore<T>(cmd: number, path: string | undefined, fn: () => T): T {
    try {
      return fn();
    } catch (err) {
      const e = this.pins.storeFailure(err);
      if (!(e instanceof EmuErrnoHint)) throw e;
      throw new BpfError(cmd, e.errno, { ...(path === undefined ? {} : { map: { path } }), hint: e.hint });
    }
  }

  /** The map behind fd as a hint sees it: type, flags, how the fd was opened, frozen. */
  protected hintContext(fd: number): HintContext {
    if (!this.table.has(fd)) return {};
    const { map: m, read, write } = this.table.get(fd);
    return {
      mapType: m.attr.type, mapFlags: m.attr.flags, maxEntries: m.attr.maxEntries, frozen: m.frozen,
      access: read && write ? 'read-write' : read ? 'read-only' : 'write-only',
      ...(this.createFlags.has(fd) ? { createFlags: this.createFlags.get(fd) } : {}),
    };
  }

  sizes(fd: number): MapSizes {
    return this.sizesOf(this.entry(fd, BPF_OBJ_GET_INFO_BY_FD).map);
  }

  private sizesOf(m: EmuMap): MapSizes {
    return sizesOf(this.info(m), this.cpus);
  }

  /** The estimate from the map's sizes: the emulator charges no memory of its own. */
  mapMemory(fd: number): number {
    const m = this.entry(fd, BPF_OBJ_GET_INFO_BY_FD).map;
    return memoryEstimate(this.info(m), this.sizesOf(m));
  }

  private info(m: EmuMap): MapInfo {
    const a = m.attr;
    return {
      type: a.type, id: m.id, keySize: a.keySize, valueSize: a.valueSize, maxEntries: a.maxEntries, flags: a.flags,
      name: a.name, ifindex: 0, btfVmlinuxValueTypeId: 0, netnsDev: 0n, netnsIno: 0n, btfId: a.btf?.id ?? 0,
      btfKeyTypeId: a.btf?.keyTypeId ?? 0, btfValueTypeId: a.btf?.valueTypeId ?? 0, btfVmlinuxId: 0, mapExtra: 0n,
    };
  }

  mapCreate(attr: MapCreateAttr): number {
    mapCreateArgs(attr);
    let map: EmuMap;
    try {
      map = createMap(attr, {
        cpus: this.cpus,
        totalRam: this.totalRam,
        cpu: this.onCpu,
        inners: this.inners,
        // A map fd (or stdio) is not a BTF fd (EINVAL); a closed one is EBADF.
        btf: (fd) => (this.table.has(fd) || isStdio(fd) ? fail(errno.EINVAL) : this.btfs.get(fd)),
      });
    } catch (e) {
      if (!(e instanceof EmuErrno)) throw e;
      const hint = !EMULATED_TYPES.has(attr.mapType) && e.errno === errno.EINVAL
        ? `map type ${MAP_TYPE_NAMES[attr.mapType] ?? attr.mapType} is not emulated (emulated: ${EMULATED_NAMES})`
        : undefined;
      throw new BpfError(BPF_MAP_CREATE, e.errno, { map: attr.name ? { name: attr.name } : {}, context: createContext(attr), ...(hint ? { hint } : {}) });
    }
    this.table.register(map);
    if (map.attr.btf) this.btfs.byId(map.attr.btf.id, this.mapAlive)?.maps.add(map);
    const fd = this.table.open(map, (attr.mapFlags & BPF_F_WRONLY) === 0, (attr.mapFlags & BPF_F_RDONLY) === 0);
    this.createFlags.set(fd, attr.mapFlags);
    return fd;
  }

  mapInfo(fd: number): MapInfo {
    // OBJ_GET_INFO_BY_FD answers EBADFD (not EBADF) for an fd that is not open, EINVAL for stdio.
    if (!this.table.has(fd)) throw new BpfError(BPF_OBJ_GET_INFO_BY_FD, isStdio(fd) ? errno.EINVAL : EBADFD);
    return this.info(this.entry(fd, BPF_OBJ_GET_INFO_BY_FD).map);
  }

  /** Runs op, turning the emulator's errno into the command's BpfError; ENOENT is false when expected. */
  private run(cmd: number, op: () => void, opts: ElemContext = {}): boolean {
    try {
      op();
      return true;
    } catch (err) {
      const e = this.pins.storeFailure(err);
      if (!(e instanceof EmuErrno)) throw e;
      return elemOutcome(cmd, e.errno, { ...opts, ...(e instanceof EmuErrnoHint ? { hint: e.hint } : {}) });
    }
  }

  /** A keyless map takes no key pointer (EINVAL); others get exactly key_size bytes. */
  private keyArg(m: EmuMap, key: Uint8Array | null): Uint8Array | null {
    if (m.attr.keySize === 0) {
      if (key !== null && key.length > 0) throw new EmuErrno(errno.EINVAL);
      return null;
    }
    return (key as Uint8Array).subarray(0, m.attr.keySize);
  }

  private deny(): never {
    throw new EmuErrno(errno.EPERM);
  }

  lookup(fd: number, key: Uint8Array | null, value: Uint8Array, flags: number): boolean {
    return this.lookupOn(fd, this.entry(fd, BPF_MAP_LOOKUP_ELEM), key, value, flags);
  }

  /** LOOKUP_ELEM on the fd's entry, already brought up to date with its pin. */
  private lookupOn(fd: number, e: FdEntry, key: Uint8Array | null, value: Uint8Array, flags: number): boolean {
    const m = e.map;
    elemArgs(BPF_MAP_LOOKUP_ELEM, m.attr, key, value, flags);
    return this.onFd(fd, () => this.run(BPF_MAP_LOOKUP_ELEM, () => {
      if (!e.read) this.deny();
      if (hasLock(flags) && !locked(m)) throw new EmuErrno(errno.EINVAL);
      m.lookup(this.keyArg(m, key), value);
    }, { enoentFalse: true, elemFlags: flags }));
  }

  update(fd: number, key: Uint8Array | null, value: Uint8Array, flags: number): void {
    const e = this.entry(fd, BPF_MAP_UPDATE_ELEM);
    const m = e.map;
    elemArgs(BPF_MAP_UPDATE_ELEM, m.attr, key, value, flags);
    this.onFd(fd, () => this.mutate(BPF_MAP_UPDATE_ELEM, m, () => this.run(BPF_MAP_UPDATE_ELEM, () => {
      if (!e.write || m.frozen) this.deny();
      if (hasLock(flags) && !locked(m)) throw new EmuErrno(errno.EINVAL);
      m.update(plain(this.keyArg(m, key)), plain(withLockZeroed(m, value.subarray(0, m.attr.valueBytes), 1)), flags);
    }, { elemFlags: flags })));
  }

  delete(fd: number, key: Uint8Array): boolean {
    const e = this.entry(fd, BPF_MAP_DELETE_ELEM);
    const m = e.map;
    need(key, m.attr.keySize, 'key');
    return this.onFd(fd, () => this.mutate(BPF_MAP_DELETE_ELEM, m, () => this.run(BPF_MAP_DELETE_ELEM, () => {
      if (!e.write || m.frozen) this.deny();
      m.delete(this.keyArg(m, key));
    }, { enoentFalse: true })));
  }

  nextKey(fd: number, key: Uint8Array | null, next: Uint8Array): boolean {
    return this.nextKeyOn(fd, this.entry(fd, BPF_MAP_GET_NEXT_KEY), key, next);
  }

  /** @internal GET_NEXT_KEY on the fd's entry, already brought up to date with its pin (protected: tests interpose on it). */
  protected nextKeyOn(fd: number, e: FdEntry, key: Uint8Array | null, next: Uint8Array): boolean {
    const m = e.map;
    nextKeyArgs(m.attr, key, next);
    return this.onFd(fd, () => this.run(BPF_MAP_GET_NEXT_KEY, () => {
      if (!e.read) this.deny();
      m.nextKey(key && m.attr.keySize > 0 ? key.subarray(0, m.attr.keySize) : null, next);
    }, { enoentFalse: true }));
  }

  elemSequence(fd: number, keys: Uint8Array, values: Uint8Array, calls: readonly ElemCall[], flags: number): ElemSequence {
    const { keySize, valueBytes } = this.entry(fd, BPF_MAP_LOOKUP_ELEM).map.attr;
    elemSequenceArgs({ keySize, valueBytes }, keys, values, calls, flags);
    // Each call made as its own command, on views of the buffers taken once. A run takes in what
    // another process wrote to a pinned map once, not before every call: the calls of one run are
    // made back to back, and checking the pin store is a file's open, read and close each time.
    const steps = calls.map((c) => {
      const key = keys.subarray(c.key, c.key + keySize);
      if (c.op === 'lookup') {
        const value = values.subarray(c.out, c.out + valueBytes);
        return (e: FdEntry) => this.lookupOn(fd, e, key, value, flags);
      }
      const next = keys.subarray(c.out, c.out + keySize);
      return (e: FdEntry) => this.nextKeyOn(fd, e, key, next);
    });
    return {
      run: () => {
        const e = this.entry(fd, BPF_MAP_LOOKUP_ELEM);
        for (let i = 0; i < steps.length; i++) if (!(steps[i] as (e: FdEntry) => boolean)(e)) return i;
        return steps.length;
      },
    };
  }

  lookupAndDelete(fd: number, key: Uint8Array | null, value: Uint8Array, flags: number): boolean {
    const e = this.entry(fd, BPF_MAP_LOOKUP_AND_DELETE_ELEM);
    const m = e.map;
    elemArgs(BPF_MAP_LOOKUP_AND_DELETE_ELEM, m.attr, key, value, flags);
    const queue = m.attr.type === BPF_MAP_TYPE_QUEUE || m.attr.type === BPF_MAP_TYPE_STACK;
    return this.onFd(fd, () => this.mutate(BPF_MAP_LOOKUP_AND_DELETE_ELEM, m, () => this.run(BPF_MAP_LOOKUP_AND_DELETE_ELEM, () => {
      if (!e.read || !e.write || m.frozen) this.deny();
      if (flags !== 0 && queue) throw new EmuErrno(errno.EINVAL);
      if (hasLock(flags) && !locked(m)) throw new EmuErrno(errno.EINVAL);
      const k = this.keyArg(m, key);
      if (!queue && !LOOKUP_AND_DELETE_TYPES.has(m.attr.type)) throw new EmuErrno(ENOTSUPP);
      m.lookupAndDelete(k, value, flags);
    }, { enoentFalse: true, elemFlags: flags })));
  }

  mapMmap(fd: number, writable: boolean): ArrayBuffer {
    const e = this.entry(fd, BPF_OBJ_GET_INFO_BY_FD);
    const m = e.map;
    const bytes = mmapBytes(m.attr.valueSize, m.attr.maxEntries);
    // The checks of mmap(2) on the fd, then of bpf_map_mmap and array_map_mmap, in their order.
    const refuse = (no: number): never => {
      throw new MmapError(no, fd, bytes, 0, writable);
    };
    if (!e.read || (writable && !e.write)) refuse(errno.EACCES);
    if (!(m instanceof ArrayMap)) refuse(ENOTSUPP);
    // mmap(2) takes VM_SHARED off a shared mapping of a file not open for writing; bpf_map_mmap wants it.
    if (!e.write) refuse(errno.EINVAL);
    if (writable && m.frozen) refuse(errno.EPERM);
    const memory = (m as ArrayMap).memory;
    if (memory === null) return refuse(errno.EINVAL);
    if (writable) this.writableMappings.set(m, (this.writableMappings.get(m) ?? 0) + 1);
    return memory;
  }

  mapMunmap(fd: number, memory: ArrayBuffer): void {
    const m = this.entry(fd, BPF_OBJ_GET_INFO_BY_FD).map;
    if (m instanceof ArrayMap && m.memory === memory) {
      const old = m.retireMemory();
      if (old !== null) this.retired.add(old);
      this.writableMappings.delete(m);
    }
  }

  mapMemoryLive(memory: ArrayBuffer): boolean {
    return !this.retired.has(memory);
  }

  freeze(fd: number): void {
    const e = this.entry(fd, BPF_MAP_FREEZE);
    this.onFd(fd, () => this.mutate(BPF_MAP_FREEZE, e.map, () => this.run(BPF_MAP_FREEZE, () => {
      // map_freeze refuses a map with special BTF fields (here a bpf_spin_lock) before the access check.
      if (locked(e.map)) throw new EmuErrno(ENOTSUPP);
      // A frozen map already has no write access, so freezing twice is EPERM, as in the kernel.
      if (!e.write || e.map.frozen) this.deny();
      // map_freeze: not while userspace holds a writable mapping.
      if ((this.writableMappings.get(e.map) ?? 0) > 0) throw new EmuErrno(errno.EBUSY);
      e.map.frozen = true;
    })));
  }

  /** Pins the map in the store (shared with other processes through BPFMAP_EMU_DIR). */
  pin(fd: number, path: string): void {
    checkObjPath(path);
    const m = this.entry(fd, BPF_OBJ_PIN).map;
    this.onFd(fd, () => this.run(BPF_OBJ_PIN, () => this.pins.pin(m, path), { path }));
  }

  /** Removes an emulated pin (what unlink(2) on a bpffs pin does); false when nothing was pinned there. */
  unpin(path: string): boolean {
    checkObjPath(path);
    return this.withStore(BPF_OBJ_PIN, path, () => this.pins.unpin(path));
  }

  /** The store's pins (a store that cannot be read has none to offer). */
  pinPaths(): string[] {
    try {
      return this.pins.store.pins(false).map((p) => p.path);
    } catch {
      return [];
    }
  }

  objGet(path: string, fileFlags: number): number {
    checkObjPath(path);
    if (fileFlags & ~OBJ_FLAG_MASK || (fileFlags & OBJ_FLAG_MASK) === OBJ_FLAG_MASK) throw new BpfError(BPF_OBJ_GET, errno.EINVAL, { map: { path } });
    let m: EmuMap | undefined;
    try {
      this.run(BPF_OBJ_GET, () => {
        m = this.pins.get(path, () => this.notPinned(path));
      }, { path });
    } catch (e) {
      // Off the emulated bpffs, the host's files answer, and their problem is the hint LinuxKernel gives.
      if (e instanceof BpfError && !underEmuBpffs(path)) e.refine(pathContext(e.errno, path));
      throw e;
    }
    return this.table.open(m as EmuMap, (fileFlags & BPF_F_WRONLY) === 0, (fileFlags & BPF_F_RDONLY) === 0);
  }

  /** ENOENT for a pin path, with a hint when the emulator stands in for a real kernel that may have it. */
  private notPinned(path: string): never {
    if (!this.standsIn) fail(errno.ENOENT);
    throw new EmuErrnoHint(errno.ENOENT, this.realKernelHint('nothing is pinned at that path', realPin(path)));
  }

  /** A not-found hint that says the emulator answered, why, and what the real kernel may have. */
  private realKernelHint(what: string, real: string): string {
    return `${what} on the emulated kernel, which answers because ${this.reason}; ${real}`;
  }

  /** Runs a command that may change m; a pinned map's change is made on, and stored to, the shared copy. */
  private mutate<T>(cmd: number, m: EmuMap, op: () => T): T {
    if (!this.pins.isPinned(m)) return op();
    return this.withStore(cmd, undefined, () => this.pins.mutatePinned(m, op));
  }

  nextMapId(startId: number): number | null {
    u32(startId, 'map id');
    if (startId === 0) this.withStore(BPF_MAP_GET_NEXT_ID, undefined, () => this.pins.loadPinned());
    return this.table.nextId(startId);
  }

  mapDup(fd: number): number {
    let e: FdEntry;
    try {
      e = this.table.get(fd);
    } catch (err) {
      // As the real kernel's dup: EBADF for a closed fd, EINVAL for an open one that is no map.
      const n = err instanceof EmuErrno ? err.errno : errno.EBADF;
      throw new BpfError(BPF_OBJ_GET_INFO_BY_FD, n, { hint: n === errno.EBADF ? `fd ${fd} is not open in this process` : `fd ${fd} is not a BPF map` });
    }
    return this.table.open(e.map, e.read, e.write);
  }

  mapFrozen(fd: number): boolean {
    return this.entry(fd, BPF_OBJ_GET_INFO_BY_FD).map.frozen;
  }

  mapFdById(id: number): number {
    u32(id, 'map id');
    // A map pinned by another process has an id here once the store's pins are loaded, as a walk of the ids does.
    let m = this.table.byId(id);
    if (!m) {
      this.withStore(BPF_MAP_GET_FD_BY_ID, undefined, () => this.pins.loadPinned());
      m = this.table.byId(id);
    }
    if (!m) {
      const hint = this.standsIn ? this.realKernelHint('no map has that id', 'its ids are not the real kernel\'s') : undefined;
      throw new BpfError(BPF_MAP_GET_FD_BY_ID, errno.ENOENT, { map: { id }, ...(hint ? { hint } : {}) });
    }
    return this.table.open(m, true, true);
  }

  /** Updates made at once: the emulator has no grace period to wait for, and its fds are not the process's. */
  asyncUpdater(): AsyncUpdater {
    return {
      update: async (fd, key, value, flags) => this.update(fd, key, value, flags),
      close: async () => undefined,
    };
  }

  protected batch(cmd: number, fd: number, args: LookupBatchArgs | WriteBatchArgs, lookup: LookupBatchArgs | null): BatchReply {
    const e = this.entry(fd, cmd);
    batchArgs(cmd, this.sizesOf(e.map), args, lookup);
    return doBatch(cmd, e, args, lookup, (op) => this.mutate(cmd, e.map, op));
  }

  btfLoad(blob: Uint8Array): number {
    btfBlob(blob);
    try {
      return this.btfs.load(blob);
    } catch (e) {
      if (!(e instanceof EmuErrno)) throw e;
      throw new BpfError(BPF_BTF_LOAD, e.errno, e instanceof EmuBtfRefused ? { hint: `the emulated kernel's BTF check says: ${e.reason}` } : {});
    }
  }

  btfFdById(id: number): number {
    u32(id, 'btf id');
    const obj = this.btfs.byId(id, this.mapAlive);
    if (!obj) throw new BpfError(BPF_BTF_GET_FD_BY_ID, errno.ENOENT, { hint: `no BTF object has id ${id} (it may have been freed)` });
    return this.btfs.open(obj);
  }

  nextBtfId(startId: number): number | null {
    u32(startId, 'btf id');
    return this.btfs.nextId(startId, this.mapAlive);
  }

  private btfObject(fd: number) {
    if (!this.btfs.has(fd)) throw new BpfError(BPF_OBJ_GET_INFO_BY_FD, errno.EBADF, { hint: 'not a BTF fd opened by this kernel object' });
    return this.btfs.get(fd);
  }

  btfInfo(fd: number): BtfInfo {
    const obj = this.btfObject(fd);
    return { id: obj.id, size: obj.blob.length, name: '', kernelBtf: false };
  }

  btfData(fd: number): Buffer {
    return Buffer.from(this.btfObject(fd).blob);
  }

  private ring(fd: number, what: string): EmuRingBuf {
    const m = this.entry(fd, BPF_OBJ_GET_INFO_BY_FD).map;
    if (!(m instanceof EmuRingBuf)) throw new TypeError(`${what}: map ${m.id} is not a ring buffer (type ${m.attr.type})`);
    return m;
  }

  ringMemory(fd: number): RingMemory {
    const m = this.ring(fd, 'ringMemory');
    return { consumer: m.consumer, producer: m.producer, pageSize: EMU_PAGE, dataSize: m.attr.maxEntries, unmap: () => {} };
  }

  ringWatch(fd: number, onReady: () => void): FdWatch {
    return this.ring(fd, 'ringWatch').watch(onReady);
  }

  /**
   * Test producer, as a BPF program's bpf_ringbuf_output: writes a record into a RINGBUF map and wakes
   * its readers as the kernel would (flags: BPF_RB_NO_WAKEUP, BPF_RB_FORCE_WAKEUP). False when the
   * record does not fit in the free space (the helper's -EAGAIN).
   */
  ringbufOutput(fd: number, data: Uint8Array, flags = 0): boolean {
    return this.ringOp(fd, 'ringbufOutput', (m) => m.output(data, flags));
  }

  /** Test producer, as bpf_ringbuf_reserve: a record to fill through .data, then submit or discard; null when it does not fit. */
  ringbufReserve(fd: number, size: number): EmuRingRecord | null {
    return this.ringOp(fd, 'ringbufReserve', (m) => m.reserve(size));
  }

  /** Test producer, as bpf_ringbuf_submit: the record becomes visible to the consumer (flags: BPF_RB_NO_WAKEUP, BPF_RB_FORCE_WAKEUP). */
  ringbufSubmit(fd: number, rec: EmuRingRecord, flags = 0): void {
    this.ringOp(fd, 'ringbufSubmit', (m) => m.commit(rec, false, flags));
  }

  /** Test producer, as bpf_ringbuf_discard: the consumer skips the record. */
  ringbufDiscard(fd: number, rec: EmuRingRecord, flags = 0): void {
    this.ringOp(fd, 'ringbufDiscard', (m) => m.commit(rec, true, flags));
  }

  /** Test consumer of a USER_RINGBUF, as a BPF program's bpf_user_ringbuf_drain: each record to fn; returns how many. */
  userRingbufDrain(fd: number, fn: (data: Uint8Array) => void, flags = 0): number {
    return this.ringOp(fd, 'userRingbufDrain', (m) => m.drainUser(fn, flags));
  }

  private ringOp<T>(fd: number, what: string, op: (m: EmuRingBuf) => T): T {
    const m = this.ring(fd, what);
    try {
      return op(m);
    } catch (e) {
      if (e instanceof EmuErrno) throw new RangeError(`${what}: the helper would fail with errno ${e.errno}`);
      throw e;
    }
  }

  close(fd: number): void {
    this.createFlags.delete(fd);
    if (!this.btfs.close(fd)) this.table.close(fd);
  }
}

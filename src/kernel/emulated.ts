import { lstatSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { availableParallelism, totalmem } from 'node:os';
import { BtfTable, EmuBtfRefused } from '../emu/btf.js';
import { genericDeleteBatch, genericLookupBatch, genericUpdateBatch, type EmuBatchResult } from '../emu/batch.js';
import { createMap, EMULATED_TYPES } from '../emu/create.js';
import { EmuErrno, EmuErrnoHint, fail } from '../emu/errno.js';
import { FdTable, isStdio, type FdEntry } from '../emu/fd-table.js';
import type { HashTab } from '../emu/hashtab.js';
import { isMapInMap, type InnerMaps } from '../emu/map-in-map.js';
import { hasLock, type EmuMap } from '../emu/map.js';
import { EMU_BPFFS, resolvePinPath, type PinPath } from '../emu/pin-path.js';
import { defaultEmuDir, PinStore, type ReadMap } from '../emu/pins.js';
import { buildStoredMap, encodeMap, fillMap, sameMap, StoredMapInvalid } from '../emu/stored-map.js';
import {
  BPF_BTF_GET_FD_BY_ID,
  BPF_BTF_LOAD,
  BPF_F_RDONLY,
  BPF_F_WRONLY,
  BPF_MAP_CREATE,
  BPF_MAP_DELETE_BATCH,
  BPF_MAP_DELETE_ELEM,
  BPF_MAP_FREEZE,
  BPF_MAP_GET_FD_BY_ID,
  BPF_MAP_GET_NEXT_ID,
  BPF_MAP_GET_NEXT_KEY,
  BPF_MAP_LOOKUP_AND_DELETE_BATCH,
  BPF_MAP_LOOKUP_AND_DELETE_ELEM,
  BPF_MAP_LOOKUP_BATCH,
  BPF_MAP_LOOKUP_ELEM,
  BPF_MAP_TYPE_HASH,
  BPF_MAP_TYPE_LRU_HASH,
  BPF_MAP_TYPE_LRU_PERCPU_HASH,
  BPF_MAP_TYPE_PERCPU_HASH,
  BPF_MAP_TYPE_QUEUE,
  BPF_MAP_TYPE_STACK,
  BPF_MAP_UPDATE_BATCH,
  BPF_MAP_UPDATE_ELEM,
  BPF_OBJ_GET,
  BPF_OBJ_GET_INFO_BY_FD,
  BPF_OBJ_PIN,
  MAP_TYPE_NAMES,
} from '../sys/constants.js';
import { EBADFD, ENOTSUPP, errno } from '../sys/errno.js';

import { checkObjPath, elemFlags, need, u32 } from './checks.js';
import { possibleCpus } from './cpus.js';
import { BpfError } from './error.js';
import type { BtfInfo, Kernel, LookupBatchArgs, LookupBatchResult, MapCreateAttr, MapInfo, MapSizes, WriteBatchArgs } from './kernel.js';
import { sizesOf } from './sizes.js';

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
 * A plain Uint8Array over the caller's bytes. The maps keep copies made with slice(), and
 * Buffer#slice() shares memory instead of copying: a Buffer handed in (BpfMap's scratch key and
 * value buffers) would otherwise stay aliased inside the map.
 */
function plain<T extends Uint8Array | null>(b: T): T {
  return (b instanceof Buffer ? new Uint8Array(b.buffer, b.byteOffset, b.length) : b) as T;
}

/** Whether the map's value holds a bpf_spin_lock (what BPF_F_LOCK needs). */
function locked(m: EmuMap): boolean {
  return m.attr.btf?.spinLock !== undefined;
}

/**
 * Values as a locked map stores them: the kernel copies values around their bpf_spin_lock,
 * which userspace never sets (it reads back as zero).
 */
function withLockZeroed(m: EmuMap, values: Uint8Array, count: number): Uint8Array {
  const off = m.attr.btf?.spinLock;
  if (off === undefined) return values;
  const copy = Uint8Array.from(values);
  for (let i = 0; i < count; i++) copy.fill(0, i * m.attr.valueBytes + off, i * m.attr.valueBytes + off + 4);
  return copy;
}

/** The errno of a failed host file system call. */
function hostErrno(e: unknown): number {
  const code = (e as NodeJS.ErrnoException).code;
  const n = code === undefined ? undefined : (errno as Record<string, number | undefined>)[code];
  if (n === undefined) throw e;
  return n;
}

/** BPF_OBJ_PIN off the emulated bpffs, as Linux answers: what the path walk finds, else EPERM (not a bpffs). */
function hostPin(path: string): never {
  try {
    lstatSync(path);
  } catch (e) {
    const n = hostErrno(e);
    if (n !== errno.ENOENT) fail(n);
    let parent;
    try {
      parent = statSync(dirname(path));
    } catch (err) {
      fail(hostErrno(err));
    }
    if (!parent.isDirectory()) fail(errno.ENOTDIR);
    throw new EmuErrnoHint(errno.EPERM, `the emulated bpf filesystem is ${EMU_BPFFS}: pin under it`);
  }
  fail(errno.EEXIST);
}

/** BPF_OBJ_GET off the emulated bpffs: what the path walk finds, and a file that is no pin is EACCES. */
function hostGet(path: string): never {
  try {
    statSync(path);
  } catch (e) {
    fail(hostErrno(e));
  }
  fail(errno.EACCES);
}

/** Where a pinned map is stored, and the stored version this process last saw. */
interface Persisted {
  oid: string;
  stamp: string | null;
}

/**
 * The kernel's map commands in memory (src/emu), with the kernel's answers: same return values,
 * errnos, counts, cursors and bytes as LinuxKernel, without privileges or even Linux.
 */
export class EmulatedKernel implements Kernel {
  readonly kind = 'emulated' as const;
  readonly reason: string;
  private readonly standsIn: boolean;
  readonly cpus: number;
  readonly totalRam: number;
  private currentCpu = 0;
  private readonly onCpu = (): number => this.currentCpu;
  readonly store: PinStore;
  private readonly table = new FdTable();
  private readonly persisted = new Map<EmuMap, Persisted>();
  private readonly inners: InnerMaps;
  private readonly btfs = new BtfTable();
  private readonly mapAlive = (m: EmuMap): boolean => this.table.byId(m.id) === m;

  constructor(opts: EmulatedKernelOptions = {}) {
    const cpus = opts.cpus ?? defaultCpus();
    if (!Number.isInteger(cpus) || cpus < 1) throw new RangeError(`cpus must be a positive integer, got ${cpus}`);
    this.cpus = cpus;
    this.reason = opts.reason ?? 'created directly (new EmulatedKernel())';
    this.standsIn = opts.standsIn ?? false;
    this.totalRam = opts.totalRam ?? totalmem();
    this.cpu = opts.cpu ?? 0;
    this.store = new PinStore(opts.dir ?? defaultEmuDir());
    this.inners = {
      resolve: (fd) => this.table.get(fd).map,
      hold: (m) => this.table.hold(m),
      release: (m) => this.table.release(m),
    };
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
    this.withStore(cmd, undefined, () => this.sync(e.map));
    return e;
  }

  /** Runs fn, turning what the pin store refuses (or its file system) into the command's BpfError, with a hint. */
  private withStore<T>(cmd: number, path: string | undefined, fn: () => T): T {
    try {
      return fn();
    } catch (err) {
      const e = this.storeFailure(err);
      if (!(e instanceof EmuErrnoHint)) throw e;
      throw new BpfError(cmd, e.errno, { ...(path === undefined ? {} : { map: { path } }), hint: e.hint });
    }
  }

  /** A file system call of the store that failed (full disk, no permission) as an errno with a hint; anything else as is. */
  private storeFailure(e: unknown): unknown {
    const sys = e as NodeJS.ErrnoException;
    const n = sys.syscall === undefined || sys.code === undefined ? undefined : (errno as Record<string, number | undefined>)[sys.code];
    if (n === undefined) return e;
    return new EmuErrnoHint(n, `the emulator's store ${this.store.dir} failed: ${sys.message}; set BPFMAP_EMU_DIR to a directory you can write`);
  }

  sizes(fd: number): MapSizes {
    return sizesOf(this.info(this.entry(fd, BPF_OBJ_GET_INFO_BY_FD).map), this.cpus);
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
    for (const k of ['mapType', 'keySize', 'valueSize', 'maxEntries', 'mapFlags'] as const) u32(attr[k], k);
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
      throw new BpfError(BPF_MAP_CREATE, e.errno, { map: attr.name ? { name: attr.name } : {}, ...(hint ? { hint } : {}) });
    }
    this.table.register(map);
    if (map.attr.btf) this.btfs.byId(map.attr.btf.id, this.mapAlive)?.maps.add(map);
    return this.table.open(map, (attr.mapFlags & BPF_F_WRONLY) === 0, (attr.mapFlags & BPF_F_RDONLY) === 0);
  }

  mapInfo(fd: number): MapInfo {
    // OBJ_GET_INFO_BY_FD answers EBADFD (not EBADF) for an fd that is not open, EINVAL for stdio.
    if (!this.table.has(fd)) throw new BpfError(BPF_OBJ_GET_INFO_BY_FD, isStdio(fd) ? errno.EINVAL : EBADFD);
    return this.info(this.entry(fd, BPF_OBJ_GET_INFO_BY_FD).map);
  }

  /** Runs op, turning the emulator's errno into the command's BpfError; ENOENT is false when expected. */
  private run(cmd: number, op: () => void, opts: { enoentFalse?: boolean; elemFlags?: number; path?: string } = {}): boolean {
    try {
      op();
      return true;
    } catch (err) {
      const e = this.storeFailure(err);
      if (!(e instanceof EmuErrno)) throw e;
      if (opts.enoentFalse && e.errno === errno.ENOENT) return false;
      throw new BpfError(cmd, e.errno, {
        ...(opts.elemFlags === undefined ? {} : { elemFlags: opts.elemFlags }),
        ...(opts.path === undefined ? {} : { map: { path: opts.path } }),
        ...(e instanceof EmuErrnoHint ? { hint: e.hint } : {}),
      });
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
    elemFlags(BPF_MAP_LOOKUP_ELEM, flags);
    const e = this.entry(fd, BPF_MAP_LOOKUP_ELEM);
    const m = e.map;
    need(key, m.attr.keySize, 'key');
    need(value, m.attr.valueBytes, 'value');
    return this.run(BPF_MAP_LOOKUP_ELEM, () => {
      if (!e.read) this.deny();
      if (hasLock(flags) && !locked(m)) throw new EmuErrno(errno.EINVAL);
      m.lookup(this.keyArg(m, key), value);
    }, { enoentFalse: true, elemFlags: flags });
  }

  update(fd: number, key: Uint8Array | null, value: Uint8Array, flags: number): void {
    elemFlags(BPF_MAP_UPDATE_ELEM, flags);
    const e = this.entry(fd, BPF_MAP_UPDATE_ELEM);
    const m = e.map;
    need(key, m.attr.keySize, 'key');
    need(value, m.attr.valueBytes, 'value');
    this.mutate(BPF_MAP_UPDATE_ELEM, m, () => this.run(BPF_MAP_UPDATE_ELEM, () => {
      if (!e.write || m.frozen) this.deny();
      if (hasLock(flags) && !locked(m)) throw new EmuErrno(errno.EINVAL);
      m.update(plain(this.keyArg(m, key)), plain(withLockZeroed(m, value.subarray(0, m.attr.valueBytes), 1)), flags);
    }, { elemFlags: flags }));
  }

  delete(fd: number, key: Uint8Array): boolean {
    const e = this.entry(fd, BPF_MAP_DELETE_ELEM);
    const m = e.map;
    need(key, m.attr.keySize, 'key');
    return this.mutate(BPF_MAP_DELETE_ELEM, m, () => this.run(BPF_MAP_DELETE_ELEM, () => {
      if (!e.write || m.frozen) this.deny();
      m.delete(this.keyArg(m, key));
    }, { enoentFalse: true }));
  }

  nextKey(fd: number, key: Uint8Array | null, next: Uint8Array): boolean {
    const e = this.entry(fd, BPF_MAP_GET_NEXT_KEY);
    const m = e.map;
    if (key) need(key, m.attr.keySize, 'key');
    need(next, m.attr.keySize, 'next key');
    return this.run(BPF_MAP_GET_NEXT_KEY, () => {
      if (!e.read) this.deny();
      m.nextKey(key && m.attr.keySize > 0 ? key.subarray(0, m.attr.keySize) : null, next);
    }, { enoentFalse: true });
  }

  lookupAndDelete(fd: number, key: Uint8Array | null, value: Uint8Array, flags: number): boolean {
    elemFlags(BPF_MAP_LOOKUP_AND_DELETE_ELEM, flags);
    const e = this.entry(fd, BPF_MAP_LOOKUP_AND_DELETE_ELEM);
    const m = e.map;
    need(key, m.attr.keySize, 'key');
    need(value, m.attr.valueBytes, 'value');
    const queue = m.attr.type === BPF_MAP_TYPE_QUEUE || m.attr.type === BPF_MAP_TYPE_STACK;
    return this.mutate(BPF_MAP_LOOKUP_AND_DELETE_ELEM, m, () => this.run(BPF_MAP_LOOKUP_AND_DELETE_ELEM, () => {
      if (!e.read || !e.write || m.frozen) this.deny();
      if (flags !== 0 && queue) throw new EmuErrno(errno.EINVAL);
      if (hasLock(flags) && !locked(m)) throw new EmuErrno(errno.EINVAL);
      const k = this.keyArg(m, key);
      if (!queue && !LOOKUP_AND_DELETE_TYPES.has(m.attr.type)) throw new EmuErrno(ENOTSUPP);
      m.lookupAndDelete(k, value, flags);
    }, { enoentFalse: true, elemFlags: flags }));
  }

  freeze(fd: number): void {
    const e = this.entry(fd, BPF_MAP_FREEZE);
    this.mutate(BPF_MAP_FREEZE, e.map, () => this.run(BPF_MAP_FREEZE, () => {
      // map_freeze refuses a map with special BTF fields (here a bpf_spin_lock) before the access check.
      if (locked(e.map)) throw new EmuErrno(ENOTSUPP);
      // A frozen map already has no write access, so freezing twice is EPERM, as in the kernel.
      if (!e.write || e.map.frozen) this.deny();
      e.map.frozen = true;
    }));
  }

  /** Resolves a pin path as the kernel's path walk does (src/emu/pin-path.ts); throws EmuErrno. */
  private resolve(path: string): PinPath {
    return resolvePinPath(path, process.cwd(), (p) => this.store.readPin(p) !== null);
  }

  /** Pins the map in the store (shared with other processes through BPFMAP_EMU_DIR). */
  pin(fd: number, path: string): void {
    checkObjPath(path);
    const m = this.entry(fd, BPF_OBJ_PIN).map;
    this.run(BPF_OBJ_PIN, () => {
      const r = this.resolve(path);
      if (r.where === 'directory' || r.end === 'dot') fail(errno.EEXIST);
      if (r.where === 'elsewhere') hostPin(r.path);
      if (this.store.readPin(r.path) !== null) fail(errno.EEXIST);
      // A trailing slash asks for a directory, and there is none to create a pin in.
      if (r.end === 'slash') fail(errno.ENOENT);
      if (isMapInMap(m.attr.type)) throw new EmuErrnoHint(errno.EOPNOTSUPP, 'the emulated kernel cannot pin a map-in-map (its inner maps are not stored)');
      this.pinAt(m, r.path);
    }, { path });
  }

  /** Links path to m's stored object, storing m first when it is not stored (or no longer is). */
  private pinAt(m: EmuMap, path: string): void {
    const p = this.persisted.get(m);
    const linked = p !== undefined && this.store.withLock(p.oid, () => {
      // Its last other pin may have gone since: then it is stored anew, below.
      if (this.store.stamp(p.oid) === null) return false;
      if (!this.store.createPin(path, p.oid)) fail(errno.EEXIST);
      return true;
    });
    if (linked) return;
    const oid = PinStore.newOid();
    const stamp = this.store.writeObject(oid, this.stored(m));
    if (!this.store.createPin(path, oid)) {
      // Pinned by another process meanwhile: no object is left behind.
      this.store.removeObject(oid);
      fail(errno.EEXIST);
    }
    // A pinned map stays alive (and listed) for as long as this kernel runs.
    if (!p) this.table.hold(m);
    this.persisted.set(m, { oid, stamp });
  }

  /** Removes an emulated pin (what unlink(2) on a bpffs pin does); false when nothing was pinned there. */
  unpin(path: string): boolean {
    checkObjPath(path);
    return this.withStore(BPF_OBJ_PIN, path, () => {
      let r: PinPath;
      try {
        r = this.resolve(path);
      } catch (e) {
        if (e instanceof EmuErrnoHint || !(e instanceof EmuErrno)) throw e;
        return false;
      }
      if (r.where !== 'bpffs' || r.end !== 'name') return false;
      const removed = this.store.removePin(r.path);
      if (removed === null) return false;
      // Its last pin gone, the map is no longer shared: it lives on here alone.
      for (const [m, p] of this.persisted) if (p.oid === removed.oid && this.store.stamp(p.oid) === null) this.unpersist(m);
      return true;
    });
  }

  objGet(path: string, fileFlags: number): number {
    checkObjPath(path);
    if (fileFlags & ~OBJ_FLAG_MASK || (fileFlags & OBJ_FLAG_MASK) === OBJ_FLAG_MASK) throw new BpfError(BPF_OBJ_GET, errno.EINVAL, { map: { path } });
    let m: EmuMap | undefined;
    this.run(BPF_OBJ_GET, () => {
      const r = this.resolve(path);
      // As on Linux: a directory is EACCES (no pin); elsewhere, what is there decides.
      if (r.where === 'directory' || r.end === 'dot') fail(errno.EACCES);
      if (r.where === 'elsewhere') hostGet(r.path);
      const oid = this.store.readPin(r.path);
      if (oid === null) this.notPinned(path);
      if (r.end === 'slash') fail(errno.ENOTDIR);
      m = this.load(oid);
      if (!m && this.store.readPin(r.path) === oid) throw this.store.invalid(oid, `${path} is pinned to it, but it is missing`);
      if (!m) this.notPinned(path);
    }, { path });
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

  /** The live map of a stored object, loading it (with a new id) when this kernel has not yet; undefined when it is not stored. */
  private load(oid: string): EmuMap | undefined {
    for (const [m, p] of this.persisted) {
      if (p.oid !== oid) continue;
      this.sync(m);
      if (this.persisted.has(m)) return m;
    }
    const read = this.store.readObject(oid, this.cpus);
    if (!read) return undefined;
    let built: ReturnType<typeof buildStoredMap>;
    try {
      built = buildStoredMap(read.data, {
        cpus: this.cpus, totalRam: this.totalRam, cpu: this.onCpu, inners: this.inners, loadBtf: (blob) => this.btfs.add(blob),
      });
    } catch (e) {
      if (e instanceof StoredMapInvalid) throw this.store.invalid(oid, e.message);
      throw e;
    }
    const { map, btf } = built;
    this.table.register(map);
    this.table.hold(map);
    btf?.maps.add(map);
    this.persisted.set(map, { oid, stamp: read.stamp });
    return map;
  }

  private stored(m: EmuMap) {
    const btf = m.attr.btf && this.btfs.blobOf(m.attr.btf.id);
    return encodeMap(m, this.cpus, btf);
  }

  /** m is no longer pinned anywhere: it stops being stored, and the pins' reference goes. */
  private unpersist(m: EmuMap): void {
    this.persisted.delete(m);
    this.table.release(m);
  }

  /** Takes in what another process wrote to a pinned map since this one last looked. */
  private sync(m: EmuMap): void {
    const p = this.persisted.get(m);
    if (!p) return;
    const stamp = this.store.stamp(p.oid);
    if (stamp === p.stamp) return;
    const read = stamp === null ? null : this.store.readObject(p.oid, this.cpus);
    if (read === null) this.unpersist(m);
    else this.refill(m, p, read);
  }

  private refill(m: EmuMap, p: Persisted, read: ReadMap): void {
    if (!sameMap(m, read.data.attr)) throw this.store.invalid(p.oid, 'its attributes changed since this process loaded it');
    try {
      fillMap(m, read.data);
    } catch (e) {
      if (e instanceof StoredMapInvalid) throw this.store.invalid(p.oid, e.message);
      throw e;
    }
    p.stamp = read.stamp;
  }

  /**
   * Runs a command that may change m; when m is pinned, under the stored map's lock, on the
   * stored version (another process may have written it since this one last looked), storing
   * the result: writes to a pinned map from any number of processes all survive.
   */
  private mutate<T>(cmd: number, m: EmuMap, op: () => T): T {
    const p = this.persisted.get(m);
    if (!p) return op();
    return this.withStore(cmd, undefined, () => this.store.withLock(p.oid, () => {
      this.sync(m);
      if (!this.persisted.has(m)) return op();
      try {
        return op();
      } finally {
        p.stamp = this.store.writeObject(p.oid, this.stored(m));
      }
    }));
  }

  /** Pinned maps of the store that this kernel has not loaded yet, so ids cover them too. */
  private loadPinned(): void {
    const known = new Set([...this.persisted.values()].map((p) => p.oid));
    for (const { oid } of this.store.pins()) {
      if (known.has(oid)) continue;
      known.add(oid);
      this.load(oid);
    }
  }

  nextMapId(startId: number): number | null {
    u32(startId, 'map id');
    if (startId === 0) this.withStore(BPF_MAP_GET_NEXT_ID, undefined, () => this.loadPinned());
    return this.table.nextId(startId);
  }

  mapFdById(id: number): number {
    u32(id, 'map id');
    const m = this.table.byId(id);
    if (!m) {
      const hint = this.standsIn ? this.realKernelHint('no map has that id', 'its ids are not the real kernel\'s') : undefined;
      throw new BpfError(BPF_MAP_GET_FD_BY_ID, errno.ENOENT, { map: { id }, ...(hint ? { hint } : {}) });
    }
    return this.table.open(m, true, true);
  }

  /** The checks both batch shapes share, as LinuxKernel makes them. */
  private batchArgs(cmd: number, m: EmuMap, args: LookupBatchArgs | WriteBatchArgs, lookup: LookupBatchArgs | null): void {
    u32(args.count, 'count');
    u32(args.elemFlags, 'elemFlags');
    u32(args.flags, 'flags');
    need(args.keys, args.count * m.attr.keySize, 'keys');
    if (cmd !== BPF_MAP_DELETE_BATCH) need(args.values, args.count * m.attr.valueBytes, 'values');
    if (lookup) {
      const cursor = Math.max(m.attr.keySize, 4);
      need(lookup.outBatch, cursor, 'out_batch cursor');
      if (lookup.inBatch) need(lookup.inBatch, cursor, 'in_batch cursor');
    }
  }

  /** bpf_map_do_batch: access checks, then the map type's batch op or ENOTSUPP. */
  private doBatch(cmd: number, fd: number, args: LookupBatchArgs | WriteBatchArgs, lookup: LookupBatchArgs | null): EmuBatchResult {
    const e = this.entry(fd, cmd);
    const m = e.map;
    this.batchArgs(cmd, m, args, lookup);
    const hasRead = cmd === BPF_MAP_LOOKUP_BATCH || cmd === BPF_MAP_LOOKUP_AND_DELETE_BATCH;
    const hasWrite = cmd !== BPF_MAP_LOOKUP_BATCH;
    if (hasRead && !e.read) return { errno: errno.EPERM, count: args.count };
    if (hasWrite && (!e.write || m.frozen)) return { errno: errno.EPERM, count: args.count };
    const ops = m.batchOps;
    const unsupported = { errno: ENOTSUPP, count: args.count };
    switch (cmd) {
      case BPF_MAP_LOOKUP_BATCH:
        if (ops.lookup === 'bucket') return (m as HashTab).bucketBatch(lookup!, false);
        if (ops.lookup === 'generic') return genericLookupBatch(m, lookup!);
        return unsupported;
      case BPF_MAP_LOOKUP_AND_DELETE_BATCH:
        if (ops.lookupAndDelete !== 'bucket') return unsupported;
        return this.mutate(cmd, m, () => (m as HashTab).bucketBatch(lookup!, true));
      case BPF_MAP_UPDATE_BATCH:
        if (!ops.update) return unsupported;
        return this.mutate(cmd, m, () => genericUpdateBatch(m, { ...args, keys: plain(args.keys), values: plain(args.values && withLockZeroed(m, args.values, args.count)) }));
      default:
        if (!ops.delete) return unsupported;
        return this.mutate(cmd, m, () => genericDeleteBatch(m, args));
    }
  }

  private lookupLike(cmd: number, fd: number, args: LookupBatchArgs): LookupBatchResult {
    const r = this.doBatch(cmd, fd, args, args);
    if (r.errno === 0) return { count: r.count, done: false };
    if (r.errno === errno.ENOENT) return { count: r.count, done: true };
    throw new BpfError(cmd, r.errno, { count: r.count, elemFlags: args.elemFlags });
  }

  lookupBatch(fd: number, args: LookupBatchArgs): LookupBatchResult {
    return this.lookupLike(BPF_MAP_LOOKUP_BATCH, fd, args);
  }

  lookupAndDeleteBatch(fd: number, args: LookupBatchArgs): LookupBatchResult {
    return this.lookupLike(BPF_MAP_LOOKUP_AND_DELETE_BATCH, fd, args);
  }

  private writeLike(cmd: number, fd: number, args: WriteBatchArgs): number {
    const r = this.doBatch(cmd, fd, args, null);
    // As LinuxKernel reads it: a count still as written means no element was touched.
    if (r.errno !== 0) throw new BpfError(cmd, r.errno, { count: r.count, applied: r.count === args.count ? 0 : r.count, elemFlags: args.elemFlags });
    return r.count;
  }

  updateBatch(fd: number, args: WriteBatchArgs): number {
    return this.writeLike(BPF_MAP_UPDATE_BATCH, fd, args);
  }

  deleteBatch(fd: number, args: WriteBatchArgs): number {
    return this.writeLike(BPF_MAP_DELETE_BATCH, fd, args);
  }

  btfLoad(blob: Uint8Array): number {
    if (!(blob instanceof Uint8Array) || blob.length === 0) throw new TypeError('btfLoad: the blob must be a non-empty Uint8Array');
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

  close(fd: number): void {
    if (!this.btfs.close(fd)) this.table.close(fd);
  }
}

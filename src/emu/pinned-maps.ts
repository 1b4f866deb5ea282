// The emulated kernel's pins: OBJ_PIN, OBJ_GET and unlink on the emulated bpffs, and the live
// maps kept in step with their stored copies in the pin store (src/emu/pins.ts), so that several
// processes (the CLI included) share a pinned map and all their writes survive.
import { lstatSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { errno } from '../sys/errno.js';
import type { BtfTable } from './btf.js';
import { EmuErrno, EmuErrnoHint, fail } from './errno.js';
import type { FdTable } from './fd-table.js';
import { isMapInMap } from './map-in-map.js';
import type { EmuMap } from './map.js';
import { EMU_BPFFS, resolvePinPath, type PinPath } from './pin-path.js';
import { PinStore, type ReadMap } from './pins.js';
import { buildStoredMap, encodeMap, fillMap, sameMap, StoredMapInvalid, type BuildContext } from './stored-map.js';

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

/** What the pins need of the emulated kernel around them. */
export interface PinnedMapsContext extends Omit<BuildContext, 'loadBtf'> {
  table: FdTable;
  btfs: BtfTable;
}

export class PinnedMaps {
  readonly store: PinStore;
  private readonly ctx: PinnedMapsContext;
  private readonly persisted = new Map<EmuMap, Persisted>();

  constructor(dir: string, ctx: PinnedMapsContext) {
    this.store = new PinStore(dir);
    this.ctx = ctx;
  }

  /** A file system call of the store that failed (full disk, no permission) as an errno with a hint; anything else as is. */
  storeFailure(e: unknown): unknown {
    const sys = e as NodeJS.ErrnoException;
    const n = sys.syscall === undefined || sys.code === undefined ? undefined : (errno as Record<string, number | undefined>)[sys.code];
    if (n === undefined) return e;
    return new EmuErrnoHint(
      n,
      `the emulator's store ${this.store.dir} failed: ${sys.message}; set BPFMAP_EMU_DIR to a directory you can write`,
    );
  }

  /** Resolves a pin path as the kernel's path walk does (src/emu/pin-path.ts); throws EmuErrno. */
  private resolve(path: string): PinPath {
    return resolvePinPath(path, process.cwd(), (p) => this.store.readPin(p) !== null);
  }

  /** BPF_OBJ_PIN of m at path; throws EmuErrno. */
  pin(m: EmuMap, path: string): void {
    const r = this.resolve(path);
    if (r.where === 'directory' || r.end === 'dot') fail(errno.EEXIST);
    if (r.where === 'elsewhere') hostPin(r.path);
    if (this.store.readPin(r.path) !== null) fail(errno.EEXIST);
    // A trailing slash asks for a directory, and there is none to create a pin in.
    if (r.end === 'slash') fail(errno.ENOENT);
    if (isMapInMap(m.attr.type))
      throw new EmuErrnoHint(errno.EOPNOTSUPP, 'the emulated kernel cannot pin a map-in-map (its inner maps are not stored)');
    this.pinAt(m, r.path);
  }

  /** Links path to m's stored object, storing m first when it is not stored (or no longer is). */
  private pinAt(m: EmuMap, path: string): void {
    const p = this.persisted.get(m);
    const linked =
      p !== undefined &&
      this.store.withLock(p.oid, () => {
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
    if (!p) this.ctx.table.hold(m);
    this.persisted.set(m, { oid, stamp });
  }

  /** Removes a pin (what unlink(2) on a bpffs pin does); false when nothing was pinned there. */
  unpin(path: string): boolean {
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
  }

  /**
   * BPF_OBJ_GET: the map pinned at path; throws EmuErrno. notPinned answers a path with no pin
   * (the kernel's ENOENT, perhaps with a hint).
   */
  get(path: string, notPinned: () => never): EmuMap {
    const r = this.resolve(path);
    // As on Linux: a directory is EACCES (no pin); elsewhere, what is there decides.
    if (r.where === 'directory' || r.end === 'dot') fail(errno.EACCES);
    if (r.where === 'elsewhere') hostGet(r.path);
    const oid = this.store.readPin(r.path);
    if (oid === null) return notPinned();
    if (r.end === 'slash') fail(errno.ENOTDIR);
    const m = this.load(oid);
    if (!m && this.store.readPin(r.path) === oid) throw this.store.invalid(oid, `${path} is pinned to it, but it is missing`);
    return m ?? notPinned();
  }

  /** The live map of a stored object, loading it (with a new id) when this kernel has not yet; undefined when it is not stored. */
  private load(oid: string): EmuMap | undefined {
    for (const [m, p] of this.persisted) {
      if (p.oid !== oid) continue;
      this.sync(m);
      if (this.persisted.has(m)) return m;
    }
    const read = this.store.readObject(oid, this.ctx.cpus);
    if (!read) return undefined;
    let built: ReturnType<typeof buildStoredMap>;
    try {
      built = buildStoredMap(read.data, { ...this.ctx, loadBtf: (blob) => this.ctx.btfs.add(blob) });
    } catch (e) {
      if (e instanceof StoredMapInvalid) throw this.store.invalid(oid, e.message);
      throw e;
    }
    const { map, btf } = built;
    this.ctx.table.register(map);
    this.ctx.table.hold(map);
    btf?.maps.add(map);
    this.persisted.set(map, { oid, stamp: read.stamp });
    return map;
  }

  private stored(m: EmuMap) {
    const btf = m.attr.btf && this.ctx.btfs.blobOf(m.attr.btf.id);
    return encodeMap(m, this.ctx.cpus, btf);
  }

  /** m is no longer pinned anywhere: it stops being stored, and the pins' reference goes. */
  private unpersist(m: EmuMap): void {
    this.persisted.delete(m);
    this.ctx.table.release(m);
  }

  /** Takes in what another process wrote to a pinned map since this one last looked. */
  sync(m: EmuMap): void {
    const p = this.persisted.get(m);
    if (!p) return;
    const stamp = this.store.stamp(p.oid);
    if (stamp === p.stamp) return;
    const read = stamp === null ? null : this.store.readObject(p.oid, this.ctx.cpus);
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

  /** Whether m is pinned (and so stored): a change to it is made under the stored map's lock. */
  isPinned(m: EmuMap): boolean {
    return this.persisted.has(m);
  }

  /**
   * Runs a command that may change m, which is pinned: under the stored map's lock, on the stored
   * version (another process may have written it since this one last looked), storing the
   * result: writes to a pinned map from any number of processes all survive.
   */
  mutatePinned<T>(m: EmuMap, op: () => T): T {
    const p = this.persisted.get(m);
    if (!p) return op();
    return this.store.withLock(p.oid, () => {
      this.sync(m);
      if (!this.persisted.has(m)) return op();
      try {
        return op();
      } finally {
        p.stamp = this.store.writeObject(p.oid, this.stored(m));
      }
    });
  }

  /** Pinned maps of the store that this kernel has not loaded yet, so ids cover them too. */
  loadPinned(): void {
    const known = new Set([...this.persisted.values()].map((p) => p.oid));
    for (const { oid } of this.store.pins()) {
      if (known.has(oid)) continue;
      known.add(oid);
      this.load(oid);
    }
  }
}

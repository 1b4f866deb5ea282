// The emulated kernel's objects: fds (each with its own read/write access, like a file's mode)
// and map ids, with the kernel's lifetime rule: a map lives while an fd, a pin or an outer map
// holds it.
import { errno } from '../sys/errno.js';
import { fail } from './errno.js';
import type { EmuMap } from './map.js';

export interface FdEntry {
  map: EmuMap;
  read: boolean;
  write: boolean;
}

/** Fds start above stdio; each new fd is the lowest free one, as the kernel allocates them. */
const FIRST_FD = 3;

/**
 * Emulated fds are numbers of their own, not the process's: the emulated process has stdin,
 * stdout and stderr open (fds 0-2, no BPF objects) and nothing else but what the emulator opened.
 */
export function isStdio(fd: number): boolean {
  return fd >= 0 && fd < FIRST_FD;
}

/** Fd numbers for objects other than maps (BTF): the kernel has one fd table for all of them. */
export interface FdNumbers {
  /** The lowest free fd, taken. */
  take(): number;
  give(fd: number): void;
}

export class FdTable implements FdNumbers {
  private readonly fds = new Map<number, FdEntry>();
  /** Fds that are open on something other than a map (BTF objects). */
  private readonly others = new Set<number>();
  private readonly ids = new Map<number, EmuMap>();
  private lastId = 0;

  /** Gives map the next id (ids grow, as the kernel's cyclic allocator does until it wraps). */
  register(map: EmuMap): void {
    map.id = ++this.lastId;
    this.ids.set(map.id, map);
  }

  take(): number {
    let fd = FIRST_FD;
    while (this.fds.has(fd) || this.others.has(fd)) fd++;
    this.others.add(fd);
    return fd;
  }

  give(fd: number): void {
    this.others.delete(fd);
  }

  open(map: EmuMap, read: boolean, write: boolean): number {
    const fd = this.take();
    this.others.delete(fd);
    this.fds.set(fd, { map, read, write });
    this.hold(map);
    return fd;
  }

  /** The fd's entry; EINVAL for an open fd that is no map (stdio, BTF), EBADF for a closed one. */
  get(fd: number): FdEntry {
    const e = this.fds.get(fd);
    if (!e) fail(isStdio(fd) || this.others.has(fd) ? errno.EINVAL : errno.EBADF);
    return e;
  }

  has(fd: number): boolean {
    return this.fds.has(fd);
  }

  close(fd: number): boolean {
    const e = this.fds.get(fd);
    if (!e) return false;
    this.fds.delete(fd);
    this.release(e.map);
    return true;
  }

  hold(map: EmuMap): void {
    map.refs++;
  }

  /** Drops a reference; the last one frees the map and what it holds. */
  release(map: EmuMap): void {
    if (--map.refs > 0) return;
    this.ids.delete(map.id);
    for (const inner of map.innerMaps()) this.release(inner);
  }

  byId(id: number): EmuMap | undefined {
    return this.ids.get(id);
  }

  /** The smallest id above start, or null. */
  nextId(start: number): number | null {
    let best: number | null = null;
    for (const id of this.ids.keys()) if (id > start && (best === null || id < best)) best = id;
    return best;
  }
}

// Pinned emulated maps on disk, so separate processes (the CLI included) see the same maps.
// <dir>/pins/<sha256 of the path>.json names the map object; <dir>/maps/<oid>.json holds its
// attributes and elements (src/emu/stored-map.ts). Every file is written whole to a temporary name
// and renamed into place (a pin is linked, which also refuses an existing one), so a crash never
// leaves half a map; changes to a map are made under its lock (<dir>/maps/<oid>.lock).
import { createHash, randomBytes } from 'node:crypto';
import { errno } from '../sys/errno.js';
import { EmuErrnoHint } from './errno.js';
import { StoreDir, type FileStamp } from './store-dir.js';
import { parseStoredMap, STAMP_BYTES, STORE_FORMAT, StoredMapInvalid, type LoadedMap, type StoredMap } from './stored-map.js';

export { defaultEmuDir } from './store-dir.js';

const PINS = 'pins';
const MAPS = 'maps';

interface PinRecord {
  version: typeof STORE_FORMAT;
  path: string;
  oid: string;
}

/** A stored map as read, and the stamp of the version read. */
export interface ReadMap {
  data: LoadedMap;
  stamp: string;
}

/**
 * A stored map's version: its first bytes (format and a token new with every write), and the
 * file's size and mtime, so that a file changed by anything else is read again too.
 */
function stamp(text: string, stat: FileStamp): string {
  return `${text.slice(0, STAMP_BYTES)} ${stat.size} ${stat.mtimeNs}`;
}

function isOid(v: unknown): v is string {
  return typeof v === 'string' && /^[0-9a-f]{32}$/.test(v);
}

export class PinStore {
  private readonly fs: StoreDir;

  constructor(dir: string) {
    this.fs = new StoreDir(dir);
  }

  get dir(): string {
    return this.fs.path;
  }

  static newOid(): string {
    return randomBytes(16).toString('hex');
  }

  private pinName(path: string): string {
    return `${createHash('sha256').update(path).digest('hex')}.json`;
  }

  private objectName(oid: string): string {
    return `${oid}.json`;
  }

  objectFile(oid: string): string {
    return this.fs.file(MAPS, this.objectName(oid));
  }

  /** The error for a stored map that cannot be used. */
  invalid(oid: string, reason: string): EmuErrnoHint {
    return new EmuErrnoHint(errno.EIO, `the emulator's stored map ${this.objectFile(oid)} is unusable: ${reason}; ` +
      `remove it and unpin the paths naming it, or remove ${this.dir} to start over`);
  }

  /** The checked record in a pin file; a record that does not name this path is an error too. */
  private record(file: string, text: string, path?: string): PinRecord {
    let rec: unknown;
    try {
      rec = JSON.parse(text);
    } catch {
      rec = null;
    }
    const r = rec as Partial<PinRecord> | null;
    const why = r === null || typeof r !== 'object' ? 'not a JSON object'
      : r.version !== STORE_FORMAT ? (r.version === undefined ? 'written by an older bpfmap' : `unknown store format ${JSON.stringify(r.version)}`)
        : typeof r.path !== 'string' || !isOid(r.oid) ? 'no path and map object'
          : path !== undefined && r.path !== path ? `it is the pin of ${JSON.stringify(r.path)}` : null;
    if (why !== null) {
      throw new EmuErrnoHint(errno.EIO, `the emulator's pin file ${file}${path === undefined ? '' : ` (for ${path})`} is unusable: ${why}; ` +
        `${path === undefined ? 'remove it' : `unpin ${path}`}, or remove ${this.dir} to start over`);
    }
    return r as PinRecord;
  }

  /** The map object pinned at path (a resolved path), or null. */
  readPin(path: string): string | null {
    const name = this.pinName(path);
    const file = this.fs.read(PINS, name);
    return file === null ? null : this.record(this.fs.file(PINS, name), file.text, path).oid;
  }

  /** Pins oid at path; false when something is pinned there (EEXIST). */
  createPin(path: string, oid: string): boolean {
    return this.fs.create(PINS, this.pinName(path), JSON.stringify({ version: STORE_FORMAT, path, oid } satisfies PinRecord));
  }

  /**
   * Removes the pin at path, and the map object with its last pin; null when nothing was pinned
   * there, else the oid it named. A pin file that cannot be read is removed all the same (oid null).
   */
  removePin(path: string): { oid: string | null } | null {
    const name = this.pinName(path);
    for (;;) {
      let oid: string | null;
      try {
        oid = this.readPin(path);
      } catch (e) {
        if (!(e instanceof EmuErrnoHint) || e.errno !== errno.EIO) throw e;
        return this.fs.remove(PINS, name) ? { oid: null } : null;
      }
      if (oid === null) return null;
      const done = this.withLock(oid, () => {
        // Unpinned, or pinned again to another map, since read: look again.
        if (this.readPin(path) !== oid) return false;
        this.fs.remove(PINS, name);
        if (!this.pins(false).some((p) => p.oid === oid)) this.fs.remove(MAPS, this.objectName(oid));
        return true;
      });
      if (done) return { oid };
    }
  }

  /** Every pin; strict: a pin file that cannot be read is an error, else it is skipped. */
  pins(strict = true): PinRecord[] {
    const out: PinRecord[] = [];
    for (const n of this.fs.list(PINS)) {
      if (!n.endsWith('.json')) continue;
      try {
        const file = this.fs.read(PINS, n);
        if (file !== null) out.push(this.record(this.fs.file(PINS, n), file.text));
      } catch (e) {
        if (strict) throw e;
      }
    }
    return out;
  }

  /** The version of the stored map (changes with every write); null when it is not stored. */
  stamp(oid: string): string | null {
    const head = this.fs.head(MAPS, this.objectName(oid), STAMP_BYTES);
    return head && stamp(head.text, head.stat);
  }

  /** The stored map, checked and laid out for cpus CPUs; null when it is not stored. */
  readObject(oid: string, cpus: number): ReadMap | null {
    const file = this.fs.read(MAPS, this.objectName(oid));
    if (file === null) return null;
    try {
      return { data: parseStoredMap(file.text, cpus), stamp: stamp(file.text, file.stat) };
    } catch (e) {
      if (e instanceof StoredMapInvalid) throw this.invalid(oid, e.message);
      throw e;
    }
  }

  /** Writes the object whole; returns its new stamp. */
  writeObject(oid: string, data: StoredMap): string {
    const text = JSON.stringify(data);
    return stamp(text, this.fs.write(MAPS, this.objectName(oid), text));
  }

  removeObject(oid: string): void {
    this.fs.remove(MAPS, this.objectName(oid));
  }

  /** Runs fn holding oid's lock: what changes a stored map (or its pins) runs under it. */
  withLock<T>(oid: string, fn: () => T): T {
    return this.fs.withLock(MAPS, oid, fn);
  }
}

// Pinned emulated maps on disk, so separate processes (the CLI included) see the same maps.
// <dir>/pins/<sha256 of the path>.json names the map object; <dir>/maps/<oid>.json holds its
// attributes and elements. Every file is written whole to a temporary name and renamed into
// place (a pin is linked, which also refuses an existing one), so a crash never leaves half a map.
import { createHash, randomBytes } from 'node:crypto';
import { linkSync, mkdirSync, readdirSync, readFileSync, renameSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { errno } from '../sys/errno.js';
import { fail } from './errno.js';
import type { EmuEntry, EmuMapAttr } from './map.js';

/** The store's directory: BPFMAP_EMU_DIR, else a per-user directory under the OS temp dir (pins, like bpffs, do not outlive a reboot). */
export function defaultEmuDir(): string {
  const env = process.env.BPFMAP_EMU_DIR;
  if (env) return env;
  let user: string;
  try {
    user = String(process.getuid?.() ?? userInfo().username);
  } catch {
    user = 'user';
  }
  return join(tmpdir(), `bpfmap-emu-${user}`);
}

/** A map as stored: enough to rebuild the same observable map. */
export interface StoredMap {
  version: 1;
  attr: EmuMapAttr;
  /** The hash seed (hash family). */
  seed: number;
  frozen: boolean;
  /** Possible CPUs the per-CPU values were laid out for. */
  cpus: number;
  /** Key and value in hex, and the LRU rank where there is one. */
  entries: Array<[string, string] | [string, string, number]>;
  /** The map's BTF blob (hex), when it has one: ids are per kernel, the blob travels. */
  btf?: string;
}

interface PinRecord {
  path: string;
  oid: string;
}

function hex(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.length).toString('hex');
}

export function encodeEntries(entries: readonly EmuEntry[]): StoredMap['entries'] {
  return entries.map((e) => (e.rank === undefined ? [hex(e.key), hex(e.value)] : [hex(e.key), hex(e.value), e.rank]));
}

export function decodeEntries(entries: StoredMap['entries']): EmuEntry[] {
  return entries.map(([k, v, rank]) => {
    const e: EmuEntry = { key: new Uint8Array(Buffer.from(k, 'hex')), value: new Uint8Array(Buffer.from(v, 'hex')) };
    if (rank !== undefined) e.rank = rank;
    return e;
  });
}

export class PinStore {
  readonly dir: string;

  constructor(dir: string) {
    this.dir = dir;
  }

  private ensure(sub: string): string {
    const d = join(this.dir, sub);
    mkdirSync(d, { recursive: true, mode: 0o700 });
    return d;
  }

  private pinFile(path: string): string {
    return join(this.dir, 'pins', `${createHash('sha256').update(path).digest('hex')}.json`);
  }

  private objectFile(oid: string): string {
    if (!/^[0-9a-f]{32}$/.test(oid)) fail(errno.EINVAL);
    return join(this.dir, 'maps', `${oid}.json`);
  }

  private temp(dir: string): string {
    return join(dir, `.tmp-${process.pid}-${randomBytes(6).toString('hex')}`);
  }

  static newOid(): string {
    return randomBytes(16).toString('hex');
  }

  /** The map object pinned at path, or null. */
  readPin(path: string): string | null {
    try {
      const rec = JSON.parse(readFileSync(this.pinFile(path), 'utf8')) as PinRecord;
      return rec.path === path ? rec.oid : null;
    } catch {
      return null;
    }
  }

  /** Pins oid at path; EEXIST when something is pinned there. */
  createPin(path: string, oid: string): void {
    const dir = this.ensure('pins');
    const tmp = this.temp(dir);
    writeFileSync(tmp, JSON.stringify({ path, oid } satisfies PinRecord), { mode: 0o600 });
    try {
      linkSync(tmp, this.pinFile(path));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EEXIST') fail(errno.EEXIST);
      throw e;
    } finally {
      unlinkSync(tmp);
    }
  }

  /** Removes the pin at path; false when there was none. The object goes with its last pin. */
  removePin(path: string): boolean {
    const oid = this.readPin(path);
    if (oid === null) return false;
    unlinkSync(this.pinFile(path));
    if (!this.pins().some((p) => p.oid === oid)) {
      try {
        unlinkSync(this.objectFile(oid));
      } catch {
        // Already gone: nothing else to clean.
      }
    }
    return true;
  }

  pins(): PinRecord[] {
    let names: string[];
    try {
      names = readdirSync(join(this.dir, 'pins'));
    } catch {
      return [];
    }
    const out: PinRecord[] = [];
    for (const n of names.sort()) {
      if (!n.endsWith('.json')) continue;
      try {
        out.push(JSON.parse(readFileSync(join(this.dir, 'pins', n), 'utf8')) as PinRecord);
      } catch {
        // A pin removed while listing.
      }
    }
    return out;
  }

  /** A token that changes whenever the object file is replaced. */
  stamp(oid: string): string | null {
    try {
      const s = statSync(this.objectFile(oid), { bigint: true });
      return `${s.ino}:${s.mtimeNs}:${s.ctimeNs}:${s.size}`;
    } catch {
      return null;
    }
  }

  readObject(oid: string): StoredMap | null {
    try {
      return JSON.parse(readFileSync(this.objectFile(oid), 'utf8')) as StoredMap;
    } catch {
      return null;
    }
  }

  /** Writes the object atomically; returns its new stamp. */
  writeObject(oid: string, data: StoredMap): string | null {
    const dir = this.ensure('maps');
    const tmp = this.temp(dir);
    writeFileSync(tmp, JSON.stringify(data), { mode: 0o600 });
    renameSync(tmp, this.objectFile(oid));
    return this.stamp(oid);
  }
}

// A pinned emulated map as the store keeps it (format 2), and the checks a stored map passes
// before it becomes a map again: a store file is input like any other, and a broken one must be
// an error naming it, never a wrong map, "nothing pinned" or a crash.
import { randomBytes } from 'node:crypto';
import { BPF_MAP_TYPE_ARRAY, BPF_MAP_TYPE_LRU_HASH, BPF_MAP_TYPE_LRU_PERCPU_HASH, BPF_MAP_TYPE_PERCPU_ARRAY, BPF_MAP_TYPE_PROG_ARRAY, BPF_MAP_TYPE_QUEUE, BPF_MAP_TYPE_STACK } from '../sys/constants.js';
import { errnoName } from '../sys/errno.js';
import type { EmuBtf } from './btf.js';
import { buildMap, checkCreate, EMULATED_TYPES, perCpuType } from './create.js';
import { EmuErrno } from './errno.js';
import { HashTab } from './hashtab.js';
import { isMapInMap, type InnerMaps } from './map-in-map.js';
import type { EmuEntry, EmuMap, EmuMapAttr } from './map.js';

export const STORE_FORMAT = 2;
/** The bytes that start a stored map and change with every write (format and token). */
export const STAMP_BYTES = 64;

/** The attributes a map is stored with (BTF type ids are the blob's own, so they travel with it). */
export type StoredAttr = Omit<EmuMapAttr, 'valueBytes' | 'btf'> & { btf?: { keyTypeId: number; valueTypeId: number } };

/** A value: hex; per-CPU maps one hex slot (value_size rounded up to 8 bytes) per CPU of the writer. */
type StoredValue = string | string[];

export interface StoredMap {
  version: typeof STORE_FORMAT;
  /** Random and new with every write: readers compare it to tell whether the map changed. */
  token: string;
  attr: StoredAttr;
  /** The hash seed (hash family). */
  seed: number;
  frozen: boolean;
  /** Key (hex), value, and the LRU rank (0: least recently used) where there is one. */
  entries: Array<[string, StoredValue] | [string, StoredValue, number]>;
  /** The map's BTF blob (hex), when it has one: ids are per kernel, the blob travels. */
  btf?: string;
}

/** A stored map that passed the checks, its values laid out for the reader's CPU count. */
export interface LoadedMap {
  attr: StoredAttr;
  seed: number;
  frozen: boolean;
  entries: EmuEntry[];
  btf?: Buffer;
}

/** Why a stored map cannot be used. */
export class StoredMapInvalid extends Error {}

function bad(reason: string): never {
  throw new StoredMapInvalid(reason);
}

function hex(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.length).toString('hex');
}

function stride(valueSize: number): number {
  return (valueSize + 7) & ~7;
}

const LRU_TYPES = new Set([BPF_MAP_TYPE_LRU_HASH, BPF_MAP_TYPE_LRU_PERCPU_HASH]);

/** m as stored, with a new token. */
export function encodeMap(m: EmuMap, cpus: number, btf: Buffer | undefined): StoredMap {
  const a = m.attr;
  const slot = stride(a.valueSize);
  const perCpu = perCpuType(a.type);
  const value = (v: Uint8Array): StoredValue =>
    perCpu ? Array.from({ length: cpus }, (_, c) => hex(v.subarray(c * slot, (c + 1) * slot))) : hex(v);
  return {
    version: STORE_FORMAT,
    token: randomBytes(16).toString('hex'),
    attr: {
      type: a.type, keySize: a.keySize, valueSize: a.valueSize, maxEntries: a.maxEntries, flags: a.flags, name: a.name,
      ...(a.btf ? { btf: { keyTypeId: a.btf.keyTypeId, valueTypeId: a.btf.valueTypeId } } : {}),
    },
    seed: m instanceof HashTab ? m.seed : 0,
    frozen: m.frozen,
    entries: m.dump().map((e) => (e.rank === undefined ? [hex(e.key), value(e.value)] : [hex(e.key), value(e.value), e.rank])),
    ...(btf ? { btf: btf.toString('hex') } : {}),
  };
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function u32(v: unknown, what: string): number {
  if (!Number.isInteger(v) || (v as number) < 0 || (v as number) > 0xffffffff) bad(`${what} is not a u32: ${JSON.stringify(v)}`);
  return v as number;
}

/** Exactly bytes bytes of hex. */
function bytesOf(v: unknown, bytes: number, what: string): Uint8Array {
  if (typeof v !== 'string' || v.length !== bytes * 2 || !/^[0-9a-f]*$/.test(v)) bad(`${what} is not ${bytes} bytes of hex`);
  return new Uint8Array(Buffer.from(v, 'hex'));
}

function checkAttr(v: unknown): StoredAttr {
  if (!isRecord(v)) bad('attr is missing');
  const attr: StoredAttr = {
    type: u32(v.type, 'attr.type'), keySize: u32(v.keySize, 'attr.keySize'), valueSize: u32(v.valueSize, 'attr.valueSize'),
    maxEntries: u32(v.maxEntries, 'attr.maxEntries'), flags: u32(v.flags, 'attr.flags'),
    name: typeof v.name === 'string' ? v.name : bad('attr.name is not a string'),
  };
  if (!EMULATED_TYPES.has(attr.type) || isMapInMap(attr.type)) bad(`map type ${attr.type} cannot be pinned on the emulated kernel`);
  if (v.btf !== undefined) {
    if (!isRecord(v.btf)) bad('attr.btf is not an object');
    attr.btf = { keyTypeId: u32(v.btf.keyTypeId, 'attr.btf.keyTypeId'), valueTypeId: u32(v.btf.valueTypeId, 'attr.btf.valueTypeId') };
  }
  return attr;
}

/**
 * A value for a reader with cpus CPUs. Per-CPU: the stored slots, cut or zero-extended to cpus
 * (a slot per CPU does not depend on the CPU count, so a map pinned on one machine opens on another).
 */
function valueOf(v: unknown, attr: StoredAttr, cpus: number, what: string): Uint8Array {
  if (!perCpuType(attr.type)) return bytesOf(v, attr.valueSize, what);
  const slot = stride(attr.valueSize);
  if (!Array.isArray(v) || v.length === 0) bad(`${what} is not a list of per-CPU values`);
  const out = new Uint8Array(slot * cpus);
  v.forEach((s, c) => {
    const b = bytesOf(s, slot, `${what} (CPU ${c})`);
    if (c < cpus) out.set(b, c * slot);
  });
  return out;
}

/** Parses and checks a stored map's text; throws StoredMapInvalid with the reason. */
export function parseStoredMap(text: string, cpus: number): LoadedMap {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    bad(`not JSON (${(e as Error).message})`);
  }
  if (!isRecord(raw)) bad('not a JSON object');
  if (raw.version !== STORE_FORMAT) {
    bad(raw.version === 1 ? 'written by an older bpfmap (store format 1)' : `unknown store format ${JSON.stringify(raw.version)}`);
  }
  if (typeof raw.token !== 'string' || !/^[0-9a-f]{32}$/.test(raw.token)) bad('token is missing');
  const attr = checkAttr(raw.attr);
  const seed = u32(raw.seed, 'seed');
  if (typeof raw.frozen !== 'boolean') bad('frozen is not a boolean');
  let btf: Buffer | undefined;
  if (raw.btf !== undefined) {
    if (typeof raw.btf !== 'string' || raw.btf.length === 0 || raw.btf.length % 2 !== 0 || !/^[0-9a-f]*$/.test(raw.btf)) bad('btf is not hex');
    btf = Buffer.from(raw.btf, 'hex');
  }
  if ((attr.btf === undefined) !== (btf === undefined)) bad('attr.btf and btf go together');
  const list: unknown = raw.entries;
  if (!Array.isArray(list)) bad('entries is not a list');
  if (list.length > attr.maxEntries) bad(`${list.length} entries, more than max_entries (${attr.maxEntries})`);
  if (attr.type === BPF_MAP_TYPE_PROG_ARRAY && list.length > 0) bad('a prog_array holds no elements on the emulated kernel');
  const lru = LRU_TYPES.has(attr.type);
  const queue = attr.type === BPF_MAP_TYPE_QUEUE || attr.type === BPF_MAP_TYPE_STACK;
  const array = attr.type === BPF_MAP_TYPE_ARRAY || attr.type === BPF_MAP_TYPE_PERCPU_ARRAY;
  const keys = new Set<string>();
  const ranks = new Set<number>();
  const entries = list.map((e: unknown, i): EmuEntry => {
    const what = `entry ${i}`;
    if (!Array.isArray(e) || e.length < 2 || e.length > 3) bad(`${what} is not [key, value] or [key, value, rank]`);
    const key = bytesOf(e[0], attr.keySize, `${what}: the key`);
    if (!queue) {
      if (keys.has(e[0] as string)) bad(`${what}: key ${e[0] as string} is stored twice`);
      keys.add(e[0] as string);
    }
    if (array && Buffer.from(key).readUInt32LE(0) >= attr.maxEntries) bad(`${what}: index past max_entries`);
    const out: EmuEntry = { key, value: valueOf(e[1], attr, cpus, `${what}: the value`) };
    if (lru !== (e.length === 3)) bad(`${what}: ${lru ? 'an LRU element needs' : 'only LRU elements have'} a rank`);
    if (lru) {
      const rank = e[2];
      if (!Number.isInteger(rank) || rank < 0 || rank >= list.length || ranks.has(rank)) bad(`${what}: the rank is not a distinct index`);
      ranks.add(rank);
      out.rank = rank;
    }
    return out;
  });
  return { attr, seed, frozen: raw.frozen, entries, ...(btf ? { btf } : {}) };
}

/** What building a stored map needs from the kernel around it. */
export interface BuildContext {
  cpus: number;
  /** As in CreateContext: the stored attributes pass MAP_CREATE's checks again. */
  totalRam: number;
  cpu: () => number;
  inners: InnerMaps;
  /** Loads the map's BTF blob (throws EmuErrno when BTF_LOAD would refuse it). */
  loadBtf(blob: Uint8Array): EmuBtf;
}

function refused(what: string, e: unknown): never {
  if (e instanceof EmuErrno) bad(`${what} (${errnoName(e.errno)})`);
  throw e;
}

/**
 * The map a checked stored map describes, with its elements. Its attributes pass MAP_CREATE's
 * checks again, and its elements go in through the map's own restore; throws StoredMapInvalid.
 */
export function buildStoredMap(d: LoadedMap, ctx: BuildContext): { map: EmuMap; btf?: EmuBtf } {
  let btf: EmuBtf | undefined;
  try {
    if (d.btf) btf = ctx.loadBtf(d.btf);
  } catch (e) {
    refused('BTF_LOAD refuses its BTF', e);
  }
  const a = d.attr;
  let attr: EmuMapAttr;
  try {
    ({ attr } = checkCreate({
      mapType: a.type, keySize: a.keySize, valueSize: a.valueSize, maxEntries: a.maxEntries, mapFlags: a.flags, name: a.name,
      ...(a.btf && btf ? { btfFd: 0, btfKeyTypeId: a.btf.keyTypeId, btfValueTypeId: a.btf.valueTypeId } : {}),
    }, { cpus: ctx.cpus, totalRam: ctx.totalRam, cpu: ctx.cpu, inners: ctx.inners, ...(btf ? { btf: () => btf as EmuBtf } : {}) }));
  } catch (e) {
    refused('MAP_CREATE refuses its attributes', e);
  }
  // A per-CPU LRU's max_entries was rounded to the writer's CPU count: it stays as stored.
  attr.maxEntries = a.maxEntries;
  if (attr.name !== a.name) bad('attr.name is not a map name');
  const map = buildMap(attr, { seed: d.seed, inners: ctx.inners, cpus: ctx.cpus, cpu: ctx.cpu });
  fillMap(map, d);
  return btf ? { map, btf } : { map };
}

/** Whether a stored map is (still) the map m: the same attributes. */
export function sameMap(m: EmuMap, a: StoredAttr): boolean {
  const b = m.attr;
  return a.type === b.type && a.keySize === b.keySize && a.valueSize === b.valueSize && a.maxEntries === b.maxEntries &&
    a.flags === b.flags && a.name === b.name;
}

/** Replaces m's elements and frozen state with the stored ones; throws StoredMapInvalid. */
export function fillMap(m: EmuMap, d: LoadedMap): void {
  m.clear();
  try {
    m.restore(d.entries);
  } catch (e) {
    refused('its elements are refused', e);
  }
  m.frozen = d.frozen;
}

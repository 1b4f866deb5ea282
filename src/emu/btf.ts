// BTF objects of the emulated kernel: blobs loaded by BTF_LOAD, checked with bpfmap's own
// parser (which is pure: no kernel below it), and the checks MAP_CREATE makes of a map's BTF.
import type { Btf } from '../btf/btf.js';
import { BtfError } from '../btf/error.js';
import { parseBtf } from '../btf/parse.js';
import type { BtfType } from '../btf/types.js';
import { BPF_F_RDONLY_PROG, BPF_F_WRONLY_PROG, BPF_MAP_TYPE_ARRAY, BPF_MAP_TYPE_HASH } from '../sys/constants.js';
import { errno } from '../sys/errno.js';
import { EmuErrno, fail } from './errno.js';
import type { FdNumbers } from './fd-table.js';
import type { EmuMap } from './map.js';

/** One loaded BTF object. */
export interface EmuBtf {
  id: number;
  blob: Buffer;
  btf: Btf;
  /** Open fds on it; maps holding it keep it too (see BtfTable.alive). */
  fds: number;
  maps: Set<EmuMap>;
}

/** What a map keeps of its BTF (reported by OBJ_GET_INFO_BY_FD). */
export interface EmuMapBtf {
  id: number;
  keyTypeId: number;
  valueTypeId: number;
  /** Offset of the value's struct bpf_spin_lock, when it has one: BPF_F_LOCK needs it. */
  spinLock?: number;
}

/** Map types whose values may hold a bpf_spin_lock, of those emulated (the kernel's map_check_btf). */
const LOCK_TYPES = new Set([BPF_MAP_TYPE_HASH, BPF_MAP_TYPE_ARRAY]);

/** BTF_LOAD refused a blob: the errno the kernel returns, and why (in place of the kernel's log). */
export class EmuBtfRefused extends EmuErrno {
  readonly reason: string;
  constructor(errnum: number, reason: string) {
    super(errnum);
    this.reason = reason;
  }
}

/** Parses and checks a blob as BTF_LOAD does. */
export function parseEmuBtf(blob: Uint8Array): Btf {
  let btf: Btf;
  try {
    btf = parseBtf(Buffer.from(blob));
  } catch (e) {
    if (!(e instanceof BtfError)) throw e;
    // The kernel reports a loop with EEXIST, anything else malformed with EINVAL.
    throw new EmuBtfRefused(/contains itself|loops/.test(e.message) ? errno.EEXIST : errno.EINVAL, e.message);
  }
  for (let id = 1; id < btf.count; id++) {
    checkNames(btf, id);
    checkSpecialFields(btf, id);
  }
  return btf;
}

const IDENT = /^[A-Za-z_][A-Za-z0-9_]*$/;
const SECTION = /^[A-Za-z0-9_.?]+$/;

/** The kernel's name rules (btf_name_valid_identifier and kin), stricter than reading needs. */
function checkNames(btf: Btf, id: number): void {
  const t = btf.type(id) as BtfType;
  const refuse = (why: string): never => {
    throw new EmuBtfRefused(errno.EINVAL, `${btf.describe(id)}: ${why}`);
  };
  const ident = (n: string, what: string, optional: boolean): void => {
    if (n === '' ? !optional : !IDENT.test(n)) refuse(`invalid ${what} name "${n}"`);
  };
  switch (t.kind) {
    case 'ptr':
    case 'array':
    case 'const':
    case 'volatile':
    case 'restrict':
    case 'func_proto':
      if (t.name !== '') refuse(`a ${t.kind} has no name, got "${t.name}"`);
      if (t.kind === 'func_proto') for (const p of t.params) ident(p.name, 'parameter', true);
      break;
    case 'struct':
    case 'union':
      ident(t.name, t.kind, true);
      for (const m of t.members) ident(m.name, 'member', true);
      break;
    case 'enum':
    case 'enum64':
      ident(t.name, 'enum', true);
      for (const v of t.values) ident(v.name, 'enumerator', false);
      break;
    case 'typedef':
    case 'fwd':
    case 'func':
    case 'var':
      ident(t.name, t.kind, false);
      break;
    case 'datasec':
      if (!SECTION.test(t.name)) refuse(`invalid section name "${t.name}"`);
      break;
    case 'float':
    case 'decl_tag':
    case 'type_tag':
      if (t.name === '') refuse(`a ${t.kind} needs a name`);
      break;
  }
  if (t.kind === 'decl_tag' && t.componentIdx >= 0) {
    const target = btf.type(t.type);
    const proto = target.kind === 'func' ? btf.type(target.type) : undefined;
    const n = target.kind === 'struct' || target.kind === 'union' ? target.members.length : proto?.kind === 'func_proto' ? proto.params.length : -1;
    if (t.componentIdx >= n) refuse(`component_idx ${t.componentIdx} is past the ${Math.max(n, 0)} components of ${btf.describe(t.type)}`);
  }
}

/** Offsets of the bpf_spin_locks a struct holds by value, nested structs included. */
function spinLocks(btf: Btf, id: number, base: number, out: number[], depth = 0): void {
  const t = btf.type(btf.resolve(id));
  if (t.kind !== 'struct' && t.kind !== 'union') return;
  if (t.kind === 'struct' && t.name === 'bpf_spin_lock') {
    out.push(base);
    return;
  }
  if (depth > 32) return;
  for (const m of t.members) spinLocks(btf, m.type, base + Math.floor(m.bitOffset / 8), out, depth + 1);
}

/**
 * The kernel parses special fields (spin locks) of every struct when BTF loads: two locks are
 * E2BIG, and beside a lock, members off a byte boundary are EINVAL.
 */
function checkSpecialFields(btf: Btf, id: number): void {
  const t = btf.type(id) as BtfType;
  if (t.kind !== 'struct' || t.name === 'bpf_spin_lock') return;
  const locks: number[] = [];
  spinLocks(btf, id, 0, locks);
  if (locks.length === 0) return;
  if (locks.length > 1) throw new EmuBtfRefused(errno.E2BIG, `${btf.describe(id)} holds ${locks.length} bpf_spin_locks (at most one)`);
  const unaligned = (sid: number, depth: number): boolean => {
    const s = btf.type(btf.resolve(sid));
    if ((s.kind !== 'struct' && s.kind !== 'union') || depth > 32) return false;
    return s.members.some((m) => m.bitOffset % 8 !== 0 || unaligned(m.type, depth + 1));
  };
  if (unaligned(id, 0)) throw new EmuBtfRefused(errno.EINVAL, `${btf.describe(id)} holds a bpf_spin_lock and members that do not start on a byte`);
}

function sizeOrFail(btf: Btf, id: number): number {
  try {
    return btf.sizeOf(id);
  } catch (e) {
    if (e instanceof BtfError) fail(errno.EINVAL);
    throw e;
  }
}

/** map_check_btf: key and value types that exist and match the map's sizes; where a spin lock may be. */
export function checkMapBtf(obj: EmuBtf, mapType: number, mapFlags: number, keySize: number, valueSize: number, keyTypeId: number, valueTypeId: number): EmuMapBtf {
  const { btf } = obj;
  if (keyTypeId === 0 || valueTypeId === 0) fail(errno.EINVAL);
  if (keyTypeId >= btf.count || valueTypeId >= btf.count) fail(errno.EINVAL);
  if (sizeOrFail(btf, keyTypeId) !== keySize || sizeOrFail(btf, valueTypeId) !== valueSize) fail(errno.EINVAL);
  if (mapType === BPF_MAP_TYPE_ARRAY) {
    const k = btf.type(btf.resolve(keyTypeId));
    if (k.kind !== 'int' || k.bits !== 32 || k.bitOffset !== 0) fail(errno.EINVAL);
  }
  const locks: number[] = [];
  spinLocks(btf, valueTypeId, 0, locks);
  const out: EmuMapBtf = { id: obj.id, keyTypeId, valueTypeId };
  if (locks.length > 0) {
    // map_check_btf: a map with special fields refuses program-side access flags first.
    if (mapFlags & (BPF_F_RDONLY_PROG | BPF_F_WRONLY_PROG)) fail(errno.EACCES);
    if (!LOCK_TYPES.has(mapType)) fail(errno.EOPNOTSUPP);
    out.spinLock = locks[0] as number;
  }
  return out;
}

/** Loaded BTF objects, by id and by fd (numbered in the one fd table the maps' fds come from). */
export class BtfTable {
  private readonly byIdMap = new Map<number, EmuBtf>();
  private readonly fds = new Map<number, EmuBtf>();
  private readonly numbers: FdNumbers;
  private lastId = 0;

  constructor(numbers: FdNumbers) {
    this.numbers = numbers;
  }

  /** BTF_LOAD: a new object and an fd on it. */
  load(blob: Uint8Array): number {
    return this.open(this.add(blob));
  }

  /** A new object without an fd (a pinned map's BTF, taken in from the store). */
  add(blob: Uint8Array): EmuBtf {
    const btf = parseEmuBtf(blob);
    const obj: EmuBtf = { id: ++this.lastId, blob: Buffer.from(blob), btf, fds: 0, maps: new Set() };
    this.byIdMap.set(obj.id, obj);
    return obj;
  }

  /** The blob of a BTF object, by id, whether or not anything still holds it. */
  blobOf(id: number): Buffer | undefined {
    return this.byIdMap.get(id)?.blob;
  }

  open(obj: EmuBtf): number {
    const fd = this.numbers.take();
    this.fds.set(fd, obj);
    obj.fds++;
    return fd;
  }

  /** The object behind fd; EBADF when fd is not an open BTF fd. */
  get(fd: number): EmuBtf {
    const obj = this.fds.get(fd);
    if (!obj) fail(errno.EBADF);
    return obj;
  }

  has(fd: number): boolean {
    return this.fds.has(fd);
  }

  close(fd: number): boolean {
    const obj = this.fds.get(fd);
    if (!obj) return false;
    this.fds.delete(fd);
    this.numbers.give(fd);
    obj.fds--;
    return true;
  }

  /** A BTF object lives while an fd or a live map holds it. */
  private alive(obj: EmuBtf, mapAlive: (m: EmuMap) => boolean): boolean {
    if (obj.fds > 0) return true;
    for (const m of obj.maps) if (mapAlive(m)) return true;
    this.byIdMap.delete(obj.id);
    return false;
  }

  byId(id: number, mapAlive: (m: EmuMap) => boolean): EmuBtf | undefined {
    const obj = this.byIdMap.get(id);
    return obj && this.alive(obj, mapAlive) ? obj : undefined;
  }

  nextId(start: number, mapAlive: (m: EmuMap) => boolean): number | null {
    let best: number | null = null;
    for (const obj of [...this.byIdMap.values()])
      if (obj.id > start && (best === null || obj.id < best) && this.alive(obj, mapAlive)) best = obj.id;
    return best;
  }
}

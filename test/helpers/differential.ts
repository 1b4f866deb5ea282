// Differential testing: the same operation sequence on two kernels, every outcome reduced to a
// comparable string (return value or errno, count, and every byte of every output buffer,
// pre-filled with a sentinel so bytes a kernel did not write show too).
import assert from 'node:assert/strict';
import { BpfError } from '../../src/kernel/error.js';
import type { Kernel, MapCreateAttr } from '../../src/kernel/kernel.js';

export type Hex = string;
/** A map-in-map value: the fd of inner map i, an fd that is not open, or a raw fd number (0: stdin). */
export type ValueSpec = Hex | { inner: number } | { badFd: true } | { fd: number };

export type Op =
  | { op: 'lookup'; key: Hex | null; flags?: number }
  | { op: 'update'; key: Hex | null; value: ValueSpec; flags?: number }
  | { op: 'delete'; key: Hex }
  | { op: 'nextKey'; key: Hex | null }
  | { op: 'lookupAndDelete'; key: Hex | null; flags?: number }
  | { op: 'freeze' }
  | { op: 'lookupBatch' | 'lookupAndDeleteBatch'; cursor: 'start' | 'last' | Hex; count: number; elemFlags?: number; flags?: number }
  | { op: 'updateBatch'; keys: Hex[]; values: ValueSpec[]; elemFlags?: number; flags?: number }
  | { op: 'deleteBatch'; keys: Hex[]; elemFlags?: number; flags?: number }
  /** Every key by GET_NEXT_KEY and its value: contents and order in one outcome. */
  | { op: 'walk' }
  /** The map's info as the kernel reports it. */
  | { op: 'info' };

export interface Scenario {
  /** A BTF blob loaded first; its fd becomes every map's btf_fd. */
  btf?: Uint8Array;
  /** Inner maps (map-in-map), created first, referenced as { inner: i }; one may hold an earlier one. */
  inners?: Array<MapCreateAttr & { innerMapIndex?: number }>;
  /** The map under test; innerMapIndex picks the inner map whose fd is inner_map_fd. */
  map: MapCreateAttr & { innerMapIndex?: number };
  ops: Op[];
}

const SENTINEL = 0xa5;

function hexOf(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.length).toString('hex');
}

function buf(hex: Hex): Buffer {
  return Buffer.from(hex, 'hex');
}

function sentinel(n: number): Buffer {
  return Buffer.alloc(n, SENTINEL);
}

/** Runs a scenario on a kernel; one string per op (the first for MAP_CREATE). Closes what it opened. */
export function runScenario(kernel: Kernel, s: Scenario): string[] {
  const fds: number[] = [];
  const innerFds: number[] = [];
  const idNames = new Map<number, string>();
  const out: string[] = [];
  const errText = (e: unknown): string => {
    if (e instanceof BpfError) return `${e.command} ${e.code}${e.count === undefined ? '' : ` count=${e.count} applied=${e.applied ?? '-'}`}`;
    if (e instanceof RangeError || e instanceof TypeError) return `${e.name}: ${e.message}`;
    throw e;
  };
  try {
    const btf = s.btf ? { btfFd: kernel.btfLoad(s.btf) } : {};
    if (btf.btfFd !== undefined) fds.push(btf.btfFd);
    for (const [i, { innerMapIndex, ...a }] of (s.inners ?? []).entries()) {
      const fd = kernel.mapCreate(innerMapIndex === undefined ? { ...a, ...btf } : { ...a, ...btf, innerMapFd: innerFds[innerMapIndex] as number });
      fds.push(fd);
      innerFds.push(fd);
      idNames.set(kernel.mapInfo(fd).id, `inner#${i}`);
    }
    let fd: number;
    try {
      const { innerMapIndex, ...attr } = s.map;
      fd = kernel.mapCreate(innerMapIndex === undefined ? { ...attr, ...btf } : { ...attr, ...btf, innerMapFd: innerFds[innerMapIndex] as number });
      fds.push(fd);
      const info = kernel.mapInfo(fd);
      out.push(`create ok type=${info.type} key=${info.keySize} value=${info.valueSize} max=${info.maxEntries} flags=${info.flags} name=${info.name}`);
    } catch (e) {
      out.push(`create ${errText(e)}`);
      return out;
    }
    const sz = kernel.sizes(fd);
    const mapInMap = s.inners !== undefined && s.inners.length > 0;
    // Inner map ids differ between kernels: show them as inner#i.
    const values = (b: Uint8Array, n: number): string => {
      if (!mapInMap) return hexOf(b);
      const parts: string[] = [];
      for (let i = 0; i < b.length; i += 4) {
        const w = b.subarray(i, i + 4);
        const id = Buffer.from(w).readUInt32LE(0);
        parts.push(i / 4 < n ? (idNames.get(id) ?? `id?${id === 0 ? 0 : 'unknown'}`) : hexOf(w));
      }
      return parts.join(',');
    };
    const valueBytes = (v: ValueSpec): Buffer => {
      if (typeof v === 'string') return buf(v);
      const b = Buffer.alloc(4);
      b.writeUInt32LE('inner' in v ? (innerFds[v.inner] as number) : 'fd' in v ? v.fd : 0x7ffffff0);
      return b;
    };
    let last: Buffer | null = null;
    for (const op of s.ops) {
      try {
        switch (op.op) {
          case 'lookup': {
            const v = sentinel(sz.valueBytes);
            const r = kernel.lookup(fd, op.key === null ? null : buf(op.key), v, op.flags ?? 0);
            out.push(`lookup ${r} ${values(v, r ? 1 : 0)}`);
            break;
          }
          case 'update':
            kernel.update(fd, op.key === null ? null : buf(op.key), valueBytes(op.value), op.flags ?? 0);
            out.push('update ok');
            break;
          case 'delete':
            out.push(`delete ${kernel.delete(fd, buf(op.key))}`);
            break;
          case 'nextKey': {
            const n = sentinel(sz.keySize);
            const r = kernel.nextKey(fd, op.key === null ? null : buf(op.key), n);
            out.push(`nextKey ${r} ${hexOf(n)}`);
            break;
          }
          case 'lookupAndDelete': {
            const v = sentinel(sz.valueBytes);
            const r = kernel.lookupAndDelete(fd, op.key === null ? null : buf(op.key), v, op.flags ?? 0);
            out.push(`lookupAndDelete ${r} ${values(v, r ? 1 : 0)}`);
            break;
          }
          case 'freeze':
            kernel.freeze(fd);
            out.push('freeze ok');
            break;
          case 'lookupBatch':
          case 'lookupAndDeleteBatch': {
            const keys = sentinel(op.count * sz.keySize);
            const vals = sentinel(op.count * sz.valueBytes);
            const cur = sentinel(sz.cursorSize);
            const inBatch = op.cursor === 'start' ? null : op.cursor === 'last' ? last : buf(op.cursor);
            const args = { inBatch, outBatch: cur, keys, values: vals, count: op.count, elemFlags: op.elemFlags ?? 0, flags: op.flags ?? 0 };
            let res: string;
            let n = 0;
            try {
              const r = op.op === 'lookupBatch' ? kernel.lookupBatch(fd, args) : kernel.lookupAndDeleteBatch(fd, args);
              n = r.count;
              res = `count=${r.count} done=${r.done}`;
            } catch (e) {
              n = e instanceof BpfError ? (e.count ?? 0) : 0;
              res = errText(e);
            }
            last = cur;
            out.push(`${op.op} ${res} cursor=${hexOf(cur)} keys=${hexOf(keys)} values=${values(vals, n)}`);
            break;
          }
          case 'updateBatch': {
            const keys = Buffer.concat(op.keys.map(buf));
            const vals = Buffer.concat(op.values.map(valueBytes));
            const n = kernel.updateBatch(fd, { keys, values: vals, count: op.keys.length, elemFlags: op.elemFlags ?? 0, flags: op.flags ?? 0 });
            out.push(`updateBatch ${n}`);
            break;
          }
          case 'deleteBatch': {
            const keys = Buffer.concat(op.keys.map(buf));
            const n = kernel.deleteBatch(fd, { keys, values: null, count: op.keys.length, elemFlags: op.elemFlags ?? 0, flags: op.flags ?? 0 });
            out.push(`deleteBatch ${n}`);
            break;
          }
          case 'walk': {
            const items: string[] = [];
            let k: Buffer | null = null;
            const next = Buffer.alloc(sz.keySize);
            // A bound keeps a kernel bug from looping forever.
            for (let i = 0; i <= 100000 && kernel.nextKey(fd, k, next); i++) {
              const v = sentinel(sz.valueBytes);
              const found = kernel.lookup(fd, next, v, 0);
              items.push(`${hexOf(next)}=${found ? values(v, 1) : '-'}`);
              k = Buffer.from(next);
            }
            out.push(`walk ${items.join(' ')}`);
            break;
          }
          case 'info': {
            const i = kernel.mapInfo(fd);
            out.push(`info type=${i.type} key=${i.keySize} value=${i.valueSize} max=${i.maxEntries} flags=${i.flags} name=${i.name}`);
            break;
          }
        }
      } catch (e) {
        out.push(`${op.op} ${errText(e)}`);
      }
    }
    return out;
  } finally {
    for (const fd of fds) kernel.close(fd);
  }
}

/** Runs s on both kernels and fails at the first outcome that differs, naming the op and the seed. */
export function assertSameOutcomes(a: Kernel, b: Kernel, s: Scenario, label: string): number {
  const ra = runScenario(a, s);
  const rb = runScenario(b, s);
  tally.sequences++;
  tally.operations += s.ops.length;
  const n = Math.max(ra.length, rb.length);
  for (let i = 0; i < n; i++) {
    if (ra[i] === rb[i]) continue;
    const op = i === 0 ? { create: s.map } : s.ops[i - 1];
    assert.fail(`${label}: outcome ${i} differs for ${JSON.stringify(op)}\n  ${a.kind}: ${ra[i]}\n  ${b.kind}: ${rb[i]}`);
  }
  return ra.length;
}

/** A small seeded PRNG (mulberry32): the same seed gives the same sequence. */
export function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 0x100000000;
  };
}

const tally = { sequences: 0, operations: 0, seeds: 0 };
process.on('exit', () => {
  if (tally.sequences > 0)
    console.log(`differential: ${tally.sequences} sequences (${tally.seeds} random seeds), ${tally.operations} operations compared on both kernels`);
});

/**
 * Seeds for randomized runs: BPFMAP_DIFF_SEED's list; else, under `npm run fuzz`
 * (BPFMAP_FUZZ_SECONDS), consecutive seeds from a fresh start until that many seconds have passed;
 * else a fixed one and a fresh one.
 */
export function* seeds(): Generator<number, void, void> {
  const env = process.env.BPFMAP_DIFF_SEED;
  const fresh = (Date.now() ^ (process.pid << 8)) >>> 0;
  const note = (seed: number): number => {
    tally.seeds++;
    return seed;
  };
  if (env) {
    for (const s of env.split(',')) yield note(Number(s));
    return;
  }
  const budget = Number(process.env.BPFMAP_FUZZ_SECONDS ?? 0);
  if (budget > 0) {
    const end = Date.now() + budget * 1000;
    for (let seed = fresh; Date.now() < end; seed = (seed + 1) >>> 0) yield note(seed);
    return;
  }
  yield note(1);
  yield note(fresh);
}

/**
 * A documented kernel behaviour, differentially: the real kernel's outcomes must match expect
 * (outcome i against expect[i], a string it must start with or a pattern), and the emulator's equal them.
 */
export function assertKernelAnswer(linux: Kernel, emu: Kernel, s: Scenario, expect: Array<string | RegExp>, label: string): void {
  const got = runScenario(linux, s);
  for (const [i, e] of expect.entries()) {
    const o = got[i] ?? '(none)';
    const ok = typeof e === 'string' ? o.startsWith(e) : e.test(o);
    assert.ok(ok, `${label}: the kernel's outcome ${i} is ${o}, expected ${String(e)}`);
  }
  assertSameOutcomes(linux, emu, s, label);
}

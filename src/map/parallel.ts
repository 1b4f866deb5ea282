// Parallel dumps: the map split into ranges (hash buckets, array indexes) walked at once, by the
// calling thread and worker threads, into one shared output.
import { BpfError } from '../kernel/error.js';
import type { Kernel } from '../kernel/kernel.js';
import { LinuxKernel } from '../kernel/linux.js';
import {
  BPF_MAP_TYPE_ARRAY,
  BPF_MAP_TYPE_HASH,
  BPF_MAP_TYPE_LRU_HASH,
  BPF_MAP_TYPE_LRU_PERCPU_HASH,
  BPF_MAP_TYPE_PERCPU_ARRAY,
  BPF_MAP_TYPE_PERCPU_HASH,
} from '../sys/constants.js';
import { errno } from '../sys/errno.js';
import { allocSharedOutput } from '../sys/huge.js';
import { workers, type Job, type Reply } from './dump-pool.js';
import { internal } from './internal.js';
import type { BpfMap } from './map.js';
import { walkRanges, type RangeResult, type RangeSpec } from './range-walk.js';

/** The most threads a dump takes. */
export const MAX_THREADS = 64;

/**
 * Ranges per thread: each thread takes the next range as it finishes one, so threads slowed by
 * the host or by denser ranges end together (with one range each, the calling thread waited for a
 * worker, or a worker for it, for up to a quarter of the dump).
 */
export const RANGES_PER_THREAD = 4;

/** The option of dump() and the sync walks that reads a map in ranges at once. */
export interface ParallelOptions {
  /**
   * Read the map in this many ranges at once (hash buckets, array indexes), on the calling
   * thread and worker threads; the order of entries across ranges is not promised. Hash maps
   * (per-CPU and LRU too) and arrays; other maps, and kernels whose batch cursor does not behave
   * as expected (probed once), are read in one walk. Default 1.
   */
  threads?: number;
}

/** The threads option: 1 (one walk) unless given. */
export function threadsOf(o: ParallelOptions | undefined): number {
  const n = o?.threads ?? 1;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 1 || n > MAX_THREADS)
    throw new RangeError(`threads must be an integer from 1 to ${MAX_THREADS}, got ${String(n)}`);
  return n;
}

type RangeKind = RangeSpec['kind'];

/** The hash family's batch walk takes a bucket index as its cursor; arrays' generic walk the last index. */
function rangeKind(type: number): RangeKind | undefined {
  switch (type) {
    case BPF_MAP_TYPE_HASH:
    case BPF_MAP_TYPE_PERCPU_HASH:
    case BPF_MAP_TYPE_LRU_HASH:
    case BPF_MAP_TYPE_LRU_PERCPU_HASH:
      return 'bucket';
    case BPF_MAP_TYPE_ARRAY:
    case BPF_MAP_TYPE_PERCPU_ARRAY:
      return 'index';
    default:
      return undefined;
  }
}

/** The kernel's bucket count: roundup_pow_of_two(max_entries) (kernel/bpf/hashtab.c). */
function bucketsOf(maxEntries: number): number {
  let n = 1;
  while (n < maxEntries) n *= 2;
  return n;
}

const PROBE_ENTRIES = 8;

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n, 0);
  return b;
}

/** One LOOKUP_BATCH of the probe map: keys read and the cursor after (ENOSPC: null count, the cursor where it stopped). */
function probeCall(
  kernel: Kernel,
  fd: number,
  from: number | null,
  count: number,
): { keys: number[]; values: number[]; next: number; done: boolean; nospc: boolean } {
  const keys = Buffer.alloc(PROBE_ENTRIES * 4);
  const values = Buffer.alloc(PROBE_ENTRIES * 4);
  const out = Buffer.alloc(4);
  let r;
  try {
    r = kernel.lookupBatch(fd, { inBatch: from === null ? null : u32(from), outBatch: out, keys, values, count, elemFlags: 0, flags: 0 });
  } catch (e) {
    if (e instanceof BpfError && e.errno === errno.ENOSPC)
      return { keys: [], values: [], next: out.readUInt32LE(0), done: false, nospc: true };
    throw e;
  }
  const k: number[] = [];
  const v: number[] = [];
  for (let i = 0; i < r.count; i++) {
    k.push(keys.readUInt32LE(i * 4));
    v.push(values.readUInt32LE(i * 4));
  }
  return { keys: k, values: v, next: out.readUInt32LE(0), done: r.done, nospc: false };
}

const sameKeys = (a: number[], b: number[]): boolean => a.length === b.length && [...a].sort().join() === [...b].sort().join();

/**
 * On a small hash map: read bucket by bucket (each call asking for exactly one bucket's entries,
 * grown by one on ENOSPC), which gives every non-empty bucket's index as the cursor after the
 * bucket before it; then a forged start cursor at each such index must yield exactly that bucket
 * (and with room, exactly the buckets from it on), and the walk must end at roundup_pow_of_two(max_entries).
 */
function probeBuckets(kernel: Kernel, fd: number): boolean {
  const inserted = [11, 22, 33, 44, 55, 66];
  for (const k of inserted) kernel.update(fd, u32(k), u32(k * 7), 0);
  const buckets: Array<{ at: number | null; keys: number[]; next: number; done: boolean }> = [];
  let at: number | null = null;
  for (let calls = 0; calls < 64; calls++) {
    let count = 1;
    let r = probeCall(kernel, fd, at, count);
    while (r.nospc && count < PROBE_ENTRIES) r = probeCall(kernel, fd, at, ++count);
    if (r.nospc || (r.keys.length === 0 && !r.done) || r.keys.some((k, i) => r.values[i] !== k * 7)) return false;
    if (r.keys.length > 0) buckets.push({ at, keys: r.keys, next: r.next, done: r.done });
    if (r.done) break;
    if (at !== null && r.next <= at) return false;
    at = r.next;
  }
  const last = buckets[buckets.length - 1];
  if (
    !last ||
    !last.done ||
    last.next !== bucketsOf(PROBE_ENTRIES) ||
    !sameKeys(
      buckets.flatMap((b) => b.keys),
      inserted,
    )
  )
    return false;
  for (let i = 1; i < buckets.length; i++) {
    const b = buckets[i] as (typeof buckets)[number];
    const one = probeCall(kernel, fd, b.at, b.keys.length);
    if (!sameKeys(one.keys, b.keys) || one.next !== b.next || one.done !== b.done) return false;
    const rest = probeCall(kernel, fd, b.at, PROBE_ENTRIES);
    if (
      !sameKeys(
        rest.keys,
        buckets.slice(i).flatMap((x) => x.keys),
      ) ||
      !rest.done
    )
      return false;
  }
  const past = probeCall(kernel, fd, bucketsOf(PROBE_ENTRIES), PROBE_ENTRIES);
  return past.done && past.keys.length === 0;
}

/** On a small array: a forged cursor (the index before the start) yields exactly the next indexes. */
function probeIndexes(kernel: Kernel, fd: number): boolean {
  for (let i = 0; i < PROBE_ENTRIES; i++) kernel.update(fd, u32(i), u32(i * 7 + 1), 0);
  const mid = probeCall(kernel, fd, 2, 3);
  const end = probeCall(kernel, fd, 6, 4);
  return (
    mid.keys.join() === '3,4,5' &&
    mid.values.join() === '22,29,36' &&
    mid.next === 5 &&
    !mid.done &&
    end.keys.join() === '7' &&
    end.values.join() === '50' &&
    end.done
  );
}

const probed = new WeakMap<Kernel, Map<RangeKind, boolean>>();

/**
 * Whether this kernel's cursors behave as range walks assume, checked once per kernel and kind
 * on a map made for it. A kernel that refuses the probe map (no right to create maps) or answers
 * otherwise gets one walk.
 */
export function cursorsBehave(kernel: Kernel, kind: RangeKind): boolean {
  let known = probed.get(kernel);
  if (!known) probed.set(kernel, (known = new Map()));
  const cached = known.get(kind);
  if (cached !== undefined) return cached;
  let ok = false;
  let fd = -1;
  try {
    fd = kernel.mapCreate({
      mapType: kind === 'bucket' ? BPF_MAP_TYPE_HASH : BPF_MAP_TYPE_ARRAY,
      keySize: 4,
      valueSize: 4,
      maxEntries: PROBE_ENTRIES,
      mapFlags: 0,
      name: 'bpfmap_probe',
      innerMapFd: 0,
      numaNode: 0,
      mapExtra: 0n,
      btfFd: 0,
      btfKeyTypeId: 0,
      btfValueTypeId: 0,
    });
    ok = kind === 'bucket' ? probeBuckets(kernel, fd) : probeIndexes(kernel, fd);
  } catch {
    ok = false;
  } finally {
    if (fd >= 0) kernel.close(fd);
  }
  known.set(kind, ok);
  return ok;
}

/** The output a parallel dump hands back. */
export interface ParallelOutput {
  keys: Buffer;
  values: Buffer;
  count: number;
  ranges: number;
}

/** One range's entries as read: the first inRegion in its region of the shared output, the rest in its spill. */
class RangeOut {
  len: number;
  private readonly spillKeys: Buffer;
  private readonly spillValues: Buffer;

  constructor(
    readonly res: RangeResult,
    readonly region: number,
    private readonly ks: number,
    private readonly vs: number,
    private readonly keys: Buffer,
    private readonly values: Buffer,
  ) {
    this.len = res.count;
    const view = (u: Uint8Array | null): Buffer => (u === null ? Buffer.alloc(0) : Buffer.from(u.buffer, u.byteOffset, u.length));
    this.spillKeys = view(res.spillKeys);
    this.spillValues = view(res.spillValues);
  }

  private keyAt(i: number): [Buffer, number] {
    const r = this.res.inRegion;
    return i < r ? [this.keys, (this.region + i) * this.ks] : [this.spillKeys, (i - r) * this.ks];
  }

  private valueAt(i: number): [Buffer, number] {
    const r = this.res.inRegion;
    return i < r ? [this.values, (this.region + i) * this.vs] : [this.spillValues, (i - r) * this.vs];
  }

  /**
   * Entry i's key as a Set member: the number itself for keys of up to 6 bytes (a Smi or a
   * double, no string made: the 14,000 keys a 1M dump compares took 3.4 ms as strings), else its
   * bytes as a latin1 string.
   */
  keyId(i: number): number | string {
    const [b, o] = this.keyAt(i);
    return this.ks <= 6 ? b.readUIntLE(o, this.ks) : b.toString('latin1', o, o + this.ks);
  }

  /** Copies entry i over entry j (j < i). */
  move(i: number, j: number): void {
    const [kb, ko] = this.keyAt(i);
    const [kd, kdo] = this.keyAt(j);
    kb.copy(kd, kdo, ko, ko + this.ks);
    const [vb, vo] = this.valueAt(i);
    const [vd, vdo] = this.valueAt(j);
    vb.copy(vd, vdo, vo, vo + this.vs);
  }

  /** Entries read by calls that started below cursor (bucket ranges; calls go up the buckets). */
  prefixBelow(cursor: number): number {
    let p = 0;
    for (let j = 0; j < this.res.starts.length && (this.res.starts[j] as number) < cursor; j++) p = this.res.totals[j] as number;
    return Math.min(p, this.len);
  }

  get inRegion(): number {
    return Math.min(this.len, this.res.inRegion);
  }

  /** The entries past the region, packed. */
  spilled(): [Buffer, Buffer] {
    const n = this.len - this.inRegion;
    return [this.spillKeys.subarray(0, n * this.ks), this.spillValues.subarray(0, n * this.vs)];
  }
}

/**
 * A range's last call may return buckets past its end (whole buckets, up to count entries), which
 * the next ranges read too. A key lives in one bucket, so a key of that call that a later range
 * read from a call starting below that call's end cursor is the same entry read twice: the
 * earlier copy is dropped, and each entry is in the dump once, even while the map changes.
 */
function dropOverlap(outs: RangeOut[]): void {
  for (let r = 0; r < outs.length - 1; r++) {
    const out = outs[r] as RangeOut;
    const over = out.res.overshoot;
    if (over === null) continue;
    const later = new Set<number | string>();
    for (const s of outs.slice(r + 1)) for (let i = 0, p = s.prefixBelow(over.cursor); i < p; i++) later.add(s.keyId(i));
    if (later.size === 0) continue;
    let w = over.from;
    for (let i = over.from; i < out.len; i++) {
      if (later.has(out.keyId(i))) continue;
      if (w !== i) out.move(i, w);
      w++;
    }
    out.len = w;
  }
}

/**
 * The ranges' entries made contiguous, spills after. In the shared output each region keeps
 * slack after its entries; the holes this leaves below the entries' total are filled with the
 * entries above it, taken from the end, so a dump moves a few thousand entries instead of
 * shifting every region down (2.2 ms of a 1M dump's 170). The order across ranges is not
 * promised, so this is free to mix them.
 */
function assemble(outs: RangeOut[], keys: Buffer, values: Buffer, ks: number, vs: number): ParallelOutput {
  const total = outs.reduce((n, o) => n + o.len, 0);
  const inRegions = outs.reduce((n, o) => n + o.inRegion, 0);
  let k = keys;
  let v = values;
  const move = (from: number, to: number, n: number): void => {
    keys.copy(k, to * ks, from * ks, (from + n) * ks);
    values.copy(v, to * vs, from * vs, (from + n) * vs);
  };
  if (total * ks > keys.length) {
    // More entries than max_entries (keys replaced while the walk ran): a larger output, every region copied.
    k = Buffer.allocUnsafe(total * ks);
    v = Buffer.allocUnsafe(total * vs);
    let p = 0;
    for (const o of outs) {
      move(o.region, p, o.inRegion);
      p += o.inRegion;
    }
  } else {
    const holes: Array<[number, number]> = [];
    const above: Array<[number, number]> = [];
    let at = 0;
    for (const o of outs) {
      const end = o.region + o.inRegion;
      if (o.region > at && at < inRegions) holes.push([at, Math.min(o.region, inRegions)]);
      if (end > inRegions && o.inRegion > 0) above.push([Math.max(o.region, inRegions), end]);
      at = end;
    }
    // Both sides count the same entries: as many sit above the total as it leaves holes below it.
    for (const hole of holes) {
      while (hole[0] < hole[1]) {
        const src = above[above.length - 1] as [number, number];
        const n = Math.min(hole[1] - hole[0], src[1] - src[0]);
        move(src[1] - n, hole[0], n);
        hole[0] += n;
        src[1] -= n;
        if (src[0] === src[1]) above.pop();
      }
    }
  }
  let p = inRegions;
  for (const o of outs) {
    const [sk, sv] = o.spilled();
    sk.copy(k, p * ks);
    sv.copy(v, p * vs);
    p += sk.length / ks;
  }
  return { keys: k.subarray(0, total * ks), values: v.subarray(0, total * vs), count: total, ranges: outs.length };
}

/** A worker's failure as the error the calling thread throws; else the ranges it read. */
function workerFailure(map: BpfMap<unknown, unknown>, reply: Reply): Array<{ range: number; result: RangeResult }> {
  if ('results' in reply) return reply.results;
  const e = reply.error;
  if (e.cmd !== undefined && e.errno !== undefined)
    throw map[internal].annotate(new BpfError(e.cmd, e.errno, e.count === undefined ? {} : { count: e.count }));
  throw new Error(`map ${map[internal].label()}: a parallel dump's worker thread failed: ${e.message}`);
}

/**
 * Reads the map with `threads` threads at once into one shared output, in up to
 * RANGES_PER_THREAD ranges per thread that each thread takes as it finishes the last; or returns
 * undefined when the map cannot be split (a type whose cursor is not a bucket or an index, or a
 * kernel whose cursors did not pass the probe): the caller then walks it once. On the real kernel
 * the calling thread and worker threads take the ranges; the emulated kernel's are walked one
 * after another on the calling thread (its maps live in this thread's memory).
 */
export function parallelDump(map: BpfMap<unknown, unknown>, threads: number, batch: number, elemFlags: number): ParallelOutput | undefined {
  const kind = rangeKind(map.type);
  if (kind === undefined || !cursorsBehave(map.kernel, kind)) return undefined;
  const space = kind === 'bucket' ? bucketsOf(map.maxEntries) : map.maxEntries;
  const n = Math.min(threads * RANGES_PER_THREAD, space);
  if (n < 2) return undefined;
  const { keySize: ks, valueBytes: vs, maxEntries } = map;
  const specs: RangeSpec[] = [];
  const regions: number[] = [];
  const capacities: number[] = [];
  let cap = 0;
  for (let r = 0; r < n; r++) {
    const start = Math.floor((space * r) / n);
    const end = Math.floor((space * (r + 1)) / n);
    specs.push({ kind, start, end: r === n - 1 ? null : end });
    // A hash range holds its share of max_entries give or take a few standard deviations, plus
    // the buckets its last call may read past its end.
    const share = Math.ceil((maxEntries * (end - start)) / space);
    const c = kind === 'index' ? end - start : share + batch + Math.ceil(4 * Math.sqrt(share)) + 16;
    regions.push(cap);
    capacities.push(c);
    cap += c;
  }
  // Fresh memory faults in page by page inside the syscalls that fill it: huge pages make that 6 faults, not 3,000.
  const keyOut = allocSharedOutput(cap * ks);
  const valueOut = allocSharedOutput(cap * vs);
  const keys = Buffer.from(keyOut.buffer, keyOut.offset, cap * ks);
  const values = Buffer.from(valueOut.buffer, valueOut.offset, cap * vs);
  const plan = { specs, regions, capacities, next: new Int32Array(new SharedArrayBuffer(4)) };
  const results: RangeResult[] = [];
  const took = (parts: Array<{ range: number; result: RangeResult }>): void => {
    for (const { range, result } of parts) results[range] = result;
  };
  const slots = map.kernel instanceof LinuxKernel ? workers(Math.min(threads, n) - 1) : undefined;
  if (slots === undefined) {
    took(walkRanges(map, plan, keys, values, batch, elemFlags));
  } else {
    const job: Job = {
      fd: map.fd,
      label: map[internal].label(),
      maxEntries,
      keySize: ks,
      valueBytes: vs,
      cursorSize: map[internal].cursorSize,
      specs,
      regions,
      capacities,
      next: plan.next.buffer as SharedArrayBuffer,
      keys: keyOut.buffer,
      values: valueOut.buffer,
      keyOffset: keyOut.offset,
      valueOffset: valueOut.offset,
      batch,
      elemFlags,
    };
    for (const s of slots) s.start(job);
    // The workers use the fd and the output until they answer: wait for every one, even when this thread's ranges failed.
    let mine: Array<{ range: number; result: RangeResult }> | undefined;
    let failure: unknown;
    try {
      mine = walkRanges(map, plan, keys, values, batch, elemFlags);
    } catch (e) {
      failure = e;
    }
    const replies = slots.map((s) => s.reply());
    if (mine === undefined) throw failure;
    took(mine);
    for (const reply of replies) took(workerFailure(map, reply));
  }
  const outs = specs.map((_, r) => {
    const res = results[r];
    // Every range taken is walked or its thread's error thrown above; a gap would be entries lost.
    if (res === undefined) throw new Error(`map ${map[internal].label()}: a parallel dump has no result for range ${r}`);
    return new RangeOut(res, regions[r] as number, ks, vs, keys, values);
  });
  dropOverlap(outs);
  return assemble(outs, keys, values, ks, vs);
}

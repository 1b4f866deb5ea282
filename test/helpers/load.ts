// Runs the counter program from worker threads (one per core) while the main thread collects
// the counts with one harvesting pattern, and accounts for every run: collected + dropped +
// lost = runs, where dropped are runs the program itself could not count (a full map).
import { Worker } from 'node:worker_threads';
import { u32, u64 } from '../../src/codec/int.js';
import { perCpu } from '../../src/codec/percpu.js';
import { SwapHarvester } from '../../src/harvest/harvester.js';
import { BpfMap } from '../../src/map/map.js';
import { loadCounter } from '../../src/prog/counter.js';
import type { BpfProgram } from '../../src/prog/program.js';
import type { CounterWorkerData } from './counter-worker.js';

export type Pattern = 'swap' | 'swap-async' | 'lookup-then-delete' | 'lookup-and-delete-elem' | 'drain-batch';
export const PATTERNS: readonly Pattern[] = ['swap', 'swap-async', 'lookup-then-delete', 'lookup-and-delete-elem', 'drain-batch'];

export interface LoadOptions {
  pattern: Pattern;
  /** Map type; the drain patterns take hash and percpu_hash only. LRU types harvest with allowLossy. */
  type: 'hash' | 'percpu_hash' | 'array' | 'percpu_array' | 'lru_hash' | 'lru_percpu_hash';
  /** Runs per worker. */
  runs: number;
  workers?: number;
  keys?: number;
  /** Entries of the map (default twice the keys). */
  maxEntries?: number;
  /** Runs per PROG_TEST_RUN call. */
  chunk?: number;
  /** Swap patterns: the outer map type (default array_of_maps). */
  outerType?: 'array_of_maps' | 'hash_of_maps';
}

export interface LoadResult {
  pattern: Pattern;
  type: string;
  outerType: string;
  runs: number;
  collected: bigint;
  dropped: bigint;
  lost: bigint;
  /** Harvests or drain passes made while the workers ran. */
  passes: number;
  /** Swap syscall time, ms (swap patterns). */
  swapMsAvg: number;
  swapMsMax: number;
  seconds: number;
}

/** A raw value (per-CPU: Buffers) as a total. */
function total(v: Buffer | Buffer[]): bigint {
  let s = 0n;
  for (const b of Array.isArray(v) ? v : [v]) s += b.readBigUInt64LE(0);
  return s;
}

function startWorkers(prog: BpfProgram, o: Required<Pick<LoadOptions, 'runs' | 'workers' | 'chunk'>>): { state: Int32Array; exited: Promise<void> } {
  const state = new Int32Array(new SharedArrayBuffer(8));
  const ws: Promise<void>[] = [];
  for (let i = 0; i < o.workers; i++) {
    const data: CounterWorkerData = { progFd: prog.fd, runs: o.runs, chunk: o.chunk, state };
    const w = new Worker(new URL('./counter-worker.js', import.meta.url), { workerData: data });
    ws.push(new Promise((resolve, reject) => {
      w.on('error', reject);
      w.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`counter worker exited with ${code}`))));
    }));
  }
  return { state, exited: Promise.all(ws).then(() => undefined) };
}

/** One live drain pass over a map the program writes directly. */
function drainPass(m: BpfMap, pattern: Pattern): bigint {
  let sum = 0n;
  if (pattern === 'lookup-then-delete' || pattern === 'lookup-and-delete-elem') {
    const keys: Buffer[] = [];
    for (let k = m.nextKey(); k !== undefined; k = m.nextKey(k)) keys.push(Buffer.from(k));
    for (const k of keys) {
      if (pattern === 'lookup-then-delete') {
        const v = m.get(k);
        if (v === undefined) continue;
        m.delete(k);
        sum += total(v);
      } else {
        const v = m.getAndDelete(k);
        if (v !== undefined) sum += total(v);
      }
    }
    return sum;
  }
  // BpfMap.drain(): LOOKUP_AND_DELETE_BATCH passes from the first bucket to the end.
  for (const [, v] of m.drain()) sum += total(v);
  return sum;
}

/** Runs the load with one pattern and accounts for every run. */
export async function runUnderLoad(opts: LoadOptions): Promise<LoadResult> {
  const workers = opts.workers ?? 2;
  const keys = opts.keys ?? 16;
  const chunk = opts.chunk ?? 50_000;
  const runs = opts.runs * workers;
  const maxEntries = opts.maxEntries ?? keys * 2;
  using dropped = BpfMap.create({ type: 'array', keySize: 4, valueSize: 8, maxEntries: 1 });
  let collected = 0n;
  let passes = 0;
  const swapMs: number[] = [];
  const t0 = performance.now();

  if (opts.pattern === 'swap' || opts.pattern === 'swap-async') {
    const common = { key: u32, maxEntries, outerType: opts.outerType, allowLossy: opts.type.startsWith('lru') };
    using h = opts.type.includes('percpu')
      ? SwapHarvester.create({ ...common, type: opts.type, value: perCpu(u64) })
      : SwapHarvester.create({ ...common, type: opts.type, value: u64 });
    using prog = loadCounter({ target: { outer: h.outer }, keys, dropped });
    const { state, exited } = startWorkers(prog, { runs: opts.runs, workers, chunk });
    const take = async (): Promise<void> => {
      const entries: Array<[number, bigint | bigint[]]> = opts.pattern === 'swap' ? h.harvest() : await h.harvestAsync();
      for (const [, v] of entries) collected += Array.isArray(v) ? v.reduce((a, b) => a + b, 0n) : v;
      swapMs.push(h.lastSwapMs);
    };
    while (Atomics.load(state, 0) < workers) {
      await take();
      passes++;
    }
    await exited;
    await take();
  } else {
    using m = BpfMap.create({ type: opts.type, keySize: 4, valueSize: 8, maxEntries });
    using prog = loadCounter({ target: { map: m }, keys, dropped });
    const { state, exited } = startWorkers(prog, { runs: opts.runs, workers, chunk });
    while (Atomics.load(state, 0) < workers) {
      collected += drainPass(m, opts.pattern);
      passes++;
    }
    await exited;
    // Nothing writes now: what is left is read exactly.
    for (let k = m.nextKey(); k !== undefined; k = m.nextKey(k)) {
      const v = m.get(k);
      if (v !== undefined) collected += total(v);
    }
  }
  const droppedRuns = total(dropped.get(Buffer.alloc(4)) as Buffer);
  return {
    pattern: opts.pattern,
    type: opts.type,
    outerType: opts.pattern.startsWith('swap') ? opts.outerType ?? 'array_of_maps' : '',
    runs,
    collected,
    dropped: droppedRuns,
    lost: BigInt(runs) - collected - droppedRuns,
    passes,
    swapMsAvg: swapMs.length ? swapMs.reduce((a, b) => a + b, 0) / swapMs.length : 0,
    swapMsMax: swapMs.length ? Math.max(...swapMs) : 0,
    seconds: (performance.now() - t0) / 1000,
  };
}


/** One line of figures for a result. */
export function describeResult(r: LoadResult): string {
  const pct = r.runs ? (Number(r.lost) / r.runs) * 100 : 0;
  const swap = r.swapMsAvg ? `, swap avg ${r.swapMsAvg.toFixed(1)} ms max ${r.swapMsMax.toFixed(1)} ms` : '';
  const via = r.outerType ? ` via ${r.outerType}` : '';
  return `${(r.pattern + via).padEnd(37)} ${r.type.padEnd(12)} runs ${r.runs}, collected ${r.collected}, dropped ${r.dropped}, ` +
    `lost ${r.lost} (${pct.toFixed(4)}%), ${r.passes} passes in ${r.seconds.toFixed(2)} s${swap}`;
}

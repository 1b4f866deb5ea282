// entriesAsync() over 1M entries: the longest event-loop stall, measured by perf_hooks'
// monitorEventLoopDelay while the walk runs. Budget: 20 ms. Interleaved with a loop that burns the
// same CPU time per turn without bpfmap, watched the same way for as long: on a loaded machine a
// busy process is descheduled for long stretches, and that loop's stall is what the scheduler
// alone costs, which no library can avoid.
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { type Row, stats } from './harness.js';
import { filledHash, type HashMap } from './maps.js';

const BUDGET_MS = 20;

/** Runs fn with the event-loop delay histogram on; returns the longest stall (ms) and how long fn took. */
async function watched<T>(fn: () => Promise<T>): Promise<{ stall: number; ms: number; result: T }> {
  const h = monitorEventLoopDelay({ resolution: 1 });
  const t0 = performance.now();
  h.enable();
  const result = await fn();
  h.disable();
  return { stall: h.max / 1e6, ms: performance.now() - t0, result };
}

interface Walk {
  /** Most CPU time (ms, the whole process) spent between two turns of the event loop. */
  most: number;
  /** Mean CPU time per turn. */
  mean: number;
}

/** Walks the map, noting the CPU time spent between turns of the loop: bpfmap's synchronous work. */
async function walk(map: HashMap): Promise<Walk> {
  let sink = 0n;
  let turned = false;
  let live = true;
  const turn = (): void => {
    turned = true;
    if (live) setImmediate(turn);
  };
  setImmediate(turn);
  const start = process.cpuUsage();
  let last = start;
  let most = 0;
  let turns = 0;
  for await (const [, v] of map.entriesAsync()) {
    sink += v;
    if (turned) {
      turned = false;
      turns++;
      const now = process.cpuUsage();
      most = Math.max(most, (now.user - last.user + now.system - last.system) / 1000);
      last = now;
    }
  }
  live = false;
  if (sink < 0n) throw new Error('unreachable');
  const all = process.cpuUsage(start);
  return { most, mean: (all.user + all.system) / 1000 / Math.max(turns, 1) };
}

/** An event loop that burns perTurn ms of CPU per turn, for ms milliseconds. */
async function busy(ms: number, perTurn: number): Promise<void> {
  const end = performance.now() + ms;
  while (performance.now() < end) {
    const t = performance.now() + perTurn;
    while (performance.now() < t);
    await new Promise((resolve) => setImmediate(resolve));
  }
}

export async function stallRows(reps: number): Promise<Row[]> {
  const n = 1_000_000;
  using map = filledHash(n);
  const ours: number[] = [];
  const quiet: number[] = [];
  const cpu: number[] = [];
  await walk(map);
  for (let i = 0; i < Math.max(3, Math.ceil(reps / 2)); i++) {
    const w = await watched(() => walk(map));
    ours.push(w.stall);
    cpu.push(w.result.most);
    quiet.push((await watched(() => busy(w.ms, w.result.mean))).stall);
  }
  const q = stats(quiet);
  const c = stats(cpu);
  return [{
    suite: 'stall',
    what: `entriesAsync() hash ${n}: longest event-loop stall`,
    unit: 'ms',
    bpfmap: stats(ours),
    baselineName: `budget ${BUDGET_MS} ms`,
    baseline: stats([BUDGET_MS]),
    ratio: stats(ours.map((s) => s / BUDGET_MS)),
    target: 1,
    note: `a loop burning the same CPU per turn without bpfmap stalls ${q.median.toFixed(1)} (${q.min.toFixed(1)}-${q.max.toFixed(1)}) ms here; ` +
      `most CPU time between two turns of the loop ${c.median.toFixed(1)} (${c.min.toFixed(1)}-${c.max.toFixed(1)}) ms`,
  }];
}

// entriesAsync() over 1M entries: the longest event-loop stall, measured by perf_hooks'
// monitorEventLoopDelay while the walk runs. Budget: 20 ms. Interleaved with an idle event loop
// watched the same way for as long: on a loaded machine the idle loop's stall is what the
// scheduler alone costs, which no library can avoid.
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

/**
 * Walks the map; returns the most CPU time (ms, the whole process) spent between two turns of the
 * event loop: the synchronous work bpfmap does at once, whatever the scheduler adds on top.
 */
async function walk(map: HashMap): Promise<number> {
  let sink = 0n;
  let turned = false;
  let live = true;
  const turn = (): void => {
    turned = true;
    if (live) setImmediate(turn);
  };
  setImmediate(turn);
  let last = process.cpuUsage();
  let most = 0;
  for await (const [, v] of map.entriesAsync()) {
    sink += v;
    if (turned) {
      turned = false;
      const now = process.cpuUsage();
      most = Math.max(most, (now.user - last.user + now.system - last.system) / 1000);
      last = now;
    }
  }
  live = false;
  if (sink < 0n) throw new Error('unreachable');
  return most;
}

/** An event loop with nothing to do but turn, for ms milliseconds. */
async function idle(ms: number): Promise<void> {
  const end = performance.now() + ms;
  while (performance.now() < end) await new Promise((resolve) => setTimeout(resolve, 1));
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
    cpu.push(w.result);
    quiet.push((await watched(() => idle(w.ms))).stall);
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
    note: `an idle event loop watched as long stalls ${q.median.toFixed(1)} (${q.min.toFixed(1)}-${q.max.toFixed(1)}) ms here; ` +
      `most CPU time between two turns of the loop ${c.median.toFixed(1)} (${c.min.toFixed(1)}-${c.max.toFixed(1)}) ms`,
  }];
}

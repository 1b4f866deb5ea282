// entriesAsync() over 1M entries: the longest event-loop stall, measured by perf_hooks'
// monitorEventLoopDelay while the walk runs. Budget: 20 ms.
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { type Row, stats } from './harness.js';
import { filledHash } from './maps.js';

const BUDGET_MS = 20;

export async function stallRows(reps: number): Promise<Row[]> {
  const n = 1_000_000;
  using map = filledHash(n);
  const stalls: number[] = [];
  let sink = 0n;
  for (let i = 0; i < Math.max(3, Math.ceil(reps / 2)); i++) {
    const h = monitorEventLoopDelay({ resolution: 1 });
    h.enable();
    for await (const [, v] of map.entriesAsync()) sink += v;
    h.disable();
    // The histogram counts the delay past the 1 ms sampling interval, in ns.
    stalls.push(h.max / 1e6);
  }
  if (sink < 0n) throw new Error('unreachable');
  return [{
    suite: 'stall',
    what: `entriesAsync() hash ${n}: longest event-loop stall`,
    unit: 'ms',
    bpfmap: stats(stalls),
    baselineName: `budget ${BUDGET_MS} ms`,
    baseline: stats([BUDGET_MS]),
    ratio: stats(stalls.map((s) => s / BUDGET_MS)),
    target: 1,
  }];
}

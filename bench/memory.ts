// Peak RSS of a process that opens a 1M-entry hash map and dump()s it, measured in a child process
// of its own so nothing else this process allocated counts. Budget: raw key+value bytes + 64 MiB.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { BpfMap, u32, u64 } from '../src/index.js';
import { type Row, stats } from './harness.js';
import { filledHash } from './maps.js';

const MiB = 2 ** 20;

interface ChildReport {
  count: number;
  rawBytes: number;
  rssBeforeBytes: number;
  peakRssBytes: number;
}

export function memoryRows(reps: number): Row[] {
  const n = 1_000_000;
  using map = filledHash(n);
  const me = fileURLToPath(import.meta.url);
  const runs: ChildReport[] = [];
  for (let i = 0; i < Math.max(3, Math.ceil(reps / 2)); i++)
    runs.push(JSON.parse(execFileSync(process.execPath, [me, String(map.id)], { encoding: 'utf8' })) as ChildReport);
  const first = runs[0] as ChildReport;
  const budget = first.rawBytes + 64 * MiB;
  const peaks = runs.map((r) => r.peakRssBytes / MiB);
  return [{
    suite: 'memory',
    what: `peak RSS of a process dump()ing hash ${first.count}`,
    unit: 'MiB',
    bpfmap: stats(peaks),
    baselineName: `budget: ${(first.rawBytes / MiB).toFixed(1)} MiB raw + 64 MiB`,
    baseline: stats([budget / MiB]),
    ratio: stats(peaks.map((p) => (p * MiB) / budget)),
    target: 1,
    note: `RSS before dump() ${stats(runs.map((r) => r.rssBeforeBytes / MiB)).median.toFixed(1)} MiB`,
  }];
}

/**
 * This process's peak RSS in bytes: VmHWM, the high-water mark of its own memory since exec. Not
 * getrusage's maxRSS, which Linux carries over exec from the forked copy of the parent: after the
 * parent had grown (the parallel suite's run before this one), it reported the parent's 108 MiB.
 */
function peakRss(): number {
  const kib = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync('/proc/self/status', 'utf8'))?.[1];
  if (kib === undefined) throw new Error('no VmHWM in /proc/self/status');
  return Number(kib) * 1024;
}

function child(id: number): void {
  using map = BpfMap.fromId(id, { key: u32, value: u64 });
  const rssBeforeBytes = process.memoryUsage.rss();
  const d = map.dump();
  const report: ChildReport = {
    count: d.count,
    rawBytes: d.count * (d.keySize + d.valueBytes),
    rssBeforeBytes,
    peakRssBytes: peakRss(),
  };
  console.log(JSON.stringify(report));
}

if (process.argv[1] === fileURLToPath(import.meta.url)) child(Number(process.argv[2]));

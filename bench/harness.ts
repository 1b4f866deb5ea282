// Shared pieces of the benchmarks: the C baseline binary, timing, and the result table.
import { execFileSync } from 'node:child_process';
import { mkdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
// dist/bench -> the repository root
export const root = join(here, '..', '..');
export const outDir = join(root, 'bench', 'out');

/** Builds a C program of bench/c once per source change; returns the binary's path. */
export function buildC(name: string): string {
  mkdirSync(outDir, { recursive: true });
  const src = join(root, 'bench', 'c', `${name}.c`);
  const bin = join(outDir, name);
  let stale = true;
  try {
    stale = statSync(bin).mtimeMs < statSync(src).mtimeMs;
  } catch {
    // not built yet
  }
  if (stale) execFileSync('cc', ['-O2', '-Wall', '-o', bin, src], { stdio: 'inherit' });
  return bin;
}

export interface BaselineResult {
  entries: number;
  best_ns: number;
  median_ns: number;
}

/** Runs the C baseline on a map id: ns per entry. */
export function baseline(mode: 'lookup-batch' | 'per-element' | 'update-batch', id: number, batch: number, reps: number): BaselineResult {
  const bin = buildC('baseline');
  const args = mode === 'per-element' ? [mode, String(id), String(reps)] : [mode, String(id), String(batch), String(reps)];
  return JSON.parse(execFileSync(bin, args, { encoding: 'utf8' })) as BaselineResult;
}

export interface Timing {
  median: number;
  min: number;
  max: number;
}

/** Runs fn reps times (after one warm-up); each run returns the entries it handled. ns per entry. */
export function time(reps: number, fn: () => number): Timing {
  fn();
  const runs: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = process.hrtime.bigint();
    const n = fn();
    const dt = Number(process.hrtime.bigint() - t0);
    runs.push(dt / Math.max(n, 1));
  }
  runs.sort((a, b) => a - b);
  return { median: runs[Math.floor(runs.length / 2)] as number, min: runs[0] as number, max: runs[runs.length - 1] as number };
}

export interface Row {
  what: string;
  bpfmap: Timing;
  baseline: number;
  baselineName: string;
  target?: number;
}

const f = (n: number) => n.toFixed(n < 10 ? 2 : 0);

/** Prints rows as a Markdown table: ns/entry, baseline, ratio (median, spread), target, pass/fail. */
export function table(rows: Row[]): string {
  const lines = [
    '| what | bpfmap ns/entry (median, min-max) | baseline | baseline ns/entry | ratio | target | |',
    '|---|---|---|---|---|---|---|',
  ];
  for (const r of rows) {
    const ratio = r.bpfmap.median / r.baseline;
    const verdict = r.target === undefined ? '' : ratio <= r.target ? 'pass' : 'FAIL';
    lines.push(`| ${r.what} | ${f(r.bpfmap.median)} (${f(r.bpfmap.min)}-${f(r.bpfmap.max)}) | ${r.baselineName} | ${f(r.baseline)} | ${ratio.toFixed(2)}x | ${r.target === undefined ? '' : `<= ${r.target}x`} | ${verdict} |`);
  }
  return lines.join('\n');
}

// Shared pieces of the benchmarks: the C baselines, interleaved timing, the result table and the
// description of the machine the numbers come from.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, statSync } from 'node:fs';
import { cpus, loadavg, release } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
// dist/bench -> the repository root
export const root = join(here, '..', '..');
export const outDir = join(root, 'bench', 'out');

/** Builds a C program of bench/c once per source change (linked with libs); returns the binary's path. */
export function buildC(name: string, libs: string[] = []): string {
  mkdirSync(outDir, { recursive: true });
  const src = join(root, 'bench', 'c', `${name}.c`);
  const bin = join(outDir, name);
  let stale = true;
  try {
    const built = statSync(bin).mtimeMs;
    stale = [src, ...['timing.h', 'map.h'].map((h) => join(root, 'bench', 'c', h))].some((f) => built < statSync(f).mtimeMs);
  } catch {
    // not built yet
  }
  if (stale) execFileSync('cc', ['-O2', '-Wall', '-o', bin, src, ...libs], { stdio: 'inherit' });
  return bin;
}

export type CMode = 'lookup-batch' | 'lookup-batch-all' | 'per-element' | 'update-batch';

/** One run of a C baseline loop on the map with this id (a process of its own): ns per entry. */
export function cLoop(mode: CMode, id: number, batch = 1): number {
  const bin = buildC('baseline');
  const args = mode === 'per-element' ? [mode, String(id), '1'] : [mode, String(id), String(batch), '1'];
  const r = JSON.parse(execFileSync(bin, args, { encoding: 'utf8' })) as { median_ns: number; entries: number };
  if (r.entries === 0) throw new Error(`C baseline ${mode} on map ${id} handled no entry`);
  return r.median_ns;
}

/** Median and spread of repeated measurements. */
export interface Stats {
  median: number;
  min: number;
  max: number;
}

export function stats(xs: number[]): Stats {
  const s = [...xs].sort((a, b) => a - b);
  return { median: s[Math.floor(s.length / 2)] as number, min: s[0] as number, max: s[s.length - 1] as number };
}

/** Nanoseconds per entry of fn, which returns the entries it handled. */
export function nsPerEntry(fn: () => number): () => number {
  return () => {
    const t0 = process.hrtime.bigint();
    const n = fn();
    return Number(process.hrtime.bigint() - t0) / Math.max(n, 1);
  };
}

export interface Pair {
  bpfmap: Stats;
  baseline: Stats;
  /** bpfmap / baseline of each repetition (both ran back to back, so load hits them alike). */
  ratio: Stats;
}

/**
 * Measures a and b reps times each, interleaved (a b, b a, a b, ...) after one warm-up of each,
 * so load from other processes falls on both alike; the ratio is taken per repetition.
 */
export function interleave(reps: number, a: () => number, b: () => number): Pair {
  a();
  b();
  const as: number[] = [];
  const bs: number[] = [];
  const rs: number[] = [];
  for (let i = 0; i < reps; i++) {
    let x: number;
    let y: number;
    if (i % 2 === 0) {
      x = a();
      y = b();
    } else {
      y = b();
      x = a();
    }
    as.push(x);
    bs.push(y);
    rs.push(x / y);
  }
  return { bpfmap: stats(as), baseline: stats(bs), ratio: stats(rs) };
}

/**
 * Measures several functions reps times each after one warm-up, in rotating order (a b c, b c a,
 * c a b, ...), so that each repetition of each sees the same load; returns the runs of each.
 */
export function rotate(reps: number, fns: Array<() => number>): number[][] {
  for (const f of fns) f();
  const runs = fns.map(() => [] as number[]);
  for (let i = 0; i < reps; i++)
    for (let j = 0; j < fns.length; j++) {
      const k = (i + j) % fns.length;
      (runs[k] as number[]).push((fns[k] as () => number)());
    }
  return runs;
}

/** The pair of a and b out of rotated runs, the ratio taken per repetition. */
export function pairOf(a: number[], b: number[]): Pair {
  return { bpfmap: stats(a), baseline: stats(b), ratio: stats(a.map((x, i) => x / (b[i] as number))) };
}

export interface Row {
  suite: string;
  what: string;
  unit: string;
  bpfmap: Stats;
  baselineName: string;
  /** Absent for rows measured against an absolute budget. */
  baseline?: Stats;
  /** bpfmap / baseline (or / the budget). */
  ratio: Stats;
  /** The ratio must not exceed this (absent: the row only shows how cost grows). */
  target?: number;
  note?: string;
  /** A reader that checks what it read: false when it missed an entry or saw a wrong value. */
  checked?: boolean;
  /** Why the row could not be measured (a peer that cannot be installed here). */
  skipped?: string;
}

/** A row for a reader that could not run, with the reason. */
export function skippedRow(suite: string, what: string, why: string): Row {
  const none: Stats = { median: Number.NaN, min: Number.NaN, max: Number.NaN };
  return { suite, what, unit: 'ns/entry', bpfmap: none, baselineName: '', ratio: none, skipped: why };
}

/** A row of a pair measured against a baseline. */
export function pairRow(suite: string, what: string, baselineName: string, p: Pair, target?: number): Row {
  const r: Row = { suite, what, unit: 'ns/entry', bpfmap: p.bpfmap, baselineName, baseline: p.baseline, ratio: p.ratio };
  if (target !== undefined) r.target = target;
  return r;
}

const num = (n: number): string => (n < 10 ? n.toFixed(2) : n < 1000 ? n.toFixed(1) : n.toFixed(0));
const spread = (s: Stats): string => `${num(s.median)} (${num(s.min)}-${num(s.max)})`;

export function verdict(r: Row): string {
  if (r.skipped !== undefined) return 'skipped';
  if (r.checked === false) return 'FAIL';
  if (r.target === undefined) return '';
  return r.ratio.median <= r.target ? 'pass' : 'FAIL';
}

/** The rows as a Markdown table: bpfmap, baseline, ratio (median and min-max), target, pass/fail. */
export function table(rows: Row[]): string {
  const lines = [
    '| suite | what | bpfmap median (min-max) | baseline | baseline median (min-max) | ratio median (min-max) | target | |',
    '|---|---|---|---|---|---|---|---|',
  ];
  for (const r of rows) {
    if (r.skipped !== undefined) {
      lines.push(`| ${r.suite} | ${r.what} | skipped: ${r.skipped} | | | | | skipped |`);
      continue;
    }
    const base = r.baseline ? `${spread(r.baseline)} ${r.unit}` : '';
    const ratio = `${r.ratio.median.toFixed(2)}x (${r.ratio.min.toFixed(2)}-${r.ratio.max.toFixed(2)})`;
    const target = r.target === undefined ? '' : `<= ${r.target}x`;
    const what = r.note ? `${r.what} (${r.note})` : r.what;
    lines.push(`| ${r.suite} | ${what} | ${spread(r.bpfmap)} ${r.unit} | ${r.baselineName} | ${base} | ${ratio} | ${target} | ${verdict(r)} |`);
  }
  return lines.join('\n');
}

/** CPU model, cores, kernel, Node and the load average: what the numbers were measured on. */
export function machine(): string {
  let model = cpus()[0]?.model ?? 'unknown CPU';
  try {
    const m = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'));
    if (m?.[1]) model = m[1];
  } catch {
    // not Linux: os.cpus() is all there is
  }
  const load = loadavg().map((l) => l.toFixed(2)).join(' ');
  return `${model}, ${cpus().length} cores, Linux ${release()}, Node ${process.version}, load average ${load}`;
}

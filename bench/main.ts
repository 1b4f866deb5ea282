// npm run bench [-- suite... [--reps N]]: runs the suites (all by default), prints the machine and
// the table, and writes it to bench/out/results.md.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { arrayRows } from './array.js';
import { cliHasDump, cliRows } from './cli.js';
import { codecRows } from './codec.js';
import { machine, outDir, type Row, table, verdict } from './harness.js';
import { memoryRows } from './memory.js';
import { npmBpfRows } from './npm-bpf.js';
import { perCpuRows } from './percpu.js';
import { readRows } from './read.js';
import { stallRows } from './stall.js';
import { writeRows } from './write.js';

const suites: Record<string, (reps: number) => Row[] | Promise<Row[]>> = {
  read: readRows,
  'npm-bpf': npmBpfRows,
  percpu: perCpuRows,
  array: arrayRows,
  write: writeRows,
  cli: cliRows,
  memory: memoryRows,
  stall: stallRows,
  codec: codecRows,
};

const args = process.argv.slice(2);
let reps = 5;
const names: string[] = [];
for (let i = 0; i < args.length; i++) {
  const a = args[i] as string;
  if (a === '--reps') reps = Number(args[++i]);
  else names.push(a);
}
if (!Number.isInteger(reps) || reps < 1) throw new Error('--reps takes a positive integer');
for (const n of names) if (!(n in suites)) throw new Error(`unknown suite ${n}; suites: ${Object.keys(suites).join(', ')}`);
const chosen = names.length ? names : Object.keys(suites);

const before = machine();
const rows: Row[] = [];
for (const name of chosen) {
  const t0 = Date.now();
  const got = await (suites[name] as (reps: number) => Row[] | Promise<Row[]>)(reps);
  if (name === 'cli' && got.length === 0) console.error('cli: skipped, this tree has no `bpfmap dump`');
  rows.push(...got);
  console.error(`${name}: ${got.length} rows in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
}
const failed = rows.filter((r) => verdict(r) === 'FAIL').length;
const out = [
  `Machine at start: ${before}`,
  `Machine at end:   ${machine()}`,
  `Repetitions: ${reps} per row (fewer for the slow rows), interleaved with the baseline; ${cliHasDump() ? '' : 'cli row skipped (no `bpfmap dump` in this tree); '}${failed} row(s) over target.`,
  '',
  table(rows),
  '',
].join('\n');
console.log(out);
mkdirSync(outDir, { recursive: true });
writeFileSync(join(outDir, 'results.md'), out);

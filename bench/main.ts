// npm run bench [-- suite... [--reps N]]: runs the suites (all by default), prints the machine and
// the table, and keeps each suite's rows in bench/out/rows/. `npm run bench -- --report` prints
// the latest rows of every suite as one table, so suites can be run one at a time on a busy machine.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { arrayRows } from './array.js';
import { cliHasDump, cliRows } from './cli-vs-bpftool.js';
import { codecRows } from './codec.js';
import { collectRows } from './collect.js';
import { exportRows } from './export.js';
import { machine, outDir, type Row, table, verdict } from './harness.js';
import { memoryRows } from './memory.js';
import { mmapRows } from './mmap.js';
import { npmBpfRows } from './npm-bpf.js';
import { parallelRows } from './parallel.js';
import { peerRows } from './peers.js';
import { perCpuRows } from './percpu.js';
import { readRows, walkRows } from './read.js';
import { stallRows } from './stall.js';
import { startupRows } from './startup.js';
import { writeRows } from './write.js';
import { ringbufRows } from './ringbuf.js';

const suites: Record<string, (reps: number) => Row[] | Promise<Row[]>> = {
  read: readRows,
  walk: walkRows,
  'npm-bpf': npmBpfRows,
  peers: peerRows,
  parallel: parallelRows,
  percpu: perCpuRows,
  array: arrayRows,
  mmap: mmapRows,
  collect: collectRows,
  write: writeRows,
  cli: cliRows,
  memory: memoryRows,
  stall: stallRows,
  codec: codecRows,
  startup: startupRows,
  ringbuf: ringbufRows,
  export: (reps) => exportRows(100_000, Math.max(reps, 7)),
};

interface SuiteRun {
  suite: string;
  at: string;
  reps: number;
  machineStart: string;
  machineEnd: string;
  rows: Row[];
}

const rowsDir = join(outDir, 'rows');

function summary(runs: SuiteRun[]): string {
  const rows = runs.flatMap((r) => r.rows);
  const failed = rows.filter((r) => verdict(r) === 'FAIL').length;
  const lines = runs.map((r) => `- ${r.suite}: ${r.at}, ${r.reps} repetitions; machine at start: ${r.machineStart}; at end: load average ${r.machineEnd.replace(/.*load average /, '')}`);
  if (!cliHasDump()) lines.push('- cli: skipped, this tree has no `bpfmap dump`');
  return [...lines, '', table(rows), '', `${failed} row(s) over target.`, ''].join('\n');
}

const args = process.argv.slice(2);
let reps = 5;
let report = false;
const names: string[] = [];
for (let i = 0; i < args.length; i++) {
  const a = args[i] as string;
  if (a === '--reps') reps = Number(args[++i]);
  else if (a === '--report') report = true;
  else names.push(a);
}
if (!Number.isInteger(reps) || reps < 1) throw new Error('--reps takes a positive integer');
for (const n of names) if (!(n in suites)) throw new Error(`unknown suite ${n}; suites: ${Object.keys(suites).join(', ')}`);

if (report) {
  const runs = Object.keys(suites)
    .map((s) => join(rowsDir, `${s}.json`))
    .filter((p) => existsSync(p))
    .map((p) => JSON.parse(readFileSync(p, 'utf8')) as SuiteRun);
  console.log(summary(runs));
} else {
  mkdirSync(rowsDir, { recursive: true });
  const runs: SuiteRun[] = [];
  for (const suite of names.length ? names : Object.keys(suites)) {
    const machineStart = machine();
    const t0 = Date.now();
    const rows = await (suites[suite] as (reps: number) => Row[] | Promise<Row[]>)(reps);
    console.error(`${suite}: ${rows.length} rows in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
    const run: SuiteRun = { suite, at: new Date(t0).toISOString(), reps, machineStart, machineEnd: machine(), rows };
    if (rows.length > 0) writeFileSync(join(rowsDir, `${suite}.json`), JSON.stringify(run, null, 1));
    runs.push(run);
  }
  console.log(summary(runs.filter((r) => r.rows.length > 0)));
}

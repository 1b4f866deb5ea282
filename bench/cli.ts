// `bpfmap dump` against `bpftool map dump` on the same pinned hash map (16-byte keys and values),
// each run as a child process writing to /dev/null, medians of a few runs.
// Run: npm run bench:cli -- [entries]   (default 1,000,000 entries)
import { spawnSync } from 'node:child_process';
import { closeSync, openSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { BpfMap } from '../src/index.js';
import { root } from './harness.js';

const CLI = join(root, 'dist', 'src', 'cli', 'main.js');

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] as number;
}

/** Median wall time in ms of a command whose stdout goes to /dev/null; throws when it fails. */
function run(cmd: string, args: string[], reps: number): number {
  const times: number[] = [];
  for (let i = 0; i < reps; i++) {
    const out = openSync('/dev/null', 'w');
    const t = performance.now();
    const r = spawnSync(cmd, args, { stdio: ['ignore', out, 'pipe'] });
    times.push(performance.now() - t);
    closeSync(out);
    if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed: ${r.stderr.toString()}`);
  }
  return median(times);
}

const n = Number(process.argv[2] ?? 1_000_000);
const reps = 3;
const path = `/sys/fs/bpf/bpfmap_bench_cli_${process.pid}`;
{
  using map = BpfMap.create({ type: 'hash', keySize: 16, valueSize: 16, maxEntries: n, name: 'bench_cli' });
  const keys = Buffer.alloc(16 * n);
  for (let i = 0; i < n; i++) keys.writeUInt32LE(i, 16 * i);
  map.updateBatch({ keys, values: Buffer.alloc(16 * n, 0x5a) });
  map.pin(path);
}
try {
  const rows: Array<[string, number]> = [
    ['bpftool map dump -j', run('bpftool', ['map', 'dump', 'pinned', path, '-j'], reps)],
    ['bpftool map dump (text)', run('bpftool', ['map', 'dump', 'pinned', path], reps)],
    ['bpfmap dump --format json', run(process.execPath, [CLI, 'dump', 'pinned', path, '--format', 'json'], reps)],
    ['bpfmap dump --format ndjson', run(process.execPath, [CLI, 'dump', 'pinned', path, '--format', 'ndjson'], reps)],
    ['bpfmap dump --format csv', run(process.execPath, [CLI, 'dump', 'pinned', path, '--format', 'csv'], reps)],
  ];
  const base = rows[0]?.[1] as number;
  console.log(`dump of a ${n.toLocaleString('en-US')}-entry hash map (16-byte keys and values), median of ${reps} runs, whole process:`);
  for (const [what, ms] of rows) console.log(`  ${what.padEnd(30)} ${ms.toFixed(0).padStart(7)} ms   ${(base / ms).toFixed(1)}x bpftool -j`);
} finally {
  rmSync(path, { force: true });
}

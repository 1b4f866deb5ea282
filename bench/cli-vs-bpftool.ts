// Whole processes, 1M-entry hash: `bpfmap dump --format ndjson > /dev/null` beside
// `bpftool map dump -j > /dev/null` (Debian's bpftool, installed when missing). Runs only where
// the CLI has a dump command.
import { execFileSync, spawnSync } from 'node:child_process';
import { closeSync, existsSync, openSync } from 'node:fs';
import { join } from 'node:path';
import { interleave, pairRow, root, type Row } from './harness.js';
import { filledHash } from './maps.js';

const cli = join(root, 'dist', 'src', 'cli', 'main.js');

/** True when this tree's CLI has `bpfmap dump`. */
export function cliHasDump(): boolean {
  return existsSync(cli) && spawnSync(process.execPath, [cli, 'dump', '--help'], { stdio: 'ignore' }).status === 0;
}

function bpftool(): string {
  for (const p of ['/usr/sbin/bpftool', '/usr/bin/bpftool', '/usr/local/sbin/bpftool']) if (existsSync(p)) return p;
  execFileSync('apt-get', ['install', '-y', 'bpftool'], { stdio: 'inherit' });
  return '/usr/sbin/bpftool';
}

/** Milliseconds of one process run with stdout to /dev/null; throws when it fails. */
function wall(cmd: string, args: string[]): number {
  const devnull = openSync('/dev/null', 'w');
  try {
    const t0 = process.hrtime.bigint();
    const r = spawnSync(cmd, args, { stdio: ['ignore', devnull, 'pipe'] });
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}): ${r.stderr.toString().trim()}`);
    return ms;
  } finally {
    closeSync(devnull);
  }
}

export function cliRows(reps: number): Row[] {
  if (!cliHasDump()) return [];
  const tool = bpftool();
  const n = 1_000_000;
  using map = filledHash(n);
  const id = String(map.id);
  const p = interleave(Math.max(3, Math.ceil(reps / 2)),
    () => wall(process.execPath, [cli, 'dump', 'id', id, '--format', 'ndjson']),
    () => wall(tool, ['map', 'dump', 'id', id, '-j']));
  return [{ ...pairRow('cli', `bpfmap dump --format ndjson > /dev/null, hash ${n}, whole process`, 'bpftool map dump -j > /dev/null', p, 0.25), unit: 'ms' }];
}
